//! The `basic` test module's next version, with only compatible table changes: a new nullable
//! column, a new column with a default, a dropped index, a new index, a new table. Its reducers differ from `basic`'s.

use cosmictron_sdk::{Error, Identity, ReducerContext, reducer, table};

#[table(name = "items", public)]
#[rls(read = "true", write = "true")]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Item {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[unique]
    pub name: String,
    pub qty: i64,
    #[index]
    pub owner: Identity,
    #[pii]
    pub note: Option<String>,
    pub label: Option<String>,
    #[default(10)]
    pub stock: i64,
}

#[table(name = "audit", event)]
pub struct Audit {
    pub message: String,
}

#[table(name = "tags")]
pub struct Tag {
    #[primary_key]
    pub name: String,
}

#[reducer(init)]
pub fn init(ctx: &ReducerContext) -> Result<(), Error> {
    ctx.db.audit().insert(Audit {
        message: "initialised v2".into(),
    })?;
    Ok(())
}

#[reducer]
pub fn add_labelled(ctx: &ReducerContext, name: String, label: String) -> Result<Item, Error> {
    ctx.db.tags().insert(Tag {
        name: label.clone(),
    })?;
    ctx.db.items().insert(Item {
        id: 0,
        name,
        qty: 1,
        owner: ctx.sender,
        note: None,
        label: Some(label),
        stock: 1,
    })
}

/// The names of the caller's items (through the new `owner` index).
#[reducer]
pub fn my_items(ctx: &ReducerContext) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = ctx
        .db
        .items()
        .filter_by_owner(&ctx.sender)?
        .into_iter()
        .map(|i| i.name)
        .collect();
    names.sort();
    Ok(names)
}

#[reducer]
pub fn version(_ctx: &ReducerContext) -> Result<u32, Error> {
    Ok(2)
}
