//! The compilation target modules are built for, for the tools that build modules from source
//! (the test helpers, `serve --demo`, the benchmarks): [`ensure_wasm_target`] checks that the
//! Rust toolchain has it and, when it does not, installs it with rustup.
//!
//! `rust-toolchain.toml` names the target, but rustup adds a toolchain file's targets only when
//! it installs the toolchain itself: on a machine where that toolchain was installed before
//! (without the target), the first module build would fail with "can't find crate for `std`".

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// The target every module is compiled for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Whether the check already passed in this process (it runs `rustc`, ~30 ms).
static PRESENT: Mutex<bool> = Mutex::new(false);

/// Makes sure the toolchain that builds crates in `dir` (the one its `rust-toolchain.toml`
/// picks) has [`WASM_TARGET`], running `rustup target add` when it is missing. The error says
/// what failed and what to run by hand.
pub fn ensure_wasm_target(dir: &Path) -> Result<(), String> {
    // Held across the install, so that concurrent builds wait for one install.
    let mut present = PRESENT.lock().unwrap_or_else(|e| e.into_inner());
    if *present {
        return Ok(());
    }
    if target_installed(dir) {
        *present = true;
        return Ok(());
    }
    eprintln!(
        "installing the {WASM_TARGET} target that modules are built for (rustup target add)…"
    );
    let installed = Command::new("rustup")
        .current_dir(dir)
        .args(["target", "add", WASM_TARGET])
        .status();
    match installed {
        Ok(status) if status.success() && target_installed(dir) => {
            *present = true;
            Ok(())
        }
        Ok(status) => Err(format!(
            "the Rust toolchain lacks the {WASM_TARGET} target and `rustup target add \
             {WASM_TARGET}` failed ({status}): install the target, then build again"
        )),
        Err(e) => Err(format!(
            "the Rust toolchain lacks the {WASM_TARGET} target and rustup could not be run \
             ({e}): install the target with your toolchain's installer, then build again"
        )),
    }
}

/// Whether the target's standard library is in the sysroot of the `rustc` that `dir` uses.
fn target_installed(dir: &Path) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc)
        .current_dir(dir)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
    else {
        return false;
    };
    let libdir = String::from_utf8_lossy(&output.stdout);
    output.status.success() && Path::new(libdir.trim()).is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_is_remembered_once_it_passed() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        // The workspace's tests build modules, so the target is there (or gets installed).
        assert_eq!(ensure_wasm_target(dir), Ok(()));
        assert!(target_installed(dir));
        assert!(*PRESENT.lock().unwrap_or_else(|e| e.into_inner()));
        assert_eq!(ensure_wasm_target(dir), Ok(()));
    }
}
