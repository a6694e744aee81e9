//! A btree index split in two: entries of current versions, and entries of versions kept only
//! for history; a unique index also hashes its current entries by key.
//!
//! The writer (and every read of the latest state) searches `live` alone, so finding a key's
//! current row costs one btree descent however often that row was updated; a time-travel read
//! merges both sets in key order. A version's entries move from `live` to `history` when it is
//! ended, back if that is rolled back, and leave `history` when the collector removes the version.
//!
//! Full-key lookups in a unique index (a primary key, a `#[unique]` column, a foreign key's
//! target) are the commonest read there is. A btree descent through a million keys visits 6–7
//! nodes, most of them cache misses and each a linear search; the hash finds the entry in one
//! probe. It holds the live entries only (history is searched in its own, small, btree), and
//! only 8 bytes each: a 32-bit hash of the key and the row id. The caller confirms a candidate
//! against the row's own key, so the hash never needs the key bytes, and growing the table
//! rehashes from the stored hashes without touching the rows.

use std::hash::BuildHasher;
use std::iter::Peekable;
use std::ops::Bound;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use crate::bplus_set::{BPlusSet, Range};
use crate::key_bytes::KeyBytes;
use crate::table::{RowId, View};

pub(crate) type Entry = (KeyBytes, RowId);

/// A hashed live entry: the low 32 bits of the key's hash, and the row.
type HashedEntry = (u32, u32);

/// The 64-bit hash the table is probed with, rebuilt from the stored 32 bits: the multiply
/// spreads them into the top bits, which the table uses as each bucket's tag.
fn spread(tag: u32) -> u64 {
    u64::from(tag).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    live: BPlusSet<Entry>,
    history: BPlusSet<Entry>,
    /// Unique indexes only: the live entries again, as (hash of the key, row). Keys with a NULL
    /// may repeat (NULLs never conflict), so this is a multiset. `None` too once a row id no
    /// longer fits 32 bits (four billion slots): lookups then use the btree.
    live_by_key: Option<HashTable<HashedEntry>>,
    /// Seeded at random per index, so keys chosen to collide cannot be worked out in advance.
    hasher: RandomState,
}

impl Index {
    /// An empty index; `unique` ones hash their live entries too.
    pub(crate) fn new(unique: bool) -> Index {
        Index {
            live_by_key: unique.then(HashTable::new),
            ..Index::default()
        }
    }

    /// Whether full-key lookups go through the hash.
    pub(crate) fn is_hashed(&self) -> bool {
        self.live_by_key.is_some()
    }

    pub(crate) fn insert(&mut self, key: KeyBytes, row: RowId, live: bool) {
        if live {
            self.hash_insert(&key, row);
            self.live.insert((key, row));
        } else {
            self.history.insert((key, row));
        }
    }

    pub(crate) fn remove(&mut self, key: KeyBytes, row: RowId, live: bool) {
        let entry = (key, row);
        if live {
            self.hash_remove(&entry);
            self.live.remove(&entry);
        } else {
            self.history.remove(&entry);
        }
    }

    /// The version `row` was ended: its entry now serves history only.
    pub(crate) fn retire(&mut self, key: KeyBytes, row: RowId) {
        let entry = (key, row);
        self.hash_remove(&entry);
        self.live.remove(&entry);
        self.history.insert(entry);
    }

    /// Undoes [`Index::retire`].
    pub(crate) fn revive(&mut self, key: KeyBytes, row: RowId) {
        let entry = (key, row);
        self.history.remove(&entry);
        self.hash_insert(&entry.0, row);
        self.live.insert(entry);
    }

    fn tag(&self, key: &[u8]) -> u32 {
        self.hasher.hash_one(key) as u32
    }

    fn hash_insert(&mut self, key: &KeyBytes, row: RowId) {
        // Non-unique indexes have no hash: nothing to compute.
        let Some(table) = &mut self.live_by_key else {
            return;
        };
        let Ok(row) = u32::try_from(row) else {
            self.live_by_key = None;
            return;
        };
        let tag = self.hasher.hash_one(key.as_slice()) as u32;
        table.insert_unique(spread(tag), (tag, row), |&(t, _)| spread(t));
    }

    fn hash_remove(&mut self, entry: &Entry) {
        let (Some(table), Ok(row)) = (&mut self.live_by_key, u32::try_from(entry.1)) else {
            return;
        };
        let tag = self.hasher.hash_one(entry.0.as_slice()) as u32;
        if let Ok(found) = table.find_entry(spread(tag), |&e| e == (tag, row)) {
            found.remove();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len() + self.history.len()
    }

    /// Heap bytes of the hashed entries (the btrees are counted per entry by the caller).
    pub(crate) fn hash_bytes(&self) -> usize {
        self.live_by_key
            .as_ref()
            .map_or(0, HashTable::allocation_size)
    }

    /// Current entries in key order.
    pub(crate) fn live(&self) -> Range<'_, Entry> {
        self.live.iter()
    }

