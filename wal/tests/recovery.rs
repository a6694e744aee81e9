//! Crash recovery and failure handling: torn tails, bit rot, failed fsyncs,
//! a full disk during a segment roll. Mostly on `FaultyStorage`, whose crash
//! model is exact; the torn-tail test is repeated on real files.

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use cosmictron_wal::{FaultyStorage, FileStorage, Storage, Wal, WalConfig, WalError};

const HEADER_LEN: u64 = 24;
const RECORD_HEADER_LEN: u64 = 16;

fn payload(seq: u64) -> Vec<u8> {
    format!("payload of record number {seq}").into_bytes()
}

fn frame_len(seq: u64) -> u64 {
    RECORD_HEADER_LEN + payload(seq).len() as u64
}

fn seg(first_seq: u64) -> String {
    format!("{first_seq:020}.wal")
}

fn config(segment_bytes_max: u64) -> WalConfig {
    WalConfig {
        segment_bytes_max,
        ..WalConfig::default()
    }
}

fn open(fs: &FaultyStorage, cfg: &WalConfig) -> cosmictron_wal::Result<Wal> {
    Wal::open(Arc::new(fs.clone()), cfg.clone())
}

fn records(wal: &Wal) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    wal.replay(0, &mut |seq, p| {
        out.push((seq, p.to_vec()));
        Ok(())
    })
    .expect("replay");
    out
}

fn expected(n: u64) -> Vec<(u64, Vec<u8>)> {
    (1..=n).map(|s| (s, payload(s))).collect()
}

/// Appends `seqs` and waits for the last one.
fn commit(wal: &Wal, seqs: std::ops::RangeInclusive<u64>) {
    let last = *seqs.end();
    for seq in seqs {
        wal.append(seq, &payload(seq)).expect("append");
    }
    wal.wait_durable(last).expect("durable");
}

fn io_kind(e: &WalError) -> Option<ErrorKind> {
    match e {
        WalError::Io { source, .. } => Some(source.kind()),
        _ => None,
    }
}

/// Writes records 1..n-1 durably, then record n whose fsync fails (`arm` sets
/// up the failure), then crashes keeping `keep` of its bytes.
fn torn_last_record(
    n: u64,
    keep: usize,
    cfg: &WalConfig,
    arm: impl Fn(&FaultyStorage),
) -> FaultyStorage {
    let fs = FaultyStorage::new();
    let wal = open(&fs, cfg).expect("open");
    commit(&wal, 1..=n - 1);
    arm(&fs);
    wal.append(n, &payload(n)).expect("append");
    assert!(wal.wait_durable(n).is_err());
    fs.crash_tearing(keep);
    fs.clear_faults();
    drop(wal);
    fs
}

/// Reopens, checks exactly n-1 records survived, appends n again and checks it replays.
fn check_recovers_n_minus_1(fs: &FaultyStorage, n: u64, cfg: &WalConfig, what: &str) {
    let wal = open(fs, cfg).unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
    assert_eq!(wal.last_seq(), Some(n - 1), "{what}");
    assert_eq!(records(&wal), expected(n - 1), "{what}");
    commit(&wal, n..=n);
    drop(wal);
    let wal = open(fs, cfg).expect("reopen again");
    assert_eq!(records(&wal), expected(n), "{what}");
}

// Proves a torn last record is cut away at EVERY possible cut length: the last
// record's write is left unsynced (its fsync fails), then a crash keeps 0..len-1
// of its bytes; reopening must give exactly N-1 records, and appending works.
#[test]
fn torn_tail_every_cut_faulty_storage() {
    let n = 6;
    let cfg = config(64 * 1024);
    for keep in 0..frame_len(n) as usize {
        let fs = torn_last_record(n, keep, &cfg, FaultyStorage::fail_next_sync);
        // The torn bytes really were there before reopening truncated them.
        let name = seg(1);
        let full = HEADER_LEN + (1..n).map(frame_len).sum::<u64>();
        assert_eq!(fs.file_len(&name), Some(full + keep as u64));
        check_recovers_n_minus_1(&fs, n, &cfg, &format!("keep {keep}"));
    }
}

// Proves the same when the torn record was the first of a freshly rolled
// segment: that segment ends up holding only its header (or part of a record),
// and recovery removes it instead of leaving an empty segment behind.
#[test]
fn torn_tail_every_cut_in_new_segment() {
    let n = 4;
    // Room for exactly three records, so record 4 rolls.
    let cfg = config(HEADER_LEN + (1..n).map(frame_len).sum::<u64>());
    // The roll is create, header write, header fsync, dir fsync, record write,
    // record fsync: fail the sixth so the header is durable and the record not.
    let fail_record_sync = |fs: &FaultyStorage| fs.fail_after(5, ErrorKind::Other);
    for keep in 0..frame_len(n) as usize {
        let fs = torn_last_record(n, keep, &cfg, fail_record_sync);
        assert_eq!(fs.file_len(&seg(n)), Some(HEADER_LEN + keep as u64));
        check_recovers_n_minus_1(&fs, n, &cfg, &format!("keep {keep}"));
    }
}

