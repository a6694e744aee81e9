//! Incremental subscriptions measured through the embedded API of `cosmictron-sql`
//! (`Subscriptions`, one client per subscriber): what a single-row commit costs with a
//! subscription as the table grows, and how long an update takes to reach 1 to 10,000
//! subscribers. The standalone `subscriptions` runner and the `compare` runner both measure
//! with this code and differ only in how they report.
//!
//! Engines run in memory (no fsync), so the numbers are the subscription machinery's, not the
//! disk's.
//!
//! Layout:
//! - `tables.rs`      the subscribed tables, loading them, the commit that changes a result,
//!   the two subscribed queries
//! - `commit_cost.rs` one single-row commit with no, a filtered or a join subscription, by
//!   table size
//! - `fan_out.rs`     commit-to-delivery latency by number of subscribers, of one shared query
//!   or of distinct ones

mod commit_cost;
mod fan_out;
mod tables;

pub use commit_cost::{CommitCost, CommitRound, Subscribed, commit_costs};
pub use fan_out::{FanOut, fan_out};
pub use tables::{FILTER, JOIN};
