//! The systems compared, by the names `results.json` uses, and their table columns.

use cosmictron_benches::SystemColumn;

/// Cosmictron's native engine API (`Database::write`, `Snapshot`); durability `Fsync` on
/// disk for durable workloads, `None` for the in-memory ones.
pub(crate) const COSMICTRON: &str = "cosmictron";
/// The same database through `SqlEngine::query` (the SQL text SQLite runs).
pub(crate) const COSMICTRON_SQL: &str = "cosmictron-sql";
/// A reducer of a WASM module, called through the embedding facade (`Cosmictron::call`).
pub(crate) const COSMICTRON_WASM: &str = "cosmictron-wasm";
/// SQLite `:memory:` (rusqlite, bundled).
pub(crate) const SQLITE_MEMORY: &str = "sqlite-memory";
/// An SQLite file in WAL mode with `synchronous=FULL`: an fsync per commit, durable.
pub(crate) const SQLITE_FULL: &str = "sqlite-wal-full";
/// An SQLite file in WAL mode with `synchronous=NORMAL`: commits are not fsynced (only
/// checkpoints are), so the last commits can be lost on power failure.
pub(crate) const SQLITE_NORMAL: &str = "sqlite-wal-normal";

pub(crate) const COLUMNS: [SystemColumn; 6] = [
    SystemColumn {
        id: COSMICTRON,
        heading: "Cosmictron (native)",
        short: "native",
        sqlite: false,
    },
    SystemColumn {
        id: COSMICTRON_SQL,
        heading: "Cosmictron (SQL)",
        short: "SQL",
        sqlite: false,
    },
    SystemColumn {
        id: COSMICTRON_WASM,
        heading: "Cosmictron (WASM reducer)",
        short: "WASM",
        sqlite: false,
    },
    SystemColumn {
        id: SQLITE_MEMORY,
        heading: "SQLite memory",
        short: "memory",
        sqlite: true,
    },
    SystemColumn {
        id: SQLITE_FULL,
        heading: "SQLite WAL FULL",
        short: "FULL",
        sqlite: true,
    },
    SystemColumn {
        id: SQLITE_NORMAL,
        heading: "SQLite WAL NORMAL",
        short: "NORMAL",
        sqlite: true,
    },
];
