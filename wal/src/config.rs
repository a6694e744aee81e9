//! Tunables of a [`crate::Wal`]: durability policy and size limits.

use std::time::Duration;

/// When `wait_durable` may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Default. `wait_durable` returns after the record's bytes are fsynced.
    /// Commits that arrive together share one fsync (group commit).
    Fsync,
    /// `wait_durable` returns at once; a background thread writes and fsyncs
    /// everything appended at least every `interval`.
    ///
    /// **Loss window:** on power loss or process crash, records appended during
    /// the last `interval` (plus the duration of one write+fsync) may be lost,
    /// even though `wait_durable` acknowledged them. What survives is always a
    /// prefix of the appended records. An interval of zero is treated as 1 ms.
    Buffered { interval: Duration },
}

/// Configuration of a [`crate::Wal`].
#[derive(Debug, Clone)]
pub struct WalConfig {
    /// See [`Durability`]. Default: [`Durability::Fsync`].
    pub durability: Durability,
    /// A new segment is started when appending a record would make the current
    /// segment exceed this many bytes (header included). A record never spans
    /// segments: a record larger than this gets a segment of its own.
    /// Default: 64 MiB.
    pub segment_bytes_max: u64,
    /// Largest accepted payload. Default: 256 MiB. The format caps it at `u32::MAX`.
    pub record_bytes_max: usize,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            durability: Durability::Fsync,
            segment_bytes_max: 64 * 1024 * 1024,
            record_bytes_max: 256 * 1024 * 1024,
        }
    }
}
