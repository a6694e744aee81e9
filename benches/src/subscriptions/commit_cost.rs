//! What one single-row commit costs with a subscription, by table size: timed from the start
//! of the commit until the subscriber holds the update. The same commit with no subscription
//! is the baseline. Target: the cost at 1M rows ≤ 1.5× the cost at 1k.
//!
//! Every size is loaded once; then each round runs every (size, subscription) cell in turn, in
//! short slices of commits, so that load from other work on the machine falls on all of them
//! alike. Slices matter on a shared machine: there the thread wake-ups inside each sample
//! (worker, subscriber) switch between about 5 and about 40 µs for seconds at a time, and a
//! switch in the middle of a round would otherwise land on some sizes only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cosmictron_engine::{Database, Engine, EngineConfig};
use cosmictron_sql::{
    Caller, SqlConfig, SqlEngine, SubscriberEvent, SubscriptionConfig, Subscriptions,
};

use super::tables::{FILTER, JOIN, create_tables, load, move_row};
use crate::stats::{median, percentile};

/// Commits per slice at most (a round of a cell is split into equal slices of up to this many).
const SLICE_COMMITS_MAX: u64 = 100;

/// How long a subscriber waits for an update before the measurement fails.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the client is subscribed to while the commits run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    /// No subscription: the commit alone.
    Nothing,
    /// [`FILTER`]: a filtered single-table query.
    Filter,
    /// [`JOIN`]: a 2-table join with the same filter.
    Join,
}

impl Subscribed {
    /// Every kind, in the order they are measured and reported.
    pub const ALL: [Subscribed; 3] = [Subscribed::Nothing, Subscribed::Filter, Subscribed::Join];

    /// The subscribed query, if any.
    pub fn query(self) -> Option<&'static str> {
        match self {
            Subscribed::Nothing => None,
            Subscribed::Filter => Some(FILTER),
            Subscribed::Join => Some(JOIN),
        }
    }

    /// How reports name it.
    pub fn describe(self) -> &'static str {
        match self {
            Subscribed::Nothing => "no subscription",
            Subscribed::Filter => "filtered subscription",
            Subscribed::Join => "2-table join subscription",
        }
    }
}

/// One round of commits in one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRound {
    /// Microseconds from the start of each commit until the update was received (until the
    /// commit returned, with no subscription), in the order measured.
    pub samples_us: Vec<f64>,
    /// The subscription worker's mean microseconds per transaction (evaluation and fan-out,
    /// without thread wake-ups).
    pub worker_us_per_tx: f64,
}

/// Every round of one (table size, subscription) cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitCost {
    /// Rows in the subscribed table `t`.
    pub rows: u64,
    pub subscribed: Subscribed,
    pub rounds: Vec<CommitRound>,
}

impl CommitRound {
    /// This round with `slice`'s commits added (the worker's mean weighted by commits).
    fn absorb(&mut self, slice: CommitRound) {
        let (mine, theirs) = (self.samples_us.len() as f64, slice.samples_us.len() as f64);
        if mine + theirs > 0.0 {
            self.worker_us_per_tx =
                (self.worker_us_per_tx * mine + slice.worker_us_per_tx * theirs) / (mine + theirs);
        }
        self.samples_us.extend(slice.samples_us);
    }
}

impl CommitCost {
    /// The median of every sample of every round.
    pub fn pooled_median_us(&self) -> f64 {
        let mut all: Vec<f64> = self
            .rounds
            .iter()
            .flat_map(|r| r.samples_us.iter().copied())
            .collect();
        all.sort_by(f64::total_cmp);
        percentile(&all, 50.0)
    }

    /// Each round's median sample, in round order.
    pub fn round_medians_us(&self) -> Vec<f64> {
        self.rounds.iter().map(|r| median(&r.samples_us)).collect()
    }

    /// The median over rounds of the worker's mean time per transaction.
    pub fn worker_median_us(&self) -> f64 {
        let worker: Vec<f64> = self.rounds.iter().map(|r| r.worker_us_per_tx).collect();
        median(&worker)
    }
}

/// The table of one size, and how many commits it has had.
struct Table {
    /// Kept alive beside its database until every round is done.
    _engine: Engine,
    db: Database,
    rows: u64,
    /// The index of the next commit: the sequence of moved rows continues across slices, so a
    /// slice never moves a row to where it already is (which changes nothing and would leave
    /// the subscriber waiting for an update).
    next_commit: u64,
}

