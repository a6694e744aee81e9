//! The embedded API end to end: constraints, rollback, auto-increment, schema changes on live
//! data, time travel and its window, `pii` redaction, listeners, independent databases.

use std::ops::Bound;
use std::sync::Arc;

use cosmictron_engine::{Database, Engine, EngineConfig, EngineError, HistoryConfig};
use cosmictron_types::{ColumnDef, ColumnType, IndexDef, OnDelete, ScalarType, TableDef, Value};
use parking_lot::Mutex;

fn users() -> TableDef {
    TableDef::new("users")
        .column("id", ScalarType::U64)
        .column("email", ScalarType::String)
        .column("name", ScalarType::String)
        .nullable_column("age", ScalarType::I32)
        .primary_key(&["id"])
        .auto_inc("id")
        .unique("users_email", &["email"])
        .index("users_age", &["age"])
        .pii("email")
}

fn posts() -> TableDef {
    TableDef::new("posts")
        .column("id", ScalarType::U64)
        .column("author", ScalarType::U64)
        .column("title", ScalarType::String)
        .primary_key(&["id"])
        .foreign_key(
            "posts_author",
            &["author"],
            "users",
            &["id"],
            OnDelete::Cascade,
        )
}

fn memory_db() -> (Engine, Database) {
    let engine = Engine::in_memory(EngineConfig::default());
    let db = engine.create_database("app").expect("create");
    db.write(|tx| {
        tx.create_table(users())?;
        tx.create_table(posts())
    })
    .expect("schema");
    (engine, db)
}

fn user(email: &str, name: &str, age: Option<i32>) -> Vec<Value> {
    vec![Value::U64(0), email.into(), name.into(), age.into()]
}

#[test]
fn auto_increment_fills_ids_and_explicit_ids_move_the_counter() {
    // Proves: 0 means "assign", explicit ids are kept, and later assigned ids skip past them.
    let (_e, db) = memory_db();
    let (rows, _) = db
        .write(|tx| {
            let a = tx.insert("users", user("a@x", "a", None))?;
            let b = tx.insert(
                "users",
                vec![Value::U64(10), "b@x".into(), "b".into(), Value::Null],
            )?;
            let c = tx.insert("users", user("c@x", "c", None))?;
            Ok(vec![a[0].clone(), b[0].clone(), c[0].clone()])
        })
        .expect("insert");
    assert_eq!(rows, vec![Value::U64(1), Value::U64(10), Value::U64(11)]);
}

#[test]
fn constraint_violations_are_typed_and_name_table_column_and_value() {
    // Proves: each violation has its own error and code, names what failed, redacts pii, and
    // leaves the transaction usable (the failed operation alone is undone).
    let (_e, db) = memory_db();
    let mut tx = db.begin_write().expect("begin");
    tx.insert("users", user("ann@x", "ann", Some(30)))
        .expect("first insert");

    let dup_pk = tx
        .insert(
            "users",
            vec![Value::U64(1), "z@x".into(), "z".into(), Value::Null],
        )
        .expect_err("pk");
    assert_eq!(dup_pk.code(), "unique_violation");
    assert!(
        dup_pk.to_string().contains("users_pkey") && dup_pk.to_string().contains("id=1"),
        "{dup_pk}"
    );

    let dup_email = tx
        .insert("users", user("ann@x", "other", None))
        .expect_err("unique");
    assert_eq!(dup_email.code(), "unique_violation");
    let text = dup_email.to_string();
    assert!(
        text.contains("users_email") && text.contains("<redacted>") && !text.contains("ann@x"),
        "{text}"
    );

    let null = tx
        .insert(
            "users",
            vec![Value::U64(0), Value::Null, "n".into(), Value::Null],
        )
        .expect_err("null");
    assert_eq!(null.code(), "not_null_violation");
    assert!(
        null.to_string().contains("email") && null.to_string().contains("users"),
        "{null}"
    );

    let mismatch = tx
        .insert(
            "users",
            vec![Value::U64(0), "t@x".into(), Value::I64(5), Value::Null],
        )
        .expect_err("type");
    assert_eq!(mismatch.code(), "type_mismatch");
    assert!(
        mismatch.to_string().contains("name") && mismatch.to_string().contains("users"),
        "{mismatch}"
    );

    let orphan = tx
        .insert("posts", vec![Value::U64(1), Value::U64(99), "t".into()])
        .expect_err("fk");
    assert_eq!(orphan.code(), "foreign_key_violation");
    assert!(
        orphan.to_string().contains("posts_author") && orphan.to_string().contains("99"),
        "{orphan}"
    );

    let missing = tx.insert("nope", vec![]).expect_err("table");
    assert_eq!(missing.code(), "no_such_table");

    // The transaction is still usable and only the good insert is in it.
    tx.insert("users", user("bob@x", "bob", None))
        .expect("still usable");
    tx.commit().expect("commit");
    assert_eq!(
        db.snapshot().expect("snap").count("users").expect("count"),
        2
    );
}

