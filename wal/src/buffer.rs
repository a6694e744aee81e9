//! The append buffer: records encoded in memory, waiting for the next write.
//!
//! `append` only copies into this buffer under a mutex, so it costs a memcpy
//! and no syscall. The segment a record belongs to is decided here, at append
//! time, from the logical length of the current segment, so the writer just
//! follows the recorded roll points.

use crate::error::WalError;
use crate::segment::{HEADER_LEN, MAX_PAYLOAD_LEN, encode_record, frame_len};
use crate::{Result, WalConfig};

/// Don't keep a huge spare allocation around after one giant batch.
const SPARE_CAPACITY_MAX: usize = 16 * 1024 * 1024;

/// A new segment starts at `offset` of the batch, holding `first_seq` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Roll {
    pub(crate) offset: usize,
    pub(crate) first_seq: u64,
}

/// Records taken out of the buffer by the group-commit leader.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) bytes: Vec<u8>,
    pub(crate) rolls: Vec<Roll>,
    pub(crate) last_seq: u64,
}

#[derive(Debug)]
pub(crate) struct AppendBuffer {
    pending: Vec<u8>,
    rolls: Vec<Roll>,
    /// Reused allocation for `pending`, returned by the leader after writing.
    spare: Vec<u8>,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    /// Logical length (written + buffered) of the segment the next record joins;
    /// `None` when there is no segment to append to yet.
    segment_len: Option<u64>,
    segment_bytes_max: u64,
    record_bytes_max: usize,
}

impl AppendBuffer {
    pub(crate) fn new(
        config: &WalConfig,
        first_seq: Option<u64>,
        last_seq: Option<u64>,
        segment_len: Option<u64>,
    ) -> Self {
        AppendBuffer {
            pending: Vec::new(),
            rolls: Vec::new(),
            spare: Vec::new(),
            first_seq,
            last_seq,
            segment_len,
            segment_bytes_max: config.segment_bytes_max,
            record_bytes_max: config.record_bytes_max.min(MAX_PAYLOAD_LEN),
        }
    }

    pub(crate) fn first_seq(&self) -> Option<u64> {
        self.first_seq
    }

    pub(crate) fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    pub(crate) fn set_first_seq(&mut self, seq: u64) {
        self.first_seq = Some(seq);
    }

    /// Size and order rules of `append`.
    fn check(&self, seq: u64, payload_len: usize) -> Result<()> {
        if payload_len > self.record_bytes_max {
            return Err(WalError::RecordTooLarge {
                len: payload_len,
                max: self.record_bytes_max,
            });
        }
        let expected = match self.last_seq {
            Some(last) => last.checked_add(1).ok_or(WalError::SequenceOutOfOrder {
                expected: last,
                got: seq,
            })?,
            None if seq == 0 => {
                return Err(WalError::SequenceOutOfOrder {
                    expected: 1,
                    got: 0,
                });
            }
            None => seq,
        };
        if seq != expected {
            return Err(WalError::SequenceOutOfOrder { expected, got: seq });
        }
        Ok(())
    }

    /// Encodes one record; `crc` was computed by the caller outside the lock.
    pub(crate) fn push(&mut self, seq: u64, payload: &[u8], crc: u32) -> Result<()> {
        self.check(seq, payload.len())?;
        let frame = frame_len(payload.len()) as u64;
        let header = HEADER_LEN as u64;
        // A record never spans segments; a segment holding only its header takes
        // the record whatever its size, so oversized records still make progress.
        let roll = match self.segment_len {
            None => true,
            Some(len) => len > header && len.saturating_add(frame) > self.segment_bytes_max,
        };
        if roll {
            self.rolls.push(Roll {
                offset: self.pending.len(),
                first_seq: seq,
            });
            self.segment_len = Some(header);
        }
        encode_record(&mut self.pending, seq, payload, crc);
        self.segment_len = self.segment_len.map(|l| l + frame);
        self.last_seq = Some(seq);
        self.first_seq.get_or_insert(seq);
        Ok(())
    }

    /// Takes everything buffered, or `None` if nothing is.
    pub(crate) fn take(&mut self) -> Option<Batch> {
        if self.pending.is_empty() {
            return None;
        }
        let last_seq = self.last_seq?;
        let bytes = std::mem::replace(&mut self.pending, std::mem::take(&mut self.spare));
        Some(Batch {
            bytes,
            rolls: std::mem::take(&mut self.rolls),
            last_seq,
        })
    }

    /// Gives a written batch's allocation back for reuse.
    pub(crate) fn recycle(&mut self, mut bytes: Vec<u8>) {
        if bytes.capacity() <= SPARE_CAPACITY_MAX && bytes.capacity() > self.spare.capacity() {
            bytes.clear();
            self.spare = bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(b: &mut AppendBuffer, seq: u64, payload: &[u8]) -> Result<()> {
        b.push(seq, payload, crate::segment::record_crc(seq, payload))
    }

    fn config(segment_bytes_max: u64) -> WalConfig {
        WalConfig {
            segment_bytes_max,
            ..WalConfig::default()
        }
    }

    // Proves roll points: first record always starts a segment, a record that
    // would overflow starts a new one, and an oversized record gets its own.
    #[test]
    fn rolls_are_decided_at_append() {
        let mut b = AppendBuffer::new(&config(24 + 2 * 20), None, None, None);
        for seq in 1..=3 {
            push(&mut b, seq, &[0u8; 4]).expect("push");
        }
        push(&mut b, 4, &[0u8; 200]).expect("oversized record");
        push(&mut b, 5, &[0u8; 4]).expect("push");
        let batch = b.take().expect("batch");
        let firsts: Vec<u64> = batch.rolls.iter().map(|r| r.first_seq).collect();
        assert_eq!(firsts, vec![1, 3, 4, 5]);
        assert_eq!(batch.rolls[1].offset, 40);
        assert_eq!(batch.last_seq, 5);
        assert!(b.take().is_none());
    }

    // Proves the ordering and size rules of append.
    #[test]
    fn order_and_size_checked() {
        let mut b = AppendBuffer::new(
            &WalConfig {
                record_bytes_max: 8,
                ..WalConfig::default()
            },
            None,
            None,
            None,
        );
        assert!(matches!(
            push(&mut b, 0, b""),
            Err(WalError::SequenceOutOfOrder {
                expected: 1,
                got: 0
            })
        ));
        push(&mut b, 10, b"").expect("any first seq");
        assert!(matches!(
            push(&mut b, 12, b""),
            Err(WalError::SequenceOutOfOrder {
                expected: 11,
                got: 12
            })
        ));
        assert!(matches!(
            push(&mut b, 11, &[0; 9]),
            Err(WalError::RecordTooLarge { len: 9, max: 8 })
        ));
        push(&mut b, 11, &[0; 8]).expect("max size fits");
    }
}
