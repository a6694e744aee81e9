//! The WebSocket API against a real server: subscriptions filtered per identity, one update
//! per transaction, calls and queries, resume, errors, MessagePack.

#[path = "../../wasm-host/tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use support::TestServer;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(s: &TestServer, token: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(s.ws_url(&format!("/v1/ws?token={token}")))
        .await
        .expect("connect");
    ws
}

async fn send(ws: &mut Ws, m: Json) {
    ws.send(Message::Text(m.to_string().into()))
        .await
        .expect("send");
}

/// Sends `messages` fed and then flushed once, so they reach the server in as few writes as
/// the socket takes (and are read there together).
async fn send_together(ws: &mut Ws, messages: impl IntoIterator<Item = Json>) {
    for m in messages {
        ws.feed(Message::Text(m.to_string().into()))
            .await
            .expect("feed");
    }
    ws.flush().await.expect("flush");
}

/// The next JSON message (skipping pings), or panics after 10 s.
async fn recv(ws: &mut Ws) -> Json {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("open")
            .expect("frame");
        match frame {
            Message::Text(t) => return serde_json::from_str(&t).expect("json"),
            Message::Binary(b) => return rmp_serde::from_slice(&b).expect("msgpack"),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

/// Nothing arrives within `ms`.
async fn quiet(ws: &mut Ws, ms: u64) {
    if let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(ms), ws.next()).await
    {
        panic!("unexpected message: {t}");
    }
}

async fn notes_server() -> (TestServer, String, String) {
    notes_server_on(TestServer::start().await).await
}

/// `s` with the notes module deployed by an owner, and two more users' tokens.
async fn notes_server_on(s: TestServer) -> (TestServer, String, String) {
    let (owner, _) = s.sign_up("owner@example.com").await;
    assert_eq!(
        s.deploy(&owner, "notes", common::module_bytes("notes"))
            .await
            .0,
        200
    );
    let (ann, _) = s.sign_up("ann@example.com").await;
    let (bob, _) = s.sign_up("bob@example.com").await;
    (s, ann, bob)
}

#[tokio::test]
async fn each_identity_receives_only_its_own_rows() {
    let (s, ann, bob) = notes_server().await;
    s.post(
        "/v1/reducers/add_note",
        Some(&ann),
        json!({"text": "before"}),
    )
    .await;
    let mut ann_ws = connect(&s, &ann).await;
    let mut bob_ws = connect(&s, &bob).await;
    for ws in [&mut ann_ws, &mut bob_ws] {
        send(
            ws,
            json!({"type": "subscribe", "id": 1, "query": "SELECT id, text FROM notes"}),
        )
        .await;
    }
    let first = recv(&mut ann_ws).await;
    assert_eq!(first["type"], "subscribed", "{first}");
    assert_eq!(first["id"], 1);
    assert_eq!(first["columns"], json!(["id", "text"]));
    assert_eq!(first["rows"].as_array().expect("rows").len(), 1);
    let first_bob = recv(&mut bob_ws).await;
    assert_eq!(first_bob["rows"], json!([]), "bob sees none of ann's notes");

    let (_, out) = s
        .post(
            "/v1/reducers/add_note",
            Some(&bob),
            json!({"text": "bob's"}),
        )
        .await;
    let update = recv(&mut bob_ws).await;
    assert_eq!(update["type"], "update", "{update}");
    assert_eq!(update["tx_id"], out["tx_id"]);
    assert_eq!(update["updates"][0]["id"], 1);
    assert_eq!(update["updates"][0]["inserts"][0][1], "bob's");
    assert_eq!(update["updates"][0]["deletes"], json!([]));
    quiet(&mut ann_ws, 300).await;
}

#[tokio::test]
async fn one_update_per_transaction_covers_every_affected_subscription() {
    let s = TestServer::start().await;
    let (token, _) = s.sign_up("ann@example.com").await;
    assert_eq!(
        s.deploy(&token, "shop", common::module_bytes("basic"))
            .await
            .0,
        200
    );
    let mut ws = connect(&s, &token).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "id": 1, "query": "SELECT name FROM items"}),
    )
    .await;
    assert_eq!(recv(&mut ws).await["type"], "subscribed");
    send(
        &mut ws,
        json!({"type": "subscribe", "id": 2, "query": "SELECT COUNT(*) AS n FROM items"}),
    )
    .await;
    let counted = recv(&mut ws).await;
    assert_eq!(counted["rows"], json!([[0]]), "{counted}");
    // `add_twice` fails atomically: nothing is sent for it.
    s.post(
        "/v1/reducers/add_twice",
        Some(&token),
        json!({"name": "dup"}),
    )
    .await;
    let (_, out) = s
        .post(
            "/v1/reducers/add_item",
            Some(&token),
            json!({"name": "pen", "qty": 1}),
        )
        .await;
    let update = recv(&mut ws).await;
    assert_eq!(update["tx_id"], out["tx_id"], "{update}");
    let mut ids: Vec<u64> = update["updates"]
        .as_array()
        .expect("updates")
        .iter()
        .map(|u| u["id"].as_u64().expect("id"))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2], "both subscriptions in one message: {update}");
    quiet(&mut ws, 200).await;
}

