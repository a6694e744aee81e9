use cosmictron_sdk::{ReducerContext, reducer};

#[reducer]
pub fn add(_ctx: &ReducerContext, name: String) {
    let _ = name;
}

fn main() {}
