//! Integration tests of the ksqlDB parser against whole corpora.
//!
//! - every statement of `grammar/examples.sql` and of each `queries/*.sql` parses;
//! - thousands of mutated statements never make the parser panic (a fuzz-style test with a
//!   fixed seed, so failures are reproducible);
//! - the statements of ksqlDB's query-validation tests (`../shared/ksql-qtt`) parse, except
//!   the cases that expect a parse failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use rivulet::sql::parser::{Variables, parse, parse_with_variables, split_statements};

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The names of the `${name}` references in `sql`.
fn variable_refs(sql: &str) -> Vec<String> {
    sql.split("${").skip(1).filter_map(|rest| rest.split_once('}')).map(|(name, _)| name.to_string()).collect()
}

/// Parses every statement of a file on its own, failing the test with all the errors.
///
/// Each statement is parsed with its variables defined as their own upper-cased names, which
/// stand in as names and as values alike: the file shows the syntax, not a session.
fn parse_file(path: &Path) -> usize {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let pieces = split_statements(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut failures = Vec::new();
    for (position, piece) in &pieces {
        let mut variables: Variables =
            variable_refs(piece).into_iter().map(|v| (v.to_uppercase(), v.to_uppercase())).collect();
        match parse_with_variables(piece, &mut variables) {
            Ok(parsed) if parsed.len() == 1 => {
                // The statement's own text parses to the same statement.
                let again = parse(&parsed[0].text).map(|mut v| v.pop().map(|s| s.statement));
                if again.as_ref().ok() != Some(&Some(parsed[0].statement.clone())) {
                    failures.push(format!("{position}: re-parsing {:?} gives {again:?}", parsed[0].text));
                }
            }
            Ok(parsed) => failures.push(format!("{position}: {} statements in {piece:?}", parsed.len())),
            Err(e) => failures.push(format!("{position}: {e}\n    {piece}")),
        }
    }
    if !text.contains("${")
        && let Err(e) = parse(&text)
    {
        failures.push(format!("the whole file: {e}"));
    }
    assert!(failures.is_empty(), "{}:\n{}", path.display(), failures.join("\n"));
    pieces.len()
}

#[test]
fn grammar_examples_parse() {
    let path = crate_root().join("grammar/examples.sql");
    if !path.exists() {
        eprintln!("note: {} does not exist yet; skipping", path.display());
        return;
    }
    let n = parse_file(&path);
    assert!(n > 0, "no statements in {}", path.display());
    eprintln!("{n} statements of grammar/examples.sql parsed");
}

#[test]
fn query_files_parse() {
    let dir = crate_root().join("queries");
    let Ok(entries) = fs::read_dir(&dir) else {
        eprintln!("note: {} does not exist; skipping", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    for file in files {
        let n = parse_file(&file);
        eprintln!("{n} statements of {} parsed", file.display());
    }
}

// ----- fuzzing -----

/// A tiny linear congruential generator (Knuth's MMIX constants): deterministic, no crates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

const SEEDS: &[&str] = &[
    "CREATE STREAM s (id INT KEY, v STRUCT<a ARRAY<MAP<STRING, INT>>>, h BYTES HEADER('x')) WITH (kafka_topic='t', value_format='JSON', partitions=2);",
    "CREATE TABLE t (id BIGINT PRIMARY KEY, name STRING, amount DECIMAL(10, 2)) WITH (KAFKA_TOPIC='t', FORMAT='AVRO');",
    "CREATE OR REPLACE STREAM o WITH (value_format='JSON') AS SELECT a.id, b->c[1] AS x, CASE WHEN a > 1 THEN 'y' ELSE 'n' END FROM s a JOIN t b WITHIN (1 HOUR, 2 MINUTES) GRACE PERIOD 10 SECONDS ON a.id = b.id EMIT CHANGES;",
    "CREATE TABLE agg AS SELECT k, COUNT(*), SUM(v) FROM s WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 DAYS, GRACE PERIOD 1 SECOND) WHERE v IS NOT NULL GROUP BY k HAVING COUNT(*) > 2 EMIT FINAL;",
    "SELECT * FROM s WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY (a, b) EMIT CHANGES LIMIT 10;",
    "SELECT x FROM s WINDOW SESSION (30 MINUTES) PARTITION BY x, y;",
    "INSERT INTO s (id, v) VALUES (1, ARRAY[1, 2, -3], MAP('a' := 1), STRUCT(f := 'x'));",
    "INSERT INTO o WITH (QUERY_ID='q') SELECT TRANSFORM(arr, x => x + 1), REDUCE(arr, 0, (s, x) => s + x) FROM s;",
    "SELECT TIMESTAMPADD(SECONDS, 1, ts), CAST(a AS ARRAY<DECIMAL(4, 2)>), DATE '2020-01-01', ts AT TIME ZONE 'UTC' FROM s;",
    "SELECT a || b, -a * (b + c) % 3, NOT a = b OR c BETWEEN 1 AND 2 AND d NOT IN (1, 2) FROM s WHERE e LIKE 'x%' ESCAPE '!';",
    "SELECT s->*, t.*, `quoted`, \"Dq\" FROM s t WHERE a IS DISTINCT FROM b;",
    "SHOW STREAMS EXTENDED; LIST TOPICS; SHOW ALL TOPICS EXTENDED; SHOW SOURCE CONNECTORS; SHOW CONNECTOR PLUGINS;",
    "DESCRIBE s EXTENDED; DESCRIBE STREAMS; DESCRIBE FUNCTION abs; DESCRIBE CONNECTOR c;",
    "EXPLAIN SELECT * FROM s; EXPLAIN CSAS_O_0; PRINT 'topic' FROM BEGINNING INTERVAL 2 LIMIT 5; PRINT t;",
    "TERMINATE ALL; TERMINATE q1; PAUSE ALL; RESUME q2;",
    "DROP STREAM IF EXISTS s DELETE TOPIC; DROP TABLE t; DROP TYPE IF EXISTS addr; DROP CONNECTOR c;",
    "ALTER STREAM s ADD COLUMN c INT, ADD d STRING; CREATE TYPE addr AS STRUCT<street STRING, n INT>;",
    "SET 'auto.offset.reset'='earliest'; UNSET 'x'; ALTER SYSTEM 'a'='b'; DEFINE v = 'x'; UNDEFINE v; RUN SCRIPT '/a.sql';",
    "CREATE SOURCE CONNECTOR IF NOT EXISTS c WITH ('connector.class'='x', 'tasks.max'=1);",
    "ASSERT TOPIC t WITH (partitions=1) TIMEOUT 3 SECONDS; ASSERT NOT EXISTS SCHEMA SUBJECT s ID 4 TIMEOUT 1 MINUTE;",
    "SELECT 9223372036854775807, -9223372036854775808, 1.5E300, .5, 1e-3, 'it''s' FROM s;",
    "SELECT a[1][2]->b->c, f(g(h(1))), COUNT(*) FROM s -- trailing comment\n;",
];

/// Tokens to insert while mutating.
const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    "'",
    "\"",
    "`",
    "->",
    "=>",
    ":=",
    "*",
    "-",
    "SELECT",
    "FROM",
    "WHERE",
    "CASE",
    "END",
    "ARRAY",
    "<",
    ">",
    ">>",
    "STRUCT<",
    "MAP(",
    "NOT",
    "AND",
    "1",
    "1.5E9999",
    "99999999999999999999",
    "x",
    "/*",
    "--",
    "\n",
    "WITHIN",
    "EMIT",
    "GROUP BY",
    "WINDOW",
    "TUMBLING",
    "(SIZE",
    "é",
    "\u{0}",
    "$",
    "${v}",
];

fn mutate(rng: &mut Lcg, seed: &str) -> String {
    let mut s: Vec<char> = seed.chars().collect();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let at = rng.below(s.len() + 1);
        match rng.below(7) {
            // Delete a run of characters.
            0 => {
                let len = 1 + rng.below(8);
                let end = (at + len).min(s.len());
                s.drain(at.min(end)..end);
            }
            // Insert a fragment.
            1 | 2 => {
                let f = FRAGMENTS[rng.below(FRAGMENTS.len())];
                let insert: Vec<char> = format!(" {f} ").chars().collect();
                s.splice(at..at, insert);
            }
            // Swap two characters.
            3 => {
                let other = rng.below(s.len() + 1);
                if at < s.len() && other < s.len() {
                    s.swap(at, other);
                }
            }
            // Truncate.
            4 => s.truncate(at),
            // Duplicate a slice somewhere else.
            5 => {
                let len = rng.below(20);
                let end = (at + len).min(s.len());
                let piece: Vec<char> = s[at.min(end)..end].to_vec();
                let to = rng.below(s.len() + 1);
                s.splice(to..to, piece);
            }
            // Deep nesting.
            _ => {
                let depth = rng.below(3000);
                let (open, close) = match rng.below(4) {
                    0 => ("(", ")"),
                    1 => ("f(", ")"),
                    2 => ("ARRAY<", ">"),
                    _ => ("- ", ""),
                };
                let insert: String = open.repeat(depth) + "1" + &close.repeat(depth);
                s.splice(at..at, insert.chars());
            }
        }
    }
    s.into_iter().collect()
}

#[test]
fn seeds_parse() {
    for seed in SEEDS {
        if let Err(e) = parse(seed) {
            panic!("seed {seed:?} fails: {e}");
        }
    }
}

#[test]
fn mutations_never_panic() {
    let mut rng = Lcg(0x5eed);
    let mut ok = 0;
    let mut err = 0;
    for round in 0..6000 {
        let seed = SEEDS[round % SEEDS.len()];
        let input = mutate(&mut rng, seed);
        match std::panic::catch_unwind(|| parse(&input)) {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                // Every syntax error points somewhere.
                assert!(e.position().is_some(), "error without position for {input:?}: {e}");
                err += 1;
            }
            Err(_) => panic!("the parser panicked on {input:?}"),
        }
    }
    eprintln!("mutations: {ok} parsed, {err} rejected");
    assert!(err > 0 && ok > 0);
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for (open, close) in [("(", ")"), ("f(", ")"), ("- ", ""), ("NOT ", ""), ("ARRAY[", "]"), ("a[", "]")] {
        let sql = format!("SELECT {}1{} FROM s;", open.repeat(100_000), close.repeat(100_000));
        let err = parse(&sql).unwrap_err();
        assert!(err.message().contains("nested"), "{open}: {err}");
    }
    let sql =
        format!("CREATE STREAM s (a {}INT{}) WITH (kafka_topic='t');", "ARRAY<".repeat(10_000), ">".repeat(10_000));
    assert!(parse(&sql).is_err());
    let sql = format!("{}SELECT * FROM s;", "EXPLAIN ".repeat(10_000));
    assert!(parse(&sql).is_err());
}

