//! One [`Subscriptions`] manager per module database, made on first use and shared by every
//! connection that subscribes to that module.

use std::collections::HashMap;
use std::sync::Arc;

use cosmictron_sql::{SqlEngine, SubscriptionConfig, Subscriptions};
use parking_lot::Mutex;

use crate::error::Result;
use crate::facade::Cosmictron;

#[derive(Debug, Default)]
pub(crate) struct SubscriptionHub {
    managers: Mutex<HashMap<String, Arc<Subscriptions>>>,
}

impl SubscriptionHub {
    pub(crate) fn manager(
        &self,
        db: &Cosmictron,
        sql: &Arc<SqlEngine>,
        module: &str,
        queue_capacity: usize,
    ) -> Result<Arc<Subscriptions>> {
        let mut managers = self.managers.lock();
        if let Some(m) = managers.get(module) {
            return Ok(m.clone());
        }
        let database = db.database(module)?;
        let config = SubscriptionConfig {
            queue_capacity,
            ..SubscriptionConfig::default()
        };
        let m = Subscriptions::new(database, sql.clone(), config);
        managers.insert(module.to_owned(), m.clone());
        Ok(m)
    }

    /// Drops a module's manager (after undeploy, or a deploy that cleared its data): the next
    /// subscribe makes one over the module's new database.
    pub(crate) fn forget(&self, module: &str) {
        self.managers.lock().remove(module);
    }

    /// Subscribers and subscriptions, for diagnostics.
    pub(crate) fn stats(&self) -> Vec<(String, cosmictron_sql::SubscriptionStats)> {
        self.managers
            .lock()
            .iter()
            .map(|(name, m)| (name.clone(), m.stats()))
            .collect()
    }
}
