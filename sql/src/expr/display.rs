//! Bound expressions written back as SQL-like text, for EXPLAIN: `(qty >= 3) AND (name = 'x')`
//! instead of the tree's debug form. Columns are named by the caller (a table's column names
//! in a scan, positions `#n` elsewhere); parameters are `$n`, subqueries `(subquery #n)`, and
//! the affinity conversions the binder inserts show as `numeric(…)` / `text(…)`.

use cosmictron_types::Value;

use super::{ArithOp, BinOp, BitOp, CastType, CmpOp, Expr, Func, SubqueryUse, UnOp};

/// `e` as text, with column `i` written as `column(i)`.
pub(crate) fn to_sql(e: &Expr, column: &dyn Fn(usize) -> String) -> String {
    let mut out = String::new();
    write(e, column, &mut out);
    out
}

fn write(e: &Expr, column: &dyn Fn(usize) -> String, out: &mut String) {
    // A compound operand is parenthesized so the text reads as the tree does.
    let operand = |x: &Expr, out: &mut String| {
        let compound = matches!(
            x,
            Expr::Binary(..)
                | Expr::Between { .. }
                | Expr::InList { .. }
                | Expr::Like { .. }
                | Expr::IsNull { .. }
        );
        if compound {
            out.push('(');
        }
        write(x, column, out);
        if compound {
            out.push(')');
        }
    };
    let list = |items: &[Expr], out: &mut String| {
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write(x, column, out);
        }
    };
    let not = |negated: bool| if negated { "NOT " } else { "" };
    match e {
        Expr::Literal(v) => out.push_str(&literal(v)),
        Expr::Column(i) => out.push_str(&column(*i)),
        Expr::Outer { depth, index } => out.push_str(&format!("outer{depth}#{index}")),
        Expr::Param(i) => out.push_str(&format!("${}", i + 1)),
        Expr::Identity => out.push_str("$identity"),
        Expr::Unary(op, x) => {
            out.push_str(match op {
                UnOp::Neg => "-",
                UnOp::Plus => "+",
                UnOp::Not => "NOT ",
            });
            operand(x, out);
        }
        Expr::Binary(op, a, b) => {
            operand(a, out);
            out.push_str(&format!(" {} ", binary(*op)));
            operand(b, out);
        }
        Expr::IsNull { expr, negated } => {
            operand(expr, out);
            out.push_str(&format!(" IS {}NULL", not(*negated)));
        }
        Expr::InList {
            expr,
            list: items,
            negated,
        } => {
            operand(expr, out);
            out.push_str(&format!(" {}IN (", not(*negated)));
            list(items, out);
            out.push(')');
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            operand(expr, out);
            out.push_str(&format!(" {}BETWEEN ", not(*negated)));
            operand(low, out);
            out.push_str(" AND ");
            operand(high, out);
        }
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
            case_insensitive,
        } => {
            operand(expr, out);
            let like = if *case_insensitive { "ILIKE" } else { "LIKE" };
            out.push_str(&format!(" {}{like} ", not(*negated)));
            operand(pattern, out);
            if let Some(x) = escape {
                out.push_str(" ESCAPE ");
                operand(x, out);
            }
        }
        Expr::Case {
            operand: subject,
            whens,
            otherwise,
        } => {
            out.push_str("CASE");
            if let Some(x) = subject {
                out.push(' ');
                operand(x, out);
            }
            for (when, then) in whens {
                out.push_str(" WHEN ");
                write(when, column, out);
                out.push_str(" THEN ");
                write(then, column, out);
            }
            if let Some(x) = otherwise {
                out.push_str(" ELSE ");
                write(x, column, out);
            }
            out.push_str(" END");
        }
        Expr::Cast { expr, to } => {
            out.push_str("CAST(");
            write(expr, column, out);
            let to = match to {
                CastType::Integer => "INTEGER",
                CastType::Real => "REAL",
                CastType::Text => "TEXT",
                CastType::Blob => "BLOB",
                CastType::Numeric => "NUMERIC",
                CastType::Scalar(t) => t.name(),
            };
            out.push_str(&format!(" AS {to})"));
        }
        Expr::Call { func, args } => {
            out.push_str(&function(*func));
            out.push('(');
            list(args, out);
            out.push(')');
        }
        Expr::Subquery { id, usage } => match usage {
            SubqueryUse::Scalar => out.push_str(&format!("(subquery #{id})")),
            SubqueryUse::Exists { negated } => {
                out.push_str(&format!("{}EXISTS (subquery #{id})", not(*negated)));
            }
            SubqueryUse::In { expr, negated } => {
                operand(expr, out);
                out.push_str(&format!(" {}IN (subquery #{id})", not(*negated)));
            }
        },
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Bytes(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("x'{hex}'")
        }
        Value::Identity(id) => format!("'{}'", id.to_hex()),
        other => other.to_string(),
    }
}

fn binary(op: BinOp) -> &'static str {
    match op {
        BinOp::Arith(ArithOp::Add) => "+",
        BinOp::Arith(ArithOp::Sub) => "-",
        BinOp::Arith(ArithOp::Mul) => "*",
        BinOp::Arith(ArithOp::Div) => "/",
        BinOp::Arith(ArithOp::Rem) => "%",
        BinOp::Bit(BitOp::And) => "&",
        BinOp::Bit(BitOp::Or) => "|",
        BinOp::Bit(BitOp::Shl) => "<<",
        BinOp::Bit(BitOp::Shr) => ">>",
        BinOp::Cmp(CmpOp::Eq) => "=",
        BinOp::Cmp(CmpOp::NotEq) => "<>",
        BinOp::Cmp(CmpOp::Lt) => "<",
        BinOp::Cmp(CmpOp::LtEq) => "<=",
        BinOp::Cmp(CmpOp::Gt) => ">",
        BinOp::Cmp(CmpOp::GtEq) => ">=",
        BinOp::And => "AND",
        BinOp::Or => "OR",
        BinOp::Concat => "||",
        BinOp::Is => "IS",
        BinOp::IsNot => "IS NOT",
    }
}

fn function(f: Func) -> String {
    match f {
        Func::NumericAffinity => "numeric".into(),
        Func::TextAffinity => "text".into(),
        Func::Least => "min".into(),
        Func::Greatest => "max".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_read_as_sql() {
        // Proves the text follows the tree: nesting parenthesized, names from the caller.
        let name = |i: usize| ["qty", "name"][i].to_owned();
        let e = Expr::Binary(
            BinOp::And,
            Box::new(Expr::Binary(
                BinOp::Cmp(CmpOp::GtEq),
                Box::new(Expr::Column(0)),
                Box::new(Expr::Call {
                    func: Func::NumericAffinity,
                    args: vec![Expr::Param(0)],
                }),
            )),
            Box::new(Expr::InList {
                expr: Box::new(Expr::Column(1)),
                list: vec![
                    Expr::Literal(Value::String("it's".into())),
                    Expr::Literal(Value::Null),
                ],
                negated: true,
            }),
        );
        assert_eq!(
            to_sql(&e, &name),
            "(qty >= numeric($1)) AND (name NOT IN ('it''s', NULL))"
        );
    }
}
