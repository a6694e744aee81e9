//! Joins: index probes of the right table (`index_join.rs`) or a hash join on the equality
//! keys (built on the right input), or a nested loop when there are no keys; a residual
//! predicate on the joined row; NULL padding for LEFT joins.

use cosmictron_types::Value;

use super::flat_rows::FlatRows;
use super::index_join::IndexProbe;
use super::{ExecCtx, FastMap, Row, stream};
use crate::error::Result;
use crate::expr::value_ops::{KeyValue, key_of};
use crate::expr::{Expr, eval, eval_predicate};
use crate::plan::{JoinKind, Plan};

pub(super) struct JoinSpec<'p> {
    pub(super) left: &'p Plan,
    pub(super) right: &'p Plan,
    pub(super) kind: JoinKind,
    pub(super) left_keys: &'p [Expr],
    pub(super) right_keys: &'p [Expr],
    pub(super) residual: Option<&'p Expr>,
    pub(super) right_width: usize,
    pub(super) lookup: Option<(usize, usize)>,
}

impl JoinSpec<'_> {
    /// After a left row's matches: a LEFT join's unmatched row goes on padded with NULLs for
    /// the right side. Returns what `f` returned (`true` when nothing was emitted).
    pub(super) fn pad_unmatched(
        &self,
        matched: bool,
        left: &[Value],
        f: &mut dyn FnMut(&mut Row) -> Result<bool>,
    ) -> Result<bool> {
        if matched || self.kind != JoinKind::Left {
            return Ok(true);
        }
        let mut padded = left.to_vec();
        padded.extend(std::iter::repeat_n(Value::Null, self.right_width));
        f(&mut padded)
    }
}

/// Left inputs up to this many rows probe the right table's index even when it is smaller.
const LOOKUP_LEFT_ROWS_MAX: usize = 8192;

/// The row estimate of the left side when it is a table scan (it can then be streamed).
fn left_table_rows(spec: &JoinSpec<'_>, ctx: &ExecCtx<'_>) -> Result<Option<u64>> {
    match spec.left {
        Plan::Scan(left) => Ok(Some(ctx.snapshot.estimated_rows(left.schema.name())?)),
        _ => Ok(None),
    }
}

/// A hash-join key: one value, or several.
#[derive(PartialEq, Eq, Hash)]
enum JoinKey {
    One(KeyValue),
    Many(Vec<KeyValue>),
}

/// The hash key of a row, or `None` when a key is NULL (NULL never joins).
fn key(exprs: &[Expr], row: &[Value], ctx: &ExecCtx<'_>) -> Result<Option<Vec<KeyValue>>> {
    let mut out = Vec::with_capacity(exprs.len());
    for e in exprs {
        let v = eval(e, row, ctx)?;
        if v.is_null() {
            return Ok(None);
        }
        out.push(key_of(&v));
    }
    Ok(Some(out))
}

/// Calls `f` with each joined row (lent, as in `stream::each_row`) until it returns false.
pub(super) fn join_each(
    spec: JoinSpec<'_>,
    ctx: &ExecCtx<'_>,
    f: &mut dyn FnMut(&mut Row) -> Result<bool>,
) -> Result<()> {
    // Which method runs, given what the tables hold. With an index to probe, a left side
    // that is a table no larger than the right table is streamed through index probes (each
    // matching right row is read once, no input is held); any other left side is collected
    // first, and probes if it turned out no larger than the right table (or small).
    // Otherwise a hash join (or, without equality keys, a nested loop) builds on the right
    // input.
    let mut probe = match IndexProbe::new(&spec, ctx)? {
        Some(p) => {
            let right_rows = ctx.snapshot.estimated_rows(p.table())?;
            Some((p, right_rows))
        }
        None => None,
    };
    if let Some((p, right_rows)) = probe.as_mut()
        && left_table_rows(&spec, ctx)?.is_some_and(|left_rows| left_rows <= *right_rows)
    {
        return stream::each_row(spec.left, ctx, &mut |l| p.join_row(l, ctx, f));
    }
    // Without an index to probe, the right input is built and the left streamed through it,
    // so a LIMIT above stops the left input too (a left-deep chain of joins is never built).
    let Some((mut p, right_rows)) = probe else {
        let right = FlatRows::collect(spec.right, ctx)?;
        let mut matcher = Matcher::new(&spec, &right, ctx)?;
        return stream::each_row(spec.left, ctx, &mut |l| matcher.left_row(l, f));
    };
    let mut left = FlatRows::collect(spec.left, ctx)?;
    if left.len() == 0 {
        return Ok(());
    }
    let small =
        left.len() <= LOOKUP_LEFT_ROWS_MAX.max(usize::try_from(right_rows).unwrap_or(usize::MAX));
    if small {
        for i in 0..left.len() {
            if let Some(l) = left.get_mut(i)
                && !p.join_row(l, ctx, f)?
            {
                return Ok(());
            }
        }
        return Ok(());
    }
    let right = FlatRows::collect(spec.right, ctx)?;
    let mut matcher = Matcher::new(&spec, &right, ctx)?;
    for i in 0..left.len() {
        if let Some(l) = left.get_mut(i)
            && !matcher.left_row(l, f)?
        {
            return Ok(());
        }
    }
    Ok(())
}