#[test]
fn event_tables_are_append_only() {
    // Proves: event tables accept inserts and refuse update and delete with `append_only`.
    let engine = Engine::in_memory(EngineConfig::default());
    let db = engine.create_database("ev").expect("db");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("log")
                .column("id", ScalarType::U64)
                .column("line", ScalarType::String)
                .primary_key(&["id"])
                .event(),
        )?;
        tx.insert("log", vec![Value::U64(1), "hello".into()])
    })
    .expect("insert");
    let mut tx = db.begin_write().expect("begin");
    assert_eq!(
        tx.delete("log", &[Value::U64(1)])
            .expect_err("delete")
            .code(),
        "append_only"
    );
    assert_eq!(
        tx.update("log", vec![Value::U64(1), "x".into()])
            .expect_err("update")
            .code(),
        "append_only"
    );
}

#[test]
fn rollback_leaves_no_trace() {
    // Proves: a rolled-back transaction changes no rows, no counters, no schema and no tx id.
    let (_e, db) = memory_db();
    db.write(|tx| tx.insert("users", user("a@x", "a", None)))
        .expect("insert");
    let before = db.latest_tx();
    {
        let mut tx = db.begin_write().expect("begin");
        tx.insert("users", user("b@x", "b", None)).expect("insert");
        tx.update(
            "users",
            vec![Value::U64(1), "a@x".into(), "renamed".into(), Value::Null],
        )
        .expect("update");
        tx.create_table(TableDef::new("tmp").column("x", ScalarType::Bool))
            .expect("create");
        tx.add_column(
            "users",
            ColumnDef::new("extra", ColumnType::new(ScalarType::U8)),
            Value::U8(1),
        )
        .expect("add");
        tx.rollback();
    }
    assert_eq!(db.latest_tx(), before);
    let snap = db.snapshot().expect("snap");
    assert_eq!(
        snap.scan("users").expect("scan"),
        vec![vec![Value::U64(1), "a@x".into(), "a".into(), Value::Null]]
    );
    assert!(db.table_schema("tmp").is_err());
    drop(snap);
    // The auto-increment counter was rolled back too: the next id is 2.
    let (row, _) = db
        .write(|tx| tx.insert("users", user("c@x", "c", None)))
        .expect("insert");
    assert_eq!(row[0], Value::U64(2));
    // A closure that fails rolls back as well.
    let err = db.write(|tx| {
        tx.insert("users", user("d@x", "d", None))?;
        tx.insert("users", user("d@x", "dup", None))
    });
    assert!(err.is_err());
    assert_eq!(
        db.snapshot().expect("snap").count("users").expect("count"),
        2
    );
}

