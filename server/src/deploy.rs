//! Deploy, upgrade and undeploy, and reloading deployed modules when the directory opens.
//!
//! ```text
//!  deploy(name, wasm, owner, options)
//!    │ 1. name check; the deploy lock (one deploy/undeploy at a time)
//!    │ 2. deployed already? only its owner may go on (not_owner); same bytes: nothing to do
//!    │ 3. load: validate, compile, describe (invalid_module lists every problem)
//!    │ 4. the database, in one transaction:
//!    │      new (no tables)   create the tables and the schedules table, run `init`
//!    │      clear_data        drop the database first, then as new
//!    │      upgrade           plan_upgrade(current tables, new definition):
//!    │                        every incompatibility → incompatible_schema, nothing changed
//!    │ 5. store the bytes and metadata (fsynced), swap the module in
//!    ▼
//!  DeployInfo {name, version, reducers}
//! ```

use std::sync::Arc;

use cosmictron_engine::Database;
use cosmictron_types::{Identity, TableDef, is_identifier};
use cosmictron_wasm_host::{LoadedModule, ensure_schedules_table, plan_upgrade};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::facade::{Cosmictron, DeployInfo, Deployed, now};
use crate::store::ModuleMeta;

/// How a deploy treats a module that is already deployed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeployOptions {
    /// Drop the module's data and start afresh (tables recreated, `init` run again), instead
    /// of upgrading in place. Needed when the new version's tables are incompatible.
    pub clear_data: bool,
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

/// The module's tables as the database has them now (the host's own tables left out).
fn current_tables(db: &Database) -> Result<Vec<TableDef>> {
    let mut tables = Vec::new();
    for name in db.table_names() {
        if !name.starts_with("__cosmictron") {
            tables.push(db.table_schema(&name)?.def.clone());
        }
    }
    Ok(tables)
}

/// The tables ordered so that each comes after the tables its foreign keys reference (a
/// table must exist before a foreign key can point at it; modules register tables in name
/// order). Cycles and references to unknown tables keep their place: creating the table
/// then reports the problem.
fn in_foreign_key_order(tables: &[TableDef]) -> Vec<&TableDef> {
    let mut ordered: Vec<&TableDef> = Vec::with_capacity(tables.len());
    let mut pending: Vec<&TableDef> = tables.iter().collect();
    while !pending.is_empty() {
        let ready = pending.iter().position(|t| {
            t.foreign_keys.iter().all(|fk| {
                fk.ref_table == t.name
                    || ordered.iter().any(|o| o.name == fk.ref_table)
                    || !pending.iter().any(|p| p.name == fk.ref_table)
            })
        });
        // No table is ready: a cycle; take the first and let creation report it.
        ordered.push(pending.remove(ready.unwrap_or(0)));
    }
    ordered
}

/// Creates the module's tables and the schedules table, and runs `init`, in one transaction.
fn create_fresh(module: &LoadedModule, db: &Database) -> Result<()> {
    let mut tx = db.begin_write_owned()?;
    for table in in_foreign_key_order(&module.def().tables) {
        tx.create_table(table.clone())?;
    }
    ensure_schedules_table(&mut tx)?;
    if let Some(init) = module.def().init_reducer() {
        let init = init.name.clone();
        let (done, _) = module.run_in(tx, &init, &serde_json::Value::Null, now())?;
        tx = done;
    }
    tx.commit()?;
    Ok(())
}

/// Takes an existing database to the module's tables, or refuses with every incompatibility.
fn upgrade_in_place(module: &LoadedModule, db: &Database, name: &str) -> Result<()> {
    let plan = plan_upgrade(&current_tables(db)?, module.def()).map_err(|problems| {
        Error::IncompatibleSchema {
            module: name.to_owned(),
            problems,
        }
    })?;
    let mut tx = db.begin_write_owned()?;
    plan.apply(&mut tx)?;
    ensure_schedules_table(&mut tx)?;
    tx.commit()?;
    if !plan.is_empty() {
        tracing::info!(module = name, steps = ?plan.describe(), "module tables upgraded");
    }
    Ok(())
}

