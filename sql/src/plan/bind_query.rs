//! Binding queries: SELECT blocks, set operations, ORDER BY, LIMIT/OFFSET.

use std::sync::Arc;

use cosmictron_engine::TableSchema;
use cosmictron_types::ScalarType;
use sqlparser::ast::{
    self, Distinct, GroupByExpr, LimitClause, OrderByKind, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, SetOperator, SetQuantifier,
};

use super::bind_expr::{AggCtx, contains_aggregate};
use super::scope::Scope;
use super::types::{agg_type, infer_type};
use super::{AggCall, AggFunc, Catalog, Plan, QueryPlan, SetOpKind, SortKey, SubqueryPlan};
use crate::config::SqlConfig;
use crate::error::{Result, SqlError};
use crate::expr::Expr;
use crate::result::ResultColumn;
use crate::views::ViewDef;

/// Binder state for one statement (and all its subqueries).
pub(crate) struct Binder<'a> {
    catalog: Option<&'a dyn Catalog>,
    pub(super) depth: usize,
    pub(super) depth_max: usize,
    pub(super) join_tables_max: usize,
    /// Scopes of the enclosing queries, innermost last (for correlated references).
    pub(super) outer: Vec<Scope>,
    /// Per enclosing subquery level: whether it reads an enclosing query's row.
    pub(super) correlated: Vec<bool>,
    pub(super) subqueries: Vec<SubqueryPlan>,
    pub(super) tables: Vec<Arc<TableSchema>>,
    pub(super) views: Vec<Arc<ViewDef>>,
    pub(super) param_count: usize,
}

impl std::fmt::Debug for Binder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binder")
            .field("depth", &self.depth)
            .finish()
    }
}

/// Binds and plans a parsed query.
pub(crate) fn bind_statement(
    query: &ast::Query,
    catalog: &dyn Catalog,
    config: &SqlConfig,
) -> Result<QueryPlan> {
    let mut binder = Binder {
        catalog: Some(catalog),
        depth: 0,
        depth_max: config.expr_depth_max,
        join_tables_max: config.join_tables_max,
        outer: Vec::new(),
        correlated: Vec::new(),
        subqueries: Vec::new(),
        tables: Vec::new(),
        views: Vec::new(),
        param_count: 0,
    };
    let (root, columns) = binder.query(query)?;
    Ok(QueryPlan {
        root,
        columns: columns.into(),
        subqueries: binder.subqueries,
        tables: binder.tables,
        views: binder.views,
    })
}

/// One item of the select list after `*` expansion.
enum Item<'q> {
    Ast(&'q ast::Expr, Option<String>),
    Column(usize),
}

fn item_name(item: &Item<'_>, scope: &Scope) -> String {
    match item {
        Item::Ast(_, Some(alias)) => alias.clone(),
        Item::Ast(ast::Expr::Identifier(id), None) => id.value.clone(),
        Item::Ast(ast::Expr::CompoundIdentifier(parts), None) => {
            parts.last().map(|p| p.value.clone()).unwrap_or_default()
        }
        Item::Ast(e, None) => e.to_string(),
        Item::Column(i) => scope.columns[*i].name.clone(),
    }
}

/// `ORDER BY 2`: the 1-based position, if the expression is an integer literal.
fn position_literal(e: &ast::Expr) -> Option<i64> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(s, _) => s.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

