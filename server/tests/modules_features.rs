//! End-to-end through the embedding facade with the `features` test module: write policies,
//! lifecycle reducers and connection ids, scheduled reducers (also across a restart), secure
//! random bytes, MessagePack arguments, foreign keys, multi-column indexes and range lookups,
//! and views read through SQL.

#[path = "../../wasm-host/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use cosmictron::{Args, CallContext, ConnectionId, Cosmictron, CosmictronConfig, SchedulerConfig};
use cosmictron_sql::{Caller, QueryResult, SqlConfig, SqlEngine};
use cosmictron_types::{Identity, Timestamp, Value};
use cosmictron_wasm_host::module_identity;
use serde_json::json;

const OWNER: Identity = Identity([0x0e; 32]);
const ALICE: Identity = Identity([0xa1; 32]);
const BOB: Identity = Identity([0xb0; 32]);

fn config(scheduler: Option<Duration>) -> CosmictronConfig {
    CosmictronConfig {
        scheduler: SchedulerConfig {
            interval: scheduler,
            ..SchedulerConfig::default()
        },
        ..CosmictronConfig::default()
    }
}

/// A data directory with the features module deployed as `app`, no background scheduler.
fn deployed() -> (tempfile::TempDir, Cosmictron) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Cosmictron::open(dir.path(), config(None)).expect("open");
    db.deploy("app", &common::module_bytes("features"), OWNER)
        .expect("deploy");
    (dir, db)
}

fn note_texts(db: &Cosmictron) -> Vec<String> {
    let mut texts: Vec<String> = db
        .rows("app", "notes")
        .expect("rows")
        .into_iter()
        .map(|r| match &r[2] {
            Value::String(s) => s.clone(),
            other => panic!("text is a string, got {other:?}"),
        })
        .collect();
    texts.sort();
    texts
}

#[test]
fn write_policies_guard_insert_update_and_delete() {
    // Proves `owner = $identity` is enforced with the sender as `$identity`: a client may
    // write its own rows only, on insert, update (old and new row) and delete; a refusal is
    // `write_policy_violation` (403) and rolls the call back.
    let (_dir, db) = deployed();
    let id = db
        .call(
            "app",
            "add_note",
            &json!({"owner": ALICE.0, "text": "a"}),
            ALICE,
        )
        .expect("own note")
        .result;
    let err = db
        .call(
            "app",
            "add_note",
            &json!({"owner": ALICE.0, "text": "b"}),
            BOB,
        )
        .expect_err("someone else's note");
    assert_eq!(
        (err.code(), err.http_status()),
        ("write_policy_violation", 403)
    );
    assert!(err.to_string().contains("notes"), "{err}");
    let err = db
        .call("app", "edit_note", &json!({"id": id, "text": "x"}), BOB)
        .expect_err("editing alice's note");
    assert_eq!(err.code(), "write_policy_violation");
    let err = db
        .call("app", "give_note", &json!({"id": id, "to": BOB.0}), ALICE)
        .expect_err("the new row is not alice's");
    assert_eq!(err.code(), "write_policy_violation");
    let err = db
        .call("app", "delete_note", &json!({"id": id}), BOB)
        .expect_err("deleting alice's note");
    assert_eq!(err.code(), "write_policy_violation");
    assert_eq!(note_texts(&db), ["a"]);
    db.call("app", "edit_note", &json!({"id": id, "text": "a2"}), ALICE)
        .expect("own edit");
    assert_eq!(note_texts(&db), ["a2"]);
    db.call("app", "delete_note", &json!({"id": id}), ALICE)
        .expect("own delete");
    assert!(note_texts(&db).is_empty());
}

#[test]
fn a_refused_write_leaves_nothing_and_the_reducer_can_go_on() {
    // Proves a refused insert is an error the module can handle: nothing of it is written,
    // and the reducer's later, allowed write commits.
    let (_dir, db) = deployed();
    let out = db
        .call("app", "try_forge", &json!({"victim": ALICE.0}), BOB)
        .expect("handled");
    assert_eq!(out.result, json!("write_policy_violation"));
    assert_eq!(note_texts(&db), ["mine"]);
}

