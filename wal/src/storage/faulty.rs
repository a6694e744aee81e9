//! [`FaultyStorage`]: an in-memory, fault-injecting [`Storage`] for tests.
//!
//! It models what a power loss can do to a file system that honours fsync:
//! each file has the bytes written so far and the length known to be durable;
//! directory entries are durable only after `sync_dir`. It is public so that the
//! engine's own crash tests can use it too.

use std::collections::{BTreeMap, HashMap};
use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::{Storage, StorageFile};
use crate::Result;
use crate::error::{WalError, io_err};

/// In-memory storage that can simulate crashes, torn writes, bit rot and I/O
/// errors. **A test tool**: nothing here touches a disk except `copy_to`.
///
/// Cloning gives another handle on the same files, so a test keeps one handle
/// while the `Wal` owns another.
///
/// Crash model: [`FaultyStorage::crash`] is a power loss *and* the death of the
/// process that held the other handles: after it, every handle other than the one
/// `crash` was called on (and every file opened through one) fails all operations,
/// so a `Wal` still alive from before the crash cannot write into the "rebooted"
/// storage when it is dropped. Handles cloned after the crash work normally.
///
/// Simplification: re-creating a name that was removed but whose removal was not
/// yet made durable by `sync_dir` discards the old file for good.
#[derive(Debug)]
pub struct FaultyStorage {
    shared: Arc<Mutex<State>>,
    /// Identity of this handle, for deciding which handles a crash killed.
    id: u64,
    /// The crash epoch this handle was made in.
    born: u64,
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<String, MemFile>,
    epoch: u64,
    /// Handles that called `crash`, with the epoch they survived into.
    survivors: HashMap<u64, u64>,
    next_id: u64,
    last_written: Option<String>,
    /// Remaining mutating ops before every op fails with `fail_kind`.
    countdown: Option<u64>,
    fail_kind: Option<ErrorKind>,
    fail_next_sync: bool,
    sync_latency: Duration,
}

#[derive(Debug, Default)]
struct MemFile {
    bytes: Vec<u8>,
    durable_len: usize,
    /// Present in the directory as seen by the running process.
    visible: bool,
    /// The directory entry survives a crash (it was there at the last sync_dir).
    entry_durable: bool,
}

impl State {
    fn alive(&self, id: u64, born: u64) -> bool {
        born == self.epoch || self.survivors.get(&id) == Some(&self.epoch)
    }

    fn file(&mut self, name: &str) -> Option<&mut MemFile> {
        self.files.get_mut(name).filter(|f| f.visible)
    }

