//! The embedded log: Rivulet's own [`TopicBackend`] when no Kafka cluster is configured.
//!
//! It is a partitioned, append-only log in the spirit of a single Kafka broker, with no
//! replication (one machine, by design). This file owns the topic catalog, the consumer-group
//! offsets and the routing of calls to partitions; a partition's log, its segments and the
//! on-disk record format live in `partition.rs`, `segment.rs` and `frame.rs`.
//!
//! Layout of a file-backed log (names starting with `@` cannot clash with topics, whose names
//! are limited to `[a-zA-Z0-9._-]` as in Kafka):
//!
//! ```text
//! <dir>/topics/@lock                     held locked while a process has the log open
//! <dir>/topics/@consumer-offsets.json    committed group offsets, replaced atomically
//! <dir>/topics/@trash/                   deleted topics on their way out
//! <dir>/topics/<topic>/topic.json        the TopicConfig; a topic exists iff this file does
//! <dir>/topics/<topic>/<partition>/<base offset>.log|.index
//! ```
//!
//! Concurrency: the catalog is an `RwLock` taken only to look a topic up (or to create or
//! delete one); each partition has its own mutex, so producers and readers of different
//! partitions never wait on each other. A batch is grouped by partition and each partition is
//! locked once per batch. Every produce bumps a generation counter and notifies a condvar,
//! which is what [`TopicBackend::wait_for_data`] sleeps on.
//!
//! Durability: produce only buffers; [`TopicBackend::flush`] fsyncs. Topic creation and
//! offset commits are durable when they return, using write-to-temp, fsync, rename.
//!
//! The in-memory variant ([`EmbeddedLog::in_memory`]) shares all of this except the files,
//! and costs a few empty maps to create: the conformance runner builds thousands of them.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::topic::partition::Partition;
use crate::topic::partitioner::Partitioner;
use crate::topic::segment::{io_error, sync_dir};
use crate::topic::{CleanupPolicy, ProducerBatch, ProducerRecord, Record, TopicBackend, TopicConfig, TopicDescription};

/// Default size at which a partition's active segment is closed and a new one started.
pub const DEFAULT_SEGMENT_BYTES: u64 = 16 * 1024 * 1024;

/// Kafka's limit on topic name length.
const MAX_TOPIC_NAME: usize = 249;

const LOCK_FILE: &str = "@lock";
const OFFSETS_FILE: &str = "@consumer-offsets.json";
const TRASH_DIR: &str = "@trash";
const TOPIC_FILE: &str = "topic.json";

/// Tunables of an [`EmbeddedLog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// A partition's active segment rolls once it holds this many bytes. Small values make
    /// compaction and retention kick in sooner (tests use them).
    pub segment_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self { segment_bytes: DEFAULT_SEGMENT_BYTES }
    }
}

/// The embedded, single-machine topic log; see the module docs.
pub struct EmbeddedLog {
    /// `<dir>/topics`, or `None` when everything stays in memory.
    root: Option<PathBuf>,
    options: LogOptions,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    offsets: Mutex<OffsetStore>,
    signal: Signal,
    /// Keeps the data directory locked against a second process while the log is open.
    _lock: Option<File>,
}

/// A topic: its config and its partitions, each behind its own lock.
struct Topic {
    name: String,
    config: TopicConfig,
    /// The topic's directory, `None` in memory.
    dir: Option<PathBuf>,
    partitions: Vec<Mutex<Partition>>,
    /// Round-robin state for null keys.
    partitioner: Partitioner,
    /// Signalled when records are appended to this topic: readers of one topic (push queries)
    /// sleep on it rather than on the log-wide signal, so writes elsewhere (changelogs, sinks,
    /// the command log) do not wake them.
    signal: Signal,
}

impl Topic {
    fn partition(&self, partition: i32) -> Result<&Mutex<Partition>> {
        usize::try_from(partition).ok().and_then(|p| self.partitions.get(p)).ok_or_else(|| {
            Error::user(format!(
                "partition {partition} of topic '{}' does not exist (it has {} partitions)",
                self.name,
                self.partitions.len()
            ))
        })
    }

    fn description(&self) -> TopicDescription {
        TopicDescription { name: self.name.clone(), config: self.config.clone() }
    }
}

impl EmbeddedLog {
    /// Opens (or creates) a file-backed log under `dir/topics`, recovering from an unclean
    /// shutdown. Fails if another process has it open.
    pub fn open(dir: &Path) -> Result<EmbeddedLog> {
        Self::open_with(dir, LogOptions::default())
    }

