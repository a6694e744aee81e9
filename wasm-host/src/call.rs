//! Running a reducer: the call input, the guest call with the transaction lent to the store,
//! and the outcome — in a transaction of its own ([`LoadedModule::call`]) or in one the caller
//! owns ([`LoadedModule::run_in`]).

use std::time::SystemTime;

use cosmictron_engine::{Database, PendingCommit, TxId, WriteTx};
use cosmictron_types::{ConnectionId, Identity, Timestamp};
use serde_json::value::RawValue;
use wasmtime::Trap;

use crate::call_tx::CallTx;
use crate::config::HostConfig;
use crate::error::{HostError, ModuleError, Result};
use crate::memory::AbiViolation;
use crate::module::{Instance, LoadedModule};
use crate::state::{HostState, MemoryLimitHit};

/// What a committed reducer call produced.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    /// The transaction's id, or `None` when the reducer wrote nothing.
    pub tx_id: Option<TxId>,
    /// The reducer's return value as the module encoded it: JSON text, checked to be valid but
    /// not parsed into a tree (a server sends it on as it is; see [`CallOutcome::value`]).
    pub result: Box<RawValue>,
}

impl CallOutcome {
    /// The return value as a JSON tree.
    pub fn value(&self) -> serde_json::Value {
        // The text was checked when the call returned, so this parse cannot fail.
        serde_json::from_str(self.result.get()).unwrap_or(serde_json::Value::Null)
    }
}

/// A reducer call whose transaction is logged and waits for its fsync (see
/// [`LoadedModule::call_pending`]): wait for it blocking or as a future.
#[derive(Debug)]
pub struct PendingCall {
    pub commit: PendingCommit,
    /// The reducer's return value, as in [`CallOutcome::result`].
    pub result: Box<RawValue>,
}

impl PendingCall {
    /// Blocks until the call's transaction is durable.
    pub fn wait(self) -> Result<CallOutcome> {
        let info = self.commit.wait()?;
        Ok(CallOutcome {
            tx_id: info.tx_id,
            result: self.result,
        })
    }

    /// Resolves once the call's transaction is durable, holding no thread meanwhile.
    pub async fn durable(self) -> Result<CallOutcome> {
        let info = self.commit.durable().await?;
        Ok(CallOutcome {
            tx_id: info.tx_id,
            result: self.result,
        })
    }
}

/// A reducer's arguments, by name: a JSON object or a MessagePack map. The module decodes
/// them (the host only checks the shape), so MessagePack reaches it without conversion.
#[derive(Clone, Copy, Debug)]
pub enum Args<'a> {
    Json(&'a serde_json::Value),
    /// The text of a JSON object, already known to be valid JSON (a server holds a request's
    /// arguments as `serde_json::value::RawValue`): passed to the module as it is, without
    /// building a tree of it and writing it out again.
    JsonText(&'a str),
    MessagePack(&'a [u8]),
}

/// Who is calling, for one reducer call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallContext {
    /// The caller's identity (already authenticated): `ctx.sender`, and `$identity` of the
    /// write policies.
    pub sender: Identity,
    /// The client connection the call came over, if any: `ctx.connection_id`.
    pub connection_id: Option<ConnectionId>,
}

impl CallContext {
    pub fn new(sender: Identity) -> CallContext {
        CallContext {
            sender,
            connection_id: None,
        }
    }
}

/// Who a run acts as: a client (write policies apply) or the module itself (init and
/// scheduled reducers; policies do not restrict the module's own writes).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Authority {
    Client(CallContext),
    Module,
}

/// Status codes `__cosmictron_call` returns.
pub(crate) const CALL_OK: u32 = 0;
const CALL_REDUCER_ERROR: u32 = 1;

/// Idle instances kept per module: enough for the read-only handlers of a busy server (each
/// concurrent one needs an instance; instantiating costs ~100 µs) without instantiating per
/// request, few enough to bound memory (each keeps its linear memory).
const IDLE_INSTANCES_MAX: usize = 16;

/// The error of a call that did not succeed (`status` other than 0).
pub(crate) fn failed_call(status: u32, result: &[u8]) -> HostError {
    match module_error(result) {
        Ok(e) if status == CALL_REDUCER_ERROR => HostError::Reducer(e),
        Ok(e) => HostError::AbiViolation(e.message),
        Err(e) => e,
    }
}

/// Argument formats in the call header.
const ARGS_JSON: u8 = 0;
const ARGS_MESSAGEPACK: u8 = 1;

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

/// What a guest call is given: who acts, the call's time and the arguments.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallInput<'a> {
    pub(crate) authority: Authority,
    pub(crate) timestamp: Timestamp,
    pub(crate) args: Args<'a>,
}

