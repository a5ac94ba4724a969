//! The router and the request/response endpoints: `/ksql`, `/info`, `/healthcheck`,
//! `/status`, `/close-query`, `/ksql/terminate` and the small ones. Streaming endpoints are in
//! `query` and `inserts`.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::entity::{Executed, command_id, entity};
use super::error::{ApiError, code};
use crate::engine::Session;
use crate::sql::ast::Statement;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(|| async { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, "/info")]) }))
        .route("/ksql", post(ksql))
        .route("/ksql/terminate", post(terminate_cluster))
        .route("/query", post(super::query::query_v1))
        .route("/query-stream", post(super::query::query_stream))
        .route("/inserts-stream", post(super::inserts::inserts_stream))
        .route("/close-query", post(close_query))
        .route("/info", get(info))
        .route("/healthcheck", get(healthcheck))
        .route("/status", get(statuses))
        .route("/status/{kind}/{entity}/{action}", get(status))
        .route("/is_valid_property/{name}", get(|| async { axum::Json(true) }))
        .route("/chc/live", get(|| async { axum::Json(json!({})) }))
        .route("/chc/ready", get(|| async { axum::Json(json!({})) }))
        .fallback(|| async { ApiError::not_found("Not Found") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, 40500, "Method Not Allowed")
        })
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// Basic authentication when the server has users; health probes stay open so that an
/// orchestrator can reach them without credentials.
async fn authenticate(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if let Some(users) = &state.auth {
        let path = request.uri().path();
        if !path.starts_with("/chc/") {
            let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            if !users.check(header) {
                return ApiError::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, "Unauthorized").into_response();
            }
        }
    }
    next.run(request).await
}

/// A `/ksql` or `/query` request body.
#[derive(Deserialize)]
pub(crate) struct KsqlRequest {
    pub(crate) ksql: String,
    #[serde(default, rename = "streamsProperties")]
    pub(crate) streams_properties: Map<String, Value>,
    #[serde(default, rename = "sessionVariables")]
    pub(crate) session_variables: Map<String, Value>,
}

/// Request properties as the engine's string settings (clients send numbers and booleans).
pub(crate) fn session(properties: &Map<String, Value>, variables: &Map<String, Value>) -> Session {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Session {
        properties: properties.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        variables: variables.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
    }
}

/// Reads a whole JSON body, within the server's request size limit.
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(state: &AppState, body: Body) -> Result<T, ApiError> {
    let bytes = read_body(state, body).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))
}

pub(crate) async fn read_body(state: &AppState, body: Body) -> Result<Bytes, ApiError> {
    let limit = state.config.max_request_bytes;
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // `to_bytes` fails either on the limit or on a broken connection; only the first is
        // the client's fault in a way it can fix.
        let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::PAYLOAD_TOO_LARGE,
                format!("Request body larger than the server's limit of {limit} bytes"),
            )
        } else {
            ApiError::bad_request(format!("Could not read the request body: {e}"))
        }
    })
}

/// The response content type a client asked for among the JSON ones.
fn json_content_type(headers: &HeaderMap) -> &'static str {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if accept.contains("application/vnd.ksql.v1+json") { "application/vnd.ksql.v1+json" } else { "application/json" }
}

pub(crate) fn json_response(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Runs blocking engine work on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ApiError::internal(&format!("request task failed: {e}")))?
}

/// `POST /ksql`: statements other than queries, one entity per statement.
async fn ksql(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let request: KsqlRequest = read_json(&state, body).await?;
    let session = session(&request.streams_properties, &request.session_variables);
    let worker = state.clone();
    let entities = blocking(move || {
        let engine = worker.engine.clone();
        engine.with_session(&session, |engine| {
            let statements =
                engine.parse(&request.ksql).map_err(|e| ApiError::statement(&e, &request.ksql, Vec::new()))?;
            for statement in &statements {
                if matches!(statement.statement, Statement::Query(_) | Statement::Print { .. }) {
                    return Err(ApiError {
                        status: StatusCode::BAD_REQUEST,
                        code: code::QUERY_ENDPOINT,
                        message: "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT".into(),
                        statement: Some((statement.text.clone(), Vec::new())),
                    });
                }
            }
            let mut entities = Vec::with_capacity(statements.len());
            for statement in &statements {
                let result = engine
                    .execute_statement(statement)
                    .map_err(|e| ApiError::statement(&e, &statement.text, entities.clone()))?;
                let executed = Executed {
                    text: &statement.text,
                    statement: &statement.statement,
                    result: &result,
                    sequence: engine.command_sequence(),
                };
                let entity = entity(&executed);
                if entity["@type"] == "currentStatus" {
                    worker.commands.lock().insert(command_id(&statement.statement), entity["commandStatus"].clone());
                }
                entities.push(entity);
            }
            Ok(entities)
        })
    })
    .await?;
    Ok(json_response(StatusCode::OK, json_content_type(&headers), &Value::Array(entities)))
}

