//! Reducer calls through the WASM host against the same transaction on the native engine API.
//!
//! `cargo bench -p cosmictron-benches --bench reducers` (builds the `basic` test module for
//! wasm32 first). Every workload runs on a memory-only engine (durability `none`), one thread,
//! each sample on a fresh database; arguments and rows are built before the clock starts.
//!
//! - First, `insert, WASM ÷ native`: the two inserts below in alternating rounds, each round on
//!   fresh databases, printed as medians over rounds and the median of the rounds' ratios (the
//!   separate criterion runs of the two drift apart by ±15% on a busy machine).
//! - `reducers/native_insert`: `Database::write` inserting one `items` row (the `basic` module's
//!   table: primary key with auto-increment, a unique and a secondary index) and committing.
//! - `reducers/wasm_insert_msgpack`: the `insert_item` reducer doing that insert, arguments as
//!   a MessagePack map, the new id returned.
//! - `reducers/wasm_insert_row_msgpack`: `add_item`, the same insert returning the whole row
//!   (its 32-byte identity is a 32-number JSON array).
//! - `reducers/wasm_insert_json`: `insert_item` with JSON arguments.
//! - `reducers/wasm_noop`: a reducer that does nothing (no commit): the fixed cost of a call.
//! - `reducers/wasm_read_only`: `total_qty` (a scan) on an empty table, no commit.
//! - `reducers/instantiate`: replacing a module's instance (what follows a trap).
//! - `reducers/load`: compiling, validating and describing the module.

#[path = "../../wasm-host/tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use cosmictron_engine::{Database, Engine, EngineConfig};
use cosmictron_types::{Identity, Value};
use cosmictron_wasm_host::{Args, CallContext, HostConfig, LoadedModule, WasmHost};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SENDER: Identity = Identity([7; 32]);

/// A fresh in-memory database with the module's tables.
fn fresh_db(engine: &Engine, module: &LoadedModule, n: u64) -> Database {
    let db = engine
        .create_database(&format!("bench{n}"))
        .expect("create database");
    db.write(|tx| {
        for table in &module.def().tables {
            tx.create_table(table.clone())?;
        }
        Ok(())
    })
    .expect("create tables");
    db
}

#[derive(serde::Serialize)]
struct AddItem {
    name: String,
    qty: i64,
}

/// Rows and calls per round of the interleaved comparison, and its rounds.
const ROUND_CALLS: u64 = 20_000;
const ROUNDS: usize = 15;

/// The time of `n` one-row inserts through the native API, rows built before the clock starts.
fn native_inserts(db: &Database, n: u64) -> Duration {
    let rows: Vec<Vec<Value>> = (0..n)
        .map(|i| {
            vec![
                Value::U64(0),
                Value::String(format!("item-{i}")),
                Value::I64(3),
                Value::Identity(SENDER),
                Value::Null,
            ]
        })
        .collect();
    let started = Instant::now();
    for row in rows {
        black_box(db.write(|tx| tx.insert("items", row)).expect("insert"));
    }
    started.elapsed()
}

/// The time of `n` calls of `reducer` with MessagePack arguments built before the clock starts.
fn wasm_calls(db: &Database, module: &LoadedModule, reducer: &str, n: u64) -> Duration {
    let args: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            rmp_serde::to_vec_named(&AddItem {
                name: format!("item-{i}"),
                qty: 3,
            })
            .expect("encode")
        })
        .collect();
    let started = Instant::now();
    for a in &args {
        let out = module
            .call_with(db, reducer, Args::MessagePack(a), CallContext::new(SENDER))
            .expect("call");
        black_box(out);
    }
    started.elapsed()
}

fn micros_each(elapsed: Duration, n: u64) -> f64 {
    elapsed.as_secs_f64() * 1e6 / n as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The WASM insert against the native one in alternating rounds (one warm-up round first).
fn interleaved_ratio(engine: &Engine, module: &LoadedModule, dbs: &mut u64) {
    let (mut native, mut wasm, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=ROUNDS {
        let n = native_inserts(&fresh_db(engine, module, *dbs + 1), ROUND_CALLS);
        let n = micros_each(n, ROUND_CALLS);
        let db = fresh_db(engine, module, *dbs + 2);
        // The last database used: every later benchmark counts on from here.
        *dbs += 2;
        let w = micros_each(
            wasm_calls(&db, module, "insert_item", ROUND_CALLS),
            ROUND_CALLS,
        );
        if round > 0 {
            native.push(n);
            wasm.push(w);
            ratios.push(w / n);
        }
    }
    println!(
        "insert, WASM ÷ native ({ROUNDS} alternating rounds of {ROUND_CALLS} calls): \
         native {:.3} µs, WASM {:.3} µs, ratio {:.2}× (median of rounds; range {:.2}–{:.2})",
        median(native),
        median(wasm),
        median(ratios.clone()),
        ratios.iter().copied().fold(f64::MAX, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
}

fn reducers(c: &mut Criterion) {
    let wasm = common::module_bytes("basic");
    let host = WasmHost::new(HostConfig::default()).expect("host");
    let module = host.load("basic", &wasm).expect("load");
    let engine = Engine::in_memory(EngineConfig::in_memory());
    let mut dbs = 0u64;
    interleaved_ratio(&engine, &module, &mut dbs);
    let mut group = c.benchmark_group("reducers");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));

    group.bench_function("native_insert", |b| {
        b.iter_custom(|iters| {
            dbs += 1;
            native_inserts(&fresh_db(&engine, &module, dbs), iters)
        })
    });

    for (bench, reducer) in [
        ("wasm_insert_msgpack", "insert_item"),
        ("wasm_insert_row_msgpack", "add_item"),
    ] {
        group.bench_function(bench, |b| {
            b.iter_custom(|iters| {
                dbs += 1;
                wasm_calls(&fresh_db(&engine, &module, dbs), &module, reducer, iters)
            })
        });
    }

    group.bench_function("wasm_insert_json", |b| {
        b.iter_custom(|iters| {
            dbs += 1;
            let db = fresh_db(&engine, &module, dbs);
            let args: Vec<serde_json::Value> = (0..iters)
                .map(|i| serde_json::json!({"name": format!("item-{i}"), "qty": 3}))
                .collect();
            let started = Instant::now();
            for a in &args {
                let out = module
                    .call_with(&db, "insert_item", Args::Json(a), CallContext::new(SENDER))
                    .expect("call");
                black_box(out);
            }
            started.elapsed()
        })
    });

    let db = fresh_db(&engine, &module, 0);
    group.bench_function("wasm_noop", |b| {
        let args = serde_json::json!({});
        b.iter(|| {
            module
                .call_with(&db, "noop", Args::Json(&args), CallContext::new(SENDER))
                .expect("call")
        })
    });
    group.bench_function("wasm_read_only", |b| {
        let args = serde_json::json!({});
        b.iter(|| {
            module
                .call_with(
                    &db,
                    "total_qty",
                    Args::Json(&args),
                    CallContext::new(SENDER),
                )
                .expect("call")
        })
    });

    group.bench_function("instantiate", |b| {
        b.iter(|| module.reset_instance().expect("instantiate"))
    });
    group.sample_size(10);
    group.bench_function("load", |b| {
        b.iter(|| host.load("basic", &wasm).expect("load"))
    });
    group.finish();
}

criterion_group!(benches, reducers);
criterion_main!(benches);
