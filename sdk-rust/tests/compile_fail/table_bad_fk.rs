use cosmictron_sdk::table;

#[table(name = "items")]
pub struct Item {
    pub id: u64,
    #[fk(users)]
    pub owner: u64,
}

fn main() {}
