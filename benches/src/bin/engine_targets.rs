//! Measures the engine against its performance targets and prints a Markdown table.
//!
//! `cargo run --release -p cosmictron-benches --bin engine_targets -- [--quick] [--only SECTION]`
//!
//! Sections: `memory`, `commit_none`, `fsync`, `reads`, `contention`, `recovery` (all by
//! default).
//!
//! Every workload runs several rounds and the median is reported. Where it makes sense a
//! baseline is measured in the same run (a `BTreeMap`, a raw `write + fdatasync` loop), so the
//! numbers can be quoted as ratios on a noisy shared machine. The results also go to
//! `target/engine-targets.json`. `--quick` uses smaller sizes and fewer rounds (well under a
//! minute); the full run takes a few minutes. See `docs/performance.md`.
//!
//! Memory is measured in child processes (this binary run with `--memory-child KIND ROWS`) so
//! that the heap left behind by other workloads does not blur the resident-set delta.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cosmictron_benches::{
    SCORE_INDEX, TABLE, encoded_row_len, item_row, items_def, load_items, median, memory_db, mix,
    rss_bytes, timed,
};
use cosmictron_engine::{Engine, EngineConfig};
use cosmictron_types::{Value, decode_row, encode_row};
use cosmictron_wal::{FileStorage, Wal, WalConfig};

/// Sizes and rounds of one run.
#[derive(Debug, Clone, Copy)]
struct Plan {
    quick: bool,
    rounds: usize,
    commits_none: u64,
    fsync_window: Duration,
    contention_window: Duration,
    fsync_rounds: usize,
    read_rows: u64,
    gets: u64,
    ranges: u64,
    scans: usize,
    recovery_rows: u64,
    recovery_rounds: usize,
    memory_rows: u64,
    memory_rounds: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                rounds: 3,
                commits_none: 200_000,
                fsync_window: Duration::from_millis(750),
                contention_window: Duration::from_millis(400),
                fsync_rounds: 1,
                read_rows: 100_000,
                gets: 200_000,
                ranges: 5_000,
                scans: 3,
                recovery_rows: 200_000,
                recovery_rounds: 2,
                memory_rows: 200_000,
                memory_rounds: 1,
            }
        } else {
            Plan {
                quick,
                rounds: 5,
                commits_none: 1_000_000,
                fsync_window: Duration::from_secs(3),
                contention_window: Duration::from_secs(1),
                fsync_rounds: 3,
                read_rows: 100_000,
                gets: 1_000_000,
                ranges: 20_000,
                scans: 5,
                recovery_rows: 1_000_000,
                recovery_rounds: 3,
                memory_rows: 1_000_000,
                memory_rounds: 3,
            }
        }
    }
}

/// A target: the median must be at least / at most `value`.
#[derive(Debug, Clone, Copy)]
struct Target {
    at_least: bool,
    value: f64,
}

impl Target {
    fn met(self, median: f64) -> bool {
        if self.at_least {
            median >= self.value
        } else {
            median <= self.value
        }
    }

    fn text(self, unit: &str) -> String {
        format!(
            "{} {} {unit}",
            if self.at_least { "≥" } else { "≤" },
            human(self.value)
        )
    }
}

/// One measured quantity: every round's value, an optional same-run baseline and target.
#[derive(Debug, Clone)]
struct Metric {
    key: String,
    name: String,
    unit: &'static str,
    rounds: Vec<f64>,
    baseline: Option<(String, Vec<f64>)>,
    target: Option<Target>,
    note: String,
}

impl Metric {
    fn new(key: &str, name: &str, unit: &'static str, rounds: Vec<f64>) -> Metric {
        Metric {
            key: key.to_owned(),
            name: name.to_owned(),
            unit,
            rounds,
            baseline: None,
            target: None,
            note: String::new(),
        }
    }

    fn baseline(mut self, name: &str, rounds: Vec<f64>) -> Metric {
        self.baseline = Some((name.to_owned(), rounds));
        self
    }

    fn target(mut self, at_least: bool, value: f64) -> Metric {
        self.target = Some(Target { at_least, value });
        self
    }

    fn note(mut self, note: impl Into<String>) -> Metric {
        self.note = note.into();
        self
    }

    fn median(&self) -> f64 {
        median(&self.rounds)
    }

    fn ratio(&self) -> Option<f64> {
        self.baseline
            .as_ref()
            .map(|(_, b)| self.median() / median(b))
    }

    fn met(&self) -> Option<bool> {
        self.target.map(|t| t.met(self.median()))
    }
}

fn human(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v.abs() >= 1000.0 {
        let n = v.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 { format!("-{out}") } else { out }
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn spread(rounds: &[f64]) -> String {
    let min = rounds.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rounds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if rounds.len() < 2 {
        String::from("1 round")
    } else {
        format!("{}–{}", human(min), human(max))
    }
}

fn workspace_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target");
            dir.canonicalize().unwrap_or(dir)
        }
    }
}

