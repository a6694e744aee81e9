//! Predicate push-down into FROM items planned before the WHERE clause was seen: a subquery
//! in FROM and a chain of LEFT JOINs. A WHERE conjunct over such an item moves down as far as
//! it keeps its meaning, so that it reaches a base-table scan, where it filters early and may
//! select an index (`SELECT * FROM (SELECT * FROM t) q WHERE q.id = 5` is a primary-key
//! lookup, as is `… FROM t LEFT JOIN u ON … WHERE t.id = 5`).
//!
//! Where a conjunct may go:
//! - through a projection, rewritten over the projection's input (its columns replaced by the
//!   expressions they are), unless one of those reads a subquery or an enclosing query;
//! - through a filter and a sort, unchanged;
//! - into a join's left input when it reads only left columns (for LEFT JOIN too: the left
//!   row is in every output row it produces, matched or not), into the right input of an
//!   inner join when it reads only right columns — never into the right side of a LEFT JOIN,
//!   where it would turn a removed row into a NULL-extended one;
//! - not through an aggregate, DISTINCT, LIMIT, a set operation or a view (it would change
//!   which rows they see).

use super::access;
use super::{JoinKind, Plan, Scan};
use crate::expr::{BinOp, Expr};

/// Pushes `conjunct` (over `plan`'s output columns) into `plan`; hands the conjunct back
/// when it cannot go below the top.
pub(super) fn push_down(plan: Plan, conjunct: Expr) -> (Plan, Option<Expr>) {
    if !movable(&conjunct) {
        return (plan, Some(conjunct));
    }
    match plan {
        Plan::Scan(scan) => (Plan::Scan(rescan(scan, conjunct)), None),
        Plan::Filter { input, predicate } => {
            let plan = match push_down(*input, conjunct) {
                (input, None) => filter(input, predicate),
                (input, Some(kept)) => {
                    let both = Expr::Binary(BinOp::And, Box::new(predicate), Box::new(kept));
                    filter(input, both)
                }
            };
            (plan, None)
        }
        Plan::Sort { input, keys } => {
            let (input, kept) = push_down(*input, conjunct);
            let sort = Plan::Sort {
                input: Box::new(input),
                keys,
            };
            (sort, kept)
        }
        Plan::Project { input, exprs } => {
            let reads_outside = conjunct
                .columns()
                .iter()
                .any(|&c| exprs.get(c).is_none_or(|e| !movable(e)));
            if reads_outside {
                return (Plan::Project { input, exprs }, Some(conjunct));
            }
            let rewritten =
                conjunct.replace_columns(&|c| exprs.get(c).cloned().unwrap_or(Expr::Column(c)));
            // Below the projection all the same: it filters before the projection runs.
            let input = match push_down(*input, rewritten) {
                (input, None) => input,
                (input, Some(kept)) => filter(input, kept),
            };
            let project = Plan::Project {
                input: Box::new(input),
                exprs,
            };
            (project, None)
        }
        Plan::Join {
            left,
            mut right,
            kind,
            left_keys,
            right_keys,
            residual,
            right_width,
            mut lookup,
        } => {
            let columns = conjunct.columns();
            let mut left = left;
            let mut kept = Some(conjunct);
            if let (Some(w), Some(c)) = (width(&left), kept.take()) {
                kept = if columns.is_empty() {
                    Some(c)
                } else if columns.iter().all(|&x| x < w) {
                    let (pushed, back) = push_down(*left, c);
                    left = Box::new(pushed);
                    back
                } else if kind == JoinKind::Inner && columns.iter().all(|&x| x >= w) {
                    let (pushed, back) = push_down(*right, c.map_columns(&|x| x - w));
                    // The right input may now be an index lookup of its own.
                    lookup = super::lookup_join(&pushed, &right_keys);
                    right = Box::new(pushed);
                    back.map(|b| b.map_columns(&|x| x + w))
                } else {
                    Some(c)
                };
            }
            let join = Plan::Join {
                left,
                right,
                kind,
                left_keys,
                right_keys,
                residual,
                right_width,
                lookup,
            };
            (join, kept)
        }
        other => (other, Some(conjunct)),
    }
}

fn filter(input: Plan, predicate: Expr) -> Plan {
    Plan::Filter {
        input: Box::new(input),
        predicate,
    }
}

/// An expression that means the same wherever it is evaluated on the same row: no subquery
/// (whose plan was bound at its place) and no column of an enclosing query.
fn movable(e: &Expr) -> bool {
    let mut ok = true;
    e.walk(&mut |x| ok &= !matches!(x, Expr::Subquery { .. } | Expr::Outer { .. }));
    ok
}

/// The number of columns `plan` produces, where the planner can tell.
fn width(plan: &Plan) -> Option<usize> {
    match plan {
        Plan::Scan(s) => Some(s.schema.columns().len()),
        Plan::Filter { input, .. } | Plan::Sort { input, .. } => width(input),
        Plan::Project { exprs, .. } => Some(exprs.len()),
        Plan::Join {
            left, right_width, ..
        } => width(left).map(|w| w + right_width),
        _ => None,
    }
}

/// `scan` with one more pushed conjunct: the access path is chosen again, since the new
/// conjunct may select an index.
fn rescan(scan: Scan, conjunct: Expr) -> Scan {
    for c in conjunct.columns() {
        scan.used.mark(c);
    }
    let mut pushed = Vec::new();
    if let Some(filter) = scan.filter {
        filter.into_conjuncts(&mut pushed);
    }
    pushed.push(conjunct);
    let (access, filter, lookup_filter) = access::with_filters(&scan.schema, pushed);
    Scan {
        access,
        filter,
        lookup_filter,
        ..scan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(c: usize, v: i64) -> Expr {
        Expr::column_eq(c, v)
    }

    #[test]
    fn conjuncts_stop_at_operators_that_would_change_their_meaning() {
        // Proves a conjunct is handed back unchanged, not dropped, where it cannot move.
        for plan in [
            Plan::Unit,
            Plan::Distinct {
                input: Box::new(Plan::Unit),
                columns: 1,
            },
            Plan::Limit {
                input: Box::new(Plan::Unit),
                limit: None,
                offset: None,
            },
        ] {
            let (back, c) = push_down(plan, eq(0, 1));
            assert_eq!(c, Some(eq(0, 1)), "stays on top");
            assert!(!matches!(back, Plan::Filter { .. }));
        }
        // A subquery inside a conjunct never moves.
        let sub = Expr::Subquery {
            id: 0,
            usage: crate::expr::SubqueryUse::Exists { negated: false },
        };
        assert!(push_down(Plan::Unit, sub).1.is_some());
    }

    #[test]
    fn projections_rewrite_and_refuse_outer_references() {
        // Proves the conjunct is rewritten over the projection's input, and that one reading a
        // projected enclosing-query column is refused.
        let project = |exprs: Vec<Expr>| Plan::Project {
            input: Box::new(Plan::Unit),
            exprs,
        };
        let (plan, kept) = push_down(project(vec![Expr::Column(3)]), eq(0, 7));
        assert!(kept.is_none(), "moves");
        let Plan::Project { input, .. } = plan else {
            panic!("a projection")
        };
        let Plan::Filter { predicate, .. } = *input else {
            panic!("a filter below the projection")
        };
        assert_eq!(predicate, eq(3, 7));
        let outer = project(vec![Expr::Outer { depth: 0, index: 1 }]);
        assert!(push_down(outer, eq(0, 7)).1.is_some());
    }
}
