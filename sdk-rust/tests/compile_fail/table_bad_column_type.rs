use cosmictron_sdk::table;

#[table(name = "items")]
pub struct Item {
    pub id: u64,
    pub tags: Vec<String>,
}

fn main() {}
