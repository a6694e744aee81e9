//! # cosmictron-wal
//!
//! A segmented, append-only log of opaque records: the write-ahead log of a
//! Cosmictron database. It knows nothing of tables; the engine hands it bytes
//! tagged with a sequence number (the database's transaction id: contiguous,
//! strictly `+1`) and gets them back, in order, after a restart.
//!
//! * **Framing:** every record carries its length, sequence number and a CRC32,
//!   so recovery detects torn writes and bit rot. See `docs/wal-format.md`.
//! * **Durability:** [`Durability::Fsync`] (default) acknowledges a commit once
//!   it is fsynced, with *group commit*: one fsync covers every commit that
//!   arrived while the previous fsync was running. [`Durability::Buffered`]
//!   acknowledges at once and fsyncs on a timer (bounded loss window).
//! * **Failure:** a failed write or fsync poisons the log; nothing is
//!   acknowledged after it. Recovery truncates a torn tail but refuses
//!   ([`WalError::Corrupt`]) to skip damage anywhere else.
//! * **Storage:** segment files live behind the [`Storage`] trait:
//!   [`FileStorage`] for a real directory, [`FaultyStorage`] to test crashes.
//!
//! ## Files
//!
//! ```text
//! lib.rs           this overview and the public re-exports
//! error.rs         WalError, Result
//! config.rs        WalConfig, Durability
//! segment.rs       on-disk format: names, header, frames, CRC (encode/decode)
//! buffer.rs        append buffer: encoded records waiting for the leader, roll points
//! writer.rs        segment writer: writes batches, rolls and removes segments
//! group_commit.rs  leader/follower protocol for shared fsyncs, poisoning
//! durable_wait.rs  Durable: waiting for an fsync as a future; the syncer thread
//! gather.rs        a new leader waits briefly for committers about to append
//! recovery.rs      open-time scan: validation, torn-tail truncation
//! flusher.rs       background thread of the Buffered policy
//! log.rs           Wal, the public handle
//! stats.rs         WalStats counters
//! storage/         Storage trait; file.rs (FileStorage), faulty.rs (FaultyStorage)
//! ```
//!
//! ## A segment file (`{first_seq:020}.wal`)
//!
//! ```text
//! offset 0        8        12         16            24
//!        +--------+--------+----------+-------------+
//!        | magic  |version |reserved=0| first_seq   |   segment header (24 bytes)
//!        |CTRNWAL0|  u32=1 |   u32    |    u64      |
//!        +--------+--------+----------+-------------+
//!        +-------------+---------+---------+------------------+
//!        | payload_len |  crc32  |   seq   | payload ...      |   record frame (16 + len)
//!        |     u32     |   u32   |   u64   | payload_len bytes|
//!        +-------------+---------+---------+------------------+
//!        ... more frames, seq strictly +1, up to segment_bytes_max ...
//! ```
//!
//! All integers are little-endian; the CRC covers `payload_len ‖ seq ‖ payload`.
//!
//! ## Example
//!
//! ```
//! use std::sync::Arc;
//! use cosmictron_wal::{FaultyStorage, Wal, WalConfig};
//!
//! # fn main() -> cosmictron_wal::Result<()> {
//! let storage = FaultyStorage::new(); // FileStorage::open(dir)? in production
//! let wal = Wal::open(Arc::new(storage.clone()), WalConfig::default())?;
//! wal.append(1, b"first transaction")?; // in seq order, e.g. under the commit lock
//! wal.wait_durable(1)?; // outside the lock: concurrent commits share one fsync
//! drop(wal);
//!
//! let wal = Wal::open(Arc::new(storage), WalConfig::default())?;
//! let mut seen = Vec::new();
//! wal.replay(1, &mut |seq, payload| {
//!     seen.push((seq, payload.to_vec()));
//!     Ok(())
//! })?;
//! assert_eq!(seen, vec![(1, b"first transaction".to_vec())]);
//! # Ok(())
//! # }
//! ```

mod buffer;
mod config;
mod durable_wait;
mod error;
mod flusher;
mod gather;
mod group_commit;
mod log;
mod recovery;
mod segment;
mod stats;
mod storage;
mod writer;

pub use config::{Durability, WalConfig};
pub use durable_wait::Durable;
pub use error::{Result, WalError};
pub use log::{ReplayPosition, ReplayVisitor, Wal};
pub use stats::WalStats;
pub use storage::faulty::FaultyStorage;
pub use storage::file::FileStorage;
pub use storage::{Storage, StorageFile};

// The engine shares one Wal between committer threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wal>();
    assert_send_sync::<FaultyStorage>();
    assert_send_sync::<FileStorage>();
};
