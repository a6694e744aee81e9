//! Scheduled reducers: the `schedule` / `schedule_cancel` imports, the table that keeps
//! schedules in the module's own database (so they survive restarts and roll back with the
//! transaction that made them), and firing the due ones.
//!
//! ```text
//!  reducer: ctx.schedule_in("tick", args, 5 s)
//!    │ schedule import: a row in `__cosmictron_schedules` {id, reducer, args, at, repeat_micros}
//!    ▼ (committed with the reducer's transaction)
//!  driver (the embedder's timer, or a test): LoadedModule::fire_due(db, now)
//!    │ for each due row, one transaction: delete it (or move `at` on for a repeating one),
//!    │ run the reducer as the module (sender = the module's identity), commit
//!    │ if the reducer fails: roll back, then delete/move the row in a transaction of its own
//!    ▼ (a failing schedule is logged, not retried forever)
//! ```

use cosmictron_engine::{Database, EngineError};
use cosmictron_types::{ScalarType, TableDef, Timestamp, Value};

use crate::abi::{Answer, Call, data_call};
use crate::call::{Args, Authority, CallOutcome};
use crate::error::{HostError, ModuleError, Result};
use crate::logs::{LogLevel, LogLine};
use crate::memory::{read_bytes, read_str};
use crate::module::LoadedModule;

/// Tables whose names start with this belong to the host; modules cannot declare or reach them.
pub(crate) const RESERVED_PREFIX: &str = "__cosmictron";
/// Where schedules are kept, in each module's database.
pub const SCHEDULES_TABLE: &str = "__cosmictron_schedules";

pub(crate) fn is_reserved_table(name: &str) -> bool {
    name.starts_with(RESERVED_PREFIX)
}

/// The definition of the schedules table (private: readable only by the owner).
pub fn schedules_table_def() -> TableDef {
    TableDef::new(SCHEDULES_TABLE)
        .column("id", ScalarType::U64)
        .column("reducer", ScalarType::String)
        .column("args", ScalarType::Bytes)
        .column("at", ScalarType::Timestamp)
        .column("repeat_micros", ScalarType::I64)
        .primary_key(&["id"])
        .auto_inc("id")
        .index("__cosmictron_schedules_at", &["at"])
}

/// One pending scheduled call.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub id: u64,
    pub reducer: String,
    /// The arguments as a JSON object.
    pub args: serde_json::Value,
    /// When it is due next.
    pub at: Timestamp,
    /// 0 for a one-off call; otherwise it repeats with this period.
    pub repeat_micros: i64,
}

impl Schedule {
    fn from_row(row: &[Value]) -> Option<Schedule> {
        match row {
            [
                Value::U64(id),
                Value::String(reducer),
                Value::Bytes(args),
                Value::Timestamp(at),
                Value::I64(repeat_micros),
            ] => Some(Schedule {
                id: *id,
                reducer: reducer.clone(),
                args: serde_json::from_slice(args).unwrap_or(serde_json::Value::Null),
                at: *at,
                repeat_micros: *repeat_micros,
            }),
            _ => None,
        }
    }

    /// The next due time of a repeating schedule after `now` (missed periods are skipped, not
    /// caught up).
    fn next_after(&self, now: Timestamp) -> Timestamp {
        let period = self.repeat_micros.max(1);
        let behind = now.0.saturating_sub(self.at.0);
        let periods = behind / period + 1;
        Timestamp(self.at.0.saturating_add(periods.saturating_mul(period)))
    }
}

/// What firing one due schedule did.
#[derive(Debug)]
pub struct ScheduledRun {
    pub schedule: Schedule,
    /// The reducer's committed outcome, or why it failed (its writes were rolled back).
    pub outcome: Result<CallOutcome>,
}

