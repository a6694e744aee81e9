//! [`ModuleViews`]: a module's `#[view]` functions as the SQL engine's view source, so
//! `SELECT * FROM active_sessions` runs the module's `active_sessions` on the query's snapshot.

use std::sync::Arc;

use cosmictron_engine::Snapshot;
use cosmictron_sql::{
    Caller, SqlConfig, SqlError, ViewDef, ViewError, ViewSource, referenced_tables,
};
use cosmictron_types::{Identity, Value};

use crate::facade::Deployed;

/// The views of one deployed module (the version deployed when this was taken: a query in
/// flight finishes with it even if the module is upgraded meanwhile).
#[derive(Clone, Debug)]
pub struct ModuleViews {
    deployed: Arc<Deployed>,
}

impl ModuleViews {
    pub(crate) fn new(deployed: Arc<Deployed>) -> ModuleViews {
        ModuleViews { deployed }
    }

    /// Refuses a subscription that reads a view: views are computed by module code per query,
    /// so their changes cannot be derived from transactions.
    pub(crate) fn refuse_subscription(
        &self,
        query: &str,
        caller: &Caller,
        config: &SqlConfig,
    ) -> crate::Result<()> {
        let tables = referenced_tables(query, config)?;
        match tables
            .iter()
            .filter_map(|t| t.last())
            .find(|name| self.view(name, caller).is_some())
        {
            Some(view) => Err(SqlError::UnsupportedSubscription(format!(
                "`{view}` is a view, computed by its module's code for each query, so its \
                 changes cannot be derived from a transaction; subscribe to the tables it reads"
            ))
            .into()),
            None => Ok(()),
        }
    }

    /// Whether the module declares a view named `name` (compared without case), whoever may
    /// read it.
    pub fn declares(&self, name: &str) -> bool {
        self.deployed
            .module
            .views()
            .any(|(view, _)| view.eq_ignore_ascii_case(name))
    }
}

impl ViewSource for ModuleViews {
    fn view(&self, name: &str, caller: &Caller) -> Option<Arc<ViewDef>> {
        let (name, spec) = self
            .deployed
            .module
            .views()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))?;
        // A private view is invisible to anyone but the owner, exactly like a private table.
        if !spec.public && !caller.bypass_rls {
            return None;
        }
        Some(Arc::new(ViewDef {
            name: name.to_owned(),
            columns: spec.columns.clone(),
        }))
    }

    fn rows(
        &self,
        view: &ViewDef,
        snapshot: &Snapshot,
        caller: &Caller,
    ) -> Result<Vec<Vec<Value>>, ViewError> {
        // An anonymous caller is the zero identity: never anyone's rows.
        let sender = caller.identity.unwrap_or(Identity::ZERO);
        self.deployed
            .module
            .call_view(snapshot.clone(), &view.name, sender)
            .map_err(|e| ViewError {
                code: e.code().to_owned(),
                message: e.to_string(),
                http_status: e.http_status(),
            })
    }
}