#[tokio::test]
async fn calls_and_queries_answer_by_id_and_errors_keep_the_id() {
    let (s, ann, _) = notes_server().await;
    let mut ws = connect(&s, &ann).await;
    send(
        &mut ws,
        json!({"type": "call", "id": 7, "reducer": "add_note", "args": {"text": "hi"}}),
    )
    .await;
    let result = recv(&mut ws).await;
    assert_eq!(result["type"], "result", "{result}");
    assert_eq!(result["id"], 7);
    assert_eq!(result["status"], "committed");
    assert!(result["tx_id"].as_u64().is_some());
    assert!(
        result["result"].as_u64().is_some(),
        "the reducer's return value"
    );
    send(&mut ws, json!({"type": "query", "id": 8, "query": "SELECT text FROM notes WHERE text = $1", "params": ["hi"]})).await;
    let rows = recv(&mut ws).await;
    assert_eq!(
        (rows["type"].as_str(), rows["id"].as_u64()),
        (Some("rows"), Some(8)),
        "{rows}"
    );
    assert_eq!(rows["rows"], json!([["hi"]]));
    send(
        &mut ws,
        json!({"type": "call", "id": 9, "reducer": "add_note", "args": {"text": ""}}),
    )
    .await;
    let e = recv(&mut ws).await;
    assert_eq!(
        (e["type"].as_str(), e["id"].as_u64()),
        (Some("error"), Some(9))
    );
    assert_eq!(e["error"]["code"], "empty_note");
    send(
        &mut ws,
        json!({"type": "query", "id": 10, "query": "DROP TABLE notes"}),
    )
    .await;
    assert_eq!(recv(&mut ws).await["error"]["code"], "read_only");
    send(
        &mut ws,
        json!({"type": "subscribe", "id": 11, "query": "SELECT * FROM nowhere"}),
    )
    .await;
    assert_eq!(recv(&mut ws).await["error"]["code"], "no_such_table");
    // A view answers queries but cannot be subscribed to: module code computes it.
    send(
        &mut ws,
        json!({"type": "subscribe", "id": 13, "query": "SELECT * FROM note_counts"}),
    )
    .await;
    let refused = recv(&mut ws).await;
    assert_eq!(refused["error"]["code"], "unsupported_subscription");
    assert_eq!(refused["id"], 13);
    send(
        &mut ws,
        json!({"type": "query", "id": 14, "query": "SELECT notes FROM note_counts"}),
    )
    .await;
    assert_eq!(recv(&mut ws).await["rows"], json!([[1]]));
    ws.send(Message::Text("{\"type\": \"launch\", \"id\": 12}".into()))
        .await
        .expect("send");
    let e = recv(&mut ws).await;
    assert_eq!(
        (e["error"]["code"].as_str(), e["id"].as_u64()),
        (Some("invalid_message"), Some(12))
    );
    send(&mut ws, json!({"type": "unsubscribe", "id": 99})).await;
    assert_eq!(recv(&mut ws).await["error"]["code"], "no_such_subscription");
}

