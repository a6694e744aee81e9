//! The crate's one error type, with stable codes and HTTP statuses.

use cosmictron_engine::EngineError;
use cosmictron_sql::SqlError;
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
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Routes of exposed modules that would collide (or hide under the server's own API).
    #[error("conflicting module routes: {}", .0.join("; "))]
    RouteConflict(Vec<String>),
    /// A request the HTTP or WebSocket layer refuses: its status and stable code.
    #[error("{message}")]
    Request {
        status: u16,
        code: &'static str,
        message: String,
    },
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
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
            Error::Sql(SqlError::View { error, .. }) => &error.code,
            Error::Sql(e) => e.code(),
            Error::InvalidConfig(_) => "invalid_config",
            Error::RouteConflict(_) => "route_conflict",
            Error::Request { code, .. } => code,
            Error::RateLimited { .. } => "rate_limited",
        }
    }

    /// The same failure again, for each of several requests it failed at once: a request error
    /// as it is, any other with its status and message under code `internal`.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::Request {
                status,
                code,
                message,
            } => Error::request(*status, code, message.clone()),
            other => Error::request(other.http_status(), "internal", other.to_string()),
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
            Error::Sql(SqlError::View { error, .. }) => error.http_status,
            Error::Sql(e) => sql_status(e),
            Error::InvalidConfig(_) => 500,
            Error::RouteConflict(_) => 409,
            Error::Request { status, .. } => *status,
            Error::RateLimited { .. } => 429,
        }
    }

    /// Structured details a module attached to its error, if any.
    pub fn details(&self) -> Option<&serde_json::Value> {
        match self {
            Error::Host(HostError::Reducer(e)) => e.details.as_ref(),
            _ => None,
        }
    }

    /// A refused request.
    pub(crate) fn request(status: u16, code: &'static str, message: impl Into<String>) -> Error {
        Error::Request {
            status,
            code,
            message: message.into(),
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

fn sql_status(e: &SqlError) -> u16 {
    match e.code() {
        "read_only" => 403,
        "no_such_table" => 404,
        "parse_error" => 400,
        "storage_error" | "storage_poisoned" | "corrupt" => 503,
        _ if e.is_invalid_query() => 422,
        _ => 400,
    }
}
