//! Cosmictron and SQLite side by side, in one process, on the same workloads.
//!
//! `cargo run --release -p cosmictron-benches --bin compare -- [--quick] [--out DIR] [--only SECTION]`
//!
//! Cosmictron runs through its native engine API, through SQL (`cosmictron-sql`) and through a
//! WASM reducer (the embedding facade with `benches/modules/bench_items`, which this binary
//! builds for wasm32 on first use); SQLite (rusqlite, bundled) runs in memory and as a WAL-mode
//! file with `synchronous=FULL` and `NORMAL`. Every workload runs several rounds with the
//! systems interleaved, and the median is reported with Cosmictron ÷ SQLite ratios — on a
//! shared machine, compare ratios from one run rather than absolute numbers across runs.
//!
//! Subscriptions have no SQLite counterpart: their section measures Cosmictron alone, with the
//! library's subscription workloads (shared with the standalone `subscriptions` runner).
//!
//! Output: a Markdown table on stdout (progress on stderr); in `--out DIR` (default
//! `target/compare`): `results.json`, `throughput.svg`, `latency.svg` and `subscriptions.svg`,
//! drawn with `plotters`. `--quick` scales 1M rows down to 100k and shortens every window
//! (under a minute); the full run takes several.
//! `--only SECTION` (one of [`SECTIONS`], repeatable) runs a part, e.g. under a profiler.
//!
//! Layout:
//! - `plan.rs`      sizes and rounds, full and quick
//! - `systems.rs`   the systems' names and table columns
//! - `tables.rs`    Cosmictron's tables, the shared SQL text
//! - `sqlite.rs`    SQLite's configurations, schema and loading
//! - `wasm.rs`      building and deploying the bench module
//! - `commits.rs`   durable single-row commits at 1, 4 and 16 writers, latencies
//! - `fast_commits.rs` single-row commits that do not wait for an fsync
//! - `bulk.rs`      bulk insert, in memory and durable
//! - `reads.rs`     point and secondary lookups, filtered scan, join, GROUP BY
//! - `recovery.rs`  open time and on-disk size of a closed database
//! - `memory.rs`    resident memory per row, measured in child processes
//! - `subscriptions.rs` subscription cost by table size, fan-out latency (Cosmictron only)
//! - `charts.rs`    what the three charts show
//! - `machine.rs`   the machine the numbers came from
//! - `scratch.rs`   scratch directories on the build's disk, progress

mod bulk;
mod charts;
mod commits;
mod fast_commits;
mod machine;
mod memory;
mod plan;
mod reads;
mod recovery;
mod scratch;
mod sqlite;
mod subscriptions;
mod systems;
mod tables;
mod wasm;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use cosmictron_benches::{LineChart, markdown_table, to_json};

use crate::plan::Plan;

const USAGE: &str = "usage: compare [--quick] [--out DIR] \
     [--only commits|fast_commits|bulk|reads|recovery|memory|subscriptions]";

/// The parts of a run, in the order they run.
const SECTIONS: [&str; 7] = [
    "commits",
    "fast_commits",
    "bulk",
    "reads",
    "recovery",
    "memory",
    "subscriptions",
];

#[derive(Debug)]
struct Args {
    quick: bool,
    out: PathBuf,
    /// Sections to run; empty: all.
    only: Vec<String>,
}

impl Args {
    fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

fn parse_args(args: &[String]) -> anyhow::Result<Option<Args>> {
    let mut parsed = Args {
        quick: false,
        out: scratch::target_dir().join("compare"),
        only: Vec::new(),
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--out" => parsed.out = PathBuf::from(rest.next().context(USAGE)?),
            "--only" => {
                let section = rest.next().context(USAGE)?;
                if !SECTIONS.contains(&section.as_str()) {
                    bail!("unknown section {section} ({USAGE})");
                }
                parsed.only.push(section.clone());
            }
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown argument {other} ({USAGE})"),
        }
    }
    Ok(Some(parsed))
}

fn write_chart(out: &Path, file: &str, chart: &LineChart) -> anyhow::Result<()> {
    let path = out.join(file);
    let svg = chart
        .to_svg()
        .with_context(|| format!("draw {}", chart.title))?;
    std::fs::write(&path, svg).with_context(|| format!("write {}", path.display()))?;
    println!("- chart: {}", path.display());
    Ok(())
}

