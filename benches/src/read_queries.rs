//! The read queries both SQL runners (`compare`'s reads and `sql_vs_sqlite`) send, word for
//! word, to Cosmictron and to SQLite, and the SQLite schema they run against.

/// Point lookup by primary key.
pub const SQL_POINT: &str = "SELECT id, owner, name, score, created_at FROM items WHERE id = $1";
/// Lookup through the secondary index on `score`.
pub const SQL_SECONDARY: &str =
    "SELECT id, owner, name, score, created_at FROM items WHERE score = $1";
/// A filter on a column without an index: every row is read, 1% are returned.
pub const SQL_FILTERED: &str = "SELECT id, name, score FROM items WHERE created_at < $1";
/// Each of the `picks` rows joined to the `items` row with its score.
pub const SQL_JOIN: &str =
    "SELECT p.label, i.id, i.name FROM picks p JOIN items i ON i.score = p.score";
/// 100 groups over every row.
pub const SQL_GROUP_BY: &str = "SELECT score % 100 AS bucket, COUNT(*) AS n, SUM(score) AS total FROM items GROUP BY score % 100";
/// Groups [`SQL_GROUP_BY`] yields.
pub const GROUPS: u64 = 100;

/// The first `created_at` of a load ([`item_row`](crate::item_row) counts microseconds up
/// from it).
pub const CREATED_AT_BASE: i64 = 1_700_000_000_000_000;

/// The `created_at` bound that [`SQL_FILTERED`] is given: the first 1% of `n` rows.
pub fn filter_bound(n: u64) -> i64 {
    CREATED_AT_BASE + (n / 100) as i64
}

/// SQLite's `items` (its `id` is the `INTEGER PRIMARY KEY`, the rowid) with the `score`
/// index, and `picks`.
pub const SQLITE_SCHEMA: &str = "
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        owner BLOB NOT NULL,
        name TEXT NOT NULL,
        score INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX items_score ON items (score);
    CREATE TABLE picks (id INTEGER PRIMARY KEY, score INTEGER NOT NULL, label TEXT NOT NULL);
";
