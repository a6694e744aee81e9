use cosmictron_sdk::table;

#[table(name = "items", publik)]
pub struct Item {
    pub id: u64,
}

fn main() {}
