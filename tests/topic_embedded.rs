//! The embedded log through the public API only, as the engine uses it: a shared
//! `Arc<dyn TopicBackend>`, producers and a consumer on different threads, and a consumer
//! group that resumes from its committed offsets after a restart.

// Helpers outside `#[test]` functions are test code too: failing loudly is what we want.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rivulet::topic::embedded::{EmbeddedLog, LogOptions};
use rivulet::topic::{CleanupPolicy, ProducerRecord, SharedBackend, TopicConfig};

fn record(key: &str, value: String, ts: i64) -> ProducerRecord {
    ProducerRecord {
        partition: None,
        timestamp: ts,
        key: Some(key.as_bytes().to_vec().into()),
        value: Some(value.into_bytes().into()),
        headers: vec![],
    }
}

/// Consumes `topic` from the group's committed offsets until `want` records arrived,
/// committing after every batch the way a query would.
fn consume(backend: &SharedBackend, group: &str, topic: &str, partitions: i32, want: usize) -> Vec<String> {
    let mut next: Vec<i64> =
        (0..partitions).map(|p| backend.committed_offset(group, topic, p).unwrap().unwrap_or(0)).collect();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < want {
        assert!(Instant::now() < deadline, "only {} of {want} records arrived", seen.len());
        let mut progressed = false;
        for p in 0..partitions {
            let records = backend.read(topic, p, next[p as usize], 100).unwrap();
            if let Some(last) = records.last() {
                next[p as usize] = last.offset + 1;
                backend.commit_offsets(group, &[(topic.to_string(), p, next[p as usize])]).unwrap();
                progressed = true;
            }
            seen.extend(records.into_iter().map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap()));
        }
        if !progressed {
            backend.wait_for_data(Duration::from_millis(50));
        }
    }
    seen
}

#[test]
fn a_consumer_sees_every_record_of_concurrent_producers() {
    let backend: SharedBackend = Arc::new(EmbeddedLog::in_memory());
    backend.create_topic("events", &TopicConfig { partitions: 4, ..TopicConfig::default() }).unwrap();
    let producers: Vec<_> = (0..3)
        .map(|t| {
            let backend = Arc::clone(&backend);
            thread::spawn(move || {
                for i in 0..200 {
                    let batch = (0..5).map(|j| record(&format!("k{j}"), format!("{t}-{i}-{j}"), i)).collect();
                    backend.produce("events", batch).unwrap();
                }
            })
        })
        .collect();
    let mut seen = consume(&backend, "g", "events", 4, 3000);
    for producer in producers {
        producer.join().unwrap();
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3000);
}

#[test]
fn a_consumer_group_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = LogOptions { segment_bytes: 4096 };
    {
        let backend: SharedBackend = Arc::new(EmbeddedLog::open_with(dir.path(), options.clone()).unwrap());
        let config = TopicConfig { partitions: 2, cleanup_policy: CleanupPolicy::Delete, ..TopicConfig::default() };
        backend.create_topic("orders", &config).unwrap();
        let batch = (0..1000).map(|i| record(&format!("o{i}"), format!("v{i}"), i)).collect();
        backend.produce("orders", batch).unwrap();
        backend.flush().unwrap();
        assert_eq!(consume(&backend, "q", "orders", 2, 1000).len(), 1000);
        // More records arrive after the consumer's last commit.
        let batch = (1000..1100).map(|i| record(&format!("o{i}"), format!("v{i}"), i)).collect();
        backend.produce("orders", batch).unwrap();
        backend.flush().unwrap();
    }
    let backend: SharedBackend = Arc::new(EmbeddedLog::open_with(dir.path(), options).unwrap());
    let mut rest = consume(&backend, "q", "orders", 2, 100);
    rest.sort();
    let mut expected: Vec<String> = (1000..1100).map(|i| format!("v{i}")).collect();
    expected.sort();
    assert_eq!(rest, expected);
}
