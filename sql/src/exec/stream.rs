//! Pipelined execution of the row-at-a-time operators: a scan, the filters and projections
//! stacked on it, feeding their consumer (a result, an aggregate) one row at a time instead
//! of each materializing its whole output first.
//!
//! Each row is lent as `&mut Row`: a consumer that keeps it takes the values out, one that
//! folds it (an aggregate) leaves it, and the buffer is reused for the next row. Projection
//! moves a column that the output uses once instead of cloning it (a string is not copied).

use super::{ExecCtx, Row, execute, join, scan};
use crate::error::Result;
use crate::expr::{Expr, eval, eval_predicate};
use crate::plan::Plan;

/// Calls `f` with each row of `plan` until it returns false. Scans, filters, projections and
/// the output of joins stream; any other operator runs in full first.
#[recursive::recursive]
pub(super) fn each_row(
    plan: &Plan,
    ctx: &ExecCtx<'_>,
    f: &mut dyn FnMut(&mut Row) -> Result<bool>,
) -> Result<()> {
    match plan {
        Plan::Scan(s) => scan::for_each(s, ctx, f),
        Plan::Filter { input, predicate } => each_row(input, ctx, &mut |row| {
            ctx.tick(1)?;
            if eval_predicate(predicate, row, ctx)? {
                f(row)
            } else {
                Ok(true)
            }
        }),
        Plan::Project { input, exprs } => {
            let projection = Projection::new(exprs);
            each_row(input, ctx, &mut |row| {
                ctx.tick(1)?;
                let mut out = projection.apply(row, ctx)?;
                f(&mut out)
            })
        }
        Plan::Join {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            residual,
            right_width,
            lookup,
        } => join::join_each(
            join::JoinSpec {
                left,
                right,
                kind: *kind,
                left_keys,
                right_keys,
                residual: residual.as_ref(),
                right_width: *right_width,
                lookup: *lookup,
            },
            ctx,
            f,
        ),
        other => {
            for mut row in execute(other, ctx)? {
                if !f(&mut row)? {
                    break;
                }
            }
            Ok(())
        }
    }
}

/// Every row of `plan`, collected (through [`each_row`]).
pub(super) fn collect(plan: &Plan, ctx: &ExecCtx<'_>) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    each_row(plan, ctx, &mut |row| {
        out.push(std::mem::take(row));
        Ok(true)
    })?;
    Ok(out)
}

/// The first `max` rows of `plan` (through [`each_row`], which stops there); `max` > 0.
pub(super) fn collect_at_most(plan: &Plan, ctx: &ExecCtx<'_>, max: usize) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    each_row(plan, ctx, &mut |row| {
        out.push(std::mem::take(row));
        Ok(out.len() < max)
    })?;
    Ok(out)
}

/// A projection's expressions, with the input columns it may move rather than clone.
pub(super) struct Projection<'p> {
    exprs: &'p [Expr],
    /// For each output column: the input column it is, when nothing else reads that column.
    moved: Vec<Option<usize>>,
    /// Every input column, moved in order (`SELECT a, b, c` of a 3-column table): the input
    /// row is the output.
    identity: bool,
}

impl<'p> Projection<'p> {
    pub(super) fn new(exprs: &'p [Expr]) -> Projection<'p> {
        // A subquery may read the whole row (correlation): then nothing is moved. Runs per
        // execution (a point query's too), so it allocates nothing but the result.
        let computed = |e: &&Expr| !matches!(e, Expr::Column(_));
        let subquery = exprs.iter().filter(computed).any(Expr::has_subquery);
        // Plain columns are compared directly; only computed expressions are walked.
        let reads_of = |c: usize| {
            let mut n = 0;
            for e in exprs {
                match e {
                    Expr::Column(i) => n += usize::from(*i == c),
                    other => other.walk(&mut |x| {
                        n += usize::from(matches!(x, Expr::Column(i) if *i == c));
                    }),
                }
            }
            n
        };
        let moved = exprs
            .iter()
            .map(|e| match e {
                Expr::Column(c) if !subquery && reads_of(*c) == 1 => Some(*c),
                _ => None,
            })
            .collect::<Vec<_>>();
        let identity = moved.iter().enumerate().all(|(i, m)| *m == Some(i));
        Projection {
            exprs,
            moved,
            identity,
        }
    }

    /// The output row; the input is left with the moved columns taken out.
    pub(super) fn apply(&self, row: &mut Row, ctx: &ExecCtx<'_>) -> Result<Row> {
        if self.identity && row.len() == self.exprs.len() {
            return Ok(std::mem::take(row));
        }
        let mut out = Vec::with_capacity(self.exprs.len());
        // Computed columns first, while the row is whole.
        for (e, moved) in self.exprs.iter().zip(&self.moved) {
            out.push(match moved {
                Some(_) => cosmictron_types::Value::Null,
                None => eval(e, row, ctx)?,
            });
        }
        for (slot, moved) in out.iter_mut().zip(&self.moved) {
            if let Some(c) = moved {
                *slot = match row.get_mut(*c) {
                    Some(v) => std::mem::replace(v, cosmictron_types::Value::Null),
                    None => {
                        return Err(crate::error::SqlError::type_err(format!(
                            "internal: column {c} out of range"
                        )));
                    }
                };
            }
        }
        Ok(out)
    }
}
