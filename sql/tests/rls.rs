//! Row-level security: a row hidden by the read policy is never returned, counted, summed,
//! joined, seen through a subquery (plain, correlated, scalar, EXISTS) or seen AS OF an older
//! transaction; private tables are indistinguishable from missing ones; errors do not carry
//! hidden values. The fixture gives Alice rows 1–3 and Bob rows 4–6 of `docs`.

mod common;

use common::{code, engine, run, sorted, sql};
use cosmictron_engine::{Database, Engine};
use cosmictron_sql::{Caller, SqlEngine};
use cosmictron_types::{Identity, ScalarType, TableDef, Value};

const ALICE: Identity = Identity([0xa1; 32]);
const BOB: Identity = Identity([0xb0; 32]);
const BOB_SECRET: &str = "bob-secret-4";

fn fixture(e: &Engine) -> (Database, u64) {
    let db = e.create_database("app").expect("db");
    let (_, info) = db
        .write(|tx| {
            tx.create_table(
                TableDef::new("docs")
                    .column("id", ScalarType::U64)
                    .column("owner", ScalarType::Identity)
                    .column("secret", ScalarType::String)
                    .column("n", ScalarType::I64)
                    .primary_key(&["id"])
                    .index("docs_n", &["n"])
                    .read_policy("owner = $identity")
                    .public(),
            )?;
            tx.create_table(
                TableDef::new("notes")
                    .column("id", ScalarType::U64)
                    .column("doc", ScalarType::U64)
                    .column("text", ScalarType::String)
                    .primary_key(&["id"])
                    .public(),
            )?;
            tx.create_table(
                TableDef::new("vault")
                    .column("id", ScalarType::U64)
                    .primary_key(&["id"]),
            )?;
            for i in 1..=6u64 {
                let (owner, secret) = if i <= 3 {
                    (ALICE, format!("alice-secret-{i}"))
                } else {
                    (BOB, format!("bob-secret-{i}"))
                };
                tx.insert(
                    "docs",
                    vec![
                        Value::U64(i),
                        Value::Identity(owner),
                        Value::String(secret),
                        Value::I64(i as i64 * 10),
                    ],
                )?;
                tx.insert(
                    "notes",
                    vec![
                        Value::U64(100 + i),
                        Value::U64(i),
                        Value::String(format!("note {i}")),
                    ],
                )?;
            }
            tx.insert("vault", vec![Value::U64(1)])
        })
        .expect("setup");
    (db, info.tx_id.expect("tx"))
}

fn alice() -> Caller {
    Caller::user(ALICE)
}

fn ints(s: &SqlEngine, db: &Database, q: &str, who: &Caller) -> Vec<Vec<Value>> {
    sorted(run(s, db, q, &[], who).rows)
}

#[test]
fn hidden_rows_are_never_returned_counted_or_aggregated() {
    let e = engine();
    let (db, _) = fixture(&e);
    let s = sql();
    let ids = ints(&s, &db, "SELECT id FROM docs", &alice());
    assert_eq!(
        ids,
        vec![
            vec![Value::U64(1)],
            vec![Value::U64(2)],
            vec![Value::U64(3)]
        ]
    );
    assert_eq!(
        ints(
            &s,
            &db,
            "SELECT COUNT(*), SUM(n), MAX(n), AVG(n) FROM docs",
            &alice()
        ),
        vec![vec![
            Value::I64(3),
            Value::I64(60),
            Value::I64(30),
            Value::F64(20.0)
        ]]
    );
    assert_eq!(
        ints(
            &s,
            &db,
            "SELECT COUNT(*) FROM docs GROUP BY owner",
            &alice()
        ),
        vec![vec![Value::I64(3)]]
    );
    // Index lookups and ranges go through the policy too.
    assert!(ints(&s, &db, "SELECT * FROM docs WHERE id = 4", &alice()).is_empty());
    assert!(
        ints(
            &s,
            &db,
            "SELECT * FROM docs WHERE id IN (4, 5, 6)",
            &alice()
        )
        .is_empty()
    );
    assert!(ints(&s, &db, "SELECT * FROM docs WHERE n >= 40", &alice()).is_empty());
    assert!(
        ints(
            &s,
            &db,
            "SELECT * FROM docs WHERE secret = 'bob-secret-4'",
            &alice()
        )
        .is_empty()
    );
    // Anonymous callers match no identity policy.
    assert_eq!(
        ints(&s, &db, "SELECT COUNT(*) FROM docs", &Caller::anonymous()),
        vec![vec![Value::I64(0)]]
    );
    // Bob sees his own; the owner bypass sees everything.
    assert_eq!(
        ints(&s, &db, "SELECT COUNT(*) FROM docs", &Caller::user(BOB)),
        vec![vec![Value::I64(3)]]
    );
    assert_eq!(
        ints(&s, &db, "SELECT COUNT(*) FROM docs", &Caller::owner()),
        vec![vec![Value::I64(6)]]
    );
}

