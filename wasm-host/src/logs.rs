//! [`ModuleLogs`]: a bounded ring buffer of a module's log lines (the oldest go first).

use std::collections::VecDeque;

use cosmictron_types::Timestamp;
use parking_lot::Mutex;
use serde::Serialize;

/// The level of a log line (the `log` import's `level` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    pub(crate) fn from_abi(level: u32) -> LogLevel {
        match level {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            2 => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }
}

/// One line a module logged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogLine {
    pub timestamp: Timestamp,
    pub level: LogLevel,
    /// The reducer that was running, if any.
    pub reducer: Option<String>,
    pub message: String,
}

/// The last `capacity` lines of one module, shared by its instances.
#[derive(Debug)]
pub(crate) struct ModuleLogs {
    lines: Mutex<VecDeque<LogLine>>,
    capacity: usize,
}

impl ModuleLogs {
    pub(crate) fn new(capacity: usize) -> ModuleLogs {
        ModuleLogs {
            lines: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity,
        }
    }

    pub(crate) fn push(&self, line: LogLine) {
        if self.capacity == 0 {
            return;
        }
        let mut lines = self.lines.lock();
        while lines.len() >= self.capacity {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The kept lines, oldest first.
    pub(crate) fn lines(&self) -> Vec<LogLine> {
        self.lines.lock().iter().cloned().collect()
    }
}
