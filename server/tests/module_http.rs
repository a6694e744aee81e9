//! Modules' HTTP routes against a real server on port 0, with the `routes` test module: reads
//! on snapshots, writes that commit or roll back with the response, traps, path parameters,
//! declared rate limits, the caller's identity, `GET /v1/modules/:name`, exposure at the root
//! and its conflicts; plus, embedded, a read-only handler that runs while the writer is held.

#[path = "../../wasm-host/tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use cosmictron::{Cosmictron, CosmictronConfig, ModuleFile, RouteRequest};
use cosmictron_types::Identity;
use cosmictron_wasm_host::HostConfig;
use serde_json::{Value as Json, json};
use support::{TestServer, answer, config, error_code};

async fn with_routes_module() -> (TestServer, String) {
    let s = TestServer::start().await;
    let (owner, _) = s.sign_up("owner@example.com").await;
    let (status, body) = s
        .deploy(&owner, "routes", common::module_bytes("routes"))
        .await;
    assert_eq!(status, 200, "{body}");
    (s, owner)
}

impl TestServer {
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, reqwest::header::HeaderMap, Json) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self
            .http
            .request(method, self.url(path))
            .body(body.to_owned());
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let r = rb.send().await.expect("request");
        let headers = r.headers().clone();
        let (status, body) = answer(r).await;
        (status, headers, body)
    }

    async fn item_count(&self) -> u64 {
        let (status, _, body) = self.send("GET", "/m/routes/items/count", &[], "").await;
        assert_eq!(status, 200, "{body}");
        body["count"].as_u64().expect("count")
    }
}

