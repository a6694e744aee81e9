//! Test support for the agent sign-up example: the module built once per test binary, a real
//! server on port 0 with the module deployed, and HTTP helpers.
//!
//! The tests are in `tests/`: `http.rs` drives every state, error code and limit over HTTP
//! reducer calls; `rest_api.rs` the document's own REST API (`/v3/agents/*`, the data plane);
//! `schedules.rs` moves a virtual clock to fire the code expiry and the 14-day deletion.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use example_support::{answer, error_code};
use serde_json::{Value as Json, json};

/// The module crate's directory.
pub fn module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../module")
}

/// The module's wasm, built (release, wasm32) once per test process.
pub fn module_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| example_support::build_example(&module_dir()))
}

/// A real server on 127.0.0.1:0 with `agent_signup` deployed by an operator account and its
/// REST API at the root (everything in [`example_support::Server`]), plus the operator's SQL
/// and the codes in the email outbox.
#[derive(Debug)]
pub struct Server(example_support::Server);

impl Deref for Server {
    type Target = example_support::Server;
    fn deref(&self) -> &example_support::Server {
        &self.0
    }
}

impl DerefMut for Server {
    fn deref_mut(&mut self) -> &mut example_support::Server {
        &mut self.0
    }
}

impl Server {
    pub async fn start() -> Server {
        Server(example_support::Server::start("agent_signup", module_wasm()).await)
    }

    /// Runs SQL on the module's database as the operator (who may read the private tables);
    /// returns the rows.
    pub async fn sql(&self, query: &str, params: Json) -> Vec<Json> {
        self.0.sql_as(&self.operator, query, params).await
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
