//! Live `ORDER BY … LIMIT k [OFFSET m]`: every row that passes the query below the sort is
//! kept in order, so a row leaving the window is replaced by the next one without reading the
//! tables again. Ties in the sort keys are broken by the whole row (so the window is
//! deterministic). Cost per transaction: O(changed rows · log n + offset + k); memory: the
//! rows below the sort.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::rows::{Row, Signed, consolidate};
use crate::exec::sort_compare;
use crate::expr::value_ops::sort_cmp;
use crate::plan::SortKey;

#[derive(Debug, Clone)]
struct SortedRow {
    row: Row,
    keys: Arc<[SortKey]>,
}

impl PartialEq for SortedRow {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for SortedRow {}
impl PartialOrd for SortedRow {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for SortedRow {
    fn cmp(&self, other: &Self) -> Ordering {
        sort_compare(&self.row, &other.row, &self.keys).then_with(|| {
            self.row
                .iter()
                .zip(&other.row)
                .map(|(a, b)| sort_cmp(a, b))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
    }
}

/// The ordered rows below the LIMIT and the window they show.
#[derive(Debug)]
pub(crate) struct TopKState {
    keys: Arc<[SortKey]>,
    limit: usize,
    offset: usize,
    rows: BTreeMap<SortedRow, Vec<(Row, i64)>>,
    len: usize,
}

impl TopKState {
    pub(crate) fn new(keys: Vec<SortKey>, limit: usize, offset: usize) -> TopKState {
        TopKState {
            keys: keys.into(),
            limit,
            offset,
            rows: BTreeMap::new(),
            len: 0,
        }
    }

    pub(crate) fn state_rows(&self) -> usize {
        self.len
    }

    /// The rows in the window, in order.
    pub(crate) fn window(&self) -> Vec<Row> {
        let mut out = Vec::new();
        let mut skipped = 0;
        'outer: for copies in self.rows.values() {
            for (row, n) in copies {
                for _ in 0..*n {
                    if out.len() >= self.limit {
                        break 'outer;
                    }
                    if skipped < self.offset {
                        skipped += 1;
                    } else {
                        out.push(row.clone());
                    }
                }
            }
        }
        out
    }

    /// Applies rows below the sort; returns the rows that left and entered the window.
    pub(crate) fn apply(&mut self, input: Vec<Signed>) -> Vec<Signed> {
        if input.is_empty() {
            return Vec::new();
        }
        let before = self.window();
        for (row, w) in input {
            let key = SortedRow {
                row: row.clone(),
                keys: self.keys.clone(),
            };
            let copies = self.rows.entry(key.clone()).or_default();
            // Rows equal under SQL ordering but of different types are kept apart.
            let strict = super::rows::strict_key(&row);
            match copies
                .iter_mut()
                .find(|(r, _)| super::rows::strict_key(r) == strict)
            {
                Some(entry) => entry.1 += w,
                None => copies.push((row, w)),
            }
            self.len = self.len.saturating_add_signed(w as isize);
            copies.retain(|(_, n)| *n > 0);
            if copies.is_empty() {
                self.rows.remove(&key);
            }
        }
        let after = self.window();
        let mut delta: Vec<Signed> = before.into_iter().map(|r| (r, -1)).collect();
        delta.extend(after.into_iter().map(|r| (r, 1)));
        consolidate(delta)
    }
}

#[cfg(test)]
mod tests {
    use cosmictron_types::Value;

    use super::*;

    #[test]
    fn a_row_leaving_the_window_is_replaced_by_the_next() {
        // ORDER BY column 0 DESC LIMIT 2.
        let keys = vec![SortKey {
            column: 0,
            desc: true,
            nulls_first: false,
        }];
        let mut top = TopKState::new(keys, 2, 0);
        let r = |v: i64| vec![Value::I64(v)];
        let entered = top.apply(vec![(r(1), 1), (r(5), 1), (r(3), 1)]);
        assert_eq!(top.window(), vec![r(5), r(3)]);
        assert_eq!(entered.len(), 2);
        let delta = top.apply(vec![(r(5), -1)]);
        assert_eq!(delta, vec![(r(5), -1), (r(1), 1)]);
        assert_eq!(top.window(), vec![r(3), r(1)]);
        assert!(top.apply(vec![(r(0), 1)]).is_empty(), "below the window");
    }
}
