//! Base-table scans: visibility, the access path, the read policy, pushed-down filters.
//!
//! Keys and bounds are converted to the exact column type the engine's index expects. A
//! conversion that cannot be exact either proves no row can match (`2.5` for an integer key,
//! NULL) or widens the range (`col > 2.5` reads from 3); anything else falls back to a full
//! scan. Every pushed conjunct is re-checked on the rows, so the index only narrows.

use std::collections::HashSet;
use std::ops::Bound;

use cosmictron_engine::EngineError;
use cosmictron_types::{ScalarType, Value, decode_column, decode_columns_into, decode_row};

use super::raw_filter::RawFilter;
use super::{ExecCtx, Row};
use crate::error::{Result, SqlError};
use crate::expr::value_ops::{Num, row_key, to_num};
use crate::expr::{Expr, eval_predicate};
use crate::plan::{Access, Scan};

/// A value converted for an index key.
pub(crate) enum Key {
    Exact(Value),
    /// No row can match.
    Never,
    /// Not convertible exactly: scan the table instead.
    Unknown,
}

fn int_value(ty: ScalarType, i: i128) -> Option<Value> {
    Some(match ty {
        ScalarType::I8 => Value::I8(i8::try_from(i).ok()?),
        ScalarType::I16 => Value::I16(i16::try_from(i).ok()?),
        ScalarType::I32 => Value::I32(i32::try_from(i).ok()?),
        ScalarType::I64 => Value::I64(i64::try_from(i).ok()?),
        ScalarType::U8 => Value::U8(u8::try_from(i).ok()?),
        ScalarType::U16 => Value::U16(u16::try_from(i).ok()?),
        ScalarType::U32 => Value::U32(u32::try_from(i).ok()?),
        ScalarType::U64 => Value::U64(u64::try_from(i).ok()?),
        _ => return None,
    })
}

fn is_numeric(v: &Value) -> bool {
    !matches!(
        v,
        Value::Null | Value::String(_) | Value::Bytes(_) | Value::Identity(_) | Value::Timestamp(_)
    )
}

/// The key value for `col = v`.
pub(crate) fn eq_key(v: Value, ty: ScalarType) -> Key {
    if v.is_null() {
        return Key::Never;
    }
    if v.scalar_type() == Some(ty) {
        return Key::Exact(v);
    }
    if ty.is_integer() && is_numeric(&v) {
        return match to_num(&v) {
            Some(Num::Int(i)) => int_value(ty, i.into()).map_or(Key::Never, Key::Exact),
            Some(Num::Float(f)) if f.fract() == 0.0 && f.abs() < 1.8e19 => {
                int_value(ty, f as i128).map_or(Key::Never, Key::Exact)
            }
            Some(Num::Float(f)) if f.is_finite() => Key::Never,
            _ => Key::Unknown,
        };
    }
    match (ty, &v) {
        (ScalarType::F64, _) if is_numeric(&v) => {
            to_num(&v).map_or(Key::Unknown, |n| Key::Exact(Value::F64(n.as_f64())))
        }
        (ScalarType::Identity, Value::String(s)) => cosmictron_types::Identity::from_hex(s)
            .map_or(Key::Never, |id| Key::Exact(Value::Identity(id))),
        _ => Key::Unknown,
    }
}

/// A converted range bound.
enum Edge {
    At(Value, bool),
    Open,
    Empty,
    Unknown,
}

/// The bound for `col > v` (lower) or `col < v` (upper), widened where not exact.
fn edge(v: Value, ty: ScalarType, lower: bool, inclusive: bool) -> Edge {
    if v.is_null() {
        return Edge::Empty;
    }
    if v.scalar_type() == Some(ty) {
        return Edge::At(v, inclusive);
    }
    if ty.is_integer() && is_numeric(&v) {
        let (n, inclusive) = match to_num(&v) {
            Some(Num::Int(i)) => (i128::from(i), inclusive),
            Some(Num::Float(f)) if f.is_finite() && f.abs() < 1.0e30 => {
                if f.fract() == 0.0 {
                    (f as i128, inclusive)
                } else if lower {
                    (f.ceil() as i128, true)
                } else {
                    (f.floor() as i128, true)
                }
            }
            _ => return Edge::Unknown,
        };
        return match int_value(ty, n) {
            Some(v) => Edge::At(v, inclusive),
            // Out of the type's range: everything or nothing.
            None => {
                let below = n < 0;
                if below == lower {
                    Edge::Open
                } else {
                    Edge::Empty
                }
            }
        };
    }
    if ty == ScalarType::F64 && is_numeric(&v) {
        return to_num(&v).map_or(Edge::Unknown, |n| {
            Edge::At(Value::F64(n.as_f64()), inclusive)
        });
    }
    Edge::Unknown
}

