//! Helpers shared by the integration tests: a running `rivulet server`, and engines whose
//! queries the test steps by hand.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rivulet::engine::{Engine, EngineConfig};

/// An engine over `dir` (in memory without one) whose queries run only when the test steps
/// them, reading from the earliest offsets; `properties` add to those settings.
pub fn manual_engine(dir: Option<&Path>, properties: &[(&str, &str)]) -> Engine {
    let mut settings = std::collections::BTreeMap::new();
    settings.insert("auto.offset.reset".to_string(), "earliest".to_string());
    settings.extend(properties.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Engine::open(EngineConfig {
        data_dir: dir.map(Path::to_path_buf),
        properties: settings,
        background: false,
        ..Default::default()
    })
    .unwrap()
}

/// Runs statements, then lets the queries consume everything one record at a time.
pub fn run(engine: &Engine, sql: &str) {
    engine.execute(sql).unwrap();
    engine.run_to_completion(1).unwrap();
}

/// A running `rivulet server`, killed when dropped; its log is kept for failure messages.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the server over `data` on a port the OS picks.
    pub fn start(data: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rivulet"))
            .arg("--data-dir")
            .arg(data)
            .args(["server", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rivulet server starts");
        // The server logs its URL (with the port the OS chose) once it listens; the rest of its
        // log is kept for the failure message.
        let log = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Rivulet server listening")
                    && let Some(at) = line.find("http://")
                {
                    let url: String = line[at..].chars().take_while(|c| !c.is_whitespace() && *c != '\u{1b}').collect();
                    let _ = url_tx.send(url);
                }
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        match url_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => Server { child, url, log },
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not say where it listens within 60 s:\n{}", log.lock().unwrap());
            }
        }
    }
}

impl Server {
    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
