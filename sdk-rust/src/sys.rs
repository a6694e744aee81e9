//! The raw `cosmictron_v1` imports (see `docs/module-abi.md`) and safe wrappers over them.
//!
//! Data calls return a status ([`OK`], [`NOT_FOUND`], [`ERROR`]) and leave their answer in the
//! host's call buffer: the stored row, the rows of a scan, or an error as JSON.
//! Off wasm32 (host builds of the SDK: docs, clippy) every call fails with `ERROR`.

use crate::error::Error;

pub(crate) const OK: i32 = 0;
pub(crate) const NOT_FOUND: i32 = 1;
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) const ERROR: i32 = 2;

#[cfg(target_arch = "wasm32")]
mod raw {
    #[link(wasm_import_module = "cosmictron_v1")]
    unsafe extern "C" {
        pub(super) fn table_insert_id(
            name: *const u8,
            name_len: u32,
            row: *const u8,
            row_len: u32,
            id: *mut u64,
        ) -> i32;
        pub(super) fn table_update(
            name: *const u8,
            name_len: u32,
            row: *const u8,
            row_len: u32,
        ) -> i32;
        pub(super) fn table_delete(
            name: *const u8,
            name_len: u32,
            key: *const u8,
            key_len: u32,
        ) -> i32;
        pub(super) fn table_get(
            name: *const u8,
            name_len: u32,
            key: *const u8,
            key_len: u32,
        ) -> i32;
        pub(super) fn table_scan(name: *const u8, name_len: u32) -> i32;
        pub(super) fn table_find(
            name: *const u8,
            name_len: u32,
            index: *const u8,
            index_len: u32,
            key: *const u8,
            key_len: u32,
        ) -> i32;
        pub(super) fn table_range(
            name: *const u8,
            name_len: u32,
            index: *const u8,
            index_len: u32,
            lower: *const u8,
            lower_len: u32,
            upper: *const u8,
            upper_len: u32,
            bounds: u32,
        ) -> i32;
        pub(super) fn random_fill(dst: *mut u8, len: u32);
        pub(super) fn schedule(
            reducer: *const u8,
            reducer_len: u32,
            args: *const u8,
            args_len: u32,
            at_micros: i64,
            repeat_micros: i64,
        ) -> i32;
        pub(super) fn schedule_cancel(id: i64) -> i32;
        pub(super) fn buffer_len() -> u32;
        pub(super) fn buffer_read(dst: *mut u8, len: u32) -> u32;
        pub(super) fn result_set(data: *const u8, len: u32);
        pub(super) fn log(level: u32, msg: *const u8, len: u32);
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::missing_safety_doc)]
mod raw {
    pub(super) unsafe fn table_insert_id(
        _: *const u8,
        _: u32,
        _: *const u8,
        _: u32,
        _: *mut u64,
    ) -> i32 {
        super::ERROR
    }
    pub(super) unsafe fn table_update(_: *const u8, _: u32, _: *const u8, _: u32) -> i32 {
        super::ERROR
    }
    pub(super) unsafe fn table_delete(_: *const u8, _: u32, _: *const u8, _: u32) -> i32 {
        super::ERROR
    }
    pub(super) unsafe fn table_get(_: *const u8, _: u32, _: *const u8, _: u32) -> i32 {
        super::ERROR
    }
    pub(super) unsafe fn table_scan(_: *const u8, _: u32) -> i32 {
        super::ERROR
    }
    pub(super) unsafe fn table_find(
        _: *const u8,
        _: u32,
        _: *const u8,
        _: u32,
        _: *const u8,
        _: u32,
    ) -> i32 {
        super::ERROR
    }
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn table_range(
        _: *const u8,
        _: u32,
        _: *const u8,
        _: u32,
        _: *const u8,
        _: u32,
        _: *const u8,
        _: u32,
        _: u32,
    ) -> i32 {
        super::ERROR
    }
    pub(super) unsafe fn random_fill(_: *mut u8, _: u32) {}
    pub(super) unsafe fn schedule(
        _: *const u8,
        _: u32,
        _: *const u8,
        _: u32,
        _: i64,
        _: i64,
    ) -> i32 {
        super::ERROR
    }
    pub(super) unsafe fn schedule_cancel(_: i64) -> i32 {
        super::ERROR
    }
    pub(super) unsafe fn buffer_len() -> u32 {
        0
    }
    pub(super) unsafe fn buffer_read(_: *mut u8, _: u32) -> u32 {
        0
    }
    pub(super) unsafe fn result_set(_: *const u8, _: u32) {}
    pub(super) unsafe fn log(_: u32, _: *const u8, _: u32) {}
}

