//! The REST query-validation-test executor (reference §1.3): a case runs against a real
//! `rivulet server` over HTTP, in process, on a loopback port of its own.
//!
//! As ksqlDB's `RestTestExecutor` does: the leading non-SELECT statements go to `/ksql` in one
//! request and each entity is matched against the next `{"admin": …}` response; inputs are
//! produced after them (or once the first push query runs, with `waitForActivePushQuery`);
//! each SELECT then goes to `/query` (v1 JSON, chunked) and its streamed rows are matched
//! against a `{"query": […]}` response. Expected objects are partial, `key|starts_with` matches
//! a prefix, and rows compare as a multiset unless `verifyOrder`. `expectedError` applies to the
//! last statement. Persistent queries run in manual mode, stepped by the runner after each
//! batch of inputs, so a pull query sees every input processed.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::case::{RestSpec, TestCase};
use super::compare::values_match;
use super::executor::{OutputOrder, create_topics, engine_config, input_record, verify_outputs};
use crate::client::{Client, ClientError, ServerError};
use crate::engine::Engine;
use crate::server::{ServerConfig, ServerHandle};

/// How long a push query may stay silent before the runner stops reading it.
const PUSH_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a REST case: `Err` is the failure message.
pub fn execute(case: &TestCase, spec: &RestSpec) -> Result<(), String> {
    let engine = Arc::new(Engine::open(engine_config(case)).map_err(|e| format!("cannot open an engine: {e}"))?);
    create_topics(case, engine.backend().as_ref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime for the server: {e}"))?;
    let server_config = ServerConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        shutdown_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let server = runtime
        .block_on(crate::server::start(engine.clone(), server_config))
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let outcome = run(case, spec, &engine, &server);
    runtime.block_on(server.shutdown());
    outcome
}

fn run(case: &TestCase, spec: &RestSpec, engine: &Engine, server: &ServerHandle) -> Result<(), String> {
    let client = Client::new(&server.url()).map_err(|e| format!("cannot make a client: {e}"))?;
    let properties = crate::engine::Session { properties: case.properties.clone(), variables: BTreeMap::new() };
    let is_query = |s: &str| s.trim_start().get(..7).is_some_and(|w| w.eq_ignore_ascii_case("SELECT "));
    let split = case.statements.iter().position(|s| is_query(s)).unwrap_or(case.statements.len());
    let (admin, queries) = case.statements.split_at(split);
    if let Some(late) = queries.iter().find(|s| !is_query(s)) {
        return Err(format!("a non-SELECT statement after a SELECT is not supported by the REST runner: {late}"));
    }
    let mut responses = spec.responses.iter();
    let mut produced = HashSet::new();
    let statement_count = case.statements.len();

    if !admin.is_empty() {
        match client.ksql(&admin.join("\n"), &properties) {
            Ok(entities) => {
                for (i, entity) in entities.iter().enumerate() {
                    let Some(expected) = responses.next() else { break };
                    let Some(expected) = expected.get("admin") else {
                        return Err(format!("response #{}: expected {expected}, got an admin entity {entity}", i + 1));
                    };
                    if !partial_match(expected, entity) {
                        return Err(format!("statement #{}: expected entity {expected}, got {entity}", i + 1));
                    }
                }
            }
            Err(error) => {
                return match (&spec.expected_error, queries.is_empty()) {
                    (Some(expected), true) => check_error(expected, error),
                    _ => Err(format!("the /ksql request failed: {error}")),
                };
            }
        }
    }
    engine.run_until_idle().map_err(|e| format!("processing after the statements failed: {e}"))?;
    if !spec.wait_for_active_push_query {
        produce_inputs(case, engine, &mut produced)?;
    }

    let mut inputs_pending = spec.wait_for_active_push_query;
    for (j, sql) in queries.iter().enumerate() {
        let last = admin.len() + j + 1 == statement_count;
        let expected = responses.next().and_then(|r| r.get("query")).and_then(Value::as_array);
        let push = sql.to_ascii_uppercase().contains("EMIT CHANGES");
        let mut stream = match client.query_v1(sql, &properties) {
            Ok(stream) => stream,
            Err(error) => {
                return match (&spec.expected_error, last) {
                    (Some(expected), true) => check_error(expected, error),
                    _ => Err(format!("query #{} ({sql}) failed: {error}", j + 1)),
                };
            }
        };
        let mut objects = Vec::new();
        let wanted = expected.map(Vec::len);
        // The header first: once it is here the push query runs, and inputs may follow.
        if let Some(object) = next_object(&mut stream, push).map_err(|e| format!("query #{}: {e}", j + 1))? {
            objects.push(object);
        }
        if inputs_pending {
            inputs_pending = false;
            produce_inputs(case, engine, &mut produced)?;
        }
        while wanted.is_none_or(|n| objects.len() < n || !push) {
            match next_object(&mut stream, push).map_err(|e| format!("query #{}: {e}", j + 1))? {
                Some(object) => objects.push(object),
                None => break,
            }
        }
        drop(stream);
        if let Some(expected) = expected {
            compare_query(expected, &objects, spec.verify_order)
                .map_err(|e| format!("query #{} ({sql}): {e}", j + 1))?;
        }
    }
    if inputs_pending {
        produce_inputs(case, engine, &mut produced)?;
    }
    if let Some(expected) = &spec.expected_error {
        return Err(format!("expected an error {expected}, but every statement succeeded"));
    }
    let catalog = engine.catalog();
    verify_outputs(case, &catalog, engine.backend().as_ref(), &produced, &OutputOrder::default())
}

fn produce_inputs(case: &TestCase, engine: &Engine, produced: &mut HashSet<(String, i32, i64)>) -> Result<(), String> {
    let catalog = engine.catalog();
    let backend = engine.backend();
    for (i, input) in case.inputs.iter().enumerate() {
        let record = input_record(input, &catalog).map_err(|e| format!("input #{}: {e}", i + 1))?;
        let positions = backend
            .produce(&input.topic, vec![record])
            .map_err(|e| format!("input #{}: cannot produce to '{}': {e}", i + 1, input.topic))?;
        for (partition, offset) in positions {
            produced.insert((input.topic.clone(), partition, offset));
        }
        engine.run_until_idle().map_err(|e| format!("processing input #{} failed: {e}", i + 1))?;
    }
    Ok(())
}

/// The next `StreamedRow` of a v1 response: `None` at its end (or, for a push query, after a
/// silence of [`PUSH_READ_TIMEOUT`]).
fn next_object(stream: &mut crate::client::LineStream<'_>, push: bool) -> Result<Option<Value>, String> {
    stream
        .next_array_element(push.then_some(PUSH_READ_TIMEOUT))
        .map_err(|e| format!("reading the response failed: {e}"))
}

/// Matches a query's objects: same count, non-row objects in order, rows as a multiset
/// unless `verify_order`.
fn compare_query(expected: &[Value], actual: &[Value], verify_order: bool) -> Result<(), String> {
    let render = |objects: &[Value]| objects.iter().map(Value::to_string).collect::<Vec<_>>().join(", ");
    let mismatch = || format!("expected [{}] but got [{}]", render(expected), render(actual));
    if expected.len() != actual.len() {
        return Err(mismatch());
    }
    let is_row = |v: &Value| v.get("row").is_some();
    if verify_order || !expected.iter().any(is_row) {
        return if expected.iter().zip(actual).all(|(e, a)| partial_match(e, a)) { Ok(()) } else { Err(mismatch()) };
    }
    for (e, a) in expected.iter().zip(actual) {
        if is_row(e) != is_row(a) || (!is_row(e) && !partial_match(e, a)) {
            return Err(mismatch());
        }
    }
    let mut unmatched: Vec<&Value> = actual.iter().filter(|a| is_row(a)).collect();
    for e in expected.iter().filter(|e| is_row(e)) {
        match unmatched.iter().position(|a| partial_match(e, a)) {
            Some(i) => {
                unmatched.swap_remove(i);
            }
            None => return Err(mismatch()),
        }
    }
    Ok(())
}

/// Whether `actual` has everything `expected` lists: objects partially (a key written
/// `name|starts_with` matches a prefix of the string), arrays element by element, scalars as
/// the QTT comparison does (numbers within tolerance).
pub fn partial_match(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().all(|(key, value)| match key.split_once('|') {
            Some((name, "starts_with")) => match (value, a.get(name)) {
                (Value::String(prefix), Some(Value::String(text))) => text.starts_with(prefix.as_str()),
                _ => false,
            },
            _ => a.get(key).is_some_and(|actual| partial_match(value, actual)),
        }),
        (Value::Array(e), Value::Array(a)) => e.len() == a.len() && e.iter().zip(a).all(|(e, a)| partial_match(e, a)),
        (Value::Object(_), _) | (Value::Array(_), _) => false,
        (e, a) => values_match(e, a),
    }
}