impl<'a> Binder<'a> {
    /// A binder for expressions that read no tables.
    pub(super) fn standalone(depth_max: usize) -> Binder<'a> {
        Binder {
            catalog: None,
            depth: 0,
            depth_max,
            join_tables_max: 0,
            outer: Vec::new(),
            correlated: Vec::new(),
            subqueries: Vec::new(),
            tables: Vec::new(),
            views: Vec::new(),
            param_count: 0,
        }
    }

    pub(super) fn catalog(&self) -> Result<&'a dyn Catalog> {
        self.catalog
            .ok_or_else(|| SqlError::unsupported("tables and subqueries in this expression"))
    }

    /// Binds a whole query: body, ORDER BY, LIMIT/OFFSET. Nested queries (in FROM, in
    /// expressions, in set operations) recurse through here: the stack grows on demand.
    #[recursive::recursive]
    pub(super) fn query(&mut self, q: &ast::Query) -> Result<(Plan, Vec<ResultColumn>)> {
        if q.with.is_some() {
            return Err(SqlError::unsupported("WITH (common table expressions)"));
        }
        if q.fetch.is_some() || !q.locks.is_empty() {
            return Err(SqlError::unsupported("FETCH and FOR UPDATE"));
        }
        let order_by: &[ast::OrderByExpr] = match &q.order_by {
            None => &[],
            Some(o) => match &o.kind {
                OrderByKind::Expressions(list) => list,
                OrderByKind::All(_) => return Err(SqlError::unsupported("ORDER BY ALL")),
            },
        };
        let (mut plan, columns, width) = match q.body.as_ref() {
            SetExpr::Select(s) => self.select(s, order_by)?,
            body => {
                let (plan, columns) = self.set_expr(body)?;
                let width = columns.len();
                let plan = self.order_outputs(plan, &columns, order_by)?;
                (plan, columns, width)
            }
        };
        if let Some(limit) = &q.limit_clause {
            let (limit, offset) = match limit {
                LimitClause::LimitOffset {
                    limit,
                    offset,
                    limit_by,
                } => {
                    if !limit_by.is_empty() {
                        return Err(SqlError::unsupported("LIMIT BY"));
                    }
                    (limit.as_ref(), offset.as_ref().map(|o| &o.value))
                }
                LimitClause::OffsetCommaLimit { offset, limit } => (Some(limit), Some(offset)),
            };
            let empty = Scope::default();
            let limit = match limit {
                Some(e) => Some(self.expr(e, &empty, None)?),
                None => None,
            };
            let offset = match offset {
                Some(e) => Some(self.expr(e, &empty, None)?),
                None => None,
            };
            plan = Plan::Limit {
                input: Box::new(plan),
                limit,
                offset,
            };
        }
        if width > columns.len() {
            plan = Plan::Truncate {
                input: Box::new(plan),
                width: columns.len(),
            };
        }
        Ok((plan, columns))
    }

    fn set_expr(&mut self, body: &SetExpr) -> Result<(Plan, Vec<ResultColumn>)> {
        match body {
            SetExpr::Select(s) => {
                let (plan, columns, _) = self.select(s, &[])?;
                Ok((plan, columns))
            }
            SetExpr::Query(q) => self.query(q),
            SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let (lp, lc) = self.set_expr(left)?;
                let (rp, rc) = self.set_expr(right)?;
                if lc.len() != rc.len() {
                    return Err(SqlError::type_err(format!(
                        "{op} needs the same number of columns on both sides ({} and {})",
                        lc.len(),
                        rc.len()
                    )));
                }
                let op = match op {
                    SetOperator::Union => SetOpKind::Union,
                    SetOperator::Intersect => SetOpKind::Intersect,
                    SetOperator::Except | SetOperator::Minus => SetOpKind::Except,
                };
                let all = match set_quantifier {
                    SetQuantifier::All => true,
                    SetQuantifier::Distinct | SetQuantifier::None => false,
                    _ => return Err(SqlError::unsupported("BY NAME set operations")),
                };
                let columns = lc
                    .into_iter()
                    .zip(rc)
                    .map(|(l, r)| ResultColumn {
                        ty: if l.ty == r.ty { l.ty } else { None },
                        name: l.name,
                    })
                    .collect();
                Ok((
                    Plan::SetOp {
                        op,
                        all,
                        left: Box::new(lp),
                        right: Box::new(rp),
                    },
                    columns,
                ))
            }
            SetExpr::Values(_) => Err(SqlError::unsupported("VALUES as a query")),
            _ => Err(SqlError::ReadOnly(
                body.to_string().chars().take(40).collect(),
            )),
        }
    }

    /// ORDER BY over the output of a set operation: positions or output column names.
    fn order_outputs(
        &mut self,
        plan: Plan,
        columns: &[ResultColumn],
        order_by: &[ast::OrderByExpr],
    ) -> Result<Plan> {
        if order_by.is_empty() {
            return Ok(plan);
        }
        let scope = Scope {
            columns: columns
                .iter()
                .map(|c| super::ScopeColumn {
                    qualifier: None,
                    name: c.name.clone(),
                    ty: c.ty,
                    has_affinity: false,
                    origin: None,
                })
                .collect(),
        };
        let mut keys = Vec::new();
        for o in order_by {
            let column = match position_literal(&o.expr) {
                Some(k) if k >= 1 && (k as usize) <= columns.len() => k as usize - 1,
                Some(k) => {
                    return Err(SqlError::type_err(format!(
                        "ORDER BY term {k} is out of range (1..{})",
                        columns.len()
                    )));
                }
                None => {
                    let name = match &o.expr {
                        ast::Expr::Identifier(i) => i.value.clone(),
                        ast::Expr::CompoundIdentifier(p) => {
                            p.last().map(|i| i.value.clone()).unwrap_or_default()
                        }
                        other => other.to_string(),
                    };
                    match scope.resolve(None, &name) {
                        Ok(Some(i)) => i,
                        _ => match columns.iter().position(|c| c.name == o.expr.to_string()) {
                            Some(i) => i,
                            None => {
                                return Err(SqlError::type_err(format!(
                                    "ORDER BY term `{}` does not match a result column",
                                    o.expr
                                )));
                            }
                        },
                    }
                }
            };
            keys.push(sort_key(column, &o.options));
        }
        Ok(Plan::Sort {
            input: Box::new(plan),
            keys,
        })
    }

    /// One SELECT block with its ORDER BY. Returns the plan (whose rows may carry hidden sort
    /// columns after the visible ones), the visible columns, and the full row width.
    fn select(
        &mut self,
        s: &ast::Select,
        order_by: &[ast::OrderByExpr],
    ) -> Result<(Plan, Vec<ResultColumn>, usize)> {
        if s.top.is_some() || s.into.is_some() || s.qualify.is_some() || s.prewhere.is_some() {
            return Err(SqlError::unsupported("TOP, INTO, QUALIFY and PREWHERE"));
        }
        let distinct = match &s.distinct {
            None | Some(Distinct::All) => false,
            Some(Distinct::Distinct) => true,
            Some(Distinct::On(_)) => return Err(SqlError::unsupported("DISTINCT ON")),
        };
        let from = self.plan_from(&s.from, s.selection.as_ref())?;
        let scope = from.scope;
        let mut items = Vec::new();
        for item in &s.projection {
            match item {
                SelectItem::UnnamedExpr(e) => items.push(Item::Ast(e, None)),
                SelectItem::ExprWithAlias { expr, alias } => {
                    items.push(Item::Ast(expr, Some(alias.value.clone())))
                }
                SelectItem::Wildcard(_) => {
                    if scope.columns.is_empty() {
                        return Err(SqlError::type_err("SELECT * needs a FROM clause"));
                    }
                    scope.columns.iter().for_each(|c| c.mark_used());
                    items.extend((0..scope.columns.len()).map(Item::Column));
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let name = match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(n) => {
                            n.0.last()
                                .map(|p| p.to_string().trim_matches('"').to_owned())
                                .unwrap_or_default()
                        }
                        SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    if !scope.has_qualifier(&name) {
                        return Err(SqlError::NoSuchTable(name));
                    }
                    items.extend(
                        scope
                            .columns
                            .iter()
                            .enumerate()
                            .filter(|(_, c)| {
                                c.qualifier
                                    .as_deref()
                                    .is_some_and(|q| q.eq_ignore_ascii_case(&name))
                            })
                            .map(|(i, c)| {
                                c.mark_used();
                                Item::Column(i)
                            }),
                    );
                }
                _ => return Err(SqlError::unsupported("this select item")),
            }
        }
        let group_asts: &[ast::Expr] = match &s.group_by {
            GroupByExpr::Expressions(list, mods) if mods.is_empty() => list,
            _ => return Err(SqlError::unsupported("GROUP BY ALL / ROLLUP / CUBE")),
        };
        let aggregate = !group_asts.is_empty()
            || s.having.is_some()
            || items
                .iter()
                .any(|i| matches!(i, Item::Ast(e, _) if contains_aggregate(e)))
            || order_by.iter().any(|o| contains_aggregate(&o.expr));
        let mut agg = if aggregate {
            let mut ctx = AggCtx::default();
            for g in group_asts {
                let e = self.group_term(g, &items, &scope)?;
                ctx.group_by.push(e);
            }
            Some(ctx)
        } else {
            None
        };
        let mut exprs = Vec::with_capacity(items.len());
        for item in &items {
            let e = match item {
                Item::Ast(e, _) => self.expr(e, &scope, agg.as_mut())?,
                Item::Column(i) => match agg.as_mut() {
                    None => Expr::Column(*i),
                    Some(ctx) => bare_column(ctx, *i),
                },
            };
            exprs.push(e);
        }
        let having = match &s.having {
            Some(h) => Some(self.expr(h, &scope, agg.as_mut())?),
            None => None,
        };
        let visible = exprs.len();
        let mut keys = Vec::new();
        for o in order_by {
            let alias_match = match &o.expr {
                ast::Expr::Identifier(id) => items.iter().position(
                    |it| matches!(it, Item::Ast(_, Some(a)) if a.eq_ignore_ascii_case(&id.value)),
                ),
                _ => None,
            };
            let column = if let Some(k) = position_literal(&o.expr) {
                if k < 1 || k as usize > visible {
                    return Err(SqlError::type_err(format!(
                        "ORDER BY term {k} is out of range (1..{visible})"
                    )));
                }
                k as usize - 1
            } else if let Some(i) = alias_match {
                i
            } else {
                let e = self.expr(&o.expr, &scope, agg.as_mut())?;
                match exprs.iter().position(|x| *x == e) {
                    Some(i) => i,
                    None => {
                        exprs.push(e);
                        exprs.len() - 1
                    }
                }
            };
            keys.push(sort_key(column, &o.options));
        }
        let input_types = scope.types();
        let (mut plan, row_types) = match agg {
            None => (from.plan, input_types),
            Some(ctx) => {
                let mut types: Vec<Option<ScalarType>> = ctx
                    .group_by
                    .iter()
                    .map(|g| infer_type(g, &input_types))
                    .collect();
                types.extend(ctx.aggs.iter().map(|a| agg_type(a, &input_types)));
                let plan = Plan::Aggregate {
                    input: Box::new(from.plan),
                    group_by: ctx.group_by,
                    aggs: ctx.aggs,
                };
                (plan, types)
            }
        };
        if let Some(predicate) = having {
            plan = Plan::Filter {
                input: Box::new(plan),
                predicate,
            };
        }
        let columns = items
            .iter()
            .zip(&exprs)
            .map(|(item, e)| ResultColumn {
                name: item_name(item, &scope),
                ty: infer_type(e, &row_types),
            })
            .collect();
        let width = exprs.len();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs,
        };
        if distinct {
            plan = Plan::Distinct {
                input: Box::new(plan),
                columns: visible,
            };
        }
        if !keys.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys,
            };
        }
        Ok((plan, columns, width))
    }

    /// A GROUP BY term: a position or an alias of the select list, or an expression.
    fn group_term(&mut self, g: &ast::Expr, items: &[Item<'_>], scope: &Scope) -> Result<Expr> {
        if let Some(k) = position_literal(g) {
            return match items.get((k as usize).wrapping_sub(1)) {
                Some(Item::Ast(e, _)) if k >= 1 => self.expr(e, scope, None),
                Some(Item::Column(i)) if k >= 1 => Ok(Expr::Column(*i)),
                _ => Err(SqlError::type_err(format!(
                    "GROUP BY term {k} is out of range"
                ))),
            };
        }
        if let ast::Expr::Identifier(id) = g
            && scope.resolve(None, &id.value)?.is_none()
        {
            let aliased = items.iter().find_map(|it| match it {
                Item::Ast(e, Some(a)) if a.eq_ignore_ascii_case(&id.value) => Some(*e),
                _ => None,
            });
            if let Some(e) = aliased {
                return self.expr(e, scope, None);
            }
        }
        self.expr(g, scope, None)
    }
}

fn bare_column(ctx: &mut AggCtx, i: usize) -> Expr {
    let col = Expr::Column(i);
    if let Some(g) = ctx.group_by.iter().position(|g| *g == col) {
        return Expr::Column(g);
    }
    let call = AggCall {
        func: AggFunc::AnyValue,
        arg: Some(col),
        distinct: false,
        separator: None,
    };
    let at = match ctx.aggs.iter().position(|a| *a == call) {
        Some(p) => p,
        None => {
            ctx.aggs.push(call);
            ctx.aggs.len() - 1
        }
    };
    Expr::Column(ctx.group_by.len() + at)
}

fn sort_key(column: usize, options: &ast::OrderByOptions) -> SortKey {
    let desc = matches!(options.sort, Some(ast::OrderBySort::Desc));
    SortKey {
        column,
        desc,
        // NULL is the smallest value: first ascending, last descending (SQLite).
        nulls_first: options.nulls_first.unwrap_or(!desc),
    }
}
