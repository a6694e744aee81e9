//! Incremental subscriptions through the embedded API: initial rows then exactly the deltas
//! of every later tx, per subscriber one update per tx, RLS per subscriber, identical queries
//! maintained once, lagging consumers dropped, unsubscribe freeing everything, and subscribe
//! racing with commits. Each test checks the client-side mirror against re-running the query.

mod subscriptions_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cosmictron_engine::{Database, Engine, EngineConfig, TxId};
use cosmictron_sql::{
    Caller, SqlConfig, SqlEngine, Subscriber, SubscriberEvent, SubscriptionConfig, Subscriptions,
};
use cosmictron_types::{Identity, ScalarType, TableDef, Value};
use subscriptions_common::{Mirror, noop, rerun, sorted, wait_processed};

const ALICE: Identity = Identity([0xa1; 32]);
const BOB: Identity = Identity([0xb0; 32]);

struct Fixture {
    _engine: Engine,
    db: Database,
    sql: Arc<SqlEngine>,
    subs: Arc<Subscriptions>,
}

fn fixture(config: SubscriptionConfig) -> Fixture {
    let engine = Engine::in_memory(EngineConfig::default());
    let db = engine.create_database("app").expect("db");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("items")
                .column("id", ScalarType::U64)
                .column("owner", ScalarType::Identity)
                .column("qty", ScalarType::I64)
                .column("cat", ScalarType::String)
                .primary_key(&["id"])
                .index("items_cat", &["cat"])
                .read_policy("owner = $identity")
                .public(),
        )?;
        tx.create_table(
            TableDef::new("cats")
                .column("name", ScalarType::String)
                .column("label", ScalarType::String)
                .column("rank", ScalarType::I64)
                .primary_key(&["name"])
                .public(),
        )?;
        tx.create_table(
            TableDef::new("notes")
                .column("id", ScalarType::U64)
                .column("item", ScalarType::U64)
                .column("text", ScalarType::String)
                .primary_key(&["id"])
                .public(),
        )
    })
    .expect("schema");
    let sql = Arc::new(SqlEngine::new(SqlConfig::default()));
    let subs = Subscriptions::new(db.clone(), sql.clone(), config);
    Fixture {
        _engine: engine,
        db,
        sql,
        subs,
    }
}

fn item(id: u64, owner: Identity, qty: i64, cat: &str) -> Vec<Value> {
    vec![
        Value::U64(id),
        Value::Identity(owner),
        Value::I64(qty),
        Value::String(cat.into()),
    ]
}

fn cat(name: &str, title: &str, rank: i64) -> Vec<Value> {
    vec![
        Value::String(name.into()),
        Value::String(title.into()),
        Value::I64(rank),
    ]
}

fn put(db: &Database, rows: Vec<Vec<Value>>) -> u64 {
    let (_, info) = db
        .write(|tx| {
            for r in rows {
                tx.delete("items", &r[..1])?;
                tx.insert("items", r)?;
            }
            Ok(())
        })
        .expect("write");
    info.tx_id.expect("tx")
}

fn delete(db: &Database, table: &str, key: Value) -> u64 {
    let (_, info) = db.write(|tx| tx.delete(table, &[key])).expect("delete");
    info.tx_id.expect("tx")
}

#[test]
fn filtered_subscription_gets_initial_rows_then_exact_deltas() {
    // Proves: the initial result, then one update per changing tx with exactly the rows that
    // entered and left the filter; a tx that does not touch the result sends nothing.
    let f = fixture(SubscriptionConfig::default());
    put(&f.db, vec![item(1, ALICE, 5, "a"), item(2, ALICE, 50, "a")]);
    let caller = Caller::user(ALICE);
    let sub = f.subs.connect(caller.clone(), noop());
    let q = "SELECT id, qty FROM items WHERE qty > $1";
    let params = [Value::I64(10)];
    let s = sub.subscribe(7, q, &params, None).expect("subscribe");
    assert_eq!(s.rows, vec![vec![Value::U64(2), Value::I64(50)]]);
    assert!(!s.resumed);
    assert_eq!(s.columns.len(), 2);

    let t1 = put(&f.db, vec![item(1, ALICE, 20, "a")]); // 1 enters
    let t2 = put(&f.db, vec![item(3, ALICE, 1, "b")]); // below the filter: nothing
    let t3 = delete(&f.db, "items", Value::U64(2)); // 2 leaves
    let mut m = Mirror::default();
    m.subscribed(7, &s);
    m.sync(&f.subs, &sub, t3);
    let txs: Vec<u64> = m.updates.iter().map(|u| u.tx_id).collect();
    assert_eq!(
        txs,
        vec![t1, t3],
        "tx {t2} changed nothing and must send nothing"
    );
    assert_eq!(m.updates[0].updates[0].id, 7);
    assert_eq!(
        m.updates[0].updates[0].inserts,
        vec![vec![Value::U64(1), Value::I64(20)]]
    );
    assert_eq!(
        m.updates[1].updates[0].deletes,
        vec![vec![Value::U64(2), Value::I64(50)]]
    );
    assert_eq!(
        sorted(m.rows[&7].clone()),
        sorted(rerun(&f.sql, &f.db, q, &params, &caller, t3))
    );
}

