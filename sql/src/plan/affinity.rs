//! Comparison affinity, as SQLite applies it: an operand compared with a numeric column is
//! read as a number when it is text spelling one (`id = '3'`, `id = $1` with the text `"3"`),
//! and an operand without a type of its own compared with a text column is read as text
//! (`name = 3`). Applied while binding comparisons, IN and BETWEEN; a constant is converted
//! once here, anything else is wrapped in a conversion evaluated per row.
//!
//! The classes follow SQLite's rules (section 4.2 of its datatype documentation):
//! - a column of an integer, real or boolean type has *numeric* affinity, a text column *text*
//!   affinity, `CAST(x AS t)` that of `t`;
//! - literals, parameters, other expressions and subquery columns of no single type have
//!   *none*;
//! - identity, timestamp and bytes columns are left alone (they compare by their own rules,
//!   e.g. an identity with its hex text); a column of an enclosing query (in a correlated
//!   subquery) has its column's affinity.
//!
//! Numeric against text or none: the other operand gets numeric affinity. Text against none:
//! the other gets text affinity.

use cosmictron_types::{ScalarType, Value};
use sqlparser::ast::{self, SelectItem, SetExpr};

use super::scope::Scope;
use crate::expr::Func;
use crate::expr::value_ops::{numeric_affinity, text_affinity};
use crate::expr::{CastType, Expr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Affinity {
    Numeric,
    Text,
    /// Literals, parameters, computed values.
    None,
    /// Compared by its own rules: never converted, never causes a conversion.
    Own,
}

/// Where an operand's columns resolve: the row's scope and the enclosing queries' scopes
/// (innermost last), for columns of a correlated subquery's enclosing rows.
pub(super) struct Scopes<'a> {
    pub(super) inner: &'a Scope,
    pub(super) outer: &'a [Scope],
}

/// The affinity of a bound operand.
pub(super) fn of(e: &Expr, scopes: &Scopes<'_>) -> Affinity {
    let of_column = |c: Option<&super::ScopeColumn>| match c {
        Some(c) => column(c.ty, c.has_affinity),
        None => Affinity::Own,
    };
    match e {
        Expr::Column(i) => of_column(scopes.inner.columns.get(*i)),
        Expr::Outer { depth, index } => of_column(
            scopes
                .outer
                .iter()
                .rev()
                .nth(*depth)
                .and_then(|s| s.columns.get(*index)),
        ),
        Expr::Cast { to, .. } => match to {
            CastType::Blob => Affinity::Own,
            other => of_type(Some(other.result_type())),
        },
        Expr::Identity => Affinity::Own,
        _ => Affinity::None,
    }
}

/// The affinity of a column of type `ty`; one without (a subquery's computed column) has none.
pub(super) fn column(ty: Option<ScalarType>, has_affinity: bool) -> Affinity {
    if has_affinity {
        of_type(ty)
    } else {
        Affinity::None
    }
}

/// For each of the `n` result columns of `q`, whether it carries its type as affinity: a
/// column reference or a CAST in the (leftmost) SELECT's list, as SQLite decides. Wildcards
/// are columns.
pub(super) fn of_result_columns(q: &ast::Query, n: usize) -> Vec<bool> {
    let mut body = q.body.as_ref();
    loop {
        body = match body {
            SetExpr::SetOperation { left, .. } => left,
            SetExpr::Query(inner) => inner.body.as_ref(),
            _ => break,
        };
    }
    let SetExpr::Select(select) = body else {
        return vec![false; n];
    };
    let mut out = Vec::with_capacity(n);
    let expressions = select
        .projection
        .iter()
        .filter(|i| {
            matches!(
                i,
                SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
            )
        })
        .count();
    for item in &select.projection {
        match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                out.push(is_column_or_cast(e));
            }
            // One wildcard: it spans the columns the expressions leave. Several: their widths
            // are unknown here, so every column counts as one (as before affinities existed).
            _ => {
                let spans = n.saturating_sub(expressions);
                let wildcards = select.projection.len() - expressions;
                if wildcards != 1 {
                    return vec![true; n];
                }
                out.extend(std::iter::repeat_n(true, spans));
            }
        }
    }
    out.resize(n, false);
    out
}

