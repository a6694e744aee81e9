//! The HTTP API: routes, the error shape, extractors, limits.
//!
//! - `auth_routes.rs`    `/v1/auth/*`
//! - `module_routes.rs`  `/v1/modules*`
//! - `reducer_routes.rs` `/v1/reducers/:name`, `/v1/modules/:module/reducers/:name`
//! - `sql_routes.rs`     `/v1/sql`
//! - `ops_routes.rs`     `/health`, `/ready`, `/diagnostics`, `/metrics`
//! - `caller.rs`         the authenticated caller (bearer token) and its rate limit
//! - `rate_limit.rs`     token buckets per IP and per identity
//! - `response.rs`       `{"error": {"code", "message"}}` and body extractors
//! - `blocking.rs`       engine work on the blocking pool

pub(crate) mod auth_routes;
pub(crate) mod blocking;
pub(crate) mod caller;
pub(crate) mod module_routes;
pub(crate) mod ops_routes;
pub(crate) mod rate_limit;
pub(crate) mod reducer_routes;
pub(crate) mod response;
pub(crate) mod sql_routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::{AppState, Counters};
use crate::error::Error;

/// Counts requests and error answers.
async fn count(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    Counters::bump(&state.counters.http_requests);
    let response = next.run(request).await;
    if response.status().as_u16() >= 400 {
        Counters::bump(&state.counters.http_errors);
    }
    response
}

/// Answers 503 `timeout` when a request takes longer than the configured time.
async fn time_limit(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let limit = Duration::from_millis(state.config.request_timeout_ms);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::request(
            503,
            "timeout",
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .into_response(),
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let config = &state.config;
    let api = Router::new()
        .route("/v1/auth/sign-up", post(auth_routes::sign_up))
        .route("/v1/auth/sign-in", post(auth_routes::sign_in))
        .route("/v1/auth/magic-link", post(auth_routes::magic_link))
        .route(
            "/v1/auth/magic-link/verify",
            post(auth_routes::verify_magic_link),
        )
        .route("/v1/auth/anonymous", post(auth_routes::anonymous))
        .route("/v1/auth/me", get(auth_routes::me))
        .route(
            "/v1/modules",
            get(module_routes::list)
                .post(module_routes::deploy)
                .layer(DefaultBodyLimit::max(config.max_module_bytes)),
        )
        .route(
            "/v1/modules/{name}",
            get(module_routes::describe).delete(module_routes::undeploy),
        )
        .route("/v1/modules/{name}/logs", get(module_routes::logs))
        .route(
            "/v1/modules/{module}/reducers/{name}",
            post(reducer_routes::call_in_module),
        )
        .route("/v1/reducers/{name}", post(reducer_routes::call_by_name))
        .route("/v1/sql", post(sql_routes::sql))
        .route("/diagnostics", get(ops_routes::diagnostics))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_by_ip,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit));
    let probes = Router::new()
        .route("/health", get(ops_routes::health))
        .route("/ready", get(ops_routes::ready))
        .route("/metrics", get(ops_routes::metrics));
    let routes = api.merge(probes).merge(crate::ws::routes());
    // Static files (a dashboard) at `/`, after every API route; `index.html` for directories.
    let routes = match &config.static_dir {
        Some(dir) => routes.fallback_service(
            tower_http::services::ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .not_found_service(axum::handler::HandlerWithoutStateExt::into_service(
                    response::not_found,
                )),
        ),
        None => routes.fallback(response::not_found),
    };
    routes
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}
