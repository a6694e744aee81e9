use cosmictron_sdk::{Error, reducer};

#[reducer]
pub fn add(name: String) -> Result<(), Error> {
    let _ = name;
    Ok(())
}

fn main() {}
