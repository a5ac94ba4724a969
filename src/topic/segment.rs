//! A segment: a contiguous run of one partition's records, held in memory or in one file.
//!
//! A partition is a list of segments; only the last (active) one is appended to. Splitting the
//! log this way is what makes cleanup cheap: retention deletes whole files, and compaction
//! rewrites closed files without touching the one being written.
//!
//! A file segment is `<base offset>.log`, a sequence of [`frame`]s. Appends go to a user-space
//! buffer that is written out when it fills, when a read needs the bytes, or on flush; `fsync`
//! only happens in [`Segment::sync`] so producing never waits for the disk. A sparse in-memory
//! index (one entry per [`INDEX_INTERVAL`] bytes) maps offsets to file positions so a read
//! starts near its offset instead of scanning from the start.
//!
//! Once a segment is closed and synced its index is also saved as `<base offset>.index`, with
//! the segment's size and a CRC. On open a closed segment whose index matches is trusted as is;
//! any other segment, and always the active one, is scanned frame by frame, and a torn or
//! corrupt tail (a crash mid-write) is truncated away.
//!
//! A memory segment (the conformance runner creates thousands of engines and must not touch
//! the disk; `rivulet bench` keeps its topics in memory) is a list of [`Chunk`]s: records
//! appended one at a time are kept as [`Record`]s, and a [`ProducerBatch`] is kept as it was
//! produced, its bytes in the producer's buffers and a few bytes of bookkeeping per record.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::topic::frame::{self, FRAME_HEADER, FrameHeader};
use crate::topic::{Bytes, PackedBytes, ProducerBatch, Record};

/// Bytes between two entries of the sparse offset index: a read decodes at most this much
/// before reaching its start offset.
pub(crate) const INDEX_INTERVAL: u64 = 4096;

/// Appends are buffered up to this many bytes before a `write` system call.
const WRITE_BUFFER: usize = 256 * 1024;

/// Bytes read from a segment file at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Identifies an index file of this format.
const INDEX_MAGIC: &[u8; 4] = b"RVX1";

/// The file name of the segment starting at `base`; zero-padded so names sort by offset.
pub(crate) fn log_file_name(base: i64) -> String {
    format!("{base:020}.log")
}

/// The base offset encoded in a segment file name, `None` for other files.
pub(crate) fn parse_log_file_name(name: &str) -> Option<i64> {
    name.strip_suffix(".log")?.parse().ok()
}

/// A position in the sparse offset index: the frame of `offset` starts at byte `pos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IndexEntry {
    offset: i64,
    pos: u64,
}

/// One segment of a partition.
pub(crate) struct Segment {
    /// The first offset this segment may hold (records may start later after compaction).
    base_offset: i64,
    /// The offset of the last record, `None` while empty.
    last_offset: Option<i64>,
    /// The newest record timestamp, `i64::MIN` while empty; retention compares against it.
    max_timestamp: i64,
    store: Store,
}

enum Store {
    Memory {
        /// In offset order; never an empty chunk.
        chunks: Vec<Chunk>,
        /// Encoded size of the records, so memory segments roll like file ones.
        bytes: u64,
    },
    File(FileStore),
}

/// Records of a memory segment, in offset order.
enum Chunk {
    /// Records appended one at a time.
    Records(Vec<Record>),
    /// A batch kept as it was produced.
    Packed(PackedRun),
}

/// A produced batch in a memory segment.
struct PackedRun {
    /// The offset of the first record.
    base: i64,
    /// Each record's offset when they are not `base, base + 1, ...` (compaction leaves gaps);
    /// empty otherwise.
    offsets: Vec<i64>,
    /// The records (its `partition` is unused: the segment's partition is the records').
    batch: ProducerBatch,
}

impl PackedRun {
    fn len(&self) -> usize {
        self.batch.len()
    }

    #[inline]
    fn offset(&self, i: usize) -> i64 {
        if self.offsets.is_empty() { self.base + i as i64 } else { self.offsets[i] }
    }

    /// The index of the first record with an offset of at least `from`.
    fn position(&self, from: i64) -> usize {
        if self.offsets.is_empty() {
            usize::try_from(from.saturating_sub(self.base)).map_or(0, |i| i.min(self.len()))
        } else {
            self.offsets.partition_point(|&o| o < from)
        }
    }

    #[inline]
    fn record(&self, i: usize, partition: i32) -> Record {
        let batch = &self.batch;
        Record {
            partition,
            offset: self.offset(i),
            timestamp: batch.timestamps[i],
            key: batch.keys.as_ref().and_then(|k| k.bytes(i)),
            value: batch.values.bytes(i),
            headers: batch.headers.get(i).cloned().unwrap_or_default(),
        }
    }

    /// The encoded size of record `i`.
    fn frame_len(&self, i: usize) -> u64 {
        batch_frame_len(&self.batch, i) as u64
    }

    /// The records at `indices` with their offsets, their bytes copied into buffers of their
    /// own so that the removed records' bytes can go.
    fn retained(&self, indices: &[usize]) -> Result<Self> {
        let picked = self.batch.select(indices);
        let batch = ProducerBatch {
            keys: picked.keys.as_ref().map(|k| PackedBytes::copied(k.iter())),
            values: PackedBytes::copied(picked.values.iter()),
            ..picked
        };
        let offsets = indices.iter().map(|&i| self.offset(i)).collect();
        Ok(Self { base: indices.first().map_or(self.base, |&i| self.offset(i)), offsets, batch })
    }
}

impl Chunk {
    fn len(&self) -> usize {
        match self {
            Chunk::Records(records) => records.len(),
            Chunk::Packed(run) => run.len(),
        }
    }

    /// The offset of the last record (chunks are never empty).
    fn last_offset(&self) -> i64 {
        match self {
            Chunk::Records(records) => records.last().map_or(i64::MIN, |r| r.offset),
            Chunk::Packed(run) => run.len().checked_sub(1).map_or(i64::MIN, |i| run.offset(i)),
        }
    }

