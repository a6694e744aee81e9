//! One subscriber's bounded event queue, readable both blocking and non-blocking.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::types::SubscriberEvent;

pub(crate) type Notify = Arc<dyn Fn() + Send + Sync>;

pub(crate) struct Queue {
    events: Mutex<VecDeque<SubscriberEvent>>,
    ready: Condvar,
    notify: Notify,
    capacity: usize,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.events.lock().len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// What a push did; `Full` leaves the queue unchanged.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued; `true` when the queue was empty before (the subscriber must be notified).
    Queued(bool),
    Full,
}

impl Queue {
    pub(crate) fn new(capacity: usize, notify: Notify) -> Queue {
        Queue {
            events: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            notify,
            capacity: capacity.max(1),
        }
    }

    /// Queues an event unless the queue is full; `force` queues past the capacity (for the
    /// one notice that tells a subscriber it lagged).
    pub(crate) fn push(&self, event: SubscriberEvent, force: bool) -> Pushed {
        let mut events = self.events.lock();
        if events.len() >= self.capacity && !force {
            return Pushed::Full;
        }
        let was_empty = events.is_empty();
        events.push_back(event);
        drop(events);
        self.ready.notify_one();
        Pushed::Queued(was_empty)
    }

    /// Tells the subscriber its queue became non-empty (called outside every lock).
    pub(crate) fn notify(&self) {
        (self.notify)();
    }

    pub(crate) fn try_pop(&self) -> Option<SubscriberEvent> {
        self.events.lock().pop_front()
    }

    pub(crate) fn pop_timeout(&self, wait: Duration) -> Option<SubscriberEvent> {
        let deadline = Instant::now() + wait;
        let mut events = self.events.lock();
        loop {
            if let Some(e) = events.pop_front() {
                return Some(e);
            }
            if self.ready.wait_until(&mut events, deadline).timed_out() {
                return events.pop_front();
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.events.lock().len()
    }
}
