//! A table definition resolved against the catalog: column positions for every key, index and
//! foreign key, computed once when the table is created or altered.

use cosmictron_types::{ColumnDef, OnDelete, TableDef};

use crate::error::{EngineError, Result};

/// Identifies a table within one database; never reused.
pub type TableId = u32;
/// A transaction id: 1, 2, 3, ... per database; 0 is the empty database.
pub type TxId = u64;

/// Finds the unique index of another table that a foreign key references.
pub(crate) type ResolveRef<'a> = dyn Fn(&str, &[String]) -> Result<(TableId, usize)> + 'a;

/// An index resolved to column positions. The primary key, when there is one, is index 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSchema {
    pub name: String,
    pub columns: Vec<usize>,
    pub unique: bool,
    /// True for the primary key and for indexes the engine added to serve a foreign key.
    pub implicit: bool,
}

/// A foreign key resolved to positions: `columns` here reference the unique index
/// `ref_index` of `ref_table`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignKeySchema {
    pub name: String,
    pub columns: Vec<usize>,
    pub ref_table: TableId,
    pub ref_index: usize,
    pub on_delete: OnDelete,
    /// The index of this table whose leading columns are `columns` (for delete checks).
    pub local_index: usize,
}

/// Everything the engine needs to know about a table, with positions resolved.
#[derive(Clone, Debug)]
pub struct TableSchema {
    pub id: TableId,
    pub def: TableDef,
    pub indexes: Vec<IndexSchema>,
    pub foreign_keys: Vec<ForeignKeySchema>,
    pub has_primary_key: bool,
    pub auto_inc: Option<usize>,
    pub pii_columns: Vec<usize>,
    /// The tx that last changed this table's shape; history before it is not readable.
    pub since_tx: TxId,
}

impl TableSchema {
    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub fn columns(&self) -> &[ColumnDef] {
        &self.def.columns
    }

    /// Position of the index with this name.
    pub fn index_position(&self, name: &str) -> Option<usize> {
        self.indexes.iter().position(|i| i.name == name)
    }

    /// The first index whose leading columns are exactly `columns` (in order).
    pub fn index_with_prefix(&self, columns: &[usize]) -> Option<usize> {
        self.indexes
            .iter()
            .position(|i| i.columns.starts_with(columns))
    }

    pub fn is_pii(&self, column: usize) -> bool {
        self.pii_columns.contains(&column)
    }

    /// Resolves `def` (already validated) given a way to resolve foreign key targets.
    pub(crate) fn resolve(
        id: TableId,
        def: TableDef,
        since_tx: TxId,
        resolve_ref: &ResolveRef<'_>,
    ) -> Result<TableSchema> {
        def.validate()?;
        let mut indexes = Vec::new();
        let has_primary_key = !def.primary_key.is_empty();
        if has_primary_key {
            indexes.push(IndexSchema {
                name: format!("{}_pkey", def.name),
                columns: def.column_positions(&def.primary_key)?,
                unique: true,
                implicit: true,
            });
        }
        for index in &def.indexes {
            if indexes.iter().any(|i| i.name == index.name) {
                return Err(EngineError::InvalidDefinition(format!(
                    "index name `{}` is taken by the primary key",
                    index.name
                )));
            }
            indexes.push(IndexSchema {
                name: index.name.clone(),
                columns: def.column_positions(&index.columns)?,
                unique: index.unique,
                implicit: false,
            });
        }
        let mut foreign_keys = Vec::new();
        for fk in &def.foreign_keys {
            let columns = def.column_positions(&fk.columns)?;
            let (ref_table, ref_index) = if fk.ref_table == def.name {
                self_reference(&def, &indexes, &fk.ref_columns)?
            } else {
                resolve_ref(&fk.ref_table, &fk.ref_columns)?
            };
            let local_index = match indexes.iter().position(|i| i.columns.starts_with(&columns)) {
                Some(pos) => pos,
                None => {
                    indexes.push(IndexSchema {
                        name: format!("{}__fk", fk.name),
                        columns: columns.clone(),
                        unique: false,
                        implicit: true,
                    });
                    indexes.len() - 1
                }
            };
            foreign_keys.push(ForeignKeySchema {
                name: fk.name.clone(),
                columns,
                ref_table: if fk.ref_table == def.name {
                    id
                } else {
                    ref_table
                },
                ref_index,
                on_delete: fk.on_delete,
                local_index,
            });
        }
        let auto_inc = def.columns.iter().position(|c| c.auto_inc);
        let pii_columns = (0..def.columns.len())
            .filter(|&i| def.columns[i].pii)
            .collect();
        Ok(TableSchema {
            id,
            def,
            indexes,
            foreign_keys,
            has_primary_key,
            auto_inc,
            pii_columns,
            since_tx,
        })
    }
}

/// A foreign key that references its own table (e.g. a parent id): the target is one of the
/// table's own unique indexes.
fn self_reference(
    def: &TableDef,
    indexes: &[IndexSchema],
    ref_columns: &[String],
) -> Result<(TableId, usize)> {
    let positions = def.column_positions(ref_columns)?;
    let index = indexes
        .iter()
        .position(|i| i.unique && i.columns == positions)
        .ok_or_else(|| {
            EngineError::InvalidDefinition(format!(
                "foreign key target `{}`({}) is not a primary key or unique index",
                def.name,
                ref_columns.join(", ")
            ))
        })?;
    Ok((0, index))
}