    /// Appends to `out` the records with offset `>= from` until `out` holds `max` records.
    fn read(&self, from: i64, max: usize, partition: i32, out: &mut Vec<Record>) {
        let take = max.saturating_sub(out.len());
        match self {
            Chunk::Records(records) => {
                let start = records.partition_point(|r| r.offset < from);
                out.extend(records[start..].iter().take(take).cloned());
            }
            Chunk::Packed(run) => {
                let start = run.position(from);
                let end = run.len().min(start.saturating_add(take));
                out.extend((start..end).map(|i| run.record(i, partition)));
            }
        }
    }
}

/// The encoded size of record `i` of `batch`.
#[inline]
pub(crate) fn batch_frame_len(batch: &ProducerBatch, i: usize) -> usize {
    frame::frame_len_of(
        batch.keys.as_ref().and_then(|k| k.entry_len(i)),
        batch.values.entry_len(i),
        batch.headers_of(i),
    )
}

struct FileStore {
    path: PathBuf,
    /// Opened for reading and appending: appends always land at the end whatever position a
    /// read seeked to, so one handle serves both.
    file: File,
    /// Bytes already handed to the OS.
    file_len: u64,
    /// Encoded frames not yet written to the file.
    pending: Vec<u8>,
    index: Vec<IndexEntry>,
    /// Position of the last index entry, to space entries [`INDEX_INTERVAL`] apart.
    last_indexed_pos: u64,
    /// Whether everything appended has been fsynced.
    synced: bool,
    /// Whether the segment is closed (no more appends), so its index may be saved.
    closed: bool,
    /// Whether a valid `.index` file describes the current content.
    index_saved: bool,
    /// Where the previous read stopped: (next offset, its position). Sequential consumers hit
    /// it every time and skip the index lookup and the frames before their offset.
    hint: Option<IndexEntry>,
}

impl Segment {
    /// An empty in-memory segment starting at `base_offset`.
    pub(crate) fn memory(base_offset: i64) -> Self {
        Self {
            base_offset,
            last_offset: None,
            max_timestamp: i64::MIN,
            store: Store::Memory { chunks: Vec::new(), bytes: 0 },
        }
    }

