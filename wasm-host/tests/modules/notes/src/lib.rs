//! A test module with a per-owner read policy: every caller sees only their own notes.

use cosmictron_sdk::{Error, Identity, ReducerContext, reducer, table};

#[table(name = "notes", public)]
#[rls(read = "owner = $identity")]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Note {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub owner: Identity,
    pub text: String,
}

#[reducer]
pub fn add_note(ctx: &ReducerContext, text: String) -> Result<u64, Error> {
    if text.is_empty() {
        return Err(Error::new("empty_note", "a note needs some text").with_status(422));
    }
    let note = ctx.db.notes().insert(Note {
        id: 0,
        owner: ctx.sender,
        text,
    })?;
    Ok(note.id)
}
