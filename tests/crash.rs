//! Crash test: a windowed aggregation over 1,000,000 records, its process killed with SIGKILL
//! at random points three times and restarted each time, ends with the same table as an
//! uninterrupted run, and its output topic's latest row per windowed key agrees with it. A
//! stateless persistent query killed the same way loses no record.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::manual_engine;
use rivulet::engine::{Engine, StatementResult};
use rivulet::topic::ProducerRecord;

const RECORDS: usize = 1_000_000;
const KEYS: usize = 100;

const SETUP: &str = "
    CREATE STREAM readings (sensor VARCHAR KEY, v BIGINT) WITH (KAFKA_TOPIC='readings', VALUE_FORMAT='DELIMITED', PARTITIONS=2);
    CREATE TABLE per_window AS SELECT sensor, COUNT(*) AS n, SUM(v) AS total FROM readings
      WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY sensor EMIT CHANGES;
    CREATE STREAM copied AS SELECT sensor, v FROM readings WHERE v % 7 = 0;";

/// Creates the sources and queries and writes the input, without running the queries.
fn prepare(dir: &Path) {
    let engine = manual_engine(Some(dir), &[]);
    engine.execute(SETUP).unwrap();
    let backend = engine.backend();
    let mut batch = Vec::with_capacity(50_000);
    for i in 0..RECORDS {
        let sensor = format!("s{}", (i * 7919) % KEYS);
        batch.push(ProducerRecord {
            timestamp: (i as i64) * 3,
            key: Some(sensor.into_bytes().into()),
            value: Some((i % 1000).to_string().into_bytes().into()),
            ..Default::default()
        });
        if batch.len() == 50_000 {
            backend.produce("readings", std::mem::take(&mut batch)).unwrap();
        }
    }
    backend.flush().unwrap();
    engine.shutdown();
}

fn rivulet(dir: &Path, script: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rivulet"));
    command.arg("--data-dir").arg(dir).arg("run").arg("--until-idle").arg(script);
    command.env("RUST_LOG", "warn");
    command
}

/// What a run left: the table as a pull query sees it (sorted), and the records of the
/// aggregation's and the stateless query's output topics.
struct Outcome {
    table: Vec<Vec<serde_json::Value>>,
    per_window: Vec<Record>,
    copied: Vec<Record>,
}

type Record = (i32, Option<Vec<u8>>, Option<Vec<u8>>);

fn outcome(dir: &Path) -> Outcome {
    let engine = manual_engine(Some(dir), &[]);
    Outcome { table: table(&engine), per_window: topic(&engine, "PER_WINDOW"), copied: topic(&engine, "COPIED") }
}

/// The table as a pull query sees it, sorted.
fn table(engine: &Engine) -> Vec<Vec<serde_json::Value>> {
    let StatementResult::Rows { mut rows, .. } = engine.execute("SELECT * FROM per_window;").unwrap().pop().unwrap()
    else {
        panic!("pull query returned no rows")
    };
    rows.sort_by_key(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>());
    rows
}

/// Every record of a topic: (partition, key, value).
fn topic(engine: &Engine, name: &str) -> Vec<Record> {
    let backend = engine.backend();
    let partitions = backend.describe_topic(name).unwrap().unwrap().config.partitions;
    let mut out = Vec::new();
    for p in 0..partitions {
        let mut offset = backend.start_offset(name, p).unwrap();
        loop {
            let records = backend.read(name, p, offset, 100_000).unwrap();
            let Some(last) = records.last() else { break };
            offset = last.offset + 1;
            out.extend(records.into_iter().map(|r| (p, r.key.map(|k| k.to_vec()), r.value.map(|v| v.to_vec()))));
        }
    }
    out
}

/// The latest value per key of a topic.
fn latest(records: &[Record]) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    records.iter().map(|(_, k, v)| (k.clone().unwrap_or_default(), v.clone())).collect()
}

/// A small deterministic generator, seeded from the clock (printed so a failure can be
/// reproduced).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn kill_dash_nine_three_times_loses_and_double_counts_nothing() {
    let root = tempfile::tempdir().unwrap();
    let script = root.path().join("empty.sql");
    std::fs::write(&script, "SHOW QUERIES;").unwrap();
    let (calm, crashed) = (root.path().join("calm"), root.path().join("crashed"));
    prepare(&calm);
    prepare(&crashed);

    // The uninterrupted run, timed to aim the kills inside it.
    let started = Instant::now();
    let status = rivulet(&calm, &script).output().unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let full = started.elapsed();

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("crash test seed {seed}, uninterrupted run {full:?}");
    let mut random = Lcg(seed);
    let mut killed = 0;
    for _ in 0..3 {
        let mut child = rivulet(&crashed, &script).spawn().unwrap();
        // Somewhere in the first 80% of a full run: restarts start from a checkpoint, so
        // later kills still land mid-way.
        let delay = 50 + random.next((full.as_millis() as u64 * 8 / 10).max(1));
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(killed > 0, "every run finished before its kill; the test proves nothing");
    let status = rivulet(&crashed, &script).output().unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));

    let (calm, crashed) = (outcome(&calm), outcome(&crashed));

    // The table: same rows, so no window's count is short (or long).
    let total: i64 = calm.table.iter().map(|r| r[3].as_i64().unwrap()).sum();
    assert_eq!(total, RECORDS as i64, "the uninterrupted run counted every record");
    assert_eq!(crashed.table, calm.table);

    // The output topic: duplicates are allowed (at-least-once), but its latest row per
    // windowed key is the table's.
    assert_eq!(latest(&crashed.per_window), latest(&calm.per_window));

    // The stateless query: every expected record is there, in order per key.
    let distinct: BTreeSet<_> = crashed.copied.iter().collect();
    assert_eq!(distinct, calm.copied.iter().collect::<BTreeSet<_>>(), "a record is missing or foreign");
    let per_key = |records: &[Record]| {
        let mut map: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
        for (_, k, v) in records {
            map.entry(k.clone().unwrap_or_default()).or_default().push(v.clone().unwrap_or_default());
        }
        map
    };
    let (want, have) = (per_key(&calm.copied), per_key(&crashed.copied));
    for (key, values) in &want {
        // A replay after a crash repeats a suffix of what was written, so the expected values
        // must appear in order as a subsequence.
        let mut it = have[key].iter();
        for v in values {
            assert!(it.any(|h| h == v), "key {:?}: a value is missing or out of order", String::from_utf8_lossy(key));
        }
    }
}
