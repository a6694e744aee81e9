//! cosmictron: the embedding facade — open a data directory, deploy WASM modules, call their
//! reducers, read their tables — with no network. (The HTTP/WebSocket server and the CLI will
//! live here too.)
//!
//! ```ignore
//! let db = Cosmictron::open(dir, CosmictronConfig::default())?;
//! let info = db.deploy("shop", &wasm_bytes, owner)?;            // version "sha256:…"
//! let out = db.call("shop", "add_item", &json!({"name": "pen", "qty": 3}), caller)?;
//! println!("tx {:?}: {}", out.tx_id, out.result);
//! ```
//!
//! Each module gets its own database, named after it; the module's bytes are kept in
//! `<data-dir>/modules/` and reloaded when the directory is opened again.
//!
//! Layout:
//! - `facade.rs`      [`Cosmictron`]: open, call, connect clients, read, schedules
//! - `deploy.rs`      deploy, upgrade (schema rules), undeploy, reload at open
//! - `module_info.rs` [`ModuleInfo`]: a module's tables and reducers, described
//! - `scheduler.rs`   the background thread firing scheduled reducers
//! - `store.rs`       the module store in the data directory
//! - `testing.rs`     [`testing::TestModule`]: module authors' `cargo test` helper
//! - `error.rs`       [`Error`] with stable codes and HTTP statuses

mod deploy;
mod error;
mod facade;
mod module_info;
mod scheduler;
mod store;
pub mod testing;

pub use cosmictron_types::ConnectionId;
pub use cosmictron_wasm_host::{Args, CallContext, Schedule};
pub use deploy::DeployOptions;
pub use error::{Error, Result};
pub use facade::{CallResult, Cosmictron, CosmictronConfig, DeployInfo, RawCallResult};
pub use module_info::{ArgInfo, ColumnInfo, ModuleInfo, ReducerInfo, TableInfo};
pub use scheduler::SchedulerConfig;
