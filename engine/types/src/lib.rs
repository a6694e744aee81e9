//! cosmictron-types: the vocabulary shared by the Cosmictron engine and the module SDK.
//!
//! Values and column types, table definitions, and the two byte encodings the engine stores:
//! rows (compact, deterministic) and index keys (order-preserving). No I/O, no allocation
//! beyond what values need; builds for `wasm32-unknown-unknown`.
//!
//! Layout:
//! - `value.rs`       [`Value`], [`Identity`] (32 bytes, hex text), [`Timestamp`] (µs since epoch)
//! - `connection.rs`  [`ConnectionId`]: the client connection a reducer call came from
//! - `column_type.rs` [`ScalarType`] and [`ColumnType`] (a scalar, nullable for `Option<T>`)
//! - `schema.rs`      [`TableDef`] with columns, primary key, indexes, foreign keys, flags, policies
//! - `row_codec.rs`   [`encode_row`] / [`decode_row`]: the binary row format
//! - `column_locator.rs` [`ColumnLocator`]: one column's bytes in a row, without decoding it
//! - `key.rs`         [`encode_key`]: memcomparable index keys
//! - `http.rs`        module HTTP routes: [`RouteSpec`], [`PathPattern`], [`RouteRequest`] / [`RouteResponse`]
//! - `view.rs`        module views: [`ViewSpec`] and the rows a view answers with
//! - `error.rs`       [`TypeError`], the crate's one error type
//!
//! ```
//! use cosmictron_types::{decode_row, encode_row, ScalarType, TableDef, Value};
//!
//! let users = TableDef::new("users")
//!     .column("id", ScalarType::U64)
//!     .nullable_column("nick", ScalarType::String)
//!     .primary_key(&["id"]);
//! users.validate()?;
//! let row = vec![Value::U64(1), Value::Null];
//! let bytes = encode_row(&users.columns, &row)?;
//! assert_eq!(decode_row(&users.columns, &bytes)?, row);
//! # Ok::<(), cosmictron_types::TypeError>(())
//! ```

mod column_locator;
mod column_type;
mod connection;
mod error;
mod http;
mod key;
mod row_codec;
mod schema;
mod value;
mod view;

pub use column_locator::ColumnLocator;
pub use column_type::{ColumnType, ScalarType};
pub use connection::ConnectionId;
pub use error::{Result, TypeError};
pub use http::{
    PathPattern, ROUTE_METHODS, RateLimitSpec, RouteRequest, RouteResponse, RouteSpec, Segment,
    percent_decode, split_path,
};
pub use key::{KeySink, encode_key, encode_key_value};
pub use row_codec::{
    decode_column, decode_columns_into, decode_row, encode_row, encode_row_into, get_varint,
    put_varint,
};
pub use schema::{
    AddColumn, ColumnDef, ForeignKeyDef, IndexDef, OnDelete, TableDef, is_identifier,
};
pub use value::{Identity, Timestamp, Value};
pub use view::{ViewSpec, decode_view_rows, encode_view_rows};
