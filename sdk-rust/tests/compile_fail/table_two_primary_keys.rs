use cosmictron_sdk::table;

#[table(name = "items")]
pub struct Item {
    #[primary_key]
    pub id: u64,
    #[primary_key]
    pub other: u64,
}

fn main() {}
