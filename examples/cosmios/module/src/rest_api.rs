//! The COSMIOS REST API of the product document, as HTTP routes under `/api/v1/`: machines,
//! runs (filters `status`, `machine`), events, sessions, enable/disable, approve/reject. Every
//! request authenticates with a user API key (`Authorization: Bearer csu_…`) and is limited to
//! 60 a minute per key (`X-RateLimit-*` on every answer). Lists are read-only routes: they run
//! on a snapshot and never wait for writers.

use cosmictron_sdk::{Error, HttpRequest, HttpResponse, Identity, ReducerContext, route};
use serde_json::{Value as Json, json};

use crate::api_keys::key_owner;
use crate::common::invalid;
use crate::machines::set_enabled_for;
use crate::tables::*;
use crate::timeline::decide;

/// The id in the path.
fn id_param(req: &HttpRequest) -> Result<u64, Error> {
    req.param("id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| invalid("id", "must be a number"))
}

fn machine_json(m: &Machine) -> Json {
    json!({
        "id": m.id,
        "name": m.name,
        "enabled": m.enabled,
        "status": if m.online { "online" } else { "offline" },
        "last_seen": m.last_seen,
        "metrics": serde_json::from_str::<Json>(&m.metrics).unwrap_or(Json::Null),
        "created_at": m.created_at,
    })
}

fn run_json(r: &Run) -> Json {
    json!({
        "id": r.id,
        "machine_id": r.machine_id,
        "agent": r.agent,
        "workspace": r.workspace,
        "task": r.task,
        "status": r.status,
        "exit_code": r.exit_code,
        "error": r.error,
        "summary": r.summary,
        "snapshot_commit": r.snapshot_commit,
        "mission_id": r.mission_id,
        "created_at": r.created_at,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
    })
}

fn event_json(e: &TimelineEvent) -> Json {
    json!({
        "id": e.id,
        "kind": e.kind,
        "machine_id": e.machine_id,
        "run_id": e.run_id,
        "message": e.message,
        "approval": e.approval,
        "created_at": e.created_at,
    })
}

fn machines_of(ctx: &ReducerContext, owner: Identity) -> Result<Vec<Machine>, Error> {
    ctx.db.machines().filter_by_owner(&owner)
}

fn runs_of(ctx: &ReducerContext, owner: Identity) -> Result<Vec<Run>, Error> {
    let mut runs = ctx.db.runs().filter_by_owner(&owner)?;
    runs.sort_by_key(|r| std::cmp::Reverse(r.id));
    Ok(runs)
}

#[route(
    GET,
    "/api/v1/machines",
    read_only,
    rate_limit(requests = 60, window_secs = 60, key = "header:authorization")
)]
pub fn api_machines(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let owner = key_owner(ctx, req)?;
    let machines: Vec<Json> = machines_of(ctx, owner)?.iter().map(machine_json).collect();
    Ok(HttpResponse::json(200, &json!({ "machines": machines })))
}

/// Newest first; `?status=running` and `?machine=<id>` filter.
#[route(
    GET,
    "/api/v1/runs",
    read_only,
    rate_limit(requests = 60, window_secs = 60, key = "header:authorization")
)]
pub fn api_runs(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let owner = key_owner(ctx, req)?;
    let status = req.query_param("status");
    let machine = match req.query_param("machine") {
        Some(m) => Some(
            m.parse::<u64>()
                .map_err(|_| invalid("machine", "must be a machine id"))?,
        ),
        None => None,
    };
    let runs: Vec<Json> = runs_of(ctx, owner)?
        .iter()
        .filter(|r| status.as_ref().is_none_or(|s| &r.status == s))
        .filter(|r| machine.is_none_or(|m| r.machine_id == m))
        .map(run_json)
        .collect();
    Ok(HttpResponse::json(200, &json!({ "runs": runs })))
}

/// The timeline, newest first.
#[route(
    GET,
    "/api/v1/events",
    read_only,
    rate_limit(requests = 60, window_secs = 60, key = "header:authorization")
)]
pub fn api_events(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let owner = key_owner(ctx, req)?;
    let mut events = ctx.db.timeline().filter_by_owner(&owner)?;
    events.sort_by_key(|e| std::cmp::Reverse(e.id));
    let events: Vec<Json> = events.iter().map(event_json).collect();
    Ok(HttpResponse::json(200, &json!({ "events": events })))
}

/// Agent sessions: every run an agent started (claimed), with its agent process's outcome.
#[route(
    GET,
    "/api/v1/sessions",
    read_only,
    rate_limit(requests = 60, window_secs = 60, key = "header:authorization")
)]
pub fn api_sessions(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let owner = key_owner(ctx, req)?;
    let sessions: Vec<Json> = runs_of(ctx, owner)?
        .iter()
        .filter(|r| r.started_at.is_some())
        .map(|r| {
            json!({
                "id": r.id,
                "run_id": r.id,
                "machine_id": r.machine_id,
                "agent": r.agent,
                "workspace": r.workspace,
                "status": r.status,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
            })
        })
        .collect();
    Ok(HttpResponse::json(200, &json!({ "sessions": sessions })))
}

fn enable(ctx: &ReducerContext, req: &HttpRequest, enabled: bool) -> Result<HttpResponse, Error> {
    let owner = key_owner(ctx, req)?;
    let machine = set_enabled_for(ctx, owner, id_param(req)?, enabled)?;
    Ok(HttpResponse::json(
        200,
        &json!({ "machine": machine_json(&machine) }),
    ))
}

#[route(
    POST,
    "/api/v1/machines/:id/enable",
    rate_limit(requests = 60, window_secs = 60, key = "header:authorization")
)]
pub fn api_enable_machine(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    enable(ctx, req, true)
}

#[route(
    POST,
    "/api/v1/machines/:id/disable",
    rate_limit(requests = 60, window_secs = 60, key = "header:authorization")
)]
pub fn api_disable_machine(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    enable(ctx, req, false)
}

fn judge(ctx: &ReducerContext, req: &HttpRequest, decision: &str) -> Result<HttpResponse, Error> {
    let owner = key_owner(ctx, req)?;
    let event = decide(ctx, owner, id_param(req)?, decision)?;
    Ok(HttpResponse::json(
        200,
        &json!({ "event": event_json(&event) }),
    ))
}

#[route(
    POST,
    "/api/v1/events/:id/approve",
    rate_limit(requests = 60, window_secs = 60, key = "header:authorization")
)]
pub fn api_approve_event(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    judge(ctx, req, "approved")
}

#[route(
    POST,
    "/api/v1/events/:id/reject",
    rate_limit(requests = 60, window_secs = 60, key = "header:authorization")
)]
pub fn api_reject_event(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    judge(ctx, req, "rejected")
}
