//! The FROM clause: base-table scans with read policies, predicate push-down, index selection
//! and a greedy join order.
//!
//! Comma joins and inner `JOIN … ON` are flattened into *units* (one per table or subquery)
//! plus a pool of WHERE/ON conjuncts. A conjunct over one unit is pushed into that unit's scan
//! (where it may select an index); the others join units. The join order is greedy: start
//! with the most selective unit, then always join next a unit that has an equality with what is
//! already joined (a hash join on all such equalities), never a cross product while a connected
//! unit remains — which keeps SQLite's 64-table `select5.test` joins linear. A FROM item with a
//! LEFT JOIN is planned as one unit, in the order written; conjuncts over such a unit or over a
//! subquery in FROM move down into it where they keep their meaning (`push_down.rs`).

use std::sync::Arc;

use cosmictron_engine::TableSchema;
use sqlparser::ast::{self, JoinConstraint, JoinOperator, TableFactor, TableWithJoins};

use super::access;
use super::affinity;
use super::bind_query::Binder;
use super::push_down::push_down;
use super::scope::{Scope, ScopeColumn};
use super::{ColumnUse, JoinKind, Plan, Scan};
use crate::error::{Result, SqlError};
use crate::expr::{BinOp, CmpOp, Expr};
use crate::views::ViewDef;

/// What the FROM clause produces: rows in the global layout, and the scope naming them.
#[derive(Debug)]
pub(super) struct FromOut {
    pub(super) plan: Plan,
    pub(super) scope: Scope,
}

/// Where a unit's rows come from.
#[derive(Debug)]
enum Source {
    Table {
        schema: Arc<TableSchema>,
        label: String,
        used: Arc<ColumnUse>,
    },
    Plan(Box<Plan>),
}

#[derive(Debug)]
struct Unit {
    source: Source,
    columns: Vec<ScopeColumn>,
    /// Conjuncts pushed to this unit, over its own columns.
    pushed: Vec<Expr>,
}

/// A set of units (FROM clauses join at most 128).
type UnitSet = u128;

struct Conjunct {
    expr: Expr,
    units: UnitSet,
    applied: bool,
}

fn bit(i: usize) -> UnitSet {
    1u128 << i
}

