//! Engine and database configuration, with safe defaults.

use std::time::Duration;

/// When a commit is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Acknowledge after the commit's log record is fsynced; commits arriving together share one
    /// fsync (group commit). Survives `kill -9` and power loss.
    #[default]
    Fsync,
    /// Acknowledge at once; a background thread writes and fsyncs the log every `interval`.
    /// Commits wait in the process's memory until then, so a crash (of the process or the
    /// machine) loses at most about the last `interval` of acknowledged commits.
    Buffered { interval: Duration },
    /// Memory only: no log, no snapshots; everything is lost when the engine closes.
    None,
}

/// How much time-travel history to keep. Each configured limit trims; history is what all the
/// limits keep. With neither set, history is kept until the engine is closed (not advised).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Keep at most this many committed transactions of history.
    pub txs_max: Option<u64>,
    /// Keep history no older than this.
    pub age_max: Option<Duration>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            txs_max: Some(100_000),
            age_max: Some(Duration::from_secs(24 * 3600)),
        }
    }
}

/// When to write snapshots and what to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotConfig {
    /// Take a snapshot in the background after this many transactions (None: only on demand).
    pub every_txs: Option<u64>,
    /// Snapshots kept on disk; WAL segments older than the oldest kept snapshot are removed.
    pub retained: usize,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            every_txs: Some(100_000),
            retained: 2,
        }
    }
}

/// Configuration of an [`Engine`](crate::Engine) and the databases it opens.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub durability: Durability,
    pub history: HistoryConfig,
    pub snapshots: SnapshotConfig,
    /// WAL segment size before a new segment starts.
    pub wal_segment_bytes_max: u64,
    /// How often the background worker collects old versions and takes due snapshots.
    pub maintenance_interval: Duration,
    /// Largest encoded row accepted.
    pub row_bytes_max: usize,
    /// Largest number of row operations in one transaction.
    pub tx_ops_max: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            durability: Durability::Fsync,
            history: HistoryConfig::default(),
            snapshots: SnapshotConfig::default(),
            wal_segment_bytes_max: 64 << 20,
            maintenance_interval: Duration::from_millis(500),
            row_bytes_max: 16 << 20,
            tx_ops_max: 10_000_000,
        }
    }
}

impl EngineConfig {
    /// A configuration for a memory-only engine (tests, caches, benchmarks).
    pub fn in_memory() -> EngineConfig {
        EngineConfig {
            durability: Durability::None,
            ..EngineConfig::default()
        }
    }
}
