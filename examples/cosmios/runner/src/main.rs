//! `cosmios`: the command line of the cosmios runner and webhook relay.
//!
//! ```text
//! cosmios [--config PATH] register [--server URL] [--api-key csu_…]   save the machine's key
//! cosmios [--config PATH] start [--agent-command NAME=COMMAND]…       the runner (foreground)
//! cosmios [--config PATH] status [--json]                             online / offline
//! cosmios relay --server URL --token OWNER_TOKEN                      the webhook relay
//! ```
//!
//! The work is in the library (`lib.rs` describes it); this file parses flags, reads the
//! config file, sets up logging and stops on Ctrl-C or SIGTERM.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use cosmios_runner::{AgentCommands, Config, RelayOptions, RunnerOptions};

#[derive(Debug, Parser)]
#[command(
    name = "cosmios",
    version,
    about = "Run coding agents for cosmios, and relay its webhooks"
)]
struct Cli {
    /// The config file (written by `register`).
    #[arg(long, global = true, env = "COSMIOS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Save the server and this machine's API key (Machines > Register shows it once).
    Register {
        /// The server; defaults to the one already saved, or http://127.0.0.1:3000.
        #[arg(long, env = "COSMIOS_SERVER")]
        server: Option<String>,
        /// The `csu_…` key; asked for on standard input when not given.
        #[arg(long, env = "COSMIOS_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
    },
    /// Run dispatched tasks on this machine (foreground; Ctrl-C stops it).
    Start(StartArgs),
    /// Show whether this machine is online (exit status 0 online, 3 offline).
    Status {
        /// Print the server's answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Deliver webhooks: sign and POST pending deliveries, report each outcome.
    Relay(RelayArgs),
}

#[derive(Debug, Args)]
struct StartArgs {
    /// The server, instead of the config file's (with --api-key, no config file is needed).
    #[arg(long, env = "COSMIOS_SERVER")]
    server: Option<String>,
    /// This machine's `csu_…` key, instead of the config file's.
    #[arg(long, env = "COSMIOS_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// The command of an agent, replacing the default (`claude-code=claude -p`,
    /// `codex=codex exec`); the task is its last argument. Repeatable.
    #[arg(long = "agent-command", value_name = "NAME=COMMAND")]
    agent_commands: Vec<String>,
    /// Between heartbeats.
    #[arg(long, default_value_t = 30_000)]
    heartbeat_ms: u64,
    /// How long a batch of log lines waits for more lines.
    #[arg(long, default_value_t = 250)]
    log_flush_ms: u64,
    /// From SIGTERM to SIGKILL when stopping an agent.
    #[arg(long, default_value_t = 5_000)]
    kill_grace_ms: u64,
    /// The longest wait between reconnection attempts.
    #[arg(long, default_value_t = 30_000)]
    reconnect_max_ms: u64,
    /// Where reports wait for the server; defaults to `journal.jsonl` beside the config.
    #[arg(long)]
    journal: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RelayArgs {
    /// The server; defaults to the config file's.
    #[arg(long, env = "COSMIOS_SERVER")]
    server: Option<String>,
    /// A token of the module's owner (who may read the webhook secrets).
    #[arg(long, env = "COSMIOS_OWNER_TOKEN", hide_env_values = true)]
    token: String,
    /// Per POST.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// POSTs per delivery, the first included.
    #[arg(long, default_value_t = 5)]
    attempts: u32,
    /// Before the second attempt; doubles for each further one.
    #[arg(long, default_value_t = 1_000)]
    backoff_ms: u64,
    #[arg(long, default_value_t = 60_000)]
    backoff_max_ms: u64,
    /// Deliveries in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 30_000)]
    reconnect_max_ms: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cosmios: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cosmios: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Resolved when a command needs it: the relay given --server needs no HOME.
    let path = || match &cli.config {
        Some(p) => Ok(p.clone()),
        None => cosmios_runner::default_path(),
    };
    match cli.command {
        Command::Register { server, api_key } => {
            let path = path()?;
            let server = server
                .or_else(|| Config::load(&path).ok().map(|c| c.server))
                .unwrap_or_else(|| "http://127.0.0.1:3000".into());
            let api_key = match api_key {
                Some(k) => k,
                None => prompt("Machine API key (csu_…): ")?,
            };
            cosmios_runner::register(&path, &server, &api_key)?;
            println!(
                "Saved {} (server {server}). Start the runner with `cosmios start`.",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Start(args) => {
            let path = path();
            // `--server` and `--api-key` together need no config file.
            let saved = match (&args.server, &args.api_key, &path) {
                (Some(_), Some(_), _) => None,
                (_, _, Ok(p)) => Some(Config::load(p)?),
                (_, _, Err(e)) => anyhow::bail!("{e}"),
            };
            let config = Config {
                server: match args.server.as_deref() {
                    Some(s) => cosmios_runner::check_server(s)?,
                    None => saved.as_ref().map(|c| c.server.clone()).unwrap_or_default(),
                },
                api_key: match args.api_key.clone() {
                    Some(k) => {
                        cosmios_runner::check_api_key(&k)?;
                        k
                    }
                    None => saved
                        .as_ref()
                        .map(|c| c.api_key.clone())
                        .unwrap_or_default(),
                },
                agents: saved.map(|c| c.agents).unwrap_or_default(),
            };
            let journal = match (&args.journal, &path) {
                (Some(j), _) => Some(j.clone()),
                (None, Ok(p)) => Some(p.with_file_name("journal.jsonl")),
                (None, Err(_)) => None,
            };
            let mut overrides: Vec<(String, String)> = config.agents.clone().into_iter().collect();
            for flag in &args.agent_commands {
                overrides.push(AgentCommands::parse_flag(flag)?);
            }
            let options = RunnerOptions {
                server: config.server,
                api_key: config.api_key,
                agents: AgentCommands::new(overrides)?,
                heartbeat: ms(args.heartbeat_ms.max(100)),
                log_flush: ms(args.log_flush_ms),
                kill_grace: ms(args.kill_grace_ms),
                reconnect_max: ms(args.reconnect_max_ms.max(100)),
                journal,
            };
            let mut stop = std::pin::pin!(shutdown_signal());
            cosmios_runner::run_runner(options, stop.as_mut()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json } => {
            let config = Config::load(&path()?)?;
            let status = cosmios_runner::machine_status(&config).await?;
            let online = status["online"].as_bool().unwrap_or(false);
            if json {
                println!("{status}");
            } else {
                println!(
                    "{} (machine {}): {}{}",
                    status["name"].as_str().unwrap_or("?"),
                    status["machine_id"],
                    if online { "online" } else { "offline" },
                    if status["enabled"] == false {
                        ", disabled"
                    } else {
                        ""
                    },
                );
            }
            Ok(if online {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Relay(args) => {
            let server = match args.server {
                Some(s) => cosmios_runner::check_server(&s)?,
                None => {
                    Config::load(&path()?)
                        .context("no --server given, and no config file to take it from")?
                        .server
                }
            };
            let options = RelayOptions {
                server,
                token: args.token,
                timeout: ms(args.timeout_ms),
                attempts: args.attempts.clamp(1, 100),
                backoff: ms(args.backoff_ms),
                backoff_max: ms(args.backoff_max_ms),
                concurrency: args.concurrency,
                reconnect_max: ms(args.reconnect_max_ms.max(100)),
            };
            let mut stop = std::pin::pin!(shutdown_signal());
            cosmios_runner::run_relay(options, stop.as_mut()).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn prompt(question: &str) -> anyhow::Result<String> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Ctrl-C, or SIGTERM (systemd, `kill`).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
