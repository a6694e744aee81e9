//! The `cosmictron` binary as a real process: `kill -9` in the middle of committing loses no
//! acknowledged call and keeps modules, accounts and scheduled reducers; SIGTERM shuts down
//! cleanly.

#[path = "../../wasm-host/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value as Json, json};

struct Server {
    child: Child,
    base: String,
}

/// Starts `cosmictron serve` on a free port and waits until it is ready.
fn spawn(dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cosmictron"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the server");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .expect("line");
        if let Some(rest) = line.strip_prefix("cosmictron listening on ") {
            break rest.split_whitespace().next().expect("address").to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let deadline = Instant::now() + Duration::from_secs(60);
    while raw_http::blocking_ready(&base).is_none() {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, base }
}

mod raw_http {
    //! A few blocking HTTP calls over plain TCP, so this test needs no async runtime while it
    //! kills processes.
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use serde_json::Value as Json;

    pub(super) fn request(
        base: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Json>,
    ) -> Option<(u16, Json)> {
        let addr = base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).ok()?;
        stream.write_all(body.as_bytes()).ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).ok()?;
        let text = String::from_utf8_lossy(&raw);
        let status: u16 = text.split_whitespace().nth(1)?.parse().ok()?;
        let (_, body) = text.split_once("\r\n\r\n")?;
        Some((status, serde_json::from_str(body).unwrap_or(Json::Null)))
    }

    pub(super) fn blocking_ready(base: &str) -> Option<()> {
        let (status, _) = request(base, "GET", "/ready", None, None)?;
        (status == 200).then_some(())
    }
}

fn post(base: &str, path: &str, token: Option<&str>, body: Json) -> Option<(u16, Json)> {
    raw_http::request(base, "POST", path, token, Some(&body))
}

fn deploy(base: &str, token: &str, name: &str, wasm: &[u8]) {
    let addr = base.trim_start_matches("http://");
    let boundary = "cosmictron-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"module\"; filename=\"m.wasm\"\r\nContent-Type: application/wasm\r\n\r\n").as_bytes());
    body.extend_from_slice(wasm);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let head = format!(
        "POST /v1/modules HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(&body).expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    assert!(out.starts_with("HTTP/1.1 200"), "deploy: {out}");
}

#[test]
fn kill_9_keeps_every_acknowledged_call_accounts_modules_and_schedules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = common::module_bytes("features");
    let mut server = spawn(dir.path());
    let (_, session) = post(
        &server.base,
        "/v1/auth/sign-up",
        None,
        json!({"email": "ann@example.com", "password": "correct horse"}),
    )
    .expect("sign up");
    let token = session["token"].as_str().expect("token").to_owned();
    let identity = session["identity"].as_str().expect("identity").to_owned();
    deploy(&server.base, &token, "features", &wasm);
    // A schedule due after the restart.
    let (status, out) = post(
        &server.base,
        "/v1/reducers/schedule_tick",
        Some(&token),
        json!({"label": "after-restart", "delay_ms": 1500, "repeat": false}),
    )
    .expect("schedule");
    assert_eq!(status, 200, "{out}");

    // Writers commit notes until the process dies; record what was acknowledged.
    let acknowledged: Arc<Mutex<Vec<u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (base, token, identity) = (server.base.clone(), token.clone(), identity.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let body = json!({"owner": identity, "text": format!("w{w}-{i}")});
                    match post(&base, "/v1/reducers/add_note", Some(&token), body) {
                        Some((200, out)) => acknowledged
                            .lock()
                            .push(out["result"].as_u64().expect("note id")),
                        _ => return,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    server.child.kill().expect("kill -9");
    server.child.wait().expect("reaped");
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    let acknowledged = acknowledged.lock().clone();
    assert!(
        acknowledged.len() > 10,
        "the writers got going ({} calls)",
        acknowledged.len()
    );

    let mut server = spawn(dir.path());
    // The account signs in, the old token verifies, the module is there with every note.
    let (status, _) = post(
        &server.base,
        "/v1/auth/sign-in",
        None,
        json!({"email": "ann@example.com", "password": "correct horse"}),
    )
    .expect("sign in");
    assert_eq!(status, 200);
    let (status, rows) = post(
        &server.base,
        "/v1/sql",
        Some(&token),
        json!({"query": "SELECT id FROM notes"}),
    )
    .expect("sql");
    assert_eq!(status, 200, "{rows}");
    let present: std::collections::HashSet<u64> = rows["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[0].as_u64().expect("id"))
        .collect();
    for id in &acknowledged {
        assert!(present.contains(id), "acknowledged note {id} was lost");
    }
    // The schedule made before the crash fires after it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, ticks) = post(
            &server.base,
            "/v1/sql",
            Some(&token),
            json!({"query": "SELECT label FROM ticks"}),
        )
        .expect("sql");
        if ticks["rows"] == json!([["after-restart"]]) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the scheduled reducer never ran: {ticks}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.child.kill().expect("kill");
    let _ = server.child.wait();
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = spawn(dir.path());
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "a clean exit, got {exit:?}");
}

