//! Durable single-row commits at 1, 4 and 16 concurrent writers.
//!
//! Every system gets the same job: each writer thread commits one-row inserts into `items`
//! (with its `score` index) for a fixed window; rows are built inside the loop, equally for
//! all. Cosmictron runs with durability `Fsync` (group commit); its fsyncs per commit come from
//! the WAL's own counter. SQLite's writers share one connection behind a mutex — the usual way
//! to write to SQLite from several threads, and its best case: separate connections would
//! spend their time in SQLite's busy-wait sleeps. With one writer every commit's latency is
//! recorded too.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use cosmictron_benches::{Measurement, item_row, percentile};
use cosmictron_engine::{Durability, Engine, EngineConfig};
use parking_lot::Mutex;

use crate::plan::{Plan, WRITERS};
use crate::scratch::{progress, scratch_dir};
use crate::sqlite::{INSERT_ITEM, Sqlite, insert_item};
use crate::systems::{COSMICTRON, COSMICTRON_WASM};
use crate::tables;
use crate::wasm;

/// What one window of commits produced.
#[derive(Debug, Default)]
pub(crate) struct Window {
    pub(crate) commits: u64,
    pub(crate) secs: f64,
    /// Microseconds per commit, when recorded (one writer).
    pub(crate) latencies_us: Vec<f64>,
}

impl Window {
    pub(crate) fn rate(&self) -> f64 {
        self.commits as f64 / self.secs
    }
}

/// Runs `commit(writer, i)` on `writers` threads for `window`.
fn run_writers(
    writers: usize,
    window: Duration,
    commit: &(dyn Fn(u64) -> anyhow::Result<()> + Sync),
) -> anyhow::Result<Window> {
    let stop = AtomicBool::new(false);
    let commits = AtomicU64::new(0);
    let record = writers == 1;
    let started = Instant::now();
    let latencies = std::thread::scope(|scope| -> anyhow::Result<Vec<f64>> {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (stop, commits) = (&stop, &commits);
                scope.spawn(move || -> anyhow::Result<Vec<f64>> {
                    let mut latencies = Vec::new();
                    // Distinct keys per writer: no two writers insert the same row.
                    let mut i = (w as u64) << 40;
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        commit(i)?;
                        if record {
                            latencies.push(t.elapsed().as_secs_f64() * 1e6);
                        }
                        commits.fetch_add(1, Ordering::Relaxed);
                        i += 1;
                    }
                    Ok(latencies)
                })
            })
            .collect();
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for h in handles {
            let joined = h
                .join()
                .map_err(|_| anyhow::anyhow!("a writer thread panicked"))?;
            all.extend(joined?);
        }
        Ok(all)
    })?;
    let out = Window {
        commits: commits.load(Ordering::Relaxed),
        secs: started.elapsed().as_secs_f64(),
        latencies_us: latencies,
    };
    if out.commits == 0 {
        bail!("no commit completed in {window:?} with {writers} writers");
    }
    Ok(out)
}

/// What the log did during one window of native commits.
#[derive(Debug, Default)]
pub(crate) struct LogWork {
    pub(crate) fsyncs_per_commit: f64,
    /// Mean time of one group-commit fsync, in µs.
    pub(crate) mean_fsync_us: f64,
}

impl LogWork {
    /// The most commits/s `writers` closed-loop writers could reach if nothing but the fsync
    /// took time: each writer waits for one fsync per commit at best.
    pub(crate) fn fsync_bound(&self, writers: usize) -> f64 {
        writers as f64 * 1e6 / self.mean_fsync_us.max(f64::MIN_POSITIVE)
    }
}

/// Cosmictron's native API: the window, and what the log did. `Durability::None` is a
/// memory-only engine; anything else a data directory on disk.
pub(crate) fn native_round(
    writers: usize,
    window: Duration,
    durability: Durability,
) -> anyhow::Result<(Window, LogWork)> {
    let dir = scratch_dir()?;
    let engine = if durability == Durability::None {
        Engine::in_memory(EngineConfig::in_memory())
    } else {
        Engine::open(
            dir.path(),
            EngineConfig {
                durability,
                ..EngineConfig::default()
            },
        )?
    };
    let db = engine.create_database("bench")?;
    db.write(|tx| tx.create_table(tables::items()))?;
    let before = db.stats();
    let result = run_writers(writers, window, &|i| {
        db.write(|tx| tx.insert(tables::ITEMS, item_row(i, u64::MAX)))?;
        Ok(())
    })?;
    let after = db.stats();
    drop(db);
    engine.close()?;
    let fsyncs = after.wal_fsyncs - before.wal_fsyncs;
    let fsync_us = after.fsync_micros_total - before.fsync_micros_total;
    let work = LogWork {
        fsyncs_per_commit: fsyncs as f64 / result.commits.max(1) as f64,
        mean_fsync_us: fsync_us as f64 / fsyncs.max(1) as f64,
    };
    Ok((result, work))
}

