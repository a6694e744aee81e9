//! Fault injection: what the engine does when storage fails, tears, rots or fills up, and
//! whether snapshots, segment retention and online backups recover exactly what was committed.
//!
//! The WAL of each database lives on a `FaultyStorage` (an in-memory disk that models fsync,
//! power loss, torn writes, bit flips and I/O errors) handed to the engine through
//! `Engine::open_with`'s storage factory; the test keeps a handle on the same disk to inject
//! faults and to `crash()` it (power loss: unsynced bytes and directory entries vanish, the old
//! engine's handles die). Snapshot and backup tests use real files in temp directories.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cosmictron_engine::{
    Database, Durability, Engine, EngineConfig, HistoryConfig, SnapshotConfig, TxId,
};
use cosmictron_types::{ColumnDef, ColumnType, IndexDef, ScalarType, TableDef, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use common::{Dump, FaultyDisks, dump, dump_latest, test_config, u64_of};

const DB: &str = "f";

fn kv_def() -> TableDef {
    TableDef::new("kv")
        .column("k", ScalarType::U64)
        .column("v", ScalarType::String)
        .primary_key(&["k"])
}

/// Opens an engine on `dir` whose WAL is on `disks`, creating database `f` with table `kv` if
/// missing (tx 1).
fn open_faulty(dir: &Path, disks: &FaultyDisks, config: EngineConfig) -> (Engine, Database) {
    let engine = disks.open(dir, config).expect("open the engine");
    let db = engine.database_or_create(DB).expect("open the database");
    if db.table_schema("kv").is_err() {
        db.write(|tx| tx.create_table(kv_def())).expect("create kv");
    }
    (engine, db)
}

/// The keys of `kv`, sorted.
fn kv_keys(db: &Database) -> Vec<u64> {
    let mut keys: Vec<u64> = db
        .snapshot()
        .expect("snapshot")
        .scan("kv")
        .expect("scan")
        .iter()
        .map(|r| u64_of(&r[0]))
        .collect();
    keys.sort_unstable();
    keys
}

fn value_of(k: u64) -> String {
    format!("value of {k} {}", "x".repeat((k % 7) as usize * 5))
}

fn insert_kv(db: &Database, k: u64) -> cosmictron_engine::Result<TxId> {
    let (_, info) =
        db.write(|tx| tx.insert("kv", vec![Value::U64(k), Value::from(value_of(k).as_str())]))?;
    Ok(info.tx_id.expect("an insert gets a tx id"))
}

// ---- fsync failure ------------------------------------------------------------------------

// Proves "no acknowledgement after a failed fsync": once an fsync fails, that commit errors
// with a storage failure and so does every later one, even with the fault cleared (a retried
// fsync could report success for pages the kernel already dropped); reads refuse with
// `storage_poisoned`; listeners never hear of the failed tx; and after a power loss, a new
// engine on the same disk recovers exactly the acknowledged txs and can commit again.
// Also with no power loss (only the process restarted), where the failed tx's bytes may still
// be in the page cache: then it may come back, but as a whole and in order.
#[test]
fn a_failed_fsync_acknowledges_nothing_after_it() {
    for power_loss in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let disks = FaultyDisks::new();
        let (engine, db) = open_faulty(dir.path(), &disks, test_config());
        let heard = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let log = heard.clone();
        db.on_commit(Arc::new(move |c| log.lock().push(c.tx_id)));
        let mut acked = Vec::new();
        for k in 1..=10 {
            acked.push(insert_kv(&db, k).expect("commit before the fault"));
        }
        let disk = disks.disk(DB);
        disk.fail_next_sync();
        let err = insert_kv(&db, 11).expect_err("the commit whose fsync failed");
        assert!(err.is_storage_failure(), "{err}");
        disk.clear_faults();
        for k in 12..=15 {
            let err = insert_kv(&db, k).expect_err("a commit after a failed fsync");
            assert!(err.is_storage_failure(), "{err}");
            assert_eq!(err.code(), "storage_poisoned", "{err}");
        }
        assert_eq!(
            db.snapshot().expect_err("poisoned").code(),
            "storage_poisoned"
        );
        assert_eq!(
            db.as_of(2).expect_err("poisoned").code(),
            "storage_poisoned"
        );
        assert!(
            db.write_snapshot()
                .expect_err("poisoned")
                .is_storage_failure()
        );
        assert!(db.flush().expect_err("poisoned").is_storage_failure());
        assert_eq!(
            db.latest_tx(),
            *acked.last().expect("acked"),
            "the failed tx was never published"
        );
        assert_eq!(
            *heard.lock(),
            acked,
            "listeners heard exactly the acknowledged txs"
        );

        if power_loss {
            disk.crash();
        }
        drop(db);
        drop(engine);
        let (engine, db) = open_faulty(dir.path(), &disks, test_config());
        let keys = kv_keys(&db);
        let acked_keys: Vec<u64> = (1..=10).collect();
        if power_loss {
            assert_eq!(
                keys, acked_keys,
                "a power loss keeps exactly the acknowledged txs"
            );
            assert_eq!(db.latest_tx(), 11);
        } else {
            assert!(
                keys == acked_keys || keys == (1..=11).collect::<Vec<_>>(),
                "recovered {keys:?}"
            );
            assert_eq!(db.latest_tx(), 1 + keys.len() as u64);
        }
        let next = insert_kv(&db, 100).expect("the reopened database commits");
        assert_eq!(next, db.latest_tx());
        drop(db);
        drop(engine);
    }
}

