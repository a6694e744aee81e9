//! Helpers shared by the engine's integration tests (crash, model, faults).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use cosmictron_engine::{Database, Engine, EngineConfig, Snapshot, WalStorageFactory};
use cosmictron_types::{ScalarType, TableDef, Value};
use cosmictron_wal::{FaultyStorage, Storage};
use parking_lot::Mutex;

/// Every table of a snapshot, each as its rows sorted (by their debug text, which is a total
/// order that does not depend on slot ids).
pub(crate) type Dump = BTreeMap<String, Vec<Vec<Value>>>;

pub(crate) fn dump(snapshot: &Snapshot) -> Dump {
    let mut out = BTreeMap::new();
    for table in snapshot.table_names() {
        let rows = snapshot.scan(&table).expect("scan a table of the snapshot");
        out.insert(table, sorted(rows));
    }
    out
}

pub(crate) fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_cached_key(|r| format!("{r:?}"));
    rows
}

/// The latest state of a database.
pub(crate) fn dump_latest(db: &Database) -> Dump {
    dump(&db.snapshot().expect("snapshot"))
}

/// In-memory fault-injecting WAL disks, one per database, shared between the engine (through
/// the factory) and the test (which injects faults and crashes through [`FaultyDisks::disk`]).
///
/// The factory hands out clones of the very handle the test holds, so after
/// `disk(name).crash()` a new engine gets live handles while the old engine's are dead.
#[derive(Clone, Debug, Default)]
pub(crate) struct FaultyDisks {
    disks: Arc<Mutex<HashMap<String, Arc<FaultyStorage>>>>,
}

impl FaultyDisks {
    pub(crate) fn new() -> FaultyDisks {
        FaultyDisks::default()
    }

    /// The disk of database `name` (created empty on first use).
    pub(crate) fn disk(&self, name: &str) -> Arc<FaultyStorage> {
        self.disks
            .lock()
            .entry(name.to_owned())
            .or_insert_with(|| Arc::new(FaultyStorage::new()))
            .clone()
    }

    pub(crate) fn factory(&self) -> WalStorageFactory {
        let disks = self.clone();
        Arc::new(move |name: &str, _dir: &Path| {
            let handle: FaultyStorage = (*disks.disk(name)).clone();
            Ok(Arc::new(handle) as Arc<dyn Storage>)
        })
    }

    pub(crate) fn open(
        &self,
        dir: &Path,
        config: EngineConfig,
    ) -> cosmictron_engine::Result<Engine> {
        Engine::open_with(dir, config, Some(self.factory()))
    }
}

/// A configuration for tests: no background snapshots, so only the test decides when they
/// happen.
pub(crate) fn test_config() -> EngineConfig {
    let mut config = EngineConfig::default();
    config.snapshots.every_txs = None;
    config
}

pub(crate) fn u64_of(v: &Value) -> u64 {
    match v {
        Value::U64(n) => *n,
        other => panic!("expected a u64, got {other:?}"),
    }
}

pub(crate) fn i64_of(v: &Value) -> i64 {
    match v {
        Value::I64(n) => *n,
        other => panic!("expected an i64, got {other:?}"),
    }
}

/// `log(seq u64 pk, tx u64)`: one row per committed step of a workload.
pub(crate) fn log_table() -> TableDef {
    TableDef::new("log")
        .column("seq", ScalarType::U64)
        .column("tx", ScalarType::U64)
        .primary_key(&["seq"])
}

/// `counter(id u64 pk, n u64)`: one row a workload updates at every step.
pub(crate) fn counter_table() -> TableDef {
    TableDef::new("counter")
        .column("id", ScalarType::U64)
        .column("n", ScalarType::U64)
        .primary_key(&["id"])
}
