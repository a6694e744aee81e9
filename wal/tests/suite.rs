//! The behaviour every storage must give: run against both `FileStorage` (a
//! temporary directory on the real file system) and `FaultyStorage` (memory).

use std::sync::Arc;

use cosmictron_wal::{FaultyStorage, FileStorage, Storage, Wal, WalConfig, WalError};

/// Hands out storage handles on one underlying log, so a test can reopen it.
trait Backend {
    fn storage(&self) -> Arc<dyn Storage>;
}

struct Files(tempfile::TempDir);
impl Backend for Files {
    fn storage(&self) -> Arc<dyn Storage> {
        Arc::new(FileStorage::open(self.0.path()).expect("open dir"))
    }
}

struct Memory(FaultyStorage);
impl Backend for Memory {
    fn storage(&self) -> Arc<dyn Storage> {
        Arc::new(self.0.clone())
    }
}

fn files() -> Files {
    Files(tempfile::tempdir().expect("tempdir"))
}

fn memory() -> Memory {
    Memory(FaultyStorage::new())
}

/// Small segments so a hundred records span many of them.
fn small() -> WalConfig {
    WalConfig {
        segment_bytes_max: 256,
        ..WalConfig::default()
    }
}

fn payload(seq: u64) -> Vec<u8> {
    format!("record-{seq}-")
        .repeat((seq % 4 + 1) as usize)
        .into_bytes()
}

fn open(b: &dyn Backend) -> Wal {
    Wal::open(b.storage(), small()).expect("open wal")
}

fn append_range(wal: &Wal, seqs: std::ops::RangeInclusive<u64>) {
    for seq in seqs {
        wal.append(seq, &payload(seq)).expect("append");
    }
}

fn collect(wal: &Wal, from: u64) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    wal.replay(from, &mut |seq, p| {
        out.push((seq, p.to_vec()));
        Ok(())
    })
    .expect("replay");
    out
}

fn expected(seqs: std::ops::RangeInclusive<u64>) -> Vec<(u64, Vec<u8>)> {
    seqs.map(|s| (s, payload(s))).collect()
}

// Proves records survive a write/reopen cycle intact and in order across many
// segment rolls: append 100 records with 256-byte segments, replay before and
// after reopening, and check the segment count shows rolls happened.
fn round_trip(b: &dyn Backend) {
    let wal = open(b);
    append_range(&wal, 1..=100);
    wal.wait_durable(100).expect("durable");
    assert!(
        wal.stats().segments > 5,
        "expected many segments, got {:?}",
        wal.stats()
    );
    assert_eq!(collect(&wal, 1), expected(1..=100));
    drop(wal);
    let wal = open(b);
    assert_eq!((wal.first_seq(), wal.last_seq()), (Some(1), Some(100)));
    assert_eq!(collect(&wal, 1), expected(1..=100));
}

// Proves the sequence continues after reopen and the ordering rule holds:
// next append must be last+1, duplicates and gaps are refused.
fn reopen_continues(b: &dyn Backend) {
    let wal = open(b);
    append_range(&wal, 1..=10);
    wal.flush().expect("flush");
    drop(wal);
    let wal = open(b);
    assert!(matches!(
        wal.append(10, b"dup"),
        Err(WalError::SequenceOutOfOrder {
            expected: 11,
            got: 10
        })
    ));
    assert!(matches!(
        wal.append(12, b"gap"),
        Err(WalError::SequenceOutOfOrder {
            expected: 11,
            got: 12
        })
    ));
    for seq in 11..=20 {
        wal.append(seq, &payload(seq)).expect("append");
        wal.wait_durable(seq).expect("durable");
    }
    drop(wal);
    let wal = open(b);
    assert_eq!(wal.last_seq(), Some(20));
    assert_eq!(collect(&wal, 1), expected(1..=20));
}

// Proves remove_before deletes exactly the whole segments below the cut, never
// the last one, and that the trimmed log still reopens and replays.
fn remove_before(b: &dyn Backend) {
    let wal = open(b);
    append_range(&wal, 1..=100);
    wal.flush().expect("flush");
    let before = wal.stats().segments;
    let removed = wal.remove_before(50).expect("remove");
    assert!(removed > 0);
    assert_eq!(wal.stats().segments, before - removed);
    let first = wal.first_seq().expect("first");
    assert!(first > 1 && first <= 50, "first_seq {first}");
    assert_eq!(collect(&wal, 0), expected(first..=100));
    assert_eq!(wal.remove_before(first).expect("idempotent"), 0);
    // Everything below u64::MAX: all but the last segment go.
    wal.remove_before(u64::MAX).expect("remove all");
    assert_eq!(wal.stats().segments, 1);
    let first = wal.first_seq().expect("first");
    drop(wal);
    let wal = open(b);
    assert_eq!((wal.first_seq(), wal.last_seq()), (Some(first), Some(100)));
    assert_eq!(collect(&wal, 1), expected(first..=100));
    append_range(&wal, 101..=101);
    wal.flush().expect("flush");
}