/// `schedule(reducer_ptr, reducer_len, args_ptr, args_len, at_micros, repeat_micros)`: the
/// answer is the new schedule's id (`u64` little-endian).
pub(crate) fn schedule(
    mut caller: Call<'_>,
    rp: u32,
    rl: u32,
    ap: u32,
    al: u32,
    at: i64,
    repeat: i64,
) -> wasmtime::Result<i32> {
    let reducer = read_str(&caller, rp, rl, "reducer name")?;
    let args = read_bytes(&caller, ap, al, "schedule arguments")?;
    data_call(&mut caller, |tx, state| {
        let tx = tx.write()?;
        let refuse = |message: String| ModuleError {
            code: "invalid_schedule".into(),
            message,
            details: None,
            http_status: 400,
        };
        if !state.schedulable.contains(&reducer) {
            return Err(refuse(format!(
                "no reducer `{reducer}` to schedule (lifecycle reducers cannot be scheduled)"
            )));
        }
        if !matches!(
            serde_json::from_slice::<serde_json::Value>(&args),
            Ok(serde_json::Value::Object(_))
        ) {
            return Err(refuse("schedule arguments are a JSON object".into()));
        }
        if repeat < 0 || (repeat > 0 && repeat < state.schedule_repeat_micros_min) {
            return Err(refuse(format!(
                "a repeating schedule's period must be at least {} µs, got {repeat}",
                state.schedule_repeat_micros_min
            )));
        }
        state.schedules_made += 1;
        if state.schedules_made > state.schedules_per_call_max {
            return Err(ModuleError::from(EngineError::Limit(format!(
                "a reducer call may make at most {} schedules",
                state.schedules_per_call_max
            ))));
        }
        let row = tx.insert(
            SCHEDULES_TABLE,
            vec![
                Value::U64(0),
                Value::String(reducer.clone()),
                Value::Bytes(args.clone()),
                Value::Timestamp(Timestamp(at)),
                Value::I64(repeat),
            ],
        )?;
        let id = row.first().and_then(Value::as_u64).unwrap_or_default();
        Ok(Answer::Bytes(id.to_le_bytes().to_vec()))
    })
}

/// `schedule_cancel(id)`: OK when it was pending (and is now gone), NOT_FOUND otherwise.
pub(crate) fn schedule_cancel(mut caller: Call<'_>, id: i64) -> wasmtime::Result<i32> {
    data_call(&mut caller, |tx, _| {
        let id = u64::try_from(id).unwrap_or_default();
        match tx.write()?.delete(SCHEDULES_TABLE, &[Value::U64(id)])? {
            Some(_) => Ok(Answer::Bytes(Vec::new())),
            None => Ok(Answer::NotFound),
        }
    })
}

/// Moves a fired schedule on: deleted when one-off, due again later when repeating.
fn advance(tx: &mut cosmictron_engine::WriteTx<'_>, s: &Schedule, now: Timestamp) -> Result<()> {
    if s.repeat_micros > 0 {
        let next = s.next_after(now);
        tx.update(
            SCHEDULES_TABLE,
            vec![
                Value::U64(s.id),
                Value::String(s.reducer.clone()),
                Value::Bytes(serde_json::to_vec(&s.args).unwrap_or_default()),
                Value::Timestamp(next),
                Value::I64(s.repeat_micros),
            ],
        )?;
    } else {
        tx.delete(SCHEDULES_TABLE, &[Value::U64(s.id)])?;
    }
    Ok(())
}