#[test]
fn rls_moves_rows_in_and_out_of_each_subscribers_view() {
    // Proves: a row changing owner is a delete for the old owner's subscription and an insert
    // for the new owner's, and the two are maintained as different queries.
    let f = fixture(SubscriptionConfig::default());
    put(&f.db, vec![item(1, ALICE, 5, "a"), item(2, BOB, 6, "a")]);
    let alice = f.subs.connect(Caller::user(ALICE), noop());
    let bob = f.subs.connect(Caller::user(BOB), noop());
    let q = "SELECT id FROM items";
    let sa = alice.subscribe(1, q, &[], None).expect("alice");
    let sb = bob.subscribe(1, q, &[], None).expect("bob");
    assert_eq!(sa.rows, vec![vec![Value::U64(1)]]);
    assert_eq!(sb.rows, vec![vec![Value::U64(2)]]);
    assert_eq!(f.subs.stats().distinct_queries, 2);

    let t = put(&f.db, vec![item(1, BOB, 5, "a")]);
    wait_processed(&f.subs, t);
    match alice.try_recv() {
        Some(SubscriberEvent::Update(u)) => {
            assert_eq!(u.tx_id, t);
            assert_eq!(u.updates[0].deletes, vec![vec![Value::U64(1)]]);
            assert!(u.updates[0].inserts.is_empty());
        }
        other => panic!("alice expected a delete, got {other:?}"),
    }
    match bob.try_recv() {
        Some(SubscriberEvent::Update(u)) => {
            assert_eq!(u.updates[0].inserts, vec![vec![Value::U64(1)]]);
            assert!(u.updates[0].deletes.is_empty());
        }
        other => panic!("bob expected an insert, got {other:?}"),
    }
    assert!(alice.try_recv().is_none() && bob.try_recv().is_none());
}

/// Waits for tx `t` to be processed, then expects exactly one update for it, covering the
/// subscriptions `ids` (in any order).
fn expect_one_update(subs: &Arc<Subscriptions>, sub: &Subscriber, t: TxId, ids: &[u64]) {
    wait_processed(subs, t);
    let Some(SubscriberEvent::Update(u)) = sub.try_recv() else {
        panic!("expected one update");
    };
    assert_eq!(u.tx_id, t);
    let mut got: Vec<u64> = u.updates.iter().map(|s| s.id).collect();
    got.sort_unstable();
    assert_eq!(got, ids);
    assert!(sub.try_recv().is_none(), "exactly one message for the tx");
}

#[test]
fn one_update_per_tx_covers_every_subscription_of_a_subscriber() {
    // Proves atomicity: a tx touching two subscribed tables reaches the subscriber as one
    // update holding both subscriptions' changes.
    let f = fixture(SubscriptionConfig::default());
    let sub = f.subs.connect(Caller::user(ALICE), noop());
    sub.subscribe(1, "SELECT id FROM items", &[], None)
        .expect("items");
    sub.subscribe(2, "SELECT name FROM cats", &[], None)
        .expect("cats");
    let (_, info) =
        f.db.write(|tx| {
            tx.insert("items", item(1, ALICE, 1, "x"))?;
            tx.insert("cats", cat("x", "X", 1))
        })
        .expect("write");
    let t = info.tx_id.expect("tx");
    expect_one_update(&f.subs, &sub, t, &[1, 2]);
}

