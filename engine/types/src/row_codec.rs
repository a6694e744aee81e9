//! The compact, deterministic binary row encoding.
//!
//! A row is its columns in declaration order, with no header and no padding:
//!
//! ```text
//! nullable column:   0x00                      (NULL)
//!                    0x01 <value>              (present)
//! bool, i8, u8:      1 byte
//! i16/u16:           2 bytes LE     i32/u32/f32: 4 bytes LE     i64/u64/f64/timestamp: 8 bytes LE
//! identity:          32 bytes
//! string, bytes:     LEB128 length, then the bytes (strings are UTF-8)
//! ```
//!
//! The same values always give the same bytes (floats are stored bit for bit, NaN payloads
//! canonicalised), so rows can be compared and hashed as bytes.

use crate::column_type::ScalarType;
use crate::error::{Result, TypeError};
use crate::schema::ColumnDef;
use crate::value::{Identity, Timestamp, Value};

/// Encodes `values` as a row of `columns`, checking arity, types and nullability.
pub fn encode_row(columns: &[ColumnDef], values: &[Value]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(encoded_len(columns, values));
    encode_row_into(columns, values, &mut out)?;
    Ok(out)
}

/// Like [`encode_row`], appending to `out`.
pub fn encode_row_into(columns: &[ColumnDef], values: &[Value], out: &mut Vec<u8>) -> Result<()> {
    if columns.len() != values.len() {
        return Err(TypeError::WrongArity {
            expected: columns.len(),
            got: values.len(),
        });
    }
    for (col, value) in columns.iter().zip(values) {
        if col.ty.nullable {
            if value.is_null() {
                out.push(0);
                continue;
            }
            out.push(1);
        } else if value.is_null() {
            return Err(TypeError::NullNotAllowed {
                column: col.name.clone(),
            });
        }
        if value.scalar_type() != Some(col.ty.scalar) {
            return Err(TypeError::TypeMismatch {
                column: col.name.clone(),
                expected: col.ty,
                got: describe(value, col.pii),
            });
        }
        encode_scalar(value, out);
    }
    Ok(())
}

fn describe(value: &Value, pii: bool) -> String {
    let ty = value.scalar_type().map_or("null", ScalarType::name);
    if pii {
        format!("a {ty} value (redacted)")
    } else {
        format!("{ty} {value}")
    }
}

/// The exact encoded length of a well-typed row, so the buffer is allocated once at its final
/// size (the engine boxes it without a shrinking `realloc`).
fn encoded_len(columns: &[ColumnDef], values: &[Value]) -> usize {
    columns
        .iter()
        .zip(values)
        .map(|(col, v)| {
            let tag = usize::from(col.ty.nullable);
            tag + match v {
                Value::Null => 0,
                Value::Bool(_) | Value::I8(_) | Value::U8(_) => 1,
                Value::I16(_) | Value::U16(_) => 2,
                Value::I32(_) | Value::U32(_) | Value::F32(_) => 4,
                Value::I64(_) | Value::U64(_) | Value::F64(_) | Value::Timestamp(_) => 8,
                Value::Identity(_) => 32,
                Value::String(s) => varint_len(s.len()) + s.len(),
                Value::Bytes(b) => varint_len(b.len()) + b.len(),
            }
        })
        .sum()
}

fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - n.leading_zeros();
    (bits.max(1) as usize).div_ceil(7)
}

fn encode_scalar(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => {}
        Value::Bool(v) => out.push(u8::from(*v)),
        Value::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U8(v) => out.push(*v),
        Value::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F32(v) => out.extend_from_slice(&canonical_f32(*v).to_le_bytes()),
        Value::F64(v) => out.extend_from_slice(&canonical_f64(*v).to_le_bytes()),
        Value::String(s) => {
            put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            put_varint(out, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Identity(id) => out.extend_from_slice(&id.0),
        Value::Timestamp(ts) => out.extend_from_slice(&ts.0.to_le_bytes()),
    }
}

fn canonical_f32(v: f32) -> f32 {
    if v.is_nan() { f32::NAN } else { v }
}

fn canonical_f64(v: f64) -> f64 {
    if v.is_nan() { f64::NAN } else { v }
}

/// Appends `n` as LEB128.
pub fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a LEB128 value at `*pos`, advancing it.
#[inline]
pub fn get_varint(bytes: &[u8], pos: &mut usize) -> Result<u64> {
    // One byte (values under 128, most string lengths): no loop.
    if let Some(&b) = bytes.get(*pos)
        && b < 0x80
    {
        *pos += 1;
        return Ok(u64::from(b));
    }
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos).ok_or_else(|| truncated(*pos))?;
        *pos += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(n);
        }
    }
    Err(TypeError::Decode(format!(
        "varint longer than 10 bytes at offset {}",
        *pos
    )))
}

