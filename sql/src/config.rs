//! Limits and the caller: what a query may cost and who is asking.

use std::time::Duration;

use cosmictron_types::Identity;

/// Limits on every query. The defaults are safe for a server exposed to clients; raise them
/// for trusted callers (the conformance runner does).
#[derive(Clone, Debug)]
pub struct SqlConfig {
    /// Longest SQL text accepted, in bytes.
    pub sql_bytes_max: usize,
    /// Deepest expression nesting accepted (parser and binder both check it).
    pub expr_depth_max: usize,
    /// Most rows a result may have.
    pub rows_max: usize,
    /// Most rows any intermediate step (a join, a sort) may hold: bounds memory.
    pub intermediate_rows_max: usize,
    /// Longest a query may run; checked while it runs, every few hundred rows.
    pub time_max: Duration,
    /// Prepared statements kept in the cache (keyed by SQL text); 0 disables caching.
    pub cache_entries_max: usize,
    /// Most tables one FROM clause may join.
    pub join_tables_max: usize,
}

impl Default for SqlConfig {
    fn default() -> Self {
        SqlConfig {
            sql_bytes_max: 64 * 1024,
            expr_depth_max: 128,
            rows_max: 100_000,
            intermediate_rows_max: 10_000_000,
            time_max: Duration::from_secs(10),
            cache_entries_max: 1024,
            join_tables_max: 64,
        }
    }
}

/// Who runs a query. Read policies see `identity` as `$identity`; `bypass_rls` (the module's
/// owner or an admin) skips read policies and may read private tables. There is no implicit
/// bypass: it must be asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    pub identity: Option<Identity>,
    pub bypass_rls: bool,
}

impl Caller {
    /// An authenticated client, subject to read policies.
    pub fn user(identity: Identity) -> Caller {
        Caller {
            identity: Some(identity),
            bypass_rls: false,
        }
    }

    /// An unauthenticated client: `$identity` is NULL, so identity-based policies hide rows.
    pub fn anonymous() -> Caller {
        Caller::default()
    }

    /// The owner or an admin: read policies are skipped and private tables are visible.
    pub fn owner() -> Caller {
        Caller {
            identity: None,
            bypass_rls: true,
        }
    }
}
