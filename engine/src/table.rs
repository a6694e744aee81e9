//! One table's storage: row versions in a slab, and btree indexes over them.
//!
//! ```text
//!   slab: RowId → RowVersion { data, begin, end }        indexes: BTreeSet<(key, RowId)>
//!   ┌────┬──────────────────────────────┐                ┌─────────────────────────┐
//!   │ 0  │ (7,"ann")   begin 3  end ∞   │◄───────────────│ (key(7), 0)             │
//!   │ 1  │ (8,"bob")   begin 3  end 5   │◄───────────────│ (key(8), 1)             │
//!   │ 2  │ (8,"bo")    begin 5  end ∞   │◄───────────────│ (key(8), 2)             │
//!   └────┴──────────────────────────────┘                └─────────────────────────┘
//! ```
//!
//! Every version carries the tx that created it (`begin`) and the tx that deleted or replaced
//! it (`end`, `TX_LIVE` while current). A reader at tx `S` sees the versions with
//! `begin <= S < end`; the writer sees the versions with `end == TX_LIVE` (its own pending
//! changes included). Index entries exist for every version still kept, so an index answers
//! time-travel reads too; the reader filters by visibility. Each index keeps the entries of
//! current versions apart from those of ended ones (`index.rs`), so the latest state is found
//! without walking past a hot row's history. Old versions leave when the
//! garbage collector passes their `end` (see `history.rs`).

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use cosmictron_types::{Value, decode_column, decode_row, encode_key_value, encode_row};

use crate::arena::{Arena, DataRef};
use crate::error::{EngineError, Result};
use crate::index::Index;
pub(crate) use crate::key_bytes::KeyBytes;
use crate::row_chunk::RowChunk;
use crate::schema::{TableSchema, TxId};

/// Slot of a row version in its table; stable while the version exists.
pub type RowId = u64;

/// `end` of a version that is still current.
pub(crate) const TX_LIVE: TxId = TxId::MAX;

/// One version of a row: 24 bytes in the slot table, its bytes in the arena.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowVersion {
    pub(crate) data: DataRef,
    pub(crate) begin: TxId,
    pub(crate) end: TxId,
}

/// `begin` of an empty slot: later than any tx, so no view sees it (and `end` is 0).
const TX_FREE: TxId = TxId::MAX - 1;

impl RowVersion {
    const FREE: RowVersion = RowVersion {
        data: DataRef::NONE,
        begin: TX_FREE,
        end: 0,
    };

    fn is_free(&self) -> bool {
        self.begin == TX_FREE
    }
}

/// Which versions a read sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// The writer's view: current versions, pending ones included.
    Latest,
    /// A snapshot: the state right after this tx.
    AsOf(TxId),
}

impl View {
    #[inline]
    pub(crate) fn sees(self, v: &RowVersion) -> bool {
        match self {
            View::Latest => v.end == TX_LIVE,
            View::AsOf(tx) => v.begin <= tx && tx < v.end,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) schema: Arc<TableSchema>,
    /// Row versions by slot; empty slots hold `RowVersion::FREE`.
    slots: Vec<RowVersion>,
    /// The versions' bytes.
    arena: Arena,
    free: Vec<RowId>,
    indexes: Vec<Index>,
    /// Versions that have an `end`, in the order they were ended (tx order), for the collector.
    ended: VecDeque<(TxId, RowId)>,
    pub(crate) next_auto_inc: u64,
    live_rows: u64,
    /// Recovery only: the newest `end` of a version evicted to replay a reused slot. History
    /// before it is incomplete after recovery.
    pub(crate) evicted_until: TxId,
}

impl Table {
    pub(crate) fn new(schema: Arc<TableSchema>) -> Table {
        let indexes = schema
            .indexes
            .iter()
            .map(|i| Index::new(i.unique))
            .collect();
        Table {
            schema,
            slots: Vec::new(),
            arena: Arena::default(),
            free: Vec::new(),
            indexes,
            ended: VecDeque::new(),
            next_auto_inc: 1,
            live_rows: 0,
            evicted_until: 0,
        }
    }

    pub(crate) fn live_rows(&self) -> u64 {
        self.live_rows
    }

    pub(crate) fn version(&self, row: RowId) -> Option<&RowVersion> {
        self.slots
            .get(usize::try_from(row).ok()?)
            .filter(|v| !v.is_free())
    }

