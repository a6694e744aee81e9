//! A minimal SMTP client (RFC 5321) for magic-link mail through a relay the operator runs —
//! a local MTA or a mail-catching server: `EHLO`, `MAIL FROM`, `RCPT TO`, `DATA`, `QUIT` over
//! plain TCP, with a time limit on every step. No authentication and no TLS: credentials must
//! not cross the network in the clear, so a relay that needs them belongs on localhost or a
//! private network in front of the real mail service.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::config::SmtpConfig;
use crate::error::{Error, Result};

fn smtp_error(message: impl Into<String>) -> Error {
    Error::request(502, "mail_failed", message)
}

/// An address that may go inside `<…>`: no line breaks, brackets or spaces.
fn plain_address(a: &str) -> Result<&str> {
    if a.is_empty() || a.chars().any(|c| c.is_whitespace() || "<>\r\n".contains(c)) {
        return Err(smtp_error(format!("`{a}` is not a mail address")));
    }
    Ok(a)
}

struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Session {
    /// Reads one reply (all its lines) and checks its code is one of `expected`.
    fn expect(&mut self, step: &str, expected: &[u16]) -> Result<()> {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|e| smtp_error(format!("SMTP {step}: {e}")))?;
            if n == 0 {
                return Err(smtp_error(format!(
                    "SMTP {step}: the relay closed the connection"
                )));
            }
            // `250-…` continues a reply, `250 …` ends it.
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if expected.contains(&code) {
            Ok(())
        } else {
            Err(smtp_error(format!(
                "SMTP {step}: the relay answered `{}`",
                line.trim_end()
            )))
        }
    }

    fn command(&mut self, step: &str, line: &str, expected: &[u16]) -> Result<()> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| smtp_error(format!("SMTP {step}: {e}")))?;
        self.expect(step, expected)
    }
}

/// The message with CRLF line ends and dot-stuffing (a line starting with `.` gets another).
fn data_block(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 16);
    for line in message.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

/// Sends one plain-text mail through the relay.
pub(crate) fn send(config: &SmtpConfig, to: &str, subject: &str, body: &str) -> Result<()> {
    let to = plain_address(to)?;
    let from = plain_address(&config.from)?;
    if subject.contains(['\r', '\n']) {
        return Err(smtp_error("a subject is one line"));
    }
    let timeout = Duration::from_millis(config.timeout_ms.max(1));
    let addrs = (config.host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(|e| smtp_error(format!("SMTP relay {}:{}: {e}", config.host, config.port)))?;
    let stream = addrs
        .into_iter()
        .find_map(|a| TcpStream::connect_timeout(&a, timeout).ok())
        .ok_or_else(|| {
            smtp_error(format!(
                "cannot connect to the SMTP relay {}:{}",
                config.host, config.port
            ))
        })?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| smtp_error(e.to_string()))?;
    let writer = stream.try_clone().map_err(|e| smtp_error(e.to_string()))?;
    let mut s = Session {
        reader: BufReader::new(stream),
        writer,
    };
    s.expect("greeting", &[220])?;
    s.command("EHLO", &format!("EHLO {}", config.helo), &[250])?;
    s.command("MAIL FROM", &format!("MAIL FROM:<{from}>"), &[250])?;
    s.command("RCPT TO", &format!("RCPT TO:<{to}>"), &[250, 251])?;
    s.command("DATA", "DATA", &[354])?;
    let message = format!(
        "From: Cosmictron <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    );
    s.writer
        .write_all(data_block(&message).as_bytes())
        .map_err(|e| smtp_error(format!("SMTP message: {e}")))?;
    s.expect("end of data", &[250])?;
    // The mail is accepted; a failed goodbye changes nothing.
    let _ = s.command("QUIT", "QUIT", &[221]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_crlf_and_dot_stuffed() {
        assert_eq!(data_block("a\n.b\r\n..c"), "a\r\n..b\r\n...c\r\n.\r\n");
    }

    #[test]
    fn addresses_that_could_inject_commands_are_refused() {
        for bad in ["", "a b@x.y", "a@x.y>\r\nRCPT TO:<b@x.y", "<a@x.y>"] {
            assert!(plain_address(bad).is_err(), "{bad:?}");
        }
        assert!(plain_address("user+tag@example.com").is_ok());
    }
}
