//! Joins end to end through `Engine::execute`: stream-stream windows, stream-table lookups,
//! table-table changelogs, and the planning errors ksqlDB gives.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rivulet::engine::{Engine, EngineConfig};

fn engine() -> Engine {
    Engine::open(EngineConfig { data_dir: None, background: false, ..Default::default() }).unwrap()
}

/// Runs each statement, letting the queries catch up after each one (one record at a time).
fn run(engine: &Engine, statements: &[&str]) {
    for s in statements {
        engine.execute(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        engine.run_until_idle().unwrap();
    }
}

/// Every record of `topic` as (key, value, timestamp) strings.
fn records(engine: &Engine, topic: &str) -> Vec<(String, String, i64)> {
    let records = engine.backend().read(topic, 0, 0, 1000).unwrap();
    records
        .into_iter()
        .map(|r| {
            let text = |b: Option<rivulet::topic::Bytes>| {
                b.map(|b| String::from_utf8(b.to_vec()).unwrap()).unwrap_or_else(|| "null".into())
            };
            // Keys here are BIGINTs in the KAFKA format: 8 bytes, big-endian.
            let key = r.key.map(|k| i64::from_be_bytes(k[..].try_into().unwrap()).to_string()).unwrap_or_default();
            (key, text(r.value), r.timestamp)
        })
        .collect()
}

fn row(key: &str, value: &str, ts: i64) -> (String, String, i64) {
    (key.to_string(), value.to_string(), ts)
}

#[test]
fn stream_stream_left_join_pads_at_once_without_grace_and_joins_within_the_window() {
    let engine = engine();
    run(
        &engine,
        &[
            "CREATE STREAM l (id BIGINT KEY, name STRING) WITH (kafka_topic='l', value_format='JSON', partitions=1);",
            "CREATE STREAM r (id BIGINT KEY, f STRING) WITH (kafka_topic='r', value_format='JSON', partitions=1);",
            "CREATE STREAM out AS SELECT l.id, name, f FROM l LEFT JOIN r WITHIN 10 SECONDS ON l.id = r.id;",
            "INSERT INTO l (ROWTIME, id, name) VALUES (0, 1, 'a');",
            "INSERT INTO r (ROWTIME, id, f) VALUES (5000, 1, 'x');",
            // Outside the window of the left row: no result for a right row.
            "INSERT INTO r (ROWTIME, id, f) VALUES (20000, 1, 'y');",
            "INSERT INTO l (ROWTIME, id, name) VALUES (25000, 1, 'b');",
        ],
    );
    assert_eq!(
        records(&engine, "OUT"),
        vec![
            row("1", r#"{"NAME":"a","F":null}"#, 0),
            row("1", r#"{"NAME":"a","F":"x"}"#, 5000),
            row("1", r#"{"NAME":"b","F":"y"}"#, 25000),
        ]
    );
}

#[test]
fn outer_join_with_grace_waits_for_the_window_to_close() {
    let engine = engine();
    run(
        &engine,
        &[
            "CREATE STREAM l (id BIGINT KEY, name STRING) WITH (kafka_topic='l', value_format='JSON', partitions=1);",
            "CREATE STREAM r (id BIGINT KEY, f STRING) WITH (kafka_topic='r', value_format='JSON', partitions=1);",
            "CREATE STREAM out AS SELECT ROWKEY AS k, name, f FROM l FULL OUTER JOIN r WITHIN 1 SECOND GRACE PERIOD 1 SECOND ON l.id = r.id;",
            "INSERT INTO l (ROWTIME, id, name) VALUES (0, 1, 'a');",
        ],
    );
    assert_eq!(records(&engine, "OUT"), vec![]);
    // Stream time passes 0 + 1 s + 1 s: the left row is emitted alone.
    run(&engine, &["INSERT INTO r (ROWTIME, id, f) VALUES (2001, 2, 'x');"]);
    assert_eq!(records(&engine, "OUT"), vec![row("1", r#"{"NAME":"a","F":null}"#, 0)]);
}

#[test]
fn stream_table_join_reads_the_current_table_row() {
    let engine = engine();
    run(
        &engine,
        &[
            "CREATE STREAM s (k STRING KEY, tid BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
            "CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1);",
            "CREATE STREAM out AS SELECT s.tid, k, v FROM s LEFT JOIN t ON s.tid = t.id;",
            "INSERT INTO s (ROWTIME, k, tid) VALUES (1, 'a', 7);",
            "INSERT INTO t (ROWTIME, id, v) VALUES (2, 7, 'seven');",
            "INSERT INTO s (ROWTIME, k, tid) VALUES (3, 'b', 7);",
        ],
    );
    assert_eq!(
        records(&engine, "OUT"),
        vec![row("7", r#"{"K":"a","V":null}"#, 1), row("7", r#"{"K":"b","V":"seven"}"#, 3)]
    );
}

#[test]
fn table_table_inner_join_emits_a_tombstone_when_a_row_leaves() {
    let engine = engine();
    run(
        &engine,
        &[
            "CREATE TABLE a (id BIGINT PRIMARY KEY, x STRING) WITH (kafka_topic='a', value_format='JSON', partitions=1);",
            "CREATE TABLE b (id BIGINT PRIMARY KEY, y STRING) WITH (kafka_topic='b', value_format='JSON', partitions=1);",
            "CREATE TABLE out AS SELECT a.id, x, y FROM a JOIN b ON a.id = b.id;",
            "INSERT INTO a (ROWTIME, id, x) VALUES (1, 1, 'p');",
            "INSERT INTO b (ROWTIME, id, y) VALUES (2, 1, 'q');",
        ],
    );
    engine
        .backend()
        .produce(
            "b",
            vec![rivulet::topic::ProducerRecord {
                timestamp: 3,
                key: Some(vec![0, 0, 0, 0, 0, 0, 0, 1].into()),
                value: None,
                ..Default::default()
            }],
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    let out = engine.backend().read("OUT", 0, 0, 10).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].value.as_deref(), Some(br#"{"X":"p","Y":"q"}"#.as_slice()));
    assert_eq!(out[1].value, None);
    assert_eq!(out[1].timestamp, 3);
}

#[test]
fn a_join_without_its_key_in_the_projection_is_rejected() {
    let engine = engine();
    engine
        .execute(
            "CREATE STREAM l (a INT KEY, b INT) WITH (kafka_topic='l', value_format='JSON', partitions=1);
             CREATE STREAM r (a INT KEY, c INT) WITH (kafka_topic='r', value_format='JSON', partitions=1);",
        )
        .unwrap();
    let err =
        engine.execute("CREATE STREAM out AS SELECT b, c FROM l JOIN r WITHIN 1 SECOND ON l.a = r.a;").unwrap_err();
    assert!(err.message().contains("must include the join expressions L.A or R.A"), "{err}");
    let err = engine.execute("CREATE STREAM out AS SELECT * FROM l JOIN r ON l.a = r.a;").unwrap_err();
    assert!(err.message().contains("Stream-Stream joins must have a WITHIN clause"), "{err}");
    let err = engine.execute("CREATE STREAM out AS SELECT * FROM l JOIN l WITHIN 1 SECOND ON l.a = l.a;").unwrap_err();
    assert!(err.message().contains("self joins are not yet supported"), "{err}");
}

#[test]
fn a_push_query_joins_a_stream_with_a_table() {
    let engine = engine();
    run(
        &engine,
        &[
            "CREATE STREAM s (k STRING KEY, tid BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
            "CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1);",
            "INSERT INTO t (ROWTIME, id, v) VALUES (1, 7, 'seven');",
            "INSERT INTO s (ROWTIME, k, tid) VALUES (2, 'a', 7);",
        ],
    );
    let result =
        engine.execute("SELECT k, v FROM s JOIN t ON s.tid = t.id EMIT CHANGES LIMIT 1;").unwrap().pop().unwrap();
    let rivulet::engine::StatementResult::Push(push) = result else { panic!("expected a push query") };
    let row = push.next_timeout(std::time::Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(row, vec![serde_json::json!("a"), serde_json::json!("seven")]);
}

#[test]
fn partition_by_rekeys_a_join_result() {
    let engine = engine();
    run(
        &engine,
        &[
            "CREATE STREAM l (id BIGINT KEY, name STRING) WITH (kafka_topic='l', value_format='JSON', partitions=1);",
            "CREATE STREAM r (id BIGINT KEY, n BIGINT) WITH (kafka_topic='r', value_format='JSON', partitions=1);",
            "CREATE STREAM out AS SELECT r.n, name FROM l JOIN r WITHIN 1 SECOND ON l.id = r.id PARTITION BY r.n;",
            "INSERT INTO l (ROWTIME, id, name) VALUES (0, 1, 'a');",
            "INSERT INTO r (ROWTIME, id, n) VALUES (10, 1, 42);",
        ],
    );
    assert_eq!(records(&engine, "OUT"), vec![row("42", r#"{"NAME":"a"}"#, 10)]);
}

#[test]
fn a_push_query_aggregates_a_join() {
    let engine = engine();
    run(
        &engine,
        &[
            "CREATE STREAM s (k STRING KEY, tid BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
            "CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1);",
            "INSERT INTO t (ROWTIME, id, v) VALUES (1, 7, 'seven');",
            "INSERT INTO s (ROWTIME, k, tid) VALUES (2, 'a', 7);",
            "INSERT INTO s (ROWTIME, k, tid) VALUES (3, 'b', 8);",
            "INSERT INTO s (ROWTIME, k, tid) VALUES (4, 'c', 7);",
        ],
    );
    let result = engine
        .execute("SELECT t.v, COUNT(*) AS n FROM s JOIN t ON s.tid = t.id GROUP BY t.v EMIT CHANGES LIMIT 2;")
        .unwrap()
        .pop()
        .unwrap();
    let rivulet::engine::StatementResult::Push(push) = result else { panic!("expected a push query") };
    let mut rows = Vec::new();
    for _ in 0..2 {
        rows.push(push.next_timeout(std::time::Duration::from_secs(10)).unwrap().unwrap());
    }
    assert_eq!(
        rows,
        vec![
            vec![serde_json::json!("seven"), serde_json::json!(1)],
            vec![serde_json::json!("seven"), serde_json::json!(2)]
        ]
    );
}

#[test]
fn an_aggregation_of_a_join_on_several_partitions_writes_its_repartition_topic() {
    let engine = engine();
    run(
        &engine,
        &[
            "CREATE STREAM s (k STRING KEY, tid BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=2);",
            "CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING) WITH (kafka_topic='t', value_format='JSON', partitions=2);",
            "CREATE TABLE by_v AS SELECT t.v, COUNT(*) AS n FROM s JOIN t ON s.tid = t.id GROUP BY t.v;",
            // Grouped by the join key, the joined rows are where their group is already.
            "CREATE TABLE by_id AS SELECT t.id, COUNT(*) AS n FROM s JOIN t ON s.tid = t.id GROUP BY t.id;",
        ],
    );
    let topics: Vec<String> = engine.backend().list_topics().unwrap().into_iter().map(|t| t.name).collect();
    let repartitions: Vec<&String> = topics.iter().filter(|t| t.ends_with("-Aggregate-GroupBy-repartition")).collect();
    assert_eq!(repartitions.len(), 1, "{topics:?}");
    assert!(repartitions[0].contains("BY_V"), "{topics:?}");
}

#[test]
fn an_aggregation_of_a_join_resumes_from_its_state_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        Engine::open(EngineConfig { data_dir: Some(dir.path().to_path_buf()), background: false, ..Default::default() })
            .unwrap()
    };
    {
        let engine = open();
        run(
            &engine,
            &[
                "CREATE STREAM s (k STRING KEY, tid BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
                "CREATE TABLE t (id BIGINT PRIMARY KEY, v STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1);",
                "CREATE TABLE totals AS SELECT t.v, COUNT(*) AS n FROM s JOIN t ON s.tid = t.id GROUP BY t.v;",
                "INSERT INTO t (ROWTIME, id, v) VALUES (1, 7, 'seven');",
                "INSERT INTO s (ROWTIME, k, tid) VALUES (2, 'a', 7);",
                "INSERT INTO s (ROWTIME, k, tid) VALUES (3, 'b', 7);",
            ],
        );
    }
    let engine = open();
    // The table side is read again to rebuild the join; the stream side goes on where the
    // aggregation's state stands, so nothing is counted twice.
    run(&engine, &["INSERT INTO s (ROWTIME, k, tid) VALUES (4, 'c', 7);"]);
    let rivulet::engine::StatementResult::Rows { rows, .. } =
        engine.execute("SELECT * FROM totals;").unwrap().pop().unwrap()
    else {
        panic!("expected rows")
    };
    assert_eq!(rows, vec![vec![serde_json::json!("seven"), serde_json::json!(3)]]);
}