    fn version_mut(&mut self, row: RowId) -> Option<&mut RowVersion> {
        self.slots
            .get_mut(usize::try_from(row).ok()?)
            .filter(|v| !v.is_free())
    }

    /// The bytes of a version.
    pub(crate) fn data(&self, version: &RowVersion) -> &[u8] {
        self.arena.get(version.data)
    }

    /// The bytes of the version in slot `row`.
    pub(crate) fn row_data(&self, row: RowId) -> Option<&[u8]> {
        self.version(row).map(|v| self.arena.get(v.data))
    }

    /// The key of index `index` for a decoded row.
    pub(crate) fn key_of_values(&self, index: usize, values: &[Value]) -> KeyBytes {
        let mut key = KeyBytes::new();
        for &col in &self.schema.indexes[index].columns {
            encode_key_value(&values[col], &mut key);
        }
        key
    }

    /// The key of index `index` for an encoded row.
    pub(crate) fn key_of_data(&self, index: usize, data: &[u8]) -> Result<KeyBytes> {
        let columns = self.schema.columns();
        let mut key = KeyBytes::new();
        for &col in &self.schema.indexes[index].columns {
            encode_key_value(&decode_column(columns, data, col)?, &mut key);
        }
        Ok(key)
    }

    /// Stores a new version. `at` places it in a given slot (recovery replays the slot the
    /// original run chose); otherwise a free slot is reused.
    pub(crate) fn insert_version(
        &mut self,
        at: Option<RowId>,
        data: &[u8],
        begin: TxId,
    ) -> Result<RowId> {
        let keys: Vec<KeyBytes> = (0..self.indexes.len())
            .map(|i| self.key_of_data(i, data))
            .collect::<Result<_>>()?;
        let row = match at {
            Some(row) => {
                self.make_room(row)?;
                row
            }
            None => self.take_free_slot(),
        };
        self.place(row, data, keys, begin);
        Ok(row)
    }

    /// Stores a new version whose index keys the caller already computed (the insert path).
    pub(crate) fn insert_version_with_keys(
        &mut self,
        data: &[u8],
        keys: Vec<KeyBytes>,
        begin: TxId,
    ) -> RowId {
        let row = self.take_free_slot();
        self.place(row, data, keys, begin);
        row
    }

    /// Fills the free slot `row` with a current version and indexes it.
    fn place(&mut self, row: RowId, data: &[u8], keys: Vec<KeyBytes>, begin: TxId) {
        for (index, key) in self.indexes.iter_mut().zip(keys) {
            index.insert(key, row, true);
        }
        let data = self.arena.alloc(data);
        self.slots[row as usize] = RowVersion {
            data,
            begin,
            end: TX_LIVE,
        };
        self.live_rows += 1;
    }

    fn take_free_slot(&mut self) -> RowId {
        while let Some(row) = self.free.pop() {
            if self
                .slots
                .get(row as usize)
                .is_some_and(RowVersion::is_free)
            {
                return row;
            }
        }
        self.slots.push(RowVersion::FREE);
        (self.slots.len() - 1) as RowId
    }

    /// Frees slot `row` for replay. A version still there was collected in the original run
    /// but not yet here; it goes now.
    fn make_room(&mut self, row: RowId) -> Result<()> {
        let slot = usize::try_from(row).map_err(|_| EngineError::Corrupt {
            what: "log".into(),
            reason: format!("row id {row}"),
        })?;
        if slot >= self.slots.len() {
            self.slots.resize(slot + 1, RowVersion::FREE);
        }
        if let Some(old) = self.version(row) {
            if old.end == TX_LIVE {
                return Err(EngineError::Corrupt {
                    what: format!("log for table `{}`", self.schema.name()),
                    reason: format!("insert into slot {row}, which holds a live row"),
                });
            }
            self.evicted_until = self.evicted_until.max(old.end);
            self.remove_version(row)?;
        }
        Ok(())
    }

    /// Marks the current version `row` as ended by `tx`.
    pub(crate) fn end_version(&mut self, row: RowId, tx: TxId) -> Result<()> {
        let name = self.schema.name().to_owned();
        let version = self
            .version_mut(row)
            .filter(|v| v.end == TX_LIVE)
            .ok_or_else(|| EngineError::Corrupt {
                what: format!("table `{name}`"),
                reason: format!("row {row} is not live"),
            })?;
        version.end = tx;
        self.live_rows -= 1;
        self.ended.push_back((tx, row));
        for (i, key) in self.keys_of_row(row)?.into_iter().enumerate() {
            self.indexes[i].retire(key, row);
        }
        Ok(())
    }

