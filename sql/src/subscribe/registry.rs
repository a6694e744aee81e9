//! Who is subscribed to what: maintained queries (groups of identical subscriptions), the
//! subscribers and their queues, and the recent change sets. Guarded by one mutex, held by the
//! worker while it applies one transaction and by `subscribe` while it brings a new
//! subscription up to date — which is what makes the two agree on the tx a subscription
//! starts after.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use cosmictron_engine::{ChangeSet, TxId};
use cosmictron_types::Identity;

use super::queue::{Pushed, Queue, Queued};
use super::types::SubscriberEvent;
use super::view::View;

pub(crate) type GroupId = u64;
pub(crate) type SubscriberId = u64;

/// Subscriptions that are the same query: normalized SQL, parameters, and the identity and
/// RLS bypass when the query's result depends on them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    pub(crate) sql: String,
    pub(crate) params: String,
    pub(crate) identity: Option<Identity>,
    pub(crate) bypass_rls: bool,
}

/// One maintained query and the subscriptions that share it.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) key: GroupKey,
    pub(crate) tables: Vec<String>,
    pub(crate) view: View,
    /// The state already includes every tx up to this one.
    pub(crate) skip_through: TxId,
    /// (subscriber, subscription id) → where its result started and its subscriber's queue.
    pub(crate) members: BTreeMap<(SubscriberId, u64), Member>,
    /// `members` as a flat list for fan-out, built on first use after they change: a tx that
    /// changes the query walks it outside the registry's lock without copying it. With it,
    /// whether some subscriber has several subscriptions here (their parts of a tx must reach
    /// it as one update).
    targets: Option<(Arc<[Target]>, bool)>,
}

/// One subscription as fan-out reads it.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) sid: SubscriberId,
    pub(crate) id: u64,
    pub(crate) from: TxId,
    pub(crate) queue: Arc<Queue>,
}

impl Group {
    /// The members as fan-out targets (shared until the members change), in subscriber order,
    /// and whether a subscriber appears more than once.
    pub(crate) fn targets(&mut self) -> (Arc<[Target]>, bool) {
        let members = &self.members;
        let (targets, repeats) = self.targets.get_or_insert_with(|| {
            let targets: Arc<[Target]> = members
                .iter()
                .map(|(&(sid, id), m)| Target {
                    sid,
                    id,
                    from: m.from,
                    queue: m.queue.clone(),
                })
                .collect();
            // `members` is ordered by subscriber, so repeats are neighbours.
            let repeats = targets.windows(2).any(|w| w[0].sid == w[1].sid);
            (targets, repeats)
        });
        (targets.clone(), *repeats)
    }
}

/// One subscription of a group.
#[derive(Debug)]
pub(crate) struct Member {
    /// The subscription's result is as of this tx: only later txs are sent.
    pub(crate) from: TxId,
    /// The subscriber's queue, kept here so fan-out touches nothing else per subscription.
    pub(crate) queue: Arc<Queue>,
}

#[derive(Debug)]
pub(crate) struct SubscriberEntry {
    pub(crate) queue: Arc<Queue>,
    pub(crate) subs: HashMap<u64, GroupId>,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// The last tx the worker applied.
    pub(crate) position: TxId,
    /// The change sets after `ring_floor`, up to `position`, in order.
    pub(crate) ring: VecDeque<Arc<ChangeSet>>,
    pub(crate) ring_floor: TxId,
    pub(crate) groups: HashMap<GroupId, Group>,
    pub(crate) by_key: HashMap<GroupKey, GroupId>,
    pub(crate) by_table: HashMap<String, HashSet<GroupId>>,
    pub(crate) next_group: GroupId,
    pub(crate) subscribers: HashMap<SubscriberId, SubscriberEntry>,
    pub(crate) lagging_drops: u64,
    /// Subscribes that applied change sets committed while their initial result was read.
    pub(crate) catch_ups: u64,
}