impl LoadedModule {
    /// Every pending schedule, soonest first.
    pub fn schedules(&self, db: &Database) -> Result<Vec<Schedule>> {
        let snapshot = db.snapshot()?;
        let rows = match snapshot.scan(SCHEDULES_TABLE) {
            Ok(rows) => rows,
            Err(EngineError::NoSuchTable(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out: Vec<Schedule> = rows.iter().filter_map(|r| Schedule::from_row(r)).collect();
        out.sort_by_key(|s| (s.at, s.id));
        Ok(out)
    }

    /// Fires every schedule due at `now` (at most `limit`), each in a transaction of its own,
    /// as the module. A failed reducer's writes are rolled back, the failure is logged, and
    /// the schedule is still moved on (it is not retried).
    pub fn fire_due(
        &self,
        db: &Database,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledRun>> {
        let due: Vec<Schedule> = self
            .schedules(db)?
            .into_iter()
            .filter(|s| s.at <= now)
            .take(limit)
            .collect();
        let mut runs = Vec::with_capacity(due.len());
        for s in due {
            if let Some(run) = self.fire_one(db, s, now)? {
                runs.push(run);
            }
        }
        Ok(runs)
    }

    /// Fires one schedule if it is still pending and due (it may have been cancelled since).
    fn fire_one(&self, db: &Database, s: Schedule, now: Timestamp) -> Result<Option<ScheduledRun>> {
        let mut tx = db.begin_write_owned()?;
        let current = tx.get(SCHEDULES_TABLE, &[Value::U64(s.id)])?;
        let Some(s) = current.as_deref().and_then(Schedule::from_row) else {
            return Ok(None);
        };
        if s.at > now {
            return Ok(None);
        }
        advance(&mut tx, &s, now)?;
        let args = s.args.clone();
        let outcome = self
            .run(tx, &s.reducer, Args::Json(&args), Authority::Module, now)
            .and_then(|(tx, result)| {
                let info = tx.commit()?;
                Ok(CallOutcome {
                    tx_id: info.tx_id,
                    result,
                })
            });
        if let Err(e) = &outcome {
            self.log_line(LogLine {
                timestamp: now,
                level: LogLevel::Error,
                reducer: Some(s.reducer.clone()),
                message: format!("scheduled call {} failed: {} ({e})", s.id, e.code()),
            });
            // The reducer's transaction was rolled back with the schedule's move: move it on
            // by itself, so a failing schedule does not fire again at once.
            let mut tx = db.begin_write_owned()?;
            if tx.get(SCHEDULES_TABLE, &[Value::U64(s.id)])?.is_some() {
                advance(&mut tx, &s, now)?;
            }
            tx.commit()?;
        }
        Ok(Some(ScheduledRun {
            schedule: s,
            outcome,
        }))
    }

    /// The soonest pending schedule's due time.
    pub fn next_due(&self, db: &Database) -> Result<Option<Timestamp>> {
        Ok(self.schedules(db)?.first().map(|s| s.at))
    }
}

/// Creates the schedules table in `tx` if the database does not have it yet.
pub fn ensure_schedules_table(tx: &mut cosmictron_engine::WriteTx<'_>) -> Result<()> {
    match tx.table_schema(SCHEDULES_TABLE) {
        Ok(_) => Ok(()),
        Err(EngineError::NoSuchTable(_)) => {
            tx.create_table(schedules_table_def())?;
            Ok(())
        }
        Err(e) => Err(HostError::Engine(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repeating(at: i64, period: i64) -> Schedule {
        Schedule {
            id: 1,
            reducer: "tick".into(),
            args: serde_json::json!({}),
            at: Timestamp(at),
            repeat_micros: period,
        }
    }

    #[test]
    fn a_repeating_schedule_moves_past_now_skipping_missed_periods() {
        // Proves the next due time is the first period boundary strictly after `now`, whether
        // the schedule fired on time or far behind.
        let s = repeating(1_000, 100);
        assert_eq!(s.next_after(Timestamp(1_000)), Timestamp(1_100));
        assert_eq!(s.next_after(Timestamp(1_099)), Timestamp(1_100));
        assert_eq!(s.next_after(Timestamp(1_100)), Timestamp(1_200));
        assert_eq!(s.next_after(Timestamp(1_550)), Timestamp(1_600));
        let far = repeating(i64::MAX - 10, 100);
        assert_eq!(
            far.next_after(Timestamp(i64::MAX)),
            Timestamp(i64::MAX),
            "saturates"
        );
    }

    #[test]
    fn schedule_rows_round_trip_and_reserved_names() {
        // Proves a schedules-table row reads back as the schedule, a malformed one is skipped,
        // and host table names are reserved.
        let row = vec![
            Value::U64(3),
            Value::String("tick".into()),
            Value::Bytes(br#"{"label":"x"}"#.to_vec()),
            Value::Timestamp(Timestamp(5)),
            Value::I64(0),
        ];
        let s = Schedule::from_row(&row).expect("a schedule");
        assert_eq!(
            (s.id, s.at, s.args["label"].as_str()),
            (3, Timestamp(5), Some("x"))
        );
        assert!(Schedule::from_row(&row[..4]).is_none());
        assert!(is_reserved_table(SCHEDULES_TABLE));
        assert!(!is_reserved_table("items"));
        schedules_table_def().validate().expect("valid definition");
    }
}
