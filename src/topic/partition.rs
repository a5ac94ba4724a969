//! One partition of the embedded log: an ordered list of [`Segment`]s plus cleanup.
//!
//! The partition assigns offsets, rolls the active segment when it reaches the size limit and,
//! right after a roll (the moment a segment becomes eligible), applies the topic's cleanup
//! policy: retention drops whole closed segments that are too old, compaction rewrites closed
//! segments to the latest record per key. Both only ever touch closed segments, so the
//! segment being appended to is never rewritten under a producer.
//!
//! Retention measures age against the newest record timestamp in the partition, not the wall
//! clock: the log has no notion of "now", which keeps it deterministic under test and
//! replay (see "Time is injected" in STYLE.md).
//!
//! A partition lives behind its own mutex in the embedded log; nothing here locks.

use std::fs;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::topic::frame::{FRAME_HEADER, MAX_BODY};
use crate::topic::segment::{self, Segment, io_error};
use crate::topic::{CleanupPolicy, ProducerBatch, ProducerRecord, Record, TopicConfig};

/// Compaction after a roll only runs once the never-compacted closed bytes reach this share
/// of all closed bytes (Kafka's `min.cleanable.dirty.ratio`). Rewriting the clean part again
/// for every new segment would make compaction quadratic in the partition size.
const MIN_DIRTY_RATIO: f64 = 0.5;

/// One partition: offsets, segments and cleanup.
pub(crate) struct Partition {
    id: i32,
    /// Where the segment files live; `None` for an in-memory partition.
    dir: Option<PathBuf>,
    /// Roll the active segment once it holds this many bytes.
    segment_bytes: u64,
    /// Sorted by base offset; never empty; the last one is the active segment.
    segments: Vec<Segment>,
    /// The offset the next record gets.
    next_offset: i64,
    /// The newest timestamp ever appended, the "now" of retention.
    max_timestamp: i64,
    /// Closed segments with a base offset below this have been compacted since the log was
    /// opened; the rest count as dirty for [`MIN_DIRTY_RATIO`].
    cleaned_until: i64,
    /// Whether segment files were created or removed since the directory was last fsynced.
    dir_dirty: bool,
    /// Set when the topic is deleted: a producer that looked the topic up just before the
    /// deletion must fail instead of writing into removed files.
    deleted: bool,
    /// Read buffer reused by every read of this partition.
    scratch: Vec<u8>,
    /// Bound of the compaction key map ([`MAX_MAP_SLOTS`]; tests make it small).
    map_slots: usize,
}

impl Partition {
    /// A new, empty partition kept in memory.
    pub(crate) fn in_memory(id: i32, segment_bytes: u64) -> Self {
        Self::with_segments(id, None, segment_bytes, vec![Segment::memory(0)])
    }

    /// A new, empty partition in `dir` (created if missing).
    pub(crate) fn create(id: i32, dir: PathBuf, segment_bytes: u64) -> Result<Self> {
        fs::create_dir_all(&dir).map_err(|e| io_error(e, "create", &dir))?;
        let segment = Segment::create_file(&dir, 0)?;
        let mut partition = Self::with_segments(id, Some(dir), segment_bytes, vec![segment]);
        partition.dir_dirty = true;
        Ok(partition)
    }

