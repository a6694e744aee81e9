//! Sorting, DISTINCT, LIMIT/OFFSET and set operations.

use std::cmp::Ordering;
use std::collections::HashSet;

use super::{ExecCtx, Row};
use crate::error::{Result, SqlError};
use crate::expr::Expr;
use crate::expr::value_ops::{Num, row_key, sort_cmp, to_num};
use crate::plan::{SetOpKind, SortKey};

pub(crate) fn compare(a: &Row, b: &Row, keys: &[SortKey]) -> Ordering {
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

/// The first `k` rows in `keys` order, exactly as a stable sort would give them (ties keep
/// their input order), in O(n + k log k) instead of sorting everything.
pub(super) fn top_k(rows: Vec<Row>, keys: &[SortKey], k: usize) -> Vec<Row> {
    if k >= rows.len() {
        return sort(rows, keys);
    }
    let mut indexed: Vec<(usize, Row)> = rows.into_iter().enumerate().collect();
    let order = |a: &(usize, Row), b: &(usize, Row)| compare(&a.1, &b.1, keys).then(a.0.cmp(&b.0));
    if k == 0 {
        return Vec::new();
    }
    indexed.select_nth_unstable_by(k - 1, order);
    indexed.truncate(k);
    indexed.sort_by(order);
    indexed.into_iter().map(|(_, r)| r).collect()
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

#[cfg(test)]
mod tests {
    use cosmictron_types::Value;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// top_k is exactly the prefix of the stable sort, ties included.
        #[test]
        fn top_k_is_a_prefix_of_the_stable_sort(
            values in proptest::collection::vec((0i64..4, proptest::option::of(0i64..3)), 0..40),
            k in 0usize..45,
            desc in any::<bool>(),
        ) {
            let rows: Vec<Row> = values
                .iter()
                .enumerate()
                .map(|(i, (a, b))| vec![Value::I64(*a), b.map_or(Value::Null, Value::I64), Value::I64(i as i64)])
                .collect();
            let keys = [
                SortKey { column: 1, desc, nulls_first: !desc },
                SortKey { column: 0, desc: false, nulls_first: true },
            ];
            let mut full = sort(rows.clone(), &keys);
            full.truncate(k);
            prop_assert_eq!(top_k(rows, &keys, k), full);
        }
    }
}
