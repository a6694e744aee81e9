//! Modules' own HTTP routes: `/m/{module}{path}` for every module, and `{path}` itself for the
//! exposed ones (after the server's API, before static files). Each request is matched to a
//! handler, counted against the route's declared rate limit, and run as one transaction on the
//! blocking pool; the handler's status, headers and body go back as they are.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cosmictron_types::{RateLimitSpec, RouteRequest};
use cosmictron_wasm_host::{MatchedRoute, RouteMatch};

use crate::app::{AppState, Core, Counters};
use crate::error::Error;
use crate::http::blocking::blocking;
use crate::http::caller::bearer;
use crate::http::rate_limit::{check_ip, with_ip_headers};
use crate::module_http::unrouted;

/// `/m/{module}`: the module's route for `/`.
pub(crate) async fn serve_module_root(
    State(state): State<Arc<AppState>>,
    Path(module): Path<String>,
    request: Request,
) -> Response {
    serve_in_module(state, module, "/".to_owned(), request).await
}

/// `/m/{module}/{*path}`.
pub(crate) async fn serve_module_path(
    State(state): State<Arc<AppState>>,
    Path((module, path)): Path<(String, String)>,
    request: Request,
) -> Response {
    // The path as sent (percent-encoded), not the decoded capture.
    let prefix_len = "/m/".len() + module.len();
    let raw = request
        .uri()
        .path()
        .get(prefix_len..)
        .unwrap_or("")
        .to_owned();
    let path = if raw.is_empty() {
        format!("/{path}")
    } else {
        raw
    };
    serve_in_module(state, module, path, request).await
}

async fn serve_in_module(
    state: Arc<AppState>,
    module: String,
    path: String,
    request: Request,
) -> Response {
    let core = match state.core() {
        Ok(core) => core.clone(),
        Err(e) => return e.into_response(),
    };
    match core.db.route(&module, request.method().as_str(), &path) {
        Ok(found) => serve(&state, core, module, path, found, request).await,
        Err(e) => e.into_response(),
    }
}

/// The fallback: an exposed module's route, else `None` (static files or 404 follow).
pub(crate) async fn serve_exposed(
    state: &Arc<AppState>,
    request: Request,
) -> Result<Response, Request> {
    let Ok(core) = state.core() else {
        return Err(request);
    };
    let path = request.uri().path().to_owned();
    let Some((module, found)) = core.db.route_exposed(request.method().as_str(), &path) else {
        return Err(request);
    };
    // The per-IP limit applies as under /m (the fallback is outside the API's layers).
    Ok(match check_ip(state, &request) {
        Ok(decision) => with_ip_headers(
            decision,
            serve(state, core.clone(), module, path, found, request).await,
        ),
        Err(refused) => refused.refusal(),
    })
}

