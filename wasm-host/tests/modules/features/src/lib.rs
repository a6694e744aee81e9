//! A test module for the SDK's wider features: write policies, lifecycle reducers and
//! connection ids, scheduled reducers, random bytes, MessagePack arguments, foreign keys,
//! multi-column indexes and range lookups, and views.

use std::time::Duration;

use cosmictron_sdk::{
    ConnectionId, Error, Identity, ReducerContext, ScheduleId, Timestamp, ViewRow, reducer,
    table, view,
};
use serde::{Deserialize, Serialize};

/// Rows anyone may read, that only their owner may write.
#[table(name = "notes", public)]
#[rls(read = "true", write = "owner = $identity")]
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    pub owner: Identity,
    pub text: String,
}

/// Open client connections (written by the lifecycle reducers).
#[table(name = "connections")]
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    #[primary_key]
    pub connection: u64,
    pub identity: Identity,
}

/// What scheduled calls did.
#[table(name = "ticks")]
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    pub label: String,
    pub sender: Identity,
    pub at: Timestamp,
}

#[table(name = "projects")]
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    #[primary_key]
    pub id: u64,
    pub name: String,
}

#[table(name = "tasks")]
#[index(name = "by_project_state", columns(project, state))]
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[fk(projects.id, on_delete = cascade)]
    pub project: u64,
    pub state: String,
    #[index]
    pub priority: i64,
}

#[reducer(client_connected)]
pub fn on_connect(ctx: &ReducerContext) -> Result<(), Error> {
    let Some(connection) = ctx.connection_id else {
        return Err(Error::new("no_connection", "connected without a connection id"));
    };
    ctx.db.connections().insert(Connection {
        connection: connection.get(),
        identity: ctx.sender,
    })?;
    Ok(())
}

#[reducer(client_disconnected)]
pub fn on_disconnect(ctx: &ReducerContext) -> Result<(), Error> {
    if let Some(connection) = ctx.connection_id {
        ctx.db.connections().delete(&connection.get())?;
    }
    Ok(())
}

/// The caller's connection id, if any.
#[reducer]
pub fn whoami(ctx: &ReducerContext) -> Result<Option<ConnectionId>, Error> {
    Ok(ctx.connection_id)
}

#[reducer]
pub fn add_note(ctx: &ReducerContext, owner: Identity, text: String) -> Result<u64, Error> {
    Ok(ctx.db.notes().insert(Note { id: 0, owner, text })?.id)
}

#[reducer]
pub fn edit_note(ctx: &ReducerContext, id: u64, text: String) -> Result<(), Error> {
    let Some(mut note) = ctx.db.notes().find(&id)? else {
        return Err(Error::new("not_found", "no such note").with_status(404));
    };
    note.text = text;
    ctx.db.notes().update(note)?;
    Ok(())
}

/// Hands a note to someone else (the new row's owner is not the caller).
#[reducer]
pub fn give_note(ctx: &ReducerContext, id: u64, to: Identity) -> Result<(), Error> {
    let Some(mut note) = ctx.db.notes().find(&id)? else {
        return Err(Error::new("not_found", "no such note").with_status(404));
    };
    note.owner = to;
    ctx.db.notes().update(note)?;
    Ok(())
}

#[reducer]
pub fn delete_note(ctx: &ReducerContext, id: u64) -> Result<bool, Error> {
    Ok(ctx.db.notes().delete(&id)?.is_some())
}

/// Tries to insert a note owned by someone else, handles the refusal, and goes on: the
/// refused write must leave nothing behind.
#[reducer]
pub fn try_forge(ctx: &ReducerContext, victim: Identity) -> Result<String, Error> {
    let code = match ctx.db.notes().insert(Note {
        id: 0,
        owner: victim,
        text: "forged".into(),
    }) {
        Ok(_) => "allowed".to_owned(),
        Err(e) => e.code,
    };
    ctx.db.notes().insert(Note {
        id: 0,
        owner: ctx.sender,
        text: "mine".into(),
    })?;
    Ok(code)
}

#[derive(Serialize, Deserialize)]
struct TickArgs {
    label: String,
}

#[reducer]
pub fn tick(ctx: &ReducerContext, label: String) -> Result<(), Error> {
    if label == "fail" {
        return Err(Error::new("tick_failed", "asked to fail"));
    }
    ctx.db.ticks().insert(Tick {
        id: 0,
        label,
        sender: ctx.sender,
        at: ctx.timestamp,
    })?;
    Ok(())
}

/// Schedules `tick` once after `delay_ms`, or every `delay_ms` when `repeat`.
#[reducer]
pub fn schedule_tick(
    ctx: &ReducerContext,
    label: String,
    delay_ms: u64,
    repeat: bool,
) -> Result<ScheduleId, Error> {
    let args = TickArgs { label };
    let delay = Duration::from_millis(delay_ms);
    if repeat {
        ctx.schedule_repeating("tick", &args, delay)
    } else {
        ctx.schedule_in("tick", &args, delay)
    }
}

#[reducer]
pub fn schedule_tick_at(ctx: &ReducerContext, label: String, at: i64) -> Result<ScheduleId, Error> {
    ctx.schedule_at("tick", &TickArgs { label }, Timestamp(at))
}

