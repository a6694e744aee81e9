//! [`Cosmictron`]: the embedding facade — deploy modules, call reducers, read tables.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use cosmictron_engine::{Database, Engine, EngineConfig, Snapshot, TxId};
use cosmictron_types::{Identity, Value, is_identifier};
use cosmictron_wasm_host::{HostConfig, LoadedModule, LogLine, WasmHost};
use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{ModuleMeta, ModuleStore};

/// Configuration of the engine and of the module host.
#[derive(Clone, Debug, Default)]
pub struct CosmictronConfig {
    pub engine: EngineConfig,
    pub host: HostConfig,
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
struct Deployed {
    module: LoadedModule,
    db: Database,
    meta: ModuleMeta,
}

impl Deployed {
    fn info(&self) -> DeployInfo {
        DeployInfo {
            name: self.meta.name.clone(),
            version: self.meta.version.clone(),
            reducers: self
                .module
                .def()
                .reducers
                .iter()
                .map(|r| r.name.clone())
                .collect(),
        }
    }
}

/// An embedded Cosmictron: one data directory, any number of modules, each with its own
/// database named after it.
#[derive(Debug)]
pub struct Cosmictron {
    engine: Engine,
    host: WasmHost,
    store: ModuleStore,
    /// Deployed modules by name. Written only by deploy; calls clone the `Arc` and let go.
    modules: RwLock<BTreeMap<String, Arc<Deployed>>>,
    /// Serializes deploys, so two deploys of one name cannot both create its database.
    deploy_lock: Mutex<()>,
}

fn version_of(wasm: &[u8]) -> String {
    let digest = Sha256::digest(wasm);
    let mut hex = String::with_capacity(7 + 64);
    hex.push_str("sha256:");
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

impl Cosmictron {
    /// Opens (creating if needed) a data directory: recovers every database and reloads every
    /// deployed module.
    pub fn open(dir: impl AsRef<Path>, config: CosmictronConfig) -> Result<Cosmictron> {
        let dir = dir.as_ref();
        let engine = Engine::open(dir, config.engine)?;
        let host = WasmHost::new(config.host)?;
        let store = ModuleStore::open(dir)?;
        let this = Cosmictron {
            engine,
            host,
            store,
            modules: RwLock::new(BTreeMap::new()),
            deploy_lock: Mutex::new(()),
        };
        for (meta, wasm) in this.store.load_all()? {
            if version_of(&wasm) != meta.version {
                return Err(Error::CorruptStore {
                    path: format!("modules/{}.wasm", meta.name),
                    reason: format!("its bytes do not match version {}", meta.version),
                });
            }
            let deployed = this.install(meta, &wasm)?;
            this.modules
                .write()
                .insert(deployed.meta.name.clone(), Arc::new(deployed));
        }
        Ok(this)
    }

    /// Deploys a module under `name`: validates it, stores its bytes, creates its tables in a
    /// database named after it and runs its `init` reducer (in the same transaction, once).
    /// Deploying the same bytes again is a no-op.
    pub fn deploy(&self, name: &str, wasm: &[u8], owner: Identity) -> Result<DeployInfo> {
        if !is_identifier(name) {
            return Err(Error::InvalidName(name.to_owned()));
        }
        let _deploying = self.deploy_lock.lock();
        let version = version_of(wasm);
        if let Some(existing) = self.modules.read().get(name) {
            if existing.meta.owner != owner {
                return Err(Error::NotOwner(name.to_owned()));
            }
            if existing.meta.version == version {
                return Ok(existing.info());
            }
            return Err(Error::UpgradeNotSupported(name.to_owned()));
        }
        // Validate before anything is stored.
        self.host.load(name, wasm)?;
        let meta = ModuleMeta {
            name: name.to_owned(),
            version,
            owner,
        };
        self.store.save(&meta, wasm)?;
        let deployed = self.install(meta, wasm)?;
        let info = deployed.info();
        self.modules
            .write()
            .insert(name.to_owned(), Arc::new(deployed));
        Ok(info)
    }

    /// Loads a module and makes sure its database has its tables; a database without any
    /// table is new, so the tables are created and `init` runs, all in one transaction.
    fn install(&self, meta: ModuleMeta, wasm: &[u8]) -> Result<Deployed> {
        let module = self.host.load(&meta.name, wasm)?;
        let db = self.engine.database_or_create(&meta.name)?;
        if db.table_names().is_empty() {
            let mut tx = db.begin_write()?;
            for table in &module.def().tables {
                tx.create_table(table.clone())?;
            }
            if let Some(init) = module.def().init_reducer() {
                let init = init.name.clone();
                module.run_in(&mut tx, &init, &serde_json::Value::Null, meta.owner, now())?;
            }
            tx.commit()?;
        }
        Ok(Deployed { module, db, meta })
    }

    fn deployed(&self, module: &str) -> Result<Arc<Deployed>> {
        self.modules
            .read()
            .get(module)
            .cloned()
            .ok_or_else(|| Error::NoSuchModule(module.to_owned()))
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
        let deployed = self.deployed(module)?;
        let start = Instant::now();
        let outcome = deployed.module.call(&deployed.db, reducer, args, sender)?;
        Ok(CallResult {
            tx_id: outcome.tx_id,
            duration_ms: start.elapsed().as_secs_f64() * 1000.0,
            result: outcome.result,
        })
    }

    /// A module's most recent log lines, oldest first.
    pub fn logs(&self, module: &str) -> Result<Vec<LogLine>> {
        Ok(self.deployed(module)?.module.logs())
    }

    /// The deployed modules.
    pub fn modules(&self) -> Vec<DeployInfo> {
        self.modules.read().values().map(|d| d.info()).collect()
    }

    /// A consistent snapshot of a module's database (no policies applied: for the embedder).
    pub fn snapshot(&self, module: &str) -> Result<Snapshot> {
        Ok(self.deployed(module)?.db.snapshot()?)
    }

    /// Makes everything acknowledged so far durable (a no-op under the default fsync policy).
    pub fn flush(&self) -> Result<()> {
        for deployed in self.modules.read().values() {
            deployed.db.flush()?;
        }
        Ok(())
    }

    /// A module's database (for SQL and subscriptions; policies are the caller's business).
    pub fn database(&self, module: &str) -> Result<Database> {
        Ok(self.deployed(module)?.db.clone())
    }

    /// Who deployed a module (and may upgrade or undeploy it).
    pub fn owner(&self, module: &str) -> Result<Identity> {
        Ok(self.deployed(module)?.meta.owner)
    }

    /// Every current row of a table of a module (no policies applied: for the embedder).
    pub fn rows(&self, module: &str, table: &str) -> Result<Vec<Vec<Value>>> {
        Ok(self.snapshot(module)?.scan(table)?)
    }
}

fn now() -> cosmictron_types::Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    cosmictron_types::Timestamp(i64::try_from(micros).unwrap_or(i64::MAX))
}
