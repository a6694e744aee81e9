//! One WebSocket connection.
//!
//! A single task owns the socket and multiplexes: frames from the client, results of calls
//! and queries running elsewhere (a bounded channel), subscription updates (woken by the
//! subscription managers through a `Notify`), keepalive pings, and server shutdown.
//!
//! Subscribing runs inside this task, so a `subscribed` answer is always written before any
//! `update` that mentions its id. Calls and queries run concurrently (at most
//! `ws_calls_in_flight` per connection), so a pipelining client shares fsyncs with itself;
//! their `result`/`rows` answers carry the request's `id` and may arrive in any order. The
//! calls of the frames that have arrived together go to each module's call thread as one
//! batch (each still its own transaction), one hand-off and one task per batch, not per call.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use cosmictron_sql::{Subscriber, SubscriberEvent, TxUpdate, value_to_json};
use cosmictron_types::{ConnectionId, Value};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};

use crate::app::{AppState, Counters};
use crate::error::{Error, Result};
use crate::facade::RawCallResult;
use crate::http::caller::Caller;
use crate::http::reducer_routes;
use crate::http::sql_routes::{self, param_value, result_json, route_query, sql_caller};
use crate::ws::lifecycle::Lifecycle;
use crate::ws::protocol::{ClientMessage, Encoding, decode, error_json, error_message};

/// At most this many messages are written per flush (so one busy connection's answers do not
/// grow a write without bound).
const BATCH_MAX: usize = 256;
/// Close code for "going away" (server shutdown, client gone silent).
const GOING_AWAY: u16 = 1001;
/// Close code for "policy violation" (a client that lags too far behind).
const POLICY: u16 = 1008;

struct Connection {
    state: Arc<AppState>,
    caller: Caller,
    /// `ctx.connection_id` of the calls made over this connection.
    connection: ConnectionId,
    encoding: Encoding,
    notify: Arc<Notify>,
    /// One subscriber per module this connection subscribes in.
    subscribers: HashMap<String, Arc<Subscriber>>,
    /// Which module each subscription id lives in.
    subscription_modules: HashMap<u64, String>,
    results: mpsc::Sender<Outgoing>,
    in_flight: Arc<Semaphore>,
    /// Calls read but not yet handed to their modules' call threads: the frames that arrived
    /// together go as one batch per module (see [`Connection::dispatch_calls`]).
    calls: Vec<QueuedCall>,
}

/// A call waiting for its batch, holding its place among the calls in flight.
struct QueuedCall {
    id: u64,
    reducer: String,
    args: reducer_routes::CallArgs,
    module: Option<String>,
    permit: OwnedSemaphorePermit,
}

fn rows_json(rows: &[Vec<Value>]) -> Vec<Json> {
    rows.iter()
        .map(|r| Json::Array(r.iter().map(value_to_json).collect()))
        .collect()
}

/// A value in the JSON form of `value_to_json`, serialized without building a tree first:
/// a string is written straight from the row instead of being copied into a JSON string.
struct ValueOut<'a>(&'a Value);

impl serde::Serialize for ValueOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            Value::String(text) => s.serialize_str(text),
            // Numbers, nulls and booleans make no allocation; bytes and identities are hex
            // strings built by `value_to_json` itself, so there is one definition of the form.
            other => value_to_json(other).serialize(s),
        }
    }
}

/// Rows as arrays of values.
struct RowsOut<'a>(&'a [Vec<Value>]);

impl serde::Serialize for RowsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|row| RowOut(row)))
    }
}

struct RowOut<'a>(&'a [Value]);

impl serde::Serialize for RowOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ValueOut))
    }
}

/// `{"type":"update","module":…,"tx_id":…,"updates":[{"id":…,"inserts":[…],"deletes":[…]}]}`,
/// serialized straight from the subscriber's update (an update goes to every subscriber of a
/// query, so it is the message a commit costs most of).
#[derive(serde::Serialize)]
struct UpdateMessage<'a> {
    r#type: &'static str,
    module: &'a str,
    tx_id: u64,
    updates: Vec<UpdatePart<'a>>,
}

#[derive(serde::Serialize)]
struct UpdatePart<'a> {
    id: u64,
    inserts: RowsOut<'a>,
    deletes: RowsOut<'a>,
}

