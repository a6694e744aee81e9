//! [`RawFilter`]: the leading `column <op> constant` conjuncts of a scan's filter, tested on
//! the encoded row before anything is decoded.
//!
//! A full scan of a large table mostly rejects rows. Decoding each one into [`Value`]s only to
//! compare one integer is most of the cost, so the comparisons that can be done on the bytes
//! are: an integer column against an integer constant, a timestamp column against a
//! timestamp. They give exactly what [`crate::expr::eval`] gives for those operands.
//!
//! Only a *prefix* of the conjuncts (in evaluation order) is compiled, and a row is rejected
//! only when one of them is certainly false (a NULL column leaves the row to the full filter).
//! `a AND b` evaluates left to right and stops at the first false, so rejecting there is what
//! the full evaluation does: no error a later conjunct would raise is hidden. Rows that are
//! not rejected still go through the read policy and the whole filter.

use cosmictron_types::{ColumnDef, ColumnLocator, ScalarType, Value};

use super::ExecCtx;
use crate::error::{Result, SqlError};
use crate::expr::value_ops::{int128, numeric_affinity};
use crate::expr::{BinOp, CmpOp, Expr, Func};
use crate::plan::Scan;

/// Conjuncts compiled at most (a filter rarely has more that qualify).
const CHECKS_MAX: usize = 8;

/// What a column is compared with.
#[derive(Debug, Clone, Copy)]
enum Bound {
    /// An integer column (any width and sign) against an integer value.
    Int(i128),
    /// A timestamp column against a timestamp.
    Timestamp(i64),
}

#[derive(Debug)]
struct Check {
    column: usize,
    locator: ColumnLocator,
    op: CmpOp,
    bound: Bound,
}

/// The compiled leading conjuncts of one scan's filter, for one execution (parameters are
/// bound into it).
#[derive(Debug)]
pub(super) struct RawFilter {
    checks: Vec<Check>,
}

/// `a AND b AND …` as its conjuncts, in evaluation order.
fn conjuncts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Binary(BinOp::And, a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other),
    }
}

/// The value of a constant operand, if `e` is one whose value is known without a row.
fn constant(e: &Expr, ctx: &ExecCtx<'_>) -> Option<Value> {
    match e {
        Expr::Literal(v) => Some(v.clone()),
        // A missing parameter is not compiled: the full filter reports it.
        Expr::Param(i) => crate::expr::Env::param_ref(ctx, *i).cloned(),
        // A parameter read with its column's affinity (`id > $1` with the text "3").
        Expr::Call {
            func: Func::NumericAffinity,
            args,
        } if args.len() == 1 => constant(&args[0], ctx).map(numeric_affinity),
        _ => None,
    }
}

fn compile_one(e: &Expr, columns: &[ColumnDef], ctx: &ExecCtx<'_>) -> Option<Check> {
    let Expr::Binary(BinOp::Cmp(op), a, b) = e else {
        return None;
    };
    let (column, op, value) = match (&**a, &**b) {
        (Expr::Column(c), other) => (*c, *op, constant(other, ctx)?),
        (other, Expr::Column(c)) => (*c, op.flip(), constant(other, ctx)?),
        _ => return None,
    };
    let ty = columns.get(column)?.ty.scalar;
    let bound = match (ty, &value) {
        (ScalarType::Timestamp, Value::Timestamp(t)) => Bound::Timestamp(t.0),
        (ty, v) if ty.is_integer() => Bound::Int(int128(v)?),
        _ => return None,
    };
    let locator = ColumnLocator::new(columns, column).ok()?;
    Some(Check {
        column,
        locator,
        op,
        bound,
    })
}

/// A fixed-width little-endian integer of the column's type, widened.
fn read_int(ty: ScalarType, raw: &[u8]) -> Option<i128> {
    let mut le = [0u8; 8];
    le.get_mut(..raw.len())?.copy_from_slice(raw);
    let unsigned = u64::from_le_bytes(le);
    Some(match ty {
        ScalarType::I8 => i128::from(raw.first().copied()? as i8),
        ScalarType::I16 => i128::from(unsigned as u16 as i16),
        ScalarType::I32 => i128::from(unsigned as u32 as i32),
        ScalarType::I64 => i128::from(unsigned as i64),
        ScalarType::U8 | ScalarType::U16 | ScalarType::U32 | ScalarType::U64 => {
            i128::from(unsigned)
        }
        _ => return None,
    })
}

impl RawFilter {
    /// The filter for this execution of `scan`, or `None` when no leading conjunct qualifies
    /// or a read policy applies (the policy is checked before the filter, and must be).
    pub(super) fn compile(scan: &Scan, ctx: &ExecCtx<'_>) -> Option<RawFilter> {
        if scan.policy.is_some() && !ctx.caller.bypass_rls {
            return None;
        }
        let filter = scan.filter.as_ref()?;
        let mut all = Vec::new();
        conjuncts(filter, &mut all);
        let columns = scan.schema.columns();
        let checks: Vec<Check> = all
            .into_iter()
            .take(CHECKS_MAX)
            .map_while(|e| compile_one(e, columns, ctx))
            .collect();
        (!checks.is_empty()).then_some(RawFilter { checks })
    }

    /// True when the row certainly fails the filter.
    pub(super) fn rejects(&self, columns: &[ColumnDef], data: &[u8]) -> Result<bool> {
        let corrupt = || SqlError::type_err("internal: a stored row does not match its schema");
        for check in &self.checks {
            let raw = check
                .locator
                .bytes(data)
                .map_err(|e| SqlError::from(cosmictron_engine::EngineError::from(e)))?;
            // NULL: the conjunct is NULL, not false; the full filter decides.
            let Some(raw) = raw else { continue };
            let holds = match check.bound {
                Bound::Int(bound) => {
                    let ty = columns[check.column].ty.scalar;
                    let v = read_int(ty, raw).ok_or_else(corrupt)?;
                    check.op.holds(v.cmp(&bound))
                }
                Bound::Timestamp(bound) => {
                    let le: [u8; 8] = raw.try_into().map_err(|_| corrupt())?;
                    check.op.holds(i64::from_le_bytes(le).cmp(&bound))
                }
            };
            if !holds {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_of_every_width_read_back_with_their_sign() {
        assert_eq!(read_int(ScalarType::I8, &[0xff]), Some(-1));
        assert_eq!(read_int(ScalarType::U8, &[0xff]), Some(255));
        assert_eq!(
            read_int(ScalarType::I16, &(-300i16).to_le_bytes()),
            Some(-300)
        );
        assert_eq!(read_int(ScalarType::I32, &(-7i32).to_le_bytes()), Some(-7));
        assert_eq!(
            read_int(ScalarType::I64, &i64::MIN.to_le_bytes()),
            Some(i128::from(i64::MIN))
        );
        assert_eq!(
            read_int(ScalarType::U64, &u64::MAX.to_le_bytes()),
            Some(i128::from(u64::MAX))
        );
        assert_eq!(read_int(ScalarType::String, &[1]), None);
    }
}
