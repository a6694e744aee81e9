//! Sorting, DISTINCT, LIMIT/OFFSET and set operations.

use std::cmp::Ordering;
use std::collections::HashSet;

use super::{ExecCtx, Row};
use crate::error::{Result, SqlError};
use crate::expr::Expr;
use crate::expr::value_ops::{Num, row_key, sort_cmp, to_num};
use crate::plan::{SetOpKind, SortKey};

fn compare(a: &Row, b: &Row, keys: &[SortKey]) -> Ordering {
    for k in keys {
        let (x, y) = (&a[k.column], &b[k.column]);
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if k.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if k.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, false) => {
                let o = sort_cmp(x, y);
                if k.desc { o.reverse() } else { o }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// A stable sort, so ties keep their input order.
pub(super) fn sort(mut rows: Vec<Row>, keys: &[SortKey]) -> Vec<Row> {
    rows.sort_by(|a, b| compare(a, b, keys));
    rows
}

fn full_order(a: &Row, b: &Row) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| sort_cmp(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Keeps the first row of each set of rows equal in their first `columns` columns.
pub(super) fn distinct(rows: Vec<Row>, columns: usize) -> Vec<Row> {
    let mut seen = HashSet::with_capacity(rows.len());
    rows.into_iter()
        .filter(|r| seen.insert(row_key(&r[..columns.min(r.len())])))
        .collect()
}

fn count(e: Option<&Expr>, ctx: &ExecCtx<'_>, what: &str) -> Result<Option<usize>> {
    let Some(e) = e else {
        return Ok(None);
    };
    match to_num(&ctx.constant(e)?) {
        None => Ok(None),
        Some(Num::Int(i)) if i < 0 => Ok(None),
        Some(Num::Int(i)) => Ok(Some(usize::try_from(i).unwrap_or(usize::MAX))),
        Some(Num::Float(_)) => Err(SqlError::type_err(format!("{what} must be an integer"))),
    }
}

/// The LIMIT (`None`: no limit; negative means none, as in SQLite) and OFFSET.
pub(super) fn limit_bounds(
    limit: Option<&Expr>,
    offset: Option<&Expr>,
    ctx: &ExecCtx<'_>,
) -> Result<(Option<usize>, usize)> {
    let limit = count(limit, ctx, "LIMIT")?;
    let offset = count(offset, ctx, "OFFSET")?.unwrap_or(0);
    Ok((limit, offset))
}

/// UNION / INTERSECT / EXCEPT. The distinct forms come out sorted, like SQLite's.
pub(super) fn set_op(op: SetOpKind, all: bool, left: Vec<Row>, right: Vec<Row>) -> Vec<Row> {
    let mut out = match (op, all) {
        (SetOpKind::Union, true) => {
            let mut l = left;
            l.extend(right);
            return l;
        }
        (SetOpKind::Union, false) => {
            let mut l = left;
            l.extend(right);
            let width = l.first().map_or(0, Vec::len);
            distinct(l, width)
        }
        (SetOpKind::Intersect, _) => {
            let r: HashSet<_> = right.iter().map(|r| row_key(r)).collect();
            let width = left.first().map_or(0, Vec::len);
            distinct(left, width)
                .into_iter()
                .filter(|row| r.contains(&row_key(row)))
                .collect()
        }
        (SetOpKind::Except, _) => {
            let r: HashSet<_> = right.iter().map(|r| row_key(r)).collect();
            let width = left.first().map_or(0, Vec::len);
            distinct(left, width)
                .into_iter()
                .filter(|row| !r.contains(&row_key(row)))
                .collect()
        }
    };
    out.sort_by(full_order);
    out
}
