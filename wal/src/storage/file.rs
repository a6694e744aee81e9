//! [`Storage`] on a real directory.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Storage, StorageFile};
use crate::Result;
use crate::error::io_err;

/// Segment files in a directory of the local file system.
#[derive(Debug, Clone)]
pub struct FileStorage {
    dir: PathBuf,
}

impl FileStorage {
    /// Uses `dir`, creating it (and its parents) if missing.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err("create_dir", dir.display().to_string()))?;
        Ok(FileStorage { dir })
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Fsyncs a directory so that entries created or removed in it survive a crash.
fn sync_directory(dir: &Path) -> Result<()> {
    // Opening a directory read-only and calling fsync on it is the POSIX way;
    // other platforms have no equivalent through std, and NTFS journals metadata.
    if cfg!(unix) {
        let d = File::open(dir).map_err(io_err("open_dir", dir.display().to_string()))?;
        d.sync_all()
            .map_err(io_err("sync_dir", dir.display().to_string()))?;
    }
    Ok(())
}

impl Storage for FileStorage {
    fn list(&self) -> Result<Vec<String>> {
        let op = io_err("list", self.dir.display().to_string());
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(op)? {
            let entry = entry.map_err(io_err("list", self.dir.display().to_string()))?;
            let is_file = entry
                .file_type()
                .map_err(io_err("stat", entry.path().display().to_string()))?
                .is_file();
            // Non-UTF-8 names cannot be segment names; skip rather than fail.
            if let (true, Ok(name)) = (is_file, entry.file_name().into_string()) {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let path = self.path(name);
        fs::read(&path).map_err(io_err("read", path.display().to_string()))
    }

    fn create(&self, name: &str) -> Result<Box<dyn StorageFile>> {
        let path = self.path(name);
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("create", path.display().to_string()))?;
        Ok(Box::new(FsFile { file, path }))
    }

    fn open_append(&self, name: &str) -> Result<Box<dyn StorageFile>> {
        let path = self.path(name);
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err("open", path.display().to_string()))?;
        Ok(Box::new(FsFile { file, path }))
    }

    fn truncate(&self, name: &str, len: u64) -> Result<()> {
        let path = self.path(name);
        let shown = path.display().to_string();
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_err("open", shown.clone()))?;
        file.set_len(len)
            .map_err(io_err("truncate", shown.clone()))?;
        file.sync_all().map_err(io_err("fsync", shown))
    }

    fn remove(&self, name: &str) -> Result<()> {
        let path = self.path(name);
        fs::remove_file(&path).map_err(io_err("remove", path.display().to_string()))
    }

    fn sync_dir(&self) -> Result<()> {
        sync_directory(&self.dir)
    }

    fn copy_to(&self, name: &str, dest_dir: &Path) -> Result<()> {
        fs::create_dir_all(dest_dir)
            .map_err(io_err("create_dir", dest_dir.display().to_string()))?;
        let src = self.path(name);
        let dest = dest_dir.join(name);
        let shown = dest.display().to_string();
        fs::copy(&src, &dest).map_err(io_err("copy", shown.clone()))?;
        // A backup that is not on disk is not a backup.
        let copied = File::open(&dest).map_err(io_err("open", shown.clone()))?;
        copied.sync_all().map_err(io_err("fsync", shown))?;
        sync_directory(dest_dir)
    }
}

#[derive(Debug)]
struct FsFile {
    file: File,
    path: PathBuf,
}

impl StorageFile for FsFile {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.file
            .write_all(buf)
            .map_err(io_err("write", self.path.display().to_string()))
    }

    fn sync(&mut self) -> Result<()> {
        // fdatasync: the file size is data for this purpose, so appended bytes are
        // covered; skipping mtime updates saves a journal write.
        self.file
            .sync_data()
            .map_err(io_err("fsync", self.path.display().to_string()))
    }
}
