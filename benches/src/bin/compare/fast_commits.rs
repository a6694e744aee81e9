//! Single-row commits that do not wait for an fsync, one writer: what a commit costs in CPU
//! when the disk is out of the way.
//!
//! Two pairs: in memory (Cosmictron durability `None`, SQLite `:memory:`), and acknowledged
//! before the fsync (Cosmictron `Buffered` with a 10 ms flush, native and through a WASM
//! reducer; SQLite WAL with `synchronous=NORMAL`). Neither pair survives power loss in full:
//! `Buffered` can lose the last ~10 ms of commits, `NORMAL` the commits since the last
//! checkpoint's sync. The WASM row against the native one is the price of a reducer call.

use std::time::Duration;

use cosmictron_benches::Measurement;
use cosmictron_engine::Durability;

use crate::commits::{native_round, sqlite_round, wasm_round};
use crate::plan::Plan;
use crate::scratch::progress;
use crate::sqlite::Sqlite;
use crate::systems::{COSMICTRON, COSMICTRON_WASM};

const BUFFERED: Durability = Durability::Buffered {
    interval: Duration::from_millis(10),
};

/// Who runs a case.
#[derive(Debug, Clone, Copy)]
enum Runner {
    Native(Durability),
    Wasm(Durability),
    Sqlite(Sqlite),
}

pub(crate) fn run(plan: &Plan, module: &[u8]) -> anyhow::Result<Vec<Measurement>> {
    let memory = "Single-row commits, in memory, 1 writer";
    let buffered =
        "Single-row commits, no fsync wait (Buffered 10 ms / synchronous=NORMAL), 1 writer";
    let cases = [
        (memory, COSMICTRON, Runner::Native(Durability::None)),
        (
            memory,
            Sqlite::Memory.system(),
            Runner::Sqlite(Sqlite::Memory),
        ),
        (buffered, COSMICTRON, Runner::Native(BUFFERED)),
        (buffered, COSMICTRON_WASM, Runner::Wasm(BUFFERED)),
        (
            buffered,
            Sqlite::WalNormal.system(),
            Runner::Sqlite(Sqlite::WalNormal),
        ),
    ];
    let mut rates = vec![Vec::new(); cases.len()];
    for round in 0..plan.rounds_commits {
        progress(&format!(
            "commits without an fsync wait, round {}/{}",
            round + 1,
            plan.rounds_commits
        ));
        for (case, rates) in cases.iter().zip(&mut rates) {
            let window = match case.2 {
                Runner::Native(durability) => native_round(1, plan.commit_window, durability)?.0,
                Runner::Wasm(durability) => wasm_round(1, plan.commit_window, module, durability)?,
                Runner::Sqlite(kind) => sqlite_round(kind, 1, plan.commit_window)?,
            };
            rates.push(window.rate());
        }
    }
    Ok(cases
        .iter()
        .zip(rates)
        .map(|((workload, system, _), rates)| {
            Measurement::new(workload, system, "commits/s", rates)
        })
        .collect())
}
