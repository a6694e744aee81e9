//! The real `cosmios` binary as a machine's runner against a real server, with a stub agent
//! script in place of `claude`: registration and status, online state and heartbeats, runs
//! claimed, streamed, completed, failed and cancelled, snapshots and rollbacks, a three-card
//! mission and a failing card that pauses one, and a server that goes away and comes back.

mod support;

use std::time::Duration;

use cosmios_tests::Server;
use serde_json::{Value as Json, json};
use support::{
    Machine, eventually, git_commit, git_out, lines, process_gone, run_reaches, value,
    value_becomes,
};

async fn dispatch(s: &Server, user: &str, m: &Machine, task: &str, agent: &str) -> u64 {
    let run = s
        .ok(
            user,
            "dispatch_run",
            json!({"machine": m.id, "workspace": m.workspace_str(), "task": task, "agent": agent}),
        )
        .await;
    run["id"].as_u64().expect("run id")
}

/// `cosmios status`, awaited without blocking the runtime the server runs on.
async fn status_of(m: &Machine) -> (Option<i32>, String) {
    let out = tokio::process::Command::from(support::cosmios())
        .arg("--config")
        .arg(m.config())
        .arg("status")
        .output()
        .await
        .expect("run cosmios status");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn a_registered_runner_goes_online_and_completes_a_run_with_its_log() {
    // Proves: `register` writes a 0600 config that `status` and `start` use; the runner's
    // connection puts the machine online (status exit 0) and heartbeats carry metrics; a
    // dispatched run is claimed, its snapshot is the workspace's HEAD, every stdout line
    // arrives in order and stderr separately, and exit 0 completes it with the last lines
    // as the summary; stopping the runner takes the machine offline.
    let s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    m.save_config(&s);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(m.config())
            .expect("config")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (code, out) = status_of(&m).await;
    assert_eq!((code, out.contains("offline")), (Some(3), true), "{out}");

    let head = git_commit(&m.workspace());
    let runner = m.start();
    let log = || runner.log();
    value_becomes(
        &s,
        &user,
        &format!("SELECT online FROM machines WHERE id = {}", m.id),
        json!(true),
        "the machine online",
        20,
    )
    .await;
    let (code, out) = status_of(&m).await;
    assert_eq!((code, out.contains("test-box")), (Some(0), true), "{out}");
    let metrics: Json = eventually("a heartbeat with metrics", 20, || async {
        let raw = value(&s, &user, "SELECT metrics FROM machines").await;
        let metrics: Json = serde_json::from_str(raw.as_str()?).ok()?;
        metrics.get("running_runs").is_some().then_some(metrics)
    })
    .await;
    assert!(
        metrics["mem_total_mb"].as_u64().is_some_and(|t| t > 0),
        "{metrics}"
    );

    let run = dispatch(&s, &user, &m, "fix the login bug", "claude-code").await;
    let row = run_reaches(&s, &user, run, "completed", &log).await;
    assert_eq!(row[1], json!(0));
    assert_eq!(row[4], json!(head), "the snapshot is the workspace's HEAD");
    let stdout = lines(&s, &user, run, "stdout").await;
    let ws = m.workspace().canonicalize().expect("workspace");
    assert_eq!(
        stdout,
        [
            "task: fix the login bug".to_owned(),
            format!("run {run} in {}", ws.display()),
            "done: fix the login bug".to_owned(),
        ]
    );
    assert_eq!(lines(&s, &user, run, "stderr").await, ["a note on stderr"]);
    let summary = row[3].as_str().expect("summary");
    assert!(summary.ends_with("done: fix the login bug"), "{summary}");

    drop(runner);
    value_becomes(
        &s,
        &user,
        &format!("SELECT online FROM machines WHERE id = {}", m.id),
        json!(false),
        "the machine offline",
        20,
    )
    .await;
}

#[tokio::test]
async fn failures_are_reported_with_their_reasons() {
    // Proves: a non-zero exit fails the run with the exit code and the agent's last stderr
    // line; an agent that cannot be started and a workspace that does not exist fail the
    // run with a reason instead of leaving it running; a workspace without git has no
    // snapshot.
    let s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    m.save_config(&s);
    let runner = m.start();
    let log = || runner.log();

    let run = dispatch(&s, &user, &m, "please fail", "claude-code").await;
    let row = run_reaches(&s, &user, run, "failed", &log).await;
    assert_eq!(row[1], json!(1));
    let error = row[2].as_str().expect("error");
    assert!(error.contains("exited with code 1"), "{error}");
    assert!(error.contains("boom: could not do it"), "{error}");
    assert_eq!(row[4], Json::Null, "no git repository, no snapshot");
    assert_eq!(
        lines(&s, &user, run, "stdout").await[0],
        "task: please fail",
        "the log of a failed run is kept"
    );

    // `codex` points at a program that does not exist.
    let run = dispatch(&s, &user, &m, "anything", "codex").await;
    let row = run_reaches(&s, &user, run, "failed", &log).await;
    let error = row[2].as_str().expect("error");
    assert!(
        error.contains("cannot start `/nonexistent/codex`"),
        "{error}"
    );

    let run = s
        .ok(
            &user,
            "dispatch_run",
            json!({"machine": m.id, "workspace": "/no/such/dir", "task": "x"}),
        )
        .await["id"]
        .as_u64()
        .expect("id");
    let row = run_reaches(&s, &user, run, "failed", &log).await;
    let error = row[2].as_str().expect("error");
    assert!(error.contains("/no/such/dir is not a directory"), "{error}");
}

#[tokio::test]
async fn cancelling_a_run_kills_its_agent() {
    // Proves: `cancel_run` reaches the runner through its subscription and the whole agent
    // process group dies (the shell and its `sleep`), the run stays `cancelled` (the runner
    // does not overwrite it) and the log says why it stopped.
    let s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    m.save_config(&s);
    let runner = m.start();
    let log = || runner.log();

    let run = dispatch(&s, &user, &m, "sleep on it", "claude-code").await;
    run_reaches(&s, &user, run, "running", &log).await;
    let pids_file = m.workspace().join(format!("{run}.pids"));
    let pids: Vec<u32> = eventually("the agent's pids", 20, || async {
        let text = std::fs::read_to_string(&pids_file).ok()?;
        let pids: Vec<u32> = text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        (pids.len() == 2).then_some(pids)
    })
    .await;
    assert!(pids.iter().all(|p| !process_gone(*p)), "the agent runs");

    s.ok(&user, "cancel_run", json!({"run": run})).await;
    eventually("the agent and its child killed", 20, || async {
        pids.iter().all(|p| process_gone(*p)).then_some(())
    })
    .await;
    let system: Vec<String> = eventually("the cancellation in the log", 20, || async {
        let l = lines(&s, &user, run, "system").await;
        (!l.is_empty()).then_some(l)
    })
    .await;
    assert!(system[0].contains("cancelled"), "{system:?}");
    let stdout = lines(&s, &user, run, "stdout").await;
    assert!(stdout.contains(&"sleeping".to_owned()), "{stdout:?}");
    assert!(!stdout.contains(&"woke up".to_owned()), "{stdout:?}");
    // Give a wrong report time to land, then check there was none.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let row = run_reaches(&s, &user, run, "cancelled", &log).await;
    assert_eq!(
        row[2],
        Json::Null,
        "no failure recorded over the cancellation"
    );
}

#[tokio::test]
async fn missions_run_card_by_card_and_a_failing_card_pauses_them() {
    // Proves: the runner picks up each card's run as the module dispatches it; each card's
    // task carries the previous cards' summaries (the runner's last stdout lines); a
    // three-card mission completes with its notification email; in a second mission a card
    // whose agent fails pauses the mission and the cards after it never run.
    let s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    m.save_config(&s);
    let runner = m.start();
    let log = || runner.log();

    let mission_of = |title: &'static str, cards: &'static [&'static str]| {
        let (s, user, workspace, machine) = (&s, &user, m.workspace_str(), m.id);
        async move {
            let mission = s
                .ok(
                    user,
                    "create_mission",
                    json!({"title": title, "workspace": workspace}),
                )
                .await["id"]
                .clone();
            for instruction in cards {
                s.ok(
                    user,
                    "add_card",
                    json!({"mission": mission, "instruction": instruction}),
                )
                .await;
            }
            s.ok(
                user,
                "play_mission",
                json!({"mission": mission, "machine": machine}),
            )
            .await;
            mission
        }
    };
    let mission_reaches = |mission: Json, status: &'static str| {
        let (s, user) = (&s, &user);
        async move {
            value_becomes(
                s,
                user,
                &format!("SELECT status FROM missions WHERE id = {mission}"),
                json!(status),
                &format!("the mission {status}"),
                25,
            )
            .await;
        }
    };

    let mission = mission_of("Ship v2", &["Write the API", "Add tests", "Write the docs"]).await;
    mission_reaches(mission.clone(), "completed").await;
    let cards = s
        .sql(
            &user,
            &format!(
                "SELECT status, run_id FROM cards WHERE mission_id = {mission} ORDER BY position"
            ),
        )
        .await;
    assert_eq!(cards.len(), 3);
    assert!(cards.iter().all(|c| c[0] == "completed"), "{cards:?}");
    let last_run = cards[2][1].as_u64().expect("run id");
    let row = run_reaches(&s, &user, last_run, "completed", &log).await;
    assert_eq!(row[1], json!(0));
    let task = value(
        &s,
        &user,
        &format!("SELECT task FROM runs WHERE id = {last_run}"),
    )
    .await;
    let task = task.as_str().expect("task");
    assert!(
        task.starts_with("Context from previous cards:\n1. Write the API — "),
        "{task}"
    );
    assert!(task.contains("\n2. Add tests — "), "{task}");
    assert!(
        task.contains("done: Write the API"),
        "card 1's summary: {task}"
    );
    assert!(task.ends_with("Task: Write the docs"), "{task}");
    let subjects = s.sql(&user, "SELECT subject FROM email_outbox").await;
    assert_eq!(subjects, vec![json!(["Mission completed: Ship v2"])]);

    // The stub agent fails any task that says "fail".
    let broken = mission_of(
        "Break it",
        &["Write the notes", "fail on purpose", "Never runs"],
    )
    .await;
    mission_reaches(broken.clone(), "paused").await;
    let cards = s
        .sql(
            &user,
            &format!(
                "SELECT status, run_id FROM cards WHERE mission_id = {broken} ORDER BY position"
            ),
        )
        .await;
    assert_eq!(cards[0][0], "completed", "{cards:?}");
    assert_eq!(cards[1][0], "failed", "{cards:?}");
    assert_eq!(
        cards[2][1],
        Json::Null,
        "the third card never got a run: {cards:?}"
    );
    let failed_run = cards[1][1].as_u64().expect("run id");
    let row = run_reaches(&s, &user, failed_run, "failed", &log).await;
    assert_eq!(row[1], json!(1));
}

