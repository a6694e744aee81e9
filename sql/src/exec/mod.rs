//! Execution: runs a [`Plan`] against one snapshot. Scans, filters, projections, the output
//! of joins and the aggregates over them are pipelined, a row at a time (`stream.rs`); join
//! inputs, sorts and set operations are produced in full (queries here are bounded by
//! [`SqlConfig`]'s row and time limits).
//!
//! Layout:
//! - `scan.rs`       base-table scans: access paths, read policy, lazy decoding
//! - `raw_filter.rs` leading `column <op> constant` conjuncts tested on the encoded row
//! - `stream.rs`     row-at-a-time scans, filters and projections
//! - `join.rs`       joins: the choice of method, hash joins, nested loops
//! - `index_join.rs` index nested-loop joins: probes of the right table's index
//! - `flat_rows.rs`  a join's build side packed into one `Vec<Value>`
//! - `aggregate.rs`  GROUP BY and aggregate functions
//! - `ops.rs`        sort, top-k, DISTINCT, LIMIT, set operations
//!
//! [`ExecCtx`] carries what every operator needs: the snapshot, parameters, the caller (for
//! `$identity` and the RLS bypass), subquery plans with their results, the rows of enclosing
//! queries for correlated subqueries, and the deadline, checked every [`TICK_CHECK`] rows.

mod aggregate;
mod flat_rows;
mod index_join;
mod join;
mod ops;
mod raw_filter;
mod scan;
mod stream;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cosmictron_engine::Snapshot;
use cosmictron_types::Value;

use crate::config::{Caller, SqlConfig};
use crate::error::{Result, SqlError};
use crate::expr::value_ops::{KeyValue, row_key};
use crate::expr::{Env, eval};
use crate::plan::{Plan, SubqueryPlan};
use crate::views::{ViewDef, ViewSource};

pub(crate) use ops::compare as sort_compare;
pub(crate) use scan::{Key, eq_key};

pub(crate) type Row = Vec<Value>;

/// Hash maps of the executor's joins and groups: seeded per process, and much faster than
/// the standard SipHash on the short keys they hold.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::quality::RandomState>;

/// A correlated subquery and the key of the enclosing row it ran for.
type MemoKey = (usize, Vec<KeyValue>);

/// Rows processed between deadline checks.
const TICK_CHECK: u64 = 1024;
/// Correlated subquery results remembered per query (by subquery and enclosing row).
const MEMO_ENTRIES_MAX: usize = 16_384;

pub(crate) struct ExecCtx<'a> {
    pub(crate) snapshot: &'a Snapshot,
    params: &'a [Value],
    pub(crate) caller: &'a Caller,
    subqueries: &'a [SubqueryPlan],
    /// Results of uncorrelated subqueries (run once per query).
    once: RefCell<HashMap<usize, Arc<Vec<Row>>>>,
    /// Results of correlated subqueries by enclosing row.
    memo: RefCell<HashMap<MemoKey, Arc<Vec<Row>>>>,
    /// Rows of the enclosing queries, innermost last.
    outer: RefCell<Vec<Row>>,
    started: Instant,
    time_max: Duration,
    ticks: Cell<u64>,
    pub(crate) intermediate_rows_max: usize,
    views: &'a dyn ViewSource,
    /// Rows of the views read so far, by name: a view is computed once per query.
    view_rows: RefCell<HashMap<String, Arc<Vec<Row>>>>,
}

impl std::fmt::Debug for ExecCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecCtx")
            .field("tx", &self.snapshot.tx_id())
            .finish()
    }
}

