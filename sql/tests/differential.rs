//! Differential test against SQLite: random tables (column types and indexes vary) with NULLs,
//! random queries from the
//! supported dialect (expressions, predicates, DISTINCT, GROUP BY/HAVING, joins, LEFT JOIN,
//! IN/EXISTS subqueries, set operations, ORDER BY … LIMIT). Both engines load the same
//! statements; results must be equal — as multisets, or in order where the query orders them
//! completely. SQLite runs in memory through rusqlite.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rusqlite::types::ValueRef;
use sqllogictest::DB;

use cosmictron_sql::{Caller, SltDatabase, SqlConfig, SqlEngine};
use cosmictron_types::Value;

/// One cell, normalized so that both engines' answers compare (reals to 6 decimals).
fn norm_ours(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => i64::from(*b).to_string(),
        Value::F64(f) => format!("{f:.6}"),
        Value::F32(f) => format!("{:.6}", f64::from(*f)),
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

fn norm_sqlite(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:.6}"),
        ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("{b:?}"),
    }
}

fn int() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-6i64..7).prop_map(|v| v.to_string()),
        1 => Just("NULL".to_owned()),
    ]
}

/// Column types the random tables choose from for their non-key columns.
const TYPES: &[&str] = &["INTEGER", "INTEGER", "REAL", "TEXT"];

fn setup() -> impl Strategy<Value = Vec<String>> {
    let t1 = proptest::collection::vec((int(), int(), int(), 0u8..8), 0..14);
    let t2 = proptest::collection::vec((int(), int()), 0..10);
    // Random tables: the types of t1.b, t1.c and t2.y vary (a and x stay integers, as the
    // query shapes join and group on them), and so do the indexes.
    let types = proptest::collection::vec(proptest::sample::select(TYPES), 3);
    let indexes = (proptest::bool::ANY, proptest::bool::ANY);
    (t1, t2, types, indexes).prop_map(|(t1, t2, types, (index_a, index_xy))| {
        let mut out = vec![
            format!(
                "CREATE TABLE t1(id INTEGER PRIMARY KEY, a INTEGER, b {}, c {}, s TEXT)",
                types[0], types[1]
            ),
            format!(
                "CREATE TABLE t2(id INTEGER PRIMARY KEY, x INTEGER, y {})",
                types[2]
            ),
        ];
        if index_a {
            out.push("CREATE INDEX t1_a ON t1(a)".into());
        }
        if index_xy {
            out.push("CREATE INDEX t2_xy ON t2(x, y)".into());
        }
        for (i, (a, b, c, s)) in t1.into_iter().enumerate() {
            // Some text spells numbers: comparisons with integers go by affinity.
            let s = [
                "'ab'", "'b%'", "''", "NULL", "'1'", "'-2'", "' 3 '", "'2.0'",
            ][s as usize];
            out.push(format!("INSERT INTO t1 VALUES({i}, {a}, {b}, {c}, {s})"));
        }
        for (i, (x, y)) in t2.into_iter().enumerate() {
            out.push(format!("INSERT INTO t2 VALUES({i}, {x}, {y})"));
        }
        out
    })
}