#[tokio::test]
async fn a_run_survives_the_server_going_away() {
    // Proves: when the server stops mid-run the agent goes on; the runner reconnects when
    // the server is back, the lines printed meanwhile reach the log, the run completes, and
    // new runs are taken again.
    let mut s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    m.save_config(&s);
    let runner = m.start();
    let log = || runner.log();

    let run = dispatch(&s, &user, &m, "slow work", "claude-code").await;
    eventually("the first line", 20, || async {
        lines(&s, &user, run, "stdout")
            .await
            .contains(&"before".to_owned())
            .then_some(())
    })
    .await;
    s.restart(Duration::from_millis(500)).await;
    let row = run_reaches(&s, &user, run, "completed", &log).await;
    assert!(
        log().contains("reconnecting"),
        "the runner saw the server go:\n{}",
        log()
    );
    assert_eq!(row[1], json!(0));
    let stdout = lines(&s, &user, run, "stdout").await;
    assert_eq!(
        &stdout[2..],
        ["before", "after", "done: slow work"],
        "{stdout:?}"
    );

    let next = dispatch(&s, &user, &m, "after the restart", "claude-code").await;
    run_reaches(&s, &user, next, "completed", &log).await;
    value_becomes(
        &s,
        &user,
        &format!("SELECT online FROM machines WHERE id = {}", m.id),
        json!(true),
        "the machine online again",
        20,
    )
    .await;
}

