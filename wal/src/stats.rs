//! Counters exposed through [`crate::Wal::stats`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A snapshot of the log's counters since it was opened.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalStats {
    /// Records accepted by `append`.
    pub records_appended: u64,
    /// File fsyncs issued (group-commit syncs, segment rolls, the sync at open);
    /// directory fsyncs are not counted.
    pub fsyncs: u64,
    /// Bytes written to segment files (headers and frames).
    pub bytes_written: u64,
    /// Segment files currently in the log.
    pub segments: usize,
    /// How long the most recent group-commit fsync took, in microseconds (0 before the first).
    pub last_fsync_micros: u64,
    /// Time spent in group-commit fsyncs since the log was opened, in microseconds: divided by
    /// the elapsed time, how busy the disk kept the log.
    pub fsync_micros_total: u64,
}

/// Relaxed atomics: these are statistics, not synchronisation.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) records_appended: AtomicU64,
    pub(crate) fsyncs: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) segments: AtomicUsize,
    pub(crate) last_fsync_micros: AtomicU64,
    pub(crate) fsync_micros_total: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> WalStats {
        WalStats {
            records_appended: self.records_appended.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            segments: self.segments.load(Ordering::Relaxed),
            last_fsync_micros: self.last_fsync_micros.load(Ordering::Relaxed),
            fsync_micros_total: self.fsync_micros_total.load(Ordering::Relaxed),
        }
    }
}