impl<'a> ExecCtx<'a> {
    pub(crate) fn new(
        snapshot: &'a Snapshot,
        params: &'a [Value],
        caller: &'a Caller,
        subqueries: &'a [SubqueryPlan],
        config: &SqlConfig,
        views: &'a dyn ViewSource,
    ) -> ExecCtx<'a> {
        ExecCtx {
            snapshot,
            params,
            caller,
            subqueries,
            once: RefCell::new(HashMap::new()),
            memo: RefCell::new(HashMap::new()),
            outer: RefCell::new(Vec::new()),
            started: Instant::now(),
            time_max: config.time_max,
            ticks: Cell::new(0),
            intermediate_rows_max: config.intermediate_rows_max,
            views,
            view_rows: RefCell::new(HashMap::new()),
        }
    }

    /// The rows of `view`, computed on the first read and kept for the rest of the query.
    fn view_rows(&self, view: &ViewDef) -> Result<Vec<Row>> {
        if let Some(rows) = self.view_rows.borrow().get(&view.name) {
            return Ok(rows.as_ref().clone());
        }
        let rows = self
            .views
            .rows(view, self.snapshot, self.caller)
            .map_err(|error| SqlError::View {
                view: view.name.clone(),
                error,
            })?;
        if rows.len() > self.intermediate_rows_max {
            return Err(SqlError::LimitExceeded(format!(
                "view `{}` answered more than {} rows",
                view.name, self.intermediate_rows_max
            )));
        }
        self.tick(rows.len() as u64)?;
        let rows = Arc::new(rows);
        self.view_rows
            .borrow_mut()
            .insert(view.name.clone(), rows.clone());
        Ok(rows.as_ref().clone())
    }

    /// Counts `n` rows of work; every so often checks the time limit.
    pub(crate) fn tick(&self, n: u64) -> Result<()> {
        let before = self.ticks.get();
        let after = before + n;
        self.ticks.set(after);
        if after / TICK_CHECK != before / TICK_CHECK && self.started.elapsed() > self.time_max {
            return Err(SqlError::LimitExceeded(format!(
                "the query ran longer than {} ms",
                self.time_max.as_millis()
            )));
        }
        Ok(())
    }

    /// Fails when an intermediate result grows past the configured bound.
    pub(crate) fn check_rows(&self, n: usize) -> Result<()> {
        if n > self.intermediate_rows_max {
            return Err(SqlError::LimitExceeded(format!(
                "an intermediate result has more than {} rows",
                self.intermediate_rows_max
            )));
        }
        Ok(())
    }

    /// Evaluates a row-independent expression (keys, bounds, LIMIT).
    pub(crate) fn constant(&self, e: &crate::expr::Expr) -> Result<Value> {
        eval(e, &[], self)
    }
}

impl Env for ExecCtx<'_> {
    fn param_ref(&self, index: usize) -> Option<&Value> {
        self.params.get(index)
    }

    fn param(&self, index: usize) -> Result<Value> {
        self.params.get(index).cloned().ok_or_else(|| {
            SqlError::Parameter(format!(
                "the query uses ${} but {} parameter(s) were given",
                index + 1,
                self.params.len()
            ))
        })
    }

    fn identity(&self) -> Value {
        self.caller.identity.map_or(Value::Null, Value::Identity)
    }

    fn outer(&self, depth: usize, index: usize) -> Result<Value> {
        let outer = self.outer.borrow();
        outer
            .len()
            .checked_sub(depth + 1)
            .and_then(|i| outer.get(i))
            .and_then(|row| row.get(index))
            .cloned()
            .ok_or_else(|| SqlError::type_err("internal: enclosing row not available"))
    }

    fn subquery(&self, id: usize, row: &[Value]) -> Result<Arc<Vec<Row>>> {
        let sub = self
            .subqueries
            .get(id)
            .ok_or_else(|| SqlError::type_err("internal: unknown subquery"))?;
        if !sub.correlated {
            if let Some(rows) = self.once.borrow().get(&id) {
                return Ok(rows.clone());
            }
            let rows = Arc::new(execute(&sub.plan, self)?);
            self.once.borrow_mut().insert(id, rows.clone());
            return Ok(rows);
        }
        let key = (id, row_key(row));
        if let Some(rows) = self.memo.borrow().get(&key) {
            return Ok(rows.clone());
        }
        self.outer.borrow_mut().push(row.to_vec());
        let result = execute(&sub.plan, self);
        self.outer.borrow_mut().pop();
        let rows = Arc::new(result?);
        let mut memo = self.memo.borrow_mut();
        if memo.len() >= MEMO_ENTRIES_MAX {
            memo.clear();
        }
        memo.insert(key, rows.clone());
        Ok(rows)
    }
}