async fn serve(
    state: &Arc<AppState>,
    core: Arc<Core>,
    module: String,
    path: String,
    found: RouteMatch,
    request: Request,
) -> Response {
    let route = match found {
        RouteMatch::Found(route) => route,
        other => {
            let mut response =
                unrouted(&module, request.method().as_str(), &path, &other).into_response();
            if let RouteMatch::MethodNotAllowed { allowed } = &other
                && let Ok(v) = HeaderValue::from_str(&allowed.join(", "))
            {
                response.headers_mut().insert(header::ALLOW, v);
            }
            return response;
        }
    };
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let identity = bearer(request.headers()).and_then(|t| core.auth.verify_token(t).ok());
    let decision = route.spec.rate_limit.as_ref().map(|limit| {
        let key = limit_key(
            limit,
            request.headers(),
            identity.as_ref().map(|a| a.identity),
            &remote,
        );
        // Routes of a module that declare the same limit share its windows: "60 requests a
        // minute per API key" holds across the API, not per endpoint.
        let scope = format!("{}/{}/{}", limit.requests, limit.window_secs, limit.key);
        state.route_limiter.check(
            (&module, &scope),
            &key,
            limit.requests,
            Duration::from_secs(u64::from(limit.window_secs)),
        )
    });
    if let Some(d) = decision.filter(|d| !d.allowed) {
        Counters::bump(&state.counters.rate_limited);
        let mut response = Error::RateLimited {
            retry_after_secs: d.retry_after_secs,
        }
        .into_response();
        d.write_headers(response.headers_mut());
        return response;
    }
    let mut response = match run_handler(
        state,
        core,
        module,
        path,
        route,
        identity.map(|a| a.identity),
        remote,
        request,
    )
    .await
    {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    if let Some(d) = decision {
        d.write_headers(response.headers_mut());
    }
    response
}

#[allow(clippy::too_many_arguments)]
async fn run_handler(
    state: &Arc<AppState>,
    core: Arc<Core>,
    module: String,
    path: String,
    route: MatchedRoute,
    identity: Option<cosmictron_types::Identity>,
    remote_addr: Option<String>,
    request: Request,
) -> Result<Response, Error> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| {
            Error::request(
                413,
                "payload_too_large",
                format!(
                    "the request body is larger than {} bytes",
                    state.config.max_body_bytes
                ),
            )
        })?;
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let request = RouteRequest {
        method: parts.method.as_str().to_owned(),
        path,
        // Filled from the match by the host.
        params: Vec::new(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        body: body.to_vec(),
        identity,
        remote_addr,
    };
    Counters::bump(&state.counters.route_calls);
    let out = if route.spec.read_only {
        // Reads run side by side on snapshots (the module caps them at one per CPU).
        blocking(move || core.db.call_matched(&module, &route, request))
            .await
            .map(|r| r.response)
    } else {
        // A writing handler queues for the module's call thread like a reducer call, and its
        // commit's fsync is awaited here.
        let queue = module.clone();
        match state
            .calls
            .run(&queue, move || {
                core.db.call_matched_pending(&module, &route, request)
            })
            .await
        {
            Ok(pending) => pending
                .durable()
                .await
                .map(|o| o.response)
                .map_err(Error::from),
            Err(e) => Err(e),
        }
    };
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            Counters::bump(&state.counters.route_errors);
            return Err(e);
        }
    };
    let status = StatusCode::from_u16(out.status)
        .map_err(|e| Error::request(500, "abi_violation", format!("handler status: {e}")))?;
    let mut response = Response::new(Body::from(out.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in out.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    Ok(response)
}

/// The value a route's rate limit counts by; the client's IP stands in when the declared key
/// is missing from the request.
fn limit_key(
    limit: &RateLimitSpec,
    headers: &HeaderMap,
    identity: Option<cosmictron_types::Identity>,
    remote: &Option<String>,
) -> String {
    let ip = || format!("ip:{}", remote.as_deref().unwrap_or("unknown"));
    match limit.key.as_str() {
        "identity" => identity.map_or_else(ip, |i| format!("id:{}", i.to_hex())),
        key => match key.strip_prefix("header:") {
            Some(name) => headers
                .get(name)
                .map(|v| format!("h:{}", String::from_utf8_lossy(v.as_bytes())))
                .unwrap_or_else(ip),
            None => ip(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(key: &str) -> RateLimitSpec {
        RateLimitSpec {
            requests: 1,
            window_secs: 1,
            key: key.into(),
        }
    }

    #[test]
    fn limits_count_by_ip_identity_or_header_with_the_ip_as_fallback() {
        // Proves each key kind picks its value, and a missing identity or header falls back
        // to the client's IP rather than to one shared bucket.
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("k1"));
        let ip = Some("10.0.0.1".to_owned());
        let me = cosmictron_types::Identity([7; 32]);
        assert_eq!(
            limit_key(&spec("ip"), &headers, Some(me), &ip),
            "ip:10.0.0.1"
        );
        assert_eq!(
            limit_key(&spec("identity"), &headers, Some(me), &ip),
            format!("id:{}", me.to_hex())
        );
        assert_eq!(
            limit_key(&spec("identity"), &headers, None, &ip),
            "ip:10.0.0.1"
        );
        assert_eq!(
            limit_key(&spec("header:x-api-key"), &headers, None, &ip),
            "h:k1"
        );
        assert_eq!(
            limit_key(&spec("header:x-other"), &headers, None, &ip),
            "ip:10.0.0.1"
        );
    }
}
