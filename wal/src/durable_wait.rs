//! Waiting for durability without holding a thread.
//!
//! [`Wal::durable`](crate::Wal::durable) returns a [`Durable`] future. A pending future leaves
//! its waker in [`Waiters`]; the syncer thread (one per log under the `Fsync` policy) wakes up,
//! leads the group-commit write+fsync up to the highest seq waited for, and whoever finishes a
//! write — the syncer, or a blocking committer that happened to lead — wakes the futures it
//! covered. An async server can so keep thousands of commits waiting for their fsync on a few
//! threads, where blocking waits would need a thread each.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::Result;
use crate::error::io_err;
use crate::log::Shared;

#[derive(Debug, Default)]
struct List {
    /// `(seq, waker)`: wake once `seq` is durable (or the log is poisoned).
    wakers: Vec<(u64, Waker)>,
    stop: bool,
}

/// The wakers of pending [`Durable`] futures; its condvar wakes the syncer.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    list: Mutex<List>,
    syncer: Condvar,
}

impl Waiters {
    /// Leaves `waker` to be woken once `seq` is durable, and tells the syncer.
    fn register(&self, seq: u64, waker: &Waker) {
        let mut list = self.list.lock();
        list.wakers.push((seq, waker.clone()));
        self.syncer.notify_one();
    }

    /// Has the syncer make `seq` durable with nobody to wake.
    pub(crate) fn request(&self, seq: u64) {
        self.register(seq, Waker::noop());
    }

    /// Wakes every future waiting for a seq at or below `durable`.
    pub(crate) fn wake_through(&self, durable: u64) {
        let ready: Vec<Waker> = {
            let mut list = self.list.lock();
            if list.wakers.is_empty() {
                return;
            }
            let mut ready = Vec::new();
            list.wakers.retain(|(seq, waker)| {
                if *seq <= durable {
                    ready.push(waker.clone());
                    false
                } else {
                    true
                }
            });
            ready
        };
        // Outside the lock: a waker may run code that registers again.
        ready.into_iter().for_each(Waker::wake);
    }

    /// Wakes every future (the log is poisoned: they all fail).
    pub(crate) fn wake_all(&self) {
        let all = std::mem::take(&mut self.list.lock().wakers);
        all.into_iter().for_each(|(_, waker)| waker.wake());
    }
}

/// The future of [`Wal::durable`](crate::Wal::durable): resolves once `seq` and everything
/// before it is durable under the log's policy, or with the error that stopped it
/// (`Poisoned`, or `SequenceOutOfOrder` for a seq that was never appended).
#[derive(Debug)]
#[must_use = "a future does nothing unless awaited"]
pub struct Durable {
    state: State,
}

#[derive(Debug)]
enum State {
    /// Settled when created (`Buffered` policy, a bad seq, already durable).
    Ready(Option<Result<()>>),
    Waiting {
        shared: Arc<Shared>,
        seq: u64,
    },
}

impl Durable {
    pub(crate) fn ready(result: Result<()>) -> Durable {
        Durable {
            state: State::Ready(Some(result)),
        }
    }

    pub(crate) fn waiting(shared: Arc<Shared>, seq: u64) -> Durable {
        Durable {
            state: State::Waiting { shared, seq },
        }
    }
}

impl Future for Durable {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        match &mut self.get_mut().state {
            State::Ready(result) => Poll::Ready(result.take().unwrap_or(Ok(()))),
            State::Waiting { shared, seq } => {
                if let Some(done) = shared.durable_or_failed(*seq) {
                    return Poll::Ready(done);
                }
                shared.waiters().register(*seq, cx.waker());
                // Checked again after registering: a write that finished in between stored
                // its durable seq before it took the list to wake, so either it woke this
                // waker or this check sees its seq.
                match shared.durable_or_failed(*seq) {
                    Some(done) => Poll::Ready(done),
                    None => Poll::Pending,
                }
            }
        }
    }
}

/// The syncer thread of a log under the `Fsync` policy.
#[derive(Debug)]
pub(crate) struct Syncer {
    thread: JoinHandle<()>,
}

impl Syncer {
    pub(crate) fn spawn(shared: Arc<Shared>) -> Result<Syncer> {
        let thread = std::thread::Builder::new()
            .name("cosmictron-wal-syncer".into())
            .spawn(move || run(&shared))
            .map_err(io_err("spawn_thread", "cosmictron-wal-syncer"))?;
        Ok(Syncer { thread })
    }

    /// Stops the thread and waits for it (a write in progress completes first). Called on the
    /// syncer itself (the on-durable hook dropped the last handle of the log's owner), it
    /// only tells the thread to end after this write.
    pub(crate) fn stop(self, shared: &Shared) {
        shared.waiters().list.lock().stop = true;
        shared.waiters().syncer.notify_all();
        if self.thread.thread().id() == std::thread::current().id() {
            return;
        }
        if self.thread.join().is_err() {
            tracing::error!("wal syncer thread panicked");
        }
    }
}

fn run(shared: &Shared) {
    let waiters = shared.waiters();
    loop {
        let target = {
            let mut list = waiters.list.lock();
            loop {
                if list.stop {
                    return;
                }
                let durable = shared.durable_seq();
                let highest = list.wakers.iter().map(|(seq, _)| *seq).max();
                match highest {
                    Some(seq) if seq > durable => break seq,
                    // Stale entries (their futures already saw the seq durable): drop them.
                    Some(_) => {
                        let stale = std::mem::take(&mut list.wakers);
                        drop(list);
                        stale.into_iter().for_each(|(_, waker)| waker.wake());
                        list = waiters.list.lock();
                    }
                    None => waiters.syncer.wait(&mut list),
                }
            }
        };
        if shared.make_durable(target).is_err() {
            // Poisoned (the failing write already woke everyone) or a seq that was never
            // appended: fail the futures still here rather than retry for ever.
            waiters.wake_all();
        }
    }
}
