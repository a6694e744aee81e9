//! The crate's one error type.

use crate::column_type::ColumnType;

pub type Result<T, E = TypeError> = std::result::Result<T, E>;

/// What went wrong building, checking or decoding values and definitions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TypeError {
    /// A value does not fit its column's type.
    #[error("column `{column}` expects {expected}, got {got}")]
    TypeMismatch {
        column: String,
        expected: ColumnType,
        got: String,
    },
    /// `NULL` given for a column that is not an `Option`.
    #[error("column `{column}` is not nullable")]
    NullNotAllowed { column: String },
    /// A row with the wrong number of values.
    #[error("expected {expected} values, got {got}")]
    WrongArity { expected: usize, got: usize },
    /// Bytes that are not a valid encoding (truncated, bad tag, invalid UTF-8).
    #[error("cannot decode row: {0}")]
    Decode(String),
    /// A table definition that breaks a rule (duplicate column, unknown key column, ...).
    #[error("invalid table `{table}`: {reason}")]
    InvalidDefinition { table: String, reason: String },
    /// Text that does not parse as the named type.
    #[error("invalid {ty}: {reason}")]
    InvalidText { ty: &'static str, reason: String },
}
