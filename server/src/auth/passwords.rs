//! Password hashing with argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane), on the
//! blocking pool, at most `concurrency` at once so a burst of sign-ins cannot eat every core
//! or all memory.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// Shortest and longest password accepted (argon2 handles any length; the cap bounds work).
/// Six, so the product documentation's own example (`"password": "secret"`) signs up.
pub(crate) const PASSWORD_MIN: usize = 6;
pub(crate) const PASSWORD_MAX: usize = 1024;

#[derive(Debug, Clone)]
pub(crate) struct PasswordHashing {
    permits: Arc<Semaphore>,
}

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| Error::request(500, "internal", format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub(crate) fn check_password_shape(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < PASSWORD_MIN || password.len() > PASSWORD_MAX {
        return Err(Error::request(
            422,
            "invalid_password",
            format!("a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters"),
        ));
    }
    Ok(())
}

impl PasswordHashing {
    pub(crate) fn new(concurrency: usize) -> PasswordHashing {
        PasswordHashing {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
    pub(crate) async fn hash(&self, password: String) -> Result<String> {
        self.run(move || {
            let mut salt = [0u8; 16];
            rand::fill(&mut salt);
            let salt = SaltString::encode_b64(&salt)
                .map_err(|e| Error::request(500, "internal", format!("salt: {e}")))?;
            argon2()?
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| Error::request(500, "internal", format!("hashing: {e}")))
        })
        .await
    }

    /// Whether `password` matches `phc` (the comparison inside argon2 is constant-time).
    pub(crate) async fn verify(&self, password: String, phc: String) -> Result<bool> {
        self.run(move || {
            let parsed = PasswordHash::new(&phc).map_err(|e| Error::CorruptStore {
                path: "accounts".into(),
                reason: format!("a stored password hash does not parse: {e}"),
            })?;
            Ok(argon2()?
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::request(503, "shutting_down", "the server is shutting down"))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::request(500, "internal", format!("hashing task: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let h = PasswordHashing::new(2);
        let a = h.hash("correct horse".into()).await.expect("hash");
        let b = h.hash("correct horse".into()).await.expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(
            h.verify("correct horse".into(), a.clone())
                .await
                .expect("verify")
        );
        assert!(!h.verify("wrong horse".into(), a).await.expect("verify"));
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert_eq!(
            check_password_shape("shrt").expect_err("short").code(),
            "invalid_password"
        );
        assert!(check_password_shape(&"x".repeat(2000)).is_err());
        assert!(check_password_shape("long enough").is_ok());
    }
}
