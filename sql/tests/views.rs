//! Views through the [`ViewSource`] hook: bound as FROM items after tables, computed once per
//! query on the query's snapshot for its caller, re-planned when their definition changes,
//! invisible without a source, and their errors passed on unchanged.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cosmictron_engine::{Database, Engine, EngineConfig, Snapshot};
use cosmictron_sql::{Caller, SqlConfig, SqlEngine, ViewDef, ViewError, ViewSource};
use cosmictron_types::{ColumnDef, ColumnType, Identity, ScalarType, TableDef, Value};
use parking_lot::Mutex;

/// A view `squares(n, square)` over the `nums` table, with a switchable definition.
struct Squares {
    def: Mutex<Arc<ViewDef>>,
    calls: AtomicUsize,
    seen: Mutex<Vec<(u64, Option<Identity>)>>,
}

fn column(name: &str, scalar: ScalarType) -> ColumnDef {
    ColumnDef::new(name, ColumnType::new(scalar))
}

impl Squares {
    fn new() -> Squares {
        Squares {
            def: Mutex::new(Arc::new(ViewDef {
                name: "squares".into(),
                columns: vec![
                    column("n", ScalarType::U64),
                    column("square", ScalarType::U64),
                ],
            })),
            calls: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl ViewSource for Squares {
    fn view(&self, name: &str, _caller: &Caller) -> Option<Arc<ViewDef>> {
        let def = self.def.lock().clone();
        def.name.eq_ignore_ascii_case(name).then_some(def)
    }

    fn rows(
        &self,
        view: &ViewDef,
        snapshot: &Snapshot,
        caller: &Caller,
    ) -> Result<Vec<Vec<Value>>, ViewError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.seen.lock().push((snapshot.tx_id(), caller.identity));
        let rows = snapshot.scan("nums").map_err(|e| ViewError {
            code: "storage".into(),
            message: e.to_string(),
            http_status: 500,
        })?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let Value::U64(n) = r[0] else {
                    return vec![Value::Null; view.columns.len()];
                };
                let mut row = vec![Value::U64(n), Value::U64(n * n)];
                row.truncate(view.columns.len());
                row
            })
            .collect())
    }
}

fn nums() -> (Engine, Database) {
    let engine = Engine::in_memory(EngineConfig::default());
    let db = engine.create_database("app").expect("db");
    db.write(|tx| {
        tx.create_table(
            TableDef::new("nums")
                .column("n", ScalarType::U64)
                .primary_key(&["n"])
                .public(),
        )?;
        for n in 1..=4u64 {
            tx.insert("nums", vec![Value::U64(n)])?;
        }
        Ok(())
    })
    .expect("setup");
    (engine, db)
}

fn u64s(rows: &[Vec<Value>]) -> Vec<Vec<u64>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    Value::U64(n) => *n,
                    Value::I64(n) => *n as u64,
                    other => panic!("not an integer: {other:?}"),
                })
                .collect()
        })
        .collect()
}

#[test]
fn a_view_is_computed_once_per_query_on_its_snapshot_for_its_caller() {
    // Proves a view joined with itself and read again in a subquery is computed once, on the
    // query's snapshot (AS OF TX included), with the caller passed through.
    let (_engine, db) = nums();
    let first = db.latest_tx();
    db.write(|tx| tx.insert("nums", vec![Value::U64(5)]))
        .expect("insert");
    let sql = SqlEngine::new(SqlConfig::default());
    let view = Squares::new();
    let alice = Caller::user(Identity([7; 32]));
    let r = sql
        .query_with_views(
            &db,
            "SELECT a.n, b.square FROM squares a JOIN squares b ON a.n = b.n \
             WHERE a.square > (SELECT MIN(square) FROM squares) ORDER BY a.n",
            &[],
            &alice,
            &view,
        )
        .expect("query");
    assert_eq!(
        u64s(&r.rows),
        [[2, 4], [3, 9], [4, 16], [5, 25]].map(Vec::from)
    );
    assert_eq!(view.calls.load(Ordering::Relaxed), 1);
    let past = sql
        .query_with_views(
            &db,
            &format!("SELECT COUNT(*) FROM squares AS OF TX {first}"),
            &[],
            &alice,
            &view,
        )
        .expect("as of");
    assert_eq!(u64s(&past.rows), [[4]]);
    assert_eq!(
        *view.seen.lock(),
        [
            (db.latest_tx(), Some(Identity([7; 32]))),
            (first, Some(Identity([7; 32])))
        ]
    );
}

#[test]
fn cached_plans_follow_the_view_definition_and_its_absence() {
    // Proves the statement cache re-plans when a view's columns change, that a query naming a
    // view fails as a missing table when run without the source (even after being cached with
    // it), and that a table of the same name wins over a view.
    let (_engine, db) = nums();
    let sql = SqlEngine::new(SqlConfig::default());
    let view = Squares::new();
    let owner = Caller::owner();
    let q = "SELECT * FROM squares WHERE n = 2";
    let r = sql
        .query_with_views(&db, q, &[], &owner, &view)
        .expect("two");
    assert_eq!(u64s(&r.rows), [[2, 4]]);
    *view.def.lock() = Arc::new(ViewDef {
        name: "squares".into(),
        columns: vec![column("n", ScalarType::U64)],
    });
    let r = sql
        .query_with_views(&db, q, &[], &owner, &view)
        .expect("one");
    assert_eq!(r.columns.len(), 1);
    assert_eq!(u64s(&r.rows), [[2]]);
    let e = sql.query(&db, q, &[], &owner).expect_err("no source");
    assert_eq!(e.code(), "no_such_table");
    *view.def.lock() = Arc::new(ViewDef {
        name: "nums".into(),
        columns: vec![column("square", ScalarType::U64)],
    });
    let r = sql
        .query_with_views(&db, "SELECT n FROM nums ORDER BY n", &[], &owner, &view)
        .expect("table wins");
    assert_eq!(u64s(&r.rows), [[1], [2], [3], [4]].map(Vec::from));
}

/// A view that always fails, with a code of its own.
struct Failing;

impl ViewSource for Failing {
    fn view(&self, name: &str, _caller: &Caller) -> Option<Arc<ViewDef>> {
        (name == "broken").then(|| {
            Arc::new(ViewDef {
                name: "broken".into(),
                columns: vec![column("x", ScalarType::U64)],
            })
        })
    }

    fn rows(
        &self,
        _view: &ViewDef,
        _snapshot: &Snapshot,
        _caller: &Caller,
    ) -> Result<Vec<Vec<Value>>, ViewError> {
        Err(ViewError {
            code: "not_today".into(),
            message: "the view refused".into(),
            http_status: 409,
        })
    }
}

#[test]
fn a_failing_view_fails_the_query_with_its_error() {
    // Proves the source's error is kept whole (the server answers with its code and status).
    let (_engine, db) = nums();
    let sql = SqlEngine::new(SqlConfig::default());
    let e = sql
        .query_with_views(&db, "SELECT * FROM broken", &[], &Caller::owner(), &Failing)
        .expect_err("fails");
    assert_eq!(e.code(), "view_failed");
    match e {
        cosmictron_sql::SqlError::View { view, error } => {
            assert_eq!(view, "broken");
            assert_eq!((error.code.as_str(), error.http_status), ("not_today", 409));
        }
        other => panic!("expected a view error, got {other:?}"),
    }
}
