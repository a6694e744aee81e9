//! Bounds-checked access to a module's linear memory. Every pointer and length a module hands
//! the host goes through here; anything out of bounds is an [`AbiViolation`] trap.

use wasmtime::Caller;

use crate::state::HostState;

/// The trap payload of a module that broke the ABI.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct AbiViolation(pub(crate) String);

pub(crate) fn violation(message: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(AbiViolation(message.into()))
}

/// The `len` bytes at `ptr` of a module's memory `data`, bounds-checked.
pub(crate) fn guest_slice<'a>(
    data: &'a [u8],
    ptr: u32,
    len: u32,
    what: &str,
) -> wasmtime::Result<&'a [u8]> {
    let start = ptr as usize;
    let end = start
        .checked_add(len as usize)
        .ok_or_else(|| violation(format!("{what}: pointer {ptr} + length {len} overflows")))?;
    data.get(start..end).ok_or_else(|| {
        violation(format!(
            "{what}: bytes {start}..{end} are outside the module's memory ({} bytes)",
            data.len()
        ))
    })
}

/// The UTF-8 string of `len` bytes at `ptr` of a module's memory `data`, read in place.
pub(crate) fn guest_str<'a>(
    data: &'a [u8],
    ptr: u32,
    len: u32,
    what: &str,
) -> wasmtime::Result<&'a str> {
    std::str::from_utf8(guest_slice(data, ptr, len, what)?)
        .map_err(|_| violation(format!("{what} is not valid UTF-8")))
}

/// Copies `len` bytes at `ptr` out of the module's memory.
pub(crate) fn read_bytes(
    caller: &Caller<'_, HostState>,
    ptr: u32,
    len: u32,
    what: &str,
) -> wasmtime::Result<Vec<u8>> {
    let memory = caller
        .data()
        .memory
        .ok_or_else(|| violation("the module exports no memory"))?;
    guest_slice(memory.data(caller), ptr, len, what).map(<[u8]>::to_vec)
}

/// Reads a UTF-8 string (a table name, a log line).
pub(crate) fn read_str(
    caller: &Caller<'_, HostState>,
    ptr: u32,
    len: u32,
    what: &str,
) -> wasmtime::Result<String> {
    let bytes = read_bytes(caller, ptr, len, what)?;
    String::from_utf8(bytes).map_err(|_| violation(format!("{what} is not valid UTF-8")))
}

/// Copies `bytes` into the module's memory at `ptr`.
pub(crate) fn write_bytes(
    caller: &mut Caller<'_, HostState>,
    ptr: u32,
    bytes: &[u8],
    what: &str,
) -> wasmtime::Result<()> {
    let memory = caller
        .data()
        .memory
        .ok_or_else(|| violation("the module exports no memory"))?;
    let data = memory.data_mut(caller);
    let start = ptr as usize;
    let end = start
        .checked_add(bytes.len())
        .ok_or_else(|| violation(format!("{what}: pointer {ptr} + length overflows")))?;
    let len = data.len();
    let dst = data.get_mut(start..end).ok_or_else(|| {
        violation(format!(
            "{what}: bytes {start}..{end} are outside the module's memory ({len} bytes)"
        ))
    })?;
    dst.copy_from_slice(bytes);
    Ok(())
}
