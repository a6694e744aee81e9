//! cosmictron-client: an async Rust client for a Cosmictron server — sign up / sign in,
//! deploy modules, call reducers with typed arguments and results, run SQL, and subscribe to
//! live queries over WebSocket with a local cache of the subscribed rows.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cosmictron_client::ClientError> {
//! use cosmictron_client::Client;
//! let mut client = Client::new("http://127.0.0.1:3000")?;
//! client.sign_in("ann@example.com", "secret").await?;
//! let out = client.call("create_user", &serde_json::json!({"username": "ann"})).await?;
//! println!("committed tx {:?}", out.tx_id);
//! let rows = client.sql("SELECT * FROM users WHERE id = $1", &[serde_json::json!(1)]).await?;
//! println!("{:?}", rows.rows);
//! # Ok(()) }
//! ```
//!
//! Layout:
//! - `http.rs`      [`Client`]: the HTTP API
//! - `live.rs`      [`LiveQuery`]: a WebSocket subscription with its row cache
//! - `error.rs`     [`ClientError`]: the server's `{code, message}` or a transport failure
//! - `types.rs`     the response shapes

mod error;
mod http;
mod live;
mod types;

pub use error::ClientError;
pub use http::{Client, UPLOAD_CHUNK_BYTES};
pub use live::{LiveQuery, LiveUpdate};
pub use types::{CallOutcome, ModuleInfo, QueryRows, Session};
