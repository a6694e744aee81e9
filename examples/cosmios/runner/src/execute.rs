//! One run, start to finish:
//!
//! ```text
//! claim_run ─► workspace exists? ─► git add -A && git commit (if dirty) ─► record_snapshot
//!           ─► spawn the agent ─► stdout/stderr lines ─► LogBuffer ─► append_log (batches)
//!           ─► exit 0: complete_run(summary = last lines)   non-zero / no start: fail_run(reason)
//!              cancelled (the run left `running`): stop the agent, report nothing
//!              runner shutting down: stop the agent, fail_run
//! ```
//!
//! Every report is journaled on disk and retried while the server is unreachable, so a run
//! finished during an outage is reported when the server is back, even by the next runner
//! process; the final report is journaled after the last log line and sent after it.

use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::agent::{self, AgentCommands};
use crate::api::Api;
use crate::logs::LogBuffer;

/// How long the output readers may go on after the agent exited (a grandchild outside the
/// process group may hold the pipes open).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Stdout lines in a completed run's summary (the next mission card's context).
const SUMMARY_LINES: usize = 10;
/// Stderr lines quoted in a failed run's error.
const ERROR_LINES: usize = 3;

/// A run as the subscription shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunSpec {
    pub(crate) id: u64,
    pub(crate) agent: String,
    pub(crate) workspace: String,
    pub(crate) task: String,
}

/// What a run task is told by the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Keep going.
    No,
    /// The user cancelled the run (or paused its mission): stop the agent quietly.
    Cancelled,
    /// The runner is stopping: stop the agent and fail the run.
    Shutdown,
}

/// How runs are executed (from flags and the config file).
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub(crate) agents: AgentCommands,
    /// How long a batch of log lines waits for more lines.
    pub(crate) log_flush: Duration,
    /// SIGTERM to SIGKILL.
    pub(crate) kill_grace: Duration,
}

#[derive(Debug)]
enum Outcome {
    Completed {
        exit_code: i32,
        summary: String,
    },
    Failed {
        exit_code: Option<i32>,
        error: String,
    },
    Stopped(Stop),
}

/// Claims and executes `run`, then reports how it ended.
pub(crate) async fn execute(
    api: Arc<Api>,
    settings: Arc<RunSettings>,
    run: RunSpec,
    stop: watch::Receiver<Stop>,
) {
    if let Err(e) = api
        .call_retrying("claim_run", &json!({"run": run.id}))
        .await
    {
        // Usually cancelled before we got to it (`invalid_state`).
        tracing::info!("run {}: not claimed: {e}", run.id);
        return;
    }
    tracing::info!(
        "run {}: claimed ({} in {})",
        run.id,
        run.agent,
        run.workspace
    );
    let (outcome, shipper) = drive(&api, &settings, &run, stop).await;
    let (reducer, args) = match outcome {
        Outcome::Completed { exit_code, summary } => (
            "complete_run",
            json!({"run": run.id, "exit_code": exit_code, "summary": summary}),
        ),
        Outcome::Failed { exit_code, error } => (
            "fail_run",
            json!({"run": run.id, "exit_code": exit_code, "error": error}),
        ),
        Outcome::Stopped(Stop::Shutdown) => (
            "fail_run",
            json!({"run": run.id, "exit_code": null,
                   "error": "the runner stopped while the agent was running"}),
        ),
        Outcome::Stopped(_) => {
            tracing::info!("run {}: cancelled; the agent was stopped", run.id);
            if let Some(shipper) = shipper {
                let _ = shipper.await;
            }
            return;
        }
    };
    // On disk now, after the log lines (already journaled); sent once they are sent, so
    // that the log is whole when the run shows as finished.
    let seq = api.record(reducer, &args);
    if let Some(shipper) = shipper {
        let _ = shipper.await;
    }
    match api.send_recorded(seq, reducer, &args).await {
        Ok(_) => tracing::info!("run {}: {reducer}", run.id),
        Err(e) => tracing::warn!("run {}: {reducer} refused: {e}", run.id),
    }
}

fn failed(error: String) -> Outcome {
    Outcome::Failed {
        exit_code: None,
        error,
    }
}

