//! Runs the project's own sqllogictest files (`tests/slt/*.slt`, expected results produced by
//! SQLite with `tests/slt/generate.py`) through the conformance adapter. Each file must pass
//! every record it runs.

use std::path::Path;

#[test]
fn project_slt_files_pass() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 6,
        "expected the dialect's .slt files in {}",
        dir.display()
    );
    let mut problems = Vec::new();
    for f in &files {
        let s = cosmictron_sql::run_slt_file(f, None)?;
        println!(
            "{}: passed={} failed={} skipped={}",
            f.display(),
            s.passed,
            s.failed,
            s.skipped
        );
        if s.failed > 0 || s.passed == 0 {
            problems.push(format!("{}:\n{}", f.display(), s.failures.join("\n")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    Ok(())
}

/// The harness must notice a wrong answer (otherwise the files above prove nothing).
#[test]
fn a_wrong_expectation_fails() -> anyhow::Result<()> {
    let script = "statement ok\nCREATE TABLE t(a INTEGER)\n\nstatement ok\nINSERT INTO t VALUES(1)\n\nquery I nosort\nSELECT a + 1 FROM t\n----\n3\n";
    let s = cosmictron_sql::run_slt_script(script, "inline", None)?;
    assert_eq!((s.passed, s.failed), (2, 1), "{s:?}");
    let script = "onlyif cosmictron\nquery I nosort\nSELECT 2\n----\n2\n\nskipif cosmictron # not us\nquery I nosort\nSELECT 1\n----\n5\n";
    let s = cosmictron_sql::run_slt_script(script, "conditions", None)?;
    assert_eq!((s.passed, s.failed, s.skipped), (1, 0, 1), "{s:?}");
    Ok(())
}
