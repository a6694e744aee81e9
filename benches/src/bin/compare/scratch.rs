//! Where temporary databases live: under the workspace's `target/`, on the same disk as the
//! build — never a RAM-backed `/tmp`, where an fsync costs nothing and durable numbers lie.

use std::path::{Path, PathBuf};

/// The workspace's target directory (`CARGO_TARGET_DIR` if set).
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let benches = Path::new(env!("CARGO_MANIFEST_DIR"));
            let dir = benches.parent().unwrap_or(benches).join("target");
            dir.canonicalize().unwrap_or(dir)
        }
    }
}

/// A fresh temporary directory under the target directory, removed when dropped.
pub(crate) fn scratch_dir() -> anyhow::Result<tempfile::TempDir> {
    let target = target_dir();
    std::fs::create_dir_all(&target)?;
    Ok(tempfile::Builder::new()
        .prefix("compare-")
        .tempdir_in(target)?)
}

/// Total bytes of the files under `dir` (recursively); 0 for what cannot be read.
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// When the run started, for the elapsed time on progress lines.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Progress goes to stderr, so stdout stays the Markdown report.
pub(crate) fn progress(what: &str) {
    let started = STARTED.get_or_init(std::time::Instant::now);
    eprintln!("[compare {:5.1} s] {what}", started.elapsed().as_secs_f64());
}
