//! [`ModuleDef`]: what a module says about itself (`__cosmictron_describe`), and its checks.

use std::collections::HashSet;

use cosmictron_types::{TableDef, is_identifier};
use serde::{Deserialize, Serialize};

/// The module ABI version this host speaks.
pub const ABI_VERSION: u32 = 1;

/// A module's tables and reducers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModuleDef {
    pub abi_version: u32,
    pub tables: Vec<TableDef>,
    pub reducers: Vec<ReducerDef>,
}

/// One reducer: its name, its argument names (in order), and its lifecycle role if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReducerDef {
    pub name: String,
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
}

impl ModuleDef {
    /// The reducer with this name and its id (position).
    pub fn reducer(&self, name: &str) -> Option<(u32, &ReducerDef)> {
        let pos = self.reducers.iter().position(|r| r.name == name)?;
        Some((u32::try_from(pos).ok()?, &self.reducers[pos]))
    }

    /// The `init` reducer, if the module has one.
    pub fn init_reducer(&self) -> Option<&ReducerDef> {
        self.reducers
            .iter()
            .find(|r| r.lifecycle.as_deref() == Some("init"))
    }

    /// Every problem with the definition (empty when it makes sense).
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.abi_version != ABI_VERSION {
            problems.push(format!(
                "module speaks ABI version {}; this host speaks {ABI_VERSION}",
                self.abi_version
            ));
        }
        let mut tables = HashSet::new();
        for table in &self.tables {
            if let Err(e) = table.validate() {
                problems.push(e.to_string());
            }
            if !tables.insert(table.name.as_str()) {
                problems.push(format!("table `{}` is declared twice", table.name));
            }
        }
        let mut reducers = HashSet::new();
        let mut inits = 0;
        for r in &self.reducers {
            if !is_identifier(&r.name) {
                problems.push(format!("reducer name `{}` is not an identifier", r.name));
            }
            if !reducers.insert(r.name.as_str()) {
                problems.push(format!("reducer `{}` is declared twice", r.name));
            }
            match r.lifecycle.as_deref() {
                None => {}
                Some("init") => {
                    inits += 1;
                    if !r.args.is_empty() {
                        problems.push(format!("init reducer `{}` cannot take arguments", r.name));
                    }
                }
                Some(other) => problems.push(format!(
                    "reducer `{}` has an unknown lifecycle `{other}`",
                    r.name
                )),
            }
        }
        if inits > 1 {
            problems.push("a module can have at most one init reducer".to_owned());
        }
        problems
    }
}
