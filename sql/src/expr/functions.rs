//! Scalar functions, CAST and LIKE.

use cosmictron_types::{Identity, ScalarType, Timestamp, Value};

use super::value_ops::{Num, numeric_affinity, sort_cmp, text_affinity, to_num, to_text};
use crate::error::{Result, SqlError};

/// The scalar functions of the dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Func {
    Abs,
    Coalesce,
    NullIf,
    Length,
    Lower,
    Upper,
    Substr,
    Trim,
    LTrim,
    RTrim,
    Replace,
    Instr,
    Round,
    Typeof,
    Concat,
    /// Scalar `min(a, b, …)` / `max(a, b, …)` with two or more arguments.
    Least,
    Greatest,
    /// SQLite's comparison affinities, inserted by the binder around an operand compared with
    /// a numeric or a text column (never named in SQL; see `plan/affinity.rs`).
    NumericAffinity,
    TextAffinity,
}

impl Func {
    /// The function with this (case-insensitive) name and its accepted argument counts.
    pub(crate) fn lookup(name: &str, args: usize) -> Option<Func> {
        let f = match name.to_ascii_lowercase().as_str() {
            "abs" => Func::Abs,
            "coalesce" | "ifnull" => Func::Coalesce,
            "nullif" => Func::NullIf,
            "length" | "char_length" | "character_length" => Func::Length,
            "lower" => Func::Lower,
            "upper" => Func::Upper,
            "substr" | "substring" => Func::Substr,
            "trim" => Func::Trim,
            "ltrim" => Func::LTrim,
            "rtrim" => Func::RTrim,
            "replace" => Func::Replace,
            "instr" => Func::Instr,
            "round" => Func::Round,
            "typeof" => Func::Typeof,
            "concat" => Func::Concat,
            "min" if args >= 2 => Func::Least,
            "max" if args >= 2 => Func::Greatest,
            _ => return None,
        };
        let ok = match f {
            Func::Abs | Func::Length | Func::Lower | Func::Upper | Func::Typeof => args == 1,
            Func::Coalesce => args >= 2 || (args == 2),
            Func::NullIf | Func::Instr => args == 2,
            Func::Substr => args == 2 || args == 3,
            Func::Trim | Func::LTrim | Func::RTrim | Func::Round => args == 1 || args == 2,
            Func::Replace => args == 3,
            Func::Concat => args >= 1,
            Func::Least | Func::Greatest => args >= 2,
            Func::NumericAffinity | Func::TextAffinity => args == 1,
        };
        ok.then_some(f)
    }

    pub(crate) fn is_coalesce(self) -> bool {
        self == Func::Coalesce
    }
}

fn text_arg(v: &Value) -> Option<String> {
    to_text(v)
}

fn trim_with(s: &str, chars: Option<&str>, left: bool, right: bool) -> String {
    let set: Vec<char> = chars.map_or_else(|| vec![' '], |c| c.chars().collect());
    let mut t = s;
    if left {
        t = t.trim_start_matches(|c| set.contains(&c));
    }
    if right {
        t = t.trim_end_matches(|c| set.contains(&c));
    }
    t.to_owned()
}

/// SQLite's substr: 1-based, negative start counts from the end, length may be negative.
fn substr(s: &str, start: i64, len: Option<i64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let mut begin = if start > 0 {
        start - 1
    } else if start < 0 {
        n + start
    } else {
        -1
    };
    let mut end = match len {
        None => n,
        Some(l) if l >= 0 => begin.saturating_add(l),
        Some(l) => {
            let e = begin;
            begin = begin.saturating_add(l);
            e
        }
    };
    if start == 0 && len.is_some_and(|l| l > 0) {
        // substr(x, 0, k) yields k-1 characters in SQLite.
        end = end.min(begin + len.unwrap_or(0));
    }
    let b = begin.clamp(0, n) as usize;
    let e = end.clamp(0, n) as usize;
    if b >= e {
        String::new()
    } else {
        chars[b..e].iter().collect()
    }
}

