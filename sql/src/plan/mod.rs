//! Planning: a parsed query → a tree of operators ([`Plan`]) ready to execute.
//!
//! The binder (`bind_query.rs`, `bind_expr.rs`) resolves names against a [`Catalog`] and turns
//! expressions into [`Expr`]s over row positions; `from.rs` plans the FROM clause — read
//! policies at every base-table scan, predicate push-down, index selection (`access.rs`) and a
//! greedy join order with hash joins — and the rest of a SELECT is stacked on top:
//!
//! ```text
//! Limit ─ Sort ─ Distinct ─ Project ─ Filter(HAVING) ─ Aggregate ─ Filter(WHERE rest)
//!                                                                  └ joins of scans
//! ```
//!
//! Rows from the FROM clause always have the *global layout*: the columns of every FROM item in
//! the order written, whatever order the joins ran in. Expressions above the FROM clause (and
//! correlated subqueries, which see the enclosing row) can therefore be bound once.

mod access;
mod affinity;
mod bind_expr;
mod bind_query;
mod explain;
mod from;
mod push_down;
mod scope;
mod types;

use std::sync::Arc;

use cosmictron_engine::TableSchema;

pub(crate) use access::Access;
pub(crate) use bind_expr::bind_standalone;
pub(crate) use bind_query::bind_statement;
pub(crate) use explain::explain;
pub(crate) use scope::{Scope, ScopeColumn};

use crate::error::Result;
use crate::expr::Expr;
use crate::result::ResultColumn;
use crate::rls::Policy;
use crate::views::ViewDef;

/// Resolves table names for the binder: applies the database qualifier, hides private tables
/// from callers without the bypass, and supplies each table's compiled read policy.
pub(crate) trait Catalog {
    /// The table named by `parts` (`[table]` or `[database, table]`).
    fn table(&self, parts: &[String]) -> Result<Arc<TableSchema>>;
    /// The read policy to apply for this caller (`None`: no filtering).
    fn policy(&self, schema: &Arc<TableSchema>) -> Result<Option<Arc<Policy>>>;
    /// The view named by `parts`, when no table has that name and the caller may read it.
    fn view(&self, parts: &[String]) -> Option<Arc<ViewDef>>;
}

/// A bound, planned query.
#[derive(Debug)]
pub(crate) struct QueryPlan {
    pub(crate) root: Plan,
    /// Shared with every result of the plan (no copy of the names per query).
    pub(crate) columns: Arc<[ResultColumn]>,
    pub(crate) subqueries: Vec<SubqueryPlan>,
    /// The schemas planned against; a cached plan is reused only while they are unchanged.
    pub(crate) tables: Vec<Arc<TableSchema>>,
    /// The views read; a cached plan is reused only while their definitions are unchanged.
    pub(crate) views: Vec<Arc<ViewDef>>,
}

#[derive(Debug)]
pub(crate) struct SubqueryPlan {
    pub(crate) plan: Plan,
    /// Reads a column of an enclosing query: run once per enclosing row, else once per query.
    pub(crate) correlated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetOpKind {
    Union,
    Intersect,
    Except,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum AggFunc {
    CountStar,
    Count,
    Sum,
    Total,
    Avg,
    Min,
    Max,
    GroupConcat,
    /// A bare column in an aggregate query (SQLite allows it): the value from the last row.
    AnyValue,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AggCall {
    pub(crate) func: AggFunc,
    pub(crate) arg: Option<Expr>,
    pub(crate) distinct: bool,
    /// GROUP_CONCAT's separator.
    pub(crate) separator: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SortKey {
    pub(crate) column: usize,
    pub(crate) desc: bool,
    pub(crate) nulls_first: bool,
}

/// A base-table scan: the read policy first, then the access path, then pushed-down filters.
#[derive(Debug)]
pub(crate) struct Scan {
    pub(crate) schema: Arc<TableSchema>,
    /// The name the query used (alias or table name), for EXPLAIN.
    pub(crate) label: String,
    pub(crate) access: Access,
    /// Every pushed conjunct: applied after a scan or a lookup whose keys were not exact.
    pub(crate) filter: Option<Expr>,
    /// The pushed conjuncts a lookup with exact keys does not already enforce.
    pub(crate) lookup_filter: Option<Expr>,
    pub(crate) policy: Option<Arc<Policy>>,
    /// Which columns the query reads (others are left NULL, not decoded).
    pub(crate) used: Arc<ColumnUse>,
}

/// The columns of one table a query reads, marked while binding (atomics, so plans stay
/// shareable through the statement cache).
#[derive(Debug)]
pub(crate) struct ColumnUse(Vec<std::sync::atomic::AtomicBool>);

impl ColumnUse {
    pub(crate) fn new(n: usize) -> ColumnUse {
        ColumnUse(
            (0..n)
                .map(|_| std::sync::atomic::AtomicBool::new(false))
                .collect(),
        )
    }

    pub(crate) fn mark(&self, i: usize) {
        if let Some(b) = self.0.get(i) {
            b.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Positions of the columns read, or `None` when all are.
    pub(crate) fn subset(&self) -> Option<Vec<usize>> {
        let used: Vec<usize> = (0..self.0.len())
            .filter(|&i| self.0[i].load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        (used.len() < self.0.len()).then_some(used)
    }
}

#[derive(Debug)]
pub(crate) enum Plan {
    /// One row with no columns (SELECT without FROM).
    Unit,
    Scan(Scan),
    /// The rows of a view, computed once per query by the view source.
    View(Arc<ViewDef>),
    Filter {
        input: Box<Plan>,
        predicate: Expr,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<Expr>,
    },
    /// Output rows are the left row followed by the right row (NULLs for an unmatched LEFT
    /// row). With keys it is a hash join building on the right.
    Join {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        left_keys: Vec<Expr>,
        right_keys: Vec<Expr>,
        residual: Option<Expr>,
        right_width: usize,
        /// When the right input is a table scan with an index led by the column of key `.0`:
        /// the index (`.1`) to look right rows up by, used when the left input is small.
        lookup: Option<(usize, usize)>,
    },
    /// Output rows are the group values followed by the aggregate values.
    Aggregate {
        input: Box<Plan>,
        group_by: Vec<Expr>,
        aggs: Vec<AggCall>,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    /// Removes rows equal in their first `columns` columns.
    Distinct {
        input: Box<Plan>,
        columns: usize,
    },
    Limit {
        input: Box<Plan>,
        limit: Option<Expr>,
        offset: Option<Expr>,
    },
    SetOp {
        op: SetOpKind,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
    /// Keeps the first `width` columns (drops hidden sort keys).
    Truncate {
        input: Box<Plan>,
        width: usize,
    },
}

/// The index lookup a join may use instead of scanning its right input: a key pair whose right
/// side is a bare column that leads an index of the right table.
pub(crate) fn lookup_join(right: &Plan, right_keys: &[Expr]) -> Option<(usize, usize)> {
    let Plan::Scan(scan) = right else {
        return None;
    };
    if matches!(scan.access, Access::Lookup { .. }) {
        return None;
    }
    right_keys.iter().enumerate().find_map(|(k, e)| {
        let Expr::Column(c) = e else {
            return None;
        };
        let index = scan
            .schema
            .indexes
            .iter()
            .position(|i| i.columns.first() == Some(c))?;
        Some((k, index))
    })
}