    /// Live rows whose key may be `key` (the same 32-bit hash; the caller compares the row's
    /// key), through the hash; `None` when this index has no hash (search the btree).
    pub(crate) fn live_candidates(&self, key: &[u8]) -> Option<impl Iterator<Item = RowId> + '_> {
        let table = self.live_by_key.as_ref()?;
        let tag = self.tag(key);
        Some(
            table
                .iter_hash(spread(tag))
                .filter(move |&&(t, _)| t == tag)
                .map(|&(_, row)| RowId::from(row)),
        )
    }

    /// History entries from `start` on, in key order.
    pub(crate) fn history_from(&self, start: Bound<&Entry>) -> Range<'_, Entry> {
        self.history.range_from(start)
    }

    /// Entries from `start` on, in key order, from the sets `view` needs. Visibility of each
    /// entry's version is still the caller's to check.
    pub(crate) fn range(&self, start: Bound<Entry>, view: View) -> Entries<'_> {
        let live = self.live.range_from(start.as_ref());
        match view {
            // Without ended versions (the common case) the past is the present: one descent.
            View::Latest => Entries::Live(live),
            View::AsOf(_) if self.history.len() == 0 => Entries::Live(live),
            View::AsOf(_) => Entries::Both {
                live: live.peekable(),
                history: self.history.range_from(start.as_ref()).peekable(),
            },
        }
    }
}

/// Index entries in key order (see [`Index::range`]).
// The two-set variant is about twice the other's size; both live briefly on the stack, and
// boxing it would allocate on every time-travel read.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Entries<'a> {
    Live(Range<'a, Entry>),
    Both {
        live: Peekable<Range<'a, Entry>>,
        history: Peekable<Range<'a, Entry>>,
    },
}

impl<'a> Iterator for Entries<'a> {
    type Item = &'a Entry;

    fn next(&mut self) -> Option<&'a Entry> {
        match self {
            Entries::Live(live) => live.next(),
            Entries::Both { live, history } => match (live.peek(), history.peek()) {
                (Some(a), Some(b)) if b < a => history.next(),
                (Some(_), _) => live.next(),
                (None, _) => history.next(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_reads_merge_both_sets_in_key_order() {
        // Proves: the latest view sees live entries only; a time-travel view sees both, merged
        // in key order; retire and revive move an entry between the sets.
        let mut index = Index::default();
        let key = |b: u8| KeyBytes::from_slice(&[b]);
        index.insert(key(1), 10, true);
        index.insert(key(3), 30, true);
        index.insert(key(2), 20, false);
        index.insert(key(4), 40, true);
        index.retire(key(4), 40);
        let latest: Vec<RowId> = index
            .range(Bound::Unbounded, View::Latest)
            .map(|e| e.1)
            .collect();
        assert_eq!(latest, vec![10, 30]);
        let all: Vec<RowId> = index
            .range(Bound::Unbounded, View::AsOf(0))
            .map(|e| e.1)
            .collect();
        assert_eq!(all, vec![10, 20, 30, 40]);
        index.revive(key(4), 40);
        let latest: Vec<RowId> = index
            .range(Bound::Included((key(3), 0)), View::Latest)
            .map(|e| e.1)
            .collect();
        assert_eq!(latest, vec![30, 40]);
        assert_eq!(index.len(), 4);
    }

    fn candidates(index: &Index, key: &KeyBytes) -> Vec<RowId> {
        let mut rows: Vec<RowId> = index
            .live_candidates(key)
            .expect("a unique index hashes its live entries")
            .collect();
        rows.sort_unstable();
        rows
    }

    #[test]
    fn a_unique_index_hashes_exactly_its_live_entries() {
        // Proves: the hash follows every move of an entry (insert, retire, revive, remove),
        // holds repeated keys (NULL keys may repeat in a unique index), and leaves history out.
        let mut index = Index::new(true);
        let (a, b) = (KeyBytes::from_slice(&[1, 7]), KeyBytes::from_slice(&[1, 8]));
        index.insert(a.clone(), 1, true);
        index.insert(a.clone(), 2, true);
        index.insert(b.clone(), 3, true);
        index.insert(b.clone(), 4, false);
        assert_eq!(candidates(&index, &a), vec![1, 2]);
        assert_eq!(candidates(&index, &b), vec![3]);
        index.retire(a.clone(), 1);
        assert_eq!(candidates(&index, &a), vec![2]);
        index.revive(a.clone(), 1);
        assert_eq!(candidates(&index, &a), vec![1, 2]);
        index.remove(a.clone(), 2, true);
        index.remove(b.clone(), 3, true);
        assert_eq!(candidates(&index, &a), vec![1]);
        assert!(candidates(&index, &b).is_empty());
        assert!(Index::new(false).live_candidates(&a).is_none());
    }

    #[test]
    fn a_row_id_beyond_32_bits_turns_the_hash_off() {
        // Proves: the 8-byte hashed entry never truncates a row id; the index falls back to
        // its btree, which still has every entry.
        let mut index = Index::new(true);
        let key = KeyBytes::from_slice(&[5]);
        index.insert(key.clone(), 1, true);
        index.insert(key.clone(), 1 << 32, true);
        assert!(index.live_candidates(&key).is_none());
        assert!(!index.is_hashed());
        let rows: Vec<RowId> = index
            .range(Bound::Unbounded, View::Latest)
            .map(|e| e.1)
            .collect();
        assert_eq!(rows, vec![1, 1 << 32]);
    }
}
