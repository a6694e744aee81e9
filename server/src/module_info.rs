//! [`ModuleInfo`]: what `GET /v1/modules/:name` shows about a deployed module — its version,
//! owner and deploy time, its tables (columns, indexes, policies), its reducers (arguments
//! with their types), its HTTP routes and its views.

use cosmictron_types::{ColumnDef, Identity, IndexDef, RateLimitSpec, TableDef, Timestamp};
use cosmictron_wasm_host::ModuleDef;
use serde::Serialize;

/// A deployed module, described.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModuleInfo {
    pub name: String,
    /// `sha256:<hex>` of the module's bytes.
    pub version: String,
    pub owner: Identity,
    /// When this version was deployed.
    pub deployed_at: Timestamp,
    pub tables: Vec<TableInfo>,
    pub reducers: Vec<ReducerInfo>,
    /// The module's HTTP routes (served under `/m/{module}`).
    pub routes: Vec<RouteInfo>,
    /// The module's views: read-only functions SQL reads as tables.
    pub views: Vec<ViewInfo>,
}

/// One view: its name, whether every caller may read it, its columns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ViewInfo {
    pub name: String,
    pub public: bool,
    pub columns: Vec<ColumnInfo>,
}

/// One HTTP route: method, path pattern, handler, whether it only reads, its rate limit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteInfo {
    pub method: String,
    pub path: String,
    pub handler: String,
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
}

/// One of the module's tables.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableInfo {
    pub name: String,
    /// The row struct's name in the module's source (`User`), when the module says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_type: Option<String>,
    pub public: bool,
    pub event: bool,
    pub columns: Vec<ColumnInfo>,
    pub primary_key: Vec<String>,
    pub indexes: Vec<IndexDef>,
    pub read_policies: Vec<String>,
    pub write_policies: Vec<String>,
}

/// One column: its name and type (`u64`, `string`, ...; `nullable` for `Option<T>`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub nullable: bool,
    pub auto_inc: bool,
    pub pii: bool,
}

/// One reducer: its arguments in order, and its lifecycle role if it has one (then it is run
/// by the host and not callable).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReducerInfo {
    pub name: String,
    pub args: Vec<ArgInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// The return value's type as the module's source spells it (`u64`, `Option<User>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
}

/// One reducer argument: its name and its type as the module's source spells it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArgInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: Option<String>,
}

fn column_info(c: &ColumnDef) -> ColumnInfo {
    ColumnInfo {
        name: c.name.clone(),
        ty: format!("{:?}", c.ty.scalar).to_lowercase(),
        nullable: c.ty.nullable,
        auto_inc: c.auto_inc,
        pii: c.pii,
    }
}

fn table_info(t: &TableDef, def: &ModuleDef) -> TableInfo {
    TableInfo {
        name: t.name.clone(),
        row_type: def
            .row_types
            .iter()
            .find(|(_, table)| **table == t.name)
            .map(|(ty, _)| ty.clone()),
        public: t.public,
        event: t.event,
        columns: t.columns.iter().map(column_info).collect(),
        primary_key: t.primary_key.clone(),
        indexes: t.indexes.clone(),
        read_policies: t.read_policies.clone(),
        write_policies: t.write_policies.clone(),
    }
}

pub(crate) fn describe(
    name: &str,
    version: &str,
    owner: Identity,
    deployed_at: Timestamp,
    def: &ModuleDef,
) -> ModuleInfo {
    ModuleInfo {
        name: name.to_owned(),
        version: version.to_owned(),
        owner,
        deployed_at,
        tables: def.tables.iter().map(|t| table_info(t, def)).collect(),
        reducers: def
            .reducers
            .iter()
            .filter(|r| r.http.is_none() && r.view.is_none())
            .map(|r| ReducerInfo {
                name: r.name.clone(),
                args: r
                    .args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| ArgInfo {
                        name: a.clone(),
                        ty: r.arg_types.get(i).cloned(),
                    })
                    .collect(),
                lifecycle: r.lifecycle.clone(),
                returns: (!r.returns.is_empty()).then(|| r.returns.clone()),
            })
            .collect(),
        routes: def
            .routes()
            .map(|(r, spec)| RouteInfo {
                method: spec.method.clone(),
                path: spec.path.clone(),
                handler: r.name.clone(),
                read_only: spec.read_only,
                rate_limit: spec.rate_limit.clone(),
            })
            .collect(),
        views: def
            .views()
            .map(|(r, spec)| ViewInfo {
                name: r.name.clone(),
                public: spec.public,
                columns: spec
                    .columns
                    .iter()
                    .map(|c| ColumnInfo {
                        auto_inc: false,
                        ..column_info(c)
                    })
                    .collect(),
            })
            .collect(),
    }
}
