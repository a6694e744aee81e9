//! Model-based tests: the engine against a plain `BTreeMap` that is obviously right.
//!
//! `items_*` proptests: random sequences of transactions (inserts, duplicate inserts, updates,
//! deletes, malformed ops, reads through the writer) that commit, roll back or are dropped,
//! interleaved with reads of the latest state, time-travel reads of past committed txs
//! (compared with the model state saved at that tx), held snapshots re-read after garbage
//! collection, and (on disk) snapshot files and reopens. `items` has a primary key, a
//! non-unique index on its i64 column and a unique index on its string column, so
//! constraint failures happen half-way through an update and must be undone. Every read is
//! compared with the model: full scans, `get`, `find` on both indexes, `range` on the i64
//! index. Commits must get consecutive tx ids and a change set that turns the previous state
//! into the new one. One variant runs in memory with a short history window, one on disk with
//! `Durability::Fsync`, which reopens the engine mid-run and at the end and compares the
//! recovered latest state and history with the model.
//!
//! `cascade_*`: ON DELETE CASCADE (two levels) and RESTRICT (direct, and reached through a
//! cascade) against a model of four tables, deterministic and random.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::Path;

use cosmictron_engine::{
    ChangeSet, Database, Engine, EngineConfig, HistoryConfig, Snapshot, TxId, WriteTx,
};
use cosmictron_types::{OnDelete, ScalarType, TableDef, Value};
use proptest::prelude::*;
use proptest::sample::Index;

use common::{i64_of, u64_of};

type Model = BTreeMap<u64, (i64, String)>;

const KEYS: u64 = 12;
const VAL_MIN: i64 = -2;
const VAL_MAX: i64 = 2;
const STRINGS: u8 = 16;
const HISTORY_TXS: u64 = 16;

fn items_def() -> TableDef {
    TableDef::new("items")
        .column("id", ScalarType::U64)
        .column("val", ScalarType::I64)
        .column("s", ScalarType::String)
        .primary_key(&["id"])
        .index("by_val", &["val"])
        .unique("by_s", &["s"])
        .index("by_val_s", &["val", "s"])
}

fn item(key: u64, val: i64, s: &str) -> Vec<Value> {
    vec![
        Value::U64(key),
        Value::I64(val),
        Value::String(s.to_owned()),
    ]
}

fn model_rows(model: &Model, keep: impl Fn(&(i64, String)) -> bool) -> Vec<Vec<Value>> {
    model
        .iter()
        .filter(|(_, v)| keep(v))
        .map(|(k, (v, s))| item(*k, *v, s))
        .collect()
}

fn by_key(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_key(|r| u64_of(&r[0]));
    rows
}

fn string_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn string(s: u8) -> String {
    format!("s{s}")
}

#[derive(Clone, Debug)]
enum Op {
    Insert {
        key: u64,
        val: i64,
        s: u8,
    },
    Update {
        key: u64,
        val: i64,
        s: u8,
    },
    Delete {
        key: u64,
    },
    /// An insert with the wrong number of values: must fail and change nothing.
    BadArity,
    /// An insert with a string where the i64 goes: must fail and change nothing.
    BadType {
        key: u64,
    },
    Get {
        key: u64,
    },
    FindVal {
        val: i64,
    },
}

#[derive(Clone, Debug)]
enum End {
    Commit,
    Rollback,
    Drop,
}

#[derive(Clone, Debug)]
enum Step {
    Tx(Vec<Op>, End),
    ReadLatest,
    AsOf(Index),
    /// Opens a snapshot of the latest state and keeps it (at most a few).
    Hold,
    /// Re-reads a held snapshot.
    CheckHeld(Index),
    CollectGarbage,
    /// `write_snapshot` (a no-op returning the latest tx in memory).
    WriteSnapshot,
    /// Closes and reopens the engine (on disk only).
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS;
    let val = VAL_MIN..=VAL_MAX;
    prop_oneof![
        5 => (key.clone(), val.clone(), 0..STRINGS).prop_map(|(key, val, s)| Op::Insert { key, val, s }),
        3 => (key.clone(), val.clone(), 0..STRINGS).prop_map(|(key, val, s)| Op::Update { key, val, s }),
        2 => key.clone().prop_map(|key| Op::Delete { key }),
        1 => Just(Op::BadArity),
        1 => key.clone().prop_map(|key| Op::BadType { key }),
        1 => key.prop_map(|key| Op::Get { key }),
        1 => val.prop_map(|val| Op::FindVal { val }),
    ]
}

