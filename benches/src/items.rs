//! The `items` workload shared by every benchmark: its table, its rows, and loading them.
//!
//! Every workload uses the same 5-column table, `items`:
//!
//! ```text
//! id          u64        primary key, auto-increment
//! owner       identity   32 bytes
//! name        string     24 ASCII characters
//! score       i64        a permutation of 0..n (so index order differs from insert order)
//! created_at  timestamp
//! ```
//!
//! An encoded row is 81 bytes (8 + 32 + 1 + 24 + 8 + 8). The optional secondary btree index
//! `items_score` on `score` serves the range-scan and index-lookup workloads.

use anyhow::Context;
use cosmictron_engine::{Database, Engine, EngineConfig};
use cosmictron_types::{Identity, ScalarType, TableDef, Timestamp, Value};

/// The table every workload uses.
pub const TABLE: &str = "items";
/// The secondary index on `score`.
pub const SCORE_INDEX: &str = "items_score";
/// Length of the `name` column's strings.
pub const NAME_LEN: usize = 24;

/// The `items` table, with or without the secondary index on `score`.
pub fn items_def(score_index: bool) -> TableDef {
    let def = TableDef::new(TABLE)
        .column("id", ScalarType::U64)
        .column("owner", ScalarType::Identity)
        .column("name", ScalarType::String)
        .column("score", ScalarType::I64)
        .column("created_at", ScalarType::Timestamp)
        .primary_key(&["id"])
        .auto_inc("id");
    if score_index {
        def.index(SCORE_INDEX, &["score"])
    } else {
        def
    }
}

/// SplitMix64: a cheap, deterministic source of varied bytes and keys.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A 32-byte owner identity derived from `i`.
pub fn owner_of(i: u64) -> Identity {
    let mut bytes = [0u8; 32];
    for (n, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(i.wrapping_mul(4).wrapping_add(n as u64)).to_le_bytes());
    }
    Identity(bytes)
}

/// The `score` of row `i` of an `n`-row load: a permutation of `0..n` (48271 is prime and
/// coprime with every `n` that is not a multiple of it), so each score occurs once.
pub fn score_of(i: u64, n: u64) -> i64 {
    let n = n.max(1);
    ((u128::from(i % n) * 48_271 % u128::from(n)) as u64) as i64
}

/// Row `i` of an `n`-row load, with `id` 0 so the engine assigns it.
pub fn item_row(i: u64, n: u64) -> Vec<Value> {
    let name = format!("player_{i:017}");
    debug_assert_eq!(name.len(), NAME_LEN);
    vec![
        Value::U64(0),
        Value::Identity(owner_of(i)),
        Value::String(name),
        Value::I64(score_of(i, n)),
        Value::Timestamp(Timestamp(crate::read_queries::CREATED_AT_BASE + i as i64)),
    ]
}

/// The encoded size of row `i` (what the engine stores as the row's bytes).
pub fn encoded_row_len(i: u64, n: u64) -> anyhow::Result<usize> {
    let def = items_def(false);
    let mut row = item_row(i, n);
    row[0] = Value::U64(i + 1);
    Ok(cosmictron_types::encode_row(&def.columns, &row)?.len())
}

/// Creates `items` and inserts `n` rows, `per_tx` rows per transaction.
pub fn load_items(db: &Database, n: u64, per_tx: u64, score_index: bool) -> anyhow::Result<()> {
    db.write(|tx| tx.create_table(items_def(score_index)))
        .context("create table")?;
    let per_tx = per_tx.max(1);
    let mut next = 0;
    while next < n {
        let end = (next + per_tx).min(n);
        db.write(|tx| {
            for i in next..end {
                tx.insert(TABLE, item_row(i, n))?;
            }
            Ok(())
        })
        .with_context(|| format!("insert rows {next}..{end}"))?;
        next = end;
    }
    Ok(())
}

/// A memory-only engine holding database `bench` with an `n`-row `items` table.
pub fn memory_db(n: u64, score_index: bool) -> anyhow::Result<(Engine, Database)> {
    let engine = Engine::in_memory(EngineConfig::in_memory());
    let db = engine.create_database("bench")?;
    load_items(&db, n, 10_000, score_index)?;
    Ok((engine, db))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_a_permutation_and_rows_encode_to_81_bytes() {
        let n = 1000;
        let mut seen: Vec<i64> = (0..n).map(|i| score_of(i, n)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..n as i64).collect::<Vec<_>>());
        assert_eq!(encoded_row_len(7, n).ok(), Some(81));
    }
}
