//! The REPL's `--server URL` mode on a pseudo-terminal: a real `rivulet server` on a free
//! port, and `rivulet --server URL` driven as a person would, every statement going over HTTP.
//!
//! As in tests/repl.rs, expectations wait for text only the REPL's output can contain, ANSI
//! sequences are stripped, and every wait has a generous timeout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::Server;
use rexpect::session::{Options, PtySession, spawn_with_options};

const TIMEOUT_MS: u64 = 60_000;

fn start(url: &str, home: &std::path::Path) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rivulet"));
    command.arg("--server").arg(url).env("HOME", home).env("TERM", "xterm").env_remove("RUST_LOG");
    let options = Options::new().timeout_ms(Some(TIMEOUT_MS)).strip_ansi_escape_codes(true);
    spawn_with_options(command, options).expect("the REPL starts on a pty")
}

/// Waits for `needle` and returns everything printed before it.
fn expect(session: &mut PtySession, needle: &str) -> String {
    match session.exp_string(needle) {
        Ok(before) => before,
        Err(e) => panic!("waiting for {needle:?}: {e}"),
    }
}

fn prompt(session: &mut PtySession) -> String {
    expect(session, "rivulet> ")
}

#[test]
fn a_session_against_a_server() {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let mut p = start(&server.url, home.path());
    let banner = expect(&mut p, "Having trouble? Type 'help'");
    assert!(banner.contains(&format!("located at {}", server.url)), "{banner}");
    assert!(banner.contains("Server Status: RUNNING"), "{banner}");
    prompt(&mut p);

    p.send_line(
        "CREATE STREAM orders (id BIGINT KEY, customer VARCHAR, amount DOUBLE) \
         WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);",
    )
    .unwrap();
    expect(&mut p, "Stream created");
    prompt(&mut p);
    p.send_line("INSERT INTO orders (id, customer, amount) VALUES (1, 'ada', 10.5);").unwrap();
    prompt(&mut p);
    p.send_line("INSERT INTO orders (id, customer, amount) VALUES (2, 'bob', 3.0);").unwrap();
    prompt(&mut p);
    p.send_line("SHOW STREAMS;").unwrap();
    let listing = expect(&mut p, "ORDERS");
    assert!(listing.contains("Stream Name"), "SHOW STREAMS in the local REPL's columns: {listing}");
    prompt(&mut p);

    // Properties stay in the REPL and go with every request.
    p.send_line("SET 'auto.offset.reset'='earliest';").unwrap();
    expect(&mut p, "Successfully changed local property 'auto.offset.reset' to 'earliest'.");
    prompt(&mut p);

    // A push query with LIMIT: its rows, then the end the server signals by closing.
    p.send_line("SELECT id, customer FROM orders EMIT CHANGES LIMIT 2;").unwrap();
    expect(&mut p, "Press CTRL-C to interrupt");
    expect(&mut p, "ada");
    expect(&mut p, "bob");
    expect(&mut p, "Limit Reached");
    prompt(&mut p);

    // Variables too: the server substitutes them.
    p.send_line("DEFINE source = 'orders';").unwrap();
    prompt(&mut p);
    p.send_line("SELECT customer FROM ${source} EMIT CHANGES;").unwrap();
    expect(&mut p, "Press CTRL-C to interrupt");
    expect(&mut p, "bob");
    // Ctrl-C drops the response; the server stops the query and the REPL goes on.
    p.send_control('c').unwrap();
    expect(&mut p, "Query terminated");
    prompt(&mut p);

    // A table, and a pull query on it once the query has counted both orders of ada.
    p.send_line("INSERT INTO orders (id, customer, amount) VALUES (3, 'ada', 7.0);").unwrap();
    prompt(&mut p);
    p.send_line(
        "CREATE TABLE totals AS SELECT customer, SUM(amount) AS total, COUNT(*) AS n \
         FROM orders GROUP BY customer EMIT CHANGES;",
    )
    .unwrap();
    expect(&mut p, "Created query with ID CTAS_TOTALS_");
    prompt(&mut p);
    let mut answered = String::new();
    for _ in 0..100 {
        p.send_line("SELECT customer, total, n FROM totals WHERE customer = 'ada';").unwrap();
        answered = prompt(&mut p);
        if answered.contains("17.5") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(answered.contains("CUSTOMER") && answered.contains("17.5"), "the pull query's table: {answered}");

    // A syntax error comes back with its position: caret and hint as the local REPL shows them.
    p.send_line("SELEC * FROM orders;").unwrap();
    let shown = expect(&mut p, "Hint: did you mean SELECT?");
    assert!(shown.contains("Syntax Error"), "{shown}");
    assert!(shown.contains("  SELEC * FROM orders\r\n  ^"), "caret under the error: {shown:?}");
    prompt(&mut p);
    // And an error found by the server while executing.
    p.send_line("DESCRIBE no_such_stream;").unwrap();
    let shown = prompt(&mut p);
    assert!(shown.to_ascii_uppercase().contains("NO_SUCH_STREAM"), "{shown}");

    // RUN SCRIPT sends the file as one request: one answer per statement.
    let script = home.path().join("script.sql");
    std::fs::write(
        &script,
        "CREATE STREAM s1 (id BIGINT KEY) WITH (KAFKA_TOPIC='s1', VALUE_FORMAT='JSON', PARTITIONS=1);\n\
         CREATE STREAM s2 (id BIGINT KEY) WITH (KAFKA_TOPIC='s2', VALUE_FORMAT='JSON', PARTITIONS=1);\n",
    )
    .unwrap();
    p.send_line(&format!("RUN SCRIPT '{}';", script.display())).unwrap();
    let ran = prompt(&mut p);
    assert_eq!(ran.matches("Stream created").count(), 2, "{ran}");
    p.send_line("DESCRIBE s2;").unwrap();
    expect(&mut p, "Name                 : S2");
    prompt(&mut p);

    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn an_unreachable_server_is_reported() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_rivulet"))
        .arg("--server")
        .arg(format!("http://127.0.0.1:{port}"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot reach a server at http://127.0.0.1:{port}")), "{stderr}");
}