#[test]
fn foreign_keys_cascade_and_restrict() {
    // Proves: CASCADE deletes children with the parent, RESTRICT refuses while children exist.
    let (_e, db) = memory_db();
    db.write(|tx| {
        tx.insert("users", user("a@x", "a", None))?;
        tx.insert("posts", vec![Value::U64(1), Value::U64(1), "p1".into()])?;
        tx.insert("posts", vec![Value::U64(2), Value::U64(1), "p2".into()])?;
        tx.create_table(
            TableDef::new("comments")
                .column("id", ScalarType::U64)
                .column("post", ScalarType::U64)
                .primary_key(&["id"])
                .foreign_key(
                    "comments_post",
                    &["post"],
                    "posts",
                    &["id"],
                    OnDelete::Restrict,
                ),
        )?;
        tx.insert("comments", vec![Value::U64(1), Value::U64(2)])
    })
    .expect("setup");
    let err = db
        .write(|tx| tx.delete("users", &[Value::U64(1)]))
        .expect_err("restricted by a grandchild");
    assert_eq!(err.code(), "foreign_key_violation");
    assert!(err.to_string().contains("comments_post"), "{err}");
    assert_eq!(
        db.snapshot().expect("snap").count("posts").expect("count"),
        2,
        "nothing was deleted"
    );

    db.write(|tx| tx.delete("comments", &[Value::U64(1)]))
        .expect("delete comment");
    let (deleted, info) = db
        .write(|tx| tx.delete("users", &[Value::U64(1)]))
        .expect("cascade");
    assert!(deleted.is_some());
    let changes = info.changes.expect("changes");
    assert_eq!(
        changes.table("posts").expect("posts changed").deletes.len(),
        2
    );
    assert_eq!(
        db.snapshot().expect("snap").count("posts").expect("count"),
        0
    );
}

#[test]
fn schema_changes_apply_to_live_data() {
    // Proves: add column with a default fills existing rows; a new index serves lookups of
    // existing rows; a unique index over duplicates is refused; drop index and drop table work.
    let (_e, db) = memory_db();
    db.write(|tx| {
        tx.insert("users", user("a@x", "ann", Some(30)))?;
        tx.insert("users", user("b@x", "ann", Some(40)))
    })
    .expect("rows");
    db.write(|tx| {
        tx.add_column(
            "users",
            ColumnDef::new("plan", ColumnType::new(ScalarType::String)),
            "free".into(),
        )
    })
    .expect("add column");
    let snap = db.snapshot().expect("snap");
    assert_eq!(
        snap.get("users", &[Value::U64(1)])
            .expect("get")
            .expect("row")[4],
        Value::from("free")
    );
    drop(snap);

    db.write(|tx| {
        tx.create_index(
            "users",
            IndexDef {
                name: "users_name".into(),
                columns: vec!["name".into()],
                unique: false,
            },
        )
    })
    .expect("index");
    assert_eq!(
        db.snapshot()
            .expect("snap")
            .find("users", "users_name", &["ann".into()])
            .expect("find")
            .len(),
        2
    );

    let err = db
        .write(|tx| {
            tx.create_index(
                "users",
                IndexDef {
                    name: "users_name_u".into(),
                    columns: vec!["name".into()],
                    unique: true,
                },
            )
        })
        .expect_err("duplicates");
    assert_eq!(err.code(), "unique_violation");

    db.write(|tx| tx.drop_index("users", "users_name"))
        .expect("drop index");
    assert_eq!(
        db.snapshot()
            .expect("snap")
            .find("users", "users_name", &[])
            .expect_err("gone")
            .code(),
        "no_such_index"
    );
    let err = db
        .write(|tx| tx.drop_table("users"))
        .expect_err("referenced by posts");
    assert_eq!(err.code(), "invalid_definition");
    db.write(|tx| {
        tx.drop_table("posts")?;
        tx.drop_table("users")
    })
    .expect("drop tables");
    assert_eq!(db.table_names(), Vec::<String>::new());
}

