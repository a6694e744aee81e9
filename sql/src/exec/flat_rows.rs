//! [`FlatRows`]: rows of one width held in a single `Vec<Value>`.
//!
//! A hash join keeps both inputs while it probes. As one `Vec` per row that is an allocation
//! per row and rows scattered over the heap, visited in random order by the probe; packed end
//! to end they cost neither.

use cosmictron_types::Value;

use super::{ExecCtx, Row, stream};
use crate::error::{Result, SqlError};
use crate::plan::Plan;

pub(super) struct FlatRows {
    values: Vec<Value>,
    width: usize,
    rows: usize,
}

impl FlatRows {
    /// Every row of `plan`, moved out of the stream's buffer as it comes.
    pub(super) fn collect(plan: &Plan, ctx: &ExecCtx<'_>) -> Result<FlatRows> {
        let mut flat = FlatRows {
            values: Vec::new(),
            width: 0,
            rows: 0,
        };
        stream::each_row(plan, ctx, &mut |row| {
            flat.push(row)?;
            Ok(true)
        })?;
        Ok(flat)
    }

    /// Appends `row`, leaving NULLs in its place.
    fn push(&mut self, row: &mut Row) -> Result<()> {
        if self.rows == 0 {
            self.width = row.len();
        } else if row.len() != self.width {
            return Err(SqlError::type_err(
                "internal: rows of one input differ in width",
            ));
        }
        self.values
            .extend(row.iter_mut().map(|v| std::mem::replace(v, Value::Null)));
        self.rows += 1;
        Ok(())
    }

    pub(super) fn len(&self) -> usize {
        self.rows
    }

    pub(super) fn get(&self, i: usize) -> Option<&[Value]> {
        (i < self.rows).then(|| &self.values[i * self.width..(i + 1) * self.width])
    }

    pub(super) fn get_mut(&mut self, i: usize) -> Option<&mut [Value]> {
        (i < self.rows).then(|| &mut self.values[i * self.width..(i + 1) * self.width])
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &[Value]> {
        (0..self.rows).filter_map(|i| self.get(i))
    }
}
