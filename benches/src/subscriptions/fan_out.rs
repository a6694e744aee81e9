//! Commit-to-delivery latency by number of subscribers: for every commit and every
//! subscriber, the time from the start of the commit until that subscriber's queue became
//! non-empty (its `notify` callback ran). Subscribers share one query, or each has its own.
//! Target: p99 ≤ 1 ms at 10,000 subscribers sharing one query.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cosmictron_engine::{Engine, EngineConfig};
use cosmictron_sql::{Caller, SqlConfig, SqlEngine, SubscriptionConfig, Subscriptions};
use cosmictron_types::Value;

use super::tables::{create_tables, load};
use crate::stats::percentile;

/// Rows of the subscribed table: small, so that the fan-out is what is measured.
const ROWS: u64 = 1_000;

/// How long the last subscriber may take to hear of a commit before the measurement fails.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Every subscriber subscribes to this with a lower bound no row reaches, so all see every
/// change; distinct bounds make distinct queries.
const QUERY: &str = "SELECT id, val FROM t WHERE val > $1";

/// The latencies of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct FanOut {
    pub subscribers: usize,
    /// Whether each subscriber had its own query (else all shared one).
    pub distinct: bool,
    /// Queries the manager maintained (1 when shared).
    pub distinct_queries: usize,
    /// Microseconds from commit start to each subscriber's notification, every commit and
    /// every subscriber, ascending.
    pub sorted_us: Vec<f64>,
    /// The subscription worker's mean microseconds per transaction.
    pub worker_us_per_tx: f64,
}

impl FanOut {
    pub fn p50_us(&self) -> f64 {
        percentile(&self.sorted_us, 50.0)
    }

    pub fn p99_us(&self) -> f64 {
        percentile(&self.sorted_us, 99.0)
    }
}

/// `subscribers` clients, each its own connection with one subscription, then `commits`
/// single-row commits that change every subscriber's result.
pub fn fan_out(subscribers: usize, distinct: bool, commits: usize) -> anyhow::Result<FanOut> {
    if subscribers == 0 {
        bail!("a fan-out needs at least one subscriber");
    }
    let engine = Engine::in_memory(EngineConfig::in_memory());
    let db = engine.create_database("fanout")?;
    create_tables(&db)?;
    load(&db, ROWS)?;
    let sql = Arc::new(SqlEngine::new(SqlConfig::default()));
    let subs = Subscriptions::new(db.clone(), sql, SubscriptionConfig::default());
    let base = Instant::now();
    let mut clients = Vec::with_capacity(subscribers);
    // One array of stamps, each subscriber's callback writing its own slot: consecutive
    // subscribers' stamps share cache lines, so the timing adds no cache miss of its own to
    // the fan-out it times (a separately allocated stamp per subscriber did).
    let stamps: Arc<[AtomicU64]> = (0..subscribers).map(|_| AtomicU64::new(0)).collect();
    for i in 0..subscribers {
        let notified = stamps.clone();
        let client = subs.connect(
            Caller::owner(),
            Arc::new(move || {
                notified[i].store(base.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }),
        );
        let bound = if distinct { -(i as i64) - 1 } else { -1 };
        client.subscribe(1, QUERY, &[Value::I64(bound)], None)?;
        clients.push(client);
    }
    let distinct_queries = subs.stats().distinct_queries;
    let last = stamps.last().context("no subscribers")?;
    let mut samples = Vec::with_capacity(subscribers * commits);
    for i in 0..commits {
        for stamp in stamps.iter() {
            stamp.store(0, Ordering::Relaxed);
        }
        let started = base.elapsed().as_nanos() as u64;
        db.write(|tx| {
            tx.update(
                "t",
                vec![Value::U64(5), Value::U64(5), Value::I64(i as i64 * 3 + 1)],
            )
        })?;
        // Wait (sleeping, so as not to take a core from the fan-out) for the last subscriber
        // connected, then for any still unstamped: a large fan-out is split across two
        // threads, so the last one is not always notified last.
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        let wait_for = |stamp: &AtomicU64| -> anyhow::Result<u64> {
            loop {
                let at = stamp.load(Ordering::Relaxed);
                if at != 0 {
                    return Ok(at);
                }
                if Instant::now() > deadline {
                    bail!("an update was not delivered within {DELIVERY_TIMEOUT:?}");
                }
                std::thread::sleep(Duration::from_micros(50));
            }
        };
        wait_for(last)?;
        for (client, stamp) in clients.iter().zip(stamps.iter()) {
            let at = wait_for(stamp)?;
            samples.push(at.saturating_sub(started) as f64 / 1000.0);
            while client.try_recv().is_some() {}
        }
    }
    let stats = subs.stats();
    samples.sort_by(f64::total_cmp);
    Ok(FanOut {
        subscribers,
        distinct,
        distinct_queries,
        sorted_us: samples,
        worker_us_per_tx: stats.worker_busy_micros as f64 / stats.processed_txs.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscriber_is_timed_on_every_commit() -> anyhow::Result<()> {
        // A missing notification fails the run, so a full sample count proves delivery.
        let shared = fan_out(5, false, 3)?;
        assert_eq!(shared.sorted_us.len(), 15);
        assert_eq!(shared.distinct_queries, 1);
        assert!(shared.sorted_us.is_sorted());
        assert!(shared.p50_us() <= shared.p99_us());
        let distinct = fan_out(5, true, 3)?;
        assert_eq!(distinct.distinct_queries, 5);
        Ok(())
    }
}
