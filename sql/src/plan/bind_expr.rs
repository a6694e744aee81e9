//! Binding expressions: sqlparser's AST → [`Expr`] over the positions of a [`Scope`].
//!
//! In an aggregate query the select list, HAVING and ORDER BY are bound through an
//! [`AggCtx`]: an aggregate call becomes a column of the aggregate's output, a sub-expression
//! equal to a GROUP BY expression becomes that group column, and a bare column that is neither
//! becomes an `AnyValue` aggregate (SQLite's bare-column rule).

use cosmictron_types::{ScalarType, Value};
use sqlparser::ast::{
    self, BinaryOperator, DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments,
    InTarget, UnaryOperator,
};

use super::affinity::{self, Affinity};
use super::bind_query::Binder;
use super::scope::{Scope, ScopeColumn};
use super::{AggCall, AggFunc, Plan};
use crate::error::{Result, SqlError};
use crate::expr::{ArithOp, BinOp, BitOp, CastType, CmpOp, Expr, Func, SubqueryUse, UnOp};
use crate::parse::param_index;

/// The aggregation of one SELECT: group expressions and aggregate calls, over the input rows.
#[derive(Debug, Default)]
pub(super) struct AggCtx {
    pub(super) group_by: Vec<Expr>,
    pub(super) aggs: Vec<AggCall>,
}

impl AggCtx {
    fn add(&mut self, call: AggCall) -> Expr {
        let at = match self.aggs.iter().position(|a| *a == call) {
            Some(i) => i,
            None => {
                self.aggs.push(call);
                self.aggs.len() - 1
            }
        };
        Expr::Column(self.group_by.len() + at)
    }
}

/// The scope a subquery sees as its enclosing row. In the select list or HAVING of an
/// aggregate query that row is the aggregate's output, so only GROUP BY columns are visible,
/// at their group positions; elsewhere it is the FROM row.
fn enclosing_scope(scope: &Scope, agg: Option<&AggCtx>) -> Scope {
    let Some(ctx) = agg else {
        return scope.clone();
    };
    let hidden = || ScopeColumn {
        qualifier: None,
        name: String::new(),
        ty: None,
        has_affinity: false,
        origin: None,
    };
    let columns = ctx
        .group_by
        .iter()
        .map(|g| match g {
            Expr::Column(i) => scope.columns.get(*i).cloned().unwrap_or_else(hidden),
            _ => hidden(),
        })
        .collect();
    Scope { columns }
}

/// The aggregate function a call names, if any (min/max with one argument only).
pub(super) fn aggregate_name(f: &ast::Function) -> Option<AggFunc> {
    let name = f.name.to_string().to_ascii_lowercase();
    let nargs = match &f.args {
        FunctionArguments::List(l) => l.args.len(),
        _ => 0,
    };
    Some(match name.as_str() {
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "total" => AggFunc::Total,
        "avg" => AggFunc::Avg,
        "min" if nargs == 1 => AggFunc::Min,
        "max" if nargs == 1 => AggFunc::Max,
        "group_concat" | "string_agg" => AggFunc::GroupConcat,
        _ => return None,
    })
}

/// True when the expression calls an aggregate outside any subquery.
pub(super) fn contains_aggregate(e: &ast::Expr) -> bool {
    let mut found = false;
    visit(e, &mut |x| {
        if let ast::Expr::Function(f) = x {
            found |= aggregate_name(f).is_some();
        }
    });
    found
}

/// Visits `e` and its sub-expressions, not descending into subqueries.
fn visit(e: &ast::Expr, f: &mut dyn FnMut(&ast::Expr)) {
    use ast::Expr as A;
    f(e);
    match e {
        A::BinaryOp { left, right, .. } => {
            visit(left, f);
            visit(right, f);
        }
        A::UnaryOp { expr, .. }
        | A::Nested(expr)
        | A::IsNull(expr)
        | A::IsNotNull(expr)
        | A::IsTrue(expr)
        | A::IsFalse(expr)
        | A::IsNotTrue(expr)
        | A::IsNotFalse(expr)
        | A::Cast { expr, .. } => visit(expr, f),
        A::IsDistinctFrom(a, b) | A::IsNotDistinctFrom(a, b) => {
            visit(a, f);
            visit(b, f);
        }
        A::In { expr, target, .. } => {
            visit(expr, f);
            if let InTarget::List(l) = target {
                l.iter().for_each(|x| visit(x, f));
            }
        }
        A::Between {
            expr, low, high, ..
        } => {
            visit(expr, f);
            visit(low, f);
            visit(high, f);
        }
        A::Like { expr, pattern, .. } | A::ILike { expr, pattern, .. } => {
            visit(expr, f);
            visit(pattern, f);
        }
        A::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            if let Some(o) = operand {
                visit(o, f);
            }
            for c in conditions {
                visit(&c.condition, f);
                visit(&c.result, f);
            }
            if let Some(e) = else_result {
                visit(e, f);
            }
        }
        A::Function(func) => {
            if let FunctionArguments::List(l) = &func.args {
                for a in &l.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                        visit(x, f);
                    }
                }
            }
        }
        A::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            visit(expr, f);
            if let Some(x) = substring_from {
                visit(x, f);
            }
            if let Some(x) = substring_for {
                visit(x, f);
            }
        }
        A::Trim { expr, .. } => visit(expr, f),
        _ => {}
    }
}

