//! Views: read-only functions that SQL reads as tables (`SELECT * FROM active_sessions`).
//!
//! A `#[view]` function returns rows of a [`ViewRow`] type: a `#[table]` struct (every table
//! row is one) or any struct with `#[derive(ViewRow)]` whose fields are [`Column`] types. The
//! host runs the function on a snapshot, as the caller, whenever a query reads the view.

use cosmictron_types::{ColumnDef, Value, encode_view_rows};

use crate::error::Error;

/// A row type a view can return. `#[table]` implements it; `#[derive(ViewRow)]` implements it
/// for any struct with named [`Column`](crate::Column) fields.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the row of a view",
    note = "a view returns rows of a `#[table]` struct or of a struct with `#[derive(ViewRow)]`"
)]
pub trait ViewRow {
    /// The view's columns, in field order.
    fn view_columns() -> Vec<ColumnDef>;
    /// The field values, in column order.
    fn view_values(&self) -> Vec<Value>;
}

/// What a `#[view]` function may return: `Vec<T>` or `Result<Vec<T>, Error>`.
#[diagnostic::on_unimplemented(
    message = "a view returns `Vec<T>` or `Result<Vec<T>, Error>`, not `{Self}`",
    note = "`T` is a `#[table]` struct or a struct with `#[derive(ViewRow)]`"
)]
pub trait ViewOutput {
    type Row: ViewRow;
    fn into_rows(self) -> Result<Vec<Self::Row>, Error>;
}

impl<T: ViewRow> ViewOutput for Vec<T> {
    type Row = T;
    fn into_rows(self) -> Result<Vec<T>, Error> {
        Ok(self)
    }
}

impl<T: ViewRow> ViewOutput for Result<Vec<T>, Error> {
    type Row = T;
    fn into_rows(self) -> Result<Vec<T>, Error> {
        self
    }
}

/// Encodes a view's rows for the host (the engine's row format, checked against the columns).
pub fn encode_view<O: ViewOutput>(output: O) -> Result<Vec<u8>, Error> {
    let rows = output.into_rows()?;
    let columns = O::Row::view_columns();
    let values: Vec<Vec<Value>> = rows.iter().map(ViewRow::view_values).collect();
    encode_view_rows(&columns, &values)
        .map_err(|e| Error::new("invalid_result", format!("view rows: {e}")).with_status(500))
}