/// Lengths handed to the host; wasm32 pointers and lengths are 32-bit.
fn len32(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).unwrap_or(u32::MAX)
}

/// Copies the host's call buffer out.
pub(crate) fn take_buffer() -> Vec<u8> {
    // SAFETY: the host reads no guest memory here.
    let len = unsafe { raw::buffer_len() };
    let mut out = vec![0u8; len as usize];
    // SAFETY: `out` is writable for `len` bytes; the host writes at most that many.
    let copied = unsafe { raw::buffer_read(out.as_mut_ptr(), len) };
    out.truncate(copied as usize);
    out
}

/// What a data call answered.
pub(crate) enum Answer {
    Found(Vec<u8>),
    NotFound,
}

fn answer(status: i32) -> Result<Answer, Error> {
    match status {
        OK => Ok(Answer::Found(take_buffer())),
        NOT_FOUND => Ok(Answer::NotFound),
        _ => Err(host_error()),
    }
}

/// The error the host left in the buffer after an `ERROR` status.
fn host_error() -> Error {
    let bytes = take_buffer();
    serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        Error::new(
            "host_unavailable",
            "the host call failed (is this running outside a Cosmictron host?)",
        )
        .with_status(500)
    })
}

/// Inserts a row; returns the value the host stored in the table's auto-increment column
/// (0 for a table without one). Nothing else of the stored row crosses back.
pub(crate) fn insert_id(table: &str, row: &[u8]) -> Result<u64, Error> {
    let mut id = 0u64;
    // SAFETY: both slices are valid for reads of their lengths during the call, and `id` for a
    // write of 8 bytes (the host writes it little-endian, wasm32's byte order).
    let status = unsafe {
        raw::table_insert_id(
            table.as_ptr(),
            len32(table.as_bytes()),
            row.as_ptr(),
            len32(row),
            &mut id,
        )
    };
    match status {
        OK => Ok(id),
        _ => Err(host_error()),
    }
}

pub(crate) fn update(table: &str, row: &[u8]) -> Result<Answer, Error> {
    // SAFETY: both slices are valid for reads of their lengths during the call.
    answer(unsafe {
        raw::table_update(
            table.as_ptr(),
            len32(table.as_bytes()),
            row.as_ptr(),
            len32(row),
        )
    })
}

pub(crate) fn delete(table: &str, key: &[u8]) -> Result<Answer, Error> {
    // SAFETY: both slices are valid for reads of their lengths during the call.
    answer(unsafe {
        raw::table_delete(
            table.as_ptr(),
            len32(table.as_bytes()),
            key.as_ptr(),
            len32(key),
        )
    })
}

pub(crate) fn get(table: &str, key: &[u8]) -> Result<Answer, Error> {
    // SAFETY: both slices are valid for reads of their lengths during the call.
    answer(unsafe {
        raw::table_get(
            table.as_ptr(),
            len32(table.as_bytes()),
            key.as_ptr(),
            len32(key),
        )
    })
}

pub(crate) fn scan(table: &str) -> Result<Answer, Error> {
    // SAFETY: the slice is valid for reads of its length during the call.
    answer(unsafe { raw::table_scan(table.as_ptr(), len32(table.as_bytes())) })
}

