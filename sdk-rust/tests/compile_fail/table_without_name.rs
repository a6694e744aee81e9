use cosmictron_sdk::table;

#[table(public)]
pub struct Item {
    pub id: u64,
}

fn main() {}
