//! The HTTP API against a real server on port 0: every route's success and failure paths,
//! in the documented shapes (`{"error": {"code", "message"}}` on failure).

#[path = "../../wasm-host/tests/common/mod.rs"]
mod common;
mod support;

use serde_json::{Value as Json, json};
use support::{TestServer, error_code};

#[tokio::test]
async fn probes_answer_without_a_token() {
    let s = TestServer::start().await;
    assert_eq!(s.get("/health", None).await, (200, json!({"status": "ok"})));
    assert_eq!(
        s.get("/ready", None).await,
        (200, json!({"status": "ready"}))
    );
    let metrics = s.http.get(s.url("/metrics")).send().await.expect("metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("text");
    assert!(text.contains("cosmictron_http_requests_total"), "{text}");
    assert!(text.contains("cosmictron_ready 1"), "{text}");
    let (status, body) = s.get("/no/such/route", None).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
}

#[tokio::test]
async fn sign_up_sign_in_and_their_refusals() {
    let s = TestServer::start().await;
    // The product document's own example signs up.
    let (status, body) = s
        .post(
            "/v1/auth/sign-up",
            None,
            json!({"email": "user@example.com", "password": "secret"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].as_str().expect("token").starts_with("eyJ"));
    assert_eq!(body["identity"].as_str().expect("identity").len(), 64);
    assert!(body["expires_at"].as_u64().expect("expires_at") > 1_700_000_000);
    let (status, body) = s
        .post(
            "/v1/auth/sign-up",
            None,
            json!({"email": "USER@example.com", "password": "secret"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "user_already_exists"));
    let (status, body) = s
        .post(
            "/v1/auth/sign-up",
            None,
            json!({"email": "nope", "password": "secret"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (422, "invalid_email"));
    let (status, body) = s
        .post(
            "/v1/auth/sign-up",
            None,
            json!({"email": "b@example.com", "password": "123"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (422, "invalid_password"));

    let (status, signed_in) = s
        .post(
            "/v1/auth/sign-in",
            None,
            json!({"email": "user@example.com", "password": "secret"}),
        )
        .await;
    assert_eq!(status, 200, "{signed_in}");
    let (status, me) = s.get("/v1/auth/me", signed_in["token"].as_str()).await;
    assert_eq!(status, 200);
    assert_eq!(me["identity"], signed_in["identity"]);
    for (email, password) in [
        ("user@example.com", "wrong one"),
        ("ghost@example.com", "secret"),
    ] {
        let (status, body) = s
            .post(
                "/v1/auth/sign-in",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (401, "invalid_credentials"),
            "{email}"
        );
    }
    // Malformed and mis-shaped bodies.
    let r = s
        .http
        .post(s.url("/v1/auth/sign-in"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    let (status, body) = support::answer(r).await;
    assert_eq!((status, error_code(&body)), (400, "malformed_json"));
    let (status, body) = s.post("/v1/auth/sign-in", None, json!({"email": 5})).await;
    assert_eq!((status, error_code(&body)), (422, "invalid_body"));
}

#[tokio::test]
async fn tokens_missing_forged_or_expired_are_refused() {
    let s = TestServer::start().await;
    let (status, body) = s.get("/v1/modules", None).await;
    assert_eq!((status, error_code(&body)), (401, "missing_token"));
    let (status, body) = s.get("/v1/modules", Some("garbage")).await;
    assert_eq!((status, error_code(&body)), (401, "invalid_token"));
    let (token, identity) = s.sign_up("ann@example.com").await;
    let parts: Vec<&str> = token.split('.').collect();
    // `alg: none`, unsigned.
    let none = format!("{}.{}.", b64url(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let (status, body) = s.get("/v1/modules", Some(&none)).await;
    assert_eq!((status, error_code(&body)), (401, "invalid_token"));
    // A tampered payload under the real signature.
    let claims = format!(r#"{{"sub":"{identity}","exp":99999999999,"iat":0,"kind":"admin"}}"#);
    let tampered = format!("{}.{}.{}", parts[0], b64url(claims.as_bytes()), parts[2]);
    let (status, body) = s.get("/v1/modules", Some(&tampered)).await;
    assert_eq!((status, error_code(&body)), (401, "invalid_token"));
    // Signed with the server's own key but expired.
    let secret = std::fs::read(s.dir.path().join("jwt-secret")).expect("secret");
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": identity, "exp": 1_000_000_000u64, "iat": 0, "kind": "user"}),
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .expect("encode");
    let (status, body) = s.get("/v1/modules", Some(&expired)).await;
    assert_eq!((status, error_code(&body)), (401, "token_expired"));
    let (status, _) = s.get("/v1/modules", Some(&token)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn deploy_call_and_query_a_module() {
    let s = TestServer::start().await;
    let (token, _) = s.sign_up("ann@example.com").await;
    let t = Some(token.as_str());
    let (status, body) = s
        .deploy(&token, "shop", common::module_bytes("basic"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "shop");
    assert_eq!(body["status"], "active");
    assert!(
        body["version"]
            .as_str()
            .expect("version")
            .starts_with("sha256:")
    );
    assert!(
        body["reducers"]
            .as_array()
            .expect("reducers")
            .contains(&json!("add_item"))
    );
    let (status, body) = s.deploy(&token, "junk", b"not wasm".to_vec()).await;
    assert_eq!(status, 422, "{body}");
    error_code(&body);

    let (status, list) = s.get("/v1/modules", t).await;
    assert_eq!(status, 200);
    assert_eq!(list["modules"][0]["name"], "shop");
    let (status, detail) = s.get("/v1/modules/shop", t).await;
    assert_eq!(status, 200, "{detail}");
    let items = detail["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == "items")
        .expect("items table")
        .clone();
    assert!(
        items["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .any(|c| c["name"] == "qty" && c["type"] == "i64")
    );
    let (status, body) = s.get("/v1/modules/nope", t).await;
    assert_eq!((status, error_code(&body)), (404, "no_such_module"));

    let (status, out) = s
        .post("/v1/reducers/add_item", t, json!({"name": "pen", "qty": 3}))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["status"], "committed");
    assert!(out["tx_id"].as_u64().expect("tx_id") > 0);
    assert!(out["duration_ms"].as_f64().is_some());
    assert_eq!(out["result"]["name"], "pen");
    let tx_after_pen = out["tx_id"].as_u64().expect("tx");
    s.post("/v1/reducers/add_item", t, json!({"name": "ink", "qty": 5}))
        .await;

    // Failures: wrong types, unknown reducer, the module's own errors keep code and status.
    let (status, body) = s
        .post(
            "/v1/reducers/add_item",
            t,
            json!({"name": "x", "qty": "many"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_arguments"));
    let (status, body) = s.post("/v1/reducers/nope", t, json!({})).await;
    assert_eq!((status, error_code(&body)), (404, "unknown_reducer"));
    let (status, body) = s
        .post("/v1/reducers/add_item", t, json!({"name": "x", "qty": -1}))
        .await;
    assert_eq!((status, error_code(&body)), (422, "negative_quantity"));
    let (status, body) = s
        .post("/v1/reducers/add_then_fail", t, json!({"name": "y"}))
        .await;
    assert_eq!((status, error_code(&body)), (409, "out_of_stock"));
    assert_eq!(body["error"]["details"], json!({"retry": false}));
    let add_item_raw = async |text: &'static str| {
        let r = s
            .http
            .post(s.url("/v1/reducers/add_item"))
            .bearer_auth(&token)
            .body(text)
            .send()
            .await
            .expect("send");
        support::answer(r).await
    };
    let (status, body) = add_item_raw("[1,2]").await;
    assert_eq!((status, error_code(&body)), (422, "invalid_arguments"));
    // Arguments are passed on as the body's text: whitespace around the object is fine.
    let (status, body) = add_item_raw("\n  {\"name\": \"cap\", \"qty\": 1}\n").await;
    assert_eq!(status, 200, "{body}");

    // SQL: columns as names, rows, params, AS OF TX, writes refused.
    let (status, rows) = s
        .post("/v1/sql", t, json!({"query": "SELECT name, qty FROM items WHERE qty > $1 ORDER BY name", "params": [1]}))
        .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows["columns"], json!(["name", "qty"]));
    assert_eq!(rows["rows"], json!([["ink", 5], ["pen", 3]]));
    let (_, old) = s
        .post(
            "/v1/sql",
            t,
            json!({"query": format!("SELECT name FROM items AS OF TX {tx_after_pen}")}),
        )
        .await;
    assert_eq!(old["rows"], json!([["pen"]]), "{old}");
    let (status, body) = s
        .post("/v1/sql", t, json!({"query": "DELETE FROM items"}))
        .await;
    assert_eq!((status, error_code(&body)), (403, "read_only"));
    let (status, body) = s
        .post("/v1/sql", t, json!({"query": "SELECT * FROM nowhere"}))
        .await;
    assert_eq!((status, error_code(&body)), (404, "no_such_table"));
    let (status, body) = s.post("/v1/sql", t, json!({"query": "SELEC 1"})).await;
    assert_eq!((status, error_code(&body)), (400, "parse_error"));
}

#[tokio::test]
async fn a_reducer_in_two_modules_is_ambiguous_until_named() {
    let s = TestServer::start().await;
    let (token, _) = s.sign_up("ann@example.com").await;
    let t = Some(token.as_str());
    let wasm = common::module_bytes("basic");
    assert_eq!(s.deploy(&token, "shop", wasm.clone()).await.0, 200);
    assert_eq!(s.deploy(&token, "depot", wasm).await.0, 200);
    let (status, body) = s
        .post("/v1/reducers/add_item", t, json!({"name": "a", "qty": 1}))
        .await;
    assert_eq!((status, error_code(&body)), (409, "ambiguous_reducer"));
    let (status, _) = s
        .post(
            "/v1/modules/depot/reducers/add_item",
            t,
            json!({"name": "a", "qty": 1}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = s
        .post(
            "/v1/reducers/add_item?module=shop",
            t,
            json!({"name": "b", "qty": 1}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, rows) = s
        .post(
            "/v1/sql",
            t,
            json!({"query": "SELECT name FROM depot.items"}),
        )
        .await;
    assert_eq!(rows["rows"], json!([["a"]]), "{rows}");
    let (status, body) = s
        .post("/v1/sql", t, json!({"query": "SELECT name FROM items"}))
        .await;
    assert_eq!((status, error_code(&body)), (409, "ambiguous_table"));
    let (_, rows) = s
        .post(
            "/v1/sql",
            t,
            json!({"query": "SELECT name FROM items", "module": "shop"}),
        )
        .await;
    assert_eq!(rows["rows"], json!([["b"]]), "{rows}");
}

#[tokio::test]
async fn row_level_security_hides_other_identities_rows() {
    let s = TestServer::start().await;
    let (owner, _) = s.sign_up("owner@example.com").await;
    let (ann, _) = s.sign_up("ann@example.com").await;
    let (bob, _) = s.sign_up("bob@example.com").await;
    assert_eq!(
        s.deploy(&owner, "notes", common::module_bytes("notes"))
            .await
            .0,
        200
    );
    for (token, text) in [(&ann, "ann's"), (&bob, "bob's"), (&ann, "ann's too")] {
        let (status, out) = s
            .post("/v1/reducers/add_note", Some(token), json!({"text": text}))
            .await;
        assert_eq!(status, 200, "{out}");
    }
    let texts = |body: &Json| -> Vec<String> {
        let mut v: Vec<String> = body["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r[0].as_str().expect("text").to_owned())
            .collect();
        v.sort();
        v
    };
    let q = json!({"query": "SELECT text FROM notes"});
    assert_eq!(
        texts(&s.post("/v1/sql", Some(&ann), q.clone()).await.1),
        ["ann's", "ann's too"]
    );
    assert_eq!(
        texts(&s.post("/v1/sql", Some(&bob), q.clone()).await.1),
        ["bob's"]
    );
    // The module's owner reads everything.
    assert_eq!(
        texts(&s.post("/v1/sql", Some(&owner), q.clone()).await.1).len(),
        3
    );
    // Aggregates see only the caller's rows too.
    let (_, count) = s
        .post(
            "/v1/sql",
            Some(&bob),
            json!({"query": "SELECT COUNT(*) FROM notes"}),
        )
        .await;
    assert_eq!(count["rows"], json!([[1]]));
}

#[tokio::test]
async fn views_are_queried_and_described_over_http() {
    // Proves a module's views answer `POST /v1/sql` (routed to the module by the view's name),
    // a private view is a missing table to anyone but the owner, and `GET /v1/modules/:name`
    // lists the views with their columns.
    let s = TestServer::start().await;
    let (owner, _) = s.sign_up("owner@example.com").await;
    let (ann, ann_id) = s.sign_up("ann@example.com").await;
    let (bob, bob_id) = s.sign_up("bob@example.com").await;
    s.deploy(&owner, "notes", common::module_bytes("notes"))
        .await;
    for (token, text) in [(&ann, "a1"), (&bob, "b1"), (&ann, "a2")] {
        s.post("/v1/reducers/add_note", Some(token), json!({"text": text}))
            .await;
    }
    let (status, counts) = s
        .post(
            "/v1/sql",
            Some(&bob),
            json!({"query": "SELECT owner, notes FROM note_counts ORDER BY notes DESC"}),
        )
        .await;
    assert_eq!(status, 200, "{counts}");
    assert_eq!(counts["columns"], json!(["owner", "notes"]));
    assert_eq!(counts["column_types"], json!(["identity", "u64"]));
    assert_eq!(counts["rows"], json!([[ann_id, 2], [bob_id, 1]]));
    let (status, hidden) = s
        .post(
            "/v1/sql",
            Some(&bob),
            json!({"query": "SELECT * FROM all_notes"}),
        )
        .await;
    assert_eq!((status, error_code(&hidden)), (404, "no_such_table"));
    let (status, all) = s
        .post(
            "/v1/sql",
            Some(&owner),
            json!({"query": "SELECT text FROM all_notes ORDER BY text"}),
        )
        .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["rows"], json!([["a1"], ["a2"], ["b1"]]));
    let (_, info) = s.get("/v1/modules/notes", Some(&owner)).await;
    let views = info["views"].as_array().expect("views");
    let names: Vec<(&str, bool)> = views
        .iter()
        .map(|v| (v["name"].as_str().unwrap_or(""), v["public"] == true))
        .collect();
    assert_eq!(names, [("all_notes", false), ("note_counts", true)]);
    assert_eq!(views[1]["columns"][1]["name"], "notes");
    assert_eq!(views[1]["columns"][1]["type"], "u64");
    let reducers: Vec<&str> = info["reducers"]
        .as_array()
        .expect("reducers")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(reducers, ["add_note"], "views are not reducers");
}

#[tokio::test]
async fn oversized_bodies_and_rate_limits_are_answered_in_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = support::config(dir.path());
    c.max_body_bytes = 1024;
    c.rate_limit_per_identity = cosmictron::RateLimit {
        per_minute: 60,
        burst: 3,
    };
    let s = TestServer::start_in(dir, c).await;
    let (token, _) = s.sign_up("ann@example.com").await;
    let big = json!({"query": "x".repeat(4096)});
    let (status, body) = s.post("/v1/sql", Some(&token), big).await;
    assert_eq!((status, error_code(&body)), (413, "payload_too_large"));
    let mut refused = None;
    for _ in 0..10 {
        let r = s
            .http
            .get(s.url("/v1/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("send");
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("the identity limit answers 429");
    let headers = r.headers().clone();
    assert!(headers.get("retry-after").is_some());
    assert_eq!(
        headers
            .get("x-ratelimit-limit")
            .and_then(|v| v.to_str().ok()),
        Some("60")
    );
    assert_eq!(
        headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok()),
        Some("0")
    );
    let (_, body) = support::answer(r).await;
    assert_eq!(error_code(&body), "rate_limited");
    // Every API answer carries the per-IP headers.
    let r = s
        .http
        .post(s.url("/v1/auth/anonymous"))
        .send()
        .await
        .expect("send");
    assert!(r.headers().get("x-ratelimit-remaining").is_some());
}

#[tokio::test]
async fn magic_links_are_single_use_and_do_not_enumerate_accounts() {
    let s = TestServer::start().await;
    s.sign_up("ann@example.com").await;
    for email in ["ann@example.com", "nobody@example.com"] {
        let (status, _) = s
            .post("/v1/auth/magic-link", None, json!({"email": email}))
            .await;
        assert_eq!(status, 202, "same answer for {email}");
    }
    let outbox = s.dir.path().join("outbox");
    let mail = std::fs::read_dir(&outbox)
        .expect("outbox")
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path()).expect("mail"))
        .find(|m| m.contains("To: ann@example.com"))
        .expect("a mail for ann");
    let token = mail
        .split("magic_token=")
        .nth(1)
        .expect("link")
        .chars()
        .take(64)
        .collect::<String>();
    let (status, session) = s
        .post("/v1/auth/magic-link/verify", None, json!({"token": token}))
        .await;
    assert_eq!(status, 200, "{session}");
    let (_, me) = s.get("/v1/auth/me", session["token"].as_str()).await;
    let (_, signed_in) = s
        .post(
            "/v1/auth/sign-in",
            None,
            json!({"email": "ann@example.com", "password": "correct horse"}),
        )
        .await;
    assert_eq!(
        me["identity"], signed_in["identity"],
        "the link signs in to the same account"
    );
    let (status, body) = s
        .post("/v1/auth/magic-link/verify", None, json!({"token": token}))
        .await;
    assert_eq!((status, error_code(&body)), (401, "invalid_magic_link"));
}

#[tokio::test]
async fn anonymous_identities_can_call_reducers() {
    let s = TestServer::start().await;
    let (owner, _) = s.sign_up("owner@example.com").await;
    assert_eq!(
        s.deploy(&owner, "notes", common::module_bytes("notes"))
            .await
            .0,
        200
    );
    let (status, anon) = s.post("/v1/auth/anonymous", None, json!({})).await;
    assert_eq!(status, 200);
    let token = anon["token"].as_str().expect("token");
    let (status, out) = s
        .post("/v1/reducers/add_note", Some(token), json!({"text": "hi"}))
        .await;
    assert_eq!(status, 200, "{out}");
    let (_, rows) = s
        .post(
            "/v1/sql",
            Some(token),
            json!({"query": "SELECT text FROM notes"}),
        )
        .await;
    assert_eq!(rows["rows"], json!([["hi"]]));
}

#[tokio::test]
async fn a_restart_keeps_accounts_modules_and_data() {
    let s = TestServer::start().await;
    let (token, _) = s.sign_up("ann@example.com").await;
    assert_eq!(
        s.deploy(&token, "shop", common::module_bytes("basic"))
            .await
            .0,
        200
    );
    let (status, _) = s
        .post(
            "/v1/reducers/add_item",
            Some(&token),
            json!({"name": "pen", "qty": 3}),
        )
        .await;
    assert_eq!(status, 200);
    let dir = s.stop().await;
    let c = support::config(dir.path());
    let s = TestServer::start_in(dir, c).await;
    // The old token still verifies (same secret), the account still signs in.
    let (_, rows) = s
        .post(
            "/v1/sql",
            Some(&token),
            json!({"query": "SELECT name FROM items"}),
        )
        .await;
    assert_eq!(rows["rows"], json!([["pen"]]), "{rows}");
    let (status, _) = s
        .post(
            "/v1/auth/sign-in",
            None,
            json!({"email": "ann@example.com", "password": "correct horse"}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn module_logs_are_for_the_owner() {
    let s = TestServer::start().await;
    let (owner, _) = s.sign_up("owner@example.com").await;
    let (other, _) = s.sign_up("other@example.com").await;
    assert_eq!(
        s.deploy(&owner, "shop", common::module_bytes("basic"))
            .await
            .0,
        200
    );
    s.post("/v1/reducers/flood", Some(&owner), json!({"lines": 3}))
        .await;
    let (status, logs) = s.get("/v1/modules/shop/logs", Some(&owner)).await;
    assert_eq!(status, 200, "{logs}");
    assert!(!logs["lines"].as_array().expect("lines").is_empty());
    let (status, body) = s.get("/v1/modules/shop/logs", Some(&other)).await;
    assert_eq!((status, error_code(&body)), (403, "forbidden"));
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn modules_are_described_and_only_their_owner_undeploys_them() {
    let s = TestServer::start().await;
    let (owner, owner_identity) = s.sign_up("owner@example.com").await;
    let (other, _) = s.sign_up("other@example.com").await;
    assert_eq!(
        s.deploy(&owner, "shop", common::module_bytes("basic"))
            .await
            .0,
        200
    );
    let (status, info) = s.get("/v1/modules/shop", Some(&other)).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["owner"], json!(owner_identity));
    assert!(info["deployed_at"].as_i64().is_some());
    let add_item = info["reducers"]
        .as_array()
        .expect("reducers")
        .iter()
        .find(|r| r["name"] == "add_item")
        .expect("add_item")
        .clone();
    assert_eq!(add_item["args"][1]["name"], "qty");
    // Another identity may neither redeploy nor undeploy it.
    let (status, body) = s
        .deploy(&other, "shop", common::module_bytes("notes"))
        .await;
    assert_eq!(status, 403, "{body}");
    let r = s
        .http
        .delete(s.url("/v1/modules/shop"))
        .bearer_auth(&other)
        .send()
        .await
        .expect("send");
    let (status, body) = support::answer(r).await;
    assert_eq!(status, 403, "{body}");
    let r = s
        .http
        .delete(s.url("/v1/modules/shop"))
        .bearer_auth(&owner)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let (status, body) = s.get("/v1/modules/shop", Some(&owner)).await;
    assert_eq!((status, error_code(&body)), (404, "no_such_module"));
    let (status, body) = s
        .post(
            "/v1/reducers/add_item",
            Some(&owner),
            json!({"name": "a", "qty": 1}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (404, "unknown_reducer"));
}

#[tokio::test]
async fn reducer_arguments_may_be_messagepack() {
    let s = TestServer::start().await;
    let (token, _) = s.sign_up("ann@example.com").await;
    assert_eq!(
        s.deploy(&token, "shop", common::module_bytes("basic"))
            .await
            .0,
        200
    );
    let body = rmp_serde::to_vec_named(&json!({"name": "packed", "qty": 2})).expect("encode");
    let r = s
        .http
        .post(s.url("/v1/reducers/add_item"))
        .bearer_auth(&token)
        .header("content-type", "application/msgpack")
        .body(body)
        .send()
        .await
        .expect("send");
    let (status, out) = support::answer(r).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["result"]["name"], "packed");
}

#[tokio::test]
async fn a_static_directory_is_served_behind_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = tempfile::tempdir().expect("site");
    std::fs::write(site.path().join("index.html"), "<h1>dashboard</h1>").expect("write");
    let mut c = support::config(dir.path());
    c.static_dir = Some(site.path().to_owned());
    let s = TestServer::start_in(dir, c).await;
    let page = s.http.get(s.url("/")).send().await.expect("get");
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await.expect("text"), "<h1>dashboard</h1>");
    // API routes win, and a missing file is the JSON 404.
    assert_eq!(s.get("/health", None).await.0, 200);
    let (status, body) = s.get("/missing.js", None).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
}

#[tokio::test]
async fn diagnostics_show_details_to_admins_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = support::config(dir.path());
    c.admin_email = Some("admin@example.com".into());
    c.admin_password = Some("admin password".into());
    let s = TestServer::start_in(dir, c).await;
    let (_, admin) = s
        .post(
            "/v1/auth/sign-in",
            None,
            json!({"email": "admin@example.com", "password": "admin password"}),
        )
        .await;
    let admin = admin["token"].as_str().expect("admin token").to_owned();
    assert_eq!(
        s.deploy(&admin, "shop", common::module_bytes("basic"))
            .await
            .0,
        200
    );
    s.post(
        "/v1/reducers/add_item",
        Some(&admin),
        json!({"name": "pen", "qty": 1}),
    )
    .await;
    let (user, _) = s.sign_up("ann@example.com").await;
    let (status, plain) = s.get("/diagnostics", Some(&user)).await;
    assert_eq!(status, 200);
    assert_eq!(plain["modules"], 1);
    assert!(
        plain.get("details").is_none(),
        "no details for a plain user: {plain}"
    );
    let (_, full) = s.get("/diagnostics", Some(&admin)).await;
    let shop = &full["details"]["modules"][0];
    assert_eq!(shop["name"], "shop");
    assert!(shop["wal_bytes"].as_u64().expect("wal bytes") > 0, "{full}");
    assert!(shop["latest_tx"].as_u64().expect("latest tx") >= 2);
    assert!(shop["last_fsync_micros"].as_u64().is_some());
    assert!(shop["fsync_micros_total"].as_u64().is_some());
    // Admins read every module's private data through SQL.
    let (status, rows) = s
        .post(
            "/v1/sql",
            Some(&admin),
            json!({"query": "SELECT message FROM audit"}),
        )
        .await;
    assert_eq!(status, 200, "{rows}");
}
