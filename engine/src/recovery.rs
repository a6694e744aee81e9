//! Opening a database directory: newest valid snapshot, then the WAL after it.
//!
//! ```text
//! databases/<name>/
//!   snapshots/<tx>.snap    full state as of tx (newest valid one is used)
//!   wal/<seq>.wal          one record per committed tx, seq = tx id
//! ```
//!
//! Replay applies each record with the same table mechanics the writer used, so the rebuilt
//! state (slots, indexes, counters) is the one the original run had. Progress is logged on long
//! recoveries (every couple of seconds: the share of the log read, and the time left).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use cosmictron_wal::{FileStorage, Storage, Wal, WalConfig, WalError};

use crate::config::{Durability, EngineConfig};
use crate::database::{DbInner, RecoveryReport};
use crate::error::{EngineError, Result};
use crate::history::History;
use crate::log_record::{self, LogOp};
use crate::recovery_progress::{REPORT_EVERY, ReplayProgress};
use crate::schema::TxId;
use crate::snapshot_file::{self, SNAPSHOT_DIR, WAL_DIR};
use crate::state::DbState;

/// How often (in records) a replay looks at the clock to see whether a progress report is due.
const PROGRESS_CHECK_EVERY: u64 = 1024;

pub(crate) fn wal_config(config: &EngineConfig) -> Option<WalConfig> {
    let durability = match config.durability {
        Durability::Fsync => cosmictron_wal::Durability::Fsync,
        Durability::Buffered { interval } => cosmictron_wal::Durability::Buffered { interval },
        Durability::None => return None,
    };
    Some(WalConfig {
        durability,
        segment_bytes_max: config.wal_segment_bytes_max,
        ..WalConfig::default()
    })
}

/// Opens (or creates) the database stored in `dir`. `wal_storage` overrides the WAL's storage
/// (tests inject faults through it).
pub(crate) fn open_dir(
    name: &str,
    dir: &Path,
    config: &EngineConfig,
    wal_storage: Option<Arc<dyn Storage>>,
) -> Result<DbInner> {
    let started = Instant::now();
    let mut report = RecoveryReport::default();
    let snapshots = snapshot_file::list(&dir.join(SNAPSHOT_DIR))?;
    let mut loaded = None;
    for (tx, path) in &snapshots {
        match snapshot_file::load(path) {
            Ok(l) => {
                loaded = Some(l);
                break;
            }
            Err(e) => {
                tracing::warn!(database = name, tx, error = %e, "skipping an unreadable snapshot")
            }
        }
    }
    let (mut state, base_tx) = match loaded {
        Some(l) => {
            report.snapshot_tx = l.tx;
            report.snapshot_rows = l.rows;
            (l.state, l.tx)
        }
        None => (DbState::new(), 0),
    };
    let wal_config = wal_config(config).ok_or_else(|| {
        EngineError::InvalidDefinition("a data directory needs a durable log".into())
    })?;
    let storage: Arc<dyn Storage> = match wal_storage {
        Some(s) => s,
        None => Arc::new(FileStorage::open(dir.join(WAL_DIR))?),
    };
    let mut wal = Wal::open(storage.clone(), wal_config.clone())?;
    if let Some(last) = wal.last_seq()
        && last < base_tx
    {
        // The log ends before the snapshot (its tail was cut after the snapshot was written,
        // e.g. bit rot in the last record): everything it holds is in the snapshot, and it
        // could not continue at `base_tx + 1`. Start a fresh log after the snapshot, removing
        // segments oldest first so an interruption leaves a log this check still catches.
        tracing::warn!(
            database = name,
            last,
            base_tx,
            "the log ends before the snapshot; starting a new log"
        );
        drop(wal);
        let mut segments: Vec<String> = storage
            .list()?
            .into_iter()
            .filter(|n| n.ends_with(".wal"))
            .collect();
        segments.sort();
        for segment in segments {
            storage.remove(&segment)?;
            storage.sync_dir()?;
        }
        wal = Wal::open(storage, wal_config)?;
    }
    if let Some(first) = wal.first_seq()
        && first > base_tx + 1
    {
        return Err(EngineError::Corrupt {
            what: format!("database `{name}`"),
            reason: format!(
                "the log starts at tx {first} but the newest usable snapshot is at tx {base_tx}"
            ),
        });
    }
    let history = History::new(base_tx);
    let last_tx = replay(name, &wal, base_tx, &mut state, &history, &mut report)?;
    // Versions the original run had collected are gone from replayed slots that were reused;
    // history before them is incomplete, so it is not offered.
    let evicted_until = state
        .tables
        .values()
        .map(|t| t.evicted_until)
        .max()
        .unwrap_or(0);
    history.raise_oldest(evicted_until.min(last_tx));
    report.last_tx = last_tx;
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if report.wal_records > 0 || report.snapshot_tx > 0 {
        tracing::info!(database = name, ?report, "recovered");
    }
    Ok(DbInner::new(
        name.to_owned(),
        config.clone(),
        Some(dir.to_owned()),
        state,
        Some(wal),
        last_tx,
        history,
        report,
    ))
}

