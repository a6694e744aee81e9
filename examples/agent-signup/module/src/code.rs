//! The one-time code: issued into the email outbox, checked by `verify`, expired by a
//! scheduled call.

use std::time::Duration;

use cosmictron_sdk::{Error, ReducerContext, Timestamp, reducer};
use serde_json::{Value as Json, json};

use crate::account::signup_by_agent_key;
use crate::secrets::{hex, salted_digest, same_digest, six_digit_code};
use crate::state::{UNCLAIMED, VERIFIED, auth_type, reported_limits};
use crate::tables::*;

/// How long a code works.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Wrong codes accepted before the code is invalid.
pub(crate) const CODE_ATTEMPTS: u32 = 5;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Replaces the sign-up's code with a fresh one and queues the email that carries it (any
/// earlier unsent email of the sign-up is withdrawn: its code no longer works).
pub(crate) fn issue_code(
    ctx: &ReducerContext,
    signup: &Signup,
    claim_url: &str,
) -> Result<(), Error> {
    let code = six_digit_code(ctx);
    let salt = hex(&ctx.random_bytes(16));
    let expires_at = Timestamp(ctx.timestamp.0.saturating_add(micros(CODE_TTL)));
    let row = OtpCode {
        signup_id: signup.id,
        code_hash: salted_digest(&salt, &code),
        salt,
        expires_at,
        attempts_left: CODE_ATTEMPTS,
        expired: false,
    };
    if ctx.db.otp_codes().find(&signup.id)?.is_some() {
        ctx.db.otp_codes().update(row)?;
    } else {
        ctx.db.otp_codes().insert(row)?;
    }
    for old in ctx.db.email_outbox().filter_by_signup_id(&signup.id)? {
        ctx.db.email_outbox().delete(&old.id)?;
    }
    ctx.db.email_outbox().insert(Email {
        id: 0,
        signup_id: signup.id,
        to_email: signup.human_email.clone(),
        subject: "Your code to claim an agent-created project".to_owned(),
        body: format!(
            "An agent ({}) created a project for you. Give it this code: {code}\n\
             or claim the project yourself: {claim_url}\n\
             The code works for 10 minutes.",
            signup.agent_id
        ),
        created_at: ctx.timestamp,
        expires_at,
    })?;
    ctx.schedule_at(
        "expire_code",
        &json!({"signup_id": signup.id, "expires_at": expires_at}),
        expires_at,
    )?;
    Ok(())
}

/// Checks the 6-digit code the human gave the agent. On success the project is `verified`.
///
/// A wrong code must cost an attempt, and an error would roll that back: so a wrong code is
/// an `Ok` answer with `verified: false`, `error.code = "invalid_code"` and the attempts left.
/// Codes that can no longer work (expired, attempts used up, none issued) are errors (400).
#[reducer]
pub fn verify(ctx: &ReducerContext, agent_key: String, code: String) -> Result<Json, Error> {
    let mut signup = signup_by_agent_key(ctx, &agent_key)?;
    if signup.claim_status != UNCLAIMED {
        return with_token(ctx, &signup, state_answer(&signup, "Already verified."));
    }
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::new("invalid_code_format", "the code is 6 digits").with_status(400));
    }
    let Some(mut otp) = ctx.db.otp_codes().find(&signup.id)? else {
        return Err(code_gone(
            "no code is pending: sign up again to get a fresh one",
        ));
    };
    if otp.expired || ctx.timestamp >= otp.expires_at {
        return Err(Error::new(
            "code_expired",
            "the code has expired: sign up again with the same email and agent id for a fresh one",
        )
        .with_status(400));
    }
    if otp.attempts_left == 0 {
        return Err(code_gone(
            "too many wrong codes: sign up again with the same email and agent id",
        ));
    }
    if !same_digest(&salted_digest(&otp.salt, code), &otp.code_hash) {
        otp.attempts_left -= 1;
        let attempts_left = otp.attempts_left;
        ctx.db.otp_codes().update(otp)?;
        return Ok(json!({
            "verified": false,
            "error": {"code": "invalid_code", "message": "the code is not correct"},
            "attempts_remaining": attempts_left,
            "auth_type": UNCLAIMED,
            "claim_status": UNCLAIMED,
            "limits": reported_limits(UNCLAIMED),
        }));
    }
    ctx.db.otp_codes().delete(&signup.id)?;
    for email in ctx.db.email_outbox().filter_by_signup_id(&signup.id)? {
        ctx.db.email_outbox().delete(&email.id)?;
    }
    signup.claim_status = VERIFIED.to_owned();
    ctx.db.signups().update(signup.clone())?;
    with_token(
        ctx,
        &signup,
        state_answer(&signup, "Verified. Restricted-mode limits lifted."),
    )
}

/// Adds a fresh access token (90 days once verified) to an answer.
fn with_token(ctx: &ReducerContext, signup: &Signup, mut answer: Json) -> Result<Json, Error> {
    answer["access_token"] = Json::String(crate::tokens::issue(ctx, signup)?);
    Ok(answer)
}

fn code_gone(message: &str) -> Error {
    Error::new("code_invalidated", message).with_status(400)
}

fn state_answer(signup: &Signup, message: &str) -> Json {
    json!({
        "verified": signup.claim_status != UNCLAIMED,
        "message": message,
        "auth_type": auth_type(&signup.claim_status),
        "claim_status": signup.claim_status,
        "limits": reported_limits(&signup.claim_status),
    })
}

/// Scheduled at a code's expiry: withdraws its email and marks the code expired, unless a
/// newer code replaced it (that one has its own schedule). The schedule is what expires codes;
/// `verify` also compares the clock in case the scheduler runs late.
#[reducer]
pub fn expire_code(
    ctx: &ReducerContext,
    signup_id: u64,
    expires_at: Timestamp,
) -> Result<(), Error> {
    if !ctx.called_by_module() {
        return Err(crate::account::module_only());
    }
    if let Some(mut otp) = ctx.db.otp_codes().find(&signup_id)?
        && otp.expires_at == expires_at
    {
        otp.expired = true;
        ctx.db.otp_codes().update(otp)?;
    }
    for email in ctx.db.email_outbox().filter_by_signup_id(&signup_id)? {
        if email.expires_at <= expires_at {
            ctx.db.email_outbox().delete(&email.id)?;
        }
    }
    Ok(())
}
