//! A blocking client of ksqlDB's REST API: what the REPL's `--server` mode, the REST
//! conformance runner and the load generator speak to a Rivulet (or ksqlDB) server with.
//!
//! Each request opens its own HTTP/1.1 connection (plain or TLS) on a private current-thread
//! tokio runtime, driven only while a call blocks on it; a streaming response is read frame by
//! frame as the caller asks for lines, and dropping it closes the connection — which is how a
//! push query is cancelled from the client side. One client is for one thread: it must not be
//! used from inside another tokio runtime.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full};
pub use hyper::Method;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::engine::Session;
use crate::error::{Error, Result};

pub mod entities;

/// An error answer from the server: its status and its ksqlDB error body.
#[derive(Debug, Clone)]
pub struct ServerError {
    pub status: u16,
    pub body: Value,
}

impl ServerError {
    /// The `message` of the error body (or the whole body when it has none).
    pub fn message(&self) -> String {
        match self.body.get("message").and_then(Value::as_str) {
            Some(message) => message.to_string(),
            None => self.body.to_string(),
        }
    }
}

/// What a call can fail with: the server said no, or it could not be reached.
#[derive(Debug)]
pub enum ClientError {
    Server(ServerError),
    Transport(Error),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Server(e) => write!(f, "{} (HTTP {})", e.message(), e.status),
            ClientError::Transport(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for ClientError {
    fn from(e: Error) -> Self {
        ClientError::Transport(e)
    }
}

type ClientResult<T> = std::result::Result<T, ClientError>;

/// A client of one server.
pub struct Client {
    host: String,
    port: u16,
    tls: Option<TlsConnector>,
    authorization: Option<String>,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// A client of the server at `url` (`http://host:port` or `https://host:port`).
    pub fn new(url: &str) -> Result<Client> {
        Self::build(url, None)
    }

    /// Like [`Client::new`], trusting the PEM certificates in `ca` besides the usual roots
    /// (a server with a self-signed certificate).
    pub fn with_ca(url: &str, ca: &Path) -> Result<Client> {
        Self::build(url, Some(ca))
    }

    fn build(url: &str, ca: Option<&Path>) -> Result<Client> {
        let uri: hyper::Uri = url.parse().map_err(|e| Error::user(format!("not a server URL '{url}': {e}")))?;
        let secure = match uri.scheme_str() {
            Some("https") => true,
            Some("http") | None => false,
            Some(other) => return Err(Error::user(format!("unsupported URL scheme '{other}' (use http or https)"))),
        };
        let host = uri.host().ok_or_else(|| Error::user(format!("no host in server URL '{url}'")))?.to_string();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let authorization = uri
            .authority()
            .and_then(|a| a.as_str().rsplit_once('@'))
            .map(|(credentials, _)| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials)));
        let tls = if secure { Some(connector(ca)?) } else { None };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::external(format!("cannot start the client runtime: {e}")))?;
        Ok(Client { host, port, tls, authorization, runtime })
    }

    /// Sends HTTP basic credentials with every request.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.authorization = Some(format!("Basic {encoded}"));
        self
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        format!("{}://{}:{}", if self.tls.is_some() { "https" } else { "http" }, self.host, self.port)
    }

    /// `POST /ksql`: the entities of the statements, run with the session's properties
    /// (`streamsProperties`) and variables (`sessionVariables`).
    pub fn ksql(&self, sql: &str, session: &Session) -> ClientResult<Vec<Value>> {
        let body = json!({"ksql": sql, "streamsProperties": session.properties, "sessionVariables": session.variables});
        let value = self.call_json(Method::POST, "/ksql", Some(body), "application/vnd.ksql.v1+json")?;
        match value {
            Value::Array(entities) => Ok(entities),
            other => Err(ClientError::Transport(Error::external(format!("unexpected /ksql answer: {other}")))),
        }
    }

    /// `POST /query-stream` (delimited): the metadata line now, rows as the caller reads them.
    pub fn query_stream(&self, sql: &str, session: &Session) -> ClientResult<LineStream<'_>> {
        let body = json!({"sql": sql, "properties": session.properties, "sessionVariables": session.variables});
        let response =
            self.send(Method::POST, "/query-stream", Some(body), "application/vnd.ksqlapi.delimited.v1", &[])?;
        Ok(LineStream { client: self, body: Some(response.into_body()), pending: Vec::new(), header: None })
    }

    /// `POST /query` (v1): the raw chunked body as lines, for callers that parse `StreamedRow`s.
    pub fn query_v1(&self, sql: &str, session: &Session) -> ClientResult<LineStream<'_>> {
        let body = json!({"ksql": sql, "streamsProperties": session.properties, "sessionVariables": session.variables});
        let response = self.send(Method::POST, "/query", Some(body), "application/vnd.ksql.v1+json", &[])?;
        Ok(LineStream { client: self, body: Some(response.into_body()), pending: Vec::new(), header: None })
    }

    /// `POST /close-query`.
    pub fn close_query(&self, query_id: &str) -> ClientResult<()> {
        self.send(Method::POST, "/close-query", Some(json!({"queryId": query_id})), "application/json", &[])?;
        Ok(())
    }

    /// `POST /inserts-stream`: inserts `rows` into `target`, returns the acks.
    pub fn insert(&self, target: &str, rows: &[Value]) -> ClientResult<Vec<Value>> {
        let mut body = json!({"target": target}).to_string();
        for row in rows {
            body.push('\n');
            body.push_str(&row.to_string());
        }
        let response = self.send_raw(Method::POST, "/inserts-stream", Bytes::from(body), "application/json", &[])?;
        let bytes = self.runtime.block_on(response.into_body().collect()).map_err(transport)?.to_bytes();
        bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.trim_ascii().is_empty())
            .map(|line| {
                serde_json::from_slice(line)
                    .map_err(|e| ClientError::Transport(Error::external(format!("bad ack: {e}"))))
            })
            .collect()
    }

    /// `GET` of a JSON resource (`/info`, `/healthcheck`, `/status`).
    pub fn get(&self, path: &str) -> ClientResult<Value> {
        self.call_json(Method::GET, path, None, "application/json")
    }

    fn call_json(&self, method: Method, path: &str, body: Option<Value>, accept: &str) -> ClientResult<Value> {
        let response = self.send(method, path, body, accept, &[])?;
        let bytes = self.runtime.block_on(response.into_body().collect()).map_err(transport)?.to_bytes();
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Transport(Error::external(format!("the server's answer is not JSON: {e}"))))
    }

    /// Sends a request; an error status comes back as [`ClientError::Server`].
    pub fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        accept: &str,
        headers: &[(&str, &str)],
    ) -> ClientResult<Response<Incoming>> {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        self.send_raw(method, path, bytes, accept, headers)
    }

    /// Sends a request with a raw body.
    pub fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        accept: &str,
        headers: &[(&str, &str)],
    ) -> ClientResult<Response<Incoming>> {
        let response = self.runtime.block_on(self.request(method, path, body, accept, headers))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let bytes = self.runtime.block_on(response.into_body().collect()).map_err(transport)?.to_bytes();
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({"message": String::from_utf8_lossy(&bytes)}));
        Err(ClientError::Server(ServerError { status: status.as_u16(), body }))
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        accept: &str,
        headers: &[(&str, &str)],
    ) -> Result<Response<Incoming>> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| Error::external(format!("cannot connect to {}: {e}", self.url())))?;
        let _ = stream.set_nodelay(true);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, format!("{}:{}", self.host, self.port))
            .header(hyper::header::ACCEPT, accept)
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header(hyper::header::AUTHORIZATION, authorization);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body)).map_err(|e| Error::internal(format!("building a request: {e}")))?;
        match &self.tls {
            Some(tls) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| Error::user(format!("invalid TLS server name '{}': {e}", self.host)))?;
                let stream = tls
                    .connect(name, stream)
                    .await
                    .map_err(|e| Error::external(format!("TLS handshake with {} failed: {e}", self.url())))?;
                exchange(stream, request).await
            }
            None => exchange(stream, request).await,
        }
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    request: Request<Full<Bytes>>,
) -> Result<Response<Incoming>> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Error::external(format!("HTTP handshake failed: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "client connection ended");
        }
    });
    sender.send_request(request).await.map_err(|e| Error::external(format!("request failed: {e}")))
}

