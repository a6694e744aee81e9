//! Decides whether a planned query can be maintained incrementally and, if so, takes it apart
//! into a FROM part (scans and join conditions) and a pipeline of stages above it.
//!
//! The planner's join tree outputs the left row followed by the right row, so the rows of the
//! whole tree are the scans' columns concatenated in depth-first order: the *tree layout*.
//! Join keys and residuals are moved into that layout, which lets any scan be the one whose
//! changes drive a delta while the others are probed.

use std::sync::Arc;

use cosmictron_engine::TableSchema;
use cosmictron_types::Value;

use super::rows::SubEnv;
use crate::error::{Result, SqlError};
use crate::expr::value_ops::{Num, to_num};
use crate::expr::{BinOp, CmpOp, Expr, eval};
use crate::plan::{AggCall, AggFunc, JoinKind, Plan, QueryPlan, SortKey};
use crate::rls::Policy;

/// One base table of the FROM clause.
#[derive(Debug)]
pub(crate) struct ScanSpec {
    pub(crate) schema: Arc<TableSchema>,
    /// Every conjunct pushed to this scan (over the table's own columns).
    pub(crate) filter: Option<Expr>,
    pub(crate) policy: Option<Arc<Policy>>,
    /// Where the table's columns start in the tree layout.
    pub(crate) offset: usize,
    pub(crate) width: usize,
}

/// The FROM clause: scans, the equalities that join them, and other join conditions, all
/// over the tree layout.
#[derive(Debug)]
pub(crate) struct FromSpec {
    pub(crate) scans: Vec<ScanSpec>,
    pub(crate) equalities: Vec<(Expr, Expr)>,
    pub(crate) residuals: Vec<Expr>,
    pub(crate) width: usize,
}

impl FromSpec {
    /// The scan a tree-layout column belongs to.
    pub(crate) fn scan_of(&self, column: usize) -> usize {
        self.scans
            .iter()
            .position(|s| column >= s.offset && column < s.offset + s.width)
            .unwrap_or(0)
    }
}

/// A stateless step over rows.
#[derive(Debug, Clone)]
pub(crate) enum RowOp {
    Filter(Expr),
    Project(Vec<Expr>),
}

/// One step of the pipeline above the FROM clause.
#[derive(Debug)]
pub(crate) enum Stage {
    Ops(Vec<RowOp>),
    Aggregate {
        group_by: Vec<Expr>,
        aggs: Vec<AggCall>,
    },
    Distinct,
    TopK {
        keys: Vec<SortKey>,
        limit: usize,
        offset: usize,
    },
}

/// A query taken apart for incremental maintenance.
#[derive(Debug)]
pub(crate) struct IncPlan {
    pub(crate) from: FromSpec,
    pub(crate) stages: Vec<Stage>,
    /// ORDER BY without LIMIT: orders the initial rows only (deltas are sets of rows).
    pub(crate) sort: Option<Vec<SortKey>>,
    /// Hidden sort columns dropped at the end.
    pub(crate) truncate: Option<usize>,
    /// The query reads `$identity` (directly or through a read policy).
    pub(crate) uses_identity: bool,
}

/// Why a subscription cannot read a view.
pub(crate) const VIEWS_ARE_NOT_MAINTAINED: &str = "a view is computed by its module's code for \
     each query, so its changes cannot be derived from a transaction; subscribe to the tables \
     it reads";

fn unsupported(why: impl Into<String>) -> SqlError {
    SqlError::UnsupportedSubscription(why.into())
}

/// Refuses expressions a delta cannot be computed for.
fn check_expr(e: &Expr, uses_identity: &mut bool) -> Result<()> {
    let mut bad = None;
    e.walk(&mut |x| match x {
        Expr::Subquery { .. } | Expr::Outer { .. } => {
            bad = Some("subqueries are not maintained incrementally; join the tables instead")
        }
        Expr::Identity => *uses_identity = true,
        _ => {}
    });
    match bad {
        Some(why) => Err(unsupported(why)),
        None => Ok(()),
    }
}

