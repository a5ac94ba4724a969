//! `/query` and `/query-stream`: pull queries answered whole, push queries streamed.
//!
//! Three wire formats (reference §3.3): ksqlDB's v1 `StreamedRow` array (`/query`'s default),
//! the delimited format (`/query-stream`'s default: a metadata line, then one JSON array per
//! row) and a plain JSON array. A [`Writer`] turns rows into chunks in one of them.
//!
//! A push query is pumped by a task of its own from the engine's query thread into the
//! response body through a bounded channel; the pump and the connection both run on the
//! server's push runtime (see the server module's doc). The pump never fills the last slot of
//! that channel: when the client leaves it full for `slow_client_timeout`, the pump puts a final
//! error message in that slot, stops the query and closes the connection shortly after — a
//! client that cannot keep up is cut off with a reason, and memory stays bounded.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::entity::schema_text;
use super::error::{ApiError, code};
use super::routes::{KsqlRequest, blocking, read_json, session};
use super::{AppState, ConnectionControl};
use crate::engine::Session;
use crate::engine::result::{PushQuery, PushedRow, ResultColumn, Row, StatementResult};
use crate::sql::ast::Statement;
use crate::topic::print::{PrintRequest, print_topic};

const V1_JSON: &str = "application/vnd.ksql.v1+json";
const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
const PROTOBUF: &str = "application/vnd.ksql.v1+protobuf";

/// A wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// ksqlDB's `StreamedRow` objects in one JSON array.
    V1,
    /// Metadata line, then one JSON array per row and line.
    Delimited,
    /// `[metadata, [row], [row]...]`.
    JsonArray,
}

impl Format {
    fn content_type(self, accept_json: bool) -> &'static str {
        match self {
            Format::V1 if accept_json => "application/json",
            Format::V1 => V1_JSON,
            Format::Delimited => DELIMITED,
            Format::JsonArray => "application/json",
        }
    }
}

/// Turns a query's results into the chunks of one format.
struct Writer {
    format: Format,
    /// Whether anything was written after the opening (v1 and JSON arrays need commas).
    started: bool,
}

impl Writer {
    fn new(format: Format) -> Self {
        Self { format, started: false }
    }

    fn open(&mut self, query_id: &str, columns: &[ResultColumn], mark_keys: bool) -> Bytes {
        self.started = true;
        match self.format {
            Format::V1 => {
                let header = json!({"header": {"queryId": query_id, "schema": schema_text(columns, mark_keys)}});
                Bytes::from(format!("[{header}"))
            }
            Format::Delimited => Bytes::from(format!("{}\n", metadata(query_id, columns, mark_keys))),
            Format::JsonArray => Bytes::from(format!("[{}", metadata(query_id, columns, mark_keys))),
        }
    }

    fn row(&self, row: Row) -> Bytes {
        self.change(&PushedRow::new(row, false)).unwrap_or_default()
    }

    /// A row of a push query; `None` for a tombstone in a format that cannot show one. The
    /// row's JSON is serialized once however many subscribers share it (see [`PushedRow`]):
    /// the delimited format sends those very bytes, the others copy them into their framing.
    fn change(&self, row: &PushedRow) -> Option<Bytes> {
        let line = row.json_line();
        // The JSON array without the line's newline.
        let array = &line[..line.len().saturating_sub(1)];
        let framed = |before: &str, after: &str| {
            let mut chunk = Vec::with_capacity(before.len() + array.len() + after.len());
            chunk.extend_from_slice(before.as_bytes());
            chunk.extend_from_slice(array);
            chunk.extend_from_slice(after.as_bytes());
            Bytes::from(chunk)
        };
        if row.tombstone {
            return match self.format {
                Format::V1 => Some(framed(",\n{\"row\":{\"columns\":", ",\"tombstone\":true}}")),
                // The delimited and array formats have no tombstones (ksqlDB drops them).
                Format::Delimited | Format::JsonArray => None,
            };
        }
        Some(match self.format {
            Format::V1 => framed(",\n{\"row\":{\"columns\":", "}}"),
            Format::Delimited => line,
            Format::JsonArray => framed(",\n", ""),
        })
    }

