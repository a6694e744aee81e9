//! The payload of one WAL record: one committed transaction, as the operations that redo it.
//!
//! ```text
//! offset  field
//! 0       format version (u8) = 1
//! 1       commit time, µs since the Unix epoch (i64 LE)
//! 9       op count (LEB128)
//! ...     ops, each a kind byte then its fields:
//!         1 insert        table id (LEB128), row id (LEB128), row length (LEB128), row bytes
//!         2 delete        table id (LEB128), row id (LEB128)
//!         3 create table  table id (LEB128), JSON length (LEB128), TableDef as JSON
//!         4 drop table    table id (LEB128)
//!         5 add column    table id (LEB128), JSON length (LEB128), AddColumn as JSON
//!         6 create index  table id (LEB128), JSON length (LEB128), IndexDef as JSON
//!         7 drop index    table id (LEB128), name length (LEB128), name (UTF-8)
//! ```
//!
//! Row ids are logged so that replay rebuilds the same slots, which later deletes refer to.
//! Schema operations are rare and small, so JSON keeps them readable and evolvable.

use cosmictron_types::{AddColumn, IndexDef, TableDef, get_varint, put_varint};

use crate::error::{EngineError, Result};
use crate::schema::TableId;
use crate::table::RowId;

const FORMAT_VERSION: u8 = 1;

/// One redo operation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LogOp {
    Insert {
        table: TableId,
        row: RowId,
        data: Box<[u8]>,
    },
    Delete {
        table: TableId,
        row: RowId,
    },
    CreateTable {
        table: TableId,
        def: Box<TableDef>,
    },
    DropTable {
        table: TableId,
    },
    AddColumn {
        table: TableId,
        add: Box<AddColumn>,
    },
    CreateIndex {
        table: TableId,
        index: IndexDef,
    },
    DropIndex {
        table: TableId,
        name: String,
    },
}

/// A decoded record.
#[derive(Debug)]
pub(crate) struct TxRecord {
    pub(crate) timestamp_us: i64,
    pub(crate) ops: Vec<LogOp>,
}

/// Encodes a whole record (header and ops).
#[cfg(test)]
pub(crate) fn encode(timestamp_us: i64, ops: &[LogOp], out: &mut Vec<u8>) -> Result<()> {
    let mut body = Vec::new();
    for op in ops {
        encode_op(op, &mut body)?;
    }
    encode_record(timestamp_us, ops.len() as u64, &body, out);
    Ok(())
}

/// Writes the header followed by `body`, the already-encoded ops.
pub(crate) fn encode_record(timestamp_us: i64, op_count: u64, body: &[u8], out: &mut Vec<u8>) {
    out.reserve(body.len() + 19);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&timestamp_us.to_le_bytes());
    put_varint(out, op_count);
    out.extend_from_slice(body);
}

/// Appends an insert op without copying the row into a `LogOp` first (the commit hot path).
pub(crate) fn encode_insert(table: TableId, row: RowId, data: &[u8], out: &mut Vec<u8>) {
    out.push(1);
    put_varint(out, u64::from(table));
    put_varint(out, row);
    put_bytes(out, data);
}

pub(crate) fn encode_delete(table: TableId, row: RowId, out: &mut Vec<u8>) {
    out.push(2);
    put_varint(out, u64::from(table));
    put_varint(out, row);
}