// Proves the same under group commit: four threads commit concurrently while fsyncs are slow;
// one fsync fails mid-run. Then the disk loses power, keeping all, some or none of the bytes of
// the failed batch (a torn write across several records). Every commit that returned Ok is
// recovered, what is recovered is a gap-free prefix of the txs (each row's key is its own tx
// id), and nothing commits after the failure.
#[test]
fn a_failed_fsync_under_group_commit_loses_no_acknowledged_commit() {
    for tear in [None, Some(0), Some(40), Some(150), Some(100_000)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let disks = FaultyDisks::new();
        let (engine, db) = open_faulty(dir.path(), &disks, test_config());
        let disk = disks.disk(DB);
        disk.set_sync_latency(Duration::from_millis(2));
        let acked = parking_lot::Mutex::new(BTreeSet::new());
        let commits = AtomicU64::new(0);
        let failed = AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    loop {
                        let result = db.write(|tx| {
                            let id = tx.tx_id();
                            tx.insert("kv", vec![Value::U64(id), Value::from("group")])
                        });
                        match result {
                            Ok((_, info)) => {
                                acked.lock().insert(info.tx_id.expect("id"));
                                commits.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => {
                                assert!(e.is_storage_failure(), "{e}");
                                failed.store(true, Ordering::SeqCst);
                                return;
                            }
                        }
                    }
                });
            }
            while commits.load(Ordering::SeqCst) < 40 {
                std::thread::sleep(Duration::from_millis(1));
            }
            disk.fail_next_sync();
        });
        assert!(failed.load(Ordering::SeqCst));
        let acked = acked.into_inner();
        let last_acked = *acked.iter().max().expect("some commits were acknowledged");
        // After the failure nothing more is acknowledged, even with the fault gone.
        disk.clear_faults();
        assert!(insert_kv(&db, 1_000_000).is_err());
        match tear {
            None => disk.crash(),
            Some(keep) => disk.crash_tearing(keep),
        }
        drop(db);
        drop(engine);
        let (_engine, db) = open_faulty(dir.path(), &disks, test_config());
        let latest = db.latest_tx();
        assert!(
            latest >= last_acked,
            "tear {tear:?}: acknowledged tx {last_acked} lost: recovered up to {latest}"
        );
        let keys = kv_keys(&db);
        assert_eq!(
            keys,
            (2..=latest).collect::<Vec<_>>(),
            "tear {tear:?}: the recovered txs are a gap-free prefix"
        );
        assert!(
            acked.iter().all(|tx| keys.binary_search(tx).is_ok()),
            "every acknowledged tx is recovered"
        );
        assert!(acked.len() >= 40);
        if tear == Some(0) || tear.is_none() {
            assert_eq!(
                latest, last_acked,
                "nothing of the failed batch was durable"
            );
        }
    }
}

// ---- torn tail ----------------------------------------------------------------------------

// Proves recovery from a torn last record at every possible cut: N txs are committed, the
// last one's fsync fails (so its record is written but not durable), and the disk loses power
// keeping only the first k bytes of that record, for every k from 0 to the whole frame. The
// reopened database holds N-1 txs, or N exactly when the whole record survived; it then
// commits again, and that commit survives another power loss (the torn bytes were cut, not
// appended after).
#[test]
fn a_torn_last_record_is_cut_at_every_length() {
    const N: u64 = 6;
    let mut frame = None;
    let mut k = 0;
    while frame.is_none_or(|f| k <= f) {
        let dir = tempfile::tempdir().expect("tempdir");
        let disks = FaultyDisks::new();
        let disk = disks.disk(DB);
        let (engine, db) = open_faulty(dir.path(), &disks, test_config());
        for key in 2..N {
            insert_kv(&db, key).expect("commit");
        }
        assert_eq!(db.latest_tx(), N - 1);
        let segment = disk.names().pop().expect("a segment");
        let durable = disk.durable_len(&segment).expect("len");
        disk.fail_next_sync();
        insert_kv(&db, N).expect_err("the last commit's fsync fails");
        let written = disk.file_len(&segment).expect("len") - durable;
        assert_eq!(
            disk.durable_len(&segment),
            Some(durable),
            "the failed record is not durable"
        );
        assert!(written > 16, "the record was written");
        let f = *frame.get_or_insert(written);
        assert_eq!(f, written, "every run writes the same record");
        disk.crash_tearing(k as usize);
        drop(db);
        drop(engine);

        let (engine, db) = open_faulty(dir.path(), &disks, test_config());
        let expected = if k >= f { N } else { N - 1 };
        assert_eq!(db.latest_tx(), expected, "cut at {k} of {f} bytes");
        assert_eq!(
            kv_keys(&db),
            (2..=expected).collect::<Vec<_>>(),
            "cut at {k} of {f} bytes"
        );
        assert_eq!(
            disk.file_len(&segment),
            Some(durable + if k >= f { f } else { 0 }),
            "the torn bytes were cut away (cut at {k})"
        );
        let next = insert_kv(&db, 1000).expect("commit after recovery");
        assert_eq!(next, expected + 1);
        disk.crash();
        drop(db);
        drop(engine);
        let (_engine, db) = open_faulty(dir.path(), &disks, test_config());
        assert_eq!(
            db.latest_tx(),
            expected + 1,
            "the commit after recovery survived a power loss (cut at {k})"
        );
        let mut keys: Vec<u64> = (2..=expected).collect();
        keys.push(1000);
        assert_eq!(kv_keys(&db), keys);
        k += 1;
    }
}

