//! The engine's one error type, grouped by what the caller should do about it.

use cosmictron_types::TypeError;
use cosmictron_wal::WalError;

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Everything the engine can refuse or fail with.
///
/// - *Invalid input* (`Type`, `NoSuchTable`, `InvalidDefinition`, ...): the request is wrong;
///   retrying it unchanged fails the same way.
/// - *Constraint violations* (`UniqueViolation`, `ForeignKeyViolation`, `AppendOnly`): the data
///   forbids it; the transaction is rolled back.
/// - *Unavailable history* (`HistoryUnavailable`, `FutureTx`, `SchemaChanged`).
/// - *Storage failures* (`Wal`, `Io`, `Corrupt`, `Poisoned`): the database cannot continue
///   safely; reopen it to recover from the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error(transparent)]
    Type(#[from] TypeError),
    /// A row that does not fit its table (wrong arity, a type mismatch, NULL in a non-nullable
    /// column); the message names the table and the column, never a `pii` value.
    #[error("table `{table}`: {source}")]
    InvalidRow { table: String, source: TypeError },
    #[error("no database named `{0}`")]
    NoSuchDatabase(String),
    #[error("database `{0}` already exists")]
    DatabaseExists(String),
    #[error("no table named `{0}`")]
    NoSuchTable(String),
    #[error("table `{0}` already exists")]
    TableExists(String),
    #[error("table `{table}` has no column `{column}`")]
    NoSuchColumn { table: String, column: String },
    #[error("table `{table}` has no index `{index}`")]
    NoSuchIndex { table: String, index: String },
    #[error("table `{table}` has no primary key")]
    NoPrimaryKey { table: String },
    #[error("invalid definition: {0}")]
    InvalidDefinition(String),
    #[error("duplicate value for `{constraint}` on table `{table}`: {value}")]
    UniqueViolation {
        table: String,
        constraint: String,
        value: String,
    },
    #[error("foreign key `{constraint}` on table `{table}`: {reason}")]
    ForeignKeyViolation {
        table: String,
        constraint: String,
        reason: String,
    },
    #[error("table `{table}` is an event table: rows can only be inserted")]
    AppendOnly { table: String },
    #[error("no row in `{table}` with key {key}")]
    RowNotFound { table: String, key: String },
    #[error(
        "tx {requested} is older than the history kept; the oldest available is tx {oldest_available}"
    )]
    HistoryUnavailable {
        requested: u64,
        oldest_available: u64,
    },
    #[error("tx {requested} has not been committed yet; the latest is tx {latest}")]
    FutureTx { requested: u64, latest: u64 },
    #[error(
        "table `{table}` changed its schema at tx {changed_at}; history before it is not readable"
    )]
    SchemaChanged { table: String, changed_at: u64 },
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("{op} `{path}`: {source}")]
    Io {
        op: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("corrupt {what}: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("database `{database}` stopped accepting writes after a storage failure: {cause}")]
    Poisoned { database: String, cause: String },
    #[error("limit exceeded: {0}")]
    Limit(String),
}

impl EngineError {
    /// A stable, machine-readable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Type(TypeError::NullNotAllowed { .. })
            | EngineError::InvalidRow {
                source: TypeError::NullNotAllowed { .. },
                ..
            } => "not_null_violation",
            EngineError::InvalidRow { .. } => "type_mismatch",
            EngineError::Type(TypeError::InvalidDefinition { .. }) => "invalid_definition",
            EngineError::Type(_) => "type_mismatch",
            EngineError::NoSuchDatabase(_) => "no_such_database",
            EngineError::DatabaseExists(_) => "database_exists",
            EngineError::NoSuchTable(_) => "no_such_table",
            EngineError::TableExists(_) => "table_exists",
            EngineError::NoSuchColumn { .. } => "no_such_column",
            EngineError::NoSuchIndex { .. } => "no_such_index",
            EngineError::NoPrimaryKey { .. } => "no_primary_key",
            EngineError::InvalidDefinition(_) => "invalid_definition",
            EngineError::UniqueViolation { .. } => "unique_violation",
            EngineError::ForeignKeyViolation { .. } => "foreign_key_violation",
            EngineError::AppendOnly { .. } => "append_only",
            EngineError::RowNotFound { .. } => "row_not_found",
            EngineError::HistoryUnavailable { .. } => "history_unavailable",
            EngineError::FutureTx { .. } => "future_tx",
            EngineError::SchemaChanged { .. } => "schema_changed",
            EngineError::Wal(e) if e.is_corruption() => "corrupt",
            EngineError::Wal(_) | EngineError::Io { .. } => "storage_error",
            EngineError::Corrupt { .. } => "corrupt",
            EngineError::Poisoned { .. } => "storage_poisoned",
            EngineError::Limit(_) => "limit_exceeded",
        }
    }

    /// True when the data forbade the write (the caller's transaction was rolled back).
    pub fn is_constraint_violation(&self) -> bool {
        matches!(
            self,
            EngineError::UniqueViolation { .. }
                | EngineError::ForeignKeyViolation { .. }
                | EngineError::AppendOnly { .. }
                | EngineError::Type(TypeError::NullNotAllowed { .. })
                | EngineError::InvalidRow {
                    source: TypeError::NullNotAllowed { .. },
                    ..
                }
        )
    }

    /// True when storage failed and the database must be reopened.
    pub fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            EngineError::Wal(_)
                | EngineError::Io { .. }
                | EngineError::Corrupt { .. }
                | EngineError::Poisoned { .. }
        )
    }

    pub(crate) fn io(
        op: &'static str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> EngineError {
        EngineError::Io {
            op,
            path: path.display().to_string(),
            source,
        }
    }
}
