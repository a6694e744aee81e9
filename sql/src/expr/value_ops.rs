//! Operations on single values with SQLite's semantics where the conformance corpus depends on
//! them: integers and reals compare numerically, integer arithmetic that overflows becomes
//! real, integer division truncates, division by zero is NULL, text in arithmetic is read as
//! its numeric prefix, and a total order NULL < numbers < text < bytes < identities <
//! timestamps for sorting, grouping and DISTINCT.

use std::cmp::Ordering;

use cosmictron_types::{Identity, Value};

/// A numeric value after SQLite-style conversion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    pub(crate) fn into_value(self) -> Value {
        match self {
            Num::Int(i) => Value::I64(i),
            Num::Float(f) => Value::F64(f),
        }
    }
}

/// The numeric reading of a value, or `None` for NULL. Text is read like SQLite does: the
/// longest numeric prefix (so `'12abc'` is 12 and `'abc'` is 0).
pub(crate) fn to_num(v: &Value) -> Option<Num> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => Num::Int(i64::from(*b)),
        Value::I8(n) => Num::Int((*n).into()),
        Value::I16(n) => Num::Int((*n).into()),
        Value::I32(n) => Num::Int((*n).into()),
        Value::I64(n) => Num::Int(*n),
        Value::U8(n) => Num::Int((*n).into()),
        Value::U16(n) => Num::Int((*n).into()),
        Value::U32(n) => Num::Int((*n).into()),
        Value::U64(n) => match i64::try_from(*n) {
            Ok(i) => Num::Int(i),
            Err(_) => Num::Float(*n as f64),
        },
        Value::F32(f) => Num::Float((*f).into()),
        Value::F64(f) => Num::Float(*f),
        Value::String(s) => parse_numeric_prefix(s),
        Value::Bytes(b) => parse_numeric_prefix(&String::from_utf8_lossy(b)),
        Value::Identity(_) => Num::Int(0),
        Value::Timestamp(t) => Num::Int(t.0),
    })
}

/// SQLite's text-to-number conversion: leading spaces, then the longest prefix that is an
/// integer or a real; nothing numeric gives 0.
pub(crate) fn parse_numeric_prefix(s: &str) -> Num {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut is_float = false;
    let mut end = i;
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > i + 1 || i > digits_start {
            is_float = true;
            end = j;
            i = j;
        }
    }
    if end == digits_start {
        return Num::Int(0);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            is_float = true;
            end = j;
        }
    }
    let text = &t[..end];
    if !is_float && let Ok(n) = text.parse::<i64>() {
        return Num::Int(n);
    }
    Num::Float(text.parse::<f64>().unwrap_or(0.0))
}

/// SQLite's NUMERIC affinity, applied to an operand compared with a numeric column: text that
/// is a well-formed number (spaces around it allowed) becomes that number, so `id = '3'`
/// finds row 3; anything else is left as it is (`'3abc'` stays text and matches no number).
pub(crate) fn numeric_affinity(v: Value) -> Value {
    match &v {
        Value::String(s) => well_formed_number(s).map_or(v, Num::into_value),
        _ => v,
    }
}

/// SQLite's TEXT affinity, applied to an operand without one compared with a text column:
/// a number becomes its text (`name = 3` compares with `'3'`); anything else is unchanged.
pub(crate) fn text_affinity(v: Value) -> Value {
    match v {
        Value::Null
        | Value::String(_)
        | Value::Bytes(_)
        | Value::Identity(_)
        | Value::Timestamp(_) => v,
        number => to_text(&number).map_or(Value::Null, Value::String),
    }
}

/// The number `s` spells, when all of it (but surrounding spaces) is an integer or a real
/// literal; integers too large for i64 become reals.
fn well_formed_number(s: &str) -> Option<Num> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = digits(&mut i);
    let mut real = false;
    if b.get(i) == Some(&b'.') {
        i += 1;
        mantissa += digits(&mut i);
        real = true;
    }
    if mantissa == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
        real = true;
    }
    if i != b.len() {
        return None;
    }
    if !real && let Ok(n) = t.parse::<i64>() {
        return Some(Num::Int(n));
    }
    t.parse::<f64>().ok().map(Num::Float)
}

/// SQL truthiness: NULL is unknown (`None`), numbers are true when non-zero, text by its
/// numeric reading.
pub(crate) fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        other => to_num(other).map(|n| n.as_f64() != 0.0),
    }
}

/// The class a value sorts in: NULL < numbers < text < bytes < identities < timestamps.
fn class(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_)
        | Value::I8(_)
        | Value::I16(_)
        | Value::I32(_)
        | Value::I64(_)
        | Value::U8(_)
        | Value::U16(_)
        | Value::U32(_)
        | Value::U64(_)
        | Value::F32(_)
        | Value::F64(_) => 1,
        Value::String(_) => 2,
        Value::Bytes(_) => 3,
        Value::Identity(_) => 4,
        Value::Timestamp(_) => 5,
    }
}

