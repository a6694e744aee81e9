//! Grouping and aggregate functions with SQLite's results: SUM of integers stays an integer
//! (becoming real only on overflow), AVG and TOTAL are real, aggregates over no rows are NULL
//! (COUNT and TOTAL: 0), and groups come out in group-key order.

use std::collections::HashSet;

use cosmictron_types::Value;

use super::{ExecCtx, FastMap, Row};
use crate::error::{Result, SqlError};
use crate::expr::value_ops::{KeyValue, Num, key_of, row_key, sort_cmp, to_num, to_text};
use crate::expr::{Expr, eval};
use crate::plan::{AggCall, AggFunc};

#[derive(Default)]
struct Acc {
    count: i64,
    int_sum: i64,
    float_sum: f64,
    /// A real was summed, or the integer sum overflowed.
    is_float: bool,
    best: Option<Value>,
    text: Option<String>,
    last: Option<Value>,
    seen: Option<HashSet<KeyValue>>,
}

impl Acc {
    /// Folds one argument value in (borrowed: most aggregates only read it).
    fn add(&mut self, call: &AggCall, v: &Value) {
        if call.func == AggFunc::AnyValue {
            self.last = Some(v.clone());
            return;
        }
        if v.is_null() {
            return;
        }
        if call.distinct && !self.seen.get_or_insert_with(HashSet::new).insert(key_of(v)) {
            return;
        }
        self.count += 1;
        match call.func {
            AggFunc::Sum | AggFunc::Total | AggFunc::Avg => match to_num(v) {
                Some(Num::Int(i)) if !self.is_float => match self.int_sum.checked_add(i) {
                    Some(s) => self.int_sum = s,
                    None => {
                        self.is_float = true;
                        self.float_sum = self.int_sum as f64 + i as f64;
                    }
                },
                Some(n) => {
                    if !self.is_float {
                        self.is_float = true;
                        self.float_sum = self.int_sum as f64;
                    }
                    self.float_sum += n.as_f64();
                }
                None => {}
            },
            AggFunc::Min | AggFunc::Max => {
                let better = match &self.best {
                    None => true,
                    Some(b) => {
                        let o = sort_cmp(v, b);
                        if call.func == AggFunc::Min {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if better {
                    self.best = Some(v.clone());
                }
            }
            AggFunc::GroupConcat => {
                let t = to_text(v).unwrap_or_default();
                match &mut self.text {
                    None => self.text = Some(t),
                    Some(s) => {
                        s.push_str(call.separator.as_deref().unwrap_or(","));
                        s.push_str(&t);
                    }
                }
            }
            AggFunc::CountStar | AggFunc::Count | AggFunc::AnyValue => {}
        }
    }

    fn sum(&self) -> f64 {
        if self.is_float {
            self.float_sum
        } else {
            self.int_sum as f64
        }
    }

    fn finish(self, call: &AggCall) -> Value {
        match call.func {
            AggFunc::CountStar | AggFunc::Count => Value::I64(self.count),
            AggFunc::Sum if self.count == 0 => Value::Null,
            AggFunc::Sum if self.is_float => Value::F64(self.float_sum),
            AggFunc::Sum => Value::I64(self.int_sum),
            AggFunc::Total => Value::F64(self.sum()),
            AggFunc::Avg if self.count == 0 => Value::Null,
            AggFunc::Avg => Value::F64(self.sum() / self.count as f64),
            AggFunc::Min | AggFunc::Max => self.best.unwrap_or(Value::Null),
            AggFunc::GroupConcat => self.text.map_or(Value::Null, Value::String),
            AggFunc::AnyValue => self.last.unwrap_or(Value::Null),
        }
    }
}

struct Group {
    values: Row,
    accs: Vec<Acc>,
}

/// Where each group's accumulators live, by group key. One GROUP BY expression (the common
/// case) is keyed by its value alone, without a `Vec` per row.
enum GroupIndex {
    None,
    One(FastMap<KeyValue, usize>),
    Many(FastMap<Vec<KeyValue>, usize>),
}

/// A GROUP BY (or a whole-input aggregate) being folded, one input row at a time.
pub(super) struct Aggregator<'p> {
    group_by: &'p [Expr],
    aggs: &'p [AggCall],
    index: GroupIndex,
    groups: Vec<Group>,
}

impl<'p> Aggregator<'p> {
    pub(super) fn new(group_by: &'p [Expr], aggs: &'p [AggCall]) -> Aggregator<'p> {
        let mut groups = Vec::new();
        let index = match group_by.len() {
            0 => {
                groups.push(Group {
                    values: Vec::new(),
                    accs: aggs.iter().map(|_| Acc::default()).collect(),
                });
                GroupIndex::None
            }
            1 => GroupIndex::One(FastMap::default()),
            _ => GroupIndex::Many(FastMap::default()),
        };
        Aggregator {
            group_by,
            aggs,
            index,
            groups,
        }
    }

    fn new_group(&mut self, values: Row, ctx: &ExecCtx<'_>) -> Result<usize> {
        self.groups.push(Group {
            values,
            accs: self.aggs.iter().map(|_| Acc::default()).collect(),
        });
        ctx.check_rows(self.groups.len())?;
        Ok(self.groups.len() - 1)
    }

    /// The position of the row's group, created on first sight.
    fn group_of(&mut self, row: &[Value], ctx: &ExecCtx<'_>) -> Result<usize> {
        match &mut self.index {
            GroupIndex::None => Ok(0),
            GroupIndex::One(index) => {
                let value = eval(&self.group_by[0], row, ctx)?;
                let k = key_of(&value);
                if let Some(&g) = index.get(&k) {
                    return Ok(g);
                }
                index.insert(k, self.groups.len());
                self.new_group(vec![value], ctx)
            }
            GroupIndex::Many(index) => {
                let values = self
                    .group_by
                    .iter()
                    .map(|e| eval(e, row, ctx))
                    .collect::<Result<Row>>()?;
                let k = row_key(&values);
                if let Some(&g) = index.get(&k) {
                    return Ok(g);
                }
                index.insert(k, self.groups.len());
                self.new_group(values, ctx)
            }
        }
    }

    pub(super) fn add(&mut self, row: &[Value], ctx: &ExecCtx<'_>) -> Result<()> {
        ctx.tick(1)?;
        let g = self.group_of(row, ctx)?;
        let group = &mut self.groups[g];
        for (call, acc) in self.aggs.iter().zip(&mut group.accs) {
            match (&call.func, &call.arg) {
                (AggFunc::CountStar, _) => acc.count += 1,
                // A plain column argument (`SUM(score)`) is read in place.
                (_, Some(Expr::Column(i))) => match row.get(*i) {
                    Some(v) => acc.add(call, v),
                    None => {
                        return Err(SqlError::type_err(format!(
                            "internal: column {i} out of range"
                        )));
                    }
                },
                (_, Some(arg)) => acc.add(call, &eval(arg, row, ctx)?),
                (_, None) => {}
            }
        }
        Ok(())
    }

    /// One row per group, in group-key order: the key values, then the aggregates.
    pub(super) fn finish(self) -> Vec<Row> {
        let Aggregator {
            group_by,
            aggs,
            mut groups,
            ..
        } = self;
        if !group_by.is_empty() {
            groups.sort_by(|a, b| {
                a.values
                    .iter()
                    .zip(&b.values)
                    .map(|(x, y)| sort_cmp(x, y))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
        }
        groups
            .into_iter()
            .map(|g| {
                let mut row = g.values;
                row.extend(
                    g.accs
                        .into_iter()
                        .zip(aggs)
                        .map(|(acc, call)| acc.finish(call)),
                );
                row
            })
            .collect()
    }
}
