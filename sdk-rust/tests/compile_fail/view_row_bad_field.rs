use cosmictron_sdk::ViewRow;

#[derive(ViewRow)]
pub struct Row {
    pub tags: Vec<String>,
}

fn main() {}