/// Runs a client command of the binary against `base`, with its own config directory.
fn cli(base: &str, config_home: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cosmictron"))
        .args(args)
        .args(["--server", base])
        .env("XDG_CONFIG_HOME", config_home)
        .env_remove("COSMICTRON_TOKEN")
        .output()
        .expect("run the cli");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_line_signs_up_deploys_calls_and_queries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = tempfile::tempdir().expect("config home");
    let mut server = spawn(dir.path());
    let wasm_dir = tempfile::tempdir().expect("wasm dir");
    let wasm = wasm_dir.path().join("notes.wasm");
    std::fs::write(&wasm, common::module_bytes("notes")).expect("write wasm");
    let base = server.base.clone();

    let (ok, _, err) = cli(&base, home.path(), &["sql", "SELECT 1"]);
    assert!(!ok && err.contains("not signed in"), "{err}");
    let (ok, out, err) = cli(
        &base,
        home.path(),
        &[
            "sign-up",
            "--email",
            "ann@example.com",
            "--password",
            "correct horse",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("token saved"), "{out}");
    let saved = std::fs::read_to_string(home.path().join("cosmictron/credentials.json"))
        .expect("credentials");
    assert!(saved.contains(&base), "the token is saved per server");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.path().join("cosmictron/credentials.json"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (ok, out, err) = cli(
        &base,
        home.path(),
        &["deploy", wasm.to_str().expect("utf-8 path")],
    );
    assert!(ok, "{err}");
    assert!(out.contains("sha256:"), "{out}");
    let (ok, out, err) = cli(
        &base,
        home.path(),
        &["call", "add_note", r#"{"text": "from the cli"}"#],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("committed tx "), "{out}");
    let (ok, out, err) = cli(&base, home.path(), &["sql", "SELECT id, text FROM notes"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "id | text\n---+-------------\n1  | from the cli\n(1 row)\n"
    );
    let (ok, out, _) = cli(
        &base,
        home.path(),
        &["sql", "SELECT text FROM notes", "--json"],
    );
    assert!(ok);
    let v: Json = serde_json::from_str(&out).expect("json output");
    assert_eq!(v["rows"], json!([["from the cli"]]));
    let (ok, out, _) = cli(&base, home.path(), &["modules"]);
    assert!(ok && out.contains("notes"), "{out}");
    let (ok, _, err) = cli(&base, home.path(), &["call", "add_note", r#"{"text": ""}"#]);
    assert!(!ok && err.contains("empty_note"), "{err}");
    let (ok, _, err) = cli(&base, home.path(), &["sql", "DELETE FROM notes"]);
    assert!(!ok && err.contains("read_only"), "{err}");
    server.child.kill().expect("kill");
    let _ = server.child.wait();
}
