//! [`LiveQuery`]: one subscription over its own WebSocket, with a local copy of the rows
//! kept up to date, and automatic reconnection that resumes from the last transaction seen
//! (the server replays what was missed, or sends the rows afresh when that is too old).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
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
    socket: Socket,
    columns: Vec<String>,
    rows: Vec<Vec<Json>>,
    tx_id: u64,
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
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    Ok(socket)
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
            socket,
            columns: Vec::new(),
            rows: Vec::new(),
            tx_id: 0,
        };
        live.send_subscribe(None).await?;
        Ok(live)
    }

    async fn send_subscribe(&mut self, from_tx: Option<u64>) -> Result<(), ClientError> {
        let mut m = json!({"type": "subscribe", "id": SUBSCRIPTION_ID, "query": self.query, "params": self.params});
        if let Some(tx) = from_tx {
            m["from_tx"] = json!(tx);
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
                    if !v["resumed"].as_bool().unwrap_or(false) {
                        self.rows = rows_of(&v["rows"]);
                    }
                    self.tx_id = v["tx_id"].as_u64().unwrap_or(self.tx_id);
                    return Ok(());
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
    /// connection is re-established and the subscription resumed from the last tx seen.
    pub async fn next(&mut self) -> Result<LiveUpdate, ClientError> {
        loop {
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
                Err(ClientError::Transport(_)) => self.reconnect().await?,
                Err(e) => return Err(e),
            }
        }
    }

    async fn reconnect(&mut self) -> Result<(), ClientError> {
        let mut delay = Duration::from_millis(100);
        let mut last = ClientError::Transport("not tried".into());
        for _ in 0..RECONNECT_ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
            match connect(&self.url, &self.token).await {
                Ok(socket) => {
                    self.socket = socket;
                    match self.send_subscribe(Some(self.tx_id)).await {
                        Ok(()) => return Ok(()),
                        // Too old to resume: start over with the full rows.
                        Err(ClientError::Server { .. }) => {
                            self.send_subscribe(None).await?;
                            return Ok(());
                        }
                        Err(e) => last = e,
                    }
                }
                Err(e) => last = e,
            }
        }
        Err(last)
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
