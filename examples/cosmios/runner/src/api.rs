//! [`Api`]: reducer calls and queries against the `cosmios` module, shared by the session
//! loop and every run's task. The token can change under them (a session that signs in
//! again), so each attempt takes the current one.

use std::sync::RwLock;
use std::time::Duration;

use cosmictron_client::{Client, ClientError, LiveQuery, QueryRows};
use serde_json::Value as Json;

use crate::backoff::Backoff;
use crate::error::is_retryable;

/// The module every call goes to.
pub(crate) const MODULE: &str = "cosmios";

/// A client of one server whose token may be replaced while calls are in flight.
#[derive(Debug)]
pub(crate) struct Api {
    /// Cloned per call (a clone shares the connection pool), so no lock is held across an
    /// await.
    client: RwLock<Client>,
    /// The first and the longest wait between retries of a call.
    retry_min: Duration,
    retry_max: Duration,
}

impl Api {
    pub(crate) fn new(server: &str, retry_max: Duration) -> Result<Api, ClientError> {
        Ok(Api {
            client: RwLock::new(Client::new(server)?),
            retry_min: Duration::from_millis(100).min(retry_max),
            retry_max,
        })
    }

    pub(crate) fn client(&self) -> Client {
        self.client
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// False before signing in and after `forget_token`.
    pub(crate) fn has_token(&self) -> bool {
        self.client().token().is_some_and(|t| !t.is_empty())
    }

    /// Drops a token the server refused, so that the next session signs in afresh.
    pub(crate) fn forget_token(&self) {
        self.set_token("");
    }

    pub(crate) fn set_token(&self, token: &str) {
        self.client
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .set_token(token);
    }

    /// A fresh anonymous identity for this client (the runner needs no account).
    pub(crate) async fn sign_in_anonymously(&self) -> Result<(), ClientError> {
        let mut client = self.client();
        let session = client.sign_in_anonymously().await?;
        self.set_token(&session.token);
        Ok(())
    }

    /// One call; its return value.
    pub(crate) async fn call(&self, reducer: &str, args: &Json) -> Result<Json, ClientError> {
        Ok(self.client().call_in(MODULE, reducer, args).await?.result)
    }

    /// A call retried with backoff while the failure is retryable (the server is away or
    /// busy); any other error is returned. Used for reports that must not be lost.
    pub(crate) async fn call_retrying(
        &self,
        reducer: &str,
        args: &Json,
    ) -> Result<Json, ClientError> {
        let mut backoff = Backoff::new(self.retry_min, self.retry_max);
        loop {
            match self.call(reducer, args).await {
                Err(e) if is_retryable(&e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!("{reducer}: {e}; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    pub(crate) async fn sql(&self, query: &str, params: &[Json]) -> Result<QueryRows, ClientError> {
        self.client().sql_in(MODULE, query, params).await
    }

    /// A live query that does not reconnect on its own: the caller's session loop does, so
    /// that it can authenticate again first.
    pub(crate) async fn subscribe(&self, query: &str) -> Result<LiveQuery, ClientError> {
        let mut live = self.client().subscribe_in(MODULE, query, &[]).await?;
        live.set_reconnect_attempts(0);
        Ok(live)
    }
}