#[test]
fn lifecycle_reducers_see_the_connection() {
    // Proves client_connected / client_disconnected run with the identity and connection id,
    // that they are not callable by name, and that calls carry their connection id.
    let (_dir, db) = deployed();
    let conn = ConnectionId::new(42).expect("nonzero");
    let out = db
        .client_connected("app", ALICE, conn)
        .expect("connect")
        .expect("the module has the reducer");
    assert!(out.tx_id.is_some());
    let rows = db.rows("app", "connections").expect("rows");
    assert_eq!(rows, vec![vec![Value::U64(42), Value::Identity(ALICE)]]);
    let ctx = CallContext {
        sender: ALICE,
        connection_id: Some(conn),
    };
    let out = db
        .call_with("app", "whoami", Args::Json(&json!({})), ctx)
        .expect("whoami");
    assert_eq!(out.result, json!(42));
    let out = db.call("app", "whoami", &json!({}), ALICE).expect("plain");
    assert_eq!(out.result, json!(null));
    for name in ["on_connect", "on_disconnect"] {
        let err = db
            .call("app", name, &json!({}), ALICE)
            .expect_err("lifecycle");
        assert_eq!(err.code(), "no_such_reducer");
    }
    db.client_disconnected("app", ALICE, conn)
        .expect("disconnect");
    assert!(db.rows("app", "connections").expect("rows").is_empty());
}

fn tick_labels(db: &Cosmictron) -> Vec<String> {
    db.rows("app", "ticks")
        .expect("ticks")
        .into_iter()
        .map(|r| match &r[1] {
            Value::String(s) => s.clone(),
            other => panic!("label is a string, got {other:?}"),
        })
        .collect()
}

#[test]
fn scheduled_reducers_fire_when_due_as_the_module() {
    // Proves a one-off schedule fires only once it is due, in its own transaction, with the
    // module as sender, and is then gone; that a repeating one fires each period (missed
    // periods skipped) until cancelled; and that schedule_at works with an absolute time.
    let (_dir, db) = deployed();
    let t0 = db
        .call(
            "app",
            "schedule_tick",
            &json!({"label": "once", "delay_ms": 1000, "repeat": false}),
            ALICE,
        )
        .expect("schedule");
    let once_id = t0.result.as_u64().expect("an id");
    let pending = db.schedules("app").expect("schedules");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].id, pending[0].reducer.as_str()),
        (once_id, "tick")
    );
    let due = pending[0].at;
    assert_eq!(db.run_due_schedules(Timestamp(due.0 - 1)), 0, "not yet due");
    assert!(tick_labels(&db).is_empty());
    assert_eq!(db.run_due_schedules(due), 1);
    assert_eq!(tick_labels(&db), ["once"]);
    let row = &db.rows("app", "ticks").expect("ticks")[0];
    assert_eq!(
        row[2],
        Value::Identity(module_identity("app")),
        "sent by the module"
    );
    assert_eq!(row[3], Value::Timestamp(due));
    assert!(
        db.schedules("app").expect("schedules").is_empty(),
        "one-off is gone"
    );
    assert_eq!(db.run_due_schedules(Timestamp(due.0 + 10_000_000)), 0);

    let rep = db
        .call(
            "app",
            "schedule_tick",
            &json!({"label": "rep", "delay_ms": 10, "repeat": true}),
            ALICE,
        )
        .expect("repeating");
    let first = db.schedules("app").expect("s")[0].at;
    assert_eq!(db.run_due_schedules(first), 1);
    let next = db.schedules("app").expect("s")[0].at;
    assert_eq!(next.0, first.0 + 10_000, "due again one period later");
    // Far behind: fires once, and the next due time is after `now`.
    let late = Timestamp(next.0 + 55_000);
    assert_eq!(db.run_due_schedules(late), 1);
    let after = db.schedules("app").expect("s")[0].at;
    assert!(
        after > late && after.0 - late.0 <= 10_000,
        "{after:?} vs {late:?}"
    );
    let cancelled = db
        .call("app", "cancel", &json!({"id": rep.result}), ALICE)
        .expect("cancel");
    assert_eq!(cancelled.result, json!(true));
    let again = db
        .call("app", "cancel", &json!({"id": rep.result}), ALICE)
        .expect("cancel twice");
    assert_eq!(again.result, json!(false));
    assert!(db.schedules("app").expect("s").is_empty());

    db.call(
        "app",
        "schedule_tick_at",
        &json!({"label": "abs", "at": 5}),
        ALICE,
    )
    .expect("at");
    assert_eq!(db.run_due_schedules(Timestamp(5)), 1);
    assert_eq!(tick_labels(&db), ["once", "rep", "rep", "abs"]);
    let out = db
        .call("app", "am_i_the_module", &json!({}), ALICE)
        .expect("x");
    assert_eq!(out.result, json!(false), "a client is not the module");
}

