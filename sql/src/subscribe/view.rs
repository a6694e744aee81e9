//! One maintained query: its FROM state and the stages above it, built from a snapshot and
//! moved forward one change set at a time.
//!
//! ```text
//! change set ─► FROM delta (from_delta.rs) ─► Ops (WHERE, projection) ─► Aggregate
//!            ─► Ops (HAVING, projection) ─► Distinct ─► TopK ─► drop hidden columns ─► net
//! ```
//!
//! The initial result goes through the very same stages: the FROM clause is read once at the
//! starting snapshot and its rows enter as inserts, so the state and the result agree by
//! construction.

use crate::exec::FastMap;
use std::sync::Arc;

use cosmictron_engine::{Database, Snapshot};

use super::aggregate::AggState;
use super::analyze::{IncPlan, RowOp, Stage};
use super::from_delta::{Decoded, FromState, Snaps, keep};
use super::rows::{Multiset, Row, Signed, StrictKey, SubEnv, consolidate, strict_key};
use super::top_k::TopKState;
use crate::config::{Caller, SqlConfig};
use crate::error::{Result, SqlError};
use crate::exec::{ExecCtx, execute, sort_compare};
use crate::expr::{eval, eval_predicate};
use crate::plan::{Plan, QueryPlan};
use crate::result::ResultColumn;

/// A planned subscription query, shared by every subscription to it.
#[derive(Debug)]
pub(crate) struct Query {
    pub(crate) plan: QueryPlan,
    pub(crate) inc: IncPlan,
    pub(crate) env: SubEnv,
    pub(crate) caller: Caller,
}

impl Query {
    pub(crate) fn columns(&self) -> &[ResultColumn] {
        &self.plan.columns
    }

