//! The segment writer: owns the open segment file and the list of segments.
//!
//! Only the group-commit leader writes, under the writer mutex. A batch is
//! written with one `write_all` per segment it touches and made durable with one
//! fsync; rolling to a new segment first fsyncs the old one, so that only the
//! last segment can ever hold a torn tail (recovery relies on this).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::Result;
use crate::buffer::Batch;
use crate::error::io_err;
use crate::segment::{HEADER_LEN, encode_header, segment_name};
use crate::stats::Counters;
use crate::storage::{Storage, StorageFile};

/// One segment file as the log knows it.
#[derive(Debug, Clone)]
pub(crate) struct SegmentInfo {
    pub(crate) name: String,
    pub(crate) first_seq: u64,
    /// Bytes known durable: replay and backup never look past this, so they
    /// cannot report a record whose fsync has not returned (or failed).
    pub(crate) len: u64,
}

#[derive(Debug)]
struct ActiveFile {
    file: Box<dyn StorageFile>,
    /// Bytes written since the last fsync.
    unsynced: u64,
}

#[derive(Debug)]
pub(crate) struct SegmentWriter {
    storage: Arc<dyn Storage>,
    /// Oldest first. The last one is the segment being appended to.
    segments: Vec<SegmentInfo>,
    /// Open handle on the last segment; `None` until the first roll when the
    /// log is empty.
    active: Option<ActiveFile>,
    counters: Arc<Counters>,
}

impl SegmentWriter {
    /// Takes over recovered segments: opens the last one for appending and
    /// fsyncs it, because bytes found on storage after a process crash may still
    /// be only in the page cache, and the engine is about to treat them as
    /// committed.
    pub(crate) fn open(
        storage: Arc<dyn Storage>,
        segments: Vec<SegmentInfo>,
        counters: Arc<Counters>,
    ) -> Result<Self> {
        let active = match segments.last() {
            Some(last) => {
                let mut file = storage.open_append(&last.name)?;
                file.sync()?;
                counters.fsyncs.fetch_add(1, Ordering::Relaxed);
                Some(ActiveFile { file, unsynced: 0 })
            }
            None => None,
        };
        counters.segments.store(segments.len(), Ordering::Relaxed);
        Ok(SegmentWriter {
            storage,
            segments,
            active,
            counters,
        })
    }

    pub(crate) fn segments(&self) -> &[SegmentInfo] {
        &self.segments
    }

    /// Writes a batch and fsyncs it. On error the caller poisons the log: the
    /// file may hold part of the batch, which recovery treats as a torn tail.
    pub(crate) fn write_batch(&mut self, batch: &Batch) -> Result<()> {
        let mut cursor = 0;
        for roll in &batch.rolls {
            self.write_active(&batch.bytes[cursor..roll.offset])?;
            self.roll(roll.first_seq)?;
            cursor = roll.offset;
        }
        self.write_active(&batch.bytes[cursor..])?;
        self.sync_active()
    }

    fn write_active(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let Some(active) = self.active.as_mut() else {
            // The buffer always starts a segment before the first record.
            return Err(io_err("write", "<no active segment>")(
                std::io::Error::other(
                    "internal error: records buffered with no segment to write them to",
                ),
            ));
        };
        active.file.write_all(bytes)?;
        active.unsynced += bytes.len() as u64;
        self.counters
            .bytes_written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn sync_active(&mut self) -> Result<()> {
        if let Some(active) = self.active.as_mut()
            && active.unsynced > 0
        {
            let started = std::time::Instant::now();
            active.file.sync()?;
            let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.counters
                .last_fsync_micros
                .store(took, Ordering::Relaxed);
            self.counters
                .fsync_micros_total
                .fetch_add(took, Ordering::Relaxed);
            self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
            if let Some(info) = self.segments.last_mut() {
                info.len += active.unsynced;
            }
            active.unsynced = 0;
        }
        Ok(())
    }

    /// Closes the current segment (durably) and starts `{first_seq}.wal`:
    /// header, fsync file, fsync directory — so a crash leaves either no new
    /// segment or one with a complete header.
    fn roll(&mut self, first_seq: u64) -> Result<()> {
        self.sync_active()?;
        self.active = None;
        let name = segment_name(first_seq);
        let mut file = self.storage.create(&name)?;
        file.write_all(&encode_header(first_seq))?;
        self.counters
            .bytes_written
            .fetch_add(HEADER_LEN as u64, Ordering::Relaxed);
        file.sync()?;
        self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.storage.sync_dir()?;
        // Listed only once complete: replay and backup never see a half-made
        // segment (after a failure here the log is poisoned anyway).
        self.segments.push(SegmentInfo {
            name,
            first_seq,
            len: HEADER_LEN as u64,
        });
        self.counters
            .segments
            .store(self.segments.len(), Ordering::Relaxed);
        self.active = Some(ActiveFile { file, unsynced: 0 });
        Ok(())
    }

    /// Removes the oldest segments whose records all have seq < `seq`, never the
    /// last one (it tells a reopened log where the sequence continues).
    ///
    /// Oldest first with a directory fsync after each removal: if removals could
    /// become durable out of order, a crash could leave a gap between surviving
    /// segments, which recovery must report as corruption.
    pub(crate) fn remove_before(&mut self, seq: u64) -> Result<usize> {
        let removable = self
            .segments
            .windows(2)
            .take_while(|pair| pair[1].first_seq <= seq)
            .count();
        for _ in 0..removable {
            let name = self.segments[0].name.clone();
            self.storage.remove(&name)?;
            self.segments.remove(0);
            self.counters
                .segments
                .store(self.segments.len(), Ordering::Relaxed);
            self.storage.sync_dir()?;
        }
        Ok(removable)
    }

    /// Indexes of the segments holding records with seq >= `from`.
    pub(crate) fn segments_from(segments: &[SegmentInfo], from: u64) -> std::ops::Range<usize> {
        let skip = segments
            .windows(2)
            .take_while(|pair| pair[1].first_seq <= from)
            .count();
        skip..segments.len()
    }
}
