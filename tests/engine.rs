//! End-to-end tests of the engine through `Engine::execute`: scripts, push and pull queries,
//! restarts from the data directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use rivulet::engine::{Engine, EngineConfig, StatementResult};

fn engine_at(dir: &std::path::Path) -> Engine {
    Engine::open(EngineConfig { data_dir: Some(dir.to_path_buf()), background: true, ..Default::default() }).unwrap()
}

fn push_rows(result: StatementResult, n: usize) -> Vec<Vec<serde_json::Value>> {
    let StatementResult::Push(push) = result else { panic!("expected a push query, got {result:?}") };
    let mut rows = Vec::new();
    while rows.len() < n {
        match push.next_timeout(Duration::from_secs(10)) {
            Some(row) => rows.push(row.unwrap()),
            None => panic!("push query produced {} of {n} rows", rows.len()),
        }
    }
    rows
}

#[test]
fn quickstart_script_filters_and_rekeys() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_at(dir.path());
    let script = std::fs::read_to_string("queries/quickstart.sql").unwrap();
    let statements = rivulet::sql::parse(&script).unwrap();
    let mut last = None;
    for statement in &statements {
        last = Some(engine.execute_statement(statement).unwrap());
        if matches!(last, Some(StatementResult::Push(_))) {
            break;
        }
    }
    let rows = push_rows(last.unwrap(), 1);
    assert_eq!(rows, vec![vec![serde_json::json!("ADA"), serde_json::json!(1), serde_json::json!(15.0)]]);
}

#[test]
fn catalog_and_queries_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = engine_at(dir.path());
        engine
            .execute(
                "CREATE STREAM s (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
                 CREATE STREAM big AS SELECT k, v FROM s WHERE v > 10;
                 INSERT INTO s (k, v) VALUES ('a', 5);
                 INSERT INTO s (k, v) VALUES ('b', 50);",
            )
            .unwrap();
        let rows = push_rows(engine.execute("SELECT * FROM big EMIT CHANGES LIMIT 1;").unwrap().pop().unwrap(), 1);
        assert_eq!(rows[0][0], serde_json::json!("b"));
        engine.shutdown();
    }
    let engine = engine_at(dir.path());
    let catalog = engine.catalog();
    assert!(catalog.source("S").is_some() && catalog.source("BIG").is_some());
    assert_eq!(catalog.queries().count(), 1, "the persistent query is back");
    engine.execute("INSERT INTO s (k, v) VALUES ('c', 70);").unwrap();
    // The resumed query continues from its committed offset: 'b' once, then 'c'.
    let rows = push_rows(engine.execute("SELECT k FROM big EMIT CHANGES LIMIT 2;").unwrap().pop().unwrap(), 2);
    assert_eq!(rows, vec![vec![serde_json::json!("b")], vec![serde_json::json!("c")]]);
}

#[test]
fn pull_query_on_a_stream_scans_the_topic() {
    let engine = Engine::open(EngineConfig::default()).unwrap();
    engine
        .execute(
            "CREATE STREAM s (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='DELIMITED', PARTITIONS=2);
             INSERT INTO s (k, v) VALUES ('a', 1);
             INSERT INTO s (k, v) VALUES ('b', 2);
             INSERT INTO s (k, v) VALUES ('c', 3);",
        )
        .unwrap();
    let StatementResult::Rows { rows, .. } = engine.execute("SELECT v FROM s WHERE v >= 2;").unwrap().pop().unwrap()
    else {
        panic!("expected rows")
    };
    let mut values: Vec<i64> = rows.iter().map(|r| r[0].as_i64().unwrap()).collect();
    values.sort();
    assert_eq!(values, vec![2, 3]);
}

