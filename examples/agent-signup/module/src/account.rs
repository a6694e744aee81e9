//! Reading a sign-up by its agent key, `status`, `claim`, and the scheduled deletion of
//! unclaimed projects.

use cosmictron_sdk::{Error, ReducerContext, reducer};
use serde_json::{Value as Json, json};

use crate::secrets::{digest, open, same_digest};
use crate::state::{
    AUTO_DELETE_AFTER_DAYS, HUMAN_OWNED, UNCLAIMED, auth_type, invalid_agent_key, reported_limits,
};
use crate::tables::*;
use crate::tokens;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// 403 `module_only`: a reducer meant for the module's own schedules.
pub(crate) fn module_only() -> Error {
    Error::new("module_only", "only the module's own schedules call this").with_status(403)
}

/// The sign-up an `agk_` key belongs to; 401 `invalid_agent_key` otherwise.
pub(crate) fn signup_by_agent_key(ctx: &ReducerContext, agent_key: &str) -> Result<Signup, Error> {
    let key = bare_key(agent_key);
    if !key.starts_with("agk_") {
        return Err(invalid_agent_key());
    }
    // The lookup is by SHA-256 of a 256-bit key: its timing says nothing about the key.
    let hash = digest(key);
    match ctx.db.signups().find_by_agent_key_hash(&hash)? {
        Some(s) if same_digest(&s.agent_key_hash, &hash) => Ok(s),
        _ => Err(invalid_agent_key()),
    }
}

/// The key without surrounding blanks or a `Bearer ` prefix.
pub(crate) fn bare_key(agent_key: &str) -> &str {
    let key = agent_key.trim();
    key.strip_prefix("Bearer ").unwrap_or(key)
}

/// The project of a sign-up (it exists as long as the sign-up does: the foreign key cascades).
pub(crate) fn project_of(ctx: &ReducerContext, signup: &Signup) -> Result<Project, Error> {
    ctx.db.projects().find(&signup.project_id)?.ok_or_else(|| {
        Error::new("project_missing", "the sign-up's project is gone").with_status(500)
    })
}

/// The claim state and current limits of the agent's project. Safe to poll.
#[reducer]
pub fn status(ctx: &ReducerContext, agent_key: String) -> Result<Json, Error> {
    let signup = signup_by_agent_key(ctx, &agent_key)?;
    status_answer(ctx, &signup, &agent_key)
}

/// The `/status` answer: the state, a fresh access token, and the bucket keys, unsealed with
/// the agent key that authenticated the call.
pub(crate) fn status_answer(
    ctx: &ReducerContext,
    signup: &Signup,
    agent_key: &str,
) -> Result<Json, Error> {
    let project = project_of(ctx, signup)?;
    let unclaimed = signup.claim_status == UNCLAIMED;
    let days_left = unclaimed.then(|| {
        let age_days = (ctx.timestamp.0 - signup.created_at.0).div_euclid(MICROS_PER_DAY);
        (i64::try_from(AUTO_DELETE_AFTER_DAYS).unwrap_or(14) - age_days).max(0)
    });
    let keys = signup
        .sealed_bucket_keys
        .as_deref()
        .and_then(|sealed| open(bare_key(agent_key), sealed))
        .and_then(|text| serde_json::from_str::<Json>(&text).ok())
        .unwrap_or_else(|| json!({"read_key": null, "write_key": null}));
    let access_token = if signup.claim_status == HUMAN_OWNED {
        // Revoked when the human claimed the project.
        Json::Null
    } else {
        Json::String(tokens::issue(ctx, signup)?)
    };
    Ok(json!({
        "auth_type": auth_type(&signup.claim_status),
        "claim_status": signup.claim_status,
        "plan_id": if unclaimed { "agent_unclaimed" } else { "free" },
        "access_token": access_token,
        "limits": reported_limits(&signup.claim_status),
        "auto_delete_after_days": days_left,
        "project": {"id": project.id, "name": project.name},
        "bucket": {
            "slug": project.bucket_slug,
            "read_key": keys["read_key"],
            "write_key": keys["write_key"],
        },
        "human_email": signup.human_email,
        "agent_id": signup.agent_id,
        "client": signup.client,
    }))
}

/// The human takes ownership with the token from the claim URL: the project becomes
/// `human_owned` by the caller, and the email becomes a human-owned account (later agent
/// sign-ups with it get `user_already_exists`).
#[reducer]
pub fn claim(ctx: &ReducerContext, claim_token: String) -> Result<Json, Error> {
    let token = claim_token.trim();
    let invalid = || {
        Error::new(
            "invalid_claim_token",
            "the claim token is unknown or was replaced",
        )
        .with_status(404)
    };
    if !token.starts_with("clm_") {
        return Err(invalid());
    }
    let hash = digest(token);
    let Some(mut signup) = ctx.db.signups().find_by_claim_token_hash(&hash)? else {
        return Err(invalid());
    };
    if !same_digest(&signup.claim_token_hash, &hash) {
        return Err(invalid());
    }
    if signup.claim_status == HUMAN_OWNED {
        return Err(
            Error::new("already_claimed", "this project is already claimed").with_status(409),
        );
    }
    signup.claim_status = HUMAN_OWNED.to_owned();
    signup.owner = Some(ctx.sender);
    ctx.db.signups().update(signup.clone())?;
    ctx.db.otp_codes().delete(&signup.id)?;
    for email in ctx.db.email_outbox().filter_by_signup_id(&signup.id)? {
        ctx.db.email_outbox().delete(&email.id)?;
    }
    if ctx.db.human_accounts().find(&signup.human_email)?.is_none() {
        ctx.db.human_accounts().insert(HumanAccount {
            email: signup.human_email.clone(),
            identity: ctx.sender,
            created_at: ctx.timestamp,
        })?;
    }
    let project = project_of(ctx, &signup)?;
    Ok(json!({
        "message": "Claimed. The project is yours.",
        "auth_type": auth_type(&signup.claim_status),
        "claim_status": signup.claim_status,
        "project": {"id": project.id, "name": project.name},
        "limits": reported_limits(&signup.claim_status),
    }))
}

/// Scheduled 14 days after a sign-up: deletes the project (its sign-up, code, mail, objects
/// and media cascade) unless it was verified or claimed meanwhile.
#[reducer]
pub fn delete_unclaimed_project(ctx: &ReducerContext, project_id: u64) -> Result<bool, Error> {
    if !ctx.called_by_module() {
        return Err(module_only());
    }
    let still_unclaimed = ctx
        .db
        .signups()
        .filter_by_project_id(&project_id)?
        .iter()
        .any(|s| s.claim_status == UNCLAIMED);
    if !still_unclaimed {
        return Ok(false);
    }
    Ok(ctx.db.projects().delete(&project_id)?.is_some())
}