#[tokio::test]
async fn a_rollback_request_resets_the_workspace_to_the_snapshot() {
    // Proves: the runner snapshots the workspace before the agent runs — uncommitted changes
    // become a commit of their own — and after the run changed the workspace,
    // `request_rollback` reaches the runner through its subscription, which resets the
    // workspace to that snapshot (the uncommitted work included), logs it and reports `done`.
    let s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    m.save_config(&s);
    let head = git_commit(&m.workspace());
    // Work in progress the agent starts from.
    std::fs::write(m.workspace().join("NOTES"), "draft\n").expect("write");
    let runner = m.start();
    let log = || runner.log();
    let readme = m.workspace().join("README");

    let run = dispatch(&s, &user, &m, "edit the readme", "claude-code").await;
    let row = run_reaches(&s, &user, run, "completed", &log).await;
    let snapshot = row[4].as_str().expect("a snapshot").to_owned();
    assert_ne!(
        snapshot, head,
        "the uncommitted notes got a commit of their own"
    );
    assert_eq!(
        git_out(&m.workspace(), &["log", "-1", "--format=%s", &snapshot]),
        format!("cosmios: snapshot before run {run}")
    );
    assert_eq!(
        git_out(&m.workspace(), &["rev-parse", &format!("{snapshot}^")]),
        head
    );
    assert_eq!(
        std::fs::read_to_string(&readme).expect("README"),
        "hello\nchanged\n"
    );

    s.ok(&user, "request_rollback", json!({"run": run})).await;
    value_becomes(
        &s,
        &user,
        &format!("SELECT rollback FROM runs WHERE id = {run}"),
        json!("done"),
        "the rollback reported",
        20,
    )
    .await;
    assert_eq!(std::fs::read_to_string(&readme).expect("README"), "hello\n");
    assert_eq!(
        std::fs::read_to_string(m.workspace().join("NOTES")).expect("NOTES"),
        "draft\n"
    );
    let system = lines(&s, &user, run, "system").await;
    assert_eq!(system, [format!("rolled back to {snapshot}")], "{}", log());
}

