//! A database: its tables, its one writer, its log, its readers and its listeners.
//!
//! The life of a transaction:
//!
//! ```text
//!  begin_write ── takes the writer lock (one writer per database)
//!     │  insert/update/delete: applied in place, stamped with tx P, undo log kept
//!  commit
//!     │  1. encode the ops as one WAL record, append it (buffered, not yet durable)
//!     │  2. finish the change set, queue it for publication
//!     │  3. release the writer lock ─────────── the next writer starts now
//!     │  4. wait until the WAL says P is durable (group commit shares the fsync)
//!     │  5. publish everything up to P in order: readers' `latest` moves to P,
//!     │     superseded `pii` values are wiped, listeners get the change set
//!     ▼  6. return {tx_id: P, changes}
//! ```
//!
//! Readers open a snapshot at the published `latest` (or any tx in the history window) and
//! read it without ever taking the writer lock.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cosmictron_wal::Wal;
use parking_lot::{Mutex, RwLock};

use crate::change_set::ChangeSet;
use crate::config::EngineConfig;
use crate::error::{EngineError, Result};
use crate::history::History;
use crate::schema::{TableSchema, TxId};
use crate::snapshot_read::Snapshot;
use crate::state::DbState;
use crate::table::RowId;
use crate::write_tx::{CommitInfo, WriteTx};

/// Called with every committed change set, in commit order, after it is durable.
pub type ChangeListener = Arc<dyn Fn(&Arc<ChangeSet>) + Send + Sync>;

/// Identifies a registered listener, for removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// State owned by whoever holds the writer lock.
#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) next_tx: TxId,
}

/// A committed transaction waiting for durability before it is published.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) changes: Arc<ChangeSet>,
    pub(crate) redact: Vec<(crate::schema::TableId, RowId)>,
}

/// What recovery found and did when the database was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The tx of the snapshot recovery started from (0: none).
    pub snapshot_tx: TxId,
    pub snapshot_rows: u64,
    pub wal_records: u64,
    pub wal_row_ops: u64,
    pub last_tx: TxId,
    pub duration_ms: u64,
}

/// Counters for diagnostics.
#[derive(Clone, Debug, Default)]
pub struct DatabaseStats {
    pub latest_tx: TxId,
    pub oldest_available_tx: TxId,
    pub tables: usize,
    pub live_rows: u64,
    /// Versions kept only for history, waiting for the collector.
    pub history_versions: usize,
    pub memory_bytes: usize,
    pub wal_fsyncs: u64,
    pub wal_records: u64,
    /// Bytes written to the log since the database was opened.
    pub wal_bytes: u64,
    /// How long the most recent group-commit fsync took, in microseconds.
    pub last_fsync_micros: u64,
    /// Time spent in group-commit fsyncs since the database was opened, in microseconds.
    pub fsync_micros_total: u64,
    pub last_snapshot_tx: TxId,
}

pub(crate) struct DbInner {
    pub(crate) name: String,
    pub(crate) config: EngineConfig,
    /// `databases/<name>` in the data directory; `None` for a memory-only database.
    pub(crate) dir: Option<PathBuf>,
    /// Serializes writers: held for the whole of a write transaction. In an `Arc` so a
    /// transaction can own its guard (see [`Database::begin_write_owned`]).
    pub(crate) writer: Arc<Mutex<Writer>>,
    /// Tables and catalog. Write-locked briefly per operation, read-locked per chunk of a read.
    pub(crate) state: RwLock<DbState>,
    pub(crate) wal: Option<Wal>,
    /// The newest published tx: what new snapshots see.
    pub(crate) latest: AtomicU64,
    /// Committed transactions in tx order, waiting to be published.
    pub(crate) publish: Mutex<VecDeque<Pending>>,
    listeners: RwLock<Vec<(ListenerId, ChangeListener)>>,
    next_listener: AtomicU64,
    pub(crate) history: History,
    /// Set after a storage failure: the in-memory state may be ahead of the log.
    poison: Mutex<Option<String>>,
    /// Serializes snapshot writing.
    pub(crate) snapshot_lock: Mutex<()>,
    pub(crate) last_snapshot_tx: AtomicU64,
    pub(crate) recovery: RecoveryReport,
}

impl std::fmt::Debug for DbInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("name", &self.name)
            .field("latest", &self.latest)
            .finish()
    }
}

pub(crate) fn now_micros() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_micros()).unwrap_or(i64::MAX)
}