    /// The keys of every index for the version in slot `row`.
    fn keys_of_row(&self, row: RowId) -> Result<Vec<KeyBytes>> {
        let data = self.row_data(row).unwrap_or_default();
        (0..self.indexes.len())
            .map(|i| self.key_of_data(i, data))
            .collect()
    }

    /// Undoes `end_version` (rollback). Must be called in reverse order of the ends.
    pub(crate) fn unend_version(&mut self, row: RowId) -> Result<()> {
        if let Some(v) = self.version_mut(row) {
            v.end = TX_LIVE;
            self.live_rows += 1;
            for (i, key) in self.keys_of_row(row)?.into_iter().enumerate() {
                self.indexes[i].revive(key, row);
            }
        }
        if self.ended.back().is_some_and(|&(_, r)| r == row) {
            self.ended.pop_back();
        }
        Ok(())
    }

    /// Removes a version and its index entries (rollback of an insert, or collection).
    pub(crate) fn remove_version(&mut self, row: RowId) -> Result<()> {
        let Some(version) = self.version(row).copied() else {
            return Ok(());
        };
        for i in 0..self.indexes.len() {
            let key = self.key_of_data(i, self.arena.get(version.data))?;
            self.indexes[i].remove(key, row, version.end == TX_LIVE);
        }
        self.arena.free(version.data);
        self.slots[row as usize] = RowVersion::FREE;
        if version.end == TX_LIVE {
            self.live_rows -= 1;
        }
        self.free.push(row);
        Ok(())
    }

    /// Replaces the stored bytes of a superseded version (redaction of `pii` columns), keeping
    /// the index entries in step.
    pub(crate) fn rewrite_version(&mut self, row: RowId, data: &[u8]) -> Result<()> {
        let Some(old) = self.version(row).copied() else {
            return Ok(());
        };
        for i in 0..self.indexes.len() {
            let old_key = self.key_of_data(i, self.arena.get(old.data))?;
            let new_key = self.key_of_data(i, data)?;
            if old_key != new_key {
                let live = old.end == TX_LIVE;
                self.indexes[i].remove(old_key, row, live);
                self.indexes[i].insert(new_key, row, live);
            }
        }
        let new_ref = self.arena.alloc(data);
        self.arena.free(old.data);
        self.slots[row as usize].data = new_ref;
        Ok(())
    }

    /// Removes every version ended at or before `horizon`, at most `budget` of them.
    /// Returns how many were removed.
    pub(crate) fn collect(&mut self, horizon: TxId, budget: usize) -> Result<usize> {
        let mut removed = 0;
        while removed < budget {
            match self.ended.front() {
                Some(&(end, row)) if end <= horizon => {
                    self.ended.pop_front();
                    // The slot may have been reused or rolled back since; check it still
                    // holds the ended version.
                    if self.version(row).is_some_and(|v| v.end == end) {
                        self.remove_version(row)?;
                        removed += 1;
                    }
                }
                _ => break,
            }
        }
        if self.arena.wants_compaction() {
            self.compact();
        }
        Ok(removed)
    }

    /// Moves the rows out of mostly-empty arena pages and releases those pages.
    fn compact(&mut self) {
        let sparse = self.arena.sparse_pages();
        for slot in 0..self.slots.len() {
            let version = self.slots[slot];
            if !version.is_free() && Arena::in_sparse(version.data, &sparse) {
                let bytes = self.arena.get(version.data).to_vec();
                self.slots[slot].data = self.arena.alloc(&bytes);
            }
        }
        self.arena.release(&sparse);
    }

    pub(crate) fn pending_garbage(&self) -> usize {
        self.ended.len()
    }

