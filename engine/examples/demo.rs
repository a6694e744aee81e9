//! The embedded demo: opens a data directory, writes, "restarts" (closes and reopens the
//! engine, recovering from the log) and reads back, including a time-travel read.
//!
//! `cargo run --release -p cosmictron-engine --example demo -- ./cosmictron-data`

use cosmictron_engine::{Engine, EngineConfig, EngineError};
use cosmictron_types::{ScalarType, TableDef, Timestamp, Value};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./cosmictron-data".to_owned());
    println!("data directory: {dir}");

    let engine = Engine::open(&dir, EngineConfig::default())?;
    let db = engine.database_or_create("demo")?;
    if db.table_schema("runs").is_err() {
        db.write(|tx| {
            tx.create_table(
                TableDef::new("runs")
                    .column("id", ScalarType::U64)
                    .column("machine", ScalarType::String)
                    .column("status", ScalarType::String)
                    .column("created_at", ScalarType::Timestamp)
                    .primary_key(&["id"])
                    .auto_inc("id")
                    .index("runs_machine", &["machine"]),
            )
        })?;
    }
    let now = Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_micros() as i64,
    );
    let (row, dispatched) = db.write(|tx| {
        tx.insert(
            "runs",
            vec![
                Value::U64(0),
                "mac-mini".into(),
                "queued".into(),
                now.into(),
            ],
        )
    })?;
    let id = row[0].clone();
    let (_, completed) = db.write(|tx| {
        let mut run =
            tx.get("runs", std::slice::from_ref(&id))?
                .ok_or(EngineError::RowNotFound {
                    table: "runs".into(),
                    key: id.to_string(),
                })?;
        run[2] = "completed".into();
        tx.update("runs", run)
    })?;
    println!(
        "wrote run {id}: dispatched in tx {:?}, completed in tx {:?}",
        dispatched.tx_id, completed.tx_id
    );

    drop(db);
    engine.close()?;
    println!("engine closed; reopening...");

    let engine = Engine::open(&dir, EngineConfig::default())?;
    let db = engine.database("demo")?;
    let report = db.recovery_report();
    println!(
        "recovered {} log records (snapshot at tx {}) in {} ms",
        report.wal_records, report.snapshot_tx, report.duration_ms
    );
    let latest = db.snapshot()?;
    println!(
        "runs now ({} in total, latest tx {}):",
        latest.count("runs")?,
        latest.tx_id()
    );
    for run in latest
        .find("runs", "runs_machine", &["mac-mini".into()])?
        .iter()
        .rev()
        .take(3)
    {
        println!("  id={} machine={} status={}", run[0], run[1], run[2]);
    }
    if let Some(tx) = dispatched.tx_id {
        let then = db.as_of(tx)?;
        let run = then.get("runs", std::slice::from_ref(&id))?;
        println!(
            "as of tx {tx}, run {id} was: {}",
            run.map_or("absent".into(), |r| r[2].to_string())
        );
    }
    Ok(())
}