#[test]
fn index_range_scans_follow_key_order() {
    // Proves: range bounds (inclusive/exclusive/unbounded) over a btree index return rows in
    // key order, with NULLs first, and respect the limit.
    let (_e, db) = memory_db();
    db.write(|tx| {
        for (i, age) in [Some(50), None, Some(20), Some(30), Some(40), Some(30)]
            .into_iter()
            .enumerate()
        {
            tx.insert("users", user(&format!("{i}@x"), "u", age))?;
        }
        Ok(())
    })
    .expect("rows");
    let snap = db.snapshot().expect("snap");
    let ages = |rows: Vec<Vec<Value>>| rows.into_iter().map(|r| r[3].clone()).collect::<Vec<_>>();
    let between = snap
        .range(
            "users",
            "users_age",
            Bound::Included(&[Value::I32(30)][..]),
            Bound::Excluded(&[Value::I32(50)][..]),
            100,
        )
        .expect("range");
    assert_eq!(
        ages(between),
        vec![Value::I32(30), Value::I32(30), Value::I32(40)]
    );
    let all = snap
        .range("users", "users_age", Bound::Unbounded, Bound::Unbounded, 3)
        .expect("range");
    assert_eq!(ages(all), vec![Value::Null, Value::I32(20), Value::I32(30)]);
}

/// An in-memory database with a `kv(k u64 pk, v i64)` table and a history of `txs_max` txs.
fn kv_db(txs_max: u64) -> (Engine, Database) {
    let engine = Engine::in_memory(EngineConfig {
        history: HistoryConfig {
            txs_max: Some(txs_max),
            age_max: None,
        },
        ..EngineConfig::default()
    });
    let db = engine.create_database("kv").expect("db");
    db.write(|tx| {
        let kv = TableDef::new("kv")
            .column("k", ScalarType::U64)
            .column("v", ScalarType::I64);
        tx.create_table(kv.primary_key(&["k"]))
    })
    .expect("table");
    (engine, db)
}

#[test]
fn time_travel_reads_past_states_and_names_the_oldest_available() {
    // Proves: as_of(n) is exactly the state after tx n; a future tx and a tx outside the window
    // are clear errors naming the bounds; collection frees the old versions.
    let (_engine, db) = kv_db(5);
    let mut txs = Vec::new();
    for v in 0..20 {
        let (_, info) = db
            .write(|tx| {
                if v == 0 {
                    tx.insert("kv", vec![Value::U64(1), Value::I64(v)])
                        .map(|_| ())
                } else {
                    tx.update("kv", vec![Value::U64(1), Value::I64(v)])
                        .map(|_| ())
                }
            })
            .expect("write");
        txs.push(info.tx_id.expect("tx"));
    }
    let latest = db.latest_tx();
    let past = db.as_of(txs[17]).expect("in window");
    assert_eq!(
        past.get("kv", &[Value::U64(1)]).expect("get"),
        Some(vec![Value::U64(1), Value::I64(17)])
    );
    drop(past);

    let future = db.as_of(latest + 1).expect_err("future");
    assert_eq!(future.code(), "future_tx");

    let before_gc = db.stats().history_versions;
    assert!(before_gc >= 19, "every update left a version: {before_gc}");
    db.collect_garbage().expect("gc");
    assert_eq!(db.oldest_available_tx(), latest - 5);
    assert!(
        db.stats().history_versions <= 5,
        "old versions were collected"
    );
    let err = db.as_of(txs[2]).expect_err("too old");
    assert_eq!(err.code(), "history_unavailable");
    assert!(
        err.to_string()
            .contains(&format!("oldest available is tx {}", latest - 5)),
        "{err}"
    );
    // Still readable at the edge of the window.
    let edge = db.as_of(latest - 5).expect("edge");
    assert_eq!(
        edge.get("kv", &[Value::U64(1)]).expect("get"),
        Some(vec![Value::U64(1), Value::I64(14)])
    );
}

#[test]
fn an_open_snapshot_holds_its_versions_and_does_not_block_writers() {
    // Proves: a snapshot taken before many commits still reads its state after collection,
    // and writers commit while it is open (nothing waits on it).
    let (_engine, db) = kv_db(1);
    db.write(|tx| tx.insert("kv", vec![Value::U64(1), Value::I64(0)]))
        .expect("setup");
    let snap = db.snapshot().expect("snap");
    for v in 1..100 {
        db.write(|tx| tx.update("kv", vec![Value::U64(1), Value::I64(v)]))
            .expect("update");
    }
    db.collect_garbage().expect("gc");
    assert_eq!(
        snap.get("kv", &[Value::U64(1)]).expect("get"),
        Some(vec![Value::U64(1), Value::I64(0)])
    );
    // A clone holds the versions on its own once the original is gone.
    let clone = snap.clone();
    drop(snap);
    for v in 100..200 {
        db.write(|tx| tx.update("kv", vec![Value::U64(1), Value::I64(v)]))
            .expect("update");
    }
    db.collect_garbage().expect("gc");
    assert_eq!(
        clone.get("kv", &[Value::U64(1)]).expect("get"),
        Some(vec![Value::U64(1), Value::I64(0)])
    );
    drop(clone);
    assert_eq!(
        db.snapshot()
            .expect("now")
            .get("kv", &[Value::U64(1)])
            .expect("get"),
        Some(vec![Value::U64(1), Value::I64(199)])
    );
}

