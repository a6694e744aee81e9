//! Reads: point lookups by primary key, secondary-index lookups, a filtered scan, a 2-table
//! join and a GROUP BY aggregate, over the same `n` rows in every system.
//!
//! Cosmictron is measured twice: through its native API (`Snapshot::get`, `find`, `scan_raw`
//! with the filter, join or aggregation written by hand, as an embedder would) and through
//! `SqlEngine::query` with the SQL text SQLite runs. SQL runs as the owner (`Caller::owner`,
//! no read policies to apply: SQLite has none either). SQLite is measured in memory and in a
//! WAL-mode file (warm page cache; `synchronous` does not affect reads). Every result is
//! materialized as owned values in both systems, and its row count is checked.

use std::collections::HashMap;

use cosmictron_benches::interleaved::{
    LookupValue, ReadWorkload, Rounds, Rows, Run, measure_interleaved,
};
use cosmictron_benches::{Measurement, SCORE_INDEX, mix};
use cosmictron_engine::{Database, Engine, EngineConfig, Snapshot};
use cosmictron_sql::{Caller, SqlConfig, SqlEngine};
use cosmictron_types::{Timestamp, Value, decode_row};
use rusqlite::Connection;

use crate::plan::{Plan, rows_label};
use crate::scratch::{progress, scratch_dir};
use crate::sqlite::{self, Sqlite};
use crate::systems::{COSMICTRON, COSMICTRON_SQL};
use crate::tables::{
    self, GROUPS, ITEMS, PICKS, SQL_FILTERED, SQL_GROUP_BY, SQL_JOIN, SQL_POINT, SQL_SECONDARY,
};

/// Everything the read workloads read from, loaded once.
struct Readers {
    n: u64,
    picks: u64,
    db: Database,
    snapshot: Snapshot,
    sql: SqlEngine,
    sqlite: Vec<(Sqlite, Connection)>,
}

fn sqlite_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Vec<u8>, String, i64, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

impl Readers {
    fn point_native(&self, seed: u64, count: u64) -> Rows {
        let mut found = 0;
        for j in 0..count {
            let key = [Value::U64(mix(seed + j) % self.n + 1)];
            found += u64::from(self.snapshot.get(ITEMS, &key)?.is_some());
        }
        Ok(found)
    }

    fn point_sql(&self, seed: u64, count: u64) -> Rows {
        let mut found = 0;
        for j in 0..count {
            let key = [Value::U64(mix(seed + j) % self.n + 1)];
            found += self
                .sql
                .query(&self.db, SQL_POINT, &key, &Caller::owner())?
                .rows
                .len() as u64;
        }
        Ok(found)
    }

    fn point_sqlite(conn: &Connection, n: u64, seed: u64, count: u64) -> Rows {
        let mut stmt = conn.prepare_cached(SQL_POINT)?;
        let mut found = 0;
        for j in 0..count {
            let key = (mix(seed + j) % n + 1) as i64;
            std::hint::black_box(stmt.query_row([key], sqlite_item)?);
            found += 1;
        }
        Ok(found)
    }

    fn secondary_native(&self, seed: u64, count: u64) -> Rows {
        let mut found = 0;
        for j in 0..count {
            let key = [Value::I64((mix(seed + j) % self.n) as i64)];
            found += self.snapshot.find(ITEMS, SCORE_INDEX, &key)?.len() as u64;
        }
        Ok(found)
    }

    fn secondary_sql(&self, seed: u64, count: u64) -> Rows {
        let mut found = 0;
        for j in 0..count {
            let key = [Value::I64((mix(seed + j) % self.n) as i64)];
            found += self
                .sql
                .query(&self.db, SQL_SECONDARY, &key, &Caller::owner())?
                .rows
                .len() as u64;
        }
        Ok(found)
    }

    fn secondary_sqlite(conn: &Connection, n: u64, seed: u64, count: u64) -> Rows {
        let mut stmt = conn.prepare_cached(SQL_SECONDARY)?;
        let mut found = 0;
        for j in 0..count {
            let key = (mix(seed + j) % n) as i64;
            let rows: Vec<_> = stmt
                .query_map([key], sqlite_item)?
                .collect::<Result<_, _>>()?;
            found += rows.len() as u64;
        }
        Ok(found)
    }