fn step(on_disk: bool) -> impl Strategy<Value = Step> {
    let end = prop_oneof![6 => Just(End::Commit), 1 => Just(End::Rollback), 1 => Just(End::Drop)];
    prop_oneof![
        12 => (prop::collection::vec(op(), 0..7), end).prop_map(|(ops, end)| Step::Tx(ops, end)),
        2 => Just(Step::ReadLatest),
        3 => any::<Index>().prop_map(Step::AsOf),
        1 => Just(Step::Hold),
        1 => any::<Index>().prop_map(Step::CheckHeld),
        1 => Just(Step::CollectGarbage),
        1 => Just(Step::WriteSnapshot),
        (if on_disk { 1 } else { 0 }) => Just(Step::Reopen),
    ]
}

/// The engine under test and what the model says it must hold.
struct Harness {
    dir: Option<tempfile::TempDir>,
    config: EngineConfig,
    engine: Option<Engine>,
    db: Option<Database>,
    committed: Model,
    /// (tx, state right after it) for every committed tx that changed something.
    states: Vec<(TxId, Model)>,
    last_tx: TxId,
    held: Vec<(Snapshot, Model)>,
    /// The tx of the newest snapshot file (on disk).
    snapshot_tx: TxId,
    /// The snapshot the last reopen started from: history before it is gone.
    floor: TxId,
}

impl Harness {
    fn new(on_disk: bool) -> Harness {
        let config = EngineConfig {
            history: HistoryConfig {
                txs_max: Some(HISTORY_TXS),
                age_max: None,
            },
            ..common::test_config()
        };
        let (dir, engine) = if on_disk {
            let dir = tempfile::tempdir().expect("tempdir");
            let engine = Engine::open(dir.path(), config.clone()).expect("open");
            (Some(dir), engine)
        } else {
            (None, Engine::in_memory(config.clone()))
        };
        let db = engine.create_database("m").expect("create database");
        let (_, info) = db
            .write(|tx| tx.create_table(items_def()))
            .expect("create table");
        assert_eq!(info.tx_id, Some(1));
        Harness {
            dir,
            config,
            engine: Some(engine),
            db: Some(db),
            committed: Model::new(),
            states: vec![(1, Model::new())],
            last_tx: 1,
            held: Vec::new(),
            snapshot_tx: 0,
            floor: 0,
        }
    }

    fn db(&self) -> &Database {
        self.db.as_ref().expect("the database is open")
    }

    fn run(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match step {
            Step::Tx(ops, end) => self.transaction(ops, end)?,
            Step::ReadLatest => {
                let snap = self.db().snapshot()?;
                prop_assert_eq!(snap.tx_id(), self.last_tx);
                check_snapshot(&snap, &self.committed)?;
                let err = self.db().as_of(self.last_tx + 1).expect_err("a future tx");
                prop_assert_eq!(err.code(), "future_tx");
            }
            Step::AsOf(index) => {
                let (tx, model) = index.get(&self.states).clone();
                self.check_as_of(tx, &model)?;
            }
            Step::Hold => {
                let snap = self.db().snapshot()?;
                prop_assert_eq!(snap.tx_id(), self.last_tx);
                self.held.push((snap, self.committed.clone()));
                if self.held.len() > 3 {
                    self.held.remove(0);
                }
            }
            Step::CheckHeld(index) => {
                if !self.held.is_empty() {
                    let (snap, model) = index.get(&self.held);
                    check_snapshot(snap, model)?;
                }
            }
            Step::CollectGarbage => {
                self.db().collect_garbage()?;
                for (snap, model) in &self.held {
                    check_snapshot(snap, model)?;
                }
            }
            Step::WriteSnapshot => {
                let at = self.db().write_snapshot()?;
                prop_assert_eq!(at, self.last_tx);
                if self.dir.is_some() {
                    self.snapshot_tx = at;
                }
            }
            Step::Reopen => {
                if self.dir.is_some() {
                    self.reopen()?;
                }
            }
        }
        prop_assert_eq!(self.db().latest_tx(), self.last_tx);
        Ok(())
    }