/// An integer expression over the columns in `cols`.
fn expr(cols: &'static [&'static str]) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => proptest::sample::select(cols).prop_map(str::to_owned),
        2 => int(),
    ];
    leaf.prop_recursive(3, 12, 3, move |inner| {
        prop_oneof![
            (
                inner.clone(),
                proptest::sample::select(&["+", "-", "*", "/", "%"][..]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("-({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("COALESCE({a}, {b})")),
            inner.clone().prop_map(|a| format!("ABS({a})")),
            (pred_leaf(cols), inner.clone(), inner.clone())
                .prop_map(|(p, a, b)| format!("CASE WHEN {p} THEN {a} ELSE {b} END")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("NULLIF({a}, {b})")),
        ]
    })
}

fn pred_leaf(cols: &'static [&'static str]) -> impl Strategy<Value = String> {
    let col = || proptest::sample::select(cols);
    prop_oneof![
        (
            col(),
            proptest::sample::select(&["=", "<>", "<", "<=", ">", ">="][..]),
            int()
        )
            .prop_map(|(c, op, v)| format!("{c} {op} {v}")),
        // A numeric column against text: read as a number when it spells one.
        (
            col(),
            proptest::sample::select(&["=", "<>", "<", ">="][..]),
            int()
        )
            .prop_map(|(c, op, v)| format!("{c} {op} '{v}'")),
        (col(), col()).prop_map(|(a, b)| format!("{a} = {b}")),
        col().prop_map(|c| format!("{c} IS NULL")),
        (col(), proptest::collection::vec(int(), 1..4))
            .prop_map(|(c, l)| format!("{c} IN ({})", l.join(", "))),
        (col(), -6i64..7, 0i64..5)
            .prop_map(|(c, lo, w)| format!("{c} BETWEEN {lo} AND {}", lo + w)),
    ]
}

fn pred(cols: &'static [&'static str]) -> impl Strategy<Value = String> {
    pred_leaf(cols).prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

const T1: &[&str] = &["a", "b", "c", "id"];
const T2: &[&str] = &["x", "y", "id"];
const J: &[&str] = &["t1.a", "t1.b", "t2.x", "t2.y"];
const D: &[&str] = &["x", "y", "id"];
const L: &[&str] = &["t1.a", "t1.b", "t1.c", "t1.id"];

/// A query and whether its order is fully determined.
fn query() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        (expr(T1), expr(T1), pred(T1))
            .prop_map(|(e, f, p)| (format!("SELECT {e}, {f} FROM t1 WHERE {p}"), false)),
        (expr(T1), pred(T1)).prop_map(|(e, p)| (format!("SELECT DISTINCT {e} FROM t1 WHERE {p}"), false)),
        (expr(T1), pred(T1), 0i64..3).prop_map(|(e, p, k)| (
            format!("SELECT a, COUNT(*), SUM({e}), MIN(c), MAX(b), COUNT(DISTINCT b), AVG(c) FROM t1 WHERE {p} GROUP BY a HAVING COUNT(*) > {k}"),
            false
        )),
        (expr(T1), pred(T1)).prop_map(|(e, p)| (
            format!("SELECT COUNT(*), SUM({e}), TOTAL(b), MIN({e}) FROM t1 WHERE {p}"),
            false
        )),
        (expr(J), pred(J)).prop_map(|(e, p)| (
            format!("SELECT t1.id, t2.id, {e} FROM t1 JOIN t2 ON t1.a = t2.x WHERE {p}"),
            false
        )),
        (expr(J), pred(J)).prop_map(|(e, p)| (
            format!("SELECT t1.id, t2.id, {e} FROM t1, t2 WHERE t2.y = t1.b AND {p}"),
            false
        )),
        pred(J).prop_map(|p| (
            format!("SELECT t1.id, t2.id FROM t1 LEFT JOIN t2 ON t1.a = t2.x AND {p}"),
            false
        )),
        // Text against the integer index of t2.x: not a key the index can be probed with.
        pred(J).prop_map(|p| (
            format!("SELECT t1.id, t2.id FROM t1 LEFT JOIN t2 ON t2.x = t1.s WHERE {p}"),
            false
        )),
        (expr(T1), pred(T2)).prop_map(|(e, p)| (
            format!("SELECT {e} FROM t1 WHERE a IN (SELECT x FROM t2 WHERE {p})"),
            false
        )),
        (expr(T1), pred(T2)).prop_map(|(e, p)| (
            format!("SELECT {e} FROM t1 WHERE b NOT IN (SELECT y FROM t2 WHERE {p})"),
            false
        )),
        pred(T1).prop_map(|p| (
            format!("SELECT id FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE t2.x = t1.b) AND {p}"),
            false
        )),
        pred(T1).prop_map(|p| (
            format!("SELECT id, (SELECT COUNT(*) FROM t2 WHERE t2.y > t1.c) FROM t1 WHERE {p}"),
            false
        )),
        (pred(T1), proptest::sample::select(&["UNION", "UNION ALL", "INTERSECT", "EXCEPT"][..]))
            .prop_map(|(p, op)| (format!("SELECT a FROM t1 WHERE {p} {op} SELECT x FROM t2"), false)),
        (expr(T1), 0i64..6, 0i64..3).prop_map(|(e, l, o)| (
            format!("SELECT id, {e} FROM t1 ORDER BY 2 DESC, id LIMIT {l} OFFSET {o}"),
            true
        )),
        (pred(T1)).prop_map(|p| (
            format!("SELECT s, COUNT(*) FROM t1 WHERE {p} AND s LIKE '%b%' GROUP BY s"),
            false
        )),
        (pred(T1)).prop_map(|p| (format!("SELECT x FROM (SELECT a AS x FROM t1 WHERE {p}) AS d WHERE x > 0"), false)),
        // Conjuncts pushed into a subquery in FROM, through computed columns.
        (pred(D), pred(T1)).prop_map(|(p, q)| (
            format!("SELECT id, x, y FROM (SELECT id, a AS x, b + c AS y FROM t1 WHERE {q}) AS d WHERE {p}"),
            false
        )),
        // ... and not below DISTINCT or an aggregate.
        pred(D).prop_map(|p| (
            format!("SELECT x, y, id FROM (SELECT DISTINCT a AS x, b AS y, c AS id FROM t1) AS d WHERE {p}"),
            false
        )),
        pred(D).prop_map(|p| (
            format!("SELECT x, y, id FROM (SELECT a AS x, COUNT(*) AS y, MAX(b) AS id FROM t1 GROUP BY a) AS d WHERE {p}"),
            false
        )),
        // Left-side conjuncts pushed below a LEFT JOIN, right-side ones kept above it.
        (pred(L), pred(J)).prop_map(|(p, q)| (
            format!("SELECT t1.id, t2.id FROM t1 LEFT JOIN t2 ON t2.x = t1.a WHERE {p} AND {q}"),
            false
        )),
        // LIMIT over a join: the count of a limited join is determined.
        (pred(J), 0i64..6).prop_map(|(p, l)| (
            format!("SELECT COUNT(*) FROM (SELECT t1.id FROM t1, t2 WHERE {p} LIMIT {l}) AS q"),
            false
        )),
        // A text column against numbers: the numbers are read as text.
        (proptest::sample::select(&["=", "<>", "<", ">="][..]), int(), proptest::collection::vec(int(), 1..4))
            .prop_map(|(op, v, l)| (
                format!("SELECT id, s FROM t1 WHERE s {op} {v} OR s IN ({})", l.join(", ")),
                false
            )),
        pred(T1).prop_map(|p| (
            format!("SELECT id FROM t1 WHERE a IN (SELECT s FROM t1 WHERE {p}) OR s IN (SELECT b FROM t1 WHERE {p})"),
            false
        )),
        (pred(T1)).prop_map(|p| (
            format!("SELECT a, COUNT(*), (SELECT COUNT(*) FROM t2 WHERE t2.x = t1.a) FROM t1 WHERE {p} GROUP BY a HAVING EXISTS (SELECT 1 FROM t2 WHERE t2.y <> t1.a)"),
            false
        )),
    ]
}

