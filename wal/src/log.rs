//! [`Wal`]: the public handle tying buffer, writer, group commit and flusher together.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use crate::buffer::AppendBuffer;
use crate::durable_wait::{Durable, Syncer, Waiters};
use crate::error::WalError;
use crate::flusher::Flusher;
use crate::gather::Gatherer;
use crate::group_commit::GroupCommit;
use crate::segment::{MAX_PAYLOAD_LEN, RECORD_HEADER_LEN, for_each_record, record_crc};
use crate::stats::{Counters, WalStats};
use crate::storage::Storage;
use crate::writer::{SegmentInfo, SegmentWriter};
use crate::{Durability, Result, WalConfig, recovery};

/// How far a replay has read: `(bytes read so far, bytes in all)` of the segments it reads.
pub type ReplayPosition = (u64, u64);

/// What [`Wal::replay_with_progress`] calls with each record: its seq, its payload and the
/// replay's position.
pub type ReplayVisitor<'a> = dyn FnMut(u64, &[u8], ReplayPosition) -> Result<()> + 'a;

/// A segmented append-only log of opaque records with contiguous sequence numbers.
///
/// `Send + Sync`; every method takes `&self`. Typical commit path:
/// `append(seq, bytes)` under the caller's own ordering lock, then
/// `wait_durable(seq)` outside it so concurrent commits share an fsync — or, in async code,
/// `durable(seq).await`, which holds no thread while the fsync runs.
pub struct Wal {
    shared: Arc<Shared>,
    flusher: Option<Flusher>,
    /// Leads the writes that [`Durable`] futures wait for (`Fsync` policy only).
    syncer: Option<Syncer>,
}

/// State shared with the background flusher thread.
#[derive(Debug)]
pub(crate) struct Shared {
    storage: Arc<dyn Storage>,
    durability: Durability,
    record_bytes_max: usize,
    buffer: Mutex<AppendBuffer>,
    /// Lock order: `writer` may be held while taking `buffer`, never the reverse.
    writer: Mutex<SegmentWriter>,
    commit: GroupCommit,
    /// Lets a new group-commit leader wait briefly for committers about to append.
    gather: Gatherer,
    /// Serialises `remove_before` against `copy_segments_to` so a backup never
    /// loses a segment it is copying.
    maintenance: Mutex<()>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("storage", &self.shared.storage)
            .field("durability", &self.shared.durability)
            .field("first_seq", &self.first_seq())
            .field("last_seq", &self.last_seq())
            .field("stats", &self.stats())
            .finish()
    }
}

impl Wal {
    /// Opens or creates the log: scans segments in order, validates headers and
    /// every record. A torn, partial or bad-CRC *last* record of the *last*
    /// segment is truncated away (file truncated and synced); a bad CRC, bad
    /// header or sequence gap anywhere before it is [`WalError::Corrupt`] naming
    /// the segment and byte offset. The surviving log is fsynced before returning.
    pub fn open(storage: Arc<dyn Storage>, config: WalConfig) -> Result<Wal> {
        let recovery::Recovered { segments, last_seq } = recovery::recover(storage.as_ref())?;
        let first_seq = segments.first().map(|s| s.first_seq);
        let segment_len = segments.last().map(|s| s.len);
        let counters = Arc::new(Counters::default());
        let writer = SegmentWriter::open(Arc::clone(&storage), segments, Arc::clone(&counters))?;
        let shared = Arc::new(Shared {
            storage,
            durability: config.durability,
            record_bytes_max: config.record_bytes_max.min(MAX_PAYLOAD_LEN),
            buffer: Mutex::new(AppendBuffer::new(&config, first_seq, last_seq, segment_len)),
            writer: Mutex::new(writer),
            commit: GroupCommit::new(last_seq.unwrap_or(0)),
            gather: Gatherer::default(),
            maintenance: Mutex::new(()),
            counters,
        });
        let (flusher, syncer) = match config.durability {
            Durability::Fsync => (None, Some(Syncer::spawn(Arc::clone(&shared))?)),
            Durability::Buffered { interval } => {
                (Some(Flusher::spawn(Arc::clone(&shared), interval)?), None)
            }
        };
        Ok(Wal {
            shared,
            flusher,
            syncer,
        })
    }

    /// Sequence number of the last record in the log (durable or not), or `None` if empty.
    pub fn last_seq(&self) -> Option<u64> {
        self.shared.buffer.lock().last_seq()
    }

    /// Sequence number of the first record still in the log, or `None` if empty.
    pub fn first_seq(&self) -> Option<u64> {
        self.shared.buffer.lock().first_seq()
    }