#[tokio::test]
async fn handlers_commit_roll_back_and_trap_as_documented() {
    let (s, _) = with_routes_module().await;
    let (status, headers, body) = s
        .send("POST", "/m/routes/items", &[], r#"{"name": "pen"}"#)
        .await;
    assert_eq!((status, &body), (201, &json!({"id": 1, "name": "pen"})));
    assert_eq!(headers["location"], "/items/1");
    assert_eq!(headers["content-type"], "application/json");
    let (status, _, body) = s.send("GET", "/m/routes/items?prefix=p", &[], "").await;
    assert_eq!(
        (status, body),
        (200, json!({"items": [{"id": 1, "name": "pen"}]}))
    );
    let (status, _, body) = s.send("GET", "/m/routes/items/1", &[], "").await;
    assert_eq!((status, body), (200, json!({"id": 1, "name": "pen"})));
    // The module's own 404 body, distinct from the server's.
    let (status, _, body) = s.send("GET", "/m/routes/items/9", &[], "").await;
    assert_eq!((status, body), (404, json!({"message": "no such item"})));
    // A literal segment beats `:id`.
    assert_eq!(s.item_count().await, 1);

    // A response of 400 or more rolls back the handler's writes...
    let (status, _, body) = s
        .send("POST", "/m/routes/items/conflict", &[], r#"{"name": "x"}"#)
        .await;
    assert_eq!((status, body), (409, json!({"code": "conflict"})));
    assert_eq!(s.item_count().await, 1);
    // ...unless it keeps them.
    let (status, _, _) = s
        .send("POST", "/m/routes/items/kept", &[], r#"{"name": "kept"}"#)
        .await;
    assert_eq!(status, 400);
    assert_eq!(s.item_count().await, 2);
    // An error is answered like a reducer's, and rolls back.
    let (status, _, body) = s
        .send("POST", "/m/routes/items/error", &[], r#"{"name": "x"}"#)
        .await;
    assert_eq!((status, error_code(&body)), (418, "teapot"));
    assert_eq!(s.item_count().await, 2);
    // A trap is a 500 `reducer_trap` with nothing committed; the next call is fine.
    let (status, _, body) = s
        .send("POST", "/m/routes/items/trap", &[], r#"{"name": "x"}"#)
        .await;
    assert_eq!((status, error_code(&body)), (500, "reducer_trap"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("the handler gave up")
    );
    assert_eq!(s.item_count().await, 2);
    let (status, _, _) = s
        .send("POST", "/m/routes/items", &[], r#"{"name": "after"}"#)
        .await;
    assert_eq!(status, 201);
    // A read-only handler cannot write.
    let (status, _, body) = s.send("POST", "/m/routes/items/sneaky", &[], "").await;
    assert_eq!((status, error_code(&body)), (500, "read_only"));
    assert_eq!(s.item_count().await, 3);
    // A body that is not JSON: the SDK's 400.
    let (status, _, body) = s.send("POST", "/m/routes/items", &[], "{nope").await;
    assert_eq!((status, error_code(&body)), (400, "invalid_body"));
}

#[tokio::test]
async fn unknown_routes_methods_and_modules_are_refused_with_codes() {
    let (s, _) = with_routes_module().await;
    let (status, headers, body) = s.send("DELETE", "/m/routes/items", &[], "").await;
    assert_eq!((status, error_code(&body)), (405, "method_not_allowed"));
    assert_eq!(headers["allow"], "GET, POST");
    let (status, _, body) = s.send("GET", "/m/routes/nowhere", &[], "").await;
    assert_eq!((status, error_code(&body)), (404, "no_such_route"));
    let (status, _, body) = s.send("GET", "/m/ghost/items", &[], "").await;
    assert_eq!((status, error_code(&body)), (404, "no_such_module"));
    // Route handlers are not reducers.
    let (status, body) = s
        .post("/v1/modules/routes/reducers/list_items", None, json!({}))
        .await;
    assert_eq!(status, 401, "{body}");
    let (token, _) = s.sign_up("caller@example.com").await;
    let (status, body) = s
        .post(
            "/v1/modules/routes/reducers/list_items",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (404, "no_such_reducer"));
    // An oversized body is refused before the handler runs.
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(2 << 20));
    let (status, _, body) = s.send("POST", "/m/routes/items", &[], &big).await;
    assert_eq!((status, error_code(&body)), (413, "payload_too_large"));
}

#[tokio::test]
async fn handlers_see_the_request_and_the_callers_identity() {
    let (s, _) = with_routes_module().await;
    let (token, identity) = s.sign_up("me@example.com").await;
    let auth = format!("Bearer {token}");
    let (status, _, body) = s
        .send(
            "PUT",
            "/m/routes/echo/a%20b/c?x=1+2&y",
            &[("X-Custom", "yes"), ("Authorization", &auth)],
            "hello",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["path"], "/echo/a%20b/c");
    assert_eq!((&body["a"], &body["b"]), (&json!("a b"), &json!("c")));
    assert_eq!(
        (&body["query"], &body["x"]),
        (&json!("x=1+2&y"), &json!("1 2"))
    );
    assert_eq!(body["header"], "yes");
    assert_eq!(body["body"], "hello");
    assert_eq!(body["identity"], identity.as_str());
    assert_eq!(body["sender_is_module"], false);
    // A bearer that is not a Cosmictron token is the handler's business: no identity.
    let (status, _, body) = s
        .send(
            "PUT",
            "/m/routes/echo/1/2",
            &[("Authorization", "Bearer csu_abc")],
            "",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["bearer"], &body["identity"]),
        (&json!("csu_abc"), &Json::Null)
    );
    assert_eq!(body["sender_is_module"], true);
}

#[tokio::test]
async fn declared_rate_limits_count_per_key_with_headers() {
    let (s, _) = with_routes_module().await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    for remaining in ["2", "1", "0"] {
        let (status, headers, body) = s
            .send("GET", "/m/routes/limited", &[("X-Api-Key", "k1")], "")
            .await;
        assert_eq!((status, body), (200, json!("ok")));
        assert_eq!(headers["x-ratelimit-limit"], "3");
        assert_eq!(headers["x-ratelimit-remaining"], remaining);
        let reset: u64 = headers["x-ratelimit-reset"]
            .to_str()
            .expect("text")
            .parse()
            .expect("unix seconds");
        assert!(
            (before + 59..=before + 62).contains(&reset),
            "{reset} vs {before}"
        );
    }
    let (status, headers, body) = s
        .send("GET", "/m/routes/limited", &[("X-Api-Key", "k1")], "")
        .await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"));
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("secs");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    // Another key has its own window.
    let (status, _, _) = s
        .send("GET", "/m/routes/limited", &[("X-Api-Key", "k2")], "")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_module_description_lists_its_routes() {
    let (s, owner) = with_routes_module().await;
    let (status, body) = s.get("/v1/modules/routes", Some(&owner)).await;
    assert_eq!(status, 200, "{body}");
    let routes = body["routes"].as_array().expect("routes");
    assert_eq!(routes.len(), 13, "{body}");
    assert!(routes.contains(&json!({
        "method": "GET", "path": "/items", "handler": "list_items", "read_only": true
    })));
    assert!(routes.contains(&json!({
        "method": "GET", "path": "/limited", "handler": "limited", "read_only": false,
        "rate_limit": {"requests": 3, "window_secs": 60, "key": "header:x-api-key"}
    })));
    let reducers: Vec<&str> = body["reducers"]
        .as_array()
        .expect("reducers")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(reducers, ["add_item", "item"]);
}

#[tokio::test]
async fn exposed_routes_come_after_the_api_and_before_static_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("static dir");
    std::fs::write(files.path().join("index.html"), "<h1>dash</h1>").expect("write");
    let mut c = config(dir.path());
    c.static_dir = Some(files.path().to_owned());
    c.expose = vec!["routes".into()];
    let s = TestServer::start_in(dir, c).await;
    // Not deployed yet: the path is nobody's.
    let (status, _, _) = s.send("GET", "/items", &[], "").await;
    assert_eq!(status, 404);
    let (owner, _) = s.sign_up("owner@example.com").await;
    let (status, body) = s
        .deploy(&owner, "routes", common::module_bytes("routes"))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, headers, body) = s.send("POST", "/items", &[], r#"{"name": "root"}"#).await;
    assert_eq!((status, &body["name"]), (201, &json!("root")));
    // The per-IP limit covers exposed routes as it covers the API.
    assert!(headers.contains_key("x-ratelimit-limit"), "{headers:?}");
    let (status, _, body) = s.send("GET", "/m/routes/items", &[], "").await;
    assert_eq!(
        (status, body["items"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (status, _, body) = s.send("GET", "/", &[], "").await;
    assert_eq!((status, body), (200, json!("<h1>dash</h1>")));
    let (status, _, _) = s.send("GET", "/health", &[], "").await;
    assert_eq!(status, 200);
    let (status, _, body) = s.send("PATCH", "/items", &[], "").await;
    assert_eq!((status, error_code(&body)), (405, "method_not_allowed"));
    let (status, _, _) = s.send("GET", "/nothing-here", &[], "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn colliding_exposed_routes_are_refused_at_deploy_and_at_start() {
    let wasm = common::module_bytes("routes");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(dir.path());
    c.expose = vec!["one".into(), "two".into()];
    let s = TestServer::start_in(dir, c).await;
    let (owner, _) = s.sign_up("owner@example.com").await;
    assert_eq!(s.deploy(&owner, "one", wasm.clone()).await.0, 200);
    let (status, body) = s.deploy(&owner, "two", wasm.clone()).await;
    assert_eq!(
        (status, error_code(&body)),
        (409, "route_conflict"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("route `GET /items` of module `two` matches the same requests as `GET /items` of module `one`"),
        "{message}"
    );
    // Under a name that is not exposed it deploys, served under /m only.
    assert_eq!(s.deploy(&owner, "three", wasm.clone()).await.0, 200);

    // At start: the server refuses to serve and says why.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("routes.wasm");
    std::fs::write(&file, &wasm).expect("write");
    let mut c = config(&dir.path().join("data"));
    c.admin_email = Some("admin@example.com".into());
    c.admin_password = Some("a long admin secret".into());
    c.deploy_on_start = ["a", "b"]
        .iter()
        .map(|n| ModuleFile {
            name: (*n).into(),
            path: file.clone(),
        })
        .collect();
    c.expose = vec!["a".into(), "b".into()];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        cosmictron::run(listener, c, std::future::pending()),
    )
    .await
    .expect("the server stops by itself");
    let err = out.expect_err("refused");
    assert_eq!(err.code(), "invalid_config");
    assert!(
        err.to_string()
            .contains("of module `b` matches the same requests"),
        "{err}"
    );
}

#[tokio::test]
async fn read_only_handlers_serve_consistent_snapshots_beside_writes() {
    let (s, _) = with_routes_module().await;
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let (status, _, body) = s
                    .send(
                        "POST",
                        "/m/routes/items",
                        &[],
                        &format!(r#"{{"name": "n{i}"}}"#),
                    )
                    .await;
                assert_eq!(status, 201, "{body}");
            } else {
                let (status, _, body) = s.send("GET", "/m/routes/items", &[], "").await;
                assert_eq!(status, 200, "{body}");
                // A snapshot sees a prefix of the commits: ids 1..=n, no gaps.
                let ids: Vec<u64> = body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter_map(|i| i["id"].as_u64())
                    .collect();
                let expected: Vec<u64> = (1..=ids.len() as u64).collect();
                assert_eq!(ids, expected);
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(s.item_count().await, 20);
}

#[test]
fn a_read_only_handler_never_waits_for_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = std::sync::Arc::new(
        Cosmictron::open(dir.path(), CosmictronConfig::default()).expect("open"),
    );
    db.deploy("routes", &common::module_bytes("routes"), Identity([1; 32]))
        .expect("deploy");
    let writer = db
        .database("routes")
        .expect("db")
        .begin_write_owned()
        .expect("writer");
    let (done, finished) = std::sync::mpsc::channel();
    let reader = db.clone();
    std::thread::spawn(move || {
        let request = RouteRequest {
            method: "GET".into(),
            path: "/items".into(),
            ..RouteRequest::default()
        };
        let _ = done.send(
            reader
                .call_route("routes", request)
                .map(|r| r.response.status),
        );
    });
    // With the writer held, a handler that needed it would block here until the time-out.
    let status = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the read-only handler finished while the writer was held");
    assert_eq!(status.expect("call"), 200);
    drop(writer);
}

#[tokio::test]
async fn malformed_and_duplicate_routes_are_refused_at_deploy_with_reasons() {
    let s = TestServer::start().await;
    let (owner, _) = s.sign_up("owner@example.com").await;
    let (status, body) = s
        .deploy(&owner, "bad", common::module_bytes("routes_bad"))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (422, "invalid_module"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap_or("");
    for reason in [
        "matches the same requests as an earlier route",
        "route path `items` must start with `/`",
        "parameter `x` appears twice",
        "a rate limit allows at least 1 request",
    ] {
        assert!(message.contains(reason), "{reason} in {message}");
    }
    let (status, _) = s.get("/v1/modules/bad", Some(&owner)).await;
    assert_eq!(status, 404);
}

#[test]
fn handlers_are_held_to_the_time_and_memory_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = CosmictronConfig {
        host: HostConfig {
            reducer_timeout: Duration::from_millis(300),
            module_memory_bytes_max: 64 << 20,
            ..HostConfig::default()
        },
        ..CosmictronConfig::default()
    };
    let db = Cosmictron::open(dir.path(), config).expect("open");
    db.deploy("routes", &common::module_bytes("routes"), Identity([1; 32]))
        .expect("deploy");
    let request = |method: &str, path: &str| RouteRequest {
        method: method.into(),
        path: path.into(),
        ..RouteRequest::default()
    };
    let started = std::time::Instant::now();
    let err = db
        .call_route("routes", request("GET", "/spin"))
        .expect_err("stopped");
    assert_eq!((err.code(), err.http_status()), ("reducer_timeout", 504));
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = db
        .call_route("routes", request("POST", "/hog"))
        .expect_err("refused");
    assert_eq!(
        (err.code(), err.http_status()),
        ("module_memory_limit", 500)
    );
    // Nothing the hog wrote was committed, and the next request is served.
    let out = db
        .call_route("routes", request("GET", "/items/count"))
        .expect("count");
    assert_eq!(out.response.body, br#"{"count":0}"#);
}

#[test]
fn serve_takes_exposed_modules_from_flags_and_the_config_file() {
    let c = cosmictron::cli::serve_config(&["--expose", "agent_signup", "--expose", "cosmios"])
        .expect("config");
    assert_eq!(c.expose, ["agent_signup", "cosmios"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cosmictron.toml");
    std::fs::write(&file, "expose = [\"shop\"]\n").expect("write");
    let c = cosmictron::cli::serve_config(&["--config", file.to_str().expect("utf-8")])
        .expect("config");
    assert_eq!(c.expose, ["shop"]);
}
