//! Index selection for one base table: which index, and which keys or bounds, serve the
//! conjuncts pushed down to its scan.
//!
//! For each index (the primary key is index 0) the longest prefix of its columns constrained by
//! `col = const` or `col IN (const, …)` is found, then an optional range (`<`, `<=`, `>`, `>=`,
//! BETWEEN) on the next column. "Const" means anything that does not read the row: literals,
//! parameters, `$identity`, columns of an enclosing query. The index is only a way to find a
//! *superset* of the rows: the scan still applies every pushed conjunct, so a bound that cannot
//! be converted exactly to the column's type may be widened safely.

use cosmictron_engine::TableSchema;

use crate::expr::{BinOp, CmpOp, Expr};

/// Most key combinations an IN-list lookup expands to before falling back to a shorter prefix.
const LOOKUP_KEYS_MAX: usize = 1024;

/// How a scan finds its rows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Access {
    Full,
    /// Rows whose index key starts with one of `keys` (each a value per leading column).
    Lookup {
        index: usize,
        keys: Vec<Vec<Expr>>,
        /// The keys cover the whole primary key: at most one row each.
        primary: bool,
    },
    /// Rows whose key starts with `prefix` and whose next column lies within the bounds.
    Range {
        index: usize,
        prefix: Vec<Expr>,
        lower: Option<(Expr, bool)>,
        upper: Option<(Expr, bool)>,
    },
}

impl Access {
    /// Lower is better: used to pick the first table of a join.
    pub(crate) fn rank(&self, schema: &TableSchema) -> u8 {
        match self {
            Access::Lookup { index, keys, .. } => {
                let idx = &schema.indexes[*index];
                if idx.unique && keys.first().is_some_and(|k| k.len() == idx.columns.len()) {
                    0
                } else {
                    1
                }
            }
            Access::Range { .. } => 2,
            Access::Full => 4,
        }
    }
}

/// `col = const`, `const = col`: the column and the constant.
fn equality(e: &Expr) -> Option<(usize, Expr)> {
    if let Expr::Binary(BinOp::Cmp(CmpOp::Eq), a, b) = e {
        match (a.as_ref(), b.as_ref()) {
            (Expr::Column(c), other) | (other, Expr::Column(c)) if other.is_row_independent() => {
                return Some((*c, other.clone()));
            }
            _ => {}
        }
    }
    None
}

/// The alternatives a conjunct allows for column `col` (`=` gives one, `IN` several).
fn alternatives(e: &Expr, col: usize) -> Option<Vec<Expr>> {
    if let Some((c, v)) = equality(e) {
        return (c == col).then(|| vec![v]);
    }
    if let Expr::InList {
        expr,
        list,
        negated: false,
    } = e
        && **expr == Expr::Column(col)
        && list.iter().all(Expr::is_row_independent)
    {
        return Some(list.clone());
    }
    None
}

type Bound = Option<(Expr, bool)>;

/// A lower and/or upper bound on `col` from one conjunct.
fn bounds(e: &Expr, col: usize) -> (Bound, Bound) {
    match e {
        Expr::Binary(BinOp::Cmp(op), a, b) => {
            let (op, v) = match (a.as_ref(), b.as_ref()) {
                (Expr::Column(c), v) if *c == col && v.is_row_independent() => (*op, v),
                (v, Expr::Column(c)) if *c == col && v.is_row_independent() => (op.flip(), v),
                _ => return (None, None),
            };
            let v = v.clone();
            match op {
                CmpOp::Gt => (Some((v, false)), None),
                CmpOp::GtEq => (Some((v, true)), None),
                CmpOp::Lt => (None, Some((v, false))),
                CmpOp::LtEq => (None, Some((v, true))),
                _ => (None, None),
            }
        }
        Expr::Between {
            expr,
            low,
            high,
            negated: false,
        } if **expr == Expr::Column(col)
            && low.is_row_independent()
            && high.is_row_independent() =>
        {
            (
                Some(((**low).clone(), true)),
                Some(((**high).clone(), true)),
            )
        }
        _ => (None, None),
    }
}

/// A scan's access path and filters for the conjuncts pushed to it: the path [`choose`]
/// picks, every conjunct (checked after a scan or an inexact lookup), and those an exact
/// lookup does not already enforce.
pub(crate) fn with_filters(
    schema: &TableSchema,
    pushed: Vec<Expr>,
) -> (Access, Option<Expr>, Option<Expr>) {
    let (access, enforced) = choose(schema, &pushed);
    let lookup_filter = Expr::conjunction(
        pushed
            .iter()
            .enumerate()
            .filter(|(i, _)| !enforced.contains(i))
            .map(|(_, c)| c.clone())
            .collect(),
    );
    (access, Expr::conjunction(pushed), lookup_filter)
}

