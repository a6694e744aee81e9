//! `Wal::durable`: waiting for an fsync as a future — shared fsyncs without a thread per
//! waiter, errors, the Buffered policy, and the on-durable hook.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use cosmictron_wal::{Durability, FaultyStorage, Wal, WalConfig, WalError};

/// Wakes a parked thread and counts the wake-ups.
struct ThreadWaker {
    thread: Thread,
    wakes: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// A minimal executor: polls `future` on this thread, parking in between.
fn block_on<F: Future>(future: F) -> F::Output {
    let waker_state = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        wakes: AtomicUsize::new(0),
    });
    let waker = Waker::from(waker_state);
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park_timeout(Duration::from_secs(1));
    }
}

fn fsync_wal(storage: &FaultyStorage) -> Wal {
    Wal::open(Arc::new(storage.clone()), WalConfig::default()).expect("open")
}

// Proves the future resolves once the record is durable, with no blocking committer to lead:
// the log's own syncer thread writes and fsyncs it, and the bytes are then on durable storage.
#[test]
fn a_future_resolves_once_the_record_is_synced() {
    let storage = FaultyStorage::new();
    let wal = fsync_wal(&storage);
    wal.append(1, b"one").expect("append");
    assert_eq!(wal.stats().fsyncs, 0, "append alone must not sync");
    block_on(wal.durable(1)).expect("durable");
    assert!(wal.stats().fsyncs >= 1);
    let name = storage.names().into_iter().next().expect("a segment");
    assert_eq!(storage.durable_len(&name), storage.file_len(&name));
}

// Proves many futures share fsyncs: 500 records appended, 500 futures polled at once, all
// resolve, with far fewer fsyncs than records (each pending future holds no thread).
#[test]
fn many_pending_futures_share_fsyncs() {
    let storage = FaultyStorage::new();
    storage.set_sync_latency(Duration::from_millis(2));
    let wal = fsync_wal(&storage);
    let waker_state = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        wakes: AtomicUsize::new(0),
    });
    let waker = Waker::from(waker_state.clone());
    let mut cx = Context::from_waker(&waker);
    let mut futures: Vec<_> = (1..=500u64)
        .map(|seq| {
            wal.append(seq, &seq.to_le_bytes()).expect("append");
            Box::pin(wal.durable(seq))
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !futures.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "futures never resolved"
        );
        futures.retain_mut(|f| match f.as_mut().poll(&mut cx) {
            Poll::Ready(result) => {
                result.expect("durable");
                false
            }
            Poll::Pending => true,
        });
        std::thread::park_timeout(Duration::from_millis(50));
    }
    let fsyncs = wal.stats().fsyncs;
    assert!(fsyncs <= 50, "500 futures needed {fsyncs} fsyncs");
    assert!(waker_state.wakes.load(Ordering::SeqCst) >= 1);
}

// Proves a blocking committer that leads a write also wakes the futures its fsync covered.
#[test]
fn a_blocking_leader_wakes_futures_it_covered() {
    let storage = FaultyStorage::new();
    storage.set_sync_latency(Duration::from_millis(20));
    let wal = Arc::new(fsync_wal(&storage));
    wal.append(1, b"a").expect("append");
    wal.append(2, b"b").expect("append");
    let waiter = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || block_on(wal.durable(1)))
    };
    wal.wait_durable(2).expect("blocking wait");
    waiter.join().expect("join").expect("durable");
}

// Proves a seq that was never appended fails at once instead of waiting for ever.
#[test]
fn a_seq_never_appended_fails_at_once() {
    let wal = fsync_wal(&FaultyStorage::new());
    wal.append(1, b"a").expect("append");
    assert!(matches!(
        block_on(wal.durable(5)),
        Err(WalError::SequenceOutOfOrder { .. })
    ));
}

// Proves a failed fsync fails the pending futures (and later ones) with the log poisoned,
// rather than leaving them pending.
#[test]
fn a_failed_fsync_fails_pending_futures() {
    let storage = FaultyStorage::new();
    let wal = fsync_wal(&storage);
    storage.fail_next_sync();
    wal.append(1, b"a").expect("append");
    assert!(block_on(wal.durable(1)).is_err());
    assert!(matches!(
        block_on(wal.durable(1)),
        Err(WalError::Poisoned { .. })
    ));
}

// Proves the Buffered policy's future is ready at once (acknowledged before the fsync, as its
// blocking wait is).
#[test]
fn under_buffered_the_future_is_ready_at_once() {
    let storage = FaultyStorage::new();
    let config = WalConfig {
        durability: Durability::Buffered {
            interval: Duration::from_secs(3600),
        },
        ..WalConfig::default()
    };
    let wal = Wal::open(Arc::new(storage), config).expect("open");
    wal.append(1, b"a").expect("append");
    let mut future = pin!(wal.durable(1));
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    assert!(matches!(future.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(wal.stats().fsyncs, 0);
}

// Proves the on-durable hook sees every write's new durable seq, from blocking and future
// waits alike, and that only one hook can be set.
#[test]
fn the_hook_reports_each_durable_seq() {
    let wal = fsync_wal(&FaultyStorage::new());
    let seen = Arc::new(AtomicU64::new(0));
    let seen2 = Arc::clone(&seen);
    assert!(wal.on_durable(move |seq| {
        seen2.fetch_max(seq, Ordering::SeqCst);
    }));
    assert!(!wal.on_durable(|_| {}), "a second hook must be refused");
    wal.append(1, b"a").expect("append");
    wal.wait_durable(1).expect("durable");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    wal.append(2, b"b").expect("append");
    block_on(wal.durable(2)).expect("durable");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}
