//! [`ServerConfig`]: every setting of `cosmictron serve`, with safe defaults.
//!
//! Settings come from, highest precedence first: command-line flags, `COSMICTRON_*`
//! environment variables (clap reads both, see `cli/serve.rs`), an optional TOML file
//! (`--config FILE`), and the defaults below. `docs/configuration.md` lists every key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A token bucket: `per_minute` tokens refill evenly over a minute, at most `burst` saved up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

/// An SMTP relay for magic-link mail (plain TCP, no authentication: a local MTA or a relay on
/// a private network).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// The sender address.
    pub from: String,
    /// The name the server gives in `EHLO`.
    #[serde(default = "default_helo")]
    pub helo: String,
    /// Per step (connect, each command, the message).
    #[serde(default = "default_smtp_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_smtp_port() -> u16 {
    25
}

fn default_helo() -> String {
    "localhost".into()
}

fn default_smtp_timeout_ms() -> u64 {
    10_000
}

/// Everything the server can be told. Unknown keys in the TOML file are an error, so a typo
/// does not silently fall back to a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where databases, modules, the JWT secret and the mail outbox live.
    pub data_dir: PathBuf,
    /// `host:port` to listen on.
    pub listen: String,
    /// Lifetime of issued session tokens.
    pub token_ttl_secs: u64,
    /// Lifetime of a magic-link token.
    pub magic_link_ttl_secs: u64,
    /// Largest JSON request body (413 beyond).
    pub max_body_bytes: usize,
    /// Largest module upload (413 beyond).
    pub max_module_bytes: usize,
    /// A request taking longer is answered 503 `timeout`.
    pub request_timeout_ms: u64,
    /// Requests per client IP (every route but the probes).
    pub rate_limit_per_ip: RateLimit,
    /// Requests per authenticated identity.
    pub rate_limit_per_identity: RateLimit,
    /// Password hashes computed at once (argon2id is deliberately expensive).
    pub password_hash_concurrency: usize,
    /// Largest WebSocket message accepted from a client.
    pub ws_max_message_bytes: usize,
    /// Seconds between server pings; a client silent for three intervals is dropped.
    pub ws_ping_interval_secs: u64,
    /// Updates queued for one WebSocket client before it is told it lags and is resynced.
    pub ws_queue_capacity: usize,
    /// Calls and queries one WebSocket connection may have running at once (more wait for a
    /// slot): what a pipelining client can have sharing one fsync.
    pub ws_calls_in_flight: usize,
    /// Rows a `POST /v1/sql` answer may hold.
    pub sql_max_rows: usize,
    /// A directory of static files served at `/` (API routes take precedence).
    pub static_dir: Option<PathBuf>,
    /// An admin account created (or whose password is reset) at start.
    pub admin_email: Option<String>,
    #[serde(skip_serializing)]
    pub admin_password: Option<String>,
    /// Modules deployed (or upgraded) at start, owned by the admin account.
    pub deploy_on_start: Vec<ModuleFile>,
    /// Where magic-link mail goes: this SMTP relay, or (unset) the `outbox/` directory.
    pub smtp: Option<SmtpConfig>,
    /// Modules whose HTTP routes are also served at the root (`{path}` beside
    /// `/m/{module}{path}`), earlier ones first; colliding routes are refused at start.
    pub expose: Vec<String>,
}

/// A module to deploy at start: its name and its `.wasm` file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleFile {
    pub name: String,
    pub path: PathBuf,
}

/// The largest `ws_calls_in_flight` accepted (a per-connection bound that stays a bound).
const WS_CALLS_IN_FLIGHT_MAX: usize = 1_000_000;

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            data_dir: PathBuf::from("./cosmictron-data"),
            listen: "127.0.0.1:3000".into(),
            token_ttl_secs: 7 * 24 * 3600,
            magic_link_ttl_secs: 15 * 60,
            max_body_bytes: 1 << 20,
            max_module_bytes: 32 << 20,
            request_timeout_ms: 30_000,
            rate_limit_per_ip: RateLimit {
                per_minute: 60_000,
                burst: 5_000,
            },
            rate_limit_per_identity: RateLimit {
                per_minute: 60_000,
                burst: 5_000,
            },
            password_hash_concurrency: 2,
            ws_max_message_bytes: 1 << 20,
            ws_ping_interval_secs: 20,
            ws_queue_capacity: 1024,
            ws_calls_in_flight: 1024,
            sql_max_rows: 100_000,
            static_dir: None,
            admin_email: None,
            admin_password: None,
            deploy_on_start: Vec::new(),
            expose: Vec::new(),
            smtp: None,
        }
    }
}

impl ServerConfig {
    /// A configuration read from a TOML file (missing keys take their defaults).
    pub fn from_toml_file(path: &Path) -> Result<ServerConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        toml::from_str(&text).map_err(|e| Error::InvalidConfig(format!("{}: {e}", path.display())))
    }

    /// Refuses settings that cannot work, naming each.
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        if self.token_ttl_secs == 0 {
            problems.push("token_ttl_secs must be > 0");
        }
        if self.magic_link_ttl_secs == 0 {
            problems.push("magic_link_ttl_secs must be > 0");
        }
        if self.max_body_bytes == 0 || self.max_module_bytes == 0 {
            problems.push("max_body_bytes and max_module_bytes must be > 0");
        }
        if self.rate_limit_per_ip.per_minute == 0 || self.rate_limit_per_identity.per_minute == 0 {
            problems.push("rate limits need per_minute > 0");
        }
        if self.rate_limit_per_ip.burst == 0 || self.rate_limit_per_identity.burst == 0 {
            problems.push("rate limits need burst > 0");
        }
        if self.password_hash_concurrency == 0 {
            problems.push("password_hash_concurrency must be > 0");
        }
        if self.ws_queue_capacity == 0 || self.ws_max_message_bytes == 0 {
            problems.push("ws_queue_capacity and ws_max_message_bytes must be > 0");
        }
        if !(1..=WS_CALLS_IN_FLIGHT_MAX).contains(&self.ws_calls_in_flight) {
            problems.push("ws_calls_in_flight must be between 1 and 1,000,000");
        }
        if !self.deploy_on_start.is_empty() && self.admin_email.is_none() {
            problems.push(
                "deploy_on_start needs admin_email/admin_password (the admin owns the modules)",
            );
        }
        if self.admin_email.is_some() != self.admin_password.is_some() {
            problems.push("admin_email and admin_password go together");
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig(problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_some_keys_and_keeps_defaults() {
        let c: ServerConfig = toml::from_str(
            "listen = \"0.0.0.0:8080\"\n[rate_limit_per_ip]\nper_minute = 10\nburst = 2\n",
        )
        .expect("parses");
        assert_eq!(c.listen, "0.0.0.0:8080");
        assert_eq!(c.rate_limit_per_ip.burst, 2);
        assert_eq!(c.max_body_bytes, ServerConfig::default().max_body_bytes);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<ServerConfig>("lisen = \"x\"").is_err());
        let c = ServerConfig {
            token_ttl_secs: 0,
            ..ServerConfig::default()
        };
        let err = c.validate().expect_err("zero ttl");
        assert_eq!(err.code(), "invalid_config");
        assert!(err.to_string().contains("token_ttl_secs"));
        for calls in [0, 1_000_001] {
            let c = ServerConfig {
                ws_calls_in_flight: calls,
                ..ServerConfig::default()
            };
            let err = c.validate().expect_err("calls in flight out of range");
            assert!(err.to_string().contains("ws_calls_in_flight"), "{err}");
        }
    }
}
