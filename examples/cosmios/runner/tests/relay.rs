//! The real `cosmios relay` against a real server and a local HTTP receiver: deliveries are
//! POSTed with a signature the receiver can check, retried with backoff, and each outcome
//! (delivered or failed, attempts, HTTP status) is recorded on the delivery row.

mod support;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use cosmios_tests::Server;
use hmac::{Hmac, Mac};
use serde_json::{Value as Json, json};
use sha2::Sha256;
use support::eventually;

/// What the receiver got: per path, each request's signature header and body.
type Received = Arc<Mutex<HashMap<String, Vec<(String, String)>>>>;

/// `/ok` answers 200; `/flaky` 503 the first time, then 200; `/down` always 500.
async fn receive(
    State(received): State<Received>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let signature = headers
        .get("x-cosmios-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut all = received.lock().expect("lock");
    let seen = all.entry(path.clone()).or_default();
    seen.push((signature, body));
    match (path.as_str(), seen.len()) {
        ("ok", _) | ("flaky", 2..) => StatusCode::OK,
        ("flaky", _) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn receiver() -> (String, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .route("/{path}", axum::routing::post(receive))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

fn hmac_hex(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn deliveries_are_signed_retried_and_reported() {
    // Proves: the relay, with the owner's token, POSTs every pending delivery; the body is
    // the documented payload and `X-Cosmios-Signature` is its HMAC-SHA256 under the
    // webhook's secret; a 503 is retried and then delivered (2 attempts); a receiver that
    // always fails gets exactly `--attempts` POSTs and the delivery is recorded failed with
    // the last status and error; delivered rows are not sent again.
    let s = Server::start().await;
    let (base, received) = receiver().await;
    let user = s.human("ann@example.com").await;
    let mut secrets = HashMap::new();
    for path in ["ok", "flaky", "down"] {
        let hook = s
            .ok(
                &user,
                "create_webhook",
                json!({"url": format!("{base}/{path}"), "events": ["machine.online"]}),
            )
            .await;
        secrets.insert(path, hook["secret"].as_str().expect("secret").to_owned());
    }
    // A runner authenticating puts the machine online: one event, three deliveries.
    let m = s
        .ok(&user, "register_machine", json!({"name": "box"}))
        .await;
    let runner = s.anonymous().await;
    s.ok(
        &runner,
        "authenticate_runner",
        json!({"api_key": m["api_key"]}),
    )
    .await;

    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("relay.log");
    let mut relay = tokio::process::Command::from(support::cosmios())
        .args(["relay", "--server", &s.base, "--token", &s.operator])
        .args([
            "--attempts",
            "3",
            "--backoff-ms",
            "50",
            "--timeout-ms",
            "2000",
        ])
        .arg("--config")
        .arg(dir.path().join("unused.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .kill_on_drop(true)
        .spawn()
        .expect("start the relay");

    let rows: Vec<Json> = eventually("every delivery reported", 20, || async {
        let rows = s
            .sql(
                &user,
                "SELECT url, status, attempts, status_code, error, payload \
                 FROM webhook_deliveries ORDER BY id",
            )
            .await;
        rows.iter().all(|r| r[1] != "pending").then_some(rows)
    })
    .await;
    let by_path = |p: &str| {
        rows.iter()
            .find(|r| r[0].as_str().is_some_and(|u| u.ends_with(&format!("/{p}"))))
            .cloned()
            .unwrap_or_else(|| panic!("no delivery to /{p}: {rows:?}"))
    };
    let ok = by_path("ok");
    assert_eq!(
        (&ok[1], &ok[2], &ok[3], &ok[4]),
        (&json!("delivered"), &json!(1), &json!(200), &Json::Null)
    );
    let flaky = by_path("flaky");
    assert_eq!(
        (&flaky[1], &flaky[2], &flaky[3]),
        (&json!("delivered"), &json!(2), &json!(200))
    );
    let down = by_path("down");
    assert_eq!(
        (&down[1], &down[2], &down[3]),
        (&json!("failed"), &json!(3), &json!(500))
    );
    assert!(
        down[4].as_str().is_some_and(|e| e.contains("500")),
        "{down:?}"
    );

    {
        let got = received.lock().expect("lock");
        let counts: Vec<usize> = ["ok", "flaky", "down"]
            .iter()
            .map(|p| got[*p].len())
            .collect();
        assert_eq!(counts, [1, 2, 3]);
        for (path, requests) in got.iter() {
            for (signature, body) in requests {
                assert_eq!(
                    signature,
                    &hmac_hex(&secrets[path.as_str()], body),
                    "{path}"
                );
                assert_eq!(body, ok[5].as_str().expect("payload"), "the stored payload");
            }
        }
        let payload: Json = serde_json::from_str(&got["ok"][0].1).expect("JSON body");
        assert_eq!(payload["event"], "machine.online");
        assert_eq!(payload["data"]["machine_id"], m["machine_id"]);
    }

    // Nothing is sent twice: give a second send time to happen, then count again.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(received.lock().expect("lock")["ok"].len(), 1);
    assert!(
        relay.try_wait().expect("relay status").is_none(),
        "the relay keeps running: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let _ = relay.kill().await;
}

#[tokio::test]
async fn a_relay_without_the_owners_token_stops_with_a_clear_error() {
    // Proves: a token that is not the module owner's (it could see only its own deliveries
    // and no secrets) and a forged token both end the relay at once with a non-zero status
    // and a message saying why, instead of retrying forever.
    let s = Server::start().await;
    let user = s.human("ann@example.com").await;
    for (token, expected) in [
        (user.as_str(), "not the owner's"),
        ("forged.token.value", "refused the token"),
    ] {
        let out = tokio::process::Command::from(support::cosmios())
            .args(["relay", "--server", &s.base, "--token", token])
            .arg("--config")
            .arg("/nonexistent/config.json")
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run the relay");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
}
