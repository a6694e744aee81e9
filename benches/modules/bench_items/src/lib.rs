//! The comparison runner's module: the `items` table of the native workloads (same columns,
//! same primary key and secondary index), and a reducer that inserts one row — so a reducer
//! commit can be set beside a native commit and an SQLite `INSERT`.

use cosmictron_sdk::{Error, Identity, ReducerContext, Timestamp, reducer, table};

#[table(name = "items", public)]
#[rls(read = "true", write = "true")]
pub struct Item {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    pub owner: Identity,
    pub name: String,
    #[index]
    pub score: i64,
    pub created_at: Timestamp,
}

/// Inserts one row owned by the caller and returns its id.
#[reducer]
pub fn insert_item(ctx: &ReducerContext, name: String, score: i64) -> Result<u64, Error> {
    let item = ctx.db.items().insert(Item {
        id: 0,
        owner: ctx.sender,
        name,
        score,
        created_at: ctx.timestamp,
    })?;
    Ok(item.id)
}
