//! The COSMIOS REST API of the product document over real HTTP at the server's root: user API
//! keys (`Authorization: Bearer csu_…`), every listed endpoint with its filters, 60 requests a
//! minute per key with `X-RateLimit-*` headers, and what another user's key cannot see or do.

use cosmios_tests::{Server, answer, error_code};
use serde_json::{Value as Json, json};

async fn api(
    s: &Server,
    method: &str,
    path: &str,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Json) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut rb = s.http.request(method, format!("{}{path}", s.base));
    if let Some(k) = key {
        rb = rb.bearer_auth(k);
    }
    let r = rb.send().await.expect("request");
    let headers = r.headers().clone();
    let (status, body) = answer(r).await;
    (status, headers, body)
}

async fn api_key(s: &Server, user: &str) -> String {
    let k = s.ok(user, "create_api_key", json!({"label": "ci"})).await;
    let key = k["api_key"].as_str().expect("api_key").to_owned();
    assert!(key.starts_with("csu_"), "{key}");
    key
}

fn ids(list: &Json) -> Vec<u64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .filter_map(|v| v["id"].as_u64())
        .collect()
}

#[tokio::test]
async fn every_endpoint_answers_for_the_keys_owner() {
    let s = Server::start().await;
    let user = s.human("me@example.com").await;
    let machine = s
        .ok(&user, "register_machine", json!({"name": "mac-mini"}))
        .await;
    let machine_id = machine["machine_id"].as_u64().expect("id");
    let runner = s.anonymous().await;
    s.ok(
        &runner,
        "authenticate_runner",
        json!({"api_key": machine["api_key"]}),
    )
    .await;
    let key = api_key(&s, &user).await;

    let (status, headers, body) = api(&s, "GET", "/api/v1/machines", Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["machines"][0]["name"], "mac-mini");
    assert_eq!(body["machines"][0]["enabled"], true);
    assert!(body["machines"][0]["status"].is_string());
    assert_eq!(headers["x-ratelimit-limit"], "60");
    assert_eq!(headers["x-ratelimit-remaining"], "59");
    assert!(headers.contains_key("x-ratelimit-reset"));

    let mut runs = Vec::new();
    for task in ["fix the tests", "write docs"] {
        let run = s
            .ok(
                &user,
                "dispatch_run",
                json!({"machine": machine_id, "workspace": "/w", "task": task}),
            )
            .await;
        runs.push(run["id"].as_u64().expect("run id"));
    }
    s.ok(&runner, "claim_run", json!({"run": runs[0]})).await;
    let (_, _, body) = api(&s, "GET", "/api/v1/runs", Some(&key)).await;
    assert_eq!(ids(&body["runs"]), [runs[1], runs[0]], "newest first");
    let (_, _, body) = api(&s, "GET", "/api/v1/runs?status=running", Some(&key)).await;
    assert_eq!(ids(&body["runs"]), [runs[0]]);
    let (_, _, body) = api(
        &s,
        "GET",
        &format!("/api/v1/runs?machine={machine_id}&status=pending"),
        Some(&key),
    )
    .await;
    assert_eq!(ids(&body["runs"]), [runs[1]]);
    let (_, _, body) = api(&s, "GET", "/api/v1/runs?machine=999", Some(&key)).await;
    assert_eq!(ids(&body["runs"]), Vec::<u64>::new());
    let (status, _, body) = api(&s, "GET", "/api/v1/runs?machine=laptop", Some(&key)).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_argument"));
    let (_, _, body) = api(&s, "GET", "/api/v1/sessions", Some(&key)).await;
    assert_eq!(body["sessions"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body["sessions"][0]["run_id"], runs[0]);

    // Approvals.
    let event = s
        .ok(
            &runner,
            "request_approval",
            json!({"run": runs[0], "message": "rm -rf build/?"}),
        )
        .await;
    let event = event.as_u64().expect("event id");
    let (_, _, body) = api(&s, "GET", "/api/v1/events", Some(&key)).await;
    let pending: Vec<&Json> = body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["approval"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "{body}");
    assert_eq!(pending[0]["id"], event);
    let (status, _, body) = api(
        &s,
        "POST",
        &format!("/api/v1/events/{event}/approve"),
        Some(&key),
    )
    .await;
    assert_eq!(
        (status, &body["event"]["approval"]),
        (200, &json!("approved")),
        "{body}"
    );
    let (status, _, body) = api(
        &s,
        "POST",
        &format!("/api/v1/events/{event}/reject"),
        Some(&key),
    )
    .await;
    assert_eq!((status, error_code(&body)), (409, "invalid_state"));

    // Disable refuses new runs; enable lets them through again.
    let (status, _, body) = api(
        &s,
        "POST",
        &format!("/api/v1/machines/{machine_id}/disable"),
        Some(&key),
    )
    .await;
    assert_eq!(
        (status, &body["machine"]["enabled"]),
        (200, &json!(false)),
        "{body}"
    );
    let (status, _) = s
        .call(
            &user,
            "dispatch_run",
            json!({"machine": machine_id, "workspace": "/w", "task": "x"}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _, body) = api(
        &s,
        "POST",
        &format!("/api/v1/machines/{machine_id}/enable"),
        Some(&key),
    )
    .await;
    assert_eq!((status, &body["machine"]["enabled"]), (200, &json!(true)));

    // The same API under the module's prefix.
    let (status, _, body) = api(&s, "GET", "/m/cosmios/api/v1/machines", Some(&key)).await;
    assert_eq!(
        (status, body["machines"].as_array().map(Vec::len)),
        (200, Some(1))
    );
}

#[tokio::test]
async fn keys_are_checked_scoped_to_their_owner_and_revocable() {
    let s = Server::start().await;
    let me = s.human("me@example.com").await;
    let machine = s.ok(&me, "register_machine", json!({"name": "mine"})).await;
    let machine_id = machine["machine_id"].as_u64().expect("id");
    let other = s.human("other@example.com").await;
    let other_key = api_key(&s, &other).await;
    let (status, _, body) = api(&s, "GET", "/api/v1/machines", Some(&other_key)).await;
    assert_eq!((status, &body["machines"]), (200, &json!([])));
    let (status, _, body) = api(
        &s,
        "POST",
        &format!("/api/v1/machines/{machine_id}/disable"),
        Some(&other_key),
    )
    .await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));

    for key in [None, Some("csu_unknown"), Some("agk_wrong_kind")] {
        let (status, _, body) = api(&s, "GET", "/api/v1/runs", key).await;
        assert_eq!(
            (status, error_code(&body)),
            (401, "unauthorized"),
            "{key:?}"
        );
    }
    // A machine's key is not a user API key.
    let machine_key = machine["api_key"].as_str().expect("key");
    let (status, _, _) = api(&s, "GET", "/api/v1/machines", Some(machine_key)).await;
    assert_eq!(status, 401);
    // The stored digest is all there is; revoking ends the key.
    let k = s.ok(&me, "create_api_key", json!({"label": "temp"})).await;
    let key = k["api_key"].as_str().expect("key");
    let rows = s.sql(&me, "SELECT label, key_hash FROM api_keys").await;
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0][1], json!(key));
    assert_eq!(api(&s, "GET", "/api/v1/events", Some(key)).await.0, 200);
    s.ok(&me, "revoke_api_key", json!({"id": k["id"]})).await;
    assert_eq!(api(&s, "GET", "/api/v1/events", Some(key)).await.0, 401);
}

#[tokio::test]
async fn the_sixty_first_request_in_a_minute_is_429() {
    let s = Server::start().await;
    let user = s.human("me@example.com").await;
    let key = api_key(&s, &user).await;
    for i in 0..60u32 {
        let (status, headers, _) = api(&s, "GET", "/api/v1/events", Some(&key)).await;
        assert_eq!(status, 200);
        assert_eq!(
            headers["x-ratelimit-remaining"],
            (59 - i).to_string().as_str()
        );
    }
    let (status, headers, body) = api(&s, "GET", "/api/v1/machines", Some(&key)).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"));
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("secs");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    // Per key: another key of the same user is not limited.
    let fresh = api_key(&s, &user).await;
    assert_eq!(
        api(&s, "GET", "/api/v1/machines", Some(&fresh)).await.0,
        200
    );
}
