//! Signed rows (a row with a multiplicity: positive entered, negative left), netting them
//! out, and the environment subscription expressions are evaluated in.

use crate::exec::FastMap;
use std::mem::Discriminant;

use cosmictron_types::Value;

use crate::error::{Result, SqlError};
use crate::expr::Env;
use crate::expr::value_ops::{KeyValue, key_of};

pub(crate) type Row = Vec<Value>;

/// A row and how many copies of it entered (positive) or left (negative) a result.
pub(crate) type Signed = (Row, i64);

/// A hashable key that tells apart values of different types even where SQL calls them equal
/// (`1` and `1.0`): netting must never turn one visible value into another.
pub(crate) type StrictKey = Vec<(Discriminant<Value>, KeyValue)>;

pub(crate) fn strict_key(row: &[Value]) -> StrictKey {
    row.iter()
        .map(|v| (std::mem::discriminant(v), key_of(v)))
        .collect()
}

/// Deltas up to this many rows are netted by comparing rows pairwise.
const SMALL: usize = 8;

/// Nets signed rows: equal rows add up, rows that cancel out disappear. Keeps the order in
/// which rows were first seen, so deltas are deterministic.
pub(crate) fn consolidate(rows: Vec<Signed>) -> Vec<Signed> {
    if rows.len() <= 1 {
        return rows.into_iter().filter(|(_, w)| *w != 0).collect();
    }
    if rows.len() <= SMALL {
        // The usual delta (an update: one row out, one in) is netted without hashing. `==` on
        // values is already strict: `I64(1) != F64(1.0)`.
        let mut out: Vec<Signed> = Vec::with_capacity(rows.len());
        for (row, w) in rows {
            match out.iter_mut().find(|(r, _)| *r == row) {
                Some(entry) => entry.1 += w,
                None => out.push((row, w)),
            }
        }
        out.retain(|(_, w)| *w != 0);
        return out;
    }
    let mut at: FastMap<StrictKey, usize> =
        FastMap::with_capacity_and_hasher(rows.len(), Default::default());
    let mut out: Vec<Signed> = Vec::with_capacity(rows.len());
    for (row, w) in rows {
        match at.get(&strict_key(&row)) {
            Some(&i) => out[i].1 += w,
            None => {
                at.insert(strict_key(&row), out.len());
                out.push((row, w));
            }
        }
    }
    out.retain(|(_, w)| *w != 0);
    out
}

/// Splits netted rows into inserted and deleted copies.
pub(crate) fn split(rows: &[Signed]) -> (Vec<Row>, Vec<Row>) {
    let mut inserts = Vec::new();
    let mut deletes = Vec::new();
    for (row, w) in rows {
        let target = if *w > 0 { &mut inserts } else { &mut deletes };
        for _ in 0..w.unsigned_abs() {
            target.push(row.clone());
        }
    }
    (inserts, deletes)
}

/// Applies signed rows to a result held as a multiset (used to move an initial result forward
/// over transactions that committed while it was being computed).
#[derive(Debug, Default)]
pub(crate) struct Multiset {
    rows: FastMap<StrictKey, (Row, i64)>,
    /// First-seen order, so results keep the order they were produced in.
    order: Vec<StrictKey>,
}

impl Multiset {
    pub(crate) fn from_rows(rows: Vec<Row>) -> Multiset {
        let mut m = Multiset::default();
        m.apply(rows.into_iter().map(|r| (r, 1)).collect());
        m
    }

    pub(crate) fn apply(&mut self, rows: Vec<Signed>) {
        for (row, w) in rows {
            let key = strict_key(&row);
            match self.rows.get_mut(&key) {
                Some(entry) => entry.1 += w,
                None => {
                    self.order.push(key.clone());
                    self.rows.insert(key, (row, w));
                }
            }
        }
    }

    pub(crate) fn into_rows(mut self) -> Vec<Row> {
        let mut out = Vec::new();
        for key in self.order {
            if let Some((row, n)) = self.rows.remove(&key) {
                for _ in 0..n.max(0) {
                    out.push(row.clone());
                }
            }
        }
        out
    }
}

/// What subscription expressions see: the subscription's parameters and its caller's
/// identity. Subqueries and enclosing rows do not exist here (such queries are refused).
#[derive(Debug, Clone)]
pub(crate) struct SubEnv {
    pub(crate) params: Vec<Value>,
    pub(crate) identity: Value,
}

impl Env for SubEnv {
    fn param(&self, index: usize) -> Result<Value> {
        self.params.get(index).cloned().ok_or_else(|| {
            SqlError::Parameter(format!(
                "the query uses ${} but {} parameter(s) were given",
                index + 1,
                self.params.len()
            ))
        })
    }

    fn param_ref(&self, index: usize) -> Option<&Value> {
        self.params.get(index)
    }

    fn identity(&self) -> Value {
        self.identity.clone()
    }

    fn outer(&self, _depth: usize, _index: usize) -> Result<Value> {
        Err(SqlError::type_err(
            "internal: no enclosing row in a subscription",
        ))
    }

    fn subquery(&self, _id: usize, _row: &[Value]) -> Result<std::sync::Arc<Vec<Vec<Value>>>> {
        Err(SqlError::type_err(
            "internal: no subqueries in a subscription",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consolidate_nets_equal_rows_and_keeps_types_apart() {
        let rows = vec![
            (vec![Value::I64(1)], 1),
            (vec![Value::F64(1.0)], 1),
            (vec![Value::I64(1)], -1),
            (vec![Value::I64(2)], 2),
        ];
        let out = consolidate(rows);
        assert_eq!(
            out,
            vec![(vec![Value::F64(1.0)], 1), (vec![Value::I64(2)], 2)]
        );
        let (ins, del) = split(&[(vec![Value::I64(3)], -2)]);
        assert!(ins.is_empty());
        assert_eq!(del.len(), 2);
    }

    #[test]
    fn multiset_applies_deltas() {
        let mut m = Multiset::from_rows(vec![vec![Value::I64(1)], vec![Value::I64(2)]]);
        m.apply(vec![(vec![Value::I64(1)], -1), (vec![Value::I64(3)], 1)]);
        assert_eq!(
            m.into_rows(),
            vec![vec![Value::I64(2)], vec![Value::I64(3)]]
        );
    }
}
