//! A btree index split in two: entries of current versions, and entries of versions kept only
//! for history.
//!
//! The writer (and every read of the latest state) searches `live` alone, so finding a key's
//! current row costs one btree descent however often that row was updated; a time-travel read
//! merges both sets in key order. A version's entries move from `live` to `history` when it is
//! ended, back if that is rolled back, and leave `history` when the collector removes the version.

use std::collections::BTreeSet;
use std::collections::btree_set;
use std::iter::Peekable;
use std::ops::Bound;

use crate::key_bytes::KeyBytes;
use crate::table::{RowId, View};

pub(crate) type Entry = (KeyBytes, RowId);

#[derive(Debug, Default)]
pub(crate) struct Index {
    live: BTreeSet<Entry>,
    history: BTreeSet<Entry>,
}

impl Index {
    pub(crate) fn insert(&mut self, key: KeyBytes, row: RowId, live: bool) {
        if live {
            self.live.insert((key, row));
        } else {
            self.history.insert((key, row));
        }
    }

    pub(crate) fn remove(&mut self, key: KeyBytes, row: RowId, live: bool) {
        let entry = (key, row);
        if live {
            self.live.remove(&entry);
        } else {
            self.history.remove(&entry);
        }
    }

    /// The version `row` was ended: its entry now serves history only.
    pub(crate) fn retire(&mut self, key: KeyBytes, row: RowId) {
        let entry = (key, row);
        self.live.remove(&entry);
        self.history.insert(entry);
    }

    /// Undoes [`Index::retire`].
    pub(crate) fn revive(&mut self, key: KeyBytes, row: RowId) {
        let entry = (key, row);
        self.history.remove(&entry);
        self.live.insert(entry);
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len() + self.history.len()
    }

    /// Current entries in key order.
    pub(crate) fn live(&self) -> btree_set::Iter<'_, Entry> {
        self.live.iter()
    }

    /// Entries from `start` on, in key order, from the sets `view` needs. Visibility of each
    /// entry's version is still the caller's to check.
    pub(crate) fn range(&self, start: Bound<Entry>, view: View) -> Entries<'_> {
        let live = self.live.range((start.clone(), Bound::Unbounded));
        match view {
            View::Latest => Entries::Live(live),
            View::AsOf(_) => Entries::Both {
                live: live.peekable(),
                history: self.history.range((start, Bound::Unbounded)).peekable(),
            },
        }
    }
}

/// Index entries in key order (see [`Index::range`]).
pub(crate) enum Entries<'a> {
    Live(btree_set::Range<'a, Entry>),
    Both {
        live: Peekable<btree_set::Range<'a, Entry>>,
        history: Peekable<btree_set::Range<'a, Entry>>,
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
}