    fn transaction(&mut self, ops: &[Op], end: &End) -> Result<(), TestCaseError> {
        let db = self.db.clone().expect("open");
        let mut tx = db.begin_write()?;
        prop_assert_eq!(tx.tx_id(), self.last_tx + 1);
        let mut local = self.committed.clone();
        for op in ops {
            apply_op(&mut tx, &mut local, op)?;
            prop_assert_eq!(
                by_key(tx.scan("items")?),
                model_rows(&local, |_| true),
                "writer view after {:?}",
                op
            );
        }
        // Isolation: readers see none of the pending changes.
        check_snapshot(&db.snapshot()?, &self.committed)?;
        match end {
            End::Commit => {
                let info = tx.commit()?;
                match info.tx_id {
                    Some(id) => {
                        prop_assert_eq!(id, self.last_tx + 1, "tx ids are consecutive");
                        let changes = info
                            .changes
                            .as_ref()
                            .expect("a commit with an id has a change set");
                        prop_assert_eq!(changes.tx_id, id);
                        let replayed = apply_changes(changes, &self.committed)?;
                        prop_assert_eq!(
                            &replayed,
                            &local,
                            "the change set turns the old state into the new"
                        );
                        self.committed = local;
                        self.last_tx = id;
                        self.states.push((id, self.committed.clone()));
                    }
                    None => {
                        prop_assert_eq!(
                            &local,
                            &self.committed,
                            "only a transaction that changed nothing gets no id"
                        );
                        prop_assert!(info.changes.is_none());
                    }
                }
            }
            End::Rollback => tx.rollback(),
            End::Drop => drop(tx),
        }
        check_snapshot(&db.snapshot()?, &self.committed)?;
        Ok(())
    }

    fn reopen(&mut self) -> Result<(), TestCaseError> {
        self.held.clear();
        self.db = None;
        self.engine.take().expect("open").close()?;
        let dir = self.dir.as_ref().expect("on disk").path().to_owned();
        let engine = Engine::open(&dir, self.config.clone())?;
        let db = engine.database("m")?;
        self.engine = Some(engine);
        self.db = Some(db);
        self.check_recovered(&dir)
    }

    fn check_recovered(&mut self, dir: &Path) -> Result<(), TestCaseError> {
        let db = self.db().clone();
        prop_assert_eq!(
            db.latest_tx(),
            self.last_tx,
            "recovered latest tx ({})",
            dir.display()
        );
        prop_assert_eq!(db.recovery_report().last_tx, self.last_tx);
        prop_assert_eq!(db.recovery_report().snapshot_tx, self.snapshot_tx);
        self.floor = self.snapshot_tx;
        prop_assert!(
            db.oldest_available_tx() >= self.floor,
            "history after a reopen starts at the snapshot"
        );
        check_snapshot(&db.snapshot()?, &self.committed)?;
        for (tx, model) in self.states.clone() {
            self.check_as_of(tx, &model)?;
        }
        Ok(())
    }

    /// `as_of(tx)` shows `model`, or is refused as out of the history window, which is allowed
    /// only before the last `HISTORY_TXS` txs or before the snapshot the database was last
    /// recovered from (and required before the latter).
    fn check_as_of(&self, tx: TxId, model: &Model) -> Result<(), TestCaseError> {
        let guaranteed = self.floor.max(self.last_tx.saturating_sub(HISTORY_TXS));
        match self.db().as_of(tx) {
            Ok(snap) => {
                prop_assert!(
                    tx >= self.floor,
                    "as_of({}) succeeded before the recovered snapshot {}",
                    tx,
                    self.floor
                );
                prop_assert_eq!(snap.tx_id(), tx);
                check_snapshot(&snap, model)?;
            }
            Err(e) => {
                prop_assert_eq!(e.code(), "history_unavailable", "as_of({}): {}", tx, e);
                prop_assert!(
                    tx < guaranteed,
                    "as_of({}) refused inside the window (latest {}): {}",
                    tx,
                    self.last_tx,
                    e
                );
                prop_assert!(tx < self.db().oldest_available_tx());
            }
        }
        Ok(())
    }
}

