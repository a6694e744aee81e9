//! The module store: each deployed module's bytes and metadata in the data directory, so
//! modules are reloaded on restart.
//!
//! ```text
//! <data-dir>/modules/<name>.wasm   the module as deployed
//! <data-dir>/modules/<name>.json   {name, version, owner, deployed_at}
//! ```
//! Files are written to a temporary name, fsynced, renamed, and the directory fsynced: a crash
//! leaves either the old file or the new one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cosmictron_types::{Identity, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) const MODULES_DIR: &str = "modules";

/// What is stored beside a module's bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ModuleMeta {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) owner: Identity,
    /// When this version was deployed (0 in stores written before it was kept).
    #[serde(default)]
    pub(crate) deployed_at: Timestamp,
}

#[derive(Debug)]
pub(crate) struct ModuleStore {
    dir: PathBuf,
}

fn write_atomic(dir: &Path, file: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{file}.tmp"));
    let path = dir.join(file);
    let mut f = fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io("write", &tmp, e))?;
    f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, e))
}

impl ModuleStore {
    pub(crate) fn open(data_dir: &Path) -> Result<ModuleStore> {
        let dir = data_dir.join(MODULES_DIR);
        fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        Ok(ModuleStore { dir })
    }

    /// Stores a module: its bytes first, then the metadata that makes it count.
    pub(crate) fn save(&self, meta: &ModuleMeta, wasm: &[u8]) -> Result<()> {
        write_atomic(&self.dir, &format!("{}.wasm", meta.name), wasm)?;
        let json = serde_json::to_vec_pretty(meta).map_err(|e| Error::CorruptStore {
            path: self.dir.display().to_string(),
            reason: e.to_string(),
        })?;
        write_atomic(&self.dir, &format!("{}.json", meta.name), &json)
    }

    /// Removes a module: its metadata first (so a crash leaves no half-listed module), then
    /// its bytes. Missing files are fine.
    pub(crate) fn remove(&self, name: &str) -> Result<()> {
        for file in [format!("{name}.json"), format!("{name}.wasm")] {
            let path = self.dir.join(file);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove", &path, e)),
            }
        }
        sync_dir(&self.dir)
    }

    /// Every stored module (metadata and bytes), sorted by name.
    pub(crate) fn load_all(&self) -> Result<Vec<(ModuleMeta, Vec<u8>)>> {
        let mut metas = Vec::new();
        for entry in
            fs::read_dir(&self.dir).map_err(|e| Error::io("read directory", &self.dir, e))?
        {
            let path = entry
                .map_err(|e| Error::io("read directory", &self.dir, e))?
                .path();
            if path.extension().is_some_and(|e| e == "json") {
                metas.push(path);
            }
        }
        metas.sort();
        let mut out = Vec::new();
        for path in metas {
            let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let meta: ModuleMeta =
                serde_json::from_slice(&bytes).map_err(|e| Error::CorruptStore {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
            let wasm_path = self.dir.join(format!("{}.wasm", meta.name));
            let wasm = fs::read(&wasm_path).map_err(|e| Error::io("read", &wasm_path, e))?;
            out.push((meta, wasm));
        }
        Ok(out)
    }
}
