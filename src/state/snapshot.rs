//! Local snapshots of a stateful query's state, so that a restart restores from disk plus the
//! changelog's tail instead of replaying the whole changelog.
//!
//! A snapshot is one file, `<data dir>/state/<query id>/<changelog offset>.snapshot`: every
//! live entry of the query's [`StateStore`] as of a checkpoint, with that checkpoint and the
//! changelog offset just past it. Restore loads the newest valid snapshot and replays the
//! changelog from that offset (see `state::restore`).
//!
//! A snapshot is only a cache of what the changelog holds: losing one, or finding one torn or
//! corrupt, costs a longer replay, never data. That is why writing one is cheap to get right:
//! the file is written as `<name>.tmp`, fsynced, renamed into place and the directory fsynced,
//! so a crash leaves either no new snapshot or a whole one; and on load every chunk's CRC and
//! the trailer are checked before any entry is applied, so a bad file is skipped as a whole.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! header   "RVSNAP01" | changelog offset i64 | checkpoint length u32 | checkpoint JSON | CRC u32
//! chunk    entry count u32 (> 0) | body length u32 | body | CRC u32 of the three before
//! trailer  0 u32 | total entries u64 | CRC u32 of the two before
//! entry    tag u8 | key length u32 | key | value length u32 | value
//! ```
//!
//! Both writing and loading stream one chunk at a time, so a snapshot of a million groups
//! holds a few megabytes at most, whatever the state's size.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::state::changelog::Checkpoint;
use crate::state::store::{Entry, StateStore};

const MAGIC: &[u8; 8] = b"RVSNAP01";
const SUFFIX: &str = ".snapshot";
/// Snapshots kept per query: the newest, and one before it in case the newest turns out bad.
const KEEP: usize = 2;
/// Entries per chunk, written and read at a time.
pub const CHUNK_ENTRIES: usize = 16_384;
/// A chunk body larger than this is corruption, not data (it bounds what a bad length field
/// can make us allocate).
const MAX_CHUNK_BYTES: u32 = 1 << 30;

/// What a snapshot file describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMeta {
    pub path: PathBuf,
    /// The changelog offset just past the checkpoint the snapshot reflects: replay starts here.
    pub changelog_offset: i64,
    pub checkpoint: Checkpoint,
    pub entries: u64,
}

/// The snapshot directory of one query.
#[derive(Debug, Clone)]
pub struct Snapshots {
    dir: PathBuf,
}

impl Snapshots {
    /// The snapshots of `query_id` under `data_dir` (nothing is created until one is written).
    pub fn new(data_dir: &Path, query_id: &str) -> Self {
        Self { dir: data_dir.join("state").join(query_id) }
    }