fn int_arg(v: &Value) -> Option<i64> {
    to_num(v).map(|n| match n {
        Num::Int(i) => i,
        Num::Float(f) => f as i64,
    })
}

pub(crate) fn call(func: Func, args: Vec<Value>) -> Result<Value> {
    let a0 = args.first().cloned().unwrap_or(Value::Null);
    Ok(match func {
        Func::Coalesce => args
            .into_iter()
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null),
        Func::NullIf => {
            let b = args.get(1).cloned().unwrap_or(Value::Null);
            if !a0.is_null() && !b.is_null() && sort_cmp(&a0, &b).is_eq() {
                Value::Null
            } else {
                a0
            }
        }
        // SQLite: text and bytes are read as a real, whatever they spell.
        Func::Abs if matches!(a0, Value::String(_) | Value::Bytes(_)) => {
            Value::F64(to_num(&a0).map_or(0.0, Num::as_f64).abs())
        }
        Func::Abs => match to_num(&a0) {
            None => Value::Null,
            Some(Num::Int(i)) => match i.checked_abs() {
                Some(n) => Value::I64(n),
                None => return Err(SqlError::type_err("integer overflow in abs")),
            },
            Some(Num::Float(f)) => Value::F64(f.abs()),
        },
        Func::Length => match &a0 {
            Value::Null => Value::Null,
            Value::Bytes(b) => Value::I64(b.len() as i64),
            v => Value::I64(text_arg(v).map_or(0, |s| s.chars().count()) as i64),
        },
        Func::Lower => text_arg(&a0).map_or(Value::Null, |s| Value::String(s.to_lowercase())),
        Func::Upper => text_arg(&a0).map_or(Value::Null, |s| Value::String(s.to_uppercase())),
        Func::Substr => {
            let (Some(s), Some(start)) = (text_arg(&a0), args.get(1).and_then(int_arg)) else {
                return Ok(Value::Null);
            };
            let len = match args.get(2) {
                None => None,
                Some(v) => match int_arg(v) {
                    None => return Ok(Value::Null),
                    l => l,
                },
            };
            Value::String(substr(&s, start, len))
        }
        Func::Trim | Func::LTrim | Func::RTrim => {
            let Some(s) = text_arg(&a0) else {
                return Ok(Value::Null);
            };
            let chars = match args.get(1) {
                None => None,
                Some(v) => match text_arg(v) {
                    None => return Ok(Value::Null),
                    c => c,
                },
            };
            let (l, r) = match func {
                Func::LTrim => (true, false),
                Func::RTrim => (false, true),
                _ => (true, true),
            };
            Value::String(trim_with(&s, chars.as_deref(), l, r))
        }
        Func::Replace => {
            let (Some(s), Some(from), Some(to)) = (
                text_arg(&a0),
                args.get(1).and_then(text_arg),
                args.get(2).and_then(text_arg),
            ) else {
                return Ok(Value::Null);
            };
            if from.is_empty() {
                Value::String(s)
            } else {
                Value::String(s.replace(&from, &to))
            }
        }
        Func::Instr => {
            let (Some(s), Some(needle)) = (text_arg(&a0), args.get(1).and_then(text_arg)) else {
                return Ok(Value::Null);
            };
            Value::I64(
                s.find(&needle)
                    .map_or(0, |b| s[..b].chars().count() as i64 + 1),
            )
        }
        Func::Round => {
            let Some(n) = to_num(&a0) else {
                return Ok(Value::Null);
            };
            let digits = args.get(1).and_then(int_arg).unwrap_or(0).clamp(0, 30);
            let f = n.as_f64();
            let p = 10f64.powi(digits as i32);
            let r = (f * p).round() / p;
            Value::F64(r)
        }
        Func::Typeof => Value::String(
            match &a0 {
                Value::Null => "null",
                Value::F32(_) | Value::F64(_) => "real",
                Value::String(_) => "text",
                Value::Bytes(_) => "blob",
                Value::Identity(_) => "identity",
                Value::Timestamp(_) => "timestamp",
                _ => "integer",
            }
            .into(),
        ),
        Func::Concat => Value::String(args.iter().filter_map(text_arg).collect()),
        Func::NumericAffinity => numeric_affinity(a0),
        Func::TextAffinity => text_affinity(a0),
        Func::Least | Func::Greatest => {
            if args.iter().any(Value::is_null) {
                return Ok(Value::Null);
            }
            let mut best = a0;
            for v in args.into_iter().skip(1) {
                let o = sort_cmp(&v, &best);
                if (func == Func::Least && o.is_lt()) || (func == Func::Greatest && o.is_gt()) {
                    best = v;
                }
            }
            best
        }
    })
}