// ---- bit rot ------------------------------------------------------------------------------

// Proves damage before the tail is refused, not skipped: flipping any single bit of an earlier
// record (length, CRC, seq or payload) makes opening fail with code "corrupt" and a message
// naming the segment and the record's byte offset, in the last segment and in an earlier one.
// Undoing the flip makes the database open again with every tx.
#[test]
fn a_flipped_bit_in_an_earlier_record_refuses_to_open() {
    for small_segments in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let disks = FaultyDisks::new();
        let disk = disks.disk(DB);
        let config = EngineConfig {
            wal_segment_bytes_max: if small_segments { 300 } else { 64 << 20 },
            ..test_config()
        };
        let (engine, db) = open_faulty(dir.path(), &disks, config.clone());
        // Where each record starts: (segment, offset, frame length) by tx.
        let mut frames: BTreeMap<TxId, (String, u64, u64)> = BTreeMap::new();
        for key in 2..=12 {
            let before: BTreeMap<String, u64> = disk
                .names()
                .into_iter()
                .map(|n| (n.clone(), disk.file_len(&n).expect("len")))
                .collect();
            let tx = insert_kv(&db, key).expect("commit");
            let segment = disk.names().pop().expect("a segment");
            let start = before.get(&segment).copied().unwrap_or(24);
            frames.insert(
                tx,
                (
                    segment.clone(),
                    start,
                    disk.file_len(&segment).expect("len") - start,
                ),
            );
        }
        drop(db);
        drop(engine);
        let segments = disk.names();
        assert_eq!(segments.len() > 1, small_segments, "segments: {segments:?}");
        // Tx 3 is in the first segment, tx 9 is not the last record (of the last segment).
        for tx in [3, 9] {
            let (segment, start, len) = frames[&tx].clone();
            assert!(small_segments || segment == segments[0]);
            for at in [0, 1, 5, 9, 15, 16, len / 2, len - 1] {
                let bit = (at % 8) as u8;
                disk.flip_bit(&segment, start + at, bit);
                let err = disks
                    .open(dir.path(), config.clone())
                    .expect_err("a flipped bit must not open");
                assert_eq!(
                    err.code(),
                    "corrupt",
                    "flip at {segment}+{}: {err}",
                    start + at
                );
                assert!(err.is_storage_failure());
                let message = err.to_string();
                assert!(
                    message.contains(&segment),
                    "the message names the segment: {message}"
                );
                assert!(
                    message.contains(&format!("offset {start}")),
                    "the message names offset {start}: {message}"
                );
                disk.flip_bit(&segment, start + at, bit);
            }
        }
        let (_engine, db) = open_faulty(dir.path(), &disks, config);
        assert_eq!(db.latest_tx(), 12);
        assert_eq!(kv_keys(&db), (2..=12).collect::<Vec<_>>());
    }
}

// Proves a log whose tail is lost *behind* a snapshot does not wedge the database: the last
// record (tx 6) rots after a snapshot at tx 6 was written, so the log is cut to tx 5 while the
// snapshot holds tx 6. The database must reopen at tx 6 and commit tx 7 (the log cannot
// continue at tx 7 from tx 5, so it has to start afresh), and tx 7 must survive a power loss.
#[test]
fn a_log_cut_behind_the_snapshot_starts_afresh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disks = FaultyDisks::new();
    let disk = disks.disk(DB);
    let (engine, db) = open_faulty(dir.path(), &disks, test_config());
    for k in 2..=6 {
        insert_kv(&db, k).expect("commit");
    }
    let segment = disk.names().pop().expect("a segment");
    let len = disk.file_len(&segment).expect("len");
    assert_eq!(db.write_snapshot().expect("snapshot"), 6);
    drop(db);
    drop(engine);
    disk.flip_bit(&segment, len - 3, 1);
    let (engine, db) = open_faulty(dir.path(), &disks, test_config());
    assert_eq!(db.latest_tx(), 6);
    assert_eq!(kv_keys(&db), (2..=6).collect::<Vec<_>>());
    assert_eq!(
        insert_kv(&db, 7).expect("the database commits after recovery"),
        7
    );
    disk.crash();
    drop(db);
    drop(engine);
    let (_engine, db) = open_faulty(dir.path(), &disks, test_config());
    assert_eq!(db.latest_tx(), 7);
    assert_eq!(kv_keys(&db), (2..=7).collect::<Vec<_>>());
}

// ---- snapshots ----------------------------------------------------------------------------