fn check(statements: &[String], queries: &[(String, bool)]) -> Result<(), TestCaseError> {
    let lite =
        rusqlite::Connection::open_in_memory().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut ours = SltDatabase::new().map_err(|e| TestCaseError::fail(e.to_string()))?;
    for s in statements {
        lite.execute(s, [])
            .map_err(|e| TestCaseError::fail(format!("sqlite: {s}: {e}")))?;
        ours.run(s)
            .map_err(|e| TestCaseError::fail(format!("ours: {s}: {e}")))?;
    }
    let sql = SqlEngine::new(SqlConfig::default());
    for (q, ordered) in queries {
        let mut stmt = lite
            .prepare(q)
            .map_err(|e| TestCaseError::fail(format!("sqlite: {q}: {e}")))?;
        let n = stmt.column_count();
        let mut want: Vec<Vec<String>> = stmt
            .query_map([], |row| {
                (0..n).map(|i| row.get_ref(i).map(norm_sqlite)).collect()
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| TestCaseError::fail(format!("sqlite: {q}: {e}")))?;
        let result = sql
            .query(ours.database(), q, &[], &Caller::owner())
            .map_err(|e| TestCaseError::fail(format!("ours: {q}: {e}")))?;
        let mut got: Vec<Vec<String>> = result
            .rows
            .iter()
            .map(|r| r.iter().map(norm_ours).collect())
            .collect();
        if !ordered {
            want.sort();
            got.sort();
        }
        prop_assert_eq!(got, want, "query: {}", q);
    }
    Ok(())
}

#[test]
fn results_match_sqlite() {
    let cases = std::env::var("DIFFERENTIAL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (setup(), proptest::collection::vec(query(), 1..8));
    if let Err(e) = runner.run(&strategy, |(statements, queries)| {
        check(&statements, &queries)
    }) {
        panic!("{e}");
    }
}
