//! Row-level security: a table's read policies, compiled once, applied at every base-table
//! scan.
//!
//! A policy is an SQL boolean expression over the table's columns, with `$identity` bound to
//! the caller's identity (NULL for an anonymous caller). A table with several policies shows a
//! row when *any* of them is true (permissive policies, as in PostgreSQL). Policies are applied
//! in the scan, before the access path's rows reach any other operator and before pushed-down
//! filters run, so a hidden row is never counted, joined, returned through a subquery, or seen
//! by an expression that could fail on it. Policies may not contain subqueries.

use cosmictron_engine::TableSchema;
use sqlparser::parser::Parser;

use crate::error::{Result, SqlError};
use crate::expr::{BinOp, Expr};
use crate::parse::dialect;
use crate::plan::{Scope, ScopeColumn, bind_standalone};

/// A compiled read policy.
#[derive(Debug)]
pub(crate) struct Policy {
    pub(crate) predicate: Expr,
}

/// Nesting allowed in a policy expression.
const POLICY_DEPTH_MAX: usize = 64;

/// Compiles the read policies of `schema`; `None` when it has none (every row visible).
pub(crate) fn compile(schema: &TableSchema) -> Result<Option<Policy>> {
    let policies = &schema.def.read_policies;
    if policies.is_empty() {
        return Ok(None);
    }
    let scope = Scope {
        columns: schema
            .columns()
            .iter()
            .map(|c| ScopeColumn {
                qualifier: Some(schema.name().to_owned()),
                name: c.name.clone(),
                ty: Some(c.ty.scalar),
                has_affinity: true,
                origin: None,
            })
            .collect(),
    };
    let invalid = |reason: String| SqlError::Policy {
        table: schema.name().to_owned(),
        reason,
    };
    let mut combined: Option<Expr> = None;
    for text in policies {
        let d = dialect();
        let ast = Parser::new(&d)
            .with_recursion_limit(POLICY_DEPTH_MAX)
            .try_with_sql(text)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| invalid(e.to_string()))?;
        let bound =
            bind_standalone(&ast, &scope, POLICY_DEPTH_MAX).map_err(|e| invalid(e.to_string()))?;
        let mut uses_params = false;
        bound.walk(&mut |e| uses_params |= matches!(e, Expr::Param(_)));
        if uses_params {
            return Err(invalid("only $identity may be used as a parameter".into()));
        }
        combined = Some(match combined {
            None => bound,
            Some(prev) => Expr::Binary(BinOp::Or, Box::new(prev), Box::new(bound)),
        });
    }
    Ok(combined.map(|predicate| Policy { predicate }))
}