    /// Opens the partition in `dir`, recovering from an unclean shutdown: leftover temporary
    /// files are removed and the active segment's torn tail is truncated.
    pub(crate) fn open(id: i32, dir: PathBuf, segment_bytes: u64) -> Result<Self> {
        if !dir.exists() {
            return Self::create(id, dir, segment_bytes);
        }
        let mut bases = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_error(e, "list", &dir))? {
            let entry = entry.map_err(|e| io_error(e, "list", &dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(base) = segment::parse_log_file_name(&name) {
                bases.push(base);
            } else if name.ends_with(".cleaned") || name.ends_with(".tmp") {
                // A compaction or index write that did not reach its rename.
                segment::remove_if_exists(&entry.path())?;
            }
        }
        bases.sort_unstable();
        if bases.is_empty() {
            return Self::create(id, dir, segment_bytes);
        }
        let mut scratch = Vec::new();
        let mut segments = Vec::with_capacity(bases.len());
        let last = bases.len() - 1;
        for (i, base) in bases.into_iter().enumerate() {
            let path = dir.join(segment::log_file_name(base));
            segments.push(Segment::open_file(path, base, i < last, &mut scratch)?);
        }
        let mut partition = Self::with_segments(id, Some(dir), segment_bytes, segments);
        partition.scratch = scratch;
        Ok(partition)
    }

    fn with_segments(id: i32, dir: Option<PathBuf>, segment_bytes: u64, segments: Vec<Segment>) -> Self {
        let active = segments.last();
        let next_offset = active.map_or(0, |s| s.last_offset().map_or(s.base_offset(), |o| o + 1));
        let max_timestamp = segments.iter().map(Segment::max_timestamp).max().unwrap_or(i64::MIN);
        Self {
            id,
            dir,
            segment_bytes: segment_bytes.max(1),
            segments,
            next_offset,
            max_timestamp,
            cleaned_until: i64::MIN,
            dir_dirty: false,
            deleted: false,
            scratch: Vec::new(),
            map_slots: MAX_MAP_SLOTS,
        }
    }

    /// The offset the next record will get.
    pub(crate) fn end_offset(&self) -> i64 {
        self.next_offset
    }

    /// The first offset still readable: the base of the oldest segment.
    pub(crate) fn start_offset(&self) -> i64 {
        self.segments.first().map_or(self.next_offset, Segment::base_offset)
    }

    /// Marks the partition deleted; later calls fail.
    pub(crate) fn mark_deleted(&mut self) {
        self.deleted = true;
        // Drop the segments now: this closes their files before the directory is removed.
        self.segments.clear();
    }

    fn check_live(&self) -> Result<()> {
        if self.deleted {
            return Err(Error::user(format!("partition {} was deleted with its topic", self.id)));
        }
        Ok(())
    }

    /// Appends a record and returns its offset. Rolls and cleans up first when the active
    /// segment is full.
    pub(crate) fn append(&mut self, record: ProducerRecord, config: &TopicConfig) -> Result<i64> {
        self.check_live()?;
        let needs_roll = self.segments.last().is_none_or(|s| !s.is_empty() && s.size() >= self.segment_bytes);
        if needs_roll {
            self.roll()?;
            self.cleanup_after_roll(config)?;
        }
        let offset = self.next_offset;
        let ProducerRecord { timestamp, key, value, headers, .. } = record;
        let record = Record { partition: self.id, offset, timestamp, key, value, headers };
        let active =
            self.segments.last_mut().ok_or_else(|| Error::internal("embedded log partition has no active segment"))?;
        active.append(record)?;
        self.next_offset += 1;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        Ok(offset)
    }

    /// Appends a batch (its `partition` is ignored: the caller placed it here) and returns
    /// the offset of its first record. The records land where appending them one by one
    /// would put them: the batch is split where the active segment reaches its size limit.
    /// A record larger than the frame limit rejects the whole batch.
    pub(crate) fn append_batch(&mut self, mut batch: ProducerBatch, config: &TopicConfig) -> Result<i64> {
        self.check_live()?;
        batch.check()?;
        let first_offset = self.next_offset;
        let n = batch.len();
        for i in 0..n {
            let len = segment::batch_frame_len(&batch, i);
            if len - FRAME_HEADER > MAX_BODY {
                return Err(Error::user(format!(
                    "record of {len} bytes is larger than the embedded log's limit of {MAX_BODY} bytes"
                )));
            }
        }
        let mut start = 0;
        while start < n {
            let needs_roll = self.segments.last().is_none_or(|s| !s.is_empty() && s.size() >= self.segment_bytes);
            if needs_roll {
                self.roll()?;
                self.cleanup_after_roll(config)?;
            }
            let active = self
                .segments
                .last_mut()
                .ok_or_else(|| Error::internal("embedded log partition has no active segment"))?;
            // The records up to the one that fills the segment, as one by one appends would.
            let mut size = active.size();
            let mut end = start;
            loop {
                size += segment::batch_frame_len(&batch, end) as u64;
                end += 1;
                if end == n || size >= self.segment_bytes {
                    break;
                }
            }
            // The whole batch moves in as it is; a part of it shares its buffers.
            let piece = if start == 0 && end == n { std::mem::take(&mut batch) } else { batch.slice(start..end) };
            let appended = active.append_batch(self.next_offset, piece);
            // A file segment may have taken some of the records before failing.
            if let Some(last) = active.last_offset() {
                self.next_offset = self.next_offset.max(last + 1);
            }
            self.max_timestamp = self.max_timestamp.max(active.max_timestamp());
            appended?;
            start = end;
        }
        Ok(first_offset)
    }

    /// Closes the active segment and starts a new one at the next offset.
    fn roll(&mut self) -> Result<()> {
        let segment = match &self.dir {
            Some(dir) => Segment::create_file(dir, self.next_offset)?,
            None => Segment::memory(self.next_offset),
        };
        if let Some(active) = self.segments.last_mut() {
            active.close()?;
        }
        self.segments.push(segment);
        self.dir_dirty = self.dir.is_some();
        Ok(())
    }

    fn cleanup_after_roll(&mut self, config: &TopicConfig) -> Result<()> {
        if matches!(config.cleanup_policy, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
            && let Some(retention_ms) = config.retention_ms
        {
            self.apply_retention(retention_ms)?;
        }
        if matches!(config.cleanup_policy, CleanupPolicy::Compact | CleanupPolicy::CompactDelete) {
            let closed = &self.segments[..self.segments.len().saturating_sub(1)];
            let total: u64 = closed.iter().map(Segment::size).sum();
            let dirty: u64 = closed.iter().filter(|s| s.base_offset() >= self.cleaned_until).map(Segment::size).sum();
            if total > 0 && dirty as f64 >= total as f64 * MIN_DIRTY_RATIO {
                self.compact()?;
            }
        }
        Ok(())
    }

    /// Drops closed segments, oldest first, whose newest record is more than `retention_ms`
    /// older than the newest record of the partition. Advances the start offset.
    pub(crate) fn apply_retention(&mut self, retention_ms: i64) -> Result<()> {
        self.check_live()?;
        let threshold = self.max_timestamp.saturating_sub(retention_ms.max(0));
        // Only a prefix goes, so the log stays contiguous from its start offset.
        let expired = self.segments[..self.segments.len().saturating_sub(1)]
            .iter()
            .take_while(|s| s.max_timestamp() < threshold)
            .count();
        for segment in self.segments.drain(..expired) {
            segment.remove_files()?;
            self.dir_dirty = self.dir.is_some();
        }
        Ok(())
    }

    /// Rewrites the closed segments keeping only the latest record of each key (the latest
    /// may be in the active segment). Null-keyed records and tombstones are kept. Offsets are
    /// preserved; empty closed segments other than the first are dropped (the first keeps the
    /// start offset where it was).
    ///
    /// As Kafka's log cleaner does, the key map covers only the *dirty* records (from
    /// `cleaned_until` on): the clean segments before them already hold one record per key, so
    /// a record anywhere is stale exactly when a later one of its key is dirty. The map is
    /// bounded ([`OffsetMap`], `map_slots`): when the dirty records have more keys than it
    /// holds, it stops at the segment where it filled, everything is cleaned against what it
    /// holds, and the segments from there on stay dirty for the next compaction. (It always
    /// takes in the whole first dirty segment, so every compaction makes progress.)
    pub(crate) fn compact(&mut self) -> Result<()> {
        self.check_live()?;
        if self.segments.len() < 2 {
            return Ok(());
        }
        let id = self.id;
        let first_dirty = self.segments.partition_point(|s| s.base_offset() < self.cleaned_until);
        let mut map = OffsetMap::new(self.map_slots);
        // Where the map filled up: the base offset of the segment it could not take in whole.
        let mut stopped_at = None;
        for (i, segment) in self.segments.iter_mut().enumerate().skip(first_dirty) {
            let whole = i == first_dirty;
            let mut full = false;
            segment.for_each(id, &mut self.scratch, |r| {
                if let Some(key) = &r.key {
                    // Offsets only grow, so the last visit wins.
                    full = !map.put(key_digest(key), r.offset, whole);
                }
                !full
            })?;
            if full {
                stopped_at = Some(segment.base_offset());
                break;
            }
        }
        let closed = self.segments.len() - 1;
        for segment in &mut self.segments[..closed] {
            segment.retain(id, &mut self.scratch, |r| {
                r.key.as_ref().is_none_or(|key| map.get(key_digest(key)).is_none_or(|latest| latest <= r.offset))
            })?;
        }
        drop(map);
        let mut i = 1;
        while i < self.segments.len() - 1 {
            if self.segments[i].is_empty() {
                self.segments.remove(i).remove_files()?;
                self.dir_dirty = self.dir.is_some();
            } else {
                i += 1;
            }
        }
        self.cleaned_until = match stopped_at {
            Some(base) => base,
            None => self.segments.last().map_or(i64::MIN, Segment::base_offset),
        };
        if let Some(dir) = &self.dir {
            // The renames of the rewritten segments must be durable before we rely on them.
            segment::sync_dir(dir)?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Reads up to `max` records starting at `from` (or the start offset, if later).
    pub(crate) fn read(&mut self, from: i64, max: usize) -> Result<Vec<Record>> {
        // Cap the up-front allocation: `max` is often "everything".
        let mut out = Vec::with_capacity(max.min(1024));
        self.read_into(from, max, &mut out)?;
        Ok(out)
    }

    /// [`Partition::read`] appending up to `max` records to `out`.
    pub(crate) fn read_into(&mut self, from: i64, max: usize, out: &mut Vec<Record>) -> Result<()> {
        self.check_live()?;
        if max == 0 || from >= self.next_offset {
            return Ok(());
        }
        let from = from.max(self.start_offset());
        let first = self.segments.partition_point(|s| s.base_offset() <= from).saturating_sub(1);
        // Segments fill `out` up to a total, counting what it held before.
        let total = out.len().saturating_add(max);
        for segment in &mut self.segments[first..] {
            segment.read(from, total, self.id, out, &mut self.scratch)?;
            if out.len() >= total {
                break;
            }
        }
        Ok(())
    }

    /// Makes every appended record durable: writes buffers, fsyncs segments, saves the index
    /// of closed segments and fsyncs the directory if files came or went.
    /// The first half of [`Partition::flush`] for callers that fsync without the partition's
    /// lock (see [`Segment::begin_sync`]): everything but the open segments' fsyncs, whose
    /// handles are returned.
    pub(crate) fn begin_flush(&mut self) -> Result<Vec<(std::fs::File, PathBuf)>> {
        if self.deleted {
            return Ok(Vec::new());
        }
        let mut handles = Vec::new();
        for segment in &mut self.segments {
            if segment.needs_sync()
                && let Some(handle) = segment.begin_sync()?
            {
                handles.push(handle);
            }
        }
        if self.dir_dirty {
            if let Some(dir) = &self.dir {
                segment::sync_dir(dir)?;
            }
            self.dir_dirty = false;
        }
        Ok(handles)
    }

    /// A deferred fsync of the segment file at `path` failed: its data is not durable.
    pub(crate) fn sync_failed(&mut self, path: &std::path::Path) {
        for segment in &mut self.segments {
            if segment.path() == Some(path) {
                segment.unsynced();
            }
        }
    }

    /// How many segments the partition has (tests check rolling and cleanup with it).
    pub(crate) fn segment_count(&self) -> usize {
        self.segments.len()
    }
}

/// Slots of the compaction key map, at most (24 bytes each: 12 MiB, about 390,000 keys at
/// the map's load limit). Kafka's cleaner bounds its map the same way
/// (`log.cleaner.dedupe.buffer.size`); a topic with more dirty keys is cleaned over several
/// compactions.
const MAX_MAP_SLOTS: usize = 1 << 19;

/// Compaction's key map: 128-bit key digests to the latest offset seen. Like Kafka's log
/// cleaner, it holds a digest rather than the key (24 bytes a slot whatever the key's size;
/// two keys sharing a digest, odds ~n²/2¹²⁹, would lose one's record), in one open-addressing
/// table with linear probing: no allocation per key, no per-entry overhead, and a hard bound
/// on its size.
struct OffsetMap {
    /// `[digest high, digest low, offset]`; an offset of `EMPTY` marks a free slot.
    slots: Vec<[u64; 3]>,
    len: usize,
    max_slots: usize,
}

const EMPTY: u64 = u64::MAX;

impl OffsetMap {
    fn new(max_slots: usize) -> Self {
        Self { slots: vec![[0, 0, EMPTY]; 1024], len: 0, max_slots: max_slots.max(1024).next_power_of_two() }
    }

    fn find(slots: &[[u64; 3]], hi: u64, lo: u64) -> usize {
        let mask = slots.len() - 1;
        let mut i = (lo as usize) & mask;
        loop {
            let slot = &slots[i];
            if slot[2] == EMPTY || (slot[0] == hi && slot[1] == lo) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// Records `offset` as the latest of `digest`. Returns `false`, recording nothing, when
    /// the digest is new and the map is full; `grow_past_limit` lets it grow anyway.
    fn put(&mut self, digest: u128, offset: i64, grow_past_limit: bool) -> bool {
        let (hi, lo) = ((digest >> 64) as u64, digest as u64);
        let i = Self::find(&self.slots, hi, lo);
        if self.slots[i][2] != EMPTY {
            self.slots[i][2] = offset as u64;
            return true;
        }
        // Three quarters full at most, so that probes stay short.
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            if self.slots.len() >= self.max_slots && !grow_past_limit {
                return false;
            }
            let mut bigger = vec![[0, 0, EMPTY]; self.slots.len() * 2];
            for slot in self.slots.iter().filter(|s| s[2] != EMPTY) {
                let j = Self::find(&bigger, slot[0], slot[1]);
                bigger[j] = *slot;
            }
            self.slots = bigger;
        }
        let i = Self::find(&self.slots, hi, lo);
        self.slots[i] = [hi, lo, offset as u64];
        self.len += 1;
        true
    }

    fn get(&self, digest: u128) -> Option<i64> {
        let slot = &self.slots[Self::find(&self.slots, (digest >> 64) as u64, digest as u64)];
        (slot[2] != EMPTY).then_some(slot[2] as i64)
    }
}

/// A 128-bit digest of a record key for compaction: two SipHash-2-4 passes with different
/// fixed keys. (`SipHasher` is deprecated only in favour of the randomly keyed default
/// hasher, which could not give two independent passes.)
fn key_digest(key: &[u8]) -> u128 {
    use std::hash::Hasher;
    #[allow(deprecated)]
    fn pass(seed: u64, key: &[u8]) -> u64 {
        let mut hasher = std::hash::SipHasher::new_with_keys(seed, !seed);
        hasher.write(key);
        hasher.finish()
    }
    (u128::from(pass(0x5157_1e7a_c0de_0001, key)) << 64) | u128::from(pass(0x7a11_b00c_feed_0002, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer(key: &str, ts: i64) -> ProducerRecord {
        ProducerRecord {
            partition: None,
            timestamp: ts,
            key: Some(crate::topic::Bytes::copy_from_slice(key.as_bytes())),
            value: Some(vec![b'x'; 40].into()),
            headers: vec![],
        }
    }

    fn offsets(p: &mut Partition, from: i64) -> Vec<i64> {
        p.read(from, usize::MAX).unwrap().iter().map(|r| r.offset).collect()
    }

    #[test]
    fn rolls_at_the_size_limit_and_reads_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let config = TopicConfig::default();
        for mut p in [Partition::in_memory(0, 1000), Partition::create(0, dir.path().join("0"), 1000).unwrap()] {
            for i in 0..100 {
                assert_eq!(p.append(producer("k", i), &config).unwrap(), i);
            }
            assert!(p.segment_count() > 5);
            assert_eq!(offsets(&mut p, 0), (0..100).collect::<Vec<_>>());
            assert_eq!(offsets(&mut p, 57)[0], 57);
            assert_eq!(p.read(30, 45).unwrap().len(), 45);
            assert!(offsets(&mut p, 100).is_empty());
        }
    }

    #[test]
    fn batches_roll_segments_where_single_appends_would() {
        let dir = tempfile::tempdir().unwrap();
        let config = TopicConfig::default();
        let text: String = (0..100).map(|i| format!("v{i:03}")).collect();
        let buffer = crate::topic::Bytes::from(text.into_bytes());
        let batch = |range: std::ops::Range<usize>| {
            let mut values = crate::topic::PackedBytes::new(buffer.clone());
            for i in range.clone() {
                values.push(Some(i * 4..i * 4 + 4)).unwrap();
            }
            ProducerBatch { timestamps: range.map(|i| i as i64).collect(), values, ..ProducerBatch::default() }
        };
        let mut one_by_one = Partition::in_memory(0, 300);
        for record in batch(0..100).into_records() {
            one_by_one.append(record, &config).unwrap();
        }
        let mut layouts = Vec::new();
        for mut p in [Partition::in_memory(0, 300), Partition::create(0, dir.path().join("0"), 300).unwrap()] {
            assert_eq!(p.append_batch(batch(0..7), &config).unwrap(), 0);
            assert_eq!(p.append_batch(batch(7..7), &config).unwrap(), 7);
            assert_eq!(p.append_batch(batch(7..100), &config).unwrap(), 7);
            assert_eq!(p.end_offset(), 100);
            assert_eq!(p.max_timestamp, 99);
            assert_eq!(p.read(0, usize::MAX).unwrap(), one_by_one.read(0, usize::MAX).unwrap());
            assert_eq!(p.read(41, 13).unwrap(), one_by_one.read(41, 13).unwrap());
            layouts.push(p.segments.iter().map(|s| (s.base_offset(), s.size())).collect::<Vec<_>>());
        }
        let expected: Vec<_> = one_by_one.segments.iter().map(|s| (s.base_offset(), s.size())).collect();
        assert!(expected.len() > 5);
        assert_eq!(layouts, vec![expected.clone(), expected]);
    }

    #[test]
    fn a_batch_of_a_deleted_partition_or_the_wrong_shape_appends_nothing() {
        let config = TopicConfig::default();
        let mut p = Partition::in_memory(0, 300);
        let shapeless = ProducerBatch { timestamps: vec![1, 2], ..ProducerBatch::default() };
        assert_eq!(p.append_batch(shapeless, &config).unwrap_err().kind(), crate::error::ErrorKind::Internal);
        p.mark_deleted();
        let empty = ProducerBatch::default();
        assert_eq!(p.append_batch(empty, &config).unwrap_err().kind(), crate::error::ErrorKind::User);
        assert_eq!(p.end_offset(), 0);
    }

    #[test]
    fn retention_drops_old_closed_segments_only() {
        let config = TopicConfig { retention_ms: Some(100), ..TopicConfig::default() };
        let mut p = Partition::in_memory(0, 500);
        for i in 0..100 {
            p.append(producer("k", i * 10), &config).unwrap();
        }
        // Newest timestamp 990: every closed segment whose newest record is < 890 is gone.
        let start = p.start_offset();
        assert!(start > 0 && start <= 89, "start offset {start}");
        let records = p.read(0, usize::MAX).unwrap();
        assert_eq!(records[0].offset, start);
        assert_eq!(records.last().unwrap().offset, 99);
        // A huge retention keeps everything that is left.
        p.apply_retention(i64::MAX).unwrap();
        assert_eq!(p.start_offset(), start);
    }

    #[test]
    fn a_bounded_key_map_compacts_over_several_rounds() {
        let config = TopicConfig::default();
        let dir = tempfile::tempdir().unwrap();
        for mut p in
            [Partition::in_memory(0, 16 * 1024), Partition::create(0, dir.path().join("0"), 16 * 1024).unwrap()]
        {
            // Room for 768 keys per round; 3,000 keys written twice need several.
            p.map_slots = 1024;
            for round in 0..2 {
                for k in 0..3000 {
                    p.append(producer(&format!("k{k}"), round), &config).unwrap();
                }
            }
            let mut rounds = 0;
            while p.cleaned_until != p.segments.last().unwrap().base_offset() {
                p.compact().unwrap();
                rounds += 1;
                assert!(rounds < 100, "compaction makes no progress");
            }
            assert!(rounds > 2, "one round was enough: the map bound was not exercised");
            let records = p.read(0, usize::MAX).unwrap();
            assert_eq!(records.len(), 3000);
            assert!(records.iter().all(|r| r.offset >= 3000), "a stale record survived");
            let keys: std::collections::HashSet<_> = records.iter().map(|r| r.key.clone()).collect();
            assert_eq!(keys.len(), 3000);
        }
    }

    #[test]
    fn offset_map_stops_at_its_bound_unless_told_to_grow() {
        let mut map = OffsetMap::new(1024);
        for k in 0..768u128 {
            assert!(map.put(k * 0x9e37_79b9_7f4a_7c15, k as i64, false));
        }
        assert!(!map.put(u128::MAX, 1, false), "a new key past the bound");
        assert!(map.put(5 * 0x9e37_79b9_7f4a_7c15, 99, false), "an existing key is still updated");
        assert!(map.put(u128::MAX, 1, true));
        assert_eq!(map.get(5 * 0x9e37_79b9_7f4a_7c15), Some(99));
        assert_eq!(map.get(u128::MAX), Some(1));
        assert_eq!(map.get(7), None);
    }

    #[test]
    fn compaction_keeps_the_latest_record_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let config = TopicConfig { cleanup_policy: CleanupPolicy::Compact, ..TopicConfig::default() };
        for mut p in [Partition::in_memory(0, 400), Partition::create(0, dir.path().join("0"), 400).unwrap()] {
            for i in 0..60 {
                p.append(producer(&format!("k{}", i % 3), i), &config).unwrap();
            }
            p.compact().unwrap();
            let records = p.read(0, usize::MAX).unwrap();
            // Every record of a closed segment is the latest for its key, unless it is in the
            // active segment: keys never repeat outside the active segment.
            let active_base = p.segments.last().unwrap().base_offset();
            let mut seen = std::collections::HashSet::new();
            for r in records.iter().rev() {
                let first_time = seen.insert(r.key.clone());
                assert!(first_time || r.offset >= active_base, "offset {} is stale", r.offset);
            }
            // The latest value of each key is readable, at its original offset.
            assert_eq!(records.last().unwrap().offset, 59);
            assert!(records.iter().any(|r| r.offset == 57));
            assert!(records.iter().any(|r| r.offset == 58));
            assert_eq!(p.start_offset(), 0);
            assert_eq!(p.end_offset(), 60);
        }
    }
}