    /// [`EmbeddedLog::open`] with explicit options.
    pub fn open_with(dir: &Path, options: LogOptions) -> Result<EmbeddedLog> {
        let root = dir.join("topics");
        fs::create_dir_all(&root).map_err(|e| io_error(e, "create", &root))?;
        let lock = lock_dir(&root)?;

        // Finish deletions a crash interrupted.
        let trash = root.join(TRASH_DIR);
        if trash.exists() {
            fs::remove_dir_all(&trash).map_err(|e| io_error(e, "remove", &trash))?;
        }
        remove_file_if_exists(&root.join(format!("{OFFSETS_FILE}.tmp")))?;

        let mut topics = BTreeMap::new();
        for entry in fs::read_dir(&root).map_err(|e| io_error(e, "list", &root))? {
            let entry = entry.map_err(|e| io_error(e, "list", &root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('@') || !entry.path().is_dir() {
                continue;
            }
            if let Some(topic) = Self::open_topic(&name, entry.path(), &options)? {
                topics.insert(name, Arc::new(topic));
            }
        }
        let offsets = OffsetStore::load(root.join(OFFSETS_FILE))?;
        Ok(EmbeddedLog {
            root: Some(root),
            options,
            topics: RwLock::new(topics),
            offsets: Mutex::new(offsets),
            signal: Signal::default(),
            _lock: Some(lock),
        })
    }

    /// A log that keeps everything in memory and touches no file. Cheap to create.
    pub fn in_memory() -> EmbeddedLog {
        Self::in_memory_with(LogOptions::default())
    }

    /// [`EmbeddedLog::in_memory`] with explicit options.
    pub fn in_memory_with(options: LogOptions) -> EmbeddedLog {
        EmbeddedLog {
            root: None,
            options,
            topics: RwLock::new(BTreeMap::new()),
            offsets: Mutex::new(OffsetStore::default()),
            signal: Signal::default(),
            _lock: None,
        }
    }

    /// Compacts every partition of `topic` now (closed segments only; the active segment is
    /// left alone), whatever its cleanup policy. Compaction otherwise runs on segment roll.
    pub fn compact_now(&self, topic: &str) -> Result<()> {
        let topic = self.topic(topic)?;
        for partition in &topic.partitions {
            partition.lock().compact()?;
        }
        Ok(())
    }

    /// Applies the topic's retention to every partition now. Does nothing for a topic that
    /// keeps records forever. Retention otherwise runs on segment roll.
    pub fn apply_retention_now(&self, topic: &str) -> Result<()> {
        let topic = self.topic(topic)?;
        let Some(retention_ms) = topic.config.retention_ms else {
            return Ok(());
        };
        for partition in &topic.partitions {
            partition.lock().apply_retention(retention_ms)?;
        }
        Ok(())
    }

    /// How many segments a partition has: a diagnostic for tests and tools.
    pub fn segment_count(&self, topic: &str, partition: i32) -> Result<usize> {
        Ok(self.topic(topic)?.partition(partition)?.lock().segment_count())
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.topics.read().get(name).cloned().ok_or_else(|| unknown_topic(name))
    }

    /// Loads one topic directory; `None` if it has no `topic.json` (a creation that did not
    /// finish), in which case the directory is removed.
    fn open_topic(name: &str, dir: PathBuf, options: &LogOptions) -> Result<Option<Topic>> {
        let meta_path = dir.join(TOPIC_FILE);
        let bytes = match fs::read(&meta_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tracing::warn!(topic = name, "removing a topic whose creation did not finish");
                fs::remove_dir_all(&dir).map_err(|e| io_error(e, "remove", &dir))?;
                return Ok(None);
            }
            Err(e) => return Err(io_error(e, "read", &meta_path)),
        };
        let config = serde_json::from_slice::<TopicFile>(&bytes)
            .map_err(|e| Error::external(format!("cannot parse '{}': {e}", meta_path.display())))?
            .into_config()
            .map_err(|e| e.context(format!("in '{}'", meta_path.display())))?;
        let partitions = (0..config.partitions)
            .map(|p| Partition::open(p, dir.join(p.to_string()), options.segment_bytes).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Topic {
            name: name.to_string(),
            config,
            dir: Some(dir),
            partitions,
            partitioner: Partitioner::new(),
            signal: Signal::default(),
        }))
    }

    /// Creates the files of a new topic. `topic.json` is written last, atomically: until it
    /// exists the topic does not, so a crash halfway leaves nothing half-created.
    fn create_topic_files(&self, root: &Path, name: &str, config: &TopicConfig) -> Result<Topic> {
        let dir = root.join(name);
        if dir.exists() {
            // Leftovers of an unfinished creation (open() normally removes them).
            fs::remove_dir_all(&dir).map_err(|e| io_error(e, "remove", &dir))?;
        }
        fs::create_dir_all(&dir).map_err(|e| io_error(e, "create", &dir))?;
        let partitions = (0..config.partitions)
            .map(|p| Partition::create(p, dir.join(p.to_string()), self.options.segment_bytes).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        let meta = serde_json::to_vec_pretty(&TopicFile::from_config(config))
            .map_err(|e| Error::internal(format!("cannot encode topic config: {e}")))?;
        write_atomically(&dir.join(TOPIC_FILE), &meta)?;
        sync_dir(root)?;
        Ok(Topic {
            name: name.to_string(),
            config: config.clone(),
            dir: Some(dir),
            partitions,
            partitioner: Partitioner::new(),
            signal: Signal::default(),
        })
    }

    /// Best-effort flush used on drop.
    fn flush_quietly(&self) {
        if let Err(err) = self.flush() {
            tracing::warn!(%err, "could not flush the embedded log on close");
        }
    }
}

impl TopicBackend for EmbeddedLog {
    fn create_topic(&self, name: &str, config: &TopicConfig) -> Result<()> {
        validate_topic_name(name)?;
        if config.partitions < 1 {
            return Err(Error::user(format!("topic '{name}' needs at least one partition, got {}", config.partitions)));
        }
        let mut topics = self.topics.write();
        if let Some(existing) = topics.get(name) {
            if existing.config.partitions == config.partitions {
                return Ok(());
            }
            return Err(Error::user(format!(
                "topic '{name}' already exists with {} partitions, not {}",
                existing.config.partitions, config.partitions
            )));
        }
        let topic = match &self.root {
            Some(root) => self.create_topic_files(root, name, config)?,
            None => Topic {
                name: name.to_string(),
                config: config.clone(),
                dir: None,
                partitions: (0..config.partitions)
                    .map(|p| Mutex::new(Partition::in_memory(p, self.options.segment_bytes)))
                    .collect(),
                partitioner: Partitioner::new(),
                signal: Signal::default(),
            },
        };
        topics.insert(name.to_string(), Arc::new(topic));
        Ok(())
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        // The catalog stays write-locked until the files are gone, so a concurrent
        // create_topic of the same name cannot see (and remove) the directory midway.
        let mut topics = self.topics.write();
        let topic = topics.remove(name).ok_or_else(|| unknown_topic(name))?;
        // A producer or reader holding the Arc from before the removal fails from now on,
        // and the segment files are closed before their directory goes.
        for partition in &topic.partitions {
            partition.lock().mark_deleted();
        }
        self.offsets.lock().forget_topic(name)?;
        if let (Some(root), Some(dir)) = (&self.root, &topic.dir) {
            // Rename first so the topic disappears atomically; removing the files can then
            // fail or crash halfway without resurrecting it (open() empties the trash).
            let trash = root.join(TRASH_DIR);
            fs::create_dir_all(&trash).map_err(|e| io_error(e, "create", &trash))?;
            let doomed = trash.join(name);
            if doomed.exists() {
                fs::remove_dir_all(&doomed).map_err(|e| io_error(e, "remove", &doomed))?;
            }
            fs::rename(dir, &doomed).map_err(|e| io_error(e, "move to the trash", dir))?;
            sync_dir(root)?;
            if let Err(err) = fs::remove_dir_all(&doomed) {
                tracing::warn!(topic = name, %err, "could not remove the files of a deleted topic");
            }
        }
        drop(topics);
        Ok(())
    }

