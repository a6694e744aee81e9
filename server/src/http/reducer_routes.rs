//! `POST /v1/reducers/:name` and `POST /v1/modules/:module/reducers/:name`: one reducer call,
//! one transaction. The body is a JSON object of named arguments (an empty body is `{}`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
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
    let owners: Vec<String> = core
        .db
        .modules()
        .into_iter()
        .filter(|m| m.reducers.iter().any(|r| r == reducer))
        .map(|m| m.name)
        .collect();
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

pub(crate) fn parse_args(body: &[u8]) -> Result<Json> {
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

/// Calls `reducer` of `module` as `caller` on the blocking pool.
pub(crate) async fn call(
    state: &Arc<AppState>,
    caller: Caller,
    module: Option<String>,
    reducer: String,
    args: Json,
) -> Result<CallResult> {
    let core = state.core()?.clone();
    Counters::bump(&state.counters.reducer_calls);
    let module = resolve_module(&core, &reducer, module.as_deref())?;
    let out = blocking(move || core.db.call(&module, &reducer, &args, caller.identity)).await;
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
    ApiBytes(body): ApiBytes,
) -> Result<axum::Json<Json>> {
    let args = parse_args(&body)?;
    let out = call(&state, caller, q.module, reducer, args).await?;
    Ok(axum::Json(call_json(&out)))
}

pub(crate) async fn call_in_module(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((module, reducer)): Path<(String, String)>,
    ApiBytes(body): ApiBytes,
) -> Result<axum::Json<Json>> {
    let args = parse_args(&body)?;
    let out = call(&state, caller, Some(module), reducer, args).await?;
    Ok(axum::Json(call_json(&out)))
}
