//! Bulk insert: `n` rows into an empty `items` (with its `score` index), in transactions of
//! `rows_per_tx` rows — once in memory, once durably on disk.
//!
//! Each chunk's rows are built before the clock starts (the caller's cost, the same for both
//! systems); the clock covers the inserts and the commit.

use std::time::{Duration, Instant};

use cosmictron_benches::{Measurement, item_row};
use cosmictron_engine::{Engine, EngineConfig};
use cosmictron_types::Value;

use crate::plan::Plan;
use crate::scratch::{progress, scratch_dir};
use crate::sqlite::{INSERT_ITEM, SCHEMA, Sqlite, insert_item};
use crate::systems::COSMICTRON;
use crate::tables;

fn chunks(n: u64, per_tx: u64) -> impl Iterator<Item = Vec<Vec<Value>>> {
    let per_tx = per_tx.max(1);
    (0..n.div_ceil(per_tx)).map(move |c| {
        let (start, end) = (c * per_tx, ((c + 1) * per_tx).min(n));
        (start..end).map(|i| item_row(i, n)).collect()
    })
}

fn cosmictron_round(durable: bool, n: u64, per_tx: u64) -> anyhow::Result<f64> {
    let dir = scratch_dir()?;
    let engine = if durable {
        Engine::open(dir.path(), EngineConfig::default())?
    } else {
        Engine::in_memory(EngineConfig::in_memory())
    };
    let db = engine.create_database("bench")?;
    db.write(|tx| tx.create_table(tables::items()))?;
    let mut busy = Duration::ZERO;
    for rows in chunks(n, per_tx) {
        let started = Instant::now();
        let mut tx = db.begin_write()?;
        for row in rows {
            tx.insert(tables::ITEMS, row)?;
        }
        tx.commit()?;
        busy += started.elapsed();
    }
    anyhow::ensure!(db.stats().live_rows == n, "bulk insert lost rows");
    drop(db);
    engine.close()?;
    Ok(n as f64 / busy.as_secs_f64())
}

fn sqlite_round(kind: Sqlite, n: u64, per_tx: u64) -> anyhow::Result<f64> {
    let dir = scratch_dir()?;
    let mut conn = kind.open(dir.path())?;
    conn.execute_batch(SCHEMA)?;
    let mut busy = Duration::ZERO;
    for rows in chunks(n, per_tx) {
        let started = Instant::now();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(INSERT_ITEM)?;
            for row in &rows {
                insert_item(&mut stmt, row)?;
            }
        }
        tx.commit()?;
        busy += started.elapsed();
    }
    let count: i64 = conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0))?;
    anyhow::ensure!(count as u64 == n, "bulk insert lost rows");
    Ok(n as f64 / busy.as_secs_f64())
}

/// Who runs a bulk-insert case.
#[derive(Debug, Clone, Copy)]
enum Runner {
    Cosmictron { durable: bool },
    Sqlite(Sqlite),
}

pub(crate) fn run(plan: &Plan) -> anyhow::Result<Vec<Measurement>> {
    let (n, per_tx) = (plan.rows, plan.rows_per_tx);
    let memory = format!("Bulk insert, {}, in memory", plan.rows_label());
    let durable = format!(
        "Bulk insert, {}, durable ({per_tx}-row transactions)",
        plan.rows_label()
    );
    let cases = [
        (&memory, COSMICTRON, Runner::Cosmictron { durable: false }),
        (
            &memory,
            Sqlite::Memory.system(),
            Runner::Sqlite(Sqlite::Memory),
        ),
        (&durable, COSMICTRON, Runner::Cosmictron { durable: true }),
        (
            &durable,
            Sqlite::WalFull.system(),
            Runner::Sqlite(Sqlite::WalFull),
        ),
        (
            &durable,
            Sqlite::WalNormal.system(),
            Runner::Sqlite(Sqlite::WalNormal),
        ),
    ];
    let mut rates = vec![Vec::new(); cases.len()];
    for round in 0..plan.rounds_heavy {
        progress(&format!(
            "bulk insert of {n} rows, round {}/{}",
            round + 1,
            plan.rounds_heavy
        ));
        // Cases interleaved within a round: a noisy minute hurts them all alike.
        for (case, rates) in cases.iter().zip(&mut rates) {
            rates.push(match case.2 {
                Runner::Cosmictron { durable } => cosmictron_round(durable, n, per_tx)?,
                Runner::Sqlite(kind) => sqlite_round(kind, n, per_tx)?,
            });
        }
    }
    Ok(cases
        .iter()
        .zip(rates)
        .map(|((workload, system, _), rates)| Measurement::new(workload, system, "rows/s", rates))
        .collect())
}