    /// Appends one record. `seq` must be `last_seq() + 1` when the log is
    /// non-empty, any value >= 1 when empty. Only copies into memory: it does not
    /// wait for (or start) any I/O.
    pub fn append(&self, seq: u64, payload: &[u8]) -> Result<()> {
        self.shared.commit.check_poison()?;
        if payload.len() > self.shared.record_bytes_max {
            return Err(WalError::RecordTooLarge {
                len: payload.len(),
                max: self.shared.record_bytes_max,
            });
        }
        // The CRC is the only per-byte work besides the copy; keep it outside the lock.
        let crc = record_crc(seq, payload);
        self.shared.buffer.lock().push(seq, payload, crc)?;
        self.shared
            .counters
            .records_appended
            .fetch_add(1, Ordering::Relaxed);
        self.shared
            .gather
            .appended(|| seq.saturating_sub(self.shared.commit.durable_seq()));
        Ok(())
    }

    /// Blocks until record `seq` and everything before it is durable under the
    /// policy. `Fsync`: group commit (see the crate docs). `Buffered`: returns at
    /// once. Errors with `Poisoned` after any earlier write/fsync failure, and
    /// with `SequenceOutOfOrder` if `seq` was never appended.
    pub fn wait_durable(&self, seq: u64) -> Result<()> {
        self.shared.commit.check_poison()?;
        match self.shared.durability {
            Durability::Fsync => self.shared.make_durable(seq),
            Durability::Buffered { .. } => self.shared.check_appended(seq),
        }
    }

    /// [`wait_durable`](Self::wait_durable) as a future: resolves once record `seq` and
    /// everything before it is durable under the policy, without holding a thread meanwhile
    /// (the log's syncer thread leads the fsync when no blocking committer does). Same errors.
    pub fn durable(&self, seq: u64) -> Durable {
        if let Err(e) = self.shared.commit.check_poison() {
            return Durable::ready(Err(e));
        }
        match self.shared.durability {
            Durability::Fsync => match self.shared.check_appended(seq) {
                Ok(()) => Durable::waiting(Arc::clone(&self.shared), seq),
                Err(e) => Durable::ready(Err(e)),
            },
            Durability::Buffered { .. } => Durable::ready(self.shared.check_appended(seq)),
        }
    }

    /// Has the log's syncer make `seq` durable soon without anyone waiting for it (a
    /// committer that went away); the on-durable hook then reports it. No-op under `Buffered`
    /// or when `seq` is durable already or was never appended.
    pub fn request_sync(&self, seq: u64) {
        if matches!(self.shared.durability, Durability::Fsync)
            && !self.shared.commit.is_durable(seq)
            && self.shared.check_appended(seq).is_ok()
        {
            self.shared.waiters().request(seq);
        }
    }

    /// Sets `hook`, called with the new durable seq after every successful write+fsync, on
    /// the thread that did it (before [`wait_durable`](Self::wait_durable) callers whose
    /// records it covered are guaranteed to have returned). A database uses it to publish
    /// transactions as soon as they are durable, whoever waits for them. One hook per log:
    /// `false` if one was set already.
    pub fn on_durable(&self, hook: impl Fn(u64) + Send + Sync + 'static) -> bool {
        self.shared.commit.set_on_durable(Box::new(hook))
    }

    /// Writes and fsyncs everything appended so far, whatever the policy.
    pub fn flush(&self) -> Result<()> {
        self.shared.flush()
    }

    /// Calls `f(seq, payload)` for every record with `seq >= from`, in order.
    /// Reads what is on storage: call [`flush`](Self::flush) first to include
    /// records still buffered. Records before [`first_seq`](Self::first_seq)
    /// were removed and are not reported; check `first_seq` if that matters.
    /// `f` may call other `Wal` methods. A concurrent `remove_before` covering
    /// `from` may make this fail with an `Io` error.
    pub fn replay(&self, from: u64, f: &mut dyn FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
        self.replay_with_progress(from, &mut |seq, payload, _| f(seq, payload))
    }

    /// [`replay`](Self::replay), telling `f` with each record how far the replay has read
    /// (for progress reports on long recoveries).
    pub fn replay_with_progress(&self, from: u64, f: &mut ReplayVisitor<'_>) -> Result<()> {
        // Snapshot under the lock, read without it: segments are append-only, so
        // the first `len` bytes of each are stable while committers keep writing.
        let segments: Vec<SegmentInfo> = {
            let writer = self.shared.writer.lock();
            let range = SegmentWriter::segments_from(writer.segments(), from);
            writer.segments()[range].to_vec()
        };
        let total: u64 = segments.iter().map(|s| s.len).sum();
        let mut before = 0u64;
        for info in &segments {
            let bytes = self.shared.storage.read(&info.name)?;
            let len = usize::try_from(info.len).unwrap_or(usize::MAX);
            if bytes.len() < len {
                return Err(crate::error::corrupt(
                    &info.name,
                    bytes.len(),
                    format!(
                        "segment shrank: {} bytes on storage, {len} written",
                        bytes.len()
                    ),
                ));
            }
            let mut visit = |offset: usize, seq: u64, payload: &[u8]| {
                if seq >= from {
                    let read = before + (offset + RECORD_HEADER_LEN + payload.len()) as u64;
                    f(seq, payload, (read, total))
                } else {
                    Ok(())
                }
            };
            for_each_record(&bytes[..len], info.first_seq, &mut visit, &info.name)?;
            before += info.len;
        }
        Ok(())
    }

