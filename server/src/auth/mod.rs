//! Authentication: email + password accounts (argon2id), magic links, anonymous identities,
//! and the JWT session tokens all of them end in.
//!
//! - `jwt.rs`       [`Tokens`]: HS256-only tokens with required expiry
//! - `passwords.rs` argon2id hashing on the blocking pool, with a concurrency cap
//! - `accounts.rs`  accounts and magic links in the server's system database
//! - `mailer.rs`    magic-link delivery: the SMTP relay, or the outbox directory
//! - `smtp.rs`      a minimal SMTP client for the relay

mod accounts;
mod jwt;
mod mailer;
mod passwords;
mod smtp;

use cosmictron_types::Identity;
use serde::Serialize;

pub(crate) use jwt::{Authenticated, Tokens};

use crate::config::ServerConfig;
use crate::error::{Error, Result};
use accounts::{Accounts, normalize_email};
use mailer::Mailer;
use passwords::{PasswordHashing, check_password_shape};

/// 422 `invalid_email` unless `email` looks like an address.
pub(crate) fn check_email(email: &str) -> Result<()> {
    normalize_email(email).map(|_| ())
}

/// The answer to every successful sign-in: `{token, identity, expires_at}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Session {
    pub(crate) token: String,
    pub(crate) identity: String,
    pub(crate) expires_at: u64,
}

#[derive(Debug)]
pub(crate) struct Auth {
    accounts: Accounts,
    tokens: Tokens,
    passwords: PasswordHashing,
    mailer: Mailer,
    magic_link_ttl_secs: u64,
    /// A hash to verify against when the account does not exist, so sign-in takes as long
    /// either way (no account enumeration by timing).
    dummy_hash: String,
    /// The configured admin account, if any.
    admin: Option<Identity>,
}

impl Auth {
    /// Opens the account store and the token secret; creates the configured admin account.
    pub(crate) async fn open(config: &ServerConfig) -> Result<Auth> {
        let dir = config.data_dir.clone();
        let accounts = tokio::task::spawn_blocking(move || Accounts::open(&dir))
            .await
            .map_err(|e| Error::request(500, "internal", e.to_string()))??;
        let passwords = PasswordHashing::new(config.password_hash_concurrency);
        let dummy_hash = passwords.hash("not a password of anyone".into()).await?;
        let auth = Auth {
            accounts,
            tokens: Tokens::load_or_create(&config.data_dir, config.token_ttl_secs)?,
            passwords,
            mailer: Mailer::new(&config.data_dir, config.smtp.as_ref()),
            magic_link_ttl_secs: config.magic_link_ttl_secs,
            dummy_hash,
            admin: None,
        };
        let mut auth = auth;
        if let (Some(email), Some(password)) = (&config.admin_email, &config.admin_password) {
            let email = normalize_email(email)?;
            check_password_shape(password)?;
            let hash = auth.passwords.hash(password.clone()).await?;
            let account = auth.accounts.upsert_admin(&email, hash)?;
            auth.admin = Some(account.identity);
            tracing::info!(%email, "admin account ready");
        }
        Ok(auth)
    }

    pub(crate) fn verify_token(&self, token: &str) -> Result<Authenticated> {
        self.tokens.verify(token)
    }

    fn session(&self, identity: Identity, kind: &str) -> Result<Session> {
        let (token, expires_at) = self.tokens.issue(identity, kind)?;
        Ok(Session {
            token,
            identity: identity.to_hex(),
            expires_at,
        })
    }

    pub(crate) async fn sign_up(&self, email: &str, password: String) -> Result<Session> {
        let email = normalize_email(email)?;
        check_password_shape(&password)?;
        if self.accounts.by_email(&email)?.is_some() {
            return Err(Error::request(
                409,
                "user_already_exists",
                "an account with that email exists",
            ));
        }
        let hash = self.passwords.hash(password).await?;
        let account = self.accounts.create(&email, Some(hash), false)?;
        self.session(account.identity, "user")
    }

    pub(crate) async fn sign_in(&self, email: &str, password: String) -> Result<Session> {
        let refused = || Error::request(401, "invalid_credentials", "wrong email or password");
        let Ok(email) = normalize_email(email) else {
            return Err(refused());
        };
        if password.len() > passwords::PASSWORD_MAX {
            return Err(refused());
        }
        let account = self.accounts.by_email(&email)?;
        let hash = account
            .as_ref()
            .and_then(|a| a.password_hash.clone())
            .unwrap_or_else(|| self.dummy_hash.clone());
        let matches = self.passwords.verify(password, hash).await?;
        match account {
            Some(a) if matches && a.password_hash.is_some() => {
                self.session(a.identity, if a.admin { "admin" } else { "user" })
            }
            _ => Err(refused()),
        }
    }

    /// Sends a sign-in link to `email`. The caller answers 202 whatever happens here, so
    /// nobody can learn which addresses have accounts.
    pub(crate) fn send_magic_link(&self, email: &str, public_url: &str) -> Result<()> {
        let email = normalize_email(email)?;
        let token = self
            .accounts
            .create_magic_link(&email, self.magic_link_ttl_secs)?;
        let minutes = self.magic_link_ttl_secs.div_ceil(60);
        let body = format!(
            "Sign in to Cosmictron with this link (valid for {minutes} min, usable once):\r\n\r\n\
             {public_url}/?magic_token={token}\r\n\r\nOr POST {{\"token\": \"{token}\"}} to \
             {public_url}/v1/auth/magic-link/verify\r\n"
        );
        self.mailer
            .send(&email, "Your Cosmictron sign-in link", &body)?;
        Ok(())
    }

    /// Exchanges a magic-link token (once) for a session; makes the account on first use.
    pub(crate) fn verify_magic_link(&self, token: &str) -> Result<Session> {
        let email = self.accounts.consume_magic_link(token)?;
        let account = match self.accounts.by_email(&email)? {
            Some(a) => a,
            None => match self.accounts.create(&email, None, false) {
                Ok(a) => a,
                // Created concurrently by another verify: use it.
                Err(_) => self.accounts.by_email(&email)?.ok_or_else(|| {
                    Error::request(500, "internal", "the account vanished while signing in")
                })?,
            },
        };
        self.session(
            account.identity,
            if account.admin { "admin" } else { "user" },
        )
    }

    /// A fresh identity with no account: for machines and quick starts.
    pub(crate) fn anonymous(&self) -> Result<Session> {
        let mut id = [0u8; 32];
        rand::fill(&mut id);
        self.session(Identity(id), "anonymous")
    }

    /// The configured admin account's identity.
    pub(crate) fn admin(&self) -> Option<Identity> {
        self.admin
    }

    pub(crate) fn account_count(&self) -> Result<u64> {
        self.accounts.count()
    }
}