/// Schedules, then fails: the schedule must not survive the rollback.
#[reducer]
pub fn schedule_then_fail(ctx: &ReducerContext) -> Result<(), Error> {
    ctx.schedule_in("tick", &TickArgs { label: "ghost".into() }, Duration::ZERO)?;
    Err(Error::new("failed_after_schedule", "rolled back"))
}

#[reducer]
pub fn schedule_unknown(ctx: &ReducerContext) -> Result<ScheduleId, Error> {
    ctx.schedule_in("nope", &TickArgs { label: "x".into() }, Duration::ZERO)
}

#[reducer]
pub fn cancel(ctx: &ReducerContext, id: ScheduleId) -> Result<bool, Error> {
    ctx.cancel_schedule(id)
}

/// Whether the caller is the module itself (true only for scheduled calls and init).
#[reducer]
pub fn am_i_the_module(ctx: &ReducerContext) -> Result<bool, Error> {
    Ok(ctx.called_by_module())
}

#[reducer]
pub fn random(ctx: &ReducerContext, n: u32) -> Result<Vec<u8>, Error> {
    Ok(ctx.random_bytes(n as usize))
}

/// Echoes typed arguments (to check MessagePack decoding).
#[reducer]
pub fn echo(ctx: &ReducerContext, n: i64, s: String, list: Vec<u32>) -> Result<serde_json::Value, Error> {
    let _ = ctx;
    Ok(serde_json::json!({"n": n, "s": s, "list": list}))
}

#[reducer]
pub fn add_project(ctx: &ReducerContext, id: u64, name: String) -> Result<(), Error> {
    ctx.db.projects().insert(Project { id, name })?;
    Ok(())
}

#[reducer]
pub fn drop_project(ctx: &ReducerContext, id: u64) -> Result<bool, Error> {
    Ok(ctx.db.projects().delete(&id)?.is_some())
}

#[reducer]
pub fn add_task(ctx: &ReducerContext, project: u64, state: String, priority: i64) -> Result<u64, Error> {
    Ok(ctx
        .db
        .tasks()
        .insert(Task {
            id: 0,
            project,
            state,
            priority,
        })?
        .id)
}

/// Task ids of a project in a state (the multi-column index).
#[reducer]
pub fn tasks_in(ctx: &ReducerContext, project: u64, state: String) -> Result<Vec<u64>, Error> {
    let mut ids: Vec<u64> = ctx
        .db
        .tasks()
        .filter_by_by_project_state(&project, &state)?
        .into_iter()
        .map(|t| t.id)
        .collect();
    ids.sort();
    Ok(ids)
}

/// Priorities in `[low, high)`, in index order (a range lookup).
#[reducer]
pub fn priorities_between(ctx: &ReducerContext, low: i64, high: i64) -> Result<Vec<i64>, Error> {
    Ok(ctx
        .db
        .tasks()
        .range_by_priority(low..high)?
        .into_iter()
        .map(|t| t.priority)
        .collect())
}

/// Priorities from `low` on (an open range).
#[reducer]
pub fn priorities_from(ctx: &ReducerContext, low: i64) -> Result<Vec<i64>, Error> {
    Ok(ctx
        .db
        .tasks()
        .range_by_priority(low..)?
        .into_iter()
        .map(|t| t.priority)
        .collect())
}

/// One project's open work, computed from two tables.
#[derive(ViewRow)]
pub struct ProjectLoad {
    pub project: u64,
    pub name: String,
    pub open_tasks: u64,
    pub top_priority: Option<i64>,
}

/// Every project with its count of tasks not `done` and their highest priority.
#[view(public)]
pub fn project_load(ctx: &ReducerContext) -> Result<Vec<ProjectLoad>, Error> {
    let tasks: Vec<Task> = ctx.db.tasks().iter()?.collect();
    Ok(ctx
        .db
        .projects()
        .iter()?
        .map(|p| {
            let open: Vec<&Task> = tasks
                .iter()
                .filter(|t| t.project == p.id && t.state != "done")
                .collect();
            ProjectLoad {
                project: p.id,
                name: p.name,
                open_tasks: open.len() as u64,
                top_priority: open.iter().map(|t| t.priority).max(),
            }
        })
        .collect())
}

/// The caller's own notes: a table's rows, filtered by who asks.
#[view(public)]
pub fn my_notes(ctx: &ReducerContext) -> Result<Vec<Note>, Error> {
    Ok(ctx
        .db
        .notes()
        .iter()?
        .filter(|n| n.owner == ctx.sender)
        .collect())
}

/// Open connections, for the module's owner only (a private view).
#[view]
pub fn open_connections(ctx: &ReducerContext) -> Result<Vec<Connection>, Error> {
    Ok(ctx.db.connections().iter()?.collect())
}

/// A view that refuses with an error of its own.
#[view(public)]
pub fn refusing_view(_ctx: &ReducerContext) -> Result<Vec<Note>, Error> {
    Err(Error::new("view_refused", "not today").with_status(409))
}

/// A view that tries to write (views run on a snapshot).
#[view(public)]
pub fn writing_view(ctx: &ReducerContext) -> Result<Vec<Note>, Error> {
    ctx.db.notes().insert(Note {
        id: 0,
        owner: ctx.sender,
        text: "from a view".into(),
    })?;
    Ok(Vec::new())
}

/// A view that never ends (the call's time limit applies).
#[view(public)]
pub fn endless_view(_ctx: &ReducerContext) -> Vec<Note> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
