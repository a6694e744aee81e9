//! Claim states, the limits each allows, and the errors that name them.
//!
//! ```text
//!  sign_up ──► unclaimed ──verify(code)──► verified
//!                  │
//!                  └──claim(token)──► human_owned
//!  unclaimed for 14 days ──► deleted (scheduled)
//! ```

use cosmictron_sdk::Error;
use serde::Serialize;
use serde_json::json;

pub(crate) const UNCLAIMED: &str = "unclaimed";
pub(crate) const VERIFIED: &str = "verified";
pub(crate) const HUMAN_OWNED: &str = "human_owned";

/// Days an unclaimed project lives before the scheduled deletion.
pub(crate) const AUTO_DELETE_AFTER_DAYS: u64 = 14;

/// Restricted-mode quotas of an unclaimed project.
pub(crate) const UNCLAIMED_OBJECTS_MAX: u64 = 50;
pub(crate) const UNCLAIMED_MEDIA_MB_TOTAL: u64 = 5;
/// Free-tier quotas once verified or owned.
pub(crate) const FREE_OBJECTS_MAX: u64 = 1_000;
pub(crate) const FREE_MEDIA_MB_TOTAL: u64 = 1_024;
pub(crate) const FREE_AI_CREDITS: u32 = 100;

pub(crate) const BYTES_PER_MB: u64 = 1024 * 1024;

/// The `limits` object of an unclaimed project.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Limits {
    pub(crate) ai_credits_remaining: u32,
    pub(crate) media_mb_total: u64,
    pub(crate) objects_max: u64,
}

pub(crate) const UNCLAIMED_LIMITS: Limits = Limits {
    ai_credits_remaining: 0,
    media_mb_total: UNCLAIMED_MEDIA_MB_TOTAL,
    objects_max: UNCLAIMED_OBJECTS_MAX,
};

/// `auth_type` as the API reports it: a human-owned project is as unrestricted as a verified
/// one, the difference is in `claim_status`.
pub(crate) fn auth_type(claim_status: &str) -> &'static str {
    if claim_status == UNCLAIMED {
        UNCLAIMED
    } else {
        VERIFIED
    }
}

/// The limits to report: restricted ones while unclaimed, `None` (null) afterwards.
pub(crate) fn reported_limits(claim_status: &str) -> Option<Limits> {
    (claim_status == UNCLAIMED).then_some(UNCLAIMED_LIMITS)
}

/// 402 `agent_unclaimed_limit`: the call is over a restricted-mode quota. `action` is
/// `object_create`, `media_upload` or `ai_generate`.
pub(crate) fn unclaimed_limit(action: &str, message: &str) -> Error {
    Error::new("agent_unclaimed_limit", message)
        .with_status(402)
        .with_details(json!({"action": action, "limits": UNCLAIMED_LIMITS}))
}

/// 402 `plan_limit`: over a free-tier quota (verified or human-owned projects).
pub(crate) fn plan_limit(action: &str, message: &str) -> Error {
    Error::new("plan_limit", message)
        .with_status(402)
        .with_details(json!({"action": action}))
}

/// 401 `invalid_agent_key`.
pub(crate) fn invalid_agent_key() -> Error {
    Error::new(
        "invalid_agent_key",
        "the agent key is missing, malformed or unknown",
    )
    .with_status(401)
}

/// 400 `invalid_argument` naming the field.
pub(crate) fn invalid(field: &str, why: &str) -> Error {
    Error::new("invalid_argument", format!("`{field}`: {why}"))
        .with_status(400)
        .with_details(json!({"field": field}))
}
