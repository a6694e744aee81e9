//! A test module with a per-owner read policy: every caller sees only their own notes; and two
//! views over them: counts per owner for everyone, every note for the module's owner.

use cosmictron_sdk::{Error, Identity, ReducerContext, ViewRow, reducer, table, view};

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

/// How many notes one identity has.
#[derive(ViewRow)]
pub struct NoteCount {
    pub owner: Identity,
    pub notes: u64,
}

/// Notes per owner: what the module chooses to show everyone about rows the policy hides.
#[view(public)]
pub fn note_counts(ctx: &ReducerContext) -> Result<Vec<NoteCount>, Error> {
    let mut counts: Vec<NoteCount> = Vec::new();
    for note in ctx.db.notes().iter()? {
        match counts.iter_mut().find(|c| c.owner == note.owner) {
            Some(c) => c.notes += 1,
            None => counts.push(NoteCount {
                owner: note.owner,
                notes: 1,
            }),
        }
    }
    Ok(counts)
}

/// Every note, for the module's owner only (a private view).
#[view]
pub fn all_notes(ctx: &ReducerContext) -> Result<Vec<Note>, Error> {
    Ok(ctx.db.notes().iter()?.collect())
}
