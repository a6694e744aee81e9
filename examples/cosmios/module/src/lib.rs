//! The cosmios module: a control plane for AI coding agents as transactional state.
//!
//! - `machines.rs`  register (one-time `csu_` key), enable/disable, runner authentication,
//!   online/offline from connections, heartbeats and a scheduled silence check, the
//!   status of a machine by its key (`cosmios status`)
//! - `runs.rs`      dispatch, claim, log lines (`event`), snapshot, complete/fail/cancel,
//!   rollback requests
//! - `missions.rs`  missions of sequential cards, pause/resume, action items
//! - `timeline.rs`  the timeline of events, approvals, webhook deliveries, notification
//!   emails
//! - `webhooks.rs`  webhook subscriptions, their signing secrets, the relay's delivery reports
//! - `api_keys.rs`  user API keys (`csu_`, shown once) for the REST API
//! - `rest_api.rs`  the document's REST API as HTTP routes: `/api/v1/machines`, `/runs`,
//!   `/events`, `/sessions`, enable/disable, approve/reject (60 requests a minute per key)
//! - `views.rs`     `machine_load`: each of the caller's machines with its runs by state (a
//!   view, read with `SELECT * FROM machine_load`)
//! - `tables.rs`    the tables and their row-level security
//! - `common.rs`    digests, ownership checks, errors
//!
//! Users see only their own rows; a machine's runner sees only its machine's runs and logs.
//! The README walks through a session with curl.

mod api_keys;
mod common;
mod machines;
mod missions;
mod rest_api;
mod runs;
mod tables;
mod timeline;
mod views;
mod webhooks;
