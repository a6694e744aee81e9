//! `cosmios start`: the runner's session loop.
//!
//! ```text
//!  ┌─► anonymous identity (once; again if the server forgets it)
//!  │   authenticate_runner(api_key)       this identity is now the machine's runner
//!  │   send what the journal kept from a previous runner (journal.rs)
//!  │   subscribe: runs pending, running or with a rollback requested   (RLS: our machine's)
//!  │   loop ── update ──► reconcile: pending and not ours ─► spawn execute (claims it)
//!  │        │                        ours, no longer in progress ─► Stop::Cancelled
//!  │        │                        running and not ours ─► fail it (left by a previous runner)
//!  │        │                        finished, rollback requested ─► git reset --hard snapshot
//!  │        ├─ every --heartbeat-ms ─► heartbeat(metrics)
//!  │        └─ a run task ended ─► forget it
//!  └── the connection fails: wait (backoff up to --reconnect-max-ms), start over; run tasks
//!      carry on meanwhile, and their reports wait for the server
//! ```
//!
//! The machine is online while the subscription's WebSocket is open (the module counts the
//! runner's connections) and while heartbeats arrive.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use cosmictron_client::ClientError;
use serde_json::{Value as Json, json};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::agent::AgentCommands;
use crate::api::Api;
use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::execute::{RunSettings, RunSpec, Stop, execute};
use crate::journal::{Entry, Journal};
use crate::metrics::Sampler;

/// The runner's live query: its machine's runs that are waiting or running (row-level
/// security keeps other machines' runs out).
const RUNS_QUERY: &str = "SELECT id, agent, workspace, task, status, rollback, snapshot_commit \
                          FROM runs \
                          WHERE status = 'pending' OR status = 'running' OR rollback = 'requested'";
/// How long stopping waits for run tasks to stop their agents and report.
const SHUTDOWN_REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of `cosmios start`.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    pub server: String,
    pub api_key: String,
    pub agents: AgentCommands,
    /// Between heartbeats (the module marks a machine silent for 90 s offline).
    pub heartbeat: Duration,
    /// How long a batch of log lines waits for more.
    pub log_flush: Duration,
    /// SIGTERM to SIGKILL when stopping an agent.
    pub kill_grace: Duration,
    /// The longest wait between reconnection attempts.
    pub reconnect_max: Duration,
    /// Where reports wait for the server (see `journal.rs`); `None` keeps them in memory.
    pub journal: Option<std::path::PathBuf>,
}

/// A future that resolves when the process should stop (e.g. Ctrl-C).
pub type Shutdown<'a> = Pin<&'a mut (dyn Future<Output = ()> + Send)>;

/// Runs until `shutdown` resolves (then stops the agents and fails their runs) or a fatal
/// error (an unknown machine key).
pub async fn run_runner(options: RunnerOptions, mut shutdown: Shutdown<'_>) -> Result<()> {
    let mut api = Api::new(&options.server, options.reconnect_max)?;
    let mut replay = Vec::new();
    if let Some(path) = &options.journal {
        let (journal, unsent) = Journal::open(path)?;
        if !unsent.is_empty() {
            tracing::info!("{} reports from the journal to send", unsent.len());
        }
        api = api.with_journal(journal);
        replay = unsent;
    }
    let mut runner = Runner {
        api: Arc::new(api),
        replay,
        settings: Arc::new(RunSettings {
            agents: options.agents.clone(),
            log_flush: options.log_flush,
            kill_grace: options.kill_grace,
        }),
        options,
        active: HashMap::new(),
        settled: HashSet::new(),
        rollbacks: HashSet::new(),
        tasks: JoinSet::new(),
        sampler: Sampler::default(),
    };
    let mut backoff = Backoff::new(Duration::from_millis(200), runner.options.reconnect_max);
    loop {
        let ended = runner.session(&mut backoff, shutdown.as_mut()).await;
        match ended {
            Ok(()) => break,
            Err(e) if e.is_fatal() => {
                runner.stop_all().await;
                return Err(e);
            }
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!("disconnected: {e}; reconnecting in {delay:?}");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = shutdown.as_mut() => break,
                }
            }
        }
    }
    runner.stop_all().await;
    Ok(())
}

