//! End-to-end through the embedding facade with the `basic` test module (built from source for
//! wasm32 by the test): deploy, calls, return values, errors and rollbacks, hostile behaviour,
//! restart.

#[path = "../../wasm-host/tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use cosmictron::{Cosmictron, CosmictronConfig};
use cosmictron_engine::EngineConfig;
use cosmictron_types::{Identity, Value};
use cosmictron_wasm_host::HostConfig;
use serde_json::json;

const ALICE: Identity = Identity([0xa1; 32]);
const BOB: Identity = Identity([0xb0; 32]);

fn config() -> CosmictronConfig {
    CosmictronConfig {
        engine: EngineConfig::default(),
        host: HostConfig {
            reducer_timeout: Duration::from_millis(300),
            module_memory_bytes_max: 32 << 20,
            module_log_lines_max: 100,
            ..HostConfig::default()
        },
        ..CosmictronConfig::default()
    }
}

fn open(dir: &std::path::Path) -> Cosmictron {
    Cosmictron::open(dir, config()).expect("open")
}

/// A data directory with the basic module deployed as `shop`.
fn deployed() -> (tempfile::TempDir, Cosmictron) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    db.deploy("shop", &common::module_bytes("basic"), ALICE)
        .expect("deploy");
    (dir, db)
}

fn item_names(db: &Cosmictron) -> Vec<String> {
    let mut names: Vec<String> = db
        .rows("shop", "items")
        .expect("rows")
        .into_iter()
        .map(|row| match &row[1] {
            Value::String(s) => s.clone(),
            other => panic!("name is a string, got {other:?}"),
        })
        .collect();
    names.sort();
    names
}

#[test]
fn deploy_creates_tables_runs_init_and_lists_reducers() {
    // Proves deploy validates, versions and describes the module, creates its tables and runs
    // `init` once (its audit row), and that deploying the same bytes again changes nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let wasm = common::module_bytes("basic");
    let info = db.deploy("shop", &wasm, ALICE).expect("deploy");
    assert_eq!(info.name, "shop");
    assert!(
        info.version.starts_with("sha256:") && info.version.len() == 7 + 64,
        "{}",
        info.version
    );
    for r in ["add_item", "set_qty", "remove_item", "init", "spin"] {
        assert!(
            info.reducers.iter().any(|n| n == r),
            "missing {r}: {:?}",
            info.reducers
        );
    }
    assert_eq!(db.rows("shop", "audit").expect("audit").len(), 1);
    assert_eq!(db.deploy("shop", &wasm, ALICE).expect("redeploy"), info);
    assert_eq!(
        db.rows("shop", "audit").expect("audit").len(),
        1,
        "init ran once"
    );
    let err = db.deploy("shop", &wasm, BOB).expect_err("not the owner");
    assert_eq!(err.code(), "not_owner");
    let err = db.deploy("bad", b"not wasm", ALICE).expect_err("garbage");
    assert_eq!(err.code(), "invalid_module");
}

#[test]
fn call_inserts_and_returns_the_row() {
    // Proves a reducer's return value (the inserted row, auto-increment filled, sender set)
    // reaches the caller, that the call committed, and that find/update/delete/iter work.
    let (_dir, db) = deployed();
    let out = db
        .call("shop", "add_item", &json!({"name": "pen", "qty": 3}), BOB)
        .expect("call");
    assert!(out.tx_id.is_some());
    assert_eq!(out.result["id"], json!(1));
    assert_eq!(out.result["name"], json!("pen"));
    assert_eq!(
        out.result["owner"],
        json!(BOB.to_hex()),
        "identities are hex in JSON"
    );
    let second = db
        .call("shop", "add_item", &json!({"name": "ink", "qty": 4}), BOB)
        .expect("call");
    assert_eq!(second.result["id"], json!(2));
    let set = db
        .call("shop", "set_qty", &json!({"id": 1, "qty": 10}), BOB)
        .expect("set");
    assert_eq!(set.result["qty"], json!(10));
    let total = db
        .call("shop", "total_qty", &json!({}), BOB)
        .expect("total");
    assert_eq!(total.result, json!([2, 14]));
    assert_eq!(total.tx_id, None, "a read-only call commits nothing");
    let removed = db
        .call("shop", "remove_item", &json!({"id": 2}), BOB)
        .expect("remove");
    assert_eq!(removed.result, json!(true));
    assert_eq!(item_names(&db), ["pen"]);
}