    /// Every row decoded and tested, the matching ones kept: what the native API offers for a
    /// filter on a column without an index.
    fn filtered_native(&self) -> Rows {
        let schema = self.snapshot.table_schema(ITEMS)?;
        let bound = tables::filter_bound(self.n);
        let mut kept = Vec::new();
        self.snapshot.scan_raw(ITEMS, |bytes| {
            let row = decode_row(schema.columns(), bytes)?;
            if matches!(row.get(4), Some(Value::Timestamp(t)) if t.0 < bound) {
                kept.push(row);
            }
            Ok(())
        })?;
        Ok(kept.len() as u64)
    }

    fn filtered_sql(&self) -> Rows {
        let bound = [Value::Timestamp(Timestamp(tables::filter_bound(self.n)))];
        Ok(self
            .sql
            .query(&self.db, SQL_FILTERED, &bound, &Caller::owner())?
            .rows
            .len() as u64)
    }

    fn filtered_sqlite(conn: &Connection, n: u64) -> Rows {
        let mut stmt = conn.prepare_cached(SQL_FILTERED)?;
        let rows: Vec<(i64, String, i64)> = stmt
            .query_map([tables::filter_bound(n)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows.len() as u64)
    }

    /// Each pick's item through the score index: the nested-loop join an embedder writes.
    fn join_native(&self) -> Rows {
        let mut out = Vec::new();
        for pick in self.snapshot.scan(PICKS)? {
            if let (Some(score), Some(label)) = (pick.get(1), pick.get(2)) {
                for item in self
                    .snapshot
                    .find(ITEMS, SCORE_INDEX, std::slice::from_ref(score))?
                {
                    out.push((label.clone(), item));
                }
            }
        }
        Ok(out.len() as u64)
    }

    fn join_sql(&self) -> Rows {
        Ok(self
            .sql
            .query(&self.db, SQL_JOIN, &[], &Caller::owner())?
            .rows
            .len() as u64)
    }

    fn join_sqlite(conn: &Connection) -> Rows {
        let mut stmt = conn.prepare_cached(SQL_JOIN)?;
        let rows: Vec<(String, i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows.len() as u64)
    }

    fn group_native(&self) -> Rows {
        let schema = self.snapshot.table_schema(ITEMS)?;
        let mut groups: HashMap<i64, (u64, i64)> = HashMap::new();
        self.snapshot.scan_raw(ITEMS, |bytes| {
            if let Some(Value::I64(score)) = decode_row(schema.columns(), bytes)?.get(3) {
                let group = groups.entry(score % GROUPS as i64).or_default();
                group.0 += 1;
                group.1 += score;
            }
            Ok(())
        })?;
        Ok(groups.len() as u64)
    }

    fn group_sql(&self) -> Rows {
        Ok(self
            .sql
            .query(&self.db, SQL_GROUP_BY, &[], &Caller::owner())?
            .rows
            .len() as u64)
    }

    fn group_sqlite(conn: &Connection) -> Rows {
        let mut stmt = conn.prepare_cached(SQL_GROUP_BY)?;
        let rows: Vec<(i64, i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows.len() as u64)
    }
}

/// Loads the same rows into Cosmictron (memory-only: reads never touch the log) and into
/// each SQLite; the file-backed SQLite lives in `dir`.
fn load(plan: &Plan, dir: &std::path::Path) -> anyhow::Result<(Engine, Readers)> {
    let (n, picks) = (plan.rows, plan.join_rows);
    let engine = Engine::in_memory(EngineConfig::in_memory());
    let db = engine.create_database("bench")?;
    tables::load(&db, n, plan.rows_per_tx, picks)?;
    let mut sqlite = Vec::new();
    for kind in [Sqlite::Memory, Sqlite::WalFull] {
        let mut conn = kind.open(dir)?;
        sqlite::load(&mut conn, n, plan.rows_per_tx)?;
        sqlite::load_picks(&mut conn, n, picks)?;
        sqlite.push((kind, conn));
    }
    // Big results are the point here; the server's default limits are not.
    let sql = SqlEngine::new(SqlConfig {
        rows_max: usize::MAX,
        time_max: std::time::Duration::from_secs(600),
        ..SqlConfig::default()
    });
    let snapshot = db.snapshot()?;
    Ok((
        engine,
        Readers {
            n,
            picks,
            db,
            snapshot,
            sql,
            sqlite,
        },
    ))
}

/// One workload: a name, a unit, and how each system runs one round of it (seeded); a round's
/// value is lookups/s, or ms per query.
type Workload<'a> = ReadWorkload<'a>;

/// One system's round of a workload, given the round's seed.
type Round<'a> = Run<'a>;

pub(crate) fn run(plan: &Plan) -> anyhow::Result<Vec<Measurement>> {
    let dir = scratch_dir()?;
    progress(&format!("loading {} rows for the reads", plan.rows));
    let (_engine, r) = load(plan, dir.path())?;
    let (n, lookups, picks) = (r.n, plan.lookups, r.picks);
    let label = rows_label(n);
    let r = &r;
    let mut workloads = vec![
        Workload {
            name: format!("Point lookup by primary key, {label}"),
            unit: "lookups/s",
            ops: lookups,
            expect: lookups,
            runs: vec![
                (COSMICTRON, Box::new(|s| r.point_native(s, lookups))),
                (COSMICTRON_SQL, Box::new(|s| r.point_sql(s, lookups))),
            ],
        },
        Workload {
            name: format!("Secondary-index lookup (score = ?), {label}"),
            unit: "lookups/s",
            ops: lookups,
            expect: lookups,
            runs: vec![
                (COSMICTRON, Box::new(|s| r.secondary_native(s, lookups))),
                (COSMICTRON_SQL, Box::new(|s| r.secondary_sql(s, lookups))),
            ],
        },
        Workload {
            name: format!("Filtered scan, {label}, 1% returned"),
            unit: "ms",
            ops: 1,
            expect: n / 100,
            runs: vec![
                (COSMICTRON, Box::new(|_| r.filtered_native())),
                (COSMICTRON_SQL, Box::new(|_| r.filtered_sql())),
            ],
        },
        Workload {
            name: format!("2-table join, {picks} picks × {label} on the score index"),
            unit: "ms",
            ops: 1,
            expect: picks,
            runs: vec![
                (COSMICTRON, Box::new(|_| r.join_native())),
                (COSMICTRON_SQL, Box::new(|_| r.join_sql())),
            ],
        },
        Workload {
            name: format!("GROUP BY aggregate, {label}, {GROUPS} groups"),
            unit: "ms",
            ops: 1,
            expect: GROUPS,
            runs: vec![
                (COSMICTRON, Box::new(|_| r.group_native())),
                (COSMICTRON_SQL, Box::new(|_| r.group_sql())),
            ],
        },
    ];
    for (kind, conn) in &r.sqlite {
        let system = kind.system();
        let runs: [Round<'_>; 5] = [
            Box::new(move |s| Readers::point_sqlite(conn, n, s, lookups)),
            Box::new(move |s| Readers::secondary_sqlite(conn, n, s, lookups)),
            Box::new(move |_| Readers::filtered_sqlite(conn, n)),
            Box::new(move |_| Readers::join_sqlite(conn)),
            Box::new(move |_| Readers::group_sqlite(conn)),
        ];
        for (workload, run) in workloads.iter_mut().zip(runs) {
            workload.runs.push((system, run));
        }
    }
    measure(plan, &workloads)
}

/// Runs every workload on every system, interleaved, for the plan's rounds (after one
/// warm-up pass that fills caches and prepares statements), checking each answer's size.
fn measure(plan: &Plan, workloads: &[Workload<'_>]) -> anyhow::Result<Vec<Measurement>> {
    let rounds = Rounds {
        rounds: plan.rounds_reads,
        queries: plan.queries,
        lookups_as: LookupValue::PerSecond,
    };
    measure_interleaved(&rounds, workloads, &|round| {
        progress(&if round == 0 {
            "reads, warm-up".to_owned()
        } else {
            format!("reads, round {round}/{}", plan.rounds_reads)
        });
    })
}
