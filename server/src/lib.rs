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
//! - `facade.rs` [`Cosmictron`]: open, deploy, call, read
//! - `store.rs`  the module store in the data directory
//! - `error.rs`  [`Error`] with stable codes and HTTP statuses

mod error;
mod facade;
mod store;

pub use error::{Error, Result};
pub use facade::{CallResult, Cosmictron, CosmictronConfig, DeployInfo};
