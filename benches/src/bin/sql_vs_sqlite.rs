//! Cosmictron SQL against SQLite in memory: the same SQL text, the same rows, one process.
//!
//! `cargo run --release -p cosmictron-benches --bin sql_vs_sqlite -- [--quick] [--out DIR]`
//!
//! Five read workloads, each run through `cosmictron-sql` (`SqlEngine::query` as the owner, so
//! no read policy applies — SQLite has none either; statements are cached after the first
//! run and take `$1` parameters) and through SQLite `:memory:` (rusqlite, `prepare_cached`):
//!
//! - point lookup by primary key, 1M rows (`WHERE id = $1`)
//! - secondary-index lookup, 1M rows (`WHERE score = $1`, `score` is indexed in both)
//! - filtered scan of 1M rows on an unindexed column, 1% returned
//! - 2-table join on an index, 100k × 100k (every `picks` row meets one `items` row)
//! - GROUP BY aggregate over 1M rows, 100 groups
//!
//! Every result is materialized as owned values on both sides and its row count checked.
//! Systems are interleaved within each round, after a warm-up round; a round's value is the
//! time per lookup (lookups) or the median of a few runs (queries), and the reported number
//! is the median of the rounds. Ratios are Cosmictron ÷ SQLite times: below 1.0 is faster.
//!
//! Output: a Markdown table on stdout (progress on stderr) and `DIR/results.json` (default
//! `target/sql_vs_sqlite`). `--quick` runs 100k rows (10k × 10k for the join), fewer rounds;
//! `--only NAME` (repeatable) runs some of the workloads, e.g. under a profiler.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use cosmictron_benches::interleaved::{
    LookupValue, ReadWorkload, Rounds, Rows, measure_interleaved,
};
use cosmictron_benches::read_queries::{
    GROUPS, SQL_FILTERED, SQL_GROUP_BY, SQL_JOIN, SQL_POINT, SQL_SECONDARY, SQLITE_SCHEMA,
    filter_bound,
};
use cosmictron_benches::{
    Measurement, SystemColumn, item_row, load_items, markdown_table, mix, to_json,
};
use cosmictron_engine::{Database, Engine, EngineConfig};
use cosmictron_sql::{Caller, SqlConfig, SqlEngine};
use cosmictron_types::{ScalarType, TableDef, Timestamp, Value};
use rusqlite::Connection;

const USAGE: &str =
    "usage: sql_vs_sqlite [--quick] [--out DIR] [--only point|secondary|scan|join|group]";

/// The workloads' short names, for `--only` (in the order they run).
const SHORT_NAMES: [&str; 5] = ["point", "secondary", "scan", "join", "group"];

const COSMICTRON_SQL: &str = "cosmictron-sql";
const SQLITE_MEMORY: &str = "sqlite-memory";

const COLUMNS: [SystemColumn; 2] = [
    SystemColumn {
        id: COSMICTRON_SQL,
        heading: "Cosmictron SQL",
        short: "SQL",
        sqlite: false,
    },
    SystemColumn {
        id: SQLITE_MEMORY,
        heading: "SQLite :memory:",
        short: "SQLite",
        sqlite: true,
    },
];

/// Sizes and rounds of a run.
#[derive(Debug, Clone, Copy)]
struct Plan {
    quick: bool,
    /// Rows of `items` for the lookups, the scan and the GROUP BY.
    rows: u64,
    /// Rows of both `items` and `picks` for the join.
    join_rows: u64,
    /// Lookups per round.
    lookups: u64,
    /// Runs per round of each query (the round keeps their median).
    queries: usize,
    rounds: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                rows: 100_000,
                join_rows: 10_000,
                lookups: 20_000,
                queries: 2,
                rounds: 3,
            }
        } else {
            Plan {
                quick,
                rows: 1_000_000,
                join_rows: 100_000,
                lookups: 200_000,
                queries: 3,
                rounds: 7,
            }
        }
    }
}

fn rows_label(rows: u64) -> String {
    match rows {
        r if r >= 1_000_000 && r % 1_000_000 == 0 => format!("{}M rows", r / 1_000_000),
        r if r >= 1_000 && r % 1_000 == 0 => format!("{}k rows", r / 1_000),
        r => format!("{r} rows"),
    }
}

fn progress(message: &str) {
    eprintln!("[sql_vs_sqlite] {message}");
}

fn picks_def() -> TableDef {
    TableDef::new("picks")
        .column("id", ScalarType::U64)
        .column("score", ScalarType::I64)
        .column("label", ScalarType::String)
        .primary_key(&["id"])
}

/// Pick `k` of an `n`-row join load: its id, a score (`item_row`'s scores are a permutation
/// of `0..n`, so each pick meets exactly one item) and a label.
fn pick(k: u64, n: u64) -> (u64, i64, String) {
    (k + 1, (mix(k) % n.max(1)) as i64, format!("pick {k:08}"))
}

/// One side's data: `items` (with the `score` index) and `picks`.
struct Loaded {
    cosmictron: Database,
    sqlite: Connection,
}