    fn final_message(&self, message: &str) -> Option<Bytes> {
        match self.format {
            Format::V1 => Some(Bytes::from(format!(",\n{}", json!({"finalMessage": message})))),
            Format::Delimited | Format::JsonArray => None,
        }
    }

    fn error(&self, code: u32, message: &str) -> Bytes {
        let error = json!({"@type": "generic_error", "error_code": code, "message": message});
        match self.format {
            Format::V1 => Bytes::from(format!(",\n{}", json!({"errorMessage": error}))),
            Format::Delimited => Bytes::from(format!("{error}\n")),
            Format::JsonArray => Bytes::from(format!(",\n{error}")),
        }
    }

    fn close(&self) -> Option<Bytes> {
        match self.format {
            Format::V1 => Some(Bytes::from_static(b"]\n")),
            Format::JsonArray => Some(Bytes::from_static(b"]")),
            Format::Delimited => None,
        }
    }

    /// A keep-alive: whitespace between the array's elements.
    fn keep_alive(&self) -> Option<Bytes> {
        match self.format {
            Format::V1 => Some(Bytes::from_static(b"\n")),
            _ => None,
        }
    }
}

fn metadata(query_id: &str, columns: &[ResultColumn], mark_keys: bool) -> Value {
    json!({
        "queryId": query_id,
        "columnNames": columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "columnTypes": columns.iter().map(|c| c.ty.clone()).collect::<Vec<_>>(),
        "schema": schema_text(columns, mark_keys),
    })
}

/// `POST /query`: v1 by default; the delimited Accept type is served as `/query-stream` would.
pub(crate) async fn query_v1(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    control: Option<axum::Extension<ConnectionControl>>,
    body: Body,
) -> Result<Response, ApiError> {
    let request: KsqlRequest = read_json(&state, body).await?;
    let accept = accept(&headers);
    let format = if accept.contains(DELIMITED) { Format::Delimited } else { Format::V1 };
    if accept.contains(PROTOBUF) && !accept.contains("json") {
        return Err(not_acceptable());
    }
    let accept_json = !accept.contains(V1_JSON) && accept.contains("application/json");
    let session = session(&request.streams_properties, &request.session_variables);
    run_query(state, request.ksql, session, format, accept_json, control.map(|c| c.0)).await
}

#[derive(Deserialize)]
struct QueryStreamRequest {
    sql: String,
    #[serde(default)]
    properties: Map<String, Value>,
    #[serde(default, rename = "sessionVariables")]
    session_variables: Map<String, Value>,
}

/// `POST /query-stream`: delimited by default, a JSON array for `application/json`, v1 rows
/// for ksqlDB's versioned type.
pub(crate) async fn query_stream(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    control: Option<axum::Extension<ConnectionControl>>,
    body: Body,
) -> Result<Response, ApiError> {
    let request: QueryStreamRequest = read_json(&state, body).await?;
    let accept = accept(&headers);
    let format = if accept.is_empty() || accept.contains(DELIMITED) || accept.contains("*/*") {
        Format::Delimited
    } else if accept.contains(V1_JSON) {
        Format::V1
    } else if accept.contains("application/json") {
        Format::JsonArray
    } else {
        return Err(not_acceptable());
    };
    let session = session(&request.properties, &request.session_variables);
    run_query(state, request.sql, session, format, false, control.map(|c| c.0)).await
}

fn accept(headers: &HeaderMap) -> String {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase()
}

fn not_acceptable() -> ApiError {
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        code::NOT_ACCEPTABLE,
        format!("Unsupported Accept type: this server writes {DELIMITED}, application/json and {V1_JSON}"),
    )
}