impl<'a> UpdateMessage<'a> {
    fn of(module: &'a str, update: &'a TxUpdate) -> UpdateMessage<'a> {
        UpdateMessage {
            r#type: "update",
            module,
            tx_id: update.tx_id,
            updates: update
                .updates
                .iter()
                .map(|u| UpdatePart {
                    id: u.id,
                    inserts: RowsOut(&u.inserts),
                    deletes: RowsOut(&u.deletes),
                })
                .collect(),
        }
    }
}

fn update_json(module: &str, update: &TxUpdate) -> Json {
    serde_json::to_value(UpdateMessage::of(module, update)).unwrap_or(Json::Null)
}

/// A message to send: a JSON tree, a call's answer kept as the module's JSON text (so a JSON
/// connection writes it without building a tree of it first), or a subscription update.
enum Outgoing {
    Json(Json),
    Answer { id: u64, out: RawCallResult },
    Update { module: String, update: TxUpdate },
}

impl From<Json> for Outgoing {
    fn from(message: Json) -> Outgoing {
        Outgoing::Json(message)
    }
}

/// `{"type":"result","id":…, tx_id, status, duration_ms, result}`.
#[derive(serde::Serialize)]
struct ResultMessage<'a> {
    r#type: &'static str,
    id: u64,
    tx_id: Option<u64>,
    status: &'static str,
    duration_ms: f64,
    result: &'a serde_json::value::RawValue,
}

fn encode(encoding: Encoding, message: &Outgoing) -> Option<Message> {
    let tree;
    let message = match (message, encoding) {
        (Outgoing::Json(m), _) => m,
        (Outgoing::Update { module, update }, Encoding::Json) => {
            let text = serde_json::to_string(&UpdateMessage::of(module, update)).ok()?;
            return Some(Message::Text(Utf8Bytes::from(text)));
        }
        (Outgoing::Update { module, update }, Encoding::MessagePack) => {
            return rmp_serde::to_vec_named(&UpdateMessage::of(module, update))
                .ok()
                .map(|b| Message::Binary(b.into()));
        }
        (Outgoing::Answer { id, out }, Encoding::Json) => {
            let text = serde_json::to_string(&ResultMessage {
                r#type: "result",
                id: *id,
                tx_id: out.tx_id,
                status: "committed",
                duration_ms: out.duration_ms,
                result: &out.result,
            })
            .ok()?;
            return Some(Message::Text(Utf8Bytes::from(text)));
        }
        (Outgoing::Answer { id, out }, Encoding::MessagePack) => {
            let answer = reducer_routes::CallAnswer::of(out);
            let mut m = serde_json::to_value(&answer).ok()?;
            m["type"] = json!("result");
            m["id"] = json!(id);
            tree = m;
            &tree
        }
    };
    match encoding {
        Encoding::Json => Some(Message::Text(Utf8Bytes::from(message.to_string()))),
        Encoding::MessagePack => rmp_serde::to_vec_named(message)
            .ok()
            .map(|b| Message::Binary(b.into())),
    }
}

pub(crate) async fn serve(
    socket: WebSocket,
    state: Arc<AppState>,
    caller: Caller,
    encoding: Encoding,
    lifecycle_module: Option<String>,
) {
    state
        .counters
        .ws_connections_open
        .fetch_add(1, Ordering::Relaxed);
    let connection = state.next_connection_id();
    let (results_tx, results_rx) = mpsc::channel(state.config.ws_queue_capacity);
    let mut lifecycle = Lifecycle::connected(&state, caller, connection, lifecycle_module).await;
    let mut conn = Connection {
        state: state.clone(),
        caller,
        connection,
        encoding,
        notify: Arc::new(Notify::new()),
        subscribers: HashMap::new(),
        subscription_modules: HashMap::new(),
        results: results_tx,
        in_flight: Arc::new(Semaphore::new(state.config.ws_calls_in_flight)),
        calls: Vec::new(),
    };
    conn.run(socket, results_rx, std::mem::take(&mut lifecycle.refusals))
        .await;
    // Dropping the subscribers disconnects them and frees what they held.
    conn.subscribers.clear();
    lifecycle.disconnected(&state, caller, connection).await;
    state
        .counters
        .ws_connections_open
        .fetch_sub(1, Ordering::Relaxed);
}

