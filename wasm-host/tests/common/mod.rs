//! Builds the test modules under `wasm-host/tests/modules/` for wasm32, once per test process,
//! into `target/wasm-modules` (a target dir of its own, so the outer build's lock is not held).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

static BUILD_LOCK: Mutex<()> = Mutex::new(());

fn workspace_root() -> PathBuf {
    // Both wasm-host and server sit one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate has a parent")
        .to_owned()
}

/// The release `.wasm` of test module `name` (a crate under `wasm-host/tests/modules/`).
pub(crate) fn module_bytes(name: &str) -> Vec<u8> {
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let root = workspace_root();
    let dir = root.join("wasm-host/tests/modules").join(name);
    let target = root.join("target/wasm-modules");
    if let Err(e) = cosmictron_wasm_host::ensure_wasm_target(&dir) {
        panic!("building test module `{name}`: {e}");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&dir)
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--target-dir")
        .arg(&target)
        // The outer `cargo test` may set these for the host build; the module build is its own.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("run cargo to build the test module");
    assert!(status.success(), "building test module `{name}` failed");
    let file = format!("{}.wasm", name.replace('-', "_"));
    let path = target.join("wasm32-unknown-unknown/release").join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
