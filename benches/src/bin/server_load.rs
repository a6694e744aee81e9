//! Load on a real server over loopback, the load generator in the same process (separate
//! runtimes): HTTP reducer calls with 64 connections, pipelined WebSocket calls, and
//! commit-to-client latency with 1,000 connected subscribers.
//!
//! `cargo run --release -p cosmictron-benches --bin server_load -- [--quick]`
//!
//! Every call is a real durable transaction of the quickstart module's `record_agent_message`
//! (default durability: fsync before acknowledging, group commit). Medians of several rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

struct Settings {
    rounds: usize,
    seconds: f64,
    http_connections: usize,
    pipeline_window: usize,
    subscribers: usize,
    latency_samples: usize,
}

fn quickstart_wasm() -> Result<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("root")?
        .to_owned();
    let target = root.join("target/wasm-examples");
    cosmictron::testing::build_module(&root.join("examples/quickstart/module"), &target)?;
    Ok(target.join("wasm32-unknown-unknown/release/quickstart.wasm"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Starts the server on its own runtime; returns its address and a token.
fn start_server(
    dir: &std::path::Path,
    wasm: std::path::PathBuf,
) -> Result<(String, tokio::runtime::Runtime)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?.to_string();
    let unlimited = cosmictron::RateLimit {
        per_minute: u32::MAX / 2,
        burst: u32::MAX / 2,
    };
    let config = cosmictron::ServerConfig {
        data_dir: dir.to_owned(),
        listen: addr.clone(),
        rate_limit_per_ip: unlimited,
        rate_limit_per_identity: unlimited,
        ws_queue_capacity: 1 << 16,
        admin_email: Some("bench@example.com".into()),
        admin_password: Some("bench-password".into()),
        deploy_on_start: vec![cosmictron::ModuleFile {
            name: "quickstart".into(),
            path: wasm,
        }],
        ..cosmictron::ServerConfig::default()
    };
    rt.spawn(cosmictron::run(
        listener,
        config,
        std::future::pending::<()>(),
    ));
    Ok((addr, rt))
}

async fn wait_ready(http: &reqwest::Client, addr: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = http.get(format!("http://{addr}/ready")).send().await
            && r.status() == 200
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server never became ready");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn token(http: &reqwest::Client, addr: &str) -> Result<String> {
    let v: Json = http
        .post(format!("http://{addr}/v1/auth/sign-in"))
        .json(&json!({"email": "bench@example.com", "password": "bench-password"}))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["token"].as_str().context("token")?.to_owned())
}

/// Calls/s with `connections` concurrent HTTP clients, and the latency of each call.
async fn http_calls(
    addr: &str,
    token: &str,
    connections: usize,
    seconds: f64,
) -> Result<(f64, Vec<f64>)> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (http, done, url, token) = (
            http.clone(),
            done.clone(),
            format!("http://{addr}/v1/reducers/record_agent_message"),
            token.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(
                        &json!({"session_id": format!("http-{c}"), "role": "user", "content": "x"}),
                    )
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed().as_secs_f64() * 1e3);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => return Err(anyhow::anyhow!("HTTP {}", r.status())),
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok((rate, all))
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws(addr: &str, token: &str) -> Result<Ws> {
    Ok(tokio_tungstenite::connect_async(format!(
        "ws://{addr}/v1/ws?token={token}&module=quickstart"
    ))
    .await?
    .0)
}

/// Calls/s over one WebSocket keeping `window` calls in flight.
async fn ws_pipelined(addr: &str, token: &str, window: usize, seconds: f64) -> Result<f64> {
    let socket = ws(addr, token).await?;
    let (mut tx, mut rx) = socket.split();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut sent = 0u64;
    let mut answered = 0u64;
    let call = |id: u64| {
        json!({"type": "call", "id": id, "reducer": "record_agent_message", "args": {"session_id": "ws", "role": "user", "content": "x"}}).to_string()
    };
    while sent < window as u64 {
        sent += 1;
        tx.send(Message::Text(call(sent).into())).await?;
    }
    while let Some(frame) = rx.next().await {
        let Message::Text(t) = frame? else { continue };
        let v: Json = serde_json::from_str(&t)?;
        if v["type"] == "error" {
            bail!("call failed: {v}");
        }
        answered += 1;
        if Instant::now() < deadline {
            sent += 1;
            tx.send(Message::Text(call(sent).into())).await?;
        } else if answered == sent {
            break;
        }
    }
    Ok(answered as f64 / start.elapsed().as_secs_f64())
}

