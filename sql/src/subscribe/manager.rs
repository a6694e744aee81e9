//! [`Subscriptions`]: the per-database manager. Its commit listener only queues the change
//! set (the committing thread does no evaluation); one worker thread applies change sets in
//! commit order to every maintained query and fans the deltas out to subscriber queues.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::thread::JoinHandle;

use cosmictron_engine::{ChangeSet, Database, EngineError, ListenerId, TxId};
use cosmictron_types::Value;
use parking_lot::{Condvar, Mutex};

use super::analyze::analyze;
use super::config::SubscriptionConfig;
use super::fan_out::{FanOutHelper, queue_all};
use super::from_delta::Decoded;
use super::queue::{Delta, Notify, Queue, Queued};
use super::registry::{GroupKey, Registry, SubscriberEntry, SubscriberId, Target};
use super::rows::{Multiset, SubEnv, split};
use super::subscriber::Subscriber;
use super::types::{Subscribed, SubscriberEvent, SubscriptionStats, SubscriptionUpdate, TxUpdate};
use super::view::{Query, View};
use crate::config::Caller;
use crate::engine::SqlEngine;
use crate::error::{Result, SqlError};

/// Subscriptions to one query from which its fan-out is split across two threads (below it,
/// handing half to the helper and waiting for it costs more than it saves).
const PARALLEL_FAN_OUT_MIN: usize = 4096;

/// Whether a second thread can run at the same time at all.
static MANY_CORES: LazyLock<bool> =
    LazyLock::new(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1));

/// Change sets handed over by the commit listener.
#[derive(Debug, Default)]
struct Inbox {
    queue: VecDeque<Arc<ChangeSet>>,
    /// The backlog passed `pending_txs_max` and was dropped, through this tx.
    overflowed_through: Option<TxId>,
    shutdown: bool,
}

pub(crate) struct Shared {
    pub(crate) db: Database,
    sql: Arc<SqlEngine>,
    pub(crate) config: SubscriptionConfig,
    pub(crate) registry: Mutex<Registry>,
    inbox: Mutex<Inbox>,
    inbox_ready: Condvar,
    next_subscriber: AtomicU64,
    /// Held by the worker while it queues one tx's updates (after releasing the registry), so
    /// `unsubscribe` can wait for an in-flight fan-out before it returns.
    delivering: Mutex<()>,
    /// The worker thread, which must not wait for its own fan-out (a `notify` callback that
    /// unsubscribes runs on it); the same for the fan-out helper's thread.
    worker_thread: std::sync::OnceLock<std::thread::ThreadId>,
    helper_thread: std::sync::OnceLock<std::thread::ThreadId>,
    /// The second fan-out thread, started on the first fan-out large enough to split.
    fan_out_helper: Mutex<Option<FanOutHelper>>,
    /// Every update of every tx up to this one is queued.
    delivered_tx: AtomicU64,
    /// Time spent applying change sets and fanning out, for diagnostics and benchmarks.
    busy_nanos: AtomicU64,
    processed_txs: AtomicU64,
    /// Set when the worker thread could not be started.
    inline: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriptions")
            .field("db", &self.db.name())
            .field("config", &self.config)
            .finish()
    }
}

/// The subscription manager of one database. `Send + Sync`; create one per database with
/// [`Subscriptions::new`] and [`connect`](Subscriptions::connect) a [`Subscriber`] per client.
#[derive(Debug)]
pub struct Subscriptions {
    shared: Arc<Shared>,
    listener: ListenerId,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        self.shared.db.remove_listener(self.listener);
        self.shared.inbox.lock().shutdown = true;
        self.shared.inbox_ready.notify_all();
        if let Some(worker) = self.worker.lock().take() {
            let _ = worker.join();
        }
    }
}

