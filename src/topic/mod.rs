//! The topic abstraction: where records live.
//!
//! A topic is a set of partitions, each an append-only log of [`Record`]s addressed by offset.
//! [`TopicBackend`] is the only door to them; the embedded log ([`embedded`]) and, later, Kafka
//! implement it. Nothing here knows about SQL: keys and values are bytes.

mod batch;
pub mod embedded;
mod frame;
mod partition;
pub mod partitioner;
pub mod print;
mod segment;

/// Fsyncs a directory (state snapshots make their renames durable with it too).
pub(crate) use segment::sync_dir;

use std::sync::Arc;
use std::time::Duration;

pub use batch::{PackedBytes, ProducerBatch};
pub use bytes::Bytes;

use crate::error::Result;

/// A record header: a name and optional bytes (Kafka allows a null header value).
pub type Header = (String, Option<Vec<u8>>);

/// A record as stored in a partition.
///
/// Keys and values are [`Bytes`]: cheap to clone, and able to share one buffer between many
/// records, so a backend can hand out what it holds (or slices of what it fetched) without a
/// copy and an allocation per record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch (the record's ROWTIME unless a TIMESTAMP column overrides it).
    pub timestamp: i64,
    pub key: Option<Bytes>,
    /// `None` is a tombstone.
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
}

/// A record to append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerRecord {
    /// The partition; `None` picks one with Kafka's default partitioner (murmur2 of the key,
    /// round-robin for null keys).
    pub partition: Option<i32>,
    pub timestamp: i64,
    /// Like [`Record`]'s: records produced from slices of one buffer share it.
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
}

/// How old records are cleaned up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CleanupPolicy {
    /// Records older than the retention are deleted.
    #[default]
    Delete,
    /// Only the latest record per key is kept (tombstones eventually remove the key).
    Compact,
    /// Both.
    CompactDelete,
}

/// Settings of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub partitions: i32,
    pub replicas: i16,
    pub cleanup_policy: CleanupPolicy,
    /// `None` keeps records forever.
    pub retention_ms: Option<i64>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        Self { partitions: 1, replicas: 1, cleanup_policy: CleanupPolicy::Delete, retention_ms: None }
    }
}

/// What a backend knows about a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub config: TopicConfig,
}

/// A place where topics live: the embedded log or a Kafka cluster.
///
/// Implementations are shared between threads (`Arc<dyn TopicBackend>`); every method is
/// blocking and cheap enough to call from an operator's thread.
pub trait TopicBackend: Send + Sync {
    /// Creates a topic. Creating one that exists with the same partition count is not an error;
    /// with a different count it is a user error.
    fn create_topic(&self, name: &str, config: &TopicConfig) -> Result<()>;

    /// Deletes a topic and its records. Deleting a missing topic is a user error.
    fn delete_topic(&self, name: &str) -> Result<()>;

    /// Describes one topic, `None` when it does not exist.
    fn describe_topic(&self, name: &str) -> Result<Option<TopicDescription>>;

    /// All topics, sorted by name.
    fn list_topics(&self) -> Result<Vec<TopicDescription>>;

    /// Appends records to a topic and returns (partition, offset) of each, in order.
    /// The records are durable once [`TopicBackend::flush`] returns.
    fn produce(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<(i32, i64)>>;

    /// Appends a batch of records whose bytes share buffers; the same as producing
    /// [`ProducerBatch::into_records`], which is what the default does. A backend that can
    /// keep the batch as it is (the embedded log in memory) saves a record struct and two
    /// buffer handles per record.
    fn produce_batch(&self, topic: &str, batch: ProducerBatch) -> Result<()> {
        batch.check()?;
        self.produce(topic, batch.into_records()).map(|_| ())
    }

    /// Reads up to `max` records of one partition starting at `offset` (records removed by
    /// compaction or retention are skipped). An offset at or past the end gives no records.
    fn read(&self, topic: &str, partition: i32, offset: i64, max: usize) -> Result<Vec<Record>>;

    /// [`TopicBackend::read`] appending to `out`: a consumer that polls in a loop reuses one
    /// buffer instead of allocating (and faulting in) a fresh one per poll.
    fn read_into(&self, topic: &str, partition: i32, offset: i64, max: usize, out: &mut Vec<Record>) -> Result<()> {
        out.extend(self.read(topic, partition, offset, max)?);
        Ok(())
    }

    /// The offset the next record of the partition will get.
    fn end_offset(&self, topic: &str, partition: i32) -> Result<i64>;

    /// The first offset still readable in the partition.
    fn start_offset(&self, topic: &str, partition: i32) -> Result<i64>;

    /// Makes everything produced so far durable.
    fn flush(&self) -> Result<()>;

    /// Stores a consumer group's next offset for a partition (durably).
    fn commit_offsets(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<()>;

    /// A consumer group's committed next offset for a partition, `None` if never committed.
    fn committed_offset(&self, group: &str, topic: &str, partition: i32) -> Result<Option<i64>>;

    /// Blocks until some topic may have new records or `timeout` passes. Spurious wake-ups are
    /// allowed; callers re-check their partitions.
    fn wait_for_data(&self, timeout: Duration);

    /// Blocks until `topic` may have new records or `timeout` passes; by default, until any
    /// topic may. Spurious wake-ups are allowed.
    fn wait_for_topic(&self, topic: &str, timeout: Duration) {
        let _ = topic;
        self.wait_for_data(timeout);
    }
}

/// A shared handle on a backend.
pub type SharedBackend = Arc<dyn TopicBackend>;

/// Reads up to `max` records from a topic's partitions in turn, starting with partition
/// `*next` (an index into `positions`), and advances `positions` past what it returns; `*next`
/// moves on when `max` was reached, so that no partition starves.
pub fn read_round_robin(
    backend: &dyn TopicBackend,
    topic: &str,
    positions: &mut [(i32, i64)],
    next: &mut usize,
    max: usize,
) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    read_round_robin_into(backend, topic, positions, next, max, &mut records)?;
    Ok(records)
}

/// [`read_round_robin`] into a caller's buffer, which it clears first.
pub fn read_round_robin_into(
    backend: &dyn TopicBackend,
    topic: &str,
    positions: &mut [(i32, i64)],
    next: &mut usize,
    max: usize,
    records: &mut Vec<Record>,
) -> Result<()> {
    records.clear();
    let count = positions.len();
    for i in 0..count {
        let index = (*next + i) % count;
        let (partition, offset) = positions[index];
        let before = records.len();
        backend.read_into(topic, partition, offset, max - before, records)?;
        if records.len() > before
            && let Some(last) = records.last()
        {
            positions[index].1 = last.offset + 1;
        }
        if records.len() >= max {
            *next = (index + 1) % count;
            break;
        }
    }
    Ok(())
}
