//! Progress of a long WAL replay, reported in the log every few seconds so whoever starts a
//! server on a big data directory sees how far recovery has come and roughly how long is left.

use std::time::{Duration, Instant};

/// How often a replay reports its progress.
pub(crate) const REPORT_EVERY: Duration = Duration::from_secs(2);

/// One progress report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Progress {
    pub(crate) percent: u64,
    pub(crate) mib_read: f64,
    pub(crate) mib_total: f64,
    pub(crate) records: u64,
    /// Seconds left at the rate so far (`None` before any byte is read).
    pub(crate) eta_secs: Option<u64>,
}

/// Decides when a replay reports, and what.
#[derive(Debug)]
pub(crate) struct ReplayProgress {
    started: Instant,
    every: Duration,
    next: Instant,
}

impl ReplayProgress {
    pub(crate) fn new(started: Instant, every: Duration) -> ReplayProgress {
        ReplayProgress {
            started,
            every,
            next: started + every,
        }
    }

    /// A report when one is due at `now`, after `records` records and `read` of `total` bytes.
    pub(crate) fn due(
        &mut self,
        now: Instant,
        records: u64,
        (read, total): (u64, u64),
    ) -> Option<Progress> {
        if now < self.next {
            return None;
        }
        self.next = now + self.every;
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let eta_secs = (read > 0).then(|| {
            let left = total.saturating_sub(read) as f64;
            (elapsed * left / read as f64).round() as u64
        });
        Some(Progress {
            percent: read.saturating_mul(100).checked_div(total).unwrap_or(100),
            mib_read: mib(read),
            mib_total: mib(total),
            records,
            eta_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_come_every_interval_with_percent_and_time_left() {
        // Proves nothing is reported before the interval, then one report per interval with
        // the share read and the time left at the rate so far.
        let start = Instant::now();
        let every = Duration::from_secs(2);
        let mut p = ReplayProgress::new(start, every);
        assert_eq!(p.due(start + Duration::from_secs(1), 10, (100, 1000)), None);
        let first = p
            .due(start + Duration::from_secs(2), 20, (250, 1000))
            .expect("due");
        assert_eq!(
            (first.percent, first.records, first.eta_secs),
            (25, 20, Some(6))
        );
        assert_eq!(p.due(start + Duration::from_secs(3), 30, (300, 1000)), None);
        let second = p
            .due(start + Duration::from_secs(4), 40, (1000, 1000))
            .expect("due");
        assert_eq!((second.percent, second.eta_secs), (100, Some(0)));
        assert_eq!(
            ReplayProgress::new(start, every)
                .due(start + every, 0, (0, 0))
                .map(|p| (p.percent, p.eta_secs)),
            Some((100, None))
        );
    }
}
