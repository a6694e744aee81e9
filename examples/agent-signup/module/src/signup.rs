//! `sign_up`: provision a project and bucket for a human, or — for an email and agent id that
//! already have an unclaimed sign-up — issue a fresh code (idempotent).

use std::time::Duration;

use cosmictron_sdk::{Error, ReducerContext, Timestamp, reducer};
use serde_json::{Value as Json, json};

use crate::code::issue_code;
use crate::secrets::{digest, hex, seal, token};
use crate::state::{AUTO_DELETE_AFTER_DAYS, UNCLAIMED, UNCLAIMED_LIMITS};
use crate::tables::*;
use crate::tokens;
use crate::validate;

/// Sign-ups (fresh or repeated) one agent id may make per UTC day.
pub(crate) const SIGN_UPS_PER_AGENT_PER_DAY: u32 = 10;
const MICROS_PER_DAY: i64 = 86_400_000_000;

#[reducer]
pub fn sign_up(
    ctx: &ReducerContext,
    human_email: String,
    project_name: String,
    agent_id: String,
    client: Option<String>,
) -> Result<Json, Error> {
    sign_up_answer(ctx, &human_email, &project_name, &agent_id, client)
}

/// The sign-up, shared by the reducer and `POST /v3/agents/sign-up`.
pub(crate) fn sign_up_answer(
    ctx: &ReducerContext,
    human_email: &str,
    project_name: &str,
    agent_id: &str,
    client: Option<String>,
) -> Result<Json, Error> {
    let email = validate::email(human_email)?;
    let project_name = validate::project_name(project_name)?;
    let agent_id = validate::agent_id(agent_id)?;
    let client = validate::client(client)?;
    if ctx.db.human_accounts().find(&email)?.is_some() {
        return Err(user_already_exists(&email));
    }
    count_against_daily_ceiling(ctx, &agent_id)?;
    let existing = ctx
        .db
        .signups()
        .filter_by_agent_id(&agent_id)?
        .into_iter()
        .find(|s| s.human_email == email);
    match existing {
        Some(signup) if signup.claim_status == UNCLAIMED => resend(ctx, &signup),
        Some(_) => Err(Error::new(
            "already_verified",
            "this email and agent id already have a verified project: use its agent key",
        )
        .with_status(409)),
        None => provision(ctx, email, project_name, agent_id, client),
    }
}

/// 409 `user_already_exists`, pointing the human at the login page.
fn user_already_exists(email: &str) -> Error {
    Error::new(
        "user_already_exists",
        "this email belongs to a human-owned account: ask the human to log in and provision a \
         bucket from the dashboard",
    )
    .with_status(409)
    .with_details(json!({"claim_existing_url": format!("/login?email={}", url_encode(email))}))
}

/// Counts a sign-up against the agent id's daily ceiling; 429 `rate_limited` past it.
fn count_against_daily_ceiling(ctx: &ReducerContext, agent_id: &str) -> Result<(), Error> {
    let day = ctx.timestamp.0.div_euclid(MICROS_PER_DAY);
    let key = format!("{agent_id}/{day}");
    let usage = ctx.db.agent_daily_usage().find(&key)?;
    let used = usage.as_ref().map_or(0, |u| u.sign_ups);
    if used >= SIGN_UPS_PER_AGENT_PER_DAY {
        let next_day_micros = (day + 1) * MICROS_PER_DAY;
        let retry_after_seconds = (next_day_micros - ctx.timestamp.0).div_euclid(1_000_000) + 1;
        return Err(Error::new(
            "rate_limited",
            format!(
                "agent `{agent_id}` has made its {SIGN_UPS_PER_AGENT_PER_DAY} sign-ups for today"
            ),
        )
        .with_status(429)
        .with_details(json!({
            "limit": SIGN_UPS_PER_AGENT_PER_DAY,
            "retry_after_seconds": retry_after_seconds,
        })));
    }
    let row = AgentDailyUsage {
        agent_day: key,
        sign_ups: used + 1,
    };
    if usage.is_some() {
        ctx.db.agent_daily_usage().update(row)?;
    } else {
        ctx.db.agent_daily_usage().insert(row)?;
    }
    Ok(())
}

