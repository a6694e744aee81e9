//! Views: names a query reads as tables whose rows come from outside the engine — in
//! Cosmictron, a module's `#[view]` functions. This crate only sees the [`ViewSource`] trait;
//! the embedder implements it and passes it to [`SqlEngine::query_with_views`].
//!
//! A view is resolved while binding, after the tables (a table of the same name wins; modules
//! cannot declare both). Its rows are computed once per query, on the query's snapshot
//! (`AS OF TX` included), for the query's caller, and then flow through the plan like a
//! subquery's rows: filters, joins, aggregates and ORDER BY all apply.
//!
//! [`SqlEngine::query_with_views`]: crate::SqlEngine::query_with_views

use std::sync::Arc;

use cosmictron_engine::Snapshot;
use cosmictron_types::{ColumnDef, Value};

use crate::config::Caller;

/// A view as the binder sees it: its name and columns.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewDef {
    pub name: String,
    pub columns: Vec<ColumnDef>,
}

/// Why a view could not be computed: the code, message and HTTP status its source gave
/// (a module's own error, a trap, a time-out), passed on to the caller unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewError {
    pub code: String,
    pub message: String,
    pub http_status: u16,
}

/// Where view definitions and rows come from.
pub trait ViewSource: Send + Sync {
    /// The view named `name` (compared without case), when `caller` may read it. A view the
    /// caller may not read must look exactly like a missing one.
    fn view(&self, name: &str, caller: &Caller) -> Option<Arc<ViewDef>>;

    /// The view's rows as of `snapshot`, computed for `caller`; each row has the view's
    /// columns, in order, with values of their types.
    fn rows(
        &self,
        view: &ViewDef,
        snapshot: &Snapshot,
        caller: &Caller,
    ) -> Result<Vec<Vec<Value>>, ViewError>;
}

/// No views: what [`SqlEngine::query`](crate::SqlEngine::query) reads with.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoViews;

impl ViewSource for NoViews {
    fn view(&self, _name: &str, _caller: &Caller) -> Option<Arc<ViewDef>> {
        None
    }

    fn rows(
        &self,
        view: &ViewDef,
        _snapshot: &Snapshot,
        _caller: &Caller,
    ) -> Result<Vec<Vec<Value>>, ViewError> {
        Err(ViewError {
            code: "no_such_table".into(),
            message: format!("no table named `{}`", view.name),
            http_status: 404,
        })
    }
}
