//! The module's tables. None is `public`: agents and humans reach their data only through
//! reducers that check an `agk_` key or a claim token, and the module's owner (the operator)
//! reads the private tables with SQL — the email outbox is how a mail relay picks up codes.

use cosmictron_sdk::{Identity, Timestamp, table};

// Declared before the tables whose foreign keys point at it: tables are created in order.
/// A provisioned project and its bucket. The bucket keys are stored hashed like every other
/// secret (and sealed under the agent key in the sign-up, so `/status` can show them to the
/// agent again).
#[table(name = "projects")]
#[derive(Debug, Clone)]
pub struct Project {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    pub name: String,
    #[unique]
    pub bucket_slug: String,
    pub read_key_hash: String,
    pub write_key_hash: String,
    /// AI generations left once the project is verified or owned (none while unclaimed).
    pub ai_credits_used: u32,
    pub created_at: Timestamp,
}

/// One agent sign-up: the project it provisioned, its credentials (hashed) and claim state.
#[table(name = "signups")]
#[derive(Debug, Clone)]
pub struct Signup {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    /// SHA-256 (hex) of the `agk_` key; the key itself is shown once, at sign-up.
    #[unique]
    pub agent_key_hash: String,
    /// SHA-256 (hex) of the `clm_` claim token carried by the claim URL.
    #[unique]
    pub claim_token_hash: String,
    #[pii]
    #[index]
    pub human_email: String,
    #[index]
    pub agent_id: String,
    pub client: Option<String>,
    #[index]
    #[fk(projects.id, on_delete = cascade)]
    pub project_id: u64,
    /// `unclaimed`, `verified` or `human_owned` (see `state.rs`).
    pub claim_status: String,
    /// The bucket keys as JSON, sealed under the agent key (`secrets::seal`): readable only by
    /// whoever presents that key.
    pub sealed_bucket_keys: Option<String>,
    /// Who claimed the project through its claim URL.
    pub owner: Option<Identity>,
    pub created_at: Timestamp,
}

/// The one-time code of a sign-up: a salted SHA-256, an expiry and the attempts left.
#[table(name = "otp_codes")]
#[derive(Debug, Clone)]
pub struct OtpCode {
    #[primary_key]
    #[fk(signups.id, on_delete = cascade)]
    pub signup_id: u64,
    /// 16 random bytes, hex: a bare SHA-256 of a 6-digit code is reversed by trying all 10⁶.
    pub salt: String,
    pub code_hash: String,
    pub expires_at: Timestamp,
    pub attempts_left: u32,
    /// Set by the scheduled `expire_code` when the expiry passes.
    pub expired: bool,
}

/// Mail waiting for a relay to send it. It must carry the code to the human, so it is private
/// to the module and its owner, its body is `#[pii]`, and it is deleted when the code expires.
#[table(name = "email_outbox")]
#[derive(Debug, Clone)]
pub struct Email {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    #[fk(signups.id, on_delete = cascade)]
    pub signup_id: u64,
    #[pii]
    pub to_email: String,
    pub subject: String,
    #[pii]
    pub body: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Emails that belong to a human-owned account (a human claimed a project with them).
#[table(name = "human_accounts")]
#[derive(Debug, Clone)]
pub struct HumanAccount {
    /// Lower-cased.
    #[primary_key]
    pub email: String,
    pub identity: Identity,
    pub created_at: Timestamp,
}

/// Sign-ups per agent id per UTC day (the daily ceiling). Key: `<agent_id>/<day number>`.
#[table(name = "agent_daily_usage")]
#[derive(Debug, Clone)]
pub struct AgentDailyUsage {
    #[primary_key]
    pub agent_day: String,
    pub sign_ups: u32,
}

/// Objects of a project's bucket (the restricted data plane).
#[table(name = "objects")]
#[derive(Debug, Clone)]
pub struct Object {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    #[fk(projects.id, on_delete = cascade)]
    pub project_id: u64,
    pub title: String,
    pub created_at: Timestamp,
}

/// Media uploaded to a project's bucket: only the size is tracked here.
#[table(name = "media")]
#[derive(Debug, Clone)]
pub struct Media {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    #[fk(projects.id, on_delete = cascade)]
    pub project_id: u64,
    pub bytes_len: u64,
    pub created_at: Timestamp,
}

/// AI generation requests accepted for a project; a generator picks them up.
#[table(name = "ai_requests")]
#[derive(Debug, Clone)]
pub struct AiRequest {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    #[fk(projects.id, on_delete = cascade)]
    pub project_id: u64,
    #[pii]
    pub prompt: String,
    pub created_at: Timestamp,
}

/// The module's own secrets, made on first use: `access_token_key` signs the access tokens
/// (HS256 JWTs) the API hands agents.
#[table(name = "module_secrets")]
#[derive(Debug, Clone)]
pub struct ModuleSecret {
    #[primary_key]
    pub name: String,
    pub value: String,
}
