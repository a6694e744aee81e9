//! Criterion micro-benchmarks of the engine's native API.
//!
//! `cargo bench -p cosmictron-benches --bench engine` (about a minute and a half). Measurement
//! times are short on purpose: the suite runs on small shared machines; the target runner
//! (`engine_targets`) gives the numbers quoted in `docs/performance.md`.
//!
//! - `insert_commit/durability_none`: one transaction inserting one row into `items` and
//!   committing, on a memory-only engine (each sample starts from an empty table, so memory
//!   stays bounded; rows are built before the clock starts).
//! - `get_pk/100k`: `Snapshot::get` by primary key, random keys, on a 100k-row table; the
//!   `fresh_snapshot` variant opens a snapshot for every lookup.
//! - `range_scan/100_of_100k`: `Snapshot::range` over the secondary btree index on `score`,
//!   100 rows of 100k, random start.
//! - `full_scan/100k`: `Snapshot::scan` (decoded rows) and `Snapshot::scan_raw` (encoded
//!   bytes) over 100k rows.

use std::hint::black_box;
use std::ops::Bound;
use std::time::{Duration, Instant};

use cosmictron_benches::{SCORE_INDEX, TABLE, item_row, memory_db, mix};
use cosmictron_engine::{Engine, EngineConfig};
use cosmictron_types::Value;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ROWS: u64 = 100_000;
const RANGE_ROWS: i64 = 100;

fn insert_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert_commit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("durability_none", |b| {
        b.iter_custom(|iters| {
            let engine = Engine::in_memory(EngineConfig::in_memory());
            let db = engine.create_database("bench").expect("create database");
            db.write(|tx| tx.create_table(cosmictron_benches::items_def(false)))
                .expect("create table");
            // Rows are built before the clock starts: the caller's cost, not the engine's.
            let rows: Vec<Vec<Value>> = (0..iters).map(|i| item_row(i, ROWS)).collect();
            let started = Instant::now();
            for row in rows {
                let info = db.write(|tx| tx.insert(TABLE, row)).expect("commit");
                black_box(info);
            }
            started.elapsed()
        });
    });
    group.finish();
}

fn reads(c: &mut Criterion) {
    let (_engine, db) = memory_db(ROWS, true).expect("load 100k rows");
    let snapshot = db.snapshot().expect("snapshot");

    let mut group = c.benchmark_group("get_pk");
    group.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    group.bench_function("100k", |b| {
        b.iter(|| {
            n += 1;
            let key = [Value::U64(mix(n) % ROWS + 1)];
            let row = snapshot.get(TABLE, &key).expect("get");
            debug_assert!(row.is_some());
            black_box(row)
        });
    });
    group.bench_function("100k_fresh_snapshot", |b| {
        b.iter(|| {
            n += 1;
            let key = [Value::U64(mix(n) % ROWS + 1)];
            let row = db.snapshot().and_then(|s| s.get(TABLE, &key)).expect("get");
            black_box(row)
        });
    });
    group.finish();

    let mut group = c.benchmark_group("range_scan");
    group.throughput(Throughput::Elements(RANGE_ROWS as u64));
    group.bench_function("100_of_100k", |b| {
        b.iter(|| {
            n += 1;
            let lo = (mix(n) % (ROWS - RANGE_ROWS as u64)) as i64;
            let (lower, upper) = ([Value::I64(lo)], [Value::I64(lo + RANGE_ROWS)]);
            let rows = snapshot
                .range(
                    TABLE,
                    SCORE_INDEX,
                    Bound::Included(&lower),
                    Bound::Excluded(&upper),
                    usize::MAX,
                )
                .expect("range");
            debug_assert_eq!(rows.len(), RANGE_ROWS as usize);
            black_box(rows)
        });
    });
    group.finish();

    let mut group = c.benchmark_group("full_scan");
    group.throughput(Throughput::Elements(ROWS));
    group.sample_size(10);
    group.bench_function("100k_decoded", |b| {
        b.iter(|| {
            let rows = snapshot.scan(TABLE).expect("scan");
            debug_assert_eq!(rows.len(), ROWS as usize);
            black_box(rows)
        });
    });
    group.bench_function("100k_raw", |b| {
        b.iter(|| {
            let mut bytes = 0usize;
            snapshot
                .scan_raw(TABLE, |row| {
                    bytes += row.len();
                    Ok(())
                })
                .expect("scan");
            black_box(bytes)
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = insert_commit, reads
}
criterion_main!(benches);
