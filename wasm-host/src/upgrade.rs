//! Upgrades: what a new version of a module may change about its tables while keeping their
//! data, and the schema changes that carry it out.
//!
//! Allowed: new tables; new columns at the end of a table that are nullable (existing rows
//! get NULL) or have a default (`#[default(...)]`: existing rows get it);
//! new, dropped or redefined indexes; changed write policies (the host enforces them from the
//! module's definition); changed reducers. Everything else — a dropped table or column, a
//! changed column type, a moved column, a new non-nullable column, a changed primary key,
//! foreign keys, read policies, or the `public` / `event` flags — is an incompatibility, and
//! [`plan_upgrade`] lists every one of them.

use cosmictron_engine::WriteTx;
use cosmictron_types::{IndexDef, TableDef, Value};

use crate::def::ModuleDef;
use crate::error::Result;

/// One schema change of an upgrade.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    CreateTable(TableDef),
    AddColumn {
        table: String,
        column: cosmictron_types::ColumnDef,
    },
    DropIndex {
        table: String,
        index: String,
    },
    CreateIndex {
        table: String,
        index: IndexDef,
    },
}

/// The schema changes that take a module's tables to a new version, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpgradePlan {
    steps: Vec<Step>,
}

impl UpgradePlan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Human-readable steps, for logs and answers.
    pub fn describe(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| match s {
                Step::CreateTable(t) => format!("create table `{}`", t.name),
                Step::AddColumn { table, column } => {
                    format!("add column `{}` to `{table}`", column.name)
                }
                Step::DropIndex { table, index } => format!("drop index `{index}` of `{table}`"),
                Step::CreateIndex { table, index } => {
                    format!("create index `{}` on `{table}`", index.name)
                }
            })
            .collect()
    }

    /// Applies the changes in `tx` (a unique index over duplicate rows fails here).
    pub fn apply(&self, tx: &mut WriteTx<'_>) -> Result<()> {
        for step in &self.steps {
            match step {
                Step::CreateTable(def) => {
                    tx.create_table(def.clone())?;
                }
                Step::AddColumn { table, column } => {
                    let default = column.default.clone().unwrap_or(Value::Null);
                    tx.add_column(table, column.clone(), default)?
                }
                Step::DropIndex { table, index } => tx.drop_index(table, index)?,
                Step::CreateIndex { table, index } => tx.create_index(table, index.clone())?,
            }
        }
        Ok(())
    }
}

