//! The table imports of `cosmictron_v1`: insert, update, delete, get, scan, find, range — each
//! on the reducer call's transaction, with the module's write policies checked for client
//! calls. Rows and keys travel in `cosmictron_types`' row encoding; scan answers are rows each
//! prefixed by its `u32` little-endian length.

use std::ops::Bound;
use std::sync::Arc;

use cosmictron_engine::{EngineError, TableSchema};
use cosmictron_types::{ColumnDef, Value, decode_row, encode_row, encode_row_into};

use crate::abi::{Answer, Call, data_call, data_call_on};
use crate::error::ModuleError;
use crate::memory::{read_bytes, read_str, write_bytes};
use crate::policy::WriteKind;
use crate::schedule::is_reserved_table;
use crate::state::HostState;

use crate::call_tx::CallTx as Tx;

/// The schema of a module table; the host's own tables do not exist for the module.
fn schema(tx: &Tx, table: &str) -> Result<Arc<TableSchema>, EngineError> {
    if is_reserved_table(table) {
        return Err(EngineError::NoSuchTable(table.to_owned()));
    }
    tx.table_schema(table)
}

fn key_columns(schema: &TableSchema) -> Result<Vec<ColumnDef>, EngineError> {
    if schema.def.primary_key.is_empty() {
        return Err(EngineError::NoPrimaryKey {
            table: schema.name().to_owned(),
        });
    }
    let positions = schema.def.column_positions(&schema.def.primary_key)?;
    Ok(positions
        .iter()
        .map(|&p| schema.columns()[p].clone())
        .collect())
}

fn decode(table: &str, columns: &[ColumnDef], bytes: &[u8]) -> Result<Vec<Value>, EngineError> {
    decode_row(columns, bytes).map_err(|source| EngineError::InvalidRow {
        table: table.to_owned(),
        source,
    })
}

fn encode(columns: &[ColumnDef], row: &[Value]) -> Result<Answer, ModuleError> {
    Ok(Answer::Bytes(
        encode_row(columns, row).map_err(EngineError::from)?,
    ))
}

fn optional(columns: &[ColumnDef], row: Option<Vec<Value>>) -> Result<Answer, ModuleError> {
    match row {
        Some(row) => encode(columns, &row),
        None => Ok(Answer::NotFound),
    }
}

/// Reads the (table name, bytes) pair every row call takes.
fn args(
    caller: &Call<'_>,
    name: (u32, u32),
    data: (u32, u32),
) -> wasmtime::Result<(String, Vec<u8>)> {
    let table = read_str(caller, name.0, name.1, "table name")?;
    let bytes = read_bytes(caller, data.0, data.1, "row")?;
    Ok((table, bytes))
}

/// An insert or update: the table name and row read in place, then `op` runs on a write
/// transaction with the module's table and the row decoded against its columns.
fn row_write(
    caller: &mut Call<'_>,
    (np, nl, rp, rl): (u32, u32, u32, u32),
    op: impl FnOnce(&mut Tx, &HostState, &str, &TableSchema, Vec<Value>) -> Result<Answer, ModuleError>,
) -> wasmtime::Result<i32> {
    data_call_on(
        caller,
        (np, nl),
        (rp, rl, "row"),
        |tx, state, table, bytes| {
            tx.write()?;
            let schema = schema(tx, table)?;
            let row = decode(table, schema.columns(), bytes)?;
            op(tx, state, table, &schema, row)
        },
    )
}

fn check(
    state: &HostState,
    table: &str,
    row: &[Value],
    kind: WriteKind,
) -> Result<(), ModuleError> {
    state
        .policies
        .check(table, row, state.policy_identity, kind)
}

