//! [`HostConfig`]: limits on modules and calls, with safe defaults.

use std::time::Duration;

/// Limits applied to every module and every reducer call.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Largest module accepted at load.
    pub module_bytes_max: usize,
    /// Wall time of one reducer call (checked at the granularity of `epoch_tick`).
    pub reducer_timeout: Duration,
    /// Largest linear memory a module instance may grow to.
    pub module_memory_bytes_max: usize,
    /// Largest wasm stack of a call.
    pub wasm_stack_bytes_max: usize,
    /// Largest answer a host call hands the module (a scan, an error).
    pub call_buffer_bytes_max: usize,
    /// How often the timeout clock ticks.
    pub epoch_tick: Duration,
    /// Log lines kept per module (the oldest are dropped first).
    pub module_log_lines_max: usize,
    /// Schedules one reducer call may make.
    pub schedules_per_call_max: usize,
    /// Shortest period of a repeating schedule.
    pub schedule_period_min: Duration,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            module_bytes_max: 16 << 20,
            reducer_timeout: Duration::from_secs(5),
            module_memory_bytes_max: 256 << 20,
            wasm_stack_bytes_max: 512 << 10,
            call_buffer_bytes_max: 64 << 20,
            epoch_tick: Duration::from_millis(10),
            module_log_lines_max: 1000,
            schedules_per_call_max: 1000,
            schedule_period_min: Duration::from_millis(1),
        }
    }
}
