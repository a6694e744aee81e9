//! [`Error`]: what a reducer returns to fail, and what host calls fail with.

use serde::{Deserialize, Serialize};

/// A structured error: a stable machine-readable `code`, a message for people, optional
/// details, and the HTTP status a server should answer with. Returning one from a reducer rolls
/// its transaction back.
///
/// ```
/// use cosmictron_sdk::Error;
/// let e = Error::new("user_already_exists", "that email is taken").with_status(409);
/// assert_eq!(e.code, "user_already_exists");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Error {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// An HTTP status hint (400 when not given).
    #[serde(default = "default_status")]
    pub http_status: u16,
}

fn default_status() -> u16 {
    400
}

impl Error {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            code: code.into(),
            message: message.into(),
            details: None,
            http_status: default_status(),
        }
    }

    pub fn with_status(mut self, http_status: u16) -> Error {
        self.http_status = http_status;
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Error {
        self.details = Some(details);
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}