impl Binder<'_> {
    pub(super) fn plan_from(
        &mut self,
        from: &[TableWithJoins],
        selection: Option<&ast::Expr>,
    ) -> Result<FromOut> {
        let mut units = Vec::new();
        let mut on_conditions = Vec::new();
        for item in from {
            self.flatten(item, &mut units, &mut on_conditions)?;
        }
        if units.len() > self.join_tables_max.min(128) {
            return Err(SqlError::LimitExceeded(format!(
                "a FROM clause may join at most {} tables",
                self.join_tables_max.min(128)
            )));
        }
        let scope = Scope {
            columns: units.iter().flat_map(|u| u.columns.clone()).collect(),
        };
        let mut offsets = Vec::with_capacity(units.len());
        let mut unit_of_column = Vec::with_capacity(scope.columns.len());
        for (i, u) in units.iter().enumerate() {
            offsets.push(unit_of_column.len());
            unit_of_column.extend(std::iter::repeat_n(i, u.columns.len()));
        }
        let mut conjuncts = Vec::new();
        for e in on_conditions.iter().copied().chain(selection) {
            self.expr(e, &scope, None)?.into_conjuncts(&mut conjuncts);
        }
        let mut pool = Vec::new();
        let mut top = Vec::new();
        for c in conjuncts {
            let set = c
                .columns()
                .iter()
                .fold(0, |s, &col| s | bit(unit_of_column[col]));
            if c.has_subquery() || set == 0 {
                // Evaluated on the full row: correlated subqueries see the global layout.
                top.push(c);
            } else if set.count_ones() == 1 {
                let u = set.trailing_zeros() as usize;
                let off = offsets[u];
                units[u].pushed.push(c.map_columns(&|col| col - off));
            } else {
                pool.push(Conjunct {
                    expr: c,
                    units: set,
                    applied: false,
                });
            }
        }
        if units.is_empty() {
            let plan = match Expr::conjunction(top) {
                Some(predicate) => Plan::Filter {
                    input: Box::new(Plan::Unit),
                    predicate,
                },
                None => Plan::Unit,
            };
            return Ok(FromOut { plan, scope });
        }
        let plans: Vec<(Plan, u8)> = units
            .into_iter()
            .map(|u| self.unit_plan(u))
            .collect::<Result<_>>()?;
        let widths: Vec<usize> = (0..offsets.len())
            .map(|i| offsets.get(i + 1).copied().unwrap_or(scope.columns.len()) - offsets[i])
            .collect();
        let plan = join_greedy(plans, &offsets, &widths, &unit_of_column, pool)?;
        let plan = match Expr::conjunction(top) {
            Some(predicate) => Plan::Filter {
                input: Box::new(plan),
                predicate,
            },
            None => plan,
        };
        Ok(FromOut { plan, scope })
    }

    /// Adds the units of one FROM item; inner-join ON conditions go to the shared pool.
    fn flatten<'q>(
        &mut self,
        item: &'q TableWithJoins,
        units: &mut Vec<Unit>,
        on: &mut Vec<&'q ast::Expr>,
    ) -> Result<()> {
        let all_inner = item
            .joins
            .iter()
            .all(|j| inner_constraint(&j.join_operator).is_some());
        if all_inner {
            self.push_relation(&item.relation, units, on)?;
            for j in &item.joins {
                self.push_relation(&j.relation, units, on)?;
                if let Some(Some(e)) = inner_constraint(&j.join_operator) {
                    on.push(e);
                }
            }
            return Ok(());
        }
        // A LEFT JOIN chain: one unit, joined in the order written.
        let first = self.relation(&item.relation)?;
        let mut columns = first.columns.clone();
        let mut plan = self.unit_plan(first)?.0;
        for j in &item.joins {
            let (kind, constraint) = match &j.join_operator {
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
                op => match inner_constraint(op) {
                    Some(_) => (JoinKind::Inner, join_constraint(op)?),
                    None => return Err(SqlError::unsupported("this kind of join")),
                },
            };
            let mut right = self.relation(&j.relation)?;
            let left_width = columns.len();
            let right_width = right.columns.len();
            columns.extend(right.columns.clone());
            let scope = Scope {
                columns: columns.clone(),
            };
            let mut conjuncts = Vec::new();
            match constraint {
                JoinConstraint::On(e) => self.expr(e, &scope, None)?.into_conjuncts(&mut conjuncts),
                JoinConstraint::None => {}
                _ => return Err(SqlError::unsupported("USING and NATURAL joins")),
            }
            let (mut left_keys, mut right_keys, mut residual) =
                (Vec::new(), Vec::new(), Vec::new());
            for c in conjuncts {
                let cols = c.columns();
                let right_only = !cols.is_empty() && cols.iter().all(|&x| x >= left_width);
                if right_only && !c.has_subquery() {
                    // Filtering the right side first is the same for inner and left joins.
                    right.pushed.push(c.map_columns(&|x| x - left_width));
                } else if let Some((l, r)) = split_equality(&c, |x| x < left_width) {
                    left_keys.push(l);
                    right_keys.push(r.map_columns(&|x| x - left_width));
                } else {
                    residual.push(c);
                }
            }
            let right_plan = self.unit_plan(right)?.0;
            let lookup = super::lookup_join(&right_plan, &right_keys);
            plan = Plan::Join {
                left: Box::new(plan),
                right: Box::new(right_plan),
                kind,
                left_keys,
                right_keys,
                residual: Expr::conjunction(residual),
                right_width,
                lookup,
            };
        }
        units.push(Unit {
            source: Source::Plan(Box::new(plan)),
            columns,
            pushed: Vec::new(),
        });
        Ok(())
    }

    /// Adds a FROM item's relation; a parenthesized join is flattened into its units.
    fn push_relation<'q>(
        &mut self,
        factor: &'q TableFactor,
        units: &mut Vec<Unit>,
        on: &mut Vec<&'q ast::Expr>,
    ) -> Result<()> {
        match factor {
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => self.flatten(table_with_joins, units, on),
            other => {
                units.push(self.relation(other)?);
                Ok(())
            }
        }
    }

    fn relation(&mut self, factor: &TableFactor) -> Result<Unit> {
        match factor {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    return Err(SqlError::unsupported("table functions"));
                }
                let parts: Vec<String> = name
                    .0
                    .iter()
                    .map(|p| match p {
                        ast::ObjectNamePart::Identifier(i) => Ok(i.value.clone()),
                        _ => Err(SqlError::unsupported("computed table names")),
                    })
                    .collect::<Result<_>>()?;
                let catalog = self.catalog()?;
                let schema = match catalog.table(&parts) {
                    Ok(schema) => schema,
                    Err(SqlError::NoSuchTable(missing)) => match catalog.view(&parts) {
                        Some(view) => return Ok(self.view_unit(view, alias.as_ref(), &parts)),
                        None => return Err(SqlError::NoSuchTable(missing)),
                    },
                    Err(e) => return Err(e),
                };
                if !self.tables.iter().any(|t| Arc::ptr_eq(t, &schema)) {
                    self.tables.push(schema.clone());
                }
                let label = match alias {
                    Some(a) => a.name.value.clone(),
                    None => parts.last().cloned().unwrap_or_default(),
                };
                let used = Arc::new(ColumnUse::new(schema.columns().len()));
                let columns = schema
                    .columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ScopeColumn {
                        qualifier: Some(label.clone()),
                        name: c.name.clone(),
                        ty: Some(c.ty.scalar),
                        has_affinity: true,
                        origin: Some((used.clone(), i)),
                    })
                    .collect();
                Ok(Unit {
                    source: Source::Table {
                        schema,
                        label,
                        used,
                    },
                    columns,
                    pushed: Vec::new(),
                })
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                ..
            } => {
                if *lateral {
                    return Err(SqlError::unsupported("LATERAL"));
                }
                let (plan, result_columns) = self.query(subquery)?;
                let label = alias.as_ref().map(|a| a.name.value.clone());
                let renames = alias.as_ref().map(|a| &a.columns);
                let affinities = affinity::of_result_columns(subquery, result_columns.len());
                let columns = result_columns
                    .iter()
                    .zip(affinities)
                    .enumerate()
                    .map(|(i, (c, has_affinity))| ScopeColumn {
                        qualifier: label.clone(),
                        name: renames
                            .and_then(|r| r.get(i))
                            .map_or_else(|| c.name.clone(), |r| r.name.value.clone()),
                        ty: c.ty,
                        has_affinity,
                        origin: None,
                    })
                    .collect();
                Ok(Unit {
                    source: Source::Plan(Box::new(plan)),
                    columns,
                    pushed: Vec::new(),
                })
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } if table_with_joins.joins.is_empty() => self.relation(&table_with_joins.relation),
            _ => Err(SqlError::unsupported("this kind of FROM item")),
        }
    }

    /// A view read in FROM: its rows are computed once, then planned like a subquery's.
    fn view_unit(
        &mut self,
        view: Arc<ViewDef>,
        alias: Option<&ast::TableAlias>,
        parts: &[String],
    ) -> Unit {
        let label = match alias {
            Some(a) => a.name.value.clone(),
            None => parts.last().cloned().unwrap_or_default(),
        };
        let renames = alias.map(|a| &a.columns);
        let columns = view
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| ScopeColumn {
                qualifier: Some(label.clone()),
                name: renames
                    .and_then(|r| r.get(i))
                    .map_or_else(|| c.name.clone(), |r| r.name.value.clone()),
                ty: Some(c.ty.scalar),
                has_affinity: true,
                origin: None,
            })
            .collect();
        if !self.views.iter().any(|v| Arc::ptr_eq(v, &view)) {
            self.views.push(view.clone());
        }
        Unit {
            source: Source::Plan(Box::new(Plan::View(view))),
            columns,
            pushed: Vec::new(),
        }
    }

    /// The plan of one unit with its pushed conjuncts, and its rank for join ordering.
    fn unit_plan(&mut self, unit: Unit) -> Result<(Plan, u8)> {
        match unit.source {
            Source::Table {
                schema,
                label,
                used,
            } => {
                let policy = self.catalog()?.policy(&schema)?;
                let filtered = !unit.pushed.is_empty();
                let (access, filter, lookup_filter) = access::with_filters(&schema, unit.pushed);
                let mut rank = access.rank(&schema);
                if rank == 4 && filtered {
                    rank = 3;
                }
                let plan = Plan::Scan(Scan {
                    schema,
                    label,
                    access,
                    filter,
                    lookup_filter,
                    policy,
                    used,
                });
                Ok((plan, rank))
            }
            Source::Plan(plan) => {
                let mut plan = *plan;
                let mut rest = Vec::new();
                for conjunct in unit.pushed {
                    let (pushed, kept) = push_down(plan, conjunct);
                    plan = pushed;
                    rest.extend(kept);
                }
                let plan = match Expr::conjunction(rest) {
                    Some(predicate) => Plan::Filter {
                        input: Box::new(plan),
                        predicate,
                    },
                    None => plan,
                };
                Ok((plan, 4))
            }
        }
    }
}

