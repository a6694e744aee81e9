//! What one committed transaction changed: per table, the rows that entered and left it.

use std::collections::HashSet;
use std::sync::Arc;

use cosmictron_types::{Timestamp, Value, decode_row};

use crate::error::Result;
use crate::schema::{TableSchema, TxId};
use crate::table::RowId;

/// An encoded row (see `cosmictron_types::encode_row`); decode it with its table's columns.
pub type RowBytes = Box<[u8]>;

/// The rows one transaction inserted into and deleted from one table. An update is a delete of
/// the old row plus an insert of the new one. Rows inserted and deleted by the same transaction
/// appear in neither list.
#[derive(Debug, Clone)]
pub struct TableChange {
    pub schema: Arc<TableSchema>,
    pub inserts: Vec<RowBytes>,
    pub deletes: Vec<RowBytes>,
}

impl TableChange {
    pub fn table_name(&self) -> &str {
        self.schema.name()
    }

    pub fn decoded_inserts(&self) -> Result<Vec<Vec<Value>>> {
        self.inserts
            .iter()
            .map(|r| Ok(decode_row(self.schema.columns(), r)?))
            .collect()
    }

    pub fn decoded_deletes(&self) -> Result<Vec<Vec<Value>>> {
        self.deletes
            .iter()
            .map(|r| Ok(decode_row(self.schema.columns(), r)?))
            .collect()
    }
}

/// Everything one committed transaction changed, handed to listeners in commit order.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub tx_id: TxId,
    pub timestamp: Timestamp,
    pub tables: Vec<TableChange>,
    /// Tables created, dropped or altered by this transaction.
    pub schema_changes: Vec<String>,
}

impl ChangeSet {
    pub fn table(&self, name: &str) -> Option<&TableChange> {
        self.tables.iter().find(|t| t.table_name() == name)
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.schema_changes.is_empty()
    }
}

/// Collects a transaction's changes while it runs, as append-only lists (so a savepoint is
/// three lengths), netting out rows it both inserts and deletes when it finishes.
#[derive(Debug, Default)]
pub(crate) struct ChangeCollector {
    /// Tables touched, in first-touch order; events refer to them by position.
    tables: Vec<Arc<TableSchema>>,
    inserts: Vec<(u32, RowId, RowBytes)>,
    /// Deleted rows; `None` data for rows this transaction inserted itself.
    deletes: Vec<(u32, RowId, Option<RowBytes>)>,
    pub(crate) schema_changes: Vec<String>,
}

/// Lengths of the collector's lists at a savepoint.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CollectorMark {
    tables: usize,
    inserts: usize,
    deletes: usize,
    schema_changes: usize,
}

impl ChangeCollector {
    fn slot(&mut self, schema: &Arc<TableSchema>) -> u32 {
        // Transactions touch few tables; a linear search beats hashing here.
        let pos = match self.tables.iter().rposition(|t| t.id == schema.id) {
            Some(pos) => pos,
            None => {
                self.tables.push(schema.clone());
                self.tables.len() - 1
            }
        };
        pos as u32
    }

    pub(crate) fn inserted(&mut self, schema: &Arc<TableSchema>, row: RowId, data: RowBytes) {
        let slot = self.slot(schema);
        self.inserts.push((slot, row, data));
    }

    /// `inserted_here`: the version was created by this same transaction.
    pub(crate) fn deleted(
        &mut self,
        schema: &Arc<TableSchema>,
        row: RowId,
        data: &[u8],
        inserted_here: bool,
    ) {
        let slot = self.slot(schema);
        let data = if inserted_here {
            None
        } else {
            Some(data.into())
        };
        self.deletes.push((slot, row, data));
    }

    pub(crate) fn mark(&self) -> CollectorMark {
        CollectorMark {
            tables: self.tables.len(),
            inserts: self.inserts.len(),
            deletes: self.deletes.len(),
            schema_changes: self.schema_changes.len(),
        }
    }

    pub(crate) fn rewind(&mut self, mark: CollectorMark) {
        self.tables.truncate(mark.tables);
        self.inserts.truncate(mark.inserts);
        self.deletes.truncate(mark.deletes);
        self.schema_changes.truncate(mark.schema_changes);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.schema_changes.is_empty() && self.inserts.is_empty() && self.deletes.is_empty()
    }

    pub(crate) fn finish(self, tx_id: TxId, timestamp: Timestamp) -> ChangeSet {
        let netted: HashSet<(u32, RowId)> = self
            .deletes
            .iter()
            .filter(|(_, _, d)| d.is_none())
            .map(|(t, r, _)| (*t, *r))
            .collect();
        let mut tables: Vec<TableChange> = self
            .tables
            .into_iter()
            .map(|schema| TableChange {
                schema,
                inserts: Vec::new(),
                deletes: Vec::new(),
            })
            .collect();
        for (slot, row, data) in self.inserts {
            if netted.is_empty() || !netted.contains(&(slot, row)) {
                tables[slot as usize].inserts.push(data);
            }
        }
        for (slot, _, data) in self.deletes {
            if let Some(data) = data {
                tables[slot as usize].deletes.push(data);
            }
        }
        tables.retain(|t| !t.inserts.is_empty() || !t.deletes.is_empty());
        ChangeSet {
            tx_id,
            timestamp,
            tables,
            schema_changes: self.schema_changes,
        }
    }
}
