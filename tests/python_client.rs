//! The server driven by a real third-party ksqlDB client: the Python library
//! `ksql-python-ng` (imported as `ksql`), which speaks ksqlDB's REST API its own way — HTTP/2
//! without TLS for `/query-stream` and `/inserts-stream`, one response chunk read as one line,
//! ksqlDB's error bodies turned into its exceptions.
//!
//! The test starts the real `rivulet server` binary on a free loopback port over a temporary
//! data directory, then runs `tests/python/ksql_client.py` with the library, which creates
//! streams, inserts rows, runs push and pull queries and checks what the library parsed.
//!
//! The library lives in a virtualenv under `target/tmp/pyclient-venv`, made with
//! `python3 -m venv` and pip the first time (pinned versions; a marker file records them), and
//! reused afterwards. Without python3 or PyPI the test fails, saying which: CI has both, and a
//! test that skips itself silently proves nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;

/// What pip installs: the library, and the httpx its calls were written for (httpx 0.28
/// removed the `cert=` argument the library passes to `httpx.get`).
const REQUIREMENTS: &[&str] = &["ksql-python-ng==0.29.0.1", "httpx[http2]==0.27.2"];

/// The virtualenv with the library installed, made if needed.
fn venv() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pyclient-venv");
    let python = dir.join("bin").join("python");
    let marker = dir.join("rivulet-requirements.txt");
    let wanted = REQUIREMENTS.join("\n");
    if python.exists() && std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return python;
    }
    let interpreter = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let made = Command::new(&interpreter).args(["-m", "venv", "--clear"]).arg(&dir).output();
    match made {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{interpreter} -m venv {}` failed (on Debian/Ubuntu install python3-venv):\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("this test needs python3 (or $PYTHON) to run ksql-python-ng, and `{interpreter}` failed: {e}"),
    }
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(REQUIREMENTS)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip could not install {REQUIREMENTS:?} (is PyPI reachable?):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&marker, wanted).unwrap();
    python
}

#[test]
fn ksql_python_drives_the_server() {
    let python = venv();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/ksql_client.py");
    let out = Command::new(&python).arg(&script).arg(&server.url).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all steps passed"),
        "the ksql-python-ng script failed against {}:\n--- stdout\n{stdout}\n--- stderr\n{}\n--- server log\n{}",
        server.url,
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
}
