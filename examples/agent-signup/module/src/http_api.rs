//! The Agents REST API of the product document, as HTTP routes: `POST /v3/agents/sign-up`,
//! `POST /v3/agents/verify`, `GET /v3/agents/status` (with `Authorization: Bearer agk_…`), and
//! the restricted bucket data plane that answers 402 `agent_unclaimed_limit`. Bodies and errors
//! are the document's: errors without a code are `{"message"}` (400, 401, 429), 402 adds
//! `code`, `action` and `limits`, 409 `code` and `claim_existing_url`.

use cosmictron_sdk::{Error, HttpRequest, HttpResponse, ReducerContext, route};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::account::{signup_by_agent_key, status_answer};
use crate::data_plane::{generate, media_upload, object_create};
use crate::state::UNCLAIMED_LIMITS;
use crate::tables::*;
use crate::tokens;

fn message(status: u16, text: &str) -> HttpResponse {
    HttpResponse::json(status, &json!({ "message": text }))
}

/// A module error in the document's shape.
fn error_response(e: &Error) -> HttpResponse {
    let details = e.details.clone().unwrap_or(Json::Null);
    match (e.http_status, e.code.as_str()) {
        (402, code) => {
            let mut body = json!({"message": e.message, "code": code, "action": details["action"]});
            if code == "agent_unclaimed_limit" {
                body["limits"] = json!(UNCLAIMED_LIMITS);
            }
            HttpResponse::json(402, &body)
        }
        (409, "user_already_exists") => HttpResponse::json(
            409,
            &json!({
                "message": e.message,
                "code": e.code,
                "claim_existing_url": details["claim_existing_url"],
            }),
        ),
        (429, _) => {
            let retry = details["retry_after_seconds"].as_u64().unwrap_or(60);
            message(429, &e.message).with_header("retry-after", &retry.to_string())
        }
        (400 | 401, _) => message(e.http_status, &e.message),
        (status, code) => HttpResponse::json(status, &json!({"message": e.message, "code": code})),
    }
}

/// Runs `answer`, turning its error into the document's error shape.
fn respond(status: u16, answer: Result<Json, Error>) -> HttpResponse {
    match answer {
        Ok(body) => HttpResponse::json(status, &body),
        Err(e) => error_response(&e),
    }
}

/// The JSON body as `T`; 400 `{"message"}` when it is missing, not JSON or of the wrong shape.
fn body<T: for<'de> Deserialize<'de>>(req: &HttpRequest) -> Result<T, HttpResponse> {
    req.json::<T>()
        .map_err(|e| message(400, &format!("Missing or invalid body: {}", e.message)))
}

const UNAUTHORIZED: &str = "Missing or invalid Authorization: Bearer agk_...";

/// The sign-up of the request's `Authorization: Bearer agk_…`, with the bare key.
fn agent(ctx: &ReducerContext, req: &HttpRequest) -> Result<(Signup, String), HttpResponse> {
    let Some(key) = req.bearer_token() else {
        return Err(message(401, UNAUTHORIZED));
    };
    match signup_by_agent_key(ctx, key) {
        Ok(signup) => Ok((signup, key.to_owned())),
        Err(_) => Err(message(401, UNAUTHORIZED)),
    }
}

#[derive(Deserialize)]
struct SignUpBody {
    human_email: Option<String>,
    project_name: Option<String>,
    agent_id: Option<String>,
    client: Option<String>,
}

/// Capped per IP (the daily ceiling per `agent_id` is the module's own, also 429).
#[route(POST, "/v3/agents/sign-up", rate_limit(requests = 20, window_secs = 3600, key = "ip"))]
pub fn http_sign_up(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let b: SignUpBody = match body(req) {
        Ok(b) => b,
        Err(response) => return Ok(response),
    };
    let (Some(email), Some(project), Some(agent_id)) = (b.human_email, b.project_name, b.agent_id)
    else {
        return Ok(message(
            400,
            "Missing required fields: human_email, project_name and agent_id",
        ));
    };
    let answer = crate::signup::sign_up_answer(ctx, &email, &project, &agent_id, b.client);
    Ok(respond(200, answer))
}