/// A random workload over several tables with inserts, updates, deletes, rollbacks and schema
/// changes (add column, create index, drop and recreate a table). Deterministic for a seed and
/// a starting state, so two databases given the same calls stay identical; `between` runs after
/// every transaction (snapshots go there).
fn workload(db: &Database, seed: u64, txs: usize, mut between: impl FnMut(usize)) {
    let mut rng = StdRng::seed_from_u64(seed);
    if db.table_schema("a").is_err() {
        db.write(|tx| {
            tx.create_table(
                TableDef::new("a")
                    .column("id", ScalarType::U64)
                    .column("name", ScalarType::String)
                    .column("score", ScalarType::I64)
                    .primary_key(&["id"])
                    .auto_inc("id")
                    .index("a_score", &["score"]),
            )?;
            tx.create_table(
                TableDef::new("b")
                    .column("k", ScalarType::String)
                    .nullable_column("n", ScalarType::I64)
                    .column("blob", ScalarType::Bytes)
                    .primary_key(&["k"]),
            )?;
            tx.create_table(
                TableDef::new("c")
                    .column("x", ScalarType::U32)
                    .primary_key(&["x"]),
            )
        })
        .expect("create the workload tables");
    }
    for i in 0..txs {
        let snap = db.snapshot().expect("snapshot");
        let a_ids: Vec<u64> = snap
            .scan("a")
            .expect("scan a")
            .iter()
            .map(|r| u64_of(&r[0]))
            .collect();
        let mut a_ids = a_ids;
        a_ids.sort_unstable();
        drop(snap);
        let mut tx = db.begin_write().expect("begin");
        for _ in 0..rng.random_range(1..6) {
            let a_cols = tx.table_schema("a").expect("a").columns().len();
            match rng.random_range(0..100) {
                0..35 => {
                    let mut row = vec![
                        Value::U64(0),
                        Value::from(format!("n{}", rng.random_range(0..50))),
                        Value::I64(rng.random_range(-9..9)),
                    ];
                    if a_cols == 4 {
                        row.push(Value::Bool(rng.random_bool(0.5)));
                    }
                    tx.insert("a", row).expect("insert a");
                }
                35..50 if !a_ids.is_empty() => {
                    let id = a_ids[rng.random_range(0..a_ids.len())];
                    if let Some(mut row) = tx.get("a", &[Value::U64(id)]).expect("get") {
                        row[2] = Value::I64(rng.random_range(-9..9));
                        tx.update("a", row).expect("update a");
                    }
                }
                50..60 if !a_ids.is_empty() => {
                    let id = a_ids[rng.random_range(0..a_ids.len())];
                    tx.delete("a", &[Value::U64(id)]).expect("delete a");
                }
                60..80 => {
                    let k = format!("k{}", rng.random_range(0..30));
                    let n = if rng.random_bool(0.3) {
                        Value::Null
                    } else {
                        Value::I64(rng.random_range(0..1000))
                    };
                    let blob =
                        Value::Bytes((0..rng.random_range(0..40)).map(|_| rng.random()).collect());
                    let row = vec![Value::from(k.as_str()), n, blob];
                    if tx
                        .get("b", &[Value::from(k.as_str())])
                        .expect("get b")
                        .is_some()
                    {
                        tx.update("b", row).expect("update b");
                    } else {
                        tx.insert("b", row).expect("insert b");
                    }
                }
                80..88 => {
                    let k = format!("k{}", rng.random_range(0..30));
                    tx.delete("b", &[Value::from(k.as_str())])
                        .expect("delete b");
                }
                88..94 if db_has(&tx, "c") => {
                    let x = rng.random_range(0..20u32);
                    let _ = tx.insert("c", vec![Value::U32(x)]);
                }
                94..96 => {
                    if db_has(&tx, "c") {
                        tx.drop_table("c").expect("drop c");
                    } else {
                        tx.create_table(
                            TableDef::new("c")
                                .column("x", ScalarType::U32)
                                .primary_key(&["x"]),
                        )
                        .expect("create c");
                    }
                }
                96..98 if a_cols == 3 => {
                    let column = ColumnDef::new("flag", ColumnType::new(ScalarType::Bool));
                    tx.add_column("a", column, Value::Bool(true))
                        .expect("add column");
                }
                98..100 if tx.table_schema("b").expect("b").indexes.len() == 1 => {
                    let index = IndexDef {
                        name: "b_n".into(),
                        columns: vec!["n".into()],
                        unique: false,
                    };
                    tx.create_index("b", index).expect("create index");
                }
                _ => {}
            }
        }
        if rng.random_bool(0.1) {
            tx.rollback();
        } else {
            tx.commit().expect("commit");
        }
        between(i);
    }
}

fn db_has(tx: &cosmictron_engine::WriteTx<'_>, table: &str) -> bool {
    tx.table_schema(table).is_ok()
}

fn wal_segments(dir: &Path, db: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("databases").join(db).join("wal"))
        .expect("read the wal directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wal"))
        .collect();
    names.sort();
    names
}

fn snapshot_files(dir: &Path, db: &str) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir.join("databases").join(db).join("snapshots"))
            .expect("read the snapshot directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
    names.sort();
    names
}

/// Everything observable about a database that recovery must rebuild: every table's rows and
/// definition, and the latest tx.
fn state_of(db: &Database) -> (TxId, Dump, Vec<String>, Option<Value>) {
    let snap = db.snapshot().expect("snapshot");
    let defs = snap
        .table_names()
        .iter()
        .map(|t| format!("{:?}", snap.table_schema(t).expect("schema").def))
        .collect();
    (snap.tx_id(), dump(&snap), defs, next_auto_id(db))
}

/// The id the next insert into `a` would get (seen through an insert that is rolled back).
fn next_auto_id(db: &Database) -> Option<Value> {
    let mut tx = db.begin_write().expect("begin");
    let columns = tx.table_schema("a").ok()?.columns().len();
    let mut row = vec![Value::U64(0), Value::from("probe"), Value::I64(0)];
    row.resize(columns, Value::Bool(false));
    let stored = tx.insert("a", row).expect("probe insert");
    tx.rollback();
    Some(stored[0].clone())
}

