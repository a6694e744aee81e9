//! RLS property: for random data, identities and queries (random predicates in query shapes
//! that scan, look up, join, nest and aggregate), what a caller sees through the read
//! policy equals what the owner sees in a copy of the database whose `docs` table holds only
//! the rows the policy allows — for scans, lookups, joins, subqueries, aggregates and AS OF.
//! Both databases receive the same transactions in lockstep (each also writes a `clock` row),
//! so transaction ids line up for AS OF queries.

mod common;

use common::sorted;
use cosmictron_engine::{Database, Engine, EngineConfig};
use cosmictron_sql::{Caller, SqlConfig, SqlEngine};
use cosmictron_types::{Identity, ScalarType, TableDef, Value};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const PEOPLE: [Identity; 3] = [Identity([1; 32]), Identity([2; 32]), Identity([3; 32])];

#[derive(Clone, Debug)]
enum Op {
    Insert { id: u64, owner: usize, n: i64 },
    Delete { id: u64 },
}

fn docs_def(with_policy: bool) -> TableDef {
    let def = TableDef::new("docs")
        .column("id", ScalarType::U64)
        .column("owner", ScalarType::Identity)
        .column("n", ScalarType::I64)
        .primary_key(&["id"])
        .index("docs_n", &["n"])
        .public();
    if with_policy {
        def.read_policy("owner = $identity")
    } else {
        def
    }
}

fn setup(e: &Engine, name: &str, with_policy: bool) -> Database {
    let db = e.create_database(name).expect("db");
    db.write(|tx| {
        tx.create_table(docs_def(with_policy))?;
        tx.create_table(
            TableDef::new("notes")
                .column("id", ScalarType::U64)
                .column("doc", ScalarType::U64)
                .primary_key(&["id"])
                .public(),
        )?;
        tx.create_table(TableDef::new("clock").column("t", ScalarType::U64).public())?;
        for i in 0..12u64 {
            tx.insert("notes", vec![Value::U64(100 + i), Value::U64(i)])?;
        }
        Ok(())
    })
    .expect("setup");
    db
}

/// Applies `op` to `db`; `keep` says whether the row belongs in this copy.
fn apply(db: &Database, step: u64, op: &Op, keep: bool) {
    db.write(|tx| {
        tx.insert("clock", vec![Value::U64(step)])?;
        match op {
            Op::Insert { id, owner, n } if keep => {
                if tx.get("docs", &[Value::U64(*id)])?.is_none() {
                    tx.insert(
                        "docs",
                        vec![
                            Value::U64(*id),
                            Value::Identity(PEOPLE[*owner]),
                            Value::I64(*n),
                        ],
                    )?;
                }
            }
            Op::Delete { id } => {
                tx.delete("docs", &[Value::U64(*id)])?;
            }
            Op::Insert { .. } => {}
        }
        Ok(())
    })
    .expect("apply");
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..8, 0usize..3, -3i64..4).prop_map(|(id, owner, n)| Op::Insert { id, owner, n }),
        1 => (0u64..16).prop_map(|id| Op::Delete { id }),
    ]
}

/// Query shapes; `{p}` is a random predicate over `docs`' columns, written `§id` and `§n`
/// (qualified as `docs.` where the query joins).
const TEMPLATES: &[(&str, bool)] = &[
    ("SELECT id, n FROM docs WHERE {p}", false),
    (
        "SELECT COUNT(*), SUM(n), MIN(n), MAX(n) FROM docs WHERE {p}",
        false,
    ),
    (
        "SELECT n, COUNT(*) FROM docs WHERE {p} GROUP BY n HAVING COUNT(*) > 0",
        false,
    ),
    (
        "SELECT id, n FROM docs WHERE {p} ORDER BY n, id LIMIT 3",
        false,
    ),
    (
        "SELECT id, n FROM (SELECT id, n FROM docs) d WHERE {p}",
        false,
    ),
    (
        "SELECT notes.id, docs.n FROM notes JOIN docs ON docs.id = notes.doc WHERE {p}",
        true,
    ),
    (
        "SELECT notes.id, docs.n FROM notes LEFT JOIN docs ON docs.id = notes.doc AND {p}",
        true,
    ),
    (
        "SELECT notes.id, docs.id FROM notes, docs WHERE notes.doc = docs.n AND {p}",
        true,
    ),
    (
        "SELECT COUNT(*) FROM notes WHERE doc IN (SELECT id FROM docs WHERE {p})",
        false,
    ),
    (
        "SELECT id FROM notes WHERE NOT EXISTS (SELECT 1 FROM docs WHERE docs.id = notes.doc AND {p})",
        true,
    ),
    (
        "SELECT (SELECT COUNT(*) FROM docs WHERE {p}), (SELECT SUM(n) FROM docs WHERE n < 2)",
        false,
    ),
    (
        "SELECT DISTINCT n FROM docs WHERE {p} UNION SELECT doc FROM notes",
        false,
    ),
    (
        "SELECT n FROM docs WHERE {p} EXCEPT SELECT doc FROM notes",
        false,
    ),
];

