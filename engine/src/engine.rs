//! The engine: a data directory holding independent databases (one per module), and the
//! background worker that collects history and takes due snapshots.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use cosmictron_types::is_identifier;
use cosmictron_wal::Storage;
use parking_lot::{Condvar, Mutex, RwLock};

use crate::config::{Durability, EngineConfig};
use crate::database::{Database, DbInner};
use crate::error::{EngineError, Result};
use crate::recovery;
use crate::snapshot_file::{self, SNAPSHOT_DIR, WAL_DIR};

const DATABASES_DIR: &str = "databases";
const LOCK_FILE: &str = "LOCK";

/// Makes the WAL storage of a database (tests inject faulty storage with it).
pub type WalStorageFactory = Arc<dyn Fn(&str, &Path) -> Result<Arc<dyn Storage>> + Send + Sync>;

/// The embedded database engine. Open it on a directory, create or open databases, and drop it
/// (or call [`Engine::close`]) to stop its background worker and flush logs.
///
/// ```
/// use cosmictron_engine::{Engine, EngineConfig};
/// use cosmictron_types::{ScalarType, TableDef, Value};
///
/// let dir = tempfile::tempdir()?;
/// let engine = Engine::open(dir.path(), EngineConfig::default())?;
/// let db = engine.create_database("app")?;
/// db.write(|tx| {
///     tx.create_table(TableDef::new("users").column("id", ScalarType::U64)
///         .column("name", ScalarType::String).primary_key(&["id"]).auto_inc("id"))?;
///     tx.insert("users", vec![Value::U64(0), Value::from("ann")])
/// })?;
/// let snap = db.snapshot()?;
/// assert_eq!(snap.get("users", &[Value::U64(1)])?, Some(vec![Value::U64(1), Value::from("ann")]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Engine {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

struct Shared {
    dir: Option<PathBuf>,
    config: EngineConfig,
    wal_storage: Option<WalStorageFactory>,
    databases: RwLock<BTreeMap<String, Arc<DbInner>>>,
    /// Held open (and locked) so a second process cannot open the same directory.
    _lock: Option<fs::File>,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("dir", &self.shared.dir)
            .finish()
    }
}

impl Engine {
    /// Opens (creating if needed) a data directory and recovers every database in it.
    pub fn open(dir: impl AsRef<Path>, config: EngineConfig) -> Result<Engine> {
        Engine::open_with(dir, config, None)
    }