#[derive(Debug)]
struct Runner {
    api: Arc<Api>,
    settings: Arc<RunSettings>,
    options: RunnerOptions,
    /// Reports a previous runner journaled but never sent: sent before anything else.
    replay: Vec<Entry>,
    /// Runs this process is executing, and how to stop each.
    active: HashMap<u64, watch::Sender<Stop>>,
    /// Runs this process is done with: reported by their task, or found `running` without
    /// us (a previous runner process died) and failed. An update older than our report may
    /// still show them; they are forgotten once they leave the subscribed rows.
    settled: HashSet<u64>,
    /// Rollbacks started; forgotten once their run leaves the subscribed rows (so a later
    /// request for the same run is carried out again).
    rollbacks: HashSet<u64>,
    /// The run tasks; each yields its run id.
    tasks: JoinSet<u64>,
    sampler: Sampler,
}

impl Runner {
    /// One connection's life: returns `Ok` on shutdown, the error that ended it otherwise.
    async fn session(&mut self, backoff: &mut Backoff, mut shutdown: Shutdown<'_>) -> Result<()> {
        if !self.api.has_token() {
            self.api.sign_in_anonymously().await?;
        }
        let args = json!({"api_key": self.options.api_key});
        match self.api.call("authenticate_runner", &args).await {
            Ok(machine) => tracing::info!("authenticated as the runner of {machine}"),
            Err(ClientError::Server { code, .. }) if code == "invalid_api_key" => {
                return Err(Error::UnknownMachineKey);
            }
            Err(e) => return Err(self.forget_token_if_refused(e)),
        }
        self.replay_journal().await?;
        let mut live = self
            .api
            .subscribe(RUNS_QUERY)
            .await
            .map_err(|e| self.forget_token_if_refused(e))?;
        backoff.reset();
        self.reconcile(live.rows());
        let mut ticker = tokio::time::interval(self.options.heartbeat);
        loop {
            tokio::select! {
                () = shutdown.as_mut() => {
                    let _ = live.close().await;
                    return Ok(());
                }
                update = live.next() => {
                    update?;
                    self.reconcile(live.rows());
                }
                _ = ticker.tick() => self.heartbeat().await?,
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Ok(id) = done {
                        self.active.remove(&id);
                        self.settled.insert(id);
                    }
                }
            }
        }
    }

    /// Sends the journaled reports of a previous runner, oldest first, before the runs are
    /// looked at: a run it finished must not be taken for one it abandoned. Stops at the
    /// first report that may succeed later (the rest wait for the next session).
    async fn replay_journal(&mut self) -> Result<()> {
        while let Some(entry) = self.replay.first() {
            match self.api.call(&entry.reducer, &entry.args).await {
                Ok(_) => {}
                Err(e) if crate::error::is_retryable(&e) => {
                    return Err(self.forget_token_if_refused(e));
                }
                // Already applied before the crash, or no longer valid: nothing to redo.
                Err(e) => tracing::warn!("journaled {} refused: {e}", entry.reducer),
            }
            if let Some(journal) = self.api.journal() {
                journal.done(entry.seq);
            }
            self.replay.remove(0);
        }
        Ok(())
    }

    /// A refused token (the server lost its key, or it expired): sign in afresh next time.
    fn forget_token_if_refused(&self, e: ClientError) -> Error {
        if e.status() == Some(401) {
            self.api.forget_token();
        }
        e.into()
    }

    async fn heartbeat(&mut self) -> Result<()> {
        let metrics = self.sampler.sample(self.active.len());
        match self
            .api
            .call("heartbeat", &json!({"metrics": metrics}))
            .await
        {
            Ok(_) => Ok(()),
            // The server forgot us as the runner, or cannot be reached: reconnect.
            Err(e) if crate::error::is_retryable(&e) => Err(self.forget_token_if_refused(e)),
            Err(e) => {
                tracing::warn!("heartbeat refused: {e}");
                Ok(())
            }
        }
    }

    /// Brings the running tasks in line with the subscribed rows.
    fn reconcile(&mut self, rows: &[Vec<Json>]) {
        // Runs waiting or running now; the others in the rows await a rollback.
        let mut in_progress = HashSet::new();
        let mut present = HashSet::new();
        for row in rows {
            let Some(run) = parse_run(row) else {
                tracing::warn!("ignoring a malformed run row: {row:?}");
                continue;
            };
            let id = run.spec.id;
            present.insert(id);
            if run.status == "pending" || run.status == "running" {
                in_progress.insert(id);
            } else if run.rollback.as_deref() == Some("requested") {
                self.roll_back(&run);
            }
            if self.settled.contains(&id) || self.active.contains_key(&id) {
                continue;
            }
            match run.status.as_str() {
                "pending" => self.start(run.spec),
                "running" => self.fail_orphan(id),
                _ => {}
            }
        }
        self.settled.retain(|id| present.contains(id));
        self.rollbacks.retain(|id| present.contains(id));
        for (id, stop) in &self.active {
            if !in_progress.contains(id) {
                // It left `pending`/`running` without our report: cancelled or paused.
                let _ = stop.send_if_modified(|s| {
                    let first = *s == Stop::No;
                    if first {
                        *s = Stop::Cancelled;
                    }
                    first
                });
            }
        }
    }

    fn start(&mut self, run: RunSpec) {
        let (stop_tx, stop_rx) = watch::channel(Stop::No);
        self.active.insert(run.id, stop_tx);
        let (api, settings, id) = (self.api.clone(), self.settings.clone(), run.id);
        self.tasks.spawn(async move {
            execute(api, settings, run, stop_rx).await;
            id
        });
    }

    fn roll_back(&mut self, run: &RunRow) {
        let Some(commit) = run.snapshot.clone() else {
            return;
        };
        if !self.rollbacks.insert(run.spec.id) {
            return;
        }
        let (api, id, workspace) = (self.api.clone(), run.spec.id, run.spec.workspace.clone());
        tokio::spawn(
            async move { crate::rollback::roll_back(&api, id, &workspace, &commit).await },
        );
    }

    /// A run `running` on our machine that this process is not running: the runner that
    /// claimed it is gone, and so is its agent.
    fn fail_orphan(&mut self, id: u64) {
        self.settled.insert(id);
        let api = self.api.clone();
        tokio::spawn(async move {
            let args = json!({"run": id, "exit_code": null,
                              "error": "the runner restarted while the run was in progress"});
            if let Err(e) = api.call_retrying("fail_run", &args).await {
                tracing::warn!("run {id}: left by a previous runner, not failed: {e}");
            }
        });
    }

    /// Stops every agent and waits (bounded) for their runs to be reported.
    async fn stop_all(&mut self) {
        for stop in self.active.values() {
            let _ = stop.send(Stop::Shutdown);
        }
        let wait = self.settings.kill_grace + SHUTDOWN_REPORT_TIMEOUT;
        let _ = tokio::time::timeout(wait, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        self.tasks.abort_all();
    }
}