/// The right input of a join without index probes, ready for left rows one at a time: a
/// nested loop when there are no equality keys, else a hash table of the right rows.
struct Matcher<'a, 'p, 'c> {
    spec: &'a JoinSpec<'p>,
    right: &'a FlatRows,
    ctx: &'a ExecCtx<'c>,
    /// Chained buckets: each key's first right row; `next` links the others, so building
    /// allocates nothing per row. Empty for a nested loop.
    first: FastMap<JoinKey, usize>,
    next: Vec<usize>,
    /// Joined rows emitted so far (the result-size limit).
    emitted: usize,
    /// The joined row, built in one reused buffer.
    row: Row,
}

impl<'a, 'p, 'c> Matcher<'a, 'p, 'c> {
    fn new(
        spec: &'a JoinSpec<'p>,
        right: &'a FlatRows,
        ctx: &'a ExecCtx<'c>,
    ) -> Result<Matcher<'a, 'p, 'c>> {
        let mut m = Matcher {
            spec,
            right,
            ctx,
            first: FastMap::default(),
            next: Vec::new(),
            emitted: 0,
            row: Vec::new(),
        };
        if spec.left_keys.is_empty() {
            return Ok(m);
        }
        m.first = FastMap::with_capacity_and_hasher(right.len(), Default::default());
        m.next = vec![usize::MAX; right.len()];
        for (i, r) in (0..right.len())
            .rev()
            .filter_map(|i| Some((i, right.get(i)?)))
        {
            ctx.tick(1)?;
            if let Some(k) = m.key_of_row(spec.right_keys, r)?
                && let Some(prev) = m.first.insert(k, i)
            {
                m.next[i] = prev;
            }
        }
        Ok(m)
    }

    /// A single key is hashed as itself, not as a Vec.
    fn key_of_row(&self, exprs: &[Expr], row: &[Value]) -> Result<Option<JoinKey>> {
        if self.spec.left_keys.len() == 1 {
            let v = eval(&exprs[0], row, self.ctx)?;
            return Ok((!v.is_null()).then(|| JoinKey::One(key_of(&v))));
        }
        Ok(key(exprs, row, self.ctx)?.map(JoinKey::Many))
    }

    /// Emits `l` joined with `r`; the left row is cloned, or moved in on its last match of an
    /// inner join (nothing reads it after). Returns (kept, go on).
    fn emit(
        &mut self,
        l: &mut [Value],
        r: &[Value],
        last: bool,
        f: &mut dyn FnMut(&mut Row) -> Result<bool>,
    ) -> Result<(bool, bool)> {
        self.ctx.tick(1)?;
        self.row.clear();
        if last {
            self.row
                .extend(l.iter_mut().map(|v| std::mem::replace(v, Value::Null)));
        } else {
            self.row.extend_from_slice(l);
        }
        self.row.extend_from_slice(r);
        if let Some(p) = self.spec.residual
            && !eval_predicate(p, &self.row, self.ctx)?
        {
            return Ok((false, true));
        }
        self.emitted += 1;
        self.ctx.check_rows(self.emitted)?;
        Ok((true, f(&mut self.row)?))
    }

    /// Joins one left row with its matches (padded with NULLs when a LEFT row has none);
    /// false when `f` wants no more rows.
    fn left_row(
        &mut self,
        l: &mut [Value],
        f: &mut dyn FnMut(&mut Row) -> Result<bool>,
    ) -> Result<bool> {
        let mut matched = false;
        if self.spec.left_keys.is_empty() {
            for r in self.right.iter() {
                let (kept, go_on) = self.emit(l, r, false, f)?;
                matched |= kept;
                if !go_on {
                    return Ok(false);
                }
            }
        } else if let Some(k) = self.key_of_row(self.spec.left_keys, l)? {
            let mut at = self.first.get(&k).copied().unwrap_or(usize::MAX);
            while let Some(r) = self.right.get(at) {
                at = self.next[at];
                // A LEFT row may still need padding after its last match: keep it whole.
                let last = at == usize::MAX && self.spec.kind == JoinKind::Inner;
                let (kept, go_on) = self.emit(l, r, last, f)?;
                matched |= kept;
                if !go_on {
                    return Ok(false);
                }
            }
        }
        self.spec.pad_unmatched(matched, l, f)
    }
}
