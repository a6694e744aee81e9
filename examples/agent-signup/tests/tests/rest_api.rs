//! The Agents API exactly as its product document shows it, over real HTTP at the server's
//! root (the module's routes, exposed): every documented request turned into a test, the
//! response bodies field by field, and every documented error (400, 401, 402, 409, 429).

use agent_signup_tests::Server;
use serde_json::{Value as Json, json};

fn keys(body: &Json) -> Vec<&str> {
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {body}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn text<'a>(body: &'a Json, key: &str) -> &'a str {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("no `{key}` in {body}"))
}

fn limits() -> Json {
    json!({"ai_credits_remaining": 0, "media_mb_total": 5, "objects_max": 50})
}

/// The document's sign-up request.
async fn sign_up(s: &Server, email: &str, agent_id: &str) -> Json {
    let (status, _, body) = s
        .request(
            "POST",
            "/v3/agents/sign-up",
            None,
            Some(
                json!({"human_email": email, "project_name": "Recipe Blog", "agent_id": agent_id}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn is_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.split('.').count() == 3
}

#[tokio::test]
async fn sign_up_status_and_verify_answer_as_documented() {
    let s = Server::start().await;
    let r = sign_up(&s, "tony@example.com", "my-agent-platform").await;
    assert_eq!(
        keys(&r),
        [
            "access_token",
            "agent_key",
            "auth_type",
            "auto_delete_after_days",
            "bucket",
            "claim_url",
            "limits",
            "message",
            "project"
        ]
    );
    assert_eq!(
        r["message"],
        "Agent signup created. OTP sent to human_email."
    );
    assert_eq!(r["auth_type"], "unclaimed");
    let agent_key = text(&r, "agent_key");
    assert!(agent_key.starts_with("agk_"), "{agent_key}");
    assert!(is_jwt(text(&r, "access_token")), "{r}");
    assert_eq!(keys(&r["project"]), ["id", "name"]);
    assert_eq!(r["project"]["name"], "Recipe Blog");
    assert_eq!(keys(&r["bucket"]), ["read_key", "slug", "write_key"]);
    assert!(text(&r["bucket"], "slug").starts_with("recipe-blog-"));
    assert!(text(&r, "claim_url").contains("/claim?token="));
    assert_eq!(r["limits"], limits());
    assert_eq!(r["auto_delete_after_days"], 14);

    // Status, unclaimed: every documented field, the bucket keys shown again.
    let (status, headers, st) = s
        .request("GET", "/v3/agents/status", Some(agent_key), None)
        .await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(
        keys(&st),
        [
            "access_token",
            "agent_id",
            "auth_type",
            "auto_delete_after_days",
            "bucket",
            "claim_status",
            "client",
            "human_email",
            "limits",
            "plan_id",
            "project"
        ]
    );
    assert_eq!(
        (&st["auth_type"], &st["claim_status"]),
        (&json!("unclaimed"), &json!("unclaimed"))
    );
    assert_eq!(st["plan_id"], "agent_unclaimed");
    assert!(is_jwt(text(&st, "access_token")));
    assert_eq!(st["limits"], limits());
    assert_eq!(st["auto_delete_after_days"], 14);
    assert_eq!(st["project"], r["project"]);
    assert_eq!(st["bucket"], r["bucket"], "the raw keys, as at sign-up");
    assert_eq!(st["human_email"], "tony@example.com");
    assert_eq!(st["agent_id"], "my-agent-platform");
    assert_eq!(headers["x-ratelimit-limit"], "60");

    // A wrong code is a 400 that costs an attempt.
    for remaining in [4, 3] {
        let (status, _, body) = s
            .request(
                "POST",
                "/v3/agents/verify",
                Some(agent_key),
                Some(json!({"code": "000000"})),
            )
            .await;
        let code = s.code_sent_to("tony@example.com").await;
        if code == "000000" {
            return; // One chance in a million: the wrong code was the right one.
        }
        assert_eq!(
            (status, &body["attempts_remaining"]),
            (400, &json!(remaining)),
            "{body}"
        );
        assert!(body["message"].is_string());
    }
    // The document's verify request.
    let code = s.code_sent_to("tony@example.com").await;
    let (status, _, v) = s
        .request(
            "POST",
            "/v3/agents/verify",
            Some(agent_key),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        keys(&v),
        [
            "access_token",
            "auth_type",
            "claim_status",
            "limits",
            "message"
        ]
    );
    assert_eq!(v["message"], "Verified. Restricted-mode limits lifted.");
    assert_eq!(
        (&v["auth_type"], &v["claim_status"]),
        (&json!("verified"), &json!("verified"))
    );
    assert_eq!(v["limits"], Json::Null);
    assert!(is_jwt(text(&v, "access_token")));

    let (_, _, st) = s
        .request("GET", "/v3/agents/status", Some(agent_key), None)
        .await;
    assert_eq!(
        (&st["auth_type"], &st["claim_status"]),
        (&json!("verified"), &json!("verified"))
    );
    assert_eq!(st["plan_id"], "free");
    assert_eq!(
        (&st["limits"], &st["auto_delete_after_days"]),
        (&Json::Null, &Json::Null)
    );
}

#[tokio::test]
async fn bad_bodies_are_400_and_bad_keys_401_without_a_code() {
    let s = Server::start().await;
    for body in [
        json!({"project_name": "x", "agent_id": "a"}),
        json!({"human_email": "not-an-email", "project_name": "x", "agent_id": "a"}),
        json!({"human_email": "a@example.com", "project_name": "x", "agent_id": ""}),
    ] {
        let (status, _, answer) = s
            .request("POST", "/v3/agents/sign-up", None, Some(body))
            .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(keys(&answer), ["message"]);
    }
    let r = s
        .http
        .post(format!("{}/v3/agents/sign-up", s.base))
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 400);
    for (method, path) in [("POST", "/v3/agents/verify"), ("GET", "/v3/agents/status")] {
        for bearer in [None, Some("agk_unknown"), Some("csu_other")] {
            let (status, _, body) = s
                .request(method, path, bearer, Some(json!({"code": "123456"})))
                .await;
            assert_eq!(
                (status, keys(&body)),
                (401, vec!["message"]),
                "{path} {bearer:?}"
            );
        }
    }
    let r = sign_up(&s, "a@example.com", "agent").await;
    let (status, _, body) = s
        .request(
            "POST",
            "/v3/agents/verify",
            Some(text(&r, "agent_key")),
            Some(json!({})),
        )
        .await;
    assert_eq!((status, keys(&body)), (400, vec!["message"]));
}

#[tokio::test]
async fn a_human_owned_email_is_409_with_the_login_url() {
    let s = Server::start().await;
    let r = sign_up(&s, "tony@example.com", "my-agent-platform").await;
    let claim_token = text(&r, "claim_url")
        .split("token=")
        .nth(1)
        .expect("token")
        .to_owned();
    let human = s.human("tony@example.com").await;
    let (status, body) = s
        .call(&human, "claim", json!({"claim_token": claim_token}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = s
        .request(
            "POST",
            "/v3/agents/sign-up",
            None,
            Some(json!({"human_email": "tony@example.com", "project_name": "Other", "agent_id": "x"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(keys(&body), ["claim_existing_url", "code", "message"]);
    assert_eq!(body["code"], "user_already_exists");
    assert_eq!(
        body["claim_existing_url"],
        "/login?email=tony%40example.com"
    );
    // The claimed project's access tokens are revoked.
    let (status, _, body) = s
        .request(
            "POST",
            &format!("/v3/buckets/{}/objects", text(&r["bucket"], "slug")),
            Some(text(&r, "access_token")),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn sign_ups_are_capped_per_agent_per_day_and_per_ip() {
    let s = Server::start().await;
    for i in 0..10 {
        sign_up(&s, &format!("h{i}@example.com"), "busy-agent").await;
    }
    let (status, headers, body) = s
        .request(
            "POST",
            "/v3/agents/sign-up",
            None,
            Some(json!({"human_email": "h10@example.com", "project_name": "x", "agent_id": "busy-agent"})),
        )
        .await;
    assert_eq!((status, keys(&body)), (429, vec!["message"]), "{body}");
    assert!(headers.contains_key("retry-after"));
    // The per-IP cap: 20 sign-up requests an hour, whatever they hold.
    assert_eq!(headers["x-ratelimit-remaining"], "9");
    for _ in 0..9 {
        let (status, _, _) = s
            .request("POST", "/v3/agents/sign-up", None, Some(json!({})))
            .await;
        assert_eq!(status, 400);
    }
    let (status, headers, body) = s
        .request("POST", "/v3/agents/sign-up", None, Some(json!({})))
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["x-ratelimit-limit"], "20");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("secs");
    assert!((1..=3600).contains(&retry));
}

#[tokio::test]
async fn the_data_plane_answers_402_with_the_action_and_limits() {
    let s = Server::start().await;
    let r = sign_up(&s, "tony@example.com", "my-agent-platform").await;
    let slug = text(&r["bucket"], "slug").to_owned();
    let agent_key = text(&r, "agent_key").to_owned();
    let access_token = text(&r, "access_token").to_owned();
    let objects = format!("/v3/buckets/{slug}/objects");
    for i in 0..50 {
        // The agent key and the access token both work.
        let token = if i % 2 == 0 {
            &agent_key
        } else {
            &access_token
        };
        let (status, _, body) = s
            .request(
                "POST",
                &objects,
                Some(token),
                Some(json!({"title": format!("o{i}")})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, _, body) = s
        .request(
            "POST",
            &objects,
            Some(&agent_key),
            Some(json!({"title": "one too many"})),
        )
        .await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(keys(&body), ["action", "code", "limits", "message"]);
    assert_eq!(
        (&body["code"], &body["action"]),
        (&json!("agent_unclaimed_limit"), &json!("object_create"))
    );
    assert_eq!(body["limits"], limits());
    let (status, _, body) = s
        .request(
            "POST",
            &format!("/v3/buckets/{slug}/ai/generate"),
            Some(&access_token),
            Some(json!({"prompt": "a recipe"})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            402,
            json!({
                "message": "AI generation is disabled on unclaimed agent buckets. Ask the human to claim this bucket to enable AI features.",
                "code": "agent_unclaimed_limit",
                "action": "ai_generate",
                "limits": limits(),
            })
        )
    );
    let (status, _, body) = s
        .request(
            "POST",
            &format!("/v3/buckets/{slug}/media"),
            Some(&agent_key),
            Some(json!({"bytes_len": 6 << 20})),
        )
        .await;
    assert_eq!(
        (status, &body["action"]),
        (402, &json!("media_upload")),
        "{body}"
    );
    // Another bucket's slug, a forged token.
    let (status, _, _) = s
        .request(
            "POST",
            "/v3/buckets/other-1/objects",
            Some(&agent_key),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_eq!(status, 404);
    let forged = format!("{}x", &access_token[..access_token.len() - 1]);
    let (status, _, _) = s
        .request("POST", &objects, Some(&forged), Some(json!({"title": "x"})))
        .await;
    assert_eq!(status, 401);
    // Verified: AI generation works.
    let code = s.code_sent_to("tony@example.com").await;
    let (status, _, _) = s
        .request(
            "POST",
            "/v3/agents/verify",
            Some(&agent_key),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, body) = s
        .request(
            "POST",
            &format!("/v3/buckets/{slug}/ai/generate"),
            Some(&agent_key),
            Some(json!({"prompt": "a recipe"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ai_credits_remaining"], 99);
}

#[tokio::test]
async fn the_routes_are_listed_and_served_under_the_module_prefix_too() {
    let s = Server::start().await;
    let (status, _, body) = s
        .request(
            "POST",
            "/m/agent_signup/v3/agents/sign-up",
            None,
            Some(json!({"human_email": "p@example.com", "project_name": "P", "agent_id": "a"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let r = s
        .http
        .get(format!("{}/v1/modules/agent_signup", s.base))
        .bearer_auth(&s.operator)
        .send()
        .await
        .expect("describe");
    let info: Json = r.json().await.expect("json");
    let paths: Vec<String> = info["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect();
    for expected in [
        "POST /v3/agents/sign-up",
        "POST /v3/agents/verify",
        "GET /v3/agents/status",
        "POST /v3/buckets/:slug/objects",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} in {paths:?}"
        );
    }
}