#[derive(Deserialize)]
struct CloseQuery {
    #[serde(rename = "queryId")]
    query_id: String,
}

/// `POST /close-query`: stops a push query another request started.
async fn close_query(State(state): State<Arc<AppState>>, body: Body) -> Result<Response, ApiError> {
    let request: CloseQuery = read_json(&state, body).await?;
    let cancel = state.push_queries.lock().get(&request.query_id).cloned();
    match cancel {
        Some(flag) => {
            flag.store(true, std::sync::atomic::Ordering::Release);
            Ok(StatusCode::OK.into_response())
        }
        None => Err(ApiError::bad_request(format!("No query with id {}", request.query_id))),
    }
}

async fn info(State(state): State<Arc<AppState>>) -> Response {
    let body = json!({
        "KsqlServerInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "kafkaClusterId": "rivulet-embedded",
            "ksqlServiceId": state.service_id,
            "serverStatus": if *state.shutting_down.borrow() { "TERMINATING" } else { "RUNNING" },
        }
    });
    json_response(StatusCode::OK, "application/json", &body)
}

async fn healthcheck(State(state): State<Arc<AppState>>) -> Response {
    let engine = state.engine.clone();
    // The topic layer answering a listing is what "kafka is healthy" means here.
    let kafka = tokio::task::spawn_blocking(move || engine.backend().list_topics().is_ok()).await.unwrap_or(false);
    let healthy = kafka && !*state.shutting_down.borrow();
    let body = json!({
        "isHealthy": healthy,
        "details": {
            "metastore": {"isHealthy": true},
            "kafka": {"isHealthy": kafka},
            "commandRunner": {"isHealthy": true},
        },
        "serverState": if *state.shutting_down.borrow() { "TERMINATING" } else { "READY" },
        "uptimeMs": state.started.elapsed().as_millis() as u64,
    });
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json_response(status, "application/json", &body)
}

async fn statuses(State(state): State<Arc<AppState>>) -> Response {
    let commands: Map<String, Value> =
        state.commands.lock().iter().map(|(id, status)| (id.clone(), status["status"].clone())).collect();
    json_response(StatusCode::OK, "application/json", &json!({"commandStatuses": commands}))
}

async fn status(
    State(state): State<Arc<AppState>>,
    Path((kind, entity, action)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id = format!("{kind}/{entity}/{action}");
    let found = state.commands.lock().get(&id).cloned();
    match found {
        Some(status) => Ok(json_response(StatusCode::OK, "application/json", &status)),
        None => Err(ApiError::not_found(format!("Command not found: {id}"))),
    }
}

#[derive(Deserialize, Default)]
struct TerminateCluster {
    #[serde(default, rename = "deleteTopicList")]
    delete_topic_list: Vec<String>,
}

/// `POST /ksql/terminate`: stops every query, drops every stream and table, and deletes the
/// topics the request lists (names or regular expressions).
async fn terminate_cluster(State(state): State<Arc<AppState>>, body: Body) -> Result<Response, ApiError> {
    let bytes = read_body(&state, body).await?;
    let request: TerminateCluster = if bytes.iter().all(u8::is_ascii_whitespace) {
        TerminateCluster::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))?
    };
    let mut patterns = Vec::new();
    for pattern in &request.delete_topic_list {
        let regex = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| ApiError::bad_request(format!("Invalid topic pattern '{pattern}': {e}")))?;
        patterns.push(regex);
    }
    let engine = state.engine.clone();
    blocking(move || {
        engine.execute("TERMINATE ALL;").map_err(ApiError::from)?;
        // Sinks of dropped queries are plain sources now; drop until nothing is left.
        for source in engine.catalog().sources().map(|s| (s.name.clone(), s.kind, s.topic.clone())).collect::<Vec<_>>()
        {
            let (name, kind, topic) = source;
            let noun = if kind == crate::sql::ast::SourceKind::Table { "TABLE" } else { "STREAM" };
            let delete = if patterns.iter().any(|p| p.is_match(&topic)) { " DELETE TOPIC" } else { "" };
            engine.execute(&format!("DROP {noun} IF EXISTS `{name}`{delete};")).map_err(ApiError::from)?;
        }
        Ok(())
    })
    .await?;
    let body = json!({
        "@type": "currentStatus",
        "statementText": "TERMINATE CLUSTER;",
        "commandId": "cluster/CLUSTER/terminate",
        "commandStatus": {"status": "SUCCESS", "message": "Cluster terminated: every query stopped, every source dropped."},
        "commandSequenceNumber": state.engine.command_sequence(),
        "warnings": [],
    });
    Ok(json_response(StatusCode::OK, "application/json", &body))
}
