//! [`ReducerContext`]: who called, when, over which connection; the database; randomness,
//! logging and scheduling.

use std::time::Duration;

use cosmictron_types::{ConnectionId, Identity, Timestamp};
use serde::Serialize;

use crate::error::Error;
use crate::sys::{self, LogLevel};
use crate::table::Db;

/// Identifies a pending scheduled call (to cancel it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct ScheduleId(pub u64);

/// What a reducer gets besides its arguments.
#[derive(Debug)]
pub struct ReducerContext {
    /// The caller's identity (authenticated by the host). For `init` and scheduled calls it is
    /// the module's own identity ([`ReducerContext::module_identity`]).
    pub sender: Identity,
    /// When the call started (the host's clock; the same for the whole call).
    pub timestamp: Timestamp,
    /// The client connection the call came over (a WebSocket), if any; always set for the
    /// `client_connected` / `client_disconnected` reducers.
    pub connection_id: Option<ConnectionId>,
    /// The tables, through the typed accessors `#[table]` generates.
    pub db: Db,
    module_identity: Identity,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl ReducerContext {
    pub(crate) fn new(
        sender: Identity,
        module_identity: Identity,
        timestamp: Timestamp,
        connection_id: Option<ConnectionId>,
    ) -> ReducerContext {
        ReducerContext {
            sender,
            timestamp,
            connection_id,
            db: Db::new(),
            module_identity,
        }
    }

    /// The identity this module acts as: the sender of its scheduled calls and of `init`.
    pub fn module_identity(&self) -> Identity {
        self.module_identity
    }

    /// True when the module itself is calling (a scheduled call, `init`), not a client.
    pub fn called_by_module(&self) -> bool {
        self.sender == self.module_identity
    }

    /// Writes a line to the module's log.
    pub fn log(&self, level: LogLevel, message: &str) {
        sys::log(level, message);
    }

    /// `n` cryptographically secure random bytes from the host.
    pub fn random_bytes(&self, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        sys::random_fill(&mut out);
        out
    }

    /// A cryptographically secure random `u64` from the host.
    pub fn random_u64(&self) -> u64 {
        let mut out = [0u8; 8];
        sys::random_fill(&mut out);
        u64::from_le_bytes(out)
    }

    /// Calls `reducer` with `args` (a struct or map, passed by name) at time `at`, in a
    /// transaction of its own, as the module. The schedule is part of this call's
    /// transaction: it is kept only if this call commits, and it survives restarts.
    pub fn schedule_at(
        &self,
        reducer: &str,
        args: &impl Serialize,
        at: Timestamp,
    ) -> Result<ScheduleId, Error> {
        self.schedule_raw(reducer, args, at.0, 0)
    }

    /// Calls `reducer` with `args` once, `delay` from now (see [`ReducerContext::schedule_at`]).
    pub fn schedule_in(
        &self,
        reducer: &str,
        args: &impl Serialize,
        delay: Duration,
    ) -> Result<ScheduleId, Error> {
        let at = self.timestamp.0.saturating_add(micros(delay));
        self.schedule_raw(reducer, args, at, 0)
    }

    /// Calls `reducer` with `args` every `period`, the first time one period from now, until
    /// cancelled (missed periods are skipped, not caught up).
    pub fn schedule_repeating(
        &self,
        reducer: &str,
        args: &impl Serialize,
        period: Duration,
    ) -> Result<ScheduleId, Error> {
        let period = micros(period).max(1);
        let at = self.timestamp.0.saturating_add(period);
        self.schedule_raw(reducer, args, at, period)
    }

    /// Cancels a pending schedule; false when it was not pending (already fired or cancelled).
    pub fn cancel_schedule(&self, id: ScheduleId) -> Result<bool, Error> {
        sys::schedule_cancel(id.0)
    }

    fn schedule_raw(
        &self,
        reducer: &str,
        args: &impl Serialize,
        at: i64,
        repeat: i64,
    ) -> Result<ScheduleId, Error> {
        let args = serde_json::to_vec(args)
            .map_err(|e| Error::new("invalid_arguments", format!("schedule arguments: {e}")))?;
        sys::schedule(reducer, &args, at, repeat).map(ScheduleId)
    }
}
