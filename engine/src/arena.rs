//! Row bytes packed into large pages instead of one heap allocation per row: no per-row
//! allocator overhead, an 8-byte reference instead of a 16-byte fat pointer, and inserting a
//! row is a copy, not a `malloc`.
//!
//! ```text
//! page (1 MiB):  [len][row bytes][len][row bytes] ... free
//!                 ▲ DataRef = page << 32 | offset
//! ```
//!
//! Freed rows leave holes. Pages that are more than half holes are compacted (their live rows
//! copied to the open page, their references updated by the caller, the page's memory
//! released) when the collector asks.

use cosmictron_types::get_varint;

/// Size of a normal page. Rows larger than a quarter of it get a page of their own.
const PAGE_BYTES: usize = 1 << 20;

/// Where a row's bytes are: page index in the high 32 bits, offset in the low 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct DataRef(u64);

impl DataRef {
    /// The reference an empty slot holds.
    pub(crate) const NONE: DataRef = DataRef(u64::MAX);

    fn new(page: usize, offset: usize) -> DataRef {
        DataRef(((page as u64) << 32) | offset as u64)
    }

    fn page(self) -> usize {
        (self.0 >> 32) as usize
    }

    fn offset(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }
}

#[derive(Debug, Default)]
struct Page {
    bytes: Vec<u8>,
    /// Bytes of freed records in this page.
    dead: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Arena {
    pages: Vec<Page>,
    /// The page new rows go into.
    open: Option<usize>,
    /// Emptied pages whose index can be reused.
    free_pages: Vec<usize>,
    dead_bytes: usize,
    used_bytes: usize,
}

impl Arena {
    /// Copies `data` in and returns where it went.
    pub(crate) fn alloc(&mut self, data: &[u8]) -> DataRef {
        let mut header = [0u8; 10];
        let header_len = varint_into(&mut header, data.len() as u64);
        let need = header_len + data.len();
        let page = if need > PAGE_BYTES / 4 {
            self.new_page(need)
        } else {
            match self.open {
                Some(p) if self.pages[p].bytes.capacity() - self.pages[p].bytes.len() >= need => p,
                _ => {
                    let p = self.new_page(PAGE_BYTES);
                    self.open = Some(p);
                    p
                }
            }
        };
        let bytes = &mut self.pages[page].bytes;
        let offset = bytes.len();
        bytes.extend_from_slice(&header[..header_len]);
        bytes.extend_from_slice(data);
        self.used_bytes += need;
        DataRef::new(page, offset)
    }

    fn new_page(&mut self, capacity: usize) -> usize {
        let page = Page {
            bytes: Vec::with_capacity(capacity),
            dead: 0,
        };
        match self.free_pages.pop() {
            Some(index) => {
                self.pages[index] = page;
                index
            }
            None => {
                self.pages.push(page);
                self.pages.len() - 1
            }
        }
    }

    /// The bytes at `at`.
    pub(crate) fn get(&self, at: DataRef) -> &[u8] {
        let bytes = &self.pages[at.page()].bytes;
        let mut pos = at.offset();
        // The arena wrote this header itself; a failure here is a bug, shown as an empty row
        // that the row decoder then rejects.
        let len = get_varint(bytes, &mut pos).unwrap_or(0) as usize;
        bytes.get(pos..pos + len).unwrap_or(&[])
    }

    /// Marks the record at `at` as garbage.
    pub(crate) fn free(&mut self, at: DataRef) {
        let len = self.get(at).len();
        let record = varint_len(len as u64) + len;
        self.pages[at.page()].dead += record;
        self.dead_bytes += record;
    }

    /// True when enough space is wasted that compaction pays off.
    pub(crate) fn wants_compaction(&self) -> bool {
        self.dead_bytes > PAGE_BYTES && self.dead_bytes * 2 > self.used_bytes
    }

    /// Pages (other than the open one) that are more than half garbage.
    pub(crate) fn sparse_pages(&self) -> Vec<bool> {
        self.pages
            .iter()
            .enumerate()
            .map(|(i, p)| Some(i) != self.open && !p.bytes.is_empty() && p.dead * 2 > p.bytes.len())
            .collect()
    }

    /// Whether `at` lies in a page marked in `sparse`.
    pub(crate) fn in_sparse(at: DataRef, sparse: &[bool]) -> bool {
        sparse.get(at.page()).copied().unwrap_or(false)
    }

    /// Releases the pages marked in `sparse`, once every live record in them was moved.
    pub(crate) fn release(&mut self, sparse: &[bool]) {
        for (index, &is_sparse) in sparse.iter().enumerate() {
            if is_sparse {
                let page = std::mem::take(&mut self.pages[index]);
                self.used_bytes -= page.bytes.len();
                self.dead_bytes -= page.dead;
                self.free_pages.push(index);
            }
        }
    }

    /// Heap bytes reserved by the arena.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.pages.iter().map(|p| p.bytes.capacity()).sum::<usize>()
            + self.pages.capacity() * std::mem::size_of::<Page>()
    }
}

fn varint_into(buf: &mut [u8; 10], mut n: u64) -> usize {
    let mut len = 0;
    while n >= 0x80 {
        buf[len] = (n as u8) | 0x80;
        n >>= 7;
        len += 1;
    }
    buf[len] = n as u8;
    len + 1
}

fn varint_len(n: u64) -> usize {
    let bits = 64 - n.leading_zeros() as usize;
    bits.max(1).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_sparse_pages_are_released() {
        // Proves: stored bytes come back intact (small, 128+-byte and page-sized rows); freeing
        // most rows of a page makes it sparse; releasing it returns its memory.
        let mut arena = Arena::default();
        let rows: Vec<Vec<u8>> = (0..20_000u32)
            .map(|i| vec![(i % 251) as u8; (i % 300) as usize])
            .collect();
        let refs: Vec<DataRef> = rows.iter().map(|r| arena.alloc(r)).collect();
        let big = vec![9u8; PAGE_BYTES];
        let big_ref = arena.alloc(&big);
        for (r, at) in rows.iter().zip(&refs) {
            assert_eq!(arena.get(*at), r.as_slice());
        }
        assert_eq!(arena.get(big_ref), big.as_slice());
        for at in refs.iter().take(15_000) {
            arena.free(*at);
        }
        assert!(arena.wants_compaction());
        let sparse = arena.sparse_pages();
        assert!(sparse.iter().any(|&s| s));
        let before = arena.memory_bytes();
        arena.release(&sparse);
        assert!(arena.memory_bytes() < before);
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(0), 1);
    }
}
