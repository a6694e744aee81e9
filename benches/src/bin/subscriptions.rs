//! Measures incremental subscriptions against their targets and prints Markdown tables.
//!
//! `cargo run --release -p cosmictron-benches --bin subscriptions -- [--quick] [--only commit|fanout]`
//!
//! 1. *Commit cost by table size*: one single-row commit that changes a subscribed result,
//!    timed from the start of the commit until the subscriber holds the update, with a
//!    filtered single-table subscription and with a 2-table join subscription, over tables of
//!    1k, 100k and 1M rows (`--quick`: 1k and 100k). The same commit with no subscription is
//!    the baseline. Targets: the 1M-row cost ≤ 1.5× the 1k-row cost.
//! 2. *Fan-out latency*: 1, 100 and 10,000 subscribers of one shared query, then of as many
//!    distinct queries; for every commit and every subscriber, the time from the start of the
//!    commit until its queue became non-empty (the `notify` callback). Target: p99 ≤ 1 ms at
//!    10,000 subscribers sharing one query.
//!
//! Engines run in memory (no fsync), so the numbers are the subscription machinery's, not
//! the disk's. Medians and percentiles over every sample.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cosmictron_engine::{Database, Engine, EngineConfig};
use cosmictron_sql::{
    Caller, SqlConfig, SqlEngine, SubscriberEvent, SubscriptionConfig, Subscriptions,
};
use cosmictron_types::{ScalarType, TableDef, Value};

/// Rows of `groups` per row of `t` (the join's other side is a tenth of the size).
const GROUP_RATIO: u64 = 10;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn schema(db: &Database) -> anyhow::Result<()> {
    db.write(|tx| {
        tx.create_table(
            TableDef::new("t")
                .column("id", ScalarType::U64)
                .column("grp", ScalarType::U64)
                .column("val", ScalarType::I64)
                .primary_key(&["id"])
                .index("t_grp", &["grp"])
                .public(),
        )?;
        tx.create_table(
            TableDef::new("groups")
                .column("id", ScalarType::U64)
                .column("name", ScalarType::String)
                .primary_key(&["id"])
                .public(),
        )
    })?;
    Ok(())
}

/// Loads `n` rows into `t` (val = a permutation of 0..n) and n/10 into `groups`.
fn load(db: &Database, n: u64) -> anyhow::Result<()> {
    const BATCH: u64 = 20_000;
    let groups = (n / GROUP_RATIO).max(1);
    let mut start = 0;
    while start < n {
        let end = (start + BATCH).min(n);
        db.write(|tx| {
            for id in start..end {
                let val = ((id * 7_919) % n) as i64;
                tx.insert(
                    "t",
                    vec![Value::U64(id), Value::U64(id % groups), Value::I64(val)],
                )?;
                if id < groups {
                    tx.insert(
                        "groups",
                        vec![Value::U64(id), Value::String(format!("group-{id}"))],
                    )?;
                }
            }
            Ok(())
        })?;
        start = end;
    }
    Ok(())
}

/// One single-row commit that moves row `id` into (`val % 1000 = 7`) or out of the
/// subscribed filter.
fn commit(db: &Database, n: u64, id: u64, inside: bool) -> anyhow::Result<()> {
    let groups = (n / GROUP_RATIO).max(1);
    let val = if inside {
        7 + 1000 * (id as i64 % 50)
    } else {
        8
    };
    db.write(|tx| {
        tx.update(
            "t",
            vec![Value::U64(id), Value::U64(id % groups), Value::I64(val)],
        )
    })?;
    Ok(())
}

const FILTER: &str = "SELECT id, val FROM t WHERE val % 1000 = 7";
const JOIN: &str =
    "SELECT t.id, t.val, g.name FROM t JOIN groups g ON g.id = t.grp WHERE t.val % 1000 = 7";