/// Plans the upgrade from the tables a module's database has (`current`) to `new`, or lists
/// every incompatibility.
pub fn plan_upgrade(current: &[TableDef], new: &ModuleDef) -> Result<UpgradePlan, Vec<String>> {
    let mut plan = UpgradePlan::default();
    let mut problems = Vec::new();
    for old in current {
        if !new.tables.iter().any(|t| t.name == old.name) {
            problems.push(format!("table `{}` is dropped", old.name));
        }
    }
    for table in &new.tables {
        match current.iter().find(|t| t.name == table.name) {
            None => plan.steps.push(Step::CreateTable(table.clone())),
            Some(old) => compare_table(old, table, &mut plan, &mut problems),
        }
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

fn compare_table(
    old: &TableDef,
    new: &TableDef,
    plan: &mut UpgradePlan,
    problems: &mut Vec<String>,
) {
    let name = &new.name;
    for (i, col) in old.columns.iter().enumerate() {
        match new.columns.iter().position(|c| c.name == col.name) {
            None => problems.push(format!("table `{name}`: column `{}` is dropped", col.name)),
            Some(j) if j != i => problems.push(format!(
                "table `{name}`: column `{}` moves from position {} to {}",
                col.name,
                i + 1,
                j + 1
            )),
            Some(j) => {
                let c = &new.columns[j];
                if c.ty != col.ty || c.auto_inc != col.auto_inc || c.pii != col.pii {
                    problems.push(format!(
                        "table `{name}`: column `{}` changes from {} to {}",
                        col.name,
                        describe_column(col),
                        describe_column(c)
                    ));
                }
            }
        }
    }
    for col in new.columns.iter().skip(old.columns.len()) {
        if col.auto_inc || (!col.ty.nullable && col.default.is_none()) {
            problems.push(format!(
                "table `{name}`: new column `{}` must be nullable (an `Option`) or have a #[default(...)] so existing rows have a value",
                col.name
            ));
        } else {
            plan.steps.push(Step::AddColumn {
                table: name.clone(),
                column: col.clone(),
            });
        }
    }
    if old.primary_key != new.primary_key {
        problems.push(format!(
            "table `{name}`: the primary key changes from ({}) to ({})",
            old.primary_key.join(", "),
            new.primary_key.join(", ")
        ));
    }
    if old.foreign_keys != new.foreign_keys {
        problems.push(format!("table `{name}`: its foreign keys change"));
    }
    if old.read_policies != new.read_policies {
        problems.push(format!("table `{name}`: its read policies change"));
    }
    if old.public != new.public {
        problems.push(format!("table `{name}`: the `public` flag changes"));
    }
    if old.event != new.event {
        problems.push(format!("table `{name}`: the `event` flag changes"));
    }
    for index in &old.indexes {
        if new.indexes.iter().all(|i| i != index) {
            plan.steps.push(Step::DropIndex {
                table: name.clone(),
                index: index.name.clone(),
            });
        }
    }
    for index in &new.indexes {
        if old.indexes.iter().all(|i| i != index) {
            plan.steps.push(Step::CreateIndex {
                table: name.clone(),
                index: index.clone(),
            });
        }
    }
}

fn describe_column(c: &cosmictron_types::ColumnDef) -> String {
    let mut s = format!("{:?}", c.ty.scalar).to_lowercase();
    if c.ty.nullable {
        s.push_str(" null");
    }
    if c.auto_inc {
        s.push_str(" auto_inc");
    }
    if c.pii {
        s.push_str(" pii");
    }
    s
}

#[cfg(test)]
mod tests {
    use cosmictron_types::ScalarType;

    use super::*;

    fn module(tables: Vec<TableDef>) -> ModuleDef {
        ModuleDef {
            abi_version: 1,
            tables,
            reducers: Vec::new(),
            row_types: Default::default(),
        }
    }

    fn items() -> TableDef {
        TableDef::new("items")
            .column("id", ScalarType::U64)
            .column("name", ScalarType::String)
            .primary_key(&["id"])
            .index("items_name_idx", &["name"])
    }

    #[test]
    fn compatible_changes_become_steps() {
        // Proves new tables, nullable columns and index changes are planned, in order.
        let new = module(vec![
            items()
                .nullable_column("note", ScalarType::String)
                .unique("items_name_key", &["name"]),
            TableDef::new("tags").column("t", ScalarType::String),
        ]);
        let mut old = items();
        old.indexes.clear();
        let plan = plan_upgrade(&[old], &new).expect("compatible");
        assert_eq!(
            plan.describe(),
            [
                "add column `note` to `items`",
                "create index `items_name_idx` on `items`",
                "create index `items_name_key` on `items`",
                "create table `tags`",
            ]
        );
        assert!(
            plan_upgrade(&[items()], &module(vec![items()]))
                .expect("same")
                .is_empty()
        );
    }

    #[test]
    fn every_incompatibility_is_listed() {
        // Proves each breaking change is reported, all of them at once.
        let old = vec![items(), TableDef::new("gone").column("x", ScalarType::I64)];
        let new = module(vec![
            TableDef::new("items")
                .column("id", ScalarType::I64)
                .column("extra", ScalarType::String)
                .public(),
        ]);
        let problems = plan_upgrade(&old, &new).expect_err("incompatible");
        let expected = [
            "table `gone` is dropped",
            "table `items`: column `id` changes from u64 to i64",
            "table `items`: column `name` is dropped",
            "table `items`: the primary key changes from (id) to ()",
            "table `items`: the `public` flag changes",
        ];
        for e in expected {
            assert!(
                problems.iter().any(|p| p == e),
                "missing {e:?} in {problems:#?}"
            );
        }
        let mut with_default = items().column("count", ScalarType::I64);
        with_default.columns[2].default = Some(Value::I64(0));
        let plan = plan_upgrade(&[items()], &module(vec![with_default])).expect("a default");
        assert_eq!(plan.describe(), ["add column `count` to `items`"]);
        let new = module(vec![items().column("req", ScalarType::String)]);
        let problems = plan_upgrade(&[items()], &new).expect_err("not nullable");
        assert!(
            problems[0].contains("new column `req` must be nullable"),
            "{problems:?}"
        );
    }
}
