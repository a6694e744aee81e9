//! The config file (`~/.cosmios/config.json` by default): the server and the machine key,
//! written by `cosmios register` and read by `cosmios start` and `cosmios status`. It holds a
//! secret, so it is created with mode 0600 (and its directory 0700) and replaced atomically.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What `cosmios register` saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The Cosmictron server, e.g. `http://127.0.0.1:3000`.
    pub server: String,
    /// The machine's `csu_…` key, shown once by `register_machine`.
    pub api_key: String,
    /// Agent commands that replace the defaults (`claude-code` → `claude -p`), e.g.
    /// `{"codex": "/opt/codex/bin/codex exec"}`. `--agent-command` overrides these.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agents: BTreeMap<String, String>,
}

/// `$HOME/.cosmios/config.json`.
pub fn default_path() -> Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            Error::Config("HOME is not set: give the config file with --config".into())
        })?;
    Ok(PathBuf::from(home).join(".cosmios").join("config.json"))
}

/// A machine key as `register_machine` makes them: `csu_` and 64 hex digits.
pub fn check_api_key(key: &str) -> Result<()> {
    let hex = key.strip_prefix("csu_").unwrap_or_default();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Config(
            "a machine key is `csu_` followed by 64 hex digits (Machines > Register shows it once)"
                .into(),
        ));
    }
    Ok(())
}

/// An http(s) server URL without a trailing slash.
pub fn check_server(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::Config(format!(
            "the server `{url}` is not an http:// or https:// URL"
        )));
    }
    Ok(url.to_owned())
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "cannot read {}: {e} (run `cosmios register` first)",
                path.display()
            ))
        })?;
        let config: Config = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("{} is not a valid config: {e}", path.display())))?;
        check_server(&config.server)?;
        check_api_key(&config.api_key)?;
        Ok(config)
    }

    /// Writes the file readable by its owner only, through a temporary file and a rename so
    /// that a crash never leaves half a config (or a moment with looser permissions).
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let tmp = dir.join(format!(
            ".{}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "config.json".into())
        ));
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("encoding the config: {e}")))?;
        text.push('\n');
        let mut file = private_file(&tmp)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| Error::io(format!("replacing {}", path.display()), e))
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))
}

/// Creates (or truncates) `path` readable and writable by its owner only.
#[cfg(unix)]
pub(crate) fn private_file(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    // `mode` applies only to a new file: a leftover temporary file keeps its old mode.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("restricting {}", path.display()), e))?;
    Ok(file)
}

#[cfg(not(unix))]
pub(crate) fn private_file(path: &Path) -> Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| Error::io(format!("creating {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        format!("csu_{}", "ab".repeat(32))
    }

    #[test]
    fn saves_privately_and_loads_back() {
        // Proves: the file round-trips, is mode 0600 in a 0700 directory, and a second save
        // replaces it.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested").join("config.json");
        let mut config = Config {
            server: "http://127.0.0.1:3000".into(),
            api_key: key(),
            agents: BTreeMap::new(),
        };
        config.save(&path).expect("save");
        config.server = "http://example.com".into();
        config.save(&path).expect("save again");
        assert_eq!(Config::load(&path).expect("load"), config);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode();
            assert_eq!(mode(&path) & 0o777, 0o600);
            assert_eq!(mode(path.parent().expect("dir")) & 0o777, 0o700);
        }
    }

    #[test]
    fn refuses_malformed_keys_servers_and_files() {
        assert!(check_api_key(&key()).is_ok());
        for bad in ["", "csu_", "csu_xyz", &format!("csx_{}", "ab".repeat(32))] {
            assert!(check_api_key(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_server("http://h:1/").expect("valid"),
            "http://h:1".to_owned()
        );
        assert!(check_server("h:1").is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        let missing = Config::load(&path).expect_err("missing");
        assert!(
            missing.to_string().contains("cosmios register"),
            "{missing}"
        );
        std::fs::write(&path, "{\"server\": 1}").expect("write");
        assert!(Config::load(&path).expect_err("malformed").is_fatal());
    }
}
