//! Cosmictron's side of the data: `items` with its `score` index (as in every benchmark) and
//! `picks`, the small table the join workload joins to it, plus the queries both systems run.

use cosmictron_benches::{TABLE, items_def, load_items};
use cosmictron_engine::Database;
use cosmictron_types::{ScalarType, TableDef, Value};

pub(crate) const PICKS: &str = "picks";

pub(crate) use cosmictron_benches::read_queries::{
    GROUPS, SQL_FILTERED, SQL_GROUP_BY, SQL_JOIN, SQL_POINT, SQL_SECONDARY, filter_bound,
};

pub(crate) fn picks_def() -> TableDef {
    TableDef::new(PICKS)
        .column("id", ScalarType::U64)
        .column("score", ScalarType::I64)
        .column("label", ScalarType::String)
        .primary_key(&["id"])
}

/// Pick `k` of `picks` over an `n`-row load: (id, score, label); scores spread evenly over
/// `0..n`, so each matches exactly one item.
pub(crate) fn pick(k: u64, n: u64, picks: u64) -> (u64, i64, String) {
    let step = (n / picks.max(1)).max(1);
    (k + 1, (k * step % n.max(1)) as i64, format!("pick {k}"))
}

/// Creates `items` (with the `score` index) holding `n` rows and `picks` holding `picks` rows.
pub(crate) fn load(db: &Database, n: u64, per_tx: u64, picks: u64) -> anyhow::Result<()> {
    load_items(db, n, per_tx, true)?;
    db.write(|tx| {
        tx.create_table(picks_def())?;
        for k in 0..picks {
            let (id, score, label) = pick(k, n, picks);
            tx.insert(
                PICKS,
                vec![Value::U64(id), Value::I64(score), Value::String(label)],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The `items` definition every Cosmictron workload uses (with the `score` index, as the
/// module's table and SQLite's have).
pub(crate) fn items() -> TableDef {
    items_def(true)
}

/// The table name, for the native workloads.
pub(crate) const ITEMS: &str = TABLE;

#[cfg(test)]
mod tests {
    use super::*;
    use cosmictron_benches::item_row;

    #[test]
    fn picks_hit_distinct_items_and_the_filter_keeps_one_percent() {
        let (n, picks) = (10_000, 100);
        let mut scores: Vec<i64> = (0..picks).map(|k| pick(k, n, picks).1).collect();
        scores.dedup();
        assert_eq!(scores.len(), picks as usize);
        assert!(scores.iter().all(|s| (0..n as i64).contains(s)));
        let bound = filter_bound(n);
        let kept = (0..n)
            .filter(|&i| matches!(item_row(i, n)[4], Value::Timestamp(t) if t.0 < bound))
            .count();
        assert_eq!(kept, 100);
    }
}
