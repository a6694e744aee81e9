//! The module authors' test helper, [`TestModule`], on the `features` test module: it builds
//! the crate for wasm32, deploys it in a private directory, calls reducers as chosen
//! identities, advances a virtual clock to fire schedules, and reads tables.

use std::path::Path;
use std::time::Duration;

use cosmictron::testing::TestModule;
use cosmictron_types::{ConnectionId, Identity};
use serde_json::json;

const ALICE: Identity = Identity([0xa1; 32]);

fn features_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm-host/tests/modules/features")
}

#[test]
fn a_module_crate_is_built_deployed_and_driven() {
    // Proves the helper's whole loop: typed results, connections, time advancing fires a
    // scheduled call exactly when due, and table reads see the effects.
    // The workspace's module target directory, shared with the other tests' module builds.
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm-modules");
    let mut m = TestModule::build_in(features_dir(), &target).expect("build and deploy");
    let id: u64 = m
        .call("add_note", json!({"owner": ALICE.0, "text": "hi"}), ALICE)
        .expect("call");
    assert_eq!(id, 1);
    assert_eq!(m.rows("notes").expect("rows").len(), 1);
    m.connect(ALICE, ConnectionId::new(3).expect("nonzero"))
        .expect("connect");
    assert_eq!(m.rows("connections").expect("rows").len(), 1);
    let _: u64 = m
        .call(
            "schedule_tick",
            json!({"label": "t", "delay_ms": 60_000, "repeat": false}),
            ALICE,
        )
        .expect("schedule");
    assert_eq!(m.advance(Duration::from_secs(1)), 0, "not due after 1 s");
    assert_eq!(m.advance(Duration::from_secs(120)), 1, "due after 60 s");
    assert_eq!(m.rows("ticks").expect("rows").len(), 1);
    let err = m
        .call::<u64>(
            "add_note",
            json!({"owner": Identity::ZERO.0, "text": "x"}),
            ALICE,
        )
        .expect_err("write policy");
    assert_eq!(err.code(), "write_policy_violation");
}

#[test]
fn a_crate_that_does_not_compile_is_a_clear_error() {
    // Proves a build failure is `module_build_failed` carrying the compiler's message.
    let err = TestModule::build(Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-crate"))
        .expect_err("no crate");
    assert_eq!(err.code(), "module_build_failed");
}