#[test]
fn identical_subscriptions_are_maintained_once() {
    // Proves: the same query and parameters from many connections is one maintained query
    // (when the query does not depend on the caller), and each still gets its update.
    let f = fixture(SubscriptionConfig::default());
    let q = "SELECT name, label FROM cats WHERE rank >= $1";
    let clients: Vec<_> = (0..5)
        .map(|i| {
            let c = if i % 2 == 0 {
                Caller::user(ALICE)
            } else {
                Caller::user(BOB)
            };
            let s = f.subs.connect(c, noop());
            s.subscribe(1, q, &[Value::I64(2)], None)
                .expect("subscribe");
            s
        })
        .collect();
    assert_eq!(
        f.subs.stats().distinct_queries,
        1,
        "cats has no policy: identity is irrelevant"
    );
    assert_eq!(f.subs.stats().subscriptions, 5);
    clients[0]
        .subscribe(2, q, &[Value::I64(3)], None)
        .expect("other params");
    assert_eq!(f.subs.stats().distinct_queries, 2);
    let (_, info) =
        f.db.write(|tx| tx.insert("cats", cat("c", "C", 5)))
            .expect("write");
    wait_processed(&f.subs, info.tx_id.expect("tx"));
    for c in &clients {
        assert!(matches!(c.try_recv(), Some(SubscriberEvent::Update(_))));
    }
}

#[test]
fn a_large_shared_fan_out_reaches_everyone_once_per_tx_in_order() {
    // Proves: past the size at which one query's fan-out is split across two threads, every
    // subscriber still gets exactly one update per tx, in tx order, with that tx's rows; and a
    // subscriber that joined later gets only the txs after its own start.
    let f = fixture(SubscriptionConfig::default());
    let q = "SELECT name, rank FROM cats WHERE rank >= 0";
    let clients: Vec<_> = (0..5000)
        .map(|_| {
            let s = f.subs.connect(Caller::user(ALICE), noop());
            s.subscribe(1, q, &[], None).expect("subscribe");
            s
        })
        .collect();
    assert_eq!(f.subs.stats().distinct_queries, 1);
    let mut txs = Vec::new();
    for rank in 0..3 {
        let (_, info) =
            f.db.write(|tx| tx.insert("cats", cat(&format!("c{rank}"), "C", rank)))
                .expect("write");
        txs.push(info.tx_id.expect("tx"));
    }
    let late = f.subs.connect(Caller::user(BOB), noop());
    late.subscribe(1, q, &[], None).expect("subscribe late");
    let (_, info) =
        f.db.write(|tx| tx.delete("cats", &[Value::String("c0".into())]))
            .expect("write");
    txs.push(info.tx_id.expect("tx"));
    wait_processed(&f.subs, *txs.last().expect("a tx"));
    for c in &clients {
        let mut seen = Vec::new();
        while let Some(event) = c.try_recv() {
            let SubscriberEvent::Update(u) = event else {
                panic!("unexpected event {event:?}");
            };
            assert_eq!(u.updates.len(), 1);
            let changed = u.updates[0].inserts.len() + u.updates[0].deletes.len();
            assert_eq!(changed, 1, "tx {} carried {changed} rows", u.tx_id);
            seen.push(u.tx_id);
        }
        assert_eq!(seen, txs, "every tx once, in order");
    }
    let mut late_seen = Vec::new();
    while let Some(SubscriberEvent::Update(u)) = late.try_recv() {
        late_seen.push(u.tx_id);
    }
    assert_eq!(late_seen, txs[3..], "only what followed its own start");
}

