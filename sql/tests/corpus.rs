//! The shared SQLite corpus, where the checkout has it (`../shared/sqllogictest` beside the
//! workspace): `select5.test` (comma joins of up to 64 tables) must pass every record with
//! every query fast — the join order keeps these linear — and the `evidence/` files must stay
//! at their known pass counts. The large files run through the `slt` binary instead (see
//! docs/sql.md).

use std::path::PathBuf;
use std::time::Duration;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/sqllogictest");
    dir.is_dir().then_some(dir)
}

#[test]
fn select5_joins_pass_and_stay_fast() -> anyhow::Result<()> {
    let Some(dir) = corpus() else {
        eprintln!("shared/sqllogictest not found; skipping");
        return Ok(());
    };
    let s = cosmictron_sql::run_slt_file(&dir.join("select5.test"), None)?;
    assert_eq!(s.failed, 0, "{:?}", s.failures);
    assert!(s.passed >= 1400, "{s:?}");
    let (slowest, sql) = s.slowest.unwrap_or_default();
    // 100 ms is the target for release builds (about 2 ms measured); debug builds are ~10x
    // slower and this machine is shared, hence the wider bound here.
    assert!(slowest < Duration::from_millis(1000), "{slowest:?}: {sql}");
    Ok(())
}

#[test]
fn evidence_files_keep_their_pass_counts() -> anyhow::Result<()> {
    let Some(dir) = corpus() else {
        return Ok(());
    };
    for (file, passed, failed) in [
        ("evidence/in1.test", 214, 0),
        ("evidence/in2.test", 53, 0),
        ("evidence/slt_lang_aggfunc.test", 79, 1),
    ] {
        let s = cosmictron_sql::run_slt_file(&dir.join(file), None)?;
        assert_eq!(
            (s.passed, s.failed),
            (passed, failed),
            "{file}: {:?}",
            s.failures
        );
    }
    Ok(())
}
