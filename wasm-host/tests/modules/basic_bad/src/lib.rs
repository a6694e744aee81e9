//! A version of the `basic` test module whose tables are incompatible with it: a changed
//! column type, a new column that is not nullable, and the `audit` table dropped.

use cosmictron_sdk::{Error, Identity, ReducerContext, reducer, table};

#[table(name = "items", public)]
#[rls(read = "true", write = "true")]
pub struct Item {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[unique]
    pub name: String,
    #[index]
    pub qty: u32,
    pub owner: Identity,
    #[pii]
    pub note: Option<String>,
    pub required: String,
}

#[reducer]
pub fn count(ctx: &ReducerContext) -> Result<u64, Error> {
    ctx.db.items().count()
}
