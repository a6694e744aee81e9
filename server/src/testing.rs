//! [`TestModule`]: test a module with plain `cargo test` in its own crate — build it for
//! wasm32, run it in an in-process engine (no server), call reducers as chosen identities,
//! move a virtual clock to fire scheduled reducers, read tables and query them (and the
//! module's views) with SQL.
//!
//! In the module crate's `Cargo.toml`: `[dev-dependencies] cosmictron = { ... }`, then in
//! `tests/`:
//!
//! ```ignore
//! use cosmictron::testing::TestModule;
//! use cosmictron_types::Identity;
//!
//! #[test]
//! fn adds_an_item() {
//!     let mut m = TestModule::build(env!("CARGO_MANIFEST_DIR")).expect("build and deploy");
//!     let alice = Identity([1; 32]);
//!     let item: serde_json::Value = m.call("add_item", json!({"name": "pen", "qty": 1}), alice).unwrap();
//!     assert_eq!(m.rows("items").unwrap().len(), 1);
//!     m.advance(std::time::Duration::from_secs(60)); // fires what is due by then
//! }
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cosmictron_sql::{Caller, QueryResult, SqlConfig, SqlEngine};
use cosmictron_types::{ConnectionId, Identity, Timestamp, Value};

use crate::error::{Error, Result};
use crate::facade::{CallResult, Cosmictron, CosmictronConfig, now};
use crate::scheduler::SchedulerConfig;

/// The identity that deploys test modules (their owner).
pub const TEST_OWNER: Identity = Identity([0xee; 32]);
/// The name test modules are deployed under.
pub const TEST_MODULE: &str = "test_module";

/// A module deployed in a private, temporary data directory, with a virtual clock for its
/// schedules (the background scheduler is off).
#[derive(Debug)]
pub struct TestModule {
    db: Cosmictron,
    /// The SQL engine of [`TestModule::sql`], made on first use.
    sql: OnceLock<SqlEngine>,
    clock: Timestamp,
    /// Declared after `db`: fields drop in order, so the directory goes after the engine.
    _dir: RemoveOnDrop,
}

/// A temporary data directory, removed when dropped.
#[derive(Debug)]
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn build_error(message: String) -> Error {
    Error::ModuleBuild(message)
}

