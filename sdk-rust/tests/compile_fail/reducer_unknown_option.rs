use cosmictron_sdk::{Error, ReducerContext, reducer};

#[reducer(on_connect)]
pub fn connected(_ctx: &ReducerContext) -> Result<(), Error> {
    Ok(())
}

fn main() {}