    fn describe_topic(&self, name: &str) -> Result<Option<TopicDescription>> {
        Ok(self.topics.read().get(name).map(|t| t.description()))
    }

    fn list_topics(&self) -> Result<Vec<TopicDescription>> {
        // The BTreeMap keeps them sorted by name.
        Ok(self.topics.read().values().map(|t| t.description()).collect())
    }

    fn produce(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<(i32, i64)>> {
        let topic = self.topic(topic)?;
        let count = topic.partitions.len() as i32;
        // Place every record before appending any, so a bad partition rejects the whole batch.
        let mut placement = Vec::with_capacity(records.len());
        for record in &records {
            let partition = match record.partition {
                Some(p) => {
                    topic.partition(p)?;
                    p
                }
                None => topic.partitioner.partition(record.key.as_deref(), count),
            };
            placement.push(partition);
        }
        let Some(&first) = placement.first() else {
            return Ok(Vec::new());
        };

        let mut result = Vec::with_capacity(records.len());
        let outcome = if placement.iter().all(|&p| p == first) {
            // The common case (one partition, or one key): lock once, append in order.
            let mut partition = topic.partition(first)?.lock();
            records.into_iter().try_for_each(|record| {
                result.push((first, partition.append(record, &topic.config)?));
                Ok(())
            })
        } else {
            result.resize(records.len(), (0, 0));
            let mut buckets: Vec<Vec<(usize, ProducerRecord)>> = (0..count).map(|_| Vec::new()).collect();
            for (i, (record, p)) in records.into_iter().zip(&placement).enumerate() {
                buckets[*p as usize].push((i, record));
            }
            buckets.into_iter().enumerate().filter(|(_, bucket)| !bucket.is_empty()).try_for_each(
                |(p, bucket)| -> Result<()> {
                    let mut partition = topic.partitions[p].lock();
                    for (i, record) in bucket {
                        result[i] = (p as i32, partition.append(record, &topic.config)?);
                    }
                    Ok(())
                },
            )
        };
        // Wake readers even after a partial failure: what was appended is readable.
        topic.signal.notify();
        self.signal.notify();
        outcome.map(|()| result)
    }

    fn produce_batch(&self, topic: &str, batch: ProducerBatch) -> Result<()> {
        batch.check()?;
        let topic = self.topic(topic)?;
        if batch.is_empty() {
            return Ok(());
        }
        let count = topic.partitions.len() as i32;
        let outcome = match batch.partition {
            Some(p) => {
                let partition = topic.partition(p)?;
                partition.lock().append_batch(batch, &topic.config).map(|_| ())
            }
            // One partition: every record goes there. (The round-robin counter only chooses
            // among partitions, so skipping it changes nothing.)
            None if count == 1 => topic.partition(0)?.lock().append_batch(batch, &topic.config).map(|_| ()),
            None => {
                // Place every record as `produce` does, then append each partition's share
                // in one piece; the shares keep sharing the batch's buffers.
                let mut shares: Vec<Vec<usize>> = (0..count).map(|_| Vec::new()).collect();
                for i in 0..batch.len() {
                    shares[topic.partitioner.partition(batch.key(i), count) as usize].push(i);
                }
                shares.iter().enumerate().filter(|(_, share)| !share.is_empty()).try_for_each(|(p, share)| {
                    let part = if share.len() == batch.len() { batch.clone() } else { batch.select(share) };
                    topic.partitions[p].lock().append_batch(part, &topic.config).map(|_| ())
                })
            }
        };
        // Wake readers even after a partial failure: what was appended is readable.
        topic.signal.notify();
        self.signal.notify();
        outcome
    }

    fn read(&self, topic: &str, partition: i32, offset: i64, max: usize) -> Result<Vec<Record>> {
        self.topic(topic)?.partition(partition)?.lock().read(offset, max)
    }

    fn read_into(&self, topic: &str, partition: i32, offset: i64, max: usize, out: &mut Vec<Record>) -> Result<()> {
        self.topic(topic)?.partition(partition)?.lock().read_into(offset, max, out)
    }

    fn end_offset(&self, topic: &str, partition: i32) -> Result<i64> {
        Ok(self.topic(topic)?.partition(partition)?.lock().end_offset())
    }

    fn start_offset(&self, topic: &str, partition: i32) -> Result<i64> {
        Ok(self.topic(topic)?.partition(partition)?.lock().start_offset())
    }

    fn flush(&self) -> Result<()> {
        if self.root.is_none() {
            return Ok(());
        }
        let topics: Vec<Arc<Topic>> = self.topics.read().values().cloned().collect();
        for topic in topics {
            for partition in &topic.partitions {
                // The fsync itself runs without the partition's lock: readers and writers of
                // the partition (a pull query's table, a push query's stream) do not wait
                // for the disk.
                let handles = partition.lock().begin_flush()?;
                for (file, path) in handles {
                    if let Err(e) = file.sync_data() {
                        partition.lock().sync_failed(&path);
                        return Err(Error::external(format!("cannot sync '{}': {e}", path.display())));
                    }
                }
            }
        }
        Ok(())
    }

    fn commit_offsets(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()> {
        for (topic, partition, _) in offsets {
            self.topic(topic)?.partition(*partition)?;
        }
        self.offsets.lock().commit(group, offsets)
    }

    fn committed_offset(&self, group: &str, topic: &str, partition: i32) -> Result<Option<i64>> {
        Ok(self.offsets.lock().get(group, topic, partition))
    }

    fn wait_for_data(&self, timeout: Duration) {
        self.signal.wait(timeout);
    }

    fn wait_for_topic(&self, topic: &str, timeout: Duration) {
        match self.topics.read().get(topic).cloned() {
            Some(topic) => topic.signal.wait(timeout),
            None => self.signal.wait(timeout),
        }
    }
}

impl Drop for EmbeddedLog {
    fn drop(&mut self) {
        // Buffered records would otherwise be lost on a clean shutdown.
        if self.root.is_some() {
            self.flush_quietly();
        }
    }
}

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog")
            .field("root", &self.root)
            .field("topics", &self.topics.read().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A generation counter and a condvar: produce bumps the generation, waiters sleep until it
/// moves or their timeout passes.
///
/// The generation is atomic and the mutex is only taken when someone waits, so concurrent
/// producers do not all serialize on one global lock per batch. No wake-up is lost: a waiter
/// registers in `waiters` before reading the generation, a producer bumps the generation
/// before reading `waiters` (both `SeqCst`), so at least one of them sees the other, and the
/// producer notifies under the mutex the waiter holds until it is asleep.
#[derive(Default)]
struct Signal {
    generation: AtomicU64,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Signal {
    fn notify(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.cond.notify_all();
        }
    }

    fn wait(&self, timeout: Duration) {
        let deadline = Instant::now().checked_add(timeout);
        let mut guard = self.lock.lock();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let seen = self.generation.load(Ordering::SeqCst);
        while self.generation.load(Ordering::SeqCst) == seen {
            let timed_out = match deadline {
                Some(deadline) => self.cond.wait_until(&mut guard, deadline).timed_out(),
                // A timeout too large for an Instant means "forever".
                None => {
                    self.cond.wait(&mut guard);
                    false
                }
            };
            if timed_out {
                break;
            }
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Committed consumer-group offsets, persisted as one JSON file replaced atomically.
///
/// Rewriting the whole file per commit keeps it simple and crash-safe; it is proportional to
/// the number of committed partitions, which is small for one machine.
#[derive(Default)]
struct OffsetStore {
    /// `None` in memory.
    path: Option<PathBuf>,
    /// group -> (topic, partition) -> next offset.
    groups: BTreeMap<String, BTreeMap<(String, i32), i64>>,
}

/// One line of the offsets file.
#[derive(Serialize, Deserialize)]
struct CommittedOffset {
    group: String,
    topic: String,
    partition: i32,
    offset: i64,
}

impl OffsetStore {
    fn load(path: PathBuf) -> Result<Self> {
        let mut groups: BTreeMap<String, BTreeMap<(String, i32), i64>> = BTreeMap::new();
        match fs::read(&path) {
            Ok(bytes) => {
                let entries: Vec<CommittedOffset> = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::external(format!("cannot parse '{}': {e}", path.display())))?;
                for e in entries {
                    groups.entry(e.group).or_default().insert((e.topic, e.partition), e.offset);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(e, "read", &path)),
        }
        Ok(Self { path: Some(path), groups })
    }

    fn get(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        self.groups.get(group)?.get(&(topic.to_string(), partition)).copied()
    }

    fn commit(&mut self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut groups = self.groups.clone();
        let entries = groups.entry(group.to_string()).or_default();
        for (topic, partition, offset) in offsets {
            entries.insert((topic.clone(), *partition), *offset);
        }
        // Persist before publishing: a failed write leaves the previous offsets in force.
        self.persist(&groups)?;
        self.groups = groups;
        Ok(())
    }

    fn forget_topic(&mut self, topic: &str) -> Result<()> {
        let mut groups = self.groups.clone();
        let mut changed = false;
        for entries in groups.values_mut() {
            let before = entries.len();
            entries.retain(|(t, _), _| t != topic);
            changed |= entries.len() != before;
        }
        groups.retain(|_, entries| !entries.is_empty());
        if changed {
            self.persist(&groups)?;
            self.groups = groups;
        }
        Ok(())
    }

    fn persist(&self, groups: &BTreeMap<String, BTreeMap<(String, i32), i64>>) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let entries: Vec<CommittedOffset> = groups
            .iter()
            .flat_map(|(group, entries)| {
                entries.iter().map(move |((topic, partition), offset)| CommittedOffset {
                    group: group.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                    offset: *offset,
                })
            })
            .collect();
        let bytes = serde_json::to_vec(&entries)
            .map_err(|e| Error::internal(format!("cannot encode consumer offsets: {e}")))?;
        write_atomically(path, &bytes)
    }
}

/// `topic.json`: a [`TopicConfig`] in a stable, human-readable form.
#[derive(Serialize, Deserialize)]
struct TopicFile {
    partitions: i32,
    replicas: i16,
    /// Kafka's spelling: `delete`, `compact` or `compact,delete`.
    cleanup_policy: String,
    retention_ms: Option<i64>,
}

impl TopicFile {
    fn from_config(config: &TopicConfig) -> Self {
        let cleanup_policy = match config.cleanup_policy {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        };
        Self {
            partitions: config.partitions,
            replicas: config.replicas,
            cleanup_policy: cleanup_policy.to_string(),
            retention_ms: config.retention_ms,
        }
    }

    fn into_config(self) -> Result<TopicConfig> {
        let cleanup_policy = match self.cleanup_policy.as_str() {
            "delete" => CleanupPolicy::Delete,
            "compact" => CleanupPolicy::Compact,
            "compact,delete" | "delete,compact" => CleanupPolicy::CompactDelete,
            other => return Err(Error::external(format!("unknown cleanup policy '{other}'"))),
        };
        if self.partitions < 1 {
            return Err(Error::external(format!("invalid partition count {}", self.partitions)));
        }
        Ok(TopicConfig {
            partitions: self.partitions,
            replicas: self.replicas,
            cleanup_policy,
            retention_ms: self.retention_ms,
        })
    }
}

/// Kafka's rules: 1 to 249 characters from `[a-zA-Z0-9._-]`, and not `.` or `..`. They also
/// make every topic name a safe directory name.
fn validate_topic_name(name: &str) -> Result<()> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("'.' and '..' are reserved")
    } else if name.len() > MAX_TOPIC_NAME {
        Some("it is longer than 249 characters")
    } else if !name.chars().all(legal) {
        Some("it may only contain ASCII letters, digits, '.', '_' and '-'")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::user(format!("invalid topic name '{name}': {problem}"))),
    }
}

fn unknown_topic(name: &str) -> Error {
    Error::user(format!("topic '{name}' does not exist"))
}

/// Takes an exclusive lock on `<root>/@lock`: two processes appending to the same segment
/// files would corrupt them.
fn lock_dir(root: &Path) -> Result<File> {
    let path = root.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error(e, "open", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(Error::user(format!("the data directory '{}' is in use by another Rivulet process", root.display()))
                .with_hint("stop the other process or give this one another data directory"))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io_error(e, "lock", &path)),
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content:
/// write a temporary file, fsync it, rename it over, fsync the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_file_name(format!("{}.tmp", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
    let mut file = File::create(&tmp).map_err(|e| io_error(e, "create", &tmp))?;
    file.write_all(bytes).map_err(|e| io_error(e, "write", &tmp))?;
    file.sync_all().map_err(|e| io_error(e, "sync", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| io_error(e, "rename", &tmp))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

fn remove_file_if_exists(path: &Path) -> Result<()> {
    crate::topic::segment::remove_if_exists(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::topic::Bytes;
    use crate::topic::partitioner::partition_for_key;
    use std::io::Write;

    fn rec(key: &str, value: &str, ts: i64) -> ProducerRecord {
        ProducerRecord {
            partition: None,
            timestamp: ts,
            key: Some(Bytes::copy_from_slice(key.as_bytes())),
            value: Some(Bytes::copy_from_slice(value.as_bytes())),
            headers: vec![],
        }
    }

    fn small_segments() -> LogOptions {
        LogOptions { segment_bytes: 512 }
    }

    fn config(partitions: i32) -> TopicConfig {
        TopicConfig { partitions, ..TopicConfig::default() }
    }

    fn values(log: &EmbeddedLog, topic: &str, partition: i32) -> Vec<String> {
        log.read(topic, partition, 0, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|r| String::from_utf8(r.value.unwrap_or_default().to_vec()).unwrap())
            .collect()
    }

    /// Both flavours, so every behavioural test covers memory and files.
    fn logs(dir: &Path, options: LogOptions) -> Vec<EmbeddedLog> {
        vec![EmbeddedLog::in_memory_with(options.clone()), EmbeddedLog::open_with(dir, options).unwrap()]
    }

    #[test]
    fn produce_then_read_round_trips_every_field() {
        let dir = tempfile::tempdir().unwrap();
        for log in logs(dir.path(), LogOptions::default()) {
            log.create_topic("t", &config(1)).unwrap();
            let records = vec![
                ProducerRecord {
                    partition: Some(0),
                    timestamp: 5,
                    key: None,
                    value: Some(Bytes::new()),
                    headers: vec![("h".into(), None), ("g".into(), Some(vec![]))],
                },
                ProducerRecord { partition: None, timestamp: 6, key: Some(Bytes::new()), value: None, headers: vec![] },
            ];
            assert_eq!(log.produce("t", records.clone()).unwrap(), vec![(0, 0), (0, 1)]);
            let read = log.read("t", 0, 0, 10).unwrap();
            assert_eq!(read.len(), 2);
            for (got, sent) in read.iter().zip(&records) {
                assert_eq!(got.partition, 0);
                assert_eq!(
                    (got.timestamp, &got.key, &got.value, &got.headers),
                    (sent.timestamp, &sent.key, &sent.value, &sent.headers)
                );
            }
            assert_eq!(read[1].offset, 1);
            assert_eq!(log.read("t", 0, 1, 10).unwrap().len(), 1);
            assert!(log.read("t", 0, 2, 10).unwrap().is_empty());
            assert!(log.read("t", 0, 0, 0).unwrap().is_empty());
            assert_eq!((log.start_offset("t", 0).unwrap(), log.end_offset("t", 0).unwrap()), (0, 2));
        }
    }

    #[test]
    fn round_robin_reads_append_to_a_reused_buffer_across_segments_and_partitions() {
        let dir = tempfile::tempdir().unwrap();
        for log in logs(dir.path(), small_segments()) {
            log.create_topic("t", &config(2)).unwrap();
            let records = (0..40)
                .map(|i| ProducerRecord {
                    partition: Some(i % 2),
                    value: Some(Bytes::from(format!("v{i}"))),
                    ..Default::default()
                })
                .collect();
            log.produce("t", records).unwrap();
            let mut positions = vec![(0, 0), (1, 0)];
            let mut next = 0;
            // A stale record from an earlier poll, which the next read must clear.
            let mut buffer = log.read("t", 1, 19, 1).unwrap();
            let mut seen = Vec::new();
            loop {
                crate::topic::read_round_robin_into(&log, "t", &mut positions, &mut next, 7, &mut buffer).unwrap();
                if buffer.is_empty() {
                    break;
                }
                // The buffer is cleared first, and never holds more than asked for.
                assert!(buffer.len() <= 7);
                seen.extend(buffer.iter().map(|r| (r.partition, r.offset)));
            }
            seen.sort();
            let expected: Vec<(i32, i64)> = (0..2).flat_map(|p| (0..20).map(move |o| (p, o))).collect();
            assert_eq!(seen, expected);
            // Appending after what a buffer holds: `max` counts the new records only.
            let mut out = log.read("t", 0, 0, 3).unwrap();
            log.read_into("t", 1, 5, 4, &mut out).unwrap();
            let got: Vec<(i32, i64)> = out.iter().map(|r| (r.partition, r.offset)).collect();
            assert_eq!(got, vec![(0, 0), (0, 1), (0, 2), (1, 5), (1, 6), (1, 7), (1, 8)]);
        }
    }

    #[test]
    fn topics_are_created_described_listed_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        for log in logs(dir.path(), LogOptions::default()) {
            log.create_topic("b", &config(2)).unwrap();
            log.create_topic("a", &config(1)).unwrap();
            log.create_topic("a", &config(1)).unwrap();
            let err = log.create_topic("a", &config(3)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::User);
            assert_eq!(log.create_topic("bad/name", &config(1)).unwrap_err().kind(), ErrorKind::User);
            assert_eq!(log.create_topic("zero", &config(0)).unwrap_err().kind(), ErrorKind::User);
            let names: Vec<String> = log.list_topics().unwrap().into_iter().map(|t| t.name).collect();
            assert_eq!(names, vec!["a", "b"]);
            assert_eq!(log.describe_topic("b").unwrap().unwrap().config.partitions, 2);
            assert_eq!(log.describe_topic("c").unwrap(), None);

            log.produce("a", vec![rec("k", "v", 1)]).unwrap();
            log.delete_topic("a").unwrap();
            assert_eq!(log.delete_topic("a").unwrap_err().kind(), ErrorKind::User);
            assert_eq!(log.produce("a", vec![rec("k", "v", 1)]).unwrap_err().kind(), ErrorKind::User);
            // Recreating starts from an empty log.
            log.create_topic("a", &config(1)).unwrap();
            assert_eq!(log.end_offset("a", 0).unwrap(), 0);
        }
    }

    #[test]
    fn unknown_topics_and_partitions_are_user_errors() {
        let log = EmbeddedLog::in_memory();
        log.create_topic("t", &config(2)).unwrap();
        let errors = [
            log.read("nope", 0, 0, 1).unwrap_err(),
            log.read("t", 2, 0, 1).unwrap_err(),
            log.end_offset("t", -1).unwrap_err(),
            log.produce("t", vec![ProducerRecord { partition: Some(5), ..rec("k", "v", 0) }]).unwrap_err(),
            log.commit_offsets("g", &[("t".into(), 9, 1)]).unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.kind(), ErrorKind::User, "{err}");
        }
        assert!(log.read("t", 2, 0, 1).unwrap_err().message().contains("'t'"));
        // The rejected batch appended nothing.
        assert_eq!(log.end_offset("t", 0).unwrap() + log.end_offset("t", 1).unwrap(), 0);
    }

    #[test]
    fn keyed_records_land_in_the_kafka_partition() {
        let log = EmbeddedLog::in_memory();
        log.create_topic("t", &config(6)).unwrap();
        let keys: Vec<String> = (0..50).map(|i| format!("key-{i}")).collect();
        let placed = log.produce("t", keys.iter().map(|k| rec(k, k, 0)).collect()).unwrap();
        for (key, (partition, _)) in keys.iter().zip(&placed) {
            assert_eq!(*partition, partition_for_key(key.as_bytes(), 6));
        }
        // Offsets are dense per partition and the values are where the placement says.
        for p in 0..6 {
            let expected: Vec<&String> =
                keys.iter().zip(&placed).filter(|(_, (q, _))| *q == p).map(|(k, _)| k).collect();
            let got = values(&log, "t", p);
            assert_eq!(got.iter().collect::<Vec<_>>(), expected);
        }
        // Null keys go round-robin.
        let nulls = (0..6).map(|_| ProducerRecord { key: None, ..rec("", "n", 0) }).collect();
        let mut parts: Vec<i32> = log.produce("t", nulls).unwrap().into_iter().map(|(p, _)| p).collect();
        parts.sort_unstable();
        assert_eq!(parts, vec![0, 1, 2, 3, 4, 5]);
    }

    /// A packed batch of `(key, value)`s slicing one buffer.
    fn packed(records: &[(Option<&str>, Option<&str>)]) -> ProducerBatch {
        let text: String = records.iter().flat_map(|(k, v)| [k.unwrap_or(""), v.unwrap_or("")]).collect();
        let buffer = Bytes::from(text.into_bytes());
        let mut keys = crate::topic::PackedBytes::new(buffer.clone());
        let mut values = crate::topic::PackedBytes::new(buffer);
        let mut at = 0;
        for (k, v) in records {
            for (part, packed) in [(k, &mut keys), (v, &mut values)] {
                let len = part.map_or(0, str::len);
                packed.push(part.map(|_| at..at + len)).unwrap();
                at += len;
            }
        }
        ProducerBatch {
            timestamps: (0..records.len() as i64).collect(),
            keys: Some(keys),
            values,
            ..Default::default()
        }
    }

    #[test]
    fn batches_land_in_the_partitions_records_would() {
        let dir = tempfile::tempdir().unwrap();
        for log in logs(dir.path(), small_segments()) {
            log.create_topic("t", &config(4)).unwrap();
            let keys: Vec<String> = (0..40).map(|i| format!("key-{i}")).collect();
            let records: Vec<_> = keys.iter().map(|k| (Some(k.as_str()), Some(k.as_str()))).collect();
            log.produce_batch("t", packed(&records)).unwrap();
            for p in 0..4 {
                let expected: Vec<&String> = keys.iter().filter(|k| partition_for_key(k.as_bytes(), 4) == p).collect();
                assert_eq!(values(&log, "t", p).iter().collect::<Vec<_>>(), expected);
            }
            // Null keys go round-robin; a batch for one partition goes there whole.
            log.produce_batch("t", packed(&[(None, Some("n")); 4])).unwrap();
            log.produce_batch("t", ProducerBatch { partition: Some(2), ..packed(&[(Some(""), None)]) }).unwrap();
            let counts: Vec<usize> = (0..4).map(|p| values(&log, "t", p).len()).collect();
            assert_eq!(counts.iter().sum::<usize>(), 45);
            for p in 0..4 {
                let read = log.read("t", p, 0, usize::MAX).unwrap();
                assert!(read.iter().filter(|r| r.key.is_none()).count() == 1, "partition {p}");
                assert!(read.iter().enumerate().all(|(i, r)| r.offset == i as i64 && r.partition == p));
            }
            let last = log.read("t", 2, 0, usize::MAX).unwrap().pop().unwrap();
            assert_eq!((last.key, last.value), (Some(Bytes::new()), None));
            let bad = ProducerBatch { partition: Some(4), ..packed(&[(None, Some("x"))]) };
            assert_eq!(log.produce_batch("t", bad).unwrap_err().kind(), ErrorKind::User);
            assert_eq!(log.produce_batch("missing", packed(&[])).unwrap_err().kind(), ErrorKind::User);
        }
    }

    #[test]
    fn records_topics_and_offsets_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let compacted = TopicConfig {
            partitions: 3,
            replicas: 1,
            cleanup_policy: CleanupPolicy::Compact,
            retention_ms: Some(1000),
        };
        {
            let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
            log.create_topic("t", &compacted).unwrap();
            for i in 0..200 {
                log.produce("t", vec![rec(&format!("k{i}"), &format!("v{i}"), i)]).unwrap();
            }
            log.commit_offsets("g", &[("t".into(), 0, 17), ("t".into(), 2, 5)]).unwrap();
            log.flush().unwrap();
            // A second process (or engine) cannot open the same directory.
            let err = EmbeddedLog::open(dir.path()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::User);
        }
        let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
        assert_eq!(log.describe_topic("t").unwrap().unwrap().config, compacted);
        let total: usize = (0..3).map(|p| values(&log, "t", p).len()).sum();
        assert_eq!(total, 200);
        assert_eq!(log.committed_offset("g", "t", 0).unwrap(), Some(17));
        assert_eq!(log.committed_offset("g", "t", 2).unwrap(), Some(5));
        assert_eq!(log.committed_offset("g", "t", 1).unwrap(), None);
        // Appends continue after the recovered end offset.
        let end = log.end_offset("t", 0).unwrap();
        let placed = log.produce("t", vec![ProducerRecord { partition: Some(0), ..rec("x", "y", 0) }]).unwrap();
        assert_eq!(placed, vec![(0, end)]);
    }

    #[test]
    fn unflushed_records_survive_a_clean_close() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            log.create_topic("t", &config(1)).unwrap();
            log.produce("t", vec![rec("k", "v", 1)]).unwrap();
        }
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert_eq!(values(&log, "t", 0), vec!["v"]);
    }