#[test]
fn schedules_roll_back_fail_cleanly_and_are_validated() {
    // Proves a schedule made by a call that fails is not kept, that a failing scheduled call
    // commits nothing, is logged and is not retried, and that bad schedules are refused.
    let (_dir, db) = deployed();
    let err = db
        .call("app", "schedule_then_fail", &json!({}), ALICE)
        .expect_err("fails");
    assert_eq!(err.code(), "failed_after_schedule");
    assert!(db.schedules("app").expect("s").is_empty());
    let err = db
        .call("app", "schedule_unknown", &json!({}), ALICE)
        .expect_err("unknown reducer");
    assert_eq!(err.code(), "invalid_schedule");
    db.call(
        "app",
        "schedule_tick_at",
        &json!({"label": "fail", "at": 1}),
        ALICE,
    )
    .expect("schedule");
    assert_eq!(db.run_due_schedules(Timestamp(2)), 1);
    assert!(tick_labels(&db).is_empty());
    assert!(db.schedules("app").expect("s").is_empty(), "not retried");
    let last = db.logs("app").expect("logs").pop().expect("a line");
    assert!(last.message.contains("tick_failed"), "{}", last.message);
    assert_eq!(last.reducer.as_deref(), Some("tick"));
}

#[test]
fn schedules_survive_a_restart_and_the_background_scheduler_fires_them() {
    // Proves a pending schedule is persisted in the module's database: after closing and
    // reopening the directory (with the background scheduler on) it fires by itself.
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = Cosmictron::open(dir.path(), config(None)).expect("open");
        db.deploy("app", &common::module_bytes("features"), OWNER)
            .expect("deploy");
        db.call(
            "app",
            "schedule_tick",
            &json!({"label": "later", "delay_ms": 300, "repeat": false}),
            ALICE,
        )
        .expect("schedule");
        assert_eq!(db.schedules("app").expect("s").len(), 1);
    }
    let db = Cosmictron::open(dir.path(), config(Some(Duration::from_millis(20)))).expect("reopen");
    assert_eq!(
        db.schedules("app").expect("s").len(),
        1,
        "kept across the restart"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tick_labels(&db).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(tick_labels(&db), ["later"]);
    assert!(db.schedules("app").expect("s").is_empty());
}

#[test]
fn random_bytes_are_random_and_bounded() {
    // Proves the host's random source reaches the module: two draws differ and have the
    // asked length.
    let (_dir, db) = deployed();
    let a = db
        .call("app", "random", &json!({"n": 32}), ALICE)
        .expect("a")
        .result;
    let b = db
        .call("app", "random", &json!({"n": 32}), ALICE)
        .expect("b")
        .result;
    assert_eq!(a.as_array().map(Vec::len), Some(32));
    assert_ne!(a, b);
}