    /// The directory holding them.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a snapshot of `store` as of `checkpoint`, which the changelog holds up to (not
    /// including) `changelog_offset`; then removes all but the newest [`KEEP`] snapshots.
    pub fn write(
        &self,
        changelog_offset: i64,
        checkpoint: &Checkpoint,
        store: &dyn StateStore,
    ) -> Result<SnapshotMeta> {
        fs::create_dir_all(&self.dir).map_err(|e| io_error(e, "create", &self.dir))?;
        let path = self.dir.join(file_name(changelog_offset));
        let tmp = self.dir.join(format!("{}.tmp", file_name(changelog_offset)));
        let file = File::create(&tmp).map_err(|e| io_error(e, "create", &tmp))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let json = serde_json::to_vec(checkpoint)
            .map_err(|e| Error::internal(format!("cannot encode a snapshot's checkpoint: {e}")))?;
        let mut header = Vec::with_capacity(24 + json.len());
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&changelog_offset.to_le_bytes());
        header.extend_from_slice(&(json.len() as u32).to_le_bytes());
        header.extend_from_slice(&json);
        let crc = crc32fast::hash(&header);
        header.extend_from_slice(&crc.to_le_bytes());
        out.write_all(&header).map_err(|e| io_error(e, "write", &tmp))?;
        let mut total: u64 = 0;
        let mut chunk = Vec::new();
        store.scan(CHUNK_ENTRIES, &mut |entries| {
            chunk.clear();
            chunk.extend_from_slice(&(entries.len() as u32).to_le_bytes());
            chunk.extend_from_slice(&[0; 4]);
            for entry in entries {
                let value = entry.value.as_deref().unwrap_or_default();
                chunk.push(entry.tag);
                chunk.extend_from_slice(&(entry.key.len() as u32).to_le_bytes());
                chunk.extend_from_slice(&entry.key);
                chunk.extend_from_slice(&(value.len() as u32).to_le_bytes());
                chunk.extend_from_slice(value);
            }
            let body = (chunk.len() - 8) as u32;
            chunk[4..8].copy_from_slice(&body.to_le_bytes());
            let crc = crc32fast::hash(&chunk);
            chunk.extend_from_slice(&crc.to_le_bytes());
            total += entries.len() as u64;
            out.write_all(&chunk).map_err(|e| io_error(e, "write", &tmp))
        })?;
        let mut trailer = Vec::with_capacity(16);
        trailer.extend_from_slice(&0u32.to_le_bytes());
        trailer.extend_from_slice(&total.to_le_bytes());
        let crc = crc32fast::hash(&trailer);
        trailer.extend_from_slice(&crc.to_le_bytes());
        out.write_all(&trailer).map_err(|e| io_error(e, "write", &tmp))?;
        let file = out.into_inner().map_err(|e| io_error(e.into_error(), "write", &tmp))?;
        file.sync_all().map_err(|e| io_error(e, "sync", &tmp))?;
        drop(file);
        fs::rename(&tmp, &path).map_err(|e| io_error(e, "rename", &tmp))?;
        crate::topic::sync_dir(&self.dir)?;
        self.prune()?;
        Ok(SnapshotMeta { path, changelog_offset, checkpoint: checkpoint.clone(), entries: total })
    }

    /// The newest snapshot that is whole and reflects no more than a changelog ending at
    /// `changelog_end` holds (one from past the end belongs to a changelog that is gone).
    /// Each bad snapshot met on the way is logged and skipped.
    pub fn newest_valid(&self, changelog_end: i64) -> Result<Option<SnapshotMeta>> {
        for (offset, path) in self.list()?.into_iter().rev() {
            if offset > changelog_end {
                tracing::warn!(
                    path = %path.display(),
                    snapshot_offset = offset,
                    changelog_end,
                    "ignoring a state snapshot from beyond the end of its changelog"
                );
                continue;
            }
            match walk(&path, None) {
                Ok(meta) if meta.changelog_offset == offset => return Ok(Some(meta)),
                Ok(_) => {
                    tracing::warn!(path = %path.display(), "ignoring a state snapshot whose name and content disagree")
                }
                Err(reason) => {
                    tracing::warn!(path = %path.display(), reason, "ignoring a corrupt state snapshot");
                }
            }
        }
        Ok(None)
    }

    /// Applies the entries of a snapshot [`Snapshots::newest_valid`] returned to `store`, one
    /// chunk at a time. Returns how many entries it applied.
    pub fn load(&self, meta: &SnapshotMeta, store: &mut dyn StateStore) -> Result<u64> {
        let mut apply = |entries: Vec<Entry>| store.apply(entries);
        // Checked whole just before, so a failure now is an I/O error, not a bad file.
        walk(&meta.path, Some(&mut apply)).map(|m| m.entries).map_err(|reason| {
            Error::external(format!("cannot load the state snapshot {}: {reason}", meta.path.display()))
        })
    }

    /// Deletes every snapshot of the query (its state is gone, or is being rebuilt).
    pub fn remove_all(&self) -> Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(e, "remove", &self.dir)),
        }
    }

    /// Snapshot files by changelog offset, oldest first; leftover temporary files are removed.
    fn list(&self) -> Result<Vec<(i64, PathBuf)>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(e, "list", &self.dir)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(e, "list", &self.dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".tmp") {
                // A snapshot that did not reach its rename.
                let _ = fs::remove_file(entry.path());
            } else if let Some(offset) = name.strip_suffix(SUFFIX).and_then(|n| n.parse::<i64>().ok()) {
                out.push((offset, entry.path()));
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    fn prune(&self) -> Result<()> {
        let all = self.list()?;
        for (_, path) in &all[..all.len().saturating_sub(KEEP)] {
            fs::remove_file(path).map_err(|e| io_error(e, "remove", path))?;
        }
        Ok(())
    }
}