// Proves a snapshot changes nothing about what recovery rebuilds: the same random workload runs
// on two databases (real files); one also writes snapshots midway. Reopened, both hold the same
// rows, schemas and latest tx as each other and as before closing, and the next auto-increment
// id is the same (counters are part of the recovered state). With `retained: 1` and small WAL
// segments, snapshots also remove old segments, and the database still recovers exactly.
#[test]
fn snapshot_plus_wal_recovers_what_wal_alone_recovers() {
    for retained in [2, 1] {
        let plain = tempfile::tempdir().expect("tempdir");
        let snapped = tempfile::tempdir().expect("tempdir");
        let config = EngineConfig {
            wal_segment_bytes_max: 2048,
            snapshots: SnapshotConfig {
                every_txs: None,
                retained,
            },
            ..test_config()
        };
        let seed = 0xC05_u64 + retained as u64;
        let mut before = Vec::new();
        for (dir, snapshots) in [(plain.path(), false), (snapped.path(), true)] {
            let engine = Engine::open(dir, config.clone()).expect("open");
            let db = engine.create_database("w").expect("create");
            let mut snapshot_txs = Vec::new();
            let mut removed_segments = 0;
            workload(&db, seed, 160, |i| {
                if snapshots && i % 50 == 25 {
                    let segments_before = wal_segments(dir, "w");
                    let at = db.write_snapshot().expect("write a snapshot");
                    assert_eq!(at, db.latest_tx());
                    snapshot_txs.push(at);
                    let segments_after = wal_segments(dir, "w");
                    removed_segments += segments_before.len() - segments_after.len();
                    let kept = snapshot_txs.len().min(retained);
                    assert_eq!(
                        snapshot_files(dir, "w").len(),
                        kept,
                        "retention keeps {retained} snapshot(s)"
                    );
                    // The log still reaches back to just after the oldest kept snapshot.
                    let oldest_kept = snapshot_txs[snapshot_txs.len() - kept];
                    let first: u64 = segments_after[0]
                        .trim_end_matches(".wal")
                        .parse()
                        .expect("segment name");
                    assert!(
                        first <= oldest_kept + 1,
                        "segment {first} starts after snapshot {oldest_kept}"
                    );
                }
            });
            if snapshots {
                assert_eq!(snapshot_txs.len(), 3);
                if retained == 1 {
                    assert!(removed_segments > 0, "snapshots let old segments go");
                }
            } else {
                assert_eq!(snapshot_files(dir, "w").len(), 0);
            }
            before.push(state_of(&db));
            drop(db);
            engine.close().expect("close");
        }
        assert_eq!(
            before[0], before[1],
            "the same workload gives the same state"
        );
        let defs = before[0].2.join("\n");
        assert!(
            defs.contains("\"flag\"") && defs.contains("\"b_n\""),
            "the workload changed schemas: {defs}"
        );
        let mut next_ids = Vec::new();
        for (i, dir) in [plain.path(), snapped.path()].into_iter().enumerate() {
            let engine = Engine::open(dir, config.clone()).expect("reopen");
            let db = engine.database("w").expect("database");
            assert_eq!(
                state_of(&db),
                before[i],
                "recovered state of {}",
                if i == 0 { "plain" } else { "snapshotted" }
            );
            assert_eq!(db.recovery_report().snapshot_tx > 0, i == 1);
            let row_len = db.table_schema("a").expect("a").columns().len();
            let mut row = vec![Value::U64(0), Value::from("next"), Value::I64(0)];
            row.resize(row_len, Value::Bool(false));
            let (stored, _) = db
                .write(|tx| tx.insert("a", row))
                .expect("insert after recovery");
            next_ids.push(stored[0].clone());
            // Going on after recovery, then reopening again, still matches.
            workload(&db, seed + 1, 30, |_| {});
            before[i] = state_of(&db);
            drop(db);
            engine.close().expect("close");
            let engine = Engine::open(dir, config.clone()).expect("reopen again");
            assert_eq!(
                state_of(&engine.database("w").expect("database")),
                before[i]
            );
        }
        assert_eq!(
            next_ids[0], next_ids[1],
            "auto_inc counters are recovered alike"
        );
        assert_eq!(before[0], before[1]);
    }
}

