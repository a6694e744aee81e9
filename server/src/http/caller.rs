//! [`Caller`]: the authenticated identity behind a request — from `Authorization: Bearer
//! <token>` or a `token` query parameter (browsers cannot set headers on a WebSocket) — with
//! the per-identity rate limit applied.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use cosmictron_types::Identity;

use crate::app::{AppState, Counters};
use crate::error::Error;
use crate::http::rate_limit::LimitKey;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller {
    pub(crate) identity: Identity,
    pub(crate) admin: bool,
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The token a request carries, if any: the `Authorization` header, else `?token=`.
pub(crate) fn token_of(parts: &Parts) -> Option<String> {
    if parts.headers.contains_key(header::AUTHORIZATION) {
        return bearer(&parts.headers).map(str::to_owned);
    }
    parts.uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "token")
            .map(|(_, v)| v.to_owned())
    })
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Caller, Response> {
        let core = state.core().map_err(IntoResponse::into_response)?;
        let Some(token) = token_of(parts) else {
            return Err(Error::request(
                401,
                "missing_token",
                "send `Authorization: Bearer <token>` (get one from /v1/auth/sign-in)",
            )
            .into_response());
        };
        let auth = core
            .auth
            .verify_token(&token)
            .map_err(IntoResponse::into_response)?;
        let decision = state
            .identity_limiter
            .check(LimitKey::Identity(auth.identity));
        if !decision.allowed {
            Counters::bump(&state.counters.rate_limited);
            return Err(decision.refusal());
        }
        Ok(Caller {
            identity: auth.identity,
            admin: auth.admin,
        })
    }
}
