//! Delivers magic links. With no SMTP relay configured, each mail is written as a file to
//! `<data-dir>/outbox/` (one RFC 5322 message per file) and its path is logged; the token
//! itself never goes to the log.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug)]
pub(crate) struct Mailer {
    outbox: PathBuf,
}

impl Mailer {
    pub(crate) fn outbox(data_dir: &Path) -> Mailer {
        Mailer {
            outbox: data_dir.join("outbox"),
        }
    }

    /// Sends (writes) a mail; returns where it went.
    pub(crate) fn send(&self, to: &str, subject: &str, body: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.outbox)
            .map_err(|e| Error::io("create directory", &self.outbox, e))?;
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
        let path = self.outbox.join(format!(
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
}
