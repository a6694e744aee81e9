//! Incremental subscriptions: live SQL queries that push only what changed.
//!
//! A [`Subscriber`] (one client connection, connected through the per-database
//! [`Subscriptions`] manager) subscribes to a query and gets its rows as of a tx `T`; then,
//! for every later committed tx that changes any of its results, exactly one
//! [`TxUpdate`] with the rows that entered and left each of its subscriptions — in order, with
//! no gap and no repeat. Deltas come from the transaction's change set and index probes; the
//! query is never run again over whole tables. See `docs/subscriptions.md` for what can be
//! subscribed to and what each construct costs.
//!
//! Layout:
//! - `manager.rs`    [`Subscriptions`]: commit listener, worker thread, subscribe/unsubscribe
//! - `subscriber.rs` [`Subscriber`]: one connection's API
//! - `registry.rs`   groups of identical subscriptions, subscribers, recent change sets
//! - `queue.rs`      a subscriber's bounded event queue
//! - `fan_out.rs`    queueing a change for thousands of subscribers, on two threads
//! - `analyze.rs`    planned query → FROM part + stages, or `unsupported_subscription`
//! - `view.rs`       one maintained query: build at a snapshot, apply a change set
//! - `from_delta.rs` the FROM delta: filters, RLS, joins by index probes
//! - `aggregate.rs`  GROUP BY with COUNT/SUM/TOTAL/AVG/MIN/MAX
//! - `top_k.rs`      live ORDER BY … LIMIT
//! - `rows.rs`       signed rows, netting, the evaluation environment
//! - `config.rs`     [`SubscriptionConfig`]; `types.rs` the events and results
//!
//! # The life of a subscription update
//!
//! 1. A write transaction commits; once durable, the engine calls the manager's listener with
//!    its `ChangeSet` (`Shared::enqueue`). The listener only queues it (bounded by
//!    `pending_txs_max`): the committing thread evaluates nothing.
//! 2. The worker thread takes change sets in commit order (`Shared::process`) and, holding the
//!    registry lock, finds the maintained queries (`Group`s) reading a changed table.
//! 3. Each group's `View::apply` computes its delta once: the FROM delta (`from_delta.rs`:
//!    changed rows through the read policy and filters, joined by probing engine indexes at
//!    the snapshots before and after the tx), then the stages (projection, aggregation,
//!    DISTINCT, top-k), then hidden columns are dropped and equal rows netted.
//! 4. The delta is shared (`queue::Delta` behind an `Arc`) by every subscription of the group;
//!    each subscriber gets one queued update covering all its subscriptions (the rows are
//!    copied out only when it reads the event).
//! 5. The change set is kept in a bounded ring (`resume_txs_max`) and the worker's position
//!    moves to the tx. The registry lock is released and, holding only the `delivering` lock
//!    (which `unsubscribe` waits on), the worker queues the updates and notifies subscribers
//!    whose queue became non-empty — for a query with thousands of subscribers, half of them
//!    on the fan-out helper thread (`fan_out.rs`). A full queue makes the subscriber lag
//!    (`Registry::lag`): its subscriptions are dropped and it gets
//!    [`SubscriberEvent::Lagging`].
//!
//! # Subscribing without a race
//!
//! `subscribe` reads the initial result at a snapshot `T` without any lock, then takes the
//! registry lock and looks at the worker's position `P`. If the worker is behind (`P ≤ T`) the
//! subscription is told to skip the txs up to `T` it has yet to process. If the worker is
//! ahead (`P > T`), the change sets `T+1 … P` from the ring are applied to the new state and
//! to the result (or returned as missed updates when resuming) before it is installed. Either
//! way the result and the first update meet exactly, and since the worker needs the same lock
//! to move, nothing can slip between.

mod aggregate;
mod analyze;
mod config;
mod fan_out;
mod from_delta;
mod manager;
mod queue;
mod registry;
mod rows;
mod subscriber;
mod top_k;
mod types;
mod view;

pub use config::{BeforeInstall, SubscriptionConfig};
pub use manager::Subscriptions;
pub use subscriber::Subscriber;
pub use types::{Subscribed, SubscriberEvent, SubscriptionStats, SubscriptionUpdate, TxUpdate};