#[test]
fn hidden_rows_are_never_joined_or_seen_through_subqueries() {
    let e = engine();
    let (db, _) = fixture(&e);
    let s = sql();
    let a = alice();
    let joined = ints(
        &s,
        &db,
        "SELECT notes.id FROM notes JOIN docs ON docs.id = notes.doc",
        &a,
    );
    assert_eq!(joined.len(), 3);
    let comma = ints(
        &s,
        &db,
        "SELECT COUNT(*) FROM notes, docs WHERE docs.id = notes.doc",
        &a,
    );
    assert_eq!(comma, vec![vec![Value::I64(3)]]);
    let left = ints(
        &s,
        &db,
        "SELECT notes.id, docs.secret FROM notes LEFT JOIN docs ON docs.id = notes.doc WHERE notes.doc >= 4",
        &a,
    );
    assert!(left.iter().all(|r| r[1] == Value::Null), "{left:?}");
    let cases = [
        (
            "SELECT COUNT(*) FROM notes WHERE doc IN (SELECT id FROM docs)",
            3,
        ),
        (
            "SELECT COUNT(*) FROM notes WHERE EXISTS (SELECT 1 FROM docs WHERE docs.id = notes.doc)",
            3,
        ),
        (
            "SELECT COUNT(*) FROM notes WHERE doc NOT IN (SELECT id FROM docs)",
            3,
        ),
        ("SELECT COUNT(*) FROM (SELECT * FROM docs) AS d", 3),
        ("SELECT (SELECT COUNT(*) FROM docs)", 3),
        ("SELECT (SELECT MAX(n) FROM docs)", 30),
        (
            "SELECT COUNT(*) FROM notes WHERE (SELECT n FROM docs WHERE docs.id = notes.doc) IS NOT NULL",
            3,
        ),
    ];
    for (q, want) in cases {
        assert_eq!(ints(&s, &db, q, &a), vec![vec![Value::I64(want)]], "{q}");
    }
}

#[test]
fn history_is_filtered_too() {
    let e = engine();
    let (db, setup_tx) = fixture(&e);
    // Bob's rows change afterwards; AS OF the setup they existed, and are still hidden.
    db.write(|tx| tx.delete("docs", &[Value::U64(4)]))
        .expect("delete");
    let s = sql();
    let q = format!("SELECT COUNT(*), SUM(n) FROM docs AS OF TX {setup_tx}");
    assert_eq!(
        ints(&s, &db, &q, &alice()),
        vec![vec![Value::I64(3), Value::I64(60)]]
    );
    assert_eq!(
        ints(&s, &db, &q, &Caller::owner()),
        vec![vec![Value::I64(6), Value::I64(210)]]
    );
    let q = format!("SELECT secret FROM docs WHERE id = 4 AS OF TX {setup_tx}");
    assert!(ints(&s, &db, &q, &alice()).is_empty());
}

#[test]
fn private_tables_look_exactly_like_missing_ones() {
    let e = engine();
    let (db, _) = fixture(&e);
    let s = sql();
    let a = alice();
    let private = s
        .query(&db, "SELECT * FROM vault", &[], &a)
        .expect_err("hidden");
    let missing = s
        .query(&db, "SELECT * FROM vaulx", &[], &a)
        .expect_err("missing");
    assert_eq!(private.code(), "no_such_table");
    assert_eq!(private.code(), missing.code());
    assert_eq!(
        private.to_string().replace("vault", "X"),
        missing.to_string().replace("vaulx", "X")
    );
    assert_eq!(
        code(&s, &db, "EXPLAIN SELECT * FROM vault", &[], &a),
        "no_such_table"
    );
    assert_eq!(
        code(
            &s,
            &db,
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM vault)",
            &[],
            &a
        ),
        "no_such_table"
    );
    // The explicit bypass sees it; a cached plan made for the owner is not reused for others.
    assert_eq!(
        ints(&s, &db, "SELECT id FROM vault", &Caller::owner()),
        vec![vec![Value::U64(1)]]
    );
    assert_eq!(
        code(&s, &db, "SELECT id FROM vault", &[], &a),
        "no_such_table"
    );
}

