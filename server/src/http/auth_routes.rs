//! `/v1/auth/*`: sign-up, sign-in, magic links, anonymous identities, and who am I.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::Session;
use crate::error::Result;
use crate::http::caller::Caller;
use crate::http::response::ApiJson;

#[derive(Debug, Deserialize)]
pub(crate) struct Credentials {
    email: String,
    password: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmailOnly {
    email: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenOnly {
    token: String,
}

pub(crate) async fn sign_up(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Json<Session>> {
    let core = state.core()?;
    Ok(Json(core.auth.sign_up(&body.email, body.password).await?))
}

pub(crate) async fn sign_in(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Json<Session>> {
    let core = state.core()?;
    Ok(Json(core.auth.sign_in(&body.email, body.password).await?))
}

/// Always 202 for a well-formed address, whether or not it has an account.
pub(crate) async fn magic_link(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<EmailOnly>,
) -> Result<impl IntoResponse> {
    let core = state.core()?.clone();
    crate::auth::check_email(&body.email)?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
        })
        .unwrap_or("127.0.0.1:3000")
        .to_owned();
    let public_url = format!("http://{host}");
    let sent =
        tokio::task::spawn_blocking(move || core.auth.send_magic_link(&body.email, &public_url))
            .await;
    // Still 202 on failure: the answer must not depend on the address.
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "magic link not sent"),
        Err(e) => tracing::warn!(error = %e, "magic link task failed"),
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({"status": "accepted", "message": "if the address can sign in, a link is on its way"}),
        ),
    ))
}

pub(crate) async fn verify_magic_link(
    State(state): State<Arc<AppState>>,
    ApiJson(body): ApiJson<TokenOnly>,
) -> Result<Json<Session>> {
    let core = state.core()?.clone();
    let session = tokio::task::spawn_blocking(move || core.auth.verify_magic_link(&body.token))
        .await
        .map_err(|e| crate::error::Error::request(500, "internal", e.to_string()))??;
    Ok(Json(session))
}

pub(crate) async fn anonymous(State(state): State<Arc<AppState>>) -> Result<Json<Session>> {
    Ok(Json(state.core()?.auth.anonymous()?))
}

pub(crate) async fn me(caller: Caller) -> Json<serde_json::Value> {
    Json(json!({"identity": caller.identity.to_hex(), "admin": caller.admin}))
}