#[test]
fn unsupported_and_invalid_subscriptions_get_clear_codes() {
    // Proves: constructs that cannot be maintained are refused with
    // `unsupported_subscription`, bad SQL keeps the SQL crate's codes, and ids are unique.
    let f = fixture(SubscriptionConfig::default());
    let sub = f.subs.connect(Caller::owner(), noop());
    for q in [
        "SELECT id FROM items LIMIT 3",
        "SELECT id FROM items WHERE id IN (SELECT item FROM notes)",
        "SELECT i.id FROM items i LEFT JOIN notes n ON n.item = i.id",
        "SELECT id FROM items UNION SELECT item FROM notes",
        "SELECT GROUP_CONCAT(cat) FROM items",
        "SELECT COUNT(DISTINCT cat) FROM items",
        "SELECT i.id, n.id FROM items i, notes n",
        "SELECT 1",
    ] {
        let e = sub.subscribe(1, q, &[], None).expect_err(q);
        assert_eq!(e.code(), "unsupported_subscription", "{q}: {e}");
        assert!(e.to_string().len() > 30, "the message says why: {e}");
    }
    assert_eq!(
        sub.subscribe(1, "SELEC x", &[], None)
            .expect_err("parse")
            .code(),
        "parse_error"
    );
    assert_eq!(
        sub.subscribe(1, "SELECT nope FROM items", &[], None)
            .expect_err("col")
            .code(),
        "no_such_column"
    );
    sub.subscribe(1, "SELECT id FROM items", &[], None)
        .expect("first");
    assert_eq!(
        sub.subscribe(1, "SELECT id FROM cats", &[], None)
            .expect_err("dup")
            .code(),
        "duplicate_subscription_id"
    );
    assert_eq!(f.subs.stats().subscriptions, 1);
}

#[test]
fn a_lagging_consumer_is_told_and_dropped() {
    // Proves: a subscriber that does not read gets at most `queue_capacity` updates, then a
    // `subscriber_lagging` notice naming the last tx delivered; its subscriptions and their
    // state are gone, and it can subscribe again.
    let f = fixture(SubscriptionConfig {
        queue_capacity: 2,
        ..SubscriptionConfig::default()
    });
    let sub = f.subs.connect(Caller::user(ALICE), noop());
    sub.subscribe(1, "SELECT id, qty FROM items", &[], None)
        .expect("subscribe");
    let mut last = 0;
    let mut txs = Vec::new();
    for i in 0..5 {
        last = put(&f.db, vec![item(i, ALICE, i as i64, "a")]);
        txs.push(last);
    }
    wait_processed(&f.subs, last);
    let events: Vec<SubscriberEvent> = std::iter::from_fn(|| sub.try_recv()).collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(matches!(&events[0], SubscriberEvent::Update(u) if u.tx_id == txs[0]));
    assert!(matches!(&events[1], SubscriberEvent::Update(u) if u.tx_id == txs[1]));
    assert_eq!(
        events[2],
        SubscriberEvent::Lagging {
            dropped_after_tx: txs[1]
        }
    );
    assert_eq!(events[2].code(), Some("subscriber_lagging"));
    let stats = f.subs.stats();
    assert_eq!(
        (
            stats.subscriptions,
            stats.distinct_queries,
            stats.lagging_drops
        ),
        (0, 0, 1)
    );
    // Resynchronise by resuming from the last tx delivered.
    let s = sub
        .subscribe(1, "SELECT id, qty FROM items", &[], Some(txs[1]))
        .expect("resume");
    assert!(s.resumed);
    let missed: Vec<u64> = s.missed.iter().map(|u| u.tx_id).collect();
    assert_eq!(missed, txs[2..].to_vec());
}

#[test]
fn unsubscribe_and_disconnect_free_everything() {
    // Proves: after unsubscribe no later tx mentions the subscription, and the maintained
    // query and its state go with the last subscriber.
    let f = fixture(SubscriptionConfig::default());
    let sub = f.subs.connect(Caller::user(ALICE), noop());
    sub.subscribe(1, "SELECT cat, COUNT(*) FROM items GROUP BY cat", &[], None)
        .expect("agg");
    sub.subscribe(2, "SELECT id FROM items", &[], None)
        .expect("plain");
    let t = put(&f.db, vec![item(1, ALICE, 1, "a")]);
    wait_processed(&f.subs, t);
    assert!(f.subs.stats().state_rows > 0);
    assert!(sub.unsubscribe(1));
    assert!(!sub.unsubscribe(1), "already gone");
    let after = f.subs.stats().processed_tx;
    let t = put(&f.db, vec![item(2, ALICE, 1, "a")]);
    wait_processed(&f.subs, t);
    while let Some(e) = sub.try_recv() {
        if let SubscriberEvent::Update(u) = e
            && u.tx_id > after
        {
            assert!(
                u.updates.iter().all(|s| s.id != 1),
                "unsubscribed id in tx {}",
                u.tx_id
            );
        }
    }
    let stats = f.subs.stats();
    assert_eq!(
        (
            stats.subscriptions,
            stats.distinct_queries,
            stats.state_rows
        ),
        (1, 1, 0)
    );
    drop(sub);
    let stats = f.subs.stats();
    assert_eq!(
        (
            stats.subscribers,
            stats.subscriptions,
            stats.distinct_queries
        ),
        (0, 0, 0)
    );
}