impl Subscriptions {
    /// Starts the manager: registers its commit listener and its worker thread.
    pub fn new(
        db: Database,
        sql: Arc<SqlEngine>,
        config: SubscriptionConfig,
    ) -> Arc<Subscriptions> {
        let shared = Arc::new(Shared {
            db: db.clone(),
            sql,
            config,
            registry: Mutex::new(Registry::default()),
            inbox: Mutex::new(Inbox::default()),
            inbox_ready: Condvar::new(),
            next_subscriber: AtomicU64::new(1),
            inline: std::sync::atomic::AtomicBool::new(false),
            delivering: Mutex::new(()),
            worker_thread: std::sync::OnceLock::new(),
            helper_thread: std::sync::OnceLock::new(),
            fan_out_helper: Mutex::new(None),
            delivered_tx: AtomicU64::new(0),
            busy_nanos: AtomicU64::new(0),
            processed_txs: AtomicU64::new(0),
        });
        let for_listener = shared.clone();
        let listener = db.on_commit(Arc::new(move |changes: &Arc<ChangeSet>| {
            for_listener.enqueue(changes);
        }));
        // Every tx after this one reaches the listener (it was registered first); earlier
        // ones are already in the state any snapshot sees.
        {
            let mut reg = shared.registry.lock();
            reg.position = db.latest_tx();
            reg.ring_floor = reg.position;
            shared.delivered_tx.store(reg.position, Ordering::Release);
        }
        let for_worker = shared.clone();
        let worker = std::thread::Builder::new()
            .name(format!("subscriptions-{}", db.name()))
            .spawn(move || for_worker.run_worker())
            .ok();
        if worker.is_none() {
            // No thread to be had: stay correct by applying change sets on the committing
            // thread instead.
            shared.inline.store(true, Ordering::Release);
            let queued: Vec<Arc<ChangeSet>> = shared.inbox.lock().queue.drain(..).collect();
            for changes in queued {
                shared.process(changes);
            }
        }
        Arc::new(Subscriptions {
            shared,
            listener,
            worker: Mutex::new(worker),
        })
    }

    /// Connects a client. `notify` is called (from any thread, outside the manager's locks)
    /// whenever the subscriber's queue goes from empty to non-empty.
    pub fn connect(
        self: &Arc<Self>,
        caller: Caller,
        notify: Arc<dyn Fn() + Send + Sync>,
    ) -> Subscriber {
        let id = self.shared.next_subscriber.fetch_add(1, Ordering::Relaxed);
        let queue = Arc::new(Queue::new(
            self.shared.config.queue_capacity,
            notify as Notify,
        ));
        self.shared.registry.lock().subscribers.insert(
            id,
            SubscriberEntry {
                queue: queue.clone(),
                subs: HashMap::new(),
            },
        );
        Subscriber::new(self.clone(), id, queue, caller)
    }

