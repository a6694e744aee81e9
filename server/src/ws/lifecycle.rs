//! The modules' `client_connected` / `client_disconnected` reducers, run for a WebSocket's
//! identity and connection id when it opens and when it closes — in every deployed module,
//! or only in the one named by the `module` query parameter of the upgrade.

use std::sync::Arc;

use cosmictron_types::ConnectionId;
use serde_json::{Value as Json, json};

use crate::app::AppState;
use crate::http::blocking::blocking;
use crate::http::caller::Caller;
use crate::ws::protocol::error_json;

#[derive(Debug)]
pub(crate) struct Lifecycle {
    /// The modules whose `client_connected` ran (and so get `client_disconnected`).
    modules: Vec<String>,
    /// `error` messages for modules that refused the connection, sent first.
    pub(crate) refusals: Vec<Json>,
}

impl Lifecycle {
    pub(crate) async fn connected(
        state: &Arc<AppState>,
        caller: Caller,
        connection: ConnectionId,
        only: Option<String>,
    ) -> Lifecycle {
        let mut lifecycle = Lifecycle {
            modules: Vec::new(),
            refusals: Vec::new(),
        };
        let Ok(core) = state.core() else {
            return lifecycle;
        };
        let modules: Vec<String> = match only {
            Some(m) => vec![m],
            None => core.db.modules().into_iter().map(|m| m.name).collect(),
        };
        for module in modules {
            let core = core.clone();
            let name = module.clone();
            let ran =
                blocking(move || core.db.client_connected(&name, caller.identity, connection))
                    .await;
            match ran {
                Ok(_) => lifecycle.modules.push(module),
                Err(e) => {
                    let mut m = error_json(None, e.code(), &e.to_string());
                    m["module"] = json!(module);
                    lifecycle.refusals.push(m);
                }
            }
        }
        lifecycle
    }

    pub(crate) async fn disconnected(
        self,
        state: &Arc<AppState>,
        caller: Caller,
        connection: ConnectionId,
    ) {
        let Ok(core) = state.core() else { return };
        for module in self.modules {
            let core = core.clone();
            let name = module.clone();
            if let Err(e) = blocking(move || {
                core.db
                    .client_disconnected(&name, caller.identity, connection)
            })
            .await
            {
                tracing::warn!(module = %module, code = e.code(), "client_disconnected failed");
            }
        }
    }
}
