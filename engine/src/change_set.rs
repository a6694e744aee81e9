//! What one committed transaction changed: per table, the rows that entered and left it.

use std::collections::HashSet;
use std::sync::Arc;

use cosmictron_types::{Timestamp, Value, decode_row};

use crate::error::Result;
use crate::schema::{TableId, TableSchema, TxId};
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

/// Collects a transaction's changes while it runs, netting out rows it both inserts and
/// deletes.
#[derive(Debug, Default)]
pub(crate) struct ChangeCollector {
    tables: Vec<PendingTable>,
    pub(crate) schema_changes: Vec<String>,
}

#[derive(Debug)]
struct PendingTable {
    id: TableId,
    schema: Arc<TableSchema>,
    inserts: Vec<(RowId, RowBytes)>,
    /// Deleted rows; `None` data for rows this transaction inserted itself (netted at finish).
    deletes: Vec<(RowId, Option<RowBytes>)>,
}

impl ChangeCollector {
    fn entry(&mut self, schema: &Arc<TableSchema>) -> &mut PendingTable {
        let pos = match self.tables.iter().position(|t| t.id == schema.id) {
            Some(pos) => pos,
            None => {
                self.tables.push(PendingTable {
                    id: schema.id,
                    schema: schema.clone(),
                    inserts: Vec::new(),
                    deletes: Vec::new(),
                });
                self.tables.len() - 1
            }
        };
        &mut self.tables[pos]
    }

    pub(crate) fn inserted(&mut self, schema: &Arc<TableSchema>, row: RowId, data: RowBytes) {
        self.entry(schema).inserts.push((row, data));
    }

    /// `inserted_here`: the version was created by this same transaction.
    pub(crate) fn deleted(
        &mut self,
        schema: &Arc<TableSchema>,
        row: RowId,
        data: &[u8],
        inserted_here: bool,
    ) {
        let data = if inserted_here {
            None
        } else {
            Some(data.into())
        };
        self.entry(schema).deletes.push((row, data));
    }

    /// Undo helpers keep the collector in step with rollbacks to a savepoint.
    pub(crate) fn mark(&self) -> Vec<(usize, usize)> {
        self.tables
            .iter()
            .map(|t| (t.inserts.len(), t.deletes.len()))
            .collect()
    }

    pub(crate) fn rewind(&mut self, mark: &[(usize, usize)]) {
        self.tables.truncate(mark.len());
        for (table, &(ins, del)) in self.tables.iter_mut().zip(mark) {
            table.inserts.truncate(ins);
            table.deletes.truncate(del);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.schema_changes.is_empty()
            && self
                .tables
                .iter()
                .all(|t| t.inserts.is_empty() && t.deletes.is_empty())
    }

    pub(crate) fn finish(self, tx_id: TxId, timestamp: Timestamp) -> ChangeSet {
        let tables = self
            .tables
            .into_iter()
            .map(|t| {
                let netted: HashSet<RowId> = t
                    .deletes
                    .iter()
                    .filter(|(_, d)| d.is_none())
                    .map(|(r, _)| *r)
                    .collect();
                let inserts = t
                    .inserts
                    .into_iter()
                    .filter(|(r, _)| !netted.contains(r))
                    .map(|(_, d)| d)
                    .collect();
                let deletes = t.deletes.into_iter().filter_map(|(_, d)| d).collect();
                TableChange {
                    schema: t.schema,
                    inserts,
                    deletes,
                }
            })
            .filter(|t| !t.inserts.is_empty() || !t.deletes.is_empty())
            .collect();
        ChangeSet {
            tx_id,
            timestamp,
            tables,
            schema_changes: self.schema_changes,
        }
    }
}
