//! [`Cosmictron`]: the embedding facade — call reducers, read tables, connect clients, run
//! schedules. Deploy, upgrade and undeploy are in `deploy.rs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use cosmictron_engine::{Database, Engine, EngineConfig, Snapshot, TxId};
use cosmictron_sql::{Caller, QueryResult, SqlEngine};
use cosmictron_types::{ConnectionId, Identity, Timestamp, Value};
use cosmictron_wasm_host::{
    Args, CallContext, CallOutcome, HostConfig, LoadedModule, LogLine, PendingCall, Schedule,
    WasmHost,
};
use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};
use crate::module_info::{self, ModuleInfo};
use crate::scheduler::{Scheduler, SchedulerConfig};
use crate::store::{ModuleMeta, ModuleStore};
use crate::views::ModuleViews;

/// Configuration of the engine, the module host and the scheduler.
#[derive(Clone, Debug, Default)]
pub struct CosmictronConfig {
    pub engine: EngineConfig,
    pub host: HostConfig,
    pub scheduler: SchedulerConfig,
}

/// What a deploy produced.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeployInfo {
    pub name: String,
    /// `sha256:<hex>` of the module's bytes.
    pub version: String,
    pub reducers: Vec<String>,
}

/// What a committed reducer call produced.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CallResult {
    /// The transaction's id, or `None` when the reducer wrote nothing.
    pub tx_id: Option<TxId>,
    pub duration_ms: f64,
    /// The reducer's return value.
    pub result: serde_json::Value,
}

/// A deployed module: its code, its database, who owns it.
#[derive(Debug)]
pub(crate) struct Deployed {
    pub(crate) module: LoadedModule,
    pub(crate) db: Database,
    pub(crate) meta: ModuleMeta,
}

impl Deployed {
    pub(crate) fn info(&self) -> DeployInfo {
        DeployInfo {
            name: self.meta.name.clone(),
            version: self.meta.version.clone(),
            reducers: self
                .module
                .def()
                .reducers
                .iter()
                .filter(|r| r.http.is_none() && r.view.is_none())
                .map(|r| r.name.clone())
                .collect(),
        }
    }
}

/// What the facade and its scheduler thread share.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) host: WasmHost,
    pub(crate) store: ModuleStore,
    /// Deployed modules by name. Written only by deploy and undeploy; calls clone the `Arc`
    /// and let go, so a call in flight finishes on the version it started with.
    pub(crate) modules: RwLock<BTreeMap<String, Arc<Deployed>>>,
    /// Serializes deploys and undeploys, so two of them cannot race on one name's database.
    pub(crate) deploy_lock: Mutex<()>,
    pub(crate) scheduler: SchedulerConfig,
    /// Modules whose HTTP routes are served at the root too, in order of precedence.
    pub(crate) exposed: RwLock<Vec<String>>,
}

/// An embedded Cosmictron: one data directory, any number of modules, each with its own
/// database named after it.
#[derive(Debug)]
pub struct Cosmictron {
    pub(crate) inner: Arc<Inner>,
    /// Fires scheduled reducers in the background (none when the interval is `None`).
    scheduler: Option<Scheduler>,
}

pub(crate) fn now() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    Timestamp(i64::try_from(micros).unwrap_or(i64::MAX))
}

fn call_result(start: Instant, outcome: CallOutcome) -> CallResult {
    CallResult {
        tx_id: outcome.tx_id,
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        result: outcome.value(),
    }
}

/// What a committed reducer call produced, with the return value as the module's JSON text
/// (for a server that sends it on without parsing it).
#[derive(Clone, Debug, serde::Serialize)]
pub struct RawCallResult {
    pub tx_id: Option<TxId>,
    pub duration_ms: f64,
    pub result: Box<serde_json::value::RawValue>,
}

impl Inner {
    pub(crate) fn deployed(&self, module: &str) -> Result<Arc<Deployed>> {
        self.modules
            .read()
            .get(module)
            .cloned()
            .ok_or_else(|| Error::NoSuchModule(module.to_owned()))
    }

