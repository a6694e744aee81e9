//! The public API: parameters, AS OF TX, EXPLAIN, typed columns, errors and their codes,
//! limits, the prepared-statement cache and the JSON form. Each test builds a small
//! in-memory database and checks answers or error codes.

mod common;

use std::time::Duration;

use common::{code, engine, rows, run, sorted, sql};
use cosmictron_engine::Database;
use cosmictron_sql::{Caller, SqlConfig, SqlEngine};
use cosmictron_types::{Identity, ScalarType, TableDef, Timestamp, Value};

fn shop(engine: &cosmictron_engine::Engine) -> Database {
    let db = engine.create_database("shop").expect("db");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("items")
                .column("id", ScalarType::U64)
                .column("name", ScalarType::String)
                .column("qty", ScalarType::I32)
                .nullable_column("price", ScalarType::F64)
                .column("small", ScalarType::U8)
                .column("seen", ScalarType::Timestamp)
                .column("ok", ScalarType::Bool)
                .primary_key(&["id"])
                .index("items_qty", &["qty"])
                .public(),
        )?;
        for i in 1..=20u64 {
            tx.insert(
                "items",
                vec![
                    Value::U64(i),
                    Value::String(format!("item{i}")),
                    Value::I32((i % 5) as i32),
                    if i % 4 == 0 {
                        Value::Null
                    } else {
                        Value::F64(i as f64 * 1.5)
                    },
                    Value::U8(i as u8),
                    Value::Timestamp(Timestamp(i as i64 * 1000)),
                    Value::Bool(i % 2 == 0),
                ],
            )?;
        }
        Ok(())
    })
    .expect("setup");
    db
}

#[test]
fn parameters_bind_by_position_without_substitution() {
    let e = engine();
    let db = shop(&e);
    let s = sql();
    let r = run(
        &s,
        &db,
        "SELECT name FROM items WHERE id = $1",
        &[Value::I64(3)],
        &Caller::owner(),
    );
    assert_eq!(r.rows, vec![vec![Value::from("item3")]]);
    // A parameter is a value, never SQL text.
    let r = run(
        &s,
        &db,
        "SELECT COUNT(*) FROM items WHERE name = $1",
        &[Value::from("item1' OR '1'='1")],
        &Caller::owner(),
    );
    assert_eq!(r.rows, vec![vec![Value::I64(0)]]);
    let r = run(
        &s,
        &db,
        "SELECT id FROM items WHERE qty = $1 AND price > $2 ORDER BY id",
        &[Value::I64(2), Value::F64(10.0)],
        &Caller::owner(),
    );
    assert_eq!(r.rows, vec![vec![Value::U64(7)], vec![Value::U64(17)]]);
    // Typed from context: text spelling a number matches a numeric column (a JSON client that
    // sends ids as strings), through the primary key; text that does not spell one matches
    // nothing.
    for (param, want) in [
        (Value::from("3"), vec![vec![Value::from("item3")]]),
        (Value::from(" 3 "), vec![vec![Value::from("item3")]]),
        (Value::from("3x"), vec![]),
    ] {
        let r = run(
            &s,
            &db,
            "SELECT name FROM items WHERE id = $1",
            &[param],
            &Caller::owner(),
        );
        assert_eq!(r.rows, want);
    }
    assert_eq!(
        code(&s, &db, "SELECT $2", &[Value::I64(1)], &Caller::owner()),
        "invalid_parameter"
    );
}

#[test]
fn typed_columns_compare_with_literals_and_report_types() {
    let e = engine();
    let db = shop(&e);
    let s = sql();
    assert_eq!(
        code(
            &s,
            &db,
            "SELECT COUNT(*) OVER () FROM items",
            &[],
            &Caller::owner()
        ),
        "unsupported"
    );
    let r = run(
        &s,
        &db,
        "SELECT id, name, qty + 1 AS q1, price * 2, ok, seen FROM items WHERE small = 2",
        &[],
        &Caller::owner(),
    );
    let types: Vec<_> = r.columns.iter().map(|c| c.ty).collect();
    assert_eq!(
        types,
        vec![
            Some(ScalarType::U64),
            Some(ScalarType::String),
            Some(ScalarType::I64),
            Some(ScalarType::F64),
            Some(ScalarType::Bool),
            Some(ScalarType::Timestamp)
        ]
    );
    assert_eq!(r.columns[2].name, "q1");
    assert_eq!(r.rows[0][2], Value::I64(3));
    // Negative and fractional keys on an unsigned primary key match nothing (no error).
    assert!(rows(&s, &db, "SELECT id FROM items WHERE id = -1").is_empty());
    assert!(rows(&s, &db, "SELECT id FROM items WHERE id = 2.5").is_empty());
    assert_eq!(
        rows(&s, &db, "SELECT id FROM items WHERE id = 2.0"),
        vec![vec![Value::U64(2)]]
    );
    assert_eq!(
        rows(
            &s,
            &db,
            "SELECT COUNT(*) FROM items WHERE id > -5 AND id < 3.5"
        ),
        vec![vec![Value::I64(3)]]
    );
    assert_eq!(
        rows(
            &s,
            &db,
            "SELECT COUNT(*) FROM items WHERE ok AND qty IN (1, 3)"
        ),
        vec![vec![Value::I64(4)]]
    );
}

