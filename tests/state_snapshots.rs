//! Local state snapshots: a restarted aggregation loads its newest snapshot and replays only
//! the changelog written after it (nothing after a clean stop, which snapshots); a corrupt
//! snapshot is skipped (an older one, or the whole changelog, takes its place); either way the
//! table equals an uninterrupted run's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::manual_engine;
use rivulet::engine::{Engine, StatementResult};
use rivulet::topic::ProducerRecord;

const SETUP: &str = "
    CREATE STREAM readings (sensor VARCHAR KEY, v BIGINT) WITH (KAFKA_TOPIC='readings', VALUE_FORMAT='DELIMITED', PARTITIONS=1);
    CREATE TABLE totals AS SELECT sensor, COUNT(*) AS n, SUM(v) AS total FROM readings GROUP BY sensor EMIT CHANGES;";

const KEYS: usize = 20_000;
const RECORDS: usize = 60_000;
const STEP: usize = 5_000;

fn engine(dir: Option<&Path>) -> Engine {
    // A snapshot once the changelog grew by the state's size (20,000 groups), never by time.
    manual_engine(
        dir,
        &[("rivulet.state.snapshot.min.records", "1000"), ("rivulet.state.snapshot.interval.ms", "3600000")],
    )
}

/// Writes records `range` of the input: sensor `i * 7919 % keys`, value `i % 1000`.
fn produce(engine: &Engine, range: std::ops::Range<usize>, keys: usize) {
    let records: Vec<ProducerRecord> = range
        .map(|i| ProducerRecord {
            timestamp: i as i64,
            key: Some(format!("s{}", (i * 7919) % keys).into_bytes().into()),
            value: Some((i % 1000).to_string().into_bytes().into()),
            ..Default::default()
        })
        .collect();
    engine.backend().produce("readings", records).unwrap();
    engine.backend().flush().unwrap();
}

fn table(engine: &Engine) -> Vec<Vec<serde_json::Value>> {
    let StatementResult::Rows { mut rows, .. } = engine.execute("SELECT * FROM totals;").unwrap().pop().unwrap() else {
        panic!("pull query returned no rows")
    };
    rows.sort_by_key(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>());
    rows
}

/// The same input, aggregated by an engine that never stops.
fn uninterrupted(phases: &[(std::ops::Range<usize>, usize)]) -> Vec<Vec<serde_json::Value>> {
    let engine = engine(None);
    engine.execute(SETUP).unwrap();
    for (range, keys) in phases {
        produce(&engine, range.clone(), *keys);
        engine.run_to_completion(STEP).unwrap();
    }
    table(&engine)
}

fn changelog_end(engine: &Engine) -> i64 {
    let backend = engine.backend();
    let topic = backend
        .list_topics()
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .find(|t| t.ends_with("-changelog"))
        .expect("the aggregation has a changelog topic");
    backend.end_offset(&topic, 0).unwrap()
}

