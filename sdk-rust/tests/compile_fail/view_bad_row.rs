use cosmictron_sdk::{ReducerContext, view};

pub struct NotARow {
    pub n: u64,
}

#[view(public)]
pub fn plain(_ctx: &ReducerContext) -> Vec<NotARow> {
    Vec::new()
}

fn main() {}
