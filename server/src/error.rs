//! The crate's one error type, with stable codes and HTTP statuses.

use cosmictron_engine::EngineError;
use cosmictron_wasm_host::HostError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the facade can refuse or fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Loading or calling a module failed (the module's own reducer errors included).
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("no module named `{0}`")]
    NoSuchModule(String),
    #[error(
        "invalid module name `{0}`: a letter or `_` followed by letters, digits or `_` (at most 64)"
    )]
    InvalidName(String),
    /// The new version changes the module's tables in ways that would lose or misread data;
    /// every incompatibility is listed. Deploy with `clear_data` to start afresh.
    #[error("module `{module}` cannot be upgraded in place: {}", problems.join("; "))]
    IncompatibleSchema {
        module: String,
        problems: Vec<String>,
    },
    /// Only a module's owner may upgrade or undeploy it.
    #[error("only the owner of module `{0}` may change or remove it")]
    NotOwner(String),
    #[error("{op} `{path}`: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: std::io::Error,
    },
    /// Building a module for a test failed (the compiler's messages).
    #[error("building the module failed: {0}")]
    ModuleBuild(String),
    /// A stored module's metadata cannot be read.
    #[error("corrupt module store `{path}`: {reason}")]
    CorruptStore { path: String, reason: String },
}

impl Error {
    /// A stable, machine-readable code (a module's own code for its reducer errors).
    pub fn code(&self) -> &str {
        match self {
            Error::Host(e) => e.code(),
            Error::Engine(e) => e.code(),
            Error::NoSuchModule(_) => "no_such_module",
            Error::InvalidName(_) => "invalid_name",
            Error::IncompatibleSchema { .. } => "incompatible_schema",
            Error::NotOwner(_) => "not_owner",
            Error::ModuleBuild(_) => "module_build_failed",
            Error::Io { .. } => "storage_error",
            Error::CorruptStore { .. } => "corrupt",
        }
    }

    /// The HTTP status a server should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::Host(e) => e.http_status(),
            Error::Engine(e) => match e.code() {
                "unique_violation" | "foreign_key_violation" | "append_only" => 409,
                "storage_error" | "storage_poisoned" | "corrupt" => 503,
                _ => 400,
            },
            Error::NoSuchModule(_) => 404,
            Error::InvalidName(_) => 400,
            Error::IncompatibleSchema { .. } => 409,
            Error::NotOwner(_) => 403,
            Error::ModuleBuild(_) => 500,
            Error::Io { .. } | Error::CorruptStore { .. } => 503,
        }
    }

    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Error {
        Error::Io {
            op,
            path: path.display().to_string(),
            source,
        }
    }
}