/// The target of a CAST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CastType {
    Integer,
    Real,
    Text,
    Blob,
    /// SQLite's NUMERIC: integer when the value is integral, real otherwise.
    Numeric,
    /// One of the engine's column types by name (`CAST($1 AS identity)`).
    Scalar(ScalarType),
}

impl CastType {
    pub(crate) fn from_name(name: &str) -> Option<CastType> {
        let lower = name.to_ascii_lowercase();
        let base = lower.split('(').next().unwrap_or("").trim();
        Some(match base {
            "int" | "integer" | "bigint" | "smallint" | "tinyint" | "signed" | "unsigned"
            | "int8" | "int4" | "int2" => CastType::Integer,
            "real" | "float" | "double" | "double precision" | "float8" | "float4" => {
                CastType::Real
            }
            "text" | "varchar" | "char" | "string" | "character" | "character varying" | "clob" => {
                CastType::Text
            }
            "blob" | "bytea" | "bytes" => CastType::Blob,
            "numeric" | "decimal" => CastType::Numeric,
            "bool" | "boolean" => CastType::Scalar(ScalarType::Bool),
            other => {
                return ScalarType::ALL
                    .into_iter()
                    .find(|t| t.name() == other)
                    .map(CastType::Scalar);
            }
        })
    }

    /// The result type, when known statically.
    pub(crate) fn result_type(self) -> ScalarType {
        match self {
            CastType::Integer => ScalarType::I64,
            CastType::Real => ScalarType::F64,
            CastType::Text => ScalarType::String,
            CastType::Blob => ScalarType::Bytes,
            CastType::Numeric => ScalarType::F64,
            CastType::Scalar(t) => t,
        }
    }
}

fn to_int(v: &Value) -> Option<i64> {
    to_num(v).map(|n| match n {
        Num::Int(i) => i,
        Num::Float(f) => {
            if f >= 9.223_372_036_854_776e18 {
                i64::MAX
            } else if f <= -9.223_372_036_854_776e18 {
                i64::MIN
            } else {
                f as i64
            }
        }
    })
}

pub(crate) fn cast(v: Value, to: CastType) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match to {
        CastType::Integer => to_int(&v).map_or(Value::Null, Value::I64),
        CastType::Real => to_num(&v).map_or(Value::Null, |n| Value::F64(n.as_f64())),
        CastType::Text => to_text(&v).map_or(Value::Null, Value::String),
        CastType::Blob => match v {
            Value::Bytes(b) => Value::Bytes(b),
            other => Value::Bytes(to_text(&other).unwrap_or_default().into_bytes()),
        },
        CastType::Numeric => match to_num(&v) {
            None => Value::Null,
            Some(Num::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e18 => Value::I64(f as i64),
            Some(n) => n.into_value(),
        },
        CastType::Scalar(t) => cast_scalar(v, t)?,
    })
}

