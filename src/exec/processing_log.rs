//! The processing log: where records that could not be processed go.
//!
//! A record that does not decode, or whose expressions fail, is skipped; the query keeps
//! running. Each such event is counted, logged with `tracing`, and appended as a JSON record to
//! the processing-log topic, so users can see what was dropped and why (ksqlDB's
//! `KSQL_PROCESSING_LOG`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::topic::{ProducerRecord, Record, SharedBackend, TopicConfig};

/// The topic processing-log entries are written to.
pub const PROCESSING_LOG_TOPIC: &str = "rivulet_processing_log";

/// A handle on the processing log for one query (cheap to clone).
#[derive(Clone)]
pub struct ProcessingLog {
    backend: SharedBackend,
    query_id: Arc<str>,
    errors: Arc<AtomicU64>,
}

impl ProcessingLog {
    /// A log for the query `query_id`.
    pub fn new(backend: SharedBackend, query_id: &str) -> Self {
        Self { backend, query_id: Arc::from(query_id), errors: Arc::new(AtomicU64::new(0)) }
    }

    /// Records that `record` of `topic` was skipped because of `message`.
    pub fn record_error(&self, topic: &str, record: &Record, message: &str) {
        self.write(serde_json::json!({
            "queryId": &*self.query_id,
            "topic": topic,
            "partition": record.partition,
            "offset": record.offset,
            "message": message,
        }));
    }

    /// Records that a row (already decoded) was skipped because of `message`.
    pub fn row_error(&self, topic: &str, partition: i32, offset: i64, message: &str) {
        self.write(serde_json::json!({
            "queryId": &*self.query_id,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "message": message,
        }));
    }

    fn write(&self, entry: serde_json::Value) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(query = %self.query_id, entry = %entry, "record skipped");
        let value = entry.to_string().into_bytes();
        let record = ProducerRecord { value: Some(value.into()), ..Default::default() };
        // The processing log is best effort: failing to write it must not stop the query.
        let _ = self.backend.create_topic(PROCESSING_LOG_TOPIC, &TopicConfig::default());
        if let Err(e) = self.backend.produce(PROCESSING_LOG_TOPIC, vec![record]) {
            tracing::error!(error = %e, "could not write the processing log");
        }
    }

    /// How many records this query skipped.
    pub fn error_count(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}
