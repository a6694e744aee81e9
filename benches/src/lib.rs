//! cosmictron-benches: the engine's criterion micro-benchmarks, the target runner and the
//! side-by-side comparison with SQLite — and what they share.
//!
//! - `cargo bench -p cosmictron-benches --bench engine`: criterion micro-benchmarks of hot
//!   paths of the native engine API.
//! - `cargo run --release -p cosmictron-benches --bin engine_targets`: the engine against its
//!   performance targets, with same-run baselines (a `BTreeMap`, a raw fsync loop).
//! - `cargo run --release -p cosmictron-benches --bin compare -- [--quick] [--out DIR]`: the
//!   same workloads on Cosmictron (native API, SQL, WASM reducers) and on SQLite (in memory,
//!   and a WAL-mode file with `synchronous=FULL` and `NORMAL`), plus Cosmictron's subscription
//!   workloads, reported as a Markdown table, `results.json` and SVG charts; `--only SECTION`
//!   runs a part. See `docs/performance.md`.
//! - `cargo run --release -p cosmictron-benches --bin subscriptions`: the subscription
//!   workloads alone, against their targets.
//! - `cargo run --release -p cosmictron-benches --bin sql_vs_sqlite -- [--quick] [--out DIR]`:
//!   five read queries through `cosmictron-sql` against SQLite in memory, same SQL text.
//!
//! Layout:
//! - `items.rs`    the `items` table, its rows, and loading them into a database
//! - `stats.rs`    medians, percentiles, ratios; timing and resident memory
//! - `results.rs`  [`Measurement`], `results.json` and the Markdown table
//! - `read_queries.rs` the read queries and SQLite schema both SQL runners use
//! - `raw_http.rs` a lean keep-alive HTTP/1.1 load client (`server_load`)
//! - `chart/`      [`LineChart`]: line charts as SVG, drawn with `plotters`
//! - `interleaved.rs` interleaved rounds of read workloads across systems (`compare`'s reads
//!   and `sql_vs_sqlite`)
//! - `subscriptions/` subscription cost by table size and fan-out latency (shared by the
//!   `subscriptions` and `compare` runners)
//! - `bin/engine_targets.rs`  the target runner
//! - `bin/subscriptions.rs`   the subscription runner
//! - `bin/server_load.rs`     the server's load generator
//! - `bin/compare/`           the comparison runner (its `main.rs` lists its files)
//! - `bin/sql_vs_sqlite.rs`   SQL against SQLite: lookups, scan, join, GROUP BY
//! - `modules/bench_items/`   the WASM module the comparison deploys (built for wasm32 by it)

mod chart;
pub mod interleaved;
mod items;
pub mod raw_http;
pub mod read_queries;
mod results;
mod stats;
pub mod subscriptions;

pub use chart::{Axis, LineChart, Series};
pub use items::{
    NAME_LEN, SCORE_INDEX, TABLE, encoded_row_len, item_row, items_def, load_items, memory_db, mix,
    owner_of, score_of,
};
pub use results::{Measurement, SystemColumn, higher_is_better, human, markdown_table, to_json};
pub use stats::{median, percentile, ratio, rss_bytes, timed};
