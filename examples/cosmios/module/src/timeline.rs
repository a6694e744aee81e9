//! The timeline and what hangs off it: every event is a row in `timeline`, and each webhook
//! subscribed to its kind gets a delivery row with the documented payload. Approvals are
//! timeline events with an `approval` state. Notification emails go to `email_outbox`.

use cosmictron_sdk::{Error, Identity, ReducerContext, Timestamp, reducer};
use serde_json::json;

use crate::common::{not_found, runner_run, text, wrong_state};
use crate::tables::*;

/// The event kinds webhooks may subscribe to.
pub(crate) const WEBHOOK_EVENTS: [&str; 6] = [
    "run.completed",
    "run.failed",
    "approval.requested",
    "machine.offline",
    "machine.online",
    "event.critical",
];

/// What an event is about (the fields of the webhook payload's `data`).
#[derive(Debug, Default)]
pub(crate) struct About<'a> {
    pub(crate) machine_id: Option<u64>,
    pub(crate) run: Option<&'a Run>,
}

/// RFC 3339 UTC with seconds, from microseconds since the epoch.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    let secs = t.0.div_euclid(1_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Records an event on `owner`'s timeline and queues a delivery for each of their webhooks
/// subscribed to `kind`. Returns the event.
pub(crate) fn emit(
    ctx: &ReducerContext,
    owner: Identity,
    kind: &str,
    message: String,
    about: About<'_>,
    approval: Option<&str>,
) -> Result<TimelineEvent, Error> {
    let event = ctx.db.timeline().insert(TimelineEvent {
        id: 0,
        owner,
        kind: kind.to_owned(),
        machine_id: about.machine_id.or(about.run.map(|r| r.machine_id)),
        run_id: about.run.map(|r| r.id),
        message,
        approval: approval.map(str::to_owned),
        created_at: ctx.timestamp,
    })?;
    let data = match about.run {
        Some(r) => {
            json!({"run_id": r.id, "workspace": r.workspace, "agent": r.agent, "status": r.status})
        }
        None => json!({"machine_id": event.machine_id, "event_id": event.id}),
    };
    let payload =
        json!({"event": kind, "timestamp": rfc3339(ctx.timestamp), "data": data}).to_string();
    for hook in ctx.db.webhooks().filter_by_owner(&owner)? {
        if hook.events.split(',').any(|e| e == kind) {
            ctx.db.webhook_deliveries().insert(Delivery {
                id: 0,
                webhook_id: hook.id,
                owner,
                event: kind.to_owned(),
                url: hook.url.clone(),
                payload: payload.clone(),
                status: "pending".to_owned(),
                attempts: 0,
                created_at: ctx.timestamp,
                status_code: None,
                error: None,
                finished_at: None,
            })?;
        }
    }
    Ok(event)
}

/// Queues a notification email to `owner`.
pub(crate) fn notify(
    ctx: &ReducerContext,
    owner: Identity,
    subject: String,
    body: String,
) -> Result<(), Error> {
    ctx.db.email_outbox().insert(Email {
        id: 0,
        owner,
        subject,
        body,
        created_at: ctx.timestamp,
    })?;
    Ok(())
}

/// The runner asks its owner for permission (e.g. an agent's tool call); returns the event id.
#[reducer]
pub fn request_approval(ctx: &ReducerContext, run: u64, message: String) -> Result<u64, Error> {
    let run = runner_run(ctx, run)?;
    let message = text("message", &message, 2_000)?;
    let about = About {
        machine_id: None,
        run: Some(&run),
    };
    Ok(emit(
        ctx,
        run.owner,
        "approval.requested",
        message,
        about,
        Some("pending"),
    )?
    .id)
}

/// The runner reports a critical event of a run.
#[reducer]
pub fn report_critical(ctx: &ReducerContext, run: u64, message: String) -> Result<u64, Error> {
    let run = runner_run(ctx, run)?;
    let message = text("message", &message, 2_000)?;
    let about = About {
        machine_id: None,
        run: Some(&run),
    };
    Ok(emit(ctx, run.owner, "event.critical", message, about, None)?.id)
}

/// Approves or rejects a pending approval request of `owner` (the caller, or an API key's
/// owner).
pub(crate) fn decide(
    ctx: &ReducerContext,
    owner: Identity,
    event: u64,
    decision: &str,
) -> Result<TimelineEvent, Error> {
    let mut e = match ctx.db.timeline().find(&event)? {
        Some(e) if e.owner == owner => e,
        _ => return Err(not_found("event", event)),
    };
    match e.approval.as_deref() {
        Some("pending") => {}
        Some(state) => return Err(wrong_state("event", event, state, decision)),
        None => return Err(wrong_state("event", event, "not an approval", decision)),
    }
    e.approval = Some(decision.to_owned());
    ctx.db.timeline().update(e.clone())
}

/// Approves a pending approval request.
#[reducer]
pub fn approve_event(ctx: &ReducerContext, event: u64) -> Result<TimelineEvent, Error> {
    decide(ctx, ctx.sender, event, "approved")
}

/// Rejects a pending approval request.
#[reducer]
pub fn reject_event(ctx: &ReducerContext, event: u64) -> Result<TimelineEvent, Error> {
    decide(ctx, ctx.sender, event, "rejected")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(rfc3339(Timestamp(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(Timestamp(1_772_884_800_000_000)),
            "2026-03-07T12:00:00Z"
        );
    }
}