    /// Row ids visible in `view` whose key for `index` lies within the bounds, in key order,
    /// at most `limit`.
    pub(crate) fn index_range(
        &self,
        index: usize,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        view: View,
        limit: usize,
        out: &mut Vec<(KeyBytes, RowId)>,
    ) {
        let start = match lower {
            Bound::Included(k) => Bound::Included((KeyBytes::from_slice(k), 0)),
            Bound::Excluded(k) => Bound::Excluded((KeyBytes::from_slice(k), RowId::MAX)),
            Bound::Unbounded => Bound::Unbounded,
        };
        for entry in self.indexes[index].range(start, view) {
            let key = entry.0.as_slice();
            // An excluded lower bound is a prefix: keys that extend it sort after
            // `(prefix, RowId::MAX)` but are excluded too.
            if let Bound::Excluded(k) = lower
                && key.starts_with(k)
            {
                continue;
            }
            let in_range = match upper {
                Bound::Included(u) => key <= u || key.starts_with(u),
                Bound::Excluded(u) => key < u,
                Bound::Unbounded => true,
            };
            if !in_range {
                break;
            }
            if self.version(entry.1).is_some_and(|v| view.sees(v)) {
                out.push(entry.clone());
                if out.len() >= limit {
                    break;
                }
            }
        }
    }

    /// The row visible in `view` whose key for `index` is exactly `key` (a full key). A unique
    /// index answers from its hash of live entries, then, for a past view, its history.
    pub(crate) fn find_exact(&self, index: usize, key: &[u8], view: View) -> Option<RowId> {
        let idx = &self.indexes[index];
        let Some(mut live) = idx.live_candidates(key) else {
            return self.first_with_prefix(index, key, view);
        };
        let sees = |row: &RowId| self.version(*row).is_some_and(|v| view.sees(v));
        let has_key = |row: &RowId| {
            self.row_data(*row)
                .and_then(|data| self.key_of_data(index, data).ok())
                .is_some_and(|k| k.as_slice() == key)
        };
        if let Some(row) = live.find(|row| sees(row) && has_key(row)) {
            return Some(row);
        }
        if view == View::Latest {
            return None;
        }
        idx.history_from(Bound::Included(&(KeyBytes::from_slice(key), 0)))
            .take_while(|(k, _)| k.as_slice() == key)
            .map(|(_, row)| *row)
            .find(sees)
    }

