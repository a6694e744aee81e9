//! Runs: dispatched by a user to one of their machines, claimed and reported by the
//! machine's runner. Finishing a mission's run moves its mission on (`missions.rs`).

use cosmictron_sdk::{Error, ReducerContext, reducer};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::common::{invalid, own_machine, own_run, runner_run, text, wrong_state};
use crate::missions;
use crate::tables::*;
use crate::timeline::{About, emit};

pub(crate) const AGENTS: [&str; 2] = ["claude-code", "codex"];
const LINES_PER_CALL_MAX: usize = 1_000;
const LINE_CHARS_MAX: usize = 16 * 1024;
const TASK_CHARS_MAX: usize = 64 * 1024;

/// The agent name, `claude-code` when not given.
pub(crate) fn agent(raw: Option<String>) -> Result<String, Error> {
    let agent = raw.unwrap_or_else(|| AGENTS[0].to_owned());
    if !AGENTS.contains(&agent.as_str()) {
        return Err(invalid("agent", "must be `claude-code` or `codex`"));
    }
    Ok(agent)
}

/// Creates a pending run on `machine` (owned by `owner`); refused for disabled machines.
pub(crate) fn create_run(
    ctx: &ReducerContext,
    machine: &Machine,
    agent: String,
    workspace: String,
    task: String,
    mission: Option<(u64, u64)>,
) -> Result<Run, Error> {
    if !machine.enabled {
        return Err(Error::new(
            "machine_disabled",
            format!(
                "machine {} is disabled: enable it to dispatch runs",
                machine.id
            ),
        )
        .with_status(409));
    }
    ctx.db.runs().insert(Run {
        id: 0,
        owner: machine.owner,
        machine_id: machine.id,
        runner: machine.runner,
        agent,
        workspace,
        task,
        status: "pending".to_owned(),
        exit_code: None,
        error: None,
        summary: None,
        snapshot_commit: None,
        rollback: None,
        mission_id: mission.map(|m| m.0),
        card_id: mission.map(|m| m.1),
        created_at: ctx.timestamp,
        started_at: None,
        finished_at: None,
    })
}

/// Dispatches a run to one of the caller's machines.
#[reducer]
pub fn dispatch_run(
    ctx: &ReducerContext,
    machine: u64,
    agent: Option<String>,
    workspace: String,
    task: String,
) -> Result<Run, Error> {
    let machine = own_machine(ctx, machine)?;
    let agent = self::agent(agent)?;
    let workspace = text("workspace", &workspace, 1_024)?;
    let task = text("task", &task, TASK_CHARS_MAX)?;
    create_run(ctx, &machine, agent, workspace, task, None)
}

/// The runner takes a pending run of its machine: it becomes `running`.
#[reducer]
pub fn claim_run(ctx: &ReducerContext, run: u64) -> Result<Run, Error> {
    let mut r = runner_run(ctx, run)?;
    if r.status != "pending" {
        return Err(wrong_state("run", run, &r.status, "claim"));
    }
    r.status = "running".to_owned();
    r.started_at = Some(ctx.timestamp);
    ctx.db.runs().update(r)
}

/// A line of a run's output.
#[derive(Debug, Deserialize)]
pub struct LogLine {
    /// `stdout`, `stderr` or `system`.
    pub stream: String,
    pub line: String,
}

/// Appends output lines to a run's log (the `event` table); returns how many.
#[reducer]
pub fn append_log(ctx: &ReducerContext, run: u64, lines: Vec<LogLine>) -> Result<u32, Error> {
    let r = runner_run(ctx, run)?;
    if lines.len() > LINES_PER_CALL_MAX {
        return Err(invalid("lines", "at most 1000 lines per call"));
    }
    for l in &lines {
        if !matches!(l.stream.as_str(), "stdout" | "stderr" | "system") {
            return Err(invalid("stream", "must be stdout, stderr or system"));
        }
        if l.line.chars().count() > LINE_CHARS_MAX {
            return Err(invalid("line", "at most 16384 characters per line"));
        }
    }
    let n = u32::try_from(lines.len()).unwrap_or(u32::MAX);
    for l in lines {
        ctx.db.event().insert(LogEvent {
            id: 0,
            run_id: r.id,
            owner: r.owner,
            runner: r.runner,
            stream: l.stream,
            line: l.line,
            created_at: ctx.timestamp,
        })?;
    }
    Ok(n)
}

