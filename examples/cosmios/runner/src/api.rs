//! [`Api`]: reducer calls and queries against the `cosmios` module, shared by the session
//! loop and every run's task. The token can change under them (a session that signs in
//! again), so each attempt takes the current one.

use std::sync::RwLock;
use std::time::Duration;

use cosmictron_client::{Client, ClientError, LiveQuery, QueryRows};
use serde_json::Value as Json;

use crate::backoff::Backoff;
use crate::error::is_retryable;
use crate::journal::Journal;

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
    /// Where the runner's reports wait for the server (the relay has none).
    journal: Option<Journal>,
}

impl Api {
    pub(crate) fn new(server: &str, retry_max: Duration) -> Result<Api, ClientError> {
        Ok(Api {
            client: RwLock::new(Client::new(server)?),
            retry_min: Duration::from_millis(100).min(retry_max),
            retry_max,
            journal: None,
        })
    }

    /// Journals the reports made with `report` from now on.
    pub(crate) fn with_journal(mut self, journal: Journal) -> Api {
        self.journal = Some(journal);
        self
    }

    pub(crate) fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
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

    /// A report that must reach the server: journaled on disk until answered (so a runner
    /// restarted meanwhile sends it again), and retried while the server is away.
    pub(crate) async fn report(&self, reducer: &str, args: &Json) -> Result<Json, ClientError> {
        let seq = self.record(reducer, args);
        self.send_recorded(seq, reducer, args).await
    }

    /// The first half of `report`: the journal entry, for a report that must wait for
    /// earlier ones to be sent but must be on disk now.
    pub(crate) fn record(&self, reducer: &str, args: &Json) -> Option<u64> {
        self.journal.as_ref().map(|j| j.record(reducer, args))
    }

    /// The second half of `report`: sends a recorded report and marks it done.
    pub(crate) async fn send_recorded(
        &self,
        seq: Option<u64>,
        reducer: &str,
        args: &Json,
    ) -> Result<Json, ClientError> {
        let out = self.call_retrying(reducer, args).await;
        if let (Some(journal), Some(seq)) = (&self.journal, seq) {
            journal.done(seq);
        }
        out
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
