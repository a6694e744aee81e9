//! Machines: registration with a one-time `csu_` key, enable/disable, runner
//! authentication, and online/offline from connections, heartbeats and a silence check.

use std::time::Duration;

use cosmictron_sdk::{Error, Identity, ReducerContext, reducer};
use serde_json::{Value as Json, json};

use crate::common::{digest, machine_of, module_only, text, token};
use crate::tables::*;
use crate::timeline::{About, emit};

/// A machine without a heartbeat for this long is marked offline by the silence check.
pub(crate) const SILENCE_LIMIT: Duration = Duration::from_secs(90);
/// How often the silence check runs.
pub(crate) const SILENCE_CHECK_PERIOD: Duration = Duration::from_secs(30);
const METRICS_BYTES_MAX: usize = 8 * 1024;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[reducer(init)]
pub fn init(ctx: &ReducerContext) -> Result<(), Error> {
    ctx.schedule_repeating("check_silent_machines", &json!({}), SILENCE_CHECK_PERIOD)?;
    Ok(())
}

/// Registers a machine for the caller; returns its id and its API key, shown this once.
#[reducer]
pub fn register_machine(ctx: &ReducerContext, name: String) -> Result<Json, Error> {
    let name = text("name", &name, 100)?;
    let api_key = token(ctx, "csu_");
    let machine = ctx.db.machines().insert(Machine {
        id: 0,
        owner: ctx.sender,
        name,
        api_key_hash: digest(&api_key),
        runner: None,
        enabled: true,
        online: false,
        last_seen: None,
        metrics: "{}".to_owned(),
        created_at: ctx.timestamp,
    })?;
    Ok(json!({"machine_id": machine.id, "name": machine.name, "api_key": api_key}))
}

fn set_enabled(ctx: &ReducerContext, machine: u64, enabled: bool) -> Result<Json, Error> {
    set_enabled_for(ctx, ctx.sender, machine, enabled)?;
    Ok(json!({"machine_id": machine, "enabled": enabled}))
}

/// Enables or disables a machine of `owner` (the caller, or an API key's owner).
pub(crate) fn set_enabled_for(
    ctx: &ReducerContext,
    owner: Identity,
    machine: u64,
    enabled: bool,
) -> Result<Machine, Error> {
    let mut m = machine_of(ctx, owner, machine)?;
    m.enabled = enabled;
    ctx.db.machines().update(m.clone())?;
    Ok(m)
}

/// Lets the machine take runs again.
#[reducer]
pub fn enable_machine(ctx: &ReducerContext, machine: u64) -> Result<Json, Error> {
    set_enabled(ctx, machine, true)
}

/// Refuses new runs for the machine (runs already dispatched continue).
#[reducer]
pub fn disable_machine(ctx: &ReducerContext, machine: u64) -> Result<Json, Error> {
    set_enabled(ctx, machine, false)
}

/// The runner proves it holds the machine's key; its identity becomes the machine's runner
/// (and may read the machine's runs). A later authentication moves the machine to the new
/// identity. Returns the machine id.
#[reducer]
pub fn authenticate_runner(ctx: &ReducerContext, api_key: String) -> Result<Json, Error> {
    let key = api_key.trim();
    let bad = || Error::new("invalid_api_key", "unknown machine key").with_status(401);
    if !key.starts_with("csu_") {
        return Err(bad());
    }
    // Looked up by the SHA-256 of a 256-bit key: the timing says nothing about the key.
    let Some(mut machine) = ctx.db.machines().find_by_api_key_hash(&digest(key))? else {
        return Err(bad());
    };
    if let Some(old) = ctx.db.runners().find_by_machine_id(&machine.id)? {
        ctx.db.runners().delete(&old.identity)?;
    }
    if let Some(other) = ctx.db.runners().find(&ctx.sender)? {
        ctx.db.runners().delete(&other.identity)?;
    }
    ctx.db.runners().insert(Runner {
        identity: ctx.sender,
        machine_id: machine.id,
        connections: 0,
    })?;
    machine.runner = Some(ctx.sender);
    ctx.db.machines().update(machine.clone())?;
    // The runner reads its machine's runs and logs through `runner = $identity`.
    for mut run in ctx.db.runs().filter_by_machine_id(&machine.id)? {
        run.runner = Some(ctx.sender);
        ctx.db.runs().update(run)?;
    }
    mark_online(ctx, machine.id)?;
    Ok(json!({"machine_id": machine.id, "name": machine.name}))
}

