//! Webhooks: subscriptions to timeline event kinds. The signing secret is returned once;
//! the relay (as the module's owner) reads it from the private `webhook_secrets` table to
//! sign deliveries (`X-Cosmios-Signature`, HMAC-SHA256), then reports each outcome with
//! `report_delivery`, proving it holds the webhook's secret.

use cosmictron_sdk::{Error, ReducerContext, reducer};
use serde_json::{Value as Json, json};

use crate::common::{digest, invalid, not_found, token, wrong_state};
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

const ATTEMPTS_MAX: u32 = 100;
const ERROR_CHARS_MAX: usize = 1_000;

/// The relay reports how a pending delivery ended: `delivered` (a 2xx answer) or `failed`
/// (every attempt failed), with the attempts made and the last HTTP status and error.
///
/// The module does not know who deployed it, so the caller proves it may report by giving
/// the webhook's signing secret: only the relay (the module's owner, who reads
/// `webhook_secrets`) and the webhook's creator (shown the secret once) hold it.
#[reducer]
pub fn report_delivery(
    ctx: &ReducerContext,
    delivery: u64,
    secret: String,
    delivered: bool,
    attempts: u32,
    status_code: Option<u32>,
    error: Option<String>,
) -> Result<Delivery, Error> {
    let mut d = ctx
        .db
        .webhook_deliveries()
        .find(&delivery)?
        .ok_or_else(|| not_found("delivery", delivery))?;
    let stored = ctx.db.webhook_secrets().find(&d.webhook_id)?;
    // Digests compared, not secrets: equal-length values, so the comparison's timing says
    // nothing about how much of a guess was right.
    if stored.is_none_or(|s| digest(&s.secret) != digest(&secret)) {
        return Err(not_found("delivery", delivery));
    }
    if d.status != "pending" {
        return Err(wrong_state("delivery", delivery, &d.status, "report"));
    }
    if attempts == 0 || attempts > ATTEMPTS_MAX {
        return Err(invalid("attempts", "must be 1 to 100"));
    }
    if status_code.is_some_and(|c| !(100..=599).contains(&c)) {
        return Err(invalid(
            "status_code",
            "must be an HTTP status (100 to 599)",
        ));
    }
    d.status = if delivered { "delivered" } else { "failed" }.to_owned();
    d.attempts = attempts;
    d.status_code = status_code;
    d.error = error.map(|e| e.chars().take(ERROR_CHARS_MAX).collect());
    d.finished_at = Some(ctx.timestamp);
    ctx.db.webhook_deliveries().update(d)
}
