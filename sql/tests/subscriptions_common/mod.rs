//! Shared helpers for the subscription tests: a client-side mirror of subscription results
//! and the check that it equals re-running the query at the same tx.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cosmictron_engine::{Database, TxId};
use cosmictron_sql::{
    Caller, SqlEngine, Subscribed, Subscriber, SubscriberEvent, Subscriptions, TxUpdate,
};
use cosmictron_types::Value;

/// What a client holds: each subscription's rows, moved forward by every update.
#[derive(Debug, Default)]
pub(crate) struct Mirror {
    pub(crate) rows: HashMap<u64, Vec<Vec<Value>>>,
    /// The tx each subscription's rows are as of.
    pub(crate) at: HashMap<u64, TxId>,
    pub(crate) updates: Vec<TxUpdate>,
    pub(crate) notices: Vec<SubscriberEvent>,
}

impl Mirror {
    pub(crate) fn subscribed(&mut self, id: u64, s: &Subscribed) {
        self.rows.insert(id, s.rows.clone());
        self.at.insert(id, s.tx_id);
    }

    /// Applies one event; panics on an update that breaks the ordering contract.
    pub(crate) fn apply(&mut self, event: SubscriberEvent) {
        match event {
            SubscriberEvent::Update(u) => {
                if let Some(last) = self.updates.last() {
                    assert!(
                        u.tx_id > last.tx_id,
                        "updates out of order: {} after {}",
                        u.tx_id,
                        last.tx_id
                    );
                }
                for s in &u.updates {
                    let Some(rows) = self.rows.get_mut(&s.id) else {
                        panic!("update for unknown subscription {}", s.id);
                    };
                    let at = self.at.get(&s.id).copied().unwrap_or(0);
                    assert!(
                        u.tx_id > at,
                        "update for tx {} but the result is as of {at}",
                        u.tx_id
                    );
                    for d in &s.deletes {
                        let pos = rows.iter().position(|r| r == d).unwrap_or_else(|| {
                            panic!("delete of a row not held: {d:?} in {rows:?}")
                        });
                        rows.swap_remove(pos);
                    }
                    rows.extend(s.inserts.iter().cloned());
                    self.at.insert(s.id, u.tx_id);
                }
                self.updates.push(u);
            }
            other => self.notices.push(other),
        }
    }

    /// Applies every event queued up to the manager having processed `tx`.
    pub(crate) fn sync(&mut self, subs: &Arc<Subscriptions>, sub: &Subscriber, tx: TxId) {
        wait_processed(subs, tx);
        while let Some(e) = sub.try_recv() {
            self.apply(e);
        }
    }
}

pub(crate) fn wait_processed(subs: &Arc<Subscriptions>, tx: TxId) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while subs.stats().processed_tx < tx {
        assert!(
            Instant::now() < deadline,
            "the manager never reached tx {tx}"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

pub(crate) fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_key(|r| format!("{r:?}"));
    rows
}

/// The query's result at `tx`, run from scratch.
pub(crate) fn rerun(
    sql: &SqlEngine,
    db: &Database,
    q: &str,
    params: &[Value],
    caller: &Caller,
    tx: TxId,
) -> Vec<Vec<Value>> {
    let text = format!("{q} AS OF TX {tx}");
    match sql.query(db, &text, params, caller) {
        Ok(r) => r.rows,
        Err(e) => panic!("query failed: {text}: [{}] {e}", e.code()),
    }
}

pub(crate) fn noop() -> Arc<dyn Fn() + Send + Sync> {
    Arc::new(|| {})
}
