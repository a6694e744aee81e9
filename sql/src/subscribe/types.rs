//! What subscribers receive: the initial result, per-transaction updates, and notices.

use cosmictron_engine::TxId;
use cosmictron_types::Value;

use crate::result::ResultColumn;

/// The answer to a successful `subscribe`.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscribed {
    /// The result is as of this tx; every later change arrives as a [`TxUpdate`] with a larger
    /// tx id.
    pub tx_id: TxId,
    pub columns: Vec<ResultColumn>,
    /// The rows as of `tx_id` (empty when `resumed`).
    pub rows: Vec<Vec<Value>>,
    /// True when the subscription resumed from an earlier tx: `missed` holds what changed
    /// after it, up to `tx_id`, instead of a full result.
    pub resumed: bool,
    /// When resumed: the updates of this subscription between the resume point and `tx_id`,
    /// one per tx that changed its result, in order.
    pub missed: Vec<TxUpdate>,
}

/// Everything one committed transaction changed in one subscriber's results.
#[derive(Clone, Debug, PartialEq)]
pub struct TxUpdate {
    pub tx_id: TxId,
    pub updates: Vec<SubscriptionUpdate>,
}

/// The rows that entered and left one subscription's result.
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriptionUpdate {
    pub id: u64,
    pub inserts: Vec<Vec<Value>>,
    pub deletes: Vec<Vec<Value>>,
}

/// An event in a subscriber's queue.
#[derive(Clone, Debug, PartialEq)]
pub enum SubscriberEvent {
    /// One per committed tx that changed any of this subscriber's results, in tx order.
    Update(TxUpdate),
    /// Code `subscriber_lagging`: the queue overflowed. Every subscription of this subscriber
    /// was dropped; updates up to and including `dropped_after_tx` were delivered before this
    /// event. Subscribe again, or resume from `dropped_after_tx`.
    Lagging { dropped_after_tx: TxId },
    /// One subscription ended on its own: its tables' schema changed (`schema_changed`), its
    /// state outgrew a limit (`limit_exceeded`), or evaluating a changed row failed. Updates
    /// up to `after_tx` were delivered.
    Ended {
        id: u64,
        after_tx: TxId,
        code: &'static str,
        message: String,
    },
}

impl SubscriberEvent {
    /// The machine-readable code of a notice (`None` for an update).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            SubscriberEvent::Update(_) => None,
            SubscriberEvent::Lagging { .. } => Some("subscriber_lagging"),
            SubscriberEvent::Ended { code, .. } => Some(code),
        }
    }
}

/// Counters for diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionStats {
    pub subscribers: usize,
    pub subscriptions: usize,
    /// Queries maintained (identical subscriptions share one).
    pub distinct_queries: usize,
    /// The last tx the manager has processed.
    pub processed_tx: TxId,
    /// Committed txs waiting for the manager.
    pub pending_txs: usize,
    /// Subscribers dropped for lagging since the manager started.
    pub lagging_drops: u64,
    /// Subscribes that brought their initial result forward over txs committed meanwhile.
    pub subscribe_catch_ups: u64,
    /// Committed txs the worker has applied since the manager started.
    pub processed_txs: u64,
    /// Time the worker spent applying them and queueing the updates.
    pub worker_busy_micros: u64,
    /// Rows kept as state by all maintained queries.
    pub state_rows: usize,
}
