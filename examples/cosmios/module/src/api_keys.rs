//! User API keys for the REST API: `create_api_key(label)` returns a `csu_` key once (only
//! its SHA-256 is kept), `revoke_api_key(id)`; the routes find the key's owner by its digest.

use cosmictron_sdk::{Error, HttpRequest, Identity, ReducerContext, Timestamp, reducer, table};
use serde_json::{Value as Json, json};

use crate::common::{digest, not_found, text, token};

/// A user's API key. The owner sees their keys (label, digest, dates), never the key.
#[table(name = "api_keys", public)]
#[rls(read = "owner = $identity")]
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiKey {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index]
    pub owner: Identity,
    pub label: String,
    /// SHA-256 (hex) of the `csu_` key.
    #[unique]
    pub key_hash: String,
    pub created_at: Timestamp,
}

/// Creates an API key for the caller; the key is in this answer and nowhere else.
#[reducer]
pub fn create_api_key(ctx: &ReducerContext, label: String) -> Result<Json, Error> {
    let label = text("label", &label, 100)?;
    let key = token(ctx, "csu_");
    let row = ctx.db.api_keys().insert(ApiKey {
        id: 0,
        owner: ctx.sender,
        label,
        key_hash: digest(&key),
        created_at: ctx.timestamp,
    })?;
    Ok(json!({"id": row.id, "label": row.label, "api_key": key, "created_at": row.created_at}))
}

/// Deletes one of the caller's API keys; requests with it fail from then on.
#[reducer]
pub fn revoke_api_key(ctx: &ReducerContext, id: u64) -> Result<bool, Error> {
    match ctx.db.api_keys().find(&id)? {
        Some(k) if k.owner == ctx.sender => Ok(ctx.db.api_keys().delete(&id)?.is_some()),
        _ => Err(not_found("API key", id)),
    }
}

/// The owner of the request's `Authorization: Bearer csu_…` user key; 401 otherwise.
pub(crate) fn key_owner(ctx: &ReducerContext, req: &HttpRequest) -> Result<Identity, Error> {
    let unauthorized = || {
        Error::new(
            "unauthorized",
            "send `Authorization: Bearer csu_…` with an API key from the Developers page",
        )
        .with_status(401)
    };
    let key = req.bearer_token().ok_or_else(unauthorized)?;
    if !key.starts_with("csu_") {
        return Err(unauthorized());
    }
    // Looked up by the SHA-256 of a 256-bit key: the timing says nothing about the key.
    match ctx.db.api_keys().find_by_key_hash(&digest(key))? {
        Some(k) => Ok(k.owner),
        None => Err(unauthorized()),
    }
}
