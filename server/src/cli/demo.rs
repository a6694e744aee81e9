//! `cosmictron serve --demo`: builds the example modules of the source tree
//! (`examples/*/module/`, each a crate whose package name is the module's name) for wasm32,
//! and has the server deploy them at start, owned by a demo admin account. It also serves the
//! COSMIOS dashboard (`examples/cosmios/dashboard/dist`) at `/`, building it with npm first
//! when it has not been built.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// The dashboard's directory in the source tree.
const DASHBOARD: &str = "examples/cosmios/dashboard";

/// The built dashboard to serve at `/`, building it first if `dist/index.html` is missing.
/// The demo works without it: when npm is missing or the build fails, this says why and the
/// server runs with the API only.
pub(crate) fn dashboard() -> Option<PathBuf> {
    dashboard_in(&source_root(), "npm")
}

fn dashboard_in(root: &Path, npm: &str) -> Option<PathBuf> {
    let dir = root.join(DASHBOARD);
    let dist = dir.join("dist");
    if dist.join("index.html").is_file() {
        return Some(dist);
    }
    eprintln!("building the COSMIOS dashboard ({DASHBOARD}) with npm…");
    match build_dashboard(root, &dir, npm) {
        Ok(()) if dist.join("index.html").is_file() => Some(dist),
        Ok(()) => {
            eprintln!("the dashboard build wrote no dist/index.html: not serving it");
            None
        }
        Err(e) => {
            eprintln!("not serving the dashboard: {e:#}");
            None
        }
    }
}

/// `npm ci` where nothing is installed yet (the dashboard links the TypeScript SDK packages
/// from `sdk-ts/`, so that workspace is installed too), then `npm run build`.
fn build_dashboard(root: &Path, dir: &Path, npm: &str) -> anyhow::Result<()> {
    let found = Command::new(npm)
        .arg("--version")
        .stdout(Stdio::null())
        .status();
    if !found.is_ok_and(|s| s.success()) {
        bail!("`{npm}` was not found: install Node.js 20 with npm to build it");
    }
    for project in [root.join("sdk-ts"), dir.to_owned()] {
        if !project.join("node_modules").is_dir() {
            npm_in(npm, &project, &["ci", "--no-audit", "--no-fund"])?;
        }
    }
    npm_in(npm, dir, &["run", "build"])
}

fn npm_in(npm: &str, dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    // npm's output goes to stderr with the server's own messages; stdout stays clean.
    let status = Command::new(npm)
        .args(args)
        .current_dir(dir)
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("running `{npm} {}`", args.join(" ")))?;
    if !status.success() {
        bail!(
            "`{npm} {}` in {} failed ({status})",
            args.join(" "),
            dir.display()
        );
    }
    Ok(())
}

/// What to try once the server is up.
pub(crate) fn walkthrough(addr: &str, modules: &[ModuleFile], dashboard: bool) -> String {
    let names: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    let open = if dashboard {
        format!("Open http://{addr}/ for the COSMIOS dashboard (sign up there).\n")
    } else {
        String::new()
    };
    format!(
        "\nDemo: modules {names:?} deployed, owned by {DEMO_EMAIL} (password `{DEMO_PASSWORD}`).\n\
         {open}\
         Try:\n\
         \x20 TOKEN=$(curl -s -X POST http://{addr}/v1/auth/sign-up -H 'Content-Type: application/json' \\\n\
         \x20   -d '{{\"email\": \"user@example.com\", \"password\": \"secret\"}}' | sed 's/.*\"token\":\"\\([^\"]*\\)\".*/\\1/')\n\
         \x20 curl -X POST http://{addr}/v1/reducers/create_user -H \"Authorization: Bearer $TOKEN\" \\\n\
         \x20   -H 'Content-Type: application/json' -d '{{\"username\": \"alice\"}}'\n\
         \x20 curl -X POST http://{addr}/v1/sql -H \"Authorization: Bearer $TOKEN\" \\\n\
         \x20   -H 'Content-Type: application/json' -d '{{\"query\": \"SELECT * FROM users\"}}'\n"
    )
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A stand-in for npm that logs `<dir> <args>` of each install or build, and for
    /// `run build` writes the page.
    fn fake_npm(dir: &Path) -> PathBuf {
        let npm = dir.join("npm");
        let log = dir.join("npm.log");
        let script = format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && exit 0\necho \"$(pwd -P) $*\" >> {}\n\
             if [ \"$1 $2\" = \"run build\" ]; then mkdir -p dist && echo page > dist/index.html; fi\n",
            log.display()
        );
        std::fs::write(&npm, script).expect("temporary files");
        std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755))
            .expect("temporary files");
        npm
    }

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().expect("temporary files");
        let dashboard = root.path().join(DASHBOARD);
        std::fs::create_dir_all(&dashboard).expect("temporary files");
        std::fs::create_dir_all(root.path().join("sdk-ts")).expect("temporary files");
        (root, dashboard)
    }

    #[test]
    fn a_built_dashboard_is_served_without_running_npm() {
        let (root, dashboard) = tree();
        std::fs::create_dir_all(dashboard.join("dist")).expect("temporary files");
        std::fs::write(dashboard.join("dist/index.html"), "page").expect("temporary files");
        let served = dashboard_in(root.path(), "/nonexistent/npm");
        assert_eq!(served, Some(dashboard.join("dist")));
    }

    #[test]
    fn without_npm_the_demo_runs_without_the_dashboard() {
        let (root, _) = tree();
        assert_eq!(dashboard_in(root.path(), "/nonexistent/npm"), None);
    }

    #[test]
    fn a_missing_build_installs_what_is_missing_then_builds() {
        let (tmp, _) = tree();
        // As `pwd -P` prints it (the temporary directory may sit behind a symlink).
        let root = tmp.path().canonicalize().expect("canonical path");
        let dashboard = root.join(DASHBOARD);
        let bin = tempfile::tempdir().expect("temporary files");
        let npm = fake_npm(bin.path());
        let served = dashboard_in(&root, npm.to_str().expect("UTF-8 path"));
        assert_eq!(served, Some(dashboard.join("dist")));
        let log = std::fs::read_to_string(bin.path().join("npm.log")).expect("npm was run");
        let expected = format!(
            "{} ci --no-audit --no-fund\n{} ci --no-audit --no-fund\n{} run build\n",
            root.join("sdk-ts").display(),
            dashboard.display(),
            dashboard.display()
        );
        assert_eq!(log, expected);
    }

    #[test]
    fn a_failing_build_is_reported_and_skipped() {
        let (root, dashboard) = tree();
        std::fs::create_dir_all(dashboard.join("node_modules")).expect("temporary files");
        std::fs::create_dir_all(root.path().join("sdk-ts/node_modules")).expect("temporary files");
        let bin = tempfile::tempdir().expect("temporary files");
        let npm = bin.path().join("npm");
        std::fs::write(&npm, "#!/bin/sh\n[ \"$1\" = --version ]\n").expect("temporary files");
        std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755))
            .expect("temporary files");
        assert_eq!(
            dashboard_in(root.path(), npm.to_str().expect("UTF-8 path")),
            None
        );
    }
}
