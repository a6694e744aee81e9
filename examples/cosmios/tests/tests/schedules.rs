//! The silence check with a virtual clock (the embedded engine, `TestModule`): a machine
//! whose runner stops heartbeating goes offline, and a heartbeat brings it back.

use std::time::Duration;

use cosmictron::testing::TestModule;
use cosmictron_types::{ConnectionId, Identity, Value};
use cosmios_tests::module_wasm;
use serde_json::{Value as Json, json};

const ALICE: Identity = Identity([1; 32]);
const RUNNER: Identity = Identity([2; 32]);

/// `online` of the only machine (column 6).
fn online(m: &TestModule) -> Value {
    m.rows("machines").expect("machines")[0][6].clone()
}

fn timeline_kinds(m: &TestModule) -> Vec<Value> {
    let rows = m.rows("timeline").expect("timeline");
    rows.into_iter().map(|r| r[2].clone()).collect()
}

#[test]
fn silent_machines_go_offline_and_heartbeats_bring_them_back() {
    // Proves: the repeating silence check (scheduled by `init`) marks a machine offline once
    // its last sign of life is older than 90 s, even with its socket still open, and records
    // `machine.offline`; the next heartbeat records `machine.online` again.
    let mut m = TestModule::deploy(module_wasm()).expect("deploy");
    let reg: Json = m
        .call("register_machine", json!({"name": "box"}), ALICE)
        .expect("register");
    let _: Json = m
        .call(
            "authenticate_runner",
            json!({"api_key": reg["api_key"]}),
            RUNNER,
        )
        .expect("authenticate");
    m.connect(RUNNER, ConnectionId::new(7).expect("id"))
        .expect("connect");
    let _: Json = m
        .call("heartbeat", json!({"metrics": {"cpu": 0.5}}), RUNNER)
        .expect("heartbeat");
    assert_eq!(online(&m), Value::Bool(true));
    m.advance(Duration::from_secs(60));
    assert_eq!(online(&m), Value::Bool(true), "60 s of silence is fine");
    m.advance(Duration::from_secs(60));
    assert_eq!(online(&m), Value::Bool(false), "120 s of silence is not");
    let _: Json = m
        .call("heartbeat", json!({"metrics": {"cpu": 0.1}}), RUNNER)
        .expect("heartbeat");
    assert_eq!(online(&m), Value::Bool(true));
    let online_kinds = [Value::String("machine.online".into())];
    let offline_kinds = [Value::String("machine.offline".into())];
    let kinds = timeline_kinds(&m);
    assert_eq!(
        kinds,
        [&online_kinds[..], &offline_kinds[..], &online_kinds[..]].concat()
    );
    let err = m
        .call::<Json>("check_silent_machines", json!({}), ALICE)
        .expect_err("clients may not run the check");
    assert_eq!(err.code(), "module_only");
}
