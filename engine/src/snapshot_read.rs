//! Read-only snapshots: the state right after one transaction, read without blocking writers.
//!
//! A snapshot holds no lock between calls. Each read takes the state's read lock for a
//! bounded chunk of rows (`CHUNK_ROWS`) and lets go, so a large scan delays a writer by at most
//! one chunk; the versions it needs stay, because the snapshot is registered with the history
//! window and the collector never passes it.

use std::ops::Bound;
use std::sync::Arc;

use cosmictron_types::Value;

use crate::database::DbInner;
use crate::error::{EngineError, Result};
use crate::read;
use crate::row_chunk::RowChunk;
use crate::schema::{TableSchema, TxId};
use crate::table::{Table, View};

/// Rows copied out per read-lock acquisition.
const CHUNK_ROWS: usize = 1024;

/// A consistent, read-only view of a database as of one transaction. `Send + Sync`; keep it as
/// long as needed (it holds back collection of the versions it can see).
pub struct Snapshot {
    db: Arc<DbInner>,
    tx: TxId,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("db", &self.db.name)
            .field("tx", &self.tx)
            .finish()
    }
}

impl Clone for Snapshot {
    /// Another handle on the same tx (for a reader on another thread or in module code); the
    /// tx is already held, so this cannot be refused by the history window.
    fn clone(&self) -> Snapshot {
        Snapshot::open_internal(self.db.clone(), self.tx)
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.db.history.unregister(self.tx);
    }
}

impl Snapshot {
    pub(crate) fn open(db: Arc<DbInner>, tx: TxId, latest: TxId) -> Result<Snapshot> {
        db.history.register(tx, latest)?;
        Ok(Snapshot { db, tx })
    }

    /// A snapshot of the newest published state (never refused by the history window).
    pub(crate) fn open_latest(db: Arc<DbInner>) -> Snapshot {
        let tx = db.history.register_latest(&db.latest);
        Snapshot { db, tx }
    }

    /// A snapshot for the engine's own snapshot files, at a committed tx not yet published.
    pub(crate) fn open_internal(db: Arc<DbInner>, tx: TxId) -> Snapshot {
        db.history.register_internal(tx);
        Snapshot { db, tx }
    }

    /// The transaction this snapshot shows the state after.
    pub fn tx_id(&self) -> TxId {
        self.tx
    }

    fn view(&self) -> View {
        View::AsOf(self.tx)
    }

    /// Runs `f` on the table as it was at this snapshot's tx, under the read lock.
    fn with_table<R>(&self, name: &str, f: impl FnOnce(&Table) -> Result<R>) -> Result<R> {
        let state = self.db.state.read();
        let table = state.by_name(name)?;
        if table.schema.since_tx > self.tx {
            return Err(EngineError::SchemaChanged {
                table: name.to_owned(),
                changed_at: table.schema.since_tx,
            });
        }
        f(table)
    }

    pub fn table_schema(&self, table: &str) -> Result<Arc<TableSchema>> {
        self.with_table(table, |t| Ok(t.schema.clone()))
    }

    /// Tables that existed at this snapshot's tx (and still exist).
    pub fn table_names(&self) -> Vec<String> {
        let state = self.db.state.read();
        state
            .tables
            .values()
            .filter(|t| t.schema.since_tx <= self.tx)
            .map(|t| t.schema.name().to_owned())
            .collect()
    }

    /// The row with this primary key.
    pub fn get(&self, table: &str, key: &[Value]) -> Result<Option<Vec<Value>>> {
        self.with_table(table, |t| read::get(t, key, self.view()))
    }

    /// Rows whose key for index `index` starts with these leading-column values.
    pub fn find(&self, table: &str, index: &str, prefix: &[Value]) -> Result<Vec<Vec<Value>>> {
        self.with_table(table, |t| read::find(t, index, prefix, self.view()))
    }

    /// Appends to `out` the encoded bytes of each row whose key for index `index` starts with
    /// these leading-column values: a lookup that decodes only what the caller needs. The rows
    /// are copied out under the table's read lock, so the caller's work never holds it.
    pub fn find_raw(
        &self,
        table: &str,
        index: &str,
        prefix: &[Value],
        out: &mut RowChunk,
    ) -> Result<()> {
        self.with_table(table, |t| {
            read::find_raw(t, index, prefix, self.view(), out)
        })
    }

    /// An estimate of the table's row count, in constant time: its current rows, which a
    /// snapshot of an older tx may differ from. For planning, never for answers.
    pub fn estimated_rows(&self, table: &str) -> Result<u64> {
        self.with_table(table, |t| Ok(t.live_rows()))
    }

    /// Rows whose key for index `index` lies within the bounds, in key order, at most `limit`.
    pub fn range(
        &self,
        table: &str,
        index: &str,
        lower: Bound<&[Value]>,
        upper: Bound<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>> {
        self.with_table(table, |t| {
            read::range(t, index, lower, upper, self.view(), limit)
        })
    }

    /// Every row, decoded.
    pub fn scan(&self, table: &str) -> Result<Vec<Vec<Value>>> {
        let schema = self.table_schema(table)?;
        let mut rows = Vec::new();
        self.scan_raw(table, |data| {
            rows.push(cosmictron_types::decode_row(schema.columns(), data)?);
            Ok(())
        })?;
        Ok(rows)
    }

    /// Calls `f` with every row's encoded bytes, in chunks that never hold the read lock for
    /// long.
    pub fn scan_raw(&self, table: &str, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        self.scan_with_ids(table, |_, data| f(data))
    }

    /// Rows with their slot ids (snapshot files need them).
    pub(crate) fn scan_with_ids(
        &self,
        table: &str,
        mut f: impl FnMut(crate::table::RowId, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut from = 0;
        let mut chunk = RowChunk::with_capacity(CHUNK_ROWS);
        loop {
            chunk.clear();
            let next = self.with_table(table, |t| {
                Ok(t.scan_slots(from, self.view(), CHUNK_ROWS, &mut chunk))
            })?;
            for (row, data) in chunk.iter() {
                f(row, data)?;
            }
            match next {
                Some(n) => from = n,
                None => return Ok(()),
            }
        }
    }

    /// How many rows the table had.
    pub fn count(&self, table: &str) -> Result<u64> {
        let mut n = 0;
        self.scan_raw(table, |_| {
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }
}
