//! [`CallTx`]: what a guest call's data calls run on — the database's write transaction (a
//! reducer, a writing HTTP handler) or a read-only snapshot (a read-only HTTP handler or a
//! view, which never take the writer).

use std::ops::Bound;
use std::sync::Arc;

use cosmictron_engine::{Snapshot, TableSchema, WriteTx};
use cosmictron_types::Value;

use crate::error::ModuleError;

type Rows = Vec<Vec<Value>>;
type EngineResult<T> = Result<T, cosmictron_engine::EngineError>;

pub(crate) enum CallTx {
    Write(WriteTx<'static>),
    Read(Snapshot),
}

impl CallTx {
    /// The write transaction; a read-only call answers `read_only` (a module bug, hence 500).
    pub(crate) fn write(&mut self) -> Result<&mut WriteTx<'static>, ModuleError> {
        match self {
            CallTx::Write(tx) => Ok(tx),
            CallTx::Read(_) => Err(ModuleError {
                code: "read_only".into(),
                message: "this call is read-only (a view or a read-only handler): it runs on a \
                          snapshot and cannot write or schedule"
                    .into(),
                details: None,
                http_status: 500,
            }),
        }
    }

    pub(crate) fn table_schema(&self, table: &str) -> EngineResult<Arc<TableSchema>> {
        match self {
            CallTx::Write(tx) => tx.table_schema(table),
            CallTx::Read(s) => s.table_schema(table),
        }
    }

    pub(crate) fn get(&self, table: &str, key: &[Value]) -> EngineResult<Option<Vec<Value>>> {
        match self {
            CallTx::Write(tx) => tx.get(table, key),
            CallTx::Read(s) => s.get(table, key),
        }
    }

    pub(crate) fn find(&self, table: &str, index: &str, prefix: &[Value]) -> EngineResult<Rows> {
        match self {
            CallTx::Write(tx) => tx.find(table, index, prefix),
            CallTx::Read(s) => s.find(table, index, prefix),
        }
    }

    pub(crate) fn range(
        &self,
        table: &str,
        index: &str,
        lower: Bound<&[Value]>,
        upper: Bound<&[Value]>,
    ) -> EngineResult<Rows> {
        // The call buffer limit bounds the answer, not a row count.
        match self {
            CallTx::Write(tx) => tx.range(table, index, lower, upper, usize::MAX),
            CallTx::Read(s) => s.range(table, index, lower, upper, usize::MAX),
        }
    }

    pub(crate) fn scan(&self, table: &str) -> EngineResult<Rows> {
        match self {
            CallTx::Write(tx) => tx.scan(table),
            CallTx::Read(s) => s.scan(table),
        }
    }
}
