//! [`SqlEngine`]: the entry point. Parses, plans (through the prepared-statement cache),
//! opens the snapshot and executes.

use std::collections::HashMap;
use std::sync::Arc;

use cosmictron_engine::{Database, Snapshot, TableSchema};
use cosmictron_types::Value;
use parking_lot::Mutex;

use crate::config::{Caller, SqlConfig};
use crate::error::{Result, SqlError};
use crate::exec::{ExecCtx, execute_at_most};
use crate::expr::value_ops::{Num, to_num};
use crate::parse::{AsOf, parse};
use crate::plan::{Catalog, QueryPlan, bind_statement, explain};
use crate::result::{QueryResult, ResultColumn};
use crate::rls::{self, Policy};
use crate::views::{NoViews, ViewDef, ViewSource};

/// A statement parsed and planned once, reused while the schemas it read are unchanged.
#[derive(Debug)]
struct Prepared {
    plan: QueryPlan,
    explain: bool,
    as_of: Option<AsOf>,
}

/// A cached statement for one database and RLS bypass flag. The cache is keyed by SQL text
/// first, so a lookup borrows the caller's `&str` and allocates nothing.
#[derive(Debug)]
struct CacheEntry {
    db: String,
    bypass_rls: bool,
    prepared: Arc<Prepared>,
}

#[derive(Debug, Default)]
struct Cache {
    /// Seeded fast hashing: a cached point query's lookup hashes its whole SQL text.
    by_sql: HashMap<String, Vec<CacheEntry>, foldhash::quality::RandomState>,
    entries: usize,
}

/// Compiled policies by schema object: the `Arc` kept here makes the address a stable key
/// (a schema change is a new `Arc`, so it compiles again, against the new columns).
type PolicyCache = HashMap<usize, (Arc<TableSchema>, Option<Arc<Policy>>)>;

/// Compiled policies kept before the cache starts over.
const POLICY_ENTRIES_MAX: usize = 4096;

/// Runs read-only SQL against [`Database`]s. Share one per process (it is `Send + Sync`): it
/// holds the prepared-statement cache and compiled read policies.
pub struct SqlEngine {
    config: SqlConfig,
    cache: Mutex<Cache>,
    /// Compiled read policies, per table schema.
    policies: Mutex<PolicyCache>,
}

impl std::fmt::Debug for SqlEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlEngine")
            .field("config", &self.config)
            .field("cached_statements", &self.cache.lock().entries)
            .finish()
    }
}

/// Name resolution over one snapshot, for one caller.
struct SnapshotCatalog<'a> {
    engine: &'a SqlEngine,
    db_name: &'a str,
    snapshot: &'a Snapshot,
    caller: &'a Caller,
    views: &'a dyn ViewSource,
}

impl Catalog for SnapshotCatalog<'_> {
    fn table(&self, parts: &[String]) -> Result<Arc<TableSchema>> {
        let written = parts.join(".");
        let name = match parts {
            [table] => table,
            [db, table] if db.eq_ignore_ascii_case(self.db_name) => table,
            _ => return Err(SqlError::NoSuchTable(written)),
        };
        let schema = match self.snapshot.table_schema(name) {
            Ok(s) => s,
            Err(cosmictron_engine::EngineError::NoSuchTable(_)) => {
                // SQL names are case-insensitive; engine names are exact.
                let found = self
                    .snapshot
                    .table_names()
                    .into_iter()
                    .find(|t| t.eq_ignore_ascii_case(name))
                    .ok_or_else(|| SqlError::NoSuchTable(written.clone()))?;
                self.snapshot.table_schema(&found)?
            }
            Err(e) => return Err(e.into()),
        };
        if !schema.def.public && !self.caller.bypass_rls {
            // Exactly the error a missing table gets: existence is not revealed.
            return Err(SqlError::NoSuchTable(written));
        }
        Ok(schema)
    }

    fn policy(&self, schema: &Arc<TableSchema>) -> Result<Option<Arc<Policy>>> {
        self.engine.policy(schema)
    }

    fn view(&self, parts: &[String]) -> Option<Arc<ViewDef>> {
        let name = match parts {
            [view] => view,
            [db, view] if db.eq_ignore_ascii_case(self.db_name) => view,
            _ => return None,
        };
        self.views.view(name, self.caller)
    }
}

