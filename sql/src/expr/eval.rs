//! Evaluation of a bound [`Expr`] over one row, with SQL's three-valued logic.

use std::cmp::Ordering;

use cosmictron_types::Value;

use super::functions::{Func, call, cast, like};
use super::value_ops::{Num, numeric_affinity, text_affinity, to_num};
use super::value_ops::{arith, negate, sql_cmp, to_text, truth};
use super::{BinOp, BitOp, CmpOp, Env, Expr, SubqueryUse, UnOp};
use crate::error::{Result, SqlError};

fn tv(b: Option<bool>) -> Value {
    b.map_or(Value::Null, Value::Bool)
}

fn cmp_holds(op: CmpOp, o: Ordering) -> bool {
    op.holds(o)
}

/// True only when the predicate is true (NULL and false both reject the row).
pub(crate) fn eval_predicate(e: &Expr, row: &[Value], env: &dyn Env) -> Result<bool> {
    Ok(truth(&eval(e, row, env)?) == Some(true))
}

/// `needle IN (haystack)` with SQL's NULL rules: NULL when no match and a NULL was seen.
fn in_values<'a>(needle: &Value, haystack: impl Iterator<Item = &'a Value>) -> Option<bool> {
    let mut haystack = haystack.peekable();
    // Nothing is in an empty set, not even NULL.
    if haystack.peek().is_none() {
        return Some(false);
    }
    if needle.is_null() {
        return None;
    }
    let mut saw_null = false;
    for v in haystack {
        match sql_cmp(needle, v) {
            Some(Ordering::Equal) => return Some(true),
            None => saw_null = true,
            _ => {}
        }
    }
    if saw_null { None } else { Some(false) }
}

fn not(b: Option<bool>, negated: bool) -> Option<bool> {
    if negated { b.map(|x| !x) } else { b }
}

