//! The pull-query plan cache (`Engine::cached_pull`): key lookups answered from a plan cached
//! by the query's shape give exactly the ordinary path's answer, for every key, after new
//! data, and after DROP and CREATE change what a name means; other queries are left to the
//! ordinary path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{manual_engine, run};
use rivulet::engine::{Engine, Session, StatementResult};
use serde_json::{Value, json};

type Answer = (Vec<(String, String, bool)>, Vec<Vec<Value>>);

fn rows(result: StatementResult) -> Answer {
    match result {
        StatementResult::Rows { columns, rows, stream: false } => {
            (columns.into_iter().map(|c| (c.name, c.ty, c.key)).collect(), rows)
        }
        other => panic!("expected a table's rows, got {other:?}"),
    }
}

/// The ordinary path's answer.
fn uncached(engine: &Engine, sql: &str) -> Answer {
    rows(engine.execute(sql).unwrap().pop().unwrap())
}

/// The cache's answer, which must exist and equal the ordinary one.
fn cached(engine: &Engine, sql: &str) -> Answer {
    let answer = engine.cached_pull(sql, &Session::default()).unwrap_or_else(|| panic!("not cached: {sql}"));
    let answer = rows(answer.unwrap());
    assert_eq!(answer, uncached(engine, sql), "{sql}");
    answer
}

const SETUP: &str = "
    CREATE STREAM clicks (user VARCHAR KEY, page VARCHAR) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);
    CREATE TABLE per_user AS SELECT user, COUNT(*) AS n FROM clicks GROUP BY user EMIT CHANGES;
    CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner VARCHAR, balance INT) WITH (KAFKA_TOPIC='accounts', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE TABLE q_accounts AS SELECT * FROM accounts;
    INSERT INTO clicks (user, page) VALUES ('a', 'home');
    INSERT INTO clicks (user, page) VALUES ('b', 'home');
    INSERT INTO clicks (user, page) VALUES ('a', 'cart');
    INSERT INTO clicks (user, page) VALUES ('it''s', 'home');
    INSERT INTO accounts (id, owner, balance) VALUES (1, 'ada', 10);
    INSERT INTO accounts (id, owner, balance) VALUES (2, 'bob', 20);
    INSERT INTO accounts (id, owner, balance) VALUES (3000000000, 'big', 30);";

#[test]
fn cached_key_lookups_answer_as_the_ordinary_path_does() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(&engine, SETUP);

    // An aggregation's groups: present, absent, and a key with a quote in it.
    assert_eq!(cached(&engine, "SELECT * FROM per_user WHERE user = 'a';").1, vec![vec![json!("a"), json!(2)]]);
    let hits = engine.pull_cache_hits();
    assert_eq!(cached(&engine, "SELECT * FROM per_user WHERE user = 'b';").1, vec![vec![json!("b"), json!(1)]]);
    assert_eq!(cached(&engine, "SELECT * FROM per_user WHERE user = 'zz';").1, Vec::<Vec<Value>>::new());
    assert_eq!(cached(&engine, "SELECT * FROM per_user WHERE user = 'it''s';").1, vec![vec![json!("it's"), json!(1)]]);
    assert_eq!(engine.pull_cache_hits(), hits + 3, "the shape planned once answers the other keys");

    // A materialized table with a BIGINT key: projections, expressions, the literal on the
    // left, LIMIT, and a key beyond INT's range.
    assert_eq!(
        cached(&engine, "SELECT * FROM q_accounts WHERE id = 2;").1,
        vec![vec![json!(2), json!("bob"), json!(20)]]
    );
    assert_eq!(
        cached(&engine, "SELECT * FROM q_accounts WHERE id = 1;").1,
        vec![vec![json!(1), json!("ada"), json!(10)]]
    );
    assert_eq!(
        cached(&engine, "SELECT owner, UCASE(owner) AS loud FROM q_accounts WHERE 3000000000 = id;").1,
        vec![vec![json!("big"), json!("BIG")]]
    );
    cached(&engine, "SELECT owner, UCASE(owner) AS loud FROM q_accounts WHERE 1 = id;");
    cached(&engine, "SELECT owner FROM q_accounts WHERE id = 7;");

    // New data shows through a cached plan.
    run(&engine, "INSERT INTO clicks (user, page) VALUES ('b', 'pay');");
    assert_eq!(cached(&engine, "SELECT * FROM per_user WHERE user = 'b';").1, vec![vec![json!("b"), json!(2)]]);
}

