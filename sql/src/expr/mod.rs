//! Bound expressions and their evaluation over one row of [`Value`]s.
//!
//! The binder (`plan::bind`) turns sqlparser's AST into [`Expr`], with every column reference
//! resolved to a position in the row the expression will be evaluated on. Evaluation
//! ([`eval`]) needs only that row and an [`Env`] for what lies outside it: parameters, the
//! caller's identity, rows of enclosing queries (correlated subqueries) and subquery results.
//! Nothing here knows about tables or plans, so subscriptions can evaluate the same
//! expressions over changed rows.
//!
//! Layout:
//! - `value_ops.rs` comparisons, arithmetic, truthiness, hash keys (SQLite semantics)
//! - `eval.rs`      [`eval`] and three-valued logic
//! - `functions.rs` scalar functions, CAST, LIKE

mod display;
mod eval;
mod functions;
pub(crate) mod value_ops;

use cosmictron_types::Value;

pub(crate) use display::to_sql;
pub(crate) use eval::{eval, eval_predicate};
pub(crate) use functions::{CastType, Func};
pub(crate) use value_ops::ArithOp;

use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    /// Whether `a <op> b` holds when `a.cmp(b)` is `o`.
    pub(crate) fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            CmpOp::Eq => o == Equal,
            CmpOp::NotEq => o != Equal,
            CmpOp::Lt => o == Less,
            CmpOp::LtEq => o != Greater,
            CmpOp::Gt => o == Greater,
            CmpOp::GtEq => o != Less,
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub(crate) fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::LtEq => CmpOp::GtEq,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::GtEq => CmpOp::LtEq,
            other => other,
        }
    }
}

/// Integer bit operations (SQLite's `&`, `|`, `<<`, `>>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum BitOp {
    And,
    Or,
    Shl,
    Shr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum BinOp {
    Arith(ArithOp),
    Bit(BitOp),
    Cmp(CmpOp),
    And,
    Or,
    Concat,
    /// `IS` / `IS NOT DISTINCT FROM`: equality where NULL equals NULL.
    Is,
    IsNot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum UnOp {
    Neg,
    Plus,
    Not,
}

/// How a subquery's rows are used.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SubqueryUse {
    /// `(SELECT …)`: the first column of the first row, or NULL.
    Scalar,
    /// `[NOT] EXISTS (SELECT …)`.
    Exists { negated: bool },
    /// `expr [NOT] IN (SELECT …)`.
    In { expr: Box<Expr>, negated: bool },
}

/// A bound expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    Literal(Value),
    /// A column of the current row.
    Column(usize),
    /// A column of an enclosing query's row: `depth` 0 is the nearest enclosing query.
    Outer {
        depth: usize,
        index: usize,
    },
    /// `$n`, zero-based.
    Param(usize),
    /// `$identity` in read policies: the caller's identity, NULL when anonymous.
    Identity,
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<Box<Expr>>,
        negated: bool,
        case_insensitive: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        to: CastType,
    },
    Call {
        func: Func,
        args: Vec<Expr>,
    },
    /// A subquery, by its id in the query's list of subquery plans.
    Subquery {
        id: usize,
        usage: SubqueryUse,
    },
}

/// What an expression needs from outside the row it is evaluated on.
pub(crate) trait Env {
    fn param(&self, index: usize) -> Result<Value>;
    /// The parameter by reference, when it exists (a fast path for comparisons).
    fn param_ref(&self, _index: usize) -> Option<&Value> {
        None
    }
    fn identity(&self) -> Value;
    fn outer(&self, depth: usize, index: usize) -> Result<Value>;
    /// The rows of subquery `id`, evaluated for the current `row` when correlated.
    fn subquery(&self, id: usize, row: &[Value]) -> Result<std::sync::Arc<Vec<Vec<Value>>>>;
}

impl Expr {
    #[cfg(test)]
    pub(crate) fn lit(v: Value) -> Expr {
        Expr::Literal(v)
    }

    /// `column = integer`, for tests.
    #[cfg(test)]
    pub(crate) fn column_eq(c: usize, v: i64) -> Expr {
        Expr::Binary(
            BinOp::Cmp(CmpOp::Eq),
            Box::new(Expr::Column(c)),
            Box::new(Expr::Literal(Value::I64(v))),
        )
    }

