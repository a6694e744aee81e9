//! Running a reducer: inside the caller's write transaction ([`LoadedModule::run_in`]) or in
//! a transaction of its own ([`LoadedModule::call`]).

use std::ptr::NonNull;
use std::time::SystemTime;

use cosmictron_engine::{Database, TxId, WriteTx};
use cosmictron_types::{Identity, Timestamp};
use wasmtime::Trap;

use crate::config::HostConfig;
use crate::error::{HostError, ModuleError, Result};
use crate::memory::AbiViolation;
use crate::module::LoadedModule;
use crate::state::{HostState, MemoryLimitHit, TxPtr};

/// What a committed reducer call produced.
#[derive(Clone, Debug, PartialEq)]
pub struct CallOutcome {
    /// The transaction's id, or `None` when the reducer wrote nothing.
    pub tx_id: Option<TxId>,
    /// The reducer's return value.
    pub result: serde_json::Value,
}

/// Status codes `__cosmictron_call` returns.
const CALL_OK: u32 = 0;
const CALL_REDUCER_ERROR: u32 = 1;

pub(crate) fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    Timestamp(i64::try_from(micros).unwrap_or(i64::MAX))
}

/// Turns a failed guest call into the error the caller sees.
pub(crate) fn trap_error(e: wasmtime::Error, state: &HostState, config: &HostConfig) -> HostError {
    if let Some(v) = e.downcast_ref::<AbiViolation>() {
        return HostError::AbiViolation(v.0.clone());
    }
    if e.downcast_ref::<MemoryLimitHit>().is_some() || state.limiter.hit {
        return HostError::MemoryLimit {
            limit_bytes: state.limiter.memory_bytes_max,
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => HostError::Timeout {
            timeout_ms: u64::try_from(config.reducer_timeout.as_millis()).unwrap_or(u64::MAX),
        },
        Some(trap) => HostError::Trap(match &state.last_error_log {
            Some(line) => format!("{trap}: {line}"),
            None => trap.to_string(),
        }),
        None => HostError::Trap(e.to_string()),
    }
}

fn module_error(bytes: &[u8]) -> Result<ModuleError> {
    serde_json::from_slice(bytes).map_err(|e| {
        HostError::AbiViolation(format!("the module answered with an invalid error: {e}"))
    })
}

impl LoadedModule {
    /// Calls `reducer` in a transaction of its own: commits on success, rolls back on any
    /// error (the reducer's own, a trap, a time-out, the memory limit, an ABI violation).
    /// Lifecycle reducers (`init`) are not callable: `no_such_reducer`.
    pub fn call(
        &self,
        db: &Database,
        reducer: &str,
        args: &serde_json::Value,
        sender: Identity,
    ) -> Result<CallOutcome> {
        // Lifecycle reducers are run by the host, never by callers.
        match self.def().reducer(reducer) {
            Some((_, def)) if def.lifecycle.is_none() => {}
            _ => return Err(HostError::NoSuchReducer(reducer.to_owned())),
        }
        let mut tx = db.begin_write()?;
        let result = self.run_in(&mut tx, reducer, args, sender, now())?;
        let info = tx.commit()?;
        Ok(CallOutcome {
            tx_id: info.tx_id,
            result,
        })
    }

    /// Runs `reducer` inside `tx`. On error the caller must roll `tx` back (drop it): the
    /// reducer may have written before it failed.
    pub fn run_in(
        &self,
        tx: &mut WriteTx<'_>,
        reducer: &str,
        args: &serde_json::Value,
        sender: Identity,
        timestamp: Timestamp,
    ) -> Result<serde_json::Value> {
        let (id, _) = self
            .def()
            .reducer(reducer)
            .ok_or_else(|| HostError::NoSuchReducer(reducer.to_owned()))?;
        let args = match args {
            serde_json::Value::Null => b"{}".to_vec(),
            serde_json::Value::Object(_) => {
                serde_json::to_vec(args).map_err(|e| HostError::InvalidArguments(e.to_string()))?
            }
            _ => {
                return Err(HostError::InvalidArguments(
                    "arguments are a JSON object of named values".into(),
                ));
            }
        };
        let mut input = Vec::with_capacity(40 + args.len());
        input.extend_from_slice(&sender.0);
        input.extend_from_slice(&timestamp.0.to_le_bytes());
        input.extend_from_slice(&args);

        let taken = self.idle.lock().take();
        let mut instance = match taken {
            Some(i) => i,
            None => self.instantiate()?,
        };
        instance.arm(&self.config);
        let state = instance.store.data_mut();
        state.buffer = input;
        state.reducer = Some(reducer.to_owned());
        state.tx = Some(TxPtr(NonNull::from(&mut *tx).cast()));
        let status = instance.call.call(&mut instance.store, id);
        // The transaction is lent only for the guest call.
        let state = instance.store.data_mut();
        state.tx = None;
        state.reducer = None;
        state.buffer = Vec::new();
        let result = state.result.take().unwrap_or_default();
        let status = match status {
            Ok(status) => status,
            // The instance is dropped here: a trapped instance is never reused.
            Err(e) => return Err(trap_error(e, instance.store.data(), &self.config)),
        };
        *self.idle.lock() = Some(instance);
        match status {
            CALL_OK => serde_json::from_slice(&result).map_err(|e| {
                HostError::AbiViolation(format!("the reducer's result is not JSON: {e}"))
            }),
            CALL_REDUCER_ERROR => Err(HostError::Reducer(module_error(&result)?)),
            _ => Err(HostError::AbiViolation(module_error(&result)?.message)),
        }
    }
}