/// A lookup of one single-column primary key (`WHERE id = $1`): the row, if any, without the
/// key lists of [`fetch`]. `None` when the scan is not that, or its key cannot be converted
/// exactly (then [`fetch`] decides).
fn point_get(scan: &Scan, ctx: &ExecCtx<'_>) -> Result<Option<Option<Row>>> {
    let Access::Lookup {
        index,
        keys,
        primary: true,
    } = &scan.access
    else {
        return Ok(None);
    };
    let index_column = scan
        .schema
        .indexes
        .get(*index)
        .and_then(|i| i.columns.first());
    let ([key], Some(col)) = (keys.as_slice(), index_column) else {
        return Ok(None);
    };
    let ([e], Some(column)) = (key.as_slice(), scan.schema.columns().get(*col)) else {
        return Ok(None);
    };
    match eq_key(ctx.constant(e)?, column.ty.scalar) {
        Key::Exact(v) => {
            ctx.tick(1)?;
            let row = ctx
                .snapshot
                .get(scan.schema.name(), std::slice::from_ref(&v))?;
            // As `fetch` does: the rows a lookup found count before the filters run.
            ctx.check_rows(usize::from(row.is_some()))?;
            Ok(Some(row))
        }
        Key::Never => Ok(Some(None)),
        Key::Unknown => Ok(None),
    }
}

/// Rows found through the access path, before policy and filters, and whether they come from
/// a lookup whose keys were all exact (so the key conjuncts hold); `None`: scan everything.
fn fetch(scan: &Scan, ctx: &ExecCtx<'_>) -> Result<Option<(Vec<Row>, bool)>> {
    let name = scan.schema.name();
    let column_type = |index: usize, k: usize| -> Option<ScalarType> {
        let col = *scan.schema.indexes.get(index)?.columns.get(k)?;
        Some(scan.schema.columns().get(col)?.ty.scalar)
    };
    match &scan.access {
        Access::Full => Ok(None),
        Access::Lookup {
            index,
            keys,
            primary,
        } => {
            let mut wanted = Vec::new();
            let mut seen = HashSet::new();
            'keys: for key in keys {
                let mut values = Vec::with_capacity(key.len());
                for (k, e) in key.iter().enumerate() {
                    let ty = column_type(*index, k)
                        .ok_or_else(|| SqlError::type_err("internal: index column"))?;
                    match eq_key(ctx.constant(e)?, ty) {
                        Key::Exact(v) => values.push(v),
                        Key::Never => continue 'keys,
                        Key::Unknown => return Ok(None),
                    }
                }
                // One key (a point query) needs no duplicate check.
                if keys.len() == 1 || seen.insert(row_key(&values)) {
                    wanted.push(values);
                }
            }
            let index_name = &scan.schema.indexes[*index].name;
            let mut rows = Vec::new();
            for key in wanted {
                ctx.tick(1)?;
                if *primary {
                    rows.extend(ctx.snapshot.get(name, &key)?);
                } else {
                    rows.extend(ctx.snapshot.find(name, index_name, &key)?);
                }
                ctx.check_rows(rows.len())?;
            }
            Ok(Some((rows, true)))
        }
        Access::Range {
            index,
            prefix,
            lower,
            upper,
        } => {
            let mut values = Vec::with_capacity(prefix.len() + 1);
            for (k, e) in prefix.iter().enumerate() {
                let ty = column_type(*index, k)
                    .ok_or_else(|| SqlError::type_err("internal: index column"))?;
                match eq_key(ctx.constant(e)?, ty) {
                    Key::Exact(v) => values.push(v),
                    Key::Never => return Ok(Some((Vec::new(), true))),
                    Key::Unknown => return Ok(None),
                }
            }
            let ty = column_type(*index, prefix.len())
                .ok_or_else(|| SqlError::type_err("internal: index column"))?;
            let mut edges = [Edge::Open, Edge::Open];
            for (slot, (bound, is_lower)) in [(lower, true), (upper, false)].into_iter().enumerate()
            {
                if let Some((e, inclusive)) = bound {
                    edges[slot] = edge(ctx.constant(e)?, ty, is_lower, *inclusive);
                }
            }
            let mut keys: [Bound<Vec<Value>>; 2] = [Bound::Unbounded, Bound::Unbounded];
            for (slot, e) in edges.into_iter().enumerate() {
                keys[slot] = match e {
                    Edge::Unknown => return Ok(None),
                    Edge::Empty => return Ok(Some((Vec::new(), true))),
                    Edge::Open if values.is_empty() => Bound::Unbounded,
                    // An inclusive prefix bound covers every key extending it.
                    Edge::Open => Bound::Included(values.clone()),
                    Edge::At(v, inclusive) => {
                        let mut k = values.clone();
                        k.push(v);
                        if inclusive {
                            Bound::Included(k)
                        } else {
                            Bound::Excluded(k)
                        }
                    }
                };
            }
            fn as_ref(b: &Bound<Vec<Value>>) -> Bound<&[Value]> {
                match b {
                    Bound::Included(v) => Bound::Included(v.as_slice()),
                    Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
                    Bound::Unbounded => Bound::Unbounded,
                }
            }
            let rows = ctx.snapshot.range(
                name,
                &scan.schema.indexes[*index].name,
                as_ref(&keys[0]),
                as_ref(&keys[1]),
                ctx.intermediate_rows_max.saturating_add(1),
            )?;
            ctx.check_rows(rows.len())?;
            ctx.tick(rows.len() as u64)?;
            Ok(Some((rows, false)))
        }
    }
}

