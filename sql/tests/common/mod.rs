//! Shared fixtures for the integration tests.

#![allow(dead_code)]

use cosmictron_engine::{Database, Engine, EngineConfig};
use cosmictron_sql::{Caller, QueryResult, SqlConfig, SqlEngine};
use cosmictron_types::Value;

pub(crate) fn engine() -> Engine {
    Engine::in_memory(EngineConfig::default())
}

pub(crate) fn sql() -> SqlEngine {
    SqlEngine::new(SqlConfig::default())
}

/// Runs `q` as the owner and returns the rows.
pub(crate) fn rows(sql: &SqlEngine, db: &Database, q: &str) -> Vec<Vec<Value>> {
    run(sql, db, q, &[], &Caller::owner()).rows
}

pub(crate) fn run(
    sql: &SqlEngine,
    db: &Database,
    q: &str,
    params: &[Value],
    caller: &Caller,
) -> QueryResult {
    match sql.query(db, q, params, caller) {
        Ok(r) => r,
        Err(e) => panic!("query failed: {q}: [{}] {e}", e.code()),
    }
}

/// The error code `q` fails with.
pub(crate) fn code(
    sql: &SqlEngine,
    db: &Database,
    q: &str,
    params: &[Value],
    caller: &Caller,
) -> String {
    match sql.query(db, q, params, caller) {
        Ok(r) => panic!("expected an error from {q}, got {r:?}"),
        Err(e) => e.code().to_owned(),
    }
}

/// Sorts rows for multiset comparison.
pub(crate) fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_key(|r| format!("{r:?}"));
    rows
}
