//! Order-preserving ("memcomparable") key encoding for indexes.
//!
//! Index keys are byte strings whose lexicographic order equals the order of the values they
//! encode, column by column, so a `BTreeMap<Vec<u8>, _>` is an ordered index and a prefix of a
//! multi-column key is the encoding of the leading columns (prefix and range scans for free).
//!
//! ```text
//! NULL            0x00                 (sorts first)
//! non-null        0x01 <body>
//! bool/u8..u64    big-endian
//! i8..i64, ts     big-endian with the sign bit flipped
//! f32/f64         IEEE bits: negative → all bits inverted, positive → sign bit flipped; BE
//! identity        32 raw bytes
//! string/bytes    each 0x00 written as 0x00 0xFF, then the terminator 0x00 0x00
//! ```

use crate::value::Value;

/// Where key bytes go: a `Vec<u8>`, or any buffer the caller wraps (the engine keeps short
/// keys inline, without allocating).
pub trait KeySink {
    fn put(&mut self, bytes: &[u8]);
}

impl KeySink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Appends the key encoding of one value.
pub fn encode_key_value<S: KeySink + ?Sized>(value: &Value, out: &mut S) {
    if value.is_null() {
        out.put(&[0]);
        return;
    }
    out.put(&[1]);
    match value {
        Value::Null => {}
        Value::Bool(v) => out.put(&[u8::from(*v)]),
        Value::I8(v) => out.put(&[(*v as u8) ^ 0x80]),
        Value::I16(v) => out.put(&((*v as u16) ^ (1 << 15)).to_be_bytes()),
        Value::I32(v) => out.put(&((*v as u32) ^ (1 << 31)).to_be_bytes()),
        Value::I64(v) => out.put(&((*v as u64) ^ (1 << 63)).to_be_bytes()),
        Value::U8(v) => out.put(&[*v]),
        Value::U16(v) => out.put(&v.to_be_bytes()),
        Value::U32(v) => out.put(&v.to_be_bytes()),
        Value::U64(v) => out.put(&v.to_be_bytes()),
        Value::F32(v) => {
            let bits = if v.is_nan() {
                f32::NAN.to_bits()
            } else {
                v.to_bits()
            };
            let ordered = if bits >> 31 == 1 {
                !bits
            } else {
                bits ^ (1 << 31)
            };
            out.put(&ordered.to_be_bytes());
        }
        Value::F64(v) => {
            let bits = if v.is_nan() {
                f64::NAN.to_bits()
            } else {
                v.to_bits()
            };
            let ordered = if bits >> 63 == 1 {
                !bits
            } else {
                bits ^ (1 << 63)
            };
            out.put(&ordered.to_be_bytes());
        }
        Value::String(s) => escape_bytes(s.as_bytes(), out),
        Value::Bytes(b) => escape_bytes(b, out),
        Value::Identity(id) => out.put(&id.0),
        Value::Timestamp(ts) => out.put(&((ts.0 as u64) ^ (1 << 63)).to_be_bytes()),
    }
}

fn escape_bytes<S: KeySink + ?Sized>(bytes: &[u8], out: &mut S) {
    // Copy runs without zero bytes at once; each 0x00 becomes 0x00 0xFF.
    for run in bytes.split_inclusive(|&b| b == 0) {
        out.put(run);
        if run.last() == Some(&0) {
            out.put(&[0xff]);
        }
    }
    out.put(&[0, 0]);
}

/// The key of several values (an index's columns, in order).
pub fn encode_key<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for v in values {
        encode_key_value(v, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;

    use super::*;

    fn cmp_values(a: &Value, b: &Value) -> Ordering {
        match (a, b) {
            (Value::I64(a), Value::I64(b)) => a.cmp(b),
            (Value::F64(a), Value::F64(b)) => a.total_cmp(b),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
            _ => unreachable!("test compares like types"),
        }
    }

    fn ordered_pairs() -> impl Strategy<Value = (Value, Value)> {
        prop_oneof![
            (any::<i64>(), any::<i64>()).prop_map(|(a, b)| (Value::I64(a), Value::I64(b))),
            (-1e300f64..1e300, -1e300f64..1e300).prop_map(|(a, b)| (Value::F64(a), Value::F64(b))),
            (".{0,8}", ".{0,8}").prop_map(|(a, b)| (Value::String(a), Value::String(b))),
            (
                proptest::collection::vec(0u8..3, 0..6),
                proptest::collection::vec(0u8..3, 0..6)
            )
                .prop_map(|(a, b)| (Value::Bytes(a), Value::Bytes(b))),
        ]
    }

    proptest! {
        #[test]
        fn key_order_matches_value_order((a, b) in ordered_pairs(), suffix in any::<u32>()) {
            let ka = encode_key([&a, &Value::U32(suffix)]);
            let kb = encode_key([&b, &Value::U32(0)]);
            let expected = cmp_values(&a, &b);
            if expected != Ordering::Equal {
                // The first column decides, whatever follows it.
                prop_assert_eq!(ka.cmp(&kb), expected);
            }
        }
    }

    #[test]
    fn null_sorts_first_and_negative_floats_order() {
        assert!(encode_key([&Value::Null]) < encode_key([&Value::I64(i64::MIN)]));
        assert!(encode_key([&Value::F64(-2.0)]) < encode_key([&Value::F64(-1.0)]));
        assert!(encode_key([&Value::F64(-0.5)]) < encode_key([&Value::F64(0.5)]));
    }
}