/// Commit-to-client latency: `subscribers` connections subscribed to one query; a writer
/// calls one at a time; each update's arrival minus the call's start, in ms.
async fn fan_out_latency(
    addr: &str,
    token: &str,
    subscribers: usize,
    samples: usize,
) -> Result<Vec<f64>> {
    let received: Arc<parking_lot::Mutex<Vec<f64>>> = Arc::default();
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let mut socket = ws(addr, token).await?;
        socket
            .send(Message::Text(json!({"type": "subscribe", "id": 1, "query": "SELECT content FROM agent_state WHERE session_id = 'fanout'"}).to_string().into()))
            .await?;
        loop {
            let Some(frame) = socket.next().await else {
                bail!("closed")
            };
            if let Message::Text(t) = frame? {
                let v: Json = serde_json::from_str(&t)?;
                if v["type"] == "subscribed" {
                    break;
                }
            }
        }
        let received = received.clone();
        readers.push(tokio::spawn(async move {
            while let Some(Ok(frame)) = socket.next().await {
                let Message::Text(t) = frame else { continue };
                let at = now_micros();
                let Ok(v) = serde_json::from_str::<Json>(&t) else {
                    continue;
                };
                if let Some(sent) = v["updates"][0]["inserts"][0][0]
                    .as_str()
                    .and_then(|s| s.parse::<i64>().ok())
                {
                    received.lock().push((at - sent) as f64 / 1e3);
                }
            }
        }));
    }
    let http = reqwest::Client::new();
    for _ in 0..samples {
        let before = received.lock().len();
        http.post(format!("http://{addr}/v1/reducers/record_agent_message"))
            .bearer_auth(token)
            .json(&json!({"session_id": "fanout", "role": "user", "content": now_micros().to_string()}))
            .send()
            .await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while received.lock().len() < before + subscribers {
            if Instant::now() > deadline {
                bail!(
                    "updates missing: {} of {}",
                    received.lock().len() - before,
                    subscribers
                );
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    for r in readers {
        r.abort();
    }
    let mut v = received.lock().clone();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

fn main() -> Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let s = if quick {
        Settings {
            rounds: 3,
            seconds: 2.0,
            http_connections: 64,
            pipeline_window: 512,
            subscribers: 200,
            latency_samples: 20,
        }
    } else {
        Settings {
            rounds: 5,
            seconds: 5.0,
            http_connections: 64,
            pipeline_window: 1024,
            subscribers: 1000,
            latency_samples: 100,
        }
    };
    let dir = tempfile::tempdir()?;
    let wasm = quickstart_wasm()?;
    let (addr, _server) = start_server(dir.path(), wasm)?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    client_rt.block_on(async {
        let http = reqwest::Client::new();
        wait_ready(&http, &addr).await?;
        let token = token(&http, &addr).await?;
        let mut http_rates = Vec::new();
        let mut http_p99 = Vec::new();
        let mut ws_rates = Vec::new();
        for _ in 0..s.rounds {
            let (rate, lat) = http_calls(&addr, &token, s.http_connections, s.seconds).await?;
            http_rates.push(rate);
            http_p99.push(percentile(&lat, 0.99));
            ws_rates.push(ws_pipelined(&addr, &token, s.pipeline_window, s.seconds).await?);
        }
        let lat = fan_out_latency(&addr, &token, s.subscribers, s.latency_samples).await?;
        println!("| workload | median | unit |");
        println!("|---|---:|---|");
        println!(
            "| HTTP reducer calls, {} connections | {:.0} | calls/s |",
            s.http_connections,
            median(http_rates)
        );
        println!("| HTTP call latency p99 | {:.2} | ms |", median(http_p99));
        println!(
            "| WebSocket pipelined calls, 1 connection, {} in flight | {:.0} | calls/s |",
            s.pipeline_window,
            median(ws_rates)
        );
        println!(
            "| call-to-subscriber latency p50, {} subscribers | {:.2} | ms |",
            s.subscribers,
            percentile(&lat, 0.5)
        );
        println!(
            "| call-to-subscriber latency p99, {} subscribers | {:.2} | ms |",
            s.subscribers,
            percentile(&lat, 0.99)
        );
        println!(
            "\n{} rounds of {} s; durability fsync (group commit); {}",
            s.rounds,
            s.seconds,
            if quick { "--quick sizes" } else { "full sizes" }
        );
        Ok::<(), anyhow::Error>(())
    })
}
