//! Snapshot files: the full state of a database as of one tx, written atomically, and the
//! retention that keeps the log bounded.
//!
//! ```text
//! offset  field
//! 0       magic "CTRNSNAP" (8 bytes)
//! 8       format version (u32 LE) = 1
//! 12      reserved (u32 LE) = 0
//! 16      tx id (u64 LE): the state right after this tx
//! 24      body:
//!           catalog JSON length (LEB128), catalog JSON (tables: id, definition, since_tx,
//!           next_auto_inc; next_table_id)
//!           per table, in catalog order: rows as (row id + 1) (LEB128), length (LEB128),
//!           row bytes; then 0 (LEB128) ends the table
//! end-12  CRC32 of bytes [0, end-12) (u32 LE)
//! end-8   magic "CTRNEND\0" (8 bytes)
//! ```
//!
//! Written as `snapshots/<tx:020>.snap.tmp`, fsynced, renamed to `.snap`, directory fsynced:
//! a snapshot file either is complete or does not exist under its final name.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cosmictron_types::{TableDef, get_varint, put_varint};
use serde::{Deserialize, Serialize};

use crate::database::DbInner;
use crate::error::{EngineError, Result};
use crate::schema::{TableId, TxId};
use crate::snapshot_read::Snapshot;
use crate::state::DbState;
use crate::table::RowId;

const MAGIC: &[u8; 8] = b"CTRNSNAP";
const END_MAGIC: &[u8; 8] = b"CTRNEND\0";
const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 24;
const TRAILER_LEN: usize = 12;

#[derive(Serialize, Deserialize)]
struct Catalog {
    next_table_id: TableId,
    tables: Vec<CatalogTable>,
}

#[derive(Serialize, Deserialize)]
struct CatalogTable {
    id: TableId,
    def: TableDef,
    since_tx: TxId,
    next_auto_inc: u64,
}

pub(crate) const SNAPSHOT_DIR: &str = "snapshots";
pub(crate) const WAL_DIR: &str = "wal";

fn file_name(tx: TxId) -> String {
    format!("{tx:020}.snap")
}

/// Snapshot files in `dir`, newest first.
pub(crate) fn list(dir: &Path) -> Result<Vec<(TxId, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(EngineError::io("read directory", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| EngineError::io("read directory", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(tx) = name
            .strip_suffix(".snap")
            .and_then(|s| s.parse::<TxId>().ok())
        {
            out.push((tx, entry.path()));
        } else if name.ends_with(".snap.tmp") {
            // Left by a crash mid-write: never valid.
            let _ = fs::remove_file(entry.path());
        }
    }
    out.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    Ok(out)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| EngineError::io("fsync directory", dir, e))
}

/// Takes a snapshot into the database's own directory and applies retention.
pub(crate) fn take_snapshot(db: &Arc<DbInner>) -> Result<TxId> {
    let Some(dir) = &db.dir else {
        return Ok(db.latest.load(Ordering::Acquire));
    };
    let _one_at_a_time = db.snapshot_lock.lock();
    let snapshots = dir.join(SNAPSHOT_DIR);
    let tx = write_snapshot(db, &snapshots)?;
    db.last_snapshot_tx.store(tx, Ordering::Release);
    apply_retention(db, &snapshots)?;
    Ok(tx)
}

/// Writes a snapshot file into `dir` and returns its tx.
fn write_snapshot(db: &Arc<DbInner>, dir: &Path) -> Result<TxId> {
    fs::create_dir_all(dir).map_err(|e| EngineError::io("create directory", dir, e))?;
    // Under the writer lock no transaction is in progress, so the catalog is exactly the state
    // after the last committed tx. The snapshot is registered before the lock is released:
    // otherwise a later tx could publish and the collector drop versions it ended, which this
    // snapshot still has to read.
    let (tx, catalog, snapshot) = {
        let writer = db.writer.lock();
        let tx = writer.next_tx - 1;
        let snapshot = Snapshot::open_internal(db.clone(), tx);
        let state = db.state.read();
        (tx, catalog_of(&state), snapshot)
    };
    if let Some(wal) = &db.wal {
        // The snapshot must not get ahead of the log it replaces: `tx` must be durable under
        // any policy (`wait_durable` returns at once under `Buffered`), or after a crash the
        // log would end before the snapshot and could not continue after it.
        wal.flush().map_err(|e| db.poison(e.into()))?;
    }
    let tmp = dir.join(format!("{}.tmp", file_name(tx)));
    let file = fs::File::create(&tmp).map_err(|e| EngineError::io("create", &tmp, e))?;
    let mut out = CrcWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
    };
    let io = |e: std::io::Error| EngineError::io("write", &tmp, e);
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&tx.to_le_bytes());
    debug_assert_eq!(header.len(), HEADER_LEN);
    out.write_all(&header).map_err(io)?;
    let json =
        serde_json::to_vec(&catalog).map_err(|e| EngineError::InvalidDefinition(e.to_string()))?;
    let mut buf = Vec::with_capacity(64);
    put_varint(&mut buf, json.len() as u64);
    out.write_all(&buf).map_err(io)?;
    out.write_all(&json).map_err(io)?;
    for table in &catalog.tables {
        snapshot.scan_with_ids(&table.def.name, |row, data| {
            buf.clear();
            put_varint(&mut buf, row + 1);
            put_varint(&mut buf, data.len() as u64);
            out.write_all(&buf).map_err(io)?;
            out.write_all(data).map_err(io)
        })?;
        out.write_all(&[0]).map_err(io)?;
    }
    let crc = out.crc.clone().finalize();
    let mut file = out.inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.write_all(&crc.to_le_bytes()).map_err(io)?;
    file.write_all(END_MAGIC).map_err(io)?;
    file.sync_all()
        .map_err(|e| EngineError::io("fsync", &tmp, e))?;
    let target = dir.join(file_name(tx));
    fs::rename(&tmp, &target).map_err(|e| EngineError::io("rename", &tmp, e))?;
    sync_dir(dir)?;
    Ok(tx)
}

