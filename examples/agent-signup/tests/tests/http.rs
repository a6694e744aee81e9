//! The agent sign-up flow over real HTTP against a real server on port 0: every claim state,
//! error code and limit of the module.

use agent_signup_tests::{Server, error_code};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn str_of<'a>(body: &'a Json, key: &str) -> &'a str {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("no `{key}` in {body}"))
}

async fn sign_up(s: &Server, agent: &str, email: &str, agent_id: &str) -> Json {
    let (status, body) = s
        .call(
            agent,
            "sign_up",
            json!({"human_email": email, "project_name": "Recipe Blog", "agent_id": agent_id, "client": "cli"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["result"].clone()
}

const UNCLAIMED_LIMITS: fn() -> Json =
    || json!({"ai_credits_remaining": 0, "media_mb_total": 5, "objects_max": 50});

#[tokio::test]
async fn sign_up_provisions_an_unclaimed_project_and_stores_only_digests() {
    // Proves: the sign-up answer has every documented field; the key, claim token and code
    // are stored only as digests; the email outbox holds the code; status reports the state.
    let s = Server::start().await;
    let agent = s.anonymous().await;
    let r = sign_up(&s, &agent, "Tony@Example.com", "my-agent-platform").await;
    assert_eq!(r["auth_type"], "unclaimed");
    let key = str_of(&r, "agent_key");
    assert!(key.starts_with("agk_") && key.len() == 68, "{key}");
    assert_eq!(r["project"]["name"], "Recipe Blog");
    assert!(r["project"]["id"].is_u64());
    assert!(str_of(&r["bucket"], "slug").starts_with("recipe-blog-"));
    assert!(str_of(&r["bucket"], "read_key").starts_with("brk_"));
    assert!(str_of(&r["bucket"], "write_key").starts_with("bwk_"));
    let claim_url = str_of(&r, "claim_url");
    assert!(claim_url.starts_with("/claim?token=clm_"), "{claim_url}");
    assert_eq!(r["limits"], UNCLAIMED_LIMITS());
    assert_eq!(r["auto_delete_after_days"], 14);

    let stored = s
        .sql(
            "SELECT agent_key_hash, claim_token_hash, human_email, claim_status FROM signups",
            json!([]),
        )
        .await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0][0], json!(sha256_hex(key)));
    let token = claim_url.trim_start_matches("/claim?token=");
    assert_eq!(stored[0][1], json!(sha256_hex(token)));
    assert_eq!(stored[0][2], "tony@example.com", "emails are lower-cased");
    let code = s.code_sent_to("tony@example.com").await;
    let otp = s
        .sql(
            "SELECT salt, code_hash, attempts_left, expired FROM otp_codes",
            json!([]),
        )
        .await;
    assert_eq!(otp.len(), 1);
    let salt = str_of(&json!({"s": otp[0][0]}), "s").to_owned();
    assert_eq!(otp[0][1], json!(sha256_hex(&format!("{salt}{code}"))));
    assert_ne!(
        otp[0][1],
        json!(sha256_hex(&code)),
        "the code hash is salted"
    );
    assert_eq!(otp[0][2], 5);
    let bucket_keys = s
        .sql(
            "SELECT read_key_hash, write_key_hash FROM projects",
            json!([]),
        )
        .await;
    assert_eq!(
        bucket_keys[0][0],
        json!(sha256_hex(str_of(&r["bucket"], "read_key")))
    );
    assert_eq!(
        bucket_keys[0][1],
        json!(sha256_hex(str_of(&r["bucket"], "write_key")))
    );

    let (status, st) = s.call(&agent, "status", json!({"agent_key": key})).await;
    assert_eq!(status, 200, "{st}");
    let st = &st["result"];
    assert_eq!(st["auth_type"], "unclaimed");
    assert_eq!(st["claim_status"], "unclaimed");
    assert_eq!(st["plan_id"], "agent_unclaimed");
    assert_eq!(st["limits"], UNCLAIMED_LIMITS());
    assert_eq!(st["auto_delete_after_days"], 14);
    assert_eq!(st["project"], r["project"]);
    assert_eq!(st["bucket"]["slug"], r["bucket"]["slug"]);
    assert_eq!(st["human_email"], "tony@example.com");
    assert_eq!(st["agent_id"], "my-agent-platform");
    assert_eq!(st["client"], "cli");
}

#[tokio::test]
async fn the_code_verifies_and_lifts_the_limits() {
    // Proves: a wrong code costs an attempt and verifies nothing; the right code moves the
    // project to `verified` with `limits: null`, and AI generation becomes possible.
    let s = Server::start().await;
    let agent = s.anonymous().await;
    let r = sign_up(&s, &agent, "ada@example.com", "cursor").await;
    let key = str_of(&r, "agent_key");
    let code = s.code_sent_to("ada@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let (status, v) = s
        .call(&agent, "verify", json!({"agent_key": key, "code": wrong}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["result"]["verified"], false);
    assert_eq!(v["result"]["error"]["code"], "invalid_code");
    assert_eq!(v["result"]["attempts_remaining"], 4);
    assert_eq!(v["result"]["claim_status"], "unclaimed");

    let (status, v) = s
        .call(&agent, "verify", json!({"agent_key": key, "code": code}))
        .await;
    assert_eq!(status, 200, "{v}");
    let v = &v["result"];
    assert_eq!(v["verified"], true);
    assert_eq!(v["auth_type"], "verified");
    assert_eq!(v["claim_status"], "verified");
    assert_eq!(v["limits"], Json::Null);
    assert!(
        s.sql("SELECT signup_id FROM otp_codes", json!([]))
            .await
            .is_empty()
    );
    assert!(
        s.sql("SELECT id FROM email_outbox", json!([]))
            .await
            .is_empty()
    );

    let (_, st) = s.call(&agent, "status", json!({"agent_key": key})).await;
    assert_eq!(st["result"]["claim_status"], "verified");
    assert_eq!(st["result"]["plan_id"], "free");
    assert_eq!(st["result"]["limits"], Json::Null);
    assert_eq!(st["result"]["auto_delete_after_days"], Json::Null);

    let (status, g) = s
        .call(
            &agent,
            "ai_generate",
            json!({"agent_key": key, "prompt": "a haiku"}),
        )
        .await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["result"]["ai_credits_remaining"], 99);

    // Signing up again for a verified pair is refused (the agent already holds a key).
    let (status, body) = s
        .call(
            &agent,
            "sign_up",
            json!({"human_email": "ada@example.com", "project_name": "x", "agent_id": "cursor"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "already_verified"));
}

#[tokio::test]
async fn five_wrong_codes_invalidate_it_and_signing_up_again_issues_a_fresh_one() {
    // Proves: after 5 wrong codes even the right one is refused (`code_invalidated`); a
    // repeated sign-up with the same email and agent id keeps the project and sends a fresh
    // code that works; the old key stays the credential.
    let s = Server::start().await;
    let agent = s.anonymous().await;
    let r = sign_up(&s, &agent, "bo@example.com", "codex").await;
    let key = str_of(&r, "agent_key");
    let code = s.code_sent_to("bo@example.com").await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    for left in (0..5).rev() {
        let (status, v) = s
            .call(&agent, "verify", json!({"agent_key": key, "code": wrong}))
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["result"]["attempts_remaining"], left);
    }
    let (status, body) = s
        .call(&agent, "verify", json!({"agent_key": key, "code": code}))
        .await;
    assert_eq!((status, error_code(&body)), (400, "code_invalidated"));

    let again = sign_up(&s, &agent, "bo@example.com", "codex").await;
    assert_eq!(again["project"], r["project"], "the same project");
    assert_eq!(
        again["agent_key"],
        Json::Null,
        "credentials are not shown twice"
    );
    assert_eq!(again["bucket"]["slug"], r["bucket"]["slug"]);
    assert_eq!(s.sql("SELECT id FROM projects", json!([])).await.len(), 1);
    assert_eq!(
        s.sql("SELECT id FROM email_outbox", json!([])).await.len(),
        1
    );
    let fresh = s.code_sent_to("bo@example.com").await;
    let attempts = s
        .sql("SELECT attempts_left FROM otp_codes", json!([]))
        .await;
    assert_eq!(attempts[0][0], 5, "a fresh code has all its attempts");
    let (status, v) = s
        .call(&agent, "verify", json!({"agent_key": key, "code": fresh}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["result"]["claim_status"], "verified");
}

#[tokio::test]
async fn unclaimed_quotas_answer_402_with_the_action_and_limits() {
    // Proves: an unclaimed bucket takes 50 objects and 5 MB of media and no AI generation;
    // each refusal is 402 `agent_unclaimed_limit` naming the action, with the limits; once
    // verified the same calls succeed.
    let s = Server::start().await;
    let agent = s.anonymous().await;
    let r = sign_up(&s, &agent, "cy@example.com", "claude-code").await;
    let key = str_of(&r, "agent_key");
    for i in 1..=50 {
        let (status, o) = s
            .call(
                &agent,
                "create_object",
                json!({"agent_key": key, "title": format!("post {i}")}),
            )
            .await;
        assert_eq!(status, 200, "{o}");
        assert_eq!(o["result"]["objects"], i);
    }
    let refused = |body: &Json, action: &str| {
        assert_eq!(error_code(body), "agent_unclaimed_limit");
        assert_eq!(body["error"]["details"]["action"], action, "{body}");
        assert_eq!(body["error"]["details"]["limits"], UNCLAIMED_LIMITS());
    };
    let (status, body) = s
        .call(
            &agent,
            "create_object",
            json!({"agent_key": key, "title": "post 51"}),
        )
        .await;
    assert_eq!(status, 402);
    refused(&body, "object_create");
    assert_eq!(s.sql("SELECT id FROM objects", json!([])).await.len(), 50);

    let five_mb = 5 * 1024 * 1024;
    let (status, m) = s
        .call(
            &agent,
            "upload_media",
            json!({"agent_key": key, "bytes_len": five_mb}),
        )
        .await;
    assert_eq!(status, 200, "{m}");
    let (status, body) = s
        .call(
            &agent,
            "upload_media",
            json!({"agent_key": key, "bytes_len": 1}),
        )
        .await;
    assert_eq!(status, 402);
    refused(&body, "media_upload");

    let (status, body) = s
        .call(
            &agent,
            "ai_generate",
            json!({"agent_key": key, "prompt": "hello"}),
        )
        .await;
    assert_eq!(status, 402);
    refused(&body, "ai_generate");
    assert!(
        s.sql("SELECT id FROM ai_requests", json!([]))
            .await
            .is_empty()
    );

    let code = s.code_sent_to("cy@example.com").await;
    let (status, _) = s
        .call(&agent, "verify", json!({"agent_key": key, "code": code}))
        .await;
    assert_eq!(status, 200);
    let (status, o) = s
        .call(
            &agent,
            "create_object",
            json!({"agent_key": key, "title": "post 51"}),
        )
        .await;
    assert_eq!(status, 200, "{o}");
    let (status, m) = s
        .call(
            &agent,
            "upload_media",
            json!({"agent_key": key, "bytes_len": 1}),
        )
        .await;
    assert_eq!(status, 200, "{m}");
}

#[tokio::test]
async fn claiming_makes_the_project_human_owned_and_the_email_taken() {
    // Proves: the claim token moves the project to `human_owned` for the claiming identity;
    // afterwards any agent signing up with that email gets 409 `user_already_exists` with a
    // `claim_existing_url`; claim tokens are single-owner and checked.
    let s = Server::start().await;
    let agent = s.anonymous().await;
    let r = sign_up(&s, &agent, "tony@example.com", "my-agent-platform").await;
    let key = str_of(&r, "agent_key");
    let token = str_of(&r, "claim_url")
        .trim_start_matches("/claim?token=")
        .to_owned();
    let human = s.human("tony@example.com").await;

    let (status, c) = s.call(&human, "claim", json!({"claim_token": token})).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["result"]["claim_status"], "human_owned");
    assert_eq!(c["result"]["auth_type"], "verified");
    assert_eq!(c["result"]["limits"], Json::Null);
    let (_, st) = s.call(&agent, "status", json!({"agent_key": key})).await;
    assert_eq!(st["result"]["claim_status"], "human_owned");
    assert_eq!(st["result"]["plan_id"], "free");
    let (status, g) = s
        .call(
            &agent,
            "ai_generate",
            json!({"agent_key": key, "prompt": "hi"}),
        )
        .await;
    assert_eq!(status, 200, "{g}");

    let (status, body) = s
        .call(
            &agent,
            "sign_up",
            json!({"human_email": "TONY@example.com", "project_name": "Another", "agent_id": "other-agent"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "user_already_exists"));
    assert_eq!(
        body["error"]["details"]["claim_existing_url"],
        "/login?email=tony%40example.com"
    );
    assert_eq!(s.sql("SELECT id FROM projects", json!([])).await.len(), 1);

    let (status, body) = s.call(&human, "claim", json!({"claim_token": token})).await;
    assert_eq!((status, error_code(&body)), (409, "already_claimed"));
    let (status, body) = s
        .call(&human, "claim", json!({"claim_token": "clm_nope"}))
        .await;
    assert_eq!((status, error_code(&body)), (404, "invalid_claim_token"));
    let (status, body) = s.call(&human, "claim", json!({"claim_token": key})).await;
    assert_eq!((status, error_code(&body)), (404, "invalid_claim_token"));
}

#[tokio::test]
async fn each_agent_id_has_a_daily_ceiling() {
    // Proves: the 11th sign-up of one agent id in a day is 429 `rate_limited` with the limit
    // and a retry time, changes nothing, and other agent ids are unaffected.
    let s = Server::start().await;
    let agent = s.anonymous().await;
    for i in 0..10 {
        sign_up(&s, &agent, &format!("h{i}@example.com"), "busy-agent").await;
    }
    let (status, body) = s
        .call(
            &agent,
            "sign_up",
            json!({"human_email": "h10@example.com", "project_name": "p", "agent_id": "busy-agent"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"));
    assert_eq!(body["error"]["details"]["limit"], 10);
    let retry = body["error"]["details"]["retry_after_seconds"]
        .as_i64()
        .unwrap_or(0);
    assert!((1..=86_400).contains(&retry), "{body}");
    assert_eq!(s.sql("SELECT id FROM projects", json!([])).await.len(), 10);
    sign_up(&s, &agent, "h10@example.com", "calm-agent").await;
}

#[tokio::test]
async fn bad_input_and_bad_keys_get_clear_errors() {
    // Proves: invalid fields are 400 `invalid_argument` naming the field; unknown keys are
    // 401; malformed codes are 400; the scheduled reducers refuse client calls.
    let s = Server::start().await;
    let agent = s.anonymous().await;
    let cases = [
        (
            json!({"human_email": "nope", "project_name": "p", "agent_id": "a"}),
            "human_email",
        ),
        (
            json!({"human_email": "a@b.co", "project_name": " ", "agent_id": "a"}),
            "project_name",
        ),
        (
            json!({"human_email": "a@b.co", "project_name": "p", "agent_id": ""}),
            "agent_id",
        ),
        (
            json!({"human_email": "a@b.co", "project_name": "p", "agent_id": "x".repeat(129)}),
            "agent_id",
        ),
    ];
    for (args, field) in cases {
        let (status, body) = s.call(&agent, "sign_up", args).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "invalid_argument"),
            "{body}"
        );
        assert_eq!(body["error"]["details"]["field"], field);
    }
    let (status, body) = s
        .call(&agent, "sign_up", json!({"human_email": "a@b.co"}))
        .await;
    assert_eq!(status / 100, 4, "{body}");
    assert_eq!(error_code(&body), "invalid_arguments");
    assert!(s.sql("SELECT id FROM projects", json!([])).await.is_empty());

    for key in ["", "agk_unknown", "brk_123"] {
        let (status, body) = s.call(&agent, "status", json!({"agent_key": key})).await;
        assert_eq!((status, error_code(&body)), (401, "invalid_agent_key"));
    }
    let r = sign_up(&s, &agent, "dee@example.com", "a").await;
    let key = str_of(&r, "agent_key");
    let (status, body) = s
        .call(
            &agent,
            "verify",
            json!({"agent_key": key, "code": "12ab56"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_code_format"));
    let (status, body) = s
        .call(
            &agent,
            "create_object",
            json!({"agent_key": key, "title": ""}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (400, "invalid_argument"));
    let project = r["project"]["id"].clone();
    let (status, body) = s
        .call(
            &agent,
            "delete_unclaimed_project",
            json!({"project_id": project}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (403, "module_only"));
    assert_eq!(s.sql("SELECT id FROM projects", json!([])).await.len(), 1);
}
