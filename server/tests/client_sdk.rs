//! The Rust client SDK (`cosmictron-client`) against a real server.

#[path = "../../wasm-host/tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use cosmictron_client::Client;
use serde_json::json;
use support::TestServer;

#[tokio::test]
async fn sign_up_deploy_call_query_and_subscribe() {
    let s = TestServer::start().await;
    let mut ann = Client::new(&s.url("")).expect("client");
    let session = ann
        .sign_up("ann@example.com", "correct horse")
        .await
        .expect("sign up");
    assert_eq!(session.identity.len(), 64);
    // The upload reports its progress chunk by chunk, ending at the module's size.
    let wasm = common::module_bytes("notes");
    let size = wasm.len() as u64;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let deployed = ann
        .deploy_with_progress("notes", wasm, move |sent, total| {
            record.lock().expect("progress").push((sent, total));
        })
        .await
        .expect("deploy");
    assert_eq!(deployed["name"], "notes");
    let seen = seen.lock().expect("progress").clone();
    let chunks = size.div_ceil(cosmictron_client::UPLOAD_CHUNK_BYTES as u64) as usize;
    assert_eq!(seen.len(), chunks, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(seen.last(), Some(&(size, size)));
    assert_eq!(ann.modules().await.expect("modules")[0].name, "notes");

    let id: u64 = ann
        .call_typed("add_note", &json!({"text": "first"}))
        .await
        .expect("typed call");
    assert!(id > 0);
    let err = ann
        .call("add_note", &json!({"text": ""}))
        .await
        .expect_err("module error");
    assert_eq!((err.code(), err.status()), ("empty_note", Some(422)));

    let rows = ann
        .sql("SELECT text FROM notes WHERE id = $1", &[json!(id)])
        .await
        .expect("sql");
    assert_eq!(rows.columns, ["text"]);
    assert_eq!(rows.rows, vec![vec![json!("first")]]);

    let mut live = ann
        .subscribe("SELECT id, text FROM notes", &[])
        .await
        .expect("subscribe");
    assert_eq!(live.rows().len(), 1);
    let out = ann
        .call("add_note", &json!({"text": "second"}))
        .await
        .expect("call");
    let update = tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("in time")
        .expect("update");
    assert_eq!(Some(update.tx_id), out.tx_id);
    assert_eq!(update.inserts[0][1], json!("second"));
    assert_eq!(live.rows().len(), 2, "the local cache follows");
    live.close().await.expect("close");

    // Another identity sees none of ann's rows, and no token is a clear local error.
    let mut bob = Client::new(&s.url("")).expect("client");
    assert_eq!(
        bob.call("add_note", &json!({"text": "x"}))
            .await
            .expect_err("no token")
            .code(),
        "no_token"
    );
    bob.sign_in_anonymously().await.expect("anonymous");
    assert!(
        bob.sql("SELECT * FROM notes", &[])
            .await
            .expect("sql")
            .rows
            .is_empty()
    );
    let wrong = Client::new(&s.url(""))
        .expect("client")
        .sign_in("ann@example.com", "nope nope")
        .await
        .expect_err("wrong password");
    assert_eq!(
        (wrong.code(), wrong.status()),
        ("invalid_credentials", Some(401))
    );
    assert!(Client::new("ftp://x").is_err());
}
