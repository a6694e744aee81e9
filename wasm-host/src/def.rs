//! [`ModuleDef`]: what a module says about itself (`__cosmictron_describe`), and its checks.

use std::collections::HashSet;

use cosmictron_types::{PathPattern, ROUTE_METHODS, RouteSpec, TableDef, ViewSpec, is_identifier};
use serde::{Deserialize, Serialize};

use crate::schedule::RESERVED_PREFIX;

/// The module ABI version this host speaks.
pub const ABI_VERSION: u32 = 1;

/// The lifecycle roles a reducer can have; the host runs them, callers cannot.
pub const LIFECYCLES: [&str; 3] = ["init", "client_connected", "client_disconnected"];

/// A module's tables and reducers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModuleDef {
    pub abi_version: u32,
    pub tables: Vec<TableDef>,
    pub reducers: Vec<ReducerDef>,
    /// The row struct of each table as the source names it (`User` → `users`), when the module
    /// says.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub row_types: std::collections::BTreeMap<String, String>,
}

/// One reducer: its name, its argument names (in order) and their Rust types as written, its
/// lifecycle role if any, and — for an HTTP handler — its route, or — for a view — its
/// columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReducerDef {
    pub name: String,
    pub args: Vec<String>,
    /// The argument types as the module's source spells them (`String`, `Option<u64>`); empty
    /// when the module does not say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arg_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// The type of the reducer's return value as the source spells it (`u64`, `Option<User>`);
    /// empty when the module does not say.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub returns: String,
    /// Set for an HTTP route handler: called with a request, never as a reducer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<RouteSpec>,
    /// Set for a view: called by SQL queries that read it, never as a reducer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<ViewSpec>,
}

impl ReducerDef {
    /// Whether callers (and schedules) may call it: not a lifecycle reducer, an HTTP handler or
    /// a view.
    pub fn is_callable(&self) -> bool {
        self.lifecycle.is_none() && self.http.is_none() && self.view.is_none()
    }
}

impl ModuleDef {
    /// The reducer with this name and its id (position).
    pub fn reducer(&self, name: &str) -> Option<(u32, &ReducerDef)> {
        let pos = self.reducers.iter().position(|r| r.name == name)?;
        Some((u32::try_from(pos).ok()?, &self.reducers[pos]))
    }

    /// The `init` reducer, if the module has one.
    pub fn init_reducer(&self) -> Option<&ReducerDef> {
        self.lifecycle_reducer("init")
    }

    /// The reducer with this lifecycle role, if the module has one.
    pub fn lifecycle_reducer(&self, lifecycle: &str) -> Option<&ReducerDef> {
        self.reducers
            .iter()
            .find(|r| r.lifecycle.as_deref() == Some(lifecycle))
    }

    /// Reducers callers (and schedules) may call: those without a lifecycle role that are not
    /// HTTP handlers or views.
    pub fn callable_reducers(&self) -> impl Iterator<Item = &ReducerDef> {
        self.reducers.iter().filter(|r| r.is_callable())
    }

    /// The views with their columns.
    pub fn views(&self) -> impl Iterator<Item = (&ReducerDef, &ViewSpec)> {
        self.reducers
            .iter()
            .filter_map(|r| r.view.as_ref().map(|v| (r, v)))
    }

    /// The HTTP handlers with their routes.
    pub fn routes(&self) -> impl Iterator<Item = (&ReducerDef, &RouteSpec)> {
        self.reducers
            .iter()
            .filter_map(|r| r.http.as_ref().map(|h| (r, h)))
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
            if table.name.starts_with(RESERVED_PREFIX) {
                problems.push(format!(
                    "table name `{}`: names starting with `{RESERVED_PREFIX}` are reserved",
                    table.name
                ));
            }
            if !tables.insert(table.name.as_str()) {
                problems.push(format!("table `{}` is declared twice", table.name));
            }
        }
        let mut reducers = HashSet::new();
        let mut lifecycles = HashSet::new();
        for r in &self.reducers {
            if !is_identifier(&r.name) {
                problems.push(format!("reducer name `{}` is not an identifier", r.name));
            }
            if !reducers.insert(r.name.as_str()) {
                problems.push(format!("reducer `{}` is declared twice", r.name));
            }
            if !r.arg_types.is_empty() && r.arg_types.len() != r.args.len() {
                problems.push(format!(
                    "reducer `{}` lists {} argument types for {} arguments",
                    r.name,
                    r.arg_types.len(),
                    r.args.len()
                ));
            }
            match r.lifecycle.as_deref() {
                None => {}
                Some(l) if LIFECYCLES.contains(&l) => {
                    if !lifecycles.insert(l) {
                        problems.push(format!("a module can have at most one {l} reducer"));
                    }
                    if !r.args.is_empty() {
                        problems.push(format!("{l} reducer `{}` cannot take arguments", r.name));
                    }
                }
                Some(other) => problems.push(format!(
                    "reducer `{}` has an unknown lifecycle `{other}`",
                    r.name
                )),
            }
        }
        problems.extend(route_problems(self));
        problems.extend(view_problems(self));
        problems
    }
}

