//! Load on a real server over loopback, the load generator in the same process (separate
//! runtimes): HTTP reducer calls with 64 connections, pipelined WebSocket calls,
//! commit-to-client latency with 1,000 connected subscribers, and a module's own HTTP routes
//! (a read-only one and a writing one) beside the same work as reducer calls.
//!
//! `cargo run --release -p cosmictron-benches --bin server_load -- [--quick] [--only WORKLOAD]`
//!
//! `--only` runs one workload: `http`, `ws`, `fanout` or `routes` (for profiling one path).
//!
//! Every call is a real durable transaction of the quickstart module's `record_agent_message`
//! (default durability: fsync before acknowledging, group commit); the route workloads use the
//! `routes` test module (`GET /m/routes/items/1` vs the `item` reducer, `POST /m/routes/items`
//! vs the `add_item` reducer). Medians of several rounds.

/// The allocator of the `cosmictron` binary, so the server in this process runs as it would.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use cosmictron_benches::raw_http::{self, RawRequest};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

struct Settings {
    rounds: usize,
    seconds: f64,
    http_connections: usize,
    pipeline_window: usize,
    subscribers: usize,
    latency_samples: usize,
}

/// Builds a module crate of the source tree (`dir` below the root) and returns its `.wasm`.
fn module_wasm(dir: &str, name: &str) -> Result<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("root")?
        .to_owned();
    let target = root.join("target/wasm-examples");
    cosmictron::testing::build_module(&root.join(dir), &target)?;
    Ok(target.join(format!("wasm32-unknown-unknown/release/{name}.wasm")))
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
    modules: Vec<cosmictron::ModuleFile>,
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
        deploy_on_start: modules,
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

/// Builds connection `c`'s request (each connection repeats its own).
type MakeRequest = Arc<dyn Fn(usize) -> RawRequest + Send + Sync>;

/// `record_agent_message` as an HTTP reducer call.
fn agent_message(addr: &str, token: &str) -> MakeRequest {
    let (addr, auth) = (addr.to_owned(), format!("Bearer {token}"));
    Arc::new(move |c| {
        let body = json!({"session_id": format!("http-{c}"), "role": "user", "content": "x"});
        RawRequest::new(
            "POST",
            &addr,
            "/v1/reducers/record_agent_message",
            &[("authorization", &auth)],
            Some(&body.to_string()),
        )
    })
}

/// Requests/s with `connections` keep-alive HTTP connections, and the latency of each request
/// in ms, sorted (any status below 300 counts). The client is `raw_http`'s lean one, so the
/// server's cost is what is measured.
async fn http_calls(
    addr: &str,
    make: MakeRequest,
    connections: usize,
    seconds: f64,
) -> Result<(f64, Vec<f64>)> {
    raw_http::run(addr, (0..connections).map(|c| make(c)).collect(), seconds).await
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws(addr: &str, token: &str) -> Result<Ws> {
    // A small read buffer, as the Rust client SDK uses: tungstenite zero-fills the whole
    // buffer (128 KiB by default) on every read.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    Ok(tokio_tungstenite::connect_async_with_config(
        format!("ws://{addr}/v1/ws?token={token}&module=quickstart"),
        Some(config),
        false,
    )
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
    // Like a pipelining client library: every answer that has arrived is read, then as many
    // new calls are written together in one flush.
    'outer: while let Some(frame) = rx.next().await {
        let mut frames = vec![frame];
        while let Some(Some(frame)) = rx.next().now_or_never() {
            frames.push(frame);
        }
        let mut refill = 0;
        for frame in frames {
            let Message::Text(t) = frame? else { continue };
            let v: Json = serde_json::from_str(&t)?;
            if v["type"] == "error" {
                bail!("call failed: {v}");
            }
            answered += 1;
            if Instant::now() < deadline {
                refill += 1;
            } else if answered == sent {
                break 'outer;
            }
        }
        for _ in 0..refill {
            sent += 1;
            tx.feed(Message::Text(call(sent).into())).await?;
        }
        if refill > 0 {
            tx.flush().await?;
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
) -> Result<FanOut> {
    let received: Arc<parking_lot::Mutex<Vec<f64>>> = Arc::default();
    let mut first = Vec::new();
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
    eprintln!("{subscribers} subscribers connected; measuring {samples} calls");
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
        let this_call = received.lock()[before..]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        first.push(this_call);
    }
    for r in readers {
        r.abort();
    }
    let mut all = received.lock().clone();
    all.sort_by(f64::total_cmp);
    first.sort_by(f64::total_cmp);
    Ok(FanOut { all, first })
}

/// Call-to-subscriber latencies in ms, sorted: every subscriber's, and per call the first
/// subscriber's (the call, its fsync and the query's evaluation, before the fan-out's share).
#[derive(Default)]
struct FanOut {
    all: Vec<f64>,
    first: Vec<f64>,
}