/// For an inner-style join operator: `Some(on condition)`; `None` for outer joins.
fn inner_constraint(op: &JoinOperator) -> Option<Option<&ast::Expr>> {
    match op {
        JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::CrossJoin(c) => match c {
            JoinConstraint::On(e) => Some(Some(e)),
            JoinConstraint::None => Some(None),
            _ => None,
        },
        _ => None,
    }
}

fn join_constraint(op: &JoinOperator) -> Result<&JoinConstraint> {
    match op {
        JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::CrossJoin(c) => Ok(c),
        _ => Err(SqlError::unsupported("this kind of join")),
    }
}

/// `a = b` where one side reads only columns for which `is_left` holds and the other none of
/// them: (left side, right side).
fn split_equality(e: &Expr, is_left: impl Fn(usize) -> bool) -> Option<(Expr, Expr)> {
    let Expr::Binary(BinOp::Cmp(CmpOp::Eq), a, b) = e else {
        return None;
    };
    if a.has_subquery() || b.has_subquery() {
        return None;
    }
    let side = |x: &Expr| {
        let cols = x.columns();
        if cols.is_empty() {
            None
        } else if cols.iter().all(|&c| is_left(c)) {
            Some(true)
        } else if cols.iter().all(|&c| !is_left(c)) {
            Some(false)
        } else {
            None
        }
    };
    match (side(a), side(b)) {
        (Some(true), Some(false)) => Some(((**a).clone(), (**b).clone())),
        (Some(false), Some(true)) => Some(((**b).clone(), (**a).clone())),
        _ => None,
    }
}

