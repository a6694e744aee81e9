//! `cosmictron serve`: flags (and their `COSMICTRON_*` environment variables) over an
//! optional TOML file over the defaults.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::cli::demo;
use crate::config::ServerConfig;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  cosmictron serve --data-dir ./cosmictron-data --listen 127.0.0.1:3000\n\nEvery setting is listed in docs/configuration.md."
)]
pub(crate) struct ServeArgs {
    /// A TOML file with any of the settings (flags and environment win over it).
    #[arg(long, env = "COSMICTRON_CONFIG")]
    config: Option<PathBuf>,
    /// Where databases, modules and secrets live [default: ./cosmictron-data].
    #[arg(long, env = "COSMICTRON_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = "COSMICTRON_LISTEN")]
    listen: Option<String>,
    /// Serve this directory's files at `/` (API routes take precedence).
    #[arg(long, env = "COSMICTRON_STATIC_DIR")]
    static_dir: Option<PathBuf>,
    /// Send magic-link mail through this SMTP relay (plain TCP, no authentication) instead of
    /// writing it to the outbox directory; needs --smtp-from.
    #[arg(long, env = "COSMICTRON_SMTP_HOST")]
    smtp_host: Option<String>,
    /// The relay's port [default: 25].
    #[arg(long, env = "COSMICTRON_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// The sender address of magic-link mail.
    #[arg(long, env = "COSMICTRON_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Create (or reset) this admin account at start; needs --admin-password.
    #[arg(long, env = "COSMICTRON_ADMIN_EMAIL")]
    admin_email: Option<String>,
    #[arg(long, env = "COSMICTRON_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Build the example modules of the source tree and deploy them at start, owned by a
    /// demo admin account (demo@example.com / cosmictron-demo unless --admin-* are given).
    #[arg(long)]
    demo: bool,
    /// Deploy (or upgrade) a module at start: NAME=PATH.wasm (repeatable; needs an admin).
    #[arg(long = "deploy", value_name = "NAME=PATH")]
    deploy: Vec<String>,
    /// Serve this module's HTTP routes at the root too, beside /m/MODULE (repeatable; earlier
    /// modules first). With --demo: agent_signup and cosmios unless given.
    #[arg(long = "expose", value_name = "MODULE")]
    expose: Vec<String>,
    /// Lifetime of session tokens, in seconds.
    #[arg(long, env = "COSMICTRON_TOKEN_TTL_SECS")]
    token_ttl_secs: Option<u64>,
    /// Largest JSON request body, in bytes.
    #[arg(long, env = "COSMICTRON_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Largest module upload, in bytes.
    #[arg(long, env = "COSMICTRON_MAX_MODULE_BYTES")]
    max_module_bytes: Option<usize>,
    /// Requests per minute per client IP (the burst is a twelfth of it, at least 1).
    #[arg(long, env = "COSMICTRON_RATE_LIMIT_PER_IP")]
    rate_limit_per_ip: Option<u32>,
    /// Requests per minute per identity (the burst is a twelfth of it, at least 1).
    #[arg(long, env = "COSMICTRON_RATE_LIMIT_PER_IDENTITY")]
    rate_limit_per_identity: Option<u32>,
}

fn limit(per_minute: u32) -> crate::config::RateLimit {
    crate::config::RateLimit {
        per_minute,
        burst: (per_minute / 12).max(1),
    }
}

pub(crate) fn config_of(a: ServeArgs) -> anyhow::Result<ServerConfig> {
    let mut c = match &a.config {
        Some(path) => ServerConfig::from_toml_file(path)?,
        None => ServerConfig::default(),
    };
    if let Some(v) = a.data_dir {
        c.data_dir = v;
    }
    if let Some(v) = a.listen {
        c.listen = v;
    }
    if a.static_dir.is_some() {
        c.static_dir = a.static_dir;
    }
    if a.admin_email.is_some() {
        c.admin_email = a.admin_email;
    }
    if let Some(host) = a.smtp_host {
        let Some(from) = a
            .smtp_from
            .or_else(|| c.smtp.as_ref().map(|s| s.from.clone()))
        else {
            anyhow::bail!("--smtp-host needs --smtp-from (the sender address)");
        };
        c.smtp = Some(crate::config::SmtpConfig {
            host,
            port: a.smtp_port.unwrap_or(25),
            from,
            helo: "localhost".into(),
            timeout_ms: 10_000,
        });
    }
    if a.admin_password.is_some() {
        c.admin_password = a.admin_password;
    }
    if let Some(v) = a.token_ttl_secs {
        c.token_ttl_secs = v;
    }
    if let Some(v) = a.max_body_bytes {
        c.max_body_bytes = v;
    }
    if let Some(v) = a.max_module_bytes {
        c.max_module_bytes = v;
    }
    if let Some(v) = a.rate_limit_per_ip {
        c.rate_limit_per_ip = limit(v);
    }
    if let Some(v) = a.rate_limit_per_identity {
        c.rate_limit_per_identity = limit(v);
    }
    for spec in a.deploy {
        let Some((name, path)) = spec.split_once('=') else {
            anyhow::bail!("--deploy takes NAME=PATH.wasm, got `{spec}`");
        };
        c.deploy_on_start.push(crate::config::ModuleFile {
            name: name.to_owned(),
            path: PathBuf::from(path),
        });
    }
    c.expose.extend(a.expose);
    if a.demo {
        if c.expose.is_empty() {
            c.expose = demo::EXPOSED.iter().map(|m| (*m).to_owned()).collect();
        }
        if c.admin_email.is_none() {
            c.admin_email = Some(demo::DEMO_EMAIL.into());
            c.admin_password = Some(demo::DEMO_PASSWORD.into());
        }
        c.deploy_on_start.extend(demo::build_examples()?);
        if c.static_dir.is_none() {
            c.static_dir = demo::dashboard();
        }
    }
    c.validate()?;
    Ok(c)
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let config = config_of(args)?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "cosmictron listening on http://{addr} (data in {})",
        config.data_dir.display()
    );
    if !config.deploy_on_start.is_empty() && config.admin_email.as_deref() == Some(demo::DEMO_EMAIL)
    {
        eprintln!(
            "{}",
            demo::walkthrough(
                &addr.to_string(),
                &config.deploy_on_start,
                config.static_dir.is_some()
            )
        );
    }
    crate::run::run(listener, config, crate::run::shutdown_signal()).await?;
    eprintln!("cosmictron stopped cleanly");
    Ok(())
}
