//! The module's tables. Users see their own rows (`owner = $identity`); a machine's runner
//! sees its machine's runs and their log (`runner = $identity`, copied onto the rows when
//! the runner authenticates). Secrets (machine keys) are stored as SHA-256; webhook signing
//! secrets live in a private table because signing needs the secret itself.

use cosmictron_sdk::{Identity, Timestamp, table};

/// A registered machine. `online` follows the runner's connections and heartbeats.
#[table(name = "machines", public)]
#[rls(read = "owner = $identity OR runner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub owner: Identity,
    pub name: String,
    /// SHA-256 (hex) of the `csu_` key; the key is shown once, by `register_machine`.
    #[unique]
    pub api_key_hash: String,
    /// The identity the runner authenticated as (`authenticate_runner`).
    pub runner: Option<Identity>,
    pub enabled: bool,
    pub online: bool,
    pub last_seen: Option<Timestamp>,
    /// The last heartbeat's metrics (JSON).
    pub metrics: String,
    pub created_at: Timestamp,
}

/// Which machine a runner identity drives, and its open connections (online while > 0 or
/// heartbeating).
#[table(name = "runners")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct Runner {
    #[primary_key]
    pub identity: Identity,
    #[unique]
    pub machine_id: u64,
    pub connections: u32,
}

/// A run of an agent on a machine. Status: `pending` → `running` → `completed` / `failed`;
/// `cancelled` from `pending` or `running`.
#[table(name = "runs", public)]
#[rls(read = "owner = $identity OR runner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct Run {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub owner: Identity,
    #[index]
    pub machine_id: u64,
    pub runner: Option<Identity>,
    pub agent: String,
    pub workspace: String,
    pub task: String,
    #[index]
    pub status: String,
    pub exit_code: Option<i32>,
    pub error: Option<String>,
    pub summary: Option<String>,
    /// The workspace commit taken before the agent ran (`record_snapshot`).
    pub snapshot_commit: Option<String>,
    /// `requested` → `done` (or `failed`), set by `request_rollback` and the runner.
    pub rollback: Option<String>,
    pub mission_id: Option<u64>,
    pub card_id: Option<u64>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
}

/// A run's output, append-only: one row per line, in order of `id`.
#[table(name = "event", public)]
#[rls(read = "owner = $identity OR runner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEvent {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub run_id: u64,
    pub owner: Identity,
    pub runner: Option<Identity>,
    /// `stdout`, `stderr` or `system`.
    pub stream: String,
    pub line: String,
    pub created_at: Timestamp,
}

/// The timeline: `run.completed`, `run.failed`, `approval.requested`, `machine.online`,
/// `machine.offline`, `event.critical`, `mission.completed`, `mission.failed`.
#[table(name = "timeline", public)]
#[rls(read = "owner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimelineEvent {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub owner: Identity,
    pub kind: String,
    pub machine_id: Option<u64>,
    pub run_id: Option<u64>,
    pub message: String,
    /// For `approval.requested`: `pending`, `approved` or `rejected`.
    pub approval: Option<String>,
    pub created_at: Timestamp,
}

/// A mission: cards run one after another on one machine. Status: `draft`, `running`,
/// `paused`, `completed`.
#[table(name = "missions", public)]
#[rls(read = "owner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mission {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub owner: Identity,
    pub title: String,
    pub workspace: String,
    pub machine_id: Option<u64>,
    pub status: String,
    pub created_at: Timestamp,
}

/// A card of a mission. Status: `pending`, `running`, `completed`, `failed`.
#[table(name = "cards", public)]
#[rls(read = "owner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct Card {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    #[fk(missions.id, on_delete = cascade)]
    pub mission_id: u64,
    pub owner: Identity,
    pub position: u32,
    pub instruction: String,
    pub agent: String,
    pub status: String,
    pub run_id: Option<u64>,
    pub summary: Option<String>,
}

/// Something a human must do, found while a card ran.
#[table(name = "action_items", public)]
#[rls(read = "owner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionItem {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    pub owner: Identity,
    #[index]
    pub card_id: u64,
    pub text: String,
    pub done: bool,
    pub created_at: Timestamp,
}

/// A webhook: its events (comma-separated). Readable by its owner, without the secret.
#[table(name = "webhooks", public)]
#[rls(read = "owner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct Webhook {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub owner: Identity,
    pub url: String,
    pub events: String,
    pub created_at: Timestamp,
}

/// Webhook signing secrets: private to the module and its owner (the relay that signs).
#[table(name = "webhook_secrets")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct WebhookSecret {
    #[primary_key]
    #[fk(webhooks.id, on_delete = cascade)]
    pub webhook_id: u64,
    pub secret: String,
}

/// One webhook delivery to make: the documented payload, for the relay to POST and sign.
#[table(name = "webhook_deliveries", public)]
#[rls(read = "owner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    #[fk(webhooks.id, on_delete = cascade)]
    pub webhook_id: u64,
    pub owner: Identity,
    pub event: String,
    pub url: String,
    /// `{event, timestamp, data: {run_id, workspace, agent, status}}` as JSON text.
    pub payload: String,
    /// `pending`, `delivered` or `failed` (reported by the relay, `report_delivery`).
    #[index]
    pub status: String,
    /// POSTs the relay made, retries included.
    pub attempts: u32,
    pub created_at: Timestamp,
    // The relay's report. Nullable columns at the end, so that deployed data upgrades.
    /// The receiver's last HTTP status, if it answered at all.
    pub status_code: Option<u32>,
    /// Why the last attempt failed (a non-2xx status, a time-out, a refused connection).
    pub error: Option<String>,
    pub finished_at: Option<Timestamp>,
}

/// Notification emails (mission completed / failed) for a mail relay.
#[table(name = "email_outbox", public)]
#[rls(read = "owner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct Email {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub owner: Identity,
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
}
