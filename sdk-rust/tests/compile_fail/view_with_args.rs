use cosmictron_sdk::{ReducerContext, ViewRow, view};

#[derive(ViewRow)]
pub struct Count {
    pub n: u64,
}

#[view]
pub fn counts_above(_ctx: &ReducerContext, floor: u64) -> Vec<Count> {
    vec![Count { n: floor }]
}

fn main() {}
