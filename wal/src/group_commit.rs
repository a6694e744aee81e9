//! Group commit: many committers, one writer+fsync at a time.
//!
//! A committer whose record is not yet durable either waits (a leader is busy)
//! or becomes the leader: it takes *everything* buffered so far, writes it and
//! fsyncs once, then wakes all waiters. Committers that arrive while a leader
//! is syncing pile up in the buffer and are covered by the next leader's single
//! fsync, so the fsync rate stays near the disk's and not the commit rate.
//!
//! A failed write or fsync poisons the log for good: after a failed fsync the
//! kernel may have dropped the dirty pages and marked them clean, so a retry
//! could "succeed" without the data being on disk.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use crate::Result;
use crate::durable_wait::Waiters;
use crate::error::WalError;

/// Called with the new durable seq after every successful write+fsync.
pub(crate) type DurableHook = Box<dyn Fn(u64) + Send + Sync>;

#[derive(Debug)]
struct State {
    /// A leader is writing; others wait on the condvar.
    leader: bool,
    /// Highest seq known durable (0: none; seqs start at 1).
    durable: u64,
    poison: Option<String>,
}

pub(crate) struct GroupCommit {
    state: Mutex<State>,
    cond: Condvar,
    /// Mirrors `state.durable` / `state.poison` for lock-free fast paths.
    durable: AtomicU64,
    poisoned: AtomicBool,
    /// Futures waiting for durability (see `durable_wait.rs`).
    pub(crate) waiters: Waiters,
    on_durable: OnceLock<DurableHook>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("state", &self.state)
            .field("waiters", &self.waiters)
            .field("on_durable", &self.on_durable.get().is_some())
            .finish()
    }
}

impl GroupCommit {
    pub(crate) fn new(durable: u64) -> Self {
        GroupCommit {
            state: Mutex::new(State {
                leader: false,
                durable,
                poison: None,
            }),
            cond: Condvar::new(),
            durable: AtomicU64::new(durable),
            poisoned: AtomicBool::new(false),
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
        Err(poisoned(&self.state.lock()))
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
        if self.durable.load(Ordering::Acquire) >= target {
            return self.check_poison();
        }
        let mut st = self.state.lock();
        loop {
            if st.poison.is_some() {
                return Err(poisoned(&st));
            }
            if st.durable >= target {
                return Ok(());
            }
            if st.leader {
                self.cond.wait(&mut st);
                continue;
            }
            st.leader = true;
            drop(st);
            // If `write` panics, the guard still hands leadership back (and
            // poisons: we don't know what reached the disk), so nobody hangs.
            let mut guard = LeaderGuard {
                gc: self,
                done: false,
            };
            let result = write();
            guard.done = true;
            drop(guard);
            st = self.state.lock();
            st.leader = false;
            match result {
                Ok(Some(seq)) => {
                    st.durable = st.durable.max(seq);
                    self.durable.store(st.durable, Ordering::Release);
                    let durable = st.durable;
                    self.cond.notify_all();
                    drop(st);
                    // Outside the lock: futures' wakers and the hook (which publishes the
                    // transactions) must not hold up the next leader.
                    self.waiters.wake_through(durable);
                    if let Some(hook) = self.on_durable.get() {
                        hook(durable);
                    }
                    st = self.state.lock();
                    continue;
                }
                // Nothing was buffered yet `target` is not durable: the caller
                // broke the "target was appended" precondition. Fail rather than spin.
                Ok(None) if st.durable < target => {
                    self.cond.notify_all();
                    return Err(WalError::SequenceOutOfOrder {
                        expected: st.durable,
                        got: target,
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "wal write/fsync failed; the log is poisoned");
                    st.poison = Some(e.to_string());
                    self.poisoned.store(true, Ordering::Release);
                    self.cond.notify_all();
                    drop(st);
                    self.waiters.wake_all();
                    // The leader reports the real failure; its followers see Poisoned.
                    return Err(e);
                }
            }
            self.cond.notify_all();
        }
    }
}

fn poisoned(st: &State) -> WalError {
    WalError::Poisoned {
        cause: st.poison.clone().unwrap_or_else(|| "unknown".into()),
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
        let mut st = self.gc.state.lock();
        st.leader = false;
        st.poison
            .get_or_insert_with(|| "a wal leader panicked during write/fsync".into());
        self.gc.poisoned.store(true, Ordering::Release);
        self.gc.cond.notify_all();
        drop(st);
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
}
