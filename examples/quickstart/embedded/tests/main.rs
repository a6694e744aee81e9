//! Runs the embedded quickstart program twice on one data directory: it builds and deploys the
//! module, writes, enforces row-level security, travels in time, and finds its data again.

use std::process::Command;

fn run(dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_quickstart-embedded"))
        .arg(dir)
        .output()
        .expect("run the quickstart");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_quickstart_writes_reads_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = run(dir.path());
    assert!(first.contains("deployed quickstart (sha256:"), "{first}");
    assert!(
        first.contains("create_user again -> user_exists"),
        "{first}"
    );
    assert!(
        first.contains("users alice sees: 1, bob sees: 0"),
        "{first}"
    );
    assert!(
        first.contains("session s1: 2 messages now, 1 as of tx"),
        "{first}"
    );
    // Same directory: the module and the first run's rows are still there.
    let second = run(dir.path());
    assert!(
        second.contains("users alice sees: 2, bob sees: 0"),
        "{second}"
    );
    assert!(
        second.contains("session s1: 4 messages now, 3 as of tx"),
        "{second}"
    );
}