impl DbInner {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: String,
        config: EngineConfig,
        dir: Option<PathBuf>,
        state: DbState,
        wal: Option<Wal>,
        last_tx: TxId,
        history: History,
        recovery: RecoveryReport,
    ) -> DbInner {
        DbInner {
            name,
            config,
            dir,
            writer: Arc::new(Mutex::new(Writer {
                next_tx: last_tx + 1,
            })),
            state: RwLock::new(state),
            wal,
            latest: AtomicU64::new(last_tx),
            publish: Mutex::new(VecDeque::new()),
            listeners: RwLock::new(Vec::new()),
            next_listener: AtomicU64::new(1),
            history,
            poison: Mutex::new(None),
            snapshot_lock: Mutex::new(()),
            last_snapshot_tx: AtomicU64::new(recovery.snapshot_tx),
            recovery,
        }
    }

    /// Shares the database, and has its log publish transactions as soon as a write+fsync
    /// makes them durable — on the thread that did the fsync, whoever waits for them (a
    /// commit whose waiter went away is still published).
    pub(crate) fn into_shared(self) -> Arc<DbInner> {
        let db = Arc::new(self);
        if let Some(wal) = &db.wal {
            let weak = Arc::downgrade(&db);
            wal.on_durable(move |tx| {
                if let Some(db) = weak.upgrade() {
                    db.publish_through(tx);
                }
            });
        }
        db
    }

    pub(crate) fn check_poison(&self) -> Result<()> {
        match &*self.poison.lock() {
            Some(cause) => Err(EngineError::Poisoned {
                database: self.name.clone(),
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Records a storage failure: no further writes are accepted. Returns the error to report.
    pub(crate) fn poison(&self, error: EngineError) -> EngineError {
        let mut poison = self.poison.lock();
        if poison.is_none() {
            tracing::error!(database = %self.name, %error, "storage failure: database stops accepting writes");
            *poison = Some(error.to_string());
        }
        error
    }

    /// Publishes every queued transaction up to `tx` (all durable, since the log is ordered).
    pub(crate) fn publish_through(&self, tx: TxId) {
        let mut queue = self.publish.lock();
        while queue.front().is_some_and(|p| p.changes.tx_id <= tx) {
            let Some(pending) = queue.pop_front() else {
                break;
            };
            if !pending.redact.is_empty() {
                self.redact_superseded(&pending.redact, pending.changes.tx_id);
            }
            self.history
                .record_commit(pending.changes.tx_id, pending.changes.timestamp.0);
            self.latest.store(pending.changes.tx_id, Ordering::Release);
            for (_, listener) in self.listeners.read().iter() {
                listener(&pending.changes);
            }
        }
    }

    /// Wipes the `pii` columns of versions that `tx` superseded, so history keeps no personal
    /// data once it is no longer current.
    fn redact_superseded(&self, rows: &[(crate::schema::TableId, RowId)], tx: TxId) {
        let mut state = self.state.write();
        for &(table_id, row) in rows {
            let Ok(table) = state.table_mut(table_id) else {
                continue;
            };
            let Some(version) = table.version(row) else {
                continue;
            };
            if version.end != tx {
                continue;
            }
            match table.redacted(table.data(version)) {
                Ok(data) => {
                    if let Err(e) = table.rewrite_version(row, &data) {
                        tracing::warn!(database = %self.name, error = %e, "could not redact a superseded version");
                    }
                }
                Err(e) => {
                    tracing::warn!(database = %self.name, error = %e, "could not redact a superseded version")
                }
            }
        }
    }

    /// Moves the history window and removes versions no snapshot can see, in bounded chunks so
    /// writers and readers are held up only briefly.
    pub(crate) fn collect_garbage(&self) -> Result<usize> {
        const CHUNK: usize = 4096;
        let latest = self.latest.load(Ordering::Acquire);
        let horizon = self
            .history
            .advance(&self.config.history, latest, now_micros());
        let mut total = 0;
        loop {
            let mut removed = 0;
            {
                let mut state = self.state.write();
                for table in state.tables.values_mut() {
                    removed += table.collect(horizon, CHUNK - removed)?;
                    if removed >= CHUNK {
                        break;
                    }
                }
            }
            total += removed;
            if removed < CHUNK {
                return Ok(total);
            }
        }
    }
}

/// A handle to one database; cheap to clone, shareable across threads.
#[derive(Clone, Debug)]
pub struct Database {
    pub(crate) inner: Arc<DbInner>,
}

impl Database {
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Starts the write transaction, waiting for the current writer to finish.
    pub fn begin_write(&self) -> Result<WriteTx<'_>> {
        WriteTx::begin(self.inner.clone())
    }

    /// Like [`Database::begin_write`], but the transaction owns its handle on the database
    /// (`'static`): it can be stored, moved to another thread, or lent to a callback that
    /// needs `'static` data (the WASM host keeps it in the module instance's store during a
    /// reducer call).
    pub fn begin_write_owned(&self) -> Result<WriteTx<'static>> {
        WriteTx::begin(self.inner.clone())
    }

    /// Runs `f` in a write transaction: commits if it returns `Ok`, rolls back otherwise.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<R>,
    ) -> Result<(R, CommitInfo)> {
        let mut tx = self.begin_write()?;
        let value = f(&mut tx)?;
        let info = tx.commit()?;
        Ok((value, info))
    }

    /// A snapshot of the latest published state.
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.inner.check_poison()?;
        Ok(Snapshot::open_latest(self.inner.clone()))
    }

    /// A snapshot of the state right after transaction `tx` (time travel). Errors name the
    /// oldest available tx when `tx` is out of the history window.
    pub fn as_of(&self, tx: TxId) -> Result<Snapshot> {
        self.inner.check_poison()?;
        Snapshot::open(self.inner.clone(), tx, self.latest_tx())
    }

    /// The newest published tx (0 for an empty database).
    pub fn latest_tx(&self) -> TxId {
        self.inner.latest.load(Ordering::Acquire)
    }

    pub fn oldest_available_tx(&self) -> TxId {
        self.inner.history.oldest_available()
    }

    /// Registers a listener called with each change set, in commit order, after it is durable
    /// and visible. Listeners run on the committing thread: keep them short (hand off to a
    /// channel).
    pub fn on_commit(&self, listener: ChangeListener) -> ListenerId {
        let id = ListenerId(self.inner.next_listener.fetch_add(1, Ordering::Relaxed));
        self.inner.listeners.write().push((id, listener));
        id
    }

    pub fn remove_listener(&self, id: ListenerId) -> bool {
        let mut listeners = self.inner.listeners.write();
        let before = listeners.len();
        listeners.retain(|(l, _)| *l != id);
        listeners.len() != before
    }

    /// Collects versions older than the history window now (it also runs in the background).
    pub fn collect_garbage(&self) -> Result<usize> {
        self.inner.collect_garbage()
    }

    /// Writes a snapshot now and applies the retention policy. Returns the snapshot's tx.
    pub fn write_snapshot(&self) -> Result<TxId> {
        crate::snapshot_file::take_snapshot(&self.inner)
    }

    /// Copies a consistent snapshot and the WAL after it to `dest` while writes continue.
    /// Restore with [`Engine::restore_database`](crate::Engine::restore_database).
    pub fn backup_to(&self, dest: &Path) -> Result<TxId> {
        crate::snapshot_file::backup(&self.inner, dest)
    }

    /// Writes and fsyncs everything committed (for `Buffered` durability).
    pub fn flush(&self) -> Result<()> {
        if let Some(wal) = &self.inner.wal {
            wal.flush().map_err(|e| self.inner.poison(e.into()))?;
        }
        Ok(())
    }

    pub fn table_names(&self) -> Vec<String> {
        let state = self.inner.state.read();
        state
            .tables
            .values()
            .map(|t| t.schema.name().to_owned())
            .collect()
    }

    pub fn table_schema(&self, name: &str) -> Result<Arc<TableSchema>> {
        Ok(self.inner.state.read().by_name(name)?.schema.clone())
    }

    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    pub fn stats(&self) -> DatabaseStats {
        let state = self.inner.state.read();
        let wal = self.inner.wal.as_ref().map(Wal::stats).unwrap_or_default();
        DatabaseStats {
            latest_tx: self.latest_tx(),
            oldest_available_tx: self.oldest_available_tx(),
            tables: state.tables.len(),
            live_rows: state.tables.values().map(|t| t.live_rows()).sum(),
            history_versions: state.tables.values().map(|t| t.pending_garbage()).sum(),
            memory_bytes: state.tables.values().map(|t| t.memory_bytes()).sum(),
            wal_fsyncs: wal.fsyncs,
            wal_records: wal.records_appended,
            wal_bytes: wal.bytes_written,
            last_fsync_micros: wal.last_fsync_micros,
            fsync_micros_total: wal.fsync_micros_total,
            last_snapshot_tx: self.inner.last_snapshot_tx.load(Ordering::Acquire),
        }
    }
}