fn replay(
    name: &str,
    wal: &Wal,
    base_tx: TxId,
    state: &mut DbState,
    history: &History,
    report: &mut RecoveryReport,
) -> Result<TxId> {
    let mut last = base_tx;
    let mut failure: Option<EngineError> = None;
    let mut progress = ReplayProgress::new(Instant::now(), REPORT_EVERY);
    let result = wal.replay_with_progress(base_tx + 1, &mut |seq, payload, position| {
        let applied = log_record::decode(seq, payload).and_then(|record| {
            for op in record.ops {
                if matches!(op, LogOp::Insert { .. } | LogOp::Delete { .. }) {
                    report.wal_row_ops += 1;
                }
                apply(state, op, seq)?;
            }
            history.record_commit(seq, record.timestamp_us);
            Ok(())
        });
        match applied {
            Ok(()) => {
                last = seq;
                report.wal_records += 1;
                if report.wal_records.is_multiple_of(PROGRESS_CHECK_EVERY)
                    && let Some(p) = progress.due(Instant::now(), report.wal_records, position)
                {
                    tracing::info!(
                        database = name,
                        tx = seq,
                        records = p.records,
                        "recovering: {}% of the log ({:.1} of {:.1} MiB){}",
                        p.percent,
                        p.mib_read,
                        p.mib_total,
                        p.eta_secs
                            .map(|s| format!(", about {s} s left"))
                            .unwrap_or_default()
                    );
                }
                Ok(())
            }
            Err(e) => {
                failure = Some(e);
                Err(WalError::Corrupt {
                    segment: String::new(),
                    offset: 0,
                    reason: format!("tx {seq} could not be replayed"),
                })
            }
        }
    });
    match (result, failure) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
        (Ok(()), None) => Ok(last),
    }
}

/// Redoes one logged operation.
fn apply(state: &mut DbState, op: LogOp, tx: TxId) -> Result<()> {
    match op {
        LogOp::Insert { table, row, data } => {
            let t = state.table_mut(table)?;
            DbState::bump_auto_inc(t, &data);
            t.insert_version(Some(row), &data, tx)?;
        }
        LogOp::Delete { table, row } => {
            let t = state.table_mut(table)?;
            t.end_version(row, tx)?;
            if !t.schema.pii_columns.is_empty()
                && let Some(data) = t.row_data(row)
            {
                let data = t.redacted(data)?;
                t.rewrite_version(row, &data)?;
            }
        }
        LogOp::CreateTable { table, def } => state.create_table(table, *def, tx)?,
        LogOp::DropTable { table } => {
            state.drop_table(table)?;
        }
        LogOp::AddColumn { table, add } => {
            state.add_column(table, &add, tx)?;
        }
        LogOp::CreateIndex { table, index } => {
            state.create_index(table, &index)?;
        }
        LogOp::DropIndex { table, name } => {
            state.drop_index(table, &name)?;
        }
    }
    Ok(())
}

/// A memory-only database.
pub(crate) fn open_memory(name: &str, config: &EngineConfig) -> DbInner {
    DbInner::new(
        name.to_owned(),
        config.clone(),
        None,
        DbState::new(),
        None,
        0,
        History::new(0),
        RecoveryReport::default(),
    )
}