/// The route workloads, each beside the same work as a reducer call.
fn route_workloads(addr: &str, token: &str) -> Vec<(&'static str, MakeRequest)> {
    let auth = format!("Bearer {token}");
    let (a1, a2, a3, a4) = (
        addr.to_owned(),
        addr.to_owned(),
        addr.to_owned(),
        addr.to_owned(),
    );
    let (t1, t2) = (auth.clone(), auth);
    vec![
        (
            "read-only route `GET /m/routes/items/1`",
            Arc::new(move |_| RawRequest::new("GET", &a1, "/m/routes/items/1", &[], None))
                as MakeRequest,
        ),
        (
            "same read as reducer `item`",
            Arc::new(move |_| {
                RawRequest::new(
                    "POST",
                    &a2,
                    "/v1/modules/routes/reducers/item",
                    &[("authorization", &t1)],
                    Some(r#"{"id":1}"#),
                )
            }),
        ),
        (
            "writing route `POST /m/routes/items`",
            Arc::new(move |c| {
                let body = json!({"name": format!("r{c}")}).to_string();
                RawRequest::new("POST", &a3, "/m/routes/items", &[], Some(&body))
            }),
        ),
        (
            "same write as reducer `add_item`",
            Arc::new(move |c| {
                let body = json!({"name": format!("r{c}")}).to_string();
                RawRequest::new(
                    "POST",
                    &a4,
                    "/v1/modules/routes/reducers/add_item",
                    &[("authorization", &t2)],
                    Some(&body),
                )
            }),
        ),
    ]
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    if let Some(o) = &only
        && !["http", "ws", "fanout", "routes"].contains(&o.as_str())
    {
        bail!("--only takes http, ws, fanout or routes, not `{o}`");
    }
    let runs = |w: &str| only.as_deref().is_none_or(|o| o == w);
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
    let modules = vec![
        cosmictron::ModuleFile {
            name: "quickstart".into(),
            path: module_wasm("examples/quickstart/module", "quickstart")?,
        },
        cosmictron::ModuleFile {
            name: "routes".into(),
            path: module_wasm("wasm-host/tests/modules/routes", "routes")?,
        },
    ];
    let (addr, _server) = start_server(dir.path(), modules)?;
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
        let routes = route_workloads(&addr, &token);
        let mut route_results: Vec<(Vec<f64>, Vec<f64>)> =
            vec![(Vec::new(), Vec::new()); routes.len()];
        // The item the read workloads fetch.
        let seed = reqwest::Client::new()
            .post(format!("http://{addr}/m/routes/items"))
            .json(&json!({"name": "seed"}))
            .send()
            .await?;
        if seed.status() != 201 {
            bail!("seeding the routes module: HTTP {}", seed.status());
        }
        for _ in 0..s.rounds {
            if runs("http") {
                let make = agent_message(&addr, &token);
                let (rate, lat) = http_calls(&addr, make, s.http_connections, s.seconds).await?;
                http_rates.push(rate);
                http_p99.push(percentile(&lat, 0.99));
            }
            if runs("ws") {
                ws_rates.push(ws_pipelined(&addr, &token, s.pipeline_window, s.seconds).await?);
            }
            if !runs("routes") {
                continue;
            }
            for (i, (_, make)) in routes.iter().enumerate() {
                let (rate, lat) =
                    http_calls(&addr, make.clone(), s.http_connections, s.seconds).await?;
                route_results[i].0.push(rate);
                route_results[i].1.push(percentile(&lat, 0.99));
            }
        }
        let lat = if runs("fanout") {
            fan_out_latency(&addr, &token, s.subscribers, s.latency_samples).await?
        } else {
            FanOut::default()
        };
        let mut rows: Vec<String> = Vec::new();
        rows.push(format!(
            "| HTTP reducer calls, {} connections | {:.0} | calls/s |",
            s.http_connections,
            median(http_rates)
        ));
        rows.push(format!(
            "| HTTP call latency p99 | {:.2} | ms |",
            median(http_p99)
        ));
        rows.push(format!(
            "| WebSocket pipelined calls, 1 connection, {} in flight | {:.0} | calls/s |",
            s.pipeline_window,
            median(ws_rates)
        ));
        rows.push(format!(
            "| call-to-subscriber latency p50, {} subscribers | {:.2} | ms |",
            s.subscribers,
            percentile(&lat.all, 0.5)
        ));
        rows.push(format!(
            "| call-to-subscriber latency p99, {} subscribers | {:.2} | ms |",
            s.subscribers,
            percentile(&lat.all, 0.99)
        ));
        rows.push(format!(
            "| call-to-first-subscriber latency p50 / p99, {} subscribers | {:.2} / {:.2} | ms |",
            s.subscribers,
            percentile(&lat.first, 0.5),
            percentile(&lat.first, 0.99)
        ));
        for ((name, _), (rates, p99s)) in routes.iter().zip(route_results) {
            rows.push(format!(
                "| {name}, {} connections | {:.0} | requests/s |",
                s.http_connections,
                median(rates)
            ));
            rows.push(format!("| {name}, p99 | {:.2} | ms |", median(p99s)));
        }
        // Workloads left out with `--only` have no numbers.
        println!("| workload | median | unit |");
        println!("|---|---:|---|");
        for row in rows.iter().filter(|r| !r.contains("NaN")) {
            println!("{row}");
        }
        println!(
            "\n{} rounds of {} s; durability fsync (group commit); {}",
            s.rounds,
            s.seconds,
            if quick { "--quick sizes" } else { "full sizes" }
        );
        Ok::<(), anyhow::Error>(())
    })
}
