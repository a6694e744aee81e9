//! RLS property: for random data, identities and queries, what a caller sees through the read
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

const QUERIES: &[&str] = &[
    "SELECT id, n FROM docs",
    "SELECT COUNT(*), SUM(n), MIN(n), MAX(n) FROM docs",
    "SELECT n, COUNT(*) FROM docs GROUP BY n",
    "SELECT id FROM docs WHERE id IN (1, 3, 5)",
    "SELECT id FROM docs WHERE n >= 0",
    "SELECT notes.id, docs.n FROM notes JOIN docs ON docs.id = notes.doc",
    "SELECT notes.id, docs.n FROM notes LEFT JOIN docs ON docs.id = notes.doc",
    "SELECT COUNT(*) FROM notes WHERE doc IN (SELECT id FROM docs WHERE n > 0)",
    "SELECT id FROM notes WHERE NOT EXISTS (SELECT 1 FROM docs WHERE docs.id = notes.doc)",
    "SELECT (SELECT COUNT(*) FROM docs), (SELECT SUM(n) FROM docs WHERE n < 2)",
    "SELECT DISTINCT n FROM docs UNION SELECT doc FROM notes",
];

fn check(ops: &[Op], who: usize, query: usize, as_of_step: usize) -> Result<(), TestCaseError> {
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
    let base = QUERIES[query % QUERIES.len()];
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
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(op(), 1..16),
        0usize..3,
        0usize..QUERIES.len(),
        0usize..16,
    );
    if let Err(e) = runner.run(&strategy, |(ops, who, q, at)| check(&ops, who, q, at)) {
        panic!("{e}");
    }
}
