//! The FROM part of a subscription: which rows of the (joined) tables entered and left it in
//! one transaction, from the transaction's change set and index probes.
//!
//! For a single table the delta is the changed rows that pass the read policy and the pushed
//! filters. For a join of scans `R1 … Rn` it is the classic telescoping sum
//!
//! ```text
//! Δ(R1 ⋈ … ⋈ Rn) = Σi  R1' ⋈ … ⋈ R(i-1)' ⋈ ΔRi ⋈ R(i+1) ⋈ … ⋈ Rn
//! ```
//!
//! (`'` the state after the transaction, no mark the state before): each changed row of `Ri`
//! is extended by probing the other scans, in an order fixed when subscribing where every scan
//! is reached through an equality with scans already bound. A probe goes to an engine index
//! led by the join column, read at the snapshot after (`j < i`) or before (`j > i`) the
//! transaction; with no such index, to an index the subscription keeps itself (join key →
//! rows of that scan passing its policy and filters), updated right after scan `i`'s term so
//! the same before/after rule holds.

use crate::exec::FastMap;
use std::cell::RefCell;
use std::sync::Arc;

use cosmictron_engine::{ChangeSet, Database, Snapshot, TxId};
use cosmictron_types::{ScalarType, Value, decode_row};

use super::analyze::{FromSpec, ScanSpec};
use super::rows::{Row, Signed, SubEnv, strict_key};
use crate::config::Caller;
use crate::error::{Result, SqlError};
use crate::exec::{Key, eq_key};
use crate::expr::value_ops::{KeyValue, key_of};
use crate::expr::{Expr, eval, eval_predicate};

/// How the rows of one scan matching a join key are found.
#[derive(Debug, Clone)]
enum Via {
    /// An engine index whose first column is the join column.
    Index { name: String, ty: ScalarType },
    /// One of the subscription's own indexes (no engine index on the column).
    Own(usize),
}

#[derive(Debug, Clone)]
struct Probe {
    scan: usize,
    /// The value to look up, over the tree layout (reads only scans bound before).
    key: Expr,
    via: Via,
}

/// Rows of one scan (passing its policy and filters) by the value of one column.
#[derive(Debug)]
struct OwnIndex {
    scan: usize,
    column: usize,
    rows: FastMap<KeyValue, Vec<Row>>,
    len: usize,
}

/// The snapshots before and after one transaction, opened when a probe first needs them.
pub(crate) struct Snaps<'a> {
    db: &'a Database,
    tx: TxId,
    before: Option<Snapshot>,
    after: Option<Snapshot>,
}

impl<'a> Snaps<'a> {
    pub(crate) fn new(db: &'a Database, tx: TxId) -> Snaps<'a> {
        Snaps {
            db,
            tx,
            before: None,
            after: None,
        }
    }

    fn get(&mut self, after: bool) -> Result<&Snapshot> {
        let (slot, tx) = if after {
            (&mut self.after, self.tx)
        } else {
            (&mut self.before, self.tx.saturating_sub(1))
        };
        if slot.is_none() {
            *slot = Some(self.db.as_of(tx)?);
        }
        slot.as_ref()
            .ok_or_else(|| SqlError::type_err("internal: snapshot"))
    }
}

/// One change set's rows, decoded once per table however many queries read them.
pub(crate) struct Decoded<'c> {
    changes: &'c ChangeSet,
    tables: RefCell<FastMap<String, Arc<Vec<Signed>>>>,
}