/// Reducer calls through the facade, on disk with `durability`.
pub(crate) fn wasm_round(
    writers: usize,
    window: Duration,
    module: &[u8],
    durability: Durability,
) -> anyhow::Result<Window> {
    let dir = scratch_dir()?;
    let cosmictron = wasm::open_with_module(dir.path(), module, durability)?;
    run_writers(writers, window, &|i| {
        let args = wasm::insert_args(i);
        cosmictron.call(wasm::MODULE, wasm::INSERT_REDUCER, &args, wasm::CALLER)?;
        Ok(())
    })
}

pub(crate) fn sqlite_round(
    kind: Sqlite,
    writers: usize,
    window: Duration,
) -> anyhow::Result<Window> {
    let dir = scratch_dir()?;
    let conn = kind.open(dir.path())?;
    conn.execute_batch(crate::sqlite::SCHEMA)?;
    let conn = Mutex::new(conn);
    run_writers(writers, window, &|i| {
        let conn = conn.lock();
        let mut stmt = conn.prepare_cached(INSERT_ITEM)?;
        insert_item(&mut stmt, &item_row(i, u64::MAX))
    })
}

/// Latencies of single-writer commits, per system, pooled over the rounds (µs, ascending).
pub(crate) type LatencyProfiles = Vec<(&'static str, Vec<f64>)>;

/// The commit workloads: measurements, and the one-writer latencies for the chart.
pub(crate) fn run(
    plan: &Plan,
    module: &[u8],
) -> anyhow::Result<(Vec<Measurement>, LatencyProfiles)> {
    let systems = [
        COSMICTRON,
        COSMICTRON_WASM,
        Sqlite::WalFull.system(),
        Sqlite::WalNormal.system(),
    ];
    // rates[system][writers] = per-round commits/s; latency rounds per system.
    let mut rates = vec![vec![Vec::new(); WRITERS.len()]; systems.len()];
    let mut fsyncs = vec![Vec::new(); WRITERS.len()];
    let mut bounds = vec![Vec::new(); WRITERS.len()];
    let mut latencies: Vec<Vec<f64>> = vec![Vec::new(); systems.len()];
    let mut p50s: Vec<Vec<f64>> = vec![Vec::new(); systems.len()];
    let mut p99s: Vec<Vec<f64>> = vec![Vec::new(); systems.len()];
    let window = plan.commit_window;
    for round in 0..plan.rounds_commits {
        progress(&format!(
            "durable commits, round {}/{} ({} ms windows)",
            round + 1,
            plan.rounds_commits,
            window.as_millis()
        ));
        // Systems interleaved within a round: a noisy minute hurts them all alike.
        for (w, &writers) in WRITERS.iter().enumerate() {
            for (s, &system) in systems.iter().enumerate() {
                let result = match system {
                    COSMICTRON => {
                        let (result, work) = native_round(writers, window, Durability::Fsync)?;
                        fsyncs[w].push(work.fsyncs_per_commit);
                        bounds[w].push(work.fsync_bound(writers));
                        result
                    }
                    COSMICTRON_WASM => wasm_round(writers, window, module, Durability::Fsync)?,
                    _ if system == Sqlite::WalFull.system() => {
                        sqlite_round(Sqlite::WalFull, writers, window)?
                    }
                    _ => sqlite_round(Sqlite::WalNormal, writers, window)?,
                };
                rates[s][w].push(result.rate());
                if writers == 1 {
                    let mut sorted = result.latencies_us;
                    sorted.sort_by(f64::total_cmp);
                    p50s[s].push(percentile(&sorted, 50.0));
                    p99s[s].push(percentile(&sorted, 99.0));
                    latencies[s].extend(sorted);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (w, &writers) in WRITERS.iter().enumerate() {
        let per = |what: &str| {
            format!(
                "{what}, {writers} writer{}",
                if writers == 1 { "" } else { "s" }
            )
        };
        let workload = per("Durable single-row commits");
        for (s, &system) in systems.iter().enumerate() {
            out.push(
                Measurement::new(&workload, system, "commits/s", rates[s][w].clone())
                    .at_size(writers as u64),
            );
        }
        out.push(
            Measurement::new(
                &per("Fsyncs per commit"),
                COSMICTRON,
                "fsyncs/commit",
                fsyncs[w].clone(),
            )
            .at_size(writers as u64),
        );
        // The disk's bound on this workload: a commit of a closed-loop writer waits for at
        // least one fsync, so no scheduling makes the rate exceed writers ÷ fsync time.
        out.push(
            Measurement::new(
                &per("Fsync-bound ceiling (writers ÷ mean fsync)"),
                COSMICTRON,
                "commits/s",
                bounds[w].clone(),
            )
            .at_size(writers as u64),
        );
    }
    for (s, &system) in systems.iter().enumerate() {
        out.push(Measurement::new(
            "Durable commit latency p50, 1 writer",
            system,
            "µs",
            p50s[s].clone(),
        ));
    }
    for (s, &system) in systems.iter().enumerate() {
        out.push(Measurement::new(
            "Durable commit latency p99, 1 writer",
            system,
            "µs",
            p99s[s].clone(),
        ));
    }
    let profiles = systems
        .iter()
        .zip(latencies)
        .map(|(&system, mut l)| {
            l.sort_by(f64::total_cmp);
            (system, l)
        })
        .collect();
    Ok((out, profiles))
}