    pub fn stats(&self) -> SubscriptionStats {
        let pending_txs = self.shared.inbox.lock().queue.len();
        let reg = self.shared.registry.lock();
        SubscriptionStats {
            subscribers: reg.subscribers.len(),
            subscriptions: reg.subscribers.values().map(|s| s.subs.len()).sum(),
            distinct_queries: reg.groups.len(),
            processed_tx: self.shared.delivered_tx.load(Ordering::Acquire),
            pending_txs,
            lagging_drops: reg.lagging_drops,
            subscribe_catch_ups: reg.catch_ups,
            processed_txs: self.shared.processed_txs.load(Ordering::Relaxed),
            worker_busy_micros: self.shared.busy_nanos.load(Ordering::Relaxed) / 1000,
            state_rows: reg.groups.values().map(|g| g.view.state_rows()).sum(),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Shared {
    /// The commit listener: queue and wake the worker, nothing more.
    fn enqueue(&self, changes: &Arc<ChangeSet>) {
        if self.inline.load(Ordering::Acquire) {
            self.process(changes.clone());
            return;
        }
        let mut inbox = self.inbox.lock();
        if inbox.queue.len() >= self.config.pending_txs_max {
            inbox.queue.clear();
            inbox.overflowed_through = Some(changes.tx_id);
        } else if inbox.overflowed_through.is_some() {
            inbox.overflowed_through = Some(changes.tx_id);
        } else {
            inbox.queue.push_back(changes.clone());
        }
        drop(inbox);
        self.inbox_ready.notify_one();
    }

    fn run_worker(&self) {
        let _ = self.worker_thread.set(std::thread::current().id());
        loop {
            let (next, overflow) = {
                let mut inbox = self.inbox.lock();
                while inbox.queue.is_empty()
                    && inbox.overflowed_through.is_none()
                    && !inbox.shutdown
                {
                    self.inbox_ready.wait(&mut inbox);
                }
                if inbox.shutdown {
                    return;
                }
                match inbox.overflowed_through.take() {
                    Some(tx) => (None, Some(tx)),
                    None => (inbox.queue.pop_front(), None),
                }
            };
            if let Some(through) = overflow {
                self.drop_everyone(through);
            }
            if let Some(changes) = next {
                let started = std::time::Instant::now();
                self.process(changes);
                let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.busy_nanos.fetch_add(nanos, Ordering::Relaxed);
                self.processed_txs.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The backlog was dropped: nobody's results can be kept exact, so everyone lags.
    fn drop_everyone(&self, through: TxId) {
        let mut notify = Vec::new();
        {
            let mut reg = self.registry.lock();
            let after = reg.position;
            let subscribers: Vec<SubscriberId> = reg
                .subscribers
                .iter()
                .filter(|(_, e)| !e.subs.is_empty())
                .map(|(sid, _)| *sid)
                .collect();
            for sid in subscribers {
                notify.extend(reg.lag(sid, after));
            }
            reg.ring.clear();
            reg.position = reg.position.max(through);
            reg.ring_floor = reg.position;
            self.delivered_tx.store(reg.position, Ordering::Release);
        }
        notify.iter().for_each(|q| q.notify());
    }

    /// Applies one committed tx to every query reading a table it changed and queues one
    /// update per subscriber.
    fn process(&self, changes: Arc<ChangeSet>) {
        let tx = changes.tx_id;
        // Only databases that had a fan-out large enough to split have a helper.
        if let Some(helper) = self.fan_out_helper.lock().as_ref() {
            helper.wake();
        }
        let mut notify = Vec::new();
        let mut reg = self.registry.lock();
        if tx <= reg.position {
            return;
        }
        let mut touched: BTreeSet<u64> = BTreeSet::new();
        for t in changes
            .tables
            .iter()
            .map(|t| t.table_name())
            .chain(changes.schema_changes.iter().map(String::as_str))
        {
            if let Some(groups) = reg.by_table.get(t) {
                touched.extend(groups.iter().copied());
            }
        }
        let decoded = Decoded::new(&changes);
        let mut changed: Vec<(Arc<[Target]>, Arc<Delta>)> = Vec::new();
        let mut repeated_subscriber = false;
        let mut ended: Vec<(u64, &'static str, String)> = Vec::new();
        for gid in touched {
            let Some(group) = reg.groups.get_mut(&gid) else {
                continue;
            };
            if tx <= group.skip_through {
                continue;
            }
            if let Some(t) = group
                .tables
                .iter()
                .find(|t| changes.schema_changes.contains(t))
            {
                let e = SqlError::Engine(EngineError::SchemaChanged {
                    table: t.clone(),
                    changed_at: tx,
                });
                ended.push((gid, e.code(), e.to_string()));
                continue;
            }
            let delta = match group.view.apply(&decoded, &self.db) {
                Ok(d) => group.view.finish_delta(d),
                Err(e) => {
                    ended.push((gid, e.code(), e.to_string()));
                    continue;
                }
            };
            if delta.is_empty() {
                continue;
            }
            let (inserts, deletes) = split(&delta);
            let (targets, repeats) = group.targets();
            repeated_subscriber |= repeats;
            changed.push((targets, Arc::new(Delta { inserts, deletes })));
        }
        // Several queries changed, or one that a subscriber has subscribed to more than once:
        // each subscriber still gets one update for the tx, so its parts are gathered and
        // merged. (Otherwise the one query's targets are walked as they are.)
        let merged = (changed.len() > 1 || repeated_subscriber).then(|| {
            let mut deliveries: Vec<(SubscriberId, Arc<Queue>, Queued)> = Vec::new();
            for (targets, delta) in &changed {
                deliveries.extend(targets.iter().filter(|t| tx > t.from).map(|t| {
                    let part = (t.id, delta.clone());
                    (t.sid, t.queue.clone(), Queued::One { tx_id: tx, part })
                }));
            }
            merge_by_subscriber(deliveries)
        });
        for (gid, code, message) in ended {
            let members: Vec<(SubscriberId, u64)> = reg
                .groups
                .get(&gid)
                .map(|g| g.members.keys().copied().collect())
                .unwrap_or_default();
            reg.drop_group(gid);
            for (sid, id) in members {
                let event = SubscriberEvent::Ended {
                    id,
                    after_tx: tx - 1,
                    code,
                    message: message.clone(),
                };
                notify.extend(reg.notice(sid, event));
            }
        }
        reg.remember(changes.clone(), self.config.resume_txs_max);
        let delivering = self.delivering.lock();
        drop(reg);
        drop(decoded);
        notify.iter().for_each(|q| q.notify());
        // Outside the lock, so subscribe and unsubscribe never wait for the fan-out; the
        // fan-out of a tx ends before the next tx's begins, so updates arrive in tx order.
        match merged {
            Some(deliveries) => {
                for (sid, queue, event) in deliveries {
                    self.deliver(tx, sid, &queue, event);
                }
            }
            None => {
                if let Some((targets, delta)) = changed.first() {
                    self.fan_out(tx, targets, delta);
                }
            }
        }
        self.delivered_tx.store(tx, Ordering::Release);
        drop(delivering);
    }

    /// Queues one query's change for every subscription to it. Past [`PARALLEL_FAN_OUT_MIN`]
    /// subscriptions, the fan-out helper takes half: queueing is the whole cost per subscriber
    /// (tens of nanoseconds), so on two cores the last subscriber hears of the tx in about half
    /// the time. Subscribers whose queues were full are dropped as lagging afterwards.
    fn fan_out(&self, tx: TxId, targets: &Arc<[Target]>, delta: &Arc<Delta>) {
        let full = if targets.len() < PARALLEL_FAN_OUT_MIN || !*MANY_CORES {
            queue_all(tx, targets, delta)
        } else {
            let mut helper = self.fan_out_helper.lock();
            if helper.is_none() {
                *helper = FanOutHelper::start().ok();
                if let Some(id) = helper.as_ref().and_then(FanOutHelper::thread_id) {
                    let _ = self.helper_thread.set(id);
                }
            }
            match helper.as_ref() {
                Some(helper) => helper.queue_split(tx, targets, delta),
                // No thread to be had (the process is at its limit): this one does it all.
                None => queue_all(tx, targets, delta),
            }
        };
        for sid in full {
            self.lag(tx, sid);
        }
    }

    /// Queues `event` for one subscriber; a full queue drops the subscriber as lagging.
    fn deliver(&self, tx: TxId, sid: SubscriberId, queue: &Queue, event: Queued) {
        if !queue.deliver(event) {
            self.lag(tx, sid);
        }
    }

    /// Drops a subscriber whose queue was full for tx `tx` as lagging, and tells it so.
    fn lag(&self, tx: TxId, sid: SubscriberId) {
        let lagged = self.registry.lock().lag(sid, tx - 1);
        if let Some(q) = lagged {
            q.notify();
        }
    }

    /// Subscribes `(sid, id)`: the initial result (or, resuming, the missed updates) as of a
    /// tx the worker agrees on, so later updates follow with no gap and no repeat.
    pub(crate) fn subscribe(
        &self,
        sid: SubscriberId,
        caller: &Caller,
        request: (u64, &str, &[Value]),
        from_tx: Option<TxId>,
    ) -> Result<Subscribed> {
        let (id, sql, params) = request;
        self.check_room(sid, id)?;
        for _ in 0..self.config.subscribe_attempts_max.max(1) {
            let snapshot = match from_tx {
                Some(n) => self.db.as_of(n)?,
                None => self.db.snapshot()?,
            };
            let start = snapshot.tx_id();
            let (parsed, plan) = self.sql.plan_at(&self.db, sql, caller, &snapshot)?;
            if parsed.explain || parsed.as_of.is_some() {
                return Err(SqlError::UnsupportedSubscription(
                    "EXPLAIN and AS OF TX are not live; use from_tx to resume".into(),
                ));
            }
            let env = SubEnv {
                params: params.to_vec(),
                identity: caller.identity.map_or(Value::Null, Value::Identity),
            };
            let inc = analyze(&plan, &env)?;
            let key = GroupKey {
                sql: parsed.query.to_string(),
                params: format!("{params:?}"),
                identity: if inc.uses_identity {
                    caller.identity
                } else {
                    None
                },
                bypass_rls: caller.bypass_rls,
            };
            let query = Arc::new(Query {
                plan,
                inc,
                env,
                caller: caller.clone(),
            });
            let (mut view, rows) = View::build(
                query,
                &snapshot,
                self.sql.config(),
                self.config.state_rows_max,
            )?;
            drop(snapshot);
            if let Some(hook) = &self.config.before_install {
                (hook.0)();
            }
            let mut reg = self.registry.lock();
            self.check_room_locked(&reg, sid, id)?;
            let position = reg.position;
            let mut result = Multiset::from_rows(rows);
            let mut missed = Vec::new();
            let mut at = start;
            if start < position {
                if reg.ring_floor > start {
                    if from_tx.is_some() {
                        return Err(SqlError::Engine(EngineError::HistoryUnavailable {
                            requested: start,
                            oldest_available: reg.ring_floor,
                        }));
                    }
                    // Commits outran us past the change sets kept: start over.
                    continue;
                }
                let tables = view.query.tables();
                let schema_moved = reg.ring.iter().any(|c| {
                    c.tx_id > start && c.schema_changes.iter().any(|t| tables.contains(t))
                });
                if schema_moved {
                    if from_tx.is_some() {
                        return Err(SqlError::Engine(EngineError::SchemaChanged {
                            table: tables.join(", "),
                            changed_at: position,
                        }));
                    }
                    // Planned against a schema that has changed since: plan again.
                    continue;
                }
                for changes in reg.ring.iter().filter(|c| c.tx_id > start) {
                    let delta = view.apply(&Decoded::new(changes), &self.db)?;
                    if from_tx.is_some() {
                        let delta = view.finish_delta(delta);
                        if !delta.is_empty() {
                            let (inserts, deletes) = split(&delta);
                            missed.push(TxUpdate {
                                tx_id: changes.tx_id,
                                updates: vec![SubscriptionUpdate {
                                    id,
                                    inserts,
                                    deletes,
                                }],
                            });
                        }
                    } else {
                        result.apply(delta);
                    }
                }
                at = position;
                reg.catch_ups += 1;
            }
            let columns = view.query.columns().to_vec();
            let rows = if from_tx.is_some() {
                Vec::new()
            } else {
                view.finish_rows(result.into_rows())
            };
            reg.join(key, view, (sid, id), at);
            return Ok(Subscribed {
                tx_id: at,
                columns,
                rows,
                resumed: from_tx.is_some(),
                missed,
            });
        }
        Err(SqlError::LimitExceeded(format!(
            "commits outran the subscription {} times; retry, or raise resume_txs_max",
            self.config.subscribe_attempts_max.max(1)
        )))
    }

    fn check_room(&self, sid: SubscriberId, id: u64) -> Result<()> {
        let reg = self.registry.lock();
        self.check_room_locked(&reg, sid, id)
    }

    fn check_room_locked(&self, reg: &Registry, sid: SubscriberId, id: u64) -> Result<()> {
        let Some(entry) = reg.subscribers.get(&sid) else {
            return Err(SqlError::type_err("internal: subscriber not connected"));
        };
        if entry.subs.contains_key(&id) {
            return Err(SqlError::DuplicateSubscriptionId(id));
        }
        if entry.subs.len() >= self.config.subscriptions_per_subscriber_max {
            return Err(SqlError::LimitExceeded(format!(
                "a subscriber may hold at most {} subscriptions",
                self.config.subscriptions_per_subscriber_max
            )));
        }
        Ok(())
    }

    pub(crate) fn unsubscribe(&self, sid: SubscriberId, id: u64) -> bool {
        let mut reg = self.registry.lock();
        let Some(gid) = reg
            .subscribers
            .get_mut(&sid)
            .and_then(|e| e.subs.remove(&id))
        else {
            return false;
        };
        reg.leave(gid, (sid, id));
        drop(reg);
        // A fan-out computed before the removal may be queueing now: let it finish, so no
        // update mentioning `id` is queued after this returns (unless this is that fan-out,
        // calling back from a `notify`).
        let here = Some(std::thread::current().id());
        if self.worker_thread.get().copied() != here && self.helper_thread.get().copied() != here {
            drop(self.delivering.lock());
        }
        true
    }

    pub(crate) fn disconnect(&self, sid: SubscriberId) {
        let mut reg = self.registry.lock();
        reg.clear_subscriber(sid);
        reg.subscribers.remove(&sid);
    }
}

/// One update per subscriber: when several queries changed, a subscriber's parts (one per
/// subscription, each group's members sorted by subscriber) are merged into one event.
fn merge_by_subscriber(
    mut deliveries: Vec<(SubscriberId, Arc<Queue>, Queued)>,
) -> Vec<(SubscriberId, Arc<Queue>, Queued)> {
    deliveries.sort_by_key(|d| d.0);
    let mut out: Vec<(SubscriberId, Arc<Queue>, Queued)> = Vec::with_capacity(deliveries.len());
    for (sid, queue, event) in deliveries {
        let Queued::One { tx_id, part } = event else {
            out.push((sid, queue, event));
            continue;
        };
        match out.last_mut() {
            Some((last, _, merged)) if *last == sid => {
                *merged = match std::mem::replace(
                    merged,
                    Queued::Update {
                        tx_id,
                        parts: Vec::new(),
                    },
                ) {
                    Queued::One { part: first, .. } => Queued::Update {
                        tx_id,
                        parts: vec![first, part],
                    },
                    Queued::Update { mut parts, .. } => {
                        parts.push(part);
                        Queued::Update { tx_id, parts }
                    }
                    other => other,
                };
            }
            _ => out.push((sid, queue, Queued::One { tx_id, part })),
        }
    }
    out
}
