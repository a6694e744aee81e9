//! The three charts, as data for the library's `LineChart` (drawn with `plotters`): commit
//! throughput against writers, single-writer commit latency percentiles, and subscription cost
//! against table size.

use std::collections::BTreeMap;

use cosmictron_benches::subscriptions::{CommitCost, Subscribed};
use cosmictron_benches::{Axis, LineChart, Measurement, Series, percentile};

use crate::commits::LatencyProfiles;
use crate::subscriptions::reported_us;
use crate::systems::COLUMNS;

/// Percentiles drawn on the latency chart, evenly spaced along x.
const PERCENTILES: [(f64, &str); 6] = [
    (50.0, "p50"),
    (90.0, "p90"),
    (99.0, "p99"),
    (99.9, "p99.9"),
    (99.99, "p99.99"),
    (100.0, "max"),
];

fn heading(system: &str) -> String {
    COLUMNS
        .iter()
        .find(|c| c.id == system)
        .map_or_else(|| system.to_owned(), |c| c.heading.to_owned())
}

/// Lines of `median` against `size`, one per system among `measurements`.
fn series_by_size(measurements: &[&Measurement]) -> Vec<Series> {
    let mut lines: BTreeMap<(usize, String), Vec<(f64, f64)>> = BTreeMap::new();
    for m in measurements {
        let Some(size) = m.size else { continue };
        // Column order first, so colours and legend follow the table.
        let order = COLUMNS
            .iter()
            .position(|c| c.id == m.system)
            .unwrap_or(COLUMNS.len());
        lines
            .entry((order, heading(&m.system)))
            .or_default()
            .push((size as f64, m.median));
    }
    lines
        .into_iter()
        .map(|((_, name), mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series { name, points }
        })
        .collect()
}

/// Durable commits/s at 1, 4 and 16 writers, one line per system.
pub(crate) fn throughput(measurements: &[Measurement]) -> LineChart {
    let commits: Vec<&Measurement> = measurements
        .iter()
        .filter(|m| m.workload.starts_with("Durable single-row commits") && m.size.is_some())
        .collect();
    LineChart {
        title: "Durable single-row commits vs concurrent writers".into(),
        x: Axis {
            label: "concurrent writers".into(),
            log: true,
            ticks: Some(
                crate::plan::WRITERS
                    .iter()
                    .map(|w| (*w as f64, w.to_string()))
                    .collect(),
            ),
        },
        y: Axis {
            label: "commits/s (log)".into(),
            log: true,
            ticks: None,
        },
        series: series_by_size(&commits),
    }
}

/// Commit latency percentiles with one writer, one line per system.
pub(crate) fn latency(profiles: &LatencyProfiles) -> LineChart {
    let series = profiles
        .iter()
        .filter(|(_, sorted)| !sorted.is_empty())
        .map(|(system, sorted)| Series {
            name: heading(system),
            points: PERCENTILES
                .iter()
                .enumerate()
                .map(|(i, (p, _))| (i as f64, percentile(sorted, *p)))
                .collect(),
        })
        .collect();
    LineChart {
        title: "Durable commit latency, 1 writer".into(),
        x: Axis {
            label: "percentile".into(),
            log: false,
            ticks: Some(
                PERCENTILES
                    .iter()
                    .enumerate()
                    .map(|(i, (_, label))| (i as f64, (*label).to_owned()))
                    .collect(),
            ),
        },
        y: Axis {
            label: "latency, µs (log)".into(),
            log: true,
            ticks: None,
        },
        series,
    }
}

/// The cost of a single-row commit until the subscriber holds the update, against the rows
/// in the subscribed table: one line per subscription (and the commit alone, as the baseline).
/// A linear y axis from zero, so that a flat line reads as flat.
pub(crate) fn subscription_cost(costs: &[CommitCost]) -> LineChart {
    let series = Subscribed::ALL
        .into_iter()
        .map(|subscribed| {
            let mut points: Vec<(f64, f64)> = costs
                .iter()
                .filter(|c| c.subscribed == subscribed)
                .map(|c| (c.rows as f64, reported_us(c)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: match subscribed {
                    Subscribed::Nothing => "commit alone (baseline)".to_owned(),
                    other => other.describe().to_owned(),
                },
                points,
            }
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    LineChart {
        title: "Single-row commit with a subscription vs table size".into(),
        x: Axis {
            label: "rows in the subscribed table (log)".into(),
            log: true,
            ticks: None,
        },
        y: Axis {
            label: "µs, commit start → update delivered".into(),
            log: false,
            ticks: None,
        },
        series,
    }
}

#[cfg(test)]
mod tests {
    use cosmictron_benches::subscriptions::CommitRound;

    use super::*;

    #[test]
    fn throughput_has_a_line_per_system_ordered_by_writers() {
        let ms = vec![
            Measurement::new(
                "Durable single-row commits, 4 writers",
                "cosmictron",
                "commits/s",
                vec![40.0],
            )
            .at_size(4),
            Measurement::new(
                "Durable single-row commits, 1 writer",
                "cosmictron",
                "commits/s",
                vec![10.0],
            )
            .at_size(1),
            Measurement::new(
                "Durable single-row commits, 1 writer",
                "sqlite-wal-full",
                "commits/s",
                vec![9.0],
            )
            .at_size(1),
            Measurement::new(
                "Fsyncs per commit, 1 writer",
                "cosmictron",
                "fsyncs/commit",
                vec![1.0],
            )
            .at_size(1),
        ];
        let chart = throughput(&ms);
        assert_eq!(chart.series.len(), 2);
        assert_eq!(chart.series[0].name, "Cosmictron (native)");
        assert_eq!(chart.series[0].points, vec![(1.0, 10.0), (4.0, 40.0)]);
        assert_eq!(chart.series[1].points, vec![(1.0, 9.0)]);
    }

    #[test]
    fn latency_points_are_the_percentiles_of_each_profile() {
        let sorted: Vec<f64> = (1..=10_000).map(f64::from).collect();
        let chart = latency(&vec![
            ("cosmictron", sorted),
            ("sqlite-wal-full", Vec::new()),
        ]);
        assert_eq!(chart.series.len(), 1, "an empty profile draws no line");
        let ys: Vec<f64> = chart.series[0].points.iter().map(|p| p.1).collect();
        assert_eq!(
            ys,
            vec![5_000.0, 9_000.0, 9_900.0, 9_990.0, 9_999.0, 10_000.0]
        );
    }

    #[test]
    fn subscription_chart_has_a_line_per_subscription_ordered_by_size() {
        let cost = |rows, subscribed, us| CommitCost {
            rows,
            subscribed,
            rounds: vec![CommitRound {
                samples_us: vec![us],
                worker_us_per_tx: 1.0,
            }],
        };
        let chart = subscription_cost(&[
            cost(1_000_000, Subscribed::Filter, 12.0),
            cost(1_000, Subscribed::Filter, 10.0),
            cost(1_000, Subscribed::Join, 11.0),
        ]);
        let lines: Vec<(&str, &[(f64, f64)])> = chart
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.points.as_slice()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (
                    "filtered subscription",
                    &[(1_000.0, 10.0), (1_000_000.0, 12.0)][..]
                ),
                ("2-table join subscription", &[(1_000.0, 11.0)][..]),
            ]
        );
        assert!(chart.x.log && !chart.y.log);
    }
}
