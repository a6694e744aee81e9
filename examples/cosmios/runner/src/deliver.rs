//! One webhook delivery: the payload POSTed as JSON, signed with HMAC-SHA256 under the
//! webhook's secret (`X-Cosmios-Signature`, lowercase hex), with a time-out per attempt and
//! retries with backoff. A 2xx answer is delivered; anything else is retried until the
//! attempts run out.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::backoff::Backoff;

/// How deliveries are attempted.
#[derive(Debug, Clone)]
pub(crate) struct DeliverySettings {
    pub(crate) timeout: Duration,
    /// Attempts in all, the first included.
    pub(crate) attempts: u32,
    /// The wait before the second attempt; it doubles up to `backoff_max`.
    pub(crate) backoff: Duration,
    pub(crate) backoff_max: Duration,
}

/// How a delivery ended, as `report_delivery` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) delivered: bool,
    pub(crate) attempts: u32,
    /// The last HTTP status received, if any attempt got an answer.
    pub(crate) status_code: Option<u16>,
    /// Why the last attempt failed.
    pub(crate) error: Option<String>,
}

/// Lowercase hex HMAC-SHA256 of `body` under `secret`: what receivers recompute.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// POSTs `payload` to `url` until a 2xx answer or `settings.attempts` attempts.
pub(crate) async fn deliver(
    http: &reqwest::Client,
    settings: &DeliverySettings,
    delivery_id: u64,
    event: &str,
    url: &str,
    payload: &str,
    secret: &str,
) -> Outcome {
    let signature = signature(secret, payload.as_bytes());
    let mut backoff = Backoff::new(settings.backoff, settings.backoff_max);
    let mut outcome = Outcome {
        delivered: false,
        attempts: 0,
        status_code: None,
        error: None,
    };
    while outcome.attempts < settings.attempts.max(1) {
        if outcome.attempts > 0 {
            tokio::time::sleep(backoff.next_delay()).await;
        }
        outcome.attempts += 1;
        let sent = http
            .post(url)
            .timeout(settings.timeout)
            .header("content-type", "application/json")
            .header("x-cosmios-signature", &signature)
            .header("x-cosmios-event", event)
            .header("x-cosmios-delivery", delivery_id.to_string())
            .body(payload.to_owned())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                outcome.delivered = true;
                outcome.status_code = Some(r.status().as_u16());
                outcome.error = None;
                return outcome;
            }
            Ok(r) => {
                outcome.status_code = Some(r.status().as_u16());
                outcome.error = Some(format!("the receiver answered {}", r.status()));
            }
            Err(e) => {
                outcome.error = Some(if e.is_timeout() {
                    format!("no answer within {:?}", settings.timeout)
                } else {
                    format!("cannot reach {url}: {e}")
                });
            }
        }
        tracing::debug!(
            "delivery {delivery_id}, attempt {}: {:?}",
            outcome.attempts,
            outcome.error
        );
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_documented_receiver_check() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
