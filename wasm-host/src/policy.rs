//! [`WritePolicies`]: a module's `#[rls(write = "...")]` policies, compiled at load and checked
//! by the data calls on every row a client's reducer call inserts, updates or deletes.
//!
//! - insert: the new row must pass;
//! - update: the row being replaced and the new row must both pass (a caller can neither take
//!   over a row it may not write nor hand one away);
//! - delete: the row being deleted must pass.
//!
//! `$identity` is the call's sender. Runs as the module itself (`init`, scheduled reducers)
//! are not restricted. A refused write is an error to the module with code
//! `write_policy_violation` (HTTP 403); the module can handle it or return it, rolling back.

use std::collections::HashMap;

use cosmictron_sql::WritePolicy;
use cosmictron_types::{Identity, Value};

use crate::def::ModuleDef;
use crate::error::ModuleError;

/// The stable code of a refused write.
pub(crate) const WRITE_POLICY_VIOLATION: &str = "write_policy_violation";

/// The compiled write policies of a module's tables (only tables that have some).
#[derive(Debug, Default)]
pub(crate) struct WritePolicies {
    by_table: HashMap<String, WritePolicy>,
}

/// Which operation a policy check guards, for the error message.
#[derive(Clone, Copy, Debug)]
pub(crate) enum WriteKind {
    Insert,
    Update,
    Delete,
}

impl WriteKind {
    fn verb(self) -> &'static str {
        match self {
            WriteKind::Insert => "insert into",
            WriteKind::Update => "update",
            WriteKind::Delete => "delete from",
        }
    }
}

impl WritePolicies {
    /// Compiles every table's write policies; each invalid one is a problem of its own.
    pub(crate) fn compile(def: &ModuleDef) -> Result<WritePolicies, Vec<String>> {
        let mut by_table = HashMap::new();
        let mut problems = Vec::new();
        for table in &def.tables {
            match WritePolicy::compile(table) {
                Ok(Some(policy)) => {
                    by_table.insert(table.name.clone(), policy);
                }
                Ok(None) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        if problems.is_empty() {
            Ok(WritePolicies { by_table })
        } else {
            Err(problems)
        }
    }

    /// Checks `row` of `table` for a write by `identity` (`None`: the module itself).
    pub(crate) fn check(
        &self,
        table: &str,
        row: &[Value],
        identity: Option<Identity>,
        kind: WriteKind,
    ) -> Result<(), ModuleError> {
        let (Some(identity), Some(policy)) = (identity, self.by_table.get(table)) else {
            return Ok(());
        };
        match policy.allows(row, identity) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ModuleError {
                code: WRITE_POLICY_VIOLATION.to_owned(),
                message: format!(
                    "the write policy of table `{table}` does not allow this caller to {} it",
                    kind.verb()
                ),
                details: None,
                http_status: 403,
            }),
            // An expression that fails on a row (a type error) refuses the write: a policy
            // that cannot be evaluated never allows.
            Err(e) => Err(ModuleError {
                code: WRITE_POLICY_VIOLATION.to_owned(),
                message: format!("the write policy of table `{table}` failed: {e}"),
                details: None,
                http_status: 403,
            }),
        }
    }

    pub(crate) fn has(&self, table: &str) -> bool {
        self.by_table.contains_key(table)
    }
}
