//! The crate's one error type, grouped by what the caller should do about it.
//!
//! - *The query is wrong* (`Parse`, `NoSuchTable`, `NoSuchColumn`, `AmbiguousColumn`, `Type`,
//!   `Parameter`, `Unsupported`, `ReadOnly`): retrying it unchanged fails the same way.
//! - *The subscription is wrong* (`UnsupportedSubscription`, `DuplicateSubscriptionId`): the
//!   query cannot be maintained incrementally, or the connection already uses that id.
//! - *A limit was hit* (`LimitExceeded`): the query is valid but too big or too slow for the
//!   configured limits.
//! - *A view failed* (`View`): the module code computing it answered an error (its own code,
//!   a trap, a time-out), kept in [`ViewError`].
//! - *The engine refused* (`Engine`: history not available, schema changed, storage failure):
//!   see [`EngineError`].
//!
//! Messages never contain row data a read policy could hide: errors raised while evaluating
//! expressions name the operation and the types involved, not the values.

use cosmictron_engine::EngineError;

use crate::views::ViewError;

pub type Result<T, E = SqlError> = std::result::Result<T, E>;

/// Everything a query can be refused or fail with. [`SqlError::code`] is stable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    #[error("only read-only queries are accepted here (got {0})")]
    ReadOnly(String),
    #[error("syntax error: {0}")]
    Parse(String),
    #[error("no table named `{0}`")]
    NoSuchTable(String),
    #[error("no column named `{0}`")]
    NoSuchColumn(String),
    #[error("column name `{0}` is ambiguous")]
    AmbiguousColumn(String),
    #[error("type error: {0}")]
    Type(String),
    #[error("parameter error: {0}")]
    Parameter(String),
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("read policy of table `{table}` is invalid: {reason}")]
    Policy { table: String, reason: String },
    #[error("this query cannot be subscribed to: {0}")]
    UnsupportedSubscription(String),
    #[error("a subscription with id {0} already exists on this connection")]
    DuplicateSubscriptionId(u64),
    /// A view could not be computed; its source's code, message and status are kept.
    #[error("view `{view}`: {}", error.message)]
    View { view: String, error: ViewError },
    #[error(transparent)]
    Engine(EngineError),
}

impl From<EngineError> for SqlError {
    fn from(e: EngineError) -> SqlError {
        match e {
            EngineError::NoSuchTable(t) => SqlError::NoSuchTable(t),
            EngineError::Limit(m) => SqlError::LimitExceeded(m),
            other => SqlError::Engine(other),
        }
    }
}

impl SqlError {
    /// A stable, machine-readable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            SqlError::ReadOnly(_) => "read_only",
            SqlError::Parse(_) => "parse_error",
            SqlError::NoSuchTable(_) => "no_such_table",
            SqlError::NoSuchColumn(_) => "no_such_column",
            SqlError::AmbiguousColumn(_) => "ambiguous_column",
            SqlError::Type(_) => "type_error",
            SqlError::Parameter(_) => "invalid_parameter",
            SqlError::LimitExceeded(_) => "limit_exceeded",
            SqlError::Unsupported(_) => "unsupported",
            SqlError::Policy { .. } => "invalid_policy",
            SqlError::UnsupportedSubscription(_) => "unsupported_subscription",
            SqlError::DuplicateSubscriptionId(_) => "duplicate_subscription_id",
            SqlError::View { .. } => "view_failed",
            SqlError::Engine(e) => e.code(),
        }
    }

    /// True when the query itself is at fault (a client error, HTTP 400/404/422).
    pub fn is_invalid_query(&self) -> bool {
        !matches!(
            self,
            SqlError::LimitExceeded(_)
                | SqlError::Engine(_)
                | SqlError::Policy { .. }
                | SqlError::View { .. }
        )
    }

    pub(crate) fn type_err(msg: impl Into<String>) -> SqlError {
        SqlError::Type(msg.into())
    }

    pub(crate) fn unsupported(msg: impl Into<String>) -> SqlError {
        SqlError::Unsupported(msg.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(SqlError::ReadOnly("INSERT".into()).code(), "read_only");
        assert_eq!(SqlError::NoSuchTable("t".into()).code(), "no_such_table");
        assert_eq!(
            SqlError::from(EngineError::NoSuchTable("t".into())).code(),
            "no_such_table"
        );
        assert_eq!(SqlError::LimitExceeded("x".into()).code(), "limit_exceeded");
        assert_eq!(
            SqlError::UnsupportedSubscription("x".into()).code(),
            "unsupported_subscription"
        );
        assert_eq!(
            SqlError::DuplicateSubscriptionId(1).code(),
            "duplicate_subscription_id"
        );
    }
}
