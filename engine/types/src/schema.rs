//! Table definitions: columns, keys, indexes, foreign keys, flags and policies.
//!
//! Definitions name columns by name (they come from module authors and travel as JSON); the
//! engine resolves names to positions once when it creates the table.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::column_type::{ColumnType, ScalarType};
use crate::error::{Result, TypeError};
use crate::value::Value;

/// One column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Filled from the table's counter on insert when the given value is zero or NULL.
    #[serde(default)]
    pub auto_inc: bool,
    /// Personal data: redacted from error messages, logs and superseded history versions.
    #[serde(default)]
    pub pii: bool,
    /// The value existing rows get when the column is added to a live table by a module
    /// upgrade (`#[default(...)]`); inserts always give every column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

impl ColumnDef {
    pub fn new(name: impl Into<String>, ty: ColumnType) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty,
            auto_inc: false,
            pii: false,
            default: None,
        }
    }
}

/// A btree index over one or several columns; `unique` makes it a unique constraint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    pub name: String,
    pub columns: Vec<String>,
    #[serde(default)]
    pub unique: bool,
}

/// What deleting a referenced row does to the rows that reference it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDelete {
    /// The delete fails while referencing rows exist.
    #[default]
    Restrict,
    /// Referencing rows are deleted too, in the same transaction.
    Cascade,
}

/// `columns` of this table reference `ref_columns` of `ref_table`, which must be that table's
/// primary key or a unique index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKeyDef {
    pub name: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    #[serde(default)]
    pub on_delete: OnDelete,
}

/// A table as a module declares it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Primary key columns; empty for a table without one.
    #[serde(default)]
    pub primary_key: Vec<String>,
    #[serde(default)]
    pub indexes: Vec<IndexDef>,
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// Readable by clients (subject to read policies); private tables only by the module.
    #[serde(default)]
    pub public: bool,
    /// Append-only: rows can be inserted, never updated or deleted.
    #[serde(default)]
    pub event: bool,
    /// SQL boolean expressions over the row, `$identity` bound to the caller.
    #[serde(default)]
    pub read_policies: Vec<String>,
    #[serde(default)]
    pub write_policies: Vec<String>,
}

impl TableDef {
    pub fn new(name: impl Into<String>) -> TableDef {
        TableDef {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            public: false,
            event: false,
            read_policies: Vec::new(),
            write_policies: Vec::new(),
        }
    }

    /// Adds a non-nullable column.
    pub fn column(mut self, name: &str, scalar: ScalarType) -> TableDef {
        self.columns
            .push(ColumnDef::new(name, ColumnType::new(scalar)));
        self
    }

    /// Adds an `Option<T>` column.
    pub fn nullable_column(mut self, name: &str, scalar: ScalarType) -> TableDef {
        self.columns
            .push(ColumnDef::new(name, ColumnType::nullable(scalar)));
        self
    }

