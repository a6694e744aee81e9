//! `GET /v1/ws`: the WebSocket API (subscribe, unsubscribe, call, query), JSON text or
//! MessagePack binary frames. The token comes from `Authorization: Bearer` or `?token=`.
//!
//! - `protocol.rs` the messages and their two encodings
//! - `session.rs`  one connection: reading, writing, calls in flight, keepalive
//! - `hub.rs`      one subscription manager per module, shared by every connection
//! - `lifecycle.rs` `client_connected` / `client_disconnected` reducers

mod hub;
mod lifecycle;
mod protocol;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::{AppState, Counters};
use crate::http::caller::Caller;

pub(crate) use hub::SubscriptionHub;
use protocol::{Encoding, JSON_PROTOCOL, MSGPACK_PROTOCOL};

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/v1/ws", get(upgrade))
}

/// The WebSocket read buffer. tungstenite zero-fills the whole buffer on every read, so its
/// default of 128 KiB cost a 128 KiB memset per message received — a third of the CPU with a
/// thousand subscribers (docs/performance.md). Larger messages are read in several reads.
const READ_BUFFER_BYTES: usize = 8 * 1024;

#[derive(Debug, serde::Deserialize)]
struct UpgradeQuery {
    /// Run the lifecycle reducers of this module only (default: every module).
    module: Option<String>,
}

async fn upgrade(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<UpgradeQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let wants_msgpack = ws
        .requested_protocols()
        .any(|p| p.as_bytes() == MSGPACK_PROTOCOL.as_bytes());
    let (ws, encoding) = if wants_msgpack {
        (ws.protocols([MSGPACK_PROTOCOL]), Encoding::MessagePack)
    } else {
        (ws.protocols([JSON_PROTOCOL]), Encoding::Json)
    };
    Counters::bump(&state.counters.ws_connections);
    let max = state.config.ws_max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| session::serve(socket, state, caller, encoding, q.module))
        .into_response()
}
