//! [`WritePolicy`]: a table's write policies (`#[rls(write = "...")]`), compiled once and
//! checked against each row a reducer inserts, updates or deletes.
//!
//! The same language as read policies (see `rls.rs`): SQL boolean expressions over the row's
//! columns with `$identity` bound to the caller; a row may be written when *any* policy is
//! true (NULL counts as false). Compiling reuses the read-policy compiler on a copy of the
//! definition whose read policies are the write policies.

use std::sync::Arc;

use cosmictron_engine::TableSchema;
use cosmictron_types::{Identity, TableDef, Value};

use crate::error::{Result, SqlError};
use crate::expr::{Env, eval_predicate};
use crate::rls::{self, Policy};

/// A table's write policies, ready to check rows.
#[derive(Debug)]
pub struct WritePolicy {
    table: String,
    policy: Policy,
}

/// `$identity` and nothing else: write policies take no parameters and no subqueries.
struct IdentityEnv(Identity);

impl Env for IdentityEnv {
    fn param(&self, index: usize) -> Result<Value> {
        Err(SqlError::Parameter(format!("${}", index + 1)))
    }
    fn identity(&self) -> Value {
        Value::Identity(self.0)
    }
    fn outer(&self, _: usize, _: usize) -> Result<Value> {
        Err(SqlError::Unsupported(
            "outer columns in a write policy".into(),
        ))
    }
    fn subquery(&self, _: usize, _: &[Value]) -> Result<Arc<Vec<Vec<Value>>>> {
        Err(SqlError::Unsupported("subqueries in a write policy".into()))
    }
}

impl WritePolicy {
    /// Compiles the write policies of `def`; `None` when it has none (every write allowed).
    /// An invalid policy is a [`SqlError::Policy`] naming the table.
    pub fn compile(def: &TableDef) -> Result<Option<WritePolicy>> {
        if def.write_policies.is_empty() {
            return Ok(None);
        }
        let mut as_read = def.clone();
        as_read.read_policies = def.write_policies.clone();
        let schema = TableSchema {
            id: 0,
            def: as_read,
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            has_primary_key: !def.primary_key.is_empty(),
            auto_inc: None,
            pii_columns: Vec::new(),
            since_tx: 0,
        };
        let policy = rls::compile(&schema).map_err(|e| match e {
            SqlError::Policy { table, reason } => SqlError::Policy {
                table,
                reason: format!("write policy: {reason}"),
            },
            other => other,
        })?;
        Ok(policy.map(|policy| WritePolicy {
            table: def.name.clone(),
            policy,
        }))
    }

    /// The table the policy belongs to.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// True when `identity` may write `row` (values in column order).
    pub fn allows(&self, row: &[Value], identity: Identity) -> Result<bool> {
        eval_predicate(&self.policy.predicate, row, &IdentityEnv(identity))
    }
}

#[cfg(test)]
mod tests {
    use cosmictron_types::ScalarType;

    use super::*;

    fn notes(policies: &[&str]) -> TableDef {
        let mut def = TableDef::new("notes")
            .column("id", ScalarType::U64)
            .column("owner", ScalarType::Identity)
            .primary_key(&["id"]);
        for p in policies {
            def = def.write_policy(p);
        }
        def
    }

    #[test]
    fn rows_are_checked_against_the_caller() {
        // Proves `$identity` is bound to the writer and that any one policy suffices.
        let me = Identity([1; 32]);
        let other = Identity([2; 32]);
        let policy = WritePolicy::compile(&notes(&["owner = $identity", "id = 0"]))
            .expect("compiles")
            .expect("has a policy");
        assert_eq!(policy.table(), "notes");
        let mine = [Value::U64(5), Value::Identity(me)];
        assert!(policy.allows(&mine, me).expect("eval"));
        assert!(!policy.allows(&mine, other).expect("eval"));
        let zero = [Value::U64(0), Value::Identity(me)];
        assert!(policy.allows(&zero, other).expect("eval"), "second policy");
    }

    #[test]
    fn no_policy_and_bad_policies() {
        // Proves a table without write policies needs no check, and a broken policy is a
        // coded error naming the table.
        assert!(WritePolicy::compile(&notes(&[])).expect("ok").is_none());
        let err = WritePolicy::compile(&notes(&["nope = 1"])).expect_err("unknown column");
        assert_eq!(err.code(), "invalid_policy");
        assert!(err.to_string().contains("write policy"), "{err}");
        let err = WritePolicy::compile(&notes(&["id = $1"])).expect_err("params");
        assert_eq!(err.code(), "invalid_policy");
    }
}