/// Builds the module crate at `manifest_dir` for wasm32 (release) into `target` and returns
/// its `.wasm`.
pub fn build_module(manifest_dir: &Path, target: &Path) -> Result<Vec<u8>> {
    cosmictron_wasm_host::ensure_wasm_target(manifest_dir).map_err(build_error)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(manifest_dir)
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        .arg("--message-format=short")
        .arg("--target-dir")
        .arg(target)
        // The outer `cargo test` may set these for the host build; this build is its own.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .map_err(|e| build_error(format!("running cargo: {e}")))?;
    if !output.status.success() {
        return Err(build_error(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    let release = target.join("wasm32-unknown-unknown").join("release");
    // The crate's own library: its package name with `-` as `_` (several modules may share a
    // target directory).
    let name = package_name(manifest_dir)?.replace('-', "_");
    let path = release.join(format!("{name}.wasm"));
    std::fs::read(&path).map_err(|e| Error::io("read", &path, e))
}

/// The `name` of the `[package]` in the crate's `Cargo.toml`.
pub(crate) fn package_name(manifest_dir: &Path) -> Result<String> {
    let path = manifest_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package
            && let Some(value) = line.strip_prefix("name")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            return Ok(value.trim().trim_matches('"').to_owned());
        }
    }
    Err(build_error(format!(
        "no package name in {}",
        path.display()
    )))
}

impl TestModule {
    /// Builds the module crate at `manifest_dir` (pass `env!("CARGO_MANIFEST_DIR")`) and
    /// deploys it. The build goes to `target/cosmictron-test` of the crate, a target
    /// directory of its own so the outer `cargo test` build is not in its way.
    pub fn build(manifest_dir: impl AsRef<Path>) -> Result<TestModule> {
        let dir = manifest_dir.as_ref();
        TestModule::build_in(dir, &dir.join("target").join("cosmictron-test"))
    }

    /// Like [`TestModule::build`], with the build's target directory chosen.
    pub fn build_in(manifest_dir: impl AsRef<Path>, target: &Path) -> Result<TestModule> {
        TestModule::deploy(&build_module(manifest_dir.as_ref(), target)?)
    }

    /// Deploys already built module bytes.
    pub fn deploy(wasm: &[u8]) -> Result<TestModule> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cosmictron-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let config = CosmictronConfig {
            scheduler: SchedulerConfig {
                interval: None,
                ..SchedulerConfig::default()
            },
            ..CosmictronConfig::default()
        };
        let guard = RemoveOnDrop(dir);
        let db = Cosmictron::open(&guard.0, config)?;
        db.deploy(TEST_MODULE, wasm, TEST_OWNER)?;
        Ok(TestModule {
            db,
            sql: OnceLock::new(),
            clock: now(),
            _dir: guard,
        })
    }

    /// The embedded instance, for everything else (logs, module info, the database).
    pub fn cosmictron(&self) -> &Cosmictron {
        &self.db
    }

    /// Calls `reducer` as `sender` with JSON arguments; returns the whole call result.
    pub fn call_raw(
        &self,
        reducer: &str,
        args: serde_json::Value,
        sender: Identity,
    ) -> Result<CallResult> {
        self.cosmictron().call(TEST_MODULE, reducer, &args, sender)
    }

    /// Calls `reducer` as `sender` and decodes its return value as `R`.
    pub fn call<R: serde::de::DeserializeOwned>(
        &self,
        reducer: &str,
        args: serde_json::Value,
        sender: Identity,
    ) -> Result<R> {
        let out = self.call_raw(reducer, args, sender)?;
        serde_json::from_value(out.result)
            .map_err(|e| build_error(format!("the result of `{reducer}` does not decode: {e}")))
    }

    /// Runs `client_connected` for `identity` on connection `connection`.
    pub fn connect(&self, identity: Identity, connection: ConnectionId) -> Result<()> {
        self.cosmictron()
            .client_connected(TEST_MODULE, identity, connection)
            .map(drop)
    }

    /// Runs `client_disconnected` for `identity` on connection `connection`.
    pub fn disconnect(&self, identity: Identity, connection: ConnectionId) -> Result<()> {
        self.cosmictron()
            .client_disconnected(TEST_MODULE, identity, connection)
            .map(drop)
    }

    /// Every current row of `table`.
    pub fn rows(&self, table: &str) -> Result<Vec<Vec<Value>>> {
        self.cosmictron().rows(TEST_MODULE, table)
    }

    /// Runs read-only SQL as `caller` (`Some(identity)`: a client under the read policies;
    /// `None`: the module's owner, who bypasses them): tables and views.
    pub fn sql(
        &self,
        query: &str,
        params: &[Value],
        caller: Option<Identity>,
    ) -> Result<QueryResult> {
        let who = match caller {
            Some(identity) => Caller::user(identity),
            None => Caller {
                identity: Some(TEST_OWNER),
                bypass_rls: true,
            },
        };
        let sql = self
            .sql
            .get_or_init(|| SqlEngine::new(SqlConfig::default()));
        self.cosmictron()
            .query(sql, TEST_MODULE, query, params, &who)
    }

    /// The virtual clock (starts at the real time when the module is deployed).
    pub fn now(&self) -> Timestamp {
        self.clock
    }

    /// Moves the virtual clock on by `by` and fires every schedule due by then; returns how
    /// many ran.
    pub fn advance(&mut self, by: Duration) -> usize {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        // Never behind the real clock: schedules are made with real call timestamps.
        self.clock = Timestamp(self.clock.0.saturating_add(micros).max(now().0));
        self.cosmictron().run_due_schedules(self.clock)
    }
}
