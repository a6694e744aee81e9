//! The WebSocket messages (see `docs/websocket-protocol.md`). Two encodings of the same
//! messages: JSON text frames (subprotocol `cosmictron.v1.json`, the default) and
//! MessagePack binary frames (`cosmictron.v1.msgpack`).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value as Json, json};

use crate::error::Error;
use crate::http::reducer_routes::CallArgs;

pub(crate) const JSON_PROTOCOL: &str = "cosmictron.v1.json";
pub(crate) const MSGPACK_PROTOCOL: &str = "cosmictron.v1.msgpack";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Json,
    MessagePack,
}

/// What a client may send.
#[derive(Debug)]
pub(crate) enum ClientMessage {
    Subscribe {
        id: u64,
        query: String,
        params: Vec<Json>,
        from_tx: Option<u64>,
        module: Option<String>,
    },
    Unsubscribe {
        id: u64,
    },
    Call {
        id: u64,
        reducer: String,
        args: CallArgs,
        module: Option<String>,
    },
    Query {
        id: u64,
        query: String,
        params: Vec<Json>,
        module: Option<String>,
    },
}

/// Every field any client message has, read in one pass. (A `#[serde(tag = "type")]` enum
/// would first copy the whole message into serde's own buffer, then build a JSON tree of the
/// call's arguments from that: a pipelining client's calls paid for both on the connection's
/// task, and the call thread wrote the tree out again as text for the module.) `A` is how the
/// arguments are kept: their raw text in JSON messages, a tree in MessagePack ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a, A> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    params: Option<Vec<Json>>,
    #[serde(default)]
    from_tx: Option<u64>,
    #[serde(default)]
    module: Option<String>,
    #[serde(default)]
    reducer: Option<String>,
    #[serde(default)]
    args: Option<A>,
}

impl<A> Wire<'_, A> {
    /// The message this is, or why it is none: a missing field, or one its type does not have.
    fn into_message(self, args: impl FnOnce(A) -> CallArgs) -> Result<ClientMessage, String> {
        let kind = self.kind.as_ref();
        let present = [
            ("query", self.query.is_some()),
            ("params", self.params.is_some()),
            ("from_tx", self.from_tx.is_some()),
            ("module", self.module.is_some()),
            ("reducer", self.reducer.is_some()),
            ("args", self.args.is_some()),
        ];
        let allowed: &[&str] = match kind {
            "subscribe" => &["query", "params", "from_tx", "module"],
            "unsubscribe" => &[],
            "call" => &["reducer", "args", "module"],
            "query" => &["query", "params", "module"],
            other => {
                return Err(format!(
                    "unknown variant `{other}`, expected one of `subscribe`, `unsubscribe`, `call`, `query`"
                ));
            }
        };
        if let Some((field, _)) = present
            .iter()
            .find(|(field, there)| *there && !allowed.contains(field))
        {
            return Err(format!("a `{kind}` message has no field `{field}`"));
        }
        let id = self.id.ok_or("missing field `id`")?;
        let missing = |field: &str| format!("missing field `{field}`");
        Ok(match kind {
            "subscribe" => ClientMessage::Subscribe {
                id,
                query: self.query.ok_or_else(|| missing("query"))?,
                params: self.params.unwrap_or_default(),
                from_tx: self.from_tx,
                module: self.module,
            },
            "unsubscribe" => ClientMessage::Unsubscribe { id },
            "call" => ClientMessage::Call {
                id,
                reducer: self.reducer.ok_or_else(|| missing("reducer"))?,
                args: self.args.map_or_else(CallArgs::none, args),
                module: self.module,
            },
            _ => ClientMessage::Query {
                id,
                query: self.query.ok_or_else(|| missing("query"))?,
                params: self.params.unwrap_or_default(),
                module: self.module,
            },
        })
    }
}

/// Decodes one frame's payload, or says why not (as an `error` message to send back).
pub(crate) fn decode(encoding: Encoding, bytes: &[u8]) -> Result<ClientMessage, Json> {
    let parsed = match encoding {
        Encoding::Json => serde_json::from_slice::<Wire<'_, Box<RawValue>>>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|w| w.into_message(CallArgs::JsonText)),
        Encoding::MessagePack => rmp_serde::from_slice::<Wire<'_, Json>>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|w| w.into_message(CallArgs::Json)),
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
    fn call_arguments_stay_text_in_json_and_a_tree_in_messagepack() {
        // Proves a JSON call's arguments reach the call as the client's own text (not a tree
        // written out again), absent ones as `{}`, and MessagePack ones as a tree.
        let m = decode(
            Encoding::Json,
            br#"{"type":"call","id":2,"reducer":"r","args":{"b": [1, 2], "a":"x"}}"#,
        )
        .expect("call");
        let ClientMessage::Call {
            args: CallArgs::JsonText(text),
            ..
        } = m
        else {
            panic!("JSON arguments are text")
        };
        assert_eq!(text.get(), r#"{"b": [1, 2], "a":"x"}"#);
        for absent in [
            &br#"{"type":"call","id":2,"reducer":"r"}"#[..],
            br#"{"type":"call","id":2,"reducer":"r","args":null}"#,
        ] {
            let m = decode(Encoding::Json, absent).expect("call");
            assert!(
                matches!(&m, ClientMessage::Call { args: CallArgs::Json(t), .. } if t == &json!({})),
                "{m:?}"
            );
        }
        let packed = rmp_serde::to_vec_named(
            &json!({"type":"call","id":4,"reducer":"r","args":{"a":1},"module":"m"}),
        )
        .expect("encode");
        let m = decode(Encoding::MessagePack, &packed).expect("call");
        assert!(
            matches!(&m, ClientMessage::Call { id: 4, args: CallArgs::Json(t), module: Some(md), .. } if t == &json!({"a": 1}) && md == "m"),
            "{m:?}"
        );
    }

    #[test]
    fn a_field_of_another_message_type_is_refused() {
        // Proves each message type accepts only its own fields, as the tagged enum did.
        for (message, field) in [
            (
                &br#"{"type":"unsubscribe","id":1,"query":"SELECT 1"}"#[..],
                "query",
            ),
            (
                br#"{"type":"call","id":1,"reducer":"r","params":[]}"#,
                "params",
            ),
            (
                br#"{"type":"query","id":1,"query":"SELECT 1","from_tx":3}"#,
                "from_tx",
            ),
            (
                br#"{"type":"subscribe","id":1,"query":"SELECT 1","args":{}}"#,
                "args",
            ),
        ] {
            let e = decode(Encoding::Json, message).expect_err("refused");
            assert_eq!(e["id"], 1);
            let text = e["error"]["message"].as_str().expect("message");
            assert!(text.contains(&format!("`{field}`")), "{text}");
        }
        let e = decode(
            Encoding::Json,
            br#"{"type":"call","id":1,"reducer":"r","extra":1}"#,
        )
        .expect_err("unknown field");
        assert!(
            e["error"]["message"]
                .as_str()
                .expect("message")
                .contains("extra")
        );
        let e = decode(Encoding::Json, br#"{"type":"dance","id":5}"#).expect_err("unknown type");
        assert_eq!(e["id"], 5);
        let e =
            decode(Encoding::Json, br#"{"type":"query","query":"SELECT 1"}"#).expect_err("no id");
        assert!(
            e["error"]["message"]
                .as_str()
                .expect("message")
                .contains("`id`")
        );
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
