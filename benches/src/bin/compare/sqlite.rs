//! SQLite's side: opening each configuration, the same two tables as Cosmictron's, and loading
//! the same rows.
//!
//! `items` maps column for column (`identity` → 32-byte BLOB, `timestamp` → INTEGER
//! microseconds); `id INTEGER PRIMARY KEY` is SQLite's rowid, its fastest key. The statements
//! use `$1`-style parameters, which SQLite numbers in order, so the same SQL text runs on both.

use std::path::Path;

use anyhow::{Context, bail};
use cosmictron_benches::item_row;
use cosmictron_types::Value;
use rusqlite::Connection;

use crate::systems::{SQLITE_FULL, SQLITE_MEMORY, SQLITE_NORMAL};

/// Which SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sqlite {
    Memory,
    WalFull,
    WalNormal,
}

impl Sqlite {
    pub(crate) fn system(self) -> &'static str {
        match self {
            Sqlite::Memory => SQLITE_MEMORY,
            Sqlite::WalFull => SQLITE_FULL,
            Sqlite::WalNormal => SQLITE_NORMAL,
        }
    }

    /// Opens (creating) `dir/bench.sqlite` in this configuration, or a `:memory:` database.
    pub(crate) fn open(self, dir: &Path) -> anyhow::Result<Connection> {
        let conn = match self {
            Sqlite::Memory => Connection::open_in_memory()?,
            Sqlite::WalFull | Sqlite::WalNormal => {
                let conn = Connection::open(dir.join("bench.sqlite"))?;
                let mode: String =
                    conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
                if !mode.eq_ignore_ascii_case("wal") {
                    bail!("SQLite refused WAL mode (journal_mode is {mode})");
                }
                let sync = if self == Sqlite::WalFull {
                    "FULL"
                } else {
                    "NORMAL"
                };
                conn.execute_batch(&format!("PRAGMA synchronous={sync}"))?;
                conn
            }
        };
        // Prepared statements are reused, as an application using rusqlite would.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }
}

pub(crate) use cosmictron_benches::read_queries::SQLITE_SCHEMA as SCHEMA;

pub(crate) const INSERT_ITEM: &str =
    "INSERT INTO items (owner, name, score, created_at) VALUES ($1, $2, $3, $4)";

/// Inserts one `items` row built by [`item_row`] (its `id` is left to SQLite).
pub(crate) fn insert_item(
    stmt: &mut rusqlite::CachedStatement<'_>,
    row: &[Value],
) -> anyhow::Result<()> {
    match row {
        [
            _,
            Value::Identity(owner),
            Value::String(name),
            Value::I64(score),
            Value::Timestamp(at),
        ] => {
            stmt.execute(rusqlite::params![&owner.0[..], name, score, at.0])?;
            Ok(())
        }
        other => bail!("not an items row: {other:?}"),
    }
}

/// Creates the schema and inserts `n` rows, `per_tx` rows per transaction.
pub(crate) fn load(conn: &mut Connection, n: u64, per_tx: u64) -> anyhow::Result<()> {
    conn.execute_batch(SCHEMA)
        .context("create the SQLite schema")?;
    let per_tx = per_tx.max(1);
    let mut next = 0;
    while next < n {
        let end = (next + per_tx).min(n);
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(INSERT_ITEM)?;
            for i in next..end {
                insert_item(&mut stmt, &item_row(i, n))?;
            }
        }
        tx.commit()?;
        next = end;
    }
    Ok(())
}

/// Fills `picks` with the rows [`crate::tables::pick_row`] gives Cosmictron.
pub(crate) fn load_picks(conn: &mut Connection, n: u64, picks: u64) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt =
            tx.prepare_cached("INSERT INTO picks (id, score, label) VALUES ($1, $2, $3)")?;
        for k in 0..picks {
            let (id, score, label) = crate::tables::pick(k, n, picks);
            stmt.execute(rusqlite::params![id as i64, score, label])?;
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_parameters_bind_in_order_and_rows_load() -> anyhow::Result<()> {
        let mut conn = Sqlite::Memory.open(Path::new("."))?;
        load(&mut conn, 50, 20)?;
        load_picks(&mut conn, 50, 5)?;
        let count: i64 = conn.query_row("SELECT count(*) FROM items", [], |r| r.get(0))?;
        assert_eq!(count, 50);
        // Row 8 (id 8) has the score item_row gave row index 7.
        let score: i64 =
            conn.query_row("SELECT score FROM items WHERE id = $1", [8], |r| r.get(0))?;
        assert_eq!(Some(Value::I64(score)), item_row(7, 50).get(3).cloned());
        let joined: i64 = conn.query_row(
            "SELECT count(*) FROM picks p JOIN items i ON i.score = p.score",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(joined, 5, "every pick matches one item");
        Ok(())
    }

    #[test]
    fn files_are_in_wal_mode_with_the_asked_synchronous() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let conn = Sqlite::WalNormal.open(dir.path())?;
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        assert_eq!(sync, 1, "NORMAL is 1");
        drop(conn);
        let conn = Sqlite::WalFull.open(dir.path())?;
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        assert_eq!(sync, 2, "FULL is 2");
        Ok(())
    }
}
