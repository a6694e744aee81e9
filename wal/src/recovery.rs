//! Opening an existing log: validate every segment and record, cut a torn tail.
//!
//! Only the *last* segment may end in a torn write: a segment is fsynced before
//! the next one is created, so an earlier segment with a bad or missing record
//! is real damage and opening fails with [`crate::WalError::Corrupt`] instead of
//! silently losing records. In the last segment, the first bad frame is treated
//! as a torn tail only if no valid record follows it anywhere in the file
//! (otherwise a flipped length bit in the middle would hide all later records).

use crate::error::corrupt;
use crate::segment::{
    FIRST_SEQ_OFFSET, Frame, HEADER_LEN, decode_header, decode_record, find_valid_frame_after,
    parse_segment_name,
};
use crate::storage::Storage;
use crate::{Result, writer::SegmentInfo};

/// What a scan of one segment found.
struct SegmentScan {
    /// Last record's seq, `None` if the segment holds no record.
    last_seq: Option<u64>,
    /// Bytes up to the end of the last valid record (or of the header).
    valid_len: usize,
}

/// The log as found on storage after repairing its tail.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Oldest first; each holds at least one record.
    pub(crate) segments: Vec<SegmentInfo>,
    pub(crate) last_seq: Option<u64>,
}

/// Scans all segments and repairs the tail.
pub(crate) fn recover(storage: &dyn Storage) -> Result<Recovered> {
    let mut found: Vec<(u64, String)> = Vec::new();
    for name in storage.list()? {
        match parse_segment_name(&name) {
            Some(seq) => found.push((seq, name)),
            // Not ours: leave it alone (could be an operator's file).
            None => tracing::debug!(file = %name, "ignoring non-segment file in wal directory"),
        }
    }
    found.sort();

    let count = found.len();
    let mut segments: Vec<SegmentInfo> = Vec::with_capacity(count);
    let mut next_seq: Option<u64> = None;
    let mut recovered_last = None;
    for (i, (first_seq, name)) in found.into_iter().enumerate() {
        let is_last = i + 1 == count;
        let bytes = storage.read(&name)?;
        let scan = scan_segment(&name, first_seq, &bytes, next_seq, is_last)?;
        let Some(last_seq) = scan.last_seq else {
            // Only reachable for the last segment: a creation torn before any
            // record was durable. It holds nothing, so drop the file.
            tracing::warn!(segment = %name, len = bytes.len(), "removing torn empty last segment");
            storage.remove(&name)?;
            storage.sync_dir()?;
            continue;
        };
        if scan.valid_len < bytes.len() {
            tracing::warn!(
                segment = %name,
                offset = scan.valid_len,
                dropped_bytes = bytes.len() - scan.valid_len,
                "truncating torn tail of the wal"
            );
            storage.truncate(&name, scan.valid_len as u64)?;
        }
        segments.push(SegmentInfo {
            name,
            first_seq,
            len: scan.valid_len as u64,
        });
        next_seq = Some(last_seq.saturating_add(1));
        recovered_last = Some(last_seq);
    }
    Ok(Recovered {
        segments,
        last_seq: recovered_last,
    })
}

fn scan_segment(
    name: &str,
    name_seq: u64,
    bytes: &[u8],
    next_seq: Option<u64>,
    is_last: bool,
) -> Result<SegmentScan> {
    // A crash while creating a segment leaves a short or zero-filled header.
    if bytes.len() < HEADER_LEN || bytes.iter().all(|&b| b == 0) {
        if is_last {
            return Ok(SegmentScan {
                last_seq: None,
                valid_len: 0,
            });
        }
        return Err(corrupt(
            name,
            bytes.len().min(HEADER_LEN),
            "segment is shorter than its header or all zero",
        ));
    }
    let first_seq = decode_header(bytes).map_err(|e| corrupt(name, e.offset, e.reason))?;
    if first_seq != name_seq {
        return Err(corrupt(
            name,
            FIRST_SEQ_OFFSET,
            format!("header first_seq {first_seq} does not match the file name"),
        ));
    }
    if let Some(expected) = next_seq
        && first_seq != expected
    {
        return Err(corrupt(
            name,
            FIRST_SEQ_OFFSET,
            format!(
                "sequence gap: segment starts at {first_seq}, previous segment ends at {}",
                expected - 1
            ),
        ));
    }

    let mut pos = HEADER_LEN;
    let mut expected = first_seq;
    let mut last_seq = None;
    while pos < bytes.len() {
        match decode_record(&bytes[pos..]) {
            Frame::Record { seq, len, .. } => {
                // A frame with a good CRC but the wrong seq was not produced by a
                // torn write: it is damage (or a foreign file), never a tail.
                if seq != expected {
                    return Err(corrupt(
                        name,
                        pos,
                        format!("sequence gap: expected seq {expected}, found {seq}"),
                    ));
                }
                last_seq = Some(seq);
                expected = seq.saturating_add(1);
                pos += len;
            }
            bad => {
                let reason = bad.describe();
                if !is_last {
                    return Err(corrupt(name, pos, reason));
                }
                if let Some((at, seq)) = find_valid_frame_after(bytes, pos + 1, expected) {
                    return Err(corrupt(
                        name,
                        pos,
                        format!(
                            "{reason}; a valid record (seq {seq}) follows at offset {at}, so this is not a torn tail"
                        ),
                    ));
                }
                break;
            }
        }
    }
    if last_seq.is_none() && !is_last {
        return Err(corrupt(name, HEADER_LEN, "segment holds no records"));
    }
    Ok(SegmentScan {
        last_seq,
        valid_len: pos,
    })
}