#[test]
fn expressions_never_run_on_hidden_rows_and_errors_carry_no_values() {
    let e = engine();
    let (db, _) = fixture(&e);
    let s = sql();
    // Casting Bob's secret to an identity fails for the owner; for Alice his row never reaches
    // the cast, so the query succeeds with no rows.
    let q = "SELECT CAST(secret AS identity) FROM docs WHERE id = 4";
    assert!(ints(&s, &db, q, &alice()).is_empty());
    let err = s
        .query(&db, q, &[], &Caller::owner())
        .expect_err("cast fails");
    assert!(!err.to_string().contains(BOB_SECRET), "{err}");
}

#[test]
fn several_policies_are_permissive_and_bad_policies_fail_closed() {
    let e = engine();
    let db = e.create_database("p").expect("db");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("t")
                .column("id", ScalarType::U64)
                .column("owner", ScalarType::Identity)
                .column("shared", ScalarType::Bool)
                .primary_key(&["id"])
                .read_policy("owner = $identity")
                .read_policy("shared")
                .public(),
        )?;
        tx.create_table(
            TableDef::new("broken")
                .column("id", ScalarType::U64)
                .read_policy("nope = $identity")
                .public(),
        )?;
        tx.insert(
            "t",
            vec![Value::U64(1), Value::Identity(ALICE), Value::Bool(false)],
        )?;
        tx.insert(
            "t",
            vec![Value::U64(2), Value::Identity(BOB), Value::Bool(true)],
        )?;
        tx.insert(
            "t",
            vec![Value::U64(3), Value::Identity(BOB), Value::Bool(false)],
        )?;
        tx.insert("broken", vec![Value::U64(1)])
    })
    .expect("setup");
    let s = sql();
    assert_eq!(
        ints(&s, &db, "SELECT id FROM t", &alice()),
        vec![vec![Value::U64(1)], vec![Value::U64(2)]]
    );
    assert_eq!(
        code(&s, &db, "SELECT * FROM broken", &[], &alice()),
        "invalid_policy"
    );
}

/// One `SqlEngine` serving two databases with the same name, table and policy text but a
/// different column order: each must get a policy compiled for its own columns.
#[test]
fn policies_are_compiled_per_schema_not_per_name() {
    let s = sql();
    let make = |owner_first: bool| {
        let e = engine();
        let db = e.create_database("same").expect("db");
        db.write(|tx| {
            let def = if owner_first {
                TableDef::new("t")
                    .column("owner", ScalarType::Identity)
                    .column("other", ScalarType::Identity)
            } else {
                TableDef::new("t")
                    .column("other", ScalarType::Identity)
                    .column("owner", ScalarType::Identity)
            };
            tx.create_table(def.read_policy("owner = $identity").public())?;
            let (first, second) = if owner_first {
                (ALICE, BOB)
            } else {
                (BOB, ALICE)
            };
            tx.insert("t", vec![Value::Identity(first), Value::Identity(second)])?;
            Ok(())
        })
        .expect("setup");
        (e, db)
    };
    let (_e1, db1) = make(true);
    let (_e2, db2) = make(false);
    for db in [&db1, &db2] {
        let bob = run(&s, db, "SELECT COUNT(*) FROM t", &[], &Caller::user(BOB));
        assert_eq!(bob.rows, vec![vec![Value::I64(0)]]);
        let alice = run(&s, db, "SELECT COUNT(*) FROM t", &[], &alice());
        assert_eq!(alice.rows, vec![vec![Value::I64(1)]]);
    }
}

#[test]
fn a_policy_sees_its_columns_when_the_filter_reads_every_other_one() {
    // Proves a caller sees their own rows when the WHERE clause reads every column but the
    // policy's (`owner`) and the select list reads fewer: the scan used to decode only the
    // selected and filtered columns, so the policy saw a NULL owner and hid every row.
    let e = engine();
    let (db, _) = fixture(&e);
    let s = sql();
    let q = "SELECT id, n FROM docs WHERE id = 1 OR n = 20 OR secret = 'x'";
    assert_eq!(
        sorted(ints(&s, &db, q, &alice())),
        vec![
            vec![Value::U64(1), Value::I64(10)],
            vec![Value::U64(2), Value::I64(20)]
        ]
    );
    assert!(
        ints(
            &s,
            &db,
            "SELECT id FROM docs WHERE id = 4 OR n = 50 OR secret = 'x'",
            &alice()
        )
        .is_empty()
    );
}
