//! Views: computed tables the dashboard and `POST /v1/sql` read like any other.
//!
//! `machine_load`: each of the caller's machines with its runs by state and its last finished
//! run — one row per machine, computed on the query's snapshot for whoever asks (a view is
//! module code: it filters by `ctx.sender` itself, as the tables' read policies would).

use cosmictron_sdk::{Error, ReducerContext, Timestamp, ViewRow, view};

use crate::tables::*;

/// One machine's workload.
#[derive(ViewRow)]
pub struct MachineLoad {
    pub machine_id: u64,
    pub name: String,
    pub online: bool,
    pub runs_pending: u64,
    pub runs_running: u64,
    pub runs_finished: u64,
    pub last_finished_at: Option<Timestamp>,
}

/// `SELECT * FROM machine_load`: the caller's machines and how busy they are.
#[view(public)]
pub fn machine_load(ctx: &ReducerContext) -> Result<Vec<MachineLoad>, Error> {
    let machines = ctx.db.machines().filter_by_owner(&ctx.sender)?;
    let runs = ctx.db.runs().filter_by_owner(&ctx.sender)?;
    Ok(machines
        .into_iter()
        .map(|m| {
            let mine = runs.iter().filter(|r| r.machine_id == m.id);
            let count = |status: &str| mine.clone().filter(|r| r.status == status).count() as u64;
            let finished: Vec<_> = mine.clone().filter(|r| r.finished_at.is_some()).collect();
            MachineLoad {
                machine_id: m.id,
                name: m.name,
                online: m.online,
                runs_pending: count("pending"),
                runs_running: count("running"),
                runs_finished: finished.len() as u64,
                last_finished_at: finished.iter().filter_map(|r| r.finished_at).max(),
            }
        })
        .collect())
}