/// Appends one op.
pub(crate) fn encode_op(op: &LogOp, out: &mut Vec<u8>) -> Result<()> {
    match op {
        LogOp::Insert { table, row, data } => encode_insert(*table, *row, data, out),
        LogOp::Delete { table, row } => encode_delete(*table, *row, out),
        LogOp::CreateTable { table, def } => {
            out.push(3);
            put_varint(out, u64::from(*table));
            put_bytes(out, &to_json(def.as_ref())?);
        }
        LogOp::DropTable { table } => {
            out.push(4);
            put_varint(out, u64::from(*table));
        }
        LogOp::AddColumn { table, add } => {
            out.push(5);
            put_varint(out, u64::from(*table));
            put_bytes(out, &to_json(add.as_ref())?);
        }
        LogOp::CreateIndex { table, index } => {
            out.push(6);
            put_varint(out, u64::from(*table));
            put_bytes(out, &to_json(index)?);
        }
        LogOp::DropIndex { table, name } => {
            out.push(7);
            put_varint(out, u64::from(*table));
            put_bytes(out, name.as_bytes());
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| EngineError::InvalidDefinition(e.to_string()))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Decodes a record; `seq` only labels errors.
pub(crate) fn decode(seq: u64, bytes: &[u8]) -> Result<TxRecord> {
    let corrupt = |reason: String| EngineError::Corrupt {
        what: format!("log record of tx {seq}"),
        reason,
    };
    let mut r = Reader { bytes, pos: 0 };
    let version = r.byte().map_err(&corrupt)?;
    if version != FORMAT_VERSION {
        return Err(corrupt(format!("unknown format version {version}")));
    }
    let ts = r.take(8).map_err(&corrupt)?;
    let timestamp_us = i64::from_le_bytes(ts.try_into().map_err(|_| corrupt("timestamp".into()))?);
    let count = r.varint().map_err(&corrupt)?;
    let mut ops = Vec::with_capacity(count.min(1 << 16) as usize);
    for _ in 0..count {
        ops.push(r.op().map_err(&corrupt)?);
    }
    if r.pos != bytes.len() {
        return Err(corrupt(format!("{} trailing bytes", bytes.len() - r.pos)));
    }
    Ok(TxRecord { timestamp_us, ops })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("truncated at offset {}", self.pos))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn varint(&mut self) -> Result<u64, String> {
        get_varint(self.bytes, &mut self.pos).map_err(|e| e.to_string())
    }

    fn table(&mut self) -> Result<TableId, String> {
        let id = self.varint()?;
        TableId::try_from(id).map_err(|_| format!("table id {id} out of range"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.varint()?;
        self.take(usize::try_from(len).map_err(|_| "length out of range".to_owned())?)
    }

    fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, String> {
        serde_json::from_slice(self.bytes()?).map_err(|e| e.to_string())
    }

    fn op(&mut self) -> Result<LogOp, String> {
        let at = self.pos;
        Ok(match self.byte()? {
            1 => LogOp::Insert {
                table: self.table()?,
                row: self.varint()?,
                data: self.bytes()?.into(),
            },
            2 => LogOp::Delete {
                table: self.table()?,
                row: self.varint()?,
            },
            3 => LogOp::CreateTable {
                table: self.table()?,
                def: Box::new(self.json()?),
            },
            4 => LogOp::DropTable {
                table: self.table()?,
            },
            5 => LogOp::AddColumn {
                table: self.table()?,
                add: Box::new(self.json()?),
            },
            6 => LogOp::CreateIndex {
                table: self.table()?,
                index: self.json()?,
            },
            7 => {
                let table = self.table()?;
                let name = std::str::from_utf8(self.bytes()?).map_err(|e| e.to_string())?;
                LogOp::DropIndex {
                    table,
                    name: name.to_owned(),
                }
            }
            kind => return Err(format!("unknown op kind {kind} at offset {at}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use cosmictron_types::ScalarType;

    use super::*;

    #[test]
    fn records_round_trip_and_truncations_are_rejected() {
        let ops = vec![
            LogOp::CreateTable {
                table: 1,
                def: Box::new(
                    TableDef::new("t")
                        .column("id", ScalarType::U64)
                        .primary_key(&["id"]),
                ),
            },
            LogOp::Insert {
                table: 1,
                row: 300,
                data: vec![1, 2, 3].into(),
            },
            LogOp::Delete { table: 1, row: 300 },
            LogOp::DropIndex {
                table: 1,
                name: "ix".into(),
            },
            LogOp::DropTable { table: 1 },
        ];
        let mut bytes = Vec::new();
        encode(42, &ops, &mut bytes).expect("encode");
        let record = decode(7, &bytes).expect("decode");
        assert_eq!(record.timestamp_us, 42);
        assert_eq!(record.ops, ops);
        for cut in 0..bytes.len() {
            let err = decode(7, &bytes[..cut]).expect_err("truncated record must not decode");
            assert!(err.to_string().contains("tx 7"), "{err}");
        }
    }
}