// Proves replay(from) yields exactly the records with seq >= from, for cuts at
// the start, mid-segment, the last record and past the end.
fn replay_from(b: &dyn Backend) {
    let wal = open(b);
    append_range(&wal, 1..=100);
    wal.flush().expect("flush");
    for from in [0, 1, 2, 37, 64, 99, 100] {
        assert_eq!(
            collect(&wal, from),
            expected(from.max(1)..=100),
            "from {from}"
        );
    }
    assert!(collect(&wal, 101).is_empty());
    // Errors from the callback stop the replay and come back unchanged.
    let mut seen = 0;
    let r = wal.replay(1, &mut |seq, _| {
        seen += 1;
        if seq == 5 {
            Err(WalError::SequenceOutOfOrder {
                expected: 0,
                got: 5,
            })
        } else {
            Ok(())
        }
    });
    assert!(matches!(
        r,
        Err(WalError::SequenceOutOfOrder { got: 5, .. })
    ));
    assert_eq!(seen, 5);
    // Progress grows with every record, over several segments, and ends at the total.
    let mut positions = Vec::new();
    wal.replay_with_progress(1, &mut |_, _, position| {
        positions.push(position);
        Ok(())
    })
    .expect("replay");
    assert_eq!(positions.len(), 100);
    let total = positions[0].1;
    assert!(wal.stats().segments > 1 && total > 0);
    assert!(
        positions
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[1].1 == total)
    );
    assert_eq!(positions.last().map(|p| p.0), Some(total));
}

// Proves an online backup copy opens as a log holding every record >= from.
fn backup(b: &dyn Backend) {
    let wal = open(b);
    append_range(&wal, 1..=100);
    // Not flushed on purpose: copy_segments_to must flush first.
    let dest = tempfile::tempdir().expect("tempdir");
    let copied = wal.copy_segments_to(60, dest.path()).expect("copy");
    assert!(copied >= 1 && copied < wal.stats().segments);
    let copy = Wal::open(
        Arc::new(FileStorage::open(dest.path()).expect("dir")),
        small(),
    )
    .expect("open copy");
    let first = copy.first_seq().expect("first");
    assert!(first <= 60);
    assert_eq!(collect(&copy, 1), expected(first..=100));
}

// Proves the empty-log rules: no bounds, any first seq >= 1, waiting for a
// never-appended seq errors instead of hanging, and an oversized record that is
// still within record_bytes_max gets a segment of its own.
fn empty_log_and_big_records(b: &dyn Backend) {
    let wal = open(b);
    assert_eq!((wal.first_seq(), wal.last_seq()), (None, None));
    assert!(collect(&wal, 0).is_empty());
    wal.flush().expect("flush empty");
    assert!(matches!(
        wal.wait_durable(1),
        Err(WalError::SequenceOutOfOrder { .. })
    ));
    assert!(matches!(
        wal.append(0, b"x"),
        Err(WalError::SequenceOutOfOrder {
            expected: 1,
            got: 0
        })
    ));
    wal.append(1000, b"first").expect("any first seq");
    let big = vec![7u8; 1000];
    wal.append(1001, &big).expect("bigger than a segment");
    wal.append(1002, b"after").expect("append");
    wal.wait_durable(1002).expect("durable");
    assert_eq!(wal.stats().segments, 3);
    drop(wal);
    let wal = open(b);
    assert_eq!(wal.first_seq(), Some(1000));
    let got = collect(&wal, 0);
    assert_eq!(got.len(), 3);
    assert_eq!(got[1], (1001, big));
    let tiny = Wal::open(
        b.storage(),
        WalConfig {
            record_bytes_max: 4,
            ..small()
        },
    )
    .expect("open");
    assert!(matches!(
        tiny.append(1003, b"12345"),
        Err(WalError::RecordTooLarge { len: 5, max: 4 })
    ));
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod file_storage {
            $( #[test] fn $name() { super::$name(&super::files()) } )*
        }
        mod faulty_storage {
            $( #[test] fn $name() { super::$name(&super::memory()) } )*
        }
    };
}

both!(
    round_trip,
    reopen_continues,
    remove_before,
    replay_from,
    backup,
    empty_log_and_big_records
);