fn catalog_of(state: &DbState) -> Catalog {
    Catalog {
        next_table_id: state.next_table_id,
        tables: state
            .tables
            .values()
            .map(|t| CatalogTable {
                id: t.schema.id,
                def: t.schema.def.clone(),
                since_tx: t.schema.since_tx,
                next_auto_inc: t.next_auto_inc,
            })
            .collect(),
    }
}

struct CrcWriter<W: Write> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Keeps the newest `retained` snapshots and removes WAL segments only older ones needed.
fn apply_retention(db: &DbInner, dir: &Path) -> Result<()> {
    let retained = db.config.snapshots.retained.max(1);
    let snapshots = list(dir)?;
    for (_, path) in snapshots.iter().skip(retained) {
        fs::remove_file(path).map_err(|e| EngineError::io("remove", path, e))?;
    }
    if snapshots.len() > retained {
        sync_dir(dir)?;
    }
    if let (Some(wal), Some((oldest_kept, _))) = (
        &db.wal,
        snapshots.get(retained.min(snapshots.len()).saturating_sub(1)),
    ) {
        wal.remove_before(oldest_kept + 1)?;
    }
    Ok(())
}

/// Online backup: a snapshot plus the WAL after it, copied while writes continue.
pub(crate) fn backup(db: &Arc<DbInner>, dest: &Path) -> Result<TxId> {
    let _one_at_a_time = db.snapshot_lock.lock();
    let tx = write_snapshot(db, &dest.join(SNAPSHOT_DIR))?;
    if let Some(wal) = &db.wal {
        let wal_dir = dest.join(WAL_DIR);
        fs::create_dir_all(&wal_dir)
            .map_err(|e| EngineError::io("create directory", &wal_dir, e))?;
        wal.copy_segments_to(tx + 1, &wal_dir)?;
        sync_dir(&wal_dir)?;
    }
    sync_dir(dest)?;
    Ok(tx)
}

/// A loaded snapshot: the state and counters as of its tx.
pub(crate) struct Loaded {
    pub(crate) tx: TxId,
    pub(crate) state: DbState,
    pub(crate) rows: u64,
}

/// Reads and checks a snapshot file, rebuilding the tables.
pub(crate) fn load(path: &Path) -> Result<Loaded> {
    let bytes = fs::read(path).map_err(|e| EngineError::io("read", path, e))?;
    let corrupt = |reason: String| EngineError::Corrupt {
        what: format!("snapshot {}", path.display()),
        reason,
    };
    if bytes.len() < HEADER_LEN + TRAILER_LEN || &bytes[..8] != MAGIC {
        return Err(corrupt("missing header".into()));
    }
    let end = bytes.len() - TRAILER_LEN;
    if &bytes[end + 4..] != END_MAGIC {
        return Err(corrupt("missing trailer (incomplete file)".into()));
    }
    let stored_crc = u32::from_le_bytes(
        bytes[end..end + 4]
            .try_into()
            .map_err(|_| corrupt("crc".into()))?,
    );
    if crc32fast::hash(&bytes[..end]) != stored_crc {
        return Err(corrupt("checksum mismatch".into()));
    }
    let version = u32::from_le_bytes(
        bytes[8..12]
            .try_into()
            .map_err(|_| corrupt("version".into()))?,
    );
    if version != FORMAT_VERSION {
        return Err(corrupt(format!("unknown format version {version}")));
    }
    let tx = u64::from_le_bytes(bytes[16..24].try_into().map_err(|_| corrupt("tx".into()))?);
    let body = &bytes[..end];
    let mut pos = HEADER_LEN;
    let json_len = varint_usize(body, &mut pos)?;
    let json = body
        .get(pos..pos + json_len)
        .ok_or_else(|| corrupt("catalog truncated".into()))?;
    pos += json_len;
    let catalog: Catalog =
        serde_json::from_slice(json).map_err(|e| corrupt(format!("catalog: {e}")))?;
    let mut state = DbState::new();
    // Tables are created in id order, so foreign key targets exist before their referrers.
    for table in &catalog.tables {
        state.create_table(table.id, table.def.clone(), table.since_tx)?;
    }
    state.next_table_id = catalog.next_table_id;
    let mut rows = 0;
    for entry in &catalog.tables {
        let table = state.table_mut(entry.id)?;
        table.next_auto_inc = entry.next_auto_inc;
        loop {
            let tag = get_varint(body, &mut pos)?;
            if tag == 0 {
                break;
            }
            let row: RowId = tag - 1;
            let len = varint_usize(body, &mut pos)?;
            let data = body
                .get(pos..pos + len)
                .ok_or_else(|| corrupt("row truncated".into()))?;
            pos += len;
            // Rows in a snapshot are current as of its tx; their original begin is not kept.
            table.insert_version(Some(row), data, tx)?;
            rows += 1;
        }
    }
    if pos != end {
        return Err(corrupt(format!(
            "{} unexpected bytes after the last table",
            end - pos
        )));
    }
    Ok(Loaded { tx, state, rows })
}

fn varint_usize(bytes: &[u8], pos: &mut usize) -> Result<usize> {
    let n = get_varint(bytes, pos)?;
    usize::try_from(n).map_err(|_| EngineError::Corrupt {
        what: "snapshot".into(),
        reason: "length out of range".into(),
    })
}
