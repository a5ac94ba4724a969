//! `rivulet loadtest`: many push-query clients and a steady rate of pull queries against one
//! server, over loopback, reporting pull latency percentiles, errors, rows each push client
//! missed, and the server's memory.
//!
//! Without `--server` it starts a `rivulet server` child process on a free loopback port with
//! a temporary data directory, so that the server's memory is its own (read from /proc).
//! Pull queries go over a fixed pool of keep-alive connections at a paced rate; latency is
//! measured from sending the request to having the whole answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rivulet::client::Client;
use rivulet::{Error, Result};
use serde_json::json;

#[derive(clap::Args)]
pub struct LoadArgs {
    /// A running server (http://host:port). Without it a server is started for the test.
    #[arg(long)]
    server: Option<String>,
    /// Concurrent push-query clients.
    #[arg(long, default_value_t = 200)]
    push_clients: usize,
    /// Pull queries (key lookups) per second.
    #[arg(long, default_value_t = 2000)]
    pull_rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Keys in the queried table.
    #[arg(long, default_value_t = 1000)]
    keys: usize,
    /// Rows per second inserted into the stream the push clients follow.
    #[arg(long, default_value_t = 50)]
    insert_rate: u64,
    /// Keep-alive connections the pull queries are spread over.
    #[arg(long, default_value_t = 32)]
    pull_connections: usize,
}

