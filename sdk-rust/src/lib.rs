//! cosmictron-sdk: write Cosmictron modules — tables and reducers in Rust, built with
//! `cargo build --target wasm32-unknown-unknown --release` and deployed to a Cosmictron host.
//!
//! ```ignore
//! use cosmictron_sdk::{reducer, table, Error, ReducerContext};
//!
//! #[table(name = "items", public)]
//! #[rls(read = "true")]
//! pub struct Item {
//!     #[primary_key] #[auto_inc] pub id: u64,
//!     #[unique] pub name: String,
//!     pub qty: i64,
//! }
//!
//! #[reducer]
//! pub fn add_item(ctx: &ReducerContext, name: String, qty: i64) -> Result<Item, Error> {
//!     if qty < 0 {
//!         return Err(Error::new("negative_quantity", "qty must be ≥ 0").with_status(422));
//!     }
//!     ctx.db.items().insert(Item { id: 0, name, qty })
//! }
//! ```
//!
//! - `#[table(name = "...", public, event)]` on a struct with named fields; field attributes
//!   `#[primary_key]`, `#[auto_inc]`, `#[index]`, `#[unique]`, `#[pii]`,
//!   `#[fk(table.column)]` (optionally `on_delete = cascade`); after it any number of
//!   `#[rls(read = "...", write = "...")]` and of `#[index(name = "...", columns(a, b),
//!   unique?)]` (multi-column indexes). Generates [`Table`] (and [`PrimaryKey`]) and a
//!   `<Struct>TableAccess` trait giving `ctx.db.<name>()` → [`TableHandle`] (insert,
//!   find/update/delete by primary key, iter, count), plus a `<Struct>Indexes` trait with
//!   `find_by_<column>` for `#[unique]` and `filter_by_<column>` for `#[index]` columns,
//!   `range_by_<column>(a..b)` for both, and `filter_by_<index>(&a, &b)` for multi-column
//!   indexes.
//! - `#[reducer]` on `fn(ctx: &ReducerContext, args...) -> Result<T, Error>`: arguments are
//!   any serde types, passed by name as a JSON object or a MessagePack map; `T` is any serde
//!   type, returned to the caller. Any error rolls the call's transaction back. Lifecycle
//!   reducers take only `ctx`: `#[reducer(init)]` (once, at the first deploy),
//!   `#[reducer(client_connected)]` and `#[reducer(client_disconnected)]` (with
//!   `ctx.connection_id`).
//! - `#[route(GET, "/items/:id", read_only?, rate_limit(requests = 60, window_secs = 60,
//!   key = "ip" | "identity" | "header:<name>")?)]` on
//!   `fn(ctx: &ReducerContext, req: &HttpRequest) -> Result<HttpResponse, Error>`: an HTTP
//!   route, served at `/m/<module>/items/:id` (and at the root when the server exposes the
//!   module). One transaction per request; a response of 400 or more rolls back unless it
//!   [`keep_writes`](HttpResponse::keep_writes); `read_only` handlers run on a snapshot.
//! - `#[view]` (or `#[view(public)]`) on `fn(ctx: &ReducerContext) -> Vec<T>` (or
//!   `Result<Vec<T>, Error>`): a read-only function SQL reads as a table named after it
//!   (`SELECT * FROM active_sessions WHERE …`), computed on the query's snapshot with
//!   `ctx.sender` the caller. `T` is a `#[table]` struct or a struct with
//!   `#[derive(ViewRow)]`. Without `public` only the module's owner can read it, as for
//!   tables; a view reads every table (it is module code), so it filters by `ctx.sender`
//!   itself. Writes fail with `read_only`.
//! - [`ReducerContext`]: `sender`, `timestamp`, `connection_id`, `db`; `random_bytes`,
//!   `log`; `schedule_at` / `schedule_in` / `schedule_repeating` / `cancel_schedule` (a
//!   scheduled call runs later in a transaction of its own, as the module).
//! - Write policies (`#[rls(write = "...")]`) are enforced by the host on every insert, update
//!   and delete a client's call makes: a refused write is an [`Error`] with code
//!   `write_policy_violation`.
//!
//! The host interface is documented in `docs/module-abi.md` (import namespace
//! `cosmictron_v1`). Off wasm32 the SDK compiles, but every host call fails.
//!
//! Layout:
//! - `error.rs`    [`Error`]: code, message, details, HTTP status
//! - `column.rs`   [`Column`]: Rust field types ↔ engine values
//! - `table.rs`    [`Table`], [`PrimaryKey`], [`Db`], [`TableHandle`]
//! - `context.rs`  [`ReducerContext`]
//! - `http.rs`     [`HttpRequest`], [`HttpResponse`]: what a `#[route]` handler gets and answers
//! - `view.rs`     [`ViewRow`], [`ViewOutput`]: what a `#[view]` returns
//! - `registry.rs` the registry and the `__cosmictron_describe` / `__cosmictron_call` exports
//! - `sys.rs`      the raw `cosmictron_v1` imports

mod column;
mod context;
mod error;
mod http;
mod registry;
mod sys;
mod table;
mod view;

pub use column::Column;
pub use context::{ReducerContext, ScheduleId};
pub use cosmictron_sdk_macros::{ViewRow, reducer, route, table, view};
pub use cosmictron_types::{ConnectionId, Identity, TableDef, Timestamp, Value};
pub use error::Error;
pub use http::{HttpRequest, HttpResponse};
pub use registry::ABI_VERSION;
pub use sys::LogLevel;
pub use table::{Db, PrimaryKey, Table, TableHandle};
pub use view::{ViewOutput, ViewRow};

/// What the generated code uses; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::{
        RawArgs, ReducerInfo, RouteInfo, ViewInfo, bad_row, decode_args, encode_result,
        register_reducer, register_route, register_table, register_view,
    };
    pub use crate::view::encode_view;
    pub use cosmictron_types::{ColumnDef, OnDelete};
    pub use serde;
}
