//! The crate's error type. Every storage failure carries the operation and file
//! so an operator can tell *which* fsync or write failed.

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, WalError>;

/// Everything that can go wrong in the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// A storage operation failed (write, fsync, create, read, ...).
    #[error("wal storage error: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: std::io::Error,
    },
    /// The log on storage is damaged somewhere *before* its tail (bad CRC, bad
    /// header, sequence gap). Opening refuses rather than silently dropping records.
    #[error("wal corrupt: segment {segment} at byte offset {offset}: {reason}")]
    Corrupt {
        segment: String,
        offset: u64,
        reason: String,
    },
    /// An earlier write or fsync failed. After a failed fsync the kernel may have
    /// dropped the dirty pages, so retrying could acknowledge data that is not on
    /// disk: the log refuses every later append and durability wait instead.
    #[error("wal is poisoned by an earlier storage failure, nothing more is acknowledged: {cause}")]
    Poisoned { cause: String },
    /// `append` was called with a sequence number other than `last_seq + 1`
    /// (or 0 on an empty log), or `wait_durable` asked for a record never appended.
    #[error("wal sequence out of order: expected {expected}, got {got}")]
    SequenceOutOfOrder { expected: u64, got: u64 },
    /// The payload exceeds `WalConfig::record_bytes_max` (or the format's u32 limit).
    #[error("wal record too large: {len} bytes, max {max}")]
    RecordTooLarge { len: usize, max: usize },
}

impl WalError {
    /// True for [`WalError::Corrupt`]: the data on storage is damaged, as opposed
    /// to the storage being unavailable or the caller misusing the API.
    pub fn is_corruption(&self) -> bool {
        matches!(self, WalError::Corrupt { .. })
    }
}

/// Builds a `map_err` adapter that tags an `io::Error` with the operation and path.
pub(crate) fn io_err(
    op: &'static str,
    path: impl Into<String>,
) -> impl FnOnce(std::io::Error) -> WalError {
    let path = path.into();
    move |source| WalError::Io { op, path, source }
}

pub(crate) fn corrupt(segment: &str, offset: usize, reason: impl Into<String>) -> WalError {
    WalError::Corrupt {
        segment: segment.to_owned(),
        offset: offset as u64,
        reason: reason.into(),
    }
}