/// A server this command started; killed on drop.
struct Child {
    process: std::process::Child,
    _data: tempfile_dir::TempDir,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A temporary directory removed on drop (the binary has no tempfile dependency).
mod tempfile_dir {
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn run(args: &LoadArgs) -> Result<()> {
    let (url, child) = match &args.server {
        Some(url) => (url.clone(), None),
        None => {
            let (url, child) = start_server()?;
            (url, Some(child))
        }
    };
    let pid = child.as_ref().map(|c| c.process.id());
    let client = Client::new(&url)?;
    let suffix = std::process::id();
    let stream = format!("LOAD_EVENTS_{suffix}");
    let table = format!("LOAD_COUNTS_{suffix}");
    let earliest = rivulet::engine::Session {
        properties: BTreeMap::from([("auto.offset.reset".to_string(), "earliest".to_string())]),
        variables: BTreeMap::new(),
    };
    client
        .ksql(
            &format!(
                "CREATE STREAM {stream} (id VARCHAR KEY, v BIGINT) WITH (KAFKA_TOPIC='{stream}', PARTITIONS=1, VALUE_FORMAT='JSON');
                 CREATE TABLE {table} AS SELECT id, COUNT(*) AS c, SUM(v) AS s FROM {stream} GROUP BY id;"
            ),
            &earliest,
        )
        .map_err(|e| Error::external(format!("setting up the load test failed: {e}")))?;
    let rows: Vec<serde_json::Value> = (0..args.keys).map(|k| json!({"ID": format!("k{k}"), "V": k})).collect();
    for chunk in rows.chunks(1000) {
        client.insert(&stream, chunk).map_err(|e| Error::external(format!("loading keys failed: {e}")))?;
    }
    // The table has every key once the last one is there (one partition, in order).
    let last = format!("SELECT * FROM {table} WHERE id = 'k{}';", args.keys.saturating_sub(1));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut answer = client
            .query_stream(&last, &rivulet::engine::Session::default())
            .map_err(|e| Error::external(e.to_string()))?;
        let _ = answer.header();
        if answer.next_line().map_err(|e| Error::external(e.to_string()))?.is_some() {
            break;
        }
        if Instant::now() > deadline {
            return Err(Error::external("the table did not catch up with the loaded keys in 60 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(client);

    let report = load(args, &url, &stream, &table, pid)?;
    report.print();
    drop(child);
    Ok(())
}

fn start_server() -> Result<(String, Child)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| Error::external(format!("cannot find a free port: {e}")))?
        .port();
    let dir = std::env::temp_dir().join(format!("rivulet-loadtest-{}", std::process::id()));
    let data = tempfile_dir::TempDir(dir.clone());
    let exe = std::env::current_exe().map_err(|e| Error::external(format!("cannot find this binary: {e}")))?;
    let process = std::process::Command::new(exe)
        .arg("--data-dir")
        .arg(&dir)
        .args(["server", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| Error::external(format!("cannot start a server: {e}")))?;
    let child = Child { process, _data: data };
    let url = format!("http://127.0.0.1:{port}");
    let client = Client::new(&url)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get("/info").is_err() {
        if Instant::now() > deadline {
            return Err(Error::external("the server did not come up in 10 s"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((url, child))
}

struct Report {
    pulls: usize,
    seconds: f64,
    latencies_us: Vec<u64>,
    pull_errors: u64,
    push_clients: usize,
    push_errors: u64,
    inserted: u64,
    min_delivered: u64,
    missing: u64,
    rss_mb: Option<f64>,
    peak_rss_mb: Option<f64>,
    /// Share of the machine's CPU time taken by the hypervisor during the load, in percent.
    steal_pct: Option<f64>,
}

impl Report {
    fn print(&self) {
        let pct = |p: f64| {
            if self.latencies_us.is_empty() {
                return 0.0;
            }
            let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
            self.latencies_us[i] as f64 / 1000.0
        };
        let one_decimal = |m: Option<f64>| m.map_or("n/a".to_string(), |m| format!("{m:.1}"));
        crate::render::line(&format!(
            "pull_queries={} pull_rate={:.0}/s p50_ms={:.3} p99_ms={:.3} max_ms={:.3} pull_errors={} \
             push_clients={} push_errors={} rows_inserted={} rows_delivered_min={} rows_missing={} \
             server_rss_mb={} server_peak_rss_mb={} cpu_steal_pct={}",
            self.pulls,
            self.pulls as f64 / self.seconds,
            pct(0.50),
            pct(0.99),
            pct(1.0),
            self.pull_errors,
            self.push_clients,
            self.push_errors,
            self.inserted,
            self.min_delivered,
            self.missing,
            one_decimal(self.rss_mb),
            one_decimal(self.peak_rss_mb),
            one_decimal(self.steal_pct),
        ));
    }
}

/// The machine's CPU time so far by kind (user, nice, system, idle, iowait, irq, softirq,
/// steal), in clock ticks; `None` off Linux.
fn cpu_times() -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let total = stat.lines().next()?.strip_prefix("cpu ")?;
    Some(total.split_whitespace().take(8).filter_map(|t| t.parse().ok()).collect())
}

/// The share of CPU time stolen by the hypervisor between two [`cpu_times`], in percent: on
/// a virtual machine, the time its cores did not run at all — a latency no server can avoid,
/// reported so that a run on a busy host reads as such.
fn steal_pct(before: &[u64], after: &[u64]) -> Option<f64> {
    let spent: Vec<u64> = after.iter().zip(before).map(|(a, b)| a.saturating_sub(*b)).collect();
    let total: u64 = spent.iter().sum();
    (spent.len() == 8 && total > 0).then(|| 100.0 * spent[7] as f64 / total as f64)
}

/// Resident and peak memory of a process, in MiB.
fn memory(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: &str) -> Result<Sender> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| Error::external(format!("cannot connect to {addr}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| Error::external(format!("HTTP handshake failed: {e}")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn post(addr: &str, path: &str, body: String) -> hyper::Request<Full<Bytes>> {
    let mut request = hyper::Request::new(Full::new(Bytes::from(body)));
    *request.method_mut() = hyper::Method::POST;
    *request.uri_mut() = path.parse().unwrap_or_default();
    let headers = request.headers_mut();
    if let Ok(host) = addr.parse() {
        headers.insert(hyper::header::HOST, host);
    }
    headers.insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    request
}

/// The push clients: each on a connection of its own, following the stream from now on and
/// counting every row it reads, until `stop` turns true.
///
/// They speak HTTP/1.1 over a bare socket rather than through an HTTP client: the generator
/// shares the machine with the server it measures, and 200 readers each woken for every row
/// cost it a connection task, a body channel and a reader task per row through hyper; here
/// one task per client reads the socket and counts the rows in its chunked body.
async fn push_clients(
    addr: String,
    sql: String,
    delivered: Arc<Vec<AtomicU64>>,
    errors: Arc<AtomicU64>,
    ready: tokio::sync::mpsc::Sender<()>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tasks = Vec::with_capacity(delivered.len());
    for i in 0..delivered.len() {
        let (addr, sql, delivered, errors, ready, mut stop) =
            (addr.clone(), sql.clone(), delivered.clone(), errors.clone(), ready.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let outcome: Result<()> = async {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut tcp = tokio::net::TcpStream::connect(&addr)
                    .await
                    .map_err(|e| Error::external(format!("cannot connect to {addr}: {e}")))?;
                let _ = tcp.set_nodelay(true);
                let body = json!({"sql": sql, "properties": {"auto.offset.reset": "latest"}}).to_string();
                let request = format!(
                    "POST /query-stream HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                tcp.write_all(request.as_bytes())
                    .await
                    .map_err(|e| Error::external(format!("push query failed: {e}")))?;
                let mut buffer = vec![0u8; 64 * 1024];
                let mut response = ChunkedLines::default();
                let mut header_seen = false;
                loop {
                    let read = tokio::select! {
                        read = tcp.read(&mut buffer) => read,
                        _ = stop.changed() => break,
                    };
                    let n = read.map_err(|e| Error::external(format!("push stream broke: {e}")))?;
                    if n == 0 {
                        return Err(Error::external("the server closed a push query's connection"));
                    }
                    let mut lines = response.feed(&buffer[..n])?;
                    if !header_seen && lines > 0 {
                        header_seen = true;
                        lines -= 1;
                        let _ = ready.send(()).await;
                    }
                    delivered[i].fetch_add(lines, Ordering::Relaxed);
                }
                Ok(())
            }
            .await;
            if let Err(e) = outcome {
                tracing::warn!(error = %e, "push client failed");
                errors.fetch_add(1, Ordering::Relaxed);
                let _ = ready.send(()).await;
            }
        }));
    }
    drop(ready);
    for task in tasks {
        let _ = task.await;
    }
}

/// Counts the lines of an HTTP/1.1 response with a chunked body, fed as it arrives.
#[derive(Default)]
struct ChunkedLines {
    state: Chunked,
    /// The response head read so far (until its blank line).
    head: Vec<u8>,
    size: usize,
}

#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
enum Chunked {
    #[default]
    Head,
    /// In a chunk-size line (hex digits, maybe extensions), until its newline.
    Size { digits: bool, extension: bool },
    /// In a chunk's data, with this many bytes left.
    Data(usize),
    /// After a chunk's data, until the newline that ends it.
    DataEnd,
    /// The last chunk was read.
    Done,
}

impl ChunkedLines {
    /// The newlines in the body's data among `bytes`.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<u64> {
        let mut lines = 0;
        while !bytes.is_empty() {
            match self.state {
                Chunked::Head => {
                    let before = self.head.len();
                    self.head.extend_from_slice(bytes);
                    let Some(end) = memchr::memmem::find(&self.head, b"\r\n\r\n") else {
                        if self.head.len() > 64 * 1024 {
                            return Err(Error::external("a push query's response head is too long"));
                        }
                        return Ok(lines);
                    };
                    if !self.head.starts_with(b"HTTP/1.1 200") {
                        let status = String::from_utf8_lossy(&self.head[..self.head.len().min(12)]).into_owned();
                        return Err(Error::external(format!("push query answered {status}")));
                    }
                    let chunked = String::from_utf8_lossy(&self.head[..end])
                        .to_ascii_lowercase()
                        .contains("transfer-encoding: chunked");
                    if !chunked {
                        return Err(Error::external("a push query's answer is not chunked"));
                    }
                    bytes = &bytes[end + 4 - before..];
                    self.head = Vec::new();
                    self.state = Chunked::Size { digits: false, extension: false };
                }
                Chunked::Size { digits, extension } => {
                    let b = bytes[0];
                    bytes = &bytes[1..];
                    match b {
                        b'\n' if digits => {
                            self.state = if self.size == 0 { Chunked::Done } else { Chunked::Data(self.size) };
                            self.size = 0;
                        }
                        b'\r' => {}
                        _ if extension => {}
                        b';' => self.state = Chunked::Size { digits, extension: true },
                        _ => {
                            let digit = (b as char)
                                .to_digit(16)
                                .ok_or_else(|| Error::external("a malformed chunk size in a push query's answer"))?;
                            self.size = self
                                .size
                                .checked_mul(16)
                                .and_then(|s| s.checked_add(digit as usize))
                                .ok_or_else(|| Error::external("a chunk too large in a push query's answer"))?;
                            self.state = Chunked::Size { digits: true, extension: false };
                        }
                    }
                }
                Chunked::Data(left) => {
                    let take = left.min(bytes.len());
                    lines += memchr::memchr_iter(b'\n', &bytes[..take]).count() as u64;
                    bytes = &bytes[take..];
                    self.state = if take == left { Chunked::DataEnd } else { Chunked::Data(left - take) };
                }
                Chunked::DataEnd => {
                    if bytes[0] == b'\n' {
                        self.state = Chunked::Size { digits: false, extension: false };
                    }
                    bytes = &bytes[1..];
                }
                Chunked::Done => return Ok(lines),
            }
        }
        Ok(lines)
    }
}

/// Runs the load. The push clients run on a thread and runtime of their own, the pull workers
/// (with the inserter and the once-a-second report) on another: on a small machine, a pull
/// answer that arrives while the push clients read a burst of rows is then read as soon as the
/// kernel runs the pull thread, instead of waiting in the same task queue behind 200 push
/// clients — which would count the load generator's own backlog as the server's latency.
/// Both are single-threaded runtimes: the generator shares the cores with the server it
/// measures, and a thread per runtime is all its work needs.
fn load(args: &LoadArgs, url: &str, stream: &str, table: &str, pid: Option<u32>) -> Result<Report> {
    let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let delivered: Arc<Vec<AtomicU64>> = Arc::new((0..args.push_clients).map(|_| AtomicU64::new(0)).collect());
    let push_errors = Arc::new(AtomicU64::new(0));
    let (ready_tx, ready_rx) = tokio::sync::mpsc::channel::<()>(args.push_clients.max(1));
    let (stop_push, stop_push_rx) = tokio::sync::watch::channel(false);
    let runtime = |name: &str| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::external(format!("cannot start the {name} runtime: {e}")))
    };
    let push_runtime = runtime("push clients")?;
    let push_thread = {
        let work = push_clients(
            addr.clone(),
            format!("SELECT * FROM {stream} EMIT CHANGES;"),
            delivered.clone(),
            push_errors.clone(),
            ready_tx,
            stop_push_rx,
        );
        std::thread::Builder::new()
            .name("load-push".into())
            .spawn(move || {
                // The push clients stand in for consumers on other machines: on this one they
                // yield the cores to the pull side's measurements and to the server.
                rivulet::sys::lower_thread_priority(10);
                push_runtime.block_on(work)
            })
            .map_err(|e| Error::external(format!("cannot start the push clients' thread: {e}")))?
    };
    let pulls = PullLoad { args, addr, stream, table, pid, delivered, push_errors, ready: ready_rx };
    let report = runtime("pull workers")?.block_on(pulls.run(&stop_push));
    // Whatever happened, the push clients stop and their thread ends.
    let _ = stop_push.send(true);
    if push_thread.join().is_err() {
        return Err(Error::internal("the push clients' thread panicked"));
    }
    report
}

/// The pull side of the load, and the bookkeeping.
struct PullLoad<'a> {
    args: &'a LoadArgs,
    addr: String,
    stream: &'a str,
    table: &'a str,
    pid: Option<u32>,
    delivered: Arc<Vec<AtomicU64>>,
    push_errors: Arc<AtomicU64>,
    ready: tokio::sync::mpsc::Receiver<()>,
}

impl PullLoad<'_> {
    async fn run(mut self, stop_push: &tokio::sync::watch::Sender<bool>) -> Result<Report> {
        let (args, addr, delivered) = (self.args, self.addr.clone(), self.delivered.clone());
        for _ in 0..args.push_clients {
            if tokio::time::timeout(Duration::from_secs(30), self.ready.recv()).await.is_err() {
                return Err(Error::external("push clients did not all start within 30 s"));
            }
        }
        let stop = Arc::new(AtomicBool::new(false));

        // The inserter: `insert_rate` rows a second, in ten batches.
        let inserted = Arc::new(AtomicU64::new(0));
        let inserter = {
            let (addr, stop, inserted) = (addr.clone(), stop.clone(), inserted.clone());
            let per_tick = (args.insert_rate / 10).max(1);
            let stream = self.stream.to_string();
            let keys = args.keys.max(1);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                let mut n: u64 = 0;
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let mut body = json!({"target": stream}).to_string();
                    for _ in 0..per_tick {
                        body.push('\n');
                        body.push_str(&json!({"ID": format!("k{}", n as usize % keys), "V": 1}).to_string());
                        n += 1;
                    }
                    let Ok(mut sender) = connect(&addr).await else { continue };
                    if let Ok(response) = sender.send_request(post(&addr, "/inserts-stream", body)).await
                        && let Ok(acks) = response.into_body().collect().await
                    {
                        let text = acks.to_bytes();
                        let ok = text.split(|b| *b == b'\n').filter(|l| l.starts_with(b"{\"status\":\"ok\"")).count();
                        inserted.fetch_add(ok as u64, Ordering::Relaxed);
                    }
                }
            })
        };

