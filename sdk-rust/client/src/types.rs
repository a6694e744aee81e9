//! Response shapes of the HTTP API.

use serde::{Deserialize, Serialize};

/// `{token, identity, expires_at}` from every sign-in route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub token: String,
    pub identity: String,
    pub expires_at: u64,
}

/// A committed reducer call.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CallOutcome {
    /// `None` when the reducer wrote nothing.
    pub tx_id: Option<u64>,
    pub status: String,
    pub duration_ms: f64,
    #[serde(default)]
    pub result: serde_json::Value,
}

/// A query's answer.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct QueryRows {
    pub columns: Vec<String>,
    #[serde(default)]
    pub column_types: Vec<Option<String>>,
    pub rows: Vec<Vec<serde_json::Value>>,
    #[serde(default)]
    pub tx_id: Option<u64>,
}

/// A deployed module, as listed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ModuleInfo {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub reducers: Vec<String>,
}
