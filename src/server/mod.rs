//! `rivulet server`: ksqlDB's REST API over HTTP/1.1 and HTTP/2, on axum.
//!
//! The server owns an [`Engine`] and translates requests into `Engine` calls and results into
//! ksqlDB's JSON shapes, nothing more: statements run through the same entry point as the REPL
//! and the test runner. Engine calls are synchronous and run on tokio's blocking pool; push
//! queries stream from the engine's query threads through [`PushQuery::recv`].
//!
//! Connections are accepted here rather than by `axum::serve` for four reasons: TLS (a rustls
//! handshake per connection), graceful shutdown that lets streaming responses end with a
//! message, a per-connection kill switch — a push-query client that stops reading is cut
//! off instead of holding its query (and its buffer) forever — and the hand-off of push-query
//! connections to a runtime of their own.
//!
//! That hand-off keeps key lookups fast while rows stream out: a row inserted into a stream
//! that hundreds of push queries follow is written to hundreds of sockets at once, and those
//! writes (a TCP send each) would otherwise queue every request that arrives meanwhile behind
//! them on the same worker threads. Once a connection's request turns out to be a push query,
//! the connection's task moves, as it is, to the push runtime's threads; the operating
//! system then shares the cores between the two, and a lookup waits for a time slice at
//! most instead of for the whole burst.
//!
//! [`PushQuery::recv`]: crate::engine::result::PushQuery::recv

pub mod auth;
pub mod entity;
pub mod error;
mod inserts;
mod query;
mod routes;
mod tls;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes (a larger one gets 413).
    pub max_request_bytes: usize,
    /// How long a push-query client may leave its buffer full before it is disconnected.
    pub slow_client_timeout: Duration,
    /// Messages (each the rows that were ready together, at most 16) buffered per push-query
    /// client beyond the query's own buffer.
    pub client_buffer: usize,
    /// Users and password hashes for HTTP basic authentication; `None` lets everyone in.
    pub auth_file: Option<PathBuf>,
    /// PEM certificate chain and private key: serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long a graceful shutdown waits for open connections.
    pub shutdown_timeout: Duration,
    /// Threads that answer requests ([`run`] only: [`start`] serves on the caller's runtime).
    pub http_threads: usize,
    /// Threads that write push queries' rows to their clients (see the module doc).
    pub push_threads: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8088)),
            max_request_bytes: 8 * 1024 * 1024,
            slow_client_timeout: Duration::from_secs(10),
            client_buffer: 256,
            auth_file: None,
            tls: None,
            shutdown_timeout: Duration::from_secs(10),
            http_threads: cores_divided_by(2),
            push_threads: cores_divided_by(4),
        }
    }
}

/// A share of the machine's cores, at least one. Request threads get half of them and push
/// threads a quarter: the rest is for the queries' own threads. Fewer request threads also
/// answer faster on a small machine: two workers of tokio's work-stealing scheduler on two
/// cores keep waking each other (measured on a two-core virtual machine at 2,000 key lookups
/// a second, no push clients: p99 5–6 ms with two workers, 1.4–1.9 ms with one).
fn cores_divided_by(n: usize) -> usize {
    std::thread::available_parallelism().map_or(1, |cores| (cores.get() / n).max(1))
}

/// How much lower than the request threads the push threads run (a nice value): when the
/// cores are busy, a waiting request gets one first, and rows wait the moment it takes.
/// Rows still get about a tenth of the contended CPU, and all of an idle one.
const PUSH_NICENESS: i32 = 10;

/// The runtime push-query connections move to. Shut down in the background when dropped:
/// the server may be dropped on an async thread, where blocking for the runtime's threads to
/// end is not allowed; by then every connection has ended or was given up on.
struct PushRuntime {
    handle: tokio::runtime::Handle,
    /// Always there until dropped (taken to shut it down).
    runtime: Option<tokio::runtime::Runtime>,
}

impl PushRuntime {
    fn start(threads: usize) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("rivulet-push")
            .on_thread_start(|| crate::sys::lower_thread_priority(PUSH_NICENESS))
            .enable_all()
            .build()
            .map_err(|e| Error::external(format!("cannot start the push-query runtime: {e}")))?;
        Ok(Self { handle: runtime.handle().clone(), runtime: Some(runtime) })
    }
}

impl Drop for PushRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) engine: Arc<Engine>,
    pub(crate) config: ServerConfig,
    pub(crate) auth: Option<auth::Users>,
    /// Running push queries by id: their cancel flags, for `/close-query`.
    pub(crate) push_queries: Mutex<HashMap<String, Arc<AtomicBool>>>,
    /// Statuses of the commands this server ran, by command id (`/status`).
    pub(crate) commands: Mutex<BTreeMap<String, serde_json::Value>>,
    /// Turns true when the server starts shutting down: streaming responses end.
    pub(crate) shutting_down: watch::Receiver<bool>,
    pub(crate) started: Instant,
    pub(crate) service_id: String,
    /// Where push-query connections and their pumps run.
    push: PushRuntime,
}

