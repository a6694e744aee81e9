//! Index nested-loop join: for each left row, the right rows whose index key equals its key,
//! found by probing the right table's index and decoded straight from their bytes.
//!
//! A hash join reads and decodes both inputs whole and clones a right row's values into every
//! joined row. A probe reads only the right rows that match, decodes only the columns the
//! query uses (through the scan's raw filter, read policy and filters, as a scan would), and
//! moves them into the joined row. It wins when the left side is not much larger than the
//! right table (see `join::join_each` for the choice).

use cosmictron_engine::RowChunk;
use cosmictron_types::{ScalarType, Value};

use super::join::JoinSpec;
use super::scan::{self, Decoder, Key};
use super::{ExecCtx, Row};
use crate::error::Result;
use crate::expr::value_ops::key_of;
use crate::expr::{eval, eval_predicate};
use crate::plan::{JoinKind, Plan, Scan};

/// Probes one right table for left rows, one at a time.
pub(super) struct IndexProbe<'a> {
    spec: &'a JoinSpec<'a>,
    scan: &'a Scan,
    /// The join key that leads the index, and the index.
    key: usize,
    index: &'a str,
    key_type: ScalarType,
    decoder: Decoder<'a>,
    /// The encoded rows the last probe found (copied out of the table, so that the policy
    /// and filters never run under its lock).
    found: RowChunk,
    /// The right rows of the current left row, end to end (each `width` values).
    matches: Vec<Value>,
    width: usize,
    /// The buffer the decoder fills, and the joined row.
    right: Row,
    joined: Row,
    emitted: usize,
}

impl<'a> IndexProbe<'a> {
    /// A probe for this join, if it has an index to probe (a right side that is a table
    /// scan, with a join key leading one of its indexes).
    pub(super) fn new(spec: &'a JoinSpec<'a>, ctx: &ExecCtx<'_>) -> Result<Option<Self>> {
        let (Some((key, index)), Plan::Scan(scan)) = (spec.lookup, spec.right) else {
            return Ok(None);
        };
        let Some(idx) = scan.schema.indexes.get(index) else {
            return Ok(None);
        };
        let Some(key_type) = idx
            .columns
            .first()
            .and_then(|&c| scan.schema.columns().get(c))
            .map(|c| c.ty.scalar)
        else {
            return Ok(None);
        };
        scan::check_visible(scan, ctx)?;
        Ok(Some(IndexProbe {
            spec,
            scan,
            key,
            index: &idx.name,
            key_type,
            decoder: Decoder::new(scan, ctx),
            found: RowChunk::new(),
            matches: Vec::new(),
            width: scan.schema.columns().len(),
            right: Vec::new(),
            joined: Vec::new(),
            emitted: 0,
        }))
    }

    /// The right table's name.
    pub(super) fn table(&self) -> &str {
        self.scan.schema.name()
    }

    /// Joins one left row: calls `f` with each joined row (NULL-padded for an unmatched row of
    /// a LEFT join). The left row's values move into its last joined row. Returns false once
    /// `f` does.
    pub(super) fn join_row(
        &mut self,
        left: &mut [Value],
        ctx: &ExecCtx<'_>,
        f: &mut dyn FnMut(&mut Row) -> Result<bool>,
    ) -> Result<bool> {
        self.matches.clear();
        self.find_matches(left, ctx)?;
        let found = self.matches.len() / self.width.max(1);
        let mut matched = false;
        for m in 0..found {
            ctx.tick(1)?;
            let last = m + 1 == found && self.spec.kind == JoinKind::Inner;
            self.joined.clear();
            if last {
                self.joined
                    .extend(left.iter_mut().map(|v| std::mem::replace(v, Value::Null)));
            } else {
                self.joined.extend_from_slice(left);
            }
            let right = &mut self.matches[m * self.width..(m + 1) * self.width];
            self.joined
                .extend(right.iter_mut().map(|v| std::mem::replace(v, Value::Null)));
            if let Some(p) = self.spec.residual
                && !eval_predicate(p, &self.joined, ctx)?
            {
                continue;
            }
            matched = true;
            self.emitted += 1;
            ctx.check_rows(self.emitted)?;
            if !f(&mut self.joined)? {
                return Ok(false);
            }
        }
        self.spec.pad_unmatched(matched, left, f)
    }

    /// Fills `matches` with the right rows that pass the scan's policy and filters and whose
    /// every join key equals the left row's.
    fn find_matches(&mut self, left: &[Value], ctx: &ExecCtx<'_>) -> Result<()> {
        let probe = eval(&self.spec.left_keys[self.key], left, ctx)?;
        let probe = match scan::eq_key(probe, self.key_type) {
            Key::Exact(v) => v,
            // NULL, or a value no key of this type equals.
            Key::Never => return Ok(()),
            // Not convertible to the index's type (rare: say, text against a number column);
            // every right row is compared instead.
            Key::Unknown => return self.scan_matches(left, ctx),
        };
        ctx.tick(1)?;
        self.found.clear();
        ctx.snapshot.find_raw(
            self.scan.schema.name(),
            self.index,
            std::slice::from_ref(&probe),
            &mut self.found,
        )?;
        ctx.check_rows(self.found.len())?;
        for (_, data) in self.found.iter() {
            if self.decoder.next(self.scan, data, ctx, &mut self.right)?
                && keys_match(self.spec, left, &self.right, ctx)?
            {
                self.matches.extend(
                    self.right
                        .iter_mut()
                        .map(|v| std::mem::replace(v, Value::Null)),
                );
            }
        }
        Ok(())
    }

    /// `find_matches` for a key the index cannot be probed with: the whole right side.
    fn scan_matches(&mut self, left: &[Value], ctx: &ExecCtx<'_>) -> Result<()> {
        let (matches, spec) = (&mut self.matches, self.spec);
        scan::for_each(self.scan, ctx, &mut |right| {
            if keys_match(spec, left, right, ctx)? {
                matches.extend(right.iter_mut().map(|v| std::mem::replace(v, Value::Null)));
            }
            Ok(true)
        })
    }
}

/// True when every join key of the left row equals the right row's, as the hash join compares
/// them (by `key_of`; NULL never equals). The probed key is compared too: the index lookup
/// converts values to the column's type, and only narrows.
fn keys_match(
    spec: &JoinSpec<'_>,
    left: &[Value],
    right: &[Value],
    ctx: &ExecCtx<'_>,
) -> Result<bool> {
    for (l, r) in spec.left_keys.iter().zip(spec.right_keys) {
        let (l, r) = (eval(l, left, ctx)?, eval(r, right, ctx)?);
        if l.is_null() || r.is_null() || !same_key(&l, &r) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        _ => key_of(a) == key_of(b),
    }
}

impl std::fmt::Debug for IndexProbe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IndexProbe({}.{})", self.scan.schema.name(), self.index)
    }
}
