//! Upgrades and undeploy through the embedding facade: `basic` upgraded to `basic_v2` keeps its
//! data; `basic_bad` is refused with every incompatibility unless data is cleared; only the
//! owner may upgrade or undeploy; undeploy removes the module and its data.

#[path = "../../wasm-host/tests/common/mod.rs"]
mod common;

use cosmictron::{Cosmictron, CosmictronConfig, DeployOptions, SchedulerConfig};
use cosmictron_types::{Identity, Value};
use serde_json::json;

const ALICE: Identity = Identity([0xa1; 32]);
const BOB: Identity = Identity([0xb0; 32]);

fn open(dir: &std::path::Path) -> Cosmictron {
    let config = CosmictronConfig {
        scheduler: SchedulerConfig {
            interval: None,
            ..SchedulerConfig::default()
        },
        ..CosmictronConfig::default()
    };
    Cosmictron::open(dir, config).expect("open")
}

/// `basic` deployed as `shop` by ALICE, with two items.
fn shop_with_items() -> (tempfile::TempDir, Cosmictron) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    db.deploy("shop", &common::module_bytes("basic"), ALICE)
        .expect("deploy");
    for name in ["pen", "ink"] {
        db.call("shop", "add_item", &json!({"name": name, "qty": 2}), BOB)
            .expect("add");
    }
    (dir, db)
}

#[test]
fn a_compatible_upgrade_keeps_data_and_serves_the_new_reducers() {
    // Proves an upgrade adds the nullable column (NULL in old rows) and the column with a
    // default (the default in old rows), the new table and index,
    // drops the old index, keeps every row, does not run init again, swaps the reducers, and
    // is what a restart loads.
    let (dir, db) = shop_with_items();
    let v1 = db.module_info("shop").expect("info").version;
    let info = db
        .deploy("shop", &common::module_bytes("basic_v2"), ALICE)
        .expect("upgrade");
    assert_ne!(info.version, v1);
    assert!(info.reducers.iter().any(|r| r == "add_labelled"));
    let items = db.rows("shop", "items").expect("items");
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|r| r.len() == 7 && r[5] == Value::Null && r[6] == Value::I64(10)),
        "{items:?}"
    );
    assert_eq!(
        db.rows("shop", "audit").expect("audit").len(),
        1,
        "init ran once"
    );
    let schema = db
        .database("shop")
        .expect("db")
        .table_schema("items")
        .expect("items");
    let indexes: Vec<&str> = schema.def.indexes.iter().map(|i| i.name.as_str()).collect();
    assert!(
        indexes.contains(&"items_owner_idx") && !indexes.contains(&"items_qty_idx"),
        "{indexes:?}"
    );
    let err = db
        .call("shop", "add_item", &json!({"name": "x", "qty": 1}), BOB)
        .expect_err("gone");
    assert_eq!(err.code(), "no_such_reducer");
    db.call(
        "shop",
        "add_labelled",
        &json!({"name": "pad", "label": "new"}),
        BOB,
    )
    .expect("new reducer");
    let mine = db.call("shop", "my_items", &json!({}), BOB).expect("mine");
    assert_eq!(mine.result, json!(["ink", "pad", "pen"]));
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.module_info("shop").expect("info").version, info.version);
    assert_eq!(
        db.call("shop", "version", &json!({}), BOB)
            .expect("v")
            .result,
        json!(2)
    );
    assert_eq!(db.rows("shop", "items").expect("items").len(), 3);
}

#[test]
fn an_incompatible_upgrade_lists_every_problem_and_changes_nothing() {
    // Proves `incompatible_schema` (409) names each incompatibility, that the old version
    // keeps serving with its data, and that `clear_data` replaces it with empty tables.
    let (_dir, db) = shop_with_items();
    let v1 = db.module_info("shop").expect("info").version;
    let bad = common::module_bytes("basic_bad");
    let err = db.deploy("shop", &bad, ALICE).expect_err("incompatible");
    assert_eq!(
        (err.code(), err.http_status()),
        ("incompatible_schema", 409)
    );
    let message = err.to_string();
    for expected in [
        "table `audit` is dropped",
        "column `qty` changes from i64 to u32",
        "new column `required` must be nullable",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in {message}"
        );
    }
    assert_eq!(db.module_info("shop").expect("info").version, v1);
    assert_eq!(db.rows("shop", "items").expect("items").len(), 2);
    db.call("shop", "add_item", &json!({"name": "pad", "qty": 1}), BOB)
        .expect("old version serves");
    let info = db
        .deploy_with("shop", &bad, ALICE, DeployOptions { clear_data: true })
        .expect("cleared");
    assert_eq!(info.reducers, ["count"]);
    assert_eq!(
        db.call("shop", "count", &json!({}), BOB)
            .expect("count")
            .result,
        json!(0)
    );
    assert!(
        db.rows("shop", "audit").is_err(),
        "the dropped table is gone"
    );
}

#[test]
fn only_the_owner_may_upgrade_or_undeploy_and_undeploy_removes_everything() {
    // Proves `not_owner` (403) for someone else's upgrade and undeploy, and that undeploy
    // removes the module, its data and its stored bytes (also after a restart), so the name
    // can be deployed afresh.
    let (dir, db) = shop_with_items();
    let err = db
        .deploy("shop", &common::module_bytes("basic_v2"), BOB)
        .expect_err("not the owner");
    assert_eq!((err.code(), err.http_status()), ("not_owner", 403));
    let err = db.undeploy("shop", BOB).expect_err("not the owner");
    assert_eq!(err.code(), "not_owner");
    assert_eq!(db.rows("shop", "items").expect("items").len(), 2);
    db.undeploy("shop", ALICE).expect("undeploy");
    assert_eq!(
        db.rows("shop", "items").expect_err("gone").code(),
        "no_such_module"
    );
    assert!(db.modules().is_empty());
    assert_eq!(
        db.undeploy("shop", ALICE).expect_err("twice").code(),
        "no_such_module"
    );
    drop(db);
    let db = open(dir.path());
    assert!(db.modules().is_empty(), "nothing reloaded");
    db.deploy("shop", &common::module_bytes("basic"), BOB)
        .expect("the name is free");
    assert!(db.rows("shop", "items").expect("items").is_empty());
    assert_eq!(db.owner("shop").expect("owner"), BOB);
}