fn transport(e: hyper::Error) -> ClientError {
    ClientError::Transport(Error::external(format!("reading the answer failed: {e}")))
}

fn connector(ca: Option<&Path>) -> Result<TlsConnector> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = ca {
        let certs = CertificateDer::pem_file_iter(ca)
            .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(|e| Error::user(format!("cannot read CA certificates from {}: {e}", ca.display())))?;
        for cert in certs {
            roots.add(cert).map_err(|e| Error::user(format!("bad CA certificate in {}: {e}", ca.display())))?;
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS protocol versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A streaming response read line by line. Dropping it closes the connection.
pub struct LineStream<'a> {
    client: &'a Client,
    body: Option<Incoming>,
    pending: Vec<u8>,
    header: Option<Value>,
}

/// What reading one more frame gave.
enum Fill {
    Data,
    End,
    Timeout,
}

impl LineStream<'_> {
    /// Reads one more frame of the body into `pending`, waiting until `deadline` at most.
    fn fill(&mut self, deadline: Option<tokio::time::Instant>) -> ClientResult<Fill> {
        let Some(body) = self.body.as_mut() else { return Ok(Fill::End) };
        let frame = self.client.runtime.block_on(async {
            match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, body.frame()).await.ok(),
                None => Some(body.frame().await),
            }
        });
        match frame {
            None => Ok(Fill::Timeout),
            Some(Some(Ok(frame))) => {
                if let Ok(mut data) = frame.into_data() {
                    while data.has_remaining() {
                        let chunk = data.chunk();
                        self.pending.extend_from_slice(chunk);
                        let n = chunk.len();
                        data.advance(n);
                    }
                }
                Ok(Fill::Data)
            }
            Some(Some(Err(e))) => Err(transport(e)),
            Some(None) => {
                self.body = None;
                Ok(Fill::End)
            }
        }
    }

    /// The next non-empty line, `None` at the end of the response; waits as long as it takes.
    pub fn next_line(&mut self) -> ClientResult<Option<String>> {
        self.line_until(None)
    }

    /// Like [`LineStream::next_line`], giving up after `timeout` with `Ok(None)` while the
    /// response is still open (check [`LineStream::is_open`]).
    pub fn next_line_timeout(&mut self, timeout: std::time::Duration) -> ClientResult<Option<String>> {
        self.line_until(Some(tokio::time::Instant::now() + timeout))
    }

    fn line_until(&mut self, deadline: Option<tokio::time::Instant>) -> ClientResult<Option<String>> {
        loop {
            if let Some(line) = self.take_line() {
                return Ok(Some(line));
            }
            match self.fill(deadline)? {
                Fill::Data => {}
                Fill::End => return Ok(self.take_rest()),
                Fill::Timeout => return Ok(None),
            }
        }
    }

    /// The next element of a streamed JSON array (ksqlDB's v1 `/query` answer writes
    /// `[header`, then `,\n` and an object per row, then `]`): objects are returned as soon as
    /// they are complete, without waiting for the separator that follows them. `Ok(None)` at
    /// the end, or when `timeout` passes first.
    pub fn next_array_element(&mut self, timeout: Option<std::time::Duration>) -> ClientResult<Option<Value>> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            let skip =
                self.pending.iter().take_while(|b| matches!(b, b'[' | b',' | b']') || b.is_ascii_whitespace()).count();
            self.pending.drain(..skip);
            if !self.pending.is_empty() {
                let mut values = serde_json::Deserializer::from_slice(&self.pending).into_iter::<Value>();
                match values.next() {
                    Some(Ok(value)) => {
                        let used = values.byte_offset();
                        self.pending.drain(..used);
                        return Ok(Some(value));
                    }
                    Some(Err(e)) if !e.is_eof() => {
                        return Err(ClientError::Transport(Error::external(format!("the answer is not JSON: {e}"))));
                    }
                    _ => {}
                }
            }
            match self.fill(deadline)? {
                Fill::Data => {}
                Fill::End if self.pending.is_empty() => return Ok(None),
                Fill::End => {
                    return Err(ClientError::Transport(Error::external("the answer ended inside a JSON value")));
                }
                Fill::Timeout => return Ok(None),
            }
        }
    }

    /// True while the response may still produce lines.
    pub fn is_open(&self) -> bool {
        self.body.is_some() || !self.pending.is_empty()
    }

    /// The first line of a `/query-stream` answer, parsed (the metadata object).
    pub fn header(&mut self) -> ClientResult<Value> {
        if let Some(header) = &self.header {
            return Ok(header.clone());
        }
        let line = self
            .next_line()?
            .ok_or_else(|| ClientError::Transport(Error::external("the query's answer ended before its header")))?;
        let header: Value = serde_json::from_str(&line)
            .map_err(|e| ClientError::Transport(Error::external(format!("bad query header: {e}"))))?;
        self.header = Some(header.clone());
        Ok(header)
    }

    fn take_line(&mut self) -> Option<String> {
        while let Some(end) = memchr::memchr(b'\n', &self.pending) {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line).trim().to_string();
            if !text.is_empty() {
                return Some(text);
            }
        }
        None
    }

    fn take_rest(&mut self) -> Option<String> {
        let rest = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).trim().to_string();
        if rest.is_empty() { None } else { Some(rest) }
    }
}