/// The runner records the workspace commit taken before the agent started.
#[reducer]
pub fn record_snapshot(ctx: &ReducerContext, run: u64, commit: String) -> Result<Run, Error> {
    let mut r = runner_run(ctx, run)?;
    let commit = commit.trim();
    if commit.len() < 7 || commit.len() > 64 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("commit", "must be a git commit id (hex)"));
    }
    r.snapshot_commit = Some(commit.to_owned());
    ctx.db.runs().update(r)
}

fn finish(
    ctx: &ReducerContext,
    mut r: Run,
    status: &str,
    exit_code: Option<i32>,
) -> Result<Run, Error> {
    if r.status != "running" && r.status != "pending" {
        return Err(wrong_state("run", r.id, &r.status, "finish"));
    }
    r.status = status.to_owned();
    r.exit_code = exit_code;
    r.finished_at = Some(ctx.timestamp);
    ctx.db.runs().update(r)
}

/// The runner reports success, with a summary of what was done (the next card's context).
#[reducer]
pub fn complete_run(
    ctx: &ReducerContext,
    run: u64,
    exit_code: Option<i32>,
    summary: Option<String>,
) -> Result<Run, Error> {
    let mut r = runner_run(ctx, run)?;
    r.summary = summary.map(|s| s.chars().take(4_000).collect());
    let r = finish(ctx, r, "completed", exit_code.or(Some(0)))?;
    let about = About {
        machine_id: None,
        run: Some(&r),
    };
    emit(
        ctx,
        r.owner,
        "run.completed",
        format!("run {} completed", r.id),
        about,
        None,
    )?;
    missions::on_run_completed(ctx, &r)?;
    Ok(r)
}

/// The runner reports failure with the exit code and an error message.
#[reducer]
pub fn fail_run(
    ctx: &ReducerContext,
    run: u64,
    exit_code: Option<i32>,
    error: String,
) -> Result<Run, Error> {
    let mut r = runner_run(ctx, run)?;
    r.error = Some(error.chars().take(4_000).collect());
    let r = finish(ctx, r, "failed", exit_code)?;
    let about = About {
        machine_id: None,
        run: Some(&r),
    };
    emit(
        ctx,
        r.owner,
        "run.failed",
        format!("run {} failed", r.id),
        about,
        None,
    )?;
    missions::on_run_failed(ctx, &r)?;
    Ok(r)
}

/// The owner cancels a pending or running run; the runner sees the status change and stops
/// the agent.
#[reducer]
pub fn cancel_run(ctx: &ReducerContext, run: u64) -> Result<Run, Error> {
    let r = own_run(ctx, run)?;
    let r = finish(ctx, r, "cancelled", None)?;
    let about = About {
        machine_id: None,
        run: Some(&r),
    };
    emit(
        ctx,
        r.owner,
        "run.failed",
        format!("run {} cancelled", r.id),
        about,
        None,
    )?;
    missions::on_run_cancelled(ctx, &r)?;
    Ok(r)
}

/// The owner asks the runner to reset the workspace to the run's snapshot (after the run
/// finished: completed, failed or cancelled).
#[reducer]
pub fn request_rollback(ctx: &ReducerContext, run: u64) -> Result<Run, Error> {
    let mut r = own_run(ctx, run)?;
    if !matches!(r.status.as_str(), "completed" | "failed" | "cancelled") {
        return Err(wrong_state("run", run, &r.status, "roll back"));
    }
    if r.snapshot_commit.is_none() {
        return Err(
            Error::new("no_snapshot", format!("run {run} has no snapshot")).with_status(409),
        );
    }
    r.rollback = Some("requested".to_owned());
    ctx.db.runs().update(r)
}

/// The runner reports the rollback's outcome.
#[reducer]
pub fn report_rollback(ctx: &ReducerContext, run: u64, ok: bool) -> Result<Json, Error> {
    let mut r = runner_run(ctx, run)?;
    if r.rollback.as_deref() != Some("requested") {
        return Err(wrong_state(
            "run",
            run,
            "without a rollback request",
            "report a rollback",
        ));
    }
    r.rollback = Some(if ok { "done" } else { "failed" }.to_owned());
    let state = r.rollback.clone();
    ctx.db.runs().update(r)?;
    Ok(json!({"run_id": run, "rollback": state}))
}
