//! The background thread of [`crate::Durability::Buffered`]: writes and fsyncs
//! whatever was appended, once per interval.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::io_err;
use crate::log::Shared;

/// A zero interval would spin; nobody needs more than 1000 fsyncs/s from a timer.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

#[derive(Debug)]
pub(crate) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Flusher {
    pub(crate) fn spawn(shared: Arc<Shared>, interval: Duration) -> crate::Result<Flusher> {
        let interval = interval.max(MIN_INTERVAL);
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("cosmictron-wal-flusher".into())
            .spawn(move || run(&shared, interval, &stop2))
            .map_err(io_err("spawn_thread", "cosmictron-wal-flusher"))?;
        Ok(Flusher { stop, thread })
    }

    /// Stops the thread and waits for it (a flush in progress completes first). Called on the
    /// flusher itself (the on-durable hook dropped the last handle of the log's owner), it
    /// only tells the thread to end after this flush.
    pub(crate) fn stop(self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if self.thread.thread().id() == std::thread::current().id() {
            return;
        }
        if self.thread.join().is_err() {
            tracing::error!("wal flusher thread panicked");
        }
    }
}

fn run(shared: &Shared, interval: Duration, stop: &(Mutex<bool>, Condvar)) {
    let mut deadline = Instant::now() + interval;
    loop {
        {
            let mut stopped = stop.0.lock();
            while !*stopped && Instant::now() < deadline {
                stop.1.wait_until(&mut stopped, deadline);
            }
            if *stopped {
                return;
            }
        }
        // Schedule from the start of this flush so the period stays `interval`
        // even when a flush takes a while (but never schedule in the past).
        let started = Instant::now();
        if shared.flush().is_err() {
            // Either this flush failed (group commit logged it and poisoned the
            // log) or it already was poisoned: nothing can become durable again.
            return;
        }
        deadline = (started + interval).max(Instant::now());
    }
}
