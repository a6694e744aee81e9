//! The quickstart module: the tables and reducers of the product documentation's REST API page.
//!
//! - `users`: a user per name, each readable only by the identity that created it.
//! - `agent_state`: the messages of agent sessions, readable by everyone.
//!
//! ```sh
//! curl -X POST localhost:3000/v1/reducers/create_user -H "Authorization: Bearer $TOKEN" \
//!      -H 'Content-Type: application/json' -d '{"username": "alice"}'
//! ```

use cosmictron_sdk::{Error, Identity, ReducerContext, Timestamp, reducer, table};

#[table(name = "users", public)]
#[rls(read = "owner_id = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[unique]
    pub username: String,
    #[index]
    pub owner_id: Identity,
}

#[table(name = "agent_state", public)]
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentMessage {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub session_id: String,
    pub role: String,
    #[pii]
    pub content: String,
    pub created_at: Timestamp,
}

/// Creates a user owned by the caller; 409 `user_exists` when the name is taken.
#[reducer]
pub fn create_user(ctx: &ReducerContext, username: String) -> Result<User, Error> {
    let username = username.trim().to_owned();
    if username.is_empty() || username.len() > 64 {
        return Err(Error::new("invalid_username", "a username has 1 to 64 characters").with_status(422));
    }
    if ctx.db.users().find_by_username(&username)?.is_some() {
        return Err(Error::new("user_exists", format!("`{username}` is taken")).with_status(409));
    }
    ctx.db.users().insert(User {
        id: 0,
        username,
        owner_id: ctx.sender,
    })
}

/// Appends a message to an agent session; returns its id.
#[reducer]
pub fn record_agent_message(
    ctx: &ReducerContext,
    session_id: String,
    role: String,
    content: String,
) -> Result<u64, Error> {
    if !matches!(role.as_str(), "user" | "assistant" | "system" | "tool") {
        return Err(Error::new(
            "invalid_role",
            "role is one of user, assistant, system, tool",
        )
        .with_status(422));
    }
    let message = ctx.db.agent_state().insert(AgentMessage {
        id: 0,
        session_id,
        role,
        content,
        created_at: ctx.timestamp,
    })?;
    Ok(message.id)
}

/// Deletes a message; returns whether it existed.
#[reducer]
pub fn delete_message(ctx: &ReducerContext, id: u64) -> Result<bool, Error> {
    Ok(ctx.db.agent_state().delete(&id)?.is_some())
}
