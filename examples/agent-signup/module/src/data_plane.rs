//! The bucket's data plane, restricted while the project is unclaimed: `create_object`,
//! `upload_media`, `ai_generate`. Over a quota: 402 `agent_unclaimed_limit` (unclaimed) or
//! `plan_limit` (free tier).

use cosmictron_sdk::{Error, ReducerContext, reducer};
use serde_json::{Value as Json, json};

use crate::account::{project_of, signup_by_agent_key};
use crate::state::*;
use crate::tables::*;

const TITLE_LEN_MAX: usize = 200;
const PROMPT_LEN_MAX: usize = 4_000;

/// Adds an object to the bucket; returns its id and how many the bucket holds.
#[reducer]
pub fn create_object(
    ctx: &ReducerContext,
    agent_key: String,
    title: String,
) -> Result<Json, Error> {
    let signup = signup_by_agent_key(ctx, &agent_key)?;
    object_create(ctx, &signup, title)
}

pub(crate) fn object_create(ctx: &ReducerContext, signup: &Signup, title: String) -> Result<Json, Error> {
    let title = title.trim().to_owned();
    if title.is_empty() || title.chars().count() > TITLE_LEN_MAX {
        return Err(invalid("title", "must have 1 to 200 characters"));
    }
    let count = ctx
        .db
        .objects()
        .filter_by_project_id(&signup.project_id)?
        .len() as u64;
    let unclaimed = signup.claim_status == UNCLAIMED;
    let max = if unclaimed {
        UNCLAIMED_OBJECTS_MAX
    } else {
        FREE_OBJECTS_MAX
    };
    if count >= max {
        let message = format!("the bucket holds its maximum of {max} objects");
        return Err(if unclaimed {
            unclaimed_limit(
                "object_create",
                &format!("{message} while unclaimed; ask the human to claim it"),
            )
        } else {
            plan_limit("object_create", &message)
        });
    }
    let object = ctx.db.objects().insert(Object {
        id: 0,
        project_id: signup.project_id,
        title,
        created_at: ctx.timestamp,
    })?;
    Ok(json!({"id": object.id, "objects": count + 1}))
}

/// Records an upload of `bytes_len` bytes; returns the bucket's media total.
#[reducer]
pub fn upload_media(
    ctx: &ReducerContext,
    agent_key: String,
    bytes_len: u64,
) -> Result<Json, Error> {
    let signup = signup_by_agent_key(ctx, &agent_key)?;
    media_upload(ctx, &signup, bytes_len)
}

pub(crate) fn media_upload(ctx: &ReducerContext, signup: &Signup, bytes_len: u64) -> Result<Json, Error> {
    if bytes_len == 0 {
        return Err(invalid("bytes_len", "must be at least 1"));
    }
    let used: u64 = ctx
        .db
        .media()
        .filter_by_project_id(&signup.project_id)?
        .iter()
        .map(|m| m.bytes_len)
        .sum();
    let unclaimed = signup.claim_status == UNCLAIMED;
    let total_mb = if unclaimed {
        UNCLAIMED_MEDIA_MB_TOTAL
    } else {
        FREE_MEDIA_MB_TOTAL
    };
    let total_bytes = total_mb * BYTES_PER_MB;
    if used.saturating_add(bytes_len) > total_bytes {
        let message = format!("the upload would take the bucket past {total_mb} MB of media");
        return Err(if unclaimed {
            unclaimed_limit(
                "media_upload",
                &format!("{message} while unclaimed; ask the human to claim it"),
            )
        } else {
            plan_limit("media_upload", &message)
        });
    }
    let media = ctx.db.media().insert(Media {
        id: 0,
        project_id: signup.project_id,
        bytes_len,
        created_at: ctx.timestamp,
    })?;
    Ok(json!({"id": media.id, "media_bytes_total": used + bytes_len}))
}

/// Accepts an AI generation request (a generator service picks `ai_requests` up); disabled
/// while unclaimed, one credit each afterwards.
#[reducer]
pub fn ai_generate(ctx: &ReducerContext, agent_key: String, prompt: String) -> Result<Json, Error> {
    let signup = signup_by_agent_key(ctx, &agent_key)?;
    generate(ctx, &signup, prompt)
}

pub(crate) fn generate(ctx: &ReducerContext, signup: &Signup, prompt: String) -> Result<Json, Error> {
    if signup.claim_status == UNCLAIMED {
        return Err(unclaimed_limit(
            "ai_generate",
            "AI generation is disabled on unclaimed agent buckets. Ask the human to claim this \
             bucket to enable AI features.",
        ));
    }
    if prompt.trim().is_empty() || prompt.chars().count() > PROMPT_LEN_MAX {
        return Err(invalid("prompt", "must have 1 to 4000 characters"));
    }
    let mut project = project_of(ctx, signup)?;
    if project.ai_credits_used >= FREE_AI_CREDITS {
        return Err(plan_limit(
            "ai_generate",
            "the project has used its AI credits",
        ));
    }
    project.ai_credits_used += 1;
    let credits_remaining = FREE_AI_CREDITS - project.ai_credits_used;
    let project_id = project.id;
    ctx.db.projects().update(project)?;
    let request = ctx.db.ai_requests().insert(AiRequest {
        id: 0,
        project_id,
        prompt,
        created_at: ctx.timestamp,
    })?;
    Ok(json!({"request_id": request.id, "ai_credits_remaining": credits_remaining}))
}