#[test]
fn superseded_versions_keep_no_pii() {
    // Proves: after an update or delete, time-travel reads of the old version show the pii
    // column wiped, while non-pii columns keep their history.
    let (_e, db) = memory_db();
    let (_, first) = db
        .write(|tx| tx.insert("users", user("secret@x", "ann", Some(1))))
        .expect("insert");
    let first = first.tx_id.expect("tx");
    db.write(|tx| {
        tx.update(
            "users",
            vec![Value::U64(1), "new@x".into(), "ann2".into(), Value::I32(2)],
        )
    })
    .expect("update");
    let old = db
        .as_of(first)
        .expect("as of")
        .get("users", &[Value::U64(1)])
        .expect("get")
        .expect("row");
    assert_eq!(
        old,
        vec![Value::U64(1), "".into(), "ann".into(), Value::I32(1)]
    );
    // The unique index no longer knows the old address either: it can be taken again, and a
    // time-travel lookup by it finds nothing.
    db.write(|tx| tx.insert("users", user("secret@x", "other", None)))
        .expect("address reusable");
    let found = db
        .as_of(first)
        .expect("as of")
        .find("users", "users_email", &["secret@x".into()])
        .expect("find");
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn listeners_get_change_sets_in_commit_order_with_net_changes() {
    // Proves: every commit reaches listeners once, in tx order; an update is a delete plus an
    // insert; a row inserted and deleted in one tx appears nowhere (the tx still happened and
    // keeps its id, so ids stay gap-free); a tx that wrote nothing uses no id.
    let (_e, db) = memory_db();
    let seen: Arc<Mutex<Vec<(u64, usize, usize)>>> = Arc::default();
    let sink = seen.clone();
    db.on_commit(Arc::new(move |cs| {
        let users = cs.table("users");
        sink.lock().push((
            cs.tx_id,
            users.map_or(0, |t| t.inserts.len()),
            users.map_or(0, |t| t.deletes.len()),
        ));
    }));
    let start = db.latest_tx();
    db.write(|tx| tx.insert("users", user("a@x", "a", None)))
        .expect("1");
    db.write(|tx| {
        tx.update(
            "users",
            vec![Value::U64(1), "a@x".into(), "b".into(), Value::Null],
        )
    })
    .expect("2");
    db.write(|tx| {
        tx.insert("users", user("t@x", "temp", None))?;
        tx.delete("users", &[Value::U64(2)])
    })
    .expect("3");
    let (_, empty) = db
        .write(|tx| tx.get("users", &[Value::U64(1)]))
        .expect("read only");
    assert_eq!(empty.tx_id, None);
    assert_eq!(
        *seen.lock(),
        vec![(start + 1, 1, 0), (start + 2, 1, 1), (start + 3, 0, 0)]
    );
}

#[test]
fn databases_are_independent() {
    // Proves: each database has its own catalog and tx ids.
    let engine = Engine::in_memory(EngineConfig::default());
    let a = engine.create_database("a").expect("a");
    let b = engine.create_database("b").expect("b");
    a.write(|tx| tx.create_table(TableDef::new("t").column("x", ScalarType::U8)))
        .expect("a table");
    assert_eq!(a.latest_tx(), 1);
    assert_eq!(b.latest_tx(), 0);
    assert!(b.table_schema("t").is_err());
    assert!(matches!(
        engine.create_database("a"),
        Err(EngineError::DatabaseExists(_))
    ));
    assert_eq!(
        engine.create_database("bad name").expect_err("name").code(),
        "invalid_definition"
    );
    assert_eq!(
        engine.database_names(),
        vec!["a".to_owned(), "b".to_owned()]
    );
}

#[test]
fn a_data_directory_is_locked_and_survives_reopen_with_schema_changes() {
    // Proves: a second engine cannot open a directory in use; replay rebuilds schema changes
    // (added column, created index) and rows.
    let dir = tempfile::tempdir().expect("dir");
    {
        let engine = Engine::open(dir.path(), EngineConfig::default()).expect("open");
        assert!(
            Engine::open(dir.path(), EngineConfig::default()).is_err(),
            "locked"
        );
        let db = engine.create_database("app").expect("db");
        db.write(|tx| {
            tx.create_table(users())?;
            tx.insert("users", user("a@x", "ann", Some(3)))?;
            tx.add_column(
                "users",
                ColumnDef::new("score", ColumnType::nullable(ScalarType::F64)),
                Value::Null,
            )?;
            tx.create_index(
                "users",
                IndexDef {
                    name: "by_name".into(),
                    columns: vec!["name".into()],
                    unique: false,
                },
            )
        })
        .expect("write");
        db.write(|tx| {
            tx.insert(
                "users",
                vec![
                    Value::U64(0),
                    "b@x".into(),
                    "bob".into(),
                    Value::Null,
                    Value::F64(1.5),
                ],
            )
        })
        .expect("insert");
    }
    let engine = Engine::open(dir.path(), EngineConfig::default()).expect("reopen");
    let db = engine.database("app").expect("db");
    let snap = db.snapshot().expect("snap");
    assert_eq!(
        snap.find("users", "by_name", &["bob".into()])
            .expect("find")[0][4],
        Value::F64(1.5)
    );
    assert_eq!(
        snap.get("users", &[Value::U64(1)])
            .expect("get")
            .expect("row")[4],
        Value::Null
    );
    assert_eq!(db.recovery_report().wal_records, 2);
}

#[test]
fn nulls_never_conflict_in_a_unique_index() {
    // Proves: as in SQL, two rows with NULL in a unique column coexist (on insert and when the
    // unique index is created over live rows), while equal non-NULL values still conflict.
    let engine = Engine::in_memory(EngineConfig::default());
    let db = engine.create_database("n").expect("db");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("t")
                .column("id", ScalarType::U64)
                .nullable_column("code", ScalarType::String)
                .nullable_column("alt", ScalarType::String)
                .primary_key(&["id"])
                .unique("t_code", &["code"]),
        )?;
        tx.insert("t", vec![Value::U64(1), Value::Null, Value::Null])?;
        tx.insert("t", vec![Value::U64(2), Value::Null, Value::Null])?;
        tx.insert("t", vec![Value::U64(3), "a".into(), "x".into()])
    })
    .expect("nulls coexist");
    let dup = db
        .write(|tx| tx.insert("t", vec![Value::U64(4), "a".into(), Value::Null]))
        .expect_err("dup");
    assert_eq!(dup.code(), "unique_violation");
    db.write(|tx| {
        tx.create_index(
            "t",
            IndexDef {
                name: "t_alt".into(),
                columns: vec!["alt".into()],
                unique: true,
            },
        )
    })
    .expect("a unique index over NULLs is fine");
}

