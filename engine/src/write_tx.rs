//! The write transaction: the one writer of a database, applying changes in place with an undo
//! log, and committing them as one WAL record and one change set.
//!
//! Changes are applied to the shared tables at once, stamped with this transaction's id, which
//! no reader's snapshot includes until the commit is durable and published; so readers never
//! see them early and never wait for them. Every operation is atomic on its own: if it fails
//! (a constraint, a type error), what it had done is undone and the transaction can go on.

use std::marker::PhantomData;
use std::sync::Arc;

use cosmictron_types::{
    AddColumn, ColumnDef, IndexDef, TableDef, Timestamp, Value, encode_key_value, encode_row,
};
use parking_lot::{ArcMutexGuard, RawMutex};

use crate::change_set::{ChangeCollector, ChangeSet, CollectorMark};
use crate::database::{DbInner, Pending, Writer, now_micros};
use crate::error::{EngineError, Result};
use crate::log_record::{self, LogOp};
use crate::pending_commit::PendingCommit;
use crate::read;
use crate::schema::{TableId, TableSchema, TxId};
use crate::state::{DbState, describe_columns};
use crate::table::{KeyBytes, RowId, Table, View};

/// How deep cascading deletes may go before the transaction is refused.
const CASCADE_DEPTH_MAX: usize = 64;

/// What a committed transaction produced.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    /// The new transaction's id, or `None` when it changed nothing (no id is used up).
    pub tx_id: Option<TxId>,
    /// What changed, as handed to listeners.
    pub changes: Option<Arc<ChangeSet>>,
}

#[derive(Debug)]
enum Undo {
    Inserted {
        table: TableId,
        row: RowId,
    },
    Ended {
        table: TableId,
        row: RowId,
    },
    AutoInc {
        table: TableId,
        previous: u64,
    },
    CreatedTable {
        table: TableId,
        previous_next_id: TableId,
    },
    DroppedTable {
        table: Box<Table>,
    },
    AddedColumn {
        table: TableId,
        previous: Arc<TableSchema>,
        suffix_len: usize,
    },
    ReshapedIndexes {
        table: TableId,
        previous: Arc<TableSchema>,
    },
}

/// A savepoint: lengths of everything an operation appends to.
struct Mark {
    undo: usize,
    log_len: usize,
    log_ops: u64,
    changes: CollectorMark,
    redact: usize,
}

/// A write transaction. Commit with [`WriteTx::commit`]; dropping it rolls back.
///
/// The transaction owns its handle on the database and its writer-lock guard, so nothing in it
/// borrows; `'db` only ties a transaction from [`Database::begin_write`](crate::Database::begin_write)
/// to its `Database` for readability of ordinary code, while
/// [`Database::begin_write_owned`](crate::Database::begin_write_owned) gives a `'static` one.
pub struct WriteTx<'db> {
    db: Arc<DbInner>,
    /// The writer lock, released at commit (before the durability wait) or at rollback.
    writer: Option<ArcMutexGuard<RawMutex, Writer>>,
    _db: PhantomData<&'db DbInner>,
    tx: TxId,
    undo: Vec<Undo>,
    /// The encoded ops of the WAL record (only when the database has a log).
    log: Vec<u8>,
    log_ops: u64,
    changes: ChangeCollector,
    /// Superseded versions whose `pii` columns are wiped once the commit is published.
    redact: Vec<(TableId, RowId)>,
    ops: usize,
}

impl std::fmt::Debug for WriteTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx")
            .field("db", &self.db.name)
            .field("tx", &self.tx)
            .finish()
    }
}

