//! [`Journal`]: the runner's reports on disk until the server has them, so that a runner
//! stopped while the server is away (a reboot during an outage) loses nothing.
//!
//! Each report (`append_log`, `record_snapshot`, `complete_run`, `fail_run`,
//! `report_rollback`) is appended as a JSON line `{"seq", "reducer", "args"}` before it is
//! sent, and `{"done": seq}` after the server answered (or refused it for good). When no
//! report is outstanding the file is emptied. At start, the reports without `done` are
//! read back and sent again, in order, before the runner looks at its runs — so a run
//! finished during the outage is completed, not taken for one left by a dead runner.
//!
//! Replaying is at least once: a report the server took just before a crash is sent twice
//! (a log batch appears twice; a second `complete_run` is refused and dropped).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::config::private_file;
use crate::error::{Error, Result};

/// A report waiting for the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) reducer: String,
    pub(crate) args: Json,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Record {
    Call(Entry),
    Done { done: u64 },
}

#[derive(Debug)]
struct Inner {
    file: File,
    next_seq: u64,
    outstanding: usize,
}

/// The journal file of one runner.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    inner: Mutex<Inner>,
}

impl Journal {
    /// Opens (or creates) the journal at `path`; returns it with the reports a previous
    /// runner left unsent, oldest first. Those stay outstanding until `done`.
    pub(crate) fn open(path: &Path) -> Result<(Journal, Vec<Entry>)> {
        let unsent = read_unsent(path)?;
        // Rewrite the file with only the unsent reports, numbered afresh. Agents' output
        // can hold secrets: the file is the owner's only, like the config.
        let mut file = private_file(path)?;
        let mut renumbered = Vec::with_capacity(unsent.len());
        for (i, mut entry) in unsent.into_iter().enumerate() {
            entry.seq = i as u64;
            write_line(&mut file, &Record::Call(entry.clone()))
                .map_err(|e| Error::io(format!("writing the journal {}", path.display()), e))?;
            renumbered.push(entry);
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io(format!("opening the journal {}", path.display()), e))?;
        let journal = Journal {
            path: path.to_owned(),
            inner: Mutex::new(Inner {
                file,
                next_seq: renumbered.len() as u64,
                outstanding: renumbered.len(),
            }),
        };
        Ok((journal, renumbered))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a report about to be sent; returns its number for `done`.
    pub(crate) fn record(&self, reducer: &str, args: &Json) -> u64 {
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.outstanding += 1;
        let entry = Record::Call(Entry {
            seq,
            reducer: reducer.to_owned(),
            args: args.clone(),
        });
        if let Err(e) = write_line(&mut inner.file, &entry) {
            // The report is still sent; only its survival of a crash is lost.
            tracing::warn!("journal {}: {e}", self.path.display());
        }
        seq
    }

    /// The server answered report `seq` (or refused it for good).
    pub(crate) fn done(&self, seq: u64) {
        let mut inner = self.lock();
        inner.outstanding = inner.outstanding.saturating_sub(1);
        let written = if inner.outstanding == 0 {
            // Nothing outstanding: start the file over instead of letting it grow.
            inner.file.set_len(0)
        } else {
            write_line(&mut inner.file, &Record::Done { done: seq })
        };
        if let Err(e) = written {
            tracing::warn!("journal {}: {e}", self.path.display());
        }
    }
}

fn write_line(file: &mut File, record: &Record) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    line.push(b'\n');
    // One write per line, in append mode: a crash leaves at most a torn last line.
    file.write_all(&line)
}

/// The reports of `path` without a `done`, in order. A torn last line is skipped.
fn read_unsent(path: &Path) -> Result<Vec<Entry>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::io(
                format!("reading the journal {}", path.display()),
                e,
            ));
        }
    };
    let mut calls: Vec<Entry> = Vec::new();
    let mut done = std::collections::HashSet::new();
    for line in BufReader::new(file).lines() {
        let line =
            line.map_err(|e| Error::io(format!("reading the journal {}", path.display()), e))?;
        match serde_json::from_str::<Record>(&line) {
            Ok(Record::Call(entry)) => calls.push(entry),
            Ok(Record::Done { done: seq }) => {
                done.insert(seq);
            }
            Err(_) => tracing::warn!("journal {}: skipping a torn line", path.display()),
        }
    }
    calls.retain(|c| !done.contains(&c.seq));
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unsent_reports_survive_a_reopen_in_order() {
        // Proves: reports without `done` come back in order after a reopen (a torn last
        // line is skipped), answered ones do not, and an empty journal is emptied on disk.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal.jsonl");
        let (journal, unsent) = Journal::open(&path).expect("open");
        assert!(unsent.is_empty());
        let a = journal.record("append_log", &json!({"run": 1}));
        let b = journal.record("complete_run", &json!({"run": 1}));
        let c = journal.record("fail_run", &json!({"run": 2}));
        journal.done(b);
        drop(journal);
        let mut f = OpenOptions::new().append(true).open(&path).expect("append");
        f.write_all(b"{\"seq\": 9, \"redu").expect("torn line");
        drop(f);

        let (journal, unsent) = Journal::open(&path).expect("reopen");
        let reducers: Vec<_> = unsent.iter().map(|e| e.reducer.as_str()).collect();
        assert_eq!(reducers, ["append_log", "fail_run"]);
        assert_ne!(a, c);
        for e in &unsent {
            journal.done(e.seq);
        }
        assert_eq!(std::fs::metadata(&path).expect("metadata").len(), 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (_, unsent) = Journal::open(&path).expect("reopen");
        assert!(unsent.is_empty());
    }
}