#[tokio::test]
async fn unsubscribed_queries_stop_updating() {
    let (s, ann, _) = notes_server().await;
    let mut ws = connect(&s, &ann).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "id": 1, "query": "SELECT text FROM notes"}),
    )
    .await;
    recv(&mut ws).await;
    send(&mut ws, json!({"type": "unsubscribe", "id": 1})).await;
    assert_eq!(
        recv(&mut ws).await,
        json!({"type": "unsubscribed", "id": 1})
    );
    s.post("/v1/reducers/add_note", Some(&ann), json!({"text": "x"}))
        .await;
    quiet(&mut ws, 300).await;
}

#[tokio::test]
async fn a_reconnecting_client_resumes_from_the_last_tx_it_saw() {
    let (s, ann, _) = notes_server().await;
    let mut ws = connect(&s, &ann).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "id": 1, "query": "SELECT text FROM notes"}),
    )
    .await;
    let seen = recv(&mut ws).await["tx_id"].as_u64().expect("tx");
    drop(ws);
    for text in ["one", "two"] {
        s.post("/v1/reducers/add_note", Some(&ann), json!({"text": text}))
            .await;
    }
    let mut ws = connect(&s, &ann).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "id": 1, "query": "SELECT text FROM notes", "from_tx": seen}),
    )
    .await;
    let resumed = recv(&mut ws).await;
    assert_eq!(resumed["type"], "subscribed");
    assert_eq!(resumed["resumed"], true, "{resumed}");
    let mut missed = Vec::new();
    for _ in 0..2 {
        let u = recv(&mut ws).await;
        assert_eq!(u["type"], "update", "{u}");
        missed.push(
            u["updates"][0]["inserts"][0][0]
                .as_str()
                .expect("text")
                .to_owned(),
        );
    }
    assert_eq!(missed, ["one", "two"]);
}

#[tokio::test]
async fn messagepack_frames_speak_the_same_protocol() {
    let (s, ann, _) = notes_server().await;
    let mut request = s.ws_url("/v1/ws").into_client_request().expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {ann}").parse().expect("header"),
    );
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "cosmictron.v1.msgpack".parse().expect("header"),
    );
    let (mut ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("cosmictron.v1.msgpack")
    );
    let call = rmp_serde::to_vec_named(
        &json!({"type": "call", "id": 1, "reducer": "add_note", "args": {"text": "packed"}}),
    )
    .expect("encode");
    ws.send(Message::Binary(call.into())).await.expect("send");
    let answer = recv(&mut ws).await;
    assert_eq!(answer["type"], "result", "{answer}");
    assert_eq!(answer["id"], 1);
}

#[tokio::test]
async fn the_upgrade_needs_a_valid_token() {
    let s = TestServer::start().await;
    let err = tokio_tungstenite::connect_async(s.ws_url("/v1/ws"))
        .await
        .expect_err("no token");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(r) => assert_eq!(r.status(), 401),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
    let err = tokio_tungstenite::connect_async(s.ws_url("/v1/ws?token=forged"))
        .await
        .expect_err("bad token");
    assert!(matches!(err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 401));
}

#[tokio::test]
async fn shutdown_closes_websockets_with_going_away() {
    let (s, ann, _) = notes_server().await;
    let mut ws = connect(&s, &ann).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "id": 1, "query": "SELECT text FROM notes"}),
    )
    .await;
    recv(&mut ws).await;
    let stopping = tokio::spawn(s.stop());
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(c))) => break c,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1001));
    drop(ws);
    stopping.await.expect("stopped");
}