fn apply_op(tx: &mut WriteTx<'_>, local: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match *op {
        Op::Insert { key, val, s } => {
            let s = string(s);
            let taken = local.contains_key(&key) || local.values().any(|(_, s2)| *s2 == s);
            match tx.insert("items", item(key, val, &s)) {
                Ok(stored) => {
                    prop_assert!(
                        !taken,
                        "insert of a taken key or string succeeded: {:?}",
                        op
                    );
                    prop_assert_eq!(stored, item(key, val, &s));
                    local.insert(key, (val, s));
                }
                Err(e) => {
                    prop_assert!(taken, "insert failed: {}", e);
                    prop_assert_eq!(e.code(), "unique_violation");
                    prop_assert!(e.is_constraint_violation());
                }
            }
        }
        Op::Update { key, val, s } => {
            let s = string(s);
            let current = local.get(&key).cloned();
            let conflict = local.iter().any(|(k, (_, s2))| *k != key && *s2 == s);
            match tx.update("items", item(key, val, &s)) {
                Ok(old) => {
                    let (old_val, old_s) = current.expect("update of a missing key succeeded");
                    prop_assert!(!conflict, "update to a taken string succeeded: {:?}", op);
                    prop_assert_eq!(old, item(key, old_val, &old_s));
                    local.insert(key, (val, s));
                }
                Err(e) => match current {
                    None => prop_assert_eq!(e.code(), "row_not_found"),
                    Some(_) => {
                        prop_assert!(conflict, "update failed: {}", e);
                        prop_assert_eq!(e.code(), "unique_violation");
                    }
                },
            }
        }
        Op::Delete { key } => {
            let old = tx.delete("items", &[Value::U64(key)])?;
            prop_assert_eq!(old, local.remove(&key).map(|(v, s)| item(key, v, &s)));
        }
        Op::BadArity => {
            let err = tx
                .insert("items", vec![Value::U64(1)])
                .expect_err("wrong arity");
            prop_assert_eq!(err.code(), "type_mismatch");
        }
        Op::BadType { key } => {
            let row = vec![
                Value::U64(key),
                Value::String("x".into()),
                Value::String("bad".into()),
            ];
            let err = tx.insert("items", row).expect_err("wrong type");
            prop_assert_eq!(err.code(), "type_mismatch");
        }
        Op::Get { key } => {
            let got = tx.get("items", &[Value::U64(key)])?;
            prop_assert_eq!(got, local.get(&key).map(|(v, s)| item(key, *v, s)));
        }
        Op::FindVal { val } => {
            let found = by_key(tx.find("items", "by_val", &[Value::I64(val)])?);
            prop_assert_eq!(found, model_rows(local, |(v, _)| *v == val));
        }
    }
    Ok(())
}

/// Applies a change set's deletes then inserts to `before`, checking each delete removes exactly
/// the row that was there and each insert adds a row that was not.
fn apply_changes(changes: &ChangeSet, before: &Model) -> Result<Model, TestCaseError> {
    let mut model = before.clone();
    for table in &changes.tables {
        prop_assert_eq!(table.table_name(), "items");
        for row in table.decoded_deletes()? {
            let key = u64_of(&row[0]);
            let was = model.remove(&key).map(|(v, s)| item(key, v, &s));
            prop_assert_eq!(was, Some(row), "a deleted row must have been there");
        }
        for row in table.decoded_inserts()? {
            let Value::String(s) = &row[2] else {
                panic!("s is a string")
            };
            let fresh = model
                .insert(u64_of(&row[0]), (i64_of(&row[1]), s.clone()))
                .is_none();
            prop_assert!(fresh, "an inserted key must not be there: {:?}", row);
        }
    }
    Ok(model)
}