#[test]
fn bad_arguments_and_unknown_reducers_are_clean_errors() {
    // Proves argument decoding failures and unknown names are coded errors, not traps.
    let (_dir, db) = deployed();
    let err = db
        .call("shop", "add_item", &json!({"name": "pen"}), BOB)
        .expect_err("missing qty");
    assert_eq!(err.code(), "invalid_arguments");
    let err = db
        .call("shop", "add_item", &json!([1, 2]), BOB)
        .expect_err("not an object");
    assert_eq!(err.code(), "invalid_arguments");
    assert_eq!(
        db.call("shop", "nope", &json!({}), BOB)
            .expect_err("x")
            .code(),
        "no_such_reducer"
    );
    let err = db
        .call("shop", "init", &json!({}), BOB)
        .expect_err("lifecycle");
    assert_eq!(err.code(), "no_such_reducer", "init is not callable");
    assert_eq!(
        db.call("nope", "x", &json!({}), BOB).expect_err("x").code(),
        "no_such_module"
    );
}

#[test]
fn structured_error_rolls_back() {
    // Proves a reducer's own error arrives with its code, status and details, and that the row
    // it inserted first is not committed.
    let (_dir, db) = deployed();
    let err = db
        .call("shop", "add_then_fail", &json!({"name": "pen"}), BOB)
        .expect_err("fails");
    assert_eq!(err.code(), "out_of_stock");
    assert_eq!(err.http_status(), 409);
    match &err {
        cosmictron::Error::Host(cosmictron_wasm_host::HostError::Reducer(e)) => {
            assert_eq!(e.details, Some(json!({"retry": false})));
        }
        other => panic!("expected a reducer error, got {other:?}"),
    }
    let err = db
        .call("shop", "add_item", &json!({"name": "pen", "qty": -1}), BOB)
        .expect_err("negative");
    assert_eq!((err.code(), err.http_status()), ("negative_quantity", 422));
    assert!(item_names(&db).is_empty());
}

#[test]
fn constraint_violation_rolls_back() {
    // Proves a unique violation inside a reducer surfaces with the engine's code and rolls back
    // the whole call, including the first, successful insert.
    let (_dir, db) = deployed();
    let err = db
        .call("shop", "add_twice", &json!({"name": "pen"}), BOB)
        .expect_err("duplicate");
    assert_eq!((err.code(), err.http_status()), ("unique_violation", 409));
    assert!(item_names(&db).is_empty());
    db.call("shop", "add_item", &json!({"name": "pen", "qty": 1}), BOB)
        .expect("the name is free");
}

#[test]
fn trap_after_writes_commits_nothing_and_next_call_succeeds() {
    // Proves a panic is a `reducer_trap` carrying the panic message, that its write is rolled
    // back, and that the module keeps serving with a fresh instance.
    let (_dir, db) = deployed();
    let err = db
        .call("shop", "add_then_trap", &json!({"name": "pen"}), BOB)
        .expect_err("traps");
    assert_eq!(err.code(), "reducer_trap");
    assert!(err.to_string().contains("deliberate trap"), "{err}");
    assert!(item_names(&db).is_empty());
    db.call("shop", "add_item", &json!({"name": "pen", "qty": 1}), BOB)
        .expect("next call");
    assert_eq!(item_names(&db), ["pen"]);
}

