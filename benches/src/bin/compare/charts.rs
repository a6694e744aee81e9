//! The three charts: commit throughput against writers, single-writer commit latency
//! percentiles, and subscription cost against table size.
//!
//! The last comes from another benchmark: measurements it leaves in `OUT/subscriptions.json`
//! (the `results.json` shape, each with `size` = rows in the subscribed table) are drawn one
//! line per (workload, system). Without that file the chart is skipped and the report says so.

use std::collections::BTreeMap;

use cosmictron_benches::{Axis, LineChart, Measurement, Series, percentile};

use crate::commits::LatencyProfiles;
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

/// Lines of `median` against `size`, one per (workload, system) among `measurements` (or one
/// per system when `by_system_only`).
fn series_by_size(measurements: &[&Measurement], by_system_only: bool) -> Vec<Series> {
    let mut lines: BTreeMap<(usize, String), Vec<(f64, f64)>> = BTreeMap::new();
    for m in measurements {
        let Some(size) = m.size else { continue };
        // Column order first, so colours and legend follow the table.
        let order = COLUMNS
            .iter()
            .position(|c| c.id == m.system)
            .unwrap_or(COLUMNS.len());
        let name = if by_system_only {
            heading(&m.system)
        } else {
            format!("{} ({})", m.workload, heading(&m.system))
        };
        lines
            .entry((order, name))
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
        series: series_by_size(&commits, true),
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

/// Subscription cost against table size, if another benchmark left measurements with sizes.
pub(crate) fn subscription_cost(measurements: &[Measurement]) -> Option<LineChart> {
    let sized: Vec<&Measurement> = measurements.iter().filter(|m| m.size.is_some()).collect();
    let unit = sized.first()?.unit.clone();
    Some(LineChart {
        title: "Subscription cost vs table size".into(),
        x: Axis {
            label: "rows in the subscribed table (log)".into(),
            log: true,
            ticks: None,
        },
        y: Axis {
            label: format!("{unit} (log)"),
            log: true,
            ticks: None,
        },
        series: series_by_size(&sized, false),
    })
}

#[cfg(test)]
mod tests {
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
    fn subscription_chart_needs_sized_measurements() {
        assert!(subscription_cost(&[]).is_none());
        let ms = vec![
            Measurement::new("Subscription delta", "cosmictron", "µs", vec![3.0]).at_size(1_000),
            Measurement::new("Subscription delta", "cosmictron", "µs", vec![4.0])
                .at_size(1_000_000),
        ];
        let chart = subscription_cost(&ms).map(|c| c.series);
        assert_eq!(
            chart.map(|s| s.into_iter().map(|s| s.points).collect::<Vec<_>>()),
            Some(vec![vec![(1_000.0, 3.0), (1_000_000.0, 4.0)]])
        );
    }
}