fn load(engine: &Engine, name: &str, items: u64, picks: u64) -> anyhow::Result<Loaded> {
    let db = engine.create_database(name)?;
    load_items(&db, items, 10_000, true)?;
    db.write(|tx| {
        tx.create_table(picks_def())?;
        for k in 0..picks {
            let (id, score, label) = pick(k, items);
            tx.insert(
                "picks",
                vec![Value::U64(id), Value::I64(score), Value::String(label)],
            )?;
        }
        Ok(())
    })?;

    let mut conn = Connection::open_in_memory()?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch(SQLITE_SCHEMA)
        .context("create the SQLite schema")?;
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO items (owner, name, score, created_at) VALUES ($1, $2, $3, $4)",
        )?;
        for i in 0..items {
            match item_row(i, items).as_slice() {
                [
                    _,
                    Value::Identity(owner),
                    Value::String(name),
                    Value::I64(score),
                    Value::Timestamp(at),
                ] => {
                    stmt.execute(rusqlite::params![&owner.0[..], name, score, at.0])?;
                }
                other => bail!("not an items row: {other:?}"),
            }
        }
        let mut stmt =
            tx.prepare_cached("INSERT INTO picks (id, score, label) VALUES ($1, $2, $3)")?;
        for k in 0..picks {
            let (id, score, label) = pick(k, items);
            stmt.execute(rusqlite::params![id as i64, score, label])?;
        }
    }
    tx.commit()?;
    Ok(Loaded {
        cosmictron: db,
        sqlite: conn,
    })
}

fn sql_rows(sql: &SqlEngine, db: &Database, text: &str, params: &[Value]) -> Rows {
    Ok(sql.query(db, text, params, &Caller::owner())?.rows.len() as u64)
}