/// A temporary directory on the same disk as the build (not a RAM-backed `/tmp`).
fn scratch_dir(target: &Path) -> anyhow::Result<tempfile::TempDir> {
    std::fs::create_dir_all(target)?;
    Ok(tempfile::Builder::new()
        .prefix("engine-targets-")
        .tempdir_in(target)?)
}

fn progress(what: &str) {
    eprintln!("[engine_targets] {what}");
}

// ---- commits, durability None -----------------------------------------------------------

/// Rows are built in chunks outside the timed loops (the caller's cost, not the engine's).
const BUILD_CHUNK: u64 = 10_000;

fn commit_none_round(n: u64) -> anyhow::Result<f64> {
    let engine = Engine::in_memory(EngineConfig::in_memory());
    let db = engine.create_database("bench")?;
    db.write(|tx| tx.create_table(items_def(false)))?;
    let mut busy = Duration::ZERO;
    let mut next = 0;
    while next < n {
        let end = (next + BUILD_CHUNK).min(n);
        let rows: Vec<Vec<Value>> = (next..end).map(|i| item_row(i, n)).collect();
        let started = Instant::now();
        for row in rows {
            db.write(|tx| tx.insert(TABLE, row))?;
        }
        busy += started.elapsed();
        next = end;
    }
    let live = db.stats().live_rows;
    if live != n {
        bail!("expected {n} rows after the commit loop, found {live}");
    }
    Ok(n as f64 / busy.as_secs_f64())
}

fn btreemap_insert_round(n: u64) -> anyhow::Result<f64> {
    let columns = items_def(false).columns;
    let mut map: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut busy = Duration::ZERO;
    let mut next = 0;
    while next < n {
        let end = (next + BUILD_CHUNK).min(n);
        let rows: Vec<Vec<Value>> = (next..end)
            .map(|i| {
                let mut row = item_row(i, n);
                row[0] = Value::U64(i + 1);
                row
            })
            .collect();
        let started = Instant::now();
        for (i, row) in (next..end).zip(rows) {
            map.insert(i + 1, encode_row(&columns, &row)?);
        }
        busy += started.elapsed();
        next = end;
    }
    std::hint::black_box(&map);
    Ok(n as f64 / busy.as_secs_f64())
}

fn commits_none(plan: &Plan) -> anyhow::Result<Vec<Metric>> {
    progress(&format!(
        "single-row commits, durability None ({} commits × {} rounds)",
        plan.commits_none, plan.rounds
    ));
    let mut engine = Vec::new();
    let mut baseline = Vec::new();
    for _ in 0..plan.rounds {
        engine.push(commit_none_round(plan.commits_none)?);
        baseline.push(btreemap_insert_round(plan.commits_none)?);
    }
    Ok(vec![
        Metric::new(
            "commit_none_per_s",
            "Single-row insert commits, durability None",
            "commits/s",
            engine,
        )
        .baseline("BTreeMap<u64, Vec<u8>> encode+insert", baseline)
        .target(true, 1_000_000.0)
        .note(format!(
            "{} commits into an empty table per round; rows built outside the timed loop",
            plan.commits_none
        )),
    ])
}

// ---- commits, durability Fsync ----------------------------------------------------------

struct FsyncRound {
    commits_per_s: f64,
    fsyncs_per_commit: f64,
}

fn fsync_round(target: &Path, writers: usize, window: Duration) -> anyhow::Result<FsyncRound> {
    let dir = scratch_dir(target)?;
    let engine = Engine::open(dir.path(), EngineConfig::default())?;
    let db = engine.create_database("bench")?;
    db.write(|tx| tx.create_table(items_def(false)))?;
    let stop = AtomicBool::new(false);
    let commits = AtomicU64::new(0);
    let before = db.stats().wal_fsyncs;
    let started = Instant::now();
    let elapsed = std::thread::scope(|scope| -> anyhow::Result<Duration> {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let (db, stop, commits) = (&db, &stop, &commits);
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut i = (w as u64) << 40;
                    while !stop.load(Ordering::Relaxed) {
                        db.write(|tx| tx.insert(TABLE, item_row(i, u64::MAX)))?;
                        commits.fetch_add(1, Ordering::Relaxed);
                        i += 1;
                    }
                    Ok(())
                })
            })
            .collect();
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a writer panicked"))??;
        }
        Ok(started.elapsed())
    })?;
    let after = db.stats().wal_fsyncs;
    let commits = commits.load(Ordering::Relaxed);
    drop(db);
    engine.close()?;
    if commits == 0 {
        bail!("no commit completed in {window:?} with {writers} writers");
    }
    Ok(FsyncRound {
        commits_per_s: commits as f64 / elapsed.as_secs_f64(),
        fsyncs_per_commit: (after - before) as f64 / commits as f64,
    })
}

