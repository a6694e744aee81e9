//! [`Column`]: the Rust types a table field can have, and how they map to engine values.

use cosmictron_types::{ColumnType, Identity, ScalarType, Timestamp, Value, put_varint};

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
    /// Appends the value in the row encoding (`cosmictron_types::encode_row`), with the null
    /// tag of a nullable column: a `#[table]` row is encoded field by field, without building
    /// a [`Value`] (and copying its strings) per column.
    fn encode_into(&self, out: &mut Vec<u8>);
}

/// The row encoding of a float: NaN in its one canonical form, as the engine stores it.
trait Canonical: Sized {
    fn canonical(self) -> Self;
}

impl Canonical for f32 {
    fn canonical(self) -> f32 {
        if self.is_nan() { f32::NAN } else { self }
    }
}

impl Canonical for f64 {
    fn canonical(self) -> f64 {
        if self.is_nan() { f64::NAN } else { self }
    }
}

macro_rules! scalar_column {
    ($($t:ty => $scalar:ident, $variant:ident, $to:expr, $encode:expr);* $(;)?) => {$(
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
            fn encode_into(&self, out: &mut Vec<u8>) {
                let f: fn(&$t, &mut Vec<u8>) = $encode;
                f(self, out)
            }
        }
    )*};
}

scalar_column! {
    bool => Bool, Bool, |v| Value::Bool(*v), |v, out| out.push(u8::from(*v));
    i8 => I8, I8, |v| Value::I8(*v), |v, out| out.extend_from_slice(&v.to_le_bytes());
    i16 => I16, I16, |v| Value::I16(*v), |v, out| out.extend_from_slice(&v.to_le_bytes());
    i32 => I32, I32, |v| Value::I32(*v), |v, out| out.extend_from_slice(&v.to_le_bytes());
    i64 => I64, I64, |v| Value::I64(*v), |v, out| out.extend_from_slice(&v.to_le_bytes());
    u8 => U8, U8, |v| Value::U8(*v), |v, out| out.push(*v);
    u16 => U16, U16, |v| Value::U16(*v), |v, out| out.extend_from_slice(&v.to_le_bytes());
    u32 => U32, U32, |v| Value::U32(*v), |v, out| out.extend_from_slice(&v.to_le_bytes());
    u64 => U64, U64, |v| Value::U64(*v), |v, out| out.extend_from_slice(&v.to_le_bytes());
    f32 => F32, F32, |v| Value::F32(*v),
        |v, out| out.extend_from_slice(&v.canonical().to_le_bytes());
    f64 => F64, F64, |v| Value::F64(*v),
        |v, out| out.extend_from_slice(&v.canonical().to_le_bytes());
    String => String, String, |v| Value::String(v.clone()), |v, out| {
        put_varint(out, v.len() as u64);
        out.extend_from_slice(v.as_bytes());
    };
    Vec<u8> => Bytes, Bytes, |v| Value::Bytes(v.clone()), |v, out| {
        put_varint(out, v.len() as u64);
        out.extend_from_slice(v);
    };
    Identity => Identity, Identity, |v| Value::Identity(*v), |v, out| out.extend_from_slice(&v.0);
    Timestamp => Timestamp, Timestamp, |v| Value::Timestamp(*v),
        |v, out| out.extend_from_slice(&v.0.to_le_bytes());
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

    /// The null tag (0 null, 1 a value), then the value. A column has one null tag however
    /// deep the `Option`s: `Some` of an `Option` is that `Option`'s encoding.
    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) if T::column_type().nullable => v.encode_into(out),
            Some(v) => {
                out.push(1);
                v.encode_into(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use cosmictron_types::{ColumnDef, encode_row};

    use super::*;

    /// What the engine's codec makes of `v` as the one column of a row.
    fn engine_encoding<T: Column>(v: &T) -> Vec<u8> {
        let column = ColumnDef::new("c", T::column_type());
        encode_row(&[column], &[v.to_value()]).unwrap_or_else(|e| panic!("encode: {e}"))
    }

    fn same<T: Column + std::fmt::Debug>(v: T) {
        let mut ours = Vec::new();
        v.encode_into(&mut ours);
        assert_eq!(ours, engine_encoding(&v), "{v:?}");
    }

    #[test]
    fn every_column_type_encodes_as_the_engine_does() {
        same(true);
        same(-5i8);
        same(-300i16);
        same(-70_000i32);
        same(i64::MIN);
        same(200u8);
        same(60_000u16);
        same(4_000_000_000u32);
        same(u64::MAX);
        same(1.5f32);
        same(f32::NAN);
        same(-f64::NAN);
        same(-0.0f64);
        same(String::new());
        same("é".repeat(100));
        same(vec![0u8; 300]);
        same(Identity([9; 32]));
        same(Timestamp(-1));
        same(Some(3u64));
        same(None::<String>);
        same(Some(Some(7i32)));
        same(Some(None::<i32>));
        same(None::<Option<i32>>);
    }
}
