//! [`WasmHost`] (the wasmtime engine, the linker, the timeout clock) and [`LoadedModule`] (a
//! validated, compiled module with its definition and a reusable instance).

use std::sync::Arc;
use std::time::Duration;

use cosmictron_types::Identity;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstancePre, Linker, Memory, Store, TypedFunc};

use crate::abi;
use crate::config::HostConfig;
use crate::def::ModuleDef;
use crate::error::{HostError, Result};
use crate::logs::{LogLine, ModuleLogs};
use crate::policy::WritePolicies;
use crate::route::RouteTable;
use crate::slots::Slots;
use crate::state::{HostState, Shared};
use crate::validate::{self, CALL, DESCRIBE};

/// Loads modules. One per process is enough; cheap to share behind an `Arc`.
pub struct WasmHost {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    config: HostConfig,
}

impl std::fmt::Debug for WasmHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmHost")
            .field("config", &self.config)
            .finish()
    }
}

fn runtime(e: impl std::fmt::Display) -> HostError {
    HostError::Runtime(e.to_string())
}

/// Advances the engine's epoch every `tick` until the engine is gone: the clock of the
/// per-call wall-time limit.
fn start_clock(engine: &Engine, tick: Duration) -> Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("cosmictron-wasm-clock".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(tick);
            }
        })
        .map(drop)
        .map_err(runtime)
}

impl WasmHost {
    pub fn new(config: HostConfig) -> Result<WasmHost> {
        let mut wasm = Config::new();
        wasm.epoch_interruption(true)
            .max_wasm_stack(config.wasm_stack_bytes_max);
        let engine = Engine::new(&wasm).map_err(runtime)?;
        let linker = Arc::new(abi::linker(&engine).map_err(runtime)?);
        start_clock(&engine, config.epoch_tick)?;
        Ok(WasmHost {
            engine,
            linker,
            config,
        })
    }

    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Compiles and validates a module, instantiates it and reads its definition.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<LoadedModule> {
        if bytes.len() > self.config.module_bytes_max {
            return Err(HostError::InvalidModule {
                problems: vec![format!(
                    "the module is {} bytes; the limit is {}",
                    bytes.len(),
                    self.config.module_bytes_max
                )],
            });
        }
        let module = wasmtime::Module::new(&self.engine, bytes)
            .map_err(|e| HostError::Compile(format!("{e:#}")))?;
        let problems = validate::problems(&module);
        if !problems.is_empty() {
            return Err(HostError::InvalidModule { problems });
        }
        let pre = self.linker.instantiate_pre(&module).map_err(runtime)?;
        let mut loaded = LoadedModule {
            name: name.to_owned(),
            identity: module_identity(name),
            registrations: validate::registrations(&module),
            pre,
            def: ModuleDef {
                abi_version: 0,
                tables: Vec::new(),
                reducers: Vec::new(),
                row_types: Default::default(),
            },
            idle: Mutex::new(Vec::new()),
            shared: Shared {
                logs: Arc::new(ModuleLogs::new(self.config.module_log_lines_max)),
                policies: Arc::new(WritePolicies::default()),
                schedulable: Arc::new(Vec::new()),
            },
            config: self.config.clone(),
            reducer_names: Vec::new(),
            route_table: RouteTable::default(),
            reader_slots: Slots::per_cpu(),
        };
        // The policies and the reducer list come from the definition, so the first instance
        // gets them once it has described the module.
        let mut instance = loaded.instantiate()?;
        loaded.def = describe(&mut instance, &loaded.config)?;
        loaded.reducer_names = loaded
            .def
            .reducers
            .iter()
            .map(|r| Arc::from(r.name.as_str()))
            .collect();
        loaded.route_table = RouteTable::new(&loaded.def);
        let policies = WritePolicies::compile(&loaded.def)
            .map_err(|problems| HostError::InvalidModule { problems })?;
        loaded.shared.policies = Arc::new(policies);
        loaded.shared.schedulable = Arc::new(
            loaded
                .def
                .callable_reducers()
                .map(|r| r.name.clone())
                .collect(),
        );
        let state = instance.store.data_mut();
        state.policies = loaded.shared.policies.clone();
        state.schedulable = loaded.shared.schedulable.clone();
        loaded.idle.lock().push(instance);
        Ok(loaded)
    }
}

/// Calls `__cosmictron_describe` and checks what it says.
fn describe(instance: &mut Instance, config: &HostConfig) -> Result<ModuleDef> {
    instance.arm(config);
    let status = instance
        .describe
        .call(&mut instance.store, ())
        .map_err(|e| HostError::InvalidModule {
            problems: vec![format!("`{DESCRIBE}` failed: {e}")],
        })?;
    let json = instance.store.data_mut().result.take().unwrap_or_default();
    if status != 0 {
        return Err(HostError::InvalidModule {
            problems: vec![format!("`{DESCRIBE}` returned status {status}")],
        });
    }
    let def: ModuleDef = serde_json::from_slice(&json).map_err(|e| HostError::InvalidModule {
        problems: vec![format!(
            "`{DESCRIBE}` answered with an invalid definition: {e}"
        )],
    })?;
    let problems = def.problems();
    if !problems.is_empty() {
        return Err(HostError::InvalidModule { problems });
    }
    Ok(def)
}