/// Commits `commits` of the sequence, from the table's next one, with a fresh subscription
/// manager.
fn commit_round(
    table: &mut Table,
    subscribed: Subscribed,
    commits: u64,
) -> anyhow::Result<CommitRound> {
    let (db, n) = (&table.db, table.rows);
    let sql = Arc::new(SqlEngine::new(SqlConfig {
        rows_max: 10_000_000,
        ..SqlConfig::default()
    }));
    let subs = Subscriptions::new(db.clone(), sql, SubscriptionConfig::default());
    let client = subs.connect(Caller::owner(), Arc::new(|| {}));
    if let Some(query) = subscribed.query() {
        client
            .subscribe(1, query, &[], None)
            .with_context(|| format!("subscribe {query}"))?;
    }
    let mut samples_us = Vec::with_capacity(commits as usize);
    let first = table.next_commit;
    table.next_commit += commits;
    for i in first..first + commits {
        // Each row goes in, then out: every commit changes the result.
        let id = ((i / 2) * 104_729) % n;
        let started = Instant::now();
        move_row(db, n, id, i % 2 == 0)?;
        if subscribed.query().is_some() {
            match client.recv_timeout(DELIVERY_TIMEOUT) {
                Some(SubscriberEvent::Update(_)) => {}
                other => bail!("expected an update, got {other:?}"),
            }
        }
        samples_us.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let stats = subs.stats();
    Ok(CommitRound {
        samples_us,
        worker_us_per_tx: stats.worker_busy_micros as f64 / stats.processed_txs.max(1) as f64,
    })
}

/// Every (size, subscription) cell: `rounds` rounds of `commits_per_round` commits each, in
/// the order of `sizes` then [`Subscribed::ALL`]. `progress` hears what is being done.
pub fn commit_costs(
    sizes: &[u64],
    commits_per_round: u64,
    rounds: usize,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Vec<CommitCost>> {
    let mut tables = Vec::with_capacity(sizes.len());
    for &n in sizes {
        if n == 0 {
            bail!("a subscribed table needs at least one row");
        }
        progress(&format!("subscriptions: loading {n} rows"));
        let engine = Engine::in_memory(EngineConfig::in_memory());
        let db = engine.create_database("bench")?;
        create_tables(&db)?;
        load(&db, n)?;
        tables.push(Table {
            _engine: engine,
            db,
            rows: n,
            next_commit: 0,
        });
    }
    let mut cells: Vec<CommitCost> = sizes
        .iter()
        .flat_map(|&rows| {
            Subscribed::ALL.map(|subscribed| CommitCost {
                rows,
                subscribed,
                rounds: Vec::with_capacity(rounds),
            })
        })
        .collect();
    let slices = commits_per_round.div_ceil(SLICE_COMMITS_MAX).max(1);
    for round in 0..rounds {
        progress(&format!(
            "subscriptions: commit cost, round {}/{rounds}",
            round + 1
        ));
        for cell in &mut cells {
            cell.rounds.push(CommitRound {
                samples_us: Vec::with_capacity(commits_per_round as usize),
                worker_us_per_tx: 0.0,
            });
        }
        for slice in 0..slices {
            // The first slices take the remainder, so the round has exactly its commits.
            let commits =
                commits_per_round / slices + u64::from(slice < commits_per_round % slices);
            for cell in &mut cells {
                let table = tables
                    .iter_mut()
                    .find(|t| t.rows == cell.rows)
                    .context("a cell without its table")?;
                let measured = commit_round(table, cell.subscribed, commits)?;
                cell.rounds
                    .last_mut()
                    .context("a round was just started")?
                    .absorb(measured);
            }
        }
    }
    Ok(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_has_every_round_and_every_commit() -> anyhow::Result<()> {
        // Small tables and few commits: this proves the shape of the result and that each
        // subscribed commit was delivered (a missing update fails the round), not the speed.
        let cells = commit_costs(&[100, 1_000], 4, 2, &|_| {})?;
        let sliced = commit_costs(&[100], SLICE_COMMITS_MAX * 2 + 1, 1, &|_| {})?;
        assert!(
            sliced
                .iter()
                .all(|c| c.rounds[0].samples_us.len() as u64 == SLICE_COMMITS_MAX * 2 + 1),
            "a round split into slices keeps every commit"
        );
        assert_eq!(cells.len(), 6);
        assert_eq!(
            cells
                .iter()
                .map(|c| (c.rows, c.subscribed))
                .collect::<Vec<_>>(),
            vec![
                (100, Subscribed::Nothing),
                (100, Subscribed::Filter),
                (100, Subscribed::Join),
                (1_000, Subscribed::Nothing),
                (1_000, Subscribed::Filter),
                (1_000, Subscribed::Join),
            ]
        );
        for cell in &cells {
            assert_eq!(cell.rounds.len(), 2);
            assert!(cell.rounds.iter().all(|r| r.samples_us.len() == 4));
            assert!(cell.pooled_median_us() > 0.0);
            assert_eq!(cell.round_medians_us().len(), 2);
        }
        Ok(())
    }

    #[test]
    fn medians_pool_samples_and_take_rounds_apart() {
        let cell = CommitCost {
            rows: 1,
            subscribed: Subscribed::Filter,
            rounds: vec![
                CommitRound {
                    samples_us: vec![1.0, 2.0, 3.0],
                    worker_us_per_tx: 5.0,
                },
                CommitRound {
                    samples_us: vec![10.0, 20.0, 30.0],
                    worker_us_per_tx: 7.0,
                },
            ],
        };
        assert_eq!(cell.round_medians_us(), vec![2.0, 20.0]);
        assert_eq!(cell.pooled_median_us(), 3.0);
        assert_eq!(cell.worker_median_us(), 6.0);
    }

    #[test]
    fn slices_add_up_to_their_round() {
        let mut round = CommitRound {
            samples_us: vec![1.0],
            worker_us_per_tx: 2.0,
        };
        round.absorb(CommitRound {
            samples_us: vec![3.0, 5.0, 7.0],
            worker_us_per_tx: 6.0,
        });
        assert_eq!(round.samples_us, vec![1.0, 3.0, 5.0, 7.0]);
        assert_eq!(round.worker_us_per_tx, 5.0);
    }
}