#[test]
fn messagepack_arguments_are_decoded_by_name() {
    // Proves MessagePack maps reach the module's reducers like JSON objects, and that other
    // MessagePack values are refused before the module runs.
    let (_dir, db) = deployed();
    #[derive(serde::Serialize)]
    struct EchoArgs {
        n: i64,
        s: String,
        list: Vec<u32>,
    }
    let bytes = rmp_serde::to_vec_named(&EchoArgs {
        n: -5,
        s: "hi".into(),
        list: vec![1, 2],
    })
    .expect("encode");
    let out = db
        .call_with(
            "app",
            "echo",
            Args::MessagePack(&bytes),
            CallContext::new(ALICE),
        )
        .expect("echo");
    assert_eq!(out.result, json!({"n": -5, "s": "hi", "list": [1, 2]}));
    let not_a_map = rmp_serde::to_vec(&[1, 2]).expect("encode");
    let err = db
        .call_with(
            "app",
            "echo",
            Args::MessagePack(&not_a_map),
            CallContext::new(ALICE),
        )
        .expect_err("not a map");
    assert_eq!(err.code(), "invalid_arguments");
    let missing = rmp_serde::to_vec_named(&json!({"n": 1})).expect("encode");
    let err = db
        .call_with(
            "app",
            "echo",
            Args::MessagePack(&missing),
            CallContext::new(ALICE),
        )
        .expect_err("missing fields");
    assert_eq!(err.code(), "invalid_arguments");
}

#[test]
fn foreign_keys_multi_column_indexes_and_ranges() {
    // Proves `#[fk]` reaches the engine (a task needs its project; deleting the project
    // cascades), the multi-column index answers equality on both columns, and range lookups
    // return index order within the bounds.
    let (_dir, db) = deployed();
    let err = db
        .call(
            "app",
            "add_task",
            &json!({"project": 9, "state": "open", "priority": 1}),
            ALICE,
        )
        .expect_err("no project 9");
    assert_eq!(err.code(), "foreign_key_violation");
    db.call("app", "add_project", &json!({"id": 1, "name": "p"}), ALICE)
        .expect("project");
    for (state, priority) in [("open", 5), ("done", 1), ("open", 3), ("open", 9)] {
        db.call(
            "app",
            "add_task",
            &json!({"project": 1, "state": state, "priority": priority}),
            ALICE,
        )
        .expect("task");
    }
    let open = db
        .call(
            "app",
            "tasks_in",
            &json!({"project": 1, "state": "open"}),
            ALICE,
        )
        .expect("filter");
    assert_eq!(open.result, json!([1, 3, 4]));
    let between = db
        .call(
            "app",
            "priorities_between",
            &json!({"low": 3, "high": 9}),
            ALICE,
        )
        .expect("range");
    assert_eq!(between.result, json!([3, 5]));
    let from = db
        .call("app", "priorities_from", &json!({"low": 4}), ALICE)
        .expect("range");
    assert_eq!(from.result, json!([5, 9]));
    db.call("app", "drop_project", &json!({"id": 1}), ALICE)
        .expect("drop");
    assert!(
        db.rows("app", "tasks").expect("tasks").is_empty(),
        "cascaded"
    );
}

#[test]
fn module_info_describes_tables_and_reducers() {
    // Proves module_info carries version, owner, deploy time, tables with columns, indexes
    // and policies, and reducers with argument types and lifecycle roles.
    let (_dir, db) = deployed();
    let info = db.module_info("app").expect("info");
    assert_eq!(info.owner, OWNER);
    assert!(info.version.starts_with("sha256:"));
    assert!(info.deployed_at.0 > 0);
    let notes = info
        .tables
        .iter()
        .find(|t| t.name == "notes")
        .expect("notes");
    assert_eq!(notes.write_policies, ["owner = $identity"]);
    assert_eq!(notes.columns[1].name, "owner");
    assert_eq!(notes.columns[1].ty, "identity");
    let tasks = info
        .tables
        .iter()
        .find(|t| t.name == "tasks")
        .expect("tasks");
    assert!(
        tasks
            .indexes
            .iter()
            .any(|i| i.name == "by_project_state" && i.columns == ["project", "state"])
    );
    assert!(
        !info
            .tables
            .iter()
            .any(|t| t.name.starts_with("__cosmictron"))
    );
    let add = info
        .reducers
        .iter()
        .find(|r| r.name == "add_task")
        .expect("add_task");
    let args: Vec<(&str, Option<&str>)> = add
        .args
        .iter()
        .map(|a| (a.name.as_str(), a.ty.as_deref()))
        .collect();
    assert_eq!(
        args,
        [
            ("project", Some("u64")),
            ("state", Some("String")),
            ("priority", Some("i64"))
        ]
    );
    let connect = info
        .reducers
        .iter()
        .find(|r| r.name == "on_connect")
        .expect("lifecycle");
    assert_eq!(connect.lifecycle.as_deref(), Some("client_connected"));
    let json = serde_json::to_value(&info).expect("serializes");
    assert_eq!(json["tables"][0]["columns"][0]["type"], json!("u64"));
}

