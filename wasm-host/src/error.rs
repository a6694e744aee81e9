//! The crate's one error type, with stable codes.

use cosmictron_engine::EngineError;

pub type Result<T, E = HostError> = std::result::Result<T, E>;

/// Everything loading a module or calling a reducer can fail with.
///
/// - *The module is unusable* (`InvalidModule`, `Compile`): fix the module and deploy again.
/// - *The call failed, nothing was committed* (`Reducer`, `Trap`, `Timeout`, `MemoryLimit`,
///   `AbiViolation`, `NoSuchReducer`, `NoSuchView`, `InvalidArguments`, `Engine`): the host keeps serving;
///   the next call gets a fresh instance if this one trapped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// Every problem found while validating a module, each with its own message.
    #[error("invalid module: {}", problems.join("; "))]
    InvalidModule { problems: Vec<String> },
    #[error("module does not compile: {0}")]
    Compile(String),
    #[error("module has no reducer `{0}`")]
    NoSuchReducer(String),
    #[error("module has no view `{0}`")]
    NoSuchView(String),
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The reducer returned an error of its own (structured; it chose the code).
    #[error("{}: {}", .0.code, .0.message)]
    Reducer(ModuleError),
    /// The module trapped (a panic, `unreachable`, a stack overflow, ...).
    #[error("reducer trapped: {0}")]
    Trap(String),
    #[error("reducer ran longer than {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    #[error("module memory limit of {limit_bytes} bytes exceeded")]
    MemoryLimit { limit_bytes: usize },
    /// The module broke the ABI: an out-of-bounds pointer, a length that does not fit, invalid
    /// UTF-8 where text is required, a data call outside a reducer call, a bad answer.
    #[error("module broke the ABI: {0}")]
    AbiViolation(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("wasm runtime: {0}")]
    Runtime(String),
}

impl HostError {
    /// A stable, machine-readable code (a module's own code for [`HostError::Reducer`]).
    pub fn code(&self) -> &str {
        match self {
            HostError::InvalidModule { .. } => "invalid_module",
            HostError::Compile(_) => "invalid_module",
            HostError::NoSuchReducer(_) => "no_such_reducer",
            HostError::NoSuchView(_) => "no_such_view",
            HostError::InvalidArguments(_) => "invalid_arguments",
            HostError::Reducer(e) => &e.code,
            HostError::Trap(_) => "reducer_trap",
            HostError::Timeout { .. } => "reducer_timeout",
            HostError::MemoryLimit { .. } => "module_memory_limit",
            HostError::AbiViolation(_) => "abi_violation",
            HostError::Engine(e) => e.code(),
            HostError::Runtime(_) => "internal",
        }
    }

    /// The HTTP status a server should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            HostError::InvalidModule { .. } | HostError::Compile(_) => 422,
            HostError::NoSuchReducer(_) | HostError::NoSuchView(_) => 404,
            HostError::InvalidArguments(_) => 400,
            HostError::Reducer(e) => e.http_status,
            HostError::Engine(e) => http_status_of(e.code()),
            HostError::Timeout { .. } => 504,
            HostError::Trap(_)
            | HostError::MemoryLimit { .. }
            | HostError::AbiViolation(_)
            | HostError::Runtime(_) => 500,
        }
    }
}

/// The HTTP status for an engine error code.
pub(crate) fn http_status_of(code: &str) -> u16 {
    match code {
        "unique_violation" | "foreign_key_violation" | "append_only" | "table_exists" => 409,
        "row_not_found" | "no_such_table" | "no_such_database" => 404,
        "limit_exceeded" => 413,
        "storage_error" | "storage_poisoned" | "corrupt" => 503,
        _ => 400,
    }
}

/// An error a module's reducer returned (or a host call answered the module with).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModuleError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    #[serde(default = "default_status")]
    pub http_status: u16,
}

fn default_status() -> u16 {
    400
}

impl From<EngineError> for ModuleError {
    fn from(e: EngineError) -> ModuleError {
        ModuleError {
            code: e.code().to_owned(),
            message: e.to_string(),
            details: None,
            http_status: http_status_of(e.code()),
        }
    }
}
