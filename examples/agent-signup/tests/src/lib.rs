//! Test support for the agent sign-up example: the module built once per test binary, a real
//! server on port 0 with the module deployed, and HTTP helpers.
//!
//! The tests are in `tests/`: `http.rs` drives every state, error code and limit over HTTP
//! reducer calls; `rest_api.rs` the document's own REST API (`/v3/agents/*`, the data plane);
//! `schedules.rs` moves a virtual clock to fire the code expiry and the 14-day deletion.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

/// The module crate's directory.
pub fn module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../module")
}

/// The module's wasm, built (release, wasm32) once per test process.
pub fn module_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| {
        let dir = module_dir();
        // The workspace's shared directory for example modules (`serve --demo` builds there
        // too): their dependencies are compiled once for all of them.
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target/wasm-examples");
        match cosmictron::testing::build_module(&dir, &target) {
            Ok(wasm) => wasm,
            Err(e) => panic!("building the agent_signup module: {e}"),
        }
    })
}

/// A real server on 127.0.0.1:0 over a temporary directory, with `agent_signup` deployed by
/// an operator account.
#[derive(Debug)]
pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    /// The operator's token: it owns the module, so it may read the private tables with SQL.
    pub operator: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = cosmictron::ServerConfig {
            data_dir: dir.path().to_owned(),
            listen: "127.0.0.1:0".into(),
            // The document's API at the root, as `serve --demo` serves it.
            expose: vec!["agent_signup".into()],
            ..cosmictron::ServerConfig::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(cosmictron::run(listener, config, async move {
            let _ = stopped.await;
        }));
        let mut server = Server {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            operator: String::new(),
            stop: Some(stop),
            _dir: dir,
        };
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
        server.deploy().await;
        server
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

    async fn deploy(&self) {
        let form = reqwest::multipart::Form::new()
            .text("name", "agent_signup")
            .part(
                "module",
                reqwest::multipart::Part::bytes(module_wasm().to_vec()).file_name("m.wasm"),
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

    /// Calls a reducer of `agent_signup`.
    pub async fn call(&self, token: &str, reducer: &str, args: Json) -> (u16, Json) {
        self.post(
            &format!("/v1/modules/agent_signup/reducers/{reducer}"),
            Some(token),
            args,
        )
        .await
    }

    /// Runs SQL on the module's database as the operator; returns the rows.
    pub async fn sql(&self, query: &str, params: Json) -> Vec<Json> {
        let (status, body) = self
            .post(
                "/v1/sql",
                Some(&self.operator),
                json!({"query": query, "params": params, "module": "agent_signup"}),
            )
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        body["rows"].as_array().cloned().unwrap_or_default()
    }

    /// The 6-digit code in the newest outbox email to `email`, read the way a mail relay
    /// would (as the module's owner).
    pub async fn code_sent_to(&self, email: &str) -> String {
        let rows = self
            .sql(
                "SELECT body FROM email_outbox WHERE to_email = $1 ORDER BY id DESC",
                json!([email]),
            )
            .await;
        let body = rows
            .first()
            .and_then(|r| r[0].as_str())
            .unwrap_or_else(|| panic!("no email to {email}"));
        code_in(body).unwrap_or_else(|| panic!("no code in {body:?}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The first run of exactly six digits in `text`.
pub fn code_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5)).find_map(|i| {
        let run = &bytes[i..i + 6];
        let bounded = (i == 0 || !bytes[i - 1].is_ascii_digit())
            && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit());
        (bounded && run.iter().all(u8::is_ascii_digit))
            .then(|| String::from_utf8_lossy(run).into_owned())
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_six_digit_code() {
        assert_eq!(code_in("code: 012345\n").as_deref(), Some("012345"));
        assert_eq!(code_in("1234567 and 654321").as_deref(), Some("654321"));
        assert_eq!(code_in("no code 12345"), None);
    }
}
