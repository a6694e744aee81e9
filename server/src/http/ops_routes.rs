//! Probes and telemetry: `/health`, `/ready`, `/diagnostics`, `/metrics`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

use crate::app::AppState;
use crate::error::Result;
use crate::http::caller::Caller;

/// Liveness: the process answers.
pub(crate) async fn health() -> axum::Json<Json> {
    axum::Json(json!({"status": "ok"}))
}

/// Readiness: 200 once the WAL and storage are recovered, 503 before (or if recovery failed).
pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match state.core() {
        Ok(_) => axum::Json(json!({"status": "ready"})).into_response(),
        Err(e) => e.into_response(),
    }
}

fn module_stats(state: &AppState) -> Vec<Json> {
    let Ok(core) = state.core() else {
        return Vec::new();
    };
    core.db
        .modules()
        .into_iter()
        .filter_map(|m| {
            let db = core.db.database(&m.name).ok()?;
            let s = db.stats();
            let tables: Vec<Json> = db
                .table_names()
                .into_iter()
                .filter_map(|t| {
                    let rows = db.snapshot().ok()?.count(&t).ok()?;
                    Some(json!({"name": t, "rows": rows}))
                })
                .collect();
            Some(json!({
                "name": m.name,
                "version": m.version,
                "latest_tx": s.latest_tx,
                "oldest_available_tx": s.oldest_available_tx,
                "live_rows": s.live_rows,
                "history_versions": s.history_versions,
                "memory_bytes": s.memory_bytes,
                "wal_records": s.wal_records,
                "wal_fsyncs": s.wal_fsyncs,
                "wal_bytes": s.wal_bytes,
                "last_fsync_micros": s.last_fsync_micros,
                "fsync_micros_total": s.fsync_micros_total,
                "last_snapshot_tx": s.last_snapshot_tx,
                "tables": tables,
            }))
        })
        .collect()
}

fn subscription_stats(state: &AppState) -> Vec<(String, cosmictron_sql::SubscriptionStats)> {
    state
        .core()
        .map(|core| core.subs.stats())
        .unwrap_or_default()
}

/// A summary for anyone with a token; per-module details for admins.
pub(crate) async fn diagnostics(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> axum::Json<Json> {
    let c = &state.counters;
    let mut out = json!({
        "uptime_secs": state.started.elapsed().as_secs(),
        "ready": state.is_ready(),
        "modules": state.core().map(|core| core.db.modules().len()).unwrap_or(0),
        "http_requests": c.http_requests.load(Ordering::Relaxed),
        "reducer_calls": c.reducer_calls.load(Ordering::Relaxed),
        "route_calls": c.route_calls.load(Ordering::Relaxed),
        "sql_queries": c.sql_queries.load(Ordering::Relaxed),
        "websocket_connections_open": c.ws_connections_open.load(Ordering::Relaxed),
        "subscriptions": subscription_stats(&state).iter().map(|(_, s)| s.subscriptions).sum::<usize>(),
    });
    if caller.admin {
        out["details"] = json!({
            "modules": module_stats(&state),
            "accounts": state.core().ok().and_then(|core| core.auth.account_count().ok()),
            "reducer_errors": c.reducer_errors.load(Ordering::Relaxed),
            "route_errors": c.route_errors.load(Ordering::Relaxed),
            "http_errors": c.http_errors.load(Ordering::Relaxed),
            "rate_limited": c.rate_limited.load(Ordering::Relaxed),
            "websocket_connections_total": c.ws_connections.load(Ordering::Relaxed),
            "websocket_messages_in": c.ws_messages_in.load(Ordering::Relaxed),
            "websocket_messages_out": c.ws_messages_out.load(Ordering::Relaxed),
            "subscriptions": subscription_stats(&state).into_iter().map(|(module, s)| json!({
                "module": module,
                "subscribers": s.subscribers,
                "subscriptions": s.subscriptions,
                "distinct_queries": s.distinct_queries,
                "processed_tx": s.processed_tx,
                "pending_txs": s.pending_txs,
                "lagging_drops": s.lagging_drops,
            })).collect::<Vec<_>>(),
        });
    }
    axum::Json(out)
}

/// Prometheus text format.
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Result<Response> {
    let c = &state.counters;
    let mut out = String::new();
    let counters = [
        (
            "cosmictron_http_requests_total",
            "HTTP requests served",
            &c.http_requests,
        ),
        (
            "cosmictron_http_errors_total",
            "HTTP answers with status >= 400",
            &c.http_errors,
        ),
        (
            "cosmictron_reducer_calls_total",
            "Reducer calls",
            &c.reducer_calls,
        ),
        (
            "cosmictron_reducer_errors_total",
            "Reducer calls that failed",
            &c.reducer_errors,
        ),
        (
            "cosmictron_route_calls_total",
            "Calls of modules' HTTP routes",
            &c.route_calls,
        ),
        (
            "cosmictron_route_errors_total",
            "Calls of modules' HTTP routes that failed",
            &c.route_errors,
        ),
        (
            "cosmictron_sql_queries_total",
            "SQL queries",
            &c.sql_queries,
        ),
        (
            "cosmictron_rate_limited_total",
            "Requests refused by a rate limit",
            &c.rate_limited,
        ),
        (
            "cosmictron_ws_connections_total",
            "WebSocket connections accepted",
            &c.ws_connections,
        ),
        (
            "cosmictron_ws_messages_in_total",
            "WebSocket messages received",
            &c.ws_messages_in,
        ),
        (
            "cosmictron_ws_messages_out_total",
            "WebSocket messages sent",
            &c.ws_messages_out,
        ),
    ];
    for (name, help, v) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            v.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP cosmictron_ws_connections_open WebSocket connections open\n# TYPE cosmictron_ws_connections_open gauge\ncosmictron_ws_connections_open {}",
        c.ws_connections_open.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "# HELP cosmictron_uptime_seconds Seconds since start\n# TYPE cosmictron_uptime_seconds gauge\ncosmictron_uptime_seconds {}",
        state.started.elapsed().as_secs()
    );
    let _ = writeln!(
        out,
        "# HELP cosmictron_ready 1 once recovery finished\n# TYPE cosmictron_ready gauge\ncosmictron_ready {}",
        u8::from(state.is_ready())
    );
    let modules = module_stats(&state);
    if !modules.is_empty() {
        for (metric, key, kind) in [
            ("cosmictron_module_latest_tx", "latest_tx", "gauge"),
            ("cosmictron_module_live_rows", "live_rows", "gauge"),
            ("cosmictron_module_memory_bytes", "memory_bytes", "gauge"),
            (
                "cosmictron_module_wal_fsyncs_total",
                "wal_fsyncs",
                "counter",
            ),
        ] {
            let _ = writeln!(out, "# TYPE {metric} {kind}");
            for m in &modules {
                let _ = writeln!(
                    out,
                    "{metric}{{module=\"{}\"}} {}",
                    m["name"].as_str().unwrap_or(""),
                    m[key]
                );
            }
        }
    }
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        out,
    )
        .into_response())
}
