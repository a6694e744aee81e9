//! [`ClientError`]: what a call to the server can fail with.

/// A failed request: the server's structured error, or a transport problem.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with `{"error": {"code", "message"}}`.
    #[error("{code}: {message} (HTTP {status})")]
    Server {
        status: u16,
        code: String,
        message: String,
        details: Option<serde_json::Value>,
    },
    #[error("cannot reach the server: {0}")]
    Transport(String),
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    #[error("not signed in: call sign_in, sign_up or set_token first")]
    NoToken,
}

impl ClientError {
    /// The server's error code (`transport`, `protocol`, `no_token` for local failures).
    pub fn code(&self) -> &str {
        match self {
            ClientError::Server { code, .. } => code,
            ClientError::Transport(_) => "transport",
            ClientError::Protocol(_) => "protocol",
            ClientError::NoToken => "no_token",
        }
    }

    /// The HTTP status, for server errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> ClientError {
        ClientError::Transport(e.to_string())
    }
}