fn truncated(pos: usize) -> TypeError {
    TypeError::Decode(format!("row truncated at offset {pos}"))
}

/// Decodes a whole row.
pub fn decode_row(columns: &[ColumnDef], bytes: &[u8]) -> Result<Vec<Value>> {
    let mut pos = 0;
    let mut values = Vec::with_capacity(columns.len());
    for col in columns {
        values.push(decode_column_at(col, bytes, &mut pos)?);
    }
    if pos != bytes.len() {
        return Err(TypeError::Decode(format!(
            "{} trailing bytes after the last column",
            bytes.len() - pos
        )));
    }
    Ok(values)
}

/// Decodes the single column at `index`, skipping the ones before it.
pub fn decode_column(columns: &[ColumnDef], bytes: &[u8], index: usize) -> Result<Value> {
    let mut pos = 0;
    for col in &columns[..index] {
        skip_column(col, bytes, &mut pos)?;
    }
    let col = columns
        .get(index)
        .ok_or_else(|| TypeError::Decode(format!("no column at position {index}")))?;
    decode_column_at(col, bytes, &mut pos)
}

/// Decodes the columns at `wanted` (ascending positions) into the same positions of `out`,
/// in one pass over the row, skipping the others; `out` holds at least as many values as
/// there are columns, and its other positions are left as they are.
pub fn decode_columns_into(
    columns: &[ColumnDef],
    bytes: &[u8],
    wanted: &[usize],
    out: &mut [Value],
) -> Result<()> {
    let mut pos = 0;
    let mut next = 0;
    for &index in wanted {
        let col = columns
            .get(index)
            .filter(|_| index >= next)
            .ok_or_else(|| TypeError::Decode(format!("no column at position {index}")))?;
        for skipped in &columns[next..index] {
            skip_column(skipped, bytes, &mut pos)?;
        }
        let value = decode_column_at(col, bytes, &mut pos)?;
        let slot = out
            .get_mut(index)
            .ok_or_else(|| TypeError::Decode(format!("no slot for column {index}")))?;
        *slot = value;
        next = index + 1;
    }
    Ok(())
}

fn take<'a>(bytes: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8]> {
    let end = pos
        .checked_add(n)
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| truncated(*pos))?;
    let out = &bytes[*pos..end];
    *pos = end;
    Ok(out)
}

fn is_present(col: &ColumnDef, bytes: &[u8], pos: &mut usize) -> Result<bool> {
    if !col.ty.nullable {
        return Ok(true);
    }
    match take(bytes, pos, 1)?[0] {
        0 => Ok(false),
        1 => Ok(true),
        tag => Err(TypeError::Decode(format!(
            "bad null tag {tag} for column `{}`",
            col.name
        ))),
    }
}

fn skip_column(col: &ColumnDef, bytes: &[u8], pos: &mut usize) -> Result<()> {
    if !is_present(col, bytes, pos)? {
        return Ok(());
    }
    let len = match col.ty.scalar.fixed_width() {
        Some(width) => width,
        None => usize::try_from(get_varint(bytes, pos)?).map_err(|_| truncated(*pos))?,
    };
    take(bytes, pos, len).map(|_| ())
}

fn array<const N: usize>(bytes: &[u8], pos: &mut usize) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    out.copy_from_slice(take(bytes, pos, N)?);
    Ok(out)
}