fn cast_scalar(v: Value, t: ScalarType) -> Result<Value> {
    let bad = || SqlError::type_err(format!("cannot cast a value to {t}"));
    if v.scalar_type() == Some(t) {
        return Ok(v);
    }
    Ok(match t {
        ScalarType::Bool => Value::Bool(super::value_ops::truth(&v).unwrap_or(false)),
        ScalarType::F32 => Value::F32(to_num(&v).ok_or_else(bad)?.as_f64() as f32),
        ScalarType::F64 => Value::F64(to_num(&v).ok_or_else(bad)?.as_f64()),
        ScalarType::String => Value::String(to_text(&v).ok_or_else(bad)?),
        ScalarType::Bytes => Value::Bytes(to_text(&v).ok_or_else(bad)?.into_bytes()),
        ScalarType::Identity => match &v {
            Value::String(s) => Value::Identity(Identity::from_hex(s).map_err(|_| bad())?),
            Value::Bytes(b) if b.len() == 32 => {
                let mut id = [0u8; 32];
                id.copy_from_slice(b);
                Value::Identity(Identity(id))
            }
            _ => return Err(bad()),
        },
        ScalarType::Timestamp => Value::Timestamp(Timestamp(to_int(&v).ok_or_else(bad)?)),
        int => {
            let i = to_int(&v).ok_or_else(bad)?;
            let n = i128::from(i);
            let fits = |lo: i128, hi: i128| n >= lo && n <= hi;

            match int {
                ScalarType::I8 if fits(i8::MIN.into(), i8::MAX.into()) => Value::I8(i as i8),
                ScalarType::I16 if fits(i16::MIN.into(), i16::MAX.into()) => Value::I16(i as i16),
                ScalarType::I32 if fits(i32::MIN.into(), i32::MAX.into()) => Value::I32(i as i32),
                ScalarType::I64 => Value::I64(i),
                ScalarType::U8 if fits(0, u8::MAX.into()) => Value::U8(i as u8),
                ScalarType::U16 if fits(0, u16::MAX.into()) => Value::U16(i as u16),
                ScalarType::U32 if fits(0, u32::MAX.into()) => Value::U32(i as u32),
                ScalarType::U64 if n >= 0 => Value::U64(i as u64),
                _ => return Err(bad()),
            }
        }
    })
}

/// LIKE with `%` and `_`, an optional escape character, ASCII case folding as in SQLite.
pub(crate) fn like(
    text: &str,
    pattern: &str,
    escape: Option<char>,
    case_insensitive: bool,
) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Iterative matcher with single-star backtracking: linear in practice, no recursion.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            let c = p[pi];
            if Some(c) == escape && pi + 1 < p.len() {
                if eq(p[pi + 1], t[ti]) {
                    ti += 1;
                    pi += 2;
                    continue;
                }
            } else if c == '%' {
                star = Some((pi, ti));
                pi += 1;
                continue;
            } else if c == '_' || eq(c, t[ti]) {
                ti += 1;
                pi += 1;
                continue;
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_sqlite() {
        assert!(like("Hello", "h%o", None, true));
        assert!(like("abc", "a_c", None, true));
        assert!(!like("abc", "a_d", None, true));
        assert!(like("a%c", "a\\%c", Some('\\'), true));
        assert!(!like("abc", "a\\%c", Some('\\'), true));
        assert!(like("", "%", None, true));
        assert!(like("mississippi", "%iss%pi", None, false));
    }

    #[test]
    fn substr_and_casts() {
        assert_eq!(substr("hello", 2, Some(3)), "ell");
        assert_eq!(substr("hello", -3, None), "llo");
        assert_eq!(
            cast(Value::String("12.7xyz".into()), CastType::Integer).ok(),
            Some(Value::I64(12))
        );
        assert_eq!(
            cast(Value::F64(-3.9), CastType::Integer).ok(),
            Some(Value::I64(-3))
        );
        assert_eq!(
            cast(Value::I64(5), CastType::Scalar(ScalarType::U8)).ok(),
            Some(Value::U8(5))
        );
        assert!(cast(Value::I64(-5), CastType::Scalar(ScalarType::U8)).is_err());
    }
}
