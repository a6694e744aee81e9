//! Group commit: many committers, one writer+fsync at a time.
//!
//! A committer whose record is not yet durable either waits (a leader is busy)
//! or becomes the leader: it takes *everything* buffered so far, writes it and
//! fsyncs once, then wakes all waiters. Committers that arrive while a leader
//! is syncing pile up in the buffer and are covered by the next leader's single
//! fsync, so the fsync rate stays near the disk's and not the commit rate.
//!
//! Waiting committers sleep on the address of the durable counter, and the leader wakes them
//! all at once, each free to return without taking a lock. (They used to wait on a condition
//! variable, whose wake-all hands its mutex from one waiter to the next: with 16 committers on
//! two cores the last woke only after fifteen others had been scheduled in turn, longer than
//! the fsync itself.)
//!
//! A failed write or fsync poisons the log for good: after a failed fsync the
//! kernel may have dropped the dirty pages and marked them clean, so a retry
//! could "succeed" without the data being on disk.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use parking_lot_core::{DEFAULT_PARK_TOKEN, DEFAULT_UNPARK_TOKEN};

use crate::Result;
use crate::durable_wait::Waiters;
use crate::error::WalError;

/// Called with the new durable seq after every successful write+fsync.
pub(crate) type DurableHook = Box<dyn Fn(u64) + Send + Sync>;

pub(crate) struct GroupCommit {
    /// A leader is writing; other committers sleep until it is done.
    leader: AtomicBool,
    /// Highest seq known durable (0: none; seqs start at 1).
    durable: AtomicU64,
    poisoned: AtomicBool,
    /// Why the log is poisoned (set before `poisoned`).
    poison: Mutex<Option<String>>,
    /// Futures waiting for durability (see `durable_wait.rs`).
    pub(crate) waiters: Waiters,
    on_durable: OnceLock<DurableHook>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("leader", &self.leader)
            .field("durable", &self.durable)
            .field("poison", &self.poison)
            .field("waiters", &self.waiters)
            .field("on_durable", &self.on_durable.get().is_some())
            .finish()
    }
}

impl GroupCommit {
    pub(crate) fn new(durable: u64) -> Self {
        GroupCommit {
            leader: AtomicBool::new(false),
            durable: AtomicU64::new(durable),
            poisoned: AtomicBool::new(false),
            poison: Mutex::new(None),
            waiters: Waiters::default(),
            on_durable: OnceLock::new(),
        }
    }

    /// Sets the hook run after each successful write; `false` if one was set already.
    pub(crate) fn set_on_durable(&self, hook: DurableHook) -> bool {
        self.on_durable.set(hook).is_ok()
    }

    /// Whether the log is poisoned (lock-free).
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// `Err(Poisoned)` once any write or fsync has failed.
    pub(crate) fn check_poison(&self) -> Result<()> {
        if !self.poisoned.load(Ordering::Acquire) {
            return Ok(());
        }
        Err(self.poisoned_error())
    }

    /// Highest seq known durable.
    pub(crate) fn durable_seq(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Lock-free: is `seq` already durable? (Poisoning is checked separately.)
    pub(crate) fn is_durable(&self, seq: u64) -> bool {
        self.durable.load(Ordering::Acquire) >= seq
    }

    /// Blocks until `target` is durable, leading a write+fsync of everything
    /// buffered whenever no other leader is running. `write` takes the buffered
    /// records, writes and fsyncs them, and returns the highest seq it made
    /// durable (`None` if nothing was buffered). The caller has checked that
    /// `target` was appended, so some leader's `write` will cover it.
    pub(crate) fn wait_for(
        &self,
        target: u64,
        mut write: impl FnMut() -> Result<Option<u64>>,
    ) -> Result<()> {
        loop {
            self.check_poison()?;
            if self.durable.load(Ordering::Acquire) >= target {
                return Ok(());
            }
            if self
                .leader
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                self.sleep_while_led(target);
                continue;
            }
            // If `write` panics, the guard still hands leadership back (and
            // poisons: we don't know what reached the disk), so nobody hangs.
            let mut guard = LeaderGuard {
                gc: self,
                done: false,
            };
            let result = write();
            guard.done = true;
            drop(guard);
            match result {
                Ok(Some(seq)) => {
                    let durable = self.durable.fetch_max(seq, Ordering::AcqRel).max(seq);
                    self.end_leadership();
                    // Futures' wakers and the hook (which publishes the transactions) run
                    // after leadership is handed back, so they do not hold up the next leader.
                    self.waiters.wake_through(durable);
                    if let Some(hook) = self.on_durable.get() {
                        hook(durable);
                    }
                }
                // Nothing was buffered yet `target` is not durable: the caller
                // broke the "target was appended" precondition. Fail rather than spin.
                Ok(None) => {
                    self.end_leadership();
                    let durable = self.durable.load(Ordering::Acquire);
                    if durable < target {
                        return Err(WalError::SequenceOutOfOrder {
                            expected: durable,
                            got: target,
                        });
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "wal write/fsync failed; the log is poisoned");
                    self.poison(e.to_string());
                    self.end_leadership();
                    self.waiters.wake_all();
                    // The leader reports the real failure; its followers see Poisoned.
                    return Err(e);
                }
            }
        }
    }