fn file_name(offset: i64) -> String {
    format!("{offset:020}{SUFFIX}")
}

fn io_error(e: std::io::Error, what: &str, path: &Path) -> Error {
    Error::external(format!("cannot {what} {}: {e}", path.display()))
}

/// Reads a snapshot file from start to end, checking every CRC and the trailer; with `apply`,
/// hands it each chunk's entries. Any problem is returned as a reason (the file is not used).
fn walk(
    path: &Path,
    mut apply: Option<&mut dyn FnMut(Vec<Entry>) -> Result<()>>,
) -> std::result::Result<SnapshotMeta, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut fixed = [0u8; 20];
    read(&mut input, &mut fixed)?;
    if &fixed[..8] != MAGIC {
        return Err("not a snapshot file (bad magic)".into());
    }
    let changelog_offset = i64::from_le_bytes(word(&fixed[8..16]));
    let json_len = u32::from_le_bytes(word(&fixed[16..20]));
    if json_len > MAX_CHUNK_BYTES {
        return Err("header too long".into());
    }
    let mut json = vec![0u8; json_len as usize + 4];
    read(&mut input, &mut json)?;
    let (json, crc) = json.split_at(json_len as usize);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&fixed);
    hasher.update(json);
    if hasher.finalize().to_le_bytes() != crc {
        return Err("header CRC mismatch".into());
    }
    let checkpoint: Checkpoint = serde_json::from_slice(json).map_err(|e| format!("unreadable checkpoint: {e}"))?;
    let mut total: u64 = 0;
    let mut body = Vec::new();
    loop {
        let mut head = [0u8; 4];
        read(&mut input, &mut head)?;
        let count = u32::from_le_bytes(head);
        if count == 0 {
            let mut rest = [0u8; 12];
            read(&mut input, &mut rest)?;
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&head);
            hasher.update(&rest[..8]);
            if hasher.finalize().to_le_bytes() != rest[8..12] {
                return Err("trailer CRC mismatch".into());
            }
            if u64::from_le_bytes(word(&rest[..8])) != total {
                return Err("trailer entry count mismatch".into());
            }
            let mut extra = [0u8; 1];
            if input.read(&mut extra).map_err(|e| format!("read failed: {e}"))? != 0 {
                return Err("bytes after the trailer".into());
            }
            return Ok(SnapshotMeta { path: path.to_path_buf(), changelog_offset, checkpoint, entries: total });
        }
        let mut len = [0u8; 4];
        read(&mut input, &mut len)?;
        let body_len = u32::from_le_bytes(len);
        if body_len > MAX_CHUNK_BYTES {
            return Err("chunk too long".into());
        }
        body.resize(body_len as usize + 4, 0);
        read(&mut input, &mut body)?;
        let (content, crc) = body.split_at(body_len as usize);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&head);
        hasher.update(&len);
        hasher.update(content);
        if hasher.finalize().to_le_bytes() != crc {
            return Err("chunk CRC mismatch".into());
        }
        total += u64::from(count);
        if let Some(apply) = apply.as_mut() {
            let entries = decode(content, count as usize).ok_or("chunk entries do not parse")?;
            apply(entries).map_err(|e| e.to_string())?;
        }
    }
}

