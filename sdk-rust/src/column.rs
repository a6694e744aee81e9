//! [`Column`]: the Rust types a table field can have, and how they map to engine values.

use cosmictron_types::{ColumnType, Identity, ScalarType, Timestamp, Value};

/// A type usable as a table column. Implemented for the integer and float types, `bool`,
/// `String`, `Vec<u8>`, [`Identity`], [`Timestamp`], and `Option<T>` of those (nullable).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a table column",
    note = "columns are integers, f32/f64, bool, String, Vec<u8>, Identity, Timestamp, or Option of those"
)]
pub trait Column: Sized {
    fn column_type() -> ColumnType;
    fn to_value(&self) -> Value;
    /// `None` when the value has another type.
    fn from_value(value: Value) -> Option<Self>;
}

macro_rules! scalar_column {
    ($($t:ty => $scalar:ident, $variant:ident, $to:expr);* $(;)?) => {$(
        impl Column for $t {
            fn column_type() -> ColumnType {
                ColumnType::new(ScalarType::$scalar)
            }
            fn to_value(&self) -> Value {
                let f: fn(&$t) -> Value = $to;
                f(self)
            }
            fn from_value(value: Value) -> Option<Self> {
                match value {
                    Value::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    )*};
}

scalar_column! {
    bool => Bool, Bool, |v| Value::Bool(*v);
    i8 => I8, I8, |v| Value::I8(*v);
    i16 => I16, I16, |v| Value::I16(*v);
    i32 => I32, I32, |v| Value::I32(*v);
    i64 => I64, I64, |v| Value::I64(*v);
    u8 => U8, U8, |v| Value::U8(*v);
    u16 => U16, U16, |v| Value::U16(*v);
    u32 => U32, U32, |v| Value::U32(*v);
    u64 => U64, U64, |v| Value::U64(*v);
    f32 => F32, F32, |v| Value::F32(*v);
    f64 => F64, F64, |v| Value::F64(*v);
    String => String, String, |v| Value::String(v.clone());
    Vec<u8> => Bytes, Bytes, |v| Value::Bytes(v.clone());
    Identity => Identity, Identity, |v| Value::Identity(*v);
    Timestamp => Timestamp, Timestamp, |v| Value::Timestamp(*v);
}

impl<T: Column> Column for Option<T> {
    fn column_type() -> ColumnType {
        ColumnType {
            nullable: true,
            ..T::column_type()
        }
    }

    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_value)
    }

    fn from_value(value: Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}
