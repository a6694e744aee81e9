//! `cosmios relay`: delivers webhooks. It signs in as the module's owner (who reads every
//! user's deliveries and the private `webhook_secrets`), subscribes to the pending
//! deliveries, and for each one not already in hand:
//!
//! ```text
//! pending row ─► secret (SQL, webhook_secrets) ─► POST, signed, retried (deliver.rs)
//!             ─► report_delivery(delivered | failed, attempts, status_code, error)
//!             ─► the row leaves the pending set (the dashboard shows its status)
//! ```
//!
//! Deliveries are at least once: a relay that stops between a POST and its report sends
//! that delivery again when it starts.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use cosmictron_client::ClientError;
use serde_json::{Value as Json, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::{Api, MODULE};
use crate::backoff::Backoff;
use crate::deliver::{DeliverySettings, deliver};
use crate::error::{Error, Result};
use crate::runner::Shutdown;

const PENDING_QUERY: &str = "SELECT id, webhook_id, event, url, payload \
                             FROM webhook_deliveries WHERE status = 'pending'";

/// Settings of `cosmios relay`.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    pub server: String,
    /// A token of the module's owner.
    pub token: String,
    /// Per POST.
    pub timeout: Duration,
    /// POSTs per delivery, the first included.
    pub attempts: u32,
    /// Before the second attempt; doubles up to `backoff_max`.
    pub backoff: Duration,
    pub backoff_max: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    pub reconnect_max: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    id: u64,
    webhook_id: u64,
    event: String,
    url: String,
    payload: String,
}

#[derive(Debug)]
struct Relay {
    api: Arc<Api>,
    http: reqwest::Client,
    settings: Arc<DeliverySettings>,
    slots: Arc<Semaphore>,
    /// Deliveries being made.
    in_flight: HashSet<u64>,
    /// Deliveries reported; an update older than the report may still list them.
    settled: HashSet<u64>,
    tasks: JoinSet<u64>,
}

/// Delivers until `shutdown` resolves or the token is refused.
pub async fn run_relay(options: RelayOptions, mut shutdown: Shutdown<'_>) -> Result<()> {
    let api = Arc::new(Api::new(&options.server, options.reconnect_max)?);
    api.set_token(&options.token);
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| Error::Config(format!("an HTTP client: {e}")))?;
    let mut relay = Relay {
        api,
        http,
        settings: Arc::new(DeliverySettings {
            timeout: options.timeout,
            attempts: options.attempts,
            backoff: options.backoff,
            backoff_max: options.backoff_max,
        }),
        slots: Arc::new(Semaphore::new(options.concurrency.max(1))),
        in_flight: HashSet::new(),
        settled: HashSet::new(),
        tasks: JoinSet::new(),
    };
    let mut backoff = Backoff::new(Duration::from_millis(200), options.reconnect_max);
    loop {
        match relay.session(&mut backoff, shutdown.as_mut()).await {
            Ok(()) => break,
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!("disconnected: {e}; reconnecting in {delay:?}");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = shutdown.as_mut() => break,
                }
            }
        }
    }
    // Deliveries cut short are still pending: the next relay makes them.
    relay.tasks.abort_all();
    Ok(())
}

impl Relay {
    async fn session(&mut self, backoff: &mut Backoff, mut shutdown: Shutdown<'_>) -> Result<()> {
        check_owner(&self.api).await?;
        let mut live = self.api.subscribe(PENDING_QUERY).await.map_err(refused)?;
        backoff.reset();
        tracing::info!("relay subscribed to pending deliveries");
        self.reconcile(live.rows());
        loop {
            tokio::select! {
                () = shutdown.as_mut() => {
                    let _ = live.close().await;
                    return Ok(());
                }
                update = live.next() => {
                    update?;
                    self.reconcile(live.rows());
                }
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Ok(id) = done {
                        self.in_flight.remove(&id);
                        self.settled.insert(id);
                    }
                }
            }
        }
    }

    fn reconcile(&mut self, rows: &[Vec<Json>]) {
        let mut present = HashSet::new();
        for row in rows {
            let Some(p) = parse_pending(row) else {
                tracing::warn!("ignoring a malformed delivery row: {row:?}");
                continue;
            };
            present.insert(p.id);
            if !self.in_flight.contains(&p.id) && !self.settled.contains(&p.id) {
                self.start(p);
            }
        }
        self.settled.retain(|id| present.contains(id));
    }

    fn start(&mut self, p: Pending) {
        self.in_flight.insert(p.id);
        let (api, http, settings, slots) = (
            self.api.clone(),
            self.http.clone(),
            self.settings.clone(),
            self.slots.clone(),
        );
        self.tasks.spawn(async move {
            // The semaphore is never closed, so acquiring only waits.
            let _slot = slots.acquire_owned().await;
            let id = p.id;
            if let Err(e) = handle(&api, &http, &settings, p).await {
                tracing::warn!("delivery {id}: {e}");
            }
            id
        });
    }
}

/// A refused token is fatal: waiting will not make the server accept it.
fn refused(e: ClientError) -> Error {
    match e.status() {
        Some(401 | 403) => Error::Unauthorized(format!(
            "{e} (the relay needs a token of the module's owner)"
        )),
        _ => e.into(),
    }
}

/// Fails unless the token is the module owner's (or an admin's): anyone else's
/// subscription would see only their own deliveries, and no secrets to sign them with.
async fn check_owner(api: &Api) -> Result<()> {
    let client = api.client();
    let me = client.me().await.map_err(refused)?;
    let module = client.module(MODULE).await.map_err(refused)?;
    if me["admin"] == true || (me["identity"].is_string() && me["identity"] == module["owner"]) {
        return Ok(());
    }
    Err(Error::Unauthorized(format!(
        "the token is not the owner's of the `{MODULE}` module (owner {}, token {})",
        module["owner"], me["identity"]
    )))
}

/// Makes one delivery and reports it.
async fn handle(
    api: &Api,
    http: &reqwest::Client,
    settings: &DeliverySettings,
    p: Pending,
) -> std::result::Result<(), ClientError> {
    let rows = api
        .sql(
            "SELECT secret FROM webhook_secrets WHERE webhook_id = $1",
            &[json!(p.webhook_id)],
        )
        .await?;
    let Some(secret) = rows
        .rows
        .first()
        .and_then(|r| r.first()?.as_str().map(str::to_owned))
    else {
        return Err(ClientError::Protocol(format!(
            "no secret for webhook {} (is this the module owner's token?)",
            p.webhook_id
        )));
    };
    let outcome = deliver(http, settings, p.id, &p.event, &p.url, &p.payload, &secret).await;
    tracing::info!(
        "delivery {} to {}: {} after {} attempt(s)",
        p.id,
        p.url,
        if outcome.delivered {
            "delivered"
        } else {
            "failed"
        },
        outcome.attempts
    );
    let args = json!({
        "delivery": p.id,
        "secret": secret,
        "delivered": outcome.delivered,
        "attempts": outcome.attempts,
        "status_code": outcome.status_code,
        "error": outcome.error,
    });
    api.call_retrying("report_delivery", &args)
        .await
        .map(|_| ())
}

fn parse_pending(row: &[Json]) -> Option<Pending> {
    let int = |i: usize| match row.get(i)? {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    };
    let text = |i: usize| row.get(i)?.as_str().map(str::to_owned);
    Some(Pending {
        id: int(0)?,
        webhook_id: int(1)?,
        event: text(2)?,
        url: text(3)?,
        payload: text(4)?,
    })
}