async fn run_query(
    state: Arc<AppState>,
    sql: String,
    session: Session,
    format: Format,
    accept_json: bool,
    control: Option<ConnectionControl>,
) -> Result<Response, ApiError> {
    // A key lookup whose plan is cached is answered right here, on the async thread: it takes
    // microseconds and never waits (it declines instead), while a hop to the blocking pool
    // and back costs two thread wake-ups.
    if let Some(Ok(StatementResult::Rows { columns, rows, stream })) = state.engine.cached_pull_now(&sql, &session) {
        return Ok(pull_response(&columns, rows, stream, format, format.content_type(accept_json)));
    }
    let engine = state.engine.clone();
    let prepared = blocking(move || {
        // A key lookup of a shape seen before skips parsing and planning. Its rare errors
        // (a failing read of the table's state) are reported by the ordinary path below,
        // which words them with the statement.
        if let Some(Ok(result)) = engine.cached_pull(&sql, &session) {
            return Ok(Prepared::Result(result));
        }
        engine.with_session(&session, |engine| {
            let mut statements = engine.parse(&sql).map_err(|e| ApiError::statement(&e, &sql, Vec::new()))?;
            if statements.len() != 1 {
                return Err(ApiError::bad_request(format!(
                    "Expected exactly one statement, got {}: a query request carries one SELECT or PRINT",
                    statements.len()
                )));
            }
            let statement = statements.remove(0);
            match statement.statement {
                Statement::Query(_) => engine
                    .execute_statement(&statement)
                    .map(Prepared::Result)
                    .map_err(|e| ApiError::statement(&e, &statement.text, Vec::new())),
                Statement::Print { topic, from_beginning, interval, limit } => {
                    // A missing topic is the request's error, before any line is written.
                    crate::topic::print::resolve_topic(&engine.backend(), &topic)
                        .map_err(|e| ApiError::statement(&e, &statement.text, Vec::new()))?;
                    Ok(Prepared::Print(PrintRequest { topic, from_beginning, interval, limit }))
                }
                _ => Err(ApiError {
                    status: StatusCode::BAD_REQUEST,
                    code: code::QUERY_ENDPOINT,
                    message: "The following statement types should be issued to the '/ksql' endpoint: statements other than SELECT and PRINT".into(),
                    statement: Some((statement.text.clone(), Vec::new())),
                }),
            }
        })
    })
    .await?;
    let content_type = format.content_type(accept_json);
    match prepared {
        Prepared::Result(StatementResult::Rows { columns, rows, stream }) => {
            Ok(pull_response(&columns, rows, stream, format, content_type))
        }
        Prepared::Result(StatementResult::Push(push)) => Ok(push_response(state, push, format, content_type, control)),
        Prepared::Result(_) => Err(ApiError::internal(&"a SELECT returned neither rows nor a push query")),
        // ksqlDB prints only in the delimited format (and v1, which is text lines here too).
        Prepared::Print(_) if format == Format::JsonArray => Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            code::NOT_ACCEPTABLE,
            format!("PRINT answers only in {DELIMITED}"),
        )),
        Prepared::Print(request) => Ok(print_response(state, request, content_type)),
    }
}

/// What a query request turned into.
enum Prepared {
    Result(StatementResult),
    Print(PrintRequest),
}

/// PRINT: the topic's records as ksqlDB prints them, one line each, until LIMIT, the client
/// leaving, or shutdown. The reading runs on the blocking pool; a watcher stops it when the
/// client is gone even while no record arrives.
fn print_response(state: Arc<AppState>, request: PrintRequest, content_type: &'static str) -> Response {
    let (tx, mut rx) = mpsc::channel::<Bytes>(state.config.client_buffer.max(2));
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (flag, weak, mut shutting_down) = (interrupted.clone(), tx.downgrade(), state.shutting_down.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutting_down.changed() => break,
            }
            if weak.upgrade().is_none_or(|tx| tx.is_closed()) {
                break;
            }
        }
        flag.store(true, std::sync::atomic::Ordering::Release);
    });
    let backend = state.engine.backend();
    tokio::task::spawn_blocking(move || {
        let stop = interrupted.clone();
        let mut emit = |line: String| {
            if tx.blocking_send(Bytes::from(format!("{line}\n"))).is_err() {
                stop.store(true, std::sync::atomic::Ordering::Release);
            }
        };
        if let Err(e) = print_topic(&backend, &request, &interrupted, &mut emit) {
            let message = match e.kind() {
                crate::ErrorKind::User => e.to_string(),
                _ => ApiError::internal(&e).message,
            };
            emit(json!({"@type": "generic_error", "error_code": code::BAD_STATEMENT, "message": message}).to_string());
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|chunk| chunk.map(Ok::<_, Infallible>)));
    with_content_type(Response::new(Body::from_stream(stream)), content_type)
}

