//! Reducer calls through the WASM host against the same transaction on the native engine API.
//!
//! `cargo bench -p cosmictron-benches --bench reducers` (builds the `basic` test module for
//! wasm32 first). Every workload runs on a memory-only engine (durability `none`), one thread,
//! each sample on a fresh database; arguments and rows are built before the clock starts.
//!
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

fn reducers(c: &mut Criterion) {
    let wasm = common::module_bytes("basic");
    let host = WasmHost::new(HostConfig::default()).expect("host");
    let module = host.load("basic", &wasm).expect("load");
    let engine = Engine::in_memory(EngineConfig::in_memory());
    let mut dbs = 0u64;
    let mut group = c.benchmark_group("reducers");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));

    group.bench_function("native_insert", |b| {
        b.iter_custom(|iters| {
            dbs += 1;
            let db = fresh_db(&engine, &module, dbs);
            let rows: Vec<Vec<Value>> = (0..iters)
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
        })
    });

    for (bench, reducer) in [
        ("wasm_insert_msgpack", "insert_item"),
        ("wasm_insert_row_msgpack", "add_item"),
    ] {
        group.bench_function(bench, |b| {
            b.iter_custom(|iters| {
                dbs += 1;
                let db = fresh_db(&engine, &module, dbs);
                let args: Vec<Vec<u8>> = (0..iters)
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
                        .call_with(&db, reducer, Args::MessagePack(a), CallContext::new(SENDER))
                        .expect("call");
                    black_box(out);
                }
                started.elapsed()
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