impl<'db> WriteTx<'db> {
    pub(crate) fn begin(db: Arc<DbInner>) -> Result<WriteTx<'db>> {
        let writer = db.writer.lock_arc();
        db.check_poison()?;
        let tx = writer.next_tx;
        Ok(WriteTx {
            db,
            writer: Some(writer),
            _db: PhantomData,
            tx,
            undo: Vec::new(),
            log: Vec::new(),
            log_ops: 0,
            changes: ChangeCollector::default(),
            redact: Vec::new(),
            ops: 0,
        })
    }

    /// The id this transaction will have if it commits.
    pub fn tx_id(&self) -> TxId {
        self.tx
    }

    fn mark(&self) -> Mark {
        Mark {
            undo: self.undo.len(),
            log_len: self.log.len(),
            log_ops: self.log_ops,
            changes: self.changes.mark(),
            redact: self.redact.len(),
        }
    }

    /// Runs one operation atomically: on error, everything it did is undone.
    fn atomic<R>(&mut self, op: impl FnOnce(&mut Self, &mut DbState) -> Result<R>) -> Result<R> {
        self.ops += 1;
        if self.ops > self.db.config.tx_ops_max {
            return Err(EngineError::Limit(format!(
                "a transaction may do at most {} operations",
                self.db.config.tx_ops_max
            )));
        }
        let mark = self.mark();
        // A second handle on the database, so the state guard does not borrow `self`.
        let db = Arc::clone(&self.db);
        let mut state = db.state.write();
        let result = op(self, &mut state);
        if result.is_err() {
            self.undo_to(&mut state, &mark);
        }
        result
    }

    fn log_op(&mut self, op: &LogOp) -> Result<()> {
        if self.db.wal.is_some() {
            log_record::encode_op(op, &mut self.log)?;
            self.log_ops += 1;
        }
        Ok(())
    }

    // ---- schema -------------------------------------------------------------------------

    /// Creates a table. Returns its id.
    pub fn create_table(&mut self, def: TableDef) -> Result<TableId> {
        self.atomic(|tx, state| {
            let id = state.next_table_id;
            let name = def.name.clone();
            state.create_table(id, def.clone(), tx.tx)?;
            tx.undo.push(Undo::CreatedTable {
                table: id,
                previous_next_id: id,
            });
            tx.changes.schema_changes.push(name);
            tx.log_op(&LogOp::CreateTable {
                table: id,
                def: Box::new(def),
            })?;
            Ok(id)
        })
    }

    /// Drops a table and its rows. Refused while a foreign key references it.
    pub fn drop_table(&mut self, name: &str) -> Result<()> {
        self.atomic(|tx, state| {
            let id = state.table_id(name)?;
            let table = state.drop_table(id)?;
            tx.undo.push(Undo::DroppedTable {
                table: Box::new(table),
            });
            tx.changes.schema_changes.push(name.to_owned());
            tx.log_op(&LogOp::DropTable { table: id })
        })
    }

    /// Adds a column at the end of a live table; existing rows get `default`.
    pub fn add_column(&mut self, table: &str, column: ColumnDef, default: Value) -> Result<()> {
        self.atomic(|tx, state| {
            let id = state.table_id(table)?;
            let add = AddColumn { column, default };
            let (previous, suffix_len) = state.add_column(id, &add, tx.tx)?;
            tx.undo.push(Undo::AddedColumn {
                table: id,
                previous,
                suffix_len,
            });
            tx.changes.schema_changes.push(table.to_owned());
            tx.log_op(&LogOp::AddColumn {
                table: id,
                add: Box::new(add),
            })
        })
    }

    /// Adds a btree index over live data (unique indexes check the current rows).
    pub fn create_index(&mut self, table: &str, index: IndexDef) -> Result<()> {
        self.atomic(|tx, state| {
            let id = state.table_id(table)?;
            let previous = state.create_index(id, &index)?;
            tx.undo.push(Undo::ReshapedIndexes {
                table: id,
                previous,
            });
            tx.changes.schema_changes.push(table.to_owned());
            tx.log_op(&LogOp::CreateIndex { table: id, index })
        })
    }

    pub fn drop_index(&mut self, table: &str, index: &str) -> Result<()> {
        self.atomic(|tx, state| {
            let id = state.table_id(table)?;
            let previous = state.drop_index(id, index)?;
            tx.undo.push(Undo::ReshapedIndexes {
                table: id,
                previous,
            });
            tx.changes.schema_changes.push(table.to_owned());
            tx.log_op(&LogOp::DropIndex {
                table: id,
                name: index.to_owned(),
            })
        })
    }

    // ---- rows ---------------------------------------------------------------------------

    /// Inserts a row (values in column order). Auto-increment columns given as 0 or NULL are
    /// filled. Returns the row as stored.
    pub fn insert(&mut self, table: &str, row: Vec<Value>) -> Result<Vec<Value>> {
        self.atomic(|tx, state| {
            let id = state.table_id(table)?;
            tx.insert_locked(state, id, row, None)
        })
    }

    /// Replaces the row with the same primary key. Returns the previous row.
    pub fn update(&mut self, table: &str, row: Vec<Value>) -> Result<Vec<Value>> {
        self.atomic(|tx, state| {
            let id = state.table_id(table)?;
            let t = state.table(id)?;
            check_not_event(t)?;
            let key = primary_key_of(t, &row)?;
            let old_row = read::find_by_key(t, 0, &key, View::Latest).ok_or_else(|| {
                EngineError::RowNotFound {
                    table: table.to_owned(),
                    key: key_text(t, &row),
                }
            })?;
            let old = t.decode(t.row_data(old_row).unwrap_or_default())?;
            // Replacing a referenced row keeps its children only if the key is unchanged,
            // which is the only case `update` allows: the primary key is the lookup key.
            tx.end_row(state, id, old_row)?;
            // The primary key is the one just ended: no need to look for a duplicate of it.
            tx.insert_locked(state, id, row, Some(0))?;
            Ok(old)
        })
    }

    /// Deletes the row with this primary key. Returns it, or `None` if there was none.
    pub fn delete(&mut self, table: &str, key: &[Value]) -> Result<Option<Vec<Value>>> {
        self.atomic(|tx, state| {
            let id = state.table_id(table)?;
            let t = state.table(id)?;
            check_not_event(t)?;
            let key = encode_pk_values(t, key)?;
            let Some(row) = read::find_by_key(t, 0, &key, View::Latest) else {
                return Ok(None);
            };
            let old = t.decode(t.row_data(row).unwrap_or_default())?;
            tx.delete_cascading(state, id, row, 0)?;
            Ok(Some(old))
        })
    }

    /// Deletes one row equal to `row` (for tables without a primary key). Returns whether one
    /// was found.
    pub fn delete_row(&mut self, table: &str, row: &[Value]) -> Result<bool> {
        self.atomic(|tx, state| {
            let id = state.table_id(table)?;
            let t = state.table(id)?;
            check_not_event(t)?;
            let data = encode_row(t.schema.columns(), row).map_err(|e| invalid_row(t, e))?;
            let found = t
                .visible_rows(View::Latest)
                .find(|(_, existing)| *existing == data.as_slice())
                .map(|(r, _)| r);
            match found {
                Some(r) => tx.delete_cascading(state, id, r, 0).map(|()| true),
                None => Ok(false),
            }
        })
    }

    fn insert_locked(
        &mut self,
        state: &mut DbState,
        id: TableId,
        mut row: Vec<Value>,
        unique_checked: Option<usize>,
    ) -> Result<Vec<Value>> {
        let table = state.table(id)?;
        let schema = table.schema.clone();
        if row.len() != schema.columns().len() {
            let e = cosmictron_types::TypeError::WrongArity {
                expected: schema.columns().len(),
                got: row.len(),
            };
            return Err(invalid_row(table, e));
        }
        let (auto_inc, generated) = self.fill_auto_inc(table, &mut row)?;
        let data = encode_row(schema.columns(), &row).map_err(|e| invalid_row(table, e))?;
        if data.len() > self.db.config.row_bytes_max {
            return Err(EngineError::Limit(format!(
                "row of {} bytes exceeds the limit of {} bytes",
                data.len(),
                self.db.config.row_bytes_max
            )));
        }
        let keys: Vec<KeyBytes> = (0..schema.indexes.len())
            .map(|i| table.key_of_values(i, &row))
            .collect();
        for (i, index) in schema.indexes.iter().enumerate() {
            // As in SQL, NULLs are distinct: a key with a NULL never conflicts.
            let has_null = index.columns.iter().any(|&c| row[c].is_null());
            // A generated id is above every stored one (explicit ids move the counter past
            // themselves), so an index on that column alone cannot hold it yet.
            let fresh_id =
                generated && index.columns.len() == 1 && Some(index.columns[0]) == schema.auto_inc;
            if index.unique
                && !fresh_id
                && unique_checked != Some(i)
                && !has_null
                && read::find_by_key(table, i, &keys[i], View::Latest).is_some()
            {
                return Err(EngineError::UniqueViolation {
                    table: schema.name().to_owned(),
                    constraint: index.name.clone(),
                    value: describe_columns(table, &index.columns, &data),
                });
            }
        }
        for fk in &schema.foreign_keys {
            let Some(key) = key_of_columns(&row, &fk.columns) else {
                continue;
            };
            let target = if fk.ref_table == id {
                table
            } else {
                state.table(fk.ref_table)?
            };
            if read::find_by_key(target, fk.ref_index, &key, View::Latest).is_none() {
                return Err(EngineError::ForeignKeyViolation {
                    table: schema.name().to_owned(),
                    constraint: fk.name.clone(),
                    reason: format!(
                        "no row in `{}` with {}",
                        target.schema.name(),
                        describe_columns(table, &fk.columns, &data)
                    ),
                });
            }
        }
        let table = state.table_mut(id)?;
        if let Some(next) = auto_inc {
            self.undo.push(Undo::AutoInc {
                table: id,
                previous: table.next_auto_inc,
            });
            table.next_auto_inc = next;
        }
        let data = data.into_boxed_slice();
        let row_id = table.insert_version_with_keys(&data, keys, self.tx);
        self.undo.push(Undo::Inserted {
            table: id,
            row: row_id,
        });
        if self.db.wal.is_some() {
            log_record::encode_insert(id, row_id, &data, &mut self.log);
            self.log_ops += 1;
        }
        self.changes.inserted(&schema, row_id, data);
        Ok(row)
    }

    /// Fills an auto-increment column given as 0/NULL. Returns the counter's next value if it
    /// must move, and whether the id was generated.
    fn fill_auto_inc(&self, table: &Table, row: &mut [Value]) -> Result<(Option<u64>, bool)> {
        let Some(col) = table.schema.auto_inc else {
            return Ok((None, false));
        };
        let scalar = table.schema.columns()[col].ty.scalar;
        let given = row[col].as_u64();
        if row[col].is_null() || given == Some(0) {
            let n = table.next_auto_inc;
            row[col] = Value::integer_of(scalar, n).ok_or_else(|| {
                EngineError::Limit(format!(
                    "auto_inc column `{}` of `{}` is exhausted",
                    table.schema.columns()[col].name,
                    table.schema.name()
                ))
            })?;
            return Ok((Some(n + 1), true));
        }
        // An explicit value moves the counter past it, so later generated ids do not collide.
        let next = given
            .filter(|&n| n >= table.next_auto_inc)
            .map(|n| n.saturating_add(1));
        Ok((next, false))
    }

    /// Ends a current version: the delete half of delete and update.
    fn end_row(&mut self, state: &mut DbState, id: TableId, row: RowId) -> Result<()> {
        let table = state.table_mut(id)?;
        let schema = table.schema.clone();
        let tx = self.tx;
        table.end_version(row, tx)?;
        let inserted_here = table.version(row).is_some_and(|v| v.begin == tx);
        self.changes.deleted(
            &schema,
            row,
            table.row_data(row).unwrap_or_default(),
            inserted_here,
        );
        self.undo.push(Undo::Ended { table: id, row });
        if !schema.pii_columns.is_empty() {
            self.redact.push((id, row));
        }
        if self.db.wal.is_some() {
            log_record::encode_delete(id, row, &mut self.log);
            self.log_ops += 1;
        }
        Ok(())
    }

    /// Deletes a row, applying ON DELETE RESTRICT / CASCADE of foreign keys that reference it.
    fn delete_cascading(
        &mut self,
        state: &mut DbState,
        id: TableId,
        row: RowId,
        depth: usize,
    ) -> Result<()> {
        if depth > CASCADE_DEPTH_MAX {
            return Err(EngineError::Limit(format!(
                "cascading deletes deeper than {CASCADE_DEPTH_MAX}"
            )));
        }
        self.end_row(state, id, row)?;
        let table = state.table(id)?;
        let data = table.row_data(row).unwrap_or_default().to_vec();
        let referencing: Vec<(TableId, usize)> = state
            .tables
            .values()
            .flat_map(|t| {
                t.schema
                    .foreign_keys
                    .iter()
                    .enumerate()
                    .filter(|(_, fk)| fk.ref_table == id)
                    .map(|(i, _)| (t.schema.id, i))
            })
            .collect();
        for (child_id, fk_pos) in referencing {
            let child = state.table(child_id)?;
            let fk = child.schema.foreign_keys[fk_pos].clone();
            let parent = state.table(id)?;
            let key = parent_key(parent, fk.ref_index, &data)?;
            let children = child.index_prefix(fk.local_index, &key, View::Latest);
            if children.is_empty() {
                continue;
            }
            match fk.on_delete {
                cosmictron_types::OnDelete::Restrict => {
                    let parent = state.table(id)?;
                    let shown = describe_columns(
                        parent,
                        &parent.schema.indexes[fk.ref_index].columns,
                        &data,
                    );
                    return Err(EngineError::ForeignKeyViolation {
                        table: child.schema.name().to_owned(),
                        constraint: fk.name.clone(),
                        reason: format!(
                            "{} row(s) still reference `{}` {shown}",
                            children.len(),
                            parent.schema.name()
                        ),
                    });
                }
                cosmictron_types::OnDelete::Cascade => {
                    for child_row in children {
                        let live = state
                            .table(child_id)?
                            .version(child_row)
                            .is_some_and(|v| v.end == crate::table::TX_LIVE);
                        if live {
                            self.delete_cascading(state, child_id, child_row, depth + 1)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    // ---- reads (the writer's own view, pending changes included) --------------------------

    /// The row with this primary key.
    pub fn get(&self, table: &str, key: &[Value]) -> Result<Option<Vec<Value>>> {
        let state = self.db.state.read();
        read::get(state.by_name(table)?, key, View::Latest)
    }

    /// Rows whose index `index` key starts with `prefix` (equality on leading columns).
    pub fn find(&self, table: &str, index: &str, prefix: &[Value]) -> Result<Vec<Vec<Value>>> {
        let state = self.db.state.read();
        read::find(state.by_name(table)?, index, prefix, View::Latest)
    }

    /// Rows whose key for index `index` lies within the bounds (each a prefix of leading
    /// column values), in key order, at most `limit`.
    pub fn range(
        &self,
        table: &str,
        index: &str,
        lower: std::ops::Bound<&[Value]>,
        upper: std::ops::Bound<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Vec<Value>>> {
        let state = self.db.state.read();
        read::range(
            state.by_name(table)?,
            index,
            lower,
            upper,
            View::Latest,
            limit,
        )
    }

    /// Every current row.
    pub fn scan(&self, table: &str) -> Result<Vec<Vec<Value>>> {
        let state = self.db.state.read();
        read::scan_all(state.by_name(table)?, View::Latest)
    }

    /// The definition of a table.
    pub fn table_schema(&self, table: &str) -> Result<Arc<TableSchema>> {
        Ok(self.db.state.read().by_name(table)?.schema.clone())
    }

    // ---- end ----------------------------------------------------------------------------

    /// Commits: logs the transaction, waits for the durability policy, publishes it to readers
    /// and listeners. On error nothing of it is visible and the transaction is rolled back
    /// (or, after a storage failure, the database is poisoned and must be reopened).
    pub fn commit(self) -> Result<CommitInfo> {
        self.commit_pending()?.wait()
    }

    /// Commits without waiting for durability: logs the transaction and releases the writer
    /// lock, so the next transaction can run; the returned [`PendingCommit`] waits for the
    /// fsync (blocking, or as a future) and then reports the commit. The transaction is
    /// published to readers and listeners once it is durable, even if nobody waits.
    /// Errors as [`commit`](Self::commit).
    pub fn commit_pending(mut self) -> Result<PendingCommit> {
        if self.changes.is_empty() && self.log_ops == 0 {
            self.rollback_all();
            return Ok(PendingCommit::nothing(self.db.clone()));
        }
        let tx = self.tx;
        let timestamp = Timestamp(now_micros());
        if let Some(wal) = &self.db.wal {
            let mut record = Vec::new();
            log_record::encode_record(timestamp.0, self.log_ops, &self.log, &mut record);
            if let Err(e) = wal.append(tx, &record) {
                self.rollback_all();
                // Too large a transaction is the caller's problem, not the storage's: nothing
                // was written, so the database stays usable.
                if let cosmictron_wal::WalError::RecordTooLarge { len, max } = e {
                    return Err(EngineError::Limit(format!(
                        "the transaction's log record is {len} bytes; the limit is {max}"
                    )));
                }
                return Err(self.db.poison(e.into()));
            }
        }
        let changes = Arc::new(std::mem::take(&mut self.changes).finish(tx, timestamp));
        let redact = std::mem::take(&mut self.redact);
        self.undo.clear();
        self.db.publish.lock().push_back(Pending {
            changes: changes.clone(),
            redact,
        });
        if let Some(mut writer) = self.writer.take() {
            writer.next_tx = tx + 1;
        }
        // The writer lock is released: the next transaction runs while this one waits for its
        // fsync, which is what lets commits share fsyncs.
        Ok(PendingCommit::logged(self.db.clone(), tx, changes))
    }

    /// Discards everything this transaction did.
    pub fn rollback(mut self) {
        self.rollback_all();
    }

    fn rollback_all(&mut self) {
        if self.writer.is_none() {
            return;
        }
        if !self.undo.is_empty() {
            let db = Arc::clone(&self.db);
            let mut state = db.state.write();
            let start = Mark {
                undo: 0,
                log_len: 0,
                log_ops: 0,
                changes: CollectorMark::default(),
                redact: 0,
            };
            self.undo_to(&mut state, &start);
        }
        self.writer = None;
    }

    fn undo_to(&mut self, state: &mut DbState, mark: &Mark) {
        while self.undo.len() > mark.undo {
            let Some(undo) = self.undo.pop() else { break };
            // Undo restores what this transaction changed moments ago; a failure here means the
            // in-memory state is inconsistent, so the database stops taking writes.
            if let Err(e) = apply_undo(state, undo) {
                self.db.poison(e);
            }
        }
        self.log.truncate(mark.log_len);
        self.log_ops = mark.log_ops;
        self.changes.rewind(mark.changes);
        self.redact.truncate(mark.redact);
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        self.rollback_all();
    }
}

fn apply_undo(state: &mut DbState, undo: Undo) -> Result<()> {
    match undo {
        Undo::Inserted { table, row } => state.table_mut(table)?.remove_version(row)?,
        Undo::Ended { table, row } => state.table_mut(table)?.unend_version(row)?,
        Undo::AutoInc { table, previous } => state.table_mut(table)?.next_auto_inc = previous,
        Undo::CreatedTable {
            table,
            previous_next_id,
        } => {
            let name = state.table(table)?.schema.def.name.clone();
            state.names.remove(&name);
            state.tables.remove(&table);
            state.next_table_id = previous_next_id;
        }
        Undo::DroppedTable { table } => state.restore_table(*table),
        Undo::AddedColumn {
            table,
            previous,
            suffix_len,
        } => {
            let t = state.table_mut(table)?;
            t.truncate_rows(suffix_len);
            t.set_schema(previous);
        }
        Undo::ReshapedIndexes { table, previous } => {
            state.table_mut(table)?.reshape_indexes(previous)?
        }
    }
    Ok(())
}

fn invalid_row(table: &Table, source: cosmictron_types::TypeError) -> EngineError {
    EngineError::InvalidRow {
        table: table.schema.name().to_owned(),
        source,
    }
}

fn check_not_event(table: &Table) -> Result<()> {
    if table.schema.def.event {
        return Err(EngineError::AppendOnly {
            table: table.schema.name().to_owned(),
        });
    }
    Ok(())
}

/// The encoded primary key of a full row.
fn primary_key_of(table: &Table, row: &[Value]) -> Result<KeyBytes> {
    if !table.schema.has_primary_key {
        return Err(EngineError::NoPrimaryKey {
            table: table.schema.name().to_owned(),
        });
    }
    if row.len() != table.schema.columns().len() {
        let e = cosmictron_types::TypeError::WrongArity {
            expected: table.schema.columns().len(),
            got: row.len(),
        };
        return Err(invalid_row(table, e));
    }
    Ok(table.key_of_values(0, row))
}

/// The encoded primary key from key values alone, type-checked.
pub(crate) fn encode_pk_values(table: &Table, key: &[Value]) -> Result<KeyBytes> {
    if !table.schema.has_primary_key {
        return Err(EngineError::NoPrimaryKey {
            table: table.schema.name().to_owned(),
        });
    }
    // A prefix of the key could name several rows: callers delete or find exactly one.
    let width = table.schema.indexes[0].columns.len();
    if key.len() != width {
        return Err(EngineError::InvalidDefinition(format!(
            "the primary key of `{}` has {width} columns, {} values given",
            table.schema.name(),
            key.len()
        )));
    }
    read::encode_prefix(table, 0, key)
}

fn key_text(table: &Table, row: &[Value]) -> String {
    let cols = &table.schema.indexes[0].columns;
    let parts: Vec<String> = cols
        .iter()
        .map(|&c| {
            if table.schema.is_pii(c) {
                "<redacted>".to_owned()
            } else {
                row[c].to_string()
            }
        })
        .collect();
    format!("({})", parts.join(", "))
}

/// The key of `columns` of a row, or `None` if any is NULL (a NULL reference is no reference).
fn key_of_columns(row: &[Value], columns: &[usize]) -> Option<KeyBytes> {
    let mut key = KeyBytes::new();
    for &c in columns {
        if row[c].is_null() {
            return None;
        }
        encode_key_value(&row[c], &mut key);
    }
    Some(key)
}

/// The key a child's foreign key holds for this parent row: the parent's referenced columns.
fn parent_key(parent: &Table, ref_index: usize, data: &[u8]) -> Result<KeyBytes> {
    parent.key_of_data(ref_index, data)
}

#[cfg(test)]
mod tests {
    use cosmictron_types::ScalarType;

    use crate::{Engine, EngineConfig};

    use super::*;

    #[test]
    fn an_owned_transaction_moves_to_another_thread_and_commits() {
        // Proves `begin_write_owned` gives a `'static + Send` transaction that holds the writer
        // lock wherever it goes (a second writer waits for it) and commits from another thread.
        fn assert_send_static<T: Send + 'static>(_: &T) {}
        let engine = Engine::in_memory(EngineConfig::in_memory());
        let db = engine.create_database("d").expect("db");
        let mut tx = db.begin_write_owned().expect("begin");
        assert_send_static(&tx);
        tx.create_table(
            TableDef::new("t")
                .column("id", ScalarType::U64)
                .primary_key(&["id"]),
        )
        .expect("create");
        let handle = std::thread::spawn(move || {
            tx.insert("t", vec![Value::U64(1)]).expect("insert");
            tx.commit().expect("commit")
        });
        // This writer can only start once the other thread's transaction let go.
        let second = db.begin_write().expect("second writer");
        let info = handle.join().expect("thread");
        assert_eq!(info.tx_id, Some(1));
        assert_eq!(second.tx_id(), 2);
        drop(second);
        let rows = db.snapshot().expect("snap").scan("t").expect("scan");
        assert_eq!(rows, vec![vec![Value::U64(1)]]);
    }
}
