//! Pull queries through `Engine::execute`: key lookups, IN lists, key ranges, window bounds,
//! LIMIT, tombstoned rows, streams, and materialized views that survive a restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{manual_engine, run};
use rivulet::engine::{Engine, StatementResult};
use serde_json::{Value, json};

fn pull(engine: &Engine, sql: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    match engine.execute(sql).unwrap().pop().unwrap() {
        StatementResult::Rows { columns, rows, .. } => (columns.into_iter().map(|c| c.name).collect(), rows),
        other => panic!("expected rows, got {other:?}"),
    }
}

fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_key(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>());
    rows
}

const COUNTS: &str = "
    CREATE STREAM clicks (user VARCHAR KEY, page VARCHAR) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);
    CREATE TABLE per_user AS SELECT user, COUNT(*) AS n FROM clicks GROUP BY user EMIT CHANGES;
    INSERT INTO clicks (user, page) VALUES ('a', 'home');
    INSERT INTO clicks (user, page) VALUES ('b', 'home');
    INSERT INTO clicks (user, page) VALUES ('a', 'cart');
    INSERT INTO clicks (user, page) VALUES ('c', 'home');
    INSERT INTO clicks (user, page) VALUES ('d', 'home');
    INSERT INTO clicks (user, page) VALUES ('a', 'pay');";

#[test]
fn key_lookup_in_list_range_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(&engine, COUNTS);

    let (columns, rows) = pull(&engine, "SELECT * FROM per_user WHERE user = 'a';");
    assert_eq!(columns, vec!["USER", "N"]);
    assert_eq!(rows, vec![vec![json!("a"), json!(3)]]);

    let (_, rows) = pull(&engine, "SELECT user, n FROM per_user WHERE user IN ('b', 'c', 'zz');");
    assert_eq!(sorted(rows), vec![vec![json!("b"), json!(1)], vec![json!("c"), json!(1)]]);

    let (_, rows) = pull(&engine, "SELECT user FROM per_user WHERE user >= 'b' AND user < 'd';");
    assert_eq!(sorted(rows), vec![vec![json!("b")], vec![json!("c")]]);

    let (_, rows) = pull(&engine, "SELECT * FROM per_user LIMIT 2;");
    assert_eq!(rows.len(), 2);

    let (_, rows) = pull(&engine, "SELECT * FROM per_user WHERE user = 'nobody';");
    assert!(rows.is_empty());
}

#[test]
fn windowed_tables_filter_on_window_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(
        &engine,
        "CREATE STREAM readings (sensor VARCHAR KEY, v DOUBLE) WITH (KAFKA_TOPIC='readings', VALUE_FORMAT='JSON');
         CREATE TABLE per_minute AS SELECT sensor, COUNT(*) AS n, MAX(v) AS top FROM readings
           WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY sensor EMIT CHANGES;
         INSERT INTO readings (ROWTIME, sensor, v) VALUES (1000, 's1', 1.5);
         INSERT INTO readings (ROWTIME, sensor, v) VALUES (2000, 's1', 2.5);
         INSERT INTO readings (ROWTIME, sensor, v) VALUES (61000, 's1', 0.5);
         INSERT INTO readings (ROWTIME, sensor, v) VALUES (62000, 's2', 9.0);",
    );
    let (columns, rows) = pull(&engine, "SELECT * FROM per_minute WHERE sensor = 's1';");
    assert_eq!(columns, vec!["SENSOR", "WINDOWSTART", "WINDOWEND", "N", "TOP"]);
    assert_eq!(
        sorted(rows),
        vec![
            vec![json!("s1"), json!(0), json!(60000), json!(2), json!(2.5)],
            vec![json!("s1"), json!(60000), json!(120000), json!(1), json!(0.5)],
        ]
    );
    let (_, rows) = pull(&engine, "SELECT sensor, n FROM per_minute WHERE sensor = 's1' AND WINDOWSTART >= 60000;");
    assert_eq!(rows, vec![vec![json!("s1"), json!(1)]]);
    let (_, rows) = pull(&engine, "SELECT sensor FROM per_minute WHERE WINDOWEND <= 60000;");
    assert_eq!(rows, vec![vec![json!("s1")]]);
}