fn run(args: &Args) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; run with --release for meaningful numbers");
    }
    let plan = Plan::new(args.quick);
    std::fs::create_dir_all(&args.out).with_context(|| format!("create {}", args.out.display()))?;
    let machine = machine::describe(&scratch::target_dir());
    let load_at_start = machine::loadavg();
    let started = Instant::now();
    let module = if args.wants("commits") || args.wants("fast_commits") {
        scratch::progress("building the bench module for wasm32");
        wasm::module_bytes()?
    } else {
        Vec::new()
    };

    let mut results = Vec::new();
    let mut latencies = Vec::new();
    if args.wants("commits") {
        let (commits, profiles) = commits::run(&plan, &module)?;
        results.extend(commits);
        latencies = profiles;
    }
    if args.wants("fast_commits") {
        results.extend(fast_commits::run(&plan, &module)?);
    }
    if args.wants("bulk") {
        results.extend(bulk::run(&plan)?);
    }
    if args.wants("reads") {
        results.extend(reads::run(&plan)?);
    }
    if args.wants("recovery") {
        results.extend(recovery::run(&plan)?);
    }
    if args.wants("memory") {
        results.extend(memory::run(&plan)?);
    }
    let mut subscription_costs = Vec::new();
    if args.wants("subscriptions") {
        let (measurements, costs) = subscriptions::run(&plan)?;
        results.extend(measurements);
        subscription_costs = costs;
    }

    println!(
        "## Cosmictron vs SQLite{}\n",
        if plan.quick {
            " (--quick: 100k rows instead of 1M, short windows, few rounds)"
        } else {
            ""
        }
    );
    for (key, value) in &machine {
        println!("- {key}: {value}");
    }
    println!(
        "- load average at start: {load_at_start}; at end: {}",
        machine::loadavg()
    );
    println!("- run time: {:.0} s\n", started.elapsed().as_secs_f64());
    println!("{}", markdown_table(&results, &systems::COLUMNS));

    let json = args.out.join("results.json");
    std::fs::write(&json, to_json(&results)?)
        .with_context(|| format!("write {}", json.display()))?;
    println!("- results: {}", json.display());
    // A partial run (`--only`) leaves the charts of the parts it skipped as they were.
    if args.wants("commits") {
        write_chart(&args.out, "throughput.svg", &charts::throughput(&results))?;
        write_chart(&args.out, "latency.svg", &charts::latency(&latencies))?;
    }
    if args.wants("subscriptions") {
        let chart = charts::subscription_cost(&subscription_costs);
        write_chart(&args.out, "subscriptions.svg", &chart)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(memory::CHILD_FLAG) {
        let system = args.get(1).context("--memory-child SYSTEM ROWS")?;
        let rows = args.get(2).context("--memory-child SYSTEM ROWS")?.parse()?;
        return memory::child(system, rows);
    }
    match parse_args(&args)? {
        Some(args) => run(&args),
        None => {
            println!("{USAGE}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments_are_parsed_and_unknown_ones_refused() -> anyhow::Result<()> {
        let args = parse_args(&strings(&["--quick", "--out", "x/y", "--only", "reads"]))?;
        let subscriptions = parse_args(&strings(&["--only", "subscriptions"]))?;
        assert!(
            matches!(&subscriptions, Some(a) if a.wants("subscriptions") && !a.wants("commits"))
        );
        assert!(matches!(&args, Some(a) if a.quick && a.out == Path::new("x/y")));
        assert!(matches!(&args, Some(a) if a.wants("reads") && !a.wants("bulk")));
        let default = parse_args(&[])?;
        assert!(matches!(&default, Some(a) if !a.quick && a.out.ends_with("compare")));
        assert!(matches!(&default, Some(a) if SECTIONS.iter().all(|s| a.wants(s))));
        assert!(parse_args(&strings(&["--only", "everything"])).is_err());
        assert!(parse_args(&strings(&["--help"]))?.is_none());
        assert!(parse_args(&strings(&["--fast"])).is_err());
        assert!(parse_args(&strings(&["--out"])).is_err());
        Ok(())
    }
}
