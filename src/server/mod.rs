//! `rivulet server`: ksqlDB's REST API over HTTP/1.1 and HTTP/2, on axum.
//!
//! The server owns an [`Engine`] and translates requests into `Engine` calls and results into
//! ksqlDB's JSON shapes, nothing more: statements run through the same entry point as the REPL
//! and the test runner. Engine calls are synchronous and run on tokio's blocking pool; push
//! queries stream from the engine's query threads through [`PushQuery::recv`].
//!
//! Connections are accepted here rather than by `axum::serve` for three reasons: TLS (a rustls
//! handshake per connection), graceful shutdown that lets streaming responses end with a
//! message, and a per-connection kill switch — a push-query client that stops reading is cut
//! off instead of holding its query (and its buffer) forever.
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
}

/// A connection's kill switch, put in every request's extensions.
#[derive(Clone)]
pub(crate) struct ConnectionKill(pub(crate) Arc<Notify>);

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
        let kill = Arc::new(Notify::new());
        let router = router.clone();
        let service_kill = ConnectionKill(kill.clone());
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(service_kill.clone());
            let router = router.clone();
            async move {
                use tower::ServiceExt;
                router.oneshot(request.map(axum::body::Body::new)).await
            }
        });
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            match acceptor {
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
                    let stream = match handshake {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let connection = watcher.watch(connection.into_owned());
                    tokio::select! {
                        result = connection => if let Err(e) = result { tracing::debug!(%peer, error = %e, "connection ended with an error") },
                        _ = kill.notified() => tracing::info!(%peer, "connection closed by the server"),
                    }
                }
                None => {
                    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let connection = watcher.watch(connection.into_owned());
                    tokio::select! {
                        result = connection => if let Err(e) = result { tracing::debug!(%peer, error = %e, "connection ended with an error") },
                        _ = kill.notified() => tracing::info!(%peer, "connection closed by the server"),
                    }
                }
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

/// `rivulet server`: runs until SIGTERM or Ctrl-C, then shuts down gracefully.
pub fn run(engine: Engine, config: ServerConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
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