#[test]
fn infinite_loop_times_out_cleanly() {
    // Proves the wall-time limit interrupts an endless reducer within a bounded time, rolls back
    // its write, and the next call succeeds.
    let (_dir, db) = deployed();
    let start = Instant::now();
    let err = db
        .call("shop", "spin", &json!({}), BOB)
        .expect_err("times out");
    assert_eq!(err.code(), "reducer_timeout");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(item_names(&db).is_empty());
    db.call("shop", "add_item", &json!({"name": "pen", "qty": 1}), BOB)
        .expect("next call");
}

#[test]
fn memory_bomb_hits_the_limit() {
    // Proves growing memory past `module_memory_bytes_max` is `module_memory_limit`, not a host
    // failure, and the module keeps serving.
    let (_dir, db) = deployed();
    let err = db
        .call("shop", "memory_bomb", &json!({}), BOB)
        .expect_err("limit");
    assert_eq!(err.code(), "module_memory_limit");
    db.call("shop", "add_item", &json!({"name": "pen", "qty": 1}), BOB)
        .expect("next call");
}

#[test]
fn out_of_bounds_pointer_is_a_clean_error() {
    // Proves a pointer outside the module's memory is an `abi_violation` error (the host does
    // not panic), for a short and an absurd length, and the module keeps serving.
    let (_dir, db) = deployed();
    for len in [16u32, u32::MAX] {
        let err = db
            .call("shop", "bad_pointer", &json!({"len": len}), BOB)
            .expect_err("refused");
        assert_eq!(err.code(), "abi_violation", "{err}");
        assert!(
            err.to_string().contains("outside the module's memory")
                || err.to_string().contains("overflows"),
            "{err}"
        );
    }
    db.call("shop", "add_item", &json!({"name": "pen", "qty": 1}), BOB)
        .expect("next call");
}

#[test]
fn restart_keeps_the_module_and_its_data() {
    // Proves the module's bytes and data survive closing and reopening the data directory, and
    // that init does not run again.
    let (dir, db) = deployed();
    let info = db.modules();
    db.call("shop", "add_item", &json!({"name": "pen", "qty": 1}), BOB)
        .expect("call");
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.modules(), info);
    assert_eq!(item_names(&db), ["pen"]);
    assert_eq!(db.rows("shop", "audit").expect("audit").len(), 1);
    let out = db
        .call("shop", "add_item", &json!({"name": "ink", "qty": 1}), BOB)
        .expect("call after restart");
    assert_eq!(out.result["id"], json!(2));
}

#[test]
fn deep_recursion_is_a_trap_and_the_module_keeps_serving() {
    // Proves a stack overflow in a module is a `reducer_trap` (the host's own stack is safe).
    let (_dir, db) = deployed();
    let err = db
        .call("shop", "recurse", &json!({"depth": 0}), BOB)
        .expect_err("overflows");
    assert_eq!(err.code(), "reducer_trap", "{err}");
    db.call("shop", "add_item", &json!({"name": "pen", "qty": 1}), BOB)
        .expect("next call");
}

#[test]
fn unique_and_index_lookups_see_the_transaction() {
    // Proves `find_by_<unique column>` and `filter_by_<indexed column>` reach the engine's
    // indexes and see committed rows.
    let (_dir, db) = deployed();
    for (name, qty) in [("pen", 1), ("ink", 2), ("pad", 1)] {
        db.call("shop", "add_item", &json!({"name": name, "qty": qty}), BOB)
            .expect("add");
    }
    let found = db
        .call("shop", "item_named", &json!({"name": "ink"}), BOB)
        .expect("find");
    assert_eq!(found.result["id"], json!(2));
    let missing = db
        .call("shop", "item_named", &json!({"name": "nope"}), BOB)
        .expect("find");
    assert_eq!(missing.result, json!(null));
    let ids = db
        .call("shop", "ids_with_qty", &json!({"qty": 1}), BOB)
        .expect("filter");
    assert_eq!(ids.result, json!([1, 3]));
}

