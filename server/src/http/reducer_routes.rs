//! `POST /v1/reducers/:name` and `POST /v1/modules/:module/reducers/:name`: one reducer call,
//! one transaction. The body is a JSON object of named arguments (an empty body is `{}`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use cosmictron_types::ConnectionId;
use cosmictron_wasm_host::{Args, CallContext};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::app::{AppState, Core, Counters};
use crate::error::{Error, Result};
use crate::facade::CallResult;
use crate::http::blocking::blocking;
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
    parse_json_args(body).map(CallArgs::Json)
}

fn parse_json_args(body: &[u8]) -> Result<Json> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Object(Default::default()));
    }
    let args: Json = serde_json::from_slice(body)
        .map_err(|e| Error::request(400, "malformed_json", format!("the body is not JSON: {e}")))?;
    if !args.is_object() {
        return Err(Error::request(
            422,
            "invalid_arguments",
            "reducer arguments are a JSON object of named arguments",
        ));
    }
    Ok(args)
}

pub(crate) fn call_json(out: &CallResult) -> Json {
    json!({
        "tx_id": out.tx_id,
        "status": "committed",
        "duration_ms": out.duration_ms,
        "result": out.result,
    })
}

/// Reducer arguments as they arrived: a JSON object, or MessagePack bytes of a map.
#[derive(Debug)]
pub(crate) enum CallArgs {
    Json(Json),
    MessagePack(Vec<u8>),
}

/// Calls `reducer` of `module` as `caller` (over `connection`, for WebSocket calls) on the
/// blocking pool.
pub(crate) async fn call(
    state: &Arc<AppState>,
    caller: Caller,
    module: Option<String>,
    reducer: String,
    args: CallArgs,
    connection: Option<ConnectionId>,
) -> Result<CallResult> {
    let core = state.core()?.clone();
    Counters::bump(&state.counters.reducer_calls);
    let module = resolve_module(&core, &reducer, module.as_deref())?;
    let ctx = CallContext {
        sender: caller.identity,
        connection_id: connection,
    };
    let out = blocking(move || {
        let args = match &args {
            CallArgs::Json(v) => Args::Json(v),
            CallArgs::MessagePack(b) => Args::MessagePack(b),
        };
        core.db.call_with(&module, &reducer, args, ctx)
    })
    .await;
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
) -> Result<axum::Json<Json>> {
    let args = parse_args(&headers, &body)?;
    let out = call(&state, caller, q.module, reducer, args, None).await?;
    Ok(axum::Json(call_json(&out)))
}

pub(crate) async fn call_in_module(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((module, reducer)): Path<(String, String)>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<axum::Json<Json>> {
    let args = parse_args(&headers, &body)?;
    let out = call(&state, caller, Some(module), reducer, args, None).await?;
    Ok(axum::Json(call_json(&out)))
}