    /// Calls `f` on this expression and every sub-expression (not into subquery plans).
    pub(crate) fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Literal(_)
            | Expr::Column(_)
            | Expr::Outer { .. }
            | Expr::Param(_)
            | Expr::Identity => {}
            Expr::Unary(_, e) | Expr::IsNull { expr: e, .. } | Expr::Cast { expr: e, .. } => {
                e.walk(f)
            }
            Expr::Binary(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                ..
            } => {
                expr.walk(f);
                pattern.walk(f);
                if let Some(e) = escape {
                    e.walk(f);
                }
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                if let Some(e) = operand {
                    e.walk(f);
                }
                for (w, t) in whens {
                    w.walk(f);
                    t.walk(f);
                }
                if let Some(e) = otherwise {
                    e.walk(f);
                }
            }
            Expr::Call { args, .. } => args.iter().for_each(|e| e.walk(f)),
            Expr::Subquery { usage, .. } => {
                if let SubqueryUse::In { expr, .. } = usage {
                    expr.walk(f);
                }
            }
        }
    }

    /// Rewrites every column reference with `f` (used when an expression moves to an operator
    /// whose rows have a different layout).
    pub(crate) fn map_columns(&self, f: &dyn Fn(usize) -> usize) -> Expr {
        self.replace_columns(&|i| Expr::Column(f(i)))
    }

    /// Replaces every column reference with the expression `f` gives for it (a conjunct over a
    /// projection's output becomes one over its input).
    pub(crate) fn replace_columns(&self, f: &dyn Fn(usize) -> Expr) -> Expr {
        let m = |e: &Expr| Box::new(e.replace_columns(f));
        match self {
            Expr::Column(i) => f(*i),
            Expr::Literal(_) | Expr::Outer { .. } | Expr::Param(_) | Expr::Identity => self.clone(),
            Expr::Unary(op, e) => Expr::Unary(*op, m(e)),
            Expr::Binary(op, a, b) => Expr::Binary(*op, m(a), m(b)),
            Expr::IsNull { expr, negated } => Expr::IsNull {
                expr: m(expr),
                negated: *negated,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: m(expr),
                list: list.iter().map(|e| e.replace_columns(f)).collect(),
                negated: *negated,
            },
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => Expr::Between {
                expr: m(expr),
                low: m(low),
                high: m(high),
                negated: *negated,
            },
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                case_insensitive,
            } => Expr::Like {
                expr: m(expr),
                pattern: m(pattern),
                escape: escape.as_ref().map(|e| m(e)),
                negated: *negated,
                case_insensitive: *case_insensitive,
            },
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => Expr::Case {
                operand: operand.as_ref().map(|e| m(e)),
                whens: whens
                    .iter()
                    .map(|(w, t)| (w.replace_columns(f), t.replace_columns(f)))
                    .collect(),
                otherwise: otherwise.as_ref().map(|e| m(e)),
            },
            Expr::Cast { expr, to } => Expr::Cast {
                expr: m(expr),
                to: *to,
            },
            Expr::Call { func, args } => Expr::Call {
                func: *func,
                args: args.iter().map(|e| e.replace_columns(f)).collect(),
            },
            Expr::Subquery { id, usage } => Expr::Subquery {
                id: *id,
                usage: match usage {
                    SubqueryUse::In { expr, negated } => SubqueryUse::In {
                        expr: m(expr),
                        negated: *negated,
                    },
                    other => other.clone(),
                },
            },
        }
    }

    /// The columns this expression reads.
    pub(crate) fn columns(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Column(i) = e {
                out.push(*i);
            }
        });
        out
    }

    /// True when the expression contains a subquery.
    pub(crate) fn has_subquery(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Subquery { .. }));
        found
    }

    /// True when the value does not depend on the current row: literals, parameters,
    /// `$identity` and columns of enclosing queries (fixed while a subquery runs once).
    pub(crate) fn is_row_independent(&self) -> bool {
        let mut ok = true;
        self.walk(&mut |e| ok &= !matches!(e, Expr::Column(_) | Expr::Subquery { .. }));
        ok
    }

    /// Splits `a AND b AND c` into its conjuncts.
    pub(crate) fn into_conjuncts(self, out: &mut Vec<Expr>) {
        match self {
            Expr::Binary(BinOp::And, a, b) => {
                a.into_conjuncts(out);
                b.into_conjuncts(out);
            }
            other => out.push(other),
        }
    }

    /// Joins conjuncts back with AND (`None` for none).
    pub(crate) fn conjunction(mut parts: Vec<Expr>) -> Option<Expr> {
        let first = if parts.is_empty() {
            return None;
        } else {
            parts.remove(0)
        };
        Some(parts.into_iter().fold(first, |acc, e| {
            Expr::Binary(BinOp::And, Box::new(acc), Box::new(e))
        }))
    }
}