// Proves a damaged snapshot file is skipped, not trusted: with a bit flipped in the newest
// snapshot, recovery falls back to the previous one and rebuilds exactly the same state, also
// when retention has already removed the log segments before the previous snapshot.
#[test]
fn a_corrupt_snapshot_is_skipped() {
    for segment_bytes in [64 << 20, 1024] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = EngineConfig {
            wal_segment_bytes_max: segment_bytes,
            snapshots: SnapshotConfig {
                every_txs: None,
                retained: 2,
            },
            ..test_config()
        };
        let engine = Engine::open(dir.path(), config.clone()).expect("open");
        let db = engine.create_database("w").expect("create");
        let mut snapshots = Vec::new();
        workload(&db, 7, 90, |i| {
            if i % 30 == 29 {
                snapshots.push(db.write_snapshot().expect("snapshot"));
            }
        });
        let expected = state_of(&db);
        drop(db);
        engine.close().expect("close");
        let first_segment: u64 = wal_segments(dir.path(), "w")[0]
            .trim_end_matches(".wal")
            .parse()
            .expect("name");
        if segment_bytes < 4096 {
            assert!(first_segment > 1, "retention removed early segments");
        }
        let newest = dir
            .path()
            .join("databases/w/snapshots")
            .join(format!("{:020}.snap", snapshots[2]));
        let mut bytes = std::fs::read(&newest).expect("read the snapshot");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(&newest, bytes).expect("damage the snapshot");
        let engine =
            Engine::open(dir.path(), config.clone()).expect("reopen with a damaged snapshot");
        let db = engine.database("w").expect("database");
        assert_eq!(
            db.recovery_report().snapshot_tx,
            snapshots[1],
            "the previous snapshot was used"
        );
        assert_eq!(state_of(&db), expected);
        drop(db);
        engine.close().expect("close");
        // With every snapshot damaged, only a complete log can rebuild the state; one that
        // retention has cut must make opening fail, not open with what is left.
        let older = dir
            .path()
            .join("databases/w/snapshots")
            .join(format!("{:020}.snap", snapshots[1]));
        let mut bytes = std::fs::read(&older).expect("read the snapshot");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&older, bytes).expect("damage the other snapshot");
        match Engine::open(dir.path(), config.clone()) {
            Ok(engine) => {
                assert_eq!(first_segment, 1, "opened without the start of the log");
                let db = engine.database("w").expect("database");
                assert_eq!(db.recovery_report().snapshot_tx, 0);
                assert_eq!(state_of(&db), expected, "rebuilt from the log alone");
            }
            Err(e) => {
                assert!(first_segment > 1, "the whole log was there: {e}");
                assert_eq!(e.code(), "corrupt", "{e}");
            }
        }
    }
}

