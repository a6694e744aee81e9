//! Token-bucket rate limits, per client IP (a middleware on every API route) and per
//! identity (checked when a token is verified). Every answer carries `X-RateLimit-Limit`,
//! `-Remaining` and `-Reset`; a refusal is 429 `rate_limited` with `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cosmictron_types::Identity;
use parking_lot::Mutex;

use crate::app::{AppState, Counters};
use crate::config::RateLimit;
use crate::error::Error;

/// Buckets kept before idle (full) ones are swept.
const SWEEP_AT: usize = 50_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LimitKey {
    Ip(IpAddr),
    Identity(Identity),
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The outcome of one check, enough to fill the headers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Decision {
    pub(crate) allowed: bool,
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Seconds until the bucket is full again.
    pub(crate) reset_secs: u64,
    /// Seconds until one request would be allowed (0 when allowed).
    pub(crate) retry_after_secs: u64,
}

impl Decision {
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_secs));
    }

    pub(crate) fn refusal(&self) -> Response {
        let mut response = Error::RateLimited {
            retry_after_secs: self.retry_after_secs,
        }
        .into_response();
        self.write_headers(response.headers_mut());
        response
    }
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<LimitKey, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn per_sec(&self) -> f64 {
        f64::from(self.limit.per_minute) / 60.0
    }

    /// Takes one token for `key` if there is one.
    pub(crate) fn check(&self, key: LimitKey) -> Decision {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: LimitKey, now: Instant) -> Decision {
        let capacity = f64::from(self.limit.burst);
        let rate = self.per_sec();
        let mut buckets = self.buckets.lock();
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate < capacity
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.last = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let missing_to_one = (1.0 - bucket.tokens).max(0.0);
        Decision {
            allowed,
            limit: self.limit.per_minute,
            remaining: bucket.tokens.floor() as u32,
            reset_secs: ((capacity - bucket.tokens) / rate).ceil() as u64,
            retry_after_secs: if allowed {
                0
            } else {
                (missing_to_one / rate).ceil() as u64
            },
        }
    }
}

/// Counts `request` against its client IP's bucket: `Err` is a refusal (answer with
/// [`Decision::refusal`]), `Ok(None)` when the IP is unknown.
pub(crate) fn check_ip(state: &AppState, request: &Request) -> Result<Option<Decision>, Decision> {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(ip) = ip else {
        return Ok(None);
    };
    let decision = state.ip_limiter.check(LimitKey::Ip(ip));
    if !decision.allowed {
        Counters::bump(&state.counters.rate_limited);
        return Err(decision);
    }
    Ok(Some(decision))
}

/// Puts the IP bucket's headers on a response that has no rate-limit headers of its own.
pub(crate) fn with_ip_headers(decision: Option<Decision>, mut response: Response) -> Response {
    if let Some(d) = decision
        && !response.headers().contains_key("x-ratelimit-limit")
    {
        d.write_headers(response.headers_mut());
    }
    response
}

/// The per-IP limit, as middleware; the headers go on every response.
pub(crate) async fn limit_by_ip(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match check_ip(&state, &request) {
        Ok(decision) => with_ip_headers(decision, next.run(request).await),
        Err(refused) => refused.refusal(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_allow_a_burst_then_refill_at_the_rate() {
        let l = RateLimiter::new(RateLimit {
            per_minute: 60,
            burst: 3,
        });
        let key = LimitKey::Ip(IpAddr::from([127, 0, 0, 1]));
        let t0 = Instant::now();
        for expected_remaining in [2, 1, 0] {
            let d = l.check_at(key, t0);
            assert!(d.allowed);
            assert_eq!(d.remaining, expected_remaining);
        }
        let refused = l.check_at(key, t0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert_eq!(refused.reset_secs, 3);
        // One token a second comes back.
        assert!(l.check_at(key, t0 + Duration::from_millis(1001)).allowed);
        assert!(!l.check_at(key, t0 + Duration::from_millis(1002)).allowed);
        // Other keys have their own bucket.
        assert!(
            l.check_at(LimitKey::Identity(Identity([1; 32])), t0)
                .allowed
        );
    }
}