pub(crate) fn find(table: &str, index: &str, key: &[u8]) -> Result<Answer, Error> {
    let (t, i) = (table.as_bytes(), index.as_bytes());
    // SAFETY: the three slices are valid for reads of their lengths during the call.
    answer(unsafe {
        raw::table_find(
            t.as_ptr(),
            len32(t),
            i.as_ptr(),
            len32(i),
            key.as_ptr(),
            len32(key),
        )
    })
}

/// The bounds of a range lookup: each a key prefix (encoded leading index columns) with its
/// column count, and whether it is inclusive.
pub(crate) struct RangeBounds<'a> {
    pub(crate) lower: Option<(&'a [u8], u32, bool)>,
    pub(crate) upper: Option<(&'a [u8], u32, bool)>,
}

pub(crate) fn range(table: &str, index: &str, bounds: &RangeBounds<'_>) -> Result<Answer, Error> {
    let (t, i) = (table.as_bytes(), index.as_bytes());
    let mut flags = 0u32;
    let (lower, lower_cols) = match bounds.lower {
        Some((key, cols, inclusive)) => {
            flags |= 1 | if inclusive { 2 } else { 0 };
            (key, cols)
        }
        None => (&[][..], 0),
    };
    let (upper, upper_cols) = match bounds.upper {
        Some((key, cols, inclusive)) => {
            flags |= 4 | if inclusive { 8 } else { 0 };
            (key, cols)
        }
        None => (&[][..], 0),
    };
    flags |= (lower_cols & 0xff) << 8 | (upper_cols & 0xff) << 16;
    // SAFETY: the four slices are valid for reads of their lengths during the call.
    answer(unsafe {
        raw::table_range(
            t.as_ptr(),
            len32(t),
            i.as_ptr(),
            len32(i),
            lower.as_ptr(),
            len32(lower),
            upper.as_ptr(),
            len32(upper),
            flags,
        )
    })
}

/// Fills `out` with secure random bytes from the host.
pub(crate) fn random_fill(out: &mut [u8]) {
    // SAFETY: `out` is writable for its length; the host writes exactly that many bytes.
    unsafe { raw::random_fill(out.as_mut_ptr(), len32(out)) }
}

/// Schedules `reducer` with JSON `args`; returns the schedule's id.
pub(crate) fn schedule(reducer: &str, args: &[u8], at: i64, repeat: i64) -> Result<u64, Error> {
    let r = reducer.as_bytes();
    // SAFETY: both slices are valid for reads of their lengths during the call.
    match answer(unsafe {
        raw::schedule(r.as_ptr(), len32(r), args.as_ptr(), len32(args), at, repeat)
    })? {
        Answer::Found(bytes) => {
            let id: [u8; 8] = bytes.as_slice().try_into().map_err(|_| {
                Error::new(
                    "abi_violation",
                    "the host answered a schedule without its id",
                )
                .with_status(500)
            })?;
            Ok(u64::from_le_bytes(id))
        }
        Answer::NotFound => Err(Error::new(
            "abi_violation",
            "the host answered a schedule without its id",
        )
        .with_status(500)),
    }
}

/// Cancels a schedule; false when it was not pending.
pub(crate) fn schedule_cancel(id: u64) -> Result<bool, Error> {
    let id = i64::try_from(id).unwrap_or(-1);
    // SAFETY: no guest memory is involved.
    match answer(unsafe { raw::schedule_cancel(id) })? {
        Answer::Found(_) => Ok(true),
        Answer::NotFound => Ok(false),
    }
}

/// Hands the answer of `__cosmictron_describe` / `__cosmictron_call` to the host.
pub(crate) fn set_result(bytes: &[u8]) {
    // SAFETY: the slice is valid for reads of its length during the call.
    unsafe { raw::result_set(bytes.as_ptr(), len32(bytes)) }
}

/// Log levels of the `log` import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

pub(crate) fn log(level: LogLevel, message: &str) {
    // SAFETY: the slice is valid for reads of its length during the call.
    unsafe { raw::log(level as u32, message.as_ptr(), len32(message.as_bytes())) }
}
