//! cosmictron-engine: the embeddable database core.
//!
//! An [`Engine`] owns a data directory of independent [`Database`]s. Each database has one
//! writer at a time ([`WriteTx`], serializable) and any number of readers on consistent
//! [`Snapshot`]s — of the latest state or of any transaction within the history window (time
//! travel) — that never wait for a write transaction to finish: they share a lock with each
//! single operation of the writer, never with the transaction as a whole. Every commit is one WAL record, made durable
//! under the configured [`Durability`] (fsync with group commit by default), then published
//! as a [`ChangeSet`] to listeners in commit order. Snapshot files bound recovery time and
//! let old log segments go.
//!
//! Layout:
//! - `engine.rs`        [`Engine`]: data directory, databases, background maintenance
//! - `database.rs`      [`Database`]: the life of a transaction, publication, listeners
//! - `write_tx.rs`      [`WriteTx`]: in-place changes with an undo log, constraints, commit
//! - `pending_commit.rs` [`PendingCommit`]: a logged commit waiting for its fsync, blocking or as a future
//! - `snapshot_read.rs` [`Snapshot`]: chunked reads as of one tx
//! - `read.rs`          lookups shared by the writer and snapshots
//! - `table.rs`         row versions in a slab, btree indexes, visibility
//! - `arena.rs`         row bytes packed into pages
//! - `row_chunk.rs`     rows copied out by a scan, packed into one reused buffer
//! - `bplus_set.rs`     the ordered set inside every index: a B+tree with 64-wide nodes
//! - `index.rs`         an index: live entries, history entries, a hash of live keys (unique)
//! - `key_bytes.rs`     16-byte index keys
//! - `state.rs`         catalog and schema changes (shared by the writer and recovery)
//! - `schema.rs`        [`TableSchema`]: definitions resolved to column positions
//! - `history.rs`       the time-travel window and the collection horizon
//! - `change_set.rs`    [`ChangeSet`]
//! - `log_record.rs`    the WAL payload of one transaction
//! - `snapshot_file.rs` snapshot files, retention, online backup
//! - `recovery.rs`      snapshot + WAL replay
//! - `recovery_progress.rs` progress reports of a long replay (share read, time left)
//!
//! ```
//! use cosmictron_engine::{Engine, EngineConfig};
//! use cosmictron_types::{ScalarType, TableDef, Value};
//!
//! let dir = tempfile::tempdir()?;
//! let engine = Engine::open(dir.path(), EngineConfig::default())?;
//! let db = engine.create_database("shop")?;
//! let (_, first) = db.write(|tx| {
//!     tx.create_table(TableDef::new("items").column("id", ScalarType::U64)
//!         .column("qty", ScalarType::I64).primary_key(&["id"]))?;
//!     tx.insert("items", vec![Value::U64(1), Value::I64(5)])
//! })?;
//! db.write(|tx| tx.update("items", vec![Value::U64(1), Value::I64(4)]))?;
//!
//! // Time travel: the state right after the first transaction.
//! let then = db.as_of(first.tx_id.expect("it wrote"))?;
//! assert_eq!(then.get("items", &[Value::U64(1)])?, Some(vec![Value::U64(1), Value::I64(5)]));
//! drop(then);
//!
//! // Reopen: everything acknowledged is recovered from the log.
//! drop(db);
//! drop(engine);
//! let engine = Engine::open(dir.path(), EngineConfig::default())?;
//! let now = engine.database("shop")?.snapshot()?;
//! assert_eq!(now.get("items", &[Value::U64(1)])?, Some(vec![Value::U64(1), Value::I64(4)]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod arena;
mod bplus_set;
mod change_set;
mod config;
mod database;
mod engine;
mod error;
mod history;
mod index;
mod key_bytes;
mod log_record;
mod pending_commit;
mod read;
mod recovery;
mod recovery_progress;
mod row_chunk;
mod schema;
mod snapshot_file;
mod snapshot_read;
mod state;
mod table;
mod write_tx;

pub use change_set::{ChangeSet, RowBytes, TableChange};
pub use config::{Durability, EngineConfig, HistoryConfig, SnapshotConfig};
pub use database::{ChangeListener, Database, DatabaseStats, ListenerId, RecoveryReport};
pub use engine::{Engine, WalStorageFactory};
pub use error::{EngineError, Result};
pub use pending_commit::PendingCommit;
pub use row_chunk::RowChunk;
pub use schema::{ForeignKeySchema, IndexSchema, TableId, TableSchema, TxId};
pub use snapshot_read::Snapshot;
pub use table::RowId;
pub use write_tx::{CommitInfo, WriteTx};
