//! One thread per module runs the module's reducer calls, in arrival order.
//!
//! A module's reducer calls are serialized by its database's writer lock anyway. Running them
//! on the blocking pool made every call a hand-off to a pool thread that then slept on that
//! lock — with a thousand calls in flight, hundreds of threads taking turns, and the machine's
//! time went to context switches. Here the calls queue for one thread that runs them back to
//! back without sleeping while there is work; each returns as soon as its transaction is
//! logged, and the caller awaits the fsync as a future (`PendingCall::durable`), so the thread
//! goes straight on to the next call while the log syncs a whole batch at once.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use parking_lot::Mutex;

use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() + Send>;

/// The per-module call threads of a server.
#[derive(Debug, Default)]
pub(crate) struct CallQueues {
    queues: Mutex<HashMap<String, mpsc::Sender<Job>>>,
}

impl CallQueues {
    /// Runs `work` on `module`'s call thread after the calls queued before it.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        module: &str,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone away (a dropped request): nothing to tell.
            let _ = answer.send(work());
        });
        self.enqueue(module, job)?;
        answered.await.map_err(|_| {
            Error::request(
                500,
                "internal",
                format!("the call thread of module `{module}` failed"),
            )
        })?
    }

    fn enqueue(&self, module: &str, job: Job) -> Result<()> {
        let mut queues = self.queues.lock();
        let job = match queues.get(module) {
            Some(queue) => match queue.send(job) {
                Ok(()) => return Ok(()),
                // The thread is gone (it cannot be, short of an abort): start another.
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let queue = spawn(module)?;
        queue
            .send(job)
            .map_err(|_| Error::request(500, "internal", "a new call thread refused a call"))?;
        queues.insert(module.to_owned(), queue);
        Ok(())
    }

    /// Ends `module`'s call thread once the calls already queued have run (undeploy).
    pub(crate) fn forget(&self, module: &str) {
        self.queues.lock().remove(module);
    }
}

fn spawn(module: &str) -> Result<mpsc::Sender<Job>> {
    let (queue, jobs) = mpsc::channel::<Job>();
    let name = module.to_owned();
    std::thread::Builder::new()
        .name(format!("calls-{module}"))
        .spawn(move || {
            // Ends when every sender is gone (the module was forgotten, the server stopped).
            while let Ok(job) = jobs.recv() {
                // A panic fails that call (its answer channel drops), not the thread.
                if std::panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
                    tracing::error!(module = %name, "a reducer call panicked in the host");
                }
            }
        })
        .map_err(|e| {
            Error::request(
                503,
                "unavailable",
                format!("cannot start a call thread: {e}"),
            )
        })?;
    Ok(queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves calls of one module run one at a time in arrival order on one thread, and a
    // panicking call fails alone while later calls still run.
    #[tokio::test]
    async fn calls_run_in_order_and_survive_a_panic() {
        let queues = CallQueues::default();
        let log = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut answers = Vec::new();
        for i in 0..20 {
            let log = log.clone();
            answers.push(queues.run("m", move || {
                log.lock().push((i, std::thread::current().id()));
                Ok(i)
            }));
        }
        // Polled together, so all are queued before any answer is awaited.
        let answered = futures_util::future::join_all(answers).await;
        for (i, answer) in answered.into_iter().enumerate() {
            assert_eq!(answer.expect("answer"), i);
        }
        let log = log.lock().clone();
        assert_eq!(
            log.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..20).collect::<Vec<_>>()
        );
        assert!(
            log.iter().all(|(_, t)| *t == log[0].1),
            "calls ran on several threads"
        );
        let panicked = queues.run("m", || -> Result<()> { panic!("boom") }).await;
        assert!(matches!(panicked, Err(Error::Request { status: 500, .. })));
        assert_eq!(queues.run("m", || Ok(7)).await.expect("after the panic"), 7);
        queues.forget("m");
        assert_eq!(queues.run("m", || Ok(8)).await.expect("a new thread"), 8);
    }
}
