//! `POST /inserts-stream`: a client streams rows into a stream, one JSON object per line
//! after a first line naming the target; the server acks each with its sequence number.
//!
//! Rows are inserted in order as they arrive and acked once they are durable; the rows that
//! arrive together are written together and made durable by one flush. The first error
//! (a row that does not fit the stream, a line that is not JSON) is answered with an error line
//! and ends the response, as ksqlDB does; rows acked before it stay written.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::HttpBody as _;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::AppState;
use super::error::code;

pub(crate) async fn inserts_stream(State(state): State<Arc<AppState>>, body: Body) -> Response {
    let (tx, mut rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(run(state, body, tx));
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|c| c.map(Ok::<_, Infallible>)));
    let mut response = Response::new(Body::from_stream(stream));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.ksqlapi.delimited.v1"));
    response
}

async fn run(state: Arc<AppState>, mut body: Body, tx: mpsc::Sender<Bytes>) {
    let limit = state.config.max_request_bytes;
    let mut pending: Vec<u8> = Vec::new();
    let mut target: Option<String> = None;
    let mut seq: i64 = 0;
    let error = |seq: i64, code: u32, message: String| {
        Bytes::from(format!("{}\n", json!({"status": "error", "seq": seq, "error_code": code, "message": message})))
    };
    let mut finished = false;
    while !finished {
        let chunk = match body.frame().await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => Some(data),
                Err(_) => continue,
            },
            Some(Err(e)) => {
                tracing::debug!(error = %e, "inserts-stream body ended with an error");
                return;
            }
            None => None,
        };
        if let Some(data) = &chunk {
            pending.extend_from_slice(data);
        }
        // The last line may lack its newline. A body of known length is known to have ended
        // with the data that completes it: its last row is written with the rows that came
        // with it rather than on its own after one more poll (a second write, flush and
        // fan-out to every push query reading the stream).
        if chunk.is_none() || body.is_end_stream() {
            finished = true;
            if !pending.is_empty() && pending.last() != Some(&b'\n') {
                pending.push(b'\n');
            }
        }
        // Every complete line that arrived is parsed first; the rows among them are then
        // written together and made durable once (a group commit), and acked one by one.
        let mut rows = Vec::new();
        let mut stop: Option<Bytes> = None;
        while let Some(end) = memchr::memchr(b'\n', &pending) {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let parsed: Result<Map<String, Value>, _> = serde_json::from_slice(line);
            let object = match parsed {
                Ok(object) => object,
                Err(e) => {
                    let seq = seq + rows.len() as i64;
                    stop = Some(error(seq, code::BAD_REQUEST, format!("Invalid JSON in inserts stream: {e}")));
                    break;
                }
            };
            if target.is_none() {
                match object.get("target").and_then(Value::as_str) {
                    Some(name) => target = Some(identifier_text(name)),
                    None => {
                        let message =
                            "The first line of an inserts stream must be {\"target\": \"<stream>\"}".to_string();
                        stop = Some(error(seq, code::BAD_REQUEST, message));
                        break;
                    }
                }
                continue;
            }
            rows.push(object);
        }
        if let (Some(stream), false) = (&target, rows.is_empty()) {
            let (engine, stream) = (state.engine.clone(), stream.clone());
            let count = rows.len();
            let outcome = tokio::task::spawn_blocking(move || engine.insert_json_rows(&stream, &rows)).await;
            let (written, failure) = match outcome {
                Ok(result) => result,
                Err(e) => (0, Some(crate::Error::internal(format!("the insert task failed: {e}")))),
            };
            for _ in 0..written {
                if tx.send(Bytes::from(format!("{}\n", json!({"status": "ok", "seq": seq})))).await.is_err() {
                    return;
                }
                seq += 1;
            }
            if let Some(e) = failure {
                let reply = match e.kind() {
                    crate::ErrorKind::User => error(seq, code::BAD_STATEMENT, e.to_string()),
                    _ => error(seq, code::SERVER_ERROR, super::error::ApiError::internal(&e).message),
                };
                let _ = tx.send(reply).await;
                return;
            }
            debug_assert_eq!(written, count, "every row is written or a failure says why not");
        }
        if let Some(reply) = stop {
            let _ = tx.send(reply).await;
            return;
        }
        if pending.len() > limit {
            let _ = tx.send(error(seq, code::PAYLOAD_TOO_LARGE, format!("A line longer than {limit} bytes"))).await;
            return;
        }
    }
}

/// The source a `target` names. ksqlDB reads it as an identifier
/// (`Identifiers.getIdentifierText`): upper-cased unless quoted in backticks, so that
/// `{"target": "orders"}` inserts into the stream created as `orders` (that is, `ORDERS`).
fn identifier_text(target: &str) -> String {
    let trimmed = target.trim();
    match trimmed.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        Some(quoted) => quoted.replace("``", "`"),
        None => trimmed.to_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::identifier_text;

    #[test]
    fn an_inserts_target_is_an_identifier() {
        assert_eq!(identifier_text("orders"), "ORDERS");
        assert_eq!(identifier_text("`orders`"), "orders");
        assert_eq!(identifier_text("`we``ird`"), "we`ird");
    }
}
