//! The quickstart, embedded: Cosmictron as a library in a plain program — no server, no
//! network. It builds the quickstart module (`../module`, Rust compiled to wasm32), opens a
//! data directory, deploys the module, calls its reducers (each call one durable transaction),
//! and reads with SQL: row-level security per caller, and time travel with `AS OF TX`.
//!
//! ```sh
//! cargo run -p quickstart-embedded -- ./quickstart-data
//! ```
//! Run it twice: the second run finds the first run's data (and the module) already there.

use std::path::Path;

use anyhow::Context;
use cosmictron::{Cosmictron, CosmictronConfig};
use cosmictron_sql::{Caller, QueryResult, SqlConfig, SqlEngine};
use cosmictron_types::{Identity, Value};
use serde_json::json;

/// Two callers. A server gets identities from its sign-in; embedded, the program chooses.
const ALICE: Identity = Identity([0xa1; 32]);
const BOB: Identity = Identity([0xb0; 32]);

fn main() -> anyhow::Result<()> {
    let data_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./quickstart-data".into());

    // 1. The module, built from source, and a data directory (created on first use).
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wasm = cosmictron::testing::build_module(
        &here.join("../module"),
        &here.join("../../../target/wasm-examples"),
    )
    .context("building the quickstart module (needs the wasm32-unknown-unknown target)")?;
    let db = Cosmictron::open(&data_dir, CosmictronConfig::default())?;
    let info = db.deploy("quickstart", &wasm, ALICE)?;
    println!("deployed {} ({})", info.name, info.version);

    // 2. Reducer calls: each is one transaction, durable when the call returns.
    let name = format!("alice-{}", std::process::id());
    let user = db.call(
        "quickstart",
        "create_user",
        &json!({"username": name}),
        ALICE,
    )?;
    println!("create_user -> tx {:?}: {}", user.tx_id, user.result);
    let first = db.call(
        "quickstart",
        "record_agent_message",
        &json!({"session_id": "s1", "role": "user", "content": "Hello"}),
        ALICE,
    )?;
    db.call(
        "quickstart",
        "record_agent_message",
        &json!({"session_id": "s1", "role": "assistant", "content": "Hi! How can I help?"}),
        ALICE,
    )?;
    // A reducer's error rolls its transaction back and says why.
    let taken = db.call("quickstart", "create_user", &json!({"username": name}), BOB);
    if let Err(e) = taken {
        println!("create_user again -> {} ({})", e.code(), e);
    }

    // 3. SQL: read-only, with each caller's read policies (`users` rows are their owner's).
    let sql = SqlEngine::new(SqlConfig::default());
    let module_db = db.database("quickstart")?;
    let count = "SELECT COUNT(*) FROM users";
    let mine = sql.query(&module_db, count, &[], &Caller::user(ALICE))?;
    let bobs = sql.query(&module_db, count, &[], &Caller::user(BOB))?;
    println!(
        "users alice sees: {}, bob sees: {}",
        first_value(&mine),
        first_value(&bobs)
    );

    // 4. Time travel: the session as of the first message's transaction.
    let tx = first.tx_id.context("the first message was written")?;
    let then = sql.query(
        &module_db,
        &format!("SELECT role, content FROM agent_state WHERE session_id = $1 AS OF TX {tx}"),
        &[Value::String("s1".into())],
        &Caller::user(ALICE),
    )?;
    let now = sql.query(
        &module_db,
        "SELECT role, content FROM agent_state WHERE session_id = $1",
        &[Value::String("s1".into())],
        &Caller::user(ALICE),
    )?;
    println!(
        "session s1: {} messages now, {} as of tx {tx}",
        now.rows.len(),
        then.rows.len()
    );
    db.flush()?;
    Ok(())
}

/// The first column of the first row, as text.
fn first_value(result: &QueryResult) -> String {
    match result.rows.first().and_then(|r| r.first()) {
        Some(Value::U64(n)) => n.to_string(),
        Some(Value::I64(n)) => n.to_string(),
        other => format!("{other:?}"),
    }
}
