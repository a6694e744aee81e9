//! One subscriber's bounded event queue, readable both blocking and non-blocking.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use cosmictron_engine::TxId;

use super::rows::Row;
use super::types::{SubscriberEvent, SubscriptionUpdate, TxUpdate};

pub(crate) type Notify = Arc<dyn Fn() + Send + Sync>;

/// One query's change in one tx, shared by every subscription to the query: fan-out queues
/// a reference, and the subscriber copies the rows out when it reads the event.
#[derive(Debug)]
pub(crate) struct Delta {
    pub(crate) inserts: Vec<Row>,
    pub(crate) deletes: Vec<Row>,
}

/// An event as queued.
#[derive(Debug)]
pub(crate) enum Queued {
    /// One subscription changed (the common case: no allocation per subscriber).
    One {
        tx_id: TxId,
        part: (u64, Arc<Delta>),
    },
    Update {
        tx_id: TxId,
        parts: Vec<(u64, Arc<Delta>)>,
    },
    Notice(SubscriberEvent),
}

impl Queued {
    fn into_event(self) -> SubscriberEvent {
        fn update((id, d): (u64, Arc<Delta>)) -> SubscriptionUpdate {
            match Arc::try_unwrap(d) {
                Ok(d) => SubscriptionUpdate {
                    id,
                    inserts: d.inserts,
                    deletes: d.deletes,
                },
                Err(d) => SubscriptionUpdate {
                    id,
                    inserts: d.inserts.clone(),
                    deletes: d.deletes.clone(),
                },
            }
        }
        match self {
            Queued::Notice(e) => e,
            Queued::One { tx_id, part } => SubscriberEvent::Update(TxUpdate {
                tx_id,
                updates: vec![update(part)],
            }),
            Queued::Update { tx_id, parts } => SubscriberEvent::Update(TxUpdate {
                tx_id,
                updates: parts.into_iter().map(update).collect(),
            }),
        }
    }
}

pub(crate) struct Queue {
    events: Mutex<VecDeque<Queued>>,
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
    pub(crate) fn push(&self, event: Queued, force: bool) -> Pushed {
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

    /// Queues an update and notifies the subscriber if its queue was empty; false when the
    /// queue is full (nothing queued: the subscriber lags).
    pub(crate) fn deliver(&self, event: Queued) -> bool {
        match self.push(event, false) {
            Pushed::Queued(true) => {
                self.notify();
                true
            }
            Pushed::Queued(false) => true,
            Pushed::Full => false,
        }
    }

    /// Asks the CPU to start loading this queue's fields into the cache.
    #[inline]
    pub(crate) fn prefetch(&self) {
        let start = (self as *const Queue).cast::<u8>();
        for offset in (0..std::mem::size_of::<Queue>()).step_by(64) {
            prefetch_line(start.wrapping_add(offset));
        }
    }

    /// Asks the CPU to start loading what the `notify` callback captured.
    #[inline]
    pub(crate) fn prefetch_notify(&self) {
        prefetch_line(Arc::as_ptr(&self.notify).cast::<u8>());
    }

    /// Tells the subscriber its queue became non-empty (called outside every lock).
    pub(crate) fn notify(&self) {
        (self.notify)();
    }

    pub(crate) fn try_pop(&self) -> Option<SubscriberEvent> {
        let next = self.events.lock().pop_front();
        next.map(Queued::into_event)
    }

    pub(crate) fn pop_timeout(&self, wait: Duration) -> Option<SubscriberEvent> {
        let deadline = Instant::now() + wait;
        let mut events = self.events.lock();
        loop {
            if let Some(e) = events.pop_front() {
                return Some(e.into_event());
            }
            if self.ready.wait_until(&mut events, deadline).timed_out() {
                return events.pop_front().map(Queued::into_event);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.events.lock().len()
    }
}

/// Asks the CPU to start loading the cache line at `at` (nothing on other architectures).
#[inline]
fn prefetch_line(at: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is a hint that never faults and reads nothing into the program;
        // SSE, the feature it needs, is part of every x86_64 CPU.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}
