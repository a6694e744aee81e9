//! cosmictron-wasm-host: loads Cosmictron modules with wasmtime and runs their reducers as
//! engine transactions.
//!
//! The life of a reducer call ([`LoadedModule::call_with`]):
//!
//! ```text
//!  call_with(db, "add_item", Args::Json({"name": "x"}) | JsonText(r#"{"name":"x"}"#)
//!                             | MessagePack(..), ctx)
//!    │ 1. look the reducer up in the module's definition (no_such_reducer; lifecycle
//!    │    reducers are not callable)
//!    │ 2. db.begin_write_owned(): the database's one writer, as an owned `'static` value
//!    │ 3. take the idle instance (or instantiate a fresh one from the InstancePre)
//!    │ 4. arm it: epoch deadline (reducer_timeout), memory limiter (module_memory_limit)
//!    │ 5. buffer ← header (sender, module identity, timestamp, connection id, format) + args;
//!    │    the store takes ownership of the transaction for the guest call
//!    │ 6. __cosmictron_call(id) ─► table_insert/update/... on the transaction, each write
//!    │    checked against the table's write policies with $identity = sender
//!    │ 7. take the transaction back; a trapped instance is dropped, a healthy one kept
//!    │ 8. status 0: commit, return the JSON result; otherwise roll back with a coded error
//!    ▼
//!  CallOutcome { tx_id, result }
//! ```
//!
//! Scheduled reducers live in the module's own database (`schedule.rs`); the embedder fires
//! due ones with [`LoadedModule::fire_due`]. Upgrades are checked by [`plan_upgrade`]. Every
//! pointer and length a module passes is bounds-checked (`memory.rs`); the module ABI
//! (`cosmictron_v1`) is documented in `docs/module-abi.md`.
//!
//! Layout:
//! - `module.rs`     [`WasmHost`] (engine, linker, timeout clock) and [`LoadedModule`]
//! - `call.rs`       the call input, running a reducer in a transaction; traps → error codes
//! - `call_tx.rs`    what data calls run on: the write transaction or a read-only snapshot
//! - `route.rs`      HTTP routes: matching a request, running its handler (writer or snapshot)
//! - `view.rs`       views: running one on a snapshot as the caller, checking its rows
//! - `slots.rs`      a counting semaphore: read-only calls run at most one per CPU at once
//! - `abi.rs`        the `cosmictron_v1` linker; buffer, result, log and random imports
//! - `abi_tables.rs` the table imports (insert, update, delete, get, scan, find, range)
//! - `schedule.rs`   scheduled reducers: imports, the schedules table, firing due ones
//! - `policy.rs`     write policies compiled per module, checked on every client write
//! - `upgrade.rs`    [`plan_upgrade`]: which table changes an upgrade may make
//! - `memory.rs`     bounds-checked guest memory access
//! - `state.rs`      per-instance store data and the memory limiter
//! - `logs.rs`       the per-module log ring buffer
//! - `validate.rs`   import/export checks at load
//! - `def.rs`        [`ModuleDef`]: the module's tables and reducers, and their checks
//! - `config.rs`     [`HostConfig`] limits
//! - `toolchain.rs`  [`ensure_wasm_target`]: the wasm32 target, for tools that build modules
//! - `error.rs`      [`HostError`] with stable codes

mod abi;
mod abi_tables;
mod call;
mod call_tx;
mod config;
mod def;
mod error;
mod logs;
mod memory;
mod module;
mod policy;
mod route;
mod schedule;
mod slots;
mod state;
mod toolchain;
mod upgrade;
mod validate;
mod view;

pub use call::{Args, CallContext, CallOutcome, PendingCall};
pub use config::HostConfig;
pub use def::{ABI_VERSION, LIFECYCLES, ModuleDef, ReducerDef};
pub use error::{HostError, ModuleError, Result};
pub use logs::{LogLevel, LogLine};
pub use module::{LoadedModule, WasmHost, module_identity};
pub use route::{MatchedRoute, PendingRoute, RouteMatch, RouteOutcome};
pub use schedule::{
    SCHEDULES_TABLE, Schedule, ScheduledRun, ensure_schedules_table, schedules_table_def,
};
pub use toolchain::{WASM_TARGET, ensure_wasm_target};
pub use upgrade::{UpgradePlan, plan_upgrade};
