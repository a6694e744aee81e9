//! The background thread that fires modules' due scheduled reducers.
//!
//! It wakes every `SchedulerConfig::interval`, asks each module for its schedules due now and
//! fires them (`LoadedModule::fire_due`: one transaction each, as the module). It holds only a
//! weak handle on the facade, and is stopped and joined when the facade is dropped. Tests and
//! embedders that want determinism turn it off (`interval: None`) and call
//! `Cosmictron::run_due_schedules` with a time of their choosing.

use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::facade::Inner;

/// When scheduled reducers fire.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// How often due schedules are looked for; `None` runs no background thread.
    pub interval: Option<Duration>,
    /// Most schedules fired per module per wake-up (the rest wait for the next one).
    pub runs_per_tick_max: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            interval: Some(Duration::from_millis(100)),
            runs_per_tick_max: 1000,
        }
    }
}

/// The running thread and the flag that stops it.
#[derive(Debug)]
pub(crate) struct Scheduler {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Scheduler {
    pub(crate) fn start(inner: Weak<Inner>, interval: Duration) -> std::io::Result<Scheduler> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("cosmictron-scheduler".into())
            .spawn(move || {
                loop {
                    {
                        let mut stopped = flag.0.lock();
                        if !*stopped {
                            flag.1.wait_for(&mut stopped, interval);
                        }
                        if *stopped {
                            return;
                        }
                    }
                    let Some(inner) = inner.upgrade() else {
                        return;
                    };
                    inner.fire_due_schedules(crate::facade::now());
                }
            })?;
        Ok(Scheduler {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