pub(crate) fn table_insert(
    mut caller: Call<'_>,
    np: u32,
    nl: u32,
    rp: u32,
    rl: u32,
) -> wasmtime::Result<i32> {
    row_write(
        &mut caller,
        (np, nl, rp, rl),
        |tx, state, table, schema, row| {
            // Checked before the insert, on the row as given (an auto-increment column still
            // holds the 0 that asks for a fresh id).
            check(state, table, &row, WriteKind::Insert)?;
            let stored = tx.write()?.insert(table, row)?;
            encode(schema.columns(), &stored)
        },
    )
}

/// `table_insert` for a module that needs only the generated auto-increment value back: on
/// OK that value (the column's stored value as `u64` LE) is written at `id_ptr` when the table
/// has an auto-increment column, and the buffer is left empty. The stored row is neither
/// encoded nor copied out, which is most of an insert's ABI cost.
pub(crate) fn table_insert_id(
    mut caller: Call<'_>,
    np: u32,
    nl: u32,
    rp: u32,
    rl: u32,
    id_ptr: u32,
) -> wasmtime::Result<i32> {
    let mut generated = None;
    let status = row_write(
        &mut caller,
        (np, nl, rp, rl),
        |tx, state, table, schema, row| {
            check(state, table, &row, WriteKind::Insert)?;
            let stored = tx.write()?.insert(table, row)?;
            generated = schema.auto_inc.and_then(|c| stored[c].as_u64());
            Ok(Answer::Bytes(Vec::new()))
        },
    )?;
    if let Some(id) = generated {
        write_bytes(&mut caller, id_ptr, &id.to_le_bytes(), "generated id")?;
    }
    Ok(status)
}

pub(crate) fn table_update(
    mut caller: Call<'_>,
    np: u32,
    nl: u32,
    rp: u32,
    rl: u32,
) -> wasmtime::Result<i32> {
    row_write(
        &mut caller,
        (np, nl, rp, rl),
        |tx, state, table, schema, row| {
            if state.policies.has(table) {
                check(state, table, &row, WriteKind::Update)?;
                // Without a primary key `update` itself refuses (`no_primary_key`) below.
                if schema.has_primary_key
                    && let Some(pk) = schema.indexes.first()
                {
                    let key: Vec<Value> = pk
                        .columns
                        .iter()
                        .filter_map(|&c| row.get(c).cloned())
                        .collect();
                    if let Some(old) = tx.get(table, &key)? {
                        check(state, table, &old, WriteKind::Update)?;
                    }
                }
            }
            let old = tx.write()?.update(table, row)?;
            encode(schema.columns(), &old)
        },
    )
}

pub(crate) fn table_delete(
    mut caller: Call<'_>,
    np: u32,
    nl: u32,
    kp: u32,
    kl: u32,
) -> wasmtime::Result<i32> {
    let (table, key) = args(&caller, (np, nl), (kp, kl))?;
    data_call(&mut caller, |tx, state| {
        // A read-only call fails here, whatever the table.
        tx.write()?;
        let schema = schema(tx, &table)?;
        let key = decode(&table, &key_columns(&schema)?, &key)?;
        if state.policies.has(&table)
            && let Some(old) = tx.get(&table, &key)?
        {
            check(state, &table, &old, WriteKind::Delete)?;
        }
        let old = tx.write()?.delete(&table, &key)?;
        optional(schema.columns(), old)
    })
}

pub(crate) fn table_get(
    mut caller: Call<'_>,
    np: u32,
    nl: u32,
    kp: u32,
    kl: u32,
) -> wasmtime::Result<i32> {
    let (table, key) = args(&caller, (np, nl), (kp, kl))?;
    data_call(&mut caller, |tx, _| {
        let schema = schema(tx, &table)?;
        let key = decode(&table, &key_columns(&schema)?, &key)?;
        let row = tx.get(&table, &key)?;
        optional(schema.columns(), row)
    })
}