    /// The key committers sleep on: the durable counter's address, which only this log uses.
    fn sleep_key(&self) -> usize {
        std::ptr::from_ref(&self.durable) as usize
    }

    /// Sleeps while a leader writes and `target` is not yet durable (returns at once when
    /// either is no longer so).
    fn sleep_while_led(&self, target: u64) {
        let still_led = || {
            self.leader.load(Ordering::Acquire)
                && self.durable.load(Ordering::Acquire) < target
                && !self.poisoned.load(Ordering::Acquire)
        };
        // SAFETY: the key is the address of a field of `self`, used as a key by no other
        // primitive; the callbacks neither panic nor call back into parking_lot. `still_led` runs
        // under the key's queue lock, and `end_leadership` updates the flags before it takes
        // that lock to wake sleepers, so a leader that ends between the committer's last check
        // and its sleep is either seen by `still_led` or wakes the committer.
        unsafe {
            parking_lot_core::park(
                self.sleep_key(),
                still_led,
                || {},
                |_, _| {},
                DEFAULT_PARK_TOKEN,
                None,
            );
        }
    }

    /// Hands leadership back and wakes every sleeping committer: each returns if its record
    /// is durable, and one of the rest leads the next write.
    fn end_leadership(&self) {
        self.leader.store(false, Ordering::Release);
        // SAFETY: the same key as `sleep_while_led`'s; waking only makes sleepers re-check.
        unsafe {
            parking_lot_core::unpark_all(self.sleep_key(), DEFAULT_UNPARK_TOKEN);
        }
    }

    fn poison(&self, cause: String) {
        self.poison.lock().get_or_insert(cause);
        self.poisoned.store(true, Ordering::Release);
    }

    fn poisoned_error(&self) -> WalError {
        WalError::Poisoned {
            cause: self
                .poison
                .lock()
                .clone()
                .unwrap_or_else(|| "unknown".into()),
        }
    }
}

/// Releases leadership if the leader unwinds.
struct LeaderGuard<'a> {
    gc: &'a GroupCommit,
    done: bool,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.gc
            .poison("a wal leader panicked during write/fsync".into());
        self.gc.end_leadership();
        self.gc.waiters.wake_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    // Proves a failing leader returns its own error, and afterwards every caller
    // (including ones whose seq was covered earlier) gets Poisoned.
    #[test]
    fn failure_poisons() {
        let gc = GroupCommit::new(0);
        gc.wait_for(1, || Ok(Some(1))).expect("first batch");
        let err = gc.wait_for(2, || Err(WalError::Poisoned { cause: "x".into() }));
        assert!(err.is_err());
        assert!(matches!(
            gc.wait_for(1, || Ok(Some(5))),
            Err(WalError::Poisoned { .. })
        ));
        assert!(matches!(gc.check_poison(), Err(WalError::Poisoned { .. })));
    }

    // Proves one leader's write covers concurrent waiters: 8 threads all wait for
    // seq <= 8 while the first leader's write reports 8; exactly one write happens.
    #[test]
    fn one_write_covers_waiters() {
        let gc = Arc::new(GroupCommit::new(0));
        let writes = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (1..=8u64)
            .map(|seq| {
                let (gc, writes) = (Arc::clone(&gc), Arc::clone(&writes));
                std::thread::spawn(move || {
                    gc.wait_for(seq, || {
                        writes.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        Ok(Some(8))
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().expect("join").expect("durable");
        }
        assert_eq!(writes.load(Ordering::SeqCst), 1);
    }

    // Proves no committer sleeps through the end of the leadership that covers it (a lost
    // wake-up would hang it): 8 threads commit 500 records each, every leader writing whatever
    // was appended by then; all finish, and the last write covered every record.
    #[test]
    fn concurrent_committers_all_return_durable() {
        const THREADS: u64 = 8;
        const EACH: u64 = 500;
        let gc = Arc::new(GroupCommit::new(0));
        let appended = Arc::new(AtomicU64::new(0));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        for _ in 0..THREADS {
            let (gc, appended, done_tx) = (gc.clone(), appended.clone(), done_tx.clone());
            std::thread::spawn(move || {
                for _ in 0..EACH {
                    let seq = appended.fetch_add(1, Ordering::SeqCst) + 1;
                    let durable = gc.wait_for(seq, || Ok(Some(appended.load(Ordering::SeqCst))));
                    assert!(durable.is_ok() && gc.durable_seq() >= seq);
                }
                let _ = done_tx.send(());
            });
        }
        for _ in 0..THREADS {
            done_rx
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("a committer never returned");
        }
        assert_eq!(gc.durable_seq(), THREADS * EACH);
    }
}
