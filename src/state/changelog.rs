//! A stateful query's changelog topic: state entries plus checkpoints.
//!
//! Record keys start with a tag byte so that entries of different kinds never collide under
//! compaction: `G` a group of an aggregation, `T` a row of a table source, `C` the checkpoint.
//! A tombstone deletes an entry. The checkpoint's value is JSON: the source offsets, stream
//! time and sequence counter the state before it reflects (see the module doc of `state`).
//!
//! [`replay`] applies a changelog, or the part of it after a snapshot, to a [`StateStore`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state::store::{Entry, StateStore};
use crate::topic::{CleanupPolicy, ProducerRecord, SharedBackend, TopicConfig};

/// Tag of aggregation group entries.
pub const GROUP: u8 = b'G';
/// Tag of table-source row entries.
pub const TABLE_ROW: u8 = b'T';
const CHECKPOINT: u8 = b'C';

/// Where the state stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Next offset to read, per source partition (of a join's left side, when the state is
    /// an aggregation of a join).
    pub positions: Vec<(i32, i64)>,
    /// Next offset to read, per partition of a join's right side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub right_positions: Vec<(i32, i64)>,
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
    /// Records written so far (entries and checkpoints): what snapshots are scheduled by.
    written: u64,
}

impl Changelog {
    /// Opens (creating when missing) the changelog topic of `query_id`.
    pub fn open(backend: SharedBackend, query_id: &str) -> Result<Self> {
        let topic = topic_name(query_id);
        if backend.describe_topic(&topic)?.is_none() {
            let config = TopicConfig { cleanup_policy: CleanupPolicy::Compact, ..TopicConfig::default() };
            backend.create_topic(&topic, &config)?;
        }
        Ok(Self { backend, topic, pending: Vec::new(), written: 0 })
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
        self.written += records.len() as u64;
        self.backend.produce(&self.topic, records)?;
        Ok(())
    }

    /// Records written since this changelog was opened.
    pub fn written(&self) -> u64 {
        self.written
    }
}

/// What replaying a changelog found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The last checkpoint replayed (`None`: the part replayed held none).
    pub checkpoint: Option<Checkpoint>,
    /// Changelog records read and applied, checkpoints included.
    pub records: u64,
    /// The changelog's end offset when the replay started.
    pub end_offset: i64,
}

/// Records read from the changelog at a time.
const READ_BATCH: usize = 65_536;

/// The changelog's end offset (0 when the topic does not exist).
pub fn end_offset(backend: &SharedBackend, query_id: &str) -> Result<i64> {
    let topic = topic_name(query_id);
    if backend.describe_topic(&topic)?.is_none() {
        return Ok(0);
    }
    backend.end_offset(&topic, 0)
}

/// Applies a query's changelog from offset `from` (its start, if later) to `store`, up to and
/// including its last checkpoint; entries written after that (a batch cut short by a crash)
/// are left out.
///
/// Entries go to the store in order, a chunk at a time, as they are read, so that replaying a
/// changelog of millions of entries holds one chunk of them. That needs the last checkpoint's
/// offset up front: it is found first by scanning back from the end (it is normally among the
/// last batch's records). Compaction keeps only the newest checkpoint record, so the entries
/// before it may repeat a key; a chunk keeps only each key's last entry.
pub fn replay(backend: &SharedBackend, query_id: &str, from: i64, store: &mut dyn StateStore) -> Result<Replay> {
    let topic = topic_name(query_id);
    let mut replay = Replay::default();
    if backend.describe_topic(&topic)?.is_none() {
        return Ok(replay);
    }
    let end = backend.end_offset(&topic, 0)?;
    replay.end_offset = end;
    let from = from.max(backend.start_offset(&topic, 0)?);
    let Some(last_checkpoint) = last_checkpoint(backend, &topic, from, end)? else {
        if from < end {
            tracing::info!(topic, from, end, "no checkpoint in the changelog's tail: nothing to replay");
        }
        return Ok(replay);
    };
    let mut offset = from;
    let mut chunk: Vec<Entry> = Vec::new();
    let mut at: HashMap<(u8, Vec<u8>), usize> = HashMap::new();
    'read: while offset <= last_checkpoint {
        let records = backend.read(&topic, 0, offset, READ_BATCH)?;
        let Some(last) = records.last() else { break };
        offset = last.offset + 1;
        for record in records {
            if record.offset > last_checkpoint {
                break 'read;
            }
            replay.records += 1;
            let Some(key) = record.key else { continue };
            let Some((&tag, rest)) = key.split_first() else { continue };
            if tag == CHECKPOINT {
                if record.offset == last_checkpoint
                    && let Some(value) = record.value
                {
                    replay.checkpoint = Some(
                        serde_json::from_slice(&value)
                            .map_err(|e| Error::internal(format!("unreadable checkpoint in {topic}: {e}")))?,
                    );
                }
                continue;
            }
            let entry = Entry { tag, key: rest.to_vec(), value: record.value.map(|v| v.to_vec()) };
            match at.get(&(tag, entry.key.clone())) {
                Some(&i) => chunk[i] = entry,
                None => {
                    at.insert((tag, entry.key.clone()), chunk.len());
                    chunk.push(entry);
                }
            }
        }
        if chunk.len() >= READ_BATCH {
            at.clear();
            store.apply(std::mem::take(&mut chunk))?;
        }
    }
    if !chunk.is_empty() {
        store.apply(chunk)?;
    }
    if last_checkpoint + 1 < end {
        tracing::info!(
            topic,
            records = end - last_checkpoint - 1,
            "ignoring changelog entries written after the last checkpoint"
        );
    }
    Ok(replay)
}