    pub fn primary_key(mut self, columns: &[&str]) -> TableDef {
        self.primary_key = columns.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// Marks an existing column auto-increment.
    pub fn auto_inc(mut self, column: &str) -> TableDef {
        self.columns
            .iter_mut()
            .filter(|c| c.name == column)
            .for_each(|c| c.auto_inc = true);
        self
    }

    /// Marks an existing column as personal data.
    pub fn pii(mut self, column: &str) -> TableDef {
        self.columns
            .iter_mut()
            .filter(|c| c.name == column)
            .for_each(|c| c.pii = true);
        self
    }

    pub fn index(mut self, name: &str, columns: &[&str]) -> TableDef {
        self.indexes.push(IndexDef {
            name: name.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            unique: false,
        });
        self
    }

    pub fn unique(mut self, name: &str, columns: &[&str]) -> TableDef {
        self.indexes.push(IndexDef {
            name: name.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            unique: true,
        });
        self
    }

    pub fn foreign_key(
        mut self,
        name: &str,
        columns: &[&str],
        ref_table: &str,
        ref_columns: &[&str],
        on_delete: OnDelete,
    ) -> TableDef {
        self.foreign_keys.push(ForeignKeyDef {
            name: name.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            ref_table: ref_table.to_owned(),
            ref_columns: ref_columns.iter().map(|c| (*c).to_owned()).collect(),
            on_delete,
        });
        self
    }

    pub fn public(mut self) -> TableDef {
        self.public = true;
        self
    }

    pub fn event(mut self) -> TableDef {
        self.event = true;
        self
    }

    pub fn read_policy(mut self, expr: &str) -> TableDef {
        self.read_policies.push(expr.to_owned());
        self
    }

    pub fn write_policy(mut self, expr: &str) -> TableDef {
        self.write_policies.push(expr.to_owned());
        self
    }

    /// Position of a column by name.
    pub fn column_position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Positions of several columns, or an error naming the first unknown one.
    pub fn column_positions(&self, names: &[String]) -> Result<Vec<usize>> {
        names
            .iter()
            .map(|n| {
                self.column_position(n)
                    .ok_or_else(|| self.invalid(format!("unknown column `{n}`")))
            })
            .collect()
    }

    fn invalid(&self, reason: String) -> TypeError {
        TypeError::InvalidDefinition {
            table: self.name.clone(),
            reason,
        }
    }

    /// Checks the rules that do not need other tables (foreign key targets are checked by the
    /// engine, which knows the catalog).
    pub fn validate(&self) -> Result<()> {
        if !is_identifier(&self.name) {
            return Err(self.invalid("table name must be a letter or `_` followed by letters, digits or `_` (at most 64)".into()));
        }
        if self.columns.is_empty() {
            return Err(self.invalid("a table needs at least one column".into()));
        }
        if self.columns.len() > usize::from(u16::MAX) {
            return Err(self.invalid("too many columns".into()));
        }
        let mut seen = HashSet::new();
        for col in &self.columns {
            if !is_identifier(&col.name) {
                return Err(self.invalid(format!("invalid column name `{}`", col.name)));
            }
            if !seen.insert(col.name.as_str()) {
                return Err(self.invalid(format!("duplicate column `{}`", col.name)));
            }
            if let Some(default) = &col.default
                && crate::row_codec::encode_row(
                    std::slice::from_ref(col),
                    std::slice::from_ref(default),
                )
                .is_err()
            {
                return Err(self.invalid(format!(
                    "the default of column `{}` does not have its type",
                    col.name
                )));
            }
            if col.auto_inc && !col.ty.scalar.is_integer() {
                return Err(
                    self.invalid(format!("auto_inc column `{}` must be an integer", col.name))
                );
            }
        }
        for pos in self.column_positions(&self.primary_key)? {
            if self.columns[pos].ty.nullable {
                return Err(self.invalid(format!(
                    "primary key column `{}` cannot be nullable",
                    self.columns[pos].name
                )));
            }
        }
        check_distinct(self, &self.primary_key, "primary key")?;
        let mut index_names = HashSet::new();
        for index in &self.indexes {
            if index.columns.is_empty() {
                return Err(self.invalid(format!("index `{}` has no columns", index.name)));
            }
            if !index_names.insert(index.name.as_str()) {
                return Err(self.invalid(format!("duplicate index `{}`", index.name)));
            }
            self.column_positions(&index.columns)?;
            check_distinct(self, &index.columns, &index.name)?;
        }
        for fk in &self.foreign_keys {
            self.column_positions(&fk.columns)?;
            if fk.columns.is_empty() || fk.columns.len() != fk.ref_columns.len() {
                return Err(self.invalid(format!(
                    "foreign key `{}` must name as many referenced columns as columns",
                    fk.name
                )));
            }
        }
        Ok(())
    }
}

fn check_distinct(def: &TableDef, columns: &[String], what: &str) -> Result<()> {
    let mut seen = HashSet::new();
    for c in columns {
        if !seen.insert(c) {
            return Err(def.invalid(format!("`{what}` lists column `{c}` twice")));
        }
    }
    Ok(())
}

/// SQL-friendly identifiers: `[A-Za-z_][A-Za-z0-9_]*`, at most 64 bytes.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

/// A column added to a live table: existing rows get `default`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddColumn {
    pub column: ColumnDef,
    pub default: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> TableDef {
        TableDef::new("users")
            .column("id", ScalarType::U64)
            .column("email", ScalarType::String)
            .nullable_column("nick", ScalarType::String)
            .primary_key(&["id"])
            .auto_inc("id")
            .unique("users_email", &["email"])
    }

    #[test]
    fn a_well_formed_table_validates() {
        users().validate().expect("valid");
    }

    #[test]
    fn broken_definitions_are_rejected_with_a_reason() {
        let cases = [
            users().column("id", ScalarType::U8),
            users().primary_key(&["nope"]),
            users().primary_key(&["nick"]),
            users().index("i", &[]),
            users().auto_inc("email"),
            {
                let mut def = users();
                def.columns[1].default = Some(Value::I64(1));
                def
            },
            TableDef::new("1bad").column("a", ScalarType::Bool),
            TableDef::new("empty"),
        ];
        for def in cases {
            let err = def.validate().expect_err("must be rejected");
            assert!(matches!(err, TypeError::InvalidDefinition { .. }), "{err}");
        }
    }

    #[test]
    fn definitions_round_trip_through_json() {
        let def = users().public().read_policy("id = 1");
        let json = serde_json::to_string(&def).expect("serialize");
        let back: TableDef = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, def);
    }
}