impl AppState {
    /// Spawns a push query's task on the push runtime.
    pub(crate) fn spawn_push<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        drop(self.push.handle.spawn(task));
    }
}

/// A connection's switches, put in every request's extensions: `kill` closes the connection
/// whatever it is doing; `handoff` moves it to the push runtime (its request is a push query).
#[derive(Clone)]
pub(crate) struct ConnectionControl {
    pub(crate) kill: Arc<Notify>,
    pub(crate) handoff: Arc<Notify>,
}

/// A running server.
pub struct ServerHandle {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    tls: bool,
}

impl ServerHandle {
    /// The address it listens on (the port is the real one when the config asked for 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many push queries are streaming to clients now.
    pub fn running_push_queries(&self) -> usize {
        self.state.push_queries.lock().len()
    }

    /// `http://addr` or `https://addr`.
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Stops accepting, ends streaming responses, waits for connections (up to the shutdown
    /// timeout), then stops the engine's queries so that they commit.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the server task failed");
        }
    }
}

/// Binds and starts serving `engine` on the current tokio runtime.
pub async fn start(engine: Arc<Engine>, config: ServerConfig) -> Result<ServerHandle> {
    let users = match &config.auth_file {
        Some(path) => Some(auth::Users::load(path)?),
        None => None,
    };
    let acceptor = match &config.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::external(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let state = Arc::new(AppState {
        engine,
        auth: users,
        push_queries: Mutex::new(HashMap::new()),
        commands: Mutex::new(BTreeMap::new()),
        shutting_down: stopped.clone(),
        started: Instant::now(),
        service_id: "default_".to_string(),
        push: PushRuntime::start(config.push_threads)?,
        config,
    });
    let tls = acceptor.is_some();
    let task = tokio::spawn(accept_loop(listener, state.clone(), acceptor, stopped));
    tracing::info!(%addr, tls, "server listening");
    Ok(ServerHandle { addr, state, stop, task, tls })
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<AppState>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: watch::Receiver<bool>,
) {
    let router = routes::router(state.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let control = ConnectionControl { kill: Arc::new(Notify::new()), handoff: Arc::new(Notify::new()) };
        let router = router.clone();
        let service_control = control.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(service_control.clone());
            let router = router.clone();
            async move {
                use tower::ServiceExt;
                router.oneshot(request.map(axum::body::Body::new)).await
            }
        });
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let push = state.push.handle.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
                    match handshake {
                        Ok(Ok(stream)) => serve(TokioIo::new(stream), service, watcher, control, push, peer).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
                None => serve(TokioIo::new(stream), service, watcher, control, push, peer).await,
            }
        });
    }
    drop(listener);
    tracing::info!("server stopping: waiting for open connections");
    if tokio::time::timeout(state.config.shutdown_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown timeout; closing them");
    }
    let engine = state.engine.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || engine.shutdown()).await {
        tracing::error!(error = %e, "stopping the engine failed");
    }
    tracing::info!("server stopped");
}

/// Serves one connection until it ends, is killed, or is handed off to the push runtime
/// (where it then runs to its end, still killable).
async fn serve<I, S>(
    io: I,
    service: S,
    watcher: hyper_util::server::graceful::Watcher,
    control: ConnectionControl,
    push: tokio::runtime::Handle,
    peer: SocketAddr,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::Service<hyper::Request<hyper::body::Incoming>, Response = axum::response::Response>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = auto::Builder::new(TokioExecutor::new());
    // Boxed so that the connection can move to another task part-way through.
    let mut connection = Box::pin(watcher.watch(builder.serve_connection_with_upgrades(io, service).into_owned()));
    let ended = move |result: std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>| {
        if let Err(e) = result {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    };
    tokio::select! {
        result = &mut connection => return ended(result),
        _ = control.kill.notified() => return tracing::info!(%peer, "connection closed by the server"),
        _ = control.handoff.notified() => {}
    }
    // The connection goes on in a task of the push runtime: its first poll there registers
    // that task for every event the connection waits on. The socket stays registered with
    // this runtime's I/O driver, which only relays its (rare) readiness events.
    push.spawn(async move {
        tokio::select! {
            result = connection => ended(result),
            _ = control.kill.notified() => tracing::info!(%peer, "connection closed by the server"),
        }
    });
}

/// `rivulet server`: runs until SIGTERM or Ctrl-C, then shuts down gracefully.
pub fn run(engine: Engine, config: ServerConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.http_threads.max(1))
        .enable_all()
        .thread_name("rivulet-http")
        .build()
        .map_err(|e| Error::external(format!("cannot start the server runtime: {e}")))?;
    runtime.block_on(async move {
        let handle = start(Arc::new(engine), config).await?;
        eprintln_listening(&handle);
        wait_for_signal().await;
        tracing::warn!("shutting down");
        handle.shutdown().await;
        Ok(())
    })
}

fn eprintln_listening(handle: &ServerHandle) {
    // The one line a user starting the server needs; logged, so it goes to stderr.
    tracing::warn!(url = %handle.url(), "Rivulet server listening");
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
