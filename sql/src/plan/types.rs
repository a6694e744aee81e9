//! Static result types: what the planner can tell about an expression's type before running
//! it (`ResultColumn::ty`); `None` where it depends on the data.

use cosmictron_types::ScalarType;

use super::{AggCall, AggFunc};
use crate::expr::{BinOp, Expr, Func, SubqueryUse, UnOp};

/// The static type of an expression over rows whose column types are `types`.
pub(super) fn infer_type(e: &Expr, types: &[Option<ScalarType>]) -> Option<ScalarType> {
    match e {
        Expr::Literal(v) => v.scalar_type(),
        Expr::Column(i) => types.get(*i).copied().flatten(),
        Expr::Identity => Some(ScalarType::Identity),
        Expr::Unary(UnOp::Not, _)
        | Expr::IsNull { .. }
        | Expr::InList { .. }
        | Expr::Between { .. }
        | Expr::Like { .. } => Some(ScalarType::Bool),
        Expr::Unary(_, x) => match infer_type(x, types) {
            Some(t) if t.is_integer() => Some(ScalarType::I64),
            Some(ScalarType::F32 | ScalarType::F64) => Some(ScalarType::F64),
            _ => None,
        },
        Expr::Binary(op, a, b) => match op {
            BinOp::Cmp(_) | BinOp::And | BinOp::Or | BinOp::Is | BinOp::IsNot => {
                Some(ScalarType::Bool)
            }
            BinOp::Concat => Some(ScalarType::String),
            BinOp::Bit(_) => Some(ScalarType::I64),
            BinOp::Arith(_) => {
                let num = |t: Option<ScalarType>| match t {
                    Some(t) if t.is_integer() || t == ScalarType::Bool => Some(false),
                    Some(ScalarType::F32 | ScalarType::F64) => Some(true),
                    _ => None,
                };
                match (num(infer_type(a, types)), num(infer_type(b, types))) {
                    (Some(false), Some(false)) => Some(ScalarType::I64),
                    (Some(_), Some(_)) => Some(ScalarType::F64),
                    _ => None,
                }
            }
        },
        Expr::Cast { to, .. } => Some(to.result_type()),
        Expr::Call { func, args } => match func {
            Func::Length | Func::Instr => Some(ScalarType::I64),
            Func::Lower
            | Func::Upper
            | Func::Substr
            | Func::Trim
            | Func::LTrim
            | Func::RTrim
            | Func::Replace
            | Func::Typeof
            | Func::Concat => Some(ScalarType::String),
            Func::Round => Some(ScalarType::F64),
            Func::Abs => args.first().and_then(|a| infer_type(a, types)),
            _ => {
                let mut ts = args.iter().map(|a| infer_type(a, types));
                let first = ts.next().flatten();
                if ts.all(|t| t.is_none() || t == first) {
                    first
                } else {
                    None
                }
            }
        },
        Expr::Case {
            whens, otherwise, ..
        } => {
            let mut ts = whens
                .iter()
                .map(|(_, t)| t)
                .chain(otherwise.as_deref())
                .map(|x| infer_type(x, types))
                .filter(Option::is_some);
            let first = ts.next().flatten();
            if ts.all(|t| t == first) { first } else { None }
        }
        Expr::Subquery { usage, .. } => match usage {
            SubqueryUse::Scalar => None,
            _ => Some(ScalarType::Bool),
        },
        Expr::Outer { .. } | Expr::Param(_) => None,
    }
}

pub(super) fn agg_type(call: &AggCall, input: &[Option<ScalarType>]) -> Option<ScalarType> {
    let arg = call.arg.as_ref().and_then(|a| infer_type(a, input));
    match call.func {
        AggFunc::CountStar | AggFunc::Count => Some(ScalarType::I64),
        AggFunc::Avg | AggFunc::Total => Some(ScalarType::F64),
        AggFunc::Sum => match arg {
            Some(t) if t.is_integer() => Some(ScalarType::I64),
            Some(ScalarType::F32 | ScalarType::F64) => Some(ScalarType::F64),
            _ => None,
        },
        AggFunc::GroupConcat => Some(ScalarType::String),
        AggFunc::Min | AggFunc::Max | AggFunc::AnyValue => arg,
    }
}