impl SqlEngine {
    pub fn new(config: SqlConfig) -> SqlEngine {
        SqlEngine {
            config,
            cache: Mutex::new(Cache::default()),
            policies: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &SqlConfig {
        &self.config
    }

    /// Statements currently in the prepared-statement cache.
    pub fn cached_statements(&self) -> usize {
        self.cache.lock().entries
    }

    fn policy(&self, schema: &Arc<TableSchema>) -> Result<Option<Arc<Policy>>> {
        if schema.def.read_policies.is_empty() {
            return Ok(None);
        }
        let key = Arc::as_ptr(schema) as usize;
        if let Some((_, p)) = self.policies.lock().get(&key) {
            return Ok(p.clone());
        }
        let compiled = rls::compile(schema)?.map(Arc::new);
        let mut cache = self.policies.lock();
        if cache.len() >= POLICY_ENTRIES_MAX {
            cache.clear();
        }
        cache.insert(key, (schema.clone(), compiled.clone()));
        Ok(compiled)
    }

    /// Runs one read-only query. `params` bind `$1 … $n`; `caller` decides what read policies
    /// see as `$identity` and whether they apply at all.
    pub fn query(
        &self,
        db: &Database,
        sql: &str,
        params: &[Value],
        caller: &Caller,
    ) -> Result<QueryResult> {
        self.query_with_views(db, sql, params, caller, &NoViews)
    }

    /// [`SqlEngine::query`] where FROM may also name the views of `views` (tables whose rows
    /// it computes for each query, on the query's snapshot, for `caller`).
    pub fn query_with_views(
        &self,
        db: &Database,
        sql: &str,
        params: &[Value],
        caller: &Caller,
        views: &dyn ViewSource,
    ) -> Result<QueryResult> {
        let cached = self.cached(db.name(), caller.bypass_rls, sql);
        let (prepared, snapshot) = match cached {
            Some(p) => {
                let snapshot = open_snapshot(db, p.as_of, params)?;
                if still_valid(&p.plan, &snapshot, views, caller) {
                    (p, snapshot)
                } else {
                    let p = self.prepare(db, sql, caller, &snapshot, views)?;
                    self.remember(db.name(), caller.bypass_rls, sql, p.clone());
                    (p, snapshot)
                }
            }
            None => {
                let parsed = parse(sql, &self.config)?;
                let snapshot = open_snapshot(db, parsed.as_of, params)?;
                let catalog = SnapshotCatalog {
                    engine: self,
                    db_name: db.name(),
                    snapshot: &snapshot,
                    caller,
                    views,
                };
                let plan = bind_statement(&parsed.query, &catalog, &self.config)?;
                let p = Arc::new(Prepared {
                    plan,
                    explain: parsed.explain,
                    as_of: parsed.as_of,
                });
                self.remember(db.name(), caller.bypass_rls, sql, p.clone());
                (p, snapshot)
            }
        };
        self.run(&prepared, &snapshot, params, caller, views)
    }

    /// Parses and plans `sql` against `snapshot` for `caller`, bypassing the statement cache
    /// (subscriptions keep their plan for as long as they live).
    pub(crate) fn plan_at(
        &self,
        db: &Database,
        sql: &str,
        caller: &Caller,
        snapshot: &Snapshot,
    ) -> Result<(crate::parse::Parsed, QueryPlan)> {
        let parsed = parse(sql, &self.config)?;
        let catalog = SnapshotCatalog {
            engine: self,
            db_name: db.name(),
            snapshot,
            caller,
            views: &NoViews,
        };
        let plan = bind_statement(&parsed.query, &catalog, &self.config)?;
        Ok((parsed, plan))
    }

    /// Parses and plans again (the schema changed since the cached plan was made).
    fn prepare(
        &self,
        db: &Database,
        sql: &str,
        caller: &Caller,
        snapshot: &Snapshot,
        views: &dyn ViewSource,
    ) -> Result<Arc<Prepared>> {
        let parsed = parse(sql, &self.config)?;
        let catalog = SnapshotCatalog {
            engine: self,
            db_name: db.name(),
            snapshot,
            caller,
            views,
        };
        let plan = bind_statement(&parsed.query, &catalog, &self.config)?;
        Ok(Arc::new(Prepared {
            plan,
            explain: parsed.explain,
            as_of: parsed.as_of,
        }))
    }

    fn cached(&self, db: &str, bypass_rls: bool, sql: &str) -> Option<Arc<Prepared>> {
        let cache = self.cache.lock();
        let entries = cache.by_sql.get(sql)?;
        entries
            .iter()
            .find(|e| e.bypass_rls == bypass_rls && e.db == db)
            .map(|e| e.prepared.clone())
    }

    fn remember(&self, db: &str, bypass_rls: bool, sql: &str, prepared: Arc<Prepared>) {
        if self.config.cache_entries_max == 0 {
            return;
        }
        let mut cache = self.cache.lock();
        if cache.entries >= self.config.cache_entries_max {
            // Simple and bounded: start over rather than track recency.
            cache.by_sql.clear();
            cache.entries = 0;
        }
        let list = cache.by_sql.entry(sql.to_owned()).or_default();
        match list
            .iter_mut()
            .find(|e| e.bypass_rls == bypass_rls && e.db == db)
        {
            Some(e) => e.prepared = prepared,
            None => {
                list.push(CacheEntry {
                    db: db.to_owned(),
                    bypass_rls,
                    prepared,
                });
                cache.entries += 1;
            }
        }
    }

    fn run(
        &self,
        prepared: &Prepared,
        snapshot: &Snapshot,
        params: &[Value],
        caller: &Caller,
        views: &dyn ViewSource,
    ) -> Result<QueryResult> {
        let tx_id = snapshot.tx_id();
        if prepared.explain {
            let rows = explain(&prepared.plan)
                .into_iter()
                .map(|l| vec![Value::String(l)])
                .collect();
            return Ok(QueryResult {
                columns: Arc::new([ResultColumn {
                    name: "plan".into(),
                    ty: Some(cosmictron_types::ScalarType::String),
                }]),
                rows,
                tx_id,
            });
        }
        let ctx = ExecCtx::new(
            snapshot,
            params,
            caller,
            &prepared.plan.subqueries,
            &self.config,
            views,
        );
        // One row past the limit is enough to know it is exceeded (and stops a plain scan).
        let rows = execute_at_most(
            &prepared.plan.root,
            &ctx,
            Some(self.config.rows_max.saturating_add(1)),
        )?;
        if rows.len() > self.config.rows_max {
            return Err(SqlError::LimitExceeded(format!(
                "the result has more than {} rows; add a LIMIT or a narrower WHERE",
                self.config.rows_max
            )));
        }
        Ok(QueryResult {
            columns: prepared.plan.columns.clone(),
            rows,
            tx_id,
        })
    }
}

/// True when every table the plan read still has the schema it was planned against, and
/// every view it read still has the same definition (a module upgrade may change it).
fn still_valid(
    plan: &QueryPlan,
    snapshot: &Snapshot,
    views: &dyn ViewSource,
    caller: &Caller,
) -> bool {
    plan.tables.iter().all(|t| {
        snapshot
            .table_schema(t.name())
            .is_ok_and(|now| Arc::ptr_eq(&now, t))
    }) && plan
        .views
        .iter()
        .all(|v| views.view(&v.name, caller).is_some_and(|now| *now == **v))
}

fn open_snapshot(db: &Database, as_of: Option<AsOf>, params: &[Value]) -> Result<Snapshot> {
    let tx = match as_of {
        None => return Ok(db.snapshot()?),
        Some(AsOf::Tx(n)) => n,
        Some(AsOf::Param(i)) => {
            let v = params
                .get(i)
                .ok_or_else(|| SqlError::Parameter(format!("AS OF TX ${} was not given", i + 1)))?;
            match to_num(v) {
                Some(Num::Int(n)) if n >= 0 && !matches!(v, Value::String(_)) => n as u64,
                _ => {
                    return Err(SqlError::Parameter(
                        "AS OF TX needs a non-negative integer transaction id".into(),
                    ));
                }
            }
        }
    };
    Ok(db.as_of(tx)?)
}