fn cmp_num(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        (x, y) => x.as_f64().total_cmp(&y.as_f64()),
    }
}

/// Exact comparison of two integer-class values, including u64 beyond i64.
pub(crate) fn int128(v: &Value) -> Option<i128> {
    Some(match v {
        Value::Bool(b) => i128::from(*b),
        Value::I8(n) => (*n).into(),
        Value::I16(n) => (*n).into(),
        Value::I32(n) => (*n).into(),
        Value::I64(n) => (*n).into(),
        Value::U8(n) => (*n).into(),
        Value::U16(n) => (*n).into(),
        Value::U32(n) => (*n).into(),
        Value::U64(n) => (*n).into(),
        _ => return None,
    })
}

/// The total order used by ORDER BY, DISTINCT, GROUP BY and MIN/MAX (NULL first).
pub(crate) fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    let (ca, cb) = (class(a), class(b));
    if ca != cb {
        // An identity compared with text: read the text as hex, so `owner = '<hex>'` works.
        if let Some(o) = identity_text_cmp(a, b) {
            return o;
        }
        return ca.cmp(&cb);
    }
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bytes(x), Value::Bytes(y)) => x.cmp(y),
        (Value::Identity(x), Value::Identity(y)) => x.cmp(y),
        (Value::Timestamp(x), Value::Timestamp(y)) => x.cmp(y),
        _ => match (int128(a), int128(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => match (to_num(a), to_num(b)) {
                (Some(x), Some(y)) => cmp_num(x, y),
                _ => Ordering::Equal,
            },
        },
    }
}

fn identity_text_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Identity(x), Value::String(s)) => Some(x.cmp(&Identity::from_hex(s).ok()?)),
        (Value::String(s), Value::Identity(y)) => Some(Identity::from_hex(s).ok()?.cmp(y)),
        _ => None,
    }
}

/// SQL comparison: `None` when either side is NULL.
pub(crate) fn sql_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    Some(sort_cmp(a, b))
}

/// A hashable stand-in for a value whose equality matches [`sort_cmp`] (1 and 1.0 are one
/// key), for hash joins, GROUP BY, DISTINCT and set operations.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum KeyValue {
    Null,
    Int(i128),
    Float(u64),
    Text(String),
    Bytes(Vec<u8>),
    Identity([u8; 32]),
    Timestamp(i64),
}

pub(crate) fn key_of(v: &Value) -> KeyValue {
    if let Some(i) = int128(v) {
        return KeyValue::Int(i);
    }
    match v {
        Value::Null => KeyValue::Null,
        Value::F32(_) | Value::F64(_) => {
            let f = to_num(v).map_or(0.0, Num::as_f64);
            if f.fract() == 0.0 && f.abs() < 9.0e18 {
                KeyValue::Int(f as i128)
            } else if f.is_nan() {
                KeyValue::Float(f64::NAN.to_bits())
            } else if f == 0.0 {
                KeyValue::Int(0)
            } else {
                KeyValue::Float(f.to_bits())
            }
        }
        Value::String(s) => KeyValue::Text(s.clone()),
        Value::Bytes(b) => KeyValue::Bytes(b.clone()),
        Value::Identity(id) => KeyValue::Identity(id.0),
        Value::Timestamp(t) => KeyValue::Timestamp(t.0),
        _ => KeyValue::Null,
    }
}

pub(crate) fn row_key(values: &[Value]) -> Vec<KeyValue> {
    values.iter().map(key_of).collect()
}

/// Text form used by `||`, string functions and CAST AS TEXT (SQLite's for numbers).
pub(crate) fn to_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => return None,
        Value::String(s) => s.clone(),
        Value::F32(f) => format_real(f64::from(*f)),
        Value::F64(f) => format_real(*f),
        Value::Bool(b) => i64::from(*b).to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Identity(id) => id.to_hex(),
        Value::Timestamp(t) => t.0.to_string(),
        other => other.to_string(),
    })
}

