//! [`SubscriptionConfig`]: every bound the subscription manager keeps, with safe defaults.

/// Limits of one [`Subscriptions`](super::Subscriptions) manager.
#[derive(Clone, Debug)]
pub struct SubscriptionConfig {
    /// Events waiting in one subscriber's queue before it is declared lagging (its
    /// subscriptions are dropped and it is told with [`SubscriberEvent::Lagging`](super::SubscriberEvent)).
    pub queue_capacity: usize,
    /// Subscriptions one subscriber may hold at once.
    pub subscriptions_per_subscriber_max: usize,
    /// Committed transactions waiting for the manager's worker. Past this, every subscriber is
    /// told it is lagging and the backlog is dropped, rather than memory growing.
    pub pending_txs_max: usize,
    /// Recent change sets kept to bring a new subscription up to date and to resume from an
    /// earlier tx. Resuming from further back is refused with `history_unavailable`.
    pub resume_txs_max: usize,
    /// Rows one maintained query may keep as state (its own join indexes, aggregate groups,
    /// the rows below a live LIMIT), and joined rows one transaction may produce for it.
    pub state_rows_max: usize,
    /// Times `subscribe` starts over when commits outrun it past the recent change sets kept.
    pub subscribe_attempts_max: usize,
    /// Called by `subscribe` after it has computed the initial result on its snapshot and
    /// before it installs the subscription: tests commit there to make the race between the
    /// two certain rather than likely. `None` outside tests.
    #[doc(hidden)]
    pub before_install: Option<BeforeInstall>,
}

/// A hook run between a subscription's snapshot and its install (see
/// [`SubscriptionConfig::before_install`]).
#[doc(hidden)]
#[derive(Clone)]
pub struct BeforeInstall(pub std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for BeforeInstall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforeInstall")
    }
}

impl Default for SubscriptionConfig {
    fn default() -> Self {
        SubscriptionConfig {
            queue_capacity: 1024,
            subscriptions_per_subscriber_max: 1024,
            pending_txs_max: 65_536,
            resume_txs_max: 1024,
            state_rows_max: 1_000_000,
            subscribe_attempts_max: 3,
            before_install: None,
        }
    }
}