#[test]
fn other_queries_are_left_to_the_ordinary_path() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(&engine, SETUP);
    run(
        &engine,
        "CREATE TABLE windowed AS SELECT user, COUNT(*) AS n FROM clicks WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY user;",
    );
    let session = Session::default();
    for sql in [
        // Not one key by equality.
        "SELECT * FROM per_user WHERE user IN ('a', 'b');",
        "SELECT * FROM per_user WHERE user > 'a';",
        "SELECT * FROM per_user;",
        "SELECT * FROM per_user WHERE n = 2;",
        // A key literal of the wrong type, which the ordinary path reports.
        "SELECT * FROM per_user WHERE user = 1;",
        "SELECT * FROM q_accounts WHERE id = '1';",
        // Windowed tables, streams, push queries, unknown sources, bad syntax.
        "SELECT * FROM windowed WHERE user = 'a';",
        "SELECT * FROM clicks WHERE user = 'a';",
        "SELECT * FROM per_user WHERE user = 'a' EMIT CHANGES;",
        "SELECT * FROM nope WHERE user = 'a';",
        "SELECT * FRM per_user WHERE user = 'a';",
        // Two statements.
        "SELECT * FROM per_user WHERE user = 'a'; SHOW TABLES;",
    ] {
        assert!(engine.cached_pull(sql, &session).is_none(), "{sql}");
        // The second time too, once the shape is known not to be cacheable.
        assert!(engine.cached_pull(sql, &session).is_none(), "{sql}");
    }
    // Session variables are substituted by the ordinary path only.
    let with_variables =
        Session { variables: [("k".to_string(), "a".to_string())].into_iter().collect(), ..Session::default() };
    assert!(engine.cached_pull("SELECT * FROM per_user WHERE user = 'a';", &with_variables).is_none());
}

#[test]
fn drop_and_create_invalidate_cached_plans() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(&engine, SETUP);
    let lookup = "SELECT * FROM per_user WHERE user = 'a';";
    let (columns, _) = cached(&engine, lookup);
    assert_eq!(columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["USER", "N"]);
    let by_id = "SELECT * FROM q_accounts WHERE id = 1;";
    cached(&engine, by_id);

    // Dropped: the cache does not answer, and the ordinary path says why.
    run(&engine, "TERMINATE ALL; DROP TABLE per_user;");
    assert!(engine.cached_pull(lookup, &Session::default()).is_none());
    assert!(engine.execute(lookup).is_err());

    // The same name, another query and other columns: the cached shape is planned anew.
    run(
        &engine,
        "CREATE TABLE per_user AS SELECT user, COUNT(*) AS clicks, LATEST_BY_OFFSET(page) AS last FROM clicks GROUP BY user;",
    );
    let (columns, rows) = cached(&engine, lookup);
    assert_eq!(columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["USER", "CLICKS", "LAST"]);
    assert_eq!(rows, vec![vec![json!("a"), json!(2), json!("cart")]]);

    // A table dropped and created with another key: the cached shape names a column that is
    // gone, and is not answered.
    run(
        &engine,
        "DROP TABLE q_accounts;
         CREATE TABLE q_accounts AS SELECT owner, SUM(balance) AS total FROM accounts GROUP BY owner;",
    );
    assert!(engine.cached_pull(by_id, &Session::default()).is_none());
    assert!(engine.execute(by_id).is_err());
    let (columns, rows) = cached(&engine, "SELECT * FROM q_accounts WHERE owner = 'ada';");
    assert_eq!(columns[0], ("OWNER".to_string(), "STRING".to_string(), true));
    assert_eq!(rows, vec![vec![json!("ada"), json!(10)]]);
}

#[test]
fn lookups_from_many_threads_at_once_get_their_own_keys_answers() {
    let dir = tempfile::tempdir().unwrap();
    let engine = manual_engine(Some(dir.path()), &[]);
    run(&engine, SETUP);
    let expected = |user: &str| match user {
        "a" => vec![vec![json!("a"), json!(2)]],
        "b" => vec![vec![json!("b"), json!(1)]],
        _ => Vec::new(),
    };
    // Plan the shape once, then look keys up from more threads than the plan has
    // projections: an answer may be declined (`cached_pull_now` never waits) but never mixed up.
    cached(&engine, "SELECT * FROM per_user WHERE user = 'a';");
    let answered: usize = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let engine = &engine;
                scope.spawn(move || {
                    let mut answered = 0;
                    for i in 0..500 {
                        let user = ["a", "b", "nobody"][(i + t) % 3];
                        let sql = format!("SELECT * FROM per_user WHERE user = '{user}';");
                        if let Some(answer) = engine.cached_pull_now(&sql, &Session::default()) {
                            assert_eq!(rows(answer.unwrap()).1, expected(user), "{sql}");
                            answered += 1;
                        }
                        // The waiting path answers always.
                        let answer = engine.cached_pull(&sql, &Session::default()).unwrap();
                        assert_eq!(rows(answer.unwrap()).1, expected(user), "{sql}");
                    }
                    answered
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });
    assert!(answered > 0, "no lookup was answered without waiting");
}
