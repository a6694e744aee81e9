//! How big and how long: the sizes and rounds of a full run and of a `--quick` one.

use std::time::Duration;

/// Sizes and rounds of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) quick: bool,
    /// Rows of the `items` table in the bulk, read, recovery and memory workloads.
    pub(crate) rows: u64,
    /// Rows per transaction when loading (bulk insert and recovery builds).
    pub(crate) rows_per_tx: u64,
    /// Rounds of the bulk-insert and recovery workloads.
    pub(crate) rounds_heavy: usize,
    /// Rounds of the read workloads.
    pub(crate) rounds_reads: usize,
    /// Rounds of each (system, writers) commit workload.
    pub(crate) rounds_commits: usize,
    /// How long each commit round runs.
    pub(crate) commit_window: Duration,
    /// Lookups per round of the point and secondary-index workloads.
    pub(crate) lookups: u64,
    /// Queries per round of the scan, join and aggregate workloads (the median query time is
    /// the round's value).
    pub(crate) queries: usize,
    /// Rows of the small table joined to `items`.
    pub(crate) join_rows: u64,
    /// Sizes of the subscribed table in the subscription commit-cost workloads.
    pub(crate) subscription_rows: &'static [u64],
    /// Rounds of the subscription commit-cost workloads (sizes interleaved within a round).
    pub(crate) subscription_rounds: usize,
    /// Commits per round in each (size, subscription) cell.
    pub(crate) subscription_commits: u64,
    /// Subscriber counts of the fan-out workloads.
    pub(crate) subscribers: &'static [usize],
    /// Rounds of each fan-out workload (each sets its subscribers up afresh).
    pub(crate) fan_out_rounds: usize,
    /// Commits per fan-out round; every subscriber is timed on each.
    pub(crate) fan_out_commits: usize,
}

/// Concurrent writers in the commit workloads.
pub(crate) const WRITERS: [usize; 3] = [1, 4, 16];

impl Plan {
    pub(crate) fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                rows: 100_000,
                rows_per_tx: 10_000,
                rounds_heavy: 2,
                rounds_reads: 3,
                rounds_commits: 2,
                commit_window: Duration::from_millis(250),
                lookups: 20_000,
                queries: 2,
                join_rows: 1_000,
                subscription_rows: &[1_000, 10_000, 100_000],
                subscription_rounds: 3,
                subscription_commits: 100,
                subscribers: &[1, 100, 1_000],
                fan_out_rounds: 2,
                fan_out_commits: 10,
            }
        } else {
            Plan {
                quick,
                rows: 1_000_000,
                rows_per_tx: 10_000,
                rounds_heavy: 3,
                rounds_reads: 5,
                rounds_commits: 3,
                commit_window: Duration::from_secs(2),
                lookups: 200_000,
                queries: 3,
                join_rows: 1_000,
                subscription_rows: &[1_000, 100_000, 1_000_000],
                subscription_rounds: 5,
                subscription_commits: 600,
                subscribers: &[1, 100, 10_000],
                fan_out_rounds: 3,
                fan_out_commits: 34,
            }
        }
    }

    /// `1M rows` / `100k rows`: how workload names state the size they ran at.
    pub(crate) fn rows_label(&self) -> String {
        rows_label(self.rows)
    }
}

pub(crate) fn rows_label(rows: u64) -> String {
    match rows {
        r if r >= 1_000_000 && r % 1_000_000 == 0 => format!("{}M rows", r / 1_000_000),
        r if r >= 1_000 && r % 1_000 == 0 => format!("{}k rows", r / 1_000),
        r => format!("{r} rows"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_is_smaller_in_every_dimension() {
        let (q, f) = (Plan::new(true), Plan::new(false));
        assert!(q.rows < f.rows && q.lookups < f.lookups);
        assert!(q.commit_window < f.commit_window);
        assert!(q.rounds_heavy <= f.rounds_heavy && q.rounds_commits <= f.rounds_commits);
        assert_eq!(f.rows, 1_000_000, "the full run is the issue's 1M rows");
        assert!(q.subscription_rows.last() < f.subscription_rows.last());
        assert!(q.subscribers.last() < f.subscribers.last());
        assert_eq!(f.subscription_rows, [1_000, 100_000, 1_000_000]);
        assert_eq!(f.subscribers, [1, 100, 10_000]);
    }

    #[test]
    fn row_counts_are_labelled_short() {
        assert_eq!(rows_label(1_000_000), "1M rows");
        assert_eq!(rows_label(100_000), "100k rows");
        assert_eq!(rows_label(1_234), "1234 rows");
    }
}