#[test]
fn as_of_reads_one_past_snapshot() {
    let e = engine();
    let db = e.create_database("app").expect("db");
    let (_, first) = db
        .write(|tx| {
            tx.create_table(
                TableDef::new("t")
                    .column("id", ScalarType::U64)
                    .column("v", ScalarType::I64)
                    .primary_key(&["id"])
                    .public(),
            )?;
            tx.insert("t", vec![Value::U64(1), Value::I64(10)])
        })
        .expect("tx1");
    let first = first.tx_id.expect("tx");
    db.write(|tx| tx.update("t", vec![Value::U64(1), Value::I64(20)]))
        .expect("tx2");
    db.write(|tx| tx.insert("t", vec![Value::U64(2), Value::I64(30)]))
        .expect("tx3");
    let s = sql();
    let now = run(
        &s,
        &db,
        "SELECT v FROM t ORDER BY id",
        &[],
        &Caller::owner(),
    );
    assert_eq!(now.rows, vec![vec![Value::I64(20)], vec![Value::I64(30)]]);
    for q in [
        format!("SELECT v FROM t AS OF TX {first} ORDER BY id"),
        format!("SELECT v FROM t ORDER BY id AS OF TX {first}"),
        format!("select v from t as of tx {first} where id = 1"),
    ] {
        let r = run(&s, &db, &q, &[], &Caller::owner());
        assert_eq!(r.rows, vec![vec![Value::I64(10)]], "{q}");
        assert_eq!(r.tx_id, first);
    }
    let r = run(
        &s,
        &db,
        "SELECT COUNT(*) FROM t AS OF TX $1",
        &[Value::U64(first + 1)],
        &Caller::owner(),
    );
    assert_eq!(r.rows, vec![vec![Value::I64(1)]]);
    // Subqueries read the same snapshot.
    let r = run(
        &s,
        &db,
        &format!("SELECT (SELECT MAX(v) FROM t), COUNT(*) FROM t AS OF TX {first}"),
        &[],
        &Caller::owner(),
    );
    assert_eq!(r.rows, vec![vec![Value::I64(10), Value::I64(1)]]);
    assert_eq!(
        code(
            &s,
            &db,
            "SELECT * FROM t AS OF TX 999",
            &[],
            &Caller::owner()
        ),
        "future_tx"
    );
    assert_eq!(
        code(
            &s,
            &db,
            "SELECT * FROM t AS OF TX 1, t AS OF TX 2",
            &[],
            &Caller::owner()
        ),
        "parse_error"
    );
}