/// SQLite prints reals with up to 15 significant digits and always with a decimal point.
pub(crate) fn format_real(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if f == f.trunc() && f.abs() < 1e15 {
        return format!("{f:.1}");
    }
    let s = format!("{:.*e}", 14, f);
    // Re-parse the 15-significant-digit form and print it shortest.
    let g: f64 = s.parse().unwrap_or(f);
    let plain = format!("{g}");
    if plain.contains('e') || plain.contains('.') {
        plain
    } else {
        format!("{plain}.0")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// Arithmetic with SQLite's rules. NULL in, NULL out.
pub(crate) fn arith(op: ArithOp, a: &Value, b: &Value) -> Value {
    let (Some(x), Some(y)) = (to_num(a), to_num(b)) else {
        return Value::Null;
    };
    match (x, y) {
        (Num::Int(x), Num::Int(y)) => {
            let r = match op {
                ArithOp::Add => x.checked_add(y),
                ArithOp::Sub => x.checked_sub(y),
                ArithOp::Mul => x.checked_mul(y),
                ArithOp::Div => {
                    if y == 0 {
                        return Value::Null;
                    }
                    // i64::MIN / -1 overflows: SQLite gives a real.
                    x.checked_div(y)
                }
                ArithOp::Rem => {
                    if y == 0 {
                        return Value::Null;
                    }
                    Some(x.checked_rem(y).unwrap_or(0))
                }
            };
            match r {
                Some(n) => Value::I64(n),
                None => float_arith(op, x as f64, y as f64),
            }
        }
        (x, y) => {
            if op == ArithOp::Rem {
                // SQLite: the remainder of the integer parts, as a real.
                let (xi, yi) = (x.as_f64() as i64, y.as_f64() as i64);
                if yi == 0 {
                    return Value::Null;
                }
                return Value::F64(xi.checked_rem(yi).unwrap_or(0) as f64);
            }
            float_arith(op, x.as_f64(), y.as_f64())
        }
    }
}

fn float_arith(op: ArithOp, x: f64, y: f64) -> Value {
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div => {
            if y == 0.0 {
                return Value::Null;
            }
            x / y
        }
        ArithOp::Rem => {
            if y == 0.0 {
                return Value::Null;
            }
            x % y
        }
    };
    if r.is_nan() {
        Value::Null
    } else {
        Value::F64(r)
    }
}

pub(crate) fn negate(v: &Value) -> Value {
    match to_num(v) {
        None => Value::Null,
        Some(Num::Int(i)) => match i.checked_neg() {
            Some(n) => Value::I64(n),
            None => Value::F64(-(i as f64)),
        },
        // SQLite computes `-x` as `0 - x`, so zero stays 0.0, never -0.0.
        Some(Num::Float(f)) => Value::F64(0.0 - f),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn affinity_converts_only_well_formed_numbers_and_numbers() {
        // Proves text becomes a number only when all of it is one, and numbers become text.
        let num = |s: &str| numeric_affinity(Value::String(s.into()));
        assert_eq!(num("3"), Value::I64(3));
        assert_eq!(num(" -3 "), Value::I64(-3));
        assert_eq!(num("2.5"), Value::F64(2.5));
        assert_eq!(num("1e3"), Value::F64(1000.0));
        assert_eq!(num("99999999999999999999"), Value::F64(1e20));
        for text in ["3abc", "", " ", ".", "1e", "0x10", "- 3", "1.2.3"] {
            assert_eq!(num(text), Value::String(text.into()), "{text:?}");
        }
        assert_eq!(numeric_affinity(Value::I32(4)), Value::I32(4));
        assert_eq!(text_affinity(Value::I64(3)), Value::String("3".into()));
        assert_eq!(text_affinity(Value::F64(3.0)), Value::String("3.0".into()));
        assert_eq!(text_affinity(Value::Null), Value::Null);
        assert_eq!(
            text_affinity(Value::String("x".into())),
            Value::String("x".into())
        );
    }

    use super::*;

    #[test]
    fn sqlite_arithmetic() {
        assert_eq!(
            arith(ArithOp::Div, &Value::I64(7), &Value::I64(-2)),
            Value::I64(-3)
        );
        assert_eq!(
            arith(ArithOp::Rem, &Value::I64(-7), &Value::I64(2)),
            Value::I64(-1)
        );
        assert_eq!(
            arith(ArithOp::Div, &Value::I64(1), &Value::I64(0)),
            Value::Null
        );
        assert_eq!(
            arith(ArithOp::Add, &Value::I64(i64::MAX), &Value::I64(1)),
            Value::F64(i64::MAX as f64 + 1.0)
        );
        assert_eq!(
            arith(ArithOp::Mul, &Value::String("3x".into()), &Value::I64(2)),
            Value::I64(6)
        );
        assert_eq!(
            arith(ArithOp::Rem, &Value::F64(5.5), &Value::I64(2)),
            Value::F64(1.0)
        );
    }

    #[test]
    fn comparisons_cross_numeric_types() {
        assert_eq!(
            sql_cmp(&Value::I64(1), &Value::F64(1.0)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            sql_cmp(&Value::U64(u64::MAX), &Value::I64(-1)),
            Some(Ordering::Greater)
        );
        assert_eq!(sql_cmp(&Value::Null, &Value::I64(1)), None);
        assert_eq!(
            sort_cmp(&Value::I64(5), &Value::String("1".into())),
            Ordering::Less
        );
        assert_eq!(key_of(&Value::F64(2.0)), key_of(&Value::U8(2)));
    }

    #[test]
    fn numeric_prefix_and_reals() {
        assert_eq!(parse_numeric_prefix(" 12abc"), Num::Int(12));
        assert_eq!(parse_numeric_prefix("1.5e2x"), Num::Float(150.0));
        assert_eq!(parse_numeric_prefix("abc"), Num::Int(0));
        assert_eq!(format_real(3.0), "3.0");
        assert_eq!(format_real(0.1), "0.1");
    }
}