fn check_error(expected: &Value, error: ClientError) -> Result<(), String> {
    let ClientError::Server(ServerError { status, body }) = error else {
        return Err(format!("expected an error response {expected}, but the request failed: {error}"));
    };
    if let Some(want) = expected.get("status").and_then(Value::as_u64)
        && u64::from(status) != want
    {
        return Err(format!("expected HTTP {want}, got HTTP {status}: {body}"));
    }
    if let Some(kind) = expected.get("type").and_then(Value::as_str)
        && kind.ends_with("KsqlStatementErrorMessage")
        && body.get("@type").and_then(Value::as_str) != Some("statement_error")
    {
        return Err(format!("expected a statement_error, got {body}"));
    }
    if let Some(message) = expected.get("message").and_then(Value::as_str) {
        let actual = body.get("message").and_then(Value::as_str).unwrap_or("");
        if !actual.contains(message) {
            return Err(format!("expected an error containing {message:?}, got {actual:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn partial_matching_and_prefixes() {
        let actual = json!({"@type": "currentStatus", "commandStatus": {"status": "SUCCESS", "queryId": "CSAS_X_1"}});
        assert!(partial_match(&json!({"@type": "currentStatus"}), &actual));
        assert!(partial_match(&json!({"commandStatus": {"queryId|starts_with": "CSAS_X"}}), &actual));
        assert!(!partial_match(&json!({"commandStatus": {"queryId|starts_with": "CTAS"}}), &actual));
        assert!(!partial_match(&json!({"@type": "streams"}), &actual));
        assert!(partial_match(&json!([1.0, "a"]), &json!([1, "a"])));
        assert!(!partial_match(&json!([1]), &json!([1, 2])));
    }

    #[test]
    fn rows_compare_as_a_multiset_unless_order_is_verified() {
        let header = json!({"header": {"schema": "`K` STRING"}});
        let a = json!({"row": {"columns": ["a"]}});
        let b = json!({"row": {"columns": ["b"]}});
        let expected = vec![header.clone(), a.clone(), b.clone()];
        let swapped = vec![header.clone(), b.clone(), a.clone()];
        assert!(compare_query(&expected, &swapped, false).is_ok());
        assert!(compare_query(&expected, &swapped, true).is_err());
        assert!(compare_query(&expected, &[header.clone(), a.clone(), a.clone()], false).is_err());
        assert!(compare_query(&expected, &[header, a], false).is_err());
    }
}
