//! cosmictron: the embedding facade, the HTTP + WebSocket server and the CLI.
//!
//! Embedded, with no network:
//! ```ignore
//! let db = Cosmictron::open(dir, CosmictronConfig::default())?;
//! let info = db.deploy("shop", &wasm_bytes, owner)?;            // version "sha256:…"
//! let out = db.call("shop", "add_item", &json!({"name": "pen", "qty": 3}), caller)?;
//! println!("tx {:?}: {}", out.tx_id, out.result);
//! ```
//! As a server (tests use port 0):
//! ```ignore
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! cosmictron::run(listener, ServerConfig::default(), cosmictron::shutdown_signal()).await?;
//! ```
//!
//! Each module gets its own database, named after it; the module's bytes are kept in
//! `<data-dir>/modules/` and reloaded when the directory is opened again. Accounts live in
//! the server's own system database under `<data-dir>/system/`.
//!
//! Layout:
//! - `facade.rs`      [`Cosmictron`]: open, call, connect clients, read, schedules
//! - `deploy.rs`      deploy, upgrade (schema rules), undeploy, reload at open
//! - `module_http.rs` modules' HTTP routes: match, call, expose at the root
//! - `module_info.rs` [`ModuleInfo`]: a module's tables, reducers, routes and views, described
//! - `views.rs`       [`ModuleViews`]: a module's views as the SQL engine's view source
//! - `scheduler.rs`   the background thread firing scheduled reducers
//! - `store.rs`       the module store in the data directory
//! - `testing.rs`     [`testing::TestModule`]: module authors' `cargo test` helper
//! - `error.rs`       [`Error`] with stable codes and HTTP statuses
//! - `config.rs`      [`ServerConfig`]: every server setting and its default
//! - `run.rs`         [`run`]: serve until shutdown; recovery in the background
//! - `app.rs`         the server's shared state
//! - `call_queue.rs`  one thread per module running its reducer calls in order
//! - `auth/`          accounts, passwords (argon2id), magic links, JWT sessions
//! - `http/`          the HTTP routes, error shape, rate limits
//! - `ws/`            the WebSocket protocol: subscribe, unsubscribe, call, query
//! - `cli/`           the `cosmictron` command line (`src/main.rs`)

mod app;
mod auth;
mod call_queue;
pub mod cli;
mod config;
mod deploy;
mod error;
mod facade;
mod http;
mod module_http;
mod module_info;
mod run;
mod scheduler;
mod store;
pub mod testing;
mod views;
mod ws;

pub use config::{ModuleFile, RateLimit, ServerConfig, SmtpConfig};
pub use cosmictron_types::ConnectionId;
pub use cosmictron_types::{RouteRequest, RouteResponse};
pub use cosmictron_wasm_host::{
    Args, CallContext, MatchedRoute, PendingCall, RouteMatch, Schedule,
};
pub use deploy::DeployOptions;
pub use error::{Error, Result};
pub use facade::{CallResult, Cosmictron, CosmictronConfig, DeployInfo, RawCallResult};
pub use module_http::RouteResult;
pub use module_info::{
    ArgInfo, ColumnInfo, ModuleInfo, ReducerInfo, RouteInfo, TableInfo, ViewInfo,
};
pub use run::{run, shutdown_signal};
pub use scheduler::SchedulerConfig;
pub use views::ModuleViews;
