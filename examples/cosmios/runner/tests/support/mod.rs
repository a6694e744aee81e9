//! Shared by the end-to-end tests: the real `cosmios` binary against a real server on port
//! 0 (`cosmios_tests::Server`), a stub agent script, and polling helpers.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cosmios_tests::Server;
use serde_json::{Value as Json, json};

/// The binary under test.
pub fn cosmios() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cosmios"))
}

/// A stand-in for `claude -p TASK`: prints what it was given, then behaves as the task
/// says — `fail` exits 1 after a stderr line, `sleep` records its pids and sleeps until
/// killed, `slow` waits a little between two lines, `edit` changes the workspace's README;
/// anything else prints and exits 0.
pub const STUB_AGENT: &str = r#"#!/bin/sh
echo "task: $1"
echo "run $COSMIOS_RUN_ID in $(pwd)"
echo "a note on stderr" >&2
case "$1" in
  *fail*) echo "boom: could not do it" >&2; exit 1 ;;
  *sleep*)
    echo "sleeping"
    sleep 30 &
    echo "$$ $!" > "$COSMIOS_RUN_ID.pids"
    wait
    echo "woke up" ;;
  *slow*) echo "before"; sleep 2; echo "after" ;;
  *edit*) echo "changed" >> README ;;
esac
echo "done: $1"
"#;

/// A directory with the stub agent script (executable) and a workspace.
#[derive(Debug)]
pub struct Machine {
    pub dir: tempfile::TempDir,
    pub id: u64,
    pub api_key: String,
}

impl Machine {
    /// Registers a machine for `user` and writes the stub agent.
    pub async fn register(s: &Server, user: &str) -> Machine {
        let m = s
            .ok(user, "register_machine", json!({"name": "test-box"}))
            .await;
        let dir = tempfile::tempdir().expect("tempdir");
        let agent = dir.path().join("agent.sh");
        std::fs::write(&agent, STUB_AGENT).expect("write the stub agent");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        std::fs::create_dir(dir.path().join("ws")).expect("workspace");
        Machine {
            dir,
            id: m["machine_id"].as_u64().expect("machine id"),
            api_key: m["api_key"].as_str().expect("key").to_owned(),
        }
    }

    pub fn config(&self) -> PathBuf {
        self.dir
            .path()
            .join("home")
            .join(".cosmios")
            .join("config.json")
    }

    pub fn agent(&self) -> PathBuf {
        self.dir.path().join("agent.sh")
    }

    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    pub fn workspace_str(&self) -> String {
        self.workspace().to_string_lossy().into_owned()
    }

    /// `cosmios register` through the binary.
    pub fn save_config(&self, s: &Server) {
        let out = cosmios()
            .arg("--config")
            .arg(self.config())
            .args(["register", "--server", &s.base, "--api-key", &self.api_key])
            .output()
            .expect("run cosmios register");
        assert!(out.status.success(), "register: {out:?}");
    }

    /// `cosmios start` with the stub agent for both agents and short intervals.
    pub fn start(&self) -> RunnerProcess {
        let log = self.dir.path().join("runner.log");
        let stderr = std::fs::File::create(&log).expect("runner log");
        let agent = self.agent().to_string_lossy().into_owned();
        let child = cosmios()
            .arg("--config")
            .arg(self.config())
            .arg("start")
            .args(["--agent-command", &format!("claude-code={agent}")])
            .args(["--agent-command", "codex=/nonexistent/codex exec"])
            .args(["--heartbeat-ms", "300", "--log-flush-ms", "20"])
            .args(["--kill-grace-ms", "1000", "--reconnect-max-ms", "300"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the runner");
        RunnerProcess { child, log }
    }
}

/// The runner process, killed when dropped.
#[derive(Debug)]
pub struct RunnerProcess {
    pub child: Child,
    pub log: PathBuf,
}

impl RunnerProcess {
    /// What the runner logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One column of one row.
pub async fn value(s: &Server, token: &str, query: &str) -> Json {
    s.sql(token, query)
        .await
        .first()
        .and_then(|r| r.get(0).cloned())
        .unwrap_or(Json::Null)
}

/// Waits until run `run` has `status`; returns `[status, exit_code, error, summary,
/// snapshot_commit]`.
/// Waits until `query`'s single value, read as `token`, equals `expected`.
pub async fn value_becomes(
    s: &Server,
    token: &str,
    query: &str,
    expected: Json,
    what: &str,
    secs: u64,
) {
    eventually(what, secs, || async {
        (value(s, token, query).await == expected).then_some(())
    })
    .await;
}

pub async fn run_reaches(
    s: &Server,
    user: &str,
    run: u64,
    status: &str,
    log: &dyn Fn() -> String,
) -> Vec<Json> {
    let q = format!(
        "SELECT status, exit_code, error, summary, snapshot_commit FROM runs WHERE id = {run}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row: Vec<Json> = s
            .sql(user, &q)
            .await
            .into_iter()
            .next()
            .and_then(|r| r.as_array().cloned())
            .unwrap_or_default();
        if row.first().and_then(Json::as_str) == Some(status) {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "run {run} never became {status}: {row:?}\nrunner log:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The run's log lines of `stream`, in order.
pub async fn lines(s: &Server, user: &str, run: u64, stream: &str) -> Vec<String> {
    s.sql(
        user,
        &format!("SELECT line FROM event WHERE run_id = {run} AND stream = '{stream}' ORDER BY id"),
    )
    .await
    .into_iter()
    .filter_map(|r| r.get(0)?.as_str().map(str::to_owned))
    .collect()
}

/// True when no live process has this pid (gone, or a zombie nobody reaped yet).
pub fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // `pid (comm) S …`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// `git -C dir args…`: its trimmed stdout (the command must succeed).
pub fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `git init` + one commit in `dir`; returns the commit id.
pub fn git_commit(dir: &Path) -> String {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    std::fs::write(dir.join("README"), "hello\n").expect("write");
    git(&["add", "README"]);
    git(&["commit", "-q", "-m", "first"]);
    git(&["rev-parse", "HEAD"])
}
