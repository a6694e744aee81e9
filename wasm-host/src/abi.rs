//! The `cosmictron_v1` imports: the host functions a module calls (documented one by one in
//! `docs/module-abi.md`).
//!
//! Data calls (`table_*`) return a status — [`OK`], [`NOT_FOUND`] or [`ERROR`] — and leave
//! their answer in the store's call buffer, which the module copies out with `buffer_len` and
//! `buffer_read`: a row (encoded with `cosmictron_types::encode_row`), the rows of a scan (each
//! prefixed by its `u32` little-endian length), or an error as JSON `{code, message,
//! http_status}`. A bad pointer or length traps with an [`AbiViolation`](crate::memory).

use std::sync::Arc;

use cosmictron_engine::{EngineError, TableSchema, WriteTx};
use cosmictron_types::{ColumnDef, Value, decode_row, encode_row, encode_row_into};
use wasmtime::{Caller, Linker};

use crate::error::{ModuleError, http_status_of};
use crate::logs::{LogLevel, LogLine};
use crate::memory::{read_bytes, read_str, violation, write_bytes};
use crate::state::HostState;

/// The import namespace; the version changes only with a breaking change.
pub(crate) const NAMESPACE: &str = "cosmictron_v1";

pub(crate) const OK: i32 = 0;
pub(crate) const NOT_FOUND: i32 = 1;
pub(crate) const ERROR: i32 = 2;

/// Every import and its signature, as `params->results` with wasm value type names.
pub(crate) const IMPORTS: [(&str, &str); 10] = [
    ("table_insert", "i32,i32,i32,i32->i32"),
    ("table_update", "i32,i32,i32,i32->i32"),
    ("table_delete", "i32,i32,i32,i32->i32"),
    ("table_get", "i32,i32,i32,i32->i32"),
    ("table_scan", "i32,i32->i32"),
    ("table_find", "i32,i32,i32,i32,i32,i32->i32"),
    ("buffer_len", "->i32"),
    ("buffer_read", "i32,i32->i32"),
    ("result_set", "i32,i32->"),
    ("log", "i32,i32,i32->"),
];

/// Longest log line kept (longer lines are cut).
const LOG_LINE_BYTES_MAX: u32 = 4096;

type Call<'a> = Caller<'a, HostState>;

/// A data call's outcome before it is put in the buffer.
enum Answer {
    Bytes(Vec<u8>),
    NotFound,
}