pub(crate) fn eval(e: &Expr, row: &[Value], env: &dyn Env) -> Result<Value> {
    Ok(match e {
        Expr::Literal(v) => v.clone(),
        Expr::Column(i) => row
            .get(*i)
            .cloned()
            .ok_or_else(|| SqlError::type_err(format!("internal: column {i} out of range")))?,
        Expr::Outer { depth, index } => env.outer(*depth, *index)?,
        Expr::Param(i) => env.param(*i)?,
        Expr::Identity => env.identity(),
        Expr::Unary(op, inner) => {
            let v = eval(inner, row, env)?;
            match op {
                UnOp::Neg => negate(&v),
                // SQLite's unary plus is a no-op, even on text.
                UnOp::Plus => v,
                UnOp::Not => tv(truth(&v).map(|b| !b)),
            }
        }
        Expr::Binary(op, a, b) => binary(*op, a, b, row, env)?,
        Expr::IsNull { expr, negated } => Value::Bool(eval(expr, row, env)?.is_null() != *negated),
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            let needle = eval(expr, row, env)?;
            let values = list
                .iter()
                .map(|e| eval(e, row, env))
                .collect::<Result<Vec<_>>>()?;
            tv(not(in_values(&needle, values.iter()), *negated))
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let v = eval(expr, row, env)?;
            let lo = eval(low, row, env)?;
            let hi = eval(high, row, env)?;
            let ge = sql_cmp(&v, &lo).map(|o| o != Ordering::Less);
            let le = sql_cmp(&v, &hi).map(|o| o != Ordering::Greater);
            tv(not(and3(ge, le), *negated))
        }
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
            case_insensitive,
        } => {
            let v = eval(expr, row, env)?;
            let p = eval(pattern, row, env)?;
            let esc = match escape {
                Some(e) => Some(eval(e, row, env)?),
                None => None,
            };
            let (Some(text), Some(pat)) = (to_text(&v), to_text(&p)) else {
                return Ok(Value::Null);
            };
            let esc = match esc {
                None => None,
                Some(Value::Null) => return Ok(Value::Null),
                Some(e) => {
                    let s = to_text(&e).unwrap_or_default();
                    let mut chars = s.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => Some(c),
                        _ => {
                            return Err(SqlError::type_err(
                                "ESCAPE expression must be a single character",
                            ));
                        }
                    }
                }
            };
            Value::Bool(like(&text, &pat, esc, *case_insensitive) != *negated)
        }
        Expr::Case {
            operand,
            whens,
            otherwise,
        } => {
            let base = match operand {
                Some(o) => Some(eval(o, row, env)?),
                None => None,
            };
            for (when, then) in whens {
                let w = eval(when, row, env)?;
                let hit = match &base {
                    Some(b) => sql_cmp(b, &w) == Some(Ordering::Equal),
                    None => truth(&w) == Some(true),
                };
                if hit {
                    return eval(then, row, env);
                }
            }
            match otherwise {
                Some(e) => eval(e, row, env)?,
                None => Value::Null,
            }
        }
        Expr::Cast { expr, to } => cast(eval(expr, row, env)?, *to)?,
        // Affinities wrap a parameter or a column on hot paths: no argument list.
        Expr::Call {
            func: Func::NumericAffinity,
            args,
        } if args.len() == 1 => numeric_affinity(eval(&args[0], row, env)?),
        Expr::Call {
            func: Func::TextAffinity,
            args,
        } if args.len() == 1 => text_affinity(eval(&args[0], row, env)?),
        Expr::Call { func, args } => {
            // COALESCE/IFNULL evaluate lazily: later arguments may be expensive subqueries.
            if func.is_coalesce() {
                for a in args {
                    let v = eval(a, row, env)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                return Ok(Value::Null);
            }
            let values = args
                .iter()
                .map(|a| eval(a, row, env))
                .collect::<Result<Vec<_>>>()?;
            call(*func, values)?
        }
        Expr::Subquery { id, usage } => {
            let rows = env.subquery(*id, row)?;
            match usage {
                SubqueryUse::Scalar => rows
                    .first()
                    .and_then(|r| r.first())
                    .cloned()
                    .unwrap_or(Value::Null),
                SubqueryUse::Exists { negated } => Value::Bool(rows.is_empty() == *negated),
                SubqueryUse::In { expr, negated } => {
                    let needle = eval(expr, row, env)?;
                    tv(not(
                        in_values(&needle, rows.iter().filter_map(|r| r.first())),
                        *negated,
                    ))
                }
            }
        }
    })
}

fn bit_op(op: BitOp, a: &Value, b: &Value) -> Value {
    let int = |v: &Value| {
        to_num(v).map(|n| match n {
            Num::Int(i) => i,
            Num::Float(f) => f as i64,
        })
    };
    let (Some(x), Some(y)) = (int(a), int(b)) else {
        return Value::Null;
    };
    // SQLite: a negative shift shifts the other way; shifting 64 or more gives 0 (or -1).
    let shl = |x: i64, n: i64| -> i64 {
        if n >= 64 {
            0
        } else if n <= -64 {
            if x < 0 { -1 } else { 0 }
        } else if n >= 0 {
            ((x as u64) << n) as i64
        } else {
            x >> (-n)
        }
    };
    Value::I64(match op {
        BitOp::And => x & y,
        BitOp::Or => x | y,
        BitOp::Shl => shl(x, y),
        BitOp::Shr => shl(x, y.saturating_neg()),
    })
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// A leaf operand by reference (no clone), when it is one.
fn operand<'a>(e: &'a Expr, row: &'a [Value], env: &'a dyn Env) -> Option<&'a Value> {
    match e {
        Expr::Column(i) => row.get(*i),
        Expr::Literal(v) => Some(v),
        Expr::Param(i) => env.param_ref(*i),
        _ => None,
    }
}