    /// Fires every module's schedules due at `now`; returns how many ran (failures included,
    /// which are in the module's log).
    pub(crate) fn fire_due_schedules(&self, now: Timestamp) -> usize {
        let modules: Vec<Arc<Deployed>> = self.modules.read().values().cloned().collect();
        let mut fired = 0;
        for d in modules {
            match d
                .module
                .fire_due(&d.db, now, self.scheduler.runs_per_tick_max)
            {
                Ok(runs) => fired += runs.len(),
                Err(e) => {
                    tracing::warn!(module = %d.meta.name, error = %e, "firing schedules failed")
                }
            }
        }
        fired
    }
}

impl Cosmictron {
    /// Opens (creating if needed) a data directory: recovers every database, reloads every
    /// deployed module, and starts the scheduler.
    pub fn open(dir: impl AsRef<Path>, config: CosmictronConfig) -> Result<Cosmictron> {
        let dir = dir.as_ref();
        let engine = Engine::open(dir, config.engine)?;
        let host = WasmHost::new(config.host)?;
        let store = ModuleStore::open(dir)?;
        let inner = Arc::new(Inner {
            engine,
            host,
            store,
            modules: RwLock::new(BTreeMap::new()),
            deploy_lock: Mutex::new(()),
            scheduler: config.scheduler.clone(),
            exposed: RwLock::new(Vec::new()),
        });
        let mut this = Cosmictron {
            inner,
            scheduler: None,
        };
        this.reload_modules()?;
        if let Some(interval) = config.scheduler.interval {
            let scheduler = Scheduler::start(Arc::downgrade(&this.inner), interval)
                .map_err(|e| Error::io("start the scheduler thread", dir, e))?;
            this.scheduler = Some(scheduler);
        }
        Ok(this)
    }

    /// Calls a reducer of `module` as `sender`, with its arguments by name as a JSON object.
    /// The call is one transaction: committed if the reducer returns `Ok`, rolled back on any
    /// error.
    pub fn call(
        &self,
        module: &str,
        reducer: &str,
        args: &serde_json::Value,
        sender: Identity,
    ) -> Result<CallResult> {
        self.call_with(module, reducer, Args::Json(args), CallContext::new(sender))
    }

    /// Calls a reducer with arguments as JSON or MessagePack and the caller's connection (for
    /// calls over a WebSocket).
    pub fn call_with(
        &self,
        module: &str,
        reducer: &str,
        args: Args<'_>,
        ctx: CallContext,
    ) -> Result<CallResult> {
        let start = Instant::now();
        let outcome = self.call_pending(module, reducer, args, ctx)?.wait()?;
        Ok(call_result(start, outcome))
    }

    /// Like [`Cosmictron::call_with`], with the return value left as the module's JSON text:
    /// the fast path for a server answering with it.
    pub fn call_raw(
        &self,
        module: &str,
        reducer: &str,
        args: Args<'_>,
        ctx: CallContext,
    ) -> Result<RawCallResult> {
        let start = Instant::now();
        let outcome = self.call_pending(module, reducer, args, ctx)?.wait()?;
        Ok(RawCallResult {
            tx_id: outcome.tx_id,
            duration_ms: start.elapsed().as_secs_f64() * 1000.0,
            result: outcome.result,
        })
    }

    /// Runs the reducer and logs its transaction without waiting for the fsync: the returned
    /// [`PendingCall`] is awaited (or waited for) to learn the commit. The writer is free for
    /// the next call as soon as this returns; a server awaits many pending calls at once, so
    /// they share fsyncs without a thread each.
    pub fn call_pending(
        &self,
        module: &str,
        reducer: &str,
        args: Args<'_>,
        ctx: CallContext,
    ) -> Result<PendingCall> {
        let deployed = self.inner.deployed(module)?;
        Ok(deployed
            .module
            .call_pending(&deployed.db, reducer, args, ctx)?)
    }

    /// Runs the module's `client_connected` reducer for a client that connected (a WebSocket
    /// opened); `Ok(None)` when the module has none. An error means the module refused the
    /// connection (the server should close it).
    pub fn client_connected(
        &self,
        module: &str,
        identity: Identity,
        connection_id: ConnectionId,
    ) -> Result<Option<CallResult>> {
        self.lifecycle(module, "client_connected", identity, connection_id)
    }

    /// Runs the module's `client_disconnected` reducer for a client that went away.
    pub fn client_disconnected(
        &self,
        module: &str,
        identity: Identity,
        connection_id: ConnectionId,
    ) -> Result<Option<CallResult>> {
        self.lifecycle(module, "client_disconnected", identity, connection_id)
    }

