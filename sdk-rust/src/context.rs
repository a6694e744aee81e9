//! [`ReducerContext`]: who called, when, and the database.

use cosmictron_types::{Identity, Timestamp};

use crate::sys::{self, LogLevel};
use crate::table::Db;

/// What a reducer gets besides its arguments.
#[derive(Debug)]
pub struct ReducerContext {
    /// The caller's identity (authenticated by the host).
    pub sender: Identity,
    /// When the call started (the host's clock; the same for the whole call).
    pub timestamp: Timestamp,
    /// The tables, through the typed accessors `#[table]` generates.
    pub db: Db,
}

impl ReducerContext {
    pub(crate) fn new(sender: Identity, timestamp: Timestamp) -> ReducerContext {
        ReducerContext {
            sender,
            timestamp,
            db: Db::new(),
        }
    }

    /// Writes a line to the module's log.
    pub fn log(&self, level: LogLevel, message: &str) {
        sys::log(level, message);
    }
}