        // Pull workers.
        let connections = args.pull_connections.max(1);
        let per_worker = Duration::from_secs_f64(connections as f64 / args.pull_rate.max(1) as f64);
        let pull_errors = Arc::new(AtomicU64::new(0));
        let pulls_done = Arc::new(AtomicU64::new(0));
        let mut workers = Vec::new();
        let started = Instant::now();
        for w in 0..connections {
            let (addr, stop, errors, done) = (addr.clone(), stop.clone(), pull_errors.clone(), pulls_done.clone());
            let (table, keys) = (self.table.to_string(), args.keys.max(1));
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let Ok(mut sender) = connect(&addr).await else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    return latencies;
                };
                // Workers start spread over one period, so that their requests interleave
                // rather than arrive in bursts of `connections` at once.
                let offset = per_worker.mul_f64(w as f64 / connections as f64);
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, per_worker);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (w as u64 + 1);
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let key = seed as usize % keys;
                    let sql = format!("SELECT * FROM {table} WHERE id = 'k{key}';");
                    let body = json!({"sql": sql}).to_string();
                    let sent = Instant::now();
                    let ok = match sender.send_request(post(&addr, "/query-stream", body)).await {
                        Ok(response) if response.status().is_success() => {
                            match response.into_body().collect().await {
                                // The metadata line and the key's row.
                                Ok(all) => memchr::memchr_iter(b'\n', &all.to_bytes()).count() == 2,
                                Err(_) => false,
                            }
                        }
                        _ => false,
                    };
                    latencies.push(sent.elapsed().as_micros() as u64);
                    done.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                        match connect(&addr).await {
                            Ok(fresh) => sender = fresh,
                            Err(_) => break,
                        }
                    }
                }
                latencies
            }));
        }

        let mut peak: Option<f64> = None;
        let cpu_before = cpu_times();
        for second in 1..=args.duration {
            tokio::time::sleep_until((started + Duration::from_secs(second)).into()).await;
            let memory = self.pid.and_then(memory);
            if let Some((_, hwm)) = memory {
                peak = Some(hwm);
            }
            let min = delivered.iter().map(|d| d.load(Ordering::Relaxed)).min().unwrap_or(0);
            tracing::warn!(
                "t={second}s pulls={} pull_errors={} inserted={} push_rows_min={min} server_rss_mb={}",
                pulls_done.load(Ordering::Relaxed),
                pull_errors.load(Ordering::Relaxed),
                inserted.load(Ordering::Relaxed),
                memory.map_or("n/a".to_string(), |(rss, _)| format!("{rss:.1}")),
            );
        }
        let seconds = started.elapsed().as_secs_f64();
        let steal = cpu_before.zip(cpu_times()).and_then(|(before, after)| steal_pct(&before, &after));
        // Pulls and inserts stop; push clients get the time to receive what was inserted.
        stop.store(true, Ordering::Relaxed);
        let _ = inserter.await;
        let mut latencies = Vec::new();
        for worker in workers {
            if let Ok(mut l) = worker.await {
                latencies.append(&mut l);
            }
        }
        let total = inserted.load(Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && delivered.iter().any(|d| d.load(Ordering::Relaxed) < total) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = stop_push.send(true);
        let counts: Vec<u64> = delivered.iter().map(|d| d.load(Ordering::Relaxed)).collect();
        let min_delivered = counts.iter().copied().min().unwrap_or(0);
        let missing = counts.iter().map(|&c| total.saturating_sub(c)).sum();
        latencies.sort_unstable();
        let memory = self.pid.and_then(memory);
        Ok(Report {
            pulls: latencies.len(),
            seconds,
            latencies_us: latencies,
            pull_errors: pull_errors.load(Ordering::Relaxed),
            push_clients: args.push_clients,
            push_errors: self.push_errors.load(Ordering::Relaxed),
            inserted: total,
            min_delivered,
            missing,
            rss_mb: memory.map(|(rss, _)| rss),
            peak_rss_mb: memory.map(|(_, hwm)| hwm).or(peak),
            steal_pct: steal,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{ChunkedLines, steal_pct};

    #[test]
    fn steal_is_the_share_of_the_time_spent_between_two_readings() {
        let before = [100, 0, 50, 800, 0, 0, 0, 50];
        let after = [150, 0, 70, 900, 0, 0, 0, 70];
        // 20 ticks of steal out of 190 spent.
        assert!((steal_pct(&before, &after).unwrap() - 100.0 * 20.0 / 190.0).abs() < 1e-9);
        assert_eq!(steal_pct(&before, &before), None);
        assert_eq!(steal_pct(&before[..4], &after[..4]), None);
    }

    #[test]
    fn chunked_lines_are_counted_however_the_bytes_arrive() {
        let response = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: x\r\n\r\n\
            8\r\n{\"h\":1}\n\r\n8;ext=1\r\n[\"a\",1]\n\r\n10\r\n[\"b\",2]\n[\"c\",3]\n\r\n0\r\n\r\n";
        for split in 1..response.len() {
            let mut lines = ChunkedLines::default();
            let mut total = 0;
            for part in response.chunks(split) {
                total += lines.feed(part).unwrap();
            }
            assert_eq!(total, 4, "fed {split} bytes at a time");
        }
        let mut lines = ChunkedLines::default();
        assert!(lines.feed(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").is_err());
        let mut lines = ChunkedLines::default();
        assert!(lines.feed(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n").is_err());
    }
}