// Proves torn-tail recovery on real files: a log of N records is written to a
// temp dir, then for each cut length of the last record a copy of the segment
// truncated there is reopened from its own directory.
#[test]
fn torn_tail_every_cut_real_files() {
    let n = 5;
    let src = tempfile::tempdir().expect("tempdir");
    {
        let wal = Wal::open(
            Arc::new(FileStorage::open(src.path()).expect("dir")),
            WalConfig::default(),
        )
        .expect("open");
        commit(&wal, 1..=n);
    }
    let bytes = std::fs::read(src.path().join(seg(1))).expect("read segment");
    let without_last = bytes.len() - frame_len(n) as usize;
    for keep in 0..frame_len(n) as usize {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(seg(1)), &bytes[..without_last + keep]).expect("write");
        let storage: Arc<dyn Storage> = Arc::new(FileStorage::open(dir.path()).expect("dir"));
        let wal = Wal::open(Arc::clone(&storage), WalConfig::default()).expect("reopen");
        assert_eq!(records(&wal), expected(n - 1), "keep {keep}");
        commit(&wal, n..=n);
        drop(wal);
        let wal = Wal::open(storage, WalConfig::default()).expect("reopen again");
        assert_eq!(records(&wal), expected(n), "keep {keep}");
    }
}

// Proves that damage before the tail is never mistaken for a torn tail: every
// bit of an earlier record of the last segment (record 3 of 5, including its
// length, CRC and seq fields) is flipped in turn, and each time open fails with
// Corrupt naming the segment and the byte offset where record 3 starts.
#[test]
fn bit_flip_in_earlier_record_is_corruption() {
    let fs = FaultyStorage::new();
    commit(&open(&fs, &config(1 << 20)).expect("open"), 1..=5);
    let offset = HEADER_LEN + frame_len(1) + frame_len(2);
    for byte in offset..offset + frame_len(3) {
        for bit in 0..8 {
            fs.flip_bit(&seg(1), byte, bit);
            match open(&fs, &config(1 << 20)) {
                Err(WalError::Corrupt {
                    segment,
                    offset: at,
                    reason,
                }) => {
                    assert_eq!(
                        (segment.as_str(), at),
                        (seg(1).as_str(), offset),
                        "byte {byte} bit {bit}: {reason}"
                    );
                }
                other => panic!("byte {byte} bit {bit}: expected Corrupt, got {other:?}"),
            }
            fs.flip_bit(&seg(1), byte, bit);
        }
    }
    // Undamaged again: opens with everything.
    assert_eq!(
        records(&open(&fs, &config(1 << 20)).expect("open")),
        expected(5)
    );
}