/// Runs the agent; returns how it ended once every line of its output is journaled, with
/// the task still sending them (none if the agent never started).
async fn drive(
    api: &Arc<Api>,
    settings: &RunSettings,
    run: &RunSpec,
    mut stop: watch::Receiver<Stop>,
) -> (Outcome, Option<JoinHandle<()>>) {
    let workspace = Path::new(&run.workspace);
    if !workspace.is_dir() {
        return (
            failed(format!(
                "the workspace {} is not a directory on this machine",
                run.workspace
            )),
            None,
        );
    }
    let Some(argv) = settings.agents.get(&run.agent) else {
        return (
            failed(format!(
                "no command for agent `{}` (--agent-command {}=COMMAND)",
                run.agent, run.agent
            )),
            None,
        );
    };
    record_snapshot(api, run.id, workspace).await;
    let mut child = match agent::spawn(argv, workspace, run.id, &run.task) {
        Ok(child) => child,
        Err(e) => return (failed(e.to_string()), None),
    };
    let logs = Arc::new(LogBuffer::default());
    let (journaled_tx, journaled) = oneshot::channel();
    let shipper =
        tokio::spawn(
            logs.clone()
                .ship(api.clone(), run.id, settings.log_flush, journaled_tx),
        );
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(agent::forward_lines(
            out,
            "stdout",
            logs.clone(),
        )));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(agent::forward_lines(
            err,
            "stderr",
            logs.clone(),
        )));
    }

    let ended = loop {
        tokio::select! {
            status = child.wait() => break status.map_err(|e| e.to_string()),
            changed = stop.changed() => {
                let reason = *stop.borrow_and_update();
                if changed.is_err() || reason == Stop::No {
                    // The session is gone (or nothing to do): let the agent finish.
                    if changed.is_err() {
                        break child.wait().await.map_err(|e| e.to_string());
                    }
                    continue;
                }
                agent::stop(&mut child, settings.kill_grace).await;
                logs.push("system", match reason {
                    Stop::Cancelled => "the run was cancelled: the agent was stopped".into(),
                    _ => "the runner is stopping: the agent was stopped".into(),
                });
                drain(readers, &logs, journaled).await;
                return (Outcome::Stopped(reason), Some(shipper));
            }
        }
    };
    drain(readers, &logs, journaled).await;
    let outcome = match ended {
        Ok(status) => outcome_of(status, &run.agent, &logs),
        Err(e) => failed(format!("waiting for the agent: {e}")),
    };
    (outcome, Some(shipper))
}

/// Waits for the readers (bounded), then for every line to be journaled.
async fn drain(readers: Vec<JoinHandle<()>>, logs: &LogBuffer, journaled: oneshot::Receiver<()>) {
    for reader in readers {
        let abort = reader.abort_handle();
        if tokio::time::timeout(DRAIN_TIMEOUT, reader).await.is_err() {
            abort.abort();
        }
    }
    logs.close();
    let _ = journaled.await;
}

fn outcome_of(status: ExitStatus, agent: &str, logs: &LogBuffer) -> Outcome {
    if status.success() {
        let summary = logs.tail("stdout", SUMMARY_LINES).join("\n");
        return Outcome::Completed {
            exit_code: 0,
            summary: if summary.is_empty() {
                format!("{agent} exited with code 0")
            } else {
                summary
            },
        };
    }
    let how = match status.code() {
        Some(code) => format!("{agent} exited with code {code}"),
        None => format!("{agent} was killed by {}", signal_name(status)),
    };
    let stderr = logs.tail("stderr", ERROR_LINES);
    Outcome::Failed {
        exit_code: status.code(),
        error: if stderr.is_empty() {
            how
        } else {
            format!("{how}: {}", stderr.join(" / "))
        },
    }
}

#[cfg(unix)]
fn signal_name(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    status
        .signal()
        .map_or_else(|| "a signal".into(), |s| format!("signal {s}"))
}

#[cfg(not(unix))]
fn signal_name(_status: ExitStatus) -> String {
    "a signal".into()
}

/// Snapshots the workspace before the agent runs and records it as the run's snapshot (what a
/// rollback resets to). In a git repository, changes not yet committed are committed first
/// (`git add -A && git commit`), so a rollback restores them too; a clean tree snapshots
/// `HEAD`. A workspace that is not a git repository has no snapshot.
async fn record_snapshot(api: &Api, run_id: u64, workspace: &Path) {
    if git(workspace, &["rev-parse", "--is-inside-work-tree"])
        .await
        .is_none()
    {
        return;
    }
    let dirty = git(workspace, &["status", "--porcelain"])
        .await
        .is_some_and(|s| !s.is_empty());
    if dirty {
        let message = format!("cosmios: snapshot before run {run_id}");
        let committed = git(workspace, &["add", "-A"]).await.is_some()
            && git(
                workspace,
                &[
                    "-c",
                    "user.name=cosmios runner",
                    "-c",
                    "user.email=runner@cosmios.invalid",
                    "commit",
                    "-q",
                    "--no-verify",
                    "-m",
                    &message,
                ],
            )
            .await
            .is_some();
        if !committed {
            tracing::warn!("run {run_id}: the workspace's changes could not be committed");
        }
    }
    let Some(commit) = git(workspace, &["rev-parse", "HEAD"]).await else {
        return;
    };
    if let Err(e) = api
        .report("record_snapshot", &json!({"run": run_id, "commit": commit}))
        .await
    {
        tracing::warn!("run {run_id}: snapshot {commit} not recorded: {e}");
    }
}

/// `git -C workspace args…`: its trimmed stdout when it succeeds.
async fn git(workspace: &Path, args: &[&str]) -> Option<String> {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(workspace)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
