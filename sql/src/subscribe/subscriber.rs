//! [`Subscriber`]: one client connection's subscriptions and event queue.

use std::sync::Arc;
use std::time::Duration;

use cosmictron_engine::TxId;
use cosmictron_types::Value;

use super::manager::Subscriptions;
use super::queue::Queue;
use super::registry::SubscriberId;
use super::types::{Subscribed, SubscriberEvent};
use crate::config::Caller;
use crate::error::Result;

/// One client connection. Every subscription it makes sees the data as its [`Caller`] may
/// (read policies with `$identity`). Dropping it disconnects: every subscription and all
/// state they held are freed.
#[derive(Debug)]
pub struct Subscriber {
    manager: Arc<Subscriptions>,
    id: SubscriberId,
    queue: Arc<Queue>,
    caller: Caller,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.manager.shared().disconnect(self.id);
    }
}

impl Subscriber {
    pub(crate) fn new(
        manager: Arc<Subscriptions>,
        id: SubscriberId,
        queue: Arc<Queue>,
        caller: Caller,
    ) -> Subscriber {
        Subscriber {
            manager,
            id,
            queue,
            caller,
        }
    }

    /// Subscribes to `query` under the client's chosen `id`. Returns the result as of
    /// [`Subscribed::tx_id`]; every later tx that changes it arrives in the queue.
    /// `from_tx`: resume from that tx (the client holds the result as of it) — the updates
    /// since come back in [`Subscribed::missed`] instead of the full result.
    pub fn subscribe(
        &self,
        id: u64,
        query: &str,
        params: &[Value],
        from_tx: Option<TxId>,
    ) -> Result<Subscribed> {
        self.manager
            .shared()
            .subscribe(self.id, &self.caller, (id, query, params), from_tx)
    }

    /// Ends one subscription; `false` when there was none with this id.
    pub fn unsubscribe(&self, id: u64) -> bool {
        self.manager.shared().unsubscribe(self.id, id)
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<SubscriberEvent> {
        self.queue.try_pop()
    }

    /// The next event, waiting up to `wait` for one.
    pub fn recv_timeout(&self, wait: Duration) -> Option<SubscriberEvent> {
        self.queue.pop_timeout(wait)
    }

    /// Events waiting in the queue.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }
}