// Proves damage in a non-last segment is corruption even in that segment's LAST
// record (only the log's final segment may have a torn tail), and that a flip in
// a segment header is corruption whichever segment it is in.
#[test]
fn bit_flips_in_sealed_segment_and_headers() {
    let cfg = config(HEADER_LEN + 2 * frame_len(9));
    let fs = FaultyStorage::new();
    commit(&open(&fs, &cfg).expect("open"), 1..=9);
    let names = fs.names();
    assert!(names.len() >= 3, "{names:?}");
    // Last record of the first segment: records 1 and 2 are in it.
    let last_in_first = HEADER_LEN + frame_len(1);
    fs.flip_bit(&names[0], last_in_first + 20, 3);
    match open(&fs, &cfg) {
        Err(e @ WalError::Corrupt { .. }) => {
            assert!(e.is_corruption());
            let WalError::Corrupt {
                segment, offset, ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!((segment, offset), (names[0].clone(), last_in_first));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    fs.flip_bit(&names[0], last_in_first + 20, 3);
    for name in [&names[0], &names[names.len() - 1]] {
        for byte in 0..HEADER_LEN {
            fs.flip_bit(name, byte, (byte % 8) as u8);
            match open(&fs, &cfg) {
                Err(WalError::Corrupt {
                    segment, offset, ..
                }) => {
                    assert_eq!(&segment, name);
                    assert!(offset < HEADER_LEN, "offset {offset}");
                }
                other => panic!("{name} header byte {byte}: expected Corrupt, got {other:?}"),
            }
            fs.flip_bit(name, byte, (byte % 8) as u8);
        }
    }
    assert_eq!(records(&open(&fs, &cfg).expect("open")), expected(9));
}

// Proves a missing middle segment (a sequence gap between segments) is
// corruption naming the segment after the gap, not silently skipped.
#[test]
fn missing_middle_segment_is_corruption() {
    let cfg = config(HEADER_LEN + 2 * frame_len(9));
    let fs = FaultyStorage::new();
    commit(&open(&fs, &cfg).expect("open"), 1..=9);
    let names = fs.names();
    fs.remove(&names[1]).expect("remove");
    match open(&fs, &cfg) {
        Err(WalError::Corrupt { segment, .. }) => assert_eq!(segment, names[2]),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

// Proves fsync failure poisons: the failing leader gets the I/O error, a
// committer waiting on that same fsync gets Poisoned, and every later append,
// wait_durable and flush is Poisoned (never retried, never acknowledged).
#[test]
fn fsync_failure_poisons() {
    let fs = FaultyStorage::new();
    let wal = Arc::new(open(&fs, &WalConfig::default()).expect("open"));
    commit(&wal, 1..=1);
    fs.set_sync_latency(Duration::from_millis(100));
    fs.fail_next_sync();
    wal.append(2, &payload(2)).expect("append");
    let leader = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || wal.wait_durable(2))
    };
    // Join the leader's fsync as a follower while it is "on disk".
    std::thread::sleep(Duration::from_millis(30));
    let follower = wal
        .append(3, &payload(3))
        .and_then(|()| wal.wait_durable(3));
    let leader = leader.join().expect("join");
    assert_eq!(
        leader.as_ref().err().and_then(io_kind),
        Some(ErrorKind::Other),
        "{leader:?}"
    );
    assert!(
        matches!(follower, Err(WalError::Poisoned { .. })),
        "{follower:?}"
    );
    fs.set_sync_latency(Duration::ZERO);
    assert!(matches!(
        wal.append(4, b"x"),
        Err(WalError::Poisoned { .. })
    ));
    assert!(matches!(
        wal.wait_durable(1),
        Err(WalError::Poisoned { .. })
    ));
    assert!(matches!(
        wal.wait_durable(2),
        Err(WalError::Poisoned { .. })
    ));
    assert!(matches!(wal.flush(), Err(WalError::Poisoned { .. })));
    // Replay shows only what is durable: record 2 was written but its fsync failed.
    assert_eq!(records(&wal), expected(1));
}

// Proves a full disk (ENOSPC) at every step of a segment roll (create, header
// write, header fsync, directory fsync, record write, record fsync) is reported,
// never acknowledged, poisons the log, and after a crash the log reopens holding
// a prefix that includes every acknowledged record.
#[test]
fn enospc_during_segment_roll() {
    let cfg = config(HEADER_LEN + 3 * frame_len(9));
    let roll_ops = 6;
    for k in 0..=roll_ops {
        let fs = FaultyStorage::new();
        let wal = open(&fs, &cfg).expect("open");
        commit(&wal, 1..=3);
        assert_eq!(fs.names(), vec![seg(1)]);
        fs.fail_after(k, ErrorKind::StorageFull);
        wal.append(4, &payload(4)).expect("append is in memory");
        let r = wal.wait_durable(4);
        if k == roll_ops {
            r.expect("the roll has exactly six operations; the seventh is not needed");
            continue;
        }
        assert_eq!(
            r.as_ref().err().and_then(io_kind),
            Some(ErrorKind::StorageFull),
            "k {k}: {r:?}"
        );
        assert!(matches!(
            wal.append(5, &payload(5)),
            Err(WalError::Poisoned { .. })
        ));
        assert!(matches!(
            wal.wait_durable(4),
            Err(WalError::Poisoned { .. })
        ));
        fs.crash();
        fs.clear_faults();
        drop(wal);
        let wal = open(&fs, &cfg).unwrap_or_else(|e| panic!("k {k}: reopen: {e}"));
        let got = records(&wal);
        assert!(
            got.len() >= 3 && got == expected(got.len() as u64),
            "k {k}: {got:?}"
        );
        commit(&wal, got.len() as u64 + 1..=got.len() as u64 + 1);
    }
}

// Proves a Wal still alive when its storage "crashes" cannot write into the
// rebooted storage when dropped (its handle died with the simulated process):
// the buffered record is lost and the files are as the crash left them.
#[test]
fn crash_kills_old_handles() {
    let fs = FaultyStorage::new();
    let wal = open(&fs, &WalConfig::default()).expect("open");
    commit(&wal, 1..=2);
    wal.append(3, &payload(3)).expect("append");
    let len = fs.file_len(&seg(1));
    fs.crash();
    drop(wal);
    assert_eq!(fs.file_len(&seg(1)), len);
    assert_eq!(
        records(&open(&fs, &WalConfig::default()).expect("reopen")),
        expected(2)
    );
}

// Proves a crash between creating a segment and syncing the directory loses
// nothing acknowledged: files not yet in a synced directory vanish, and an
// all-zero or header-less last segment is removed at open.
#[test]
fn torn_segment_creation_is_removed() {
    let fs = FaultyStorage::new();
    commit(&open(&fs, &WalConfig::default()).expect("open"), 1..=2);
    for junk in [vec![], vec![0u8; 40], b"CTRNWAL\0\x01\0".to_vec()] {
        let mut f = fs.create(&seg(3)).expect("create");
        f.write_all(&junk).expect("write");
        fs.sync_dir().expect("sync dir");
        let wal = open(&fs, &WalConfig::default()).expect("open");
        assert_eq!(fs.names(), vec![seg(1)]);
        assert_eq!(records(&wal), expected(2));
    }
}
