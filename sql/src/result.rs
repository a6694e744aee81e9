//! Query results and their JSON form.
//!
//! ```text
//! {"columns": [{"name": "id", "type": "u64"}, {"name": "n", "type": null}],
//!  "rows": [[1, "9007199254740993"], ...],
//!  "tx_id": 42}
//! ```
//!
//! Values in JSON:
//! - NULL → `null`; bool → `true`/`false`.
//! - Integers within ±2^53 (exactly representable in a JavaScript number) → numbers; larger
//!   ones → decimal strings, so no client silently rounds them.
//! - Floats → numbers; NaN and ±infinity (not JSON numbers) → the strings `"NaN"`,
//!   `"Infinity"`, `"-Infinity"`.
//! - Strings → strings. Bytes → `"\\x"` followed by lowercase hex (PostgreSQL's bytea form),
//!   e.g. `"\\x00ff"`.
//! - Identity → 64 lowercase hex characters. Timestamp → integer microseconds since the epoch
//!   (a string beyond ±2^53, like other integers).

use cosmictron_engine::TxId;
use cosmictron_types::{ScalarType, Value};
use serde_json::{Map, Number, Value as Json, json};

/// One result column: its name and, when the planner knows it, its type.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: Option<ScalarType>,
}

/// The rows a query returned, the columns they have, and the transaction they were read at.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// Shared with the prepared statement: a cached query hands out the same column list.
    pub columns: std::sync::Arc<[ResultColumn]>,
    pub rows: Vec<Vec<Value>>,
    /// The snapshot the query read: the latest tx, or the one named by `AS OF TX`.
    pub tx_id: TxId,
}

/// Largest integer magnitude written as a JSON number (2^53).
const JSON_SAFE_INT: u64 = 1 << 53;

impl QueryResult {
    /// The documented JSON form (see the module docs).
    pub fn to_json(&self) -> Json {
        let columns: Vec<Json> = self
            .columns
            .iter()
            .map(|c| json!({"name": c.name, "type": c.ty.map(ScalarType::name)}))
            .collect();
        let rows: Vec<Json> = self
            .rows
            .iter()
            .map(|r| Json::Array(r.iter().map(value_to_json).collect()))
            .collect();
        let mut out = Map::new();
        out.insert("columns".into(), Json::Array(columns));
        out.insert("rows".into(), Json::Array(rows));
        out.insert("tx_id".into(), int_json(i128::from(self.tx_id)));
        Json::Object(out)
    }
}

fn int_json(v: i128) -> Json {
    if v.unsigned_abs() <= u128::from(JSON_SAFE_INT) {
        // In range for both i64 and f64-exact.
        Json::Number(Number::from(v as i64))
    } else {
        Json::String(v.to_string())
    }
}

fn float_json(v: f64) -> Json {
    match Number::from_f64(v) {
        Some(n) => Json::Number(n),
        None if v.is_nan() => Json::String("NaN".into()),
        None if v > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

/// One value in the documented JSON form.
pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::I8(n) => int_json((*n).into()),
        Value::I16(n) => int_json((*n).into()),
        Value::I32(n) => int_json((*n).into()),
        Value::I64(n) => int_json((*n).into()),
        Value::U8(n) => int_json((*n).into()),
        Value::U16(n) => int_json((*n).into()),
        Value::U32(n) => int_json((*n).into()),
        Value::U64(n) => int_json((*n).into()),
        Value::F32(f) => float_json(f64::from(*f)),
        Value::F64(f) => float_json(*f),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => {
            let mut s = String::with_capacity(2 + b.len() * 2);
            s.push_str("\\x");
            for byte in b {
                s.push_str(&format!("{byte:02x}"));
            }
            Json::String(s)
        }
        Value::Identity(id) => Json::String(id.to_hex()),
        Value::Timestamp(ts) => int_json(ts.0.into()),
    }
}

#[cfg(test)]
mod tests {
    use cosmictron_types::{Identity, Timestamp};

    use super::*;

    #[test]
    fn json_keeps_big_integers_and_bytes_exact() {
        let result = QueryResult {
            columns: vec![ResultColumn {
                name: "v".into(),
                ty: None,
            }]
            .into(),
            rows: vec![
                vec![Value::I64(1 << 53)],
                vec![Value::I64((1 << 53) + 1)],
                vec![Value::U64(u64::MAX)],
                vec![Value::I64(i64::MIN)],
                vec![Value::Bytes(vec![0, 255])],
                vec![Value::Identity(Identity([0xab; 32]))],
                vec![Value::Timestamp(Timestamp(5))],
                vec![Value::F64(f64::NAN)],
                vec![Value::Null],
            ],
            tx_id: 7,
        };
        let json = result.to_json();
        let rows = &json["rows"];
        assert_eq!(rows[0][0], json!(9007199254740992i64));
        assert_eq!(rows[1][0], json!("9007199254740993"));
        assert_eq!(rows[2][0], json!("18446744073709551615"));
        assert_eq!(rows[3][0], json!("-9223372036854775808"));
        assert_eq!(rows[4][0], json!("\\x00ff"));
        assert_eq!(rows[5][0], json!("ab".repeat(32)));
        assert_eq!(rows[6][0], json!(5));
        assert_eq!(rows[7][0], json!("NaN"));
        assert_eq!(rows[8][0], Json::Null);
        assert_eq!(json["tx_id"], json!(7));
        assert_eq!(json["columns"][0]["name"], json!("v"));
    }
}