    /// Called before every mutating op: applies `fail_after`.
    fn mutation(&mut self, op: &'static str, name: &str) -> Result<()> {
        match self.countdown {
            Some(0) => {
                let kind = self.fail_kind.unwrap_or(ErrorKind::Other);
                Err(fault(op, name, kind, "injected fault"))
            }
            Some(n) => {
                self.countdown = Some(n - 1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Power loss: unsynced bytes vanish, so do directory changes since the last
    /// sync_dir. `tear` keeps a prefix of the unsynced bytes of the last-written file.
    fn crash(&mut self, tear: Option<usize>) {
        let torn = self.last_written.take();
        self.files.retain(|_, f| f.entry_durable);
        for (name, f) in self.files.iter_mut() {
            let mut keep = f.durable_len;
            if let (Some(extra), Some(t)) = (tear, torn.as_deref())
                && t == name
            {
                keep = (f.durable_len + extra).min(f.bytes.len());
            }
            f.bytes.truncate(keep);
            f.durable_len = keep;
            f.visible = true;
        }
        self.epoch += 1;
    }
}

fn fault(op: &'static str, name: &str, kind: ErrorKind, msg: &str) -> WalError {
    io_err(op, name)(std::io::Error::new(kind, msg.to_owned()))
}

fn dead(op: &'static str, name: &str) -> WalError {
    fault(
        op,
        name,
        ErrorKind::Other,
        "simulated crash: the process holding this handle is gone",
    )
}

fn not_found(op: &'static str, name: &str) -> WalError {
    fault(op, name, ErrorKind::NotFound, "no such file")
}

impl Default for FaultyStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for FaultyStorage {
    fn clone(&self) -> Self {
        let mut s = self.shared.lock();
        let id = s.next_id;
        s.next_id += 1;
        // A clone of a live handle lives; a clone of a dead one stays dead.
        let born = if s.alive(self.id, self.born) {
            s.epoch
        } else {
            self.born
        };
        FaultyStorage {
            shared: Arc::clone(&self.shared),
            id,
            born,
        }
    }
}

impl FaultyStorage {
    /// An empty storage with no faults armed.
    pub fn new() -> Self {
        let state = State {
            next_id: 1,
            ..State::default()
        };
        FaultyStorage {
            shared: Arc::new(Mutex::new(state)),
            id: 0,
            born: 0,
        }
    }

    /// Simulates power loss: every file loses its unsynced bytes; files created
    /// since the last `sync_dir` disappear (and removed ones come back). Kills
    /// every other handle (see the type docs). Armed faults stay armed.
    pub fn crash(&self) {
        self.crash_inner(None);
    }

    /// Like [`crash`](Self::crash), but the last-written file keeps the first
    /// `keep_unsynced` of its unsynced bytes: a torn write.
    pub fn crash_tearing(&self, keep_unsynced: usize) {
        self.crash_inner(Some(keep_unsynced));
    }

    fn crash_inner(&self, tear: Option<usize>) {
        let mut s = self.shared.lock();
        s.crash(tear);
        let epoch = s.epoch;
        s.survivors.insert(self.id, epoch);
    }

    /// Flips one bit of a file's content (durable or not), simulating bit rot.
    ///
    /// # Panics
    /// If the file does not exist or `byte_offset` is past its end: a test bug.
    pub fn flip_bit(&self, name: &str, byte_offset: u64, bit: u8) {
        let mut s = self.shared.lock();
        let f = s
            .file(name)
            .unwrap_or_else(|| panic!("flip_bit: no file {name}"));
        let at = usize::try_from(byte_offset).unwrap_or(usize::MAX);
        assert!(
            at < f.bytes.len(),
            "flip_bit: offset {byte_offset} past end of {name}"
        );
        f.bytes[at] ^= 1 << (bit % 8);
    }

    /// After `ops` more mutating operations (create, write, sync, truncate,
    /// remove, sync_dir) succeed, every mutating operation fails with `kind`
    /// (e.g. `Other` standing for EIO, `StorageFull` for ENOSPC). Reads never fail.
    pub fn fail_after(&self, ops: u64, kind: ErrorKind) {
        let mut s = self.shared.lock();
        s.countdown = Some(ops);
        s.fail_kind = Some(kind);
    }

    /// The next file `sync` fails (with `ErrorKind::Other`, i.e. EIO); the bytes
    /// it should have made durable stay unsynced.
    pub fn fail_next_sync(&self) {
        self.shared.lock().fail_next_sync = true;
    }

    /// Disarms `fail_after` and `fail_next_sync` (e.g. "the disk was replaced").
    pub fn clear_faults(&self) {
        let mut s = self.shared.lock();
        s.countdown = None;
        s.fail_kind = None;
        s.fail_next_sync = false;
    }

    /// Makes every file `sync` take this long, like a real disk. Used to make
    /// group-commit tests deterministic: commits pile up while a sync is running.
    pub fn set_sync_latency(&self, latency: Duration) {
        self.shared.lock().sync_latency = latency;
    }

    /// Current length of a file (written bytes, durable or not).
    pub fn file_len(&self, name: &str) -> Option<u64> {
        self.shared.lock().file(name).map(|f| f.bytes.len() as u64)
    }

    /// How many bytes of a file would survive a crash right now.
    pub fn durable_len(&self, name: &str) -> Option<u64> {
        self.shared.lock().file(name).map(|f| f.durable_len as u64)
    }

    /// Names of the files currently visible, sorted.
    pub fn names(&self) -> Vec<String> {
        let s = self.shared.lock();
        s.files
            .iter()
            .filter(|(_, f)| f.visible)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Locks the state after checking this handle survived every crash.
    fn live(&self, op: &'static str, name: &str) -> Result<parking_lot::MutexGuard<'_, State>> {
        let s = self.shared.lock();
        if s.alive(self.id, self.born) {
            Ok(s)
        } else {
            Err(dead(op, name))
        }
    }

    /// A handle with the same identity, for a file opened through this one.
    fn same_identity(&self) -> FaultyStorage {
        FaultyStorage {
            shared: Arc::clone(&self.shared),
            id: self.id,
            born: self.born,
        }
    }
}

impl Storage for FaultyStorage {
    fn list(&self) -> Result<Vec<String>> {
        drop(self.live("list", "<dir>")?);
        Ok(self.names())
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let mut s = self.live("read", name)?;
        s.file(name)
            .map(|f| f.bytes.clone())
            .ok_or_else(|| not_found("read", name))
    }

    fn create(&self, name: &str) -> Result<Box<dyn StorageFile>> {
        let mut s = self.live("create", name)?;
        s.mutation("create", name)?;
        if s.file(name).is_some() {
            return Err(fault(
                "create",
                name,
                ErrorKind::AlreadyExists,
                "file exists",
            ));
        }
        s.files.insert(
            name.to_owned(),
            MemFile {
                visible: true,
                ..MemFile::default()
            },
        );
        Ok(Box::new(FaultyFile {
            owner: self.same_identity(),
            name: name.to_owned(),
        }))
    }

    fn open_append(&self, name: &str) -> Result<Box<dyn StorageFile>> {
        let mut s = self.live("open", name)?;
        if s.file(name).is_none() {
            return Err(not_found("open", name));
        }
        Ok(Box::new(FaultyFile {
            owner: self.same_identity(),
            name: name.to_owned(),
        }))
    }

    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        let mut s = self.live("truncate", name)?;
        s.mutation("truncate", name)?;
        let f = s.file(name).ok_or_else(|| not_found("truncate", name))?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        f.bytes.resize(len, 0);
        // Truncate also fsyncs: the new length is durable.
        f.durable_len = len;
        Ok(())
    }

    fn remove(&self, name: &str) -> Result<()> {
        let mut s = self.live("remove", name)?;
        s.mutation("remove", name)?;
        let f = s.file(name).ok_or_else(|| not_found("remove", name))?;
        f.visible = false;
        Ok(())
    }

    fn sync_dir(&self) -> Result<()> {
        let mut s = self.live("sync_dir", "<dir>")?;
        s.mutation("sync_dir", "<dir>")?;
        s.files.retain(|_, f| f.visible);
        for f in s.files.values_mut() {
            f.entry_durable = true;
        }
        Ok(())
    }

    fn copy_to(&self, name: &str, dest_dir: &Path) -> Result<()> {
        let bytes = self.read(name)?;
        std::fs::create_dir_all(dest_dir)
            .map_err(io_err("create_dir", dest_dir.display().to_string()))?;
        let dest = dest_dir.join(name);
        std::fs::write(&dest, bytes).map_err(io_err("copy", dest.display().to_string()))
    }
}

#[derive(Debug)]
struct FaultyFile {
    owner: FaultyStorage,
    name: String,
}

impl StorageFile for FaultyFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        let mut s = self.owner.live("write", &self.name)?;
        s.mutation("write", &self.name)?;
        let f = s
            .file(&self.name)
            .ok_or_else(|| not_found("write", &self.name))?;
        f.bytes.extend_from_slice(buf);
        s.last_written = Some(self.name.clone());
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        // Sleep unlocked, as a real fsync does not stop other files being written;
        // a failure, like a real one, is reported only when the sync "returns".
        let latency = self.owner.live("fsync", &self.name)?.sync_latency;
        if !latency.is_zero() {
            std::thread::sleep(latency);
        }
        let mut s = self.owner.live("fsync", &self.name)?;
        s.mutation("fsync", &self.name)?;
        if std::mem::take(&mut s.fail_next_sync) {
            return Err(fault(
                "fsync",
                &self.name,
                ErrorKind::Other,
                "injected fsync failure (EIO)",
            ));
        }
        let f = s
            .file(&self.name)
            .ok_or_else(|| not_found("fsync", &self.name))?;
        f.durable_len = f.bytes.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(fs: &FaultyStorage, name: &str, bytes: &[u8], sync: bool) {
        let mut f = fs.open_append(name).expect("open");
        f.write_all(bytes).expect("write");
        if sync {
            f.sync().expect("sync");
        }
    }

    // Proves the crash model: unsynced bytes vanish, a torn crash keeps a prefix
    // of them, files created after the last sync_dir vanish, and removals not
    // yet made durable by sync_dir are undone.
    #[test]
    fn crash_model() {
        let fs = FaultyStorage::new();
        fs.create("a").expect("create");
        fs.sync_dir().expect("sync_dir");
        write(&fs, "a", b"durable", true);
        write(&fs, "a", b"-lost", false);
        fs.create("b").expect("create");
        fs.crash();
        assert_eq!(fs.names(), vec!["a".to_owned()]);
        assert_eq!(fs.read("a").expect("read"), b"durable");

        write(&fs, "a", b"-torn", false);
        fs.crash_tearing(3);
        assert_eq!(fs.read("a").expect("read"), b"durable-to");
        assert_eq!(fs.durable_len("a"), Some(10));

        fs.remove("a").expect("remove");
        assert!(fs.names().is_empty());
        fs.crash();
        assert_eq!(fs.names(), vec!["a".to_owned()]);
        fs.remove("a").expect("remove");
        fs.sync_dir().expect("sync_dir");
        fs.crash();
        assert!(fs.names().is_empty());
    }

    // Proves that after a crash only the crashing handle and later clones work.
    #[test]
    fn crash_kills_other_handles() {
        let fs = FaultyStorage::new();
        let old = fs.clone();
        let mut file = old.create("x").expect("create");
        fs.crash();
        assert!(old.list().is_err());
        assert!(file.write_all(b"late").is_err());
        assert!(old.clone().list().is_err());
        assert!(fs.list().is_ok());
        assert!(fs.clone().create("y").is_ok());
    }

    // Proves fail_after counts mutating ops only and then fails every one, and
    // fail_next_sync fails exactly one sync, leaving the bytes unsynced.
    #[test]
    fn injected_faults() {
        let fs = FaultyStorage::new();
        fs.create("a").expect("create");
        fs.fail_next_sync();
        let mut f = fs.open_append("a").expect("open");
        f.write_all(b"abc").expect("write");
        assert!(f.sync().is_err());
        assert_eq!(fs.durable_len("a"), Some(0));
        f.sync().expect("second sync works");
        fs.fail_after(1, ErrorKind::StorageFull);
        f.write_all(b"d").expect("one more op allowed");
        assert!(fs.read("a").is_ok());
        let err = f.write_all(b"e").expect_err("full");
        assert!(
            matches!(err, WalError::Io { ref source, .. } if source.kind() == ErrorKind::StorageFull)
        );
        assert!(fs.sync_dir().is_err());
        fs.clear_faults();
        fs.sync_dir().expect("healed");
    }
}