/// Every problem with the module's views: their columns, a name a table already has (SQL
/// could not tell them apart), arguments, and a view that is also something else.
fn view_problems(def: &ModuleDef) -> Vec<String> {
    let mut problems = Vec::new();
    for (r, view) in def.views() {
        let name = &r.name;
        for p in view.problems() {
            problems.push(format!("view `{name}`: {p}"));
        }
        if def.tables.iter().any(|t| t.name.eq_ignore_ascii_case(name)) {
            problems.push(format!("view `{name}` has the name of a table"));
        }
        if !r.args.is_empty() {
            problems.push(format!("view `{name}` cannot take arguments"));
        }
        if r.lifecycle.is_some() || r.http.is_some() {
            problems.push(format!(
                "view `{name}` cannot also be a lifecycle reducer or a route handler"
            ));
        }
    }
    problems
}

/// Every problem with the module's routes: methods, patterns, rate limits, handlers that are
/// also lifecycle reducers or take arguments, and two routes that match the same requests.
fn route_problems(def: &ModuleDef) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (r, route) in def.routes() {
        let name = &r.name;
        if !ROUTE_METHODS.contains(&route.method.as_str()) {
            problems.push(format!(
                "route handler `{name}`: method `{}` is not one of {}",
                route.method,
                ROUTE_METHODS.join(", ")
            ));
        }
        match PathPattern::parse(&route.path) {
            Ok(pattern) => {
                if !seen.insert((route.method.clone(), pattern.shape())) {
                    problems.push(format!(
                        "route `{} {}` (handler `{name}`) matches the same requests as an \
                         earlier route",
                        route.method, route.path
                    ));
                }
            }
            Err(reason) => problems.push(format!("route handler `{name}`: {reason}")),
        }
        if let Some(limit) = &route.rate_limit {
            for p in limit.problems() {
                problems.push(format!("route handler `{name}`: {p}"));
            }
        }
        if r.lifecycle.is_some() {
            problems.push(format!(
                "route handler `{name}` cannot also be a lifecycle reducer"
            ));
        }
        if !r.args.is_empty() {
            problems.push(format!(
                "route handler `{name}` takes the request, not named arguments"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use cosmictron_types::ScalarType;

    use super::*;

    fn reducer(name: &str, args: &[&str], lifecycle: Option<&str>) -> ReducerDef {
        ReducerDef {
            name: name.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            arg_types: Vec::new(),
            lifecycle: lifecycle.map(str::to_owned),
            returns: String::new(),
            http: None,
            view: None,
        }
    }

    #[test]
    fn every_definition_problem_is_reported() {
        // Proves reserved table names, duplicate lifecycle roles, lifecycle reducers with
        // arguments, unknown roles and mismatched argument types are each reported.
        let mut typed = reducer("typed", &["a", "b"], None);
        typed.arg_types = vec!["u64".into()];
        let def = ModuleDef {
            abi_version: ABI_VERSION,
            tables: vec![TableDef::new("__cosmictron_x").column("a", ScalarType::U64)],
            row_types: Default::default(),
            reducers: vec![
                reducer("c1", &[], Some("client_connected")),
                reducer("c2", &[], Some("client_connected")),
                reducer("d", &["who"], Some("client_disconnected")),
                reducer("e", &[], Some("on_boot")),
                typed,
            ],
        };
        let problems = def.problems();
        for expected in [
            "table name `__cosmictron_x`: names starting with `__cosmictron` are reserved",
            "a module can have at most one client_connected reducer",
            "client_disconnected reducer `d` cannot take arguments",
            "reducer `e` has an unknown lifecycle `on_boot`",
            "reducer `typed` lists 1 argument types for 2 arguments",
        ] {
            assert!(
                problems.iter().any(|p| p == expected),
                "missing {expected:?}: {problems:#?}"
            );
        }
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert_eq!(
            def.lifecycle_reducer("client_connected")
                .map(|r| r.name.as_str()),
            Some("c1")
        );
        let callable: Vec<&str> = def.callable_reducers().map(|r| r.name.as_str()).collect();
        assert_eq!(callable, ["typed"]);
    }

    fn route(name: &str, method: &str, path: &str) -> ReducerDef {
        let mut r = reducer(name, &[], None);
        r.http = Some(RouteSpec {
            method: method.into(),
            path: path.into(),
            read_only: false,
            rate_limit: None,
        });
        r
    }

    #[test]
    fn every_route_problem_is_reported() {
        // Proves unknown methods, malformed patterns, routes matching the same requests,
        // lifecycle handlers, handlers with arguments and bad rate limits are each refused,
        // and that handlers are not callable reducers.
        let mut lifecycle = route("l", "GET", "/l");
        lifecycle.lifecycle = Some("init".into());
        let mut with_args = route("w", "GET", "/w");
        with_args.args = vec!["x".into()];
        let mut limited = route("r", "GET", "/r");
        if let Some(h) = &mut limited.http {
            h.rate_limit = Some(cosmictron_types::RateLimitSpec {
                requests: 0,
                window_secs: 60,
                key: "ip".into(),
            });
        }
        let def = ModuleDef {
            abi_version: ABI_VERSION,
            tables: Vec::new(),
            row_types: Default::default(),
            reducers: vec![
                route("a", "GET", "/machines/:id"),
                route("b", "GET", "/machines/:key"),
                route("c", "POST", "/machines/:key"),
                route("d", "FETCH", "/d"),
                route("e", "GET", "no-slash"),
                lifecycle,
                with_args,
                limited,
                reducer("plain", &[], None),
            ],
        };
        let problems = def.problems();
        for expected in [
            "route `GET /machines/:key` (handler `b`) matches the same requests as an earlier route",
            "route handler `d`: method `FETCH` is not one of GET, POST, PUT, PATCH, DELETE",
            "route handler `e`: route path `no-slash` must start with `/`",
            "route handler `l` cannot also be a lifecycle reducer",
            "route handler `w` takes the request, not named arguments",
            "route handler `r`: a rate limit allows at least 1 request",
        ] {
            assert!(
                problems.iter().any(|p| p == expected),
                "missing {expected:?}: {problems:#?}"
            );
        }
        assert_eq!(problems.len(), 6, "{problems:#?}");
        let callable: Vec<&str> = def.callable_reducers().map(|r| r.name.as_str()).collect();
        assert_eq!(callable, ["plain"]);
    }

    #[test]
    fn every_view_problem_is_reported() {
        // Proves bad view columns, a view named like a table, views with arguments or another
        // role are each refused, and that views are not callable reducers.
        let column = |name: &str| {
            cosmictron_types::ColumnDef::new(
                name,
                cosmictron_types::ColumnType::new(ScalarType::U64),
            )
        };
        let view = |name: &str, columns: Vec<cosmictron_types::ColumnDef>| {
            let mut r = reducer(name, &[], None);
            r.view = Some(ViewSpec {
                public: true,
                columns,
            });
            r
        };
        let mut with_args = view("with_args", vec![column("a")]);
        with_args.args = vec!["x".into()];
        let mut lifecycle = view("on_init", vec![column("a")]);
        lifecycle.lifecycle = Some("init".into());
        let def = ModuleDef {
            abi_version: ABI_VERSION,
            tables: vec![TableDef::new("items").column("id", ScalarType::U64)],
            row_types: Default::default(),
            reducers: vec![
                view("fine", vec![column("a"), column("b")]),
                view("empty", Vec::new()),
                view("twice", vec![column("a"), column("a")]),
                view("Items", vec![column("a")]),
                with_args,
                lifecycle,
                reducer("plain", &[], None),
            ],
        };
        let problems = def.problems();
        for expected in [
            "view `empty`: a view needs at least one column",
            "view `twice`: column `a` is declared twice",
            "view `Items` has the name of a table",
            "view `with_args` cannot take arguments",
            "view `on_init` cannot also be a lifecycle reducer or a route handler",
        ] {
            assert!(
                problems.iter().any(|p| p == expected),
                "missing {expected:?}: {problems:#?}"
            );
        }
        assert_eq!(problems.len(), 5, "{problems:#?}");
        let callable: Vec<&str> = def.callable_reducers().map(|r| r.name.as_str()).collect();
        assert_eq!(callable, ["plain"]);
        let views: Vec<&str> = def.views().map(|(r, _)| r.name.as_str()).collect();
        assert_eq!(views.len(), 6);
    }
}
