//! What executing a statement returns: structured values that front ends render.
//!
//! The REPL draws them as tables, the HTTP server turns them into ksqlDB's JSON entities, the
//! test runner inspects them. Nothing here formats for a particular front end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::Result;
use crate::functions::FunctionInfo;

/// A column of a result: name and ksqlDB type spelling, and whether it is a key column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    pub name: String,
    /// The type as ksqlDB spells it (`BIGINT`, `STRUCT<A INTEGER>`).
    pub ty: String,
    /// The same type, structured (for entities that describe nested types).
    pub sql_type: crate::sql::types::SqlType,
    pub key: bool,
}

/// One row of query results as JSON values in column order.
pub type Row = Vec<serde_json::Value>;

/// A row of a push query as its consumer receives it. A shared query (see the engine's
/// `Fanout`) hands the same `Arc` of it to every subscriber, so that a row is neither copied
/// nor serialized once per subscriber: [`PushedRow::json_line`] serializes it once, for
/// whichever subscriber asks first, and the others share those bytes.
#[derive(Debug)]
pub struct PushedRow {
    pub values: Row,
    /// A table's key deleted: its value columns are NULL.
    pub tombstone: bool,
    line: std::sync::OnceLock<bytes::Bytes>,
}

impl PushedRow {
    pub fn new(values: Row, tombstone: bool) -> Self {
        Self { values, tombstone, line: std::sync::OnceLock::new() }
    }

    /// The values as one compact JSON array followed by a newline (the delimited wire
    /// format's row line; other formats embed the array without its newline).
    pub fn json_line(&self) -> bytes::Bytes {
        self.line
            .get_or_init(|| {
                use std::fmt::Write;
                let mut line = String::with_capacity(16 * self.values.len() + 2);
                line.push('[');
                for (i, value) in self.values.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    // Writing to a String cannot fail; a Value's Display is its compact JSON.
                    let _ = write!(line, "{value}");
                }
                line.push_str("]\n");
                bytes::Bytes::from(line)
            })
            .clone()
    }
}

/// A stream or table as SHOW lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSummary {
    pub name: String,
    pub topic: String,
    pub key_format: String,
    pub value_format: String,
    pub windowed: bool,
}

/// A persistent query as SHOW QUERIES lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySummary {
    pub id: String,
    pub sql: String,
    pub sinks: Vec<String>,
    pub sink_topics: Vec<String>,
    /// RUNNING, PAUSED or ERROR.
    pub state: String,
}

/// A topic as SHOW TOPICS lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSummary {
    pub name: String,
    pub partitions: i32,
    pub replicas: i16,
}

/// DESCRIBE of a stream or table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDescription {
    pub name: String,
    /// STREAM or TABLE.
    pub kind: String,
    pub topic: String,
    pub key_format: String,
    pub value_format: String,
    pub timestamp: Option<String>,
    pub window_type: Option<String>,
    pub columns: Vec<ResultColumn>,
    pub sql: String,
    /// Queries writing to it.
    pub writers: Vec<String>,
    /// Queries reading from it.
    pub readers: Vec<String>,
    /// EXTENDED only: partitions and record counts.
    pub partitions: Option<i32>,
    pub statistics: Option<String>,
}

/// The result of one statement.
#[derive(Debug)]
pub enum StatementResult {
    /// A DDL/DML status: "Stream created", "Created query with ID CSAS_X_0".
    Status {
        message: String,
        query_id: Option<String>,
    },
    Streams(Vec<SourceSummary>),
    Tables(Vec<SourceSummary>),
    Queries(Vec<QuerySummary>),
    Topics(Vec<TopicSummary>),
    Functions(Vec<FunctionInfo>),
    /// Effective properties: (name, value).
    Properties(Vec<(String, String)>),
    /// Custom types: (name, type).
    Types(Vec<(String, String)>),
    /// Session variables: (name, value).
    Variables(Vec<(String, String)>),
    Description(Box<SourceDescription>),
    Descriptions(Vec<SourceDescription>),
    /// EXPLAIN: the statement and its plan.
    Explain {
        sql: String,
        plan: String,
    },
    /// A pull query's complete result.
    Rows {
        columns: Vec<ResultColumn>,
        rows: Vec<Row>,
        /// True for a pull query on a stream (a bounded scan of its topic), which ksqlDB ends
        /// with "Query Completed"; a table's answer ends without a message.
        stream: bool,
    },
    /// A push query: rows arrive until LIMIT or cancel.
    Push(PushQuery),
}