/// Runs `op` on the current call's transaction and stores its answer in the buffer.
fn data_call(
    caller: &mut Call<'_>,
    op: impl FnOnce(&mut WriteTx<'_>) -> Result<Answer, EngineError>,
) -> wasmtime::Result<i32> {
    let Some(ptr) = caller.data().tx.as_ref().map(|t| t.0) else {
        return Err(violation("a data call outside a reducer call"));
    };
    // SAFETY: `tx` is set only while `call.rs` runs the guest with the transaction borrowed
    // mutably on its stack frame, and cleared before that borrow ends; host calls happen only
    // during that guest call, on the same thread, and never overlap.
    let tx = unsafe { &mut *ptr.as_ptr() };
    let max = caller.data().call_buffer_bytes_max;
    let answer = op(tx).and_then(|a| match a {
        Answer::Bytes(b) if b.len() > max => Err(EngineError::Limit(format!(
            "an answer of {} bytes exceeds the call buffer limit of {max}",
            b.len()
        ))),
        a => Ok(a),
    });
    let state = caller.data_mut();
    state.buffer.clear();
    Ok(match answer {
        Ok(Answer::Bytes(bytes)) => {
            state.buffer = bytes;
            OK
        }
        Ok(Answer::NotFound) => NOT_FOUND,
        Err(e) => {
            let error = ModuleError {
                code: e.code().to_owned(),
                message: e.to_string(),
                details: None,
                http_status: http_status_of(e.code()),
            };
            state.buffer = serde_json::to_vec(&error).unwrap_or_default();
            ERROR
        }
    })
}

fn schema(tx: &WriteTx<'_>, table: &str) -> Result<Arc<TableSchema>, EngineError> {
    tx.table_schema(table)
}

fn key_columns(tx: &WriteTx<'_>, table: &str) -> Result<Vec<ColumnDef>, EngineError> {
    let schema = tx.table_schema(table)?;
    if schema.def.primary_key.is_empty() {
        return Err(EngineError::NoPrimaryKey {
            table: table.to_owned(),
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

fn encode(columns: &[ColumnDef], row: &[Value]) -> Result<Answer, EngineError> {
    Ok(Answer::Bytes(encode_row(columns, row)?))
}

fn optional(columns: &[ColumnDef], row: Option<Vec<Value>>) -> Result<Answer, EngineError> {
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

fn table_insert(mut caller: Call<'_>, np: u32, nl: u32, rp: u32, rl: u32) -> wasmtime::Result<i32> {
    let (table, row) = args(&caller, (np, nl), (rp, rl))?;
    data_call(&mut caller, |tx| {
        let schema = schema(tx, &table)?;
        let stored = tx.insert(&table, decode(&table, schema.columns(), &row)?)?;
        encode(schema.columns(), &stored)
    })
}

fn table_update(mut caller: Call<'_>, np: u32, nl: u32, rp: u32, rl: u32) -> wasmtime::Result<i32> {
    let (table, row) = args(&caller, (np, nl), (rp, rl))?;
    data_call(&mut caller, |tx| {
        let schema = schema(tx, &table)?;
        let old = tx.update(&table, decode(&table, schema.columns(), &row)?)?;
        encode(schema.columns(), &old)
    })
}

fn table_delete(mut caller: Call<'_>, np: u32, nl: u32, kp: u32, kl: u32) -> wasmtime::Result<i32> {
    let (table, key) = args(&caller, (np, nl), (kp, kl))?;
    data_call(&mut caller, |tx| {
        let key = decode(&table, &key_columns(tx, &table)?, &key)?;
        let old = tx.delete(&table, &key)?;
        optional(schema(tx, &table)?.columns(), old)
    })
}

fn table_get(mut caller: Call<'_>, np: u32, nl: u32, kp: u32, kl: u32) -> wasmtime::Result<i32> {
    let (table, key) = args(&caller, (np, nl), (kp, kl))?;
    data_call(&mut caller, |tx| {
        let key = decode(&table, &key_columns(tx, &table)?, &key)?;
        let row = tx.get(&table, &key)?;
        optional(schema(tx, &table)?.columns(), row)
    })
}

/// Rows as a scan answer: each as its `u32` little-endian length, then the row.
fn rows_answer(columns: &[ColumnDef], rows: &[Vec<Value>]) -> Result<Answer, EngineError> {
    let mut out = Vec::new();
    for row in rows {
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        encode_row_into(columns, row, &mut out)?;
        let len = u32::try_from(out.len() - at - 4)
            .map_err(|_| EngineError::Limit("a row longer than 4 GiB".into()))?;
        out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
    Ok(Answer::Bytes(out))
}

fn table_scan(mut caller: Call<'_>, np: u32, nl: u32) -> wasmtime::Result<i32> {
    let table = read_str(&caller, np, nl, "table name")?;
    data_call(&mut caller, |tx| {
        let schema = schema(tx, &table)?;
        rows_answer(schema.columns(), &tx.scan(&table)?)
    })
}

/// The columns of index `index` of `table`, as a key row.
fn index_columns(
    tx: &WriteTx<'_>,
    table: &str,
    index: &str,
) -> Result<Vec<ColumnDef>, EngineError> {
    let schema = schema(tx, table)?;
    let pos = schema
        .index_position(index)
        .ok_or_else(|| EngineError::NoSuchIndex {
            table: table.to_owned(),
            index: index.to_owned(),
        })?;
    Ok(schema.indexes[pos]
        .columns
        .iter()
        .map(|&c| schema.columns()[c].clone())
        .collect())
}

#[allow(clippy::too_many_arguments)]
fn table_find(
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
    data_call(&mut caller, |tx| {
        let key = decode(&table, &index_columns(tx, &table, &index)?, &key)?;
        let rows = tx.find(&table, &index, &key)?;
        rows_answer(schema(tx, &table)?.columns(), &rows)
    })
}

fn buffer_len(caller: Call<'_>) -> i32 {
    // The buffer never exceeds `call_buffer_bytes_max`, which is far below 2 GiB by default.
    i32::try_from(caller.data().buffer.len()).unwrap_or(i32::MAX)
}

fn buffer_read(mut caller: Call<'_>, ptr: u32, len: u32) -> wasmtime::Result<i32> {
    let buffer = std::mem::take(&mut caller.data_mut().buffer);
    let n = buffer.len().min(len as usize);
    let written = write_bytes(&mut caller, ptr, &buffer[..n], "buffer_read destination");
    caller.data_mut().buffer = buffer;
    written?;
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

fn result_set(mut caller: Call<'_>, ptr: u32, len: u32) -> wasmtime::Result<()> {
    let max = caller.data().call_buffer_bytes_max;
    if len as usize > max {
        return Err(violation(format!(
            "a result of {len} bytes exceeds the limit of {max}"
        )));
    }
    let bytes = read_bytes(&caller, ptr, len, "result")?;
    caller.data_mut().result = Some(bytes);
    Ok(())
}

fn log(mut caller: Call<'_>, level: u32, ptr: u32, len: u32) -> wasmtime::Result<()> {
    let bytes = read_bytes(&caller, ptr, len.min(LOG_LINE_BYTES_MAX), "log line")?;
    let message = String::from_utf8_lossy(&bytes).into_owned();
    let state = caller.data_mut();
    let module = state.module_name.as_str();
    let level = LogLevel::from_abi(level);
    match level {
        LogLevel::Error => {
            tracing::error!(module, "{message}");
            state.last_error_log = Some(message.clone());
        }
        LogLevel::Warn => tracing::warn!(module, "{message}"),
        LogLevel::Info => tracing::info!(module, "{message}"),
        LogLevel::Debug => tracing::debug!(module, "{message}"),
    }
    state.logs.push(LogLine {
        timestamp: crate::call::now(),
        level,
        reducer: state.reducer.clone(),
        message,
    });
    Ok(())
}

/// Builds the linker with every import.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut l = Linker::new(engine);
    l.func_wrap(NAMESPACE, "table_insert", table_insert)?;
    l.func_wrap(NAMESPACE, "table_update", table_update)?;
    l.func_wrap(NAMESPACE, "table_delete", table_delete)?;
    l.func_wrap(NAMESPACE, "table_get", table_get)?;
    l.func_wrap(NAMESPACE, "table_scan", table_scan)?;
    l.func_wrap(NAMESPACE, "table_find", table_find)?;
    l.func_wrap(NAMESPACE, "buffer_len", buffer_len)?;
    l.func_wrap(NAMESPACE, "buffer_read", buffer_read)?;
    l.func_wrap(NAMESPACE, "result_set", result_set)?;
    l.func_wrap(NAMESPACE, "log", log)?;
    Ok(l)
}
