//! A stateful query's changelog topic: state entries plus checkpoints.
//!
//! Record keys start with a tag byte so that entries of different kinds never collide under
//! compaction: `G` a group of an aggregation, `T` a row of a table source, `C` the checkpoint.
//! A tombstone deletes an entry. The checkpoint's value is JSON: the source offsets, stream
//! time and sequence counter the state before it reflects (see the module doc of `state`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::topic::{CleanupPolicy, ProducerRecord, SharedBackend, TopicConfig};

/// Tag of aggregation group entries.
pub const GROUP: u8 = b'G';
/// Tag of table-source row entries.
pub const TABLE_ROW: u8 = b'T';
const CHECKPOINT: u8 = b'C';

/// Where the state stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Next offset to read, per source partition.
    pub positions: Vec<(i32, i64)>,
    /// Largest event time seen.
    pub stream_time: i64,
    /// Rows processed so far (EARLIEST/LATEST_BY_OFFSET order by it).
    pub seq: i64,
}

/// The name of a query's changelog topic (ksqlDB's naming, so operators recognise it).
pub fn topic_name(query_id: &str) -> String {
    format!("_confluent-ksql-default_query_{query_id}-Aggregate-Aggregate-Materialize-changelog")
}

/// The name of a query's GROUP BY repartition topic (ksqlDB's naming).
pub fn repartition_topic_name(query_id: &str) -> String {
    format!("_confluent-ksql-default_query_{query_id}-Aggregate-GroupBy-repartition")
}

/// Buffers state changes and writes them, with a checkpoint, to the changelog topic.
pub struct Changelog {
    backend: SharedBackend,
    topic: String,
    pending: Vec<ProducerRecord>,
}

impl Changelog {
    /// Opens (creating when missing) the changelog topic of `query_id`.
    pub fn open(backend: SharedBackend, query_id: &str) -> Result<Self> {
        let topic = topic_name(query_id);
        if backend.describe_topic(&topic)?.is_none() {
            let config = TopicConfig { cleanup_policy: CleanupPolicy::Compact, ..TopicConfig::default() };
            backend.create_topic(&topic, &config)?;
        }
        Ok(Self { backend, topic, pending: Vec::new() })
    }

    /// The topic written.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Records an entry (`None` deletes it).
    pub fn put(&mut self, tag: u8, key: &[u8], value: Option<Vec<u8>>) {
        let mut k = Vec::with_capacity(key.len() + 1);
        k.push(tag);
        k.extend_from_slice(key);
        self.pending.push(ProducerRecord {
            partition: Some(0),
            timestamp: 0,
            key: Some(k.into()),
            value: value.map(Into::into),
            headers: Vec::new(),
        });
    }

    /// Writes the buffered entries followed by `checkpoint`. The caller flushes the backend
    /// before it commits anything that depends on them.
    pub fn checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let value =
            serde_json::to_vec(checkpoint).map_err(|e| Error::internal(format!("cannot encode a checkpoint: {e}")))?;
        self.pending.push(ProducerRecord {
            partition: Some(0),
            timestamp: 0,
            key: Some(crate::topic::Bytes::from_static(&[CHECKPOINT])),
            value: Some(value.into()),
            headers: Vec::new(),
        });
        let records = std::mem::take(&mut self.pending);
        self.backend.produce(&self.topic, records)?;
        Ok(())
    }
}

/// What a changelog holds as of its last checkpoint.
#[derive(Debug, Default)]
pub struct Restored {
    /// Live entries by tag and key (without the tag byte).
    pub entries: HashMap<(u8, Vec<u8>), Vec<u8>>,
    pub checkpoint: Option<Checkpoint>,
}

/// Reads a query's changelog; entries written after the last checkpoint are left out.
pub fn restore(backend: &SharedBackend, query_id: &str) -> Result<Restored> {
    let topic = topic_name(query_id);
    let mut restored = Restored::default();
    if backend.describe_topic(&topic)?.is_none() {
        return Ok(restored);
    }
    let end = backend.end_offset(&topic, 0)?;
    let mut offset = backend.start_offset(&topic, 0)?;
    // Entries since the last checkpoint, applied when the next checkpoint shows up.
    let mut tail: Vec<(u8, Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    while offset < end {
        let records = backend.read(&topic, 0, offset, 65_536)?;
        let Some(last) = records.last() else { break };
        offset = last.offset + 1;
        for record in records {
            let Some(key) = record.key else { continue };
            let Some((&tag, rest)) = key.split_first() else { continue };
            if tag == CHECKPOINT {
                for (tag, key, value) in tail.drain(..) {
                    match value {
                        Some(v) => restored.entries.insert((tag, key), v),
                        None => restored.entries.remove(&(tag, key)),
                    };
                }
                if let Some(value) = record.value {
                    restored.checkpoint = Some(
                        serde_json::from_slice(&value)
                            .map_err(|e| Error::internal(format!("unreadable checkpoint in {topic}: {e}")))?,
                    );
                }
            } else {
                tail.push((tag, rest.to_vec(), record.value.map(|v| v.to_vec())));
            }
        }
    }
    if !tail.is_empty() {
        tracing::info!(topic, entries = tail.len(), "ignoring changelog entries written after the last checkpoint");
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::topic::embedded::EmbeddedLog;

    #[test]
    fn restore_applies_entries_up_to_the_last_checkpoint() {
        let backend: SharedBackend = Arc::new(EmbeddedLog::in_memory());
        let mut log = Changelog::open(backend.clone(), "Q1").unwrap();
        log.put(GROUP, b"a", Some(b"1".to_vec()));
        log.put(GROUP, b"b", Some(b"2".to_vec()));
        log.checkpoint(&Checkpoint { positions: vec![(0, 2)], stream_time: 5, seq: 2 }).unwrap();
        log.put(GROUP, b"a", None);
        log.checkpoint(&Checkpoint { positions: vec![(0, 3)], stream_time: 6, seq: 3 }).unwrap();
        // A batch cut short: entries without their checkpoint.
        backend
            .produce(
                &topic_name("Q1"),
                vec![ProducerRecord {
                    partition: Some(0),
                    key: Some(crate::topic::Bytes::from_static(b"Gb")),
                    value: Some(crate::topic::Bytes::from_static(b"99")),
                    ..Default::default()
                }],
            )
            .unwrap();
        let restored = restore(&backend, "Q1").unwrap();
        assert_eq!(restored.checkpoint.unwrap().positions, vec![(0, 3)]);
        assert_eq!(restored.entries.len(), 1);
        assert_eq!(restored.entries.get(&(GROUP, b"b".to_vec())), Some(&b"2".to_vec()));
    }

    #[test]
    fn no_changelog_restores_nothing() {
        let backend: SharedBackend = Arc::new(EmbeddedLog::in_memory());
        let restored = restore(&backend, "Q9").unwrap();
        assert!(restored.checkpoint.is_none() && restored.entries.is_empty());
    }
}