#[tokio::test]
async fn lifecycle_reducers_run_for_the_connection() {
    let s = TestServer::start().await;
    let (owner, _) = s.sign_up("owner@example.com").await;
    assert_eq!(
        s.deploy(&owner, "features", common::module_bytes("features"))
            .await
            .0,
        200
    );
    let (ann, ann_identity) = s.sign_up("ann@example.com").await;
    let connected = || async {
        let (status, rows) = s
            .post(
                "/v1/sql",
                Some(&owner),
                json!({"query": "SELECT identity FROM connections"}),
            )
            .await;
        assert_eq!(status, 200, "{rows}");
        rows["rows"].as_array().expect("rows").clone()
    };
    let mut ws = connect(&s, &ann).await;
    send(
        &mut ws,
        json!({"type": "call", "id": 1, "reducer": "whoami"}),
    )
    .await;
    let who = recv(&mut ws).await;
    assert!(
        who["result"].as_u64().is_some_and(|c| c > 0),
        "a connection id: {who}"
    );
    assert_eq!(connected().await, vec![json!([ann_identity])]);
    ws.close(None).await.expect("close");
    drop(ws);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !connected().await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "client_disconnected never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn pipelined_calls_each_get_their_own_answer() {
    // Proves calls sent together (read from the socket as one batch and run as one job of the
    // call thread) are still separate transactions: each is answered under its own id, a
    // module's refusal, an unknown reducer or bad arguments in the middle fail only that call,
    // and exactly the committed calls' rows exist afterwards.
    let (s, ann, _) = notes_server().await;
    let mut ws = connect(&s, &ann).await;
    let mut expected_ok = Vec::new();
    let mut messages = Vec::new();
    for id in 1..=60u64 {
        let m = match id % 10 {
            3 => json!({"type": "call", "id": id, "reducer": "add_note", "args": {"text": ""}}),
            5 => json!({"type": "call", "id": id, "reducer": "no_such_reducer", "args": {}}),
            7 => json!({"type": "call", "id": id, "reducer": "add_note", "args": [1]}),
            _ => {
                expected_ok.push(id);
                json!({"type": "call", "id": id, "reducer": "add_note", "args": {"text": format!("n{id}")}})
            }
        };
        messages.push(m);
    }
    send_together(&mut ws, messages).await;
    let mut committed = Vec::new();
    let mut tx_ids = std::collections::HashSet::new();
    for _ in 1..=60 {
        let m = recv(&mut ws).await;
        let id = m["id"].as_u64().expect("every answer has its call's id");
        match (m["type"].as_str(), id % 10) {
            (Some("result"), _) => {
                assert!(tx_ids.insert(m["tx_id"].as_u64().expect("tx")), "{m}");
                committed.push(id);
            }
            (Some("error"), 3) => assert_eq!(m["error"]["code"], "empty_note", "{m}"),
            (Some("error"), 5) => assert_eq!(m["error"]["code"], "unknown_reducer", "{m}"),
            (Some("error"), 7) => assert_eq!(m["error"]["code"], "invalid_arguments", "{m}"),
            _ => panic!("unexpected answer {m}"),
        }
    }
    committed.sort_unstable();
    assert_eq!(committed, expected_ok, "one transaction per call");
    send(
        &mut ws,
        json!({"type": "query", "id": 100, "query": "SELECT COUNT(*) FROM notes"}),
    )
    .await;
    assert_eq!(
        recv(&mut ws).await["rows"],
        json!([[expected_ok.len()]]),
        "exactly the committed calls' rows"
    );
}

#[tokio::test]
async fn more_pipelined_calls_than_places_in_flight_all_complete() {
    // Proves a burst larger than `ws_calls_in_flight` neither deadlocks nor drops a call: the
    // calls read but not yet dispatched hold places, so the connection dispatches them before
    // it waits for a place (with one place, the second call of a burst would wait forever).
    let dir = tempfile::tempdir().expect("tempdir");
    let config = cosmictron::ServerConfig {
        ws_calls_in_flight: 1,
        ..support::config(dir.path())
    };
    let (s, ann, _) = notes_server_on(TestServer::start_in(dir, config).await).await;
    let mut ws = connect(&s, &ann).await;
    send_together(
        &mut ws,
        (1..=20u64).map(|id| json!({"type": "call", "id": id, "reducer": "add_note", "args": {"text": format!("n{id}")}})),
    )
    .await;
    let mut answered: Vec<u64> = Vec::new();
    for _ in 1..=20 {
        let m = recv(&mut ws).await;
        assert_eq!(m["type"], "result", "{m}");
        answered.push(m["id"].as_u64().expect("id"));
    }
    answered.sort_unstable();
    assert_eq!(answered, (1..=20).collect::<Vec<_>>());
}
