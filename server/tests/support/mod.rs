//! A real server on port 0 over a temporary data directory, and HTTP helpers.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cosmictron::ServerConfig;
use serde_json::{Value as Json, json};

pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<cosmictron::Result<()>>>,
}

pub fn config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig {
        data_dir: dir.to_owned(),
        listen: "127.0.0.1:0".into(),
        ..ServerConfig::default()
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = config(dir.path());
        TestServer::start_in(dir, c).await
    }

    pub async fn start_in(dir: tempfile::TempDir, config: ServerConfig) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(cosmictron::run(listener, config, async move {
            let _ = stopped.await;
        }));
        let server = TestServer {
            addr,
            dir,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        };
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.http.get(self.url("/ready")).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "server never became ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Stops the server gracefully and hands back its data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server ran cleanly");
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Json) -> (u16, Json) {
        let mut rb = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        answer(rb.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Json) {
        let mut rb = self.http.get(self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        answer(rb.send().await.expect("request")).await
    }

    /// Signs up `email` and returns its token and identity.
    pub async fn sign_up(&self, email: &str) -> (String, String) {
        let (status, body) = self
            .post(
                "/v1/auth/sign-up",
                None,
                json!({"email": email, "password": "correct horse"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (
            body["token"].as_str().expect("token").to_owned(),
            body["identity"].as_str().expect("identity").to_owned(),
        )
    }

    pub async fn deploy(&self, token: &str, name: &str, wasm: Vec<u8>) -> (u16, Json) {
        let form = reqwest::multipart::Form::new()
            .text("name", name.to_owned())
            .part(
                "module",
                reqwest::multipart::Part::bytes(wasm).file_name("m.wasm"),
            );
        let r = self
            .http
            .post(self.url("/v1/modules"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("request");
        answer(r).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn answer(r: reqwest::Response) -> (u16, Json) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Json::String(text));
    (status, body)
}

/// Asserts the documented error shape and returns the code.
pub fn error_code(body: &Json) -> &str {
    let e = &body["error"];
    assert!(e["message"].is_string(), "error without a message: {body}");
    e["code"]
        .as_str()
        .unwrap_or_else(|| panic!("error without a code: {body}"))
}
