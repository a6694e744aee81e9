//! GROUP BY with COUNT/SUM/TOTAL/AVG/MIN/MAX maintained under inserts and deletes.
//!
//! Each group keeps its row count and, per aggregate, the count of non-NULL inputs, an exact
//! integer sum (`i128`, so deletes undo inserts exactly), a float sum, and for MIN/MAX a
//! multiset of the inputs (so deleting the current minimum finds the next one). A changed
//! group leaves the result with its old values and enters with its new ones; a group whose
//! last row left disappears (except the single group of an aggregate without GROUP BY, which
//! always exists). Results match the query engine's (SQLite's): SUM of integers stays an
//! integer, AVG and TOTAL are real, aggregates over no rows are NULL (COUNT and TOTAL: 0).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::exec::FastMap;

use cosmictron_types::Value;

use super::rows::{Row, Signed, SubEnv};
use crate::error::Result;
use crate::expr::value_ops::{KeyValue, Num, row_key, sort_cmp, to_num};
use crate::expr::{Expr, eval};
use crate::plan::{AggCall, AggFunc};

/// A value ordered as SQL sorts it, for the MIN/MAX multisets.
#[derive(Debug, Clone)]
struct Ordered(Value);

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        sort_cmp(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> Ordering {
        sort_cmp(&self.0, &other.0)
    }
}

#[derive(Debug, Default, Clone)]
struct Acc {
    count: i64,
    int_sum: i128,
    float_sum: f64,
    floats: i64,
    values: Option<BTreeMap<Ordered, i64>>,
}

impl Acc {
    fn add(&mut self, call: &AggCall, v: Value, w: i64) {
        if v.is_null() {
            return;
        }
        self.count += w;
        match call.func {
            AggFunc::Sum | AggFunc::Total | AggFunc::Avg => match to_num(&v) {
                Some(Num::Int(i)) => self.int_sum += i128::from(i) * i128::from(w),
                Some(n) => {
                    self.float_sum += n.as_f64() * w as f64;
                    self.floats += w;
                }
                None => {}
            },
            AggFunc::Min | AggFunc::Max => {
                let values = self.values.get_or_insert_with(BTreeMap::new);
                let key = Ordered(v);
                let n = values.entry(key.clone()).or_insert(0);
                *n += w;
                if *n <= 0 {
                    values.remove(&key);
                }
            }
            _ => {}
        }
    }

    fn sum(&self) -> f64 {
        self.int_sum as f64 + self.float_sum
    }

    fn finish(&self, call: &AggCall, rows: i64) -> Value {
        match call.func {
            AggFunc::CountStar => Value::I64(rows),
            AggFunc::Count => Value::I64(self.count),
            AggFunc::Sum if self.count == 0 => Value::Null,
            AggFunc::Sum if self.floats > 0 => Value::F64(self.sum()),
            AggFunc::Sum => i64::try_from(self.int_sum)
                .map(Value::I64)
                .unwrap_or(Value::F64(self.int_sum as f64)),
            AggFunc::Total => Value::F64(self.sum()),
            AggFunc::Avg if self.count == 0 => Value::Null,
            AggFunc::Avg => Value::F64(self.sum() / self.count as f64),
            AggFunc::Min => self.best(false),
            AggFunc::Max => self.best(true),
            AggFunc::GroupConcat | AggFunc::AnyValue => Value::Null,
        }
    }

    fn best(&self, max: bool) -> Value {
        let Some(values) = &self.values else {
            return Value::Null;
        };
        let entry = if max {
            values.keys().next_back()
        } else {
            values.keys().next()
        };
        entry.map_or(Value::Null, |o| o.0.clone())
    }
}

#[derive(Debug, Clone)]
struct Group {
    values: Row,
    rows: i64,
    accs: Vec<Acc>,
}

/// The incremental state of one aggregation.
#[derive(Debug)]
pub(crate) struct AggState {
    group_by: Vec<Expr>,
    aggs: Vec<AggCall>,
    groups: FastMap<Vec<KeyValue>, Group>,
}

impl AggState {
    pub(crate) fn new(group_by: Vec<Expr>, aggs: Vec<AggCall>) -> AggState {
        let mut groups = FastMap::default();
        if group_by.is_empty() {
            groups.insert(
                Vec::new(),
                Group {
                    values: Vec::new(),
                    rows: 0,
                    accs: vec![Acc::default(); aggs.len()],
                },
            );
        }
        AggState {
            group_by,
            aggs,
            groups,
        }
    }

    /// Rows (groups) the state holds.
    pub(crate) fn state_rows(&self) -> usize {
        self.groups.len()
    }