/// True when the row passes the read policy (checked first) and the pushed filters.
pub(super) fn keep(scan: &Scan, row: &Row, ctx: &ExecCtx<'_>) -> Result<bool> {
    keep_with(scan, scan.filter.as_ref(), row, ctx)
}

fn keep_with(scan: &Scan, filter: Option<&Expr>, row: &Row, ctx: &ExecCtx<'_>) -> Result<bool> {
    if let Some(policy) = &scan.policy
        && !ctx.caller.bypass_rls
        && !eval_predicate(&policy.predicate, row, ctx)?
    {
        return Ok(false);
    }
    match filter {
        Some(f) => eval_predicate(f, row, ctx),
        None => Ok(true),
    }
}

/// Private tables do not exist for callers without the bypass: the same error as a missing
/// table.
pub(super) fn check_visible(scan: &Scan, ctx: &ExecCtx<'_>) -> Result<()> {
    if !scan.schema.def.public && !ctx.caller.bypass_rls {
        return Err(SqlError::NoSuchTable(scan.schema.name().to_owned()));
    }
    Ok(())
}

/// The columns the read policy and the pushed filters read, when that is fewer than all: a
/// full scan decodes those first and the rest only for rows that pass.
fn filter_columns(scan: &Scan, ctx: &ExecCtx<'_>) -> Option<Vec<usize>> {
    let mut cols = Vec::new();
    if let Some(p) = &scan.policy
        && !ctx.caller.bypass_rls
    {
        cols.extend(p.predicate.columns());
    }
    if let Some(f) = &scan.filter {
        if f.has_subquery() {
            return None;
        }
        cols.extend(f.columns());
    }
    cols.sort_unstable();
    cols.dedup();
    (!cols.is_empty() && cols.len() < scan.schema.columns().len()).then_some(cols)
}