/// Every way of reading `items` from the snapshot agrees with `model`.
fn check_snapshot(snap: &Snapshot, model: &Model) -> Result<(), TestCaseError> {
    let tx = snap.tx_id();
    prop_assert_eq!(
        by_key(snap.scan("items")?),
        model_rows(model, |_| true),
        "scan as of {}",
        tx
    );
    prop_assert_eq!(snap.count("items")?, model.len() as u64);
    for key in 0..KEYS {
        let expected = model.get(&key).map(|(v, s)| item(key, *v, s));
        prop_assert_eq!(
            snap.get("items", &[Value::U64(key)])?,
            expected,
            "get {} as of {}",
            key,
            tx
        );
    }
    for val in VAL_MIN..=VAL_MAX {
        let found = by_key(snap.find("items", "by_val", &[Value::I64(val)])?);
        prop_assert_eq!(
            found,
            model_rows(model, |(v, _)| *v == val),
            "find val={} as of {}",
            val,
            tx
        );
    }
    for s in 0..STRINGS {
        let s = string(s);
        let found = snap.find("items", "by_s", &[Value::String(s.clone())])?;
        prop_assert_eq!(
            found,
            model_rows(model, |(_, s2)| *s2 == s),
            "find s={} as of {}",
            s,
            tx
        );
    }
    let (lo, hi) = (-1, 2);
    let range = snap.range(
        "items",
        "by_val",
        Bound::Included(&[Value::I64(lo)][..]),
        Bound::Excluded(&[Value::I64(hi)][..]),
        usize::MAX,
    )?;
    let vals: Vec<i64> = range.iter().map(|r| i64_of(&r[1])).collect();
    prop_assert!(
        vals.windows(2).all(|w| w[0] <= w[1]),
        "range is in index order: {:?}",
        vals
    );
    prop_assert_eq!(
        by_key(range),
        model_rows(model, |(v, _)| (lo..hi).contains(v)),
        "range as of {}",
        tx
    );
    // The composite index: prefixes of one and two columns, and range bounds that are
    // prefixes (an excluded lower prefix excludes every key that starts with it).
    for val in VAL_MIN..=VAL_MAX {
        let found = by_key(snap.find("items", "by_val_s", &[Value::I64(val)])?);
        prop_assert_eq!(
            found,
            model_rows(model, |(v, _)| *v == val),
            "find by_val_s val={}",
            val
        );
        let s = string((val + 3) as u8);
        let found = snap.find(
            "items",
            "by_val_s",
            &[Value::I64(val), Value::String(s.clone())],
        )?;
        prop_assert_eq!(
            found,
            model_rows(model, |(v, s2)| *v == val && *s2 == s),
            "find by_val_s ({}, {})",
            val,
            s
        );
    }
    let range = snap.range(
        "items",
        "by_val_s",
        Bound::Excluded(&[Value::I64(lo)][..]),
        Bound::Included(&[Value::I64(hi)][..]),
        usize::MAX,
    )?;
    prop_assert_eq!(
        by_key(range),
        model_rows(model, |(v, _)| lo < *v && *v <= hi),
        "range (lo, hi] of by_val_s as of {}",
        tx
    );
    let from = [Value::I64(lo), Value::String("s5".into())];
    let range = snap.range(
        "items",
        "by_val_s",
        Bound::Included(&from[..]),
        Bound::Excluded(&[Value::I64(hi)][..]),
        usize::MAX,
    )?;
    let in_range = |(v, s): &(i64, String)| (*v, s.as_str()) >= (lo, "s5") && *v < hi;
    prop_assert_eq!(
        by_key(range),
        model_rows(model, in_range),
        "range [(lo, s5), hi) of by_val_s as of {}",
        tx
    );
    let limited = snap.range("items", "by_val_s", Bound::Unbounded, Bound::Unbounded, 3)?;
    let mut all: Vec<(i64, String)> = model.values().cloned().collect();
    all.sort();
    all.truncate(3);
    let limited: Vec<(i64, String)> = limited
        .iter()
        .map(|r| (i64_of(&r[1]), string_of(&r[2])))
        .collect();
    prop_assert_eq!(
        limited,
        all,
        "the first 3 of by_val_s in key order as of {}",
        tx
    );
    Ok(())
}

