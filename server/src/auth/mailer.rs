//! Delivers magic links: through the SMTP relay when one is configured (`smtp.rs`), otherwise
//! as a file in `<data-dir>/outbox/` (one RFC 5322 message per file) whose path is logged. The
//! token itself never goes to the log.

use std::path::{Path, PathBuf};

use crate::config::SmtpConfig;
use crate::error::{Error, Result};

#[derive(Debug)]
pub(crate) enum Mailer {
    Outbox(PathBuf),
    Smtp(SmtpConfig),
}

impl Mailer {
    pub(crate) fn new(data_dir: &Path, smtp: Option<&SmtpConfig>) -> Mailer {
        match smtp {
            Some(config) => Mailer::Smtp(config.clone()),
            None => Mailer::Outbox(data_dir.join("outbox")),
        }
    }

    /// Sends a mail.
    pub(crate) fn send(&self, to: &str, subject: &str, body: &str) -> Result<()> {
        match self {
            Mailer::Outbox(dir) => write_to_outbox(dir, to, subject, body).map(drop),
            Mailer::Smtp(config) => {
                crate::auth::smtp::send(config, to, subject, body)?;
                tracing::info!(relay = %config.host, "mail handed to the SMTP relay");
                Ok(())
            }
        }
    }
}

/// Writes a mail as a file of the outbox; returns its path.
fn write_to_outbox(outbox: &Path, to: &str, subject: &str, body: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(outbox).map_err(|e| Error::io("create directory", outbox, e))?;
    let mut nonce = [0u8; 4];
    rand::fill(&mut nonce);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    let safe_to: String = to
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '@' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = outbox.join(format!(
        "{stamp}-{:02x}{:02x}{:02x}{:02x}-{safe_to}.eml",
        nonce[0], nonce[1], nonce[2], nonce[3]
    ));
    let message = format!(
        "To: {to}\r\nFrom: Cosmictron <no-reply@localhost>\r\nSubject: {subject}\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    );
    std::fs::write(&path, message).map_err(|e| Error::io("write", &path, e))?;
    tracing::info!(path = %path.display(), "mail written to the outbox");
    Ok(path)
}