    fn output(&self, g: &Group) -> Option<Row> {
        if g.rows <= 0 && !self.group_by.is_empty() {
            return None;
        }
        let mut row = g.values.clone();
        row.extend(
            self.aggs
                .iter()
                .zip(&g.accs)
                .map(|(c, a)| a.finish(c, g.rows)),
        );
        Some(row)
    }

    /// The current result: one row per group.
    pub(crate) fn rows(&self) -> Vec<Row> {
        self.groups
            .values()
            .filter_map(|g| self.output(g))
            .collect()
    }

    /// Applies input rows; returns the result rows that left (old group values) and entered.
    pub(crate) fn apply(&mut self, input: Vec<Signed>, env: &SubEnv) -> Result<Vec<Signed>> {
        let mut before: FastMap<Vec<KeyValue>, Option<Row>> = FastMap::default();
        for (row, w) in input {
            let values = self
                .group_by
                .iter()
                .map(|e| eval(e, &row, env))
                .collect::<Result<Row>>()?;
            let key = row_key(&values);
            if !before.contains_key(&key) {
                let old = self.groups.get(&key).and_then(|g| self.output(g));
                before.insert(key.clone(), old);
            }
            let n_aggs = self.aggs.len();
            let group = self.groups.entry(key).or_insert_with(|| Group {
                values,
                rows: 0,
                accs: vec![Acc::default(); n_aggs],
            });
            group.rows += w;
            for (call, acc) in self.aggs.iter().zip(&mut group.accs) {
                if let Some(arg) = &call.arg
                    && call.func != AggFunc::CountStar
                {
                    acc.add(call, eval(arg, &row, env)?, w);
                }
            }
        }
        let mut out = Vec::new();
        for (key, old) in before {
            let new = self.groups.get(&key).and_then(|g| self.output(g));
            if self
                .groups
                .get(&key)
                .is_some_and(|g| g.rows <= 0 && !self.group_by.is_empty())
            {
                self.groups.remove(&key);
            }
            if let Some(old) = old {
                out.push((old, -1));
            }
            if let Some(new) = new {
                out.push((new, 1));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> SubEnv {
        SubEnv {
            params: Vec::new(),
            identity: Value::Null,
        }
    }

    fn call(func: AggFunc) -> AggCall {
        AggCall {
            func,
            arg: Some(Expr::Column(1)),
            distinct: false,
            separator: None,
        }
    }

    #[test]
    fn deleting_the_minimum_finds_the_next_and_empty_groups_leave() {
        // Group by column 0; MIN, SUM and COUNT(*) of column 1.
        let mut agg = AggState::new(
            vec![Expr::Column(0)],
            vec![
                call(AggFunc::Min),
                call(AggFunc::Sum),
                call(AggFunc::CountStar),
            ],
        );
        let row = |g: i64, v: i64| vec![Value::I64(g), Value::I64(v)];
        let out = agg
            .apply(vec![(row(1, 5), 1), (row(1, 3), 1)], &env())
            .expect("apply");
        assert_eq!(
            out,
            vec![(
                vec![Value::I64(1), Value::I64(3), Value::I64(8), Value::I64(2)],
                1
            )]
        );
        let out = agg.apply(vec![(row(1, 3), -1)], &env()).expect("apply");
        assert_eq!(
            out,
            vec![
                (
                    vec![Value::I64(1), Value::I64(3), Value::I64(8), Value::I64(2)],
                    -1
                ),
                (
                    vec![Value::I64(1), Value::I64(5), Value::I64(5), Value::I64(1)],
                    1
                ),
            ]
        );
        let out = agg.apply(vec![(row(1, 5), -1)], &env()).expect("apply");
        assert_eq!(out.len(), 1, "the group leaves: {out:?}");
        assert_eq!(out[0].1, -1);
        assert_eq!(agg.state_rows(), 0);
    }

    #[test]
    fn an_aggregate_without_group_by_always_has_its_row() {
        let mut agg = AggState::new(
            Vec::new(),
            vec![call(AggFunc::Sum), call(AggFunc::CountStar)],
        );
        assert_eq!(agg.rows(), vec![vec![Value::Null, Value::I64(0)]]);
        let row = vec![Value::I64(0), Value::I64(4)];
        agg.apply(vec![(row.clone(), 1)], &env()).expect("apply");
        let out = agg.apply(vec![(row, -1)], &env()).expect("apply");
        assert_eq!(
            out,
            vec![
                (vec![Value::I64(4), Value::I64(1)], -1),
                (vec![Value::Null, Value::I64(0)], 1)
            ]
        );
    }
}
