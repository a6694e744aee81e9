//! Batch gathering for group commit: a new leader waits briefly for committers that are about
//! to append, so concurrent writers share one fsync instead of splitting into two cohorts.
//!
//! Without it, leader/follower group commit settles into alternating halves: while batch A is
//! fsyncing, the other writers append batch B; when A finishes, B's leader starts at once, and
//! A's writers (just woken) land in batch C. With 16 writers that is ~8 records per fsync. The
//! leader instead waits until as many records are buffered as the recent largest batch, or
//! until a fraction of the typical fsync time has passed, whichever comes first. A lone writer
//! (largest recent batch of 1) never waits. The leader sleeps while it waits, and the committer
//! whose append completes the batch wakes it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// Longest a leader waits for company, whatever the fsync time.
const GATHER_MAX: Duration = Duration::from_micros(500);

#[derive(Debug, Default)]
pub(crate) struct Gatherer {
    /// Largest recent batch, in records, decaying by 1/8 per batch so the hint follows a drop in
    /// concurrency within a few dozen batches.
    batch_hint: AtomicU64,
    /// Moving average of write+fsync time, in nanoseconds.
    fsync_ns: AtomicU64,
    /// The pending count a waiting leader waits for; 0 when no leader waits.
    awaited: AtomicU64,
    /// The leader sleeps here (rather than spinning: on a machine with few cores a spinning
    /// leader took CPU from the very committers it waited for).
    lock: Mutex<()>,
    arrived: Condvar,
}

impl Gatherer {
    /// Waits until `pending()` reaches the batch hint or the gathering window closes.
    pub(crate) fn wait(&self, pending: impl Fn() -> u64) {
        let hint = self.batch_hint.load(Ordering::Relaxed);
        if hint <= 1 || pending() >= hint {
            return;
        }
        let window =
            Duration::from_nanos(self.fsync_ns.load(Ordering::Relaxed) / 2).min(GATHER_MAX);
        let deadline = Instant::now() + window;
        let mut guard = self.lock.lock();
        // Published before `pending` is read again: a committer that appends after that read
        // sees it and wakes this leader (see `appended`).
        self.awaited.store(hint, Ordering::SeqCst);
        while pending() < hint {
            if self.arrived.wait_until(&mut guard, deadline).timed_out() {
                break;
            }
        }
        self.awaited.store(0, Ordering::SeqCst);
    }

    /// Called by a committer after appending: wakes a waiting leader once `pending` records
    /// are buffered, if that is what it waits for. Costs one atomic load when none waits.
    pub(crate) fn appended(&self, pending: impl FnOnce() -> u64) {
        let awaited = self.awaited.load(Ordering::SeqCst);
        if awaited != 0 && pending() >= awaited {
            // Taking the lock orders this after the leader's check-then-sleep.
            let _guard = self.lock.lock();
            self.arrived.notify_one();
        }
    }

    /// Records a written batch of `records` that took `elapsed` to write and fsync.
    pub(crate) fn record(&self, records: u64, elapsed: Duration) {
        let hint = self.batch_hint.load(Ordering::Relaxed);
        let decayed = hint.saturating_sub((hint / 8).max(1));
        self.batch_hint
            .store(records.max(decayed), Ordering::Relaxed);
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let avg = self.fsync_ns.load(Ordering::Relaxed);
        let next = if avg == 0 { ns } else { avg - avg / 8 + ns / 8 };
        self.fsync_ns.store(next, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_writer_never_waits_and_the_hint_decays() {
        // Proves: no wait before any concurrency was seen; the hint tracks the largest batch and
        // decays when batches shrink; the wait is bounded by the window.
        let g = Gatherer::default();
        let start = Instant::now();
        g.wait(|| 0);
        assert!(start.elapsed() < Duration::from_millis(5));
        g.record(16, Duration::from_micros(200));
        assert_eq!(g.batch_hint.load(Ordering::Relaxed), 16);
        let start = Instant::now();
        g.wait(|| 1);
        assert!(
            start.elapsed() < Duration::from_millis(50),
            "bounded by the window"
        );
        for _ in 0..40 {
            g.record(1, Duration::from_micros(200));
        }
        assert!(g.batch_hint.load(Ordering::Relaxed) <= 2);
    }

    #[test]
    fn committers_look_at_the_count_only_while_a_leader_waits() {
        // Proves the append path's cost when no leader gathers (no count is computed), and that
        // a waiting leader's target is what a committer compares with.
        let g = Gatherer::default();
        g.appended(|| panic!("no leader waits: the count must not be computed"));
        g.awaited.store(4, Ordering::SeqCst);
        let asked = std::cell::Cell::new(0);
        g.appended(|| {
            asked.set(asked.get() + 1);
            3
        });
        g.appended(|| {
            asked.set(asked.get() + 1);
            4
        });
        assert_eq!(asked.get(), 2);
    }
}