/// fdatasyncs per second of this disk: append 128 bytes, `sync_data`, repeat.
fn raw_fsync_round(target: &Path, window: Duration) -> anyhow::Result<f64> {
    let dir = scratch_dir(target)?;
    let mut file = std::fs::File::create(dir.path().join("raw.log"))?;
    let record = [0x5au8; 128];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < window {
        file.write_all(&record)?;
        file.sync_data()?;
        n += 1;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

fn commits_fsync(plan: &Plan, target: &Path) -> anyhow::Result<Vec<Metric>> {
    let mut raw = Vec::new();
    let mut per_writers: Vec<(usize, Vec<f64>, Vec<f64>)> = Vec::new();
    for writers in [1usize, 4, 16] {
        per_writers.push((writers, Vec::new(), Vec::new()));
    }
    for round in 0..plan.fsync_rounds {
        progress(&format!(
            "durability Fsync, round {}/{}",
            round + 1,
            plan.fsync_rounds
        ));
        raw.push(raw_fsync_round(target, plan.fsync_window)?);
        for (writers, rates, fsyncs) in &mut per_writers {
            let r = fsync_round(target, *writers, plan.fsync_window)?;
            rates.push(r.commits_per_s);
            fsyncs.push(r.fsyncs_per_commit);
        }
    }
    let mut metrics = vec![
        Metric::new(
            "raw_fdatasync_per_s",
            "Raw append + fdatasync loop (disk baseline)",
            "fsyncs/s",
            raw.clone(),
        )
        .note("128-byte appends to one file, `File::write_all` + `sync_data`"),
    ];
    for (writers, rates, fsyncs) in per_writers {
        metrics.push(
            Metric::new(
                &format!("commit_fsync_{writers}w_per_s"),
                &format!("Single-row insert commits, durability Fsync, {writers} writer(s)"),
                "commits/s",
                rates,
            )
            .baseline("raw fdatasync/s", raw.clone())
            .note(format!(
                "{} s window per round",
                plan.fsync_window.as_secs_f64()
            )),
        );
        let mut m = Metric::new(
            &format!("fsyncs_per_commit_{writers}w"),
            &format!("Fsyncs per commit, {writers} writer(s)"),
            "fsyncs/commit",
            fsyncs,
        );
        if writers == 16 {
            m = m.target(false, 0.1);
        }
        metrics.push(m);
    }
    Ok(metrics)
}

// ---- reads ------------------------------------------------------------------------------

fn reads(plan: &Plan) -> anyhow::Result<Vec<Metric>> {
    let n = plan.read_rows;
    progress(&format!(
        "reads on a {n}-row table ({} rounds)",
        plan.rounds
    ));
    let (_engine, db) = memory_db(n, true)?;
    let snapshot = db.snapshot()?;
    let columns = items_def(true).columns;
    // Baseline: the same rows in a BTreeMap keyed by id, and a BTreeMap (score, id) index.
    let mut primary: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut by_score: BTreeMap<(i64, u64), ()> = BTreeMap::new();
    for i in 0..n {
        let mut row = item_row(i, n);
        row[0] = Value::U64(i + 1);
        if let Value::I64(score) = row[3] {
            by_score.insert((score, i + 1), ());
        }
        primary.insert(i + 1, encode_row(&columns, &row)?);
    }
    let range_len: i64 = 100;
    let (mut gets, mut gets_base, mut ranges, mut ranges_base, mut scans, mut scans_base) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for round in 0..plan.rounds as u64 {
        let seed = round << 32;
        let (found, secs) = timed(|| -> anyhow::Result<u64> {
            let mut found = 0;
            for j in 0..plan.gets {
                let key = [Value::U64(mix(seed + j) % n + 1)];
                found += u64::from(snapshot.get(TABLE, &key)?.is_some());
            }
            Ok(found)
        });
        if found? != plan.gets {
            bail!("a get by primary key missed");
        }
        gets.push(plan.gets as f64 / secs);
        let (found, secs) = timed(|| -> anyhow::Result<u64> {
            let mut found = 0;
            for j in 0..plan.gets {
                let key = mix(seed + j) % n + 1;
                if let Some(bytes) = primary.get(&key) {
                    found += u64::from(!decode_row(&columns, bytes)?.is_empty());
                }
            }
            Ok(found)
        });
        if found? != plan.gets {
            bail!("a baseline get missed");
        }
        gets_base.push(plan.gets as f64 / secs);

        let (rows, secs) = timed(|| -> anyhow::Result<u64> {
            let mut rows = 0;
            for j in 0..plan.ranges {
                let lo = (mix(seed + j) % (n - range_len as u64)) as i64;
                let (lower, upper) = ([Value::I64(lo)], [Value::I64(lo + range_len)]);
                rows += snapshot
                    .range(
                        TABLE,
                        SCORE_INDEX,
                        Bound::Included(&lower),
                        Bound::Excluded(&upper),
                        usize::MAX,
                    )?
                    .len() as u64;
            }
            Ok(rows)
        });
        let rows = rows?;
        if rows != plan.ranges * range_len as u64 {
            bail!(
                "range scans returned {rows} rows, expected {}",
                plan.ranges * range_len as u64
            );
        }
        ranges.push(rows as f64 / secs);
        let (rows, secs) = timed(|| -> anyhow::Result<u64> {
            let mut rows = 0;
            for j in 0..plan.ranges {
                let lo = (mix(seed + j) % (n - range_len as u64)) as i64;
                let mut out = Vec::new();
                for (&(_, id), ()) in by_score.range((lo, 0)..(lo + range_len, 0)) {
                    if let Some(bytes) = primary.get(&id) {
                        out.push(decode_row(&columns, bytes)?);
                    }
                }
                rows += out.len() as u64;
            }
            Ok(rows)
        });
        ranges_base.push(rows? as f64 / secs);
    }
    for _ in 0..plan.scans {
        let (rows, secs) = timed(|| snapshot.scan(TABLE));
        let rows = rows?.len() as u64;
        if rows != n {
            bail!("full scan returned {rows} rows, expected {n}");
        }
        scans.push(rows as f64 / secs);
        let (rows, secs) = timed(|| -> anyhow::Result<usize> {
            let out: Vec<Vec<Value>> = primary
                .values()
                .map(|b| decode_row(&columns, b))
                .collect::<Result<_, _>>()?;
            Ok(out.len())
        });
        scans_base.push(rows? as f64 / secs);
    }
    Ok(vec![
        Metric::new(
            "get_pk_per_s",
            "Get by primary key (Snapshot::get), 100k rows",
            "ops/s",
            gets,
        )
        .baseline("BTreeMap get + decode_row", gets_base)
        .note("random keys, one snapshot reused"),
        Metric::new(
            "range_scan_rows_per_s",
            "Index range scan (Snapshot::range), 100 of 100k rows",
            "rows/s",
            ranges,
        )
        .baseline("BTreeMap (score,id) range + get + decode_row", ranges_base)
        .note("secondary btree index on `score`, random start"),
        Metric::new(
            "full_scan_rows_per_s",
            "Full scan (Snapshot::scan), 100k rows",
            "rows/s",
            scans,
        )
        .baseline("BTreeMap values + decode_row", scans_base)
        .note("decoded rows"),
    ])
}

// ---- a reader and a writer at once, and updates ----------------------------------------

/// A 2-column table for the writer workloads.
fn counters_def() -> cosmictron_types::TableDef {
    cosmictron_types::TableDef::new("counters")
        .column("id", cosmictron_types::ScalarType::U64)
        .column("value", cosmictron_types::ScalarType::I64)
        .primary_key(&["id"])
        .auto_inc("id")
}

/// Gets by primary key on `items` and/or single-row commits on the separate `counters` table
/// (an insert, then a delete of that row: the table stays small and every key has one
/// version), for `window`; returns (gets/s, commits/s).
fn contention_round(
    db: &cosmictron_engine::Database,
    n: u64,
    reader: bool,
    writer: bool,
    window: Duration,
    seed: u64,
) -> anyhow::Result<(f64, f64)> {
    let stop = AtomicBool::new(false);
    let (gets, commits) = (AtomicU64::new(0), AtomicU64::new(0));
    let started = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let writer = writer.then(|| {
            scope.spawn(|| -> anyhow::Result<()> {
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..32 {
                        let (row, _) = db.write(|tx| {
                            tx.insert("counters", vec![Value::U64(0), Value::I64(1)])
                        })?;
                        db.write(|tx| tx.delete("counters", &row[..1]))?;
                    }
                    commits.fetch_add(64, Ordering::Relaxed);
                }
                Ok(())
            })
        });
        let reader = reader.then(|| {
            scope.spawn(|| -> anyhow::Result<()> {
                let snapshot = db.snapshot()?;
                let mut g = seed;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..64 {
                        g += 1;
                        let key = [Value::U64(mix(g) % n + 1)];
                        std::hint::black_box(snapshot.get(TABLE, &key)?);
                    }
                    gets.fetch_add(64, Ordering::Relaxed);
                }
                Ok(())
            })
        });
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
        for handle in [writer, reader].into_iter().flatten() {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a thread panicked"))??;
        }
        Ok(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    Ok((
        gets.load(Ordering::Relaxed) as f64 / secs,
        commits.load(Ordering::Relaxed) as f64 / secs,
    ))
}

/// Commits/s of `count` single-row updates spread over a `rows`-row table (fresh database).
fn update_round(rows: u64, count: u64) -> anyhow::Result<f64> {
    let engine = Engine::in_memory(EngineConfig::in_memory());
    let db = engine.create_database("bench")?;
    db.write(|tx| {
        tx.create_table(counters_def())?;
        for _ in 0..rows {
            tx.insert("counters", vec![Value::U64(0), Value::I64(0)])?;
        }
        Ok(())
    })?;
    let (result, secs) = timed(|| -> anyhow::Result<()> {
        for k in 0..count {
            let id = mix(k) % rows + 1;
            db.write(|tx| tx.update("counters", vec![Value::U64(id), Value::I64(k as i64)]))?;
        }
        Ok(())
    });
    result?;
    Ok(count as f64 / secs)
}

fn contention(plan: &Plan) -> anyhow::Result<Vec<Metric>> {
    let n = plan.read_rows;
    progress(&format!(
        "a reader and a writer at once ({} rounds)",
        plan.rounds
    ));
    let (_engine, db) = memory_db(n, false)?;
    db.write(|tx| tx.create_table(counters_def()))?;
    let window = plan.contention_window;
    let (mut gets_alone, mut gets_shared, mut commits_alone, mut commits_shared) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..plan.rounds as u64 {
        let seed = round << 40;
        gets_alone.push(contention_round(&db, n, true, false, window, seed)?.0);
        commits_alone.push(contention_round(&db, n, false, true, window, seed)?.1);
        let (gets, commits) = contention_round(&db, n, true, true, window, seed)?;
        gets_shared.push(gets);
        commits_shared.push(commits);
    }
    let updates = plan.commits_none / 5;
    progress(&format!(
        "single-row updates, {updates} per round ({} rounds)",
        plan.rounds
    ));
    let (mut hot, mut spread_out) = (Vec::new(), Vec::new());
    for _ in 0..plan.rounds {
        hot.push(update_round(1_000, updates)?);
        spread_out.push(update_round(100_000, updates)?);
    }
    Ok(vec![
        Metric::new(
            "get_pk_with_writer_per_s",
            "Get by primary key while 1 writer commits (durability None)",
            "ops/s",
            gets_shared,
        )
        .baseline("the same reader alone", gets_alone)
        .note(
            "reader on `items` (100k rows); writer: single-row insert and delete commits on \
             a separate table",
        ),
        Metric::new(
            "commit_with_reader_per_s",
            "Single-row commits while 1 reader reads (durability None)",
            "commits/s",
            commits_shared,
        )
        .baseline("the same writer alone", commits_alone),
        Metric::new(
            "update_hot_1k_per_s",
            "Single-row update commits, 1,000-row table",
            "commits/s",
            hot,
        )
        .baseline("the same on a 100k-row table", spread_out)
        .note(format!(
            "{updates} updates of random rows per round; the history window keeps old versions"
        )),
    ])
}

// ---- recovery ---------------------------------------------------------------------------

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// One way of building the database that recovery then reopens.
#[derive(Debug, Clone, Copy)]
struct RecoveryCase {
    key: &'static str,
    label: &'static str,
    rows_per_tx: u64,
    snapshot: bool,
    /// Build with `Buffered` durability (one fsync per 10 ms) instead of `Fsync`.
    buffered: bool,
}

const RECOVERY_CASES: [RecoveryCase; 3] = [
    RecoveryCase {
        key: "wal",
        label: "WAL only, 10k-row txs",
        rows_per_tx: 10_000,
        snapshot: false,
        buffered: false,
    },
    RecoveryCase {
        key: "snapshot",
        label: "snapshot + WAL tail",
        rows_per_tx: 10_000,
        snapshot: true,
        buffered: false,
    },
    RecoveryCase {
        key: "wal_single_row_txs",
        label: "WAL only, single-row txs",
        rows_per_tx: 1,
        snapshot: false,
        buffered: true,
    },
];

/// Background snapshots off, so that recovery reads exactly what each case built.
fn recovery_config(buffered: bool) -> EngineConfig {
    let mut config = EngineConfig::default();
    config.snapshots.every_txs = None;
    if buffered {
        config.durability = cosmictron_engine::Durability::Buffered {
            interval: Duration::from_millis(10),
        };
    }
    config
}

struct Built {
    _dir: tempfile::TempDir,
    path: PathBuf,
    wal_bytes: u64,
    snapshot_bytes: u64,
}

/// Builds an `n`-row database, optionally writes a snapshot, and closes it.
fn build_recovery_db(target: &Path, n: u64, case: RecoveryCase) -> anyhow::Result<Built> {
    let dir = scratch_dir(target)?;
    let path = dir.path().to_owned();
    let engine = Engine::open(&path, recovery_config(case.buffered))?;
    let db = engine.create_database("bench")?;
    let (loaded, secs) = timed(|| load_items(&db, n, case.rows_per_tx, false));
    loaded?;
    progress(&format!(
        "  built {n} rows in {secs:.2} s ({:.0} rows/s)",
        n as f64 / secs
    ));
    if case.snapshot {
        let (tx, secs) = timed(|| db.write_snapshot());
        progress(&format!("  snapshot at tx {} written in {secs:.2} s", tx?));
    }
    drop(db);
    engine.close()?;
    let db_dir = path.join("databases").join("bench");
    Ok(Built {
        wal_bytes: dir_bytes(&db_dir.join("wal")),
        snapshot_bytes: dir_bytes(&db_dir.join("snapshots")),
        _dir: dir,
        path,
    })
}

struct RecoveryRound {
    rows_per_s: f64,
    wal_open_ms: f64,
    wal_replay_ms: f64,
}

fn recovery_round(built: &Built, n: u64, case: RecoveryCase) -> anyhow::Result<RecoveryRound> {
    let (engine, secs) = timed(|| Engine::open(&built.path, recovery_config(case.buffered)));
    let engine = engine?;
    let db = engine.database("bench")?;
    let report = db.recovery_report().clone();
    let live = db.stats().live_rows;
    if live != n {
        bail!("recovered {live} rows, expected {n}");
    }
    if case.snapshot && report.snapshot_rows != n {
        bail!("expected recovery from a snapshot of {n} rows, got {report:?}");
    }
    drop(db);
    engine.close()?;
    // The WAL's own share, on the same files: `Wal::open` (reads and checks every record) and
    // `Wal::replay` with a no-op callback (reads and checks them again).
    let wal_dir = built.path.join("databases").join("bench").join("wal");
    let (wal, open_s) = timed(|| -> anyhow::Result<Wal> {
        Ok(Wal::open(
            std::sync::Arc::new(FileStorage::open(&wal_dir)?),
            WalConfig::default(),
        )?)
    });
    let wal = wal?;
    let (replayed, replay_s) = timed(|| {
        wal.replay(0, &mut |_, payload| {
            std::hint::black_box(payload);
            Ok(())
        })
    });
    replayed?;
    Ok(RecoveryRound {
        rows_per_s: n as f64 / secs,
        wal_open_ms: open_s * 1000.0,
        wal_replay_ms: replay_s * 1000.0,
    })
}

fn recovery(plan: &Plan, target: &Path) -> anyhow::Result<Vec<Metric>> {
    let n = plan.recovery_rows;
    let mut metrics = Vec::new();
    for case in RECOVERY_CASES {
        progress(&format!(
            "recovery of {n} rows, {} ({} rounds)",
            case.label, plan.recovery_rounds
        ));
        let built = build_recovery_db(target, n, case)?;
        let (mut rates, mut opens, mut replays) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..plan.recovery_rounds {
            let r = recovery_round(&built, n, case)?;
            rates.push(r.rows_per_s);
            opens.push(r.wal_open_ms);
            replays.push(r.wal_replay_ms);
        }
        let mut rate = Metric::new(
            &format!("recovery_{}_rows_per_s", case.key),
            &format!("Recovery (Engine::open), {}, {n} rows", case.label),
            "rows/s",
            rates,
        )
        .note(format!(
            "WAL {:.1} MB, snapshot {:.1} MB on disk; built with {}; warm page cache",
            built.wal_bytes as f64 / 1e6,
            built.snapshot_bytes as f64 / 1e6,
            if case.buffered {
                "durability Buffered (10 ms)"
            } else {
                "durability Fsync"
            }
        ));
        // The targets are the 10k-row-transaction builds; single-row txs are extra.
        if case.rows_per_tx > 1 {
            rate = rate.target(true, 1_000_000.0);
        }
        metrics.push(rate);
        metrics.push(
            Metric::new(
                &format!("recovery_{}_wal_open_ms", case.key),
                &format!("  of which Wal::open alone ({})", case.label),
                "ms",
                opens,
            )
            .note("reads and CRC-checks every segment"),
        );
        metrics.push(
            Metric::new(
                &format!("recovery_{}_wal_replay_ms", case.key),
                &format!(
                    "  of which Wal::replay alone, no-op callback ({})",
                    case.label
                ),
                "ms",
                replays,
            )
            .note("reads and CRC-checks every segment again"),
        );
    }
    Ok(metrics)
}

// ---- memory -----------------------------------------------------------------------------

/// Runs in a child process: loads `rows` rows and prints `rss_delta reported` in bytes.
fn memory_child(kind: &str, rows: u64) -> anyhow::Result<()> {
    let (rss_delta, reported) = match kind {
        "engine" | "engine_indexed" => {
            let engine = Engine::in_memory(EngineConfig::in_memory());
            let db = engine.create_database("bench")?;
            let before = rss_bytes().context("no VmRSS")?;
            load_items(&db, rows, 10_000, kind == "engine_indexed")?;
            let after = rss_bytes().context("no VmRSS")?;
            let reported = db.stats().memory_bytes as u64;
            std::hint::black_box(&db);
            (after.saturating_sub(before), reported)
        }
        "btreemap" => {
            let columns = items_def(false).columns;
            let before = rss_bytes().context("no VmRSS")?;
            let mut map: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
            for i in 0..rows {
                let mut row = item_row(i, rows);
                row[0] = Value::U64(i + 1);
                // `encode_row` reserves an estimate; store exactly the row's bytes.
                let mut bytes = encode_row(&columns, &row)?;
                bytes.shrink_to_fit();
                map.insert(i + 1, bytes);
            }
            let after = rss_bytes().context("no VmRSS")?;
            std::hint::black_box(&map);
            (after.saturating_sub(before), 0)
        }
        other => bail!("unknown memory workload {other}"),
    };
    println!("{rss_delta} {reported}");
    Ok(())
}

fn run_memory_child(kind: &str, rows: u64) -> anyhow::Result<(f64, f64)> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .args(["--memory-child", kind, &rows.to_string()])
        .output()
        .context("run the memory child")?;
    if !out.status.success() {
        bail!(
            "memory child {kind} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout)?;
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(rss)), Some(Ok(reported))) => {
            Ok((rss as f64 / rows as f64, reported as f64 / rows as f64))
        }
        _ => bail!("memory child {kind} printed {text:?}"),
    }
}