fn read(input: &mut impl Read, buf: &mut [u8]) -> std::result::Result<(), String> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "truncated".to_string(),
        _ => format!("read failed: {e}"),
    })
}

/// A fixed-size array from a slice whose length the caller guarantees.
fn word<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

fn decode(body: &[u8], count: usize) -> Option<Vec<Entry>> {
    let mut entries = Vec::with_capacity(count);
    let mut rest = body;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    for _ in 0..count {
        let tag = take(1)?[0];
        let key_len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let key = take(key_len)?.to_vec();
        let value_len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let value = take(value_len)?.to_vec();
        entries.push(Entry { tag, key, value: Some(value) });
    }
    rest.is_empty().then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::store::MemoryStore;

    fn store(n: u32) -> MemoryStore {
        let mut store = MemoryStore::default();
        for i in 0..n {
            store.put(b'G', &i.to_be_bytes(), Some(format!("value {i}").into_bytes()));
        }
        store
    }

    fn checkpoint(seq: i64) -> Checkpoint {
        Checkpoint { positions: vec![(0, seq)], stream_time: 7, seq, ..Default::default() }
    }

    #[test]
    fn round_trips_through_many_chunks_and_keeps_the_newest_two() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = Snapshots::new(dir.path(), "CTAS_T_1");
        let original = store(40_000);
        for offset in [10, 20, 30] {
            snapshots.write(offset, &checkpoint(offset), &original).unwrap();
        }
        assert_eq!(snapshots.list().unwrap().iter().map(|(o, _)| *o).collect::<Vec<_>>(), vec![20, 30]);
        let meta = snapshots.newest_valid(100).unwrap().unwrap();
        assert_eq!((meta.changelog_offset, meta.entries, meta.checkpoint.seq), (30, 40_000, 30));
        let mut copy = MemoryStore::default();
        assert_eq!(snapshots.load(&meta, &mut copy).unwrap(), 40_000);
        assert_eq!(copy, original);
        // A snapshot past the changelog's end is not used; an older one is.
        assert_eq!(snapshots.newest_valid(25).unwrap().unwrap().changelog_offset, 20);
        assert!(snapshots.newest_valid(5).unwrap().is_none());
        snapshots.remove_all().unwrap();
        assert!(snapshots.newest_valid(100).unwrap().is_none());
    }

    #[test]
    fn a_corrupt_or_torn_snapshot_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = Snapshots::new(dir.path(), "Q");
        snapshots.write(1, &checkpoint(1), &store(100)).unwrap();
        let newest = snapshots.write(2, &checkpoint(2), &store(200)).unwrap();
        // A flipped byte in the middle of the newest: the older one is used.
        let mut bytes = fs::read(&newest.path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        fs::write(&newest.path, &bytes).unwrap();
        assert_eq!(snapshots.newest_valid(10).unwrap().unwrap().changelog_offset, 1);
        // Torn: cut short.
        let older = snapshots.dir().join(file_name(1));
        let len = fs::metadata(&older).unwrap().len();
        File::options().write(true).open(&older).unwrap().set_len(len - 3).unwrap();
        assert!(snapshots.newest_valid(10).unwrap().is_none());
        // A leftover temporary file is ignored and cleaned up.
        fs::write(snapshots.dir().join("00000000000000000009.snapshot.tmp"), b"half").unwrap();
        assert!(snapshots.newest_valid(10).unwrap().is_none());
        assert!(!snapshots.dir().join("00000000000000000009.snapshot.tmp").exists());
    }

    #[test]
    fn an_empty_store_snapshots_to_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = Snapshots::new(dir.path(), "Q");
        snapshots.write(3, &checkpoint(3), &MemoryStore::default()).unwrap();
        let meta = snapshots.newest_valid(3).unwrap().unwrap();
        assert_eq!(meta.entries, 0);
    }
}