    /// The active segment file of partition 0 of `topic`.
    fn active_segment(dir: &Path, topic: &str) -> PathBuf {
        let mut logs: Vec<PathBuf> = fs::read_dir(dir.join("topics").join(topic).join("0"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        logs.pop().unwrap()
    }

    #[test]
    fn a_torn_tail_is_truncated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            log.create_topic("t", &config(1)).unwrap();
            log.produce("t", (0..10).map(|i| rec("k", &format!("v{i}"), i)).collect()).unwrap();
            log.flush().unwrap();
        }
        let segment = active_segment(dir.path(), "t");
        let full = fs::metadata(&segment).unwrap().len();
        // Crash mid-write: the last frame loses its last 5 bytes.
        OpenOptions::new().write(true).open(&segment).unwrap().set_len(full - 5).unwrap();
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            assert_eq!(values(&log, "t", 0).len(), 9);
            assert_eq!(log.end_offset("t", 0).unwrap(), 9);
            // The next record reuses the lost offset and everything stays readable.
            assert_eq!(log.produce("t", vec![rec("k", "again", 1)]).unwrap(), vec![(0, 9)]);
            assert_eq!(values(&log, "t", 0).last().unwrap(), "again");
        }
        // Garbage appended after the last whole frame (a torn header and zeros) goes too.
        let mut f = OpenOptions::new().append(true).open(active_segment(dir.path(), "t")).unwrap();
        f.write_all(&[7, 0, 0]).unwrap();
        drop(f);
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert_eq!(values(&log, "t", 0).len(), 10);
    }