/// Binds an expression that reads only `scope` (no tables, no subqueries): read policies and
/// the conformance adapter's constant expressions.
pub(crate) fn bind_standalone(e: &ast::Expr, scope: &Scope, depth_max: usize) -> Result<Expr> {
    let mut binder = Binder::standalone(depth_max);
    binder.expr(e, scope, None)
}

fn number(s: &str) -> Result<Value> {
    let is_float = s.contains(['.', 'e', 'E']);
    if !is_float && let Ok(i) = s.parse::<i64>() {
        return Ok(Value::I64(i));
    }
    s.parse::<f64>()
        .map(Value::F64)
        .map_err(|_| SqlError::Parse(format!("invalid number `{s}`")))
}

fn hex_bytes(s: &str) -> Result<Vec<u8>> {
    let bad = || SqlError::Parse("invalid hex literal".into());
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
        .collect()
}

fn function_args(f: &ast::Function) -> Result<(Vec<&ast::Expr>, bool, bool)> {
    if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
        return Err(SqlError::unsupported(format!(
            "window functions, FILTER and WITHIN GROUP ({})",
            f.name
        )));
    }
    match &f.args {
        FunctionArguments::None => Ok((Vec::new(), false, false)),
        FunctionArguments::Subquery(_) => Err(SqlError::unsupported(format!(
            "subquery as the argument of {}",
            f.name
        ))),
        FunctionArguments::List(list) => {
            let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
            let mut star = false;
            let mut out = Vec::new();
            for a in &list.args {
                match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => out.push(e),
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
                    _ => {
                        return Err(SqlError::unsupported(format!(
                            "argument form in {}",
                            f.name
                        )));
                    }
                }
            }
            Ok((out, distinct, star))
        }
    }
}

