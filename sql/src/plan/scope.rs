//! Name resolution: the columns visible to an expression and the names they go by.

use cosmictron_types::ScalarType;

use crate::error::{Result, SqlError};

/// A column as the query sees it.
#[derive(Clone, Debug)]
pub(crate) struct ScopeColumn {
    /// The table alias (or table name) it can be qualified with.
    pub(crate) qualifier: Option<String>,
    pub(crate) name: String,
    pub(crate) ty: Option<ScalarType>,
    /// Whether comparisons read `ty` as the column's affinity: a table or view column, or a
    /// subquery's column that is a column or a CAST there (a computed one has none, as in
    /// SQLite; see `affinity.rs`).
    pub(crate) has_affinity: bool,
    /// The base-table column this is, to mark as read when an expression refers to it.
    pub(crate) origin: Option<(std::sync::Arc<super::ColumnUse>, usize)>,
}

impl ScopeColumn {
    pub(crate) fn mark_used(&self) {
        if let Some((used, i)) = &self.origin {
            used.mark(*i);
        }
    }
}

/// The columns of the rows an expression is evaluated on, in row order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    pub(crate) columns: Vec<ScopeColumn>,
}

impl Scope {
    /// The position of `qualifier.name` (or bare `name`). Names match case-insensitively, as in
    /// SQLite. `Ok(None)` when absent, an error when a bare name is ambiguous.
    pub(crate) fn resolve(&self, qualifier: Option<&str>, name: &str) -> Result<Option<usize>> {
        let mut found = None;
        for (i, c) in self.columns.iter().enumerate() {
            if !c.name.eq_ignore_ascii_case(name) {
                continue;
            }
            if let Some(q) = qualifier
                && !c
                    .qualifier
                    .as_deref()
                    .is_some_and(|cq| cq.eq_ignore_ascii_case(q))
            {
                continue;
            }
            if found.is_some() {
                return Err(SqlError::AmbiguousColumn(match qualifier {
                    Some(q) => format!("{q}.{name}"),
                    None => name.to_owned(),
                }));
            }
            found = Some(i);
        }
        Ok(found)
    }

    /// True when some column is qualified by `qualifier`.
    pub(crate) fn has_qualifier(&self, qualifier: &str) -> bool {
        self.columns.iter().any(|c| {
            c.qualifier
                .as_deref()
                .is_some_and(|q| q.eq_ignore_ascii_case(qualifier))
        })
    }

    pub(crate) fn types(&self) -> Vec<Option<ScalarType>> {
        self.columns.iter().map(|c| c.ty).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(q: &str, n: &str) -> ScopeColumn {
        ScopeColumn {
            has_affinity: true,
            qualifier: Some(q.into()),
            name: n.into(),
            ty: None,
            origin: None,
        }
    }

    #[test]
    fn resolves_qualified_bare_and_ambiguous_names() {
        let scope = Scope {
            columns: vec![col("t1", "a"), col("t1", "b"), col("t2", "A")],
        };
        assert_eq!(scope.resolve(None, "b").ok(), Some(Some(1)));
        assert_eq!(scope.resolve(Some("T2"), "a").ok(), Some(Some(2)));
        assert_eq!(scope.resolve(None, "zz").ok(), Some(None));
        let err = scope.resolve(None, "a").expect_err("ambiguous");
        assert_eq!(err.code(), "ambiguous_column");
    }
}
