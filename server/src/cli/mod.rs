//! The `cosmictron` command line. `serve` runs the server; every other command talks to a
//! running server (`--server`, default `http://127.0.0.1:3000`) with the token that
//! `sign-up`/`login` saved under the user's config directory.
//!
//! - `serve.rs`       `cosmictron serve`: flags, environment and TOML into a [`ServerConfig`]
//! - `commands.rs`    the client commands
//! - `demo.rs`        `serve --demo`: build and deploy the example modules
//! - `generate.rs`    `generate --lang ts`: typed client bindings for a deployed module
//! - `credentials.rs` where tokens are saved (`~/.config/cosmictron/credentials.json`, 0600)
//! - `table.rs`       aligned table output for `sql`
//! - `progress.rs`    progress on stderr: module uploads

mod commands;
mod credentials;
mod demo;
mod generate;
mod progress;
mod serve;
mod table;

use clap::{Parser, Subcommand};

use crate::config::ServerConfig;

const EXAMPLES: &str = "\
Examples:
  cosmictron serve --data-dir ./cosmictron-data --listen 127.0.0.1:3000
  cosmictron sign-up --email ann@example.com --password 'a long secret'
  cosmictron deploy target/wasm32-unknown-unknown/release/my_agent.wasm --name my_agent
  cosmictron call record_agent_message '{\"session_id\": \"abc\", \"content\": \"Hello\"}'
  cosmictron sql \"SELECT * FROM agent_messages WHERE session_id = 'abc'\"
  cosmictron subscribe \"SELECT * FROM agent_messages\"
  cosmictron logs my_agent --follow";

#[derive(Debug, Parser)]
#[command(
    name = "cosmictron",
    version,
    about = "Cosmictron: a reactive database whose application logic runs next to the data",
    after_help = EXAMPLES
)]
struct Cli {
    /// The server the client commands talk to.
    #[arg(
        long,
        global = true,
        env = "COSMICTRON_SERVER",
        default_value = "http://127.0.0.1:3000"
    )]
    server: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server on a data directory.
    Serve(Box<serve::ServeArgs>),
    /// Create an account on the server and save its token.
    #[command(
        after_help = "Example:\n  cosmictron sign-up --email ann@example.com --password 'a long secret'"
    )]
    SignUp(commands::CredentialsArgs),
    /// Sign in and save the token.
    #[command(
        after_help = "Example:\n  cosmictron login --email ann@example.com --password 'a long secret'"
    )]
    Login(commands::CredentialsArgs),
    /// Deploy (or upgrade) a module from a .wasm file.
    #[command(after_help = "Example:\n  cosmictron deploy my_agent.wasm --name my_agent")]
    Deploy {
        /// The module, built for wasm32-unknown-unknown.
        file: std::path::PathBuf,
        /// The module's name (default: the file name without `.wasm`).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the deployed modules.
    Modules,
    /// Call a reducer with a JSON object of named arguments.
    #[command(
        after_help = "Example:\n  cosmictron call create_user '{\"username\": \"alice\"}' --module users"
    )]
    Call {
        reducer: String,
        #[arg(default_value = "{}")]
        args: String,
        #[arg(long)]
        module: Option<String>,
    },
    /// Run a read-only SQL query (`AS OF TX n` for time travel).
    #[command(after_help = "Example:\n  cosmictron sql \"SELECT * FROM users AS OF TX 42\" --json")]
    Sql {
        query: String,
        /// Parameters `$1 … $n`, as JSON values.
        #[arg(long = "param")]
        params: Vec<String>,
        /// Print the server's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Subscribe to a query and print every change as it commits.
    #[command(
        after_help = "Example:\n  cosmictron subscribe \"SELECT * FROM runs WHERE status = 'running'\""
    )]
    Subscribe { query: String },
    /// Print a module's log.
    #[command(after_help = "Example:\n  cosmictron logs my_agent --follow")]
    Logs {
        module: String,
        /// Keep printing new lines as they are written.
        #[arg(long, short)]
        follow: bool,
    },
    /// Write typed client bindings (TypeScript) for a deployed module.
    #[command(
        after_help = "Example:\n  cosmictron generate --lang ts --module quickstart --out web/src/generated"
    )]
    Generate(generate::GenerateArgs),
}

/// Runs the command line (the binary's `main`).
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::serve(*args).await,
        Command::Generate(args) => generate::run(&cli.server, args).await,
        other => commands::run(&cli.server, other).await,
    }
}

/// The configuration `cosmictron serve` would use for these arguments (for tests and tools).
pub fn serve_config(args: &[&str]) -> anyhow::Result<ServerConfig> {
    let mut argv = vec!["cosmictron", "serve"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv)?;
    match cli.command {
        Command::Serve(a) => serve::config_of(*a),
        _ => anyhow::bail!("not a serve command"),
    }
}
