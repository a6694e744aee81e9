//! Webhooks: subscriptions to timeline event kinds. The signing secret is returned once;
//! the relay (as the module's owner) reads it from the private `webhook_secrets` table to
//! sign deliveries (`X-Cosmios-Signature`, HMAC-SHA256), then reports each outcome.

use cosmictron_sdk::{Error, ReducerContext, reducer};
use serde_json::{Value as Json, json};

use crate::common::{invalid, not_found, token};
use crate::tables::*;
use crate::timeline::WEBHOOK_EVENTS;

/// Creates a webhook for the given event kinds; returns its id and signing secret (once).
#[reducer]
pub fn create_webhook(
    ctx: &ReducerContext,
    url: String,
    events: Vec<String>,
) -> Result<Json, Error> {
    let url = url.trim().to_owned();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2_048 {
        return Err(invalid(
            "url",
            "must be an http(s) URL of at most 2048 characters",
        ));
    }
    if events.is_empty() {
        return Err(invalid("events", "name at least one event"));
    }
    for e in &events {
        if !WEBHOOK_EVENTS.contains(&e.as_str()) {
            return Err(invalid("events", &format!("unknown event `{e}`")));
        }
    }
    let hook = ctx.db.webhooks().insert(Webhook {
        id: 0,
        owner: ctx.sender,
        url,
        events: events.join(","),
        created_at: ctx.timestamp,
    })?;
    let secret = token(ctx, "whsec_");
    ctx.db.webhook_secrets().insert(WebhookSecret {
        webhook_id: hook.id,
        secret: secret.clone(),
    })?;
    Ok(json!({"webhook_id": hook.id, "url": hook.url, "events": events, "secret": secret}))
}

/// Deletes a webhook with its secret and deliveries.
#[reducer]
pub fn delete_webhook(ctx: &ReducerContext, webhook: u64) -> Result<bool, Error> {
    match ctx.db.webhooks().find(&webhook)? {
        Some(h) if h.owner == ctx.sender => Ok(ctx.db.webhooks().delete(&webhook)?.is_some()),
        _ => Err(not_found("webhook", webhook)),
    }
}
