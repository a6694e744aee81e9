//! EXPLAIN: the plan as indented text, one operator per line.

use super::{Access, AggFunc, JoinKind, Plan, QueryPlan, SetOpKind};
use crate::expr::{Expr, to_sql};

/// The lines EXPLAIN returns.
pub(crate) fn explain(plan: &QueryPlan) -> Vec<String> {
    let mut out = Vec::new();
    describe(&plan.root, 0, &mut out);
    for (i, s) in plan.subqueries.iter().enumerate() {
        out.push(format!(
            "subquery #{i}{}:",
            if s.correlated { " (correlated)" } else { "" }
        ));
        describe(&s.plan, 1, &mut out);
    }
    out
}

/// `e` as SQL-like text (cut at 120 characters), its columns named by `column`.
fn short(e: &Expr, column: &dyn Fn(usize) -> String) -> String {
    let text = to_sql(e, column);
    if text.len() > 120 {
        format!(
            "{}…",
            &text[..text.char_indices().nth(117).map_or(text.len(), |(i, _)| i)]
        )
    } else {
        text
    }
}

/// Columns of rows that are no one table's: by position.
fn position(i: usize) -> String {
    format!("#{i}")
}

fn describe(plan: &Plan, depth: usize, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    let line = match plan {
        Plan::Unit => "one empty row".to_owned(),
        Plan::View(view) => format!("view {} (computed by its module)", view.name),
        Plan::Scan(scan) => {
            let table = scan.schema.name();
            let index_name = |i: &usize| {
                scan.schema
                    .indexes
                    .get(*i)
                    .map_or("?", |x| x.name.as_str())
                    .to_owned()
            };
            let access = match &scan.access {
                Access::Full => "full scan".to_owned(),
                Access::Lookup { index, keys, .. } => {
                    format!(
                        "lookup on index {} ({} key(s))",
                        index_name(index),
                        keys.len()
                    )
                }
                Access::Range {
                    index,
                    prefix,
                    lower,
                    upper,
                } => format!(
                    "range on index {} (prefix {} column(s){}{})",
                    index_name(index),
                    prefix.len(),
                    if lower.is_some() { ", lower bound" } else { "" },
                    if upper.is_some() { ", upper bound" } else { "" },
                ),
            };
            let mut s = format!("scan {table} as {}: {access}", scan.label);
            if scan.policy.is_some() {
                s.push_str(", read policy");
            }
            if let Some(f) = &scan.filter {
                let name = |i: usize| {
                    scan.schema
                        .columns()
                        .get(i)
                        .map_or_else(|| position(i), |c| c.name.clone())
                };
                s.push_str(&format!(", filter {}", short(f, &name)));
            }
            s
        }
        Plan::Filter { predicate, .. } => format!("filter {}", short(predicate, &position)),
        Plan::Project { exprs, .. } => format!("project {} column(s)", exprs.len()),
        Plan::Join {
            kind,
            left_keys,
            residual,
            lookup,
            ..
        } => {
            let kind = match kind {
                JoinKind::Inner => "inner",
                JoinKind::Left => "left",
            };
            let method = if left_keys.is_empty() {
                "nested loop join".to_owned()
            } else {
                format!("hash join on {} key(s)", left_keys.len())
            };
            let mut s = format!("{kind} {method}");
            if lookup.is_some() {
                s.push_str(" (or index probes of the right table when the left side is no larger)");
            }
            if let Some(r) = residual {
                s.push_str(&format!(", residual {}", short(r, &position)));
            }
            s
        }
        Plan::Aggregate { group_by, aggs, .. } => {
            let names: Vec<&str> = aggs
                .iter()
                .map(|a| match a.func {
                    AggFunc::CountStar => "count(*)",
                    AggFunc::Count => "count",
                    AggFunc::Sum => "sum",
                    AggFunc::Total => "total",
                    AggFunc::Avg => "avg",
                    AggFunc::Min => "min",
                    AggFunc::Max => "max",
                    AggFunc::GroupConcat => "group_concat",
                    AggFunc::AnyValue => "any_value",
                })
                .collect();
            format!(
                "aggregate by {} group key(s): {}",
                group_by.len(),
                names.join(", ")
            )
        }
        Plan::Sort { keys, .. } => format!("sort by {} key(s)", keys.len()),
        Plan::Distinct { .. } => "distinct".to_owned(),
        Plan::Limit { .. } => "limit".to_owned(),
        Plan::SetOp { op, all, .. } => {
            let op = match op {
                SetOpKind::Union => "union",
                SetOpKind::Intersect => "intersect",
                SetOpKind::Except => "except",
            };
            format!("{op}{}", if *all { " all" } else { "" })
        }
        Plan::Truncate { width, .. } => format!("keep {width} column(s)"),
    };
    out.push(format!("{pad}{line}"));
    match plan {
        Plan::Unit | Plan::Scan(_) | Plan::View(_) => {}
        Plan::Filter { input, .. }
        | Plan::Project { input, .. }
        | Plan::Aggregate { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Distinct { input, .. }
        | Plan::Limit { input, .. }
        | Plan::Truncate { input, .. } => describe(input, depth + 1, out),
        Plan::Join { left, right, .. } | Plan::SetOp { left, right, .. } => {
            describe(left, depth + 1, out);
            describe(right, depth + 1, out);
        }
    }
}
