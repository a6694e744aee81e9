//! Magic-link mail through an SMTP relay: a scripted relay on port 0 receives the mail over a
//! real SMTP conversation, the link in it signs in, and a relay that refuses changes neither
//! the answer (still 202) nor the outbox.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use cosmictron::SmtpConfig;
use serde_json::json;
use support::{TestServer, config};

/// A one-connection SMTP relay that answers `rcpt_reply` to `RCPT TO` and sends back the
/// commands and message it saw.
fn relay(rcpt_reply: &'static str) -> (u16, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut out = stream.try_clone().expect("clone");
        let mut lines = BufReader::new(stream).lines();
        let mut seen = Vec::new();
        let _ = out.write_all(b"220 relay.test ESMTP\r\n");
        let mut in_data = false;
        while let Some(Ok(line)) = lines.next() {
            seen.push(line.clone());
            let reply: &str = if in_data {
                if line == "." {
                    in_data = false;
                    "250 queued\r\n"
                } else {
                    continue;
                }
            } else if line.starts_with("EHLO") {
                "250-relay.test\r\n250 8BITMIME\r\n"
            } else if line.starts_with("MAIL FROM") {
                "250 ok\r\n"
            } else if line.starts_with("RCPT TO") {
                rcpt_reply
            } else if line == "DATA" {
                in_data = true;
                "354 go ahead\r\n"
            } else if line == "QUIT" {
                let _ = out.write_all(b"221 bye\r\n");
                break;
            } else {
                "500 what\r\n"
            };
            if out.write_all(reply.as_bytes()).is_err() || reply.starts_with('5') {
                break;
            }
        }
        let _ = tx.send(seen);
    });
    (port, rx)
}

async fn server_with_relay(port: u16) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(dir.path());
    c.smtp = Some(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        from: "auth@cosmictron.test".into(),
        helo: "cosmictron.test".into(),
        timeout_ms: 5_000,
    });
    TestServer::start_in(dir, c).await
}

#[tokio::test]
async fn magic_links_are_mailed_through_the_relay_and_sign_in() {
    let (port, seen) = relay("250 ok\r\n");
    let s = server_with_relay(port).await;
    let (status, _) = s
        .post(
            "/v1/auth/magic-link",
            None,
            json!({"email": "Ann@Example.com"}),
        )
        .await;
    assert_eq!(status, 202);
    let seen =
        tokio::task::spawn_blocking(move || seen.recv_timeout(std::time::Duration::from_secs(20)))
            .await
            .expect("join")
            .expect("the relay got a mail");
    assert_eq!(seen[0], "EHLO cosmictron.test");
    assert_eq!(seen[1], "MAIL FROM:<auth@cosmictron.test>");
    assert_eq!(seen[2], "RCPT TO:<ann@example.com>");
    assert_eq!(seen[3], "DATA");
    assert!(
        seen.contains(&"Subject: Your Cosmictron sign-in link".to_owned()),
        "{seen:#?}"
    );
    assert_eq!(seen.last().map(String::as_str), Some("QUIT"));
    let token = seen
        .iter()
        .find_map(|l| l.split("magic_token=").nth(1))
        .expect("a link in the mail")
        .trim()
        .to_owned();
    let (status, body) = s
        .post("/v1/auth/magic-link/verify", None, json!({"token": token}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].as_str().is_some_and(|t| t.starts_with("eyJ")));
    // Nothing went to the outbox directory.
    assert!(!s.dir.path().join("outbox").exists());
}

#[tokio::test]
async fn a_refusing_relay_does_not_change_the_answer() {
    let (port, seen) = relay("550 no such user\r\n");
    let s = server_with_relay(port).await;
    let (status, _) = s
        .post(
            "/v1/auth/magic-link",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(status, 202);
    let seen =
        tokio::task::spawn_blocking(move || seen.recv_timeout(std::time::Duration::from_secs(20)))
            .await
            .expect("join")
            .expect("the relay was asked");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("RCPT TO:<nobody@example.com>")
    );
    assert!(!s.dir.path().join("outbox").exists());
}

#[test]
fn the_relay_comes_from_flags_or_the_config_file() {
    let c = cosmictron::cli::serve_config(&[
        "--smtp-host",
        "mail.internal",
        "--smtp-port",
        "2525",
        "--smtp-from",
        "auth@example.com",
    ])
    .expect("config");
    let smtp = c.smtp.expect("smtp");
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.from.as_str()),
        ("mail.internal", 2525, "auth@example.com")
    );
    let err =
        cosmictron::cli::serve_config(&["--smtp-host", "mail.internal"]).expect_err("no sender");
    assert!(err.to_string().contains("--smtp-from"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[smtp]\nhost = \"127.0.0.1\"\nfrom = \"a@b.c\"\n").expect("write");
    let c = cosmictron::cli::serve_config(&["--config", file.to_str().expect("utf-8")])
        .expect("config");
    assert_eq!(c.smtp.map(|s| s.port), Some(25));
}