/// `PROPTEST_CASES` overrides the default case count (for long runs).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run_case(on_disk: bool, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut harness = Harness::new(on_disk);
    for step in steps {
        harness.run(step)?;
    }
    if on_disk {
        harness.reopen()?;
        // The recovered database goes on with the next tx id.
        let key = KEYS + 1;
        let (_, info) = harness
            .db()
            .write(|tx| tx.insert("items", item(key, 0, "fresh")))?;
        prop_assert_eq!(info.tx_id, Some(harness.last_tx + 1));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), ..ProptestConfig::default() })]

    // Proves the in-memory engine matches the model for random step sequences (see the top of
    // the file): every read of the latest state, of the writer's own view, of past txs and of
    // held snapshots agrees with the model state of that moment, with a 16-tx history window
    // and explicit collections in between.
    #[test]
    fn items_in_memory_match_the_model(steps in prop::collection::vec(step(false), 1..60)) {
        run_case(false, &steps)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(32), ..ProptestConfig::default() })]

    // Proves the same on disk with `Durability::Fsync`, plus snapshot files and reopens in the
    // middle and at the end: the recovered latest state, latest tx and every past tx still in
    // the recovered window match the model, txs before the snapshot recovery started from are
    // refused, and the reopened database commits with the next tx id.
    #[test]
    fn items_on_disk_match_the_model_across_reopens(steps in prop::collection::vec(step(true), 1..50)) {
        run_case(true, &steps)?;
    }
}

// ---- foreign keys -------------------------------------------------------------------------
//
// parent(id) ◄─CASCADE─ child(id, parent) ◄─CASCADE─ grand(id, child)
//            ◄─RESTRICT─ pinned(id, parent)          ◄─RESTRICT─ lock(id, child)

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct FkModel {
    parent: BTreeSet<u64>,
    child: BTreeMap<u64, u64>,
    grand: BTreeMap<u64, u64>,
    pinned: BTreeMap<u64, u64>,
    lock: BTreeMap<u64, u64>,
}

const FK_TABLES: [&str; 5] = ["parent", "child", "grand", "pinned", "lock"];

fn create_fk_tables(db: &Database) {
    let link = |name: &str, col: &str, target: &str, on_delete: OnDelete| {
        TableDef::new(name)
            .column("id", ScalarType::U64)
            .column(col, ScalarType::U64)
            .primary_key(&["id"])
            .foreign_key(&format!("{name}_{col}"), &[col], target, &["id"], on_delete)
    };
    db.write(|tx| {
        tx.create_table(
            TableDef::new("parent")
                .column("id", ScalarType::U64)
                .primary_key(&["id"]),
        )?;
        tx.create_table(link("child", "parent", "parent", OnDelete::Cascade))?;
        tx.create_table(link("grand", "child", "child", OnDelete::Cascade))?;
        tx.create_table(link("pinned", "parent", "parent", OnDelete::Restrict))?;
        tx.create_table(link("lock", "child", "child", OnDelete::Restrict))
    })
    .expect("create the foreign key tables");
}

#[derive(Clone, Copy, Debug)]
enum FkOp {
    /// Insert into table `t` (0..5) row `id` referencing `target` (ignored for `parent`).
    Insert {
        t: usize,
        id: u64,
        target: u64,
    },
    Delete {
        t: usize,
        id: u64,
    },
}

impl FkModel {
    fn links(&mut self, t: usize) -> &mut BTreeMap<u64, u64> {
        match t {
            1 => &mut self.child,
            2 => &mut self.grand,
            3 => &mut self.pinned,
            4 => &mut self.lock,
            _ => unreachable!("parent has no link"),
        }
    }