impl Connection {
    async fn run(
        &mut self,
        socket: WebSocket,
        mut results: mpsc::Receiver<Outgoing>,
        greeting: Vec<Json>,
    ) {
        let (mut sink, mut stream) = socket.split();
        for message in greeting {
            let Some(frame) = encode(self.encoding, &message.into()) else {
                continue;
            };
            if sink.send(frame).await.is_err() {
                return;
            }
        }
        let ping_every = Duration::from_secs(self.state.config.ws_ping_interval_secs.max(1));
        let mut ping = tokio::time::interval(ping_every);
        ping.tick().await;
        let mut last_heard = Instant::now();
        let mut shutdown = self.state.shutdown.subscribe();
        let notify = self.notify.clone();
        loop {
            let mut outgoing: Vec<Outgoing> = Vec::new();
            let mut close: Option<(u16, &'static str)> = None;
            tokio::select! {
                frame = stream.next() => {
                    last_heard = Instant::now();
                    if !self.take_frame(frame, &mut outgoing).await {
                        return;
                    }
                    // Frames that have already arrived join this one, so their calls go to the
                    // call thread as one batch.
                    while self.calls.len() < BATCH_MAX
                        && let Some(frame) = stream.next().now_or_never()
                    {
                        if !self.take_frame(frame, &mut outgoing).await {
                            return;
                        }
                    }
                    outgoing.extend(self.dispatch_calls().into_iter().map(Outgoing::from));
                }
                Some(result) = results.recv() => outgoing.push(result),
                () = notify.notified() => {
                    let (updates, lagging) = self.drain_updates();
                    outgoing.extend(updates);
                    if lagging {
                        close = Some((POLICY, "subscriber_lagging"));
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > ping_every * 3 {
                        close = Some((GOING_AWAY, "no pong"));
                    } else if sink.send(Message::Ping(Default::default())).await.is_err() {
                        return;
                    }
                }
                _ = shutdown.changed() => close = Some((GOING_AWAY, "server shutting down")),
            }
            // Answers that are ready too go out in the same write: a pipelining client gets
            // many per system call instead of one each.
            while outgoing.len() < BATCH_MAX
                && let Ok(result) = results.try_recv()
            {
                outgoing.push(result);
            }
            let sent = outgoing.len();
            for message in outgoing {
                let Some(frame) = encode(self.encoding, &message) else {
                    continue;
                };
                Counters::bump(&self.state.counters.ws_messages_out);
                if sink.feed(frame).await.is_err() {
                    return;
                }
            }
            if sent > 0 && sink.flush().await.is_err() {
                return;
            }
            if let Some((code, reason)) = close {
                let _ = sink
                    .send(Message::Close(Some(CloseFrame {
                        code,
                        reason: Utf8Bytes::from_static(reason),
                    })))
                    .await;
                return;
            }
        }
    }

    /// Handles one frame from the client; `false` when the connection is over.
    async fn take_frame(
        &mut self,
        frame: Option<std::result::Result<Message, axum::Error>>,
        outgoing: &mut Vec<Outgoing>,
    ) -> bool {
        let answers = match frame {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return false,
            Some(Ok(Message::Text(text))) => self.handle(text.as_bytes()).await,
            Some(Ok(Message::Binary(bytes))) => self.handle(&bytes).await,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Vec::new(),
        };
        outgoing.extend(answers.into_iter().map(Outgoing::from));
        true
    }

    /// Handles one client message; returns what to answer right away (in order).
    async fn handle(&mut self, bytes: &[u8]) -> Vec<Json> {
        Counters::bump(&self.state.counters.ws_messages_in);
        let message = match decode(self.encoding, bytes) {
            Ok(m) => m,
            Err(error) => return vec![error],
        };
        match message {
            ClientMessage::Subscribe {
                id,
                query,
                params,
                from_tx,
                module,
            } => match self.subscribe(id, query, params, from_tx, module).await {
                Ok(answers) => answers,
                Err(e) => vec![error_message(id, &e)],
            },
            ClientMessage::Unsubscribe { id } => {
                let removed = self
                    .subscription_modules
                    .remove(&id)
                    .and_then(|m| self.subscribers.get(&m).map(|s| s.unsubscribe(id)))
                    .unwrap_or(false);
                if removed {
                    vec![json!({"type": "unsubscribed", "id": id})]
                } else {
                    vec![error_json(
                        Some(json!(id)),
                        "no_such_subscription",
                        "no subscription has that id",
                    )]
                }
            }
            ClientMessage::Call {
                id,
                reducer,
                args,
                module,
            } => self.queue_call(id, reducer, args, module).await,
            ClientMessage::Query {
                id,
                query,
                params,
                module,
            } => {
                self.spawn_query(id, query, params, module).await;
                Vec::new()
            }
        }
    }

    /// Queues a call for the next batch once it has a place among the calls in flight, or
    /// answers at once why it cannot run.
    async fn queue_call(
        &mut self,
        id: u64,
        reducer: String,
        args: reducer_routes::CallArgs,
        module: Option<String>,
    ) -> Vec<Json> {
        if !args.is_named() {
            return vec![error_message(
                id,
                &Error::request(
                    422,
                    "invalid_arguments",
                    "`args` is an object of named arguments",
                ),
            )];
        }
        let mut answers = Vec::new();
        let permit = match self.in_flight.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Every place is taken: the calls waiting for their batch go first, or they
                // would hold the very places this one waits for.
                answers = self.dispatch_calls();
                let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                    return answers;
                };
                permit
            }
        };
        self.calls.push(QueuedCall {
            id,
            reducer,
            args,
            module,
            permit,
        });
        answers
    }

    /// Hands the queued calls to their modules' call threads, one batch per module, each
    /// answered (as a `result` or an `error`) when its commit is durable; returns the answers
    /// of calls that name no module that has their reducer.
    fn dispatch_calls(&mut self) -> Vec<Json> {
        if self.calls.is_empty() {
            return Vec::new();
        }
        let core = match self.state.core() {
            Ok(core) => core.clone(),
            Err(e) => {
                return self
                    .calls
                    .drain(..)
                    .map(|c| error_message(c.id, &e))
                    .collect();
            }
        };
        let mut refused = Vec::new();
        let mut batches: Vec<(String, Vec<QueuedCall>)> = Vec::new();
        for call in self.calls.drain(..) {
            match reducer_routes::resolve_module(&core, &call.reducer, call.module.as_deref()) {
                Ok(module) => match batches.iter_mut().find(|(m, _)| *m == module) {
                    Some((_, batch)) => batch.push(call),
                    None => batches.push((module, vec![call])),
                },
                Err(e) => {
                    Counters::bump(&self.state.counters.reducer_calls);
                    Counters::bump(&self.state.counters.reducer_errors);
                    refused.push(error_message(call.id, &e));
                }
            }
        }
        for (module, batch) in batches {
            let (state, caller, results) = (self.state.clone(), self.caller, self.results.clone());
            let connection = self.connection;
            tokio::spawn(async move {
                let start = Instant::now();
                let mut permits = Vec::with_capacity(batch.len());
                let calls = batch
                    .into_iter()
                    .map(|c| {
                        permits.push(c.permit);
                        reducer_routes::BatchedCall {
                            id: c.id,
                            reducer: c.reducer,
                            args: c.args,
                        }
                    })
                    .collect();
                let logged =
                    reducer_routes::call_batch(&state, caller, connection, module, calls).await;
                for ((id, logged), permit) in logged.into_iter().zip(permits) {
                    let answer = match reducer_routes::answer(&state, logged, start).await {
                        Ok(out) => Outgoing::Answer { id, out },
                        Err(e) => error_message(id, &e).into(),
                    };
                    // The call's place among those in flight frees once it is answered.
                    drop(permit);
                    let _ = results.send(answer).await;
                }
            });
        }
        refused
    }

    async fn spawn_query(&self, id: u64, query: String, params: Vec<Json>, module: Option<String>) {
        let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
            return;
        };
        let (state, caller, results) = (self.state.clone(), self.caller, self.results.clone());
        tokio::spawn(async move {
            let answer = match sql_routes::run_query(&state, caller, query, params, module).await {
                Ok(r) => {
                    let mut m = result_json(&r);
                    m["type"] = json!("rows");
                    m["id"] = json!(id);
                    m
                }
                Err(e) => error_message(id, &e),
            };
            drop(permit);
            let _ = results.send(answer.into()).await;
        });
    }

    async fn subscribe(
        &mut self,
        id: u64,
        query: String,
        params: Vec<Json>,
        from_tx: Option<u64>,
        module: Option<String>,
    ) -> Result<Vec<Json>> {
        if self.subscription_modules.contains_key(&id) {
            return Err(Error::request(
                409,
                "duplicate_subscription_id",
                format!("subscription {id} exists; unsubscribe it first"),
            ));
        }
        let core = self.state.core()?.clone();
        let params: Vec<Value> = params.iter().map(param_value).collect::<Result<_>>()?;
        let config = self.state.sql_config();
        let module = route_query(&core, &query, module.as_deref(), &config)?;
        core.db.views(&module)?.refuse_subscription(
            &query,
            &sql_caller(&core, &self.caller, &module)?,
            &config,
        )?;
        let subscriber = match self.subscribers.get(&module) {
            Some(s) => s.clone(),
            None => {
                let manager = core.subs.manager(
                    &core.db,
                    &core.sql,
                    &module,
                    self.state.config.ws_queue_capacity,
                )?;
                let who = sql_caller(&core, &self.caller, &module)?;
                let notify = self.notify.clone();
                let s = Arc::new(manager.connect(who, Arc::new(move || notify.notify_one())));
                self.subscribers.insert(module.clone(), s.clone());
                s
            }
        };
        let subscribed =
            tokio::task::spawn_blocking(move || subscriber.subscribe(id, &query, &params, from_tx))
                .await
                .map_err(|e| Error::request(500, "internal", e.to_string()))??;
        self.subscription_modules.insert(id, module.clone());
        let columns: Vec<&str> = subscribed.columns.iter().map(|c| c.name.as_str()).collect();
        let mut answers = vec![json!({
            "type": "subscribed",
            "id": id,
            "module": module,
            "tx_id": subscribed.tx_id,
            "resumed": subscribed.resumed,
            "columns": columns,
            "rows": rows_json(&subscribed.rows),
        })];
        // A resumed subscription: what changed while the client was away, oldest first.
        answers.extend(subscribed.missed.iter().map(|u| update_json(&module, u)));
        Ok(answers)
    }

    /// Everything the subscribers have queued, as `update` messages (one per module and tx);
    /// `true` when a subscriber lagged and the connection must be closed.
    fn drain_updates(&mut self) -> (Vec<Outgoing>, bool) {
        let mut out = Vec::new();
        let mut lagging = false;
        let mut ended = Vec::new();
        for (module, subscriber) in &self.subscribers {
            while let Some(event) = subscriber.try_recv() {
                match event {
                    SubscriberEvent::Update(update) => out.push(Outgoing::Update {
                        module: module.clone(),
                        update,
                    }),
                    SubscriberEvent::Ended {
                        id,
                        after_tx,
                        code,
                        message,
                    } => {
                        ended.push(id);
                        let mut m = error_json(Some(json!(id)), code, &message);
                        m["module"] = json!(module);
                        m["after_tx"] = json!(after_tx);
                        out.push(m.into());
                    }
                    SubscriberEvent::Lagging { dropped_after_tx } => {
                        out.push(error_json(
                            None,
                            "subscriber_lagging",
                            &format!("updates after tx {dropped_after_tx} of module `{module}` could not be queued; reconnect and resubscribe with from_tx = {dropped_after_tx}"),
                        ).into());
                        lagging = true;
                    }
                }
            }
        }
        for id in ended {
            self.subscription_modules.remove(&id);
        }
        (out, lagging)
    }
}