fn pred_leaf() -> impl Strategy<Value = String> {
    let col = || proptest::sample::select(&["§id", "§n"][..]);
    prop_oneof![
        (
            col(),
            proptest::sample::select(&["=", "<>", "<", "<=", ">", ">="][..]),
            -3i64..9
        )
            .prop_map(|(c, op, k)| format!("{c} {op} {k}")),
        (col(), -3i64..9, -3i64..9).prop_map(|(c, a, b)| format!("{c} IN ({a}, {b})")),
        (col(), -3i64..9, 0i64..4).prop_map(|(c, a, w)| format!("{c} BETWEEN {a} AND {}", a + w)),
        col().prop_map(|c| format!("{c} IS NOT NULL")),
        Just("§id = §n".to_owned()),
    ]
}

fn pred() -> impl Strategy<Value = String> {
    pred_leaf().prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

/// The SQL of template `t` with predicate `p`.
fn query(t: usize, p: &str) -> String {
    let (template, qualified) = TEMPLATES[t % TEMPLATES.len()];
    let prefix = if qualified { "docs." } else { "" };
    template.replace("{p}", &p.replace('§', prefix))
}

fn check(ops: &[Op], who: usize, base: &str, as_of_step: usize) -> Result<(), TestCaseError> {
    let engine = Engine::in_memory(EngineConfig::default());
    let guarded = setup(&engine, "guarded", true);
    let filtered = setup(&engine, "filtered", false);
    let mut txs = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        // Each insert gets a fresh id, so both copies agree on which inserts happened.
        let op = &match op {
            Op::Insert { owner, n, .. } => Op::Insert {
                id: step as u64,
                owner: *owner,
                n: *n,
            },
            other => other.clone(),
        };
        let keep = match op {
            Op::Insert { owner, .. } => *owner == who,
            Op::Delete { .. } => true,
        };
        apply(&guarded, step as u64, op, true);
        apply(&filtered, step as u64, op, keep);
        prop_assert_eq!(guarded.latest_tx(), filtered.latest_tx());
        txs.push(guarded.latest_tx());
    }
    let sql = SqlEngine::new(SqlConfig::default());
    let mut variants = vec![base.to_owned()];
    if let Some(tx) = txs.get(as_of_step % txs.len().max(1)) {
        variants.push(format!("{base} AS OF TX {tx}"));
    }
    for q in variants {
        let seen = sql
            .query(&guarded, &q, &[], &Caller::user(PEOPLE[who]))
            .map_err(|e| TestCaseError::fail(format!("{q}: {e}")))?;
        let truth = sql
            .query(&filtered, &q, &[], &Caller::owner())
            .map_err(|e| TestCaseError::fail(format!("{q}: {e}")))?;
        prop_assert_eq!(sorted(seen.rows), sorted(truth.rows), "query: {}", q);
    }
    Ok(())
}

#[test]
fn policy_results_equal_prefiltered_tables() {
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(op(), 1..16),
        0usize..3,
        (0usize..TEMPLATES.len(), pred()),
        0usize..16,
    );
    if let Err(e) = runner.run(&strategy, |(ops, who, (t, p), at)| {
        check(&ops, who, &query(t, &p), at)
    }) {
        panic!("{e}");
    }
}