    /// Removes whole segments all of whose records have seq < `seq`, oldest
    /// first, never the last segment. Returns how many were removed; the
    /// directory is fsynced.
    pub fn remove_before(&self, seq: u64) -> Result<usize> {
        let _maintenance = self.shared.maintenance.lock();
        let mut writer = self.shared.writer.lock();
        let result = writer.remove_before(seq);
        if let Some(first) = writer.segments().first() {
            self.shared.buffer.lock().set_first_seq(first.first_seq);
        }
        result
    }

    /// Flushes, then copies the segments holding records >= `from` into
    /// `dest_dir` (created if needed), for online backup. Commits continue while
    /// sealed segments are copied; they pause only while the segment being
    /// appended to is copied, so the copy of it ends on a record boundary.
    /// The copy holds at least every record appended before the call. Returns
    /// the number of segments copied.
    pub fn copy_segments_to(&self, from: u64, dest_dir: &Path) -> Result<usize> {
        self.flush()?;
        let _maintenance = self.shared.maintenance.lock();
        let segments: Vec<SegmentInfo> = {
            let writer = self.shared.writer.lock();
            let range = SegmentWriter::segments_from(writer.segments(), from);
            writer.segments()[range].to_vec()
        };
        let Some((last, sealed)) = segments.split_last() else {
            return Ok(0);
        };
        for info in sealed {
            self.shared.storage.copy_to(&info.name, dest_dir)?;
        }
        {
            // No leader can write while we hold the writer lock.
            let _writer = self.shared.writer.lock();
            self.shared.storage.copy_to(&last.name, dest_dir)?;
        }
        Ok(segments.len())
    }

    /// Counters since open.
    pub fn stats(&self) -> WalStats {
        self.shared.counters.snapshot()
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        if let Some(flusher) = self.flusher.take() {
            flusher.stop();
        }
        if let Some(syncer) = self.syncer.take() {
            syncer.stop(&self.shared);
        }
        match self.shared.flush() {
            Ok(()) => {}
            Err(WalError::Poisoned { .. }) => {}
            Err(e) => {
                tracing::warn!(error = %e, "wal flush on drop failed; unflushed records are lost")
            }
        }
    }
}

impl Shared {
    /// Errors if `seq` was never appended: waiting for it would never end.
    fn check_appended(&self, seq: u64) -> Result<()> {
        let last = self.buffer.lock().last_seq();
        match last {
            Some(last) if seq <= last => Ok(()),
            last => Err(WalError::SequenceOutOfOrder {
                expected: last.unwrap_or(0),
                got: seq,
            }),
        }
    }

    pub(crate) fn waiters(&self) -> &Waiters {
        &self.commit.waiters
    }

    pub(crate) fn durable_seq(&self) -> u64 {
        self.commit.durable_seq()
    }

    /// `Some` once waiting for `seq` is over: durable, or the log is poisoned.
    pub(crate) fn durable_or_failed(&self, seq: u64) -> Option<Result<()>> {
        if self.commit.is_poisoned() {
            return Some(self.commit.check_poison());
        }
        self.commit.is_durable(seq).then_some(Ok(()))
    }

    pub(crate) fn make_durable(&self, seq: u64) -> Result<()> {
        if self.commit.is_durable(seq) {
            return Ok(());
        }
        self.check_appended(seq)?;
        self.commit.wait_for(seq, || {
            self.gather.wait(|| self.pending_records());
            self.write_pending()
        })
    }

    /// Records appended but not yet durable.
    fn pending_records(&self) -> u64 {
        let last = self.buffer.lock().last_seq().unwrap_or(0);
        last.saturating_sub(self.commit.durable_seq())
    }

    pub(crate) fn flush(&self) -> Result<()> {
        self.commit.check_poison()?;
        // Bound first: a guard temporary in a `match` scrutinee lives through
        // the arms, and the leader's write_pending needs the buffer lock.
        let last = self.buffer.lock().last_seq();
        match last {
            Some(last) => self.commit.wait_for(last, || self.write_pending()),
            None => Ok(()),
        }
    }

    /// Leader work: take everything buffered, write it, fsync once.
    fn write_pending(&self) -> Result<Option<u64>> {
        let Some(batch) = self.buffer.lock().take() else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        self.writer.lock().write_batch(&batch)?;
        let last = batch.last_seq;
        let records = last.saturating_sub(self.commit.durable_seq());
        self.gather.record(records, started.elapsed());
        self.buffer.lock().recycle(batch.bytes);
        Ok(Some(last))
    }
}
