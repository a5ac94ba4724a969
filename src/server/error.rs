//! Error responses in ksqlDB's shapes: `generic_error` and `statement_error` bodies with
//! ksqlDB's error codes (HTTP status × 100 + a suffix).
//!
//! User errors carry their message to the client. External and internal errors are logged
//! with an id and answered with a generic message that names the id: what failed inside the
//! server (paths, I/O details, invariants) stays in the server's log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};

/// ksqlDB's error codes used here.
pub mod code {
    pub const BAD_REQUEST: u32 = 40000;
    pub const BAD_STATEMENT: u32 = 40001;
    pub const QUERY_ENDPOINT: u32 = 40002;
    pub const UNAUTHORIZED: u32 = 40100;
    pub const NOT_FOUND: u32 = 40400;
    pub const NOT_ACCEPTABLE: u32 = 40600;
    pub const PAYLOAD_TOO_LARGE: u32 = 41300;
    pub const UNSUPPORTED_MEDIA: u32 = 41500;
    pub const SERVER_ERROR: u32 = 50000;
    pub const SHUTTING_DOWN: u32 = 50303;
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    /// For `statement_error`: the failing statement and the entities of the statements of
    /// the same request that succeeded before it.
    pub statement: Option<(String, Vec<Value>)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), statement: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_FOUND, message)
    }

    /// An engine error for a statement: user errors become `statement_error` 400s naming the
    /// statement; the rest a logged, generic 500.
    pub fn statement(error: &Error, text: &str, entities: Vec<Value>) -> Self {
        match error.kind() {
            ErrorKind::User => Self {
                status: StatusCode::BAD_REQUEST,
                code: code::BAD_STATEMENT,
                message: error.to_string(),
                statement: Some((text.to_string(), entities)),
            },
            _ => Self::internal(error),
        }
    }

    /// A failure inside the server: logged with an id, answered without details.
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(error_id = id, error = %error, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::SERVER_ERROR,
            format!("The server failed to process the request (error id {id}; details are in the server log)."),
        )
    }

    /// The body as ksqlDB writes it.
    pub fn body(&self) -> Value {
        match &self.statement {
            Some((text, entities)) => json!({
                "@type": "statement_error",
                "error_code": self.code,
                "message": self.message,
                "statementText": text,
                "entities": entities,
            }),
            None => json!({"@type": "generic_error", "error_code": self.code, "message": self.message}),
        }
    }
}

impl From<Error> for ApiError {
    /// An engine error outside any one statement (a request that does not parse as a whole).
    fn from(error: Error) -> Self {
        match error.kind() {
            ErrorKind::User => Self::new(StatusCode::BAD_REQUEST, code::BAD_STATEMENT, error.to_string()),
            _ => Self::internal(&error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"rivulet\""));
        }
        response
    }
}
