//! The host on its own: load-time validation reports every problem, and a loaded module runs
//! reducers against an in-memory database.

mod common;

use cosmictron_engine::{Engine, EngineConfig};
use cosmictron_types::{Identity, Value};
use cosmictron_wasm_host::{HostConfig, HostError, WasmHost};
use serde_json::json;

fn section(id: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 128, "single-byte LEB128 sizes only");
    let mut out = vec![id, content.len() as u8];
    out.extend_from_slice(content);
    out
}

fn name(s: &str) -> Vec<u8> {
    let mut out = vec![s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

/// A module importing `env.foo`, an unknown `cosmictron_v1.nope` and `buffer_len` with the
/// wrong signature, and exporting nothing.
fn hostile_imports_module() -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.extend(section(1, &[1, 0x60, 0, 0])); // one type: () -> ()
    let mut imports = vec![3];
    for (ns, field) in [
        ("env", "foo"),
        ("cosmictron_v1", "nope"),
        ("cosmictron_v1", "buffer_len"),
    ] {
        imports.extend(name(ns));
        imports.extend(name(field));
        imports.extend([0, 0]); // a function of type 0
    }
    bytes.extend(section(2, &imports));
    bytes
}

#[test]
fn validation_reports_every_problem() {
    // Proves a module with several problems is refused with one message per problem.
    let host = WasmHost::new(HostConfig::default()).expect("host");
    let err = host
        .load("bad", &hostile_imports_module())
        .expect_err("refused");
    let HostError::InvalidModule { problems } = &err else {
        panic!("expected invalid_module, got {err:?}");
    };
    assert_eq!(err.code(), "invalid_module");
    let expect = [
        "import `env.foo`: only `cosmictron_v1` imports are allowed",
        "import `cosmictron_v1.nope`: this host has no such function",
        "import `cosmictron_v1.buffer_len`: expected signature ->i32, found ->",
        "missing export `memory`",
        "missing export `__cosmictron_describe`",
        "missing export `__cosmictron_call`",
    ];
    for e in expect {
        assert!(
            problems.iter().any(|p| p.starts_with(e)),
            "no problem `{e}` in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expect.len(), "{problems:#?}");
}

#[test]
fn garbage_and_oversized_modules_are_refused() {
    // Proves bytes that are not wasm and modules over the size limit are `invalid_module`.
    let host = WasmHost::new(HostConfig {
        module_bytes_max: 1 << 10,
        ..HostConfig::default()
    })
    .expect("host");
    assert_eq!(
        host.load("x", b"nope").expect_err("garbage").code(),
        "invalid_module"
    );
    let err = host.load("x", &vec![0u8; 2 << 10]).expect_err("too big");
    assert!(err.to_string().contains("the limit is 1024"), "{err}");
}

#[test]
fn a_loaded_module_runs_reducers_in_engine_transactions() {
    // Proves the host API without the facade: describe, create the tables, call, read back.
    let host = WasmHost::new(HostConfig::default()).expect("host");
    let module = host
        .load("shop", &common::module_bytes("basic"))
        .expect("load");
    let def = module.def();
    assert_eq!(def.abi_version, 1);
    assert!(def.tables.iter().any(|t| t.name == "items" && t.public));
    assert_eq!(def.init_reducer().map(|r| r.name.as_str()), Some("init"));
    let add = def.reducer("add_item").expect("add_item").1;
    assert_eq!(add.args, ["name", "qty"]);

    let engine = Engine::in_memory(EngineConfig::in_memory());
    let db = engine.create_database("shop").expect("db");
    db.write(|tx| {
        for t in &def.tables {
            tx.create_table(t.clone())?;
        }
        Ok(())
    })
    .expect("tables");
    let sender = Identity([7; 32]);
    let out = module
        .call(&db, "add_item", &json!({"name": "pen", "qty": 2}), sender)
        .expect("call");
    assert_eq!(out.value()["id"], json!(1));
    // The row comes back as stored: the generated id filled in, every other field as given.
    let out = module
        .call(&db, "add_item", &json!({"name": "cup", "qty": 5}), sender)
        .expect("call");
    assert_eq!(out.value()["id"], json!(2));
    assert_eq!(out.value()["name"], json!("cup"));
    assert_eq!(out.value()["qty"], json!(5));
    assert_eq!(out.value()["note"], json!(null));
    // Modules built before `table_insert_id` insert through `table_insert`, whose answer is
    // the whole stored row.
    let out = module
        .call(
            &db,
            "add_item_raw",
            &json!({"name": "mug", "qty": 1}),
            sender,
        )
        .expect("call");
    assert_eq!(out.value(), json!(3));
    let rows = db
        .snapshot()
        .expect("snapshot")
        .scan("items")
        .expect("scan");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][3], Value::Identity(sender));
}