#[test]
fn logs_are_kept_in_a_bounded_ring_with_the_reducer_name() {
    // Proves module log lines are retrievable with level and reducer, that a flood keeps only
    // the newest `module_log_lines_max`, and that a panic message is logged as an error.
    let (_dir, db) = deployed();
    db.call("shop", "flood", &json!({"lines": 1000}), BOB)
        .expect("flood");
    let logs = db.logs("shop").expect("logs");
    assert_eq!(logs.len(), 100);
    assert_eq!(logs[99].message, "line 999");
    assert_eq!(logs[0].message, "line 900");
    assert_eq!(logs[0].reducer.as_deref(), Some("flood"));
    assert_eq!(logs[0].level, cosmictron_wasm_host::LogLevel::Info);
    db.call("shop", "add_then_trap", &json!({"name": "x"}), BOB)
        .expect_err("traps");
    let last = db.logs("shop").expect("logs").pop().expect("a line");
    assert_eq!(last.level, cosmictron_wasm_host::LogLevel::Error);
    assert!(last.message.contains("deliberate trap"), "{}", last.message);
    assert_eq!(last.reducer.as_deref(), Some("add_then_trap"));
}

#[test]
fn newer_imports_bounds_check_pointers_and_lengths() {
    // Proves table_range, random_fill, schedule and table_insert_id (its id destination)
    // refuse out-of-bounds pointers and absurd lengths with `abi_violation` (no host panic),
    // that the writes made before are rolled back, and that the module keeps serving.
    let (_dir, db) = deployed();
    for which in ["table_range", "random_fill", "schedule", "table_insert_id"] {
        for len in [16u32, u32::MAX] {
            let err = db
                .call(
                    "shop",
                    "bad_import",
                    &json!({"which": which, "len": len}),
                    BOB,
                )
                .expect_err("refused");
            assert_eq!(err.code(), "abi_violation", "{which} {len}: {err}");
        }
    }
    assert!(item_names(&db).is_empty(), "nothing committed");
    db.call("shop", "add_item", &json!({"name": "pen", "qty": 1}), BOB)
        .expect("next call");
}

#[test]
fn raw_results_are_the_modules_json_text() {
    // Proves `call_raw` hands back the reducer's JSON text unparsed (what a server sends on),
    // equal to the parsed result of `call`.
    let (_dir, db) = deployed();
    db.call("shop", "add_item", &json!({"name": "pen", "qty": 3}), BOB)
        .expect("add");
    let raw = db
        .call_raw(
            "shop",
            "total_qty",
            cosmictron::Args::Json(&json!({})),
            cosmictron::CallContext::new(BOB),
        )
        .expect("raw");
    assert_eq!(raw.result.get(), "[1,3]");
    let parsed = db.call("shop", "total_qty", &json!({}), BOB).expect("call");
    assert_eq!(parsed.result, json!([1, 3]));
}

#[test]
fn json_text_arguments_reach_the_module_as_they_are() {
    // Proves `Args::JsonText` (what the server passes for a request's JSON arguments) calls the
    // reducer like the parsed form, whitespace and all, and that bad text is refused with
    // `invalid_arguments` and commits nothing.
    let (_dir, db) = deployed();
    let ctx = cosmictron::CallContext::new(BOB);
    db.call_raw(
        "shop",
        "add_item",
        cosmictron::Args::JsonText(" {\"name\": \"pen\", \"qty\": 3}"),
        ctx,
    )
    .expect("text arguments");
    assert_eq!(item_names(&db), vec!["pen".to_owned()]);
    // Not objects (refused by the host), a wrong type and a repeated name (by the module).
    for refused in [
        "[1, 2]",
        "\"pen\"",
        "3",
        "{\"name\": 5}",
        "{\"name\": \"a\", \"name\": \"b\", \"qty\": 1}",
    ] {
        let err = db
            .call_raw("shop", "add_item", cosmictron::Args::JsonText(refused), ctx)
            .expect_err("refused");
        assert_eq!(err.code(), "invalid_arguments", "{refused}: {err}");
    }
    assert_eq!(item_names(&db), vec!["pen".to_owned()]);
}
