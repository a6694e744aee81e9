//! The cosmios module over real HTTP against a real server on port 0: machines, runs,
//! missions, approvals, webhooks, notifications and row-level security.

use cosmios_tests::{Server, error_code};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn id(v: &Json, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no numeric `{key}` in {v}"))
}

/// A user with a registered machine and an authenticated runner for it.
struct Setup {
    user: String,
    runner: String,
    machine: u64,
    api_key: String,
}

async fn setup(s: &Server, email: &str) -> Setup {
    let user = s.human(email).await;
    let m = s
        .ok(&user, "register_machine", json!({"name": "laptop"}))
        .await;
    let api_key = m["api_key"].as_str().expect("api_key").to_owned();
    let runner = s.anonymous().await;
    let auth = s
        .ok(&runner, "authenticate_runner", json!({"api_key": api_key}))
        .await;
    assert_eq!(auth["machine_id"], m["machine_id"]);
    Setup {
        user,
        runner,
        machine: id(&m, "machine_id"),
        api_key,
    }
}

async fn dispatch(s: &Server, x: &Setup, task: &str) -> Json {
    s.ok(
        &x.user,
        "dispatch_run",
        json!({"machine": x.machine, "workspace": "/home/user/project", "task": task}),
    )
    .await
}

#[tokio::test]
async fn a_run_goes_from_dispatch_to_completion_with_its_log_and_a_rollback() {
    // Proves: the machine key is shown once and stored as SHA-256; a run is dispatched
    // (claude-code by default), claimed by the runner, logged line by line into `event`,
    // snapshotted, completed onto the timeline, and rolled back on request.
    let s = Server::start().await;
    let x = setup(&s, "alice@example.com").await;
    assert!(
        x.api_key.starts_with("csu_") && x.api_key.len() == 68,
        "{}",
        x.api_key
    );
    let stored = s
        .sql(&s.operator, "SELECT api_key_hash FROM machines")
        .await;
    assert_eq!(stored, vec![json!([sha256_hex(&x.api_key)])]);
    let (status, body) = s
        .call(
            &x.runner,
            "authenticate_runner",
            json!({"api_key": "csu_wrong"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (401, "invalid_api_key"));

    let run = dispatch(&s, &x, "Fix the auth bug in login.ts").await;
    assert_eq!(run["status"], "pending");
    assert_eq!(run["agent"], "claude-code");
    let run_id = id(&run, "id");
    let (status, body) = s
        .call(
            &x.user,
            "dispatch_run",
            json!({"machine": x.machine, "agent": "aider", "workspace": "/w", "task": "t"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_argument"));
    let (status, body) = s.call(&x.user, "claim_run", json!({"run": run_id})).await;
    assert_eq!(
        (status, error_code(&body)),
        (404, "not_found"),
        "only the runner claims"
    );

    let claimed = s.ok(&x.runner, "claim_run", json!({"run": run_id})).await;
    assert_eq!(claimed["status"], "running");
    let (status, body) = s.call(&x.runner, "claim_run", json!({"run": run_id})).await;
    assert_eq!((status, error_code(&body)), (409, "invalid_state"));
    s.ok(
        &x.runner,
        "record_snapshot",
        json!({"run": run_id, "commit": "0123abcd4567"}),
    )
    .await;
    let lines = json!([{"stream": "stdout", "line": "reading login.ts"}, {"stream": "stderr", "line": "warning: x"}]);
    assert_eq!(
        s.ok(
            &x.runner,
            "append_log",
            json!({"run": run_id, "lines": lines})
        )
        .await,
        2
    );
    s.ok(
        &x.runner,
        "append_log",
        json!({"run": run_id, "lines": [{"stream": "stdout", "line": "done"}]}),
    )
    .await;
    let (status, body) = s
        .call(
            &x.runner,
            "append_log",
            json!({"run": run_id, "lines": [{"stream": "video", "line": "x"}]}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_argument"));
    let done = s
        .ok(
            &x.runner,
            "complete_run",
            json!({"run": run_id, "exit_code": 0, "summary": "fixed"}),
        )
        .await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["exit_code"], 0);

    let log = s
        .sql(
            &x.user,
            &format!("SELECT stream, line FROM event WHERE run_id = {run_id} ORDER BY id"),
        )
        .await;
    assert_eq!(
        log,
        vec![
            json!(["stdout", "reading login.ts"]),
            json!(["stderr", "warning: x"]),
            json!(["stdout", "done"])
        ]
    );
    let kinds = s
        .sql(&x.user, "SELECT kind FROM timeline ORDER BY id")
        .await;
    assert_eq!(
        kinds,
        vec![json!(["machine.online"]), json!(["run.completed"])]
    );

    let rb = s
        .ok(&x.user, "request_rollback", json!({"run": run_id}))
        .await;
    assert_eq!(rb["rollback"], "requested");
    let rep = s
        .ok(
            &x.runner,
            "report_rollback",
            json!({"run": run_id, "ok": true}),
        )
        .await;
    assert_eq!(rep["rollback"], "done");

    // Cancelling a pending run; disabled machines take no runs.
    let second = id(&dispatch(&s, &x, "second").await, "id");
    let cancelled = s.ok(&x.user, "cancel_run", json!({"run": second})).await;
    assert_eq!(cancelled["status"], "cancelled");
    let (status, body) = s
        .call(&x.runner, "complete_run", json!({"run": second}))
        .await;
    assert_eq!((status, error_code(&body)), (409, "invalid_state"));
    let (status, body) = s
        .call(&x.user, "request_rollback", json!({"run": second}))
        .await;
    assert_eq!((status, error_code(&body)), (409, "no_snapshot"));
    s.ok(&x.user, "disable_machine", json!({"machine": x.machine}))
        .await;
    let (status, body) = s
        .call(
            &x.user,
            "dispatch_run",
            json!({"machine": x.machine, "workspace": "/w", "task": "t"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "machine_disabled"));
    s.ok(&x.user, "enable_machine", json!({"machine": x.machine}))
        .await;
    dispatch(&s, &x, "third").await;
}

#[tokio::test]
async fn users_see_only_their_own_rows_and_runners_only_their_machines_runs() {
    // Proves: row-level security over SQL: another user sees none of alice's machines, runs,
    // logs or timeline, and cannot act on them; each runner sees only its machine's runs.
    let s = Server::start().await;
    let a = setup(&s, "alice@example.com").await;
    let b = setup(&s, "bob@example.com").await;
    let ra = id(&dispatch(&s, &a, "alice's task").await, "id");
    let rb = id(&dispatch(&s, &b, "bob's task").await, "id");
    s.ok(
        &a.runner,
        "append_log",
        json!({"run": ra, "lines": [{"stream": "stdout", "line": "secret"}]}),
    )
    .await;

    assert_eq!(
        s.sql(&a.user, "SELECT id FROM runs").await,
        vec![json!([ra])]
    );
    assert_eq!(
        s.sql(&b.user, "SELECT id FROM runs").await,
        vec![json!([rb])]
    );
    assert_eq!(
        s.sql(&a.runner, "SELECT id FROM runs").await,
        vec![json!([ra])]
    );
    assert_eq!(
        s.sql(&b.runner, "SELECT id FROM runs").await,
        vec![json!([rb])]
    );
    assert_eq!(
        s.sql(&b.user, "SELECT id FROM machines").await,
        vec![json!([b.machine])]
    );
    assert!(s.sql(&b.user, "SELECT line FROM event").await.is_empty());
    assert_eq!(s.sql(&a.user, "SELECT line FROM event").await.len(), 1);
    let stranger = s.anonymous().await;
    assert!(s.sql(&stranger, "SELECT id FROM runs").await.is_empty());
    assert!(s.sql(&stranger, "SELECT id FROM timeline").await.is_empty());
    // The `machine_load` view is computed for whoever asks: each sees their own machine.
    let load = "SELECT machine_id, runs_pending, runs_running FROM machine_load";
    assert_eq!(s.sql(&a.user, load).await, vec![json!([a.machine, 1, 0])]);
    assert_eq!(s.sql(&b.user, load).await, vec![json!([b.machine, 1, 0])]);
    assert!(s.sql(&stranger, load).await.is_empty());

    let (status, body) = s.call(&b.user, "cancel_run", json!({"run": ra})).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) = s
        .call(&b.user, "disable_machine", json!({"machine": a.machine}))
        .await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) = s.call(&b.runner, "claim_run", json!({"run": ra})).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) = s
        .call(
            &b.user,
            "dispatch_run",
            json!({"machine": a.machine, "workspace": "/w", "task": "t"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
}

/// The runner's current running-or-pending run of a mission card, claimed.
async fn claim_pending(s: &Server, x: &Setup) -> Json {
    let rows = s
        .sql(
            &x.runner,
            "SELECT id FROM runs WHERE status = 'pending' ORDER BY id",
        )
        .await;
    assert_eq!(rows.len(), 1, "one pending run: {rows:?}");
    let run_id = rows[0][0].as_u64().expect("id");
    s.ok(&x.runner, "claim_run", json!({"run": run_id})).await
}

#[tokio::test]
async fn a_mission_runs_its_cards_in_order_pauses_on_failure_and_resumes() {
    // Proves: cards run one at a time; each next card gets the earlier cards' summaries as
    // context; a failed card pauses the mission and emails the owner; resume restarts the
    // failed card; the last completion completes the mission and emails the owner.
    let s = Server::start().await;
    let x = setup(&s, "alice@example.com").await;
    let m = s
        .ok(
            &x.user,
            "create_mission",
            json!({"title": "Ship v2", "workspace": "/home/user/app"}),
        )
        .await;
    let mission = id(&m, "id");
    assert_eq!(m["status"], "draft");
    let mut cards = Vec::new();
    for (text, agent) in [
        ("Write the API", "claude-code"),
        ("Add tests", "codex"),
        ("Write docs", "claude-code"),
    ] {
        let c = s
            .ok(
                &x.user,
                "add_card",
                json!({"mission": mission, "instruction": text, "agent": agent}),
            )
            .await;
        cards.push(id(&c, "id"));
    }
    let played = s
        .ok(
            &x.user,
            "play_mission",
            json!({"mission": mission, "machine": x.machine}),
        )
        .await;
    assert_eq!(played["status"], "running");

    let r1 = claim_pending(&s, &x).await;
    assert_eq!(r1["task"], "Write the API");
    assert_eq!(r1["card_id"], cards[0]);
    s.ok(
        &x.runner,
        "complete_run",
        json!({"run": r1["id"], "summary": "API in src/api.rs"}),
    )
    .await;

    let r2 = claim_pending(&s, &x).await;
    assert_eq!(r2["agent"], "codex");
    let task = r2["task"].as_str().expect("task");
    assert!(
        task.contains("1. Write the API — API in src/api.rs"),
        "{task}"
    );
    assert!(task.ends_with("Task: Add tests"), "{task}");
    let item = s
        .ok(
            &x.user,
            "add_action_item",
            json!({"card": cards[1], "text": "Set DATABASE_URL"}),
        )
        .await;
    let done = s
        .ok(&x.user, "complete_action_item", json!({"item": item["id"]}))
        .await;
    assert_eq!(done["done"], true);
    s.ok(
        &x.runner,
        "complete_run",
        json!({"run": r2["id"], "summary": "12 tests"}),
    )
    .await;

    let r3 = claim_pending(&s, &x).await;
    s.ok(
        &x.runner,
        "fail_run",
        json!({"run": r3["id"], "exit_code": 2, "error": "docs build broke"}),
    )
    .await;
    let state = s
        .sql(
            &x.user,
            &format!("SELECT status FROM missions WHERE id = {mission}"),
        )
        .await;
    assert_eq!(state, vec![json!(["paused"])]);
    let cards_state = s
        .sql(&x.user, "SELECT status FROM cards ORDER BY position")
        .await;
    assert_eq!(
        cards_state,
        vec![
            json!(["completed"]),
            json!(["completed"]),
            json!(["failed"])
        ]
    );
    let mail = s
        .sql(&x.user, "SELECT subject FROM email_outbox ORDER BY id")
        .await;
    assert_eq!(mail, vec![json!(["Mission failed: Ship v2"])]);
    assert!(
        s.sql(&x.runner, "SELECT id FROM runs WHERE status = 'pending'")
            .await
            .is_empty()
    );

    s.ok(&x.user, "resume_mission", json!({"mission": mission}))
        .await;
    let r3b = claim_pending(&s, &x).await;
    assert_eq!(r3b["card_id"], cards[2], "resume restarts the failed card");
    let task = r3b["task"].as_str().expect("task");
    assert!(
        task.contains("2. Add tests — 12 tests") && task.ends_with("Task: Write docs"),
        "{task}"
    );
    s.ok(
        &x.runner,
        "complete_run",
        json!({"run": r3b["id"], "summary": "docs"}),
    )
    .await;
    let state = s
        .sql(
            &x.user,
            &format!("SELECT status FROM missions WHERE id = {mission}"),
        )
        .await;
    assert_eq!(state, vec![json!(["completed"])]);
    let mail = s
        .sql(&x.user, "SELECT subject FROM email_outbox ORDER BY id")
        .await;
    assert_eq!(mail.len(), 2);
    assert_eq!(mail[1], json!(["Mission completed: Ship v2"]));
    let (status, body) = s
        .call(&x.user, "resume_mission", json!({"mission": mission}))
        .await;
    assert_eq!((status, error_code(&body)), (409, "invalid_state"));
}

#[tokio::test]
async fn pausing_a_mission_cancels_its_card_and_resume_runs_it_again() {
    // Proves: pause stops the current card (its run is cancelled, the runner sees it) and
    // resume dispatches the same card again.
    let s = Server::start().await;
    let x = setup(&s, "alice@example.com").await;
    let m = s
        .ok(
            &x.user,
            "create_mission",
            json!({"title": "M", "workspace": "/w"}),
        )
        .await;
    let mission = id(&m, "id");
    let card = s
        .ok(
            &x.user,
            "add_card",
            json!({"mission": mission, "instruction": "only card"}),
        )
        .await;
    s.ok(
        &x.user,
        "play_mission",
        json!({"mission": mission, "machine": x.machine}),
    )
    .await;
    let run = claim_pending(&s, &x).await;
    let paused = s
        .ok(&x.user, "pause_mission", json!({"mission": mission}))
        .await;
    assert_eq!(paused["status"], "paused");
    let status = s
        .sql(
            &x.runner,
            &format!("SELECT status FROM runs WHERE id = {}", run["id"]),
        )
        .await;
    assert_eq!(status, vec![json!(["cancelled"])]);
    s.ok(&x.user, "resume_mission", json!({"mission": mission}))
        .await;
    let again = claim_pending(&s, &x).await;
    assert_eq!(again["card_id"], card["id"]);
    assert_ne!(again["id"], run["id"]);
}

#[tokio::test]
async fn approvals_and_webhook_deliveries_follow_the_timeline() {
    // Proves: an approval request is a pending timeline event its owner approves or rejects
    // once; a webhook's secret is shown once and kept private; each subscribed event makes a
    // delivery row with the documented payload, and unsubscribed events make none.
    let s = Server::start().await;
    let x = setup(&s, "alice@example.com").await;
    let hook = s
        .ok(&x.user, "create_webhook", json!({"url": "https://example.com/hook", "events": ["run.completed", "approval.requested"]}))
        .await;
    let secret = hook["secret"].as_str().expect("secret");
    assert!(secret.starts_with("whsec_"));
    let (status, body) = s
        .call(
            &x.user,
            "create_webhook",
            json!({"url": "https://e.com", "events": ["run.exploded"]}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_argument"));
    assert_eq!(
        s.sql(&s.operator, "SELECT secret FROM webhook_secrets")
            .await,
        vec![json!([secret])]
    );
    let (status, body) = s
        .post(
            "/v1/sql",
            Some(&x.user),
            json!({"query": "SELECT secret FROM webhook_secrets", "module": "cosmios"}),
        )
        .await;
    assert!(
        status != 200 || body["rows"] == json!([]),
        "the secret leaked: {body}"
    );

    let run = dispatch(&s, &x, "task").await;
    let run_id = id(&run, "id");
    s.ok(&x.runner, "claim_run", json!({"run": run_id})).await;
    let event = s
        .ok(
            &x.runner,
            "request_approval",
            json!({"run": run_id, "message": "Allow rm -rf build/?"}),
        )
        .await;
    let approved = s
        .ok(&x.user, "approve_event", json!({"event": event}))
        .await;
    assert_eq!(approved["approval"], "approved");
    let (status, body) = s
        .call(&x.user, "reject_event", json!({"event": event}))
        .await;
    assert_eq!((status, error_code(&body)), (409, "invalid_state"));
    s.ok(&x.runner, "complete_run", json!({"run": run_id}))
        .await;
    let other = id(&dispatch(&s, &x, "other").await, "id");
    s.ok(&x.user, "cancel_run", json!({"run": other})).await;

    let deliveries = s
        .sql(
            &x.user,
            "SELECT event, url, payload, status FROM webhook_deliveries ORDER BY id",
        )
        .await;
    assert_eq!(
        deliveries.len(),
        2,
        "run.failed is not subscribed: {deliveries:?}"
    );
    assert_eq!(deliveries[0][0], "approval.requested");
    assert_eq!(deliveries[1][0], "run.completed");
    assert_eq!(deliveries[1][1], "https://example.com/hook");
    assert_eq!(deliveries[1][3], "pending");
    let payload: Json =
        serde_json::from_str(deliveries[1][2].as_str().expect("payload")).expect("json");
    assert_eq!(payload["event"], "run.completed");
    assert_eq!(
        payload["data"],
        json!({"run_id": run_id, "workspace": "/home/user/project", "agent": "claude-code", "status": "completed"})
    );
    let ts = payload["timestamp"].as_str().expect("timestamp");
    assert!(
        ts.len() == 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
}

#[tokio::test]
async fn the_relay_reports_deliveries_with_the_webhooks_secret() {
    // Proves: `report_delivery` needs the webhook's signing secret (a wrong one is "not
    // found", like someone else's id), records the outcome once (a second report is
    // `invalid_state`), and checks its arguments; the owner sees the status, attempts, HTTP
    // status and error on the delivery row.
    let s = Server::start().await;
    let x = setup(&s, "alice@example.com").await;
    let hook = s
        .ok(
            &x.user,
            "create_webhook",
            json!({"url": "http://127.0.0.1:9/hook", "events": ["run.failed"]}),
        )
        .await;
    let secret = hook["secret"].as_str().expect("secret");
    let run = id(&dispatch(&s, &x, "task").await, "id");
    s.ok(&x.user, "cancel_run", json!({"run": run})).await;
    let delivery = s.sql(&x.user, "SELECT id FROM webhook_deliveries").await[0][0].clone();

    let report = |secret: &str, attempts: u32, code: Json| {
        json!({"delivery": delivery, "secret": secret, "delivered": false,
               "attempts": attempts, "status_code": code, "error": "the receiver answered 502"})
    };
    let (status, body) = s
        .call(
            &s.operator,
            "report_delivery",
            report("whsec_wrong", 1, json!(502)),
        )
        .await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    for (attempts, code) in [(0, json!(502)), (3, json!(42))] {
        let (status, body) = s
            .call(
                &s.operator,
                "report_delivery",
                report(secret, attempts, code),
            )
            .await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_argument"),
            "{body}"
        );
    }
    let reported = s
        .ok(
            &s.operator,
            "report_delivery",
            report(secret, 3, json!(502)),
        )
        .await;
    assert_eq!(reported["status"], "failed");
    let (status, body) = s
        .call(
            &s.operator,
            "report_delivery",
            report(secret, 3, json!(502)),
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "invalid_state"));
    let row = s
        .sql(
            &x.user,
            "SELECT status, attempts, status_code, error, finished_at IS NOT NULL \
             FROM webhook_deliveries",
        )
        .await;
    assert_eq!(
        row,
        vec![json!(["failed", 3, 502, "the receiver answered 502", true])]
    );
}

#[tokio::test]
async fn machine_status_answers_for_a_key_without_taking_the_machine_over() {
    // Proves: `machine_status` reports a machine's state to anyone holding its key, and
    // checking does not make the caller the machine's runner; unknown keys are 401.
    let s = Server::start().await;
    let x = setup(&s, "alice@example.com").await;
    let checker = s.anonymous().await;
    let status = s
        .ok(&checker, "machine_status", json!({"api_key": x.api_key}))
        .await;
    assert_eq!(status["machine_id"], json!(x.machine));
    assert_eq!(
        (&status["name"], &status["online"]),
        (&json!("laptop"), &json!(true))
    );
    assert_eq!(status["enabled"], json!(true));
    // The runner is still the runner: its heartbeat is accepted, the checker's is not.
    s.ok(&x.runner, "heartbeat", json!({"metrics": {}})).await;
    let (code, body) = s.call(&checker, "heartbeat", json!({"metrics": {}})).await;
    assert_eq!((code, error_code(&body)), (403, "not_a_runner"));
    let (code, body) = s
        .call(
            &checker,
            "machine_status",
            json!({"api_key": format!("csu_{}", "0".repeat(64))}),
        )
        .await;
    assert_eq!((code, error_code(&body)), (401, "invalid_api_key"));
}