    /// Creates an empty segment file in `dir` starting at `base_offset`.
    pub(crate) fn create_file(dir: &Path, base_offset: i64) -> Result<Self> {
        let path = dir.join(log_file_name(base_offset));
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_error(e, "create", &path))?;
        // A leftover file with this name (possible only after a crash) holds nothing we can
        // still account for: start it empty.
        file.set_len(0).map_err(|e| io_error(e, "truncate", &path))?;
        Ok(Self::from_file(base_offset, path, file))
    }

    fn from_file(base_offset: i64, path: PathBuf, file: File) -> Self {
        Self {
            base_offset,
            last_offset: None,
            max_timestamp: i64::MIN,
            store: Store::File(FileStore {
                path,
                file,
                file_len: 0,
                pending: Vec::new(),
                index: Vec::new(),
                last_indexed_pos: 0,
                synced: true,
                closed: false,
                index_saved: false,
                hint: None,
            }),
        }
    }

    /// Opens an existing segment file. A `closed` segment is trusted when its saved index
    /// matches; otherwise the file is scanned and a torn or corrupt tail is truncated away.
    pub(crate) fn open_file(path: PathBuf, base_offset: i64, closed: bool, scratch: &mut Vec<u8>) -> Result<Self> {
        let file = OpenOptions::new().read(true).append(true).open(&path).map_err(|e| io_error(e, "open", &path))?;
        let mut segment = Self::from_file(base_offset, path, file);
        if closed && segment.load_index()? {
            return Ok(segment);
        }
        segment.recover(scratch)?;
        if let Store::File(store) = &mut segment.store {
            store.closed = closed;
        }
        Ok(segment)
    }

    /// The first offset this segment may hold.
    pub(crate) fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// The newest timestamp in the segment, `i64::MIN` when empty.
    pub(crate) fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The offset of the last record, `None` when empty.
    pub(crate) fn last_offset(&self) -> Option<i64> {
        self.last_offset
    }

    /// Whether the segment holds no record.
    pub(crate) fn is_empty(&self) -> bool {
        self.last_offset.is_none()
    }

    /// The encoded size of the segment in bytes.
    pub(crate) fn size(&self) -> u64 {
        match &self.store {
            Store::Memory { bytes, .. } => *bytes,
            Store::File(store) => store.file_len + store.pending.len() as u64,
        }
    }

    /// Appends a record whose offset is above every offset in the segment.
    ///
    /// On error the record is not appended (earlier buffered records stay buffered).
    pub(crate) fn append(&mut self, record: Record) -> Result<()> {
        let (offset, timestamp) = (record.offset, record.timestamp);
        let len = frame::frame_len(&record);
        // Recovery treats a longer frame as corruption, so it must never be written. Memory
        // segments enforce it too, so both flavours accept the same records.
        if len - FRAME_HEADER > frame::MAX_BODY {
            return Err(Error::user(format!(
                "record of {len} bytes is larger than the embedded log's limit of {} bytes",
                frame::MAX_BODY
            )));
        }
        match &mut self.store {
            Store::Memory { chunks, bytes } => {
                *bytes += len as u64;
                match chunks.last_mut() {
                    Some(Chunk::Records(records)) => records.push(record),
                    _ => chunks.push(Chunk::Records(vec![record])),
                }
            }
            Store::File(store) => {
                // Write the buffer out before encoding so that a failed write leaves this
                // record unappended rather than half-accounted.
                if store.pending.len() >= WRITE_BUFFER {
                    store.write_pending()?;
                }
                let pos = store.file_len + store.pending.len() as u64;
                if store.index.is_empty() || pos - store.last_indexed_pos >= INDEX_INTERVAL {
                    store.index.push(IndexEntry { offset, pos });
                    store.last_indexed_pos = pos;
                }
                frame::encode(&record, &mut store.pending);
                store.synced = false;
            }
        }
        self.last_offset = Some(offset);
        self.max_timestamp = self.max_timestamp.max(timestamp);
        Ok(())
    }

    /// Appends a batch whose first record gets `first_offset` (above every offset in the
    /// segment) and the others the offsets after it. A memory segment keeps the batch as it
    /// is; a file segment writes a frame per record. The caller has checked the records'
    /// sizes against the frame limit.
    ///
    /// On error nothing is appended, unless a file segment's write failed part-way (earlier
    /// records of the batch stay buffered, as separate appends would).
    pub(crate) fn append_batch(&mut self, first_offset: i64, batch: ProducerBatch) -> Result<()> {
        let n = batch.len();
        if n == 0 {
            return Ok(());
        }
        if let Store::Memory { chunks, bytes } = &mut self.store {
            *bytes += (0..n).map(|i| batch_frame_len(&batch, i) as u64).sum::<u64>();
            let max_timestamp = batch.timestamps.iter().copied().max().unwrap_or(i64::MIN);
            chunks.push(Chunk::Packed(PackedRun { base: first_offset, offsets: Vec::new(), batch }));
            self.last_offset = Some(first_offset + n as i64 - 1);
            self.max_timestamp = self.max_timestamp.max(max_timestamp);
            return Ok(());
        }
        let run = PackedRun { base: first_offset, offsets: Vec::new(), batch };
        for i in 0..n {
            // The partition of a record is not part of its frame.
            self.append(run.record(i, 0))?;
        }
        Ok(())
    }

    /// Appends to `out` the records with offset `>= from` until `out` holds `max` records.
    pub(crate) fn read(
        &mut self,
        from: i64,
        max: usize,
        partition: i32,
        out: &mut Vec<Record>,
        scratch: &mut Vec<u8>,
    ) -> Result<()> {
        match &mut self.store {
            Store::Memory { chunks, .. } => {
                let first = chunks.partition_point(|c| c.last_offset() < from);
                for chunk in &chunks[first..] {
                    if out.len() >= max {
                        break;
                    }
                    chunk.read(from, max, partition, out);
                }
                Ok(())
            }
            Store::File(store) => store.read(from, max, partition, out, scratch),
        }
    }

    /// Calls `visit` with every record in offset order until it returns `false` (compaction
    /// builds its key map so).
    pub(crate) fn for_each(
        &mut self,
        partition: i32,
        scratch: &mut Vec<u8>,
        mut visit: impl FnMut(&Record) -> bool,
    ) -> Result<()> {
        match &mut self.store {
            Store::Memory { chunks, .. } => {
                for chunk in chunks.iter() {
                    let more = match chunk {
                        Chunk::Records(records) => records.iter().all(&mut visit),
                        Chunk::Packed(run) => (0..run.len()).all(|i| visit(&run.record(i, partition))),
                    };
                    if !more {
                        break;
                    }
                }
                Ok(())
            }
            Store::File(store) => {
                store.write_pending()?;
                let FileStore { file, file_len, path, .. } = store;
                let mut cursor = FrameCursor::new(file, scratch, 0, *file_len);
                loop {
                    match cursor.next()? {
                        Step::End => return Ok(()),
                        Step::Bad { pos, reason } => return Err(corrupt_error(path, pos, reason)),
                        Step::Frame { body, .. } => {
                            if !visit(&frame::decode(cursor.body(body), partition)?) {
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
    }

    /// Keeps only the records for which `keep` is true, preserving their offsets. Used by
    /// compaction on closed segments: a file segment is rewritten to `<name>.cleaned`, synced
    /// and renamed over the original, so a crash leaves either the old or the new file.
    /// Returns whether anything was removed.
    pub(crate) fn retain(
        &mut self,
        partition: i32,
        scratch: &mut Vec<u8>,
        mut keep: impl FnMut(&Record) -> bool,
    ) -> Result<bool> {
        let (removed, last_offset, max_timestamp) = match &mut self.store {
            Store::Memory { chunks, bytes } => {
                let before: usize = chunks.iter().map(Chunk::len).sum();
                // The survivors of each packed run (`None`: all of them).
                let mut kept_runs: Vec<Option<Vec<usize>>> = Vec::with_capacity(chunks.len());
                for chunk in chunks.iter_mut() {
                    match chunk {
                        Chunk::Records(records) => {
                            records.retain(|r| keep(r));
                            kept_runs.push(None);
                        }
                        Chunk::Packed(run) => {
                            let kept: Vec<usize> =
                                (0..run.len()).filter(|&i| keep(&run.record(i, partition))).collect();
                            kept_runs.push(Some(kept));
                        }
                    }
                }
                let after: usize = chunks
                    .iter()
                    .zip(&kept_runs)
                    .map(|(chunk, kept)| kept.as_ref().map_or_else(|| chunk.len(), Vec::len))
                    .sum();
                if after == before {
                    return Ok(false);
                }
                // A record's bytes may slice a buffer shared with the records of its batch:
                // the survivors get their own copies, so the buffers of the removed ones go.
                let mut rebuilt = Vec::with_capacity(chunks.len());
                for (chunk, kept) in std::mem::take(chunks).into_iter().zip(kept_runs) {
                    match (chunk, kept) {
                        (Chunk::Records(mut records), _) => {
                            for record in records.iter_mut() {
                                record.key = record.key.as_deref().map(Bytes::copy_from_slice);
                                record.value = record.value.as_deref().map(Bytes::copy_from_slice);
                            }
                            rebuilt.push(Chunk::Records(records));
                        }
                        (Chunk::Packed(run), kept) => {
                            let all: Vec<usize>;
                            let kept = match &kept {
                                Some(kept) => kept,
                                None => {
                                    all = (0..run.len()).collect();
                                    &all
                                }
                            };
                            rebuilt.push(Chunk::Packed(run.retained(kept)?));
                        }
                    }
                }
                rebuilt.retain(|c| c.len() > 0);
                *chunks = rebuilt;
                let mut size = 0u64;
                let mut max_ts = i64::MIN;
                for chunk in chunks.iter() {
                    match chunk {
                        Chunk::Records(records) => {
                            size += records.iter().map(|r| frame::frame_len(r) as u64).sum::<u64>();
                            max_ts = records.iter().map(|r| r.timestamp).fold(max_ts, i64::max);
                        }
                        Chunk::Packed(run) => {
                            size += (0..run.len()).map(|i| run.frame_len(i)).sum::<u64>();
                            max_ts = run.batch.timestamps.iter().copied().fold(max_ts, i64::max);
                        }
                    }
                }
                *bytes = size;
                (true, chunks.last().map(Chunk::last_offset), max_ts)
            }
            Store::File(store) => match store.rewrite(partition, scratch, keep)? {
                None => return Ok(false),
                Some((last, max_ts)) => (true, last, max_ts),
            },
        };
        self.last_offset = last_offset;
        self.max_timestamp = max_timestamp;
        Ok(removed)
    }

    /// Marks the segment closed: no more appends. Its buffered bytes are handed to the OS now
    /// so that the buffer's memory is not kept for every closed segment.
    pub(crate) fn close(&mut self) -> Result<()> {
        if let Store::File(store) = &mut self.store {
            store.write_pending()?;
            store.pending = Vec::new();
            store.closed = true;
        }
        Ok(())
    }

    /// Whether [`Segment::sync`] has work to do.
    pub(crate) fn needs_sync(&self) -> bool {
        match &self.store {
            Store::Memory { .. } => false,
            Store::File(store) => !store.synced || !store.pending.is_empty() || (store.closed && !store.index_saved),
        }
    }

    /// The first half of a sync that does not hold the partition's lock during the fsync:
    /// writes buffered bytes and, when the file has unsynced data and the segment is still
    /// open, hands out a second handle to fsync after the lock is released, counting the data
    /// as synced (an append meanwhile marks it unsynced again; [`Segment::unsynced`] undoes
    /// this if that fsync fails). Closed segments sync here, as [`Segment::sync`] does, since
    /// their index may only be saved after their data is durable.
    pub(crate) fn begin_sync(&mut self) -> Result<Option<(File, PathBuf)>> {
        let open = matches!(&self.store, Store::File(store) if !store.closed);
        if !open {
            self.sync()?;
            return Ok(None);
        }
        let Store::File(store) = &mut self.store else { return Ok(None) };
        store.write_pending()?;
        if store.synced {
            return Ok(None);
        }
        let handle = store.file.try_clone().map_err(|e| io_error(e, "open a sync handle for", &store.path))?;
        store.synced = true;
        Ok(Some((handle, store.path.clone())))
    }

    /// Marks the segment's data as not durable (a deferred fsync failed).
    pub(crate) fn unsynced(&mut self) {
        if let Store::File(store) = &mut self.store {
            store.synced = false;
        }
    }

    /// The segment's file, if it has one.
    pub(crate) fn path(&self) -> Option<&Path> {
        match &self.store {
            Store::File(store) => Some(&store.path),
            Store::Memory { .. } => None,
        }
    }

    /// Writes buffered bytes, fsyncs them and, for a closed segment, saves its index (only
    /// after the data is durable, so a saved index always describes durable bytes).
    pub(crate) fn sync(&mut self) -> Result<()> {
        let max_timestamp = self.max_timestamp;
        let last_offset = self.last_offset;
        if let Store::File(store) = &mut self.store {
            store.write_pending()?;
            if !store.synced {
                store.file.sync_data().map_err(|e| io_error(e, "sync", &store.path))?;
                store.synced = true;
            }
            if store.closed && !store.index_saved {
                store.save_index(last_offset, max_timestamp)?;
            }
        }
        Ok(())
    }

    /// Deletes the segment's files (nothing for a memory segment).
    pub(crate) fn remove_files(&self) -> Result<()> {
        if let Store::File(store) = &self.store {
            remove_if_exists(&store.path)?;
            remove_if_exists(&index_path(&store.path))?;
        }
        Ok(())
    }

    /// Tries the saved index of a closed segment; `false` means it must be scanned.
    fn load_index(&mut self) -> Result<bool> {
        let Store::File(store) = &mut self.store else {
            return Ok(false);
        };
        let actual_len = store.file.metadata().map_err(|e| io_error(e, "stat", &store.path))?.len();
        let bytes = match fs::read(index_path(&store.path)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_error(e, "read the index of", &store.path)),
        };
        let Some(saved) = SavedIndex::parse(&bytes) else {
            return Ok(false);
        };
        if saved.file_len != actual_len {
            return Ok(false);
        }
        store.file_len = saved.file_len;
        store.last_indexed_pos = saved.index.last().map_or(0, |e| e.pos);
        store.index = saved.index;
        store.closed = true;
        store.index_saved = true;
        self.last_offset = saved.last_offset;
        self.max_timestamp = saved.max_timestamp;
        Ok(true)
    }

    /// Scans the whole file, rebuilding the index and truncating at the first frame that is
    /// torn, fails its CRC or goes backwards in offsets.
    fn recover(&mut self, scratch: &mut Vec<u8>) -> Result<()> {
        let base_offset = self.base_offset;
        let Store::File(store) = &mut self.store else {
            return Ok(());
        };
        let actual_len = store.file.metadata().map_err(|e| io_error(e, "stat", &store.path))?.len();
        let mut last_offset: Option<i64> = None;
        let mut max_timestamp = i64::MIN;
        let mut index = Vec::new();
        let mut last_indexed_pos = 0;
        let mut cursor = FrameCursor::new(&mut store.file, scratch, 0, actual_len);
        let (valid_len, problem) = loop {
            match cursor.next()? {
                Step::End => break (actual_len, None),
                Step::Bad { pos, reason } => break (pos, Some(reason)),
                Step::Frame { pos, body } => {
                    let (offset, timestamp) = match frame::body_offset_timestamp(cursor.body(body)) {
                        Ok(pair) => pair,
                        Err(_) => break (pos, Some("frame too short")),
                    };
                    if offset < base_offset || last_offset.is_some_and(|last| offset <= last) {
                        break (pos, Some("offset out of order"));
                    }
                    if index.is_empty() || pos - last_indexed_pos >= INDEX_INTERVAL {
                        index.push(IndexEntry { offset, pos });
                        last_indexed_pos = pos;
                    }
                    last_offset = Some(offset);
                    max_timestamp = max_timestamp.max(timestamp);
                }
            }
        };
        if let Some(reason) = problem {
            tracing::warn!(
                path = %store.path.display(),
                valid_bytes = valid_len,
                dropped_bytes = actual_len - valid_len,
                reason,
                "truncating the torn or corrupt tail of a segment"
            );
            store.file.set_len(valid_len).map_err(|e| io_error(e, "truncate", &store.path))?;
            store.file.sync_all().map_err(|e| io_error(e, "sync", &store.path))?;
            // The saved index (if any) no longer matches.
            remove_if_exists(&index_path(&store.path))?;
        }
        store.file_len = valid_len;
        store.index = index;
        store.last_indexed_pos = last_indexed_pos;
        self.last_offset = last_offset;
        self.max_timestamp = max_timestamp;
        Ok(())
    }
}

impl FileStore {
    /// Hands buffered frames to the OS (no fsync). On failure the file is cut back to what
    /// was written before, and the buffer is kept for a retry.
    fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.file.write_all(&self.pending) {
            // A partial write would leave a torn frame in the middle of the file; cutting back
            // keeps the file a sequence of whole frames. If even that fails, recovery on the
            // next open truncates the torn frame.
            let _ = self.file.set_len(self.file_len);
            return Err(io_error(e, "write", &self.path));
        }
        self.file_len += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    fn read(
        &mut self,
        from: i64,
        max: usize,
        partition: i32,
        out: &mut Vec<Record>,
        scratch: &mut Vec<u8>,
    ) -> Result<()> {
        if out.len() >= max {
            return Ok(());
        }
        self.write_pending()?;
        let start = match self.hint {
            Some(hint) if hint.offset == from => hint.pos,
            _ => {
                let i = self.index.partition_point(|e| e.offset <= from);
                if i == 0 { 0 } else { self.index[i - 1].pos }
            }
        };
        let mut next_hint = None;
        let mut cursor = FrameCursor::new(&mut self.file, scratch, start, self.file_len);
        while out.len() < max {
            match cursor.next()? {
                Step::End => break,
                Step::Bad { pos, reason } => return Err(corrupt_error(&self.path, pos, reason)),
                Step::Frame { body, .. } => {
                    let body = cursor.body(body);
                    let offset = frame::body_offset(body)?;
                    if offset < from {
                        continue;
                    }
                    out.push(frame::decode(body, partition)?);
                    next_hint = Some(IndexEntry { offset: offset + 1, pos: cursor.pos() });
                }
            }
        }
        if next_hint.is_some() {
            self.hint = next_hint;
        }
        Ok(())
    }

    /// Rewrites the file keeping the records `keep` accepts. Returns `None` when nothing
    /// would be removed (the file is left alone), else the new last offset and max timestamp.
    ///
    /// The kept frames stream through a small buffer into `<name>.cleaned` as they are read,
    /// so rewriting a segment costs [`WRITE_BUFFER`] of memory rather than the segment's size.
    /// A segment with nothing to remove has its half-written copy deleted.
    fn rewrite(
        &mut self,
        partition: i32,
        scratch: &mut Vec<u8>,
        mut keep: impl FnMut(&Record) -> bool,
    ) -> Result<Option<(Option<i64>, i64)>> {
        self.write_pending()?;
        let cleaned = self.path.with_extension("log.cleaned");
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .truncate(false)
            .open(&cleaned)
            .map_err(|e| io_error(e, "create", &cleaned))?;
        file.set_len(0).map_err(|e| io_error(e, "truncate", &cleaned))?;
        let mut out = io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut frame = Vec::new();
        let mut written: u64 = 0;
        let mut index = Vec::new();
        let mut last_indexed_pos = 0;
        let mut last_offset = None;
        let mut max_timestamp = i64::MIN;
        let mut removed = false;
        let mut cursor = FrameCursor::new(&mut self.file, scratch, 0, self.file_len);
        loop {
            match cursor.next()? {
                Step::End => break,
                Step::Bad { pos, reason } => return Err(corrupt_error(&self.path, pos, reason)),
                Step::Frame { body, .. } => {
                    let record = frame::decode(cursor.body(body), partition)?;
                    if !keep(&record) {
                        removed = true;
                        continue;
                    }
                    let pos = written;
                    if index.is_empty() || pos - last_indexed_pos >= INDEX_INTERVAL {
                        index.push(IndexEntry { offset: record.offset, pos });
                        last_indexed_pos = pos;
                    }
                    last_offset = Some(record.offset);
                    max_timestamp = max_timestamp.max(record.timestamp);
                    frame.clear();
                    frame::encode(&record, &mut frame);
                    out.write_all(&frame).map_err(|e| io_error(e, "write", &cleaned))?;
                    written += frame.len() as u64;
                }
            }
        }
        if !removed {
            drop(out);
            remove_if_exists(&cleaned)?;
            return Ok(None);
        }
        let file = out.into_inner().map_err(|e| io_error(e.into_error(), "write", &cleaned))?;
        file.sync_data().map_err(|e| io_error(e, "sync", &cleaned))?;
        // The old index must go before the rename: an old index next to a new file could
        // match by chance in size and be trusted.
        remove_if_exists(&index_path(&self.path))?;
        fs::rename(&cleaned, &self.path).map_err(|e| io_error(e, "rename", &cleaned))?;
        self.file = file;
        self.file_len = written;
        self.index = index;
        self.last_indexed_pos = last_indexed_pos;
        self.synced = true;
        self.index_saved = false;
        self.hint = None;
        Ok(Some((last_offset, max_timestamp)))
    }

    fn save_index(&mut self, last_offset: Option<i64>, max_timestamp: i64) -> Result<()> {
        let saved = SavedIndex { file_len: self.file_len, last_offset, max_timestamp, index: self.index.clone() };
        let path = index_path(&self.path);
        let tmp = self.path.with_extension("index.tmp");
        // No fsync: the index is a cache. If it is lost or torn its CRC or size check fails
        // on open and the segment is scanned instead.
        fs::write(&tmp, saved.encode()).map_err(|e| io_error(e, "write", &tmp))?;
        fs::rename(&tmp, &path).map_err(|e| io_error(e, "rename", &tmp))?;
        self.index_saved = true;
        Ok(())
    }
}

/// The content of a `.index` file.
struct SavedIndex {
    /// Size of the segment file it describes; a mismatch means the index is stale.
    file_len: u64,
    last_offset: Option<i64>,
    max_timestamp: i64,
    index: Vec<IndexEntry>,
}

impl SavedIndex {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.index.len() * 16);
        out.extend_from_slice(INDEX_MAGIC);
        out.extend_from_slice(&self.file_len.to_le_bytes());
        out.extend_from_slice(&self.last_offset.unwrap_or(-1).to_le_bytes());
        out.extend_from_slice(&self.max_timestamp.to_le_bytes());
        out.extend_from_slice(&(self.index.len() as u64).to_le_bytes());
        for entry in &self.index {
            out.extend_from_slice(&entry.offset.to_le_bytes());
            out.extend_from_slice(&entry.pos.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn parse(bytes: &[u8]) -> Option<Self> {
        let (content, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
        if crc32fast::hash(content).to_le_bytes() != crc {
            return None;
        }
        let rest = content.strip_prefix(INDEX_MAGIC.as_slice())?;
        let word = |i: usize| -> Option<[u8; 8]> { rest.get(i * 8..i * 8 + 8)?.try_into().ok() };
        let file_len = u64::from_le_bytes(word(0)?);
        let last_offset = i64::from_le_bytes(word(1)?);
        let max_timestamp = i64::from_le_bytes(word(2)?);
        let count = usize::try_from(u64::from_le_bytes(word(3)?)).ok()?;
        if rest.len() != 32 + count.checked_mul(16)? {
            return None;
        }
        let index = (0..count)
            .map(|i| {
                Some(IndexEntry {
                    offset: i64::from_le_bytes(word(4 + 2 * i)?),
                    pos: u64::from_le_bytes(word(5 + 2 * i)?),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { file_len, last_offset: (last_offset >= 0).then_some(last_offset), max_timestamp, index })
    }
}

/// One step of a [`FrameCursor`].
enum Step {
    /// A whole, CRC-checked frame starting at `pos`; `body` indexes the cursor's buffer.
    Frame { pos: u64, body: Range<usize> },
    /// No more bytes.
    End,
    /// The bytes at `pos` are not a valid frame.
    Bad { pos: u64, reason: &'static str },
}

/// Walks the frames of a file between two positions through a reusable buffer, reading
/// [`READ_CHUNK`] bytes at a time (more when a frame is bigger).
struct FrameCursor<'a> {
    file: &'a mut File,
    buf: &'a mut Vec<u8>,
    /// File position of `buf[0]`.
    buf_pos: u64,
    /// Index in `buf` of the next frame.
    at: usize,
    /// File position where the data ends.
    end: u64,
}

impl<'a> FrameCursor<'a> {
    fn new(file: &'a mut File, buf: &'a mut Vec<u8>, start: u64, end: u64) -> Self {
        buf.clear();
        Self { file, buf, buf_pos: start, at: 0, end }
    }

    /// The file position of the next frame.
    fn pos(&self) -> u64 {
        self.buf_pos + self.at as u64
    }

    fn body(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// Makes sure `need` unread bytes are buffered; `false` if the data ends first.
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        let have = self.buf.len() - self.at;
        if have >= need {
            return Ok(true);
        }
        // Drop consumed bytes so the buffer holds at most a chunk plus one frame.
        self.buf.drain(..self.at);
        self.buf_pos += self.at as u64;
        self.at = 0;
        let read_from = self.buf_pos + self.buf.len() as u64;
        let available = self.end.saturating_sub(read_from);
        let want = ((need - have).max(READ_CHUNK) as u64).min(available) as usize;
        if want > 0 {
            let old = self.buf.len();
            self.buf.resize(old + want, 0);
            self.file.seek(SeekFrom::Start(read_from))?;
            if let Err(e) = self.file.read_exact(&mut self.buf[old..]) {
                self.buf.truncate(old);
                // The file is shorter than we were told: treat it like a torn tail.
                if e.kind() != io::ErrorKind::UnexpectedEof {
                    return Err(e);
                }
            }
        }
        Ok(self.buf.len() >= need)
    }

    fn next(&mut self) -> Result<Step> {
        let pos = self.pos();
        if pos >= self.end {
            return Ok(Step::End);
        }
        if !self.fill(FRAME_HEADER)? {
            return Ok(Step::Bad { pos, reason: "torn frame header" });
        }
        let mut header = [0; FRAME_HEADER];
        header.copy_from_slice(&self.buf[self.at..self.at + FRAME_HEADER]);
        let FrameHeader::Frame { len, crc } = frame::parse_header(&header) else {
            return Ok(Step::Bad { pos, reason: "impossible frame length" });
        };
        if !self.fill(FRAME_HEADER + len)? {
            return Ok(Step::Bad { pos, reason: "torn frame body" });
        }
        let body = self.at + FRAME_HEADER..self.at + FRAME_HEADER + len;
        if !frame::crc_ok(&self.buf[body.clone()], crc) {
            return Ok(Step::Bad { pos, reason: "crc mismatch" });
        }
        self.at = body.end;
        Ok(Step::Frame { pos, body })
    }
}

fn index_path(log_path: &Path) -> PathBuf {
    log_path.with_extension("index")
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(e, "remove", path)),
        _ => Ok(()),
    }
}

/// Fsyncs a directory so that file creations, renames and deletions in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    // Only Unix can open and fsync a directory; elsewhere metadata durability is the file
    // system's business.
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(e, "sync", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// An I/O error naming the operation and the path.
pub(crate) fn io_error(err: io::Error, action: &str, path: &Path) -> Error {
    Error::external(format!("cannot {action} '{}': {err}", path.display()))
}

fn corrupt_error(path: &Path, pos: u64, reason: &str) -> Error {
    Error::external(format!("corrupt record in '{}' at byte {pos}: {reason}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacted_memory_records_stop_sharing_their_batch_buffer() {
        let shared = crate::topic::Bytes::from(b"abcdef".to_vec());
        let mut segment = Segment::memory(0);
        for (offset, range) in [(0, 0..3), (1, 3..6)] {
            let mut record = rec(offset, "k");
            record.value = Some(shared.slice(range));
            segment.append(record).unwrap();
        }
        let mut scratch = Vec::new();
        assert!(segment.retain(0, &mut scratch, |r| r.offset == 1).unwrap());
        let mut out = Vec::new();
        segment.read(0, 10, 0, &mut out, &mut scratch).unwrap();
        let value = out[0].value.clone().unwrap();
        assert_eq!(&value[..], b"def");
        assert!(!shared.as_ptr_range().contains(&value.as_ptr()), "the survivor still slices the batch buffer");
    }

    /// A batch of four records: a null key, an empty key, a key with headers and a
    /// tombstone, all slicing one buffer.
    fn batch(tag: &str) -> ProducerBatch {
        let text = format!("k{tag}v{tag}");
        let buffer = Bytes::from(text.clone().into_bytes());
        let (k, v) = (0..1 + tag.len(), 1 + tag.len()..text.len());
        let mut keys = PackedBytes::new(buffer.clone());
        let mut values = PackedBytes::new(buffer);
        for (key, value) in
            [(None, Some(v.clone())), (Some(0..0), Some(v.clone())), (Some(k.clone()), Some(v)), (Some(k), None)]
        {
            keys.push(key).unwrap();
            values.push(value).unwrap();
        }
        ProducerBatch {
            partition: None,
            timestamps: vec![3, 1, 4, 1],
            keys: Some(keys),
            values,
            headers: vec![vec![], vec![], vec![("h".into(), Some(b"x".to_vec())), ("n".into(), None)], vec![]],
        }
    }

    /// Memory and file segments holding the same records: batches around a record appended
    /// on its own.
    fn mixed_segments(dir: &Path) -> Vec<Segment> {
        let mut segments = vec![Segment::memory(10), Segment::create_file(dir, 10).unwrap()];
        for seg in &mut segments {
            seg.append_batch(10, batch("a")).unwrap();
            seg.append(rec(14, "single")).unwrap();
            seg.append_batch(15, batch("bb")).unwrap();
            seg.append_batch(19, ProducerBatch::default()).unwrap();
        }
        segments
    }

    #[test]
    fn packed_batches_read_like_frames_from_any_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut segments = mixed_segments(dir.path());
        let mut scratch = Vec::new();
        let mut all = Vec::new();
        segments[1].read(0, usize::MAX, 0, &mut all, &mut scratch).unwrap();
        assert_eq!(all.iter().map(|r| r.offset).collect::<Vec<_>>(), (10..19).collect::<Vec<_>>());
        assert_eq!((all[0].key.as_deref(), all[1].key.as_deref()), (None, Some(&b""[..])));
        assert_eq!(all[2].headers.len(), 2);
        assert_eq!(all[3].value, None);
        let memory = &mut segments[0];
        assert_eq!((memory.last_offset(), memory.max_timestamp()), (Some(18), 140));
        for from in 0..20 {
            for max in [1, 2, 3, 5, 100] {
                let mut got = Vec::new();
                memory.read(from, max, 0, &mut got, &mut scratch).unwrap();
                let expected: Vec<Record> = all.iter().filter(|r| r.offset >= from).take(max).cloned().collect();
                assert_eq!(got, expected, "from {from}, max {max}");
            }
        }
        // A read appends after what `out` holds, up to `max` in total.
        let mut got = vec![all[8].clone()];
        memory.read(12, 3, 0, &mut got, &mut scratch).unwrap();
        assert_eq!(got.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![18, 12, 13]);
        // The sizes agree, so memory segments roll where file segments do.
        assert_eq!(segments[0].size(), segments[1].size());
        let mut visited = Vec::new();
        segments[0]
            .for_each(0, &mut scratch, |r| {
                visited.push(r.clone());
                r.offset < 15
            })
            .unwrap();
        assert_eq!(visited, all[..6].to_vec());
    }

    #[test]
    fn compacting_packed_batches_keeps_offsets_and_copies_the_survivors() {
        let dir = tempfile::tempdir().unwrap();
        let mut segments = mixed_segments(dir.path());
        let mut scratch = Vec::new();
        let keep = |r: &Record| r.offset % 3 != 0;
        let mut expected = Vec::new();
        segments[1].read(0, usize::MAX, 0, &mut expected, &mut scratch).unwrap();
        expected.retain(keep);
        for seg in &mut segments {
            assert!(seg.retain(0, &mut scratch, keep).unwrap());
            assert!(!seg.retain(0, &mut scratch, keep).unwrap(), "nothing more to remove");
        }
        assert_eq!(segments[0].size(), segments[1].size());
        assert_eq!(segments[0].last_offset(), Some(17));
        let memory = &mut segments[0];
        for from in 0..20 {
            let mut got = Vec::new();
            memory.read(from, 4, 0, &mut got, &mut scratch).unwrap();
            let want: Vec<Record> = expected.iter().filter(|r| r.offset >= from).take(4).cloned().collect();
            assert_eq!(got, want, "from {from}");
        }
        // Removing everything leaves an empty segment.
        assert!(memory.retain(0, &mut scratch, |_| false).unwrap());
        assert!(memory.is_empty());
        assert_eq!((memory.size(), read_all(memory, 0)), (0, vec![]));
    }

    #[test]
    fn compacted_packed_records_stop_sharing_their_batch_buffer() {
        let mut segment = Segment::memory(0);
        let original = batch("shared");
        let buffer = original.values.buffer().clone();
        segment.append_batch(0, original).unwrap();
        let mut scratch = Vec::new();
        assert!(segment.retain(0, &mut scratch, |r| r.offset == 2).unwrap());
        let mut out = Vec::new();
        segment.read(0, 10, 0, &mut out, &mut scratch).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].offset, out[0].timestamp, out[0].headers.len()), (2, 4, 2));
        let value = out[0].value.clone().unwrap();
        assert_eq!(&value[..], b"vshared");
        assert!(!buffer.as_ptr_range().contains(&value.as_ptr()), "the survivor still slices the batch buffer");
    }

    fn rec(offset: i64, key: &str) -> Record {
        Record {
            partition: 0,
            offset,
            timestamp: offset * 10,
            key: Some(crate::topic::Bytes::copy_from_slice(key.as_bytes())),
            value: Some(vec![b'v'; 50].into()),
            headers: vec![],
        }
    }

    fn read_all(seg: &mut Segment, from: i64) -> Vec<i64> {
        let mut out = Vec::new();
        seg.read(from, usize::MAX, 0, &mut out, &mut Vec::new()).unwrap();
        out.iter().map(|r| r.offset).collect()
    }

    #[test]
    fn file_segment_reads_from_any_offset_through_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create_file(dir.path(), 100).unwrap();
        for o in 100..1100 {
            seg.append(rec(o, "k")).unwrap();
        }
        if let Store::File(store) = &seg.store {
            assert!(store.index.len() > 10, "the index is sparse but not empty");
        }
        assert_eq!(read_all(&mut seg, 0).len(), 1000);
        assert_eq!(read_all(&mut seg, 777)[0], 777);
        assert_eq!(read_all(&mut seg, 1099), vec![1099]);
        assert!(read_all(&mut seg, 1100).is_empty());
        // Sequential reads in small batches go through the hint.
        let mut next = 100;
        let mut scratch = Vec::new();
        while next < 1100 {
            let mut out = Vec::new();
            seg.read(next, 7, 0, &mut out, &mut scratch).unwrap();
            assert_eq!(out[0].offset, next);
            next = out.last().unwrap().offset + 1;
        }
    }

    #[test]
    fn closed_segment_reopens_from_its_saved_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(log_file_name(0));
        {
            let mut seg = Segment::create_file(dir.path(), 0).unwrap();
            for o in 0..500 {
                seg.append(rec(o, "k")).unwrap();
            }
            seg.close().unwrap();
            seg.sync().unwrap();
        }
        assert!(index_path(&path).exists());
        let mut seg = Segment::open_file(path.clone(), 0, true, &mut Vec::new()).unwrap();
        assert_eq!(seg.last_offset(), Some(499));
        assert_eq!(seg.max_timestamp(), 4990);
        assert_eq!(read_all(&mut seg, 250).len(), 250);

        // A stale index (the file changed size behind its back) is ignored.
        drop(seg);
        let f = OpenOptions::new().append(true).open(&path).unwrap();
        f.set_len(f.metadata().unwrap().len() - 3).unwrap();
        let mut seg = Segment::open_file(path, 0, true, &mut Vec::new()).unwrap();
        assert_eq!(seg.last_offset(), Some(498));
        assert_eq!(read_all(&mut seg, 0).len(), 499);
    }

    #[test]
    fn retain_keeps_offsets_and_reads_skip_the_gaps() {
        let dir = tempfile::tempdir().unwrap();
        for mut seg in [Segment::memory(0), Segment::create_file(dir.path(), 0).unwrap()] {
            for o in 0..100 {
                seg.append(rec(o, if o % 2 == 0 { "even" } else { "odd" })).unwrap();
            }
            seg.close().unwrap();
            let removed = seg.retain(0, &mut Vec::new(), |r| r.offset % 10 == 0).unwrap();
            assert!(removed);
            assert_eq!(read_all(&mut seg, 0), (0..100).step_by(10).collect::<Vec<_>>());
            assert_eq!(read_all(&mut seg, 11), vec![20, 30, 40, 50, 60, 70, 80, 90]);
            assert_eq!(seg.last_offset(), Some(90));
            assert!(!seg.retain(0, &mut Vec::new(), |_| true).unwrap());
        }
    }

    #[test]
    fn saved_index_rejects_garbage() {
        let saved = SavedIndex {
            file_len: 10,
            last_offset: None,
            max_timestamp: i64::MIN,
            index: vec![IndexEntry { offset: 1, pos: 0 }],
        };
        let bytes = saved.encode();
        let parsed = SavedIndex::parse(&bytes).unwrap();
        assert_eq!(parsed.index, saved.index);
        assert_eq!(parsed.last_offset, None);
        for cut in 0..bytes.len() {
            assert!(SavedIndex::parse(&bytes[..cut]).is_none());
        }
    }

    #[test]
    fn file_names_sort_by_offset() {
        assert_eq!(log_file_name(42), "00000000000000000042.log");
        assert_eq!(parse_log_file_name("00000000000000000042.log"), Some(42));
        assert_eq!(parse_log_file_name("00000000000000000042.index"), None);
    }
}
