//! Memory per row: the growth of the resident set while `n` rows are loaded, divided by `n`.
//!
//! Each load runs in a child process (this binary re-run with `--memory-child SYSTEM ROWS`),
//! so heap left behind by earlier workloads cannot blur the difference. Both systems hold
//! `items` with its `score` index in memory: Cosmictron always, SQLite as `:memory:` (a file
//! database's memory is its page cache, bounded by configuration rather than by the data).

use std::process::Command;

use anyhow::{Context, bail};
use cosmictron_benches::{Measurement, load_items, rss_bytes};
use cosmictron_engine::{Engine, EngineConfig};

use crate::plan::Plan;
use crate::scratch::progress;
use crate::sqlite::{self, Sqlite};
use crate::systems::COSMICTRON;

/// The flag that makes this binary a memory child.
pub(crate) const CHILD_FLAG: &str = "--memory-child";

/// Runs in the child: loads `rows` rows into `system` and prints the RSS growth in bytes.
pub(crate) fn child(system: &str, rows: u64) -> anyhow::Result<()> {
    let before = rss_bytes().context("no VmRSS in /proc/self/status")?;
    let after = match system {
        COSMICTRON => {
            let engine = Engine::in_memory(EngineConfig::in_memory());
            let db = engine.create_database("bench")?;
            load_items(&db, rows, 10_000, true)?;
            let after = rss_bytes().context("no VmRSS")?;
            std::hint::black_box(&db);
            after
        }
        s if s == Sqlite::Memory.system() => {
            let mut conn = Sqlite::Memory.open(std::path::Path::new("."))?;
            sqlite::load(&mut conn, rows, 10_000)?;
            let after = rss_bytes().context("no VmRSS")?;
            std::hint::black_box(&conn);
            after
        }
        other => bail!("no memory workload for {other}"),
    };
    println!("{}", after.saturating_sub(before));
    Ok(())
}

fn run_child(system: &str, rows: u64) -> anyhow::Result<f64> {
    let out = Command::new(std::env::current_exe()?)
        .args([CHILD_FLAG, system, &rows.to_string()])
        .output()
        .context("run the memory child")?;
    if !out.status.success() {
        bail!(
            "memory child for {system} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout)?;
    let bytes: u64 = text
        .trim()
        .parse()
        .with_context(|| format!("memory child printed {text:?}"))?;
    Ok(bytes as f64 / rows as f64)
}

pub(crate) fn run(plan: &Plan) -> anyhow::Result<Vec<Measurement>> {
    let n = plan.rows;
    progress(&format!("memory per row, {n} rows (child processes)"));
    let systems = [COSMICTRON, Sqlite::Memory.system()];
    let mut values = vec![Vec::new(); systems.len()];
    for _ in 0..plan.rounds_heavy {
        for (system, values) in systems.iter().zip(&mut values) {
            values.push(run_child(system, n)?);
        }
    }
    let workload = format!("Memory per row, {} in memory", plan.rows_label());
    Ok(systems
        .iter()
        .zip(values)
        .map(|(system, v)| Measurement::new(&workload, system, "bytes/row", v))
        .collect())
}