/// Chooses the access path for a table given the conjuncts pushed to its scan (bound over the
/// table's own columns). Also returns the conjuncts a lookup's keys enforce exactly (a lookup
/// whose keys all convert exactly need not re-check them).
pub(crate) fn choose(schema: &TableSchema, conjuncts: &[Expr]) -> (Access, Vec<usize>) {
    let mut best: Option<(u32, Access, Vec<usize>)> = None;
    for (index, idx) in schema.indexes.iter().enumerate() {
        let mut prefix: Vec<Vec<Expr>> = Vec::new();
        let mut used = Vec::new();
        for &col in &idx.columns {
            let found = conjuncts
                .iter()
                .enumerate()
                .find_map(|(i, c)| alternatives(c, col).map(|a| (i, a)));
            match found {
                Some((i, alts)) => {
                    prefix.push(alts);
                    used.push(i);
                }
                None => break,
            }
        }
        // Keep the key expansion bounded.
        while prefix.iter().map(Vec::len).product::<usize>() > LOOKUP_KEYS_MAX {
            prefix.pop();
            used.pop();
        }
        let full = prefix.len() == idx.columns.len();
        let candidate = if !prefix.is_empty() && (full || prefix.iter().any(|p| p.len() > 1)) {
            let score = prefix.len() as u32 * 10 + if full && idx.unique { 100 } else { 0 };
            Some((
                score,
                lookup(index, prefix, full && index == 0 && schema.has_primary_key),
                used,
            ))
        } else {
            let next = idx.columns.get(prefix.len()).copied();
            let (mut lower, mut upper) = (None, None);
            if let Some(col) = next {
                for c in conjuncts {
                    let (l, u) = bounds(c, col);
                    if lower.is_none() {
                        lower = l;
                    }
                    if upper.is_none() {
                        upper = u;
                    }
                }
            }
            let ranged = lower.is_some() || upper.is_some();
            if prefix.is_empty() && !ranged {
                None
            } else if !ranged {
                Some((prefix.len() as u32 * 10, lookup(index, prefix, false), used))
            } else {
                let score = prefix.len() as u32 * 10 + 5;
                let prefix = prefix
                    .into_iter()
                    .filter_map(|p| p.into_iter().next())
                    .collect();
                Some((
                    score,
                    Access::Range {
                        index,
                        prefix,
                        lower,
                        upper,
                    },
                    Vec::new(),
                ))
            }
        };
        if let Some((score, access, used)) = candidate
            && best.as_ref().is_none_or(|(s, _, _)| score > *s)
        {
            best = Some((score, access, used));
        }
    }
    best.map_or((Access::Full, Vec::new()), |(_, a, u)| (a, u))
}

fn lookup(index: usize, prefix: Vec<Vec<Expr>>, primary: bool) -> Access {
    let mut keys: Vec<Vec<Expr>> = vec![Vec::new()];
    for alts in prefix {
        keys = keys
            .into_iter()
            .flat_map(|k| {
                alts.iter().map(move |a| {
                    let mut k = k.clone();
                    k.push(a.clone());
                    k
                })
            })
            .collect();
    }
    Access::Lookup {
        index,
        keys,
        primary,
    }
}

#[cfg(test)]
mod tests {
    use cosmictron_types::Value;

    use super::*;

    fn eq(c: usize, v: i64) -> Expr {
        Expr::column_eq(c, v)
    }

    #[test]
    fn lookup_keys_expand_in_lists() {
        let keys = lookup(
            1,
            vec![
                vec![Expr::lit(Value::I64(1)), Expr::lit(Value::I64(2))],
                vec![Expr::lit(Value::I64(3))],
            ],
            false,
        );
        let Access::Lookup { keys, .. } = keys else {
            panic!("lookup expected");
        };
        assert_eq!(keys.len(), 2);
        assert!(equality(&eq(0, 1)).is_some());
        let (l, u) = bounds(
            &Expr::Binary(
                BinOp::Cmp(CmpOp::Lt),
                Box::new(Expr::lit(Value::I64(3))),
                Box::new(Expr::Column(2)),
            ),
            2,
        );
        assert!(l.is_some() && u.is_none());
    }
}