// Proves a snapshot never gets ahead of the durable log, whatever the durability policy. With
// `Buffered`, commits are acknowledged before they reach the log; if `write_snapshot` did not
// make them durable first, a power loss would leave a snapshot at tx 11 over a log ending at
// tx 5, and the reopened database could not append tx 12. It must reopen at the snapshot's
// state, keep committing, and keep those commits across another power loss.
#[test]
fn a_snapshot_under_buffered_durability_is_not_ahead_of_the_log() {
    let config = EngineConfig {
        durability: Durability::Buffered {
            interval: Duration::from_secs(3600),
        },
        ..test_config()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let disks = FaultyDisks::new();
    let disk = disks.disk(DB);
    let (engine, db) = open_faulty(dir.path(), &disks, config.clone());
    for k in 2..=5 {
        insert_kv(&db, k).expect("commit");
    }
    db.flush().expect("flush: txs 1..=5 are durable");
    let segment = disk.names().pop().expect("a segment");
    let durable = disk.durable_len(&segment).expect("len");
    for k in 6..=11 {
        insert_kv(&db, k).expect("buffered commit");
    }
    assert_eq!(
        disk.durable_len(&segment),
        Some(durable),
        "buffered commits wait"
    );
    assert_eq!(db.write_snapshot().expect("snapshot"), 11);
    let now = disk.durable_len(&segment).expect("len");
    assert!(
        now > durable,
        "the snapshot made txs 6..=11 durable in the log first"
    );
    assert_eq!(disk.file_len(&segment), Some(now));
    disk.crash();
    drop(db);
    drop(engine);
    let (engine, db) = open_faulty(dir.path(), &disks, config.clone());
    assert_eq!(db.latest_tx(), 11, "the snapshot's state is recovered");
    assert_eq!(kv_keys(&db), (2..=11).collect::<Vec<_>>());
    let next = insert_kv(&db, 12).expect("the database commits after recovery");
    assert_eq!(next, 12);
    db.flush().expect("flush");
    disk.crash();
    drop(db);
    drop(engine);
    let (_engine, db) = open_faulty(dir.path(), &disks, config);
    assert_eq!(db.latest_tx(), 12);
    assert_eq!(kv_keys(&db), (2..=12).collect::<Vec<_>>());
}

// Proves the `Buffered` policy's promises on a disk that loses power: what survives is always a
// gap-free prefix of the commits; everything committed before `flush()` returned survives; and
// commits older than a few flush intervals survive without any flush.
#[test]
fn buffered_durability_keeps_a_prefix_and_flushes_on_time() {
    let interval = Duration::from_millis(20);
    let config = EngineConfig {
        durability: Durability::Buffered { interval },
        ..test_config()
    };
    for case in ["crash at once", "flush then crash", "wait then crash"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let disks = FaultyDisks::new();
        let disk = disks.disk(DB);
        let (engine, db) = open_faulty(dir.path(), &disks, config.clone());
        let mut last = 0;
        for k in 0..300 {
            last = insert_kv(&db, 2 + k).expect("buffered commit");
        }
        assert_eq!(last, 301);
        match case {
            "flush then crash" => db.flush().expect("flush"),
            "wait then crash" => std::thread::sleep(interval * 10),
            _ => {}
        }
        disk.crash();
        drop(db);
        drop(engine);
        let (_engine, db) = open_faulty(dir.path(), &disks, config.clone());
        let latest = db.latest_tx();
        assert_eq!(
            kv_keys(&db),
            (2..=latest).collect::<Vec<_>>(),
            "{case}: a gap-free prefix"
        );
        if case != "crash at once" {
            assert_eq!(latest, last, "{case}: every commit survives");
        }
    }
}

// ---- online backup ------------------------------------------------------------------------

// Proves an online backup is a consistent copy: while a thread keeps committing (an append-only
// log row and a counter update per tx), `backup_to` returns tx B; the copy restored under
// another name holds at least everything as of B and exactly the source's state as of the
// copy's own latest tx L (B <= L <= the source's latest), and it commits on its own afterwards.
#[test]
fn an_online_backup_is_a_consistent_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backup = tempfile::tempdir().expect("tempdir");
    let config = EngineConfig {
        wal_segment_bytes_max: 4096,
        ..test_config()
    };
    let engine = Engine::open(dir.path(), config.clone()).expect("open");
    let db = engine.create_database("src").expect("create");
    db.write(|tx| {
        tx.create_table(common::log_table())?;
        tx.create_table(common::counter_table())?;
        tx.insert("counter", vec![Value::U64(0), Value::U64(0)])
    })
    .expect("schema");
    let stop = AtomicBool::new(false);
    let committed = AtomicU64::new(0);
    let backup_tx = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut seq = 0;
            while !stop.load(Ordering::SeqCst) {
                seq += 1;
                db.write(|tx| {
                    let id = tx.tx_id();
                    tx.insert("log", vec![Value::U64(seq), Value::U64(id)])?;
                    tx.update("counter", vec![Value::U64(0), Value::U64(seq)])?;
                    if seq % 3 == 0 {
                        tx.delete("log", &[Value::U64(seq - 1)])?;
                    }
                    Ok(())
                })
                .expect("commit while backing up");
                committed.store(seq, Ordering::SeqCst);
            }
        });
        while committed.load(Ordering::SeqCst) < 100 {
            std::thread::sleep(Duration::from_millis(1));
        }
        db.write_snapshot().expect("a snapshot before the backup");
        let at = db.backup_to(backup.path()).expect("backup");
        let after = committed.load(Ordering::SeqCst);
        while committed.load(Ordering::SeqCst) < after + 50 {
            std::thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Ordering::SeqCst);
        at
    });
    let copy = engine
        .restore_database("copy", backup.path())
        .expect("restore");
    let copy_latest = copy.latest_tx();
    assert!(
        copy_latest >= backup_tx,
        "the copy ({copy_latest}) is older than the backup's tx {backup_tx}"
    );
    assert!(copy_latest <= db.latest_tx());
    let at_backup = dump(&db.as_of(backup_tx).expect("source as of the backup"));
    let copied = dump_latest(&copy);
    for row in &at_backup["counter"] {
        assert!(u64_of(&row[1]) <= u64_of(&copied["counter"][0][1]));
    }
    let copied_log: BTreeSet<String> = copied["log"].iter().map(|r| format!("{r:?}")).collect();
    for row in &at_backup["log"] {
        let seq = u64_of(&row[0]);
        // Rows deleted after the backup's tx are legitimately gone from a later prefix.
        let deleted_later = seq % 3 == 2 && u64_of(&copied["counter"][0][1]) > seq;
        assert!(
            deleted_later || copied_log.contains(&format!("{row:?}")),
            "row {row:?} of the backup's tx is missing"
        );
    }
    assert_eq!(
        copied,
        dump(
            &db.as_of(copy_latest)
                .expect("source as of the copy's latest")
        ),
        "the copy is a prefix"
    );
    let (_, info) = copy
        .write(|tx| tx.insert("log", vec![Value::U64(1_000_000), Value::U64(0)]))
        .expect("the copy commits");
    assert_eq!(info.tx_id, Some(copy_latest + 1));
    // Both survive a restart.
    let (src_state, copy_state) = (state_of(&db), state_of(&copy));
    drop((db, copy));
    engine.close().expect("close");
    let engine = Engine::open(dir.path(), config).expect("reopen");
    assert_eq!(state_of(&engine.database("src").expect("src")), src_state);
    assert_eq!(
        state_of(&engine.database("copy").expect("copy")),
        copy_state
    );
}

