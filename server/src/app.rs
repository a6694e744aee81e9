//! The server's shared state: configuration, and the "core" (databases, modules, accounts,
//! token keys) that becomes available once recovery finishes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use cosmictron_sql::{SqlConfig, SqlEngine};
use cosmictron_types::ConnectionId;

use crate::auth::Auth;
use crate::call_queue::CallQueues;
use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::facade::Cosmictron;
use crate::http::rate_limit::RateLimiter;
use crate::http::route_limit::RouteLimiter;
use crate::ws::SubscriptionHub;

/// What needs the data directory recovered.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) db: Cosmictron,
    pub(crate) auth: Auth,
    pub(crate) sql: Arc<SqlEngine>,
    pub(crate) subs: SubscriptionHub,
}

/// Request counters for `/metrics` and `/diagnostics`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) http_requests: AtomicU64,
    pub(crate) http_errors: AtomicU64,
    pub(crate) reducer_calls: AtomicU64,
    pub(crate) reducer_errors: AtomicU64,
    pub(crate) sql_queries: AtomicU64,
    pub(crate) ws_connections: AtomicU64,
    pub(crate) ws_connections_open: AtomicU64,
    pub(crate) ws_messages_in: AtomicU64,
    pub(crate) ws_messages_out: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) route_calls: AtomicU64,
    pub(crate) route_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: ServerConfig,
    core: OnceLock<Arc<Core>>,
    /// Why recovery failed, if it did (`/ready` reports it).
    pub(crate) failure: OnceLock<String>,
    /// Why the server stopped itself at start (`run` returns it as an error).
    pub(crate) start_refused: OnceLock<String>,
    pub(crate) started: Instant,
    pub(crate) counters: Counters,
    pub(crate) ip_limiter: RateLimiter,
    pub(crate) identity_limiter: RateLimiter,
    /// The rate limits modules declare on their HTTP routes.
    pub(crate) route_limiter: RouteLimiter,
    pub(crate) shutdown: tokio::sync::watch::Sender<bool>,
    next_connection: AtomicU64,
    /// The threads that run each module's reducer calls.
    pub(crate) calls: CallQueues,
}

impl AppState {
    pub(crate) fn new(config: ServerConfig) -> AppState {
        let (shutdown, _) = tokio::sync::watch::channel(false);
        AppState {
            ip_limiter: RateLimiter::new(config.rate_limit_per_ip),
            identity_limiter: RateLimiter::new(config.rate_limit_per_identity),
            route_limiter: RouteLimiter::default(),
            config,
            core: OnceLock::new(),
            failure: OnceLock::new(),
            start_refused: OnceLock::new(),
            started: Instant::now(),
            counters: Counters::default(),
            calls: CallQueues::default(),
            shutdown,
            next_connection: AtomicU64::new(0),
        }
    }

    /// The recovered core, or 503 `not_ready` while recovery runs.
    pub(crate) fn core(&self) -> Result<&Arc<Core>> {
        self.core.get().ok_or_else(|| match self.failure.get() {
            Some(why) => Error::request(503, "not_ready", format!("recovery failed: {why}")),
            None => Error::request(
                503,
                "not_ready",
                "the server is still recovering; retry shortly",
            ),
        })
    }

    pub(crate) fn set_core(&self, core: Core) {
        let _ = self.core.set(Arc::new(core));
    }

    /// Whether modules' routes are served at the root too (`expose`).
    pub(crate) fn exposes_modules(&self) -> bool {
        !self.config.expose.is_empty()
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.core.get().is_some()
    }

    /// A fresh id for a client connection (never 0).
    pub(crate) fn next_connection_id(&self) -> ConnectionId {
        loop {
            let n = self
                .next_connection
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_add(1);
            if let Some(id) = ConnectionId::new(n) {
                return id;
            }
        }
    }

    pub(crate) fn sql_config(&self) -> SqlConfig {
        SqlConfig {
            rows_max: self.config.sql_max_rows,
            ..SqlConfig::default()
        }
    }
}
