//! What a comparison run produces: one [`Measurement`] per workload and system, written as
//! `results.json` and as a Markdown table with Cosmictron ÷ SQLite ratios.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::stats::{median, ratio};

/// One workload measured on one system: every round's value and their median.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub workload: String,
    pub system: String,
    pub median: f64,
    pub unit: String,
    /// Every round's value, in the order measured.
    pub runs: Vec<f64>,
    /// The x coordinate of workloads that form a series (writers, table rows); charts use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl Measurement {
    /// A measurement from its rounds; the median is computed here so it always matches them.
    pub fn new(workload: &str, system: &str, unit: &str, runs: Vec<f64>) -> Measurement {
        Measurement {
            workload: workload.to_owned(),
            system: system.to_owned(),
            median: median(&runs),
            unit: unit.to_owned(),
            runs,
            size: None,
        }
    }

    /// The same measurement as the point `size` of a series.
    pub fn at_size(mut self, size: u64) -> Measurement {
        self.size = Some(size);
        self
    }
}

/// Whether a bigger number is the better one, judged by the unit: rates (`…/s`) are, times,
/// sizes and counts per operation are not.
pub fn higher_is_better(unit: &str) -> bool {
    unit.ends_with("/s")
}

/// `results.json`: a JSON array of measurements (`workload`, `system`, `median`, `unit`,
/// `runs`, and `size` where there is one).
pub fn to_json(measurements: &[Measurement]) -> serde_json::Result<String> {
    serde_json::to_string_pretty(measurements)
}

/// A system's column in the Markdown table.
#[derive(Debug, Clone, Copy)]
pub struct SystemColumn {
    /// The `system` of the measurements shown in this column.
    pub id: &'static str,
    /// The column heading.
    pub heading: &'static str,
    /// The short name a ratio uses (`0.8× memory`); ratios are taken against SQLite columns.
    pub short: &'static str,
    /// Whether this is an SQLite column (a ratio's denominator) or a Cosmictron one.
    pub sqlite: bool,
}