/// The rows of a table scan, at most `row_limit` of them (LIMIT push-down).
pub(super) fn scan(scan: &Scan, ctx: &ExecCtx<'_>, row_limit: Option<usize>) -> Result<Vec<Row>> {
    let limit = row_limit.unwrap_or(usize::MAX);
    if limit == 0 {
        check_visible(scan, ctx)?;
        // A lookup's keys are still evaluated: their errors (a missing parameter) stand.
        if !matches!(scan.access, Access::Full) {
            fetch(scan, ctx)?;
        }
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for_each(scan, ctx, &mut |row| {
        out.push(std::mem::take(row));
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

/// Calls `f` with each row of the scan that passes the read policy and the filters, until
/// it returns false. The row is lent in a buffer that `f` may take the values out of: a
/// consumer that folds rows (an aggregate) allocates nothing per row.
pub(super) fn for_each(
    scan: &Scan,
    ctx: &ExecCtx<'_>,
    f: &mut dyn FnMut(&mut Row) -> Result<bool>,
) -> Result<()> {
    check_visible(scan, ctx)?;
    let mut yielded = 0;
    // The bound on intermediate rows applies to a scan's output whether or not it is held.
    let mut counted = |row: &mut Row| -> Result<bool> {
        yielded += 1;
        ctx.check_rows(yielded)?;
        f(row)
    };
    if let Some(found) = point_get(scan, ctx)? {
        if let Some(mut row) = found
            && keep_with(scan, scan.lookup_filter.as_ref(), &row, ctx)?
        {
            counted(&mut row)?;
        }
        return Ok(());
    }
    if let Some((rows, exact)) = fetch(scan, ctx)? {
        let filter = if exact {
            scan.lookup_filter.as_ref()
        } else {
            scan.filter.as_ref()
        };
        for mut row in rows {
            if keep_with(scan, filter, &row, ctx)? && !counted(&mut row)? {
                break;
            }
        }
        return Ok(());
    }
    full_scan(scan, ctx, &mut counted)
}

/// Decodes rows lazily: the raw filter first, on the encoded row; then the columns the
/// policy and filters read (into a reused buffer); then, for rows that pass, only the columns
/// the query reads.
pub(super) struct Decoder<'s> {
    columns: &'s [cosmictron_types::ColumnDef],
    raw: Option<RawFilter>,
    probe_columns: Option<Vec<usize>>,
    output_columns: Option<Vec<usize>>,
    probe: Row,
}

impl<'s> Decoder<'s> {
    /// A decoder for the rows of `scan`.
    pub(super) fn new(scan: &'s Scan, ctx: &ExecCtx<'_>) -> Decoder<'s> {
        let columns = scan.schema.columns();
        let probe_columns = filter_columns(scan, ctx);
        // Without a probe (the policy and filters read every column, or a subquery may read
        // any), the policy and filters run on the output row: it must have all they read.
        // The read policy's columns are not among those the query marks as read.
        let checked = (scan.policy.is_some() && !ctx.caller.bypass_rls) || scan.filter.is_some();
        let output_columns = if probe_columns.is_none() && checked {
            None
        } else {
            scan.used.subset()
        };
        Decoder {
            columns,
            raw: RawFilter::compile(scan, ctx),
            probe_columns,
            output_columns,
            probe: vec![Value::Null; columns.len()],
        }
    }

    fn output(&mut self, data: &[u8], row: &mut Row) -> Result<()> {
        let err = |e| SqlError::from(EngineError::from(e));
        let Some(cols) = &self.output_columns else {
            *row = decode_row(self.columns, data).map_err(err)?;
            return Ok(());
        };
        // A buffer still of the row's width holds NULL in every column not decoded (those
        // are never written), so only a taken or fresh one needs resetting.
        if row.len() != self.columns.len() {
            row.clear();
            row.resize(self.columns.len(), Value::Null);
        }
        // One pass over the row; a column the probe decoded is decoded again (rows that get
        // here passed the filter, and are few when it is selective).
        decode_columns_into(self.columns, data, cols, row).map_err(err)
    }

    /// Decodes the row into `row` and returns true if it passes the policy and the filters.
    pub(super) fn next(
        &mut self,
        scan: &Scan,
        data: &[u8],
        ctx: &ExecCtx<'_>,
        row: &mut Row,
    ) -> Result<bool> {
        if let Some(raw) = &self.raw
            && raw.rejects(self.columns, data)?
        {
            return Ok(false);
        }
        let Some(probe_columns) = self.probe_columns.take() else {
            self.output(data, row)?;
            return keep(scan, row, ctx);
        };
        let result = self.probe_then_output(scan, &probe_columns, data, ctx, row);
        for &c in &probe_columns {
            self.probe[c] = Value::Null;
        }
        self.probe_columns = Some(probe_columns);
        result
    }

    fn probe_then_output(
        &mut self,
        scan: &Scan,
        probe_columns: &[usize],
        data: &[u8],
        ctx: &ExecCtx<'_>,
        row: &mut Row,
    ) -> Result<bool> {
        let err = |e| SqlError::from(EngineError::from(e));
        for &c in probe_columns {
            self.probe[c] = decode_column(self.columns, data, c).map_err(err)?;
        }
        if keep(scan, &self.probe, ctx)? {
            self.output(data, row)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

fn full_scan(
    scan: &Scan,
    ctx: &ExecCtx<'_>,
    f: &mut dyn FnMut(&mut Row) -> Result<bool>,
) -> Result<()> {
    let mut decoder = Decoder::new(scan, ctx);
    let mut row = Vec::new();
    let mut failure: Option<SqlError> = None;
    let result = ctx.snapshot.scan_raw(scan.schema.name(), |data| {
        let step = (|| -> Result<bool> {
            ctx.tick(1)?;
            if decoder.next(scan, data, ctx, &mut row)? {
                f(&mut row)
            } else {
                Ok(true)
            }
        })();
        match step {
            Ok(true) => Ok(()),
            Ok(false) => Err(EngineError::Limit(STOP.into())),
            Err(e) => {
                failure = Some(e);
                Err(EngineError::Limit(STOP.into()))
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    match result {
        // Our own early stop (enough rows for the LIMIT).
        Err(EngineError::Limit(m)) if m == STOP => Ok(()),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(()),
    }
}

/// The message of the sentinel error that stops a scan from inside its callback.
const STOP: &str = "cosmictron-sql: scan stopped";