fn pull_response(
    columns: &[ResultColumn],
    rows: Vec<Row>,
    stream: bool,
    format: Format,
    content_type: &'static str,
) -> Response {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = format!("query_{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let mut writer = Writer::new(format);
    // One chunk per message, as ksqlDB writes them: clients such as ksql-python read each
    // chunk of a delimited answer as one line, and fail on a body that arrives in one piece.
    let mut chunks = Vec::with_capacity(rows.len() + 3);
    chunks.push(writer.open(&id, columns, true));
    chunks.extend(rows.into_iter().map(|row| writer.row(row)));
    if stream && let Some(done) = writer.final_message("Query Completed") {
        chunks.push(done);
    }
    chunks.extend(writer.close());
    let body = Body::from_stream(futures_util::stream::iter(chunks.into_iter().map(Ok::<_, Infallible>)));
    with_content_type(Response::new(body), content_type)
}

fn with_content_type(mut response: Response, content_type: &'static str) -> Response {
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Removes a push query from the server's registry when its pump ends.
struct Registered {
    state: Arc<AppState>,
    id: String,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.state.push_queries.lock().remove(&self.id);
    }
}

fn push_response(
    state: Arc<AppState>,
    push: PushQuery,
    format: Format,
    content_type: &'static str,
    control: Option<ConnectionControl>,
) -> Response {
    let capacity = state.config.client_buffer.max(2);
    let (tx, mut rx) = mpsc::channel::<Chunks>(capacity);
    state.push_queries.lock().insert(push.id.clone(), push.canceller());
    let registered = Registered { state: state.clone(), id: push.id.clone() };
    // The connection and the pump both run on the push runtime from here on (see the server
    // module's doc): their wake-ups and writes stay off the threads that answer requests.
    let kill = control.map(|control| {
        control.handoff.notify_one();
        control.kill
    });
    state.spawn_push(pump(state.clone(), push, format, tx, kill, registered));
    // The chunks of a message come out one by one (each row stays a chunk of its own, which
    // clients that read a chunk as a line rely on), with no wake-up between them: the
    // connection writes what is there in one go.
    let mut pending = std::collections::VecDeque::new();
    let stream = futures_util::stream::poll_fn(move |cx| {
        loop {
            if let Some(chunk) = pending.pop_front() {
                return std::task::Poll::Ready(Some(Ok::<_, Infallible>(chunk)));
            }
            match std::task::ready!(rx.poll_recv(cx)) {
                Some(chunks) => pending.extend(chunks),
                None => return std::task::Poll::Ready(None),
            }
        }
    });
    let mut response = with_content_type(Response::new(Body::from_stream(stream)), content_type);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response.into_response()
}

/// The last message of a push query that failed; internal details stay in the log.
fn query_failed(writer: &Writer, e: &crate::Error) -> Bytes {
    let message = match e.kind() {
        crate::ErrorKind::User => e.to_string(),
        _ => ApiError::internal(e).message,
    };
    writer.error(code::SERVER_ERROR, &message)
}

/// Why a pump stopped delivering.
enum Delivery {
    Sent,
    /// The client went away.
    Gone,
    /// The client left its buffer full too long.
    TooSlow,
}

/// What a push query hands its connection at once: the chunks of the rows that were ready
/// together (at most [`MAX_ROWS`]), or one message.
type Chunks = Vec<Bytes>;

/// The most rows handed to a connection in one message (the client buffer counts messages).
const MAX_ROWS: usize = 16;

async fn deliver(tx: &mpsc::Sender<Chunks>, chunk: impl Into<Chunks>, timeout: Duration) -> Delivery {
    let chunk = chunk.into();
    // Two permits, one used: the last slot stays free for a final error message. Room is
    // almost always there: take it without arming a timer.
    match tx.try_reserve_many(2) {
        Ok(mut permits) => {
            if let Some(permit) = permits.next() {
                permit.send(chunk);
            }
            return Delivery::Sent;
        }
        Err(mpsc::error::TrySendError::Closed(())) => return Delivery::Gone,
        Err(mpsc::error::TrySendError::Full(())) => {}
    }
    match tokio::time::timeout(timeout, tx.reserve_many(2)).await {
        Ok(Ok(mut permits)) => {
            if let Some(permit) = permits.next() {
                permit.send(chunk);
            }
            Delivery::Sent
        }
        Ok(Err(_)) => Delivery::Gone,
        Err(_) => Delivery::TooSlow,
    }
}

async fn pump(
    state: Arc<AppState>,
    mut push: PushQuery,
    format: Format,
    tx: mpsc::Sender<Chunks>,
    kill: Option<Arc<tokio::sync::Notify>>,
    _registered: Registered,
) {
    let timeout = state.config.slow_client_timeout;
    let mut writer = Writer::new(format);
    let mut shutting_down = state.shutting_down.clone();
    let mut keep_alive = tokio::time::interval(Duration::from_secs(5));
    keep_alive.tick().await;
    let mut outcome = deliver(&tx, [writer.open(&push.id, &push.columns, false)], timeout).await;
    // What to write last, if anything.
    let mut last: Option<Bytes> = None;
    'pump: while let Delivery::Sent = outcome {
        tokio::select! {
            row = push.recv() => match row {
                Some(Ok(row)) => {
                    // The rows that came with it go out with it, in one message: one wake-up
                    // of the connection per burst instead of per row.
                    let mut rows = Vec::new();
                    let mut next = Some(Ok(row));
                    while let Some(item) = next.take() {
                        match item {
                            Ok(row) => {
                                rows.extend(writer.change(&row));
                                if rows.len() >= MAX_ROWS {
                                    outcome = deliver(&tx, std::mem::take(&mut rows), timeout).await;
                                    if !matches!(outcome, Delivery::Sent) {
                                        break 'pump;
                                    }
                                }
                                next = push.try_recv();
                            }
                            Err(e) => {
                                if !rows.is_empty() {
                                    outcome = deliver(&tx, rows, timeout).await;
                                }
                                last = Some(query_failed(&writer, &e));
                                break 'pump;
                            }
                        }
                    }
                    if !rows.is_empty() {
                        outcome = deliver(&tx, rows, timeout).await;
                    }
                }
                Some(Err(e)) => {
                    last = Some(query_failed(&writer, &e));
                    break;
                }
                None => {
                    if push.limit_reached() {
                        last = writer.final_message("Limit Reached");
                    } else if push.overflowed() {
                        last = Some(writer.error(
                            code::SERVER_ERROR,
                            "Disconnected: the client fell a whole buffer behind the query's results",
                        ));
                    }
                    break;
                }
            },
            _ = shutting_down.changed() => {
                last = Some(writer.error(code::SHUTTING_DOWN, "The server is shutting down"));
                break;
            }
            _ = tx.closed() => outcome = Delivery::Gone,
            _ = keep_alive.tick() => if let Some(chunk) = writer.keep_alive() {
                outcome = deliver(&tx, [chunk], timeout).await;
            },
        }
    }
    // The query stops here whatever happens next: its thread sees the flag (or the closed
    // channel) and ends.
    push.canceller().store(true, std::sync::atomic::Ordering::Release);
    match outcome {
        Delivery::Sent => {
            if let Some(chunk) = last {
                outcome = deliver(&tx, [chunk], timeout).await;
            }
            if let (Delivery::Sent, Some(close)) = (&outcome, writer.close()) {
                let _ = deliver(&tx, [close], timeout).await;
            }
        }
        Delivery::TooSlow => {
            tracing::warn!(query = %push.id, "push-query client too slow: buffer full for {timeout:?}; disconnecting");
            let message = format!(
                "Disconnected: the client did not read the query's results for {} s and its buffer of {} messages filled up",
                timeout.as_secs(),
                state.config.client_buffer
            );
            // The slot kept free by `deliver`.
            let _ = tx.try_send(vec![writer.error(code::SERVER_ERROR, &message)]);
            drop(tx);
            if let Some(kill) = kill {
                // A moment to let the message out if the client reads again, then the
                // connection goes, whatever it holds.
                tokio::time::sleep(Duration::from_secs(1)).await;
                kill.notify_one();
            }
        }
        Delivery::Gone => tracing::debug!(query = %push.id, "push-query client went away"),
    }
}