/// A running push query. Dropping it cancels the query.
///
/// Rows arrive through a bounded channel: when the consumer falls behind, the query's thread
/// waits (it stops reading its source) rather than buffering, so a slow reader costs at most
/// the channel's capacity. Synchronous consumers (the REPL) block on [`PushQuery::next_timeout`];
/// asynchronous ones (the HTTP server) await [`PushQuery::recv`], woken by `notify`.
#[derive(Debug)]
pub struct PushQuery {
    /// `transient_<SOURCE>_<n>`, unique in the process: what `/close-query` names.
    pub id: String,
    pub columns: Vec<ResultColumn>,
    pub limit: Option<u64>,
    /// True when the query reads a table's changelog (its rows may be updates of a key).
    pub table: bool,
    /// Rows with their tombstone flag (a deleted key of a table).
    pub(crate) rows: std::sync::mpsc::Receiver<Result<Arc<PushedRow>>>,
    pub(crate) cancel: Arc<AtomicBool>,
    /// Signalled after each row sent and when the producer stops.
    pub(crate) notify: Arc<tokio::sync::Notify>,
    /// Set when the query stopped because it reached its LIMIT.
    pub(crate) limit_reached: Arc<AtomicBool>,
    /// Set when a shared query dropped this consumer for leaving its buffer full.
    pub(crate) overflow: Arc<AtomicBool>,
}

impl PushQuery {
    /// The next row: `Ok(None)` when the query ended (LIMIT reached or cancelled),
    /// `Err(Timeout)`-like `Ok(Some(None))` is not used: a timeout returns `Ok(None)` only when
    /// ended, so callers loop on [`PushQuery::next_timeout`] to stay responsive.
    ///
    /// The synchronous readers show rows only: a table's deletions (tombstones) are skipped
    /// here; [`PushQuery::recv`] reports them.
    pub fn next_row(&self) -> Option<Result<Row>> {
        loop {
            match self.rows.recv().ok()? {
                Ok(row) if row.tombstone => continue,
                Ok(row) => return Some(Ok(row.values.clone())),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Waits up to `timeout` for a row; `None` when nothing arrived (check
    /// [`PushQuery::is_done`]).
    pub fn next_timeout(&self, timeout: Duration) -> Option<Result<Row>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rows.recv_timeout(left).ok()? {
                Ok(row) if row.tombstone => continue,
                Ok(row) => return Some(Ok(row.values.clone())),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The next row for an async consumer, tombstones (a table's key deleted) included:
    /// `None` once the query has ended and every row it produced was received.
    pub async fn recv(&mut self) -> Option<Result<Arc<PushedRow>>> {
        loop {
            // `Notify` keeps one permit when nobody waits, so a row sent between `try_recv`
            // and the await below still wakes us.
            match self.rows.try_recv() {
                Ok(row) => return Some(row),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return None,
                Err(std::sync::mpsc::TryRecvError::Empty) => self.notify.notified().await,
            }
        }
    }

    /// A row already produced, without waiting: `None` when there is none right now (or the
    /// query ended; [`PushQuery::recv`] tells which).
    pub fn try_recv(&mut self) -> Option<Result<Arc<PushedRow>>> {
        self.rows.try_recv().ok()
    }

    /// True when the query will produce no more rows.
    pub fn is_done(&self) -> bool {
        self.cancel.load(Ordering::Acquire)
    }

    /// True when the query ended because it returned LIMIT rows (ksqlDB's "Limit Reached").
    pub fn limit_reached(&self) -> bool {
        self.limit_reached.load(Ordering::Acquire)
    }

    /// True when the consumer fell a whole buffer behind a shared query and was dropped: rows
    /// after the ones it received were not delivered.
    pub fn overflowed(&self) -> bool {
        self.overflow.load(Ordering::Acquire)
    }

    /// A handle that cancels the query from another thread (Ctrl-C, /close-query).
    pub fn canceller(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }
}

impl Drop for PushQuery {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Release);
    }
}
