//! Session tokens: JWTs signed with HS256 and nothing else.
//!
//! The algorithm is pinned on both sides: a token whose header names another algorithm
//! (`none` included) is refused before its signature is looked at, `exp` and `sub` are
//! required, and expiry is checked with no leeway (we issue and check on one clock).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use cosmictron_types::Identity;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const SECRET_FILE: &str = "jwt-secret";
const SECRET_BYTES: usize = 64;

/// What a token says about its bearer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The identity, as 64 hex digits.
    pub(crate) sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub(crate) exp: u64,
    pub(crate) iat: u64,
    /// `user` (email account), `anonymous` or `admin`.
    pub(crate) kind: String,
}

/// Who a verified token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Authenticated {
    pub(crate) identity: Identity,
    pub(crate) admin: bool,
}

/// Issues and verifies session tokens with the server's secret.
pub(crate) struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Tokens {
    pub(crate) fn new(secret: &[u8], ttl_secs: u64) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    /// Reads the server's secret from the data directory, creating it (mode 0600) on first
    /// start.
    pub(crate) fn load_or_create(data_dir: &Path, ttl_secs: u64) -> Result<Tokens> {
        let path = data_dir.join(SECRET_FILE);
        let secret = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() >= 32 => bytes,
            Ok(_) => {
                return Err(Error::CorruptStore {
                    path: path.display().to_string(),
                    reason: "the JWT secret is shorter than 32 bytes".into(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = vec![0u8; SECRET_BYTES];
                rand::fill(&mut secret[..]);
                write_private(&path, &secret)?;
                secret
            }
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        Ok(Tokens::new(&secret, ttl_secs))
    }

    /// A token for `identity`, and its expiry (seconds since the epoch).
    pub(crate) fn issue(&self, identity: Identity, kind: &str) -> Result<(String, u64)> {
        let iat = unix_now();
        let exp = iat + self.ttl_secs;
        let claims = Claims {
            sub: identity.to_hex(),
            exp,
            iat,
            kind: kind.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| {
            Error::request(500, "internal", format!("cannot sign a token: {e}"))
        })?;
        Ok((token, exp))
    }

    /// Verifies signature, algorithm and expiry; `invalid_token` / `token_expired` otherwise.
    pub(crate) fn verify(&self, token: &str) -> Result<Authenticated> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Error::request(401, "token_expired", "the token has expired; sign in again")
                }
                _ => Error::request(401, "invalid_token", "the token is not valid"),
            })?;
        let identity = Identity::from_hex(&data.claims.sub)
            .map_err(|_| Error::request(401, "invalid_token", "the token is not valid"))?;
        Ok(Authenticated {
            identity,
            admin: data.claims.kind == "admin",
        })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io("write", path, e))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(&[7u8; 64], 3600)
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_identity() {
        let t = tokens();
        let id = Identity([9; 32]);
        let (token, exp) = t.issue(id, "user").expect("issue");
        assert!(exp > unix_now());
        let auth = t.verify(&token).expect("verify");
        assert_eq!(auth.identity, id);
        assert!(!auth.admin);
    }

    #[test]
    fn forged_tokens_are_refused() {
        let t = tokens();
        let id = Identity([9; 32]);
        let (token, _) = t.issue(id, "user").expect("issue");
        // Another key.
        let other = Tokens::new(&[8u8; 64], 3600);
        assert_eq!(
            other.verify(&token).expect_err("wrong key").code(),
            "invalid_token"
        );
        // `alg: none` with the same claims and no signature.
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
        let forged = format!("{none_header}.{}.", parts[1]);
        assert_eq!(
            t.verify(&forged).expect_err("alg none").code(),
            "invalid_token"
        );
        // A tampered payload under the original signature.
        let claims = format!(
            r#"{{"sub":"{}","exp":{},"iat":0,"kind":"admin"}}"#,
            id.to_hex(),
            unix_now() + 100
        );
        let tampered = format!("{}.{}.{}", parts[0], b64(claims.as_bytes()), parts[2]);
        assert_eq!(
            t.verify(&tampered).expect_err("tampered").code(),
            "invalid_token"
        );
        assert_eq!(
            t.verify("garbage").expect_err("garbage").code(),
            "invalid_token"
        );
    }

    #[test]
    fn expired_and_exp_less_tokens_are_refused() {
        let t = tokens();
        let key = EncodingKey::from_secret(&[7u8; 64]);
        let sub = Identity([1; 32]).to_hex();
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                sub: sub.clone(),
                exp: unix_now() - 10,
                iat: 0,
                kind: "user".into(),
            },
            &key,
        )
        .expect("encode");
        assert_eq!(
            t.verify(&expired).expect_err("expired").code(),
            "token_expired"
        );
        let no_exp = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": sub, "kind": "user"}),
            &key,
        )
        .expect("encode");
        assert_eq!(
            t.verify(&no_exp).expect_err("no exp").code(),
            "invalid_token"
        );
    }

    #[test]
    fn the_secret_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Tokens::load_or_create(dir.path(), 60).expect("create");
        let (token, _) = a.issue(Identity([2; 32]), "user").expect("issue");
        let b = Tokens::load_or_create(dir.path(), 60).expect("reload");
        assert!(b.verify(&token).is_ok(), "the same secret after a restart");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    fn b64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
