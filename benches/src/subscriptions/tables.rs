//! The subscribed tables: `t(id pk, grp indexed, val)` with n rows and `groups(id pk, name)`
//! with n/10, how they are loaded, and the single-row commit every measurement times.

use cosmictron_engine::Database;
use cosmictron_types::{ScalarType, TableDef, Value};

/// Rows of `t` per row of `groups` (the join's other side is a tenth of the size).
const GROUP_RATIO: u64 = 10;

/// Rows per transaction while loading.
const LOAD_BATCH: u64 = 20_000;

/// The filtered single-table subscription: about one row in a thousand matches.
pub const FILTER: &str = "SELECT id, val FROM t WHERE val % 1000 = 7";

/// The 2-table join subscription, with the same filter.
pub const JOIN: &str =
    "SELECT t.id, t.val, g.name FROM t JOIN groups g ON g.id = t.grp WHERE t.val % 1000 = 7";

/// Rows of `groups` for `n` rows of `t`.
fn groups_for(n: u64) -> u64 {
    (n / GROUP_RATIO).max(1)
}

pub(crate) fn create_tables(db: &Database) -> anyhow::Result<()> {
    db.write(|tx| {
        tx.create_table(
            TableDef::new("t")
                .column("id", ScalarType::U64)
                .column("grp", ScalarType::U64)
                .column("val", ScalarType::I64)
                .primary_key(&["id"])
                .index("t_grp", &["grp"])
                .public(),
        )?;
        tx.create_table(
            TableDef::new("groups")
                .column("id", ScalarType::U64)
                .column("name", ScalarType::String)
                .primary_key(&["id"])
                .public(),
        )
    })?;
    Ok(())
}

/// Loads `n` rows into `t` (`val` a permutation of `0..n`) and n/10 into `groups`.
pub(crate) fn load(db: &Database, n: u64) -> anyhow::Result<()> {
    let groups = groups_for(n);
    let mut start = 0;
    while start < n {
        let end = (start + LOAD_BATCH).min(n);
        db.write(|tx| {
            for id in start..end {
                let val = ((id * 7_919) % n) as i64;
                tx.insert(
                    "t",
                    vec![Value::U64(id), Value::U64(id % groups), Value::I64(val)],
                )?;
                if id < groups {
                    tx.insert(
                        "groups",
                        vec![Value::U64(id), Value::String(format!("group-{id}"))],
                    )?;
                }
            }
            Ok(())
        })?;
        start = end;
    }
    Ok(())
}

/// One single-row commit that moves row `id` into (`val % 1000 = 7`) or out of the
/// subscribed filter, so that every commit changes the subscribed result.
pub(crate) fn move_row(db: &Database, n: u64, id: u64, inside: bool) -> anyhow::Result<()> {
    let val = if inside {
        7 + 1000 * (id as i64 % 50)
    } else {
        8
    };
    db.write(|tx| {
        tx.update(
            "t",
            vec![
                Value::U64(id),
                Value::U64(id % groups_for(n)),
                Value::I64(val),
            ],
        )
    })?;
    Ok(())
}