/// Runs `query` on the `app` module as `caller` (tables and views).
fn sql(db: &Cosmictron, query: &str, caller: &Caller) -> cosmictron::Result<QueryResult> {
    static ENGINE: std::sync::OnceLock<SqlEngine> = std::sync::OnceLock::new();
    let engine = ENGINE.get_or_init(|| SqlEngine::new(SqlConfig::default()));
    db.query(engine, "app", query, &[], caller)
}

fn owner() -> Caller {
    Caller {
        identity: Some(OWNER),
        bypass_rls: true,
    }
}

fn add_project_with_tasks(db: &Cosmictron) -> u64 {
    for (id, name) in [(1, "alpha"), (2, "beta")] {
        db.call(
            "app",
            "add_project",
            &json!({"id": id, "name": name}),
            OWNER,
        )
        .expect("project");
    }
    let before_tasks = db.database("app").expect("db").latest_tx();
    for (project, state, priority) in [
        (1, "open", 5),
        (1, "done", 9),
        (1, "open", 7),
        (2, "done", 1),
    ] {
        db.call(
            "app",
            "add_task",
            &json!({"project": project, "state": state, "priority": priority}),
            OWNER,
        )
        .expect("task");
    }
    before_tasks
}

#[test]
fn views_are_read_by_sql_like_tables() {
    // Proves a `#[view]` is a table-valued name in SQL: its rows are computed by the module
    // from two tables, and WHERE, aggregates, joins, ORDER BY, EXPLAIN and AS OF TX all work
    // on it, with typed columns.
    let (_dir, db) = deployed();
    let before_tasks = add_project_with_tasks(&db);
    let alice = Caller::user(ALICE);
    let r = sql(
        &db,
        "SELECT project, name, open_tasks, top_priority FROM project_load ORDER BY project",
        &alice,
    )
    .expect("view");
    assert_eq!(
        r.rows,
        [
            vec![
                Value::U64(1),
                Value::String("alpha".into()),
                Value::U64(2),
                Value::I64(7)
            ],
            vec![
                Value::U64(2),
                Value::String("beta".into()),
                Value::U64(0),
                Value::Null
            ],
        ]
    );
    let types: Vec<Option<&str>> = r.columns.iter().map(|c| c.ty.map(|t| t.name())).collect();
    assert_eq!(
        types,
        [Some("u64"), Some("string"), Some("u64"), Some("i64")]
    );
    let idle = sql(
        &db,
        "SELECT COUNT(*) FROM project_load WHERE open_tasks = 0",
        &alice,
    )
    .expect("count");
    assert_eq!(idle.rows, [vec![Value::I64(1)]]);
    let joined = sql(
        &db,
        "SELECT l.name, t.priority FROM project_load AS l JOIN tasks t ON t.project = l.project \
         WHERE t.state = 'open' ORDER BY t.priority DESC",
        &owner(),
    )
    .expect("join");
    assert_eq!(
        joined.rows,
        [
            vec![Value::String("alpha".into()), Value::I64(7)],
            vec![Value::String("alpha".into()), Value::I64(5)],
        ]
    );
    let plan = sql(&db, "EXPLAIN SELECT * FROM project_load", &alice).expect("explain");
    assert!(
        format!("{:?}", plan.rows).contains("view project_load"),
        "{:?}",
        plan.rows
    );
    // On the snapshot of the query: before the tasks, no project had open work.
    let past = sql(
        &db,
        &format!("SELECT SUM(open_tasks) FROM project_load AS OF TX {before_tasks}"),
        &alice,
    )
    .expect("as of");
    assert_eq!(past.rows, [vec![Value::I64(0)]]);
    assert_eq!(past.tx_id, before_tasks);
}

