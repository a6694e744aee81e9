//! The cosmios runner and webhook relay: the process side of the `cosmios` module.
//!
//! `cosmios start` makes this machine a runner: it signs in anonymously, proves it holds
//! the machine's `csu_` key (`authenticate_runner`), subscribes to its machine's pending and
//! running runs, and for each pending run claims it, starts the agent (`claude -p TASK`,
//! `codex exec TASK`, or any command given with `--agent-command`) in the run's workspace,
//! streams its output into the run's log in batches and reports how it ended. A run that
//! leaves `running` without our report was cancelled: its agent is stopped. A rollback
//! request resets the workspace to the run's snapshot (`git reset --hard`). Heartbeats
//! carry CPU and memory figures; losing the server means reconnecting with backoff while
//! the agents go on.
//!
//! `cosmios relay` runs as the module's owner: it subscribes to pending webhook deliveries,
//! POSTs each payload signed with HMAC-SHA256 (`X-Cosmios-Signature`), retries with backoff
//! and reports the outcome (`report_delivery`).
//!
//! Layout:
//! - `runner.rs`   the runner's session loop: authenticate, subscribe, reconcile, heartbeat
//! - `execute.rs`  one run: claim, snapshot, agent, logs, complete / fail / cancelled
//! - `rollback.rs` `git reset --hard` to a run's snapshot on request
//! - `agent.rs`    agent commands, spawning in a process group, reading lines, stopping
//! - `logs.rs`     the bounded line buffer and its batching shipper (`append_log`)
//! - `journal.rs`  reports kept on disk until the server has them
//! - `relay.rs`    the relay's session loop
//! - `deliver.rs`  one signed delivery with time-outs and retries
//! - `status.rs`   `register` (the config file) and `status` (`machine_status`)
//! - `config.rs`   the config file, written with mode 0600
//! - `api.rs`      calls to the module, retried while the server is away
//! - `metrics.rs`  CPU and memory from `/proc`
//! - `backoff.rs`, `error.rs`
//!
//! The binary (`main.rs`) is the command line around these.

mod agent;
mod api;
mod backoff;
mod config;
mod deliver;
mod error;
mod execute;
mod journal;
mod logs;
mod metrics;
mod relay;
mod rollback;
mod runner;
mod status;

pub use agent::AgentCommands;
pub use config::{Config, check_api_key, check_server, default_path};
pub use deliver::signature;
pub use error::{Error, Result};
pub use relay::{RelayOptions, run_relay};
pub use runner::{RunnerOptions, Shutdown, run_runner};
pub use status::{machine_status, register};