/// Microseconds from the start of each commit until the update is received, and the
/// worker's mean microseconds per tx (evaluation and fan-out, without thread wake-ups).
fn commit_cost(
    db: &Database,
    n: u64,
    query: Option<&str>,
    commits: u64,
) -> anyhow::Result<(Vec<f64>, f64)> {
    let sql = Arc::new(SqlEngine::new(SqlConfig {
        rows_max: 10_000_000,
        ..SqlConfig::default()
    }));
    let subs = Subscriptions::new(db.clone(), sql, SubscriptionConfig::default());
    let client = subs.connect(Caller::owner(), Arc::new(|| {}));
    if let Some(q) = query {
        client
            .subscribe(1, q, &[], None)
            .with_context(|| format!("subscribe {q}"))?;
    }
    let mut samples = Vec::with_capacity(commits as usize);
    for i in 0..commits {
        // Each row goes in, then out: every commit changes the result.
        let id = ((i / 2) * 104_729) % n;
        let started = Instant::now();
        commit(db, n, id, i % 2 == 0)?;
        if query.is_some() {
            match client.recv_timeout(Duration::from_secs(5)) {
                Some(SubscriberEvent::Update(_)) => {}
                other => bail!("expected an update, got {other:?}"),
            }
        }
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let stats = subs.stats();
    let worker = stats.worker_busy_micros as f64 / stats.processed_txs.max(1) as f64;
    Ok((samples, worker))
}

/// Median of the pooled samples and median of the per-round worker means, per cell.
#[derive(Default)]
struct Cell {
    samples: Vec<f64>,
    worker: Vec<f64>,
}

impl Cell {
    fn add(&mut self, (samples, worker): (Vec<f64>, f64)) {
        self.samples.extend(samples);
        self.worker.push(worker);
    }

    fn medians(&self) -> (f64, f64) {
        (
            percentile(&sorted(self.samples.clone()), 0.5),
            percentile(&sorted(self.worker.clone()), 0.5),
        )
    }
}

fn commit_costs(sizes: &[u64], commits: u64, rounds: u64) -> anyhow::Result<()> {
    println!("## Single-row commit with a subscription, by table size\n");
    println!(
        "Median µs from the start of the commit until the subscriber holds the update \
         ({commits} commits per cell in {rounds} rounds, sizes interleaved so that load on the \
         machine falls on all of them), and the median over rounds of the worker's mean time \
         per tx.\n"
    );
    let mut dbs = Vec::new();
    for &n in sizes {
        let engine = Engine::in_memory(EngineConfig::in_memory());
        let db = engine.create_database("bench")?;
        schema(&db)?;
        let loaded = Instant::now();
        load(&db, n)?;
        eprintln!("loaded {n} rows in {:?}", loaded.elapsed());
        dbs.push((engine, db, n));
    }
    let mut cells: Vec<[Cell; 3]> = sizes.iter().map(|_| Default::default()).collect();
    for _ in 0..rounds {
        for ((_, db, n), cell) in dbs.iter().zip(&mut cells) {
            cell[0].add(commit_cost(db, *n, None, commits / rounds)?);
            cell[1].add(commit_cost(db, *n, Some(FILTER), commits / rounds)?);
            cell[2].add(commit_cost(db, *n, Some(JOIN), commits / rounds)?);
        }
    }
    println!(
        "| rows in `t` | commit, no subscription | filtered: commit → delivered | filtered: worker per tx | join: commit → delivered | join: worker per tx |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for (&n, cell) in sizes.iter().zip(&cells) {
        let (none, _) = cell[0].medians();
        let (filter, filter_worker) = cell[1].medians();
        let (join, join_worker) = cell[2].medians();
        println!(
            "| {n} | {none:.1} | {filter:.1} | {filter_worker:.1} | {join:.1} | {join_worker:.1} |"
        );
        rows.push([filter, filter_worker, join, join_worker]);
    }
    if let (Some(f), Some(l)) = (rows.first(), rows.last()) {
        println!(
            "\nRatio largest/smallest table: filtered {:.2}× end to end, {:.2}× worker; \
             join {:.2}× end to end, {:.2}× worker (target ≤ 1.5×).\n",
            l[0] / f[0],
            l[1] / f[1],
            l[2] / f[2],
            l[3] / f[3]
        );
    }
    Ok(())
}

/// p50/p99 µs from commit start to each subscriber's notify, over `commits` commits.
fn fan_out(subscribers: usize, distinct: bool, commits: usize) -> anyhow::Result<(f64, f64, f64)> {
    let engine = Engine::in_memory(EngineConfig::in_memory());
    let db = engine.create_database("fanout")?;
    schema(&db)?;
    load(&db, 1000)?;
    let sql = Arc::new(SqlEngine::new(SqlConfig::default()));
    let subs = Subscriptions::new(db.clone(), sql, SubscriptionConfig::default());
    let base = Instant::now();
    let mut clients = Vec::with_capacity(subscribers);
    let mut stamps = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let stamp = Arc::new(AtomicU64::new(0));
        let s = stamp.clone();
        let client = subs.connect(
            Caller::owner(),
            Arc::new(move || {
                s.store(base.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }),
        );
        // Distinct queries differ in a parameter no row reaches, so each is its own query
        // yet all see the same change.
        let bound = if distinct { -(i as i64) - 1 } else { -1 };
        client.subscribe(
            1,
            "SELECT id, val FROM t WHERE val > $1",
            &[Value::I64(bound)],
            None,
        )?;
        clients.push(client);
        stamps.push(stamp);
    }
    let stats = subs.stats();
    eprintln!(
        "{subscribers} subscribers, {} distinct queries",
        stats.distinct_queries
    );
    let mut samples = Vec::with_capacity(subscribers * commits);
    for i in 0..commits {
        for s in &stamps {
            s.store(0, Ordering::Relaxed);
        }
        let started = base.elapsed().as_nanos() as u64;
        db.write(|tx| {
            tx.update(
                "t",
                vec![Value::U64(5), Value::U64(5), Value::I64(i as i64 * 3 + 1)],
            )
        })?;
        // Subscribers are notified in connection order: wait (sleeping, so as not to take a
        // core from the worker) for the last one, then read every stamp.
        let deadline = Instant::now() + Duration::from_secs(10);
        let last = stamps.last().context("no subscribers")?;
        while last.load(Ordering::Relaxed) == 0 {
            if Instant::now() > deadline {
                bail!("an update was not delivered");
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        for (client, stamp) in clients.iter().zip(&stamps) {
            let at = stamp.load(Ordering::Relaxed);
            if at == 0 {
                bail!("a subscriber was not notified");
            }
            samples.push(at.saturating_sub(started) as f64 / 1000.0);
            while client.try_recv().is_some() {}
        }
    }
    let stats = subs.stats();
    let worker = stats.worker_busy_micros as f64 / stats.processed_txs.max(1) as f64;
    let s = sorted(samples);
    Ok((percentile(&s, 0.5), percentile(&s, 0.99), worker))
}

fn fan_outs(counts: &[usize], commits: usize) -> anyhow::Result<()> {
    println!("## Commit-to-delivery latency by number of subscribers\n");
    println!(
        "µs from the start of a single-row commit until each subscriber's queue became \
         non-empty, over {commits} commits × every subscriber.\n"
    );
    println!(
        "| subscribers | shared query p50 | shared query p99 | shared: worker per tx | distinct queries p50 | distinct queries p99 | distinct: worker per tx |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &n in counts {
        let (sp50, sp99, sw) = fan_out(n, false, commits)?;
        let (dp50, dp99, dw) = fan_out(n, true, commits)?;
        println!("| {n} | {sp50:.1} | {sp99:.1} | {sw:.1} | {dp50:.1} | {dp99:.1} | {dw:.1} |");
    }
    println!();
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes: &[u64] = if quick {
        &[1_000, 100_000]
    } else {
        &[1_000, 100_000, 1_000_000]
    };
    let commits = if quick { 300 } else { 3_000 };
    println!(
        "# Subscription benchmarks{}\n",
        if quick { " (quick)" } else { "" }
    );
    let only = std::env::args()
        .skip_while(|a| a != "--only")
        .nth(1)
        .unwrap_or_default();
    if only.is_empty() || only == "commit" {
        commit_costs(sizes, commits, if quick { 3 } else { 5 })?;
    }
    if only.is_empty() || only == "fanout" {
        fan_outs(&[1, 100, 10_000], if quick { 20 } else { 100 })?;
    }
    Ok(())
}