impl Binder<'_> {
    /// Binds `e` over `scope`; in an aggregate query pass the [`AggCtx`]. Nests as deep as
    /// the expression (up to `expr_depth_max`): the stack grows on demand rather than overflow.
    #[recursive::recursive]
    pub(super) fn expr(
        &mut self,
        e: &ast::Expr,
        scope: &Scope,
        agg: Option<&mut AggCtx>,
    ) -> Result<Expr> {
        self.depth += 1;
        if self.depth > self.depth_max {
            self.depth -= 1;
            return Err(SqlError::LimitExceeded(format!(
                "expressions may nest at most {} deep",
                self.depth_max
            )));
        }
        let out = self.expr_inner(e, scope, agg);
        self.depth -= 1;
        out
    }

    fn expr_inner(
        &mut self,
        e: &ast::Expr,
        scope: &Scope,
        mut agg: Option<&mut AggCtx>,
    ) -> Result<Expr> {
        use ast::Expr as A;
        if let Some(ctx) = agg.as_deref_mut() {
            if let A::Function(f) = e
                && let Some(func) = aggregate_name(f)
            {
                let call = self.aggregate_call(f, func, scope)?;
                return Ok(ctx.add(call));
            }
            if !matches!(e, A::Value(_) | A::Subquery(_) | A::Exists { .. })
                && !contains_aggregate(e)
            {
                let bound = self.expr(e, scope, None)?;
                if let Some(i) = ctx.group_by.iter().position(|g| *g == bound) {
                    return Ok(Expr::Column(i));
                }
                if matches!(e, A::Identifier(_) | A::CompoundIdentifier(_)) {
                    if let Expr::Column(_) = bound {
                        return Ok(ctx.add(AggCall {
                            func: AggFunc::AnyValue,
                            arg: Some(bound),
                            distinct: false,
                            separator: None,
                        }));
                    }
                    return Ok(bound);
                }
            }
        } else if let A::Function(f) = e
            && aggregate_name(f).is_some()
        {
            return Err(SqlError::type_err(format!(
                "aggregate {} is not allowed here",
                f.name
            )));
        }
        let b = |s: &mut Self, x: &ast::Expr, agg: Option<&mut AggCtx>| -> Result<Box<Expr>> {
            Ok(Box::new(s.expr(x, scope, agg)?))
        };
        Ok(match e {
            A::Identifier(id) => self.column(None, &id.value, id.quote_style, scope)?,
            A::CompoundIdentifier(parts) => {
                let n = parts.len();
                if n < 2 {
                    return Err(SqlError::Parse("empty identifier".into()));
                }
                // `db.table.column`: the database part was checked with the table.
                let qualifier = &parts[n - 2].value;
                self.column(Some(qualifier), &parts[n - 1].value, None, scope)?
            }
            A::Value(v) => self.literal(&v.value)?,
            A::Nested(x) => return self.expr(x, scope, agg),
            A::UnaryOp { op, expr } => {
                let op = match op {
                    UnaryOperator::Minus => UnOp::Neg,
                    UnaryOperator::Plus => UnOp::Plus,
                    UnaryOperator::Not => UnOp::Not,
                    other => return Err(SqlError::unsupported(format!("operator {other}"))),
                };
                // Fold `-<number>` so i64::MIN parses and literals stay literals.
                if op == UnOp::Neg
                    && let A::Value(v) = expr.as_ref()
                    && let ast::Value::Number(s, _) = &v.value
                    && let Ok(v) = number(&format!("-{s}"))
                {
                    return Ok(Expr::Literal(v));
                }
                Expr::Unary(op, b(self, expr, agg)?)
            }
            A::BinaryOp { left, op, right } => {
                let op = match op {
                    BinaryOperator::Plus => BinOp::Arith(ArithOp::Add),
                    BinaryOperator::Minus => BinOp::Arith(ArithOp::Sub),
                    BinaryOperator::Multiply => BinOp::Arith(ArithOp::Mul),
                    BinaryOperator::Divide => BinOp::Arith(ArithOp::Div),
                    BinaryOperator::Modulo => BinOp::Arith(ArithOp::Rem),
                    BinaryOperator::Eq => BinOp::Cmp(CmpOp::Eq),
                    BinaryOperator::NotEq => BinOp::Cmp(CmpOp::NotEq),
                    BinaryOperator::Lt => BinOp::Cmp(CmpOp::Lt),
                    BinaryOperator::LtEq => BinOp::Cmp(CmpOp::LtEq),
                    BinaryOperator::Gt => BinOp::Cmp(CmpOp::Gt),
                    BinaryOperator::GtEq => BinOp::Cmp(CmpOp::GtEq),
                    BinaryOperator::And => BinOp::And,
                    BinaryOperator::Or => BinOp::Or,
                    BinaryOperator::StringConcat => BinOp::Concat,
                    BinaryOperator::BitwiseAnd => BinOp::Bit(BitOp::And),
                    BinaryOperator::BitwiseOr => BinOp::Bit(BitOp::Or),
                    BinaryOperator::PGBitwiseShiftLeft => BinOp::Bit(BitOp::Shl),
                    BinaryOperator::PGBitwiseShiftRight => BinOp::Bit(BitOp::Shr),
                    other => return Err(SqlError::unsupported(format!("operator {other}"))),
                };
                // Above an aggregate, columns are group outputs: no affinity to go by.
                let plain = agg.is_none();
                let l = b(self, left, agg.as_deref_mut())?;
                let r = b(self, right, agg)?;
                if matches!(op, BinOp::Cmp(_)) && plain {
                    let (l, r) = affinity::compare(*l, *r, &self.scopes(scope));
                    Expr::Binary(op, Box::new(l), Box::new(r))
                } else {
                    Expr::Binary(op, l, r)
                }
            }
            A::IsNull(x) => Expr::IsNull {
                expr: b(self, x, agg)?,
                negated: false,
            },
            A::IsNotNull(x) => Expr::IsNull {
                expr: b(self, x, agg)?,
                negated: true,
            },
            A::IsTrue(x) | A::IsNotTrue(x) | A::IsFalse(x) | A::IsNotFalse(x) => {
                // Never NULL: `NULL IS TRUE` is false, `NULL IS NOT TRUE` is true.
                let target = matches!(e, A::IsTrue(_) | A::IsNotTrue(_));
                let op = if matches!(e, A::IsTrue(_) | A::IsFalse(_)) {
                    BinOp::Is
                } else {
                    BinOp::IsNot
                };
                let as_bool = Expr::Cast {
                    expr: b(self, x, agg)?,
                    to: CastType::Scalar(ScalarType::Bool),
                };
                Expr::Binary(
                    op,
                    Box::new(as_bool),
                    Box::new(Expr::Literal(Value::Bool(target))),
                )
            }
            A::IsDistinctFrom(x, y) | A::IsNotDistinctFrom(x, y) => {
                let op = if matches!(e, A::IsDistinctFrom(..)) {
                    BinOp::IsNot
                } else {
                    BinOp::Is
                };
                let l = b(self, x, agg.as_deref_mut())?;
                Expr::Binary(op, l, b(self, y, agg)?)
            }
            A::In {
                expr,
                target,
                negated,
                ..
            } => {
                let plain = agg.is_none();
                let needle = b(self, expr, agg.as_deref_mut())?;
                let needle_affinity = if plain {
                    affinity::of(&needle, &self.scopes(scope))
                } else {
                    Affinity::Own
                };
                match target {
                    InTarget::List(list) => {
                        let mut items = Vec::with_capacity(list.len());
                        for x in list {
                            let item = self.expr(x, scope, agg.as_deref_mut())?;
                            items.push(affinity::against(
                                needle_affinity,
                                item,
                                &self.scopes(scope),
                            ));
                        }
                        Expr::InList {
                            expr: needle,
                            list: items,
                            negated: *negated,
                        }
                    }
                    InTarget::Subquery(q) => {
                        let outer = enclosing_scope(scope, agg.as_deref());
                        let (id, ty) = self.subquery(q, outer, None, true)?;
                        let column = affinity::column(ty, affinity::of_result_columns(q, 1)[0]);
                        self.in_subquery(needle, needle_affinity, (id, column), *negated)
                    }
                    InTarget::Table {
                        name: table,
                        args: None,
                    } => {
                        // SQLite's `x IN t`: the table's (single) column.
                        let d = crate::parse::dialect();
                        let q = sqlparser::parser::Parser::new(&d)
                            .try_with_sql(&format!("SELECT * FROM {table}"))
                            .and_then(|mut p| p.parse_query())
                            .map_err(|e| SqlError::Parse(e.to_string()))?;
                        let outer = enclosing_scope(scope, agg.as_deref());
                        // `SELECT * FROM t`: the table's column.
                        let (id, ty) = self.subquery(&q, outer, None, true)?;
                        let column = affinity::column(ty, true);
                        self.in_subquery(needle, needle_affinity, (id, column), *negated)
                    }
                    _ => return Err(SqlError::unsupported("this form of IN")),
                }
            }
            A::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let plain = agg.is_none();
                let expr = b(self, expr, agg.as_deref_mut())?;
                let mut low = b(self, low, agg.as_deref_mut())?;
                let mut high = b(self, high, agg)?;
                if plain {
                    let needle = affinity::of(&expr, &self.scopes(scope));
                    low = Box::new(affinity::against(needle, *low, &self.scopes(scope)));
                    high = Box::new(affinity::against(needle, *high, &self.scopes(scope)));
                }
                Expr::Between {
                    expr,
                    low,
                    high,
                    negated: *negated,
                }
            }
            A::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | A::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(SqlError::unsupported("LIKE ANY"));
                }
                let escape = match escape_char {
                    Some(v) => Some(b(self, v, None)?),
                    None => None,
                };
                Expr::Like {
                    expr: b(self, expr, agg.as_deref_mut())?,
                    pattern: b(self, pattern, agg)?,
                    escape,
                    negated: *negated,
                    // SQLite's LIKE folds ASCII case; ILIKE always does.
                    case_insensitive: true,
                }
            }
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(b(self, o, agg.as_deref_mut())?),
                    None => None,
                };
                let mut whens = Vec::with_capacity(conditions.len());
                for c in conditions {
                    let w = self.expr(&c.condition, scope, agg.as_deref_mut())?;
                    let t = self.expr(&c.result, scope, agg.as_deref_mut())?;
                    whens.push((w, t));
                }
                let otherwise = match else_result {
                    Some(x) => Some(b(self, x, agg)?),
                    None => None,
                };
                Expr::Case {
                    operand,
                    whens,
                    otherwise,
                }
            }
            A::Cast {
                expr, data_type, ..
            } => {
                let name = data_type.to_string();
                let to = CastType::from_name(&name)
                    .ok_or_else(|| SqlError::unsupported(format!("CAST to {name}")))?;
                Expr::Cast {
                    expr: b(self, expr, agg)?,
                    to,
                }
            }
            A::Function(f) => {
                let (args, distinct, star) = function_args(f)?;
                let name = f.name.to_string();
                if distinct || star {
                    return Err(SqlError::unsupported(format!("{name} with DISTINCT or *")));
                }
                let func = Func::lookup(&name, args.len()).ok_or_else(|| {
                    SqlError::unsupported(format!(
                        "function {name} with {} argument(s)",
                        args.len()
                    ))
                })?;
                let mut bound = Vec::with_capacity(args.len());
                for a in args {
                    bound.push(self.expr(a, scope, agg.as_deref_mut())?);
                }
                Expr::Call { func, args: bound }
            }
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.expr(expr, scope, agg.as_deref_mut())?];
                args.push(match substring_from {
                    Some(x) => self.expr(x, scope, agg.as_deref_mut())?,
                    None => Expr::Literal(Value::I64(1)),
                });
                if let Some(x) = substring_for {
                    args.push(self.expr(x, scope, agg)?);
                }
                Expr::Call {
                    func: Func::Substr,
                    args,
                }
            }
            A::Trim {
                expr,
                trim_where,
                trim_what,
                ..
            } => {
                let func = match trim_where {
                    Some(ast::TrimWhereField::Leading) => Func::LTrim,
                    Some(ast::TrimWhereField::Trailing) => Func::RTrim,
                    _ => Func::Trim,
                };
                let mut args = vec![self.expr(expr, scope, agg.as_deref_mut())?];
                if let Some(w) = trim_what {
                    args.push(self.expr(w, scope, agg)?);
                }
                Expr::Call { func, args }
            }
            A::Exists { subquery, negated } => {
                let outer = enclosing_scope(scope, agg.as_deref());
                let (id, _) = self.subquery(subquery, outer, Some(1), false)?;
                Expr::Subquery {
                    id,
                    usage: SubqueryUse::Exists { negated: *negated },
                }
            }
            A::Subquery(q) => {
                let outer = enclosing_scope(scope, agg.as_deref());
                let (id, _) = self.subquery(q, outer, Some(1), true)?;
                Expr::Subquery {
                    id,
                    usage: SubqueryUse::Scalar,
                }
            }
            other => {
                let text: String = other.to_string().chars().take(60).collect();
                return Err(SqlError::unsupported(format!("expression `{text}`")));
            }
        })
    }

    fn literal(&mut self, v: &ast::Value) -> Result<Expr> {
        use ast::Value as V;
        Ok(Expr::Literal(match v {
            V::Number(s, _) => number(s)?,
            V::SingleQuotedString(s)
            | V::DoubleQuotedString(s)
            | V::EscapedStringLiteral(s)
            | V::NationalStringLiteral(s) => Value::String(s.clone()),
            V::HexStringLiteral(s) => Value::Bytes(hex_bytes(s)?),
            V::Boolean(b) => Value::Bool(*b),
            V::Null => Value::Null,
            V::Placeholder(p) => {
                if p.eq_ignore_ascii_case("$identity") {
                    return Ok(Expr::Identity);
                }
                let i = param_index(p)?;
                self.param_count = self.param_count.max(i + 1);
                return Ok(Expr::Param(i));
            }
            other => return Err(SqlError::unsupported(format!("literal {other}"))),
        }))
    }

    /// A column of the current scope or, failing that, of an enclosing query.
    fn column(
        &mut self,
        qualifier: Option<&str>,
        name: &str,
        quote: Option<char>,
        scope: &Scope,
    ) -> Result<Expr> {
        if let Some(i) = scope.resolve(qualifier, name)? {
            scope.columns[i].mark_used();
            return Ok(Expr::Column(i));
        }
        for (depth, outer) in self.outer.iter().rev().enumerate() {
            if let Some(i) = outer.resolve(qualifier, name)? {
                outer.columns[i].mark_used();
                // Every subquery between here and the scope that owns the column is correlated.
                let n = self.correlated.len();
                for flag in &mut self.correlated[n.saturating_sub(depth + 1)..] {
                    *flag = true;
                }
                return Ok(Expr::Outer { depth, index: i });
            }
        }
        // SQLite reads an unknown double-quoted identifier as a string literal.
        if quote == Some('"') && qualifier.is_none() {
            return Ok(Expr::Literal(Value::String(name.to_owned())));
        }
        Err(SqlError::NoSuchColumn(match qualifier {
            Some(q) => format!("{q}.{name}"),
            None => name.to_owned(),
        }))
    }

    fn aggregate_call(
        &mut self,
        f: &ast::Function,
        func: AggFunc,
        scope: &Scope,
    ) -> Result<AggCall> {
        let (args, distinct, star) = function_args(f)?;
        if distinct && (star || args.len() != 1) {
            return Err(SqlError::type_err(format!(
                "DISTINCT aggregates must have exactly one argument ({})",
                f.name
            )));
        }
        if star {
            if func != AggFunc::Count || !args.is_empty() {
                return Err(SqlError::type_err(format!("{}(*) is not valid", f.name)));
            }
            return Ok(AggCall {
                func: AggFunc::CountStar,
                arg: None,
                distinct: false,
                separator: None,
            });
        }
        let (arg, separator) = match (func, args.as_slice()) {
            (_, [a]) => (self.expr(a, scope, None)?, None),
            (AggFunc::GroupConcat, [a, sep]) => {
                let sep = match self.expr(sep, scope, None)? {
                    Expr::Literal(v) => crate::expr::value_ops::to_text(&v),
                    _ => return Err(SqlError::unsupported("a non-constant separator")),
                };
                (self.expr(a, scope, None)?, sep)
            }
            _ => {
                return Err(SqlError::type_err(format!(
                    "wrong number of arguments to {}",
                    f.name
                )));
            }
        };
        if arg.has_subquery() {
            return Err(SqlError::unsupported("a subquery inside an aggregate"));
        }
        Ok(AggCall {
            func,
            arg: Some(arg),
            distinct,
            separator,
        })
    }

    /// Binds a subquery with `scope` as its nearest enclosing scope; returns its id.
    fn subquery(
        &mut self,
        q: &ast::Query,
        scope: Scope,
        limit: Option<i64>,
        single_column: bool,
    ) -> Result<(usize, Option<ScalarType>)> {
        self.outer.push(scope);
        self.correlated.push(false);
        let bound = self.query(q);
        self.outer.pop();
        let correlated = self.correlated.pop().unwrap_or(true);
        let (mut plan, columns) = bound?;
        if columns.is_empty() || (single_column && columns.len() != 1) {
            return Err(SqlError::type_err(format!(
                "the subquery returns {} columns; 1 was expected",
                columns.len()
            )));
        }
        if let Some(n) = limit {
            plan = Plan::Limit {
                input: Box::new(plan),
                limit: Some(Expr::Literal(Value::I64(n))),
                offset: None,
            };
        }
        self.subqueries
            .push(super::SubqueryPlan { plan, correlated });
        Ok((self.subqueries.len() - 1, columns[0].ty))
    }

    /// The scopes an operand's columns resolve in, for its affinity.
    fn scopes<'s>(&'s self, scope: &'s Scope) -> affinity::Scopes<'s> {
        affinity::Scopes {
            inner: scope,
            outer: &self.outer,
        }
    }

    /// `needle IN (subquery)`, both sides read with the affinity their types ask for (see
    /// [`affinity::for_in_subquery`]): the subquery's column is converted in a projection.
    fn in_subquery(
        &mut self,
        needle: Box<Expr>,
        needle_affinity: Affinity,
        (id, column): (usize, Affinity),
        negated: bool,
    ) -> Expr {
        let mut needle = needle;
        if let Some(to) = affinity::for_in_subquery(needle_affinity, column)
            && let Some(sub) = self.subqueries.get_mut(id)
        {
            if needle_affinity != to {
                needle = Box::new(affinity::convert(*needle, to));
            }
            if column != to {
                let input = std::mem::replace(&mut sub.plan, Plan::Unit);
                sub.plan = Plan::Project {
                    input: Box::new(input),
                    exprs: vec![affinity::convert(Expr::Column(0), to)],
                };
            }
        }
        Expr::Subquery {
            id,
            usage: SubqueryUse::In {
                expr: needle,
                negated,
            },
        }
    }
}