/// A row of `RUNS_QUERY`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunRow {
    spec: RunSpec,
    status: String,
    rollback: Option<String>,
    snapshot: Option<String>,
}

/// `[id, agent, workspace, task, status, rollback, snapshot_commit]` → a run.
fn parse_run(row: &[Json]) -> Option<RunRow> {
    let id = match row.first()? {
        Json::Number(n) => n.as_u64()?,
        // 64-bit integers beyond ±2^53 come as strings.
        Json::String(s) => s.parse().ok()?,
        _ => return None,
    };
    let text = |i: usize| row.get(i)?.as_str().map(str::to_owned);
    Some(RunRow {
        spec: RunSpec {
            id,
            agent: text(1)?,
            workspace: text(2)?,
            task: text(3)?,
        },
        status: text(4)?,
        rollback: text(5),
        snapshot: text(6),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_run_rows() {
        let row = [
            json!("9007199254740993"),
            json!("codex"),
            json!("/w"),
            json!("t"),
            json!("pending"),
            json!(null),
            json!("abc1234"),
        ];
        let run = parse_run(&row).expect("valid");
        assert_eq!(run.spec.id, 9_007_199_254_740_993);
        assert_eq!(
            (run.spec.agent.as_str(), run.status.as_str()),
            ("codex", "pending")
        );
        assert_eq!(
            (run.rollback, run.snapshot.as_deref()),
            (None, Some("abc1234"))
        );
        assert_eq!(parse_run(&[json!(1), json!("codex")]), None);
        assert_eq!(
            parse_run(&[json!(-1), json!("a"), json!("w"), json!("t"), json!("s")]),
            None
        );
    }
}
