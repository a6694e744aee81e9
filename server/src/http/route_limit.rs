//! Rate limits that modules declare on their routes: at most `requests` per `window_secs` per
//! key (fixed windows starting at a key's first request), checked before the handler runs.
//! `X-RateLimit-Reset` is the Unix time (seconds) the key's window ends, as the COSMIOS API
//! documents it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// Windows kept before expired ones are swept.
const SWEEP_AT: usize = 50_000;

/// The outcome of one check, enough to fill the headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WindowDecision {
    pub(crate) allowed: bool,
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Unix seconds when the window ends.
    pub(crate) reset_at: u64,
    /// Seconds until the window ends (for `Retry-After`), at least 1.
    pub(crate) retry_after_secs: u64,
}

impl WindowDecision {
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_at));
    }
}

#[derive(Clone, Copy, Debug)]
struct Window {
    /// Unix time in ms the window started.
    start_ms: u64,
    used: u32,
}

/// Counters per (module, limit, key): routes declaring the same limit share a window. The key is stored as a SHA-256, so a long header value
/// (an API key) costs 32 bytes and is not kept in memory as such.
#[derive(Debug, Default)]
pub(crate) struct RouteLimiter {
    windows: Mutex<HashMap<[u8; 32], Window>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

impl RouteLimiter {
    /// Counts one request of `key` against `requests` per `window`.
    pub(crate) fn check(
        &self,
        scope: (&str, &str),
        key: &str,
        requests: u32,
        window: Duration,
    ) -> WindowDecision {
        self.check_at(scope, key, requests, window, now_ms())
    }

    fn check_at(
        &self,
        (module, scope): (&str, &str),
        key: &str,
        requests: u32,
        window: Duration,
        now_ms: u64,
    ) -> WindowDecision {
        let digest: [u8; 32] = Sha256::new()
            .chain_update(module.as_bytes())
            .chain_update([0])
            .chain_update(scope.as_bytes())
            .chain_update([0])
            .chain_update(key.as_bytes())
            .finalize()
            .into();
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut windows = self.windows.lock();
        if windows.len() >= SWEEP_AT {
            // Windows of every length up to a day: anything older is over.
            windows.retain(|_, w| now_ms.saturating_sub(w.start_ms) < 86_400_000);
        }
        let w = windows.entry(digest).or_insert(Window {
            start_ms: now_ms,
            used: 0,
        });
        if now_ms.saturating_sub(w.start_ms) >= window_ms {
            *w = Window {
                start_ms: now_ms,
                used: 0,
            };
        }
        let allowed = w.used < requests;
        if allowed {
            w.used += 1;
        }
        let end_ms = w.start_ms.saturating_add(window_ms);
        WindowDecision {
            allowed,
            limit: requests,
            remaining: requests.saturating_sub(w.used),
            reset_at: end_ms.div_ceil(1000),
            retry_after_secs: end_ms.saturating_sub(now_ms).div_ceil(1000).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_its_requests_then_refuses_until_it_ends() {
        // Proves the count per key, the refusal past it with the time left, the fresh window
        // after it ends, and that keys and scopes have windows of their own.
        let l = RouteLimiter::default();
        let minute = Duration::from_secs(60);
        let t0 = 1_000_000_000_000;
        for remaining in (0..3).rev() {
            let d = l.check_at(("m", "h"), "k", 3, minute, t0);
            assert!(d.allowed);
            assert_eq!(d.remaining, remaining);
            assert_eq!(d.reset_at, (t0 + 60_000) / 1000);
        }
        let refused = l.check_at(("m", "h"), "k", 3, minute, t0 + 15_000);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 45);
        assert!(l.check_at(("m", "h"), "other", 3, minute, t0).allowed);
        assert!(l.check_at(("m", "h2"), "k", 3, minute, t0).allowed);
        let next = l.check_at(("m", "h"), "k", 3, minute, t0 + 60_000);
        assert!(next.allowed);
        assert_eq!(next.remaining, 2);
    }
}