/// The snapshot files of the one aggregation, oldest first.
fn snapshot_files(dir: &Path) -> Vec<PathBuf> {
    let queries: Vec<PathBuf> = std::fs::read_dir(dir.join("state")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(queries.len(), 1, "one query keeps snapshots: {queries:?}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&queries[0]).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn corrupt(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

/// Runs the first phase (60,000 records over 20,000 keys) in a fresh engine on `dir`.
fn first_phase(dir: &Path) {
    let engine = engine(Some(dir));
    engine.execute(SETUP).unwrap();
    produce(&engine, 0..RECORDS, KEYS);
    engine.run_to_completion(STEP).unwrap();
    assert!(engine.restore_stats("totals").unwrap().checkpoint.is_none(), "a new query restores nothing");
}

#[test]
fn restart_loads_the_snapshot_and_replays_only_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    first_phase(dir.path());
    let (snapshotted_at, changelog_after_tail) = {
        // A clean stop snapshotted everything: nothing to replay.
        let engine = engine(Some(dir.path()));
        let stats = engine.restore_stats("totals").unwrap();
        let end = changelog_end(&engine);
        assert!(end > 2 * KEYS as i64, "the changelog holds more than the state: {end}");
        assert_eq!(stats.snapshot_offset, Some(end));
        assert_eq!(stats.snapshot_entries, KEYS as u64);
        assert_eq!(stats.replayed_records, 0);
        assert_eq!(table(&engine), uninterrupted(&[(0..RECORDS, KEYS)]));
        // A tail: 50 records on 50 keys, half of them new; too few for a snapshot of its own.
        produce(&engine, RECORDS..RECORDS + 50, KEYS + 25);
        engine.run_to_completion(STEP).unwrap();
        (end, changelog_end(&engine))
    };
    // As after a crash: the snapshot the stop wrote is not there.
    let files = snapshot_files(dir.path());
    let newest: i64 = files.last().unwrap().file_stem().unwrap().to_str().unwrap().parse().unwrap();
    assert_eq!(newest, changelog_after_tail);
    std::fs::remove_file(files.last().unwrap()).unwrap();

    let engine = engine(Some(dir.path()));
    let stats = engine.restore_stats("totals").unwrap();
    assert_eq!(stats.snapshot_offset, Some(snapshotted_at));
    assert_eq!(stats.replayed_records, (changelog_after_tail - snapshotted_at) as u64);
    assert_eq!(stats.replayed_records, 51, "50 group entries and their checkpoint");
    assert!(!stats.fell_back);
    let phases = [(0..RECORDS, KEYS), (RECORDS..RECORDS + 50, KEYS + 25)];
    assert_eq!(table(&engine), uninterrupted(&phases));

    // And it goes on from there as if it had never stopped.
    produce(&engine, RECORDS + 50..RECORDS + 5_000, KEYS);
    engine.run_to_completion(STEP).unwrap();
    let phases = [(0..RECORDS, KEYS), (RECORDS..RECORDS + 50, KEYS + 25), (RECORDS + 50..RECORDS + 5_000, KEYS)];
    assert_eq!(table(&engine), uninterrupted(&phases));
}

#[test]
fn a_corrupt_snapshot_falls_back_to_an_older_one_then_to_the_changelog() {
    let dir = tempfile::tempdir().unwrap();
    first_phase(dir.path());
    let expected = uninterrupted(&[(0..RECORDS, KEYS)]);
    let files = snapshot_files(dir.path());
    assert_eq!(files.len(), 2, "the newest two snapshots are kept: {files:?}");

    // The newest (the stop's) is corrupt: the one before it, written while the query ran
    // (once the changelog had grown by the state's size), is loaded and the changelog after
    // it replayed.
    corrupt(&files[1]);
    {
        let engine = engine(Some(dir.path()));
        let stats = engine.restore_stats("totals").unwrap();
        let older: i64 = files[0].file_stem().unwrap().to_str().unwrap().parse().unwrap();
        let end = changelog_end(&engine);
        assert_eq!(stats.snapshot_offset, Some(older));
        assert!(older < end);
        assert_eq!(stats.replayed_records, (end - older) as u64);
        assert!(stats.replayed_records < KEYS as u64, "replayed {} of {end}", stats.replayed_records);
        assert_eq!(table(&engine), expected);
    }

    corrupt(&files[0]);
    let engine = engine(Some(dir.path()));
    let stats = engine.restore_stats("totals").unwrap();
    assert_eq!(stats.snapshot_offset, None);
    assert!(stats.fell_back);
    assert!(stats.replayed_records > KEYS as u64, "the whole changelog: {}", stats.replayed_records);
    assert_eq!(table(&engine), expected);
}

#[test]
fn terminate_removes_the_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    first_phase(dir.path());
    let engine = engine(Some(dir.path()));
    assert!(!snapshot_files(dir.path()).is_empty());
    let id = engine.catalog().queries().next().unwrap().id.clone();
    engine.execute(&format!("TERMINATE {id};")).unwrap();
    assert!(!dir.path().join("state").join(&id).exists());
}

#[test]
fn a_memory_engine_writes_no_snapshots() {
    let engine = engine(None);
    engine.execute(SETUP).unwrap();
    produce(&engine, 0..10_000, 100);
    engine.run_to_completion(STEP).unwrap();
    let stats = engine.restore_stats("totals").unwrap();
    assert_eq!(stats, rivulet::state::RestoreStats::default());
}
