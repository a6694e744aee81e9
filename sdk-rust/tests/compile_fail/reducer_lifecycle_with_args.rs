use cosmictron_sdk::{Error, ReducerContext, reducer};

#[reducer(client_connected)]
pub fn connected(_ctx: &ReducerContext, who: String) -> Result<(), Error> {
    let _ = who;
    Ok(())
}

fn main() {}