#[cfg(test)]
mod tests {
    use cosmictron_sql::SubscriptionUpdate;
    use cosmictron_types::{Identity, Timestamp};

    use super::*;

    #[test]
    fn an_update_serializes_as_the_values_json_form() {
        // Proves the streamed `update` message is the documented tree: every value as
        // `value_to_json` has it (large integers and non-finite floats as strings, bytes and
        // identities as hex), in JSON and in MessagePack.
        let row = vec![
            Value::Null,
            Value::Bool(true),
            Value::I64(-3),
            Value::U64(u64::MAX),
            Value::F64(f64::NAN),
            Value::F32(1.5),
            Value::String("a \"quoted\" é".into()),
            Value::Bytes(vec![0, 255]),
            Value::Identity(Identity([1; 32])),
            Value::Timestamp(Timestamp(7)),
        ];
        let update = TxUpdate {
            tx_id: 9,
            updates: vec![SubscriptionUpdate {
                id: 4,
                inserts: vec![row.clone()],
                deletes: vec![row.clone(), Vec::new()],
            }],
        };
        let rows = |rows: &[Vec<Value>]| Json::Array(rows_json(rows));
        let expected = json!({
            "type": "update",
            "module": "m",
            "tx_id": 9,
            "updates": [{
                "id": 4,
                "inserts": rows(&update.updates[0].inserts),
                "deletes": rows(&update.updates[0].deletes),
            }],
        });
        let message = UpdateMessage::of("m", &update);
        let text = serde_json::to_string(&message).expect("json");
        assert_eq!(
            serde_json::from_str::<Json>(&text).expect("parse"),
            expected
        );
        let packed = rmp_serde::to_vec_named(&message).expect("msgpack");
        assert_eq!(
            rmp_serde::from_slice::<Json>(&packed).expect("unpack"),
            expected
        );
        assert_eq!(update_json("m", &update), expected);
    }
}
