//! [`LiveQuery`]: one subscription over its own WebSocket, with a local copy of the rows
//! kept up to date, and automatic reconnection that resumes from the last transaction seen
//! (the server replays what was missed, or sends the rows afresh when that is too old).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::ClientError;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const SUBSCRIPTION_ID: u64 = 1;
/// Reconnection attempts before `next` gives up.
const RECONNECT_ATTEMPTS: u32 = 8;

/// One transaction's change to the subscribed rows.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveUpdate {
    pub tx_id: u64,
    pub inserts: Vec<Vec<Json>>,
    pub deletes: Vec<Vec<Json>>,
}

/// A live query: `rows()` is the current result; `next().await` waits for the next change.
#[derive(Debug)]
pub struct LiveQuery {
    url: String,
    token: String,
    query: String,
    params: Vec<Json>,
    /// The module named in `subscribe`, when the query's tables alone are ambiguous.
    module: Option<String>,
    socket: Socket,
    columns: Vec<String>,
    rows: Vec<Vec<Json>>,
    tx_id: u64,
    /// The difference a reconnection found, returned by the next `next`.
    reconnected: Option<LiveUpdate>,
    reconnect_attempts: u32,
}

fn server_error(v: &Json) -> ClientError {
    ClientError::Server {
        status: v["error"]["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(400),
        code: v["error"]["code"].as_str().unwrap_or("error").to_owned(),
        message: v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        details: v["error"].get("details").cloned(),
    }
}

fn rows_of(v: &Json) -> Vec<Vec<Json>> {
    v.as_array()
        .map(|rows| rows.iter().filter_map(|r| r.as_array().cloned()).collect())
        .unwrap_or_default()
}

async fn connect(url: &str, token: &str) -> Result<Socket, ClientError> {
    let mut request = url
        .into_client_request()
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    let auth = format!("Bearer {token}")
        .parse()
        .map_err(|_| ClientError::Protocol("the token is not a valid header value".into()))?;
    request.headers_mut().insert("authorization", auth);
    // tungstenite zero-fills its whole read buffer on every read: 8 KiB instead of the
    // default 128 KiB keeps that cheap for the small messages a client mostly receives.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), false)
        .await
        .map_err(upgrade_error)?;
    Ok(socket)
}

/// A refused upgrade is the server's answer (e.g. 401 `invalid_token` with the usual error
/// body), not a transport failure: callers need its status to tell "sign in again" from
/// "try again later".
fn upgrade_error(e: tokio_tungstenite::tungstenite::Error) -> ClientError {
    use tokio_tungstenite::tungstenite::Error;
    let Error::Http(response) = e else {
        return ClientError::Transport(e.to_string());
    };
    let status = response.status().as_u16();
    let body: Json = response
        .body()
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Json::Null);
    let error = &body["error"];
    ClientError::Server {
        status,
        code: error["code"].as_str().unwrap_or("http_error").to_owned(),
        message: error["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("the WebSocket upgrade was answered {status}")),
        details: error.get("details").cloned(),
    }
}

/// What turns `old` into `new`, as multisets of rows: `(inserts, deletes)`.
fn difference(old: &[Vec<Json>], new: &[Vec<Json>]) -> (Vec<Vec<Json>>, Vec<Vec<Json>>) {
    let mut deletes: Vec<Vec<Json>> = old.to_vec();
    let mut inserts = Vec::new();
    for row in new {
        match deletes.iter().position(|d| d == row) {
            // Held before and still there: neither inserted nor deleted.
            Some(i) => {
                deletes.swap_remove(i);
            }
            None => inserts.push(row.clone()),
        }
    }
    (inserts, deletes)
}

/// Reads text frames until one is a JSON object (pings are answered by tungstenite).
async fn next_message(socket: &mut Socket) -> Result<Json, ClientError> {
    while let Some(frame) = socket.next().await {
        match frame.map_err(|e| ClientError::Transport(e.to_string()))? {
            Message::Text(t) => {
                return serde_json::from_str(&t).map_err(|e| ClientError::Protocol(e.to_string()));
            }
            Message::Close(c) => {
                return Err(ClientError::Transport(format!(
                    "the server closed the connection: {}",
                    c.map(|c| c.reason.to_string()).unwrap_or_default()
                )));
            }
            _ => {}
        }
    }
    Err(ClientError::Transport("the connection ended".into()))
}

impl LiveQuery {
    pub(crate) async fn open(
        base: &str,
        token: &str,
        query: &str,
        params: &[Json],
        module: Option<&str>,
    ) -> Result<LiveQuery, ClientError> {
        let url = format!(
            "{}/v1/ws",
            base.replacen("http://", "ws://", 1)
                .replacen("https://", "wss://", 1)
        );
        let socket = connect(&url, token).await?;
        let mut live = LiveQuery {
            url,
            token: token.to_owned(),
            query: query.to_owned(),
            params: params.to_vec(),
            module: module.map(str::to_owned),
            socket,
            columns: Vec::new(),
            rows: Vec::new(),
            tx_id: 0,
            reconnected: None,
            reconnect_attempts: RECONNECT_ATTEMPTS,
        };
        live.send_subscribe(None).await?;
        Ok(live)
    }

    /// Subscribes on the current socket. When the answer carries fresh rows (not a resume),
    /// returns how they differ from the rows held before, so that a caller following the
    /// updates misses nothing that changed while the connection was down.
    async fn send_subscribe(&mut self, from_tx: Option<u64>) -> Result<LiveUpdate, ClientError> {
        let mut m = json!({"type": "subscribe", "id": SUBSCRIPTION_ID, "query": self.query, "params": self.params});
        if let Some(tx) = from_tx {
            m["from_tx"] = json!(tx);
        }
        if let Some(module) = &self.module {
            m["module"] = json!(module);
        }
        self.socket
            .send(Message::Text(m.to_string().into()))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        loop {
            let v = next_message(&mut self.socket).await?;
            match v["type"].as_str() {
                Some("subscribed") => {
                    self.columns = v["columns"]
                        .as_array()
                        .map(|c| {
                            c.iter()
                                .filter_map(|n| n.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    self.tx_id = v["tx_id"].as_u64().unwrap_or(self.tx_id);
                    let mut resync = LiveUpdate {
                        tx_id: self.tx_id,
                        inserts: Vec::new(),
                        deletes: Vec::new(),
                    };
                    if !v["resumed"].as_bool().unwrap_or(false) {
                        let fresh = rows_of(&v["rows"]);
                        (resync.inserts, resync.deletes) = difference(&self.rows, &fresh);
                        self.rows = fresh;
                    }
                    return Ok(resync);
                }
                Some("error") => return Err(server_error(&v)),
                // Updates of a resumed subscription can only follow `subscribed`.
                _ => {}
            }
        }
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The current rows (in no particular order).
    pub fn rows(&self) -> &[Vec<Json>] {
        &self.rows
    }

    /// The transaction the rows reflect.
    pub fn tx_id(&self) -> u64 {
        self.tx_id
    }

    fn apply(&mut self, update: &LiveUpdate) {
        for d in &update.deletes {
            if let Some(i) = self.rows.iter().position(|r| r == d) {
                self.rows.swap_remove(i);
            }
        }
        self.rows.extend(update.inserts.iter().cloned());
        self.tx_id = update.tx_id;
    }

    /// Waits for the next change, applies it to `rows()` and returns it. A dropped
    /// connection is re-established and the subscription resumed from the last tx seen; if
    /// the server can no longer resume, the rows are read afresh and the difference to the
    /// rows held before is returned as one update (so every change is still seen).
    pub async fn next(&mut self) -> Result<LiveUpdate, ClientError> {
        loop {
            if let Some(resync) = self.reconnected.take()
                && (!resync.inserts.is_empty() || !resync.deletes.is_empty())
            {
                return Ok(resync);
            }
            match next_message(&mut self.socket).await {
                Ok(v) => match v["type"].as_str() {
                    Some("update") => {
                        let Some(u) = v["updates"]
                            .as_array()
                            .and_then(|us| us.iter().find(|u| u["id"] == SUBSCRIPTION_ID))
                        else {
                            continue;
                        };
                        let update = LiveUpdate {
                            tx_id: v["tx_id"].as_u64().unwrap_or(self.tx_id),
                            inserts: rows_of(&u["inserts"]),
                            deletes: rows_of(&u["deletes"]),
                        };
                        self.apply(&update);
                        return Ok(update);
                    }
                    Some("error") if v["error"]["code"] == "subscriber_lagging" => {
                        self.reconnect().await?;
                    }
                    Some("error") => return Err(server_error(&v)),
                    _ => {}
                },
                Err(e @ ClientError::Transport(_)) if self.reconnect_attempts == 0 => {
                    return Err(e);
                }
                Err(ClientError::Transport(_)) => self.reconnect().await?,
                Err(e) => return Err(e),
            }
        }
    }

    async fn reconnect(&mut self) -> Result<(), ClientError> {
        let mut delay = Duration::from_millis(100);
        let mut last = ClientError::Transport("not tried".into());
        for _ in 0..self.reconnect_attempts {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
            match connect(&self.url, &self.token).await {
                Ok(socket) => {
                    self.socket = socket;
                    let resync = match self.send_subscribe(Some(self.tx_id)).await {
                        Ok(resync) => resync,
                        // Too old to resume: start over with the full rows.
                        Err(ClientError::Server { .. }) => self.send_subscribe(None).await?,
                        Err(e) => {
                            last = e;
                            continue;
                        }
                    };
                    self.reconnected = Some(resync);
                    return Ok(());
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// How many times `next` tries to reconnect (with backoff from 100 ms to 5 s) before it
    /// returns the transport error; 8 by default, 0 to return it at once. A caller with its
    /// own reconnection loop (e.g. one that also signs in again) sets this low.
    pub fn set_reconnect_attempts(&mut self, attempts: u32) {
        self.reconnect_attempts = attempts;
    }

    /// Ends the subscription and closes the connection.
    pub async fn close(mut self) -> Result<(), ClientError> {
        let _ = self
            .socket
            .send(Message::Text(
                json!({"type": "unsubscribe", "id": SUBSCRIPTION_ID})
                    .to_string()
                    .into(),
            ))
            .await;
        self.socket
            .close(None)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_refused_upgrade_is_the_servers_error() {
        // Proves: a 401 answer to the upgrade (what the server sends for a bad token) comes
        // back as `ClientError::Server` with its status and code, not as a transport error.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).await.expect("read");
                if n == 0 {
                    return;
                }
                request.extend_from_slice(&buf[..n]);
            }
            let body =
                r#"{"error": {"code": "invalid_token", "message": "the token is not valid"}}"#;
            let answer = format!(
                "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(answer.as_bytes()).await.expect("write");
        });
        let err = LiveQuery::open(&format!("http://{addr}"), "t", "SELECT 1", &[], None)
            .await
            .expect_err("refused");
        assert_eq!(
            (err.status(), err.code()),
            (Some(401), "invalid_token"),
            "{err}"
        );
    }

    #[test]
    fn the_difference_of_two_results_is_a_multiset_delta() {
        // Proves: rows kept are in neither list, duplicates count (one of two equal rows
        // gone is one delete), and applying the delta to `old` gives `new`.
        let (a, b, c) = (vec![json!(1)], vec![json!(2)], vec![json!(3)]);
        let old = vec![a.clone(), b.clone(), b.clone()];
        let new = vec![b.clone(), c.clone()];
        let (inserts, deletes) = difference(&old, &new);
        assert_eq!(inserts, vec![c.clone()]);
        let mut deletes_sorted = deletes.clone();
        deletes_sorted.sort_by_key(|r| r[0].as_i64());
        assert_eq!(deletes_sorted, vec![a, b.clone()]);
        let mut applied = old.clone();
        for d in &deletes {
            let i = applied
                .iter()
                .position(|r| r == d)
                .expect("deleted row held");
            applied.swap_remove(i);
        }
        applied.extend(inserts);
        applied.sort_by_key(|r| r[0].as_i64());
        assert_eq!(applied, new);
        assert_eq!(difference(&new, &new), (Vec::new(), Vec::new()));
    }
}