    /// Like [`Engine::open`] with the WAL storage made by `wal_storage` (for fault injection).
    pub fn open_with(
        dir: impl AsRef<Path>,
        config: EngineConfig,
        wal_storage: Option<WalStorageFactory>,
    ) -> Result<Engine> {
        let dir = dir.as_ref().to_owned();
        if config.durability == Durability::None {
            return Err(EngineError::InvalidDefinition(
                "durability `none` keeps nothing on disk: use Engine::in_memory".into(),
            ));
        }
        let databases_dir = dir.join(DATABASES_DIR);
        fs::create_dir_all(&databases_dir)
            .map_err(|e| EngineError::io("create directory", &databases_dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| EngineError::io("open", &lock_path, e))?;
        lock.try_lock().map_err(|_| {
            EngineError::io(
                "lock",
                &lock_path,
                std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    "the data directory is in use by another process",
                ),
            )
        })?;
        let shared = Arc::new(Shared {
            dir: Some(dir),
            config,
            wal_storage,
            databases: RwLock::new(BTreeMap::new()),
            _lock: Some(lock),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let mut names = Vec::new();
        for entry in fs::read_dir(&databases_dir)
            .map_err(|e| EngineError::io("read directory", &databases_dir, e))?
        {
            let entry = entry.map_err(|e| EngineError::io("read directory", &databases_dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && is_identifier(&name) {
                names.push(name);
            }
        }
        for name in names {
            let db = shared.open_database(&name)?;
            shared.databases.write().insert(name, db.into_shared());
        }
        Ok(Engine::start(shared))
    }

    /// An engine that keeps everything in memory (durability is forced to `None`).
    pub fn in_memory(config: EngineConfig) -> Engine {
        let shared = Arc::new(Shared {
            dir: None,
            config: EngineConfig {
                durability: Durability::None,
                ..config
            },
            wal_storage: None,
            databases: RwLock::new(BTreeMap::new()),
            _lock: None,
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        Engine::start(shared)
    }

    fn start(shared: Arc<Shared>) -> Engine {
        let weak = Arc::downgrade(&shared);
        let worker = std::thread::Builder::new()
            .name("cosmictron-maintenance".into())
            .spawn(move || maintenance_loop(weak))
            .ok();
        Engine { shared, worker }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// Creates a new, empty database.
    pub fn create_database(&self, name: &str) -> Result<Database> {
        if !is_identifier(name) {
            return Err(EngineError::InvalidDefinition(format!(
                "database name `{name}` must be a letter or `_` followed by letters, digits or `_`"
            )));
        }
        let mut databases = self.shared.databases.write();
        if databases.contains_key(name) {
            return Err(EngineError::DatabaseExists(name.to_owned()));
        }
        let inner = match &self.shared.dir {
            Some(dir) => {
                let db_dir = dir.join(DATABASES_DIR).join(name);
                fs::create_dir_all(db_dir.join(SNAPSHOT_DIR))
                    .map_err(|e| EngineError::io("create directory", &db_dir, e))?;
                snapshot_file::sync_dir(&db_dir)?;
                snapshot_file::sync_dir(&dir.join(DATABASES_DIR))?;
                self.shared.open_database(name)?
            }
            None => recovery::open_memory(name, &self.shared.config),
        };
        let inner = inner.into_shared();
        databases.insert(name.to_owned(), inner.clone());
        Ok(Database { inner })
    }

    /// An existing database.
    pub fn database(&self, name: &str) -> Result<Database> {
        let databases = self.shared.databases.read();
        let inner = databases
            .get(name)
            .ok_or_else(|| EngineError::NoSuchDatabase(name.to_owned()))?;
        Ok(Database {
            inner: inner.clone(),
        })
    }

    /// The database, created if it does not exist.
    pub fn database_or_create(&self, name: &str) -> Result<Database> {
        match self.database(name) {
            Err(EngineError::NoSuchDatabase(_)) => self.create_database(name),
            other => other,
        }
    }

    pub fn database_names(&self) -> Vec<String> {
        self.shared.databases.read().keys().cloned().collect()
    }

    /// Removes a database and its files. Handles still held keep working in memory.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        let removed = self.shared.databases.write().remove(name);
        if removed.is_none() {
            return Err(EngineError::NoSuchDatabase(name.to_owned()));
        }
        if let Some(dir) = &self.shared.dir {
            let db_dir = dir.join(DATABASES_DIR).join(name);
            fs::remove_dir_all(&db_dir)
                .map_err(|e| EngineError::io("remove directory", &db_dir, e))?;
            snapshot_file::sync_dir(&dir.join(DATABASES_DIR))?;
        }
        Ok(())
    }

    /// Installs a backup made by [`Database::backup_to`] as database `name` and opens it.
    pub fn restore_database(&self, name: &str, backup: &Path) -> Result<Database> {
        let Some(dir) = &self.shared.dir else {
            return Err(EngineError::InvalidDefinition(
                "an in-memory engine cannot restore backups".into(),
            ));
        };
        let mut databases = self.shared.databases.write();
        if databases.contains_key(name) {
            return Err(EngineError::DatabaseExists(name.to_owned()));
        }
        let db_dir = dir.join(DATABASES_DIR).join(name);
        for sub in [SNAPSHOT_DIR, WAL_DIR] {
            copy_dir(&backup.join(sub), &db_dir.join(sub))?;
        }
        snapshot_file::sync_dir(&dir.join(DATABASES_DIR))?;
        let inner = self.shared.open_database(name)?.into_shared();
        databases.insert(name.to_owned(), inner.clone());
        Ok(Database { inner })
    }

    /// Stops the background worker and flushes every log.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        *self.shared.stop.lock() = true;
        self.shared.wake.notify_all();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
        // Flush every log even if one fails; report the first failure.
        let mut first_error = None;
        for db in self.shared.databases.read().values() {
            if let Some(wal) = &db.wal
                && let Err(e) = wal.flush()
            {
                tracing::error!(database = %db.name, error = %e, "flushing the log at close failed");
                first_error.get_or_insert(e.into());
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!(error = %e, "flushing logs at close failed");
        }
    }
}

impl Shared {
    fn open_database(&self, name: &str) -> Result<DbInner> {
        let Some(dir) = &self.dir else {
            return Ok(recovery::open_memory(name, &self.config));
        };
        let db_dir = dir.join(DATABASES_DIR).join(name);
        let storage = match &self.wal_storage {
            Some(factory) => Some(factory(name, &db_dir.join(WAL_DIR))?),
            None => None,
        };
        recovery::open_dir(name, &db_dir, &self.config, storage)
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).map_err(|e| EngineError::io("create directory", to, e))?;
    let entries = match fs::read_dir(from) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(EngineError::io("read directory", from, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| EngineError::io("read directory", from, e))?;
        let target = to.join(entry.file_name());
        fs::copy(entry.path(), &target).map_err(|e| EngineError::io("copy", &entry.path(), e))?;
        fs::File::open(&target)
            .and_then(|f| f.sync_all())
            .map_err(|e| EngineError::io("fsync", &target, e))?;
    }
    snapshot_file::sync_dir(to)
}

/// Collects history and takes due snapshots, off the commit path.
fn maintenance_loop(shared: Weak<Shared>) {
    loop {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        {
            let mut stop = shared.stop.lock();
            if *stop {
                return;
            }
            shared
                .wake
                .wait_for(&mut stop, shared.config.maintenance_interval);
            if *stop {
                return;
            }
        }
        let databases: Vec<Arc<DbInner>> = shared.databases.read().values().cloned().collect();
        for db in databases {
            if let Err(e) = db.collect_garbage() {
                tracing::warn!(database = %db.name, error = %e, "collecting history failed");
            }
            let due = shared.config.snapshots.every_txs.is_some_and(|every| {
                db.latest
                    .load(Ordering::Acquire)
                    .saturating_sub(db.last_snapshot_tx.load(Ordering::Acquire))
                    >= every
            });
            if due
                && db.dir.is_some()
                && let Err(e) = snapshot_file::take_snapshot(&db)
            {
                tracing::warn!(database = %db.name, error = %e, "background snapshot failed");
            }
        }
    }
}