    /// Names of the tables the query reads.
    pub(crate) fn tables(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inc
            .from
            .scans
            .iter()
            .map(|s| s.schema.name().to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

#[derive(Debug)]
enum StageState {
    Ops(Vec<RowOp>),
    Aggregate(AggState),
    Distinct(FastMap<StrictKey, (Row, i64)>),
    TopK(TopKState),
}

/// The incremental state of one query.
#[derive(Debug)]
pub(crate) struct View {
    pub(crate) query: Arc<Query>,
    from: FromState,
    stages: Vec<StageState>,
    state_rows_max: usize,
}

/// The FROM clause's plan: below every single-input operator.
fn from_root(plan: &Plan) -> &Plan {
    match plan {
        Plan::Truncate { input, .. }
        | Plan::Limit { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Distinct { input, .. }
        | Plan::Project { input, .. }
        | Plan::Filter { input, .. }
        | Plan::Aggregate { input, .. } => from_root(input),
        other => other,
    }
}

impl View {
    /// Builds the state at `snapshot`; returns it with the result rows there (before hidden
    /// columns are dropped: see [`View::finish_rows`]).
    pub(crate) fn build(
        query: Arc<Query>,
        snapshot: &Snapshot,
        sql: &SqlConfig,
        state_rows_max: usize,
    ) -> Result<(View, Vec<Row>)> {
        let ctx = ExecCtx::new(
            snapshot,
            &query.env.params,
            &query.caller,
            &query.plan.subqueries,
            sql,
            &crate::views::NoViews,
        );
        let root = from_root(&query.plan.root);
        let from_rows = execute(root, &ctx)?;
        let mut from = FromState::plan(&query.inc.from, state_rows_max)?;
        // Whole rows (the plan's scans decode only the columns the query reads), so that a
        // deleted row found in a change set matches the copy kept.
        let specs = &query.inc.from.scans;
        from.fill(
            |i| {
                let spec = specs
                    .get(i)
                    .ok_or_else(|| SqlError::type_err("internal: scan"))?;
                let mut rows = Vec::new();
                for row in snapshot.scan(spec.schema.name())? {
                    if keep(spec, &row, &query.env, &query.caller)? {
                        rows.push(row);
                    }
                }
                Ok(rows)
            },
            state_rows_max,
        )?;
        let stages = query
            .inc
            .stages
            .iter()
            .map(|s| match s {
                Stage::Ops(ops) => StageState::Ops(ops.clone()),
                Stage::Aggregate { group_by, aggs } => {
                    StageState::Aggregate(AggState::new(group_by.clone(), aggs.clone()))
                }
                Stage::Distinct => StageState::Distinct(FastMap::default()),
                Stage::TopK {
                    keys,
                    limit,
                    offset,
                } => StageState::TopK(TopKState::new(keys.clone(), *limit, *offset)),
            })
            .collect();
        let mut view = View {
            query,
            from,
            stages,
            state_rows_max,
        };
        let initial = from_rows.into_iter().map(|r| (r, 1)).collect();
        let rows = view.run_stages(initial, true)?;
        let mut out = Multiset::default();
        out.apply(rows);
        let rows = out.into_rows();
        if rows.len() > sql.rows_max {
            return Err(SqlError::LimitExceeded(format!(
                "the initial result has more than {} rows; add a LIMIT or a narrower WHERE",
                sql.rows_max
            )));
        }
        Ok((view, rows))
    }

    /// The rows that left and entered the result in `changes` (before hidden columns are
    /// dropped: see [`View::finish_delta`]).
    pub(crate) fn apply(&mut self, changes: &Decoded<'_>, db: &Database) -> Result<Vec<Signed>> {
        let mut snaps = Snaps::new(db, changes.tx_id());
        let query = self.query.clone();
        let delta = self.from.delta(
            &query.inc.from,
            changes,
            &mut snaps,
            (&query.env, &query.caller),
            self.state_rows_max,
        )?;
        if delta.is_empty() {
            return Ok(Vec::new());
        }
        self.run_stages(delta, false)
    }

    /// Runs rows through the stages. `initial`: the rows are the whole input, so an aggregate
    /// answers with every group (an aggregate over no rows still has its one row).
    /// Rows this query keeps as state (own join indexes, groups, rows below a LIMIT).
    pub(crate) fn state_rows(&self) -> usize {
        self.from.state_rows() + self.stage_rows()
    }

    fn stage_rows(&self) -> usize {
        self.stages
            .iter()
            .map(|s| match s {
                StageState::Ops(_) => 0,
                StageState::Aggregate(a) => a.state_rows(),
                StageState::Distinct(d) => d.len(),
                StageState::TopK(t) => t.state_rows(),
            })
            .sum()
    }

    fn run_stages(&mut self, mut rows: Vec<Signed>, initial: bool) -> Result<Vec<Signed>> {
        let env = &self.query.env;
        for stage in &mut self.stages {
            if rows.is_empty() && !initial {
                break;
            }
            rows = match stage {
                StageState::Ops(ops) => run_ops(ops, rows, env)?,
                StageState::Aggregate(agg) if initial => {
                    agg.apply(rows, env)?;
                    agg.rows().into_iter().map(|r| (r, 1)).collect()
                }
                StageState::Aggregate(agg) => agg.apply(rows, env)?,
                StageState::Distinct(counts) => distinct(counts, rows),
                StageState::TopK(top) => top.apply(consolidate(rows)),
            };
        }
        if self.state_rows() > self.state_rows_max {
            return Err(SqlError::LimitExceeded(format!(
                "the subscription would keep more than {} rows of state",
                self.state_rows_max
            )));
        }
        Ok(rows)
    }

    /// A delta as subscribers see it: hidden columns dropped, equal rows netted.
    pub(crate) fn finish_delta(&self, rows: Vec<Signed>) -> Vec<Signed> {
        let rows = match self.query.inc.truncate {
            Some(w) => rows
                .into_iter()
                .map(|(mut r, n)| {
                    r.truncate(w);
                    (r, n)
                })
                .collect(),
            None => rows,
        };
        consolidate(rows)
    }

    /// A result as subscribers see it: in ORDER BY order, hidden columns dropped.
    pub(crate) fn finish_rows(&self, mut rows: Vec<Row>) -> Vec<Row> {
        if let Some(keys) = &self.query.inc.sort {
            rows.sort_by(|a, b| sort_compare(a, b, keys));
        }
        if let Some(w) = self.query.inc.truncate {
            for r in &mut rows {
                r.truncate(w);
            }
        }
        rows
    }
}

fn run_ops(ops: &[RowOp], rows: Vec<Signed>, env: &SubEnv) -> Result<Vec<Signed>> {
    let mut out = Vec::with_capacity(rows.len());
    'rows: for (mut row, w) in rows {
        for op in ops {
            match op {
                RowOp::Filter(p) => {
                    if !eval_predicate(p, &row, env)? {
                        continue 'rows;
                    }
                }
                RowOp::Project(exprs) => {
                    row = exprs
                        .iter()
                        .map(|e| eval(e, &row, env))
                        .collect::<Result<Row>>()?;
                }
            }
        }
        out.push((row, w));
    }
    Ok(out)
}

/// DISTINCT: a row is in the result while at least one copy of it is.
fn distinct(counts: &mut FastMap<StrictKey, (Row, i64)>, rows: Vec<Signed>) -> Vec<Signed> {
    let mut out = Vec::new();
    for (row, w) in rows {
        let key = strict_key(&row);
        let entry = counts
            .entry(key.clone())
            .or_insert_with(|| (row.clone(), 0));
        let before = entry.1;
        entry.1 += w;
        let after = entry.1;
        if before <= 0 && after > 0 {
            out.push((row, 1));
        } else if before > 0 && after <= 0 {
            out.push((row, -1));
        }
        if after <= 0 {
            counts.remove(&key);
        }
    }
    out
}