    fn lifecycle(
        &self,
        module: &str,
        lifecycle: &str,
        identity: Identity,
        connection_id: ConnectionId,
    ) -> Result<Option<CallResult>> {
        let deployed = self.inner.deployed(module)?;
        let start = Instant::now();
        let ctx = CallContext {
            sender: identity,
            connection_id: Some(connection_id),
        };
        let outcome = deployed
            .module
            .call_lifecycle(&deployed.db, lifecycle, ctx)?;
        Ok(outcome.map(|o| call_result(start, o)))
    }

    /// Fires every module's schedules due at `now` (the background scheduler does this with
    /// the current time); returns how many ran. Lets tests and embedders advance time
    /// deterministically.
    pub fn run_due_schedules(&self, now: Timestamp) -> usize {
        self.inner.fire_due_schedules(now)
    }

    /// A module's pending schedules, soonest first.
    pub fn schedules(&self, module: &str) -> Result<Vec<Schedule>> {
        let deployed = self.inner.deployed(module)?;
        Ok(deployed.module.schedules(&deployed.db)?)
    }

    /// A module's most recent log lines, oldest first.
    pub fn logs(&self, module: &str) -> Result<Vec<LogLine>> {
        Ok(self.inner.deployed(module)?.module.logs())
    }

    /// The deployed modules.
    pub fn modules(&self) -> Vec<DeployInfo> {
        self.inner
            .modules
            .read()
            .values()
            .map(|d| d.info())
            .collect()
    }

    /// The modules that have a callable reducer named `reducer` (without describing every
    /// module: this runs on every call by reducer name).
    pub fn modules_with_reducer(&self, reducer: &str) -> Vec<String> {
        self.inner
            .modules
            .read()
            .iter()
            .filter(|(_, d)| {
                d.module
                    .def()
                    .reducer(reducer)
                    .is_some_and(|(_, r)| r.is_callable())
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// A deployed module described: version, owner, deploy time, tables, reducers.
    pub fn module_info(&self, module: &str) -> Result<ModuleInfo> {
        let d = self.inner.deployed(module)?;
        Ok(module_info::describe(
            &d.meta.name,
            &d.meta.version,
            d.meta.owner,
            d.meta.deployed_at,
            d.module.def(),
        ))
    }

    /// The owner of a deployed module.
    pub fn owner(&self, module: &str) -> Result<Identity> {
        Ok(self.inner.deployed(module)?.meta.owner)
    }

    /// A module's database (for SQL and subscriptions; no policies applied by itself).
    pub fn database(&self, module: &str) -> Result<Database> {
        Ok(self.inner.deployed(module)?.db.clone())
    }

    /// A module's views, for [`SqlEngine::query_with_views`] (see [`Cosmictron::query`]).
    pub fn views(&self, module: &str) -> Result<ModuleViews> {
        Ok(ModuleViews::new(self.inner.deployed(module)?))
    }

    /// Runs read-only SQL against a module's database for `caller`: its tables (under their
    /// read policies, unless the caller bypasses them) and its views.
    pub fn query(
        &self,
        sql: &SqlEngine,
        module: &str,
        query: &str,
        params: &[Value],
        caller: &Caller,
    ) -> Result<QueryResult> {
        let deployed = self.inner.deployed(module)?;
        let views = ModuleViews::new(deployed.clone());
        Ok(sql.query_with_views(&deployed.db, query, params, caller, &views)?)
    }

    /// A consistent snapshot of a module's database (no policies applied: for the embedder).
    pub fn snapshot(&self, module: &str) -> Result<Snapshot> {
        Ok(self.inner.deployed(module)?.db.snapshot()?)
    }

    /// Makes everything acknowledged so far durable (a no-op under the default fsync policy).
    pub fn flush(&self) -> Result<()> {
        let modules: Vec<_> = self.inner.modules.read().values().cloned().collect();
        for deployed in modules {
            deployed.db.flush()?;
        }
        Ok(())
    }

    /// Every current row of a table of a module (no policies applied: for the embedder).
    pub fn rows(&self, module: &str, table: &str) -> Result<Vec<Vec<Value>>> {
        Ok(self.snapshot(module)?.scan(table)?)
    }
}

impl Drop for Cosmictron {
    fn drop(&mut self) {
        // Stop firing schedules before the engine goes.
        self.scheduler = None;
    }
}