    #[test]
    fn a_corrupt_frame_truncates_from_there() {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = EmbeddedLog::open(dir.path()).unwrap();
            log.create_topic("t", &config(1)).unwrap();
            log.produce("t", (0..10).map(|i| rec("k", &format!("value-{i}"), i)).collect()).unwrap();
        }
        let segment = active_segment(dir.path(), "t");
        let mut bytes = fs::read(&segment).unwrap();
        // Flip a byte in the middle of the sixth record's value: frames are equal-sized here.
        let frame = bytes.len() / 10;
        bytes[5 * frame + frame - 2] ^= 0xff;
        fs::write(&segment, bytes).unwrap();
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert_eq!(values(&log, "t", 0), (0..5).map(|i| format!("value-{i}")).collect::<Vec<_>>());
    }

    #[test]
    fn compaction_keeps_the_latest_value_per_key_and_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let compacted = TopicConfig { cleanup_policy: CleanupPolicy::Compact, ..config(1) };
        let check = |log: &EmbeddedLog| {
            let records = log.read("t", 0, 0, usize::MAX).unwrap();
            let last_of = |k: &str| {
                records.iter().rev().find(|r| r.key.as_deref() == Some(k.as_bytes())).map(|r| r.value.clone())
            };
            assert_eq!(last_of("a"), Some(Some(Bytes::from_static(b"a-99"))));
            assert_eq!(last_of("b"), Some(None), "tombstones are kept");
            assert_eq!(last_of("c"), Some(Some(Bytes::from_static(b"c-0"))));
            records.len()
        };
        for log in logs(dir.path(), small_segments()) {
            log.create_topic("t", &compacted).unwrap();
            log.produce("t", vec![rec("c", "c-0", 0)]).unwrap();
            for i in 0..100 {
                log.produce("t", vec![rec("a", &format!("a-{i}"), i), rec("b", &format!("b-{i}"), i)]).unwrap();
            }
            log.produce("t", vec![ProducerRecord { value: None, ..rec("b", "", 100) }]).unwrap();
            log.compact_now("t").unwrap();
            let kept = check(&log);
            assert!(kept < 40, "compaction kept {kept} of 202 records");
            // Offsets are preserved: the first record is still at 0, the end did not move.
            assert_eq!(log.read("t", 0, 0, 1).unwrap()[0].offset, 0);
            assert_eq!(log.end_offset("t", 0).unwrap(), 202);
        }
        let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
        check(&log);
    }

    #[test]
    fn retention_drops_old_segments_and_advances_the_start_offset() {
        let dir = tempfile::tempdir().unwrap();
        let retained = TopicConfig { retention_ms: Some(1_000), ..config(1) };
        for log in logs(dir.path(), small_segments()) {
            log.create_topic("t", &retained).unwrap();
            for i in 0..200 {
                log.produce("t", vec![rec("k", "v", i * 100)]).unwrap();
            }
            log.apply_retention_now("t").unwrap();
            let start = log.start_offset("t", 0).unwrap();
            // Newest timestamp is 19_900; records older than 18_900 (offset 189) may go, and
            // whole segments of about 10 records went.
            assert!((170..=189).contains(&start), "start offset {start}");
            let records = log.read("t", 0, 0, usize::MAX).unwrap();
            assert_eq!(records[0].offset, start);
            assert_eq!(records.len() as i64, 200 - start);
            assert!(log.segment_count("t", 0).unwrap() <= 3);
        }
        let log = EmbeddedLog::open_with(dir.path(), small_segments()).unwrap();
        assert!(log.start_offset("t", 0).unwrap() >= 170);
    }

    #[test]
    fn consumer_offsets_are_per_group_and_forgotten_with_the_topic() {
        let log = EmbeddedLog::in_memory();
        log.create_topic("t", &config(2)).unwrap();
        assert_eq!(log.committed_offset("g", "t", 0).unwrap(), None);
        log.commit_offsets("g", &[("t".into(), 0, 3)]).unwrap();
        log.commit_offsets("g", &[("t".into(), 0, 7), ("t".into(), 1, 1)]).unwrap();
        log.commit_offsets("h", &[("t".into(), 0, 2)]).unwrap();
        assert_eq!(log.committed_offset("g", "t", 0).unwrap(), Some(7));
        assert_eq!(log.committed_offset("g", "t", 1).unwrap(), Some(1));
        assert_eq!(log.committed_offset("h", "t", 0).unwrap(), Some(2));
        log.delete_topic("t").unwrap();
        log.create_topic("t", &config(2)).unwrap();
        assert_eq!(log.committed_offset("g", "t", 0).unwrap(), None);
    }

    #[test]
    fn concurrent_producers_get_unique_dense_offsets() {
        let dir = tempfile::tempdir().unwrap();
        for log in logs(dir.path(), LogOptions { segment_bytes: 64 * 1024 }) {
            let log = Arc::new(log);
            log.create_topic("t", &config(3)).unwrap();
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let log = Arc::clone(&log);
                    std::thread::spawn(move || {
                        let mut placed = Vec::new();
                        for i in 0..250 {
                            let batch = (0..4).map(|j| rec(&format!("{t}-{i}-{j}"), "v", i)).collect();
                            placed.extend(log.produce("t", batch).unwrap());
                            if i % 50 == 0 {
                                log.read("t", 0, 0, 100).unwrap();
                            }
                        }
                        placed
                    })
                })
                .collect();
            let mut all: Vec<(i32, i64)> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
            all.sort_unstable();
            assert_eq!(all.len(), 4000);
            for p in 0..3 {
                let offsets: Vec<i64> = all.iter().filter(|(q, _)| *q == p).map(|(_, o)| *o).collect();
                assert_eq!(offsets, (0..offsets.len() as i64).collect::<Vec<_>>());
                assert_eq!(log.read("t", p, 0, usize::MAX).unwrap().len(), offsets.len());
            }
        }
    }

    #[test]
    fn wait_for_data_wakes_on_produce_and_times_out_otherwise() {
        let log = Arc::new(EmbeddedLog::in_memory());
        log.create_topic("t", &config(1)).unwrap();
        let started = Instant::now();
        log.wait_for_data(Duration::from_millis(20));
        assert!(started.elapsed() >= Duration::from_millis(20));

        let producer = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                log.produce("t", vec![rec("k", "v", 0)]).unwrap();
            })
        };
        let started = Instant::now();
        log.wait_for_data(Duration::from_secs(10));
        assert!(started.elapsed() < Duration::from_secs(5));
        producer.join().unwrap();
    }

    #[test]
    fn opening_an_empty_data_dir_is_fast() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let log = EmbeddedLog::open(dir.path()).unwrap();
        drop(log);
        let log = EmbeddedLog::open(dir.path()).unwrap();
        assert!(log.list_topics().unwrap().is_empty());
        assert!(started.elapsed() < Duration::from_millis(100), "{:?}", started.elapsed());
    }
}
