//! [`HostState`]: what a store holds for one module instance between and during calls.

use std::ptr::NonNull;
use std::sync::Arc;

use cosmictron_engine::WriteTx;
use wasmtime::{Memory, ResourceLimiter};

use crate::logs::ModuleLogs;

/// The write transaction of the reducer call in progress, as a raw pointer.
///
/// wasmtime needs `'static` store data, and a [`WriteTx`] borrows its database; so the call
/// keeps the transaction on its own stack frame and lends it to the store only for the duration
/// of the guest call (see `call.rs`), clearing it before it returns.
pub(crate) struct TxPtr(pub(crate) NonNull<WriteTx<'static>>);

// SAFETY: the pointer is set and cleared by the thread that owns the transaction, around a
// guest call on that same thread; it is never dereferenced from another thread.
unsafe impl Send for TxPtr {}

/// Store data of one instance.
pub(crate) struct HostState {
    /// The instance's exported memory, set right after instantiation.
    pub(crate) memory: Option<Memory>,
    /// Host → module: the call input, then each data call's answer.
    pub(crate) buffer: Vec<u8>,
    /// Module → host: the answer of `__cosmictron_describe` / `__cosmictron_call`.
    pub(crate) result: Option<Vec<u8>>,
    /// Set only while a reducer runs.
    pub(crate) tx: Option<TxPtr>,
    pub(crate) limiter: MemoryLimiter,
    /// The last error-level log line of the current call (a panic message), for trap errors.
    pub(crate) last_error_log: Option<String>,
    pub(crate) call_buffer_bytes_max: usize,
    /// For log lines.
    pub(crate) module_name: String,
    /// The module's log ring buffer (shared by its instances).
    pub(crate) logs: Arc<ModuleLogs>,
    /// The reducer running now, for log lines.
    pub(crate) reducer: Option<String>,
}

impl HostState {
    pub(crate) fn new(
        logs: Arc<ModuleLogs>,
        module_name: &str,
        memory_bytes_max: usize,
        call_buffer_bytes_max: usize,
    ) -> HostState {
        HostState {
            memory: None,
            buffer: Vec::new(),
            result: None,
            tx: None,
            limiter: MemoryLimiter {
                memory_bytes_max,
                hit: false,
            },
            last_error_log: None,
            call_buffer_bytes_max,
            module_name: module_name.to_owned(),
            logs,
            reducer: None,
        }
    }
}

/// Refusing to grow past the limit traps the module at the `memory.grow` (rather than letting
/// its allocator see a failure), so the error names the limit precisely.
pub(crate) struct MemoryLimiter {
    pub(crate) memory_bytes_max: usize,
    pub(crate) hit: bool,
}

/// The trap payload of a refused memory growth.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit_bytes} bytes exceeded (asked for {desired_bytes})")]
pub(crate) struct MemoryLimitHit {
    pub(crate) limit_bytes: usize,
    pub(crate) desired_bytes: usize,
}

/// Tables (of function references) may not grow past this many elements.
const TABLE_ELEMENTS_MAX: usize = 100_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes_max {
            self.hit = true;
            return Err(wasmtime::Error::new(MemoryLimitHit {
                limit_bytes: self.memory_bytes_max,
                desired_bytes: desired,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_MAX)
    }
}
