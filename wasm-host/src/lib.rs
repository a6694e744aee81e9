//! cosmictron-wasm-host: loads Cosmictron modules with wasmtime and runs their reducers as
//! engine transactions.
//!
//! The life of a reducer call ([`LoadedModule::call`]):
//!
//! ```text
//!  call(db, "add_item", {"name": "x"}, sender)
//!    │ 1. look the reducer up in the module's definition (no_such_reducer)
//!    │ 2. db.begin_write(): the database's one writer
//!    │ 3. take the idle instance (or instantiate a fresh one: registrations run)
//!    │ 4. arm it: epoch deadline (reducer_timeout), memory limiter (module_memory_limit)
//!    │ 5. buffer ← sender · timestamp · args JSON; lend the transaction to the store
//!    │ 6. __cosmictron_call(id) ─► the module calls table_insert/get/... on the transaction
//!    │ 7. take the transaction back; a trap drops the instance
//!    │ 8. status 0: commit, return the JSON result; otherwise roll back with a coded error
//!    ▼
//!  CallOutcome { tx_id, result }
//! ```
//!
//! Every pointer and length a module passes is bounds-checked (`memory.rs`); the module ABI
//! (`cosmictron_v1`) is documented in `docs/module-abi.md`.
//!
//! Layout:
//! - `module.rs`   [`WasmHost`] (engine, linker, timeout clock) and [`LoadedModule`]
//! - `call.rs`     running a reducer in a transaction; traps → error codes
//! - `abi.rs`      the `cosmictron_v1` host functions
//! - `memory.rs`   bounds-checked guest memory access
//! - `state.rs`    per-instance store data and the memory limiter
//! - `logs.rs`     the per-module log ring buffer
//! - `validate.rs` import/export checks at load
//! - `def.rs`      [`ModuleDef`]: the module's tables and reducers, and their checks
//! - `config.rs`   [`HostConfig`] limits
//! - `error.rs`    [`HostError`] with stable codes

mod abi;
mod abi_tables;
mod call;
mod config;
mod def;
mod error;
mod logs;
mod memory;
mod module;
mod policy;
mod schedule;
mod state;
mod upgrade;
mod validate;

pub use call::{Args, CallContext, CallOutcome};
pub use config::HostConfig;
pub use def::{ABI_VERSION, LIFECYCLES, ModuleDef, ReducerDef};
pub use error::{HostError, ModuleError, Result};
pub use logs::{LogLevel, LogLine};
pub use module::{LoadedModule, WasmHost, module_identity};
pub use schedule::{
    SCHEDULES_TABLE, Schedule, ScheduledRun, ensure_schedules_table, schedules_table_def,
};
pub use upgrade::{UpgradePlan, plan_upgrade};