fn is_column_or_cast(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) | ast::Expr::Cast { .. } => {
            true
        }
        ast::Expr::Nested(inner) => is_column_or_cast(inner),
        _ => false,
    }
}

fn of_type(ty: Option<ScalarType>) -> Affinity {
    match ty {
        Some(ScalarType::String) => Affinity::Text,
        Some(ScalarType::Bool | ScalarType::F32 | ScalarType::F64) => Affinity::Numeric,
        Some(t) if t.is_integer() => Affinity::Numeric,
        // A computed column of a subquery whose type depends on the row: as in SQLite, an
        // expression's column has no affinity.
        None => Affinity::None,
        Some(_) => Affinity::Own,
    }
}

/// The affinity `other` gets when compared with an operand of affinity `with`, if any.
fn imposed(with: Affinity, other: Affinity) -> Option<Affinity> {
    match (with, other) {
        (Affinity::Numeric, Affinity::Text | Affinity::None) => Some(Affinity::Numeric),
        (Affinity::Text, Affinity::None) => Some(Affinity::Text),
        _ => None,
    }
}

/// The two operands of a comparison, each converted as the other's affinity asks.
pub(super) fn compare(a: Expr, b: Expr, scopes: &Scopes<'_>) -> (Expr, Expr) {
    let (fa, fb) = (of(&a, scopes), of(&b, scopes));
    match (imposed(fa, fb), imposed(fb, fa)) {
        (Some(to), _) => (a, convert(b, to)),
        (None, Some(to)) => (convert(a, to), b),
        (None, None) => (a, b),
    }
}

/// A value compared with `needle` (an IN list item, a BETWEEN bound), converted as the
/// needle's affinity asks.
pub(super) fn against(needle: Affinity, e: Expr, scopes: &Scopes<'_>) -> Expr {
    match imposed(needle, of(&e, scopes)) {
        Some(to) => convert(e, to),
        None => e,
    }
}

/// The affinity both sides of `needle IN (SELECT column …)` are read with, given the
/// needle's and the column's: numeric when either is, text when one side is text and the
/// other has none, else no conversion.
pub(super) fn for_in_subquery(needle: Affinity, column: Affinity) -> Option<Affinity> {
    match (needle, column) {
        (Affinity::Own, _) | (_, Affinity::Own) => None,
        (Affinity::Numeric, _) | (_, Affinity::Numeric) => Some(Affinity::Numeric),
        (Affinity::Text, Affinity::None) | (Affinity::None, Affinity::Text) => Some(Affinity::Text),
        _ => None,
    }
}