fn sqlite_rows<T>(
    conn: &Connection,
    text: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Rows {
    let mut stmt = conn.prepare_cached(text)?;
    let rows: Vec<T> = stmt.query_map(params, row)?.collect::<Result<_, _>>()?;
    Ok(rows.len() as u64)
}

type Item = (i64, Vec<u8>, String, i64, i64);

fn sqlite_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn triple<A, B, C>(r: &rusqlite::Row<'_>) -> rusqlite::Result<(A, B, C)>
where
    A: rusqlite::types::FromSql,
    B: rusqlite::types::FromSql,
    C: rusqlite::types::FromSql,
{
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

/// One workload: its name, unit, how many operations a run does (a run's value is its time
/// divided by them), the rows every run must return, and each system's run.
type Workload<'a> = ReadWorkload<'a>;

fn workloads<'a>(
    plan: &Plan,
    sql: &'a SqlEngine,
    main: &'a Loaded,
    join: &'a Loaded,
) -> Vec<Workload<'a>> {
    let (n, lookups) = (plan.rows, plan.lookups);
    let label = rows_label(n);
    let (db, conn) = (&main.cosmictron, &main.sqlite);
    let bound = filter_bound(n);
    let pk = move |seed: u64, j: u64| mix(seed + j) % n + 1;
    let score = move |seed: u64, j: u64| (mix(seed + j) % n) as i64;
    vec![
        Workload {
            name: format!("Point lookup by primary key, {label}"),
            unit: "µs/lookup",
            ops: lookups,
            expect: lookups,
            runs: vec![
                (
                    COSMICTRON_SQL,
                    Box::new(move |s| {
                        (0..lookups).try_fold(0, |found, j| {
                            let key = [Value::U64(pk(s, j))];
                            Ok(found + sql_rows(sql, db, SQL_POINT, &key)?)
                        })
                    }),
                ),
                (
                    SQLITE_MEMORY,
                    Box::new(move |s| {
                        let mut stmt = conn.prepare_cached(SQL_POINT)?;
                        for j in 0..lookups {
                            std::hint::black_box(stmt.query_row([pk(s, j) as i64], sqlite_item)?);
                        }
                        Ok(lookups)
                    }),
                ),
            ],
        },
        Workload {
            name: format!("Secondary-index lookup (score = $1), {label}"),
            unit: "µs/lookup",
            ops: lookups,
            expect: lookups,
            runs: vec![
                (
                    COSMICTRON_SQL,
                    Box::new(move |s| {
                        (0..lookups).try_fold(0, |found, j| {
                            let key = [Value::I64(score(s, j))];
                            Ok(found + sql_rows(sql, db, SQL_SECONDARY, &key)?)
                        })
                    }),
                ),
                (
                    SQLITE_MEMORY,
                    Box::new(move |s| {
                        (0..lookups).try_fold(0, |found, j| {
                            Ok(found
                                + sqlite_rows(conn, SQL_SECONDARY, [score(s, j)], sqlite_item)?)
                        })
                    }),
                ),
            ],
        },
        Workload {
            name: format!("Filtered scan, {label}, 1% returned"),
            unit: "ms",
            ops: 1,
            expect: n / 100,
            runs: vec![
                (
                    COSMICTRON_SQL,
                    Box::new(move |_| {
                        let bound = [Value::Timestamp(Timestamp(bound))];
                        sql_rows(sql, db, SQL_FILTERED, &bound)
                    }),
                ),
                (
                    SQLITE_MEMORY,
                    Box::new(move |_| {
                        sqlite_rows(conn, SQL_FILTERED, [bound], triple::<i64, String, i64>)
                    }),
                ),
            ],
        },
        Workload {
            name: format!(
                "Indexed join, {} × {}",
                rows_label(plan.join_rows),
                rows_label(plan.join_rows)
            ),
            unit: "ms",
            ops: 1,
            expect: plan.join_rows,
            runs: vec![
                (
                    COSMICTRON_SQL,
                    Box::new(move |_| sql_rows(sql, &join.cosmictron, SQL_JOIN, &[])),
                ),
                (
                    SQLITE_MEMORY,
                    Box::new(move |_| {
                        sqlite_rows(&join.sqlite, SQL_JOIN, [], triple::<String, i64, String>)
                    }),
                ),
            ],
        },
        Workload {
            name: format!("GROUP BY aggregate, {label}, {GROUPS} groups"),
            unit: "ms",
            ops: 1,
            expect: GROUPS,
            runs: vec![
                (
                    COSMICTRON_SQL,
                    Box::new(move |_| sql_rows(sql, db, SQL_GROUP_BY, &[])),
                ),
                (
                    SQLITE_MEMORY,
                    Box::new(move |_| sqlite_rows(conn, SQL_GROUP_BY, [], triple::<i64, i64, i64>)),
                ),
            ],
        },
    ]
}

/// Runs every workload on both systems, interleaved, for the plan's rounds after one warm-up
/// round (which also fills both statement caches), checking each answer's size.
fn measure(plan: &Plan, workloads: &[Workload<'_>]) -> anyhow::Result<Vec<Measurement>> {
    let rounds = Rounds {
        rounds: plan.rounds,
        queries: plan.queries,
        lookups_as: LookupValue::MicrosEach,
    };
    measure_interleaved(&rounds, workloads, &|round| {
        progress(&if round == 0 {
            "warm-up".to_owned()
        } else {
            format!("round {round}/{}", plan.rounds)
        });
    })
}

#[derive(Debug)]
struct Args {
    quick: bool,
    out: PathBuf,
    /// Workloads to run (short names); empty: all. For profiling one of them.
    only: Vec<String>,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let mut parsed = Args {
        quick: false,
        out: target.join("sql_vs_sqlite"),
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--out" => parsed.out = PathBuf::from(args.next().context(USAGE)?),
            "--only" => {
                let name = args.next().context(USAGE)?;
                if !SHORT_NAMES.contains(&name.as_str()) {
                    bail!("unknown workload {name} ({USAGE})");
                }
                parsed.only.push(name);
            }
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown argument {other} ({USAGE})"),
        }
    }
    Ok(Some(parsed))
}

/// The CPU model, the CPUs available and the load average: what the numbers came from.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, v)| v.trim())
        .to_owned();
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    format!("{model}, {cpus} CPUs, load average {}", loadavg())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> anyhow::Result<()> {
    let Some(args) = parse_args()? else {
        println!("{USAGE}");
        return Ok(());
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run with --release for meaningful numbers");
    }
    let plan = Plan::new(args.quick);
    let machine = machine();
    let started = Instant::now();
    let engine = Engine::in_memory(EngineConfig::in_memory());
    progress(&format!("loading {} rows", plan.rows));
    let main = load(&engine, "bench", plan.rows, 0)?;
    progress(&format!(
        "loading {0} × {0} rows for the join",
        plan.join_rows
    ));
    let join = load(&engine, "join", plan.join_rows, plan.join_rows)?;
    // Big results are the point here; the server's default limits are not.
    let sql = SqlEngine::new(SqlConfig {
        rows_max: usize::MAX,
        time_max: std::time::Duration::from_secs(600),
        ..SqlConfig::default()
    });
    let chosen: Vec<Workload<'_>> = workloads(&plan, &sql, &main, &join)
        .into_iter()
        .zip(SHORT_NAMES)
        .filter(|(_, short)| args.only.is_empty() || args.only.iter().any(|o| o == short))
        .map(|(w, _)| w)
        .collect();
    let results = measure(&plan, &chosen)?;

    println!(
        "## SQL vs SQLite{}\n",
        if plan.quick { " (--quick)" } else { "" }
    );
    println!("- machine: {machine}; at end: load average {}", loadavg());
    println!(
        "- {} rounds, medians; run time {:.0} s\n",
        plan.rounds,
        started.elapsed().as_secs_f64()
    );
    println!("{}", markdown_table(&results, &COLUMNS));
    std::fs::create_dir_all(&args.out).with_context(|| format!("create {}", args.out.display()))?;
    let json = args.out.join("results.json");
    std::fs::write(&json, to_json(&results)?)
        .with_context(|| format!("write {}", json.display()))?;
    println!("- results: {}", json.display());
    Ok(())
}