fn memory(plan: &Plan) -> anyhow::Result<Vec<Metric>> {
    let n = plan.memory_rows;
    progress(&format!(
        "memory per row, {n} rows ({} rounds, child processes)",
        plan.memory_rounds
    ));
    let encoded = encoded_row_len(n / 2, n)? as f64;
    let (mut engine, mut reported, mut indexed, mut baseline) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..plan.memory_rounds {
        let (rss, rep) = run_memory_child("engine", n)?;
        engine.push(rss);
        reported.push(rep);
        indexed.push(run_memory_child("engine_indexed", n)?.0);
        baseline.push(run_memory_child("btreemap", n)?.0);
    }
    let ratio: Vec<f64> = engine.iter().map(|b| b / encoded).collect();
    Ok(vec![
        Metric::new(
            "encoded_row_bytes",
            "Encoded row size (encode_row)",
            "bytes",
            vec![encoded],
        ),
        Metric::new(
            "memory_rss_bytes_per_row",
            &format!("Memory per row, RSS delta, {n} rows"),
            "bytes/row",
            engine,
        )
        .baseline("BTreeMap<u64, Vec<u8>> RSS delta", baseline.clone())
        .note("primary key index only"),
        Metric::new(
            "memory_ratio_to_encoded",
            "Memory per row ÷ encoded row size",
            "×",
            ratio,
        )
        .target(false, 2.0),
        Metric::new(
            "memory_reported_bytes_per_row",
            "Memory per row, db.stats().memory_bytes",
            "bytes/row",
            reported,
        )
        .note("the engine's own estimate"),
        Metric::new(
            "memory_rss_bytes_per_row_indexed",
            "Memory per row, RSS delta, with the `score` index",
            "bytes/row",
            indexed,
        )
        .baseline("BTreeMap<u64, Vec<u8>> RSS delta", baseline.clone()),
        Metric::new(
            "baseline_btreemap_bytes_per_row",
            "Baseline: BTreeMap<u64, Vec<u8>>, RSS delta",
            "bytes/row",
            baseline,
        ),
    ])
}