#[tokio::test]
async fn a_run_left_running_by_a_dead_runner_is_failed_by_the_next() {
    // Proves: a runner killed with SIGKILL mid-run cannot report; the runner started after
    // it finds the run `running` without an agent of its own and fails it with the reason,
    // instead of leaving it running forever.
    let s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    m.save_config(&s);
    let first = m.start();
    let first_log = first.log.clone();
    let log = move || std::fs::read_to_string(&first_log).unwrap_or_default();
    let run = dispatch(&s, &user, &m, "sleep on it", "claude-code").await;
    run_reaches(&s, &user, run, "running", &log).await;
    let pids_file = m.workspace().join(format!("{run}.pids"));
    let pids: Vec<u32> = eventually("the agent's pids", 20, || async {
        let text = std::fs::read_to_string(&pids_file).ok()?;
        let pids: Vec<u32> = text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        (pids.len() == 2).then_some(pids)
    })
    .await;
    drop(first); // SIGKILL: no chance to report
    for pid in pids {
        // The orphaned agent is not the next runner's business; do not leave it behind.
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }

    let second = m.start();
    let log = || second.log();
    let row = run_reaches(&s, &user, run, "failed", &log).await;
    let error = row[2].as_str().expect("error");
    assert!(error.contains("the runner restarted"), "{error}");
}

#[tokio::test]
async fn an_unknown_machine_key_stops_the_runner_with_a_clear_error() {
    // Proves: a well-formed key the server does not know (a deleted machine, a typo) ends
    // `start` and `status` at once with a message to register again, instead of retrying;
    // a malformed key is refused by `register` before anything is saved.
    let s = Server::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.json");
    let bad = support::cosmios()
        .arg("--config")
        .arg(&config)
        .args(["register", "--server", &s.base, "--api-key", "csu_nothex"])
        .output()
        .expect("register");
    assert_eq!(bad.status.code(), Some(1));
    assert!(!config.exists(), "nothing saved for a malformed key");
    let unknown = format!("csu_{}", "0".repeat(64));
    let saved = support::cosmios()
        .arg("--config")
        .arg(&config)
        .args(["register", "--server", &s.base, "--api-key", &unknown])
        .output()
        .expect("register");
    assert!(saved.status.success(), "{saved:?}");
    for command in ["start", "status"] {
        let out = tokio::process::Command::from(support::cosmios())
            .arg("--config")
            .arg(&config)
            .arg(command)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run cosmios");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(stderr.contains("cosmios register"), "{command}: {stderr}");
    }
}