#[test]
fn collecting_many_deleted_rows_compacts_storage_and_keeps_the_rest_intact() {
    // Proves: after most rows are deleted and their history collected, the row storage shrinks
    // (mostly-empty pages are compacted and released) while every remaining row still reads
    // back through scans and both indexes.
    let engine = Engine::in_memory(EngineConfig {
        history: HistoryConfig {
            txs_max: Some(0),
            age_max: None,
        },
        ..EngineConfig::default()
    });
    let db = engine.create_database("c").expect("db");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("t")
                .column("id", ScalarType::U64)
                .column("body", ScalarType::String)
                .primary_key(&["id"])
                .index("t_body", &["body"]),
        )?;
        for i in 0..40_000u64 {
            tx.insert("t", vec![Value::U64(i), format!("{i:0>100}").into()])?;
        }
        Ok(())
    })
    .expect("fill");
    let full = db.stats().memory_bytes;
    db.write(|tx| {
        for i in (0..40_000u64).filter(|i| i % 10 != 0) {
            tx.delete("t", &[Value::U64(i)])?;
        }
        Ok(())
    })
    .expect("delete 90%");
    db.collect_garbage().expect("collect");
    let after = db.stats().memory_bytes;
    assert!(
        after * 2 < full,
        "memory {after} should be well under half of {full}"
    );
    let snap = db.snapshot().expect("snap");
    let rows = snap.scan("t").expect("scan");
    assert_eq!(rows.len(), 4_000);
    for i in (0..40_000u64).step_by(10) {
        let body: Value = format!("{i:0>100}").into();
        assert_eq!(
            snap.get("t", &[Value::U64(i)]).expect("get"),
            Some(vec![Value::U64(i), body.clone()])
        );
        assert_eq!(snap.find("t", "t_body", &[body]).expect("find").len(), 1);
    }
}

