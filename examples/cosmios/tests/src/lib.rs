//! Test support for the cosmios example: the module built once per test binary, a real
//! server on port 0 with the module deployed, and HTTP helpers.
//!
//! The tests are in `tests/`: `http.rs` drives machines, runs, missions, approvals, webhooks
//! and row-level security over HTTP; `websocket.rs` a runner's pushed runs and online state,
//! and a live query across a server restart;
//! `schedules.rs` the silence check with a virtual clock.

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

/// A real server on 127.0.0.1:0 with `cosmios` deployed by an operator account and its REST
/// API at the root (everything in [`example_support::Server`]), plus SQL as any caller.
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
        Server(example_support::Server::start("cosmios", module_wasm()).await)
    }

    /// Runs SQL on the module's database as `token`; returns the rows.
    pub async fn sql(&self, token: &str, query: &str) -> Vec<Json> {
        self.0.sql_as(token, query, json!([])).await
    }
}
