//! The HTTP API: routes, the error shape, extractors, limits.
//!
//! - `auth_routes.rs`    `/v1/auth/*`
//! - `module_routes.rs`  `/v1/modules*`
//! - `reducer_routes.rs` `/v1/reducers/:name`, `/v1/modules/:module/reducers/:name`
//! - `sql_routes.rs`     `/v1/sql`
//! - `ops_routes.rs`     `/health`, `/ready`, `/diagnostics`, `/metrics`
//! - `module_http.rs`    modules' own routes: `/m/{module}{path}`, and exposed ones at `{path}`
//! - `route_limit.rs`    the rate limits modules declare on their routes (fixed windows)
//! - `caller.rs`         the authenticated caller (bearer token) and its rate limit
//! - `rate_limit.rs`     token buckets per IP and per identity
//! - `response.rs`       `{"error": {"code", "message"}}` and body extractors
//! - `blocking.rs`       engine work on the blocking pool

pub(crate) mod auth_routes;
pub(crate) mod blocking;
pub(crate) mod caller;
pub(crate) mod module_http;
pub(crate) mod module_routes;
pub(crate) mod ops_routes;
pub(crate) mod rate_limit;
pub(crate) mod reducer_routes;
pub(crate) mod response;
pub(crate) mod route_limit;
pub(crate) mod sql_routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

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

/// What no API route matched: an exposed module's route, a static file, or 404.
async fn fallback(
    state: Arc<AppState>,
    static_files: Option<tower_http::services::ServeDir>,
    request: Request,
) -> Response {
    let request = if state.exposes_modules() {
        match module_http::serve_exposed(&state, request).await {
            Ok(response) => return response,
            Err(request) => request,
        }
    } else {
        request
    };
    let Some(mut files) = static_files else {
        return response::not_found().await.into_response();
    };
    match files.try_call(request).await {
        Ok(response) if response.status() != axum::http::StatusCode::NOT_FOUND => {
            response.map(axum::body::Body::new)
        }
        _ => response::not_found().await.into_response(),
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
    // Modules' own routes, under the per-IP limit like the API (their declared limits come on
    // top, in the handler).
    let module_routes = Router::new()
        .route("/m/{module}", any(module_http::serve_module_root))
        .route("/m/{module}/", any(module_http::serve_module_root))
        .route("/m/{module}/{*path}", any(module_http::serve_module_path))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_by_ip,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit));
    let routes = api
        .merge(probes)
        .merge(module_routes)
        .merge(crate::ws::routes());
    // After every API route: exposed modules' routes, then static files (a dashboard) at `/`
    // with `index.html` for directories, then 404.
    let static_files = config
        .static_dir
        .as_ref()
        .map(|dir| tower_http::services::ServeDir::new(dir).append_index_html_on_directories(true));
    let fallback = move |State(state): State<Arc<AppState>>, request: Request| {
        let static_files = static_files.clone();
        async move { fallback(state, static_files, request).await }
    };
    routes
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}