/// Takes `plan` apart, or says why it cannot be maintained incrementally.
pub(crate) fn analyze(plan: &QueryPlan, env: &SubEnv) -> Result<IncPlan> {
    if !plan.subqueries.is_empty() {
        return Err(unsupported(
            "subqueries are not maintained incrementally; join the tables instead",
        ));
    }
    let mut uses_identity = false;
    let mut chain = Vec::new();
    let mut node = &plan.root;
    let from_root = loop {
        match node {
            Plan::Truncate { input, .. }
            | Plan::Limit { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Distinct { input, .. }
            | Plan::Project { input, .. }
            | Plan::Filter { input, .. }
            | Plan::Aggregate { input, .. } => {
                chain.push(node);
                node = input;
            }
            Plan::Scan(_) | Plan::Join { .. } => break node,
            Plan::Unit => return Err(unsupported("a query without FROM never changes")),
            Plan::View(_) => return Err(unsupported(VIEWS_ARE_NOT_MAINTAINED)),
            Plan::SetOp { .. } => {
                return Err(unsupported(
                    "UNION/INTERSECT/EXCEPT: subscribe to each part separately",
                ));
            }
        }
    };
    let mut from = FromSpec {
        scans: Vec::new(),
        equalities: Vec::new(),
        residuals: Vec::new(),
        width: 0,
    };
    flatten(from_root, &mut from, &mut uses_identity)?;
    for s in &from.scans {
        if s.policy.is_some() {
            uses_identity = true;
        }
    }
    let (stages, sort, truncate) = build_stages(&chain, from.width, env, &mut uses_identity)?;
    Ok(IncPlan {
        from,
        stages,
        sort,
        truncate,
        uses_identity,
    })
}

fn flatten(plan: &Plan, from: &mut FromSpec, uses_identity: &mut bool) -> Result<()> {
    match plan {
        Plan::Scan(scan) => {
            if let Some(f) = &scan.filter {
                check_expr(f, uses_identity)?;
            }
            let width = scan.schema.columns().len();
            from.scans.push(ScanSpec {
                schema: scan.schema.clone(),
                filter: scan.filter.clone(),
                policy: scan.policy.clone(),
                offset: from.width,
                width,
            });
            from.width += width;
            Ok(())
        }
        Plan::Join {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            residual,
            ..
        } => {
            if *kind != JoinKind::Inner {
                return Err(unsupported(
                    "LEFT JOIN is not maintained incrementally; use an inner join",
                ));
            }
            let left_start = from.width;
            flatten(left, from, uses_identity)?;
            let right_start = from.width;
            flatten(right, from, uses_identity)?;
            for (l, r) in left_keys.iter().zip(right_keys) {
                check_expr(l, uses_identity)?;
                check_expr(r, uses_identity)?;
                from.equalities.push((
                    l.map_columns(&|c| c + left_start),
                    r.map_columns(&|c| c + right_start),
                ));
            }
            if let Some(res) = residual {
                check_expr(res, uses_identity)?;
                let mut parts = Vec::new();
                res.map_columns(&|c| c + left_start)
                    .into_conjuncts(&mut parts);
                // An equality written as a residual can still drive probes.
                for part in parts {
                    match part {
                        Expr::Binary(BinOp::Cmp(CmpOp::Eq), a, b) => from.equalities.push((*a, *b)),
                        other => from.residuals.push(other),
                    }
                }
            }
            Ok(())
        }
        _ => Err(unsupported(
            "subqueries in FROM are not maintained incrementally",
        )),
    }
}

type Stages = (Vec<Stage>, Option<Vec<SortKey>>, Option<usize>);

fn build_stages(
    chain: &[&Plan],
    mut width: usize,
    env: &SubEnv,
    uses_identity: &mut bool,
) -> Result<Stages> {
    let mut stages = Vec::new();
    let mut ops = Vec::new();
    let mut pending_sort: Option<Vec<SortKey>> = None;
    let mut sort = None;
    let mut truncate = None;
    let mut finished = false;
    for node in chain.iter().rev() {
        if truncate.is_some() || (finished && !matches!(node, Plan::Truncate { .. })) {
            return Err(unsupported("this query shape"));
        }
        if pending_sort.is_some() && !matches!(node, Plan::Limit { .. } | Plan::Truncate { .. }) {
            return Err(unsupported("this query shape"));
        }
        match node {
            Plan::Filter { predicate, .. } => {
                check_expr(predicate, uses_identity)?;
                ops.push(RowOp::Filter(predicate.clone()));
            }
            Plan::Project { exprs, .. } => {
                for e in exprs {
                    check_expr(e, uses_identity)?;
                }
                width = exprs.len();
                ops.push(RowOp::Project(exprs.clone()));
            }
            Plan::Aggregate { group_by, aggs, .. } => {
                flush(&mut stages, &mut ops);
                if stages.iter().any(|s| matches!(s, Stage::Aggregate { .. })) {
                    return Err(unsupported("nested aggregation"));
                }
                for e in group_by {
                    check_expr(e, uses_identity)?;
                }
                for call in aggs {
                    check_agg(call, uses_identity)?;
                }
                width = group_by.len() + aggs.len();
                stages.push(Stage::Aggregate {
                    group_by: group_by.clone(),
                    aggs: aggs.clone(),
                });
            }
            Plan::Distinct { columns, .. } => {
                if *columns != width {
                    return Err(unsupported(
                        "DISTINCT with ORDER BY on columns not selected picks arbitrary rows",
                    ));
                }
                flush(&mut stages, &mut ops);
                stages.push(Stage::Distinct);
            }
            Plan::Sort { keys, .. } => {
                flush(&mut stages, &mut ops);
                pending_sort = Some(keys.clone());
            }
            Plan::Limit { limit, offset, .. } => {
                let Some(keys) = pending_sort.take() else {
                    return Err(unsupported(
                        "LIMIT without ORDER BY picks arbitrary rows; add an ORDER BY",
                    ));
                };
                let limit = match limit {
                    Some(e) => constant_count(e, env, "LIMIT")?,
                    None => usize::MAX,
                };
                let offset = match offset {
                    Some(e) => constant_count(e, env, "OFFSET")?,
                    None => 0,
                };
                stages.push(Stage::TopK {
                    keys: keys.clone(),
                    limit,
                    offset,
                });
                sort = Some(keys);
                finished = true;
            }
            Plan::Truncate { width: w, .. } => {
                flush(&mut stages, &mut ops);
                truncate = Some(*w);
            }
            _ => return Err(unsupported("this query shape")),
        }
    }
    flush(&mut stages, &mut ops);
    if let Some(keys) = pending_sort {
        sort = Some(keys);
    }
    Ok((stages, sort, truncate))
}

fn flush(stages: &mut Vec<Stage>, ops: &mut Vec<RowOp>) {
    if !ops.is_empty() {
        stages.push(Stage::Ops(std::mem::take(ops)));
    }
}

fn check_agg(call: &AggCall, uses_identity: &mut bool) -> Result<()> {
    if call.distinct {
        return Err(unsupported(
            "aggregates over DISTINCT values are not maintained incrementally",
        ));
    }
    match call.func {
        AggFunc::CountStar
        | AggFunc::Count
        | AggFunc::Sum
        | AggFunc::Total
        | AggFunc::Avg
        | AggFunc::Min
        | AggFunc::Max => {}
        AggFunc::GroupConcat => {
            return Err(unsupported(
                "GROUP_CONCAT depends on row order and is not maintained incrementally",
            ));
        }
        AggFunc::AnyValue => {
            return Err(unsupported(
                "a bare column in an aggregate query picks an arbitrary row; group by it",
            ));
        }
    }
    if let Some(arg) = &call.arg {
        check_expr(arg, uses_identity)?;
    }
    Ok(())
}

/// A LIMIT or OFFSET: a non-negative integer known when subscribing.
fn constant_count(e: &Expr, env: &SubEnv, what: &str) -> Result<usize> {
    let mut row_free = true;
    e.walk(&mut |x| row_free &= !matches!(x, Expr::Column(_)));
    let v = if row_free {
        eval(e, &[], env)?
    } else {
        Value::Null
    };
    match to_num(&v) {
        Some(Num::Int(n)) if n >= 0 && !matches!(v, Value::String(_)) => {
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        }
        _ => Err(SqlError::Parameter(format!(
            "{what} must be a non-negative integer"
        ))),
    }
}
