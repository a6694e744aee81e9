//! The module's schedules with a virtual clock (the embedded engine, `TestModule`): codes
//! expire after 10 minutes, unclaimed projects are deleted after 14 days.

use std::time::Duration;

use agent_signup_tests::{code_in, module_wasm};
use cosmictron::testing::TestModule;
use cosmictron_types::{Identity, Value};
use serde_json::{Value as Json, json};

const AGENT: Identity = Identity([7; 32]);
const DAY: Duration = Duration::from_secs(86_400);

fn module() -> TestModule {
    match TestModule::deploy(module_wasm()) {
        Ok(m) => m,
        Err(e) => panic!("deploy: {e}"),
    }
}

fn sign_up(m: &TestModule, email: &str) -> Json {
    let args = json!({"human_email": email, "project_name": "Blog", "agent_id": "agent"});
    match m.call::<Json>("sign_up", args, AGENT) {
        Ok(r) => r,
        Err(e) => panic!("sign_up: {e}"),
    }
}

/// The code in the outbox email to `email` (column 2 is `to_email`, 4 is `body`).
fn code_for(m: &TestModule, email: &str) -> Option<String> {
    m.rows("email_outbox")
        .ok()?
        .into_iter()
        .find_map(|row| match (&row[2], &row[4]) {
            (Value::String(to), Value::String(body)) if to == email => code_in(body),
            _ => None,
        })
}

fn project_ids(m: &TestModule) -> Vec<Value> {
    let rows = m.rows("projects").unwrap_or_default();
    rows.into_iter().map(|r| r[0].clone()).collect()
}

#[test]
fn a_code_expires_after_ten_minutes_and_its_email_is_withdrawn() {
    // Proves: once the expiry schedule fires, the right code is refused with `code_expired`
    // and the outbox no longer holds it; a repeated sign-up issues a code that works.
    let mut m = module();
    let r = sign_up(&m, "eve@example.com");
    let key = r["agent_key"].clone();
    let code = code_for(&m, "eve@example.com").expect("an email with a code");
    assert_eq!(m.advance(Duration::from_secs(9 * 60)), 0, "nothing due yet");
    assert_eq!(
        m.advance(Duration::from_secs(2 * 60)),
        1,
        "the expiry fired"
    );
    assert_eq!(code_for(&m, "eve@example.com"), None);
    let err = m
        .call::<Json>("verify", json!({"agent_key": key, "code": code}), AGENT)
        .expect_err("an expired code");
    assert_eq!(err.code(), "code_expired");
    assert_eq!(err.http_status(), 400);

    sign_up(&m, "eve@example.com");
    let fresh = code_for(&m, "eve@example.com").expect("a fresh code");
    let v: Json = m
        .call("verify", json!({"agent_key": key, "code": fresh}), AGENT)
        .expect("the fresh code verifies");
    assert_eq!(v["claim_status"], "verified");
}

#[test]
fn unclaimed_projects_are_deleted_after_fourteen_days() {
    // Proves: after 14 days the scheduled deletion removes an unclaimed project with its
    // sign-up, objects and media (foreign keys cascade), and keeps a verified one.
    let mut m = module();
    let kept = sign_up(&m, "keep@example.com");
    let gone = sign_up(&m, "gone@example.com");
    let code = code_for(&m, "keep@example.com").expect("code");
    let _: Json = m
        .call(
            "verify",
            json!({"agent_key": kept["agent_key"], "code": code}),
            AGENT,
        )
        .expect("verify");
    for r in [&kept, &gone] {
        let _: Json = m
            .call(
                "create_object",
                json!({"agent_key": r["agent_key"], "title": "t"}),
                AGENT,
            )
            .expect("object");
        let _: Json = m
            .call(
                "upload_media",
                json!({"agent_key": r["agent_key"], "bytes_len": 10}),
                AGENT,
            )
            .expect("media");
    }
    m.advance(13 * DAY);
    assert_eq!(project_ids(&m).len(), 2, "nothing deleted before 14 days");
    m.advance(2 * DAY);
    let kept_id = kept["project"]["id"].as_u64().expect("id");
    assert_eq!(project_ids(&m), vec![Value::U64(kept_id)]);
    assert_eq!(m.rows("signups").map(|r| r.len()).unwrap_or(0), 1);
    assert_eq!(m.rows("objects").map(|r| r.len()).unwrap_or(0), 1);
    assert_eq!(m.rows("media").map(|r| r.len()).unwrap_or(0), 1);
    let err = m
        .call::<Json>("status", json!({"agent_key": gone["agent_key"]}), AGENT)
        .expect_err("the deleted project's key is gone");
    assert_eq!(err.code(), "invalid_agent_key");
}