fn provision(
    ctx: &ReducerContext,
    email: String,
    project_name: String,
    agent_id: String,
    client: Option<String>,
) -> Result<Json, Error> {
    let slug = format!(
        "{}-{}",
        validate::slug_base(&project_name),
        hex(&ctx.random_bytes(4))
    );
    let read_key = token(ctx, "brk_");
    let write_key = token(ctx, "bwk_");
    let project = ctx.db.projects().insert(Project {
        id: 0,
        name: project_name,
        bucket_slug: slug,
        read_key_hash: digest(&read_key),
        write_key_hash: digest(&write_key),
        ai_credits_used: 0,
        created_at: ctx.timestamp,
    })?;
    let agent_key = token(ctx, "agk_");
    let claim_token = token(ctx, "clm_");
    let signup = ctx.db.signups().insert(Signup {
        id: 0,
        agent_key_hash: digest(&agent_key),
        claim_token_hash: digest(&claim_token),
        human_email: email,
        agent_id,
        client,
        project_id: project.id,
        claim_status: UNCLAIMED.to_owned(),
        sealed_bucket_keys: Some(seal(
            ctx,
            &agent_key,
            &json!({"read_key": read_key, "write_key": write_key}).to_string(),
        )),
        owner: None,
        created_at: ctx.timestamp,
    })?;
    let claim_url = claim_url(&claim_token);
    issue_code(ctx, &signup, &claim_url)?;
    let after = Duration::from_secs(AUTO_DELETE_AFTER_DAYS * 86_400);
    ctx.schedule_in(
        "delete_unclaimed_project",
        &json!({"project_id": project.id}),
        after,
    )?;
    Ok(json!({
        "message": "Agent signup created. OTP sent to human_email.",
        "auth_type": UNCLAIMED,
        "agent_key": agent_key,
        "access_token": tokens::issue(ctx, &signup)?,
        "project": {"id": project.id, "name": project.name},
        "bucket": {"slug": project.bucket_slug, "read_key": read_key, "write_key": write_key},
        "claim_url": claim_url,
        "limits": UNCLAIMED_LIMITS,
        "auto_delete_after_days": AUTO_DELETE_AFTER_DAYS,
    }))
}

/// A repeated sign-up: a fresh code (the old one stops working). The agent key, claim token
/// and bucket keys are not shown again — they are stored only as digests, and anyone who knows
/// an email and an agent id must not obtain the project's credentials.
fn resend(ctx: &ReducerContext, signup: &Signup) -> Result<Json, Error> {
    let Some(project) = ctx.db.projects().find(&signup.project_id)? else {
        return Err(
            Error::new("project_missing", "the sign-up's project is gone").with_status(500),
        );
    };
    // A fresh claim token too: the new email must carry a working link.
    let claim_token = token(ctx, "clm_");
    let mut updated = signup.clone();
    updated.claim_token_hash = digest(&claim_token);
    ctx.db.signups().update(updated.clone())?;
    issue_code(ctx, &updated, &claim_url(&claim_token))?;
    let deletes_at = Timestamp(
        signup.created_at.0 + i64::try_from(AUTO_DELETE_AFTER_DAYS).unwrap_or(14) * MICROS_PER_DAY,
    );
    let days_left = (deletes_at.0 - ctx.timestamp.0)
        .div_euclid(MICROS_PER_DAY)
        .max(0);
    Ok(json!({
        "message": "Existing agent signup: a fresh OTP was sent to human_email. Use the agent_key from the first sign-up.",
        "auth_type": UNCLAIMED,
        "agent_key": null,
        "access_token": null,
        "project": {"id": project.id, "name": project.name},
        "bucket": {"slug": project.bucket_slug, "read_key": null, "write_key": null},
        "claim_url": null,
        "limits": UNCLAIMED_LIMITS,
        "auto_delete_after_days": days_left,
    }))
}

/// Where the human claims the project in one step (the token is also in the email).
fn claim_url(claim_token: &str) -> String {
    format!("/claim?token={claim_token}")
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
