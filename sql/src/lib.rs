//! cosmictron-sql: read-only SQL over Cosmictron databases — parameters, time travel
//! (`AS OF TX n`), index-aware plans, and row-level security applied at every table scan.
//!
//! ```
//! use cosmictron_engine::{Engine, EngineConfig};
//! use cosmictron_sql::{Caller, SqlConfig, SqlEngine};
//! use cosmictron_types::{ScalarType, TableDef, Value};
//!
//! let engine = Engine::in_memory(EngineConfig::default());
//! let db = engine.create_database("shop")?;
//! db.write(|tx| {
//!     tx.create_table(TableDef::new("items").column("id", ScalarType::U64)
//!         .column("qty", ScalarType::I64).primary_key(&["id"]).public())?;
//!     tx.insert("items", vec![Value::U64(1), Value::I64(5)])
//! })?;
//! let sql = SqlEngine::new(SqlConfig::default());
//! let r = sql.query(&db, "SELECT qty * 2 AS double FROM items WHERE id = $1",
//!                   &[Value::U64(1)], &Caller::anonymous())?;
//! assert_eq!(r.rows, vec![vec![Value::I64(10)]]);
//! assert_eq!(r.columns[0].name, "double");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layout:
//! - `engine.rs`   [`SqlEngine`]: the entry point and the prepared-statement cache
//! - `parse/`      SQL text → sqlparser AST, with the `AS OF TX` pre-pass
//! - `plan/`       binding (names → positions), FROM planning, index selection, join order
//! - `expr/`       bound expressions and their evaluation over a row of values
//! - `exec/`       operators: scans, hash joins, aggregation, sort, set operations
//! - `rls.rs`      read policies compiled per table
//! - `tables.rs`   [`referenced_tables`]: the tables a query reads, for routing
//! - `views.rs`    [`ViewSource`]: views, tables whose rows the embedder computes per query
//! - `write_policy.rs` [`WritePolicy`]: write policies checked on rows reducers write
//! - `config.rs`   [`SqlConfig`] limits and the [`Caller`]
//! - `result.rs`   [`QueryResult`] and its JSON form
//! - `error.rs`    [`SqlError`] with stable codes
//! - `subscribe/` incremental subscriptions: [`Subscriptions`], [`Subscriber`] and their
//!   events (see the module docs for the life of a subscription update)
//! - `conformance/` the sqllogictest adapter ([`SltDatabase`]) behind `tests/` and `bin/slt`
//!
//! # The life of a query
//!
//! 1. [`SqlEngine::query`] looks the SQL text up in the prepared-statement cache (keyed by
//!    database, RLS bypass and text). On a hit whose tables still have the schemas it was
//!    planned against, steps 2–3 are skipped.
//! 2. `parse::parse` enforces the length limit, tokenizes with sqlparser, strips and
//!    remembers `AS OF TX n` (`parse::strip_as_of`), parses the rest and refuses anything but a
//!    query (`read_only`). The snapshot is opened: `Database::as_of(n)` or
//!    `Database::snapshot()`.
//! 3. `plan::bind_statement` resolves names through a `Catalog` over that snapshot (private
//!    tables do not exist for callers without the bypass), binds expressions
//!    (`plan::bind_expr`), plans the FROM clause (`plan::from`: read policies, push-down,
//!    `plan::access::choose` for index lookups and ranges, greedy hash-join order) and stacks
//!    aggregation, HAVING, projection, DISTINCT, ORDER BY and LIMIT on top.
//! 4. `exec::execute` runs the plan over the snapshot with an `ExecCtx` (parameters, caller,
//!    subquery results, deadline); `exec::scan` applies the read policy to every row a table
//!    yields before anything else sees it. The rows, column names and types and the snapshot's
//!    tx become a [`QueryResult`].

mod config;
mod conformance;
mod engine;
mod error;
mod exec;
mod expr;
mod parse;
mod plan;
mod result;
mod rls;
mod subscribe;
mod tables;
mod views;
mod write_policy;

pub use config::{Caller, SqlConfig};
pub use conformance::{SltDatabase, SltError, SltSummary, run_slt_file, run_slt_script};
pub use engine::SqlEngine;
pub use error::{Result, SqlError};
pub use result::{QueryResult, ResultColumn, value_to_json};
pub use subscribe::{
    BeforeInstall, Subscribed, Subscriber, SubscriberEvent, SubscriptionConfig, SubscriptionStats,
    SubscriptionUpdate, Subscriptions, TxUpdate,
};
pub use tables::referenced_tables;
pub use views::{NoViews, ViewDef, ViewError, ViewSource};
pub use write_policy::WritePolicy;