impl<'c> Decoded<'c> {
    pub(crate) fn new(changes: &'c ChangeSet) -> Decoded<'c> {
        Decoded {
            changes,
            tables: RefCell::new(FastMap::default()),
        }
    }

    pub(crate) fn tx_id(&self) -> TxId {
        self.changes.tx_id
    }

    /// The rows `table` gained (+1) and lost (−1); `None` when the tx did not touch it.
    pub(crate) fn rows(&self, table: &str) -> Result<Option<Arc<Vec<Signed>>>> {
        if let Some(rows) = self.tables.borrow().get(table) {
            return Ok(Some(rows.clone()));
        }
        let Some(change) = self.changes.table(table) else {
            return Ok(None);
        };
        let mut rows = Vec::with_capacity(change.inserts.len() + change.deletes.len());
        for (list, sign) in [(&change.inserts, 1), (&change.deletes, -1)] {
            for bytes in list {
                let row = decode_row(change.schema.columns(), bytes)
                    .map_err(|e| SqlError::from(cosmictron_engine::EngineError::from(e)))?;
                rows.push((row, sign));
            }
        }
        let rows = Arc::new(rows);
        self.tables
            .borrow_mut()
            .insert(table.to_owned(), rows.clone());
        Ok(Some(rows))
    }
}

/// The incremental state of a FROM clause.
#[derive(Debug)]
pub(crate) struct FromState {
    /// For each scan as the changed one: the probes that bind every other scan.
    orders: Vec<Vec<Probe>>,
    own: Vec<OwnIndex>,
    /// Most joined rows one transaction may produce (a probe on a column with few distinct
    /// values can fan one changed row out to many).
    delta_rows_max: usize,
}

/// True when `row` passes the scan's read policy (for this caller) and pushed filters.
pub(crate) fn keep(scan: &ScanSpec, row: &[Value], env: &SubEnv, caller: &Caller) -> Result<bool> {
    if let Some(policy) = &scan.policy
        && !caller.bypass_rls
        && !eval_predicate(&policy.predicate, row, env)?
    {
        return Ok(false);
    }
    match &scan.filter {
        Some(f) => eval_predicate(f, row, env),
        None => Ok(true),
    }
}

impl FromState {
    /// Chooses the probe order for every scan; refuses joins with a table no equality reaches.
    pub(crate) fn plan(spec: &FromSpec, delta_rows_max: usize) -> Result<FromState> {
        let mut own: Vec<OwnIndex> = Vec::new();
        let mut orders = Vec::with_capacity(spec.scans.len());
        for start in 0..spec.scans.len() {
            let mut bound = vec![false; spec.scans.len()];
            bound[start] = true;
            let mut order = Vec::new();
            while order.len() + 1 < spec.scans.len() {
                let probe = next_probe(spec, &bound, &mut own).ok_or_else(|| {
                    SqlError::UnsupportedSubscription(
                        "every joined table must be linked to the others by an equality \
                         (a cross join is not maintained incrementally)"
                            .into(),
                    )
                })?;
                bound[probe.scan] = true;
                order.push(probe);
            }
            orders.push(order);
        }
        Ok(FromState {
            orders,
            own,
            delta_rows_max,
        })
    }

    /// Rows the subscription's own indexes hold.
    pub(crate) fn state_rows(&self) -> usize {
        self.own.iter().map(|o| o.len).sum()
    }

    /// Fills the own indexes from `rows_of(scan)` (the scan's rows at the starting snapshot).
    pub(crate) fn fill(
        &mut self,
        mut rows_of: impl FnMut(usize) -> Result<Vec<Row>>,
        state_rows_max: usize,
    ) -> Result<()> {
        for i in 0..self.own.len() {
            let rows = rows_of(self.own[i].scan)?;
            for row in rows {
                self.own[i].add(row);
            }
            self.check_size(state_rows_max)?;
        }
        Ok(())
    }

    fn check_size(&self, state_rows_max: usize) -> Result<()> {
        if self.state_rows() > state_rows_max {
            return Err(SqlError::LimitExceeded(format!(
                "a join without an index on its column keeps more than {state_rows_max} rows; \
                 add an index on the join column"
            )));
        }
        Ok(())
    }

    /// The signed rows (tree layout) that entered and left the FROM clause in `changes`.
    pub(crate) fn delta(
        &mut self,
        spec: &FromSpec,
        changes: &Decoded<'_>,
        snaps: &mut Snaps<'_>,
        ctx: (&SubEnv, &Caller),
        state_rows_max: usize,
    ) -> Result<Vec<Signed>> {
        let (env, caller) = ctx;
        let mut out = Vec::new();
        for (i, scan) in spec.scans.iter().enumerate() {
            let Some(changed) = changes.rows(scan.schema.name())? else {
                continue;
            };
            let mut rows: Vec<Signed> = Vec::new();
            for (row, sign) in changed.iter() {
                if keep(scan, row, env, caller)? {
                    rows.push((row.clone(), *sign));
                }
            }
            if rows.is_empty() {
                continue;
            }
            if spec.scans.len() == 1 {
                out.extend(rows);
                continue;
            }
            for (row, sign) in &rows {
                let mut partial = vec![Value::Null; spec.width];
                place(&mut partial, scan, row)?;
                self.extend(spec, i, 0, &mut partial, *sign, snaps, ctx, &mut out)?;
            }
            for own in self.own.iter_mut().filter(|o| o.scan == i) {
                for (row, sign) in &rows {
                    if *sign > 0 {
                        own.add(row.clone());
                    } else {
                        own.remove(row);
                    }
                }
            }
            self.check_size(state_rows_max)?;
        }
        Ok(out)
    }