// Proves snapshot files are consistent while writers commit and the collector runs with no
// history window at all (every superseded version is garbage at once): each of many online
// backups (a snapshot file written under load), restored without its log, holds exactly the
// state of one tx: all 16 accounts, and the total that every transfer preserves.
#[test]
fn snapshots_under_load_with_no_history_are_consistent() {
    const ACCOUNTS: u64 = 16;
    let dir = tempfile::tempdir().expect("tempdir");
    let backups = tempfile::tempdir().expect("tempdir");
    let config = EngineConfig {
        history: HistoryConfig {
            txs_max: Some(0),
            age_max: None,
        },
        maintenance_interval: Duration::from_millis(1),
        ..test_config()
    };
    let engine = Engine::open(dir.path(), config.clone()).expect("open");
    let db = engine.create_database("bank").expect("create");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("acct")
                .column("id", ScalarType::U64)
                .column("bal", ScalarType::I64)
                .primary_key(&["id"]),
        )?;
        for id in 0..ACCOUNTS {
            tx.insert("acct", vec![Value::U64(id), Value::I64(100)])?;
        }
        Ok(())
    })
    .expect("accounts");
    let stop = AtomicBool::new(false);
    let taken = std::thread::scope(|scope| {
        for seed in 0..2 {
            let (db, stop) = (&db, &stop);
            scope.spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed);
                while !stop.load(Ordering::SeqCst) {
                    let (from, to) = (rng.random_range(0..ACCOUNTS), rng.random_range(0..ACCOUNTS));
                    db.write(|tx| {
                        for (id, delta) in [(from, -1), (to, 1)] {
                            let row = tx.get("acct", &[Value::U64(id)])?.expect("account");
                            let Value::I64(bal) = row[1] else {
                                panic!("balance")
                            };
                            tx.update("acct", vec![Value::U64(id), Value::I64(bal + delta)])?;
                        }
                        Ok(())
                    })
                    .expect("transfer");
                }
            });
        }
        scope.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                db.collect_garbage().expect("collect");
            }
        });
        // Readers of the latest state are consistent too, and never refused.
        scope.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                let snap = db
                    .snapshot()
                    .expect("a snapshot of the latest state under load");
                let rows = snap.scan("acct").expect("scan");
                let total: i64 = rows
                    .iter()
                    .map(|r| if let Value::I64(b) = r[1] { b } else { 0 })
                    .sum();
                assert_eq!(
                    (rows.len() as u64, total),
                    (ACCOUNTS, 100 * ACCOUNTS as i64),
                    "as of {}",
                    snap.tx_id()
                );
            }
        });
        let mut taken = Vec::new();
        for i in 0..100 {
            let dest = backups.path().join(format!("b{i}"));
            taken.push((
                dest.clone(),
                db.backup_to(&dest).expect("backup under load"),
            ));
        }
        stop.store(true, Ordering::SeqCst);
        taken
    });
    for (i, (dest, tx)) in taken.iter().enumerate() {
        std::fs::remove_dir_all(dest.join("wal")).expect("drop the backup's log");
        let copy = engine
            .restore_database(&format!("b{i}"), dest)
            .expect("restore");
        assert_eq!(copy.latest_tx(), *tx);
        let rows = copy
            .snapshot()
            .expect("snapshot")
            .scan("acct")
            .expect("scan");
        let total: i64 = rows
            .iter()
            .map(|r| if let Value::I64(b) = r[1] { b } else { 0 })
            .sum();
        assert_eq!(
            (rows.len() as u64, total),
            (ACCOUNTS, 100 * ACCOUNTS as i64),
            "snapshot at tx {tx}"
        );
        drop(copy);
        engine
            .drop_database(&format!("b{i}"))
            .expect("drop the copy");
    }
}

// ---- disk full ----------------------------------------------------------------------------

// Proves a full disk (ENOSPC) at any point of the commit path (record write, fsync, segment
// roll: create, header, fsync, directory fsync) surfaces as a storage failure, poisons the
// database, and leaves no partial transaction: after a restart (with or without power loss)
// the database holds the acknowledged txs and at most the one in-doubt failed tx, each tx whole
// (all three of its rows or none), and it commits again.
#[test]
fn a_full_disk_leaves_no_partial_transaction() {
    let mut failures_seen = 0;
    for ops in 0..40 {
        for power_loss in [true, false] {
            let dir = tempfile::tempdir().expect("tempdir");
            let disks = FaultyDisks::new();
            let disk = disks.disk(DB);
            let config = EngineConfig {
                wal_segment_bytes_max: 400,
                ..test_config()
            };
            let (engine, db) = open_faulty(dir.path(), &disks, config.clone());
            disk.fail_after(ops, ErrorKind::StorageFull);
            let mut acked = 1; // the schema tx
            let write3 = |db: &Database| {
                db.write(|tx| {
                    let id = tx.tx_id();
                    for j in 0..3 {
                        tx.insert(
                            "kv",
                            vec![Value::U64(id * 10 + j), Value::from(value_of(id).as_str())],
                        )?;
                    }
                    Ok(())
                })
            };
            let mut failed = false;
            for _ in 0..12 {
                match write3(&db) {
                    Ok((_, info)) => acked = info.tx_id.expect("id"),
                    Err(e) => {
                        assert!(e.is_storage_failure(), "{e}");
                        assert!(
                            e.to_string().contains("injected fault"),
                            "the cause is reported: {e}"
                        );
                        failed = true;
                        break;
                    }
                }
            }
            if !failed {
                continue;
            }
            failures_seen += 1;
            assert_eq!(
                write3(&db).expect_err("poisoned").code(),
                "storage_poisoned"
            );
            disk.clear_faults();
            if power_loss {
                disk.crash();
            }
            drop(db);
            drop(engine);
            let (engine, db) = open_faulty(dir.path(), &disks, config.clone());
            let latest = db.latest_tx();
            assert!(
                latest == acked || latest == acked + 1,
                "ops={ops}: acked {acked}, recovered {latest}"
            );
            if power_loss {
                assert_eq!(
                    latest, acked,
                    "ops={ops}: a failed commit is not durable after a power loss"
                );
            }
            let expected: Vec<u64> = (2..=latest)
                .flat_map(|tx| (0..3).map(move |j| tx * 10 + j))
                .collect();
            assert_eq!(kv_keys(&db), expected, "ops={ops}: whole transactions only");
            write3(&db).expect("commits again once the disk has room");
            drop(db);
            drop(engine);
        }
    }
    assert!(
        failures_seen >= 60,
        "the fault hit a commit in most runs ({failures_seen})"
    );
}
