//! `POST /v1/sql {query, params, module?}` → `{columns, rows, tx_id}`: read-only SQL with
//! `AS OF TX n`, under the caller's row-level security.

use std::sync::Arc;

use axum::extract::State;
use cosmictron_sql::{Caller as SqlCaller, QueryResult, referenced_tables, value_to_json};
use cosmictron_types::Value;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::app::{AppState, Core, Counters};
use crate::error::{Error, Result};
use crate::http::blocking::blocking;
use crate::http::caller::Caller;
use crate::http::response::ApiJson;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SqlRequest {
    query: String,
    #[serde(default)]
    params: Vec<Json>,
    /// The module whose database to read; optional when the tables say it.
    #[serde(default)]
    module: Option<String>,
}

/// A JSON parameter as a value; the SQL engine types it from where it is used.
pub(crate) fn param_value(v: &Json) -> Result<Value> {
    Ok(match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::I64(i)
            } else if let Some(u) = n.as_u64() {
                Value::U64(u)
            } else {
                Value::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::String(s.clone()),
        Json::Array(_) | Json::Object(_) => {
            return Err(Error::request(
                422,
                "invalid_parameter",
                "SQL parameters are JSON scalars (null, booleans, numbers, strings)",
            ));
        }
    })
}

/// The module a query reads: the one named, the qualifier of its tables, or the only module
/// that has all its tables.
pub(crate) fn route_query(
    core: &Core,
    sql: &str,
    module: Option<&str>,
    config: &cosmictron_sql::SqlConfig,
) -> Result<String> {
    if let Some(m) = module {
        return Ok(m.to_owned());
    }
    let tables = referenced_tables(sql, config)?;
    let modules = core.db.modules();
    if let Some(q) = tables.iter().find(|t| t.len() >= 2) {
        return Ok(q[q.len() - 2].clone());
    }
    let names: Vec<&str> = tables
        .iter()
        .filter_map(|t| t.last().map(String::as_str))
        .collect();
    let candidates: Vec<String> = modules
        .iter()
        .filter(|m| {
            let Ok(db) = core.db.database(&m.name) else {
                return false;
            };
            let have = db.table_names();
            // Views are names a query can read too (a private one only for its owner, but
            // routing by name reveals nothing the error for a missing table would not); they
            // are looked at only for names that are not tables.
            let views = core.db.views(&m.name).ok();
            names.iter().all(|n| {
                have.iter().any(|h| h.eq_ignore_ascii_case(n))
                    || views.as_ref().is_some_and(|v| v.declares(n))
            })
        })
        .map(|m| m.name.clone())
        .collect();
    match (candidates.len(), names.first()) {
        (1, _) => Ok(candidates.into_iter().next().unwrap_or_default()),
        (0, Some(first)) => Err(Error::request(
            404,
            "no_such_table",
            format!("no deployed module has table `{first}`"),
        )),
        (0, None) if modules.len() == 1 => Ok(modules[0].name.clone()),
        (0, None) => Err(Error::request(
            422,
            "module_required",
            "the query names no table; say which module to run it in (`module`)",
        )),
        _ => Err(Error::request(
            409,
            "ambiguous_table",
            format!(
                "modules {} all have these tables; qualify them (`module.table`) or send `module`",
                candidates.join(", ")
            ),
        )),
    }
}

/// How the SQL engine sees this caller of `module`: its owner and admins read everything.
pub(crate) fn sql_caller(core: &Core, caller: &Caller, module: &str) -> Result<SqlCaller> {
    if caller.admin || core.db.owner(module)? == caller.identity {
        // Read policies are skipped; the identity still reaches views as `ctx.sender`.
        Ok(SqlCaller {
            identity: Some(caller.identity),
            bypass_rls: true,
        })
    } else {
        Ok(SqlCaller::user(caller.identity))
    }
}

pub(crate) fn result_json(r: &QueryResult) -> Json {
    let columns: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    let types: Vec<Option<&str>> = r.columns.iter().map(|c| c.ty.map(|t| t.name())).collect();
    let rows: Vec<Json> = r
        .rows
        .iter()
        .map(|row| Json::Array(row.iter().map(value_to_json).collect()))
        .collect();
    json!({"columns": columns, "column_types": types, "rows": rows, "tx_id": r.tx_id})
}

/// Runs a query for `caller` on the blocking pool.
pub(crate) async fn run_query(
    state: &Arc<AppState>,
    caller: Caller,
    query: String,
    params: Vec<Json>,
    module: Option<String>,
) -> Result<QueryResult> {
    let core = state.core()?.clone();
    Counters::bump(&state.counters.sql_queries);
    let params: Vec<Value> = params.iter().map(param_value).collect::<Result<_>>()?;
    let config = state.sql_config();
    blocking(move || {
        let module = route_query(&core, &query, module.as_deref(), &config)?;
        let who = sql_caller(&core, &caller, &module)?;
        core.db.query(&core.sql, &module, &query, &params, &who)
    })
    .await
}

pub(crate) async fn sql(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<SqlRequest>,
) -> Result<axum::Json<Json>> {
    let result = run_query(&state, caller, body.query, body.params, body.module).await?;
    Ok(axum::Json(result_json(&result)))
}
