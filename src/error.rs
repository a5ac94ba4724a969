//! The one error type of Rivulet.
//!
//! Every error carries a [`ErrorKind`] saying who is at fault: the user (a bad statement, a bad
//! value), an external system (the disk, Kafka), or Rivulet itself (a bug). Front ends decide
//! from the kind what to show: user errors are shown whole, internal ones are logged and
//! replaced by a generic message before they reach an HTTP client.

use std::fmt;

/// Who is at fault for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input was wrong: a statement, a value, a name. Safe to show.
    User,
    /// Something outside Rivulet failed: the file system, a broker, the network.
    External,
    /// A bug or a broken invariant inside Rivulet.
    Internal,
}

/// A position in a statement text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Line, starting at 1.
    pub line: u64,
    /// Column, starting at 1.
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}", self.line, self.column)
    }
}

/// The error type of every fallible operation in Rivulet.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    position: Option<Position>,
    hint: Option<String>,
    /// Words shown before the position, as ksqlDB prefixes the errors it finds while preparing
    /// a statement ("Failed to prepare statement: line 1:40: ...").
    preamble: Option<&'static str>,
}

/// Rivulet's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error in what the user gave us.
    pub fn user(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::User, message)
    }

    /// A failure of something outside Rivulet (I/O, a broker).
    pub fn external(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::External, message)
    }

    /// A bug: an invariant that did not hold.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), position: None, hint: None, preamble: None }
    }

    /// Attaches the position in the statement the error refers to.
    pub fn at(mut self, position: Position) -> Self {
        self.position = Some(position);
        self
    }

    /// Shows `preamble` before the position and message.
    pub fn with_preamble(mut self, preamble: &'static str) -> Self {
        self.preamble = Some(preamble);
        self
    }

    /// Attaches a hint telling the user what to do instead.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prefixes the message with context, keeping kind, position and hint.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// Who is at fault.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without position or hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where in the statement the problem is, when known.
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    /// What the user could do instead, when known.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(preamble) = self.preamble {
            write!(f, "{preamble}: ")?;
        }
        if let Some(position) = self.position {
            write!(f, "{position}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::external(format!("i/o error: {err}"))
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(err: datafusion::error::DataFusionError) -> Self {
        // DataFusion reports planning and evaluation problems (bad types, unknown functions,
        // a failed cast of a value) as plan, schema, execution or arrow errors: those come from
        // the user's statement or data. Everything else is ours.
        use datafusion::error::DataFusionError as D;
        match err {
            D::Plan(m) | D::Execution(m) => Error::user(m),
            D::SchemaError(e, _) => Error::user(e.to_string()),
            D::ArrowError(e, _) => Error::user(e.to_string()),
            D::Context(c, inner) => Error::from(*inner).context(c),
            other => Error::internal(other.to_string()),
        }
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(err: arrow::error::ArrowError) -> Self {
        Error::user(err.to_string())
    }
}

/// Builds a user error with `format!` arguments.
#[macro_export]
macro_rules! user_err {
    ($($arg:tt)*) => { $crate::error::Error::user(format!($($arg)*)) };
}

/// Builds an internal error with `format!` arguments.
#[macro_export]
macro_rules! internal_err {
    ($($arg:tt)*) => { $crate::error::Error::internal(format!($($arg)*)) };
}
