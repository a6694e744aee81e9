//! Shared checks and errors: hex, digests, who may touch a row.

use cosmictron_sdk::{Error, Identity, ReducerContext};
use sha2::{Digest, Sha256};

use crate::tables::*;

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// SHA-256 (hex) of a 256-bit key: nothing to brute-force, so no salt, and an index key.
pub(crate) fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// `prefix` + 32 random bytes in hex.
pub(crate) fn token(ctx: &ReducerContext, prefix: &str) -> String {
    format!("{prefix}{}", hex(&ctx.random_bytes(32)))
}

pub(crate) fn not_found(what: &str, id: u64) -> Error {
    Error::new("not_found", format!("no {what} {id}")).with_status(404)
}

pub(crate) fn invalid(field: &str, why: &str) -> Error {
    Error::new("invalid_argument", format!("`{field}`: {why}"))
        .with_status(400)
        .with_details(serde_json::json!({"field": field}))
}

pub(crate) fn wrong_state(what: &str, id: u64, state: &str, action: &str) -> Error {
    Error::new(
        "invalid_state",
        format!("{what} {id} is {state}: cannot {action}"),
    )
    .with_status(409)
}

/// A non-empty string of at most `max` characters, trimmed.
pub(crate) fn text(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > max {
        return Err(invalid(field, &format!("must have 1 to {max} characters")));
    }
    Ok(s.to_owned())
}

/// The machine `id` if the caller owns it. Someone else's machine is "not found", so ids
/// do not reveal what exists.
pub(crate) fn own_machine(ctx: &ReducerContext, id: u64) -> Result<Machine, Error> {
    machine_of(ctx, ctx.sender, id)
}

/// The machine `id` if `owner` owns it (the caller, or an API key's owner).
pub(crate) fn machine_of(ctx: &ReducerContext, owner: Identity, id: u64) -> Result<Machine, Error> {
    match ctx.db.machines().find(&id)? {
        Some(m) if m.owner == owner => Ok(m),
        _ => Err(not_found("machine", id)),
    }
}

/// The run `id` if the caller owns it.
pub(crate) fn own_run(ctx: &ReducerContext, id: u64) -> Result<Run, Error> {
    match ctx.db.runs().find(&id)? {
        Some(r) if r.owner == ctx.sender => Ok(r),
        _ => Err(not_found("run", id)),
    }
}

/// The run `id` if the caller is the runner of its machine.
pub(crate) fn runner_run(ctx: &ReducerContext, id: u64) -> Result<Run, Error> {
    let runner = ctx.db.runners().find(&ctx.sender)?;
    match (ctx.db.runs().find(&id)?, runner) {
        (Some(r), Some(me)) if r.machine_id == me.machine_id => Ok(r),
        _ => Err(not_found("run", id)),
    }
}

/// The mission `id` if the caller owns it.
pub(crate) fn own_mission(ctx: &ReducerContext, id: u64) -> Result<Mission, Error> {
    match ctx.db.missions().find(&id)? {
        Some(m) if m.owner == ctx.sender => Ok(m),
        _ => Err(not_found("mission", id)),
    }
}

pub(crate) fn module_only() -> Error {
    Error::new("module_only", "only the module's own schedules call this").with_status(403)
}
