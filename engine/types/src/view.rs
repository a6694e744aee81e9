//! Module views: [`ViewSpec`] (what a `#[view]` declares) and the encoding of the rows a view
//! returns to the host ([`encode_view_rows`] / [`decode_view_rows`]).
//!
//! A view's rows cross the module boundary in the engine's own row format, each row prefixed
//! with its length as a varint, so the host checks every value against the declared columns
//! with the same decoder it uses for stored rows.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{Result, TypeError};
use crate::row_codec::{decode_row, encode_row_into, get_varint, put_varint};
use crate::schema::{ColumnDef, is_identifier};

/// A read-only function of a module that SQL reads as a table (`SELECT * FROM active_sessions`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewSpec {
    /// Readable by every caller; otherwise by the module's owner only (as for tables).
    #[serde(default)]
    pub public: bool,
    /// The columns of every row, in order.
    pub columns: Vec<ColumnDef>,
}

impl ViewSpec {
    /// Every problem with the declared columns (empty when they make sense).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.columns.is_empty() {
            problems.push("a view needs at least one column".to_owned());
        }
        let mut seen = HashSet::new();
        for c in &self.columns {
            if !is_identifier(&c.name) {
                problems.push(format!("column name `{}` is not an identifier", c.name));
            }
            if !seen.insert(c.name.to_ascii_lowercase()) {
                problems.push(format!("column `{}` is declared twice", c.name));
            }
        }
        problems
    }
}

/// Encodes `rows` (each checked against `columns`) as a view's answer.
pub fn encode_view_rows(columns: &[ColumnDef], rows: &[Vec<crate::Value>]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut row_bytes = Vec::new();
    for row in rows {
        row_bytes.clear();
        encode_row_into(columns, row, &mut row_bytes)?;
        put_varint(&mut out, row_bytes.len() as u64);
        out.extend_from_slice(&row_bytes);
    }
    Ok(out)
}

/// Decodes a view's answer, checking every value against `columns`.
pub fn decode_view_rows(columns: &[ColumnDef], bytes: &[u8]) -> Result<Vec<Vec<crate::Value>>> {
    let mut rows = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let len = get_varint(bytes, &mut pos)?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| pos.checked_add(len))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| TypeError::Decode("a view row runs past the answer".into()))?;
        rows.push(decode_row(columns, &bytes[pos..end])?);
        pos = end;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnType, ScalarType, Value};

    fn columns() -> Vec<ColumnDef> {
        vec![
            ColumnDef::new("id", ColumnType::new(ScalarType::U64)),
            ColumnDef::new(
                "label",
                ColumnType {
                    nullable: true,
                    ..ColumnType::new(ScalarType::String)
                },
            ),
        ]
    }

    #[test]
    fn rows_round_trip_and_bad_answers_are_refused() {
        // Proves rows survive the encoding, and that a truncated answer, a row of the wrong
        // type and an empty answer are told apart from good ones.
        let rows = vec![
            vec![Value::U64(1), Value::String("a".into())],
            vec![Value::U64(2), Value::Null],
        ];
        let bytes = encode_view_rows(&columns(), &rows).expect("encode");
        assert_eq!(decode_view_rows(&columns(), &bytes).expect("decode"), rows);
        assert_eq!(
            decode_view_rows(&columns(), &[]).expect("empty"),
            Vec::<Vec<Value>>::new()
        );
        assert!(decode_view_rows(&columns(), &bytes[..bytes.len() - 1]).is_err());
        assert!(encode_view_rows(&columns(), &[vec![Value::Null, Value::Null]]).is_err());
        let wrong = encode_view_rows(&columns()[..1], &[vec![Value::U64(1)]]).expect("one column");
        assert!(decode_view_rows(&columns(), &wrong).is_err());
    }

    #[test]
    fn column_problems_are_each_reported() {
        // Proves empty views and bad and duplicate names are reported; a table's columns
        // (auto-increment included, which a view ignores) are fine.
        let mut auto = ColumnDef::new("n", ColumnType::new(ScalarType::U64));
        auto.auto_inc = true;
        let spec = ViewSpec {
            public: true,
            columns: vec![
                ColumnDef::new("a", ColumnType::new(ScalarType::U64)),
                ColumnDef::new("A", ColumnType::new(ScalarType::U64)),
                ColumnDef::new("no space", ColumnType::new(ScalarType::U64)),
                auto,
            ],
        };
        assert_eq!(
            spec.problems(),
            [
                "column `A` is declared twice",
                "column name `no space` is not an identifier",
            ]
        );
        let empty = ViewSpec {
            public: false,
            columns: Vec::new(),
        };
        assert_eq!(empty.problems(), ["a view needs at least one column"]);
    }
}
