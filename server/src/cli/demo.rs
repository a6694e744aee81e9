//! `cosmictron serve --demo`: builds the example modules of the source tree
//! (`examples/*/module/`, each a crate whose package name is the module's name) for wasm32,
//! and has the server deploy them at start, owned by a demo admin account.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::config::ModuleFile;
use crate::testing::{build_module, package_name};

pub(crate) const DEMO_EMAIL: &str = "demo@example.com";
pub(crate) const DEMO_PASSWORD: &str = "cosmictron-demo";
/// Example modules whose HTTP routes the demo serves at the root, so the product documents'
/// curl examples work with only the host changed.
pub(crate) const EXPOSED: [&str; 2] = ["agent_signup", "cosmios"];

/// The source tree this binary was built from (where `examples/` is).
fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default()
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
    let mut out = Vec::new();
    for dir in dirs {
        let name = package_name(&dir)?.replace('-', "_");
        eprintln!("building example module `{name}` for wasm32…");
        build_module(&dir, &target)
            .with_context(|| format!("building the example module in {}", dir.display()))?;
        let file = target
            .join("wasm32-unknown-unknown/release")
            .join(format!("{name}.wasm"));
        out.push(ModuleFile { name, path: file });
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
