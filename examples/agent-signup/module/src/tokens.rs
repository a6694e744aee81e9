//! Access tokens: HS256 JWTs the module signs for an agent's shadow user, valid 14 days while
//! the project is unclaimed and 90 days once verified; revoked when a human claims it. The
//! data plane accepts one in place of the agent key. The signing key is made on first use and
//! kept in the private `module_secrets` table.

use cosmictron_sdk::{Error, ReducerContext};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::secrets::{base64url, hex, hmac_sha256};
use crate::state::{HUMAN_OWNED, UNCLAIMED};
use crate::tables::*;

const KEY_NAME: &str = "access_token_key";
const MICROS_PER_DAY: i64 = 86_400_000_000;
const UNCLAIMED_TTL_DAYS: i64 = 14;
const VERIFIED_TTL_DAYS: i64 = 90;

fn signing_key(ctx: &ReducerContext) -> Result<Vec<u8>, Error> {
    if let Some(secret) = ctx.db.module_secrets().find(&KEY_NAME.to_owned())? {
        return Ok(secret.value.into_bytes());
    }
    let value = hex(&ctx.random_bytes(32));
    ctx.db.module_secrets().insert(ModuleSecret {
        name: KEY_NAME.to_owned(),
        value: value.clone(),
    })?;
    Ok(value.into_bytes())
}

/// A fresh access token for the sign-up's shadow user.
pub(crate) fn issue(ctx: &ReducerContext, signup: &Signup) -> Result<String, Error> {
    let key = signing_key(ctx)?;
    let days = if signup.claim_status == UNCLAIMED {
        UNCLAIMED_TTL_DAYS
    } else {
        VERIFIED_TTL_DAYS
    };
    let now_secs = ctx.timestamp.0.div_euclid(1_000_000);
    let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({
        "sub": format!("signup:{}", signup.id),
        "iss": "agent_signup",
        "iat": now_secs,
        "exp": now_secs + days * MICROS_PER_DAY / 1_000_000,
    });
    let payload = base64url(claims.to_string().as_bytes());
    let signature = base64url(&hmac_sha256(&key, format!("{header}.{payload}").as_bytes()));
    Ok(format!("{header}.{payload}.{signature}"))
}

/// The sign-up a valid, unexpired access token belongs to (not after a human claimed it).
pub(crate) fn signup_of(ctx: &ReducerContext, token: &str) -> Result<Option<Signup>, Error> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    // The algorithm is pinned: only the header this module writes is accepted.
    if header != base64url(br#"{"alg":"HS256","typ":"JWT"}"#) {
        return Ok(None);
    }
    let Some(secret) = ctx.db.module_secrets().find(&KEY_NAME.to_owned())? else {
        return Ok(None);
    };
    let expected = base64url(&hmac_sha256(
        secret.value.as_bytes(),
        format!("{header}.{payload}").as_bytes(),
    ));
    if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        return Ok(None);
    }
    let Some(claims) = decode_base64url(payload)
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
    else {
        return Ok(None);
    };
    let now_secs = ctx.timestamp.0.div_euclid(1_000_000);
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now_secs) {
        return Ok(None);
    }
    let Some(id) = claims["sub"]
        .as_str()
        .and_then(|s| s.strip_prefix("signup:"))
        .and_then(|id| id.parse::<u64>().ok())
    else {
        return Ok(None);
    };
    Ok(ctx
        .db
        .signups()
        .find(&id)?
        .filter(|s| s.claim_status != HUMAN_OWNED))
}

fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        }))
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}
