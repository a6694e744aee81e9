//! Values a column can hold, and the two domain scalars (`Identity`, `Timestamp`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::column_type::ScalarType;
use crate::error::TypeError;

/// A 32-byte caller identity. Shown as 64 lowercase hex characters, in JSON too (other serde
/// formats, such as MessagePack, carry the 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Identity(pub [u8; 32]);

impl Serialize for Identity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_hex())
        } else {
            serializer.serialize_newtype_struct("Identity", &self.0)
        }
    }
}

/// Accepts the hex text, or 32 byte values (the form identities had in JSON before, kept so
/// stored metadata and older clients still read).
impl<'de> Deserialize<'de> for Identity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Identity, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Hex(String),
            Bytes([u8; 32]),
        }
        if deserializer.is_human_readable() {
            match Form::deserialize(deserializer)? {
                Form::Hex(text) => Identity::from_hex(&text).map_err(serde::de::Error::custom),
                Form::Bytes(bytes) => Ok(Identity(bytes)),
            }
        } else {
            #[derive(Deserialize)]
            #[serde(rename = "Identity")]
            struct Raw([u8; 32]);
            Raw::deserialize(deserializer).map(|r| Identity(r.0))
        }
    }
}

impl Identity {
    pub const ZERO: Identity = Identity([0; 32]);

    /// Parses 64 hex characters (either case).
    pub fn from_hex(text: &str) -> Result<Identity, TypeError> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(TypeError::InvalidText {
                ty: "identity",
                reason: format!("expected 64 hex characters, got {}", bytes.len()),
            });
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_digit(pair[0]);
            let lo = hex_digit(pair[1]);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out[i] = (hi << 4) | lo,
                _ => {
                    return Err(TypeError::InvalidText {
                        ty: "identity",
                        reason: format!("non-hex character near position {}", i * 2),
                    });
                }
            }
        }
        Ok(Identity(out))
    }

    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(DIGITS[(b >> 4) as usize] as char);
            s.push(DIGITS[(b & 0xf) as usize] as char);
        }
        s
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.to_hex())
    }
}

/// Microseconds since the Unix epoch (negative before 1970).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({}µs)", self.0)
    }
}

/// One column value. `Null` is the `None` of an `Option<T>` column; non-nullable columns never
/// hold it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Null,
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    F32(f32),
    F64(f64),
    String(String),
    Bytes(Vec<u8>),
    Identity(Identity),
    Timestamp(Timestamp),
}

impl Value {
    /// The scalar type of this value, or `None` for `Null`.
    pub fn scalar_type(&self) -> Option<ScalarType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => ScalarType::Bool,
            Value::I8(_) => ScalarType::I8,
            Value::I16(_) => ScalarType::I16,
            Value::I32(_) => ScalarType::I32,
            Value::I64(_) => ScalarType::I64,
            Value::U8(_) => ScalarType::U8,
            Value::U16(_) => ScalarType::U16,
            Value::U32(_) => ScalarType::U32,
            Value::U64(_) => ScalarType::U64,
            Value::F32(_) => ScalarType::F32,
            Value::F64(_) => ScalarType::F64,
            Value::String(_) => ScalarType::String,
            Value::Bytes(_) => ScalarType::Bytes,
            Value::Identity(_) => ScalarType::Identity,
            Value::Timestamp(_) => ScalarType::Timestamp,
        })
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as an unsigned integer if it is a non-negative integer of any width; used for
    /// auto-increment counters.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            _ => None,
        }
    }

    /// Builds an integer value of type `ty` from `n`, if it fits.
    pub fn integer_of(ty: ScalarType, n: u64) -> Option<Value> {
        Some(match ty {
            ScalarType::I8 => Value::I8(i8::try_from(n).ok()?),
            ScalarType::I16 => Value::I16(i16::try_from(n).ok()?),
            ScalarType::I32 => Value::I32(i32::try_from(n).ok()?),
            ScalarType::I64 => Value::I64(i64::try_from(n).ok()?),
            ScalarType::U8 => Value::U8(u8::try_from(n).ok()?),
            ScalarType::U16 => Value::U16(u16::try_from(n).ok()?),
            ScalarType::U32 => Value::U32(u32::try_from(n).ok()?),
            ScalarType::U64 => Value::U64(n),
            _ => return None,
        })
    }

    /// The zero value of a type: what a redacted `pii` column holds in superseded versions.
    pub fn zero_of(ty: ScalarType) -> Value {
        match ty {
            ScalarType::Bool => Value::Bool(false),
            ScalarType::F32 => Value::F32(0.0),
            ScalarType::F64 => Value::F64(0.0),
            ScalarType::String => Value::String(String::new()),
            ScalarType::Bytes => Value::Bytes(Vec::new()),
            ScalarType::Identity => Value::Identity(Identity::ZERO),
            ScalarType::Timestamp => Value::Timestamp(Timestamp(0)),
            int => Value::integer_of(int, 0).unwrap_or(Value::U64(0)),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::I8(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::U8(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::String(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => {
                f.write_str("x'")?;
                for b in v {
                    write!(f, "{b:02x}")?;
                }
                f.write_str("'")
            }
            Value::Identity(v) => write!(f, "{v}"),
            Value::Timestamp(v) => write!(f, "{}", v.0),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value { Value::$variant(v.into()) }
        })*
    };
}

value_from!(
    bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64,
    u8 => U8, u16 => U16, u32 => U32, u64 => U64, f32 => F32, f64 => F64,
    String => String, &str => String, Vec<u8> => Bytes,
    Identity => Identity, Timestamp => Timestamp,
);

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_hex_in_json_and_bytes_elsewhere() {
        let id = Identity([0xab; 32]);
        let json = serde_json::to_string(&id).expect("json");
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<Identity>(&json).expect("hex"), id);
        // The older array form still reads.
        let array = serde_json::to_string(&[0xabu8; 32]).expect("array");
        assert_eq!(serde_json::from_str::<Identity>(&array).expect("array"), id);
        assert!(serde_json::from_str::<Identity>("\"zz\"").is_err());
    }

    #[test]
    fn identity_hex_round_trips_and_rejects_bad_text() {
        let id = Identity([0xab; 32]);
        let text = id.to_hex();
        assert_eq!(text.len(), 64);
        assert_eq!(Identity::from_hex(&text).expect("valid hex"), id);
        assert_eq!(Identity::from_hex(&text.to_uppercase()).expect("upper"), id);
        assert!(Identity::from_hex("abc").is_err());
        assert!(Identity::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn integer_of_checks_range() {
        assert_eq!(Value::integer_of(ScalarType::U8, 255), Some(Value::U8(255)));
        assert_eq!(Value::integer_of(ScalarType::U8, 256), None);
        assert_eq!(Value::integer_of(ScalarType::String, 1), None);
    }
}
