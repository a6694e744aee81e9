//! The `cosmictron_v1` imports: the host functions a module calls (documented one by one in
//! `docs/module-abi.md`), and the linker that offers them.
//!
//! Data calls (`table_*`, `schedule*`) return a status — [`OK`], [`NOT_FOUND`] or [`ERROR`] —
//! and leave their answer in the store's call buffer, which the module copies out with
//! `buffer_len` and `buffer_read`. A bad pointer or length traps with an
//! [`AbiViolation`](crate::memory). The table calls are in `abi_tables.rs`, the schedule calls
//! in `schedule.rs`; this file has the buffer, result, log and random calls.

use wasmtime::{Caller, Linker};

use crate::call_tx::CallTx;
use crate::error::ModuleError;
use crate::logs::{LogLevel, LogLine};
use crate::memory::{guest_slice, guest_str, read_bytes, violation, write_bytes};
use crate::state::HostState;

/// The import namespace; the version changes only with a breaking change.
pub(crate) const NAMESPACE: &str = "cosmictron_v1";

pub(crate) const OK: i32 = 0;
pub(crate) const NOT_FOUND: i32 = 1;
pub(crate) const ERROR: i32 = 2;

/// Every import and its signature, as `params->results` with wasm value type names.
pub(crate) const IMPORTS: [(&str, &str); 15] = [
    ("table_insert", "i32,i32,i32,i32->i32"),
    ("table_insert_id", "i32,i32,i32,i32,i32->i32"),
    ("table_update", "i32,i32,i32,i32->i32"),
    ("table_delete", "i32,i32,i32,i32->i32"),
    ("table_get", "i32,i32,i32,i32->i32"),
    ("table_scan", "i32,i32->i32"),
    ("table_find", "i32,i32,i32,i32,i32,i32->i32"),
    ("table_range", "i32,i32,i32,i32,i32,i32,i32,i32,i32->i32"),
    ("buffer_len", "->i32"),
    ("buffer_read", "i32,i32->i32"),
    ("result_set", "i32,i32->"),
    ("log", "i32,i32,i32->"),
    ("random_fill", "i32,i32->"),
    ("schedule", "i32,i32,i32,i32,i64,i64->i32"),
    ("schedule_cancel", "i64->i32"),
];

/// Longest log line kept (longer lines are cut).
const LOG_LINE_BYTES_MAX: u32 = 4096;

pub(crate) type Call<'a> = Caller<'a, HostState>;

/// A data call's outcome before it is put in the buffer.
pub(crate) enum Answer {
    Bytes(Vec<u8>),
    NotFound,
}

/// Runs `op` on the current call's transaction and stores its answer in the buffer. `op` gets
/// the store data too (policies, the sender), with the transaction taken out of it for the
/// duration; it is always put back.
pub(crate) fn data_call(
    caller: &mut Call<'_>,
    op: impl FnOnce(&mut CallTx, &mut HostState) -> Result<Answer, ModuleError>,
) -> wasmtime::Result<i32> {
    let state = caller.data_mut();
    let Some(mut tx) = state.tx.take() else {
        return Err(violation("a data call outside a reducer call"));
    };
    let answer = op(&mut tx, state);
    state.tx = Some(tx);
    Ok(finish(state, answer))
}

/// Like [`data_call`] for the calls that take a table name and a row: `op` reads both in
/// place in the module's memory (bounds-checked first, the name checked as UTF-8), so neither
/// is copied out.
pub(crate) fn data_call_on(
    caller: &mut Call<'_>,
    (name_ptr, name_len): (u32, u32),
    (ptr, len, what): (u32, u32, &str),
    op: impl FnOnce(&mut CallTx, &HostState, &str, &[u8]) -> Result<Answer, ModuleError>,
) -> wasmtime::Result<i32> {
    let memory = caller
        .data()
        .memory
        .ok_or_else(|| violation("the module exports no memory"))?;
    let Some(mut tx) = caller.data_mut().tx.take() else {
        return Err(violation("a data call outside a reducer call"));
    };
    let (data, state) = memory.data_and_store_mut(&mut *caller);
    let inputs = guest_str(data, name_ptr, name_len, "table name")
        .and_then(|name| Ok((name, guest_slice(data, ptr, len, what)?)));
    let answer = match inputs {
        Ok((name, input)) => op(&mut tx, state, name, input),
        Err(e) => {
            state.tx = Some(tx);
            return Err(e);
        }
    };
    state.tx = Some(tx);
    Ok(finish(state, answer))
}

/// Puts a data call's answer in the buffer and returns its status.
fn finish(state: &mut HostState, answer: Result<Answer, ModuleError>) -> i32 {
    let max = state.call_buffer_bytes_max;
    let answer = answer.and_then(|a| match a {
        Answer::Bytes(b) if b.len() > max => Err(ModuleError::from(
            cosmictron_engine::EngineError::Limit(format!(
                "an answer of {} bytes exceeds the call buffer limit of {max}",
                b.len()
            )),
        )),
        a => Ok(a),
    });
    state.buffer.clear();
    match answer {
        // An empty answer keeps the buffer's allocation for the next call.
        Ok(Answer::Bytes(bytes)) => {
            if !bytes.is_empty() {
                state.buffer = bytes;
            }
            OK
        }
        Ok(Answer::NotFound) => NOT_FOUND,
        Err(error) => {
            state.buffer = serde_json::to_vec(&error).unwrap_or_default();
            ERROR
        }
    }
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
        reducer: state.reducer.as_deref().map(str::to_owned),
        message,
    });
    Ok(())
}

/// Fills `len` bytes at `ptr` with cryptographically secure random bytes from the operating
/// system (at most the call buffer limit per call).
fn random_fill(mut caller: Call<'_>, ptr: u32, len: u32) -> wasmtime::Result<()> {
    let max = caller.data().call_buffer_bytes_max;
    if len as usize > max {
        return Err(violation(format!(
            "random_fill of {len} bytes exceeds the limit of {max}"
        )));
    }
    let mut bytes = vec![0u8; len as usize];
    getrandom::fill(&mut bytes)
        .map_err(|e| wasmtime::Error::msg(format!("the system random source failed: {e}")))?;
    write_bytes(&mut caller, ptr, &bytes, "random_fill destination")
}

/// Builds the linker with every import.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    use crate::abi_tables as t;
    use crate::schedule as s;
    let mut l = Linker::new(engine);
    l.func_wrap(NAMESPACE, "table_insert", t::table_insert)?;
    l.func_wrap(NAMESPACE, "table_insert_id", t::table_insert_id)?;
    l.func_wrap(NAMESPACE, "table_update", t::table_update)?;
    l.func_wrap(NAMESPACE, "table_delete", t::table_delete)?;
    l.func_wrap(NAMESPACE, "table_get", t::table_get)?;
    l.func_wrap(NAMESPACE, "table_scan", t::table_scan)?;
    l.func_wrap(NAMESPACE, "table_find", t::table_find)?;
    l.func_wrap(NAMESPACE, "table_range", t::table_range)?;
    l.func_wrap(NAMESPACE, "buffer_len", buffer_len)?;
    l.func_wrap(NAMESPACE, "buffer_read", buffer_read)?;
    l.func_wrap(NAMESPACE, "result_set", result_set)?;
    l.func_wrap(NAMESPACE, "log", log)?;
    l.func_wrap(NAMESPACE, "random_fill", random_fill)?;
    l.func_wrap(NAMESPACE, "schedule", s::schedule)?;
    l.func_wrap(NAMESPACE, "schedule_cancel", s::schedule_cancel)?;
    Ok(l)
}
