//! `rivulet loadtest` end to end, small: a server child process, push clients that must each
//! receive every inserted row, and paced pull queries that must all succeed. (The figures it
//! prints are measured with a release build, not here.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::process::Command;

#[test]
fn a_short_load_run_loses_no_rows_and_fails_no_pull_query() {
    let output = Command::new(env!("CARGO_BIN_EXE_rivulet"))
        .args(["loadtest", "--push-clients", "10", "--pull-rate", "100", "--duration", "2", "--keys", "100"])
        .args(["--insert-rate", "40", "--pull-connections", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    let report: HashMap<&str, &str> = stdout.split_whitespace().filter_map(|field| field.split_once('=')).collect();
    let number = |name: &str| -> f64 {
        report.get(name).unwrap_or_else(|| panic!("no {name} in {stdout}")).trim_end_matches("/s").parse().unwrap()
    };
    assert!(number("pull_queries") >= 50.0, "{stdout}");
    assert_eq!(number("pull_errors"), 0.0, "{stdout}");
    assert_eq!(number("push_clients"), 10.0);
    assert_eq!(number("push_errors"), 0.0, "{stdout}");
    assert!(number("rows_inserted") > 0.0, "{stdout}");
    assert_eq!(number("rows_missing"), 0.0, "{stdout}");
    assert_eq!(number("rows_delivered_min"), number("rows_inserted"), "{stdout}");
    assert!(number("server_rss_mb") > 0.0, "{stdout}");
}