#[test]
fn tombstoned_rows_disappear_from_the_view() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(
        &engine,
        "CREATE TABLE accounts (id VARCHAR PRIMARY KEY, balance INT) WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON');
         CREATE TABLE rich AS SELECT * FROM accounts WHERE balance > 100;
         INSERT INTO accounts (id, balance) VALUES ('x', 500);
         INSERT INTO accounts (id, balance) VALUES ('y', 700);
         INSERT INTO accounts (id, balance) VALUES ('z', 5);",
    );
    let (_, rows) = pull(&engine, "SELECT * FROM rich;");
    assert_eq!(sorted(rows), vec![vec![json!("x"), json!(500)], vec![json!("y"), json!(700)]]);
    // x falls under the filter: the view drops it (the changelog carries a tombstone).
    run(&engine, "INSERT INTO accounts (id, balance) VALUES ('x', 50);");
    let (_, rows) = pull(&engine, "SELECT * FROM rich WHERE id = 'x';");
    assert!(rows.is_empty(), "{rows:?}");
    // A real tombstone on the source deletes y.
    engine
        .backend()
        .produce(
            "accounts",
            vec![rivulet::topic::ProducerRecord { key: Some(b"y".to_vec().into()), value: None, ..Default::default() }],
        )
        .unwrap();
    engine.run_to_completion(1).unwrap();
    let (_, rows) = pull(&engine, "SELECT * FROM rich;");
    assert!(rows.is_empty(), "{rows:?}");
}

#[test]
fn pull_queries_on_streams_scan_the_topic() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(
        &engine,
        "CREATE STREAM events (id INT KEY, kind VARCHAR) WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON');
         INSERT INTO events (id, kind) VALUES (1, 'open');
         INSERT INTO events (id, kind) VALUES (2, 'close');
         INSERT INTO events (id, kind) VALUES (3, 'open');",
    );
    let (_, rows) = pull(&engine, "SELECT id FROM events WHERE kind = 'open';");
    assert_eq!(sorted(rows), vec![vec![json!(1)], vec![json!(3)]]);
    let (_, rows) = pull(&engine, "SELECT * FROM events LIMIT 1;");
    assert_eq!(rows.len(), 1);
}

#[test]
fn a_plain_source_table_is_not_queryable() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(&engine, "CREATE TABLE t (id INT PRIMARY KEY, v INT) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');");
    let err = engine.execute("SELECT * FROM t WHERE id = 1;").unwrap_err();
    assert!(err.message().contains("isn't queryable"), "{}", err.message());
}

#[test]
fn views_are_rebuilt_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = manual_engine(Some(dir.path()), &[]);
        run(
            &engine,
            &format!(
                "{COUNTS}
                 CREATE TABLE src (id INT PRIMARY KEY, v INT) WITH (KAFKA_TOPIC='src', VALUE_FORMAT='JSON');
                 CREATE TABLE copy AS SELECT * FROM src;
                 INSERT INTO src (id, v) VALUES (1, 10);"
            ),
        );
        engine.shutdown();
    }
    let engine = manual_engine(Some(dir.path()), &[]);
    let (_, rows) = pull(&engine, "SELECT * FROM per_user WHERE user = 'a';");
    assert_eq!(rows, vec![vec![json!("a"), json!(3)]]);
    let (_, rows) = pull(&engine, "SELECT * FROM copy;");
    assert_eq!(rows, vec![vec![json!(1), json!(10)]]);
    // The aggregation resumes from its checkpoint: one more click makes 4, not 7.
    run(&engine, "INSERT INTO clicks (user, page) VALUES ('a', 'home');");
    let (_, rows) = pull(&engine, "SELECT n FROM per_user WHERE user = 'a';");
    assert_eq!(rows, vec![vec![json!(4)]]);
}

#[test]
fn group_by_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(&engine, "CREATE STREAM s (k VARCHAR KEY, a INT, b INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON');");
    let err = engine.execute("CREATE TABLE t AS SELECT a, b, COUNT(*) FROM s GROUP BY a;").unwrap_err();
    assert!(
        err.message().starts_with("Non-aggregate SELECT expression(s) not part of GROUP BY: B"),
        "{}",
        err.message()
    );
    let err = engine.execute("CREATE STREAM t2 AS SELECT a, COUNT(*) FROM s GROUP BY a;").unwrap_err();
    assert!(err.message().contains("Please use CREATE TABLE AS SELECT"), "{}", err.message());
    let err = engine.execute("SELECT a, COUNT(*) FROM s GROUP BY a;").unwrap_err();
    assert!(err.message().contains("Pull queries don't support GROUP BY"), "{}", err.message());
}