impl Registry {
    /// Remembers a processed change set for late subscribers and resumes.
    pub(crate) fn remember(&mut self, changes: Arc<ChangeSet>, keep: usize) {
        self.position = changes.tx_id;
        self.ring.push_back(changes);
        while self.ring.len() > keep {
            if let Some(old) = self.ring.pop_front() {
                self.ring_floor = old.tx_id;
            }
        }
        if keep == 0 {
            self.ring_floor = self.position;
        }
    }

    /// Adds a subscription to the group of its query, installing `view` when it is the first.
    pub(crate) fn join(
        &mut self,
        key: GroupKey,
        view: View,
        member: (SubscriberId, u64),
        at: TxId,
    ) -> GroupId {
        let gid = match self.by_key.get(&key) {
            Some(&g) => g,
            None => {
                let g = self.next_group;
                self.next_group += 1;
                let tables = view.query.tables();
                for t in &tables {
                    self.by_table.entry(t.clone()).or_default().insert(g);
                }
                self.by_key.insert(key.clone(), g);
                self.groups.insert(
                    g,
                    Group {
                        key,
                        tables,
                        view,
                        skip_through: at,
                        members: BTreeMap::new(),
                        targets: None,
                    },
                );
                g
            }
        };
        let queue = self.subscribers.get(&member.0).map(|e| e.queue.clone());
        if let (Some(group), Some(queue)) = (self.groups.get_mut(&gid), queue) {
            group.members.insert(member, Member { from: at, queue });
            group.targets = None;
        }
        if let Some(entry) = self.subscribers.get_mut(&member.0) {
            entry.subs.insert(member.1, gid);
        }
        gid
    }

    /// Removes one subscription; the query's state goes with its last subscription.
    pub(crate) fn leave(&mut self, gid: GroupId, member: (SubscriberId, u64)) {
        let Some(group) = self.groups.get_mut(&gid) else {
            return;
        };
        group.members.remove(&member);
        group.targets = None;
        if group.members.is_empty() {
            self.drop_group(gid);
        }
    }

    pub(crate) fn drop_group(&mut self, gid: GroupId) {
        let Some(group) = self.groups.remove(&gid) else {
            return;
        };
        self.by_key.remove(&group.key);
        for t in &group.tables {
            if let Some(set) = self.by_table.get_mut(t) {
                set.remove(&gid);
                if set.is_empty() {
                    self.by_table.remove(t);
                }
            }
        }
        for (sid, id) in group.members.keys() {
            if let Some(entry) = self.subscribers.get_mut(sid) {
                entry.subs.remove(id);
            }
        }
    }

    /// Drops every subscription of a subscriber.
    pub(crate) fn clear_subscriber(&mut self, sid: SubscriberId) {
        let subs: Vec<(u64, GroupId)> = match self.subscribers.get_mut(&sid) {
            Some(entry) => entry.subs.drain().collect(),
            None => return,
        };
        for (id, gid) in subs {
            self.leave(gid, (sid, id));
        }
    }

    /// Queues a notice for a subscriber, past the queue's capacity (notices are few and
    /// must arrive). Returns the queue when it must be notified.
    pub(crate) fn notice(
        &mut self,
        sid: SubscriberId,
        event: SubscriberEvent,
    ) -> Option<Arc<Queue>> {
        let queue = self.subscribers.get(&sid)?.queue.clone();
        match queue.push(Queued::Notice(event), true) {
            Pushed::Queued(true) => Some(queue),
            _ => None,
        }
    }

    /// A subscriber's queue was full: every subscription of it is dropped and it is told
    /// that updates through `after_tx` were delivered.
    pub(crate) fn lag(&mut self, sid: SubscriberId, after_tx: TxId) -> Option<Arc<Queue>> {
        if !self.subscribers.contains_key(&sid) {
            return None;
        }
        self.clear_subscriber(sid);
        self.lagging_drops += 1;
        self.notice(
            sid,
            SubscriberEvent::Lagging {
                dropped_after_tx: after_tx,
            },
        )
    }
}
