//! [`Client`]: the HTTP API.

use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

use crate::error::ClientError;
use crate::live::LiveQuery;
use crate::types::{CallOutcome, ModuleInfo, QueryRows, Session};

/// The piece of a module upload [`Client::deploy_with_progress`] reports progress by.
pub const UPLOAD_CHUNK_BYTES: usize = 64 * 1024;

/// A connection to one server. Cheap to clone; clones share the HTTP connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl Client {
    /// A client for `base_url` (`http://host:port`; a `ws://` URL works too).
    pub fn new(base_url: &str) -> Result<Client, ClientError> {
        let base = base_url
            .trim_end_matches('/')
            .replacen("ws://", "http://", 1)
            .replacen("wss://", "https://", 1);
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(ClientError::Protocol(format!(
                "`{base_url}` is not an http(s):// or ws(s):// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Client {
            base,
            http,
            token: None,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Uses a token obtained earlier.
    pub fn set_token(&mut self, token: impl Into<String>) {
        self.token = Some(token.into());
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    async fn answer<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        if status >= 400 {
            let body: Json = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
            let error = &body["error"];
            return Err(ClientError::Server {
                status,
                code: error["code"].as_str().unwrap_or("http_error").to_owned(),
                message: error["message"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned()),
                details: error.get("details").cloned(),
            });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Protocol(format!("HTTP {status}: {e}")))
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, ClientError> {
        let token = self.token.as_deref().ok_or(ClientError::NoToken)?;
        Ok(rb.bearer_auth(token))
    }

    async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        auth: bool,
    ) -> Result<T, ClientError> {
        let mut rb = self.http.post(format!("{}{path}", self.base)).json(body);
        if auth {
            rb = self.authed(rb)?;
        }
        Self::answer(rb.send().await?).await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let rb = self.authed(self.http.get(format!("{}{path}", self.base)))?;
        Self::answer(rb.send().await?).await
    }

    /// Creates an account and signs in with it.
    pub async fn sign_up(&mut self, email: &str, password: &str) -> Result<Session, ClientError> {
        let s: Session = self
            .post_json(
                "/v1/auth/sign-up",
                &json!({"email": email, "password": password}),
                false,
            )
            .await?;
        self.token = Some(s.token.clone());
        Ok(s)
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Result<Session, ClientError> {
        let s: Session = self
            .post_json(
                "/v1/auth/sign-in",
                &json!({"email": email, "password": password}),
                false,
            )
            .await?;
        self.token = Some(s.token.clone());
        Ok(s)
    }

    /// A fresh identity without an account.
    pub async fn sign_in_anonymously(&mut self) -> Result<Session, ClientError> {
        let s: Session = self
            .post_json("/v1/auth/anonymous", &json!({}), false)
            .await?;
        self.token = Some(s.token.clone());
        Ok(s)
    }

    /// Who the token belongs to: `{identity, admin}`.
    pub async fn me(&self) -> Result<Json, ClientError> {
        self.get_json("/v1/auth/me").await
    }

    /// Asks for a sign-in link by mail (the server answers the same for every address).
    pub async fn request_magic_link(&self, email: &str) -> Result<(), ClientError> {
        let _: Json = self
            .post_json("/v1/auth/magic-link", &json!({"email": email}), false)
            .await?;
        Ok(())
    }

    pub async fn verify_magic_link(&mut self, token: &str) -> Result<Session, ClientError> {
        let s: Session = self
            .post_json(
                "/v1/auth/magic-link/verify",
                &json!({"token": token}),
                false,
            )
            .await?;
        self.token = Some(s.token.clone());
        Ok(s)
    }

    /// Calls a reducer by name with named arguments (any serde type that serializes to an
    /// object).
    pub async fn call(
        &self,
        reducer: &str,
        args: &impl Serialize,
    ) -> Result<CallOutcome, ClientError> {
        self.post_json(&format!("/v1/reducers/{reducer}"), args, true)
            .await
    }

    /// Calls a reducer of a given module.
    pub async fn call_in(
        &self,
        module: &str,
        reducer: &str,
        args: &impl Serialize,
    ) -> Result<CallOutcome, ClientError> {
        self.post_json(
            &format!("/v1/modules/{module}/reducers/{reducer}"),
            args,
            true,
        )
        .await
    }

    /// Calls a reducer and decodes its return value.
    pub async fn call_typed<R: DeserializeOwned>(
        &self,
        reducer: &str,
        args: &impl Serialize,
    ) -> Result<R, ClientError> {
        let out = self.call(reducer, args).await?;
        serde_json::from_value(out.result).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Runs a read-only query (with `AS OF TX n` if you like).
    pub async fn sql(&self, query: &str, params: &[Json]) -> Result<QueryRows, ClientError> {
        self.post_json("/v1/sql", &json!({"query": query, "params": params}), true)
            .await
    }

    /// Runs a read-only query over the tables of `module`.
    pub async fn sql_in(
        &self,
        module: &str,
        query: &str,
        params: &[Json],
    ) -> Result<QueryRows, ClientError> {
        self.post_json(
            "/v1/sql",
            &json!({"query": query, "params": params, "module": module}),
            true,
        )
        .await
    }

    /// Deploys (or upgrades) a module from its `.wasm` bytes.
    pub async fn deploy(&self, name: &str, wasm: Vec<u8>) -> Result<Json, ClientError> {
        self.deploy_with_progress(name, wasm, |_, _| {}).await
    }

    /// [`Client::deploy`], calling `progress(sent, total)` as the module's bytes are handed to
    /// the connection (in chunks of [`UPLOAD_CHUNK_BYTES`]; the last call has `sent == total`).
    /// After it the server still compiles and deploys the module before answering.
    ///
    /// ```no_run
    /// # async fn run(client: cosmictron_client::Client, wasm: Vec<u8>) -> Result<(), cosmictron_client::ClientError> {
    /// client
    ///     .deploy_with_progress("shop", wasm, |sent, total| eprint!("\r{}%", sent * 100 / total.max(1)))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn deploy_with_progress(
        &self,
        name: &str,
        wasm: Vec<u8>,
        progress: impl Fn(u64, u64) + Send + Sync + 'static,
    ) -> Result<Json, ClientError> {
        let total = wasm.len() as u64;
        let chunks: Vec<Vec<u8>> = wasm
            .chunks(UPLOAD_CHUNK_BYTES)
            .map(<[u8]>::to_vec)
            .collect();
        let mut sent = 0u64;
        // Counted as the transport takes each chunk, so the caller sees the upload move.
        let stream = futures_util::stream::iter(chunks).map(move |chunk| {
            sent += chunk.len() as u64;
            progress(sent, total);
            Ok::<_, std::io::Error>(chunk)
        });
        let body = reqwest::Body::wrap_stream(stream);
        let part = reqwest::multipart::Part::stream_with_length(body, total)
            .file_name(format!("{name}.wasm"))
            .mime_str("application/wasm")
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .text("name", name.to_owned())
            .part("module", part);
        let rb = self.authed(
            self.http
                .post(format!("{}/v1/modules", self.base))
                .multipart(form),
        )?;
        Self::answer(rb.send().await?).await
    }

    pub async fn modules(&self) -> Result<Vec<ModuleInfo>, ClientError> {
        #[derive(serde::Deserialize)]
        struct List {
            modules: Vec<ModuleInfo>,
        }
        Ok(self.get_json::<List>("/v1/modules").await?.modules)
    }

    pub async fn module(&self, name: &str) -> Result<Json, ClientError> {
        self.get_json(&format!("/v1/modules/{name}")).await
    }

    /// A module's recent log lines.
    pub async fn logs(&self, module: &str) -> Result<Vec<Json>, ClientError> {
        let v: Json = self.get_json(&format!("/v1/modules/{module}/logs")).await?;
        Ok(v["lines"].as_array().cloned().unwrap_or_default())
    }

    /// Follows a module's log: calls `each` for every line as it is written, until the
    /// server closes the stream.
    pub async fn follow_logs(
        &self,
        module: &str,
        mut each: impl FnMut(Json),
    ) -> Result<(), ClientError> {
        use futures_util::StreamExt;
        let rb = self.authed(self.http.get(format!(
            "{}/v1/modules/{module}/logs?follow=true",
            self.base
        )))?;
        let response = rb.send().await?;
        if response.status().as_u16() >= 400 {
            return Self::answer::<Json>(response).await.map(|_| ());
        }
        let mut stream = response.bytes_stream();
        let mut buf = Vec::new();
        while let Some(chunk) = stream.next().await {
            buf.extend_from_slice(&chunk?);
            while let Some(at) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=at).collect();
                if let Ok(v) = serde_json::from_slice(&line) {
                    each(v);
                }
            }
        }
        Ok(())
    }

    /// Subscribes to a live query over WebSocket.
    pub async fn subscribe(&self, query: &str, params: &[Json]) -> Result<LiveQuery, ClientError> {
        let token = self.token.clone().ok_or(ClientError::NoToken)?;
        LiveQuery::open(&self.base, &token, query, params, None).await
    }

    /// Subscribes to a live query over the tables of `module` (needed when another module
    /// has a table of the same name).
    pub async fn subscribe_in(
        &self,
        module: &str,
        query: &str,
        params: &[Json],
    ) -> Result<LiveQuery, ClientError> {
        let token = self.token.clone().ok_or(ClientError::NoToken)?;
        LiveQuery::open(&self.base, &token, query, params, Some(module)).await
    }
}
