//! Incremental subscriptions, Cosmictron only (SQLite has nothing to compare them with):
//! what a single-row commit costs with a filtered or a 2-table join subscription as the table
//! grows, the growth from the smallest to the largest table (target ≤ 1.5×), and
//! commit-to-delivery latency with 1 to 10,000 subscribers sharing one query or each with its
//! own. The measuring is the library's (`cosmictron_benches::subscriptions`, also behind
//! the standalone `subscriptions` runner); this file turns it into measurements.
//!
//! Engines run in memory: these are the subscription machinery's costs, not the disk's.

use cosmictron_benches::subscriptions::{CommitCost, Subscribed, commit_costs, fan_out};
use cosmictron_benches::{Measurement, human, median, ratio};

use crate::plan::{Plan, rows_label};
use crate::scratch::progress;
use crate::systems::COSMICTRON;

const UNIT_US: &str = "µs";

/// `10,000 subscribers`, `1 subscriber`.
fn subscribers_label(n: usize) -> String {
    let count = if n >= 1_000 {
        human(n as f64)
    } else {
        n.to_string()
    };
    format!("{count} subscriber{}", if n == 1 { "" } else { "s" })
}

fn commit_workload(cost: &CommitCost) -> String {
    match cost.subscribed {
        Subscribed::Nothing => format!(
            "Single-row commit in memory, no subscription (baseline), {}",
            rows_label(cost.rows)
        ),
        subscribed => format!(
            "Single-row commit → update delivered, {}, {}",
            subscribed.describe(),
            rows_label(cost.rows)
        ),
    }
}

/// Per-round cost at the largest table ÷ at the smallest, for each subscribed kind.
fn growth(costs: &[CommitCost]) -> Vec<Measurement> {
    let (Some(smallest), Some(largest)) = (
        costs.iter().map(|c| c.rows).min(),
        costs.iter().map(|c| c.rows).max(),
    ) else {
        return Vec::new();
    };
    let at = |rows, subscribed| {
        costs
            .iter()
            .find(|c| c.rows == rows && c.subscribed == subscribed)
    };
    [Subscribed::Filter, Subscribed::Join]
        .into_iter()
        .filter_map(|subscribed| {
            let (small, large) = (at(smallest, subscribed)?, at(largest, subscribed)?);
            // Sizes are interleaved within a round, so a round's ratio compares like with like.
            let runs: Vec<f64> = small
                .round_medians_us()
                .into_iter()
                .zip(large.round_medians_us())
                .filter_map(|(s, l)| ratio(l, s))
                .collect();
            Some(Measurement::new(
                &format!(
                    "Subscription cost growth, {}, {} ÷ {} (target ≤ 1.5×)",
                    subscribed.describe(),
                    rows_label(largest),
                    rows_label(smallest)
                ),
                COSMICTRON,
                "×",
                runs,
            ))
        })
        .collect()
}

/// Commit-to-delivery p50 and p99 for every subscriber count, shared and distinct queries.
fn fan_outs(plan: &Plan) -> anyhow::Result<Vec<Measurement>> {
    let mut out = Vec::new();
    for distinct in [false, true] {
        let queries = if distinct {
            "a query each"
        } else {
            "one shared query"
        };
        for &subscribers in plan.subscribers {
            let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
            for round in 0..plan.fan_out_rounds {
                progress(&format!(
                    "subscriptions: {}, {queries}, round {}/{}",
                    subscribers_label(subscribers),
                    round + 1,
                    plan.fan_out_rounds
                ));
                let run = fan_out(subscribers, distinct, plan.fan_out_commits)?;
                p50s.push(run.p50_us());
                p99s.push(run.p99_us());
            }
            for (p, runs) in [("p50", p50s), ("p99", p99s)] {
                out.push(Measurement::new(
                    &format!(
                        "Commit → subscriber notified {p}, {}, {queries}",
                        subscribers_label(subscribers)
                    ),
                    COSMICTRON,
                    UNIT_US,
                    runs,
                ));
            }
        }
    }
    Ok(out)
}

/// The subscription workloads: measurements, and the commit costs for the chart.
pub(crate) fn run(plan: &Plan) -> anyhow::Result<(Vec<Measurement>, Vec<CommitCost>)> {
    let costs = commit_costs(
        plan.subscription_rows,
        plan.subscription_commits,
        plan.subscription_rounds,
        &progress,
    )?;
    let mut out = Vec::new();
    // Grouped by subscription, so one kind's sizes sit in adjacent rows of the table.
    for subscribed in Subscribed::ALL {
        for cost in costs.iter().filter(|c| c.subscribed == subscribed) {
            out.push(
                Measurement::new(
                    &commit_workload(cost),
                    COSMICTRON,
                    UNIT_US,
                    cost.round_medians_us(),
                )
                .at_size(cost.rows),
            );
        }
    }
    out.extend(growth(&costs));
    out.extend(fan_outs(plan)?);
    Ok((out, costs))
}

/// The value the table shows for a cell, which the chart draws too.
pub(crate) fn reported_us(cost: &CommitCost) -> f64 {
    median(&cost.round_medians_us())
}

#[cfg(test)]
mod tests {
    use cosmictron_benches::subscriptions::CommitRound;

    use super::*;

    fn cost(rows: u64, subscribed: Subscribed, medians: &[f64]) -> CommitCost {
        CommitCost {
            rows,
            subscribed,
            rounds: medians
                .iter()
                .map(|m| CommitRound {
                    samples_us: vec![*m],
                    worker_us_per_tx: 1.0,
                })
                .collect(),
        }
    }

    #[test]
    fn growth_is_the_largest_table_over_the_smallest_round_by_round() {
        let costs = vec![
            cost(1_000, Subscribed::Nothing, &[1.0, 1.0]),
            cost(1_000, Subscribed::Filter, &[10.0, 20.0]),
            cost(1_000, Subscribed::Join, &[10.0, 10.0]),
            cost(100_000, Subscribed::Filter, &[100.0, 100.0]),
            cost(1_000_000, Subscribed::Filter, &[12.0, 30.0]),
            cost(1_000_000, Subscribed::Join, &[15.0, 11.0]),
        ];
        let growth = growth(&costs);
        assert_eq!(growth.len(), 2);
        assert_eq!(
            growth[0].workload,
            "Subscription cost growth, filtered subscription, 1M rows ÷ 1k rows (target ≤ 1.5×)"
        );
        assert_eq!(growth[0].runs, vec![1.2, 1.5]);
        assert_eq!(growth[1].runs, vec![1.5, 1.1]);
        assert_eq!(growth[1].unit, "×");
        assert!(super::growth(&[]).is_empty());
    }

    #[test]
    fn workloads_name_their_size_and_subscription() {
        assert_eq!(
            commit_workload(&cost(100_000, Subscribed::Join, &[1.0])),
            "Single-row commit → update delivered, 2-table join subscription, 100k rows"
        );
        assert_eq!(subscribers_label(1), "1 subscriber");
        assert_eq!(subscribers_label(10_000), "10,000 subscribers");
        assert_eq!(
            reported_us(&cost(1, Subscribed::Filter, &[3.0, 1.0, 2.0])),
            2.0
        );
    }
}