/// Epoch ticks from now until a call has used up `reducer_timeout` (one extra tick because
/// the clock may tick right after the deadline is set).
fn deadline_ticks(config: &HostConfig) -> u64 {
    let tick_ms = config.epoch_tick.as_millis().max(1);
    let ticks = config.reducer_timeout.as_millis().div_ceil(tick_ms) + 1;
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// A live instance: its store and the exports the host calls.
pub(crate) struct Instance {
    pub(crate) store: Store<HostState>,
    pub(crate) call: TypedFunc<u32, u32>,
    describe: TypedFunc<(), u32>,
}

impl Instance {
    /// Resets the per-call state and the deadline before entering the module.
    pub(crate) fn arm(&mut self, config: &HostConfig) {
        self.store.set_epoch_deadline(deadline_ticks(config));
        let state = self.store.data_mut();
        state.result = None;
        state.last_error_log = None;
        state.limiter.hit = false;
    }
}

/// The identity a module acts as (the sender of its scheduled calls and of `init`): derived
/// from its name, so it is stable across upgrades and restarts.
pub fn module_identity(name: &str) -> Identity {
    let digest = Sha256::new()
        .chain_update(b"cosmictron-module:")
        .chain_update(name.as_bytes())
        .finalize();
    let mut id = [0u8; 32];
    id.copy_from_slice(&digest);
    Identity(id)
}

/// A validated module, ready to run reducers.
pub struct LoadedModule {
    name: String,
    identity: Identity,
    registrations: Vec<String>,
    pre: InstancePre<HostState>,
    def: ModuleDef,
    /// Instances kept between calls; each call takes one (or instantiates one when none is
    /// idle) and puts it back unless it trapped. Boxed, so that taking one out and putting it
    /// back moves a pointer, not the 136-byte instance (in a profile those two copies were
    /// about 5% of a no-op call).
    #[allow(clippy::vec_box)]
    pub(crate) idle: Mutex<Vec<Box<Instance>>>,
    pub(crate) config: HostConfig,
    /// What every instance shares: the log ring, the write policies, the reducer list.
    shared: Shared,
    /// The reducers' names by id, shared with the store for log lines.
    pub(crate) reducer_names: Vec<Arc<str>>,
    /// The HTTP routes, parsed.
    pub(crate) route_table: RouteTable,
    /// Read-only handlers running at once (as many as CPUs).
    pub(crate) reader_slots: Slots,
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("name", &self.name)
            .field("def", &self.def)
            .finish()
    }
}

impl LoadedModule {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The identity the module acts as (see [`module_identity`]).
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// The module's most recent log lines, oldest first.
    pub fn logs(&self) -> Vec<LogLine> {
        self.shared.logs.lines()
    }

    /// Adds a line to the module's log (the host's own notes, e.g. a failed schedule).
    pub(crate) fn log_line(&self, line: LogLine) {
        self.shared.logs.push(line);
    }

    /// The module's tables and reducers.
    pub fn def(&self) -> &ModuleDef {
        &self.def
    }

    /// Discards the idle instances and instantiates a fresh one (what follows a trap); frees
    /// the memory a module grew during earlier calls.
    pub fn reset_instance(&self) -> Result<()> {
        let instance = self.instantiate()?;
        let mut idle = self.idle.lock();
        idle.clear();
        idle.push(instance);
        Ok(())
    }

    /// A fresh instance: instantiated, its memory found, its registrations run.
    pub(crate) fn instantiate(&self) -> Result<Box<Instance>> {
        let state = HostState::new(&self.shared, &self.name, &self.config);
        let mut store = Store::new(self.pre.module().engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(deadline_ticks(&self.config));
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| crate::call::trap_error(e, store.data(), &self.config))?;
        let memory: Memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| HostError::AbiViolation("no `memory` export".into()))?;
        store.data_mut().memory = Some(memory);
        let call = instance
            .get_typed_func::<u32, u32>(&mut store, CALL)
            .map_err(runtime)?;
        let describe = instance
            .get_typed_func::<(), u32>(&mut store, DESCRIBE)
            .map_err(runtime)?;
        for name in &self.registrations {
            let register = instance
                .get_typed_func::<(), ()>(&mut store, name)
                .map_err(runtime)?;
            register
                .call(&mut store, ())
                .map_err(|e| crate::call::trap_error(e, store.data(), &self.config))?;
        }
        Ok(Box::new(Instance {
            store,
            call,
            describe,
        }))
    }
}