#[test]
fn views_see_the_caller_and_private_views_only_the_owner() {
    // Proves a view runs with `ctx.sender` = the caller (anonymous callers are nobody), and a
    // private view answers a non-owner exactly as a missing table does, while the owner reads it.
    let (_dir, db) = deployed();
    for (who, text) in [(ALICE, "a1"), (ALICE, "a2"), (BOB, "b1")] {
        db.call("app", "add_note", &json!({"owner": who, "text": text}), who)
            .expect("note");
    }
    let texts = |caller: &Caller| -> Vec<Value> {
        sql(&db, "SELECT text FROM my_notes ORDER BY text", caller)
            .expect("my_notes")
            .rows
            .into_iter()
            .flatten()
            .collect()
    };
    assert_eq!(
        texts(&Caller::user(ALICE)),
        [Value::String("a1".into()), Value::String("a2".into())]
    );
    assert_eq!(texts(&Caller::user(BOB)), [Value::String("b1".into())]);
    assert_eq!(texts(&Caller::anonymous()), Vec::<Value>::new());

    db.client_connected("app", ALICE, ConnectionId::new(7).expect("non-zero"))
        .expect("connect");
    let hidden =
        sql(&db, "SELECT * FROM open_connections", &Caller::user(ALICE)).expect_err("private");
    let missing =
        sql(&db, "SELECT * FROM no_connections", &Caller::user(ALICE)).expect_err("missing");
    assert_eq!(
        (hidden.code(), hidden.http_status()),
        ("no_such_table", 404)
    );
    assert_eq!(
        hidden.to_string(),
        missing
            .to_string()
            .replace("no_connections", "open_connections")
    );
    let seen = sql(&db, "SELECT connection FROM open_connections", &owner()).expect("owner");
    assert_eq!(seen.rows, [vec![Value::U64(7)]]);
}

#[test]
fn failing_views_keep_their_error_and_never_write() {
    // Proves a view's own error reaches the caller with its code and status, a view cannot
    // write (`read_only`, nothing committed), a view that never ends is stopped by the call's
    // time limit, and the module answers the next query after each.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(None);
    cfg.host.reducer_timeout = Duration::from_millis(300);
    let db = Cosmictron::open(dir.path(), cfg).expect("open");
    db.deploy("app", &common::module_bytes("features"), OWNER)
        .expect("deploy");
    let alice = Caller::user(ALICE);
    let refused = sql(&db, "SELECT * FROM refusing_view", &alice).expect_err("refused");
    assert_eq!(
        (refused.code(), refused.http_status()),
        ("view_refused", 409)
    );
    assert!(refused.to_string().contains("not today"), "{refused}");
    let tx = db.database("app").expect("db").latest_tx();
    let wrote = sql(&db, "SELECT * FROM writing_view", &alice).expect_err("read only");
    assert_eq!(wrote.code(), "read_only");
    assert_eq!(db.database("app").expect("db").latest_tx(), tx);
    assert!(note_texts(&db).is_empty());
    let endless = sql(&db, "SELECT * FROM endless_view", &alice).expect_err("timeout");
    assert_eq!(endless.code(), "reducer_timeout");
    let fine = sql(&db, "SELECT COUNT(*) FROM project_load", &alice).expect("next query");
    assert_eq!(fine.rows, [vec![Value::I64(0)]]);
}
