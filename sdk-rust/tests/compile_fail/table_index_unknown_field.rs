use cosmictron_sdk::table;

#[table(name = "items")]
#[index(name = "by_owner", columns(owner, nope))]
pub struct Item {
    pub id: u64,
    pub owner: u64,
}

fn main() {}