    /// What the op must do: Ok(changed) or Err(expected error code).
    fn apply(&mut self, op: FkOp) -> Result<bool, &'static str> {
        match op {
            FkOp::Insert { t: 0, id, .. } => {
                if !self.parent.insert(id) {
                    return Err("unique_violation");
                }
            }
            FkOp::Insert { t, id, target } => {
                if self.links(t).contains_key(&id) {
                    return Err("unique_violation");
                }
                let target_exists = match t {
                    1 | 3 => self.parent.contains(&target),
                    _ => self.child.contains_key(&target),
                };
                if !target_exists {
                    return Err("foreign_key_violation");
                }
                self.links(t).insert(id, target);
            }
            FkOp::Delete { t: 0, id } => {
                if !self.parent.contains(&id) {
                    return Ok(false);
                }
                let mut next = self.clone();
                next.parent.remove(&id);
                if next.pinned.values().any(|&p| p == id) {
                    return Err("foreign_key_violation");
                }
                let children: Vec<u64> = next
                    .child
                    .iter()
                    .filter(|(_, p)| **p == id)
                    .map(|(c, _)| *c)
                    .collect();
                for c in children {
                    next.delete_child(c)?;
                }
                *self = next;
            }
            FkOp::Delete { t: 1, id } => {
                if !self.child.contains_key(&id) {
                    return Ok(false);
                }
                let mut next = self.clone();
                next.delete_child(id)?;
                *self = next;
            }
            FkOp::Delete { t, id } => return Ok(self.links(t).remove(&id).is_some()),
        }
        Ok(true)
    }

    fn delete_child(&mut self, id: u64) -> Result<(), &'static str> {
        self.child.remove(&id);
        if self.lock.values().any(|&c| c == id) {
            return Err("foreign_key_violation");
        }
        self.grand.retain(|_, c| *c != id);
        Ok(())
    }

    fn rows(&self, t: usize) -> Vec<Vec<Value>> {
        if t == 0 {
            return self.parent.iter().map(|&id| vec![Value::U64(id)]).collect();
        }
        let links = match t {
            1 => &self.child,
            2 => &self.grand,
            3 => &self.pinned,
            _ => &self.lock,
        };
        links
            .iter()
            .map(|(&id, &target)| vec![Value::U64(id), Value::U64(target)])
            .collect()
    }
}

fn fk_row(op: FkOp) -> Vec<Value> {
    match op {
        FkOp::Insert { t: 0, id, .. } => vec![Value::U64(id)],
        FkOp::Insert { id, target, .. } => vec![Value::U64(id), Value::U64(target)],
        FkOp::Delete { .. } => unreachable!("deletes have no row"),
    }
}

/// Runs `op` in `tx` and checks the outcome against `model` (which it updates).
fn fk_step(tx: &mut WriteTx<'_>, model: &mut FkModel, op: FkOp) -> Result<(), TestCaseError> {
    let expected = model.apply(op);
    let got = match op {
        FkOp::Insert { t, .. } => tx.insert(FK_TABLES[t], fk_row(op)).map(|_| true),
        FkOp::Delete { t, id } => tx
            .delete(FK_TABLES[t], &[Value::U64(id)])
            .map(|old| old.is_some()),
    };
    match (expected, got) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{:?}", op),
        (Err(code), Err(e)) => prop_assert_eq!(code, e.code(), "{:?}: {}", op, e),
        (want, got) => prop_assert!(
            false,
            "{:?}: expected {:?}, got {:?}",
            op,
            want,
            got.map_err(|e| e.to_string())
        ),
    }
    for (t, name) in FK_TABLES.iter().enumerate() {
        prop_assert_eq!(
            by_key(tx.scan(name)?),
            model.rows(t),
            "writer view of {} after {:?}",
            name,
            op
        );
    }
    Ok(())
}

fn check_fk(snap: &Snapshot, model: &FkModel) -> Result<(), TestCaseError> {
    for (t, name) in FK_TABLES.iter().enumerate() {
        prop_assert_eq!(
            by_key(snap.scan(name)?),
            model.rows(t),
            "{} as of {}",
            name,
            snap.tx_id()
        );
    }
    Ok(())
}

