//! Queueing one query's change for every subscription to it, split across two threads when
//! there are thousands: the worker queues the first half while a long-lived helper thread
//! queues the second. The helper is started once, on the first large fan-out, and waits for
//! work in between (starting a thread per transaction cost tens of microseconds and, now and
//! then, a scheduling delay that made the slowest transactions' last subscribers wait).
//!
//! Neither thread takes a manager lock: a subscriber whose queue is full is reported back, and
//! the worker drops it as lagging after both halves are queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use cosmictron_engine::TxId;

use super::queue::{Delta, Queued};
use super::registry::{SubscriberId, Target};

/// How many targets ahead of the one being queued the fan-out asks the CPU to load what the
/// queue push will touch: with thousands of subscribers their queues are not in the cache, and
/// waiting for each miss in turn made up most of the fan-out's time. The queue is fetched
/// twice as far ahead as the notify callback's data, which is only found through the queue.
const PREFETCH_AHEAD: usize = 8;

/// How long the helper, woken as a transaction starts being applied, watches for its half
/// before it sleeps again: far more than applying a change set to a query usually takes, and
/// at most this much of a core per transaction (only in databases that had a fan-out large
/// enough to split).
const WATCH: Duration = Duration::from_micros(200);

/// Queues `delta` as tx `tx`'s update for each of `targets` that subscribed before it, and
/// notifies each subscriber whose queue was empty. Returns the subscribers whose queue was
/// full (they lag).
pub(super) fn queue_all(tx: TxId, targets: &[Target], delta: &Arc<Delta>) -> Vec<SubscriberId> {
    let mut full = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        if let Some(far) = targets.get(i + 2 * PREFETCH_AHEAD) {
            far.queue.prefetch();
        }
        if let Some(near) = targets.get(i + PREFETCH_AHEAD) {
            near.queue.prefetch_notify();
        }
        if tx <= t.from {
            continue;
        }
        let event = Queued::One {
            tx_id: tx,
            part: (t.id, delta.clone()),
        };
        if !t.queue.deliver(event) {
            full.push(t.sid);
        }
    }
    full
}

/// The second half of a fan-out, handed to the helper.
struct Job {
    tx: TxId,
    targets: Arc<[Target]>,
    from: usize,
    delta: Arc<Delta>,
}

enum Slot {
    Idle,
    /// A fan-out may follow shortly: wake up and watch for it.
    Soon,
    Job(Job),
    /// The helper queued its half; the subscribers whose queues were full.
    Done(Vec<SubscriberId>),
    Stop,
}

struct Handoff {
    slot: Mutex<Slot>,
    changed: Condvar,
    /// Set with a job, so that a watching helper sees it without the lock.
    posted: AtomicBool,
}

/// The long-lived helper thread; stopped and joined when dropped.
pub(super) struct FanOutHelper {
    handoff: Arc<Handoff>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FanOutHelper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanOutHelper").finish_non_exhaustive()
    }
}

impl FanOutHelper {
    /// Starts the helper thread (fails when the process can start no more threads).
    pub(super) fn start() -> std::io::Result<FanOutHelper> {
        let handoff = Arc::new(Handoff {
            slot: Mutex::new(Slot::Idle),
            changed: Condvar::new(),
            posted: AtomicBool::new(false),
        });
        let for_thread = handoff.clone();
        let thread = std::thread::Builder::new()
            .name("subscriptions-fan-out".into())
            .spawn(move || serve(&for_thread))?;
        Ok(FanOutHelper {
            handoff,
            thread: Some(thread),
        })
    }

    /// Tells the helper a transaction is being applied, so that it is awake (watching) by the
    /// time its half arrives: waking a sleeping thread on an idle core took long enough, on
    /// virtual machines, to make the second half's subscribers the slowest.
    pub(super) fn wake(&self) {
        let mut slot = self.handoff.slot.lock();
        if matches!(*slot, Slot::Idle | Slot::Done(_)) {
            *slot = Slot::Soon;
            drop(slot);
            self.handoff.changed.notify_all();
        }
    }

    /// The helper thread's id: a `notify` callback running there is part of a fan-out.
    pub(super) fn thread_id(&self) -> Option<ThreadId> {
        self.thread.as_ref().map(|t| t.thread().id())
    }

    /// Queues the update for every target: the first half here, the second on the helper.
    /// Returns the subscribers whose queues were full.
    pub(super) fn queue_split(
        &self,
        tx: TxId,
        targets: &Arc<[Target]>,
        delta: &Arc<Delta>,
    ) -> Vec<SubscriberId> {
        let half = targets.len() / 2;
        // The helper gets its own copy of the change: two threads bumping one reference count
        // would pass its cache line back and forth on every subscriber.
        let copy = Arc::new(Delta {
            inserts: delta.inserts.clone(),
            deletes: delta.deletes.clone(),
        });
        let mut slot = self.handoff.slot.lock();
        *slot = Slot::Job(Job {
            tx,
            targets: targets.clone(),
            from: half,
            delta: copy,
        });
        // Under the lock, so the helper cannot take the job before the flag is up (and then
        // find it still up, stale, when it next watches).
        self.handoff.posted.store(true, Ordering::Release);
        drop(slot);
        self.handoff.changed.notify_all();
        let mut full = queue_all(tx, &targets[..half], delta);
        let mut slot = self.handoff.slot.lock();
        loop {
            match std::mem::replace(&mut *slot, Slot::Idle) {
                Slot::Done(more) => {
                    full.extend(more);
                    return full;
                }
                other => {
                    *slot = other;
                    self.handoff.changed.wait(&mut slot);
                }
            }
        }
    }
}

impl Drop for FanOutHelper {
    fn drop(&mut self) {
        *self.handoff.slot.lock() = Slot::Stop;
        self.handoff.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The helper thread: waits for a job, queues it, reports, until told to stop. Told that one
/// may come, it watches for it for up to [`WATCH`] before sleeping again.
fn serve(handoff: &Handoff) {
    let mut watch = false;
    loop {
        if watch {
            let until = Instant::now() + WATCH;
            while !handoff.posted.load(Ordering::Acquire) && Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        let mut slot = handoff.slot.lock();
        loop {
            match std::mem::replace(&mut *slot, Slot::Idle) {
                Slot::Job(job) => {
                    handoff.posted.store(false, Ordering::Release);
                    drop(slot);
                    let full = queue_all(job.tx, &job.targets[job.from..], &job.delta);
                    drop(job);
                    *handoff.slot.lock() = Slot::Done(full);
                    handoff.changed.notify_all();
                    watch = false;
                    break;
                }
                Slot::Soon => {
                    watch = true;
                    break;
                }
                Slot::Stop => return,
                other => {
                    *slot = other;
                    handoff.changed.wait(&mut slot);
                }
            }
        }
    }
}
