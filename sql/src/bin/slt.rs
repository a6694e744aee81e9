//! Runs sqllogictest files against Cosmictron's SQL engine and prints, per file, how many
//! records passed, failed and were skipped, then a `TOTAL` line.
//!
//! ```text
//! cargo run --release -p cosmictron-sql --bin slt -- [--budget-secs N] [--verbose] FILES_OR_DIRS…
//! ```
//! Directories are searched recursively for `*.test` and `*.slt` files. `--budget-secs` bounds
//! the time spent per file (records after it count as not run); `--verbose` prints the first
//! failures of each file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cosmictron_sql::run_slt_file;

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            collect(&e, out)?;
        }
    } else if path.extension().is_some_and(|e| e == "test" || e == "slt") {
        out.push(path.to_owned());
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut budget = None;
    let mut verbose = false;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--budget-secs" => {
                let n: u64 = args
                    .next()
                    .context("--budget-secs needs a number")?
                    .parse()
                    .context("--budget-secs needs a number")?;
                budget = Some(Duration::from_secs(n));
            }
            "--verbose" => verbose = true,
            other => collect(Path::new(other), &mut files)?,
        }
    }
    if files.is_empty() {
        bail!("usage: slt [--budget-secs N] [--verbose] FILES_OR_DIRS…");
    }
    let (mut passed, mut failed, mut skipped, mut not_run) = (0, 0, 0, 0);
    for f in &files {
        let started = Instant::now();
        match run_slt_file(f, budget) {
            Ok(s) => {
                let run = s.passed + s.failed;
                let rate = if run == 0 {
                    100.0
                } else {
                    100.0 * s.passed as f64 / run as f64
                };
                println!(
                    "{}: passed={} failed={} skipped={} not_run={} rate={rate:.2}% time={:.1}s",
                    f.display(),
                    s.passed,
                    s.failed,
                    s.skipped,
                    s.not_run,
                    started.elapsed().as_secs_f64()
                );
                if verbose {
                    if let Some((d, sql)) = &s.slowest {
                        let sql: String = sql.chars().take(100).collect();
                        println!(
                            "  slowest record: {:.1} ms: {sql}",
                            d.as_secs_f64() * 1000.0
                        );
                    }
                    for msg in &s.failures {
                        println!("  {}", msg.replace('\n', "\n  "));
                    }
                }
                passed += s.passed;
                failed += s.failed;
                skipped += s.skipped;
                not_run += s.not_run;
            }
            Err(e) => {
                println!("{}: error: {e}", f.display());
                failed += 1;
            }
        }
    }
    if not_run > 0 {
        println!("not run (time budget): {not_run}");
    }
    println!("TOTAL passed={passed} failed={failed} skipped={skipped}");
    Ok(())
}