#[tokio::test]
async fn stopping_the_runner_stops_its_agents_and_fails_their_runs() {
    // Proves: SIGTERM (systemd, `kill`) makes the runner stop its agents' process groups,
    // fail their runs with the reason, and exit 0; the machine goes offline.
    let s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    m.save_config(&s);
    let mut runner = m.start();
    let log_path = runner.log.clone();
    let log = move || std::fs::read_to_string(&log_path).unwrap_or_default();
    let run = dispatch(&s, &user, &m, "sleep on it", "claude-code").await;
    let pids_file = m.workspace().join(format!("{run}.pids"));
    let pids: Vec<u32> = eventually("the agent's pids", 20, || async {
        let text = std::fs::read_to_string(&pids_file).ok()?;
        let pids: Vec<u32> = text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        (pids.len() == 2).then_some(pids)
    })
    .await;

    let term = std::process::Command::new("kill")
        .args(["-TERM", &runner.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let row = run_reaches(&s, &user, run, "failed", &log).await;
    assert!(
        row[2]
            .as_str()
            .is_some_and(|e| e.contains("the runner stopped")),
        "{row:?}"
    );
    eventually("the agent and its child stopped", 10, || async {
        pids.iter().all(|p| process_gone(*p)).then_some(())
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = runner.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the runner never exited"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}\n{}", log());
    value_becomes(
        &s,
        &user,
        &format!("SELECT online FROM machines WHERE id = {}", m.id),
        json!(false),
        "the machine offline",
        20,
    )
    .await;
}

#[tokio::test]
async fn reports_made_while_the_server_is_away_survive_a_runner_restart() {
    // Proves: a run that finishes while the server is down, on a runner that is then killed
    // (SIGKILL) before the server returns, is still completed with its whole log: the
    // reports were journaled on disk and the next runner sends them before looking at its
    // runs (so the run is not taken for one abandoned by a dead runner).
    let mut s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    m.save_config(&s);
    let first = m.start();
    let first_log = first.log.clone();
    let log = move || std::fs::read_to_string(&first_log).unwrap_or_default();
    let run = dispatch(&s, &user, &m, "slow work", "claude-code").await;
    eventually("the first line", 20, || async {
        lines(&s, &user, run, "stdout")
            .await
            .contains(&"before".to_owned())
            .then_some(())
    })
    .await;
    s.stop().await;
    let journal = m.config().with_file_name("journal.jsonl");
    eventually("the completion journaled", 20, || async {
        let text = std::fs::read_to_string(&journal).ok()?;
        text.contains("complete_run").then_some(())
    })
    .await;
    drop(first); // SIGKILL while the server is still away
    assert!(log().contains("reconnecting"), "{}", log());

    s.serve_again().await;
    let second = m.start();
    let log = || second.log();
    let row = run_reaches(&s, &user, run, "completed", &log).await;
    assert_eq!(row[1], json!(0));
    let stdout = lines(&s, &user, run, "stdout").await;
    assert_eq!(
        &stdout[2..],
        ["before", "after", "done: slow work"],
        "{stdout:?}"
    );
    assert!(log().contains("reports from the journal"), "{}", log());
    eventually("the journal emptied", 20, || async {
        (std::fs::metadata(&journal).ok()?.len() == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn start_takes_the_server_and_key_as_flags_without_a_config_file() {
    // Proves: `cosmios start --server URL --api-key KEY` runs with no config file at all (the
    // `--config` path does not exist) and puts the machine online; a malformed key is refused
    // before anything connects.
    let s = Server::start().await;
    let user = s.human("ann@example.com").await;
    let m = Machine::register(&s, &user).await;
    assert!(!m.config().exists());
    let mut child = tokio::process::Command::from(support::cosmios())
        .arg("--config")
        .arg(m.config())
        .arg("start")
        .args(["--server", &s.base, "--api-key", &m.api_key])
        .arg("--journal")
        .arg(m.dir.path().join("journal.jsonl"))
        .args(["--heartbeat-ms", "300"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the runner");
    value_becomes(
        &s,
        &user,
        &format!("SELECT online FROM machines WHERE id = {}", m.id),
        json!(true),
        "the machine online",
        20,
    )
    .await;
    let _ = child.kill().await;
    let out = tokio::process::Command::from(support::cosmios())
        .arg("--config")
        .arg(m.config())
        .arg("start")
        .args(["--server", &s.base, "--api-key", "csu_short"])
        .output()
        .await
        .expect("run cosmios start");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a machine key is `csu_` followed by 64 hex digits"),
        "{stderr}"
    );
}