#[derive(Deserialize)]
struct VerifyBody {
    code: Option<String>,
}

#[route(POST, "/v3/agents/verify", rate_limit(requests = 60, window_secs = 60, key = "header:authorization"))]
pub fn http_verify(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let (_, key) = match agent(ctx, req) {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let b: VerifyBody = match body(req) {
        Ok(b) => b,
        Err(response) => return Ok(response),
    };
    let Some(code) = b.code else {
        return Ok(message(400, "Missing required field: code"));
    };
    match crate::code::verify(ctx, key, code) {
        // A wrong code costs an attempt: the 400 keeps that write.
        Ok(answer) if answer["verified"] == false => Ok(HttpResponse::json(
            400,
            &json!({
                "message": "Incorrect code.",
                "attempts_remaining": answer["attempts_remaining"],
            }),
        )
        .keep_writes()),
        Ok(mut answer) => {
            if let Some(fields) = answer.as_object_mut() {
                fields.remove("verified");
            }
            Ok(HttpResponse::json(200, &answer))
        }
        Err(e) => Ok(error_response(&e)),
    }
}

/// Safe to poll; the canonical way to refresh the access token.
#[route(GET, "/v3/agents/status", read_only, rate_limit(requests = 60, window_secs = 60, key = "header:authorization"))]
pub fn http_status(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let (signup, key) = match agent(ctx, req) {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    Ok(respond(200, status_answer(ctx, &signup, &key)))
}

/// The data plane's caller: an agent key or an access token, for the bucket in the path.
fn bucket_caller(ctx: &ReducerContext, req: &HttpRequest) -> Result<Signup, HttpResponse> {
    let Some(token) = req.bearer_token() else {
        return Err(message(401, "Missing or invalid Authorization: Bearer token"));
    };
    let signup = if token.starts_with("agk_") {
        signup_by_agent_key(ctx, token).ok()
    } else {
        tokens::signup_of(ctx, token).ok().flatten()
    };
    let Some(signup) = signup else {
        return Err(message(401, "Missing or invalid Authorization: Bearer token"));
    };
    let slug = req.param("slug").unwrap_or_default();
    match ctx.db.projects().find(&signup.project_id) {
        Ok(Some(p)) if p.bucket_slug == slug => Ok(signup),
        _ => Err(message(404, "No such bucket for this credential")),
    }
}

#[derive(Deserialize)]
struct ObjectBody {
    title: String,
}

#[route(POST, "/v3/buckets/:slug/objects")]
pub fn http_create_object(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let signup = match bucket_caller(ctx, req) {
        Ok(s) => s,
        Err(response) => return Ok(response),
    };
    let b: ObjectBody = match body(req) {
        Ok(b) => b,
        Err(response) => return Ok(response),
    };
    Ok(respond(201, object_create(ctx, &signup, b.title)))
}

#[derive(Deserialize)]
struct MediaBody {
    bytes_len: u64,
}

#[route(POST, "/v3/buckets/:slug/media")]
pub fn http_upload_media(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let signup = match bucket_caller(ctx, req) {
        Ok(s) => s,
        Err(response) => return Ok(response),
    };
    let b: MediaBody = match body(req) {
        Ok(b) => b,
        Err(response) => return Ok(response),
    };
    Ok(respond(201, media_upload(ctx, &signup, b.bytes_len)))
}

#[derive(Deserialize)]
struct GenerateBody {
    prompt: String,
}

#[route(POST, "/v3/buckets/:slug/ai/generate")]
pub fn http_ai_generate(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error> {
    let signup = match bucket_caller(ctx, req) {
        Ok(s) => s,
        Err(response) => return Ok(response),
    };
    let b: GenerateBody = match body(req) {
        Ok(b) => b,
        Err(response) => return Ok(response),
    };
    Ok(respond(200, generate(ctx, &signup, b.prompt)))
}
