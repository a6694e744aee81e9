//! `POST /v1/reducers/:name` and `POST /v1/modules/:module/reducers/:name`: one reducer call,
//! one transaction. The body is a JSON object of named arguments (an empty body is `{}`).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use cosmictron_types::ConnectionId;
use cosmictron_wasm_host::{Args, CallContext, PendingCall};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use serde_json::value::RawValue;

use crate::app::{AppState, Core, Counters};
use crate::error::{Error, Result};
use crate::facade::RawCallResult;
use crate::http::caller::Caller;
use crate::http::response::ApiBytes;

#[derive(Debug, Deserialize)]
pub(crate) struct ModuleQuery {
    module: Option<String>,
}

/// The module that has `reducer`: the one named, else the only one that has it.
pub(crate) fn resolve_module(core: &Core, reducer: &str, module: Option<&str>) -> Result<String> {
    if let Some(m) = module {
        return Ok(m.to_owned());
    }
    let owners = core.db.modules_with_reducer(reducer);
    match owners.len() {
        0 => Err(Error::request(
            404,
            "unknown_reducer",
            format!("no deployed module has a reducer named `{reducer}`"),
        )),
        1 => Ok(owners.into_iter().next().unwrap_or_default()),
        _ => Err(Error::request(
            409,
            "ambiguous_reducer",
            format!(
                "modules {} all have a reducer named `{reducer}`; call /v1/modules/<module>/reducers/{reducer} or add ?module=",
                owners.join(", ")
            ),
        )),
    }
}

/// The arguments in a request body: MessagePack when the content type says so, else JSON
/// (an empty body is `{}`).
pub(crate) fn parse_args(headers: &HeaderMap, body: &[u8]) -> Result<CallArgs> {
    let msgpack = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.starts_with("application/msgpack") || t.starts_with("application/x-msgpack")
        });
    if msgpack {
        return Ok(CallArgs::MessagePack(body.to_vec()));
    }
    parse_json_args(body)
}

/// A JSON body's arguments, checked to be valid JSON and an object but kept as text: the
/// module decodes them itself, so a tree would only be built to be written out again.
fn parse_json_args(body: &[u8]) -> Result<CallArgs> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(CallArgs::none());
    }
    let args: Box<RawValue> = serde_json::from_slice(body)
        .map_err(|e| Error::request(400, "malformed_json", format!("the body is not JSON: {e}")))?;
    let args = CallArgs::JsonText(args);
    if !args.is_named() {
        return Err(Error::request(
            422,
            "invalid_arguments",
            "reducer arguments are a JSON object of named arguments",
        ));
    }
    Ok(args)
}

/// The answer to a committed call, `{tx_id, status: "committed", duration_ms, result}`, with
/// the module's JSON result sent on as it is.
#[derive(Debug, Serialize)]
pub(crate) struct CallAnswer<'a> {
    pub(crate) tx_id: Option<u64>,
    pub(crate) status: &'static str,
    pub(crate) duration_ms: f64,
    pub(crate) result: &'a RawValue,
}

