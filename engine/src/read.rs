//! Reads shared by the writer (its latest view) and snapshots (a past tx): lookups by key,
//! index prefix and range scans, full scans.

use std::ops::Bound;

use cosmictron_types::{Value, encode_key_value};

use crate::error::{EngineError, Result};
use crate::row_chunk::RowChunk;
use crate::table::{KeyBytes, RowId, Table, View};

/// The visible row whose key for `index` is exactly `key`, a full key. Key encodings are
/// prefix-free per column, so for a full key the first entry with that prefix is an exact match.
pub(crate) fn find_by_key(table: &Table, index: usize, key: &[u8], view: View) -> Option<RowId> {
    table.find_exact(index, key, view)
}

/// Encodes leading-column values for index `index`, checking their types.
pub(crate) fn encode_prefix(table: &Table, index: usize, values: &[Value]) -> Result<KeyBytes> {
    let schema = &table.schema;
    let columns = &schema.indexes[index].columns;
    if values.len() > columns.len() {
        return Err(EngineError::InvalidDefinition(format!(
            "index `{}` of `{}` has {} columns, {} values given",
            schema.indexes[index].name,
            schema.name(),
            columns.len(),
            values.len()
        )));
    }
    let mut key = KeyBytes::new();
    for (value, &col) in values.iter().zip(columns) {
        let def = &schema.columns()[col];
        let ok = match value.scalar_type() {
            None => def.ty.nullable,
            Some(t) => t == def.ty.scalar,
        };
        if !ok {
            return Err(cosmictron_types::TypeError::TypeMismatch {
                column: def.name.clone(),
                expected: def.ty,
                got: if def.pii {
                    "a value (redacted)".into()
                } else {
                    value.to_string()
                },
            }
            .into());
        }
        encode_key_value(value, &mut key);
    }
    Ok(key)
}

/// Appends to `out` the bytes of each visible row whose key for `index` starts with `prefix`.
pub(crate) fn find_raw(
    table: &Table,
    index: &str,
    prefix: &[Value],
    view: View,
    out: &mut RowChunk,
) -> Result<()> {
    let position = index_position(table, index)?;
    let key = encode_prefix(table, position, prefix)?;
    for (row, version) in table.visible_with_prefix(position, &key, view) {
        out.push(row, table.data(version));
    }
    Ok(())
}

fn index_position(table: &Table, index: &str) -> Result<usize> {
    table
        .schema
        .index_position(index)
        .ok_or_else(|| EngineError::NoSuchIndex {
            table: table.schema.name().to_owned(),
            index: index.to_owned(),
        })
}

fn decode_rows(table: &Table, rows: impl IntoIterator<Item = RowId>) -> Result<Vec<Vec<Value>>> {
    rows.into_iter()
        .filter_map(|r| table.row_data(r).map(|data| table.decode(data)))
        .collect()
}

pub(crate) fn get(table: &Table, key: &[Value], view: View) -> Result<Option<Vec<Value>>> {
    if !table.schema.has_primary_key {
        return Err(EngineError::NoPrimaryKey {
            table: table.schema.name().to_owned(),
        });
    }
    if key.len() != table.schema.indexes[0].columns.len() {
        return Err(EngineError::InvalidDefinition(format!(
            "the primary key of `{}` has {} columns, {} values given",
            table.schema.name(),
            table.schema.indexes[0].columns.len(),
            key.len()
        )));
    }
    let key = encode_prefix(table, 0, key)?;
    find_by_key(table, 0, &key, view)
        .and_then(|r| table.row_data(r))
        .map(|data| table.decode(data))
        .transpose()
}

pub(crate) fn find(
    table: &Table,
    index: &str,
    prefix: &[Value],
    view: View,
) -> Result<Vec<Vec<Value>>> {
    let position = index_position(table, index)?;
    let key = encode_prefix(table, position, prefix)?;
    decode_rows(table, table.index_prefix(position, &key, view))
}

/// Rows whose index key lies between the bounds (each bound a prefix of leading-column
/// values; an inclusive upper prefix includes every key that extends it).
pub(crate) fn range(
    table: &Table,
    index: &str,
    lower: Bound<&[Value]>,
    upper: Bound<&[Value]>,
    view: View,
    limit: usize,
) -> Result<Vec<Vec<Value>>> {
    let position = index_position(table, index)?;
    let encode = |b: Bound<&[Value]>| -> Result<Bound<KeyBytes>> {
        Ok(match b {
            Bound::Included(v) => Bound::Included(encode_prefix(table, position, v)?),
            Bound::Excluded(v) => Bound::Excluded(encode_prefix(table, position, v)?),
            Bound::Unbounded => Bound::Unbounded,
        })
    };
    let lower = encode(lower)?;
    let upper = encode(upper)?;
    let mut out = Vec::new();
    table.index_range(
        position,
        as_slice(&lower),
        as_slice(&upper),
        view,
        limit,
        &mut out,
    );
    decode_rows(table, out.into_iter().map(|(_, r)| r))
}

fn as_slice(b: &Bound<KeyBytes>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

pub(crate) fn scan_all(table: &Table, view: View) -> Result<Vec<Vec<Value>>> {
    table
        .visible_rows(view)
        .map(|(_, data)| table.decode(data))
        .collect()
}
