//! What the example applications' end-to-end tests share: [`Server`], a real server on
//! 127.0.0.1:0 over a temporary directory with one example module deployed (and its routes
//! exposed at the root), with HTTP helpers; [`build_example`], the module built for wasm32.
//! Each example's test crate wraps it with what is its own (`examples/*/tests/src/lib.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

/// Builds the example module crate at `dir` (release, wasm32) in the workspace's shared
/// `target/wasm-examples` (`serve --demo` builds there too, so dependencies compile once).
pub fn build_example(dir: &Path) -> Vec<u8> {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm-examples");
    match cosmictron::testing::build_module(dir, &target) {
        Ok(wasm) => wasm,
        Err(e) => panic!("building the module in {}: {e}", dir.display()),
    }
}

/// A real server on 127.0.0.1:0 over a temporary directory, with one module deployed by an
/// operator account and its routes exposed at the root (as `serve --demo` does).
#[derive(Debug)]
pub struct Server {
    /// The deployed module's name.
    pub module: &'static str,
    pub base: String,
    pub http: reqwest::Client,
    /// The operator's token: it owns the module, so it may read the private tables with SQL.
    pub operator: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<cosmictron::Result<()>>>,
    config: cosmictron::ServerConfig,
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the server and deploys `wasm` as `module`.
    pub async fn start(module: &'static str, wasm: &[u8]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = cosmictron::ServerConfig {
            data_dir: dir.path().to_owned(),
            listen: "127.0.0.1:0".into(),
            // The module's routes at the root, as `serve --demo` serves them.
            expose: vec![module.into()],
            ..cosmictron::ServerConfig::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut server = Server {
            module,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            operator: String::new(),
            stop: None,
            task: None,
            config,
            addr,
            _dir: dir,
        };
        server.serve(listener);
        server.wait_ready().await;
        let (status, body) = server
            .post(
                "/v1/auth/sign-up",
                None,
                json!({"email": "operator@example.com", "password": "correct horse"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        server.operator = body["token"].as_str().expect("token").to_owned();
        server.deploy(wasm).await;
        server
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        self.task = Some(tokio::spawn(cosmictron::run(
            listener,
            self.config.clone(),
            async move {
                let _ = stopped.await;
            },
        )));
        self.stop = Some(stop);
    }

    /// Stops the server (closing every connection) and serves the same data directory on the
    /// same address again: what clients see when the server goes away and comes back.
    /// `down_for` is how long it stays away.
    pub async fn restart(&mut self, down_for: Duration) {
        self.stop().await;
        tokio::time::sleep(down_for).await;
        self.serve_again().await;
    }

    /// Stops serving (closing every connection); the data stays for `serve_again`.
    pub async fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server ran cleanly");
        }
    }

    /// Serves the same data directory on the same address again, after `stop`.
    pub async fn serve_again(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("bind the same address again");
        self.serve(listener);
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.http.get(format!("{}/ready", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "server never became ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn deploy(&self, wasm: &[u8]) {
        let form = reqwest::multipart::Form::new()
            .text("name", self.module)
            .part(
                "module",
                reqwest::multipart::Part::bytes(wasm.to_vec()).file_name("m.wasm"),
            );
        let r = self
            .http
            .post(format!("{}/v1/modules", self.base))
            .bearer_auth(&self.operator)
            .multipart(form)
            .send()
            .await
            .expect("deploy request");
        let (status, body) = answer(r).await;
        assert_eq!(status, 200, "deploy: {body}");
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Json) -> (u16, Json) {
        let mut rb = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        answer(rb.send().await.expect("request")).await
    }

    /// An anonymous identity's token (what an agent without an account calls with).
    pub async fn anonymous(&self) -> String {
        let (status, body) = self.post("/v1/auth/anonymous", None, json!({})).await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A signed-up human's token.
    pub async fn human(&self, email: &str) -> String {
        let (status, body) = self
            .post(
                "/v1/auth/sign-up",
                None,
                json!({"email": email, "password": "correct horse"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Any request to the module's routes: method, path, `Authorization: Bearer` token, JSON
    /// body; the status, the headers and the body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Json>,
    ) -> (u16, reqwest::header::HeaderMap, Json) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = bearer {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("request");
        let headers = r.headers().clone();
        let (status, body) = answer(r).await;
        (status, headers, body)
    }

    /// Calls a reducer of the module.
    pub async fn call(&self, token: &str, reducer: &str, args: Json) -> (u16, Json) {
        self.post(
            &format!("/v1/modules/{}/reducers/{reducer}", self.module),
            Some(token),
            args,
        )
        .await
    }

    /// Runs SQL with `params` on the module's database as `token`; returns the rows.
    pub async fn sql_as(&self, token: &str, query: &str, params: Json) -> Vec<Json> {
        let (status, body) = self
            .post(
                "/v1/sql",
                Some(token),
                json!({"query": query, "params": params, "module": self.module}),
            )
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        body["rows"].as_array().cloned().unwrap_or_default()
    }

    /// Calls a reducer that must succeed; returns its result.
    pub async fn ok(&self, token: &str, reducer: &str, args: Json) -> Json {
        let (status, body) = self.call(token, reducer, args).await;
        assert_eq!(status, 200, "{reducer}: {body}");
        body["result"].clone()
    }

    pub fn ws_base(&self) -> String {
        self.base.clone()
    }
}

impl Drop for Server {
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

/// The error code of an error answer, after checking the documented shape.
pub fn error_code(body: &Json) -> &str {
    let e = &body["error"];
    assert!(e["message"].is_string(), "error without a message: {body}");
    e["code"]
        .as_str()
        .unwrap_or_else(|| panic!("error without a code: {body}"))
}