    /// Binds the scans after probe `k` of scan `source`'s order, emitting every full row that
    /// meets all join conditions.
    #[allow(clippy::too_many_arguments)]
    fn extend(
        &self,
        spec: &FromSpec,
        source: usize,
        k: usize,
        partial: &mut Row,
        sign: i64,
        snaps: &mut Snaps<'_>,
        ctx: (&SubEnv, &Caller),
        out: &mut Vec<Signed>,
    ) -> Result<()> {
        let (env, caller) = ctx;
        let Some(probe) = self.orders[source].get(k) else {
            for (a, b) in &spec.equalities {
                let eq = Expr::Binary(
                    crate::expr::BinOp::Cmp(crate::expr::CmpOp::Eq),
                    Box::new(a.clone()),
                    Box::new(b.clone()),
                );
                if !eval_predicate(&eq, partial, env)? {
                    return Ok(());
                }
            }
            for r in &spec.residuals {
                if !eval_predicate(r, partial, env)? {
                    return Ok(());
                }
            }
            if out.len() >= self.delta_rows_max {
                return Err(SqlError::LimitExceeded(format!(
                    "one transaction changed more than {} joined rows of this subscription",
                    self.delta_rows_max
                )));
            }
            out.push((partial.clone(), sign));
            return Ok(());
        };
        let target = &spec.scans[probe.scan];
        let value = eval(&probe.key, partial, env)?;
        if value.is_null() {
            return Ok(());
        }
        let candidates: Vec<Row> = match &probe.via {
            Via::Own(i) => self.own[*i]
                .rows
                .get(&key_of(&value))
                .cloned()
                .unwrap_or_default(),
            Via::Index { name, ty } => {
                let snapshot = snaps.get(probe.scan < source)?;
                let table = target.schema.name();
                let found = match eq_key(value, *ty) {
                    Key::Exact(v) => snapshot.find(table, name, &[v])?,
                    Key::Never => Vec::new(),
                    // Not convertible to the index's type: read the table (rare, and correct).
                    Key::Unknown => snapshot.scan(table)?,
                };
                let mut kept = Vec::with_capacity(found.len());
                for row in found {
                    if keep(target, &row, env, caller)? {
                        kept.push(row);
                    }
                }
                kept
            }
        };
        for row in candidates {
            place(partial, target, &row)?;
            self.extend(spec, source, k + 1, partial, sign, snaps, ctx, out)?;
        }
        for v in &mut partial[target.offset..target.offset + target.width] {
            *v = Value::Null;
        }
        Ok(())
    }
}

/// Copies a table's row into its place in the tree layout.
fn place(partial: &mut [Value], scan: &ScanSpec, row: &[Value]) -> Result<()> {
    let slot = partial
        .get_mut(scan.offset..scan.offset + scan.width)
        .filter(|slot| slot.len() == row.len())
        .ok_or_else(|| {
            SqlError::Engine(cosmictron_engine::EngineError::SchemaChanged {
                table: scan.schema.name().to_owned(),
                changed_at: 0,
            })
        })?;
    slot.clone_from_slice(row);
    Ok(())
}

/// An equality `column of an unbound scan = expression over bound scans`, preferring one an
/// engine index can serve.
fn next_probe(spec: &FromSpec, bound: &[bool], own: &mut Vec<OwnIndex>) -> Option<Probe> {
    let mut fallback: Option<(usize, usize, Expr)> = None;
    for (a, b) in &spec.equalities {
        for (col_side, key_side) in [(a, b), (b, a)] {
            let Expr::Column(g) = col_side else {
                continue;
            };
            let scan = spec.scan_of(*g);
            let key_cols = key_side.columns();
            if bound[scan]
                || key_cols.is_empty()
                || !key_cols.iter().all(|&c| bound[spec.scan_of(c)])
            {
                continue;
            }
            let s = &spec.scans[scan];
            let column = g - s.offset;
            if let Some(ix) = s
                .schema
                .indexes
                .iter()
                .find(|ix| ix.columns.first() == Some(&column))
            {
                let ty = s.schema.columns().get(column)?.ty.scalar;
                return Some(Probe {
                    scan,
                    key: key_side.clone(),
                    via: Via::Index {
                        name: ix.name.clone(),
                        ty,
                    },
                });
            }
            if fallback.is_none() {
                fallback = Some((scan, column, key_side.clone()));
            }
        }
    }
    let (scan, column, key) = fallback?;
    let id = match own
        .iter()
        .position(|o| o.scan == scan && o.column == column)
    {
        Some(id) => id,
        None => {
            own.push(OwnIndex {
                scan,
                column,
                rows: FastMap::default(),
                len: 0,
            });
            own.len() - 1
        }
    };
    Some(Probe {
        scan,
        key,
        via: Via::Own(id),
    })
}

impl OwnIndex {
    fn add(&mut self, row: Row) {
        let Some(v) = row.get(self.column) else {
            return;
        };
        if v.is_null() {
            return;
        }
        self.rows.entry(key_of(v)).or_default().push(row);
        self.len += 1;
    }

    fn remove(&mut self, row: &Row) {
        let Some(v) = row.get(self.column) else {
            return;
        };
        let key = key_of(v);
        let Some(list) = self.rows.get_mut(&key) else {
            return;
        };
        let wanted = strict_key(row);
        if let Some(pos) = list.iter().position(|r| strict_key(r) == wanted) {
            list.swap_remove(pos);
            self.len -= 1;
        }
        if list.is_empty() {
            self.rows.remove(&key);
        }
    }
}
