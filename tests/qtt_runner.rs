//! End-to-end tests of the QTT runner (`rivulet test`) through its library entry point.
//!
//! The cases that execute statements need the engine's streams, projections, filters and JSON
//! format (all there since the first engine milestone).

// A test crate: a failed setup step should abort the test loudly.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use rivulet::testing::{RunOptions, run};

fn write_case(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run_to_string(paths: &[PathBuf], options: &RunOptions) -> (rivulet::testing::Summary, String) {
    let mut out = Vec::new();
    let summary = run(paths, options, &mut out).unwrap();
    (summary, String::from_utf8(out).unwrap())
}

#[test]
fn skipped_cases_need_no_engine() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_case(
        &dir,
        "skips.json",
        r#"{"tests": [
            {"name": "disabled", "enabled": false, "statements": ["CREATE STREAM S (V INT) WITH (kafka_topic='t', value_format='JSON');"]},
            {"name": "avro", "statements": ["CREATE STREAM S (V INT) WITH (kafka_topic='t', value_format='AVRO');"]}
        ]}"#,
    );
    let (summary, text) = run_to_string(&[path], &RunOptions::default());
    assert_eq!((summary.passed, summary.failed, summary.skipped), (0, 0, 2));
    assert!(summary.success());
    assert_eq!(text.lines().last(), Some("0 passed, 0 failed, 2 skipped"));
}

#[test]
fn a_filter_case_passes_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_case(
        &dir,
        "filter.json",
        r#"{
          // comments are allowed, as in ksqlDB's files
          "tests": [{
            "name": "filter",
            "format": ["JSON"],
            "statements": [
              "CREATE STREAM INPUT (ID INT KEY, NAME STRING, V BIGINT) WITH (kafka_topic='input', format='{FORMAT}');",
              "CREATE STREAM OUTPUT AS SELECT ID, NAME, V * 2 AS DOUBLED FROM INPUT WHERE V > 1;"
            ],
            "inputs": [
              {"topic": "input", "key": 1, "value": {"NAME": "a", "V": 1}, "timestamp": 10},
              {"topic": "input", "key": 2, "value": {"NAME": "b", "V": 2}, "timestamp": 20}
            ],
            "outputs": [
              {"topic": "OUTPUT", "key": 2, "value": {"NAME": "b", "DOUBLED": 4}, "timestamp": 20}
            ],
            "post": {"sources": [{"name": "OUTPUT", "type": "stream", "schema": "ID INT KEY, NAME STRING, DOUBLED BIGINT"}]}
          }, {
            "name": "wrong expectation",
            "statements": [
              "CREATE STREAM INPUT (ID INT KEY, V BIGINT) WITH (kafka_topic='input', format='JSON');",
              "CREATE STREAM OUTPUT AS SELECT * FROM INPUT;"
            ],
            "inputs": [{"topic": "input", "key": 1, "value": {"V": 1}}],
            "outputs": [{"topic": "OUTPUT", "key": 1, "value": {"V": 2}}]
          }]
        }"#,
    );
    let (summary, text) = run_to_string(&[path], &RunOptions::default());
    assert_eq!((summary.passed, summary.failed), (1, 1), "{text}");
    assert!(text.contains("FAIL filter - wrong expectation: topic 'OUTPUT' record #1: value differs"), "{text}");
    assert!(!summary.success());
}

// The project's own declarative cases must all pass (scripts/test.sh runs them too).
#[test]
fn the_project_cases_pass() {
    let cases = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let (summary, text) = run_to_string(&[cases], &RunOptions::default());
    assert_eq!(summary.failed, 0, "{text}");
}