#[test]
fn a_bad_record_is_logged_and_skipped() {
    let engine = Engine::open(EngineConfig::default()).unwrap();
    engine
        .execute(
            "CREATE STREAM s (v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');
             CREATE STREAM out AS SELECT v * 2 AS d FROM s;",
        )
        .unwrap();
    let backend = engine.backend();
    for value in [&br#"{"V": 1}"#[..], b"not json", br#"{"V": 3}"#] {
        backend
            .produce(
                "s",
                vec![rivulet::topic::ProducerRecord { value: Some(value.to_vec().into()), ..Default::default() }],
            )
            .unwrap();
    }
    engine.run_until_idle().unwrap();
    let out = backend.read("OUT", 0, 0, 10).unwrap();
    let values: Vec<String> =
        out.iter().map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap()).collect();
    assert_eq!(values, vec![r#"{"D":2}"#, r#"{"D":6}"#]);
    let log = backend.read(rivulet::exec::processing_log::PROCESSING_LOG_TOPIC, 0, 0, 10).unwrap();
    assert_eq!(log.len(), 1, "one entry in the processing log");
}

#[test]
fn a_syntax_error_names_its_position() {
    let engine = Engine::open(EngineConfig::default()).unwrap();
    let err = engine
        .execute("CREATE STREAM s (v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');\nSELECT v FORM s;")
        .unwrap_err();
    let position = err.position().expect("a position");
    assert_eq!((position.line, position.column), (2, 10));
}

#[test]
fn windowed_sources_expose_their_window_bounds() {
    use rivulet::format::{WindowBounds, WindowLayout, encode_windowed_key};
    let engine = Engine::open(EngineConfig::default()).unwrap();
    engine
        .execute(
            "CREATE STREAM tumbling (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON', WINDOW_TYPE='TUMBLING', WINDOW_SIZE='10 SECONDS');
             CREATE STREAM sessions (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', WINDOW_TYPE='SESSION');",
        )
        .unwrap();
    let backend = engine.backend();
    let produce = |topic: &str, layout, bounds| {
        let key = encode_windowed_key(Some(b"a"), layout, bounds);
        let record = rivulet::topic::ProducerRecord {
            key: Some(key.into()),
            value: Some(rivulet::topic::Bytes::from_static(br#"{"V": 1}"#)),
            ..Default::default()
        };
        backend.produce(topic, vec![record]).unwrap();
    };
    produce("t", WindowLayout::Time { size_ms: 10_000 }, WindowBounds { start: 20_000, end: 0 });
    produce("s", WindowLayout::Session, WindowBounds { start: 5, end: 70 });
    for (stream, expected) in [("tumbling", [20_000, 30_000]), ("sessions", [5, 70])] {
        let sql = format!("SELECT k, WINDOWSTART AS ws, WINDOWEND AS we, v FROM {stream};");
        let StatementResult::Rows { rows, .. } = engine.execute(&sql).unwrap().pop().unwrap() else {
            panic!("expected rows")
        };
        let expected: Vec<serde_json::Value> = vec!["a".into(), expected[0].into(), expected[1].into(), 1.into()];
        assert_eq!(rows, vec![expected], "{stream}");
    }
}

#[test]
fn identical_push_queries_share_a_query_and_a_lagging_one_is_dropped_with_a_flag() {
    let engine = Engine::open(EngineConfig { data_dir: None, background: true, ..Default::default() }).unwrap();
    engine
        .execute(
            "CREATE STREAM s (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);
             SET 'auto.offset.reset'='latest';",
        )
        .unwrap();
    let start = || match engine.execute("SELECT * FROM s EMIT CHANGES;").unwrap().pop().unwrap() {
        StatementResult::Push(push) => push,
        other => panic!("expected a push query, got {other:?}"),
    };
    let (reader, idle) = (start(), start());
    assert_ne!(reader.id, idle.id);
    // More rows than one consumer's buffer holds; `reader` keeps up, `idle` reads nothing.
    let total = 3000;
    let backend = engine.backend();
    let mut received = 0;
    for chunk in 0..30 {
        let records = (0..100)
            .map(|i| rivulet::topic::ProducerRecord {
                partition: Some(0),
                timestamp: 1,
                key: Some(format!("k{}", chunk * 100 + i).into_bytes().into()),
                value: Some(format!(r#"{{"V":{i}}}"#).into_bytes().into()),
                headers: Vec::new(),
            })
            .collect();
        backend.produce("s", records).unwrap();
        while received < (chunk + 1) * 100 {
            reader.next_timeout(Duration::from_secs(10)).expect("the reading consumer gets every row").unwrap();
            received += 1;
        }
    }
    assert_eq!(received, total);
    assert!(!reader.overflowed());
    // The idle one got a buffer's worth, then was dropped with its flag set.
    let mut buffered = 0;
    while idle.next_timeout(Duration::from_millis(200)).is_some() {
        buffered += 1;
    }
    assert!(buffered > 0 && buffered < total, "{buffered}");
    assert!(idle.overflowed());
    assert!(!idle.limit_reached());
}
