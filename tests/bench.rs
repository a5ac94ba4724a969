//! `rivulet bench` end to end: the input file is loaded (mapped), the query runs until the
//! input is consumed, the sink's rows are written, and the report line counts the events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const SQL: &str = "CREATE STREAM bids (auction BIGINT, price BIGINT, ts_ms BIGINT) \
    WITH (KAFKA_TOPIC='bids', VALUE_FORMAT='JSON', TIMESTAMP='ts_ms');
CREATE STREAM expensive WITH (KAFKA_TOPIC='expensive', VALUE_FORMAT='JSON') AS
  SELECT auction, price FROM bids WHERE price > 100 EMIT CHANGES;
";

fn bench(dir: &std::path::Path, input: &str) -> (String, Vec<String>) {
    let sql = dir.join("q.sql");
    let data = dir.join("in.jsonl");
    let out = dir.join("out.jsonl");
    std::fs::write(&sql, SQL).unwrap();
    std::fs::write(&data, input).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_rivulet"))
        .args(["bench", "--sql"])
        .arg(&sql)
        .arg("--input")
        .arg(format!("bids={}", data.display()))
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "bench failed: {}", String::from_utf8_lossy(&run.stderr));
    let report = String::from_utf8(run.stdout).unwrap();
    let rows = std::fs::read_to_string(&out).unwrap().lines().map(str::to_string).collect();
    (report, rows)
}

#[test]
fn bench_loads_every_line_and_writes_the_filtered_rows() {
    let dir = tempfile::tempdir().unwrap();
    // CRLF line ends, a blank line and a last line without a newline all load as records.
    let input = "{\"auction\":1,\"price\":50,\"ts_ms\":1000}\r\n\
                 {\"auction\":2,\"price\":500,\"ts_ms\":1001}\n\
                 \n\
                 {\"auction\":3,\"price\":5000,\"ts_ms\":1002}";
    let (report, rows) = bench(dir.path(), input);
    assert!(report.starts_with("events_per_s="), "{report}");
    assert!(report.contains(" rows_out=2 "), "{report}");
    assert_eq!(rows, vec!["{\"AUCTION\":2,\"PRICE\":500}", "{\"AUCTION\":3,\"PRICE\":5000}"]);
}

#[test]
fn bench_accepts_an_empty_input() {
    let dir = tempfile::tempdir().unwrap();
    let (report, rows) = bench(dir.path(), "");
    assert!(report.contains(" rows_out=0 "), "{report}");
    assert!(rows.is_empty());
}
