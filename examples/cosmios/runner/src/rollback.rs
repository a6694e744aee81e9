//! Rollbacks: the owner asks (`request_rollback`) for a finished run's workspace to go back
//! to the snapshot taken before its agent ran; the runner does `git reset --hard <commit>`
//! in the workspace, notes it in the run's log and reports the outcome
//! (`report_rollback`).

use std::path::Path;

use serde_json::json;

use crate::api::Api;

/// Resets `workspace` to `commit` and reports whether it worked.
pub(crate) async fn roll_back(api: &Api, run_id: u64, workspace: &str, commit: &str) {
    let (ok, line) = reset(Path::new(workspace), commit).await;
    tracing::info!("run {run_id}: {line}");
    let log = json!({"run": run_id, "lines": [{"stream": "system", "line": line}]});
    if let Err(e) = api.report("append_log", &log).await {
        tracing::warn!("run {run_id}: the rollback's log line not recorded: {e}");
    }
    let report = json!({"run": run_id, "ok": ok});
    if let Err(e) = api.report("report_rollback", &report).await {
        tracing::warn!("run {run_id}: rollback not reported: {e}");
    }
}

/// `git reset --hard commit` in `workspace`: (worked, what happened).
async fn reset(workspace: &Path, commit: &str) -> (bool, String) {
    // The module only stores hex commit ids; checking again keeps anything else (an option,
    // a path) away from git's command line.
    if commit.is_empty() || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (
            false,
            format!("rollback refused: `{commit}` is not a commit id"),
        );
    }
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(workspace)
        .args(["reset", "--hard", commit])
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    match out {
        Ok(o) if o.status.success() => (true, format!("rolled back to {commit}")),
        Ok(o) => (
            false,
            format!(
                "rollback to {commit} failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
        ),
        Err(e) => (
            false,
            format!("rollback to {commit} failed: cannot run git: {e}"),
        ),
    }
}
