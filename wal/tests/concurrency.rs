//! Group commit and the Buffered policy: many committers, shared fsyncs, and
//! background durability.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cosmictron_wal::{Durability, FaultyStorage, FileStorage, Storage, Wal, WalConfig};
use parking_lot::Mutex;

const THREADS: u64 = 16;

fn payload(seq: u64) -> Vec<u8> {
    format!("commit {seq}").into_bytes()
}

/// 16 threads each take a shared lock to append the next seq (append must be
/// in seq order), release it, then wait_durable outside the lock, `per_thread`
/// times. Returns the total number of commits.
fn run_committers(wal: &Arc<Wal>, per_thread: u64) -> u64 {
    let next = Arc::new(Mutex::new(1u64));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (wal, next) = (Arc::clone(wal), Arc::clone(&next));
            std::thread::spawn(move || {
                for _ in 0..per_thread {
                    let seq = {
                        let mut next = next.lock();
                        let seq = *next;
                        wal.append(seq, &payload(seq)).expect("append");
                        *next += 1;
                        seq
                    };
                    wal.wait_durable(seq).expect("durable");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("committer panicked");
    }
    THREADS * per_thread
}

fn assert_replays_all(wal: &Wal, commits: u64) {
    let mut next = 1;
    wal.replay(1, &mut |seq, p| {
        assert_eq!((seq, p), (next, payload(next).as_slice()));
        next += 1;
        Ok(())
    })
    .expect("replay");
    assert_eq!(next, commits + 1);
}

// Proves group commit shares fsyncs: with a storage whose fsync takes 2 ms (so
// commits pile up during each one, as on a real disk), 16 threads x 40 commits
// need at most commits/5 fsyncs (typically ~commits/15), and every record replays.
#[test]
fn group_commit_shares_fsyncs() {
    let fs = FaultyStorage::new();
    fs.set_sync_latency(Duration::from_millis(2));
    let wal = Arc::new(Wal::open(Arc::new(fs.clone()), WalConfig::default()).expect("open"));
    let commits = run_committers(&wal, 40);
    let stats = wal.stats();
    println!("{commits} commits, {} fsyncs", stats.fsyncs);
    assert!(
        stats.fsyncs <= commits / 5,
        "{commits} commits needed {} fsyncs",
        stats.fsyncs
    );
    assert_eq!(stats.records_appended, commits);
    assert_replays_all(&wal, commits);
}

// Proves the same protocol is correct on real files (fsync cost there depends
// on the machine, so only correctness and "never more fsyncs than commits" are
// asserted; the ratio is printed).
#[test]
fn group_commit_on_real_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage: Arc<dyn Storage> = Arc::new(FileStorage::open(dir.path()).expect("dir"));
    let wal = Arc::new(Wal::open(Arc::clone(&storage), WalConfig::default()).expect("open"));
    let commits = run_committers(&wal, 20);
    let fsyncs = wal.stats().fsyncs;
    println!("{commits} commits, {fsyncs} fsyncs");
    assert!(fsyncs <= commits + 1);
    assert_replays_all(&wal, commits);
    drop(wal);
    let wal = Wal::open(storage, WalConfig::default()).expect("reopen");
    assert_replays_all(&wal, commits);
}

// Proves the Buffered policy: wait_durable returns without an fsync, and the
// background thread makes the records durable within the interval (checked on
// FaultyStorage's durable length after ~3 intervals, then by a crash+reopen);
// later records become durable too, and drop stops the thread promptly.
#[test]
fn buffered_becomes_durable_within_interval() {
    let interval = Duration::from_millis(100);
    let fs = FaultyStorage::new();
    let cfg = WalConfig {
        durability: Durability::Buffered { interval },
        ..WalConfig::default()
    };
    let wal = Wal::open(Arc::new(fs.clone()), cfg.clone()).expect("open");
    let name = format!("{:020}.wal", 1);
    for round in 0..2u64 {
        let started = Instant::now();
        for seq in round * 20 + 1..=round * 20 + 20 {
            wal.append(seq, &payload(seq)).expect("append");
            wal.wait_durable(seq)
                .expect("buffered wait returns at once");
        }
        if started.elapsed() < interval / 2 && round == 0 {
            // Nothing was written yet: acknowledgement did not wait for storage.
            assert_eq!(wal.stats().fsyncs, 0);
        }
        std::thread::sleep(interval * 3);
        let durable = fs.durable_len(&name).expect("segment exists");
        assert_eq!(Some(durable), fs.file_len(&name), "round {round}");
        assert_eq!(wal.stats().records_appended, round * 20 + 20);
        assert!(wal.stats().bytes_written >= durable);
    }
    fs.crash();
    let dropped = Instant::now();
    drop(wal);
    assert!(
        dropped.elapsed() < interval * 5,
        "drop took {:?}",
        dropped.elapsed()
    );
    let wal = Wal::open(Arc::new(fs.clone()), cfg).expect("reopen");
    assert_eq!(wal.last_seq(), Some(40));
}

// Proves Buffered mode's flush() and drop() make everything durable at once,
// without waiting for the timer (interval far longer than the test).
#[test]
fn buffered_flush_and_drop_are_immediate() {
    let fs = FaultyStorage::new();
    let cfg = WalConfig {
        durability: Durability::Buffered {
            interval: Duration::from_secs(3600),
        },
        ..WalConfig::default()
    };
    let wal = Wal::open(Arc::new(fs.clone()), cfg.clone()).expect("open");
    wal.append(1, b"a").expect("append");
    wal.flush().expect("flush");
    let name = format!("{:020}.wal", 1);
    assert_eq!(fs.durable_len(&name), fs.file_len(&name));
    wal.append(2, b"b").expect("append");
    let dropped = Instant::now();
    drop(wal);
    assert!(dropped.elapsed() < Duration::from_secs(5));
    fs.crash();
    let wal = Wal::open(Arc::new(fs), cfg).expect("reopen");
    assert_eq!(wal.last_seq(), Some(2));
}
