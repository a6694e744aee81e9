//! The WASM side: builds `benches/modules/bench_items` for wasm32 and deploys it through the
//! embedding facade, so reducer calls are measured the way an embedder makes them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use cosmictron::{Cosmictron, CosmictronConfig};
use cosmictron_engine::Durability;
use cosmictron_types::Identity;

/// The module's name once deployed (its database has the same name).
pub(crate) const MODULE: &str = "bench_items";
/// The reducer that inserts one row.
pub(crate) const INSERT_REDUCER: &str = "insert_item";
/// Who calls the reducers.
pub(crate) const CALLER: Identity = Identity([7; 32]);

fn workspace_root() -> PathBuf {
    let benches = Path::new(env!("CARGO_MANIFEST_DIR"));
    benches.parent().unwrap_or(benches).to_owned()
}

/// The release `.wasm` of the bench module, built (or found up to date) by cargo into
/// `target/wasm-modules`: a target directory of its own, so that it never waits for the lock
/// of the build that is running this binary.
pub(crate) fn module_bytes() -> anyhow::Result<Vec<u8>> {
    let root = workspace_root();
    let dir = root.join("benches/modules").join(MODULE);
    cosmictron::testing::build_module(&dir, &root.join("target/wasm-modules"))
        .with_context(|| format!("building the bench module in {}", dir.display()))
}

/// Opens an embedded Cosmictron in `dir` (default configuration but for `durability`) with
/// the bench module deployed.
pub(crate) fn open_with_module(
    dir: &Path,
    wasm: &[u8],
    durability: Durability,
) -> anyhow::Result<Cosmictron> {
    let mut config = CosmictronConfig::default();
    config.engine.durability = durability;
    let cosmictron = Cosmictron::open(dir, config)?;
    cosmictron.deploy(MODULE, wasm, CALLER)?;
    Ok(cosmictron)
}

/// The arguments of one `insert_item` call: the name and score of row `i`.
pub(crate) fn insert_args(i: u64) -> serde_json::Value {
    serde_json::json!({
        "name": format!("player_{i:017}"),
        "score": cosmictron_benches::score_of(i, u64::MAX),
    })
}