/// Runs `plan`, stopping once `max` rows are certain to be enough: LIMIT push-down (any `max`
/// rows of an unordered result are a right answer). Scans, filters, projections and joins
/// stream, so they stop as soon as `max` rows came out: a LIMIT over a join does not build the
/// join, and the result-size limit stops a runaway join at one row past it.
pub(crate) fn execute_at_most(
    plan: &Plan,
    ctx: &ExecCtx<'_>,
    max: Option<usize>,
) -> Result<Vec<Row>> {
    let Some(max) = max else {
        return execute(plan, ctx);
    };
    match plan {
        Plan::Scan(scan) => scan::scan(scan, ctx, Some(max)),
        // LIMIT 0: no rows, but a scan below still checks what it would (visibility, the
        // lookup keys' parameters), as the full query would.
        Plan::Filter { input, .. } | Plan::Project { input, .. } if max == 0 => {
            execute_at_most(input, ctx, Some(0))?;
            Ok(Vec::new())
        }
        Plan::Join { .. } if max == 0 => Ok(Vec::new()),
        Plan::Filter { .. } | Plan::Project { .. } | Plan::Join { .. } => {
            stream::collect_at_most(plan, ctx, max)
        }
        Plan::Truncate { input, width } => {
            let mut rows = execute_at_most(input, ctx, Some(max))?;
            for r in &mut rows {
                r.truncate(*width);
            }
            Ok(rows)
        }
        other => execute(other, ctx),
    }
}

/// Runs `plan` and returns its rows (recursing through the plan's depth: the stack grows on
/// demand).
#[recursive::recursive]
pub(crate) fn execute(plan: &Plan, ctx: &ExecCtx<'_>) -> Result<Vec<Row>> {
    match plan {
        Plan::Unit => Ok(vec![Vec::new()]),
        Plan::View(view) => ctx.view_rows(view),
        Plan::Scan(scan) => scan::scan(scan, ctx, None),
        Plan::Filter { .. } | Plan::Project { .. } => stream::collect(plan, ctx),
        Plan::Join { .. } => stream::collect(plan, ctx),
        Plan::Aggregate {
            input,
            group_by,
            aggs,
        } => {
            let mut aggregator = aggregate::Aggregator::new(group_by, aggs);
            stream::each_row(input, ctx, &mut |row| {
                aggregator.add(row, ctx)?;
                Ok(true)
            })?;
            Ok(aggregator.finish())
        }
        Plan::Sort { input, keys } => {
            let rows = execute(input, ctx)?;
            Ok(ops::sort(rows, keys))
        }
        Plan::Distinct { input, columns } => {
            let rows = execute(input, ctx)?;
            Ok(ops::distinct(rows, *columns))
        }
        Plan::Limit {
            input,
            limit,
            offset,
        } => {
            let (limit, offset) = ops::limit_bounds(limit.as_ref(), offset.as_ref(), ctx)?;
            let wanted = limit.map(|l| l.saturating_add(offset));
            let rows = match (&**input, wanted) {
                // ORDER BY … LIMIT k: select the first k rows, sort only those.
                (Plan::Sort { input, keys }, Some(k)) => ops::top_k(execute(input, ctx)?, keys, k),
                _ => execute_at_most(input, ctx, wanted)?,
            };
            Ok(rows
                .into_iter()
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .collect())
        }
        Plan::SetOp {
            op,
            all,
            left,
            right,
        } => {
            let l = execute(left, ctx)?;
            let r = execute(right, ctx)?;
            ctx.check_rows(l.len() + r.len())?;
            Ok(ops::set_op(*op, *all, l, r))
        }
        Plan::Truncate { input, width } => {
            let mut rows = execute(input, ctx)?;
            for r in &mut rows {
                r.truncate(*width);
            }
            Ok(rows)
        }
    }
}
