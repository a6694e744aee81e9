//! Accounts and magic links, kept in the server's own system database
//! (`<data-dir>/system/databases/auth`), so they are as durable as any module's data.
//!
//! Tables:
//! - `accounts(identity PK, email UNIQUE, password_hash NULL, admin, created_at)`:
//!   `password_hash` is an argon2id PHC string, NULL for accounts made by a magic link.
//! - `magic_links(token_hash PK, email, expires_at, used)`: only the SHA-256 of a link's
//!   token is stored; `used` makes it single-use.

use std::path::Path;

use cosmictron_engine::{Database, Engine, EngineConfig};
use cosmictron_types::{Identity, ScalarType, TableDef, Timestamp, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const ACCOUNTS: &str = "accounts";
const MAGIC_LINKS: &str = "magic_links";
const BY_EMAIL: &str = "accounts_email";

/// One account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Account {
    pub(crate) identity: Identity,
    pub(crate) email: String,
    pub(crate) password_hash: Option<String>,
    pub(crate) admin: bool,
}

#[derive(Debug)]
pub(crate) struct Accounts {
    // Kept so the system database's files stay open (and locked) while the server runs.
    _engine: Engine,
    db: Database,
}

/// Lower-cased and trimmed; refused unless it looks like `local@domain`.
pub(crate) fn normalize_email(email: &str) -> Result<String> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.matches('@').count() == 1;
    if valid {
        Ok(e)
    } else {
        Err(Error::request(
            422,
            "invalid_email",
            "that is not an email address",
        ))
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn now_micros() -> i64 {
    i64::try_from(crate::auth::jwt::unix_now()).unwrap_or(i64::MAX / 1_000_000) * 1_000_000
}

fn account_from_row(row: Vec<Value>) -> Option<Account> {
    let mut it = row.into_iter();
    match (it.next(), it.next(), it.next(), it.next()) {
        (
            Some(Value::Identity(identity)),
            Some(Value::String(email)),
            Some(hash),
            Some(Value::Bool(admin)),
        ) => Some(Account {
            identity,
            email,
            password_hash: match hash {
                Value::String(h) => Some(h),
                _ => None,
            },
            admin,
        }),
        _ => None,
    }
}

impl Accounts {
    /// Opens (creating on first start) the system database under `<data-dir>/system`.
    pub(crate) fn open(data_dir: &Path) -> Result<Accounts> {
        let engine = Engine::open(data_dir.join("system"), EngineConfig::default())?;
        let db = engine.database_or_create("auth")?;
        if db.table_names().is_empty() {
            db.write(|tx| {
                tx.create_table(
                    TableDef::new(ACCOUNTS)
                        .column("identity", ScalarType::Identity)
                        .column("email", ScalarType::String)
                        .nullable_column("password_hash", ScalarType::String)
                        .column("admin", ScalarType::Bool)
                        .column("created_at", ScalarType::Timestamp)
                        .primary_key(&["identity"])
                        .unique(BY_EMAIL, &["email"]),
                )?;
                tx.create_table(
                    TableDef::new(MAGIC_LINKS)
                        .column("token_hash", ScalarType::Bytes)
                        .column("email", ScalarType::String)
                        .column("expires_at", ScalarType::Timestamp)
                        .column("used", ScalarType::Bool)
                        .primary_key(&["token_hash"]),
                )?;
                Ok(())
            })?;
        }
        Ok(Accounts {
            _engine: engine,
            db,
        })
    }

    pub(crate) fn by_email(&self, email: &str) -> Result<Option<Account>> {
        let rows =
            self.db
                .snapshot()?
                .find(ACCOUNTS, BY_EMAIL, &[Value::String(email.to_owned())])?;
        Ok(rows.into_iter().next().and_then(account_from_row))
    }

    pub(crate) fn count(&self) -> Result<u64> {
        Ok(self.db.snapshot()?.count(ACCOUNTS)?)
    }

    /// Creates an account; 409 `user_already_exists` when the email is taken.
    pub(crate) fn create(
        &self,
        email: &str,
        password_hash: Option<String>,
        admin: bool,
    ) -> Result<Account> {
        let mut id = [0u8; 32];
        rand::fill(&mut id);
        let account = Account {
            identity: Identity(id),
            email: email.to_owned(),
            password_hash,
            admin,
        };
        self.db
            .write(|tx| {
                if !tx
                    .find(ACCOUNTS, BY_EMAIL, &[Value::String(email.to_owned())])?
                    .is_empty()
                {
                    return Ok(false);
                }
                tx.insert(ACCOUNTS, account_row(&account))?;
                Ok(true)
            })?
            .0
            .then_some(account)
            .ok_or_else(|| {
                Error::request(
                    409,
                    "user_already_exists",
                    "an account with that email exists",
                )
            })
    }

    /// Creates the account, or makes an existing one an admin with this password.
    pub(crate) fn upsert_admin(&self, email: &str, password_hash: String) -> Result<Account> {
        let existing = self.by_email(email)?;
        match existing {
            None => self.create(email, Some(password_hash), true),
            Some(mut account) => {
                account.password_hash = Some(password_hash);
                account.admin = true;
                self.db
                    .write(|tx| tx.update(ACCOUNTS, account_row(&account)))?;
                Ok(account)
            }
        }
    }

    /// Stores a magic link for `email` valid for `ttl_secs`; returns the token to send.
    pub(crate) fn create_magic_link(&self, email: &str, ttl_secs: u64) -> Result<String> {
        let mut raw = [0u8; 32];
        rand::fill(&mut raw);
        let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2_000_000) * 1_000_000;
        self.db.write(|tx| {
            tx.insert(
                MAGIC_LINKS,
                vec![
                    Value::Bytes(sha256(token.as_bytes())),
                    Value::String(email.to_owned()),
                    Value::Timestamp(Timestamp(now_micros().saturating_add(ttl))),
                    Value::Bool(false),
                ],
            )
        })?;
        Ok(token)
    }

    /// Consumes a magic link (once): its email, or 401 `invalid_magic_link`.
    pub(crate) fn consume_magic_link(&self, token: &str) -> Result<String> {
        let key = [Value::Bytes(sha256(token.trim().as_bytes()))];
        let refused = || {
            Error::request(
                401,
                "invalid_magic_link",
                "the link is invalid, used or expired",
            )
        };
        let email =
            self.db.write(|tx| {
                let Some(row) = tx.get(MAGIC_LINKS, &key)? else {
                    return Ok(None);
                };
                let (
                    Some(Value::String(email)),
                    Some(Value::Timestamp(exp)),
                    Some(Value::Bool(used)),
                ) = (
                    row.get(1).cloned(),
                    row.get(2).cloned(),
                    row.get(3).cloned(),
                )
                else {
                    return Ok(None);
                };
                if used || exp.0 <= now_micros() {
                    return Ok(None);
                }
                let mut used_row = row;
                used_row[3] = Value::Bool(true);
                tx.update(MAGIC_LINKS, used_row)?;
                Ok(Some(email))
            })?;
        email.0.ok_or_else(refused)
    }
}