/// What `cosmios status` shows: the machine of a `csu_` key, online or not. Reads only, and
/// needs nothing but the key, so checking does not move the machine to another runner.
#[reducer]
pub fn machine_status(ctx: &ReducerContext, api_key: String) -> Result<Json, Error> {
    let key = api_key.trim();
    let machine = if key.starts_with("csu_") {
        ctx.db.machines().find_by_api_key_hash(&digest(key))?
    } else {
        None
    };
    let Some(m) = machine else {
        return Err(Error::new("invalid_api_key", "unknown machine key").with_status(401));
    };
    let connections = match m.runner {
        Some(r) => ctx.db.runners().find(&r)?.map_or(0, |r| r.connections),
        None => 0,
    };
    Ok(json!({
        "machine_id": m.id,
        "name": m.name,
        "online": m.online,
        "enabled": m.enabled,
        "last_seen": m.last_seen.map(|t| t.0),
        "connections": connections,
        "metrics": serde_json::from_str::<Json>(&m.metrics).unwrap_or(Json::Null),
    }))
}

/// Marks a machine online (and records `machine.online`) if it was not.
fn mark_online(ctx: &ReducerContext, machine_id: u64) -> Result<(), Error> {
    let Some(mut m) = ctx.db.machines().find(&machine_id)? else {
        return Ok(());
    };
    m.last_seen = Some(ctx.timestamp);
    let was_online = m.online;
    m.online = true;
    let (owner, name) = (m.owner, m.name.clone());
    ctx.db.machines().update(m)?;
    if !was_online {
        let about = About {
            machine_id: Some(machine_id),
            run: None,
        };
        emit(
            ctx,
            owner,
            "machine.online",
            format!("{name} is online"),
            about,
            None,
        )?;
    }
    Ok(())
}

/// Marks a machine offline (and records `machine.offline`) if it was online.
fn mark_offline(ctx: &ReducerContext, mut m: Machine) -> Result<(), Error> {
    if !m.online {
        return Ok(());
    }
    m.online = false;
    let (owner, id, name) = (m.owner, m.id, m.name.clone());
    ctx.db.machines().update(m)?;
    let about = About {
        machine_id: Some(id),
        run: None,
    };
    emit(
        ctx,
        owner,
        "machine.offline",
        format!("{name} is offline"),
        about,
        None,
    )?;
    Ok(())
}

#[reducer(client_connected)]
pub fn client_connected(ctx: &ReducerContext) -> Result<(), Error> {
    if let Some(mut r) = ctx.db.runners().find(&ctx.sender)? {
        r.connections = r.connections.saturating_add(1);
        let machine_id = r.machine_id;
        ctx.db.runners().update(r)?;
        mark_online(ctx, machine_id)?;
    }
    Ok(())
}

#[reducer(client_disconnected)]
pub fn client_disconnected(ctx: &ReducerContext) -> Result<(), Error> {
    if let Some(mut r) = ctx.db.runners().find(&ctx.sender)? {
        r.connections = r.connections.saturating_sub(1);
        let (machine_id, left) = (r.machine_id, r.connections);
        ctx.db.runners().update(r)?;
        if left == 0
            && let Some(m) = ctx.db.machines().find(&machine_id)?
        {
            mark_offline(ctx, m)?;
        }
    }
    Ok(())
}

/// The runner's periodic sign of life, with the machine's metrics (a JSON object).
#[reducer]
pub fn heartbeat(ctx: &ReducerContext, metrics: Json) -> Result<Json, Error> {
    let Some(r) = ctx.db.runners().find(&ctx.sender)? else {
        return Err(Error::new("not_a_runner", "authenticate_runner first").with_status(403));
    };
    if !metrics.is_object() {
        return Err(crate::common::invalid("metrics", "must be a JSON object"));
    }
    let metrics = metrics.to_string();
    if metrics.len() > METRICS_BYTES_MAX {
        return Err(crate::common::invalid("metrics", "must be at most 8 KiB"));
    }
    mark_online(ctx, r.machine_id)?;
    if let Some(mut m) = ctx.db.machines().find(&r.machine_id)? {
        m.metrics = metrics;
        ctx.db.machines().update(m)?;
    }
    Ok(json!({"machine_id": r.machine_id, "online": true}))
}

/// Scheduled: machines online but silent for longer than `SILENCE_LIMIT` go offline.
#[reducer]
pub fn check_silent_machines(ctx: &ReducerContext) -> Result<u32, Error> {
    if !ctx.called_by_module() {
        return Err(module_only());
    }
    let cutoff = ctx.timestamp.0.saturating_sub(micros(SILENCE_LIMIT));
    let mut marked = 0;
    for m in ctx.db.machines().iter()? {
        if m.online && m.last_seen.is_none_or(|t| t.0 < cutoff) {
            mark_offline(ctx, m)?;
            marked += 1;
        }
    }
    Ok(marked)
}
