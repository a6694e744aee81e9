//! Interleaved rounds of read workloads across systems, shared by the `compare` runner's reads
//! and by `sql_vs_sqlite`: one warm-up round (caches filled, statements prepared), then rounds
//! in which every system runs every workload in turn, each answer's row count checked, and
//! each round's median kept.

use anyhow::ensure;

use crate::results::Measurement;
use crate::stats::{median, timed};

/// The rows one run returned.
pub type Rows = anyhow::Result<u64>;

/// One system's run of a workload, given the run's seed.
pub type Run<'a> = Box<dyn Fn(u64) -> Rows + 'a>;

/// One workload: its name and unit, how many operations a run does, the rows every run must
/// return, and each system's run.
pub struct ReadWorkload<'a> {
    pub name: String,
    pub unit: &'static str,
    /// Operations per run (lookups), or 1 (a query: its value is milliseconds per run).
    pub ops: u64,
    pub expect: u64,
    pub runs: Vec<(&'static str, Run<'a>)>,
}

impl std::fmt::Debug for ReadWorkload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadWorkload")
            .field("name", &self.name)
            .field(
                "systems",
                &self.runs.iter().map(|r| r.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// How a lookup workload's round becomes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupValue {
    /// Lookups per second.
    PerSecond,
    /// Microseconds per lookup.
    MicrosEach,
}

/// How many rounds, and how a round is run.
#[derive(Clone, Copy, Debug)]
pub struct Rounds {
    /// Measured rounds, after the warm-up round.
    pub rounds: usize,
    /// Runs of a query per round (the round keeps their median).
    pub queries: usize,
    pub lookups_as: LookupValue,
}

/// Runs every workload on every system, interleaved, for `rounds`; `progress` hears each
/// round's number as it starts (0: the warm-up).
pub fn measure_interleaved(
    rounds: &Rounds,
    workloads: &[ReadWorkload<'_>],
    progress: &dyn Fn(usize),
) -> anyhow::Result<Vec<Measurement>> {
    let mut values: Vec<Vec<Vec<f64>>> = workloads
        .iter()
        .map(|w| vec![Vec::new(); w.runs.len()])
        .collect();
    for round in 0..=rounds.rounds {
        progress(round);
        let seed = (round as u64) << 40;
        for (w, values) in workloads.iter().zip(&mut values) {
            let reps = if w.ops == 1 { rounds.queries } else { 1 };
            for ((system, run), values) in w.runs.iter().zip(values.iter_mut()) {
                let mut times = Vec::with_capacity(reps);
                for rep in 0..reps {
                    let (rows, secs) = timed(|| run(seed + rep as u64));
                    let rows = rows?;
                    ensure!(
                        rows == w.expect,
                        "{system} returned {rows} rows for {}, expected {}",
                        w.name,
                        w.expect
                    );
                    times.push(secs);
                }
                if round > 0 {
                    let secs = median(&times);
                    values.push(match (w.ops, rounds.lookups_as) {
                        (1, _) => secs * 1e3,
                        (ops, LookupValue::PerSecond) => ops as f64 / secs,
                        (ops, LookupValue::MicrosEach) => secs * 1e6 / ops as f64,
                    });
                }
            }
        }
    }
    Ok(workloads
        .iter()
        .zip(values)
        .flat_map(|(w, values)| {
            w.runs
                .iter()
                .zip(values)
                .map(|((system, _), v)| Measurement::new(&w.name, system, w.unit, v))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_runs_every_round_and_wrong_answers_fail() -> anyhow::Result<()> {
        // Proves the warm-up round is not kept, each system gets one value per round in the
        // unit asked for, and a run returning the wrong row count fails the measurement.
        let workloads = vec![ReadWorkload {
            name: "lookups".into(),
            unit: "µs/lookup",
            ops: 10,
            expect: 10,
            runs: vec![("a", Box::new(|_| Ok(10))), ("b", Box::new(|_| Ok(10)))],
        }];
        let rounds = Rounds {
            rounds: 3,
            queries: 1,
            lookups_as: LookupValue::MicrosEach,
        };
        let seen = std::cell::Cell::new(0);
        let out = measure_interleaved(&rounds, &workloads, &|r| seen.set(seen.get().max(r + 1)))?;
        assert_eq!(seen.get(), 4);
        assert_eq!(out.len(), 2);
        assert!(
            out.iter()
                .all(|m| m.runs.len() == 3 && m.unit == "µs/lookup")
        );
        let wrong = vec![ReadWorkload {
            name: "query".into(),
            unit: "ms",
            ops: 1,
            expect: 5,
            runs: vec![("a", Box::new(|_| Ok(4)))],
        }];
        let err = measure_interleaved(&rounds, &wrong, &|_| {}).expect_err("wrong rows");
        assert!(
            err.to_string()
                .contains("a returned 4 rows for query, expected 5")
        );
        Ok(())
    }
}