    /// The row ids visible in `view` whose key for `index` starts with `prefix`, in key order,
    /// with their versions.
    pub(crate) fn visible_with_prefix<'a>(
        &'a self,
        index: usize,
        prefix: &'a [u8],
        view: View,
    ) -> impl Iterator<Item = (RowId, &'a RowVersion)> + 'a {
        let start = Bound::Included((KeyBytes::from_slice(prefix), 0));
        self.indexes[index]
            .range(start, view)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .filter_map(move |(_, row)| {
                let v = self.version(*row).filter(|v| view.sees(v))?;
                Some((*row, v))
            })
    }

    /// The first row id visible in `view` whose key for `index` starts with `prefix`.
    pub(crate) fn first_with_prefix(
        &self,
        index: usize,
        prefix: &[u8],
        view: View,
    ) -> Option<RowId> {
        self.visible_with_prefix(index, prefix, view)
            .next()
            .map(|(row, _)| row)
    }

    /// Row ids visible in `view` whose key for `index` starts with `prefix`.
    pub(crate) fn index_prefix(&self, index: usize, prefix: &[u8], view: View) -> Vec<RowId> {
        self.visible_with_prefix(index, prefix, view)
            .map(|(row, _)| row)
            .collect()
    }

    /// Visible rows from slot `from` on, at most `limit`; returns the next slot to resume at.
    pub(crate) fn scan_slots(
        &self,
        from: usize,
        view: View,
        limit: usize,
        out: &mut RowChunk,
    ) -> Option<usize> {
        let mut pos = from;
        while pos < self.slots.len() {
            let v = &self.slots[pos];
            if view.sees(v) {
                out.push(pos as RowId, self.arena.get(v.data));
                if out.len() >= limit {
                    return Some(pos + 1);
                }
            }
            pos += 1;
        }
        None
    }

    /// Visible rows, all at once (writer-side helpers and snapshots of small tables).
    pub(crate) fn visible_rows(&self, view: View) -> impl Iterator<Item = (RowId, &[u8])> {
        self.slots
            .iter()
            .enumerate()
            .filter(move |(_, v)| view.sees(v))
            .map(|(i, v)| (i as RowId, self.arena.get(v.data)))
    }

    /// Realigns the indexes with a new schema (an index added or dropped): existing indexes
    /// move by name, new ones are built over every kept version.
    pub(crate) fn reshape_indexes(&mut self, schema: Arc<TableSchema>) -> Result<()> {
        let mut old: Vec<(String, Index)> = self
            .schema
            .indexes
            .iter()
            .map(|i| i.name.clone())
            .zip(std::mem::take(&mut self.indexes))
            .collect();
        self.schema = schema;
        let mut indexes = Vec::with_capacity(self.schema.indexes.len());
        for position in 0..self.schema.indexes.len() {
            let name = &self.schema.indexes[position].name;
            let unique = self.schema.indexes[position].unique;
            // An index kept by name is rebuilt if it became (or stopped being) unique, so its
            // hash matches.
            match old
                .iter()
                .position(|(n, i)| n == name && i.is_hashed() == unique)
            {
                Some(found) => indexes.push(old.swap_remove(found).1),
                None => {
                    let mut index = Index::new(unique);
                    for (slot, v) in self.slots.iter().enumerate() {
                        if !v.is_free() {
                            let key = self.key_of_data(position, self.arena.get(v.data))?;
                            index.insert(key, slot as RowId, v.end == TX_LIVE);
                        }
                    }
                    indexes.push(index);
                }
            }
        }
        self.indexes = indexes;
        Ok(())
    }

    /// The first duplicate key among current rows of a unique index, if any.
    pub(crate) fn first_duplicate(&self, index: usize) -> Option<RowId> {
        let mut previous: Option<&KeyBytes> = None;
        for (key, row) in self.indexes[index].live() {
            if self.version(*row).is_none_or(|v| v.end != TX_LIVE) {
                continue;
            }
            if previous == Some(key) && !self.key_has_null(index, *row) {
                return Some(*row);
            }
            previous = Some(key);
        }
        None
    }

    /// Whether the row has a NULL in a column of `index` (NULLs never conflict in a unique
    /// index).
    fn key_has_null(&self, index: usize, row: RowId) -> bool {
        let Some(v) = self.version(row) else {
            return false;
        };
        self.schema.indexes[index].columns.iter().any(|&c| {
            decode_column(self.schema.columns(), self.arena.get(v.data), c)
                .is_ok_and(|value| value.is_null())
        })
    }

    /// Appends `suffix` (the encoding of a new column's default) to every kept version, or
    /// removes `len` bytes from each when undoing.
    pub(crate) fn append_to_rows(&mut self, suffix: &[u8]) {
        self.rewrite_all(|data| [data, suffix].concat());
    }

    pub(crate) fn truncate_rows(&mut self, len: usize) {
        self.rewrite_all(|data| data[..data.len().saturating_sub(len)].to_vec());
    }

    /// Replaces every kept version's bytes (schema changes). Index keys are unaffected: only
    /// trailing columns change, and no index covers a column being added or removed.
    fn rewrite_all(&mut self, f: impl Fn(&[u8]) -> Vec<u8>) {
        for slot in 0..self.slots.len() {
            let version = self.slots[slot];
            if version.is_free() {
                continue;
            }
            let data = f(self.arena.get(version.data));
            self.arena.free(version.data);
            self.slots[slot].data = self.arena.alloc(&data);
        }
    }

    pub(crate) fn set_schema(&mut self, schema: Arc<TableSchema>) {
        self.schema = schema;
    }

    /// Decodes a version's row.
    pub(crate) fn decode(&self, data: &[u8]) -> Result<Vec<Value>> {
        Ok(decode_row(self.schema.columns(), data)?)
    }

    /// The bytes of `values` with every `pii` column replaced by its zero (or NULL).
    pub(crate) fn redacted(&self, data: &[u8]) -> Result<Box<[u8]>> {
        let mut values = self.decode(data)?;
        for &col in &self.schema.pii_columns {
            let ty = self.schema.columns()[col].ty;
            values[col] = if ty.nullable {
                Value::Null
            } else {
                Value::zero_of(ty.scalar)
            };
        }
        Ok(encode_row(self.schema.columns(), &values)?.into_boxed_slice())
    }

    /// Approximate heap bytes held (slab, row data, index entries).
    pub(crate) fn memory_bytes(&self) -> usize {
        let slot = std::mem::size_of::<RowVersion>();
        let entry = std::mem::size_of::<(KeyBytes, RowId)>();
        let index_entries: usize = self.indexes.iter().map(Index::len).sum();
        let hashes: usize = self.indexes.iter().map(Index::hash_bytes).sum();
        self.slots.capacity() * slot + self.arena.memory_bytes() + index_entries * entry + hashes
    }
}
