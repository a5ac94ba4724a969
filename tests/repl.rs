//! The REPL driven through a pseudo-terminal, as a person would use it: the real `rivulet`
//! binary on a pty, keys typed (Tab, Ctrl-C, Ctrl-D included) and the screen read back.
//!
//! Expectations wait for text only the REPL's output can contain (never for the prompt alone,
//! which the line editor may redraw), ANSI sequences are stripped, and every wait has a
//! generous timeout so that a slow CI machine does not fail the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use rexpect::session::{Options, PtySession, spawn_with_options};

const TIMEOUT_MS: u64 = 60_000;

fn start(data: &std::path::Path, home: &std::path::Path) -> PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rivulet"));
    command
        .arg("--data-dir")
        .arg(data)
        // The history file goes under HOME: a temporary one, not the developer's.
        .env("HOME", home)
        // A terminal the line editor supports (CI may have no TERM at all).
        .env("TERM", "xterm")
        .env_remove("RUST_LOG");
    let options = Options::new().timeout_ms(Some(TIMEOUT_MS)).strip_ansi_escape_codes(true);
    spawn_with_options(command, options).expect("the REPL starts on a pty")
}

/// The line editor discards what is typed before it takes the terminal, so each input waits
/// for the next prompt.
fn prompt(session: &mut PtySession) {
    expect(session, "rivulet> ");
}

/// Waits for `needle` and returns everything printed before it.
fn expect(session: &mut PtySession, needle: &str) -> String {
    match session.exp_string(needle) {
        Ok(before) => before,
        Err(e) => panic!("waiting for {needle:?}: {e}"),
    }
}

#[test]
fn a_session_on_a_pseudo_terminal() {
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut p = start(data.path(), home.path());
    expect(&mut p, "Having trouble? Type 'help'");
    expect(&mut p, "rivulet> ");

    // A statement and its status line.
    p.send_line(
        "CREATE STREAM pageviews_demo (pageid VARCHAR KEY, userid VARCHAR) \
         WITH (KAFKA_TOPIC='pv_demo', VALUE_FORMAT='JSON', PARTITIONS=1);",
    )
    .unwrap();
    expect(&mut p, "Stream created");
    prompt(&mut p);

    // A statement over two lines: the continuation prompt, then the statement runs once ended
    // by ';'. Then two statements on one line.
    p.send_line("INSERT INTO pageviews_demo (pageid, userid)").unwrap();
    expect(&mut p, "       > ");
    p.send_line("  VALUES ('p1', 'alice');").unwrap();
    prompt(&mut p);
    p.send_line("INSERT INTO pageviews_demo (pageid, userid) VALUES ('p2', 'bob'); SHOW STREAMS;").unwrap();
    let listing = expect(&mut p, "PAGEVIEWS_DEMO");
    assert!(listing.contains("Stream Name"), "SHOW STREAMS prints ksqlDB's columns: {listing}");
    prompt(&mut p);

    // Tab completes a stream name typed in part: DESCRIBE only finds the stream if the
    // completion wrote its whole name.
    p.send("DESCRIBE pageviews_d").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.send_line(";").unwrap();
    expect(&mut p, "Name                 : PAGEVIEWS_DEMO");
    expect(&mut p, "USERID");
    prompt(&mut p);

    // A push query streams rows until Ctrl-C, which stops the query and not the REPL.
    p.send_line("SELECT pageid, userid FROM pageviews_demo EMIT CHANGES;").unwrap();
    expect(&mut p, "Press CTRL-C to interrupt");
    expect(&mut p, "alice");
    expect(&mut p, "bob");
    p.send_control('c').unwrap();
    expect(&mut p, "Query terminated");
    prompt(&mut p);
    // The REPL answers the next statement.
    p.send_line("SHOW TOPICS;").unwrap();
    expect(&mut p, "pv_demo");
    prompt(&mut p);

    // Ctrl-C at the prompt drops the half-typed line: what follows runs on its own.
    p.send("SHOW STR").unwrap();
    p.flush().unwrap();
    p.send_control('c').unwrap();
    prompt(&mut p);
    p.send_line("SELECT * FROM pageviews_demo EMIT CHANGES LIMIT 1;").unwrap();
    expect(&mut p, "Limit Reached");
    prompt(&mut p);

    // An error shows the statement with a caret under the position, and the hint.
    p.send_line("SELEC * FROM pageviews_demo;").unwrap();
    let shown = expect(&mut p, "Hint: did you mean SELECT?");
    assert!(shown.contains("Syntax Error"), "{shown}");
    assert!(shown.contains("  SELEC * FROM pageviews_demo\r\n  ^"), "caret under the error: {shown:?}");
    prompt(&mut p);

    // PRINT reads the topic in ksqlDB's format.
    p.send_line("PRINT 'pv_demo' FROM BEGINNING LIMIT 2;").unwrap();
    let printed = expect(&mut p, "Topic printing ceased");
    assert!(printed.contains("Value format: JSON or KAFKA_STRING"), "{printed}");
    assert!(printed.contains("key: p1, value: {\"USERID\":\"alice\"}, partition: 0"), "{printed}");
    prompt(&mut p);

    // Ctrl-D exits.
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();

    let history = std::fs::read_to_string(home.path().join(".rivulet_history")).unwrap();
    assert!(history.contains("SHOW TOPICS;"), "{history}");
    // The two lines of the INSERT are one history entry.
    assert!(history.contains("INSERT INTO pageviews_demo (pageid, userid) VALUES ('p1', 'alice');"), "{history}");
}