#[test]
fn explain_shows_index_choices_and_join_strategy() {
    let e = engine();
    let db = shop(&e);
    let s = sql();
    let text = |q: &str| -> String {
        rows(&s, &db, q)
            .into_iter()
            .map(|r| format!("{}", r[0]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let plan = text("EXPLAIN SELECT * FROM items WHERE id = 5");
    assert!(plan.contains("lookup on index items_pkey"), "{plan}");
    let plan = text("EXPLAIN SELECT * FROM items WHERE qty >= 3");
    assert!(plan.contains("range on index items_qty"), "{plan}");
    let plan = text("EXPLAIN SELECT * FROM items a, items b WHERE a.qty = b.qty");
    assert!(plan.contains("hash join on 1 key(s)"), "{plan}");
    let plan = text("EXPLAIN SELECT * FROM items WHERE name = 'x'");
    assert!(plan.contains("full scan"), "{plan}");
    // Filters read as SQL, with the table's column names.
    let plan = text("EXPLAIN SELECT * FROM items WHERE name = 'x' OR qty IN (1, $1)");
    assert!(
        plan.contains("filter (name = 'x') OR (qty IN (1, numeric($1)))"),
        "{plan}"
    );
}

#[test]
fn where_conjuncts_reach_the_scans_of_subqueries_and_left_joins() {
    // Proves a WHERE conjunct over a subquery in FROM or over the left side of a LEFT JOIN
    // reaches the base-table scan and selects an index there, that one over the right side of
    // a LEFT JOIN stays above the join (it would turn removed rows into NULL-extended ones),
    // and that the rows are those of the query as written.
    let e = engine();
    let db = shop(&e);
    let s = sql();
    let plan = |q: &str| -> String {
        rows(&s, &db, &format!("EXPLAIN {q}"))
            .into_iter()
            .map(|r| format!("{}", r[0]))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let q = "SELECT id, name FROM (SELECT id, name, qty FROM items) q WHERE q.id = 5";
    assert!(
        plan(q).contains("lookup on index items_pkey"),
        "{}",
        plan(q)
    );
    assert_eq!(
        rows(&s, &db, q),
        vec![vec![Value::U64(5), Value::String("item5".into())]]
    );
    // Through a computed column: `d` is `qty * 2`, so `d = 4` filters on `qty * 2 = 4`.
    let q = "SELECT id FROM (SELECT id, qty * 2 AS d FROM items) q WHERE d = 4 AND id < 10";
    assert!(plan(q).contains("range on index items_pkey"), "{}", plan(q));
    assert_eq!(
        sorted(rows(&s, &db, q)),
        vec![vec![Value::U64(2)], vec![Value::U64(7)]]
    );
    // Not below an aggregate, DISTINCT or LIMIT: their rows would change.
    let q = "SELECT n FROM (SELECT COUNT(*) AS n FROM items) c WHERE n > 3";
    assert_eq!(rows(&s, &db, q), vec![vec![Value::I64(20)]]);
    let q = "SELECT id FROM (SELECT id FROM items ORDER BY id LIMIT 3) q WHERE id > 1";
    assert_eq!(
        rows(&s, &db, q),
        vec![vec![Value::U64(2)], vec![Value::U64(3)]]
    );
    // The left side of a LEFT JOIN: a primary-key lookup, each left row kept once unmatched.
    let q = "SELECT a.id, b.id FROM items a LEFT JOIN items b ON b.id = a.id + 100 WHERE a.id = 3";
    assert!(
        plan(q).contains("lookup on index items_pkey"),
        "{}",
        plan(q)
    );
    assert_eq!(rows(&s, &db, q), vec![vec![Value::U64(3), Value::Null]]);
    // The right side of a LEFT JOIN: filtered after the join, so the NULL-extended rows of
    // unmatched left rows are what `IS NULL` finds.
    let q = "SELECT a.id FROM items a LEFT JOIN items b ON b.id = a.id + 18 WHERE b.id IS NULL";
    assert_eq!(rows(&s, &db, q).len(), 18);
}

#[test]
fn limits_stop_joins_without_building_them() {
    // Proves LIMIT and the result-size limit stop a join as soon as enough rows came out:
    // the 3.2M-row cross product below would run past the 500 ms time limit if built.
    let e = engine();
    let db = shop(&e);
    let owner = Caller::owner();
    let cross = "SELECT a.id, e.id FROM items a, items b, items c, items d, items e";
    let quick = SqlEngine::new(SqlConfig {
        time_max: Duration::from_millis(500),
        rows_max: 5,
        ..SqlConfig::default()
    });
    assert_eq!(rows(&quick, &db, &format!("{cross} LIMIT 3")).len(), 3);
    assert_eq!(
        rows(
            &quick,
            &db,
            &format!("{cross} WHERE a.qty = 1 LIMIT 2 OFFSET 1")
        )
        .len(),
        2
    );
    assert!(rows(&quick, &db, &format!("{cross} LIMIT 0")).is_empty());
    match quick.query(&db, cross, &[], &owner) {
        Err(e) => {
            assert_eq!(e.code(), "limit_exceeded");
            assert!(e.to_string().contains("more than 5 rows"), "{e}");
        }
        Ok(r) => panic!("expected the result-size limit, got {} rows", r.rows.len()),
    }
}

#[test]
fn errors_have_stable_codes() {
    let e = engine();
    let db = shop(&e);
    let s = sql();
    let owner = Caller::owner();
    let cases = [
        ("INSERT INTO items VALUES (1)", "read_only"),
        ("UPDATE items SET qty = 1", "read_only"),
        ("DROP TABLE items", "read_only"),
        ("SELEC 1", "parse_error"),
        ("SELECT * FROM nope", "no_such_table"),
        ("SELECT * FROM other.items", "no_such_table"),
        ("SELECT nope FROM items", "no_such_column"),
        ("SELECT id FROM items a, items b", "ambiguous_column"),
        ("SELECT SUM(name, qty) FROM items", "type_error"),
        (
            "SELECT * FROM items WHERE id IN (SELECT id, qty FROM items)",
            "type_error",
        ),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "unsupported"),
        (
            "SELECT qty, (SELECT COUNT(*) FROM items i WHERE i.id = items.id) FROM items GROUP BY qty",
            "no_such_column",
        ),
        (
            "SELECT * FROM items RIGHT JOIN items b ON b.id = items.id",
            "unsupported",
        ),
    ];
    for (q, want) in cases {
        assert_eq!(code(&s, &db, q, &[], &owner), want, "{q}");
    }
    // Qualified with the database name works.
    assert_eq!(
        rows(&s, &db, "SELECT COUNT(*) FROM shop.items"),
        vec![vec![Value::I64(20)]]
    );
    assert_eq!(
        rows(&s, &db, "SELECT COUNT(*) FROM ITEMS"),
        vec![vec![Value::I64(20)]]
    );
}

#[test]
fn limits_are_enforced_with_clear_errors() {
    let e = engine();
    let db = shop(&e);
    let small = SqlEngine::new(SqlConfig {
        rows_max: 5,
        sql_bytes_max: 200,
        expr_depth_max: 20,
        ..SqlConfig::default()
    });
    let owner = Caller::owner();
    assert_eq!(
        code(&small, &db, "SELECT * FROM items", &[], &owner),
        "limit_exceeded"
    );
    assert_eq!(rows(&small, &db, "SELECT id FROM items LIMIT 5").len(), 5);
    let long = format!("SELECT 1 {}", " ".repeat(300));
    assert_eq!(code(&small, &db, &long, &[], &owner), "limit_exceeded");
    let deep = format!("SELECT {}1{}", "(".repeat(30), ")".repeat(30));
    assert_eq!(code(&small, &db, &deep, &[], &owner), "limit_exceeded");
    // Nesting up to the default limit binds without overflowing the thread's stack (it grows
    // on demand; 100 NOTs overflowed a test thread's 2 MiB in a debug build), and past it the
    // query is refused as too deep.
    let s = sql();
    let nots = |n: usize| format!("SELECT {}1", "NOT ".repeat(n));
    assert_eq!(rows(&s, &db, &nots(100)), vec![vec![Value::Bool(true)]]);
    assert_eq!(code(&s, &db, &nots(300), &[], &owner), "limit_exceeded");
    // Time is checked while the query runs: a big cross product stops early.
    let slow = SqlEngine::new(SqlConfig {
        time_max: Duration::from_millis(20),
        ..SqlConfig::default()
    });
    let started = std::time::Instant::now();
    assert_eq!(
        code(
            &slow,
            &db,
            "SELECT COUNT(*) FROM items a, items b, items c, items d, items e",
            &[],
            &owner
        ),
        "limit_exceeded"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let bounded = SqlEngine::new(SqlConfig {
        intermediate_rows_max: 1000,
        ..SqlConfig::default()
    });
    assert_eq!(
        code(
            &bounded,
            &db,
            "SELECT COUNT(*) FROM items a, items b, items c",
            &[],
            &owner
        ),
        "limit_exceeded"
    );
}

#[test]
fn cached_statements_are_replanned_when_the_schema_changes() {
    let e = engine();
    let db = shop(&e);
    let s = sql();
    let q = "EXPLAIN SELECT * FROM items WHERE name = 'item3'";
    let before = rows(&s, &db, q);
    assert!(format!("{before:?}").contains("full scan"));
    assert_eq!(s.cached_statements(), 1);
    db.write(|tx| {
        tx.create_index(
            "items",
            cosmictron_types::IndexDef {
                name: "items_name".into(),
                columns: vec!["name".into()],
                unique: true,
            },
        )
    })
    .expect("index");
    let after = rows(&s, &db, q);
    assert!(format!("{after:?}").contains("items_name"), "{after:?}");
    // Repeated point queries hit the cache.
    for i in 1..=10u64 {
        let r = run(
            &s,
            &db,
            "SELECT qty FROM items WHERE id = $1",
            &[Value::U64(i)],
            &Caller::owner(),
        );
        assert_eq!(r.rows.len(), 1);
    }
    assert_eq!(s.cached_statements(), 2);
}

#[test]
fn results_serialize_to_the_documented_json() {
    let e = engine();
    let db = e.create_database("j").expect("db");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("t")
                .column("id", ScalarType::U64)
                .column("who", ScalarType::Identity)
                .column("blob", ScalarType::Bytes)
                .primary_key(&["id"])
                .public(),
        )?;
        tx.insert(
            "t",
            vec![
                Value::U64(u64::MAX),
                Value::Identity(Identity([1; 32])),
                Value::Bytes(vec![0xde, 0xad]),
            ],
        )
    })
    .expect("setup");
    let s = sql();
    let r = run(
        &s,
        &db,
        "SELECT id, who, blob, 1.5 AS f FROM t",
        &[],
        &Caller::owner(),
    );
    let json = r.to_json();
    assert_eq!(
        json["rows"][0][0],
        serde_json::json!("18446744073709551615")
    );
    assert_eq!(json["rows"][0][1], serde_json::json!("01".repeat(32)));
    assert_eq!(json["rows"][0][2], serde_json::json!("\\xdead"));
    assert_eq!(json["rows"][0][3], serde_json::json!(1.5));
    assert_eq!(json["columns"][1]["type"], serde_json::json!("identity"));
    assert_eq!(json["tx_id"], serde_json::json!(r.tx_id));
    // Identities compare with their hex text too.
    let q = format!("SELECT COUNT(*) FROM t WHERE who = '{}'", "01".repeat(32));
    assert_eq!(rows(&s, &db, &q), vec![vec![Value::I64(1)]]);
}

#[test]
fn joins_and_aggregates_agree_with_hand_computed_answers() {
    let e = engine();
    let db = shop(&e);
    let s = sql();
    let got = sorted(rows(
        &s,
        &db,
        "SELECT qty, COUNT(*), SUM(small) FROM items GROUP BY qty HAVING COUNT(*) > 3",
    ));
    let mut want = Vec::new();
    for q in 0..5i64 {
        let members: Vec<u64> = (1..=20).filter(|i| (i % 5) as i64 == q).collect();
        want.push(vec![
            Value::I32(q as i32),
            Value::I64(members.len() as i64),
            Value::I64(members.iter().sum::<u64>() as i64),
        ]);
    }
    assert_eq!(got, sorted(want));
    // A correlated subquery in an aggregate query sees the group's key.
    let got = sorted(rows(
        &s,
        &db,
        "SELECT qty, COUNT(*), (SELECT COUNT(*) FROM items i WHERE i.qty < items.qty) FROM items GROUP BY qty",
    ));
    let want: Vec<Vec<Value>> = (0..5)
        .map(|q| vec![Value::I32(q), Value::I64(4), Value::I64(4 * i64::from(q))])
        .collect();
    assert_eq!(got, sorted(want));
    let n = rows(
        &s,
        &db,
        "SELECT COUNT(*) FROM items a JOIN items b ON a.qty = b.qty WHERE a.id < b.id",
    );
    assert_eq!(n, vec![vec![Value::I64(5 * 6)]]);
}

#[test]
fn deeply_nested_queries_run_or_are_refused_without_overflowing() {
    // Proves nested subqueries in FROM, in expressions and in set operations bind and run at
    // depth 60 on a test thread's stack (60 derived tables aborted a debug build with a stack
    // overflow), and past the nesting limit are refused with `limit_exceeded`.
    let e = engine();
    let db = shop(&e);
    let s = sql();
    let owner = Caller::owner();
    let shapes = |n: usize| {
        [
            format!(
                "{}SELECT 1 AS a{}",
                "SELECT a FROM (".repeat(n),
                ") t".repeat(n)
            ),
            format!("SELECT {}1{}", "(SELECT ".repeat(n), ")".repeat(n)),
            format!(
                "SELECT 1 WHERE {}1 = 1{}",
                "EXISTS (SELECT 1 WHERE ".repeat(n),
                ")".repeat(n)
            ),
            format!("{}SELECT 1{}", "SELECT 1 UNION (".repeat(n), ")".repeat(n)),
        ]
    };
    for q in shapes(60) {
        assert_eq!(rows(&s, &db, &q), vec![vec![Value::I64(1)]], "{q}");
    }
    for q in shapes(200) {
        assert_eq!(code(&s, &db, &q, &[], &owner), "limit_exceeded", "{q}");
    }
}
