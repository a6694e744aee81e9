//! `cosmictron serve --demo`: builds the example modules of the source tree
//! (`examples/*/module/`, each a crate whose package name is the module's name) for wasm32,
//! and has the server deploy them at start, owned by a demo admin account.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::config::ModuleFile;

pub(crate) const DEMO_EMAIL: &str = "demo@example.com";
pub(crate) const DEMO_PASSWORD: &str = "cosmictron-demo";

/// The source tree this binary was built from (where `examples/` is).
fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default()
}

fn package_name(manifest: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(manifest)?;
    let value: toml::Value =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", manifest.display()))?;
    value
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .with_context(|| format!("{} has no package name", manifest.display()))
}

/// Builds every example module (release, wasm32) and lists the files to deploy.
pub(crate) fn build_examples() -> anyhow::Result<Vec<ModuleFile>> {
    let root = source_root();
    let examples = root.join("examples");
    if !examples.is_dir() {
        bail!(
            "--demo builds the example modules from the source tree, and {} is not there",
            examples.display()
        );
    }
    let target = root.join("target").join("wasm-examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&examples)?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("module"))
        .filter(|m| m.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut out = Vec::new();
    for dir in dirs {
        let name = package_name(&dir.join("Cargo.toml"))?;
        eprintln!("building example module `{name}` for wasm32…");
        let status = Command::new(&cargo)
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
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .with_context(|| format!("cannot run {cargo}"))?;
        if !status.success() {
            bail!("building the example module in {} failed", dir.display());
        }
        let file = target
            .join("wasm32-unknown-unknown/release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        out.push(ModuleFile {
            name: name.replace('-', "_"),
            path: file,
        });
    }
    Ok(out)
}

/// What to try once the server is up.
pub(crate) fn walkthrough(addr: &str, modules: &[ModuleFile]) -> String {
    let names: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    format!(
        "\nDemo: modules {names:?} deployed, owned by {DEMO_EMAIL} (password `{DEMO_PASSWORD}`).\n\
         Try:\n\
         \x20 TOKEN=$(curl -s -X POST http://{addr}/v1/auth/sign-up -H 'Content-Type: application/json' \\\n\
         \x20   -d '{{\"email\": \"user@example.com\", \"password\": \"secret\"}}' | sed 's/.*\"token\":\"\\([^\"]*\\)\".*/\\1/')\n\
         \x20 curl -X POST http://{addr}/v1/reducers/create_user -H \"Authorization: Bearer $TOKEN\" \\\n\
         \x20   -H 'Content-Type: application/json' -d '{{\"username\": \"alice\"}}'\n\
         \x20 curl -X POST http://{addr}/v1/sql -H \"Authorization: Bearer $TOKEN\" \\\n\
         \x20   -H 'Content-Type: application/json' -d '{{\"query\": \"SELECT * FROM users\"}}'\n"
    )
}