impl Cosmictron {
    /// Loads every stored module (at open). A database whose tables predate the schedules
    /// table gets it.
    pub(crate) fn reload_modules(&mut self) -> Result<()> {
        for (meta, wasm) in self.inner.store.load_all()? {
            if version_of(&wasm) != meta.version {
                return Err(Error::CorruptStore {
                    path: format!("modules/{}.wasm", meta.name),
                    reason: format!("its bytes do not match version {}", meta.version),
                });
            }
            let module = self.inner.host.load(&meta.name, &wasm)?;
            let db = self.inner.engine.database_or_create(&meta.name)?;
            if db.table_names().is_empty() {
                create_fresh(&module, &db)?;
            } else {
                let mut tx = db.begin_write_owned()?;
                ensure_schedules_table(&mut tx)?;
                tx.commit()?;
            }
            let deployed = Deployed { module, db, meta };
            self.inner
                .modules
                .write()
                .insert(deployed.meta.name.clone(), Arc::new(deployed));
        }
        Ok(())
    }

    /// Deploys a module under `name` (see [`Cosmictron::deploy_with`]) with default options:
    /// a new module is created, a deployed one upgraded in place.
    pub fn deploy(&self, name: &str, wasm: &[u8], owner: Identity) -> Result<DeployInfo> {
        self.deploy_with(name, wasm, owner, DeployOptions::default())
    }

    /// Deploys a module under `name`: validates it, prepares its database (new: tables
    /// created and `init` run, once; deployed already: upgraded in place, keeping its data, or
    /// cleared with `clear_data`), stores its bytes and starts serving it. Deploying the same
    /// bytes again is a no-op. Only the owner may redeploy (`not_owner`); an incompatible
    /// upgrade is refused with `incompatible_schema` listing every problem, changing nothing.
    pub fn deploy_with(
        &self,
        name: &str,
        wasm: &[u8],
        owner: Identity,
        options: DeployOptions,
    ) -> Result<DeployInfo> {
        if !is_identifier(name) {
            return Err(Error::InvalidName(name.to_owned()));
        }
        let inner = &self.inner;
        let _deploying = inner.deploy_lock.lock();
        let version = version_of(wasm);
        let existing = inner.modules.read().get(name).cloned();
        if let Some(existing) = &existing {
            if existing.meta.owner != owner {
                return Err(Error::NotOwner(name.to_owned()));
            }
            if existing.meta.version == version && !options.clear_data {
                return Ok(existing.info());
            }
        }
        let module = inner.host.load(name, wasm)?;
        let routes = module
            .routes()
            .map(|(_, r)| (r.method.clone(), r.path.clone()))
            .collect();
        self.check_exposure(name, routes)?;
        if options.clear_data && inner.engine.database(name).is_ok() {
            inner.engine.drop_database(name)?;
        }
        let db = inner.engine.database_or_create(name)?;
        if db.table_names().is_empty() {
            create_fresh(&module, &db)?;
        } else {
            upgrade_in_place(&module, &db, name)?;
        }
        let meta = ModuleMeta {
            name: name.to_owned(),
            version,
            owner,
            deployed_at: now(),
        };
        inner.store.save(&meta, wasm)?;
        let deployed = Deployed { module, db, meta };
        let info = deployed.info();
        inner
            .modules
            .write()
            .insert(name.to_owned(), Arc::new(deployed));
        Ok(info)
    }

    /// Removes a module and all its data. Only its owner may (`not_owner`).
    pub fn undeploy(&self, name: &str, caller: Identity) -> Result<()> {
        let inner = &self.inner;
        let _deploying = inner.deploy_lock.lock();
        let existing = inner.deployed(name)?;
        if existing.meta.owner != caller {
            return Err(Error::NotOwner(name.to_owned()));
        }
        // Stored metadata goes first: after a crash midway the module is gone, and a leftover
        // database is dropped by the next deploy under this name only if it asks to clear data,
        // otherwise upgraded into.
        inner.store.remove(name)?;
        inner.modules.write().remove(name);
        inner.engine.drop_database(name)?;
        Ok(())
    }
}
