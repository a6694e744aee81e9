//! `WriteTx::commit_pending`: commits whose fsync is waited for later — blocking, as a
//! future, or not at all — are published exactly when durable, share fsyncs, and fail
//! cleanly when the fsync fails.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use cosmictron_engine::{Database, Durability, Engine, EngineConfig, TxId};
use cosmictron_types::{ScalarType, TableDef, Value};

use common::{FaultyDisks, test_config};

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park_timeout(Duration::from_secs(1));
    }
}

fn open(disks: &FaultyDisks, config: EngineConfig) -> (tempfile::TempDir, Engine, Database) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = disks.open(dir.path(), config).expect("open");
    let db = engine.create_database("p").expect("database");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("kv")
                .column("k", ScalarType::U64)
                .primary_key(&["k"]),
        )
    })
    .expect("create kv");
    (dir, engine, db)
}

/// Waits (at most 10 s) until readers see `tx`.
fn wait_until_published(db: &Database, tx: TxId) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while db.latest_tx() < tx {
        assert!(Instant::now() < deadline, "tx {tx} was never published");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How many rows readers see in `kv`.
fn kv_rows(db: &Database) -> usize {
    db.snapshot()
        .expect("snapshot")
        .scan("kv")
        .expect("scan")
        .len()
}

fn insert_pending(db: &Database, k: u64) -> cosmictron_engine::PendingCommit {
    let mut tx = db.begin_write().expect("begin");
    tx.insert("kv", vec![Value::U64(k)]).expect("insert");
    tx.commit_pending().expect("commit")
}

// Proves an awaited pending commit is invisible to readers until its fsync is done, and
// visible (with its change set) once the future resolves.
#[test]
fn an_awaited_commit_is_published_once_durable() {
    let disks = FaultyDisks::new();
    let (_dir, _engine, db) = open(&disks, test_config());
    disks.disk("p").set_sync_latency(Duration::from_millis(30));
    let before = db.latest_tx();
    let pending = insert_pending(&db, 1);
    let tx = pending.tx_id().expect("a tx id");
    assert_eq!(db.latest_tx(), before, "published before its fsync");
    let info = block_on(pending.durable()).expect("durable");
    assert_eq!(info.tx_id, Some(tx));
    assert_eq!(info.changes.expect("changes").tx_id, tx);
    assert!(db.latest_tx() >= tx);
    assert_eq!(kv_rows(&db), 1);
}

// Proves a pending commit nobody waits for is still synced and published (a request whose
// client went away), with no further commit to carry it.
#[test]
fn an_unawaited_commit_is_published_anyway() {
    let disks = FaultyDisks::new();
    let (_dir, _engine, db) = open(&disks, test_config());
    let tx = {
        let pending = insert_pending(&db, 7);
        pending.tx_id().expect("a tx id")
    };
    wait_until_published(&db, tx);
    assert_eq!(kv_rows(&db), 1);
}

// Proves a future dropped before it resolved (a cancelled request) leaves its commit to be
// published all the same.
#[test]
fn a_cancelled_wait_still_publishes() {
    let disks = FaultyDisks::new();
    let (_dir, _engine, db) = open(&disks, test_config());
    disks.disk("p").set_sync_latency(Duration::from_millis(20));
    let pending = insert_pending(&db, 3);
    let tx = pending.tx_id().expect("a tx id");
    {
        let mut future = Box::pin(pending.durable());
        let waker = Waker::noop();
        assert!(
            future
                .as_mut()
                .poll(&mut Context::from_waker(waker))
                .is_pending()
        );
    }
    wait_until_published(&db, tx);
}

// Proves many commits awaited together share fsyncs: 200 pending commits polled as futures
// need far fewer fsyncs than commits, and all are published in order.
#[test]
fn awaited_commits_share_fsyncs() {
    let disks = FaultyDisks::new();
    let (_dir, _engine, db) = open(&disks, test_config());
    disks.disk("p").set_sync_latency(Duration::from_millis(2));
    let fsyncs_before = db.stats().wal_fsyncs;
    let mut futures: Vec<_> = (0..200u64)
        .map(|k| Box::pin(insert_pending(&db, k).durable()))
        .collect();
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut last: TxId = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !futures.is_empty() {
        assert!(Instant::now() < deadline, "commits never became durable");
        futures.retain_mut(|f| match f.as_mut().poll(&mut cx) {
            Poll::Ready(r) => {
                last = last.max(r.expect("durable").tx_id.expect("tx"));
                false
            }
            Poll::Pending => true,
        });
        std::thread::park_timeout(Duration::from_millis(20));
    }
    let fsyncs = db.stats().wal_fsyncs - fsyncs_before;
    assert!(fsyncs <= 40, "200 commits needed {fsyncs} fsyncs");
    assert!(db.latest_tx() >= last);
    assert_eq!(kv_rows(&db), 200);
}

// Proves a failed fsync fails the awaited commit with a storage error, never publishes it,
// and poisons the database for later writes.
#[test]
fn a_failed_fsync_fails_the_future() {
    let disks = FaultyDisks::new();
    let (_dir, _engine, db) = open(&disks, test_config());
    let published = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&published);
    db.on_commit(Arc::new(move |c| {
        seen.fetch_max(c.tx_id, Ordering::SeqCst);
    }));
    disks.disk("p").fail_next_sync();
    let pending = insert_pending(&db, 9);
    let tx = pending.tx_id().expect("a tx id");
    assert!(block_on(pending.durable()).is_err());
    assert!(
        published.load(Ordering::SeqCst) < tx,
        "a failed tx was published"
    );
    assert!(db.begin_write().is_err(), "the database must refuse writes");
}

// Proves that without an fsync to wait for (`Buffered`, or a memory-only engine) the commit is
// published at once, before anyone waits.
#[test]
fn without_fsync_the_commit_is_published_at_once() {
    let disks = FaultyDisks::new();
    let buffered = EngineConfig {
        durability: Durability::Buffered {
            interval: Duration::from_secs(3600),
        },
        ..test_config()
    };
    let (_dir, _engine, on_disk) = open(&disks, buffered);
    let memory = Engine::in_memory(test_config());
    let in_memory = memory.create_database("p").expect("database");
    in_memory
        .write(|tx| {
            tx.create_table(
                TableDef::new("kv")
                    .column("k", ScalarType::U64)
                    .primary_key(&["k"]),
            )
        })
        .expect("create kv");
    for db in [on_disk, in_memory] {
        let pending = insert_pending(&db, 1);
        let tx = pending.tx_id().expect("a tx id");
        assert!(db.latest_tx() >= tx, "not published at once");
        block_on(pending.durable()).expect("durable");
    }
}
