//! A database's tables and catalog, and the mechanics of changing them that the writer and
//! recovery share (so replay rebuilds exactly what the writer built).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cosmictron_types::{AddColumn, IndexDef, TableDef, Value, decode_column, encode_row};

use crate::error::{EngineError, Result};
use crate::schema::{TableId, TableSchema, TxId};
use crate::table::{RowId, Table};

#[derive(Debug, Default)]
pub(crate) struct DbState {
    pub(crate) tables: BTreeMap<TableId, Table>,
    /// Seeded fast hashing: every read resolves its table by name here.
    pub(crate) names: HashMap<String, TableId, foldhash::quality::RandomState>,
    pub(crate) next_table_id: TableId,
}

impl DbState {
    pub(crate) fn new() -> DbState {
        DbState {
            next_table_id: 1,
            ..DbState::default()
        }
    }

    pub(crate) fn table_id(&self, name: &str) -> Result<TableId> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| EngineError::NoSuchTable(name.to_owned()))
    }

    pub(crate) fn table(&self, id: TableId) -> Result<&Table> {
        self.tables
            .get(&id)
            .ok_or_else(|| EngineError::NoSuchTable(format!("#{id}")))
    }

    pub(crate) fn table_mut(&mut self, id: TableId) -> Result<&mut Table> {
        self.tables
            .get_mut(&id)
            .ok_or_else(|| EngineError::NoSuchTable(format!("#{id}")))
    }

    pub(crate) fn by_name(&self, name: &str) -> Result<&Table> {
        self.table(self.table_id(name)?)
    }

    /// Resolves a definition against the current catalog: foreign key targets must be a
    /// primary key or unique index of an existing table, with matching column types.
    pub(crate) fn resolve(&self, id: TableId, def: TableDef, since: TxId) -> Result<TableSchema> {
        let resolve_ref = |table: &str, columns: &[String]| -> Result<(TableId, usize)> {
            let target = self.by_name(table)?;
            let positions = target.schema.def.column_positions(columns)?;
            let index = target
                .schema
                .indexes
                .iter()
                .position(|i| i.unique && i.columns == positions)
                .ok_or_else(|| {
                    EngineError::InvalidDefinition(format!(
                        "foreign key target `{table}`({}) is not a primary key or unique index",
                        columns.join(", ")
                    ))
                })?;
            Ok((target.schema.id, index))
        };
        let schema = TableSchema::resolve(id, def, since, &resolve_ref)?;
        for fk in &schema.foreign_keys {
            let target_columns: Vec<_> = if fk.ref_table == id {
                schema.indexes[fk.ref_index]
                    .columns
                    .iter()
                    .map(|&c| schema.def.columns[c].ty.scalar)
                    .collect()
            } else {
                let target = &self.table(fk.ref_table)?.schema;
                target.indexes[fk.ref_index]
                    .columns
                    .iter()
                    .map(|&c| target.def.columns[c].ty.scalar)
                    .collect()
            };
            let local: Vec<_> = fk
                .columns
                .iter()
                .map(|&c| schema.def.columns[c].ty.scalar)
                .collect();
            if local != target_columns {
                return Err(EngineError::InvalidDefinition(format!(
                    "foreign key `{}` columns have types {local:?} but the target has {target_columns:?}",
                    fk.name
                )));
            }
        }
        Ok(schema)
    }

    pub(crate) fn create_table(&mut self, id: TableId, def: TableDef, tx: TxId) -> Result<()> {
        if self.names.contains_key(&def.name) {
            return Err(EngineError::TableExists(def.name));
        }
        let schema = self.resolve(id, def, tx)?;
        self.names.insert(schema.def.name.clone(), id);
        self.tables.insert(id, Table::new(Arc::new(schema)));
        self.next_table_id = self.next_table_id.max(id + 1);
        Ok(())
    }

    /// Removes a table; refused while another table's foreign key references it.
    pub(crate) fn drop_table(&mut self, id: TableId) -> Result<Table> {
        let name = self.table(id)?.schema.def.name.clone();
        for other in self.tables.values() {
            if other.schema.id != id
                && other
                    .schema
                    .foreign_keys
                    .iter()
                    .any(|fk| fk.ref_table == id)
            {
                return Err(EngineError::InvalidDefinition(format!(
                    "table `{name}` is referenced by a foreign key of `{}`",
                    other.schema.name()
                )));
            }
        }
        self.names.remove(&name);
        self.tables
            .remove(&id)
            .ok_or(EngineError::NoSuchTable(name))
    }

    pub(crate) fn restore_table(&mut self, table: Table) {
        let id = table.schema.id;
        self.names.insert(table.schema.def.name.clone(), id);
        self.tables.insert(id, table);
    }

    /// Adds a column to every row version (the encoding of the default is appended: columns are
    /// encoded in order, so the new last column needs no rewrite of the others). Returns the
    /// previous schema and the suffix length, for rollback.
    pub(crate) fn add_column(
        &mut self,
        id: TableId,
        add: &AddColumn,
        tx: TxId,
    ) -> Result<(Arc<TableSchema>, usize)> {
        let table = self.table(id)?;
        let column = &add.column;
        if column.auto_inc {
            return Err(EngineError::InvalidDefinition(format!(
                "added column `{}` cannot be auto_inc",
                column.name
            )));
        }
        let suffix = encode_row(
            std::slice::from_ref(column),
            std::slice::from_ref(&add.default),
        )?;
        let mut def = table.schema.def.clone();
        def.columns.push(column.clone());
        let schema = Arc::new(self.resolve(id, def, tx)?);
        let table = self.table_mut(id)?;
        let previous = table.schema.clone();
        table.append_to_rows(&suffix);
        table.set_schema(schema);
        Ok((previous, suffix.len()))
    }

    /// Adds an index over live data; a unique index over duplicate rows is refused.
    pub(crate) fn create_index(
        &mut self,
        id: TableId,
        index: &IndexDef,
    ) -> Result<Arc<TableSchema>> {
        let table = self.table(id)?;
        let mut def = table.schema.def.clone();
        if table.schema.index_position(&index.name).is_some() {
            return Err(EngineError::InvalidDefinition(format!(
                "index `{}` already exists",
                index.name
            )));
        }
        def.indexes.push(index.clone());
        let schema = Arc::new(self.resolve(id, def, table.schema.since_tx)?);
        let table = self.table_mut(id)?;
        let previous = table.schema.clone();
        table.reshape_indexes(schema)?;
        if index.unique {
            let position = table.schema.index_position(&index.name).unwrap_or_default();
            if let Some(row) = table.first_duplicate(position) {
                let value = describe_key(table, position, row);
                table.reshape_indexes(previous)?;
                return Err(EngineError::UniqueViolation {
                    table: table.schema.name().to_owned(),
                    constraint: index.name.clone(),
                    value,
                });
            }
        }
        Ok(previous)
    }

    pub(crate) fn drop_index(&mut self, id: TableId, name: &str) -> Result<Arc<TableSchema>> {
        let table = self.table(id)?;
        let Some(position) = table.schema.index_position(name) else {
            return Err(EngineError::NoSuchIndex {
                table: table.schema.name().to_owned(),
                index: name.to_owned(),
            });
        };
        if table.schema.indexes[position].implicit {
            return Err(EngineError::InvalidDefinition(format!(
                "index `{name}` backs the primary key or a foreign key and cannot be dropped"
            )));
        }
        let mut def = table.schema.def.clone();
        def.indexes.retain(|i| i.name != name);
        let schema = Arc::new(self.resolve(id, def, table.schema.since_tx)?);
        let table = self.table_mut(id)?;
        let previous = table.schema.clone();
        table.reshape_indexes(schema)?;
        Ok(previous)
    }

    /// Keeps the auto-increment counter above a value present in the table (replay, and rows
    /// inserted with an explicit id).
    pub(crate) fn bump_auto_inc(table: &mut Table, data: &[u8]) {
        if let Some(col) = table.schema.auto_inc
            && let Ok(value) = decode_column(table.schema.columns(), data, col)
            && let Some(n) = value.as_u64()
        {
            table.next_auto_inc = table.next_auto_inc.max(n.saturating_add(1));
        }
    }
}

/// Renders the key columns of a row for an error message, redacting `pii` columns.
pub(crate) fn describe_key(table: &Table, index: usize, row: RowId) -> String {
    let Some(data) = table.row_data(row) else {
        return "?".into();
    };
    describe_columns(table, &table.schema.indexes[index].columns, data)
}

pub(crate) fn describe_columns(table: &Table, columns: &[usize], data: &[u8]) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|&c| {
            let name = &table.schema.columns()[c].name;
            if table.schema.is_pii(c) {
                format!("{name}=<redacted>")
            } else {
                let value = decode_column(table.schema.columns(), data, c).unwrap_or(Value::Null);
                format!("{name}={value}")
            }
        })
        .collect();
    format!("({})", parts.join(", "))
}