// ----- the QTT corpus -----

/// Removes `//` line comments outside string literals (4 QTT files have them).
fn strip_line_comments(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            for rest in chars.by_ref() {
                if rest == '\n' {
                    out.push('\n');
                    break;
                }
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// Parses every statement of every case of every JSON file in `dir`; returns the number of
/// statements expected to parse and the failures among them. Cases that expect a parse
/// failure (`ParseFailedException`) are left out.
fn check_corpus(dir: &Path) -> Option<(usize, Vec<String>, Vec<String>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        eprintln!("note: {} is absent; skipping it", dir.display());
        return None;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut total = 0usize;
    let mut failures = Vec::new();
    let mut expected_failures = 0usize;
    let mut expected_failures_rejected = 0usize;
    // Cases expecting a parse failure in which every statement parsed: we are too lenient.
    let mut wrongly_accepted = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let json: serde_json::Value = serde_json::from_str(&strip_line_comments(&text))
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", file.display()));
        let Some(cases) = json.get("tests").and_then(|t| t.as_array()) else {
            continue;
        };
        for case in cases {
            let expects_parse_failure = case
                .pointer("/expectedException/type")
                .and_then(|t| t.as_str())
                .is_some_and(|t| t.ends_with("ParseFailedException"));
            let statements = case.get("statements").and_then(|s| s.as_array()).cloned().unwrap_or_default();
            let name = case.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            let file_name = file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            let rejected_before = expected_failures_rejected;
            for statement in statements.iter().filter_map(|s| s.as_str()) {
                let result = parse(statement);
                if expects_parse_failure {
                    expected_failures += 1;
                    expected_failures_rejected += usize::from(result.is_err());
                    continue;
                }
                total += 1;
                if let Err(e) = result {
                    failures.push(format!("{file_name} / {name}: {e}\n    {statement}"));
                }
            }
            if expects_parse_failure && expected_failures_rejected == rejected_before {
                wrongly_accepted.push(format!("{file_name} / {name}"));
            }
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    eprintln!(
        "{}: {} of {total} statements failed to parse; {expected_failures_rejected} of {expected_failures} \
         statements in ParseFailedException cases were rejected (a case's other statements are valid)",
        dir.display(),
        failures.len()
    );
    for case in &wrongly_accepted {
        eprintln!("accepted although ksqlDB fails to parse it: {case}");
    }
    Some((total, failures, wrongly_accepted))
}

#[test]
fn qtt_statements_parse() {
    let Some((total, failures, wrongly_accepted)) =
        check_corpus(&crate_root().join("../shared/ksql-qtt/query-validation-tests"))
    else {
        return;
    };
    assert!(total > 0);
    // The cases that test syntax errors (NULL as a type, GROUP BY a AND b, out-of-range
    // literals, ...) are all rejected too.
    assert!(wrongly_accepted.is_empty(), "too lenient on {wrongly_accepted:?}");
    // Every statement parses today (2,426 of the 65 files here); the threshold leaves room
    // for new corpus files, never for regressions on the current ones: 0.5%.
    let threshold = total / 200;
    assert!(failures.len() <= threshold, "{} failures exceed the threshold of {threshold}", failures.len());
}

#[test]
fn rest_qtt_statements_parse() {
    let Some((total, failures, _)) = check_corpus(&crate_root().join("../shared/ksql-qtt/rest-query-validation-tests"))
    else {
        return;
    };
    assert!(total > 0);
    let threshold = total / 200;
    assert!(failures.len() <= threshold, "{} failures exceed the threshold of {threshold}", failures.len());
}
