//! Where segment files live: a flat directory of named files.
//!
//! The log only needs whole-file reads, append-only writes, fsync of a file and
//! of the directory, and removal. Keeping the interface this small lets the
//! fault-injecting in-memory implementation model a power loss exactly.

pub(crate) mod faulty;
pub(crate) mod file;

use crate::Result;

/// A flat directory of segment files.
pub trait Storage: Send + Sync + std::fmt::Debug + 'static {
    /// Names (not paths) of the files in the directory, in no particular order.
    fn list(&self) -> Result<Vec<String>>;
    /// The whole content of a file.
    fn read(&self, name: &str) -> Result<Vec<u8>>;
    /// Creates a new empty file for appending; fails if it already exists.
    fn create(&self, name: &str) -> Result<Box<dyn StorageFile>>;
    /// Opens an existing file for appending at its end.
    fn open_append(&self, name: &str) -> Result<Box<dyn StorageFile>>;
    /// Cuts a file to `len` bytes and fsyncs it.
    fn truncate(&self, name: &str, len: u64) -> Result<()>;
    /// Deletes a file (durable only after [`Storage::sync_dir`]).
    fn remove(&self, name: &str) -> Result<()>;
    /// Fsyncs the directory, making creations and removals durable.
    fn sync_dir(&self) -> Result<()>;
    /// Copies the file's current bytes to `dest_dir/name` on the real file
    /// system (creating `dest_dir` if needed). Used by online backup.
    fn copy_to(&self, name: &str, dest_dir: &std::path::Path) -> Result<()>;
}

/// A file opened for appending.
pub trait StorageFile: Send + std::fmt::Debug {
    /// Appends all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> Result<()>;
    /// Makes everything written so far durable (fdatasync).
    fn sync(&mut self) -> Result<()>;
}
