//! [`ColumnLocator`]: finds one column's encoded bytes in a row without decoding the row.
//!
//! A row has no offset table (see `row_codec.rs`), so reaching column `i` means stepping over
//! the columns before it. The locator works those steps out once per schema: runs of
//! non-nullable fixed-width columns collapse into one jump, so in a typical row only the
//! strings and nullable columns before the wanted one cost a read.

use crate::error::{Result, TypeError};
use crate::row_codec::get_varint;
use crate::schema::ColumnDef;

/// One move over a column that precedes the wanted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Skip this many bytes (non-nullable fixed-width columns, merged).
    Fixed(usize),
    /// A non-nullable string or bytes column: a LEB128 length, then the bytes.
    Var,
    /// A nullable column: a presence tag, then a value of this width (`None`: a length).
    Nullable(Option<usize>),
}

/// Where one column of a table's rows is, worked out from the table's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnLocator {
    steps: Vec<Step>,
    nullable: bool,
    /// The value's width, or `None` for a length-prefixed one.
    width: Option<usize>,
}

#[cold]
fn truncated(pos: usize) -> TypeError {
    TypeError::Decode(format!("row truncated at offset {pos}"))
}

#[inline]
fn skip(bytes: &[u8], pos: &mut usize, n: usize) -> Result<()> {
    match pos.checked_add(n) {
        Some(end) if end <= bytes.len() => {
            *pos = end;
            Ok(())
        }
        _ => Err(truncated(*pos)),
    }
}

#[inline]
fn var_len(bytes: &[u8], pos: &mut usize) -> Result<usize> {
    // Lengths under 128 (most strings) are one byte.
    if let Some(&b) = bytes.get(*pos)
        && b < 0x80
    {
        *pos += 1;
        return Ok(usize::from(b));
    }
    usize::try_from(get_varint(bytes, pos)?).map_err(|_| truncated(*pos))
}

/// Reads a presence tag: true when a value follows.
#[inline]
fn present(bytes: &[u8], pos: &mut usize) -> Result<bool> {
    match bytes.get(*pos) {
        Some(0) => {
            *pos += 1;
            Ok(false)
        }
        Some(1) => {
            *pos += 1;
            Ok(true)
        }
        Some(tag) => Err(TypeError::Decode(format!(
            "bad null tag {tag} at offset {}",
            *pos
        ))),
        None => Err(truncated(*pos)),
    }
}

impl ColumnLocator {
    /// The locator of column `index` of rows of `columns`.
    pub fn new(columns: &[ColumnDef], index: usize) -> Result<ColumnLocator> {
        let col = columns
            .get(index)
            .ok_or_else(|| TypeError::Decode(format!("no column at position {index}")))?;
        let mut steps: Vec<Step> = Vec::new();
        for before in &columns[..index] {
            let width = before.ty.scalar.fixed_width();
            let step = match (before.ty.nullable, width) {
                (true, w) => Step::Nullable(w),
                (false, Some(w)) => Step::Fixed(w),
                (false, None) => Step::Var,
            };
            match (steps.last_mut(), step) {
                (Some(Step::Fixed(n)), Step::Fixed(w)) => *n += w,
                _ => steps.push(step),
            }
        }
        Ok(ColumnLocator {
            steps,
            nullable: col.ty.nullable,
            width: col.ty.scalar.fixed_width(),
        })
    }

    /// The column's encoded value in `row` (`None` for NULL): the little-endian value of a
    /// fixed-width column, the UTF-8 or raw bytes of a string or bytes column.
    #[inline]
    pub fn bytes<'a>(&self, row: &'a [u8]) -> Result<Option<&'a [u8]>> {
        let mut pos = 0;
        for step in &self.steps {
            match *step {
                Step::Fixed(n) => skip(row, &mut pos, n)?,
                Step::Var => {
                    let n = var_len(row, &mut pos)?;
                    skip(row, &mut pos, n)?;
                }
                Step::Nullable(width) => {
                    if present(row, &mut pos)? {
                        let n = match width {
                            Some(w) => w,
                            None => var_len(row, &mut pos)?,
                        };
                        skip(row, &mut pos, n)?;
                    }
                }
            }
        }
        if self.nullable && !present(row, &mut pos)? {
            return Ok(None);
        }
        let n = match self.width {
            Some(w) => w,
            None => var_len(row, &mut pos)?,
        };
        let start = pos;
        skip(row, &mut pos, n)?;
        Ok(Some(&row[start..pos]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column_type::{ColumnType, ScalarType};
    use crate::row_codec::encode_row;
    use crate::value::Value;

    #[test]
    fn fixed_columns_merge_into_one_jump() -> Result<()> {
        let columns = vec![
            ColumnDef::new("a", ColumnType::new(ScalarType::U64)),
            ColumnDef::new("b", ColumnType::new(ScalarType::I32)),
            ColumnDef::new("s", ColumnType::new(ScalarType::String)),
            ColumnDef::new("n", ColumnType::nullable(ScalarType::I64)),
            ColumnDef::new("t", ColumnType::new(ScalarType::I16)),
        ];
        let locator = ColumnLocator::new(&columns, 4)?;
        assert_eq!(
            locator.steps,
            vec![Step::Fixed(12), Step::Var, Step::Nullable(Some(8))]
        );
        let row = encode_row(
            &columns,
            &[
                Value::U64(1),
                Value::I32(2),
                Value::String("xyz".into()),
                Value::Null,
                Value::I16(-5),
            ],
        )?;
        assert_eq!(locator.bytes(&row)?, Some(&(-5i16).to_le_bytes()[..]));
        assert_eq!(ColumnLocator::new(&columns, 3)?.bytes(&row)?, None);
        assert_eq!(
            ColumnLocator::new(&columns, 2)?.bytes(&row)?,
            Some(&b"xyz"[..])
        );
        assert!(locator.bytes(&row[..row.len() - 1]).is_err());
        assert!(ColumnLocator::new(&columns, 5).is_err());
        Ok(())
    }
}
