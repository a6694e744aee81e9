//! The WebSocket messages (see `docs/websocket-protocol.md`). Two encodings of the same
//! messages: JSON text frames (subprotocol `cosmictron.v1.json`, the default) and
//! MessagePack binary frames (`cosmictron.v1.msgpack`).

use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::error::Error;

pub(crate) const JSON_PROTOCOL: &str = "cosmictron.v1.json";
pub(crate) const MSGPACK_PROTOCOL: &str = "cosmictron.v1.msgpack";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Json,
    MessagePack,
}

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ClientMessage {
    Subscribe {
        id: u64,
        query: String,
        #[serde(default)]
        params: Vec<Json>,
        #[serde(default)]
        from_tx: Option<u64>,
        #[serde(default)]
        module: Option<String>,
    },
    Unsubscribe {
        id: u64,
    },
    Call {
        id: u64,
        reducer: String,
        #[serde(default)]
        args: Option<Json>,
        #[serde(default)]
        module: Option<String>,
    },
    Query {
        id: u64,
        query: String,
        #[serde(default)]
        params: Vec<Json>,
        #[serde(default)]
        module: Option<String>,
    },
}

/// Decodes one frame's payload, or says why not (as an `error` message to send back).
pub(crate) fn decode(encoding: Encoding, bytes: &[u8]) -> Result<ClientMessage, Json> {
    let parsed = match encoding {
        Encoding::Json => serde_json::from_slice::<ClientMessage>(bytes).map_err(|e| e.to_string()),
        Encoding::MessagePack => {
            rmp_serde::from_slice::<ClientMessage>(bytes).map_err(|e| e.to_string())
        }
    };
    parsed.map_err(|why| {
        // Echo the id when the message had one, so the client can match the error.
        let id = match encoding {
            Encoding::Json => serde_json::from_slice::<Json>(bytes).ok(),
            Encoding::MessagePack => rmp_serde::from_slice::<Json>(bytes).ok(),
        }
        .and_then(|v| v.get("id").cloned());
        error_json(
            id,
            "invalid_message",
            &format!("cannot read the message: {why}"),
        )
    })
}

pub(crate) fn error_json(id: Option<Json>, code: &str, message: &str) -> Json {
    let mut m = json!({"type": "error", "error": {"code": code, "message": message}});
    if let Some(id) = id {
        m["id"] = id;
    }
    m
}

pub(crate) fn error_message(id: u64, e: &Error) -> Json {
    let mut m = error_json(Some(json!(id)), e.code(), &e.to_string());
    m["error"]["status"] = json!(e.http_status());
    if let Some(details) = e.details() {
        m["error"]["details"] = details.clone();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_client_messages_parse() {
        let m = decode(
            Encoding::Json,
            br#"{"type":"subscribe","id":1,"query":"SELECT * FROM t","params":[1],"from_tx":5}"#,
        )
        .expect("subscribe");
        assert!(matches!(
            m,
            ClientMessage::Subscribe {
                id: 1,
                from_tx: Some(5),
                ..
            }
        ));
        let m = decode(
            Encoding::Json,
            br#"{"type":"call","id":2,"reducer":"r","args":{"a":1}}"#,
        )
        .expect("call");
        assert!(matches!(m, ClientMessage::Call { id: 2, .. }));
        let m = decode(Encoding::Json, br#"{"type":"unsubscribe","id":1}"#).expect("unsubscribe");
        assert!(matches!(m, ClientMessage::Unsubscribe { id: 1 }));
    }

    #[test]
    fn bad_messages_become_errors_that_keep_the_id() {
        let e = decode(Encoding::Json, br#"{"type":"call","id":7}"#).expect_err("no reducer");
        assert_eq!(e["id"], 7);
        assert_eq!(e["error"]["code"], "invalid_message");
        let e = decode(Encoding::Json, b"not json").expect_err("garbage");
        assert!(e.get("id").is_none());
        let packed = rmp_serde::to_vec_named(&json!({"type":"query","id":3,"query":"SELECT 1"}))
            .expect("encode");
        assert!(matches!(
            decode(Encoding::MessagePack, &packed),
            Ok(ClientMessage::Query { id: 3, .. })
        ));
    }
}
