//! [`LogBuffer`]: an agent's output on its way to `append_log`. Readers push lines without
//! ever blocking (an agent must not stall because the server is away); a shipper sends them
//! in batches, retrying while the server is unreachable. The buffer is bounded: past
//! `LINES_BUFFERED_MAX` the oldest lines are dropped and a `system` line says how many.
//! Batches are journaled (`journal.rs`) before they are sent.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::api::Api;

/// Lines held while the server is unreachable (about 16 MiB at 160 bytes a line).
const LINES_BUFFERED_MAX: usize = 100_000;
/// Lines per `append_log` call (the module accepts up to 1000).
const LINES_PER_BATCH_MAX: usize = 500;
/// Bytes per `append_log` call, so that a batch of long lines stays a small request.
const BATCH_BYTES_MAX: usize = 256 * 1024;
/// Batches journaled and waiting to be sent; past this the buffer holds the lines (and
/// drops the oldest past `LINES_BUFFERED_MAX`).
const BATCHES_QUEUED_MAX: usize = 200;
/// Last lines kept for the run's summary and error message.
const TAIL_LINES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) stream: &'static str,
    pub(crate) line: String,
}

#[derive(Debug, Default)]
struct Inner {
    queue: VecDeque<Line>,
    dropped: u64,
    closed: bool,
    tail: VecDeque<Line>,
}

/// One run's output lines.
#[derive(Debug, Default)]
pub(crate) struct LogBuffer {
    inner: Mutex<Inner>,
    /// Wakes the shipper when lines arrive or the buffer closes.
    ready: Notify,
}

impl LogBuffer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn push(&self, stream: &'static str, line: String) {
        let mut inner = self.lock();
        let entry = Line { stream, line };
        if inner.tail.len() == TAIL_LINES {
            inner.tail.pop_front();
        }
        inner.tail.push_back(entry.clone());
        if inner.queue.len() == LINES_BUFFERED_MAX {
            inner.queue.pop_front();
            inner.dropped += 1;
        }
        inner.queue.push_back(entry);
        drop(inner);
        self.ready.notify_one();
    }

    /// No more lines will come: the shipper sends what is left and returns.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// The last lines of `stream`, oldest first, non-empty ones only.
    pub(crate) fn tail(&self, stream: &str, n: usize) -> Vec<String> {
        let inner = self.lock();
        let mut lines: Vec<String> = inner
            .tail
            .iter()
            .rev()
            .filter(|l| l.stream == stream && !l.line.trim().is_empty())
            .take(n)
            .map(|l| l.line.clone())
            .collect();
        lines.reverse();
        lines
    }

    /// The next batch, or `None` when the buffer is closed and empty.
    fn take_batch(&self) -> Option<Vec<Line>> {
        let mut inner = self.lock();
        let mut batch = Vec::new();
        if inner.dropped > 0 {
            let n = std::mem::take(&mut inner.dropped);
            batch.push(Line {
                stream: "system",
                line: format!("{n} lines dropped while the server was unreachable"),
            });
        }
        let mut bytes = 0;
        while let Some(l) = inner.queue.front() {
            if batch.len() >= LINES_PER_BATCH_MAX
                || (!batch.is_empty() && bytes + l.line.len() > BATCH_BYTES_MAX)
            {
                break;
            }
            bytes += l.line.len();
            batch.extend(inner.queue.pop_front());
        }
        if batch.is_empty() && inner.closed {
            return None;
        }
        Some(batch)
    }

    /// Sends batches to `append_log` until the buffer is closed and empty. Waits up to
    /// `flush` after the first line of a batch so that a burst goes out as one call.
    ///
    /// Two stages, so that a batch stuck retrying while the server is away does not keep
    /// the next ones off the disk: batches are journaled as soon as they are taken, then
    /// sent in order by a second task. `journaled` fires once the buffer is closed and every
    /// line is in the journal (the run's final report may then be journaled after them).
    pub(crate) async fn ship(
        self: Arc<Self>,
        api: Arc<Api>,
        run_id: u64,
        flush: Duration,
        journaled: oneshot::Sender<()>,
    ) {
        let (queue, mut queued) = mpsc::channel::<(Option<u64>, Json)>(BATCHES_QUEUED_MAX);
        let sender_api = api.clone();
        let sender = tokio::spawn(async move {
            while let Some((seq, args)) = queued.recv().await {
                if let Err(e) = sender_api.send_recorded(seq, "append_log", &args).await {
                    tracing::warn!("run {run_id}: log lines not recorded: {e}");
                }
            }
        });
        loop {
            let notified = self.ready.notified();
            let Some(batch) = self.take_batch() else {
                break;
            };
            if batch.is_empty() {
                notified.await;
                tokio::time::sleep(flush).await;
                continue;
            }
            let lines: Vec<_> = batch
                .iter()
                .map(|l| json!({"stream": l.stream, "line": l.line}))
                .collect();
            let args = json!({"run": run_id, "lines": lines});
            let seq = api.record("append_log", &args);
            if queue.send((seq, args)).await.is_err() {
                break;
            }
        }
        drop(queue);
        let _ = journaled.send(());
        let _ = sender.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_bounded_and_the_tail_is_kept() {
        // Proves: a batch holds at most LINES_PER_BATCH_MAX lines in order, the buffer ends
        // with `None` once closed and drained, and the tail keeps the last lines per stream.
        let logs = LogBuffer::default();
        for i in 0..(LINES_PER_BATCH_MAX + 3) {
            logs.push("stdout", format!("line {i}"));
        }
        logs.push("stderr", "oops".into());
        logs.close();
        let first = logs.take_batch().expect("a batch");
        assert_eq!(first.len(), LINES_PER_BATCH_MAX);
        assert_eq!(first[0].line, "line 0");
        let second = logs.take_batch().expect("the rest");
        assert_eq!(second.len(), 4);
        assert_eq!(
            second[3],
            Line {
                stream: "stderr",
                line: "oops".into()
            }
        );
        assert_eq!(logs.take_batch(), None);
        assert_eq!(logs.tail("stdout", 2), ["line 501", "line 502"]);
        assert_eq!(logs.tail("stderr", 5), ["oops"]);
    }

    #[test]
    fn overflow_drops_the_oldest_lines_and_says_so() {
        let logs = LogBuffer::default();
        for i in 0..(LINES_BUFFERED_MAX + 2) {
            logs.push("stdout", i.to_string());
        }
        let batch = logs.take_batch().expect("a batch");
        assert_eq!(batch[0].stream, "system");
        assert!(
            batch[0].line.starts_with("2 lines dropped"),
            "{:?}",
            batch[0]
        );
        assert_eq!(batch[1].line, "2");
    }
}