/// The offset of the last checkpoint record in `from..end`, scanning back from the end in
/// growing windows.
fn last_checkpoint(backend: &SharedBackend, topic: &str, from: i64, end: i64) -> Result<Option<i64>> {
    let mut window = READ_BATCH as i64;
    let mut upper = end;
    while upper > from {
        let lower = upper.saturating_sub(window).max(from);
        let mut found = None;
        let mut offset = lower;
        while offset < upper {
            let records = backend.read(topic, 0, offset, READ_BATCH)?;
            let Some(last) = records.last() else { break };
            offset = last.offset + 1;
            for record in records.iter().filter(|r| r.offset < upper) {
                if record.key.as_deref() == Some(&[CHECKPOINT][..]) {
                    found = Some(record.offset);
                }
            }
        }
        if found.is_some() {
            return Ok(found);
        }
        upper = lower;
        window = window.saturating_mul(4);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::state::store::MemoryStore;
    use crate::topic::embedded::EmbeddedLog;

    fn raw(backend: &SharedBackend, key: &'static [u8], value: &'static [u8]) {
        let record = ProducerRecord {
            partition: Some(0),
            key: Some(crate::topic::Bytes::from_static(key)),
            value: Some(crate::topic::Bytes::from_static(value)),
            ..Default::default()
        };
        backend.produce(&topic_name("Q1"), vec![record]).unwrap();
    }

    #[test]
    fn replay_applies_entries_up_to_the_last_checkpoint() {
        let backend: SharedBackend = Arc::new(EmbeddedLog::in_memory());
        let mut log = Changelog::open(backend.clone(), "Q1").unwrap();
        log.put(GROUP, b"a", Some(b"1".to_vec()));
        log.put(GROUP, b"b", Some(b"2".to_vec()));
        log.checkpoint(&Checkpoint { positions: vec![(0, 2)], stream_time: 5, seq: 2, ..Default::default() }).unwrap();
        log.put(GROUP, b"a", None);
        log.checkpoint(&Checkpoint { positions: vec![(0, 3)], stream_time: 6, seq: 3, ..Default::default() }).unwrap();
        assert_eq!(log.written(), 5);
        // A batch cut short: entries without their checkpoint.
        raw(&backend, b"Gb", b"99");
        let mut store = MemoryStore::default();
        let replay = replay(&backend, "Q1", 0, &mut store).unwrap();
        assert_eq!(replay.checkpoint.unwrap().positions, vec![(0, 3)]);
        assert_eq!((replay.records, replay.end_offset), (5, 6));
        assert_eq!(store.entry_count(), 1);
        assert_eq!(store.get(GROUP, b"b"), Some(&b"2"[..]));

        // From an offset (after a snapshot): only what follows is applied.
        let mut tail = MemoryStore::default();
        tail.put(GROUP, b"a", Some(b"1".to_vec()));
        let replay = super::replay(&backend, "Q1", 3, &mut tail).unwrap();
        assert_eq!(replay.records, 2);
        assert_eq!(tail.entry_count(), 0);
    }

    #[test]
    fn replay_of_a_compacted_changelog_takes_each_keys_last_entry() {
        // Compaction leaves one checkpoint (the newest) after entries that repeat keys.
        let backend: SharedBackend = Arc::new(EmbeddedLog::in_memory());
        Changelog::open(backend.clone(), "Q1").unwrap();
        raw(&backend, b"Ga", b"1");
        raw(&backend, b"Gb", b"1");
        raw(&backend, b"Ga", b"2");
        raw(&backend, b"C", br#"{"positions":[[0,9]],"stream_time":1,"seq":9}"#);
        let mut store = MemoryStore::default();
        let replay = replay(&backend, "Q1", 0, &mut store).unwrap();
        assert_eq!(replay.checkpoint.unwrap().seq, 9);
        assert_eq!(store.get(GROUP, b"a"), Some(&b"2"[..]));
        assert_eq!(store.entry_count(), 2);
    }

    #[test]
    fn no_changelog_restores_nothing() {
        let backend: SharedBackend = Arc::new(EmbeddedLog::in_memory());
        let mut store = MemoryStore::default();
        let replay = replay(&backend, "Q9", 0, &mut store).unwrap();
        assert!(replay.checkpoint.is_none() && store.entry_count() == 0);
    }
}