/// Buffers larger than this are not kept for the instance's next call (an idle instance would
/// otherwise hold on to the largest answer it ever carried).
const KEPT_BUFFER_BYTES_MAX: usize = 64 * 1024;

/// Writes the call input into `out` (emptied first): the header, then the arguments.
pub(crate) fn call_input(
    module_identity: Identity,
    call: CallInput<'_>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let (sender, connection) = match call.authority {
        Authority::Client(c) => (c.sender, c.connection_id),
        Authority::Module => (module_identity, None),
    };
    let format = match call.args {
        Args::Json(_) | Args::JsonText(_) => ARGS_JSON,
        Args::MessagePack(_) => ARGS_MESSAGEPACK,
    };
    out.clear();
    out.extend_from_slice(&sender.0);
    out.extend_from_slice(&module_identity.0);
    out.extend_from_slice(&call.timestamp.0.to_le_bytes());
    out.extend_from_slice(&ConnectionId::to_abi(connection).to_le_bytes());
    out.push(format);
    match call.args {
        Args::Json(serde_json::Value::Null) => out.extend_from_slice(b"{}"),
        Args::Json(v @ serde_json::Value::Object(_)) => serde_json::to_writer(&mut *out, v)
            .map_err(|e| HostError::InvalidArguments(e.to_string()))?,
        Args::Json(_) => return Err(not_a_json_object()),
        Args::JsonText(text) => {
            if !text.trim_start().starts_with('{') {
                return Err(not_a_json_object());
            }
            out.extend_from_slice(text.as_bytes());
        }
        Args::MessagePack(bytes) => {
            if !bytes.is_empty() && !is_msgpack_map(bytes[0]) {
                return Err(HostError::InvalidArguments(
                    "arguments are a MessagePack map of named values".into(),
                ));
            }
            out.extend_from_slice(bytes);
        }
    }
    Ok(())
}

fn not_a_json_object() -> HostError {
    HostError::InvalidArguments("arguments are a JSON object of named values".into())
}

/// A MessagePack map's first byte: fixmap, map16 or map32.
fn is_msgpack_map(first: u8) -> bool {
    (0x80..=0x8f).contains(&first) || first == 0xde || first == 0xdf
}

impl LoadedModule {
    /// Calls `reducer` as `sender` with JSON arguments, in a transaction of its own (see
    /// [`LoadedModule::call_with`]).
    pub fn call(
        &self,
        db: &Database,
        reducer: &str,
        args: &serde_json::Value,
        sender: Identity,
    ) -> Result<CallOutcome> {
        self.call_with(db, reducer, Args::Json(args), CallContext::new(sender))
    }

    /// Calls `reducer` in a transaction of its own: commits on success, rolls back on any
    /// error (the reducer's own, a trap, a time-out, the memory limit, an ABI violation, a
    /// write policy). Lifecycle reducers and HTTP handlers are not callable: `no_such_reducer`.
    pub fn call_with(
        &self,
        db: &Database,
        reducer: &str,
        args: Args<'_>,
        ctx: CallContext,
    ) -> Result<CallOutcome> {
        self.call_pending(db, reducer, args, ctx)?.wait()
    }

    /// Runs the lifecycle reducer `lifecycle` (`client_connected`, `client_disconnected`) for
    /// `ctx` in a transaction of its own; `Ok(None)` when the module has none.
    pub fn call_lifecycle(
        &self,
        db: &Database,
        lifecycle: &str,
        ctx: CallContext,
    ) -> Result<Option<CallOutcome>> {
        let Some(def) = self.def().lifecycle_reducer(lifecycle) else {
            return Ok(None);
        };
        let name = def.name.clone();
        let args = serde_json::Value::Null;
        self.call_in_own_tx(db, &name, Args::Json(&args), Authority::Client(ctx))
            .map(Some)
    }

    /// [`call_with`](Self::call_with) up to the commit: the reducer has run and its
    /// transaction is logged, with the writer released for the next call; the returned
    /// [`PendingCall`] waits for the fsync. A server awaits it so that commits waiting for
    /// their shared fsync hold no thread.
    pub fn call_pending(
        &self,
        db: &Database,
        reducer: &str,
        args: Args<'_>,
        ctx: CallContext,
    ) -> Result<PendingCall> {
        match self.def().reducer(reducer) {
            Some((_, def)) if def.is_callable() => {}
            _ => return Err(HostError::NoSuchReducer(reducer.to_owned())),
        }
        self.call_in_own_tx_pending(db, reducer, args, Authority::Client(ctx))
    }

