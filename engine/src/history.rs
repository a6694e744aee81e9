//! The time-travel window: which past transactions can still be read, which snapshots are
//! open, and the horizon below which old versions are collected.
//!
//! Invariant: a version ended at or before the horizon is visible to no open snapshot and to
//! no snapshot that can still be opened, because `oldest_available >= horizon` and every open
//! snapshot's tx is `>= horizon`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::config::HistoryConfig;
use crate::error::{EngineError, Result};
use crate::schema::TxId;

#[derive(Debug)]
pub(crate) struct History {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Open snapshots by tx, with how many are open at each.
    active: ActiveSnapshots,
    /// Oldest tx a new snapshot may ask for. Only moves forward.
    oldest_available: TxId,
    /// Commit times of the txs in the window (for the age limit).
    commit_times: VecDeque<(TxId, i64)>,
}

impl History {
    pub(crate) fn new(oldest_available: TxId) -> History {
        History {
            inner: Mutex::new(Inner {
                active: ActiveSnapshots::default(),
                oldest_available,
                commit_times: VecDeque::new(),
            }),
        }
    }

    /// Moves the oldest available tx forward to `tx` (never back).
    pub(crate) fn raise_oldest(&self, tx: TxId) {
        let mut inner = self.inner.lock();
        inner.oldest_available = inner.oldest_available.max(tx);
    }

    pub(crate) fn oldest_available(&self) -> TxId {
        self.inner.lock().oldest_available
    }

    /// Opens a snapshot at `tx`, checking it is within the window.
    pub(crate) fn register(&self, tx: TxId, latest: TxId) -> Result<()> {
        let mut inner = self.inner.lock();
        if tx > latest {
            return Err(EngineError::FutureTx {
                requested: tx,
                latest,
            });
        }
        if tx < inner.oldest_available {
            return Err(EngineError::HistoryUnavailable {
                requested: tx,
                oldest_available: inner.oldest_available,
            });
        }
        inner.active.open(tx);
        Ok(())
    }

    /// Opens a snapshot for the engine's own use (snapshot files) at a committed tx that may not
    /// be published yet.
    pub(crate) fn register_internal(&self, tx: TxId) {
        self.inner.lock().active.open(tx);
    }

    /// Opens a snapshot at the newest published tx and returns it. `latest` is read under the
    /// window's lock: the window never moves past a `latest` read before it (the collector
    /// reads `latest` before `advance`), so this cannot be refused, whereas reading `latest`
    /// first and registering after could be, once a commit and a collection slip in between.
    pub(crate) fn register_latest(&self, latest: &AtomicU64) -> TxId {
        let mut inner = self.inner.lock();
        let tx = latest.load(Ordering::Acquire);
        inner.active.open(tx);
        tx
    }

    pub(crate) fn unregister(&self, tx: TxId) {
        self.inner.lock().active.close(tx);
    }

    pub(crate) fn record_commit(&self, tx: TxId, timestamp_us: i64) {
        self.inner.lock().commit_times.push_back((tx, timestamp_us));
    }

    /// Applies the limits as of `now_us` with `latest` the newest published tx, and returns the
    /// collection horizon.
    pub(crate) fn advance(&self, config: &HistoryConfig, latest: TxId, now_us: i64) -> TxId {
        let mut inner = self.inner.lock();
        let mut oldest = inner.oldest_available;
        if let Some(max) = config.txs_max {
            oldest = oldest.max(latest.saturating_sub(max));
        }
        if let Some(age) = config.age_max {
            let cutoff = now_us.saturating_sub(duration_us(age));
            // The state at the cutoff is that of the newest tx committed at or before it.
            let at_cutoff = inner
                .commit_times
                .iter()
                .take_while(|(_, t)| *t <= cutoff)
                .last();
            if let Some(&(tx, _)) = at_cutoff {
                oldest = oldest.max(tx);
            }
        }
        inner.oldest_available = oldest.min(latest);
        let oldest = inner.oldest_available;
        while inner
            .commit_times
            .front()
            .is_some_and(|&(tx, _)| tx < oldest)
        {
            inner.commit_times.pop_front();
        }
        let min_active = inner.active.oldest().unwrap_or(TxId::MAX);
        oldest.min(min_active)
    }
}

/// Open snapshots: (tx, how many) in tx order. A sorted `Vec` rather than a map: open
/// snapshots sit at a handful of distinct txs, and a vector that keeps its capacity opens and
/// closes a snapshot without allocating (a `BTreeMap` allocated a node whenever the first
/// snapshot opened, once per point query on an idle database).
#[derive(Debug, Default)]
struct ActiveSnapshots(Vec<(TxId, usize)>);

impl ActiveSnapshots {
    fn open(&mut self, tx: TxId) {
        match self.0.binary_search_by_key(&tx, |&(t, _)| t) {
            Ok(i) => self.0[i].1 += 1,
            Err(i) => self.0.insert(i, (tx, 1)),
        }
    }

    fn close(&mut self, tx: TxId) {
        if let Ok(i) = self.0.binary_search_by_key(&tx, |&(t, _)| t) {
            self.0[i].1 -= 1;
            if self.0[i].1 == 0 {
                self.0.remove(i);
            }
        }
    }

    fn oldest(&self) -> Option<TxId> {
        self.0.first().map(|&(tx, _)| tx)
    }
}

fn duration_us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_moves_forward_and_open_snapshots_hold_the_horizon() {
        let history = History::new(0);
        let config = HistoryConfig {
            txs_max: Some(10),
            age_max: None,
        };
        history.register(5, 100).expect("5 is in the window");
        let horizon = history.advance(&config, 100, 0);
        assert_eq!(history.oldest_available(), 90);
        assert_eq!(horizon, 5, "the open snapshot at 5 keeps its versions");
        let err = history
            .register(50, 100)
            .expect_err("50 is out of the window");
        assert!(matches!(
            err,
            EngineError::HistoryUnavailable {
                requested: 50,
                oldest_available: 90
            }
        ));
        assert!(matches!(
            history.register(101, 100),
            Err(EngineError::FutureTx { .. })
        ));
        history.unregister(5);
        assert_eq!(history.advance(&config, 100, 0), 90);
    }

    #[test]
    fn the_age_limit_keeps_the_state_current_at_the_cutoff() {
        let history = History::new(0);
        for tx in 1..=10 {
            history.record_commit(tx, i64::try_from(tx).unwrap_or_default() * 1_000_000);
        }
        let config = HistoryConfig {
            txs_max: None,
            age_max: Some(Duration::from_secs(3)),
        };
        // now = 10.5 s: cutoff 7.5 s; tx 7 (committed at 7 s) is the state at the cutoff.
        let horizon = history.advance(&config, 10, 10_500_000);
        assert_eq!((history.oldest_available(), horizon), (7, 7));
    }
}