/// `e` read with affinity `to`: a literal converted now, anything else wrapped.
pub(super) fn convert(e: Expr, to: Affinity) -> Expr {
    let (func, now): (Func, fn(Value) -> Value) = match to {
        Affinity::Numeric => (Func::NumericAffinity, numeric_affinity),
        Affinity::Text => (Func::TextAffinity, text_affinity),
        Affinity::None | Affinity::Own => return e,
    };
    match e {
        Expr::Literal(v) => Expr::Literal(now(v)),
        other => Expr::Call {
            func,
            args: vec![other],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ScopeColumn;

    fn scope() -> Scope {
        let column = |name: &str, ty| ScopeColumn {
            qualifier: None,
            name: name.into(),
            ty: Some(ty),
            has_affinity: true,
            origin: None,
        };
        Scope {
            columns: vec![
                column("n", ScalarType::U64),
                column("s", ScalarType::String),
                column("who", ScalarType::Identity),
                ScopeColumn {
                    has_affinity: false,
                    ..column("computed", ScalarType::I64)
                },
            ],
        }
    }

    fn text(s: &str) -> Expr {
        Expr::Literal(Value::String(s.into()))
    }

    #[test]
    fn operands_are_converted_toward_the_columns_affinity() {
        // Proves which side is converted, and that constants are converted at bind time.
        let scope = scope();
        let s = Scopes {
            inner: &scope,
            outer: std::slice::from_ref(&scope),
        };
        let (a, b) = compare(Expr::Column(0), text("3"), &s);
        assert_eq!((a, b), (Expr::Column(0), Expr::Literal(Value::I64(3))));
        let (a, b) = compare(Expr::Literal(Value::I64(3)), Expr::Column(1), &s);
        assert_eq!(
            (a, b),
            (Expr::Literal(Value::String("3".into())), Expr::Column(1))
        );
        // A numeric column against a text column: the text one is read as a number.
        let (a, b) = compare(Expr::Column(0), Expr::Column(1), &s);
        assert_eq!(a, Expr::Column(0));
        assert!(matches!(
            b,
            Expr::Call {
                func: Func::NumericAffinity,
                ..
            }
        ));
        // A parameter is converted per execution.
        let b = against(Affinity::Numeric, Expr::Param(0), &s);
        assert!(matches!(
            b,
            Expr::Call {
                func: Func::NumericAffinity,
                ..
            }
        ));
        // Identities keep their own comparison with hex text.
        let (a, b) = compare(Expr::Column(2), text("ab"), &s);
        assert_eq!((a, b), (Expr::Column(2), text("ab")));
        // A subquery's computed column has none: text compared with it stays text.
        let (a, b) = compare(Expr::Column(3), text("3"), &s);
        assert_eq!((a, b), (Expr::Column(3), text("3")));
        // A column of the enclosing query has its column's affinity.
        let outer = Expr::Outer { depth: 0, index: 1 };
        let (a, b) = compare(Expr::Column(0), outer.clone(), &s);
        assert_eq!(a, Expr::Column(0));
        assert!(matches!(
            b,
            Expr::Call {
                func: Func::NumericAffinity,
                ..
            }
        ));
        // Two constants: nothing to go by.
        let (a, b) = compare(text("1"), Expr::Literal(Value::I64(1)), &s);
        assert_eq!((a, b), (text("1"), Expr::Literal(Value::I64(1))));
    }

    #[test]
    fn in_subqueries_take_the_numeric_side_first() {
        assert_eq!(
            for_in_subquery(Affinity::Numeric, Affinity::Text),
            Some(Affinity::Numeric)
        );
        assert_eq!(
            for_in_subquery(Affinity::None, Affinity::Text),
            Some(Affinity::Text)
        );
        assert_eq!(for_in_subquery(Affinity::Text, Affinity::Text), None);
        assert_eq!(
            for_in_subquery(Affinity::Text, Affinity::None),
            Some(Affinity::Text)
        );
        assert_eq!(for_in_subquery(Affinity::Own, Affinity::Numeric), None);
    }

    #[test]
    fn only_columns_and_casts_of_a_subquery_carry_affinity() {
        let parse = |sql: &str| {
            let d = crate::parse::dialect();
            sqlparser::parser::Parser::new(&d)
                .try_with_sql(sql)
                .and_then(|mut p| p.parse_query())
                .expect("parses")
        };
        let q = parse("SELECT a, t.b, CAST(c AS TEXT), (d), a + 1, COUNT(*), 'x' FROM t");
        assert_eq!(
            of_result_columns(&q, 7),
            [true, true, true, true, false, false, false]
        );
        let q = parse("SELECT *, a + 1 FROM t");
        assert_eq!(of_result_columns(&q, 4), [true, true, true, false]);
        let q = parse("SELECT 1 UNION SELECT a FROM t");
        assert_eq!(of_result_columns(&q, 1), [false]);
    }
}