fn account_row(a: &Account) -> Vec<Value> {
    vec![
        Value::Identity(a.identity),
        Value::String(a.email.clone()),
        a.password_hash.clone().map_or(Value::Null, Value::String),
        Value::Bool(a.admin),
        Value::Timestamp(Timestamp(now_micros())),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").expect("ok"),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@x.io",
            "ann@",
            "ann@localhost",
            "a b@x.io",
            "a@@x.io",
            "a@x.io.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accounts_are_unique_by_email_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = {
            let a = Accounts::open(dir.path()).expect("open");
            let acc = a
                .create("ann@x.io", Some("h".into()), false)
                .expect("create");
            let dup = a.create("ann@x.io", None, false).expect_err("duplicate");
            assert_eq!(dup.code(), "user_already_exists");
            acc.identity
        };
        let a = Accounts::open(dir.path()).expect("reopen");
        let found = a.by_email("ann@x.io").expect("read").expect("exists");
        assert_eq!(found.identity, id);
        assert_eq!(found.password_hash.as_deref(), Some("h"));
        assert_eq!(a.count().expect("count"), 1);
    }

    #[test]
    fn magic_links_are_single_use_and_expire() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Accounts::open(dir.path()).expect("open");
        let token = a.create_magic_link("ann@x.io", 60).expect("link");
        assert_eq!(token.len(), 64);
        assert_eq!(a.consume_magic_link(&token).expect("first use"), "ann@x.io");
        assert_eq!(
            a.consume_magic_link(&token).expect_err("second").code(),
            "invalid_magic_link"
        );
        assert!(a.consume_magic_link("nope").is_err());
        let expired = a.create_magic_link("bob@x.io", 0).expect("link");
        assert_eq!(
            a.consume_magic_link(&expired).expect_err("expired").code(),
            "invalid_magic_link"
        );
    }
}