impl<'a> CallAnswer<'a> {
    pub(crate) fn of(out: &'a RawCallResult) -> CallAnswer<'a> {
        CallAnswer {
            tx_id: out.tx_id,
            status: "committed",
            duration_ms: out.duration_ms,
            result: &out.result,
        }
    }
}

/// The call's answer as an HTTP response body.
fn call_response(out: &RawCallResult) -> Result<Response> {
    let body = serde_json::to_vec(&CallAnswer::of(out))
        .map_err(|e| Error::request(500, "internal", format!("encoding the answer: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Reducer arguments as they arrived: a JSON object (as text, or as a tree when it came inside
/// a MessagePack message), or MessagePack bytes of a map.
#[derive(Debug)]
pub(crate) enum CallArgs {
    JsonText(Box<RawValue>),
    Json(Json),
    MessagePack(Vec<u8>),
}

impl CallArgs {
    /// The arguments as the host takes them.
    pub(crate) fn as_args(&self) -> Args<'_> {
        match self {
            CallArgs::JsonText(text) => Args::JsonText(text.get()),
            CallArgs::Json(tree) => Args::Json(tree),
            CallArgs::MessagePack(b) => Args::MessagePack(b),
        }
    }

    /// The arguments of a call that sends none: `{}`.
    pub(crate) fn none() -> CallArgs {
        CallArgs::Json(Json::Object(Default::default()))
    }

    /// Whether the arguments are named (a JSON object; MessagePack is checked by the host).
    pub(crate) fn is_named(&self) -> bool {
        match self {
            CallArgs::JsonText(text) => text.get().trim_start().starts_with('{'),
            CallArgs::Json(tree) => tree.is_object(),
            CallArgs::MessagePack(_) => true,
        }
    }
}

/// Calls `reducer` of `module` as `caller` (over `connection`, for WebSocket calls): the
/// reducer runs on the module's call thread, then the commit's fsync is awaited here, so the
/// call thread goes on with the next call meanwhile.
pub(crate) async fn call(
    state: &Arc<AppState>,
    caller: Caller,
    module: Option<String>,
    reducer: String,
    args: CallArgs,
    connection: Option<ConnectionId>,
) -> Result<RawCallResult> {
    let core = state.core()?.clone();
    Counters::bump(&state.counters.reducer_calls);
    let module = resolve_module(&core, &reducer, module.as_deref())?;
    let ctx = CallContext {
        sender: caller.identity,
        connection_id: connection,
    };
    let start = Instant::now();
    let queue = module.clone();
    let out = async {
        let pending = state
            .calls
            .run(&queue, move || {
                core.db.call_pending(&module, &reducer, args.as_args(), ctx)
            })
            .await?;
        finish(pending, start).await
    }
    .await;
    if out.is_err() {
        Counters::bump(&state.counters.reducer_errors);
    }
    out
}

/// Waits for a logged call's fsync: the answer, timed from `start`.
async fn finish(pending: PendingCall, start: Instant) -> Result<RawCallResult> {
    let outcome = pending.durable().await?;
    Ok(RawCallResult {
        tx_id: outcome.tx_id,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        result: outcome.result,
    })
}

/// One call of a batch: who asked (the request's id), and what.
pub(crate) struct BatchedCall {
    pub(crate) id: u64,
    pub(crate) reducer: String,
    pub(crate) args: CallArgs,
}

/// Runs `calls` to one module (already resolved) as one job of its call thread, each its own
/// transaction, in order, and returns each call's id with its logged (not yet durable) commit
/// or its failure: a pipelining client's calls that arrived together so cost one hand-off to the
/// call thread instead of one each. [`answer`] then waits for each commit's fsync.
pub(crate) async fn call_batch(
    state: &Arc<AppState>,
    caller: Caller,
    connection: ConnectionId,
    module: String,
    calls: Vec<BatchedCall>,
) -> Vec<(u64, Result<PendingCall>)> {
    let ids: Vec<u64> = calls.iter().map(|c| c.id).collect();
    let ctx = CallContext {
        sender: caller.identity,
        connection_id: Some(connection),
    };
    let logged = match state.core() {
        Ok(core) => {
            let core = core.clone();
            let queue = module.clone();
            state
                .calls
                .run(&queue, move || {
                    Ok(calls
                        .into_iter()
                        .map(|c| {
                            // One call's host panic fails that call only: the ones before it
                            // in the batch may have committed and must be answered as such.
                            std::panic::catch_unwind(AssertUnwindSafe(|| {
                                core.db
                                    .call_pending(&module, &c.reducer, c.args.as_args(), ctx)
                            }))
                            .unwrap_or_else(|_| {
                                Err(Error::request(500, "internal", "the reducer call panicked"))
                            })
                        })
                        .collect::<Vec<_>>())
                })
                .await
        }
        Err(e) => Err(e.duplicate()),
    };
    match logged {
        Ok(each) => ids.into_iter().zip(each).collect(),
        // The batch never ran: the same failure for every call of it.
        Err(e) => ids.into_iter().map(|id| (id, Err(e.duplicate()))).collect(),
    }
}

/// A batched call's answer: its commit once durable (timed from `start`), or its failure.
pub(crate) async fn answer(
    state: &AppState,
    logged: Result<PendingCall>,
    start: Instant,
) -> Result<RawCallResult> {
    Counters::bump(&state.counters.reducer_calls);
    let out = match logged {
        Ok(pending) => finish(pending, start).await,
        Err(e) => Err(e),
    };
    if out.is_err() {
        Counters::bump(&state.counters.reducer_errors);
    }
    out
}

pub(crate) async fn call_by_name(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(reducer): Path<String>,
    Query(q): Query<ModuleQuery>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Response> {
    let args = parse_args(&headers, &body)?;
    let out = call(&state, caller, q.module, reducer, args, None).await?;
    call_response(&out)
}

pub(crate) async fn call_in_module(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((module, reducer)): Path<(String, String)>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Response> {
    let args = parse_args(&headers, &body)?;
    let out = call(&state, caller, Some(module), reducer, args, None).await?;
    call_response(&out)
}