fn binary(op: BinOp, a: &Expr, b: &Expr, row: &[Value], env: &dyn Env) -> Result<Value> {
    // The common filter shape `column <op> constant`, compared without copying values.
    if let BinOp::Cmp(cmp) = op
        && let (Some(x), Some(y)) = (operand(a, row, env), operand(b, row, env))
    {
        return Ok(tv(sql_cmp(x, y).map(|o| cmp_holds(cmp, o))));
    }
    // And `column <op> constant` arithmetic (a GROUP BY key such as `score % 100`).
    if let BinOp::Arith(arith_op) = op
        && let (Some(x), Some(y)) = (operand(a, row, env), operand(b, row, env))
    {
        return Ok(arith(arith_op, x, y));
    }
    match op {
        BinOp::And => {
            let x = truth(&eval(a, row, env)?);
            if x == Some(false) {
                return Ok(Value::Bool(false));
            }
            let y = truth(&eval(b, row, env)?);
            Ok(tv(and3(x, y)))
        }
        BinOp::Or => {
            let x = truth(&eval(a, row, env)?);
            if x == Some(true) {
                return Ok(Value::Bool(true));
            }
            let y = truth(&eval(b, row, env)?);
            Ok(tv(match (x, y) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            }))
        }
        _ => {
            let x = eval(a, row, env)?;
            let y = eval(b, row, env)?;
            Ok(match op {
                BinOp::Arith(op) => arith(op, &x, &y),
                BinOp::Bit(op) => bit_op(op, &x, &y),
                BinOp::Cmp(op) => tv(sql_cmp(&x, &y).map(|o| cmp_holds(op, o))),
                BinOp::Concat => match (to_text(&x), to_text(&y)) {
                    (Some(s), Some(t)) => Value::String(s + &t),
                    _ => Value::Null,
                },
                BinOp::Is | BinOp::IsNot => {
                    let same = match (x.is_null(), y.is_null()) {
                        (true, true) => true,
                        (false, false) => sql_cmp(&x, &y) == Some(Ordering::Equal),
                        _ => false,
                    };
                    Value::Bool(same == (op == BinOp::Is))
                }
                BinOp::And | BinOp::Or => Value::Null,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::expr::ArithOp;

    struct NoEnv;
    impl Env for NoEnv {
        fn param(&self, i: usize) -> Result<Value> {
            Err(SqlError::Parameter(format!("${}", i + 1)))
        }
        fn identity(&self) -> Value {
            Value::Null
        }
        fn outer(&self, _: usize, _: usize) -> Result<Value> {
            Ok(Value::Null)
        }
        fn subquery(&self, _: usize, _: &[Value]) -> Result<Arc<Vec<Vec<Value>>>> {
            Ok(Arc::new(Vec::new()))
        }
    }

    fn lit(v: impl Into<Value>) -> Box<Expr> {
        Box::new(Expr::Literal(v.into()))
    }

    fn null() -> Box<Expr> {
        Box::new(Expr::Literal(Value::Null))
    }

    #[test]
    fn three_valued_logic() {
        let and = Expr::Binary(BinOp::And, null(), lit(false));
        assert_eq!(eval(&and, &[], &NoEnv).ok(), Some(Value::Bool(false)));
        let or = Expr::Binary(BinOp::Or, null(), lit(false));
        assert_eq!(eval(&or, &[], &NoEnv).ok(), Some(Value::Null));
        let not_in = Expr::InList {
            expr: lit(1i64),
            list: vec![Expr::Literal(Value::I64(2)), Expr::Literal(Value::Null)],
            negated: true,
        };
        assert_eq!(eval(&not_in, &[], &NoEnv).ok(), Some(Value::Null));
        let div = Expr::Binary(BinOp::Arith(ArithOp::Div), lit(7i64), lit(2i64));
        assert_eq!(eval(&div, &[], &NoEnv).ok(), Some(Value::I64(3)));
    }

    #[test]
    fn columns_and_params() {
        let e = Expr::Binary(BinOp::Cmp(CmpOp::Gt), Box::new(Expr::Column(1)), lit(3i64));
        let row = [Value::Null, Value::U8(4)];
        assert_eq!(eval(&e, &row, &NoEnv).ok(), Some(Value::Bool(true)));
        assert!(eval(&Expr::Param(0), &row, &NoEnv).is_err());
    }
}
