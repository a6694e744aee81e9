//! Recovery: how long a closed `n`-row database takes to open until it answers, and what it
//! occupies on disk.
//!
//! Cosmictron keeps every row in memory, so opening means replaying the WAL (or loading a
//! snapshot and the WAL after it) into tables and indexes; it is measured from the WAL alone
//! and again after `write_snapshot`. An SQLite file is a page store read on demand: opening it
//! costs next to nothing, so its time is "open + `SELECT count(*) FROM items`" — the first
//! query that touches every row (it walks the smallest index). Both with a warm page cache:
//! the files were just written.

use anyhow::ensure;
use cosmictron_benches::{Measurement, timed};
use cosmictron_engine::{Engine, EngineConfig};

use crate::plan::Plan;
use crate::scratch::{dir_bytes, progress, scratch_dir};
use crate::sqlite::{self, Sqlite};
use crate::systems::COSMICTRON;
use crate::tables;

/// Snapshots only on demand, so the WAL-only case really recovers from the WAL alone.
fn config() -> EngineConfig {
    let mut config = EngineConfig::default();
    config.snapshots.every_txs = None;
    config
}

/// Milliseconds to open the engine and see all `n` rows.
fn open_cosmictron(path: &std::path::Path, n: u64) -> anyhow::Result<f64> {
    let (opened, secs) = timed(|| -> anyhow::Result<u64> {
        let engine = Engine::open(path, config())?;
        let rows = engine.database("bench")?.snapshot()?.count(tables::ITEMS)?;
        engine.close()?;
        Ok(rows)
    });
    ensure!(
        opened? == n,
        "Cosmictron recovered the wrong number of rows"
    );
    Ok(secs * 1000.0)
}

fn open_sqlite(dir: &std::path::Path, n: u64) -> anyhow::Result<f64> {
    let (count, secs) = timed(|| -> anyhow::Result<i64> {
        let conn = Sqlite::WalFull.open(dir)?;
        Ok(conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0))?)
    });
    ensure!(
        count? as u64 == n,
        "SQLite counted the wrong number of rows"
    );
    Ok(secs * 1000.0)
}

pub(crate) fn run(plan: &Plan) -> anyhow::Result<Vec<Measurement>> {
    let n = plan.rows;
    let label = plan.rows_label();
    progress(&format!("recovery: building {n}-row databases"));
    let cosmictron_dir = scratch_dir()?;
    {
        let engine = Engine::open(cosmictron_dir.path(), config())?;
        let db = engine.create_database("bench")?;
        tables::load(&db, n, plan.rows_per_tx, plan.join_rows)?;
        drop(db);
        engine.close()?;
    }
    let wal_bytes = dir_bytes(cosmictron_dir.path());
    let sqlite_dir = scratch_dir()?;
    {
        let mut conn = Sqlite::WalFull.open(sqlite_dir.path())?;
        sqlite::load(&mut conn, n, plan.rows_per_tx)?;
        sqlite::load_picks(&mut conn, n, plan.join_rows)?;
    }
    let sqlite_bytes = dir_bytes(sqlite_dir.path());

    let (mut wal, mut sqlite) = (Vec::new(), Vec::new());
    for round in 0..plan.rounds_heavy {
        progress(&format!(
            "recovery, round {}/{}",
            round + 1,
            plan.rounds_heavy
        ));
        wal.push(open_cosmictron(cosmictron_dir.path(), n)?);
        sqlite.push(open_sqlite(sqlite_dir.path(), n)?);
    }
    {
        let engine = Engine::open(cosmictron_dir.path(), config())?;
        engine.database("bench")?.write_snapshot()?;
        engine.close()?;
    }
    let snapshot_bytes = dir_bytes(cosmictron_dir.path());
    let mut from_snapshot = Vec::new();
    for _ in 0..plan.rounds_heavy {
        from_snapshot.push(open_cosmictron(cosmictron_dir.path(), n)?);
    }
    let per_row = |bytes: u64| vec![bytes as f64 / n as f64];
    let open = format!("Recovery: open a {label} database until it answers");
    let size = format!("On-disk size, {label} (after close)");
    Ok(vec![
        Measurement::new(&open, COSMICTRON, "ms", wal),
        Measurement::new(&open, Sqlite::WalFull.system(), "ms", sqlite),
        Measurement::new(
            &format!("Recovery: open a {label} database from a snapshot"),
            COSMICTRON,
            "ms",
            from_snapshot,
        ),
        Measurement::new(&size, COSMICTRON, "bytes/row", per_row(wal_bytes)),
        Measurement::new(
            &size,
            Sqlite::WalFull.system(),
            "bytes/row",
            per_row(sqlite_bytes),
        ),
        Measurement::new(
            &format!("On-disk size, {label}, WAL + snapshot"),
            COSMICTRON,
            "bytes/row",
            per_row(snapshot_bytes),
        ),
    ])
}
