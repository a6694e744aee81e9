//! [`HostState`]: what a store holds for one module instance between and during calls.

use std::sync::Arc;

use cosmictron_types::Identity;
use wasmtime::{Memory, ResourceLimiter};

use crate::call_tx::CallTx;
use crate::logs::ModuleLogs;
use crate::policy::WritePolicies;

/// Store data of one instance.
pub(crate) struct HostState {
    /// The instance's exported memory, set right after instantiation.
    pub(crate) memory: Option<Memory>,
    /// Host → module: the call input, then each data call's answer.
    pub(crate) buffer: Vec<u8>,
    /// Module → host: the answer of `__cosmictron_describe` / `__cosmictron_call`.
    pub(crate) result: Option<Vec<u8>>,
    /// The call's write transaction (or, for a read-only handler, its snapshot), owned by the
    /// store while the guest runs (wasmtime store data is `'static`, so the transaction owns
    /// its database handle), and taken back by the call before it commits or rolls back.
    /// `None` between calls: a data call then is an ABI violation.
    pub(crate) tx: Option<CallTx>,
    /// Whose write policies apply to this call's writes: `None` runs as the module itself
    /// (init, scheduled reducers), which policies do not restrict.
    pub(crate) policy_identity: Option<Identity>,
    /// The module's compiled write policies (shared by its instances).
    pub(crate) policies: Arc<WritePolicies>,
    pub(crate) limiter: MemoryLimiter,
    /// The last error-level log line of the current call (a panic message), for trap errors.
    pub(crate) last_error_log: Option<String>,
    pub(crate) call_buffer_bytes_max: usize,
    /// For log lines.
    pub(crate) module_name: String,
    /// The module's log ring buffer (shared by its instances).
    pub(crate) logs: Arc<ModuleLogs>,
    /// The reducer running now, for log lines.
    pub(crate) reducer: Option<Arc<str>>,
    /// Reducers a module may schedule (its callable reducers); empty until described.
    pub(crate) schedulable: Arc<Vec<String>>,
    /// Schedules made by this call so far, against `schedules_per_call_max`.
    pub(crate) schedules_made: usize,
    pub(crate) schedules_per_call_max: usize,
    pub(crate) schedule_repeat_micros_min: i64,
}

/// What every instance of a module shares.
pub(crate) struct Shared {
    pub(crate) logs: Arc<ModuleLogs>,
    pub(crate) policies: Arc<WritePolicies>,
    pub(crate) schedulable: Arc<Vec<String>>,
}

impl HostState {
    pub(crate) fn new(
        shared: &Shared,
        module_name: &str,
        config: &crate::config::HostConfig,
    ) -> HostState {
        HostState {
            memory: None,
            buffer: Vec::new(),
            result: None,
            tx: None,
            policy_identity: None,
            policies: shared.policies.clone(),
            limiter: MemoryLimiter {
                memory_bytes_max: config.module_memory_bytes_max,
                hit: false,
            },
            last_error_log: None,
            call_buffer_bytes_max: config.call_buffer_bytes_max,
            module_name: module_name.to_owned(),
            logs: shared.logs.clone(),
            reducer: None,
            schedulable: shared.schedulable.clone(),
            schedules_made: 0,
            schedules_per_call_max: config.schedules_per_call_max,
            schedule_repeat_micros_min: i64::try_from(config.schedule_period_min.as_micros())
                .unwrap_or(i64::MAX),
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