#[test]
fn group_by_a_value_column_of_a_partitioned_stream_repartitions() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(&engine, &format!("{COUNTS}\n CREATE TABLE per_page AS SELECT page, COUNT(*) AS n FROM clicks GROUP BY page;"));
    let (_, rows) = pull(&engine, "SELECT * FROM per_page;");
    assert_eq!(
        sorted(rows),
        vec![vec![json!("cart"), json!(1)], vec![json!("home"), json!(4)], vec![json!("pay"), json!(1)]]
    );
    let topics: Vec<String> = engine.backend().list_topics().unwrap().into_iter().map(|t| t.name).collect();
    let repartition =
        topics.iter().find(|t| t.ends_with("-Aggregate-GroupBy-repartition")).expect("a repartition topic");
    // Every row went through it, keyed by page.
    let records: i64 = (0..2).map(|p| engine.backend().end_offset(repartition, p).unwrap()).sum();
    assert_eq!(records, 6);
    // Grouping by the key needs no repartition.
    assert_eq!(topics.iter().filter(|t| t.ends_with("-repartition")).count(), 1);
    // TERMINATE deletes the query's internal topics and the view.
    let id = topics.iter().find_map(|t| t.strip_prefix("_confluent-ksql-default_query_")).unwrap();
    let id = id.split('-').next().unwrap().to_string();
    assert!(id.starts_with("CTAS_PER_PAGE"), "{id}");
    engine.execute(&format!("TERMINATE {id};")).unwrap();
    let topics: Vec<String> = engine.backend().list_topics().unwrap().into_iter().map(|t| t.name).collect();
    assert!(!topics.iter().any(|t| t.contains(&id)), "{topics:?}");
    assert!(engine.execute("SELECT * FROM per_page;").is_err());
}

#[test]
fn window_bounds_can_be_selected_from_a_windowed_table() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(
        &engine,
        "CREATE STREAM r (s VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='r', VALUE_FORMAT='JSON');
         CREATE TABLE w AS SELECT s, COUNT(*) AS n FROM r WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY s;
         INSERT INTO r (ROWTIME, s, v) VALUES (12000, 'a', 1);",
    );
    let (columns, rows) = pull(&engine, "SELECT s, WINDOWSTART, WINDOWEND, n FROM w;");
    assert_eq!(columns, vec!["S", "WINDOWSTART", "WINDOWEND", "N"]);
    assert_eq!(rows, vec![vec![json!("a"), json!(10000), json!(20000), json!(1)]]);
}

#[test]
fn expired_windows_free_their_keys_and_live_groups_stay_right() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(
        &engine,
        "CREATE STREAM e (k VARCHAR KEY, v INT) WITH (KAFKA_TOPIC='e', VALUE_FORMAT='JSON');
         CREATE TABLE c AS SELECT k, COUNT(*) AS n FROM e
           WINDOW TUMBLING (SIZE 1 SECOND, RETENTION 2 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k;",
    );
    // 200 windows of 50 keys, two records each: old windows expire as time moves on, so the
    // key arena is compacted many times over.
    let mut records = Vec::new();
    for second in 0..200i64 {
        for key in 0..50 {
            for _ in 0..2 {
                records.push(rivulet::topic::ProducerRecord {
                    timestamp: second * 1000 + key,
                    key: Some(format!("key-{key:03}-with-some-length").into_bytes().into()),
                    value: Some(b"{\"V\":1}".to_vec().into()),
                    ..Default::default()
                });
            }
        }
    }
    engine.backend().produce("e", records).unwrap();
    engine.run_to_completion(512).unwrap();
    let (_, rows) = pull(&engine, "SELECT k, WINDOWSTART, n FROM c;");
    // Only the windows within the retention are left, each with both records of every key.
    assert!(!rows.is_empty() && rows.len() <= 3 * 50, "{} rows", rows.len());
    assert!(rows.iter().all(|r| r[2] == json!(2)), "{rows:?}");
    assert!(rows.iter().any(|r| r[1] == json!(199_000)), "the last window is there");
    let (_, one) = pull(&engine, "SELECT n FROM c WHERE k = 'key-007-with-some-length' AND WINDOWSTART = 199000;");
    assert_eq!(one, vec![vec![json!(2)]]);
}
