//! Measures incremental subscriptions against their targets and prints Markdown tables.
//!
//! `cargo run --release -p cosmictron-benches --bin subscriptions -- [--quick] [--only commit|fanout]
//! [--subscribers 1,100,10000] [--shared-only]`
//!
//! 1. *Commit cost by table size*: one single-row commit that changes a subscribed result,
//!    timed from the start of the commit until the subscriber holds the update, with a
//!    filtered single-table subscription and with a 2-table join subscription, over tables of
//!    1k, 100k and 1M rows (`--quick`: 1k and 100k). The same commit with no subscription is
//!    the baseline. Targets: the 1M-row cost ≤ 1.5× the 1k-row cost.
//! 2. *Fan-out latency*: 1, 100 and 10,000 subscribers of one shared query, then of as many
//!    distinct queries. Target: p99 ≤ 1 ms at 10,000 subscribers sharing one query.
//!
//! The measuring lives in the library (`cosmictron_benches::subscriptions`, shared with the
//! `compare` runner); this binary only chooses sizes and prints.

use anyhow::Context;
use cosmictron_benches::subscriptions::{CommitCost, FanOut, Subscribed, commit_costs, fan_out};

/// The cell of `costs` at `rows` with `subscribed`.
fn cell(costs: &[CommitCost], rows: u64, subscribed: Subscribed) -> Option<&CommitCost> {
    costs
        .iter()
        .find(|c| c.rows == rows && c.subscribed == subscribed)
}

fn print_commit_costs(sizes: &[u64], commits: u64, rounds: usize) -> anyhow::Result<()> {
    println!("## Single-row commit with a subscription, by table size\n");
    println!(
        "Median µs from the start of the commit until the subscriber holds the update \
         ({commits} commits per cell in {rounds} rounds, sizes interleaved so that load on the \
         machine falls on all of them), and the median over rounds of the worker's mean time \
         per tx.\n"
    );
    let costs = commit_costs(sizes, commits / rounds as u64, rounds, &|what| {
        eprintln!("{what}");
    })?;
    println!(
        "| rows in `t` | commit, no subscription | filtered: commit → delivered | filtered: worker per tx | join: commit → delivered | join: worker per tx |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let medians = |rows, subscribed| {
        cell(&costs, rows, subscribed).map_or((f64::NAN, f64::NAN), |c| {
            (c.pooled_median_us(), c.worker_median_us())
        })
    };
    let mut rows = Vec::new();
    for &n in sizes {
        let (none, _) = medians(n, Subscribed::Nothing);
        let (filter, filter_worker) = medians(n, Subscribed::Filter);
        let (join, join_worker) = medians(n, Subscribed::Join);
        println!(
            "| {n} | {none:.1} | {filter:.1} | {filter_worker:.1} | {join:.1} | {join_worker:.1} |"
        );
        rows.push([filter, filter_worker, join, join_worker]);
    }
    if let (Some(f), Some(l)) = (rows.first(), rows.last()) {
        println!(
            "\nRatio largest/smallest table: filtered {:.2}× end to end, {:.2}× worker; \
             join {:.2}× end to end, {:.2}× worker (target ≤ 1.5×).\n",
            l[0] / f[0],
            l[1] / f[1],
            l[2] / f[2],
            l[3] / f[3]
        );
    }
    Ok(())
}

fn print_fan_outs(counts: &[usize], commits: usize, shared_only: bool) -> anyhow::Result<()> {
    println!("## Commit-to-delivery latency by number of subscribers\n");
    println!(
        "µs from the start of a single-row commit until each subscriber's queue became \
         non-empty, over {commits} commits × every subscriber.\n"
    );
    println!(
        "| subscribers | shared query p50 | shared query p99 | shared: worker per tx | distinct queries p50 | distinct queries p99 | distinct: worker per tx |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &n in counts {
        let shared = fan_out(n, false, commits)?;
        let distinct = if shared_only {
            None
        } else {
            Some(fan_out(n, true, commits)?)
        };
        let cell = |f: fn(&FanOut) -> f64| {
            distinct
                .as_ref()
                .map_or("—".into(), |d| format!("{:.1}", f(d)))
        };
        println!(
            "| {n} | {:.1} | {:.1} | {:.1} | {} | {} | {} |",
            shared.p50_us(),
            shared.p99_us(),
            shared.worker_us_per_tx,
            cell(FanOut::p50_us),
            cell(FanOut::p99_us),
            cell(|d| d.worker_us_per_tx),
        );
    }
    println!();
    Ok(())
}

/// The value after `name` on the command line.
fn flag(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes: &[u64] = if quick {
        &[1_000, 100_000]
    } else {
        &[1_000, 100_000, 1_000_000]
    };
    let commits = if quick { 300 } else { 3_000 };
    println!(
        "# Subscription benchmarks{}\n",
        if quick { " (quick)" } else { "" }
    );
    let only = flag("--only").unwrap_or_default();
    if only.is_empty() || only == "commit" {
        print_commit_costs(sizes, commits, if quick { 3 } else { 5 })?;
    }
    if only.is_empty() || only == "fanout" {
        let counts = flag("--subscribers")
            .map(|list| {
                list.split(',')
                    .map(str::parse)
                    .collect::<Result<Vec<usize>, _>>()
            })
            .transpose()
            .context("--subscribers takes a comma-separated list of counts")?
            .unwrap_or_else(|| vec![1, 100, 10_000]);
        let shared_only = std::env::args().any(|a| a == "--shared-only");
        print_fan_outs(&counts, if quick { 20 } else { 100 }, shared_only)?;
    }
    Ok(())
}