fn decode_column_at(col: &ColumnDef, bytes: &[u8], pos: &mut usize) -> Result<Value> {
    if !is_present(col, bytes, pos)? {
        return Ok(Value::Null);
    }
    Ok(match col.ty.scalar {
        ScalarType::Bool => match take(bytes, pos, 1)?[0] {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            b => return Err(TypeError::Decode(format!("bad bool byte {b}"))),
        },
        ScalarType::I8 => Value::I8(i8::from_le_bytes(array(bytes, pos)?)),
        ScalarType::I16 => Value::I16(i16::from_le_bytes(array(bytes, pos)?)),
        ScalarType::I32 => Value::I32(i32::from_le_bytes(array(bytes, pos)?)),
        ScalarType::I64 => Value::I64(i64::from_le_bytes(array(bytes, pos)?)),
        ScalarType::U8 => Value::U8(take(bytes, pos, 1)?[0]),
        ScalarType::U16 => Value::U16(u16::from_le_bytes(array(bytes, pos)?)),
        ScalarType::U32 => Value::U32(u32::from_le_bytes(array(bytes, pos)?)),
        ScalarType::U64 => Value::U64(u64::from_le_bytes(array(bytes, pos)?)),
        ScalarType::F32 => Value::F32(f32::from_le_bytes(array(bytes, pos)?)),
        ScalarType::F64 => Value::F64(f64::from_le_bytes(array(bytes, pos)?)),
        ScalarType::String => {
            let len = usize::try_from(get_varint(bytes, pos)?).map_err(|_| truncated(*pos))?;
            let raw = take(bytes, pos, len)?;
            let s = std::str::from_utf8(raw).map_err(|e| {
                TypeError::Decode(format!("column `{}` is not UTF-8: {e}", col.name))
            })?;
            Value::String(s.to_owned())
        }
        ScalarType::Bytes => {
            let len = usize::try_from(get_varint(bytes, pos)?).map_err(|_| truncated(*pos))?;
            Value::Bytes(take(bytes, pos, len)?.to_vec())
        }
        ScalarType::Identity => Value::Identity(Identity(array(bytes, pos)?)),
        ScalarType::Timestamp => {
            Value::Timestamp(Timestamp(i64::from_le_bytes(array(bytes, pos)?)))
        }
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::column_type::ColumnType;

    fn value_of(ty: ScalarType) -> BoxedStrategy<Value> {
        match ty {
            ScalarType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            ScalarType::I8 => any::<i8>().prop_map(Value::I8).boxed(),
            ScalarType::I16 => any::<i16>().prop_map(Value::I16).boxed(),
            ScalarType::I32 => any::<i32>().prop_map(Value::I32).boxed(),
            ScalarType::I64 => any::<i64>().prop_map(Value::I64).boxed(),
            ScalarType::U8 => any::<u8>().prop_map(Value::U8).boxed(),
            ScalarType::U16 => any::<u16>().prop_map(Value::U16).boxed(),
            ScalarType::U32 => any::<u32>().prop_map(Value::U32).boxed(),
            ScalarType::U64 => any::<u64>().prop_map(Value::U64).boxed(),
            ScalarType::F32 => (-1e6f32..1e6).prop_map(Value::F32).boxed(),
            ScalarType::F64 => (-1e12f64..1e12).prop_map(Value::F64).boxed(),
            ScalarType::String => ".{0,40}".prop_map(Value::String).boxed(),
            ScalarType::Bytes => proptest::collection::vec(any::<u8>(), 0..300)
                .prop_map(Value::Bytes)
                .boxed(),
            ScalarType::Identity => any::<[u8; 32]>()
                .prop_map(|b| Value::Identity(Identity(b)))
                .boxed(),
            ScalarType::Timestamp => any::<i64>()
                .prop_map(|t| Value::Timestamp(Timestamp(t)))
                .boxed(),
        }
    }

    fn row_strategy() -> impl Strategy<Value = (Vec<ColumnDef>, Vec<Value>)> {
        proptest::collection::vec(
            (0..ScalarType::ALL.len(), any::<bool>(), any::<bool>()),
            1..8,
        )
        .prop_flat_map(|specs| {
            let columns: Vec<ColumnDef> = specs
                .iter()
                .enumerate()
                .map(|(i, (t, nullable, _))| {
                    let ty = ColumnType {
                        scalar: ScalarType::ALL[*t],
                        nullable: *nullable,
                    };
                    ColumnDef::new(format!("c{i}"), ty)
                })
                .collect();
            let values: Vec<BoxedStrategy<Value>> = specs
                .iter()
                .map(|(t, nullable, null)| {
                    if *nullable && *null {
                        Just(Value::Null).boxed()
                    } else {
                        value_of(ScalarType::ALL[*t])
                    }
                })
                .collect();
            (Just(columns), values)
        })
    }

    proptest! {
        #[test]
        fn rows_round_trip_and_single_columns_decode((columns, values) in row_strategy()) {
            let bytes = encode_row(&columns, &values).expect("encode");
            prop_assert_eq!(&decode_row(&columns, &bytes).expect("decode"), &values);
            prop_assert_eq!(bytes.len(), encoded_len(&columns, &values));
            for (i, v) in values.iter().enumerate() {
                prop_assert_eq!(&decode_column(&columns, &bytes, i).expect("column"), v);
                // The raw bytes of a column are its encoding without null tag or length.
                let mut alone = Vec::new();
                if !v.is_null() {
                    encode_scalar(v, &mut alone);
                    if columns[i].ty.scalar.fixed_width().is_none() {
                        let mut len = 0;
                        get_varint(&alone, &mut len).expect("length");
                        alone.drain(..len);
                    }
                }
                let mut one = vec![Value::Null; columns.len()];
                decode_columns_into(&columns, &bytes, &[i], &mut one).expect("one column");
                prop_assert_eq!(&one[i], v);
                let locator = crate::ColumnLocator::new(&columns, i).expect("locator");
                let raw = locator.bytes(&bytes).expect("raw column");
                prop_assert_eq!(raw, (!v.is_null()).then_some(alone.as_slice()));
            }
            // Every other column, in one pass.
            let odd: Vec<usize> = (1..values.len()).step_by(2).collect();
            let mut some = vec![Value::Null; columns.len()];
            decode_columns_into(&columns, &bytes, &odd, &mut some).expect("some columns");
            for (i, v) in values.iter().enumerate() {
                let expected = if i % 2 == 1 { v.clone() } else { Value::Null };
                prop_assert_eq!(&some[i], &expected);
            }
            // Deterministic: encoding again gives the same bytes.
            prop_assert_eq!(encode_row(&columns, &values).expect("encode"), bytes.clone());
            // Every strict prefix is rejected rather than misread.
            for cut in 0..bytes.len() {
                prop_assert!(decode_row(&columns, &bytes[..cut]).is_err());
            }
        }
    }

    #[test]
    fn type_errors_name_the_column_and_redact_pii() {
        let mut secret = ColumnDef::new("ssn", ColumnType::new(ScalarType::U64));
        secret.pii = true;
        let err = encode_row(&[secret], &[Value::String("123-45".into())]).expect_err("mismatch");
        let text = err.to_string();
        assert!(
            text.contains("ssn") && text.contains("redacted") && !text.contains("123-45"),
            "{text}"
        );

        let plain = ColumnDef::new("n", ColumnType::new(ScalarType::U64));
        let err = encode_row(std::slice::from_ref(&plain), &[Value::Null]).expect_err("null");
        assert_eq!(err, TypeError::NullNotAllowed { column: "n".into() });
        let err = encode_row(&[plain], &[]).expect_err("arity");
        assert_eq!(
            err,
            TypeError::WrongArity {
                expected: 1,
                got: 0
            }
        );
    }

    #[test]
    fn the_encoding_is_compact() {
        let columns = vec![
            ColumnDef::new("id", ColumnType::new(ScalarType::U64)),
            ColumnDef::new("name", ColumnType::nullable(ScalarType::String)),
        ];
        let bytes =
            encode_row(&columns, &[Value::U64(7), Value::String("ab".into())]).expect("encode");
        assert_eq!(bytes, [7, 0, 0, 0, 0, 0, 0, 0, 1, 2, b'a', b'b']);
    }
}