#[test]
fn find_raw_copies_out_the_encoded_rows_of_a_prefix_as_of_the_snapshot() {
    // Proves: the lending lookup returns exactly the rows `find` decodes (same order), as of
    // the snapshot's tx, and appends to a reused buffer.
    let (_engine, db) = memory_db();
    db.write(|tx| {
        for (email, age) in [("a@x", 30), ("b@x", 41), ("c@x", 30)] {
            tx.insert("users", user(email, "n", Some(age)))?;
        }
        Ok(())
    })
    .expect("rows");
    let before = db.snapshot().expect("snapshot");
    db.write(|tx| tx.delete("users", &[Value::U64(1)]).map(|_| ()))
        .expect("delete");
    let schema = before.table_schema("users").expect("schema");
    let decode = |chunk: &cosmictron_engine::RowChunk| -> Vec<Vec<Value>> {
        chunk
            .iter()
            .map(|(_, data)| cosmictron_types::decode_row(schema.columns(), data).expect("row"))
            .collect()
    };
    let mut chunk = cosmictron_engine::RowChunk::new();
    let after = db.snapshot().expect("snapshot");
    for (snap, expected) in [(&before, 2), (&after, 1)] {
        chunk.clear();
        snap.find_raw("users", "users_age", &[Value::I32(30)], &mut chunk)
            .expect("find_raw");
        assert_eq!(chunk.len(), expected);
        assert_eq!(
            decode(&chunk),
            snap.find("users", "users_age", &[Value::I32(30)])
                .expect("find")
        );
    }
    let err = before
        .find_raw("users", "nope", &[], &mut chunk)
        .expect_err("no index");
    assert_eq!(err.code(), "no_such_index");
}

#[test]
fn a_delete_by_part_of_a_composite_primary_key_is_refused() {
    // Proves: a prefix of the key could name several rows; delete removes exactly one row by
    // its whole key, or refuses.
    let engine = Engine::in_memory(EngineConfig::default());
    let db = engine.create_database("c").expect("db");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("pairs")
                .column("a", ScalarType::U64)
                .column("b", ScalarType::U64)
                .primary_key(&["a", "b"]),
        )?;
        tx.insert("pairs", vec![Value::U64(1), Value::U64(2)])?;
        tx.insert("pairs", vec![Value::U64(1), Value::U64(3)])
    })
    .expect("rows");
    let err = db
        .write(|tx| tx.delete("pairs", &[Value::U64(1)]).map(|_| ()))
        .expect_err("partial key");
    assert!(
        err.to_string().contains("2 columns, 1 values given"),
        "{err}"
    );
    let (deleted, _) = db
        .write(|tx| tx.delete("pairs", &[Value::U64(1), Value::U64(3)]))
        .expect("whole key");
    assert_eq!(deleted, Some(vec![Value::U64(1), Value::U64(3)]));
    let snap = db.snapshot().expect("snapshot");
    assert_eq!(snap.count("pairs").expect("count"), 1);
}
