//! Saved tokens, one per server, in `$XDG_CONFIG_HOME/cosmictron/credentials.json`
//! (or `~/.config/...`), readable by the user only. `COSMICTRON_TOKEN` overrides.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;

fn path() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir)
            .join("cosmictron")
            .join("credentials.json"));
    }
    let home = std::env::var_os("HOME").context("neither XDG_CONFIG_HOME nor HOME is set")?;
    Ok(PathBuf::from(home)
        .join(".config")
        .join("cosmictron")
        .join("credentials.json"))
}

fn load_all() -> anyhow::Result<BTreeMap<String, String>> {
    let p = path()?;
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not valid JSON", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
    }
}

/// The token for `server`: `COSMICTRON_TOKEN`, else the saved one.
pub(crate) fn token_for(server: &str) -> anyhow::Result<Option<String>> {
    if let Some(t) = std::env::var("COSMICTRON_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(t));
    }
    Ok(load_all()?.remove(server))
}

pub(crate) fn save(server: &str, token: &str) -> anyhow::Result<PathBuf> {
    let p = path()?;
    let mut all = load_all()?;
    all.insert(server.to_owned(), token.to_owned());
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = serde_json::to_vec_pretty(&all)?;
    let tmp = p.with_extension("json.tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(&text)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &p)?;
    Ok(p)
}