#[test]
fn a_commit_between_snapshot_and_install_is_caught_up_exactly() {
    // Proves the race at the heart of subscribing, made certain with the test hook: commits
    // land and are processed by the worker after the initial result was computed on its
    // snapshot but before the subscription is installed. The initial result then includes
    // them (brought forward from the change sets kept), and no update repeats them; the next
    // commit arrives as an update.
    type Shared = Arc<parking_lot::Mutex<Option<(Database, Arc<Subscriptions>)>>>;
    let shared: Shared = Arc::new(parking_lot::Mutex::new(None));
    let armed = Arc::new(AtomicBool::new(true));
    let hook = {
        let shared = shared.clone();
        let armed = armed.clone();
        cosmictron_sql::BeforeInstall(Arc::new(move || {
            if !armed.swap(false, Ordering::SeqCst) {
                return;
            }
            let Some((db, subs)) = shared.lock().clone() else {
                return;
            };
            put(&db, vec![item(1, ALICE, 30, "a")]); // 1 enters the result
            let tx = put(&db, vec![item(2, ALICE, 3, "a")]); // 2 leaves it
            wait_processed(&subs, tx);
        }))
    };
    let f = fixture(SubscriptionConfig {
        before_install: Some(hook),
        ..SubscriptionConfig::default()
    });
    put(&f.db, vec![item(1, ALICE, 1, "a"), item(2, ALICE, 20, "a")]);
    *shared.lock() = Some((f.db.clone(), f.subs.clone()));
    let caller = Caller::user(ALICE);
    let sub = f.subs.connect(caller.clone(), noop());
    let q = "SELECT id, qty FROM items WHERE qty > 10";
    let s = sub.subscribe(1, q, &[], None).expect("subscribe");
    assert!(!armed.load(Ordering::SeqCst), "the hook ran");
    assert_eq!(f.subs.stats().subscribe_catch_ups, 1);
    assert_eq!(s.rows, vec![vec![Value::U64(1), Value::I64(30)]]);
    let before = f.db.latest_tx();
    assert_eq!(
        s.tx_id, before,
        "the initial result is as of the caught-up tx"
    );
    let after = put(&f.db, vec![item(3, ALICE, 40, "b")]);
    let mut m = Mirror::default();
    m.subscribed(1, &s);
    m.sync(&f.subs, &sub, after);
    let txs: Vec<u64> = m.updates.iter().map(|u| u.tx_id).collect();
    assert_eq!(txs, [after], "the caught-up txs are not sent again");
    assert_eq!(
        sorted(m.rows[&1].clone()),
        sorted(rerun(&f.sql, &f.db, q, &[], &caller, after))
    );
}

#[test]
fn subscribe_racing_with_commits_has_no_gap_and_no_repeat() {
    // Proves: while a writer commits continuously, every subscription's initial result plus
    // the updates after it equals re-running the query at the last tx — whichever of the
    // snapshot and the worker was ahead when it subscribed (the test above makes the worker
    // ahead for certain; here the scheduler decides, across many subscriptions).
    // Backpressure is not what this tests: neither a subscriber's queue nor the worker's
    // backlog may overflow while the writer runs flat out.
    let f = fixture(SubscriptionConfig {
        queue_capacity: 1 << 20,
        pending_txs_max: 1 << 20,
        ..SubscriptionConfig::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let db = f.db.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let owner = if i.is_multiple_of(3) { BOB } else { ALICE };
                put(&db, vec![item(i % 40, owner, (i % 17) as i64, "a")]);
            }
        })
    };
    let caller = Caller::user(ALICE);
    let queries = [
        "SELECT id, qty FROM items WHERE qty > 5",
        "SELECT cat, COUNT(*), SUM(qty), MIN(qty), MAX(qty) FROM items GROUP BY cat",
        "SELECT id, qty FROM items ORDER BY qty DESC, id LIMIT 4",
    ];
    let mut clients = Vec::new();
    for round in 1..=60u64 {
        let sub = f.subs.connect(caller.clone(), noop());
        let mut m = Mirror::default();
        let q = queries[(round % 3) as usize];
        let s = sub.subscribe(round, q, &[], None).expect("subscribe");
        m.subscribed(round, &s);
        clients.push((sub, m, q, round));
        std::thread::sleep(Duration::from_millis(2));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    let last = f.db.latest_tx();
    for (sub, mut m, q, id) in clients {
        m.sync(&f.subs, &sub, last);
        assert!(m.notices.is_empty(), "{:?}", m.notices);
        assert_eq!(
            sorted(m.rows[&id].clone()),
            sorted(rerun(&f.sql, &f.db, q, &[], &caller, last)),
            "{q}"
        );
    }
}

