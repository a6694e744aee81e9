//! `cosmios register` and `cosmios status`: the config file, and the machine's state as
//! the server sees it.

use std::path::Path;
use std::time::Duration;

use cosmictron_client::ClientError;
use serde_json::{Value as Json, json};

use crate::api::Api;
use crate::config::{Config, check_api_key, check_server};
use crate::error::{Error, Result};

/// Saves `server` and `api_key` to `path` (keeping agent commands already there).
pub fn register(path: &Path, server: &str, api_key: &str) -> Result<Config> {
    let api_key = api_key.trim();
    check_api_key(api_key)?;
    let agents = Config::load(path).map(|c| c.agents).unwrap_or_default();
    let config = Config {
        server: check_server(server)?,
        api_key: api_key.to_owned(),
        agents,
    };
    config.save(path)?;
    Ok(config)
}

/// The machine of `config`'s key: `{machine_id, name, online, enabled, last_seen,
/// connections, metrics}`. Reads only: the machine's runner is not affected.
pub async fn machine_status(config: &Config) -> Result<Json> {
    let api = Api::new(&config.server, Duration::from_secs(1))?;
    api.sign_in_anonymously().await?;
    match api
        .call("machine_status", &json!({"api_key": config.api_key}))
        .await
    {
        Err(ClientError::Server { code, .. }) if code == "invalid_api_key" => {
            Err(Error::UnknownMachineKey)
        }
        other => Ok(other?),
    }
}