// Proves ON DELETE CASCADE (two levels) and RESTRICT (direct, and met through a cascade, which
// must then undo the whole delete) case by case on a scripted sequence checked against the
// model after each step, that history still shows the rows a cascade removed, and that a
// reopen replays the cascades (as the deletes they produced) to the same past states.
#[test]
fn cascade_and_restrict_step_by_step() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path(), common::test_config())?;
    let db = engine.create_database("fk")?;
    create_fk_tables(&db);
    let mut model = FkModel::default();
    let ins = |t, id, target| FkOp::Insert { t, id, target };
    let del = |t, id| FkOp::Delete { t, id };
    let script = [
        ins(1, 1, 1),  // child of a missing parent: refused
        ins(0, 1, 0),  // parent 1
        ins(0, 2, 0),  // parent 2
        ins(0, 2, 0),  // duplicate parent: refused
        ins(1, 10, 1), // child 10 → 1
        ins(1, 11, 1), // child 11 → 1
        ins(1, 20, 2), // child 20 → 2
        ins(2, 100, 10),
        ins(2, 101, 10),
        ins(2, 110, 11),
        ins(2, 200, 20),
        ins(4, 1000, 20), // lock child 20
        ins(3, 500, 2),   // pin parent 2
        del(0, 2),        // restricted directly by pinned 500: nothing changes
        del(3, 500),      // unpin
        del(0, 2),        // now restricted through the cascade: child 20 is locked
        del(1, 20),       // restricted by lock 1000
        del(4, 1000),     // unlock
        del(0, 1),        // cascades to children 10, 11 and grandchildren 100, 101, 110
        del(0, 2),        // cascades to child 20 and grandchild 200
        del(0, 3),        // a missing parent: Ok(None)
    ];
    let mut states = Vec::new();
    let mut expected_errors = 0;
    for op in script {
        let mut tx = db.begin_write()?;
        let before = model.clone();
        let result = fk_step(&mut tx, &mut model, op);
        if let Err(e) = result {
            panic!("{e}");
        }
        if model == before {
            expected_errors += 1;
        }
        if let Some(id) = tx.commit()?.tx_id {
            states.push((id, model.clone()));
        }
        check_fk(&db.snapshot()?, &model).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    assert_eq!(
        expected_errors, 6,
        "the script has 6 refused or no-op steps"
    );
    assert_eq!(
        model,
        FkModel::default(),
        "the script ends with every table empty"
    );
    // After the cascades, the history still shows the rows they removed.
    let full = states
        .iter()
        .find(|(_, m)| m.grand.len() == 4)
        .expect("a state with all grandchildren");
    check_fk(&db.as_of(full.0)?, &full.1).map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(db);
    engine.close()?;
    let engine = Engine::open(dir.path(), common::test_config())?;
    let db = engine.database("fk")?;
    for (tx, m) in &states {
        check_fk(&db.as_of(*tx)?, m).map_err(|e| anyhow::anyhow!("recovered as_of({tx}): {e}"))?;
    }
    Ok(())
}

fn fk_op() -> impl Strategy<Value = FkOp> {
    prop_oneof![
        3 => (0..5usize, 0..6u64, 0..6u64).prop_map(|(t, id, target)| FkOp::Insert { t, id, target }),
        2 => (0..5usize, 0..6u64).prop_map(|(t, id)| FkOp::Delete { t, id }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), ..ProptestConfig::default() })]

    // Random foreign key workloads in memory: transactions of several ops that commit or roll
    // back; after each, the latest state and a random past state match the model.
    #[test]
    fn cascade_and_restrict_match_the_model(
        txs in prop::collection::vec((prop::collection::vec(fk_op(), 1..6), any::<bool>(), any::<Index>()), 1..30)
    ) {
        let engine = Engine::in_memory(EngineConfig::in_memory());
        let db = engine.create_database("fk")?;
        create_fk_tables(&db);
        let mut committed = FkModel::default();
        let mut states: Vec<(TxId, FkModel)> = vec![(db.latest_tx(), FkModel::default())];
        for (ops, commit, probe) in &txs {
            let mut tx = db.begin_write()?;
            let mut local = committed.clone();
            for op in ops {
                fk_step(&mut tx, &mut local, *op)?;
            }
            if *commit {
                if let Some(id) = tx.commit()?.tx_id {
                    committed = local;
                    states.push((id, committed.clone()));
                } else {
                    prop_assert_eq!(&local, &committed);
                }
            } else {
                tx.rollback();
            }
            check_fk(&db.snapshot()?, &committed)?;
            let (tx_id, model) = probe.get(&states);
            check_fk(&db.as_of(*tx_id)?, model)?;
        }
    }
}
