//! [`PendingCommit`]: a transaction that is logged but may not be durable yet.
//!
//! [`WriteTx::commit_pending`](crate::WriteTx::commit_pending) hands one back as soon as the
//! transaction's log record is appended and the writer lock released. Waiting for the fsync is
//! then the caller's choice of blocking ([`PendingCommit::wait`]) or awaiting
//! ([`PendingCommit::durable`]); an async server can so keep thousands of commits waiting for
//! their shared fsyncs without a thread each. Publication never depends on the waiter: the
//! database's log publishes every transaction its fsync covered (see `DbInner::into_shared`),
//! and a pending commit dropped unawaited asks the log to sync it.

use std::future::Future;
use std::sync::Arc;

use crate::change_set::ChangeSet;
use crate::config::Durability;
use crate::database::DbInner;
use crate::error::Result;
use crate::schema::TxId;
use crate::write_tx::CommitInfo;

/// A logged transaction waiting for the durability policy. See the module docs.
#[must_use = "a pending commit is acknowledged only once waited for"]
#[derive(Debug)]
pub struct PendingCommit {
    db: Arc<DbInner>,
    /// `None` for a transaction that changed nothing.
    tx: Option<TxId>,
    changes: Option<Arc<ChangeSet>>,
    /// Set once `wait` or `durable` took over.
    claimed: bool,
}

impl PendingCommit {
    /// A transaction that changed nothing: nothing to wait for.
    pub(crate) fn nothing(db: Arc<DbInner>) -> PendingCommit {
        PendingCommit {
            db,
            tx: None,
            changes: None,
            claimed: false,
        }
    }

    /// Transaction `tx`, appended to the log and queued for publication.
    pub(crate) fn logged(db: Arc<DbInner>, tx: TxId, changes: Arc<ChangeSet>) -> PendingCommit {
        if !waits_for_fsync(&db) {
            // Nothing to wait for: publish now, as a blocking commit always has.
            db.publish_through(tx);
        }
        PendingCommit {
            db,
            tx: Some(tx),
            changes: Some(changes),
            claimed: false,
        }
    }

    /// The transaction's id (`None` when it changed nothing).
    pub fn tx_id(&self) -> Option<TxId> {
        self.tx
    }

    /// Blocks until the transaction is durable under the policy and published.
    pub fn wait(mut self) -> Result<CommitInfo> {
        self.claimed = true;
        if let Some(tx) = self.tx {
            if let Some(wal) = &self.db.wal
                && let Err(e) = wal.wait_durable(tx)
            {
                return Err(self.db.poison(e.into()));
            }
            self.db.publish_through(tx);
        }
        Ok(self.info())
    }

    /// [`wait`](Self::wait) as a future: holds no thread while the fsync runs (the log's
    /// syncer thread leads it when no blocking committer does). Runtime-agnostic.
    pub fn durable(self) -> impl Future<Output = Result<CommitInfo>> + Send + 'static {
        let wait = match (self.tx, &self.db.wal) {
            (Some(tx), Some(wal)) => Some(wal.durable(tx)),
            _ => None,
        };
        async move {
            // Claimed only once the wait is over: a future dropped before then (a cancelled
            // request) leaves `Drop` to ask for the sync.
            let mut this = self;
            let waited = match wait {
                Some(wait) => wait.await,
                None => Ok(()),
            };
            this.claimed = true;
            if let Err(e) = waited {
                return Err(this.db.poison(e.into()));
            }
            if let Some(tx) = this.tx {
                this.db.publish_through(tx);
            }
            Ok(this.info())
        }
    }

    fn info(&self) -> CommitInfo {
        CommitInfo {
            tx_id: self.tx,
            changes: self.changes.clone(),
        }
    }
}

impl Drop for PendingCommit {
    fn drop(&mut self) {
        // Unawaited (a caller that went away): the log must still sync it, so that the
        // on-durable hook publishes it; nobody else may commit for a while.
        if !self.claimed
            && let (Some(tx), Some(wal)) = (self.tx, &self.db.wal)
            && waits_for_fsync(&self.db)
        {
            wal.request_sync(tx);
        }
    }
}

fn waits_for_fsync(db: &DbInner) -> bool {
    db.wal.is_some() && matches!(db.config.durability, Durability::Fsync)
}