    pub(crate) fn call_in_own_tx(
        &self,
        db: &Database,
        reducer: &str,
        args: Args<'_>,
        authority: Authority,
    ) -> Result<CallOutcome> {
        self.call_in_own_tx_pending(db, reducer, args, authority)?
            .wait()
    }

    fn call_in_own_tx_pending(
        &self,
        db: &Database,
        reducer: &str,
        args: Args<'_>,
        authority: Authority,
    ) -> Result<PendingCall> {
        let tx = db.begin_write_owned()?;
        let (tx, result) = self.run(tx, reducer, args, authority, now())?;
        Ok(PendingCall {
            commit: tx.commit_pending()?,
            result,
        })
    }

    /// Runs `reducer` as the module itself (no write policies) inside `tx`, and hands `tx`
    /// back with the result for the caller to go on and commit. On error `tx` has been rolled
    /// back (dropped): the reducer may have written before it failed. Used for `init`,
    /// together with the creation of the module's tables.
    pub fn run_in(
        &self,
        tx: WriteTx<'static>,
        reducer: &str,
        args: &serde_json::Value,
        timestamp: Timestamp,
    ) -> Result<(WriteTx<'static>, Box<RawValue>)> {
        self.run(tx, reducer, Args::Json(args), Authority::Module, timestamp)
    }

    /// Lends `tx` to an instance for one guest call and takes it back. On any error the
    /// transaction is dropped, which rolls it back.
    pub(crate) fn run(
        &self,
        tx: WriteTx<'static>,
        reducer: &str,
        args: Args<'_>,
        authority: Authority,
        timestamp: Timestamp,
    ) -> Result<(WriteTx<'static>, Box<RawValue>)> {
        let (id, _) = self
            .def()
            .reducer(reducer)
            .ok_or_else(|| HostError::NoSuchReducer(reducer.to_owned()))?;
        let input = CallInput {
            authority,
            timestamp,
            args,
        };
        let (tx, status, result) = self.guest_call(CallTx::Write(tx), id, input)?;
        let CallTx::Write(tx) = tx else {
            return Err(HostError::Runtime(
                "the reducer's transaction was lost".into(),
            ));
        };
        match status {
            CALL_OK => {
                let text = String::from_utf8(result).map_err(|_| {
                    HostError::AbiViolation("the reducer's result is not UTF-8".into())
                })?;
                let value = RawValue::from_string(text).map_err(|e| {
                    HostError::AbiViolation(format!("the reducer's result is not JSON: {e}"))
                })?;
                Ok((tx, value))
            }
            other => Err(failed_call(other, &result)),
        }
    }

    /// One guest call of `__cosmictron_call(id)` with `input` in the buffer and `tx` lent to
    /// the store: the transaction back, the status and the result bytes. A trapped instance
    /// is dropped (never reused); a healthy one goes back to the idle pool.
    pub(crate) fn guest_call(
        &self,
        tx: CallTx,
        id: u32,
        input: CallInput<'_>,
    ) -> Result<(CallTx, u32, Vec<u8>)> {
        let taken = self.idle.lock().pop();
        let mut instance = match taken {
            Some(instance) => instance,
            None => self.instantiate()?,
        };
        let state = instance.store.data_mut();
        // Written into the instance's own buffer: its allocation serves call after call.
        if let Err(e) = call_input(self.identity(), input, &mut state.buffer) {
            self.keep_idle(instance);
            return Err(e);
        }
        // A shared name: no allocation per call.
        state.reducer = self.reducer_names.get(id as usize).cloned();
        state.policy_identity = match input.authority {
            Authority::Client(c) => Some(c.sender),
            Authority::Module => None,
        };
        state.tx = Some(tx);
        instance.arm(&self.config);
        let status = instance.call.call(&mut instance.store, id);
        let state = instance.store.data_mut();
        // Host functions only borrow the transaction, so it is still there.
        let tx = state.tx.take();
        state.reducer = None;
        if state.buffer.capacity() > KEPT_BUFFER_BYTES_MAX {
            state.buffer = Vec::new();
        } else {
            state.buffer.clear();
        }
        let result = state.result.take().unwrap_or_default();
        let status = match status {
            Ok(status) => status,
            // The instance is dropped here: a trapped instance is never reused.
            Err(e) => return Err(trap_error(e, instance.store.data(), &self.config)),
        };
        self.keep_idle(instance);
        let tx = tx.ok_or_else(|| HostError::Runtime("the call's transaction was lost".into()))?;
        Ok((tx, status, result))
    }

    /// Puts a healthy instance back in the idle pool, unless the pool is full.
    fn keep_idle(&self, instance: Box<Instance>) {
        let mut idle = self.idle.lock();
        if idle.len() < IDLE_INSTANCES_MAX {
            idle.push(instance);
        }
    }
}
