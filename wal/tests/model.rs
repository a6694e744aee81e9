//! Property test against a model: random appends, durability waits, injected
//! faults and crashes (with torn writes) on `FaultyStorage`, checked against a
//! plain `Vec` of what was appended.

use std::io::ErrorKind;
use std::sync::Arc;

use cosmictron_wal::{FaultyStorage, Wal, WalConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    /// wait_durable on the last appended record.
    Wait,
    Flush,
    /// Arm `fail_after(n)`: one of the next few writes/fsyncs fails.
    FailAfter(u64, bool),
    FailNextSync,
    /// Power loss, keeping this many unsynced bytes of the last-written file.
    Crash(Option<usize>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..48).prop_map(Op::Append),
        3 => Just(Op::Wait),
        1 => Just(Op::Flush),
        1 => (0u64..8, any::<bool>()).prop_map(|(n, full)| Op::FailAfter(n, full)),
        1 => Just(Op::FailNextSync),
        1 => proptest::option::of(0usize..120).prop_map(Op::Crash),
    ]
}

fn config() -> WalConfig {
    // Tiny segments: rolls (and faults during them) happen all the time.
    WalConfig {
        segment_bytes_max: 128,
        ..WalConfig::default()
    }
}

fn open(fs: &FaultyStorage) -> Wal {
    Wal::open(Arc::new(fs.clone()), config())
        .unwrap_or_else(|e| panic!("reopen after crash must succeed: {e}"))
}

/// Crashes, reopens and checks the model: the recovered log is a prefix of what
/// was appended and holds at least everything acknowledged. Returns the new Wal
/// and trims the model to what survived.
fn crash_and_check(
    fs: &FaultyStorage,
    wal: Wal,
    tear: Option<usize>,
    appended: &mut Vec<Vec<u8>>,
    acked: &mut usize,
) -> Wal {
    match tear {
        Some(keep) => fs.crash_tearing(keep),
        None => fs.crash(),
    }
    fs.clear_faults();
    drop(wal);
    let wal = open(fs);
    let mut got = Vec::new();
    wal.replay(0, &mut |seq, p| {
        got.push((seq, p.to_vec()));
        Ok(())
    })
    .expect("replay");
    assert!(
        got.len() <= appended.len(),
        "recovered {} records, only {} appended",
        got.len(),
        appended.len()
    );
    assert!(
        got.len() >= *acked,
        "lost acknowledged records: recovered {}, acked {}",
        got.len(),
        *acked
    );
    for (i, (seq, p)) in got.iter().enumerate() {
        assert_eq!(*seq, i as u64 + 1);
        assert_eq!(p, &appended[i], "record {seq} differs");
    }
    assert_eq!(
        wal.last_seq(),
        (!got.is_empty()).then_some(got.len() as u64)
    );
    appended.truncate(got.len());
    // Open fsyncs what it recovered, so all of it is now durable.
    *acked = got.len();
    wal
}

proptest! {
    // No regression file: failures print the minimal case, and the test tree stays clean.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    // Proves the core durability contract under random crash points: after any
    // sequence of appends, waits, injected write/fsync failures and (torn) power
    // losses, reopening succeeds and yields a prefix of the appended records that
    // contains at least every record a wait_durable/flush acknowledged.
    #[test]
    fn crash_recovers_prefix_with_all_acknowledged(ops in proptest::collection::vec(op(), 1..120)) {
        let fs = FaultyStorage::new();
        let mut wal = open(&fs);
        let mut appended: Vec<Vec<u8>> = Vec::new();
        let mut acked = 0usize;
        for op in ops {
            match op {
                Op::Append(p) => {
                    let seq = appended.len() as u64 + 1;
                    if wal.append(seq, &p).is_ok() {
                        appended.push(p);
                    }
                }
                Op::Wait => {
                    if !appended.is_empty() && wal.wait_durable(appended.len() as u64).is_ok() {
                        acked = appended.len();
                    }
                }
                Op::Flush => {
                    if wal.flush().is_ok() {
                        acked = appended.len();
                    }
                }
                Op::FailAfter(n, full) => {
                    fs.fail_after(n, if full { ErrorKind::StorageFull } else { ErrorKind::Other });
                }
                Op::FailNextSync => fs.fail_next_sync(),
                Op::Crash(tear) => wal = crash_and_check(&fs, wal, tear, &mut appended, &mut acked),
            }
        }
        crash_and_check(&fs, wal, None, &mut appended, &mut acked);
    }
}