/// A number as a person reads it: thousands separated, a few significant digits.
pub fn human(v: f64) -> String {
    if !v.is_finite() {
        return String::from("–");
    }
    if v.abs() >= 1000.0 {
        let n = v.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 { format!("-{out}") } else { out }
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The Markdown table: one row per workload (in the order first measured), one column per
/// system, and the ratio of the row's first Cosmictron number to each SQLite number.
pub fn markdown_table(measurements: &[Measurement], columns: &[SystemColumn]) -> String {
    let mut workloads: Vec<(&str, &str)> = Vec::new();
    for m in measurements {
        if !workloads.contains(&(m.workload.as_str(), m.unit.as_str())) {
            workloads.push((m.workload.as_str(), m.unit.as_str()));
        }
    }
    let mut out = String::from("| Workload | Unit |");
    for c in columns {
        let _ = write!(out, " {} |", c.heading);
    }
    out.push_str(" Cosmictron ÷ SQLite |\n|---|---|");
    out.push_str(&"---:|".repeat(columns.len()));
    out.push_str("---|\n");
    for (workload, unit) in workloads {
        let value = |system: &str| {
            measurements
                .iter()
                .find(|m| m.workload == workload && m.unit == unit && m.system == system)
                .map(|m| m.median)
        };
        let arrow = if higher_is_better(unit) { "↑" } else { "↓" };
        let _ = write!(out, "| {workload} | {unit} {arrow} |");
        for c in columns {
            match value(c.id) {
                Some(v) => {
                    let _ = write!(out, " {} |", human(v));
                }
                None => out.push_str(" |"),
            }
        }
        let headline = columns
            .iter()
            .filter(|c| !c.sqlite)
            .find_map(|c| value(c.id).map(|v| (c, v)));
        let mut ratios = Vec::new();
        if let Some((ours, v)) = headline {
            for c in columns.iter().filter(|c| c.sqlite) {
                if let Some(r) = value(c.id).and_then(|theirs| ratio(v, theirs)) {
                    ratios.push(format!("{r:.2}× {}", c.short));
                }
            }
            if !ratios.is_empty() {
                ratios.insert(0, format!("{}:", ours.short));
            }
        }
        if ratios.is_empty() {
            out.push_str(" |\n");
        } else {
            let _ = writeln!(out, " {} |", ratios.join(" "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [SystemColumn; 3] = [
        SystemColumn {
            id: "cosmictron",
            heading: "Cosmictron",
            short: "native",
            sqlite: false,
        },
        SystemColumn {
            id: "cosmictron-sql",
            heading: "Cosmictron SQL",
            short: "SQL",
            sqlite: false,
        },
        SystemColumn {
            id: "sqlite-memory",
            heading: "SQLite memory",
            short: "memory",
            sqlite: true,
        },
    ];

    #[test]
    fn the_median_is_computed_from_the_runs() {
        let m = Measurement::new("get", "cosmictron", "ops/s", vec![5.0, 1.0, 3.0]);
        assert_eq!(m.median, 3.0);
        assert_eq!(m.size, None);
        assert_eq!(m.at_size(4).size, Some(4));
    }

    #[test]
    fn json_is_an_array_of_objects_with_the_five_fields() -> anyhow::Result<()> {
        let ms = vec![
            Measurement::new("get", "cosmictron", "ops/s", vec![1.0, 2.0]),
            Measurement::new("commits", "sqlite-memory", "commits/s", vec![4.0]).at_size(16),
        ];
        let parsed: serde_json::Value = serde_json::from_str(&to_json(&ms)?)?;
        let array = parsed
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("not an array"))?;
        assert_eq!(array.len(), 2);
        for object in array {
            for field in ["workload", "system", "median", "unit", "runs"] {
                assert!(object.get(field).is_some(), "{field} missing in {object}");
            }
        }
        assert_eq!(array[0]["median"], 1.5);
        assert_eq!(array[0]["runs"], serde_json::json!([1.0, 2.0]));
        assert!(array[0].get("size").is_none());
        assert_eq!(array[1]["size"], 16);
        let back: Vec<Measurement> = serde_json::from_str(&to_json(&ms)?)?;
        assert_eq!(back, ms);
        Ok(())
    }

    #[test]
    fn the_table_has_a_column_per_system_and_ratios_against_sqlite() {
        let ms = vec![
            Measurement::new("get", "cosmictron", "ops/s", vec![2000.0]),
            Measurement::new("get", "cosmictron-sql", "ops/s", vec![500.0]),
            Measurement::new("get", "sqlite-memory", "ops/s", vec![1000.0]),
            Measurement::new("join", "cosmictron-sql", "ms", vec![3.0]),
            Measurement::new("join", "sqlite-memory", "ms", vec![2.0]),
            Measurement::new("fsyncs", "cosmictron", "fsyncs/commit", vec![0.25]),
        ];
        let table = markdown_table(&ms, &COLUMNS);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(lines[0].contains("| Cosmictron SQL |"));
        assert_eq!(lines[1], "|---|---|---:|---:|---:|---|");
        // The first Cosmictron column with a number is the headline of the ratio.
        assert_eq!(
            lines[2],
            "| get | ops/s ↑ | 2,000 | 500 | 1,000 | native: 2.00× memory |"
        );
        assert_eq!(
            lines[3],
            "| join | ms ↓ | | 3.00 | 2.00 | SQL: 1.50× memory |"
        );
        assert_eq!(lines[4], "| fsyncs | fsyncs/commit ↓ | 0.250 | | | |");
    }

    #[test]
    fn numbers_are_formatted_for_reading() {
        assert_eq!(human(1_234_567.4), "1,234,567");
        assert_eq!(human(-1000.0), "-1,000");
        assert_eq!(human(81.0), "81.00");
        assert_eq!(human(0.1234), "0.123");
        assert_eq!(human(f64::NAN), "–");
    }

    #[test]
    fn rates_are_better_higher_and_times_lower() {
        assert!(higher_is_better("commits/s"));
        assert!(!higher_is_better("ms"));
        assert!(!higher_is_better("bytes/row"));
    }
}
