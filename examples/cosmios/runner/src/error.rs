//! [`Error`]: what the runner, the relay and the CLI commands fail with, grouped by what the
//! caller should do: fix the configuration ([`Error::is_fatal`]) or wait and retry.

use cosmictron_client::ClientError;

/// Every failure of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config file is missing, unreadable or malformed, or a setting is invalid.
    #[error("{0}")]
    Config(String),
    /// The server does not know the machine key: registering again is the only fix.
    #[error("the server does not know this machine's key (`cosmios register` with a new key)")]
    UnknownMachineKey,
    /// The relay's token is refused: it needs a valid token of the module's owner.
    #[error("the server refused the token: {0}")]
    Unauthorized(String),
    /// The server answered with an error, or could not be reached.
    #[error(transparent)]
    Server(#[from] ClientError),
    /// A local file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// This crate's result.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// True when retrying cannot help: a bad configuration, an unknown key, a refused token.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Error::Config(_) | Error::UnknownMachineKey | Error::Unauthorized(_)
        )
    }
}

/// True when a failed call may succeed later unchanged: the server is unreachable, busy,
/// failing, or has forgotten our (anonymous) token and the session will sign in again.
pub(crate) fn is_retryable(e: &ClientError) -> bool {
    match e {
        ClientError::Transport(_) => true,
        ClientError::Server { status, code, .. } => {
            *status >= 500
                || *status == 429
                || (*status == 401 && code != "invalid_api_key")
                // A runner identity the server no longer knows: the session re-authenticates.
                || code == "not_a_runner"
        }
        _ => false,
    }
}