// ---- output -----------------------------------------------------------------------------

/// The 1, 5 and 15 minute load averages: other work on a shared machine shows here.
fn loadavg() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn machine() -> Vec<(&'static str, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
        );
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    vec![
        ("cpus", cpus.to_string()),
        ("cpu_model", cpu),
        ("memory", mem),
        ("loadavg_at_start", load),
    ]
}

fn markdown(metrics: &[Metric]) -> String {
    let mut out = String::new();
    out.push_str("| Workload | Median | Unit | Spread (min–max) | Same-run baseline | Ratio | Target | Met |\n");
    out.push_str("|---|---:|---|---|---|---:|---|---|\n");
    for m in metrics {
        let (base, ratio) = match (&m.baseline, m.ratio()) {
            (Some((name, rounds)), Some(r)) => (
                format!("{name}: {}", human(median(rounds))),
                format!("{r:.2}×"),
            ),
            _ => (String::new(), String::new()),
        };
        let target = m.target.map(|t| t.text(m.unit)).unwrap_or_default();
        let met = match m.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {base} | {ratio} | {target} | {met} |",
            m.name,
            human(m.median()),
            m.unit,
            spread(&m.rounds)
        );
    }
    out
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".to_owned()
    }
}

fn json_list(values: &[f64]) -> String {
    format!(
        "[{}]",
        values
            .iter()
            .map(|v| json_num(*v))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn json(plan: &Plan, machine: &[(&str, String)], metrics: &[Metric]) -> String {
    let mut out = String::from("{\n");
    let _ = writeln!(out, "  \"quick\": {},", plan.quick);
    let fields: Vec<String> = machine
        .iter()
        .map(|(k, v)| format!("{}: {}", json_str(k), json_str(v)))
        .collect();
    let _ = writeln!(out, "  \"machine\": {{{}}},", fields.join(", "));
    out.push_str("  \"metrics\": [\n");
    for (i, m) in metrics.iter().enumerate() {
        let mut fields = vec![
            format!("\"key\": {}", json_str(&m.key)),
            format!("\"name\": {}", json_str(m.name.trim())),
            format!("\"unit\": {}", json_str(m.unit)),
            format!("\"median\": {}", json_num(m.median())),
            format!("\"rounds\": {}", json_list(&m.rounds)),
        ];
        if let Some((name, rounds)) = &m.baseline {
            fields.push(format!(
                "\"baseline\": {{\"name\": {}, \"median\": {}, \"rounds\": {}}}",
                json_str(name),
                json_num(median(rounds)),
                json_list(rounds)
            ));
            fields.push(format!(
                "\"ratio\": {}",
                json_num(m.ratio().unwrap_or(f64::NAN))
            ));
        }
        if let Some(t) = m.target {
            fields.push(format!(
                "\"target\": {{\"at_least\": {}, \"value\": {}, \"met\": {}}}",
                t.at_least,
                json_num(t.value),
                t.met(m.median())
            ));
        }
        if !m.note.is_empty() {
            fields.push(format!("\"note\": {}", json_str(&m.note)));
        }
        let comma = if i + 1 < metrics.len() { "," } else { "" };
        let _ = writeln!(out, "    {{{}}}{comma}", fields.join(", "));
    }
    out.push_str("  ]\n}\n");
    out
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--memory-child") {
        let kind = args.get(1).context("--memory-child KIND ROWS")?;
        let rows = args.get(2).context("--memory-child KIND ROWS")?.parse()?;
        return memory_child(kind, rows);
    }
    const USAGE: &str = "usage: engine_targets [--quick] [--only memory|commit_none|fsync|reads|contention|recovery]";
    let mut quick = false;
    let mut only: Option<String> = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--only" => only = Some(rest.next().context(USAGE)?.clone()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other} ({USAGE})"),
        }
    }
    let sections = [
        "memory",
        "commit_none",
        "fsync",
        "reads",
        "contention",
        "recovery",
    ];
    if let Some(only) = &only
        && !sections.contains(&only.as_str())
    {
        bail!("unknown section {only} ({USAGE})");
    }
    let wanted = |section: &str| only.as_deref().is_none_or(|o| o == section);
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run with --release for meaningful numbers");
    }
    let plan = Plan::new(quick);
    let target = workspace_target_dir();
    let mut machine = machine();
    let started = Instant::now();
    let mut metrics = Vec::new();
    if wanted("memory") {
        metrics.extend(memory(&plan)?);
    }
    if wanted("commit_none") {
        metrics.extend(commits_none(&plan)?);
    }
    if wanted("fsync") {
        metrics.extend(commits_fsync(&plan, &target)?);
    }
    if wanted("reads") {
        metrics.extend(reads(&plan)?);
    }
    if wanted("contention") {
        metrics.extend(contention(&plan)?);
    }
    if wanted("recovery") {
        metrics.extend(recovery(&plan, &target)?);
    }
    let took = started.elapsed().as_secs_f64();
    machine.push(("loadavg_at_end", loadavg()));
    machine.push(("run_seconds", format!("{took:.0}")));

    println!(
        "## Engine targets{}\n",
        if quick { " (--quick)" } else { "" }
    );
    for (k, v) in &machine {
        println!("- {k}: {v}");
    }
    println!();
    print!("{}", markdown(&metrics));
    let notes: Vec<&Metric> = metrics.iter().filter(|m| !m.note.is_empty()).collect();
    if !notes.is_empty() {
        println!();
        for m in notes {
            println!("- {}: {}", m.name.trim(), m.note);
        }
    }
    // A partial run (`--only`) does not overwrite the full results.
    let file = if only.is_some() {
        "engine-targets-partial.json"
    } else {
        "engine-targets.json"
    };
    let path = target.join(file);
    std::fs::write(&path, json(&plan, &machine, &metrics))
        .with_context(|| format!("write {}", path.display()))?;
    println!("\nwrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_are_formatted() {
        assert_eq!(human(1_234_567.4), "1,234,567");
        assert_eq!(human(-1000.0), "-1,000");
        assert_eq!(human(81.0), "81.00");
        assert_eq!(human(0.1234), "0.123");
        assert_eq!(json_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
        assert_eq!(json_num(f64::NAN), "null");
    }

    #[test]
    fn targets_compare_the_median() {
        let m = Metric::new("k", "n", "x", vec![3.0, 1.0, 2.0]).target(false, 2.0);
        assert_eq!(m.met(), Some(true));
        let m = Metric::new("k", "n", "x", vec![3.0, 1.0, 2.0]).target(true, 2.5);
        assert_eq!(m.met(), Some(false));
    }
}