/// Rows as a scan answer: each as its `u32` little-endian length, then the row.
fn rows_answer(columns: &[ColumnDef], rows: &[Vec<Value>]) -> Result<Answer, ModuleError> {
    let mut out = Vec::new();
    for row in rows {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        encode_row_into(columns, row, &mut out).map_err(EngineError::from)?;
        let len = u32::try_from(out.len() - at - 4)
            .map_err(|_| EngineError::Limit("a row longer than 4 GiB".into()))?;
        out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
    Ok(Answer::Bytes(out))
}

pub(crate) fn table_scan(mut caller: Call<'_>, np: u32, nl: u32) -> wasmtime::Result<i32> {
    let table = read_str(&caller, np, nl, "table name")?;
    data_call(&mut caller, |tx, _| {
        let schema = schema(tx, &table)?;
        rows_answer(schema.columns(), &tx.scan(&table)?)
    })
}

/// The columns of index `index` of `table`, as a key row.
fn index_columns(schema: &TableSchema, index: &str) -> Result<Vec<ColumnDef>, EngineError> {
    let pos = schema
        .index_position(index)
        .ok_or_else(|| EngineError::NoSuchIndex {
            table: schema.name().to_owned(),
            index: index.to_owned(),
        })?;
    Ok(schema.indexes[pos]
        .columns
        .iter()
        .map(|&c| schema.columns()[c].clone())
        .collect())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn table_find(
    mut caller: Call<'_>,
    np: u32,
    nl: u32,
    ip: u32,
    il: u32,
    kp: u32,
    kl: u32,
) -> wasmtime::Result<i32> {
    let (table, key) = args(&caller, (np, nl), (kp, kl))?;
    let index = read_str(&caller, ip, il, "index name")?;
    data_call(&mut caller, |tx, _| {
        let schema = schema(tx, &table)?;
        let key = decode(&table, &index_columns(&schema, &index)?, &key)?;
        let rows = tx.find(&table, &index, &key)?;
        rows_answer(schema.columns(), &rows)
    })
}

/// `bounds` of `table_range`: bit 0 a lower bound is given, bit 1 it is inclusive, bit 2 an
/// upper bound is given, bit 3 it is inclusive; bits 8..16 the number of leading index columns
/// in the lower key, bits 16..24 in the upper key.
fn bound(present: bool, inclusive: bool, values: &[Value]) -> Bound<&[Value]> {
    match (present, inclusive) {
        (false, _) => Bound::Unbounded,
        (true, true) => Bound::Included(values),
        (true, false) => Bound::Excluded(values),
    }
}

/// Decodes a range key: the first `count` columns of the index.
fn range_key(
    table: &str,
    columns: &[ColumnDef],
    count: u32,
    bytes: &[u8],
) -> Result<Vec<Value>, EngineError> {
    let count = count as usize;
    if count > columns.len() {
        return Err(EngineError::Limit(format!(
            "a range key of {count} columns on an index of {}",
            columns.len()
        )));
    }
    decode(table, &columns[..count], bytes)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn table_range(
    mut caller: Call<'_>,
    np: u32,
    nl: u32,
    ip: u32,
    il: u32,
    lp: u32,
    ll: u32,
    up: u32,
    ul: u32,
    bounds: u32,
) -> wasmtime::Result<i32> {
    let (table, lower) = args(&caller, (np, nl), (lp, ll))?;
    let index = read_str(&caller, ip, il, "index name")?;
    let upper = read_bytes(&caller, up, ul, "upper key")?;
    data_call(&mut caller, |tx, _| {
        let schema = schema(tx, &table)?;
        let columns = index_columns(&schema, &index)?;
        let (lower_cols, upper_cols) = ((bounds >> 8) & 0xff, (bounds >> 16) & 0xff);
        let lower = range_key(&table, &columns, lower_cols, &lower)?;
        let upper = range_key(&table, &columns, upper_cols, &upper)?;
        let rows = tx.range(
            &table,
            &index,
            bound(bounds & 1 != 0, bounds & 2 != 0, &lower),
            bound(bounds & 4 != 0, bounds & 8 != 0, &upper),
        )?;
        rows_answer(schema.columns(), &rows)
    })
}
