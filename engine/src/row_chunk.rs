//! [`RowChunk`]: a batch of rows copied out of a table under its read lock, packed into one
//! byte buffer that is reused from batch to batch.
//!
//! Scans copy rows out so the lock is held only while copying (never while the caller's
//! callback runs); packing them into one buffer makes that copy a `memcpy` per row instead
//! of an allocation per row.

use crate::table::RowId;

/// Rows with their ids; each row's bytes are a range of the shared buffer. Filled by
/// [`Snapshot::find_raw`](crate::Snapshot::find_raw) (and the engine's scans); reuse one to
/// allocate nothing per batch.
#[derive(Debug, Default)]
pub struct RowChunk {
    bytes: Vec<u8>,
    /// Row id and the end of its bytes in `bytes` (each row starts where the previous ends).
    rows: Vec<(RowId, usize)>,
}

impl RowChunk {
    pub fn new() -> RowChunk {
        RowChunk::default()
    }

    pub(crate) fn with_capacity(rows: usize) -> RowChunk {
        RowChunk {
            bytes: Vec::new(),
            rows: Vec::with_capacity(rows),
        }
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.rows.clear();
    }

    pub(crate) fn push(&mut self, id: RowId, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        self.rows.push((id, self.bytes.len()));
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows (slot id and encoded bytes) in the order pushed.
    pub fn iter(&self) -> impl Iterator<Item = (RowId, &[u8])> {
        let mut start = 0;
        self.rows.iter().map(move |&(id, end)| {
            let data = &self.bytes[start..end];
            start = end;
            (id, data)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_pushed_and_clear_empties() {
        let mut chunk = RowChunk::with_capacity(4);
        chunk.push(7, b"abc");
        chunk.push(9, b"");
        chunk.push(2, b"de");
        let rows: Vec<(RowId, &[u8])> = chunk.iter().collect();
        assert_eq!(rows, vec![(7, &b"abc"[..]), (9, &b""[..]), (2, &b"de"[..])]);
        assert_eq!(chunk.len(), 3);
        chunk.clear();
        assert_eq!(chunk.len(), 0);
        assert_eq!(chunk.iter().count(), 0);
    }
}