#[test]
fn unsubscribe_under_load_keeps_other_subscriptions_exact() {
    // Proves: subscribing and unsubscribing continuously while commits flow neither breaks
    // the subscriptions that stay nor leaves state behind.
    // Backpressure is not what this tests: the churned subscribers never read, so their
    // queues must not overflow (which would drop their subscriptions) however long it runs.
    let f = fixture(SubscriptionConfig {
        queue_capacity: 1 << 20,
        pending_txs_max: 1 << 20,
        ..SubscriptionConfig::default()
    });
    let caller = Caller::user(ALICE);
    let keeper = f.subs.connect(caller.clone(), noop());
    let q = "SELECT id, qty FROM items WHERE qty % 2 = 0";
    let s = keeper.subscribe(1, q, &[], None).expect("keeper");
    let mut m = Mirror::default();
    m.subscribed(1, &s);
    let stop = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicUsize::new(0));
    let churn = {
        let subs = f.subs.clone();
        let stop = stop.clone();
        let churned = churned.clone();
        let caller = caller.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let c = subs.connect(caller.clone(), noop());
                c.subscribe(1, q, &[], None).expect("same query");
                c.subscribe(2, "SELECT COUNT(*) FROM items", &[], None)
                    .expect("count");
                assert!(c.unsubscribe(1));
                churned.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // At least 300 commits, and on until the churn has cycled a few times (on a loaded machine
    // its thread may start late); the bound keeps a stuck churn from hanging the test.
    let mut i = 0u64;
    while i < 300 || (churned.load(Ordering::Relaxed) < 3 && i < 20_000) {
        i += 1;
        put(&f.db, vec![item(i % 25, ALICE, i as i64, "a")]);
        if i.is_multiple_of(50) {
            while let Some(e) = keeper.try_recv() {
                m.apply(e);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().expect("churn");
    let last = f.db.latest_tx();
    m.sync(&f.subs, &keeper, last);
    assert!(churned.load(Ordering::Relaxed) > 0);
    assert_eq!(
        sorted(m.rows[&1].clone()),
        sorted(rerun(&f.sql, &f.db, q, &[], &caller, last))
    );
    let stats = f.subs.stats();
    assert_eq!(
        (
            stats.subscribers,
            stats.subscriptions,
            stats.distinct_queries
        ),
        (1, 1, 1)
    );
}

#[test]
fn joins_with_and_without_an_index_follow_both_sides() {
    // Proves: a 2-table join (notes.item has no index: the subscription keeps its own; the
    // items primary key is probed in the engine) reflects changes on either side, and a
    // 3-table join through `cats` too.
    let f = fixture(SubscriptionConfig::default());
    let caller = Caller::user(ALICE);
    let sub = f.subs.connect(caller.clone(), noop());
    let q1 = "SELECT i.id, n.text FROM items i JOIN notes n ON n.item = i.id";
    let q2 = "SELECT n.text, c.label FROM notes n JOIN items i ON n.item = i.id \
              JOIN cats c ON c.name = i.cat WHERE c.rank > 0";
    let mut m = Mirror::default();
    m.subscribed(1, &sub.subscribe(1, q1, &[], None).expect("q1"));
    m.subscribed(2, &sub.subscribe(2, q2, &[], None).expect("q2"));
    let note = |id: u64, item: u64, text: &str| {
        vec![Value::U64(id), Value::U64(item), Value::String(text.into())]
    };
    let mut txs = Vec::new();
    txs.push(put(
        &f.db,
        vec![item(1, ALICE, 1, "a"), item(2, BOB, 1, "a")],
    ));
    let w = |f: &Fixture, table: &'static str, row: Vec<Value>| {
        let (_, info) =
            f.db.write(|tx| {
                tx.delete(table, &row[..1])?;
                tx.insert(table, row)
            })
            .expect("write");
        info.tx_id.expect("tx")
    };
    txs.push(w(&f, "notes", note(10, 1, "hello")));
    txs.push(w(&f, "notes", note(11, 2, "hidden by bob's policy")));
    txs.push(w(&f, "cats", cat("a", "A", 1)));
    txs.push(put(&f.db, vec![item(2, ALICE, 1, "a")])); // note 11 becomes visible
    txs.push(w(&f, "notes", note(10, 2, "moved")));
    txs.push(delete(&f.db, "items", Value::U64(2)));
    let last = *txs.last().expect("txs");
    m.sync(&f.subs, &sub, last);
    for (id, q) in [(1, q1), (2, q2)] {
        assert_eq!(
            sorted(m.rows[&id].clone()),
            sorted(rerun(&f.sql, &f.db, q, &[], &caller, last)),
            "{q}"
        );
    }
    assert!(
        m.updates.len() >= 5,
        "both sides drove updates: {:?}",
        m.updates
    );
}

#[test]
fn aggregates_and_top_k_are_maintained_live() {
    // Proves: GROUP BY aggregates replace a changed group's row (delete old, insert new) and
    // deleting the current MIN finds the next one; a live top-k refills from below.
    let f = fixture(SubscriptionConfig::default());
    let caller = Caller::user(ALICE);
    put(
        &f.db,
        vec![
            item(1, ALICE, 3, "a"),
            item(2, ALICE, 7, "a"),
            item(3, ALICE, 5, "b"),
        ],
    );
    let sub = f.subs.connect(caller.clone(), noop());
    let agg = "SELECT cat, COUNT(*), MIN(qty), AVG(qty) FROM items GROUP BY cat";
    let top = "SELECT id, qty FROM items ORDER BY qty DESC LIMIT 2";
    let s = sub.subscribe(1, agg, &[], None).expect("agg");
    let t = sub.subscribe(2, top, &[], None).expect("top");
    assert_eq!(
        t.rows,
        vec![
            vec![Value::U64(2), Value::I64(7)],
            vec![Value::U64(3), Value::I64(5)]
        ],
        "initial top-k comes in ORDER BY order"
    );
    let mut m = Mirror::default();
    m.subscribed(1, &s);
    m.subscribed(2, &t);
    let t1 = delete(&f.db, "items", Value::U64(1)); // MIN of `a` goes
    m.sync(&f.subs, &sub, t1);
    let u = &m.updates[0].updates;
    let a = u.iter().find(|s| s.id == 1).expect("agg update");
    assert_eq!(
        a.deletes,
        vec![vec![
            Value::String("a".into()),
            Value::I64(2),
            Value::I64(3),
            Value::F64(5.0)
        ]]
    );
    assert_eq!(
        a.inserts,
        vec![vec![
            Value::String("a".into()),
            Value::I64(1),
            Value::I64(7),
            Value::F64(7.0)
        ]]
    );
    assert!(u.iter().all(|s| s.id != 2), "row 1 was not in the top 2");
    let t2 = delete(&f.db, "items", Value::U64(2)); // the top row goes: nothing to refill but 3
    let t3 = put(&f.db, vec![item(4, ALICE, 1, "c")]);
    m.sync(&f.subs, &sub, t3);
    for (id, q) in [(1, agg), (2, top)] {
        assert_eq!(
            sorted(m.rows[&id].clone()),
            sorted(rerun(&f.sql, &f.db, q, &[], &caller, t3)),
            "{q} after {t2} and {t3}"
        );
    }
}

#[test]
fn schema_changes_end_subscriptions_and_old_resume_points_are_refused() {
    // Proves: altering a subscribed table ends the subscription with `schema_changed`; a
    // resume point older than the change sets kept is `history_unavailable`.
    let f = fixture(SubscriptionConfig {
        resume_txs_max: 2,
        ..SubscriptionConfig::default()
    });
    let sub = f.subs.connect(Caller::owner(), noop());
    let first = put(&f.db, vec![item(1, ALICE, 1, "a")]);
    let mut last = first;
    for i in 2..6 {
        last = put(&f.db, vec![item(i, ALICE, 1, "a")]);
    }
    wait_processed(&f.subs, last);
    let e = sub
        .subscribe(1, "SELECT id FROM items", &[], Some(first))
        .expect_err("too old");
    assert_eq!(e.code(), "history_unavailable");
    sub.subscribe(2, "SELECT name FROM cats", &[], None)
        .expect("cats");
    let (_, info) = f.db.write(|tx| tx.drop_table("cats")).expect("drop");
    let t = info.tx_id.expect("tx");
    wait_processed(&f.subs, t);
    match sub.try_recv() {
        Some(e @ SubscriberEvent::Ended { id: 2, .. }) => {
            assert_eq!(e.code(), Some("schema_changed"))
        }
        other => panic!("expected the subscription to end, got {other:?}"),
    }
    assert_eq!(f.subs.stats().subscriptions, 0);
}

#[test]
fn a_notify_callback_may_unsubscribe_without_deadlock() {
    // Proves: `notify` runs on the manager's worker; a callback that unsubscribes returns
    // (it does not wait for the fan-out it is part of) and the subscription is gone.
    let f = fixture(SubscriptionConfig::default());
    let slot: Arc<std::sync::OnceLock<cosmictron_sql::Subscriber>> =
        Arc::new(std::sync::OnceLock::new());
    let fired = Arc::new(AtomicBool::new(false));
    let (s2, f2) = (slot.clone(), fired.clone());
    let sub = f.subs.connect(
        Caller::user(ALICE),
        Arc::new(move || {
            if let Some(s) = s2.get() {
                s.unsubscribe(1);
                f2.store(true, Ordering::SeqCst);
            }
        }),
    );
    sub.subscribe(1, "SELECT id FROM items", &[], None)
        .expect("subscribe");
    assert!(slot.set(sub).is_ok());
    let t = put(&f.db, vec![item(1, ALICE, 1, "a")]);
    wait_processed(&f.subs, t);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !fired.load(Ordering::SeqCst) {
        assert!(
            std::time::Instant::now() < deadline,
            "the callback never finished"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(f.subs.stats().subscriptions, 0);
}

#[test]
fn notify_callbacks_on_both_fan_out_threads_may_unsubscribe() {
    // Proves: past the size at which a fan-out is split across the worker and the helper
    // thread, a `notify` callback that unsubscribes returns on either thread (neither waits
    // for the fan-out it is part of), and every subscription is gone afterwards.
    let f = fixture(SubscriptionConfig::default());
    let q = "SELECT name, rank FROM cats WHERE rank >= 0";
    let fired = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<Arc<std::sync::OnceLock<cosmictron_sql::Subscriber>>> = (0..5000)
        .map(|_| {
            let slot: Arc<std::sync::OnceLock<cosmictron_sql::Subscriber>> =
                Arc::new(std::sync::OnceLock::new());
            let (s2, f2) = (slot.clone(), fired.clone());
            let sub = f.subs.connect(
                Caller::user(ALICE),
                Arc::new(move || {
                    if let Some(s) = s2.get() {
                        s.unsubscribe(1);
                        f2.fetch_add(1, Ordering::SeqCst);
                    }
                }),
            );
            sub.subscribe(1, q, &[], None).expect("subscribe");
            assert!(slot.set(sub).is_ok());
            slot
        })
        .collect();
    f.db.write(|tx| tx.insert("cats", cat("c", "C", 1)))
        .expect("write");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while fired.load(Ordering::SeqCst) < clients.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {} callbacks finished",
            fired.load(Ordering::SeqCst),
            clients.len()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(f.subs.stats().subscriptions, 0);
}

#[test]
fn two_subscriptions_to_one_query_share_one_update_per_tx() {
    // Proves: a client subscribed twice to the same query (one maintained group, two
    // targets) still gets one update per tx, holding both subscriptions.
    let f = fixture(SubscriptionConfig::default());
    let sub = f.subs.connect(Caller::user(ALICE), noop());
    sub.subscribe(1, "SELECT id FROM items", &[], None)
        .expect("first");
    sub.subscribe(2, "SELECT id FROM items", &[], None)
        .expect("second");
    assert_eq!(f.subs.stats().distinct_queries, 1);
    let t = put(&f.db, vec![item(1, ALICE, 1, "x")]);
    expect_one_update(&f.subs, &sub, t, &[1, 2]);
}