/// Joins the units greedily (see the module docs) and returns rows in the global layout.
fn join_greedy(
    plans: Vec<(Plan, u8)>,
    offsets: &[usize],
    widths: &[usize],
    unit_of_column: &[usize],
    mut pool: Vec<Conjunct>,
) -> Result<Plan> {
    let n = plans.len();
    let ranks: Vec<u8> = plans.iter().map(|(_, r)| *r).collect();
    let mut slots: Vec<Option<Plan>> = plans.into_iter().map(|(p, _)| Some(p)).collect();
    let start = (0..n).min_by_key(|&i| (ranks[i], i)).unwrap_or(0);
    let mut joined: UnitSet = bit(start);
    let mut order = vec![start];
    // Position of each global column in the current row, once its unit is joined.
    let mut position: Vec<Option<usize>> = vec![None; unit_of_column.len()];
    for k in 0..widths[start] {
        position[offsets[start] + k] = Some(k);
    }
    let mut width = widths[start];
    let mut plan = slots[start]
        .take()
        .ok_or_else(|| SqlError::type_err("internal: unit planned twice"))?;
    while order.len() < n {
        let connected = |u: usize, eq_only: bool| {
            pool.iter().any(|c| {
                !c.applied
                    && c.units & bit(u) != 0
                    && (c.units & !bit(u)) & !joined == 0
                    && (!eq_only || is_equality(&c.expr))
            })
        };
        let remaining: Vec<usize> = (0..n).filter(|&u| joined & bit(u) == 0).collect();
        let pick = |eq_only: Option<bool>| {
            remaining
                .iter()
                .copied()
                .filter(|&u| eq_only.is_none_or(|e| connected(u, e)))
                .min_by_key(|&u| (ranks[u], u))
        };
        let Some(next) = pick(Some(true))
            .or_else(|| pick(Some(false)))
            .or_else(|| pick(None))
        else {
            break;
        };
        let right = slots[next]
            .take()
            .ok_or_else(|| SqlError::type_err("internal: unit planned twice"))?;
        let right_off = offsets[next];
        let right_width = widths[next];
        let mut left_keys = Vec::new();
        let mut right_keys = Vec::new();
        let mut residual = Vec::new();
        let now = joined | bit(next);
        for c in pool.iter_mut() {
            if c.applied || c.units & !now != 0 {
                continue;
            }
            c.applied = true;
            let in_next = |col: usize| unit_of_column[col] == next;
            match split_equality(&c.expr, |col| !in_next(col)) {
                Some((l, r)) => {
                    left_keys.push(l.map_columns(&|col| position[col].unwrap_or(0)));
                    right_keys.push(r.map_columns(&|col| col - right_off));
                }
                None => residual.push(c.expr.map_columns(&|col| {
                    if in_next(col) {
                        width + col - right_off
                    } else {
                        position[col].unwrap_or(0)
                    }
                })),
            }
        }
        let lookup = super::lookup_join(&right, &right_keys);
        plan = Plan::Join {
            left: Box::new(plan),
            right: Box::new(right),
            kind: JoinKind::Inner,
            left_keys,
            right_keys,
            residual: Expr::conjunction(residual),
            right_width,
            lookup,
        };
        for k in 0..right_width {
            position[right_off + k] = Some(width + k);
        }
        width += right_width;
        joined = now;
        order.push(next);
    }
    let identity = position.iter().enumerate().all(|(g, p)| *p == Some(g));
    if identity {
        return Ok(plan);
    }
    let exprs = position
        .iter()
        .map(|p| p.map(Expr::Column))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| SqlError::type_err("internal: a FROM item was not joined"))?;
    Ok(Plan::Project {
        input: Box::new(plan),
        exprs,
    })
}

fn is_equality(e: &Expr) -> bool {
    matches!(e, Expr::Binary(BinOp::Cmp(CmpOp::Eq), _, _))
}
