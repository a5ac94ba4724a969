//! Persistent and transient queries: starting, stepping, stopping.
//!
//! A persistent query (CREATE ... AS SELECT, INSERT INTO ... SELECT) reads its source from the
//! offsets it committed, writes its sink topic, and commits the offsets of what it read only
//! after what that produced is durable (at-least-once). In background mode each query runs on
//! its own thread, owned here and joined on TERMINATE or shutdown; in manual mode they run only
//! inside [`RunningQueries::run_until_idle`], one record at a time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use crate::catalog::{QueryInfo, Source};
use crate::engine::ddl::{WithProps, status, validate_formats};
use crate::engine::result::{PushQuery, ResultColumn, StatementResult};
use crate::engine::{Inner, State};
use crate::error::{Error, Result};
use crate::exec::processing_log::ProcessingLog;
use crate::exec::query::SelectQuery;
use crate::exec::sink::Sink;
use crate::exec::source::SourceReader;
use crate::plan::select::{SelectPlan, plan_select};
use crate::sql::ast::{CreateAsSelect, Emit, Query, QueryTarget, SourceKind};
use crate::topic::SharedBackend;

/// How many records a background query reads per step.
const BATCH_SIZE: usize = 8192;

/// A persistent query: a stateless select feeding a sink.
pub(crate) struct PersistentQuery {
    id: String,
    query: SelectQuery,
    sink: Sink,
    /// The sink's TIMESTAMP column, when it names one: it sets the output records' time.
    sink_time: Option<crate::exec::time::TimestampExtractor>,
    log: ProcessingLog,
    backend: SharedBackend,
}

impl PersistentQuery {
    /// Processes up to `max` records; returns how many input records were consumed.
    fn step(&mut self, max: usize) -> Result<usize> {
        let before: i64 = self.query.reader().positions().iter().map(|p| p.1).sum();
        if let Some(mut out) = self.query.step(max)? {
            if let Some(extractor) = &self.sink_time {
                out = extractor.apply(out, &self.log, self.sink.topic())?;
            }
            self.sink.write(&out)?;
        }
        let after: i64 = self.query.reader().positions().iter().map(|p| p.1).sum();
        if after > before {
            // Offsets are committed only once what they produced is durable.
            self.backend.flush()?;
            let topic = &self.query.reader().source().topic;
            let offsets: Vec<(String, i32, i64)> =
                self.query.reader().positions().iter().map(|&(p, o)| (topic.clone(), p, o)).collect();
            self.backend.commit_offsets(&self.id, &offsets)?;
        }
        Ok((after - before).max(0) as usize)
    }
}

enum Runner {
    Manual(Box<PersistentQuery>),
    Background { stop: Arc<AtomicBool>, thread: Option<JoinHandle<()>> },
}

/// The running persistent queries of an engine.
pub struct RunningQueries {
    background: bool,
    queries: Mutex<BTreeMap<String, Runner>>,
}

impl RunningQueries {
    pub(crate) fn new(background: bool) -> Self {
        Self { background, queries: Mutex::new(BTreeMap::new()) }
    }

    fn start(&self, mut query: PersistentQuery) -> Result<()> {
        let id = query.id.clone();
        let runner = if self.background {
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            let backend = query.backend.clone();
            let thread = std::thread::Builder::new()
                .name(format!("query-{id}"))
                .spawn(move || {
                    while !flag.load(Ordering::Acquire) {
                        match query.step(BATCH_SIZE) {
                            Ok(0) => backend.wait_for_data(Duration::from_millis(100)),
                            Ok(_) => {}
                            Err(e) => {
                                tracing::error!(query = %query.id, error = %e, "query failed; retrying");
                                std::thread::sleep(Duration::from_millis(500));
                            }
                        }
                    }
                })
                .map_err(|e| Error::external(format!("cannot start a query thread: {e}")))?;
            Runner::Background { stop, thread: Some(thread) }
        } else {
            Runner::Manual(Box::new(query))
        };
        self.queries.lock().insert(id, runner);
        Ok(())
    }

    fn stop(&self, id: &str) {
        let runner = self.queries.lock().remove(id);
        if let Some(Runner::Background { stop, mut thread }) = runner {
            stop.store(true, Ordering::Release);
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }

    /// Stops every query and waits for their threads.
    pub fn stop_all(&self) {
        let ids: Vec<String> = self.queries.lock().keys().cloned().collect();
        for id in ids {
            self.stop(&id);
        }
    }

    /// Steps manual queries one record at a time until none makes progress.
    pub fn run_until_idle(&self) -> Result<()> {
        self.run_until_idle_with(1)
    }

    /// Steps manual queries `batch` records at a time until none makes progress.
    pub fn run_until_idle_with(&self, batch: usize) -> Result<()> {
        let mut queries = self.queries.lock();
        loop {
            let mut progressed = false;
            for runner in queries.values_mut() {
                if let Runner::Manual(query) = runner {
                    while query.step(batch)? > 0 {
                        progressed = true;
                    }
                }
            }
            if !progressed {
                return Ok(());
            }
        }
    }
}

/// The offsets a new reader of `source` starts at: committed ones for `group`, else the
/// beginning (or the end with `auto.offset.reset=latest`).
fn start_positions(inner: &Inner, state: &State, source: &Source, group: Option<&str>) -> Result<Vec<(i32, i64)>> {
    let description = inner
        .backend
        .describe_topic(&source.topic)?
        .ok_or_else(|| Error::user(format!("Kafka topic does not exist: {}", source.topic)))?;
    let latest = state.property(&inner.config, "auto.offset.reset").is_some_and(|v| v.eq_ignore_ascii_case("latest"));
    let mut positions = Vec::with_capacity(description.config.partitions as usize);
    for partition in 0..description.config.partitions {
        let committed = match group {
            Some(g) => inner.backend.committed_offset(g, &source.topic, partition)?,
            None => None,
        };
        let offset = match committed {
            Some(o) => o,
            None if latest => inner.backend.end_offset(&source.topic, partition)?,
            None => inner.backend.start_offset(&source.topic, partition)?,
        };
        positions.push((partition, offset));
    }
    Ok(positions)
}

/// `CREATE STREAM|TABLE name [WITH (...)] AS SELECT ...`
pub(crate) fn create_as_select(inner: &Inner, create: &CreateAsSelect, sql: &str) -> Result<StatementResult> {
    let mut state = inner.state.lock();
    if create.kind == SourceKind::Table {
        return Err(Error::user("CREATE TABLE AS SELECT (aggregations and tables) is not supported yet"));
    }
    if let Some(existing) = state.catalog.source(&create.name) {
        if create.if_not_exists {
            return Ok(status(format!(
                "Cannot add stream '{}': A stream with the same name already exists",
                create.name
            )));
        }
        if !create.or_replace || existing.kind != create.kind {
            return Err(Error::user(format!(
                "Cannot add stream '{}': A {} with the same name already exists",
                create.name,
                crate::engine::ddl::kind_noun(existing.kind)
            )));
        }
        return Err(Error::user("CREATE OR REPLACE of a query's sink is not supported yet"));
    }
    if create.query.emit == Some(Emit::Final) {
        return Err(Error::user("EMIT FINAL is only supported for windowed aggregations"));
    }
    let plan = plan_select(&create.query, &state.catalog, &create.name)?;
    let props = WithProps::new(&create.properties, &state, &inner.config)?;
    let prefix = state.property(&inner.config, "ksql.output.topic.name.prefix").unwrap_or("").to_string();
    let topic = match props.string("KAFKA_TOPIC")? {
        Some(t) => t,
        None => format!("{prefix}{}", create.name),
    };
    let has_key = plan.columns.iter().any(|c| c.role == crate::catalog::ColumnRole::Key);
    let (key_format, value_format) =
        props.formats(has_key, Some((&plan.source.key_format, &plan.source.value_format)))?;
    let sink = Source {
        name: create.name.clone(),
        kind: SourceKind::Stream,
        topic: topic.clone(),
        columns: plan.columns.clone(),
        key_format,
        value_format,
        timestamp: props.timestamp(&plan.columns)?,
        window: None,
        read_only: false,
        sql: sql.to_string(),
    };
    validate_formats(&sink)?;
    let source_partitions = inner.backend.describe_topic(&plan.source.topic)?.map(|d| d.config.partitions).unwrap_or(1);
    let sink_partitions =
        state.property(&inner.config, "ksql.sink.partitions").and_then(|p| p.parse().ok()).unwrap_or(source_partitions);
    if !state.replaying && inner.backend.describe_topic(&topic)?.is_none() {
        inner.backend.create_topic(&topic, &props.topic_config(SourceKind::Stream, sink_partitions)?)?;
    }
    let id = state.catalog.next_query_id("CSAS", &create.name);
    let info = QueryInfo {
        id: id.clone(),
        sql: sql.to_string(),
        sources: vec![plan.source.name.clone()],
        sink: create.name.clone(),
        sink_topic: topic,
    };
    let query = build_persistent(inner, &state, &id, plan, &sink)?;
    inner.log_command(&state, sql)?;
    state.catalog.put_source(sink);
    state.catalog.put_query(info);
    inner.queries.start(query)?;
    Ok(StatementResult::Status { message: format!("Created query with ID {id}"), query_id: Some(id) })
}

fn build_persistent(
    inner: &Inner,
    state: &State,
    id: &str,
    plan: SelectPlan,
    sink: &Source,
) -> Result<PersistentQuery> {
    let log = ProcessingLog::new(inner.backend.clone(), id);
    let positions = start_positions(inner, state, &plan.source, Some(id))?;
    let reader = SourceReader::new(plan.source.clone(), inner.backend.clone(), positions, log.clone())?;
    let sink_time = match &sink.timestamp {
        Some(spec) => Some(crate::exec::time::TimestampExtractor::new(spec, &plan.output_schema)?),
        None => None,
    };
    Ok(PersistentQuery {
        id: id.to_string(),
        query: SelectQuery::new(plan, reader, log.clone()),
        sink: Sink::new(sink, inner.backend.clone())?,
        sink_time,
        log,
        backend: inner.backend.clone(),
    })
}

/// `INSERT INTO target SELECT ...`
pub(crate) fn insert_into_select(inner: &Inner, target: &str, query: &Query, sql: &str) -> Result<StatementResult> {
    let mut state = inner.state.lock();
    let sink = state.catalog.require_source(target)?.clone();
    if sink.kind != SourceKind::Stream {
        return Err(Error::user(format!("INSERT INTO can only be used to insert into a stream. {target} is a table.")));
    }
    if sink.read_only {
        return Err(Error::user(format!("Cannot insert into read-only stream: {target}")));
    }
    if sink
        .columns
        .iter()
        .any(|c| matches!(c.role, crate::catalog::ColumnRole::Headers | crate::catalog::ColumnRole::Header(_)))
    {
        return Err(Error::user(format!("Cannot insert into {target} because it has header columns")));
    }
    let plan = plan_select(query, &state.catalog, target)?;
    let result_schema: Vec<(&str, String, bool)> = plan
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty.to_string(), c.role == crate::catalog::ColumnRole::Key))
        .collect();
    let sink_schema: Vec<(&str, String, bool)> = sink
        .columns
        .iter()
        .filter(|c| matches!(c.role, crate::catalog::ColumnRole::Key | crate::catalog::ColumnRole::Value))
        .map(|c| (c.name.as_str(), c.ty.to_string(), c.role == crate::catalog::ColumnRole::Key))
        .collect();
    if result_schema != sink_schema {
        return Err(Error::user(format!(
            "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
            plan.columns.iter().map(|c| format!("`{}` {}", c.name, c.ty)).collect::<Vec<_>>().join(", "),
            sink.schema_string()
        )));
    }
    let id = state.catalog.next_query_id("INSERTQUERY", "");
    let info = QueryInfo {
        id: id.clone(),
        sql: sql.to_string(),
        sources: vec![plan.source.name.clone()],
        sink: sink.name.clone(),
        sink_topic: sink.topic.clone(),
    };
    let query = build_persistent(inner, &state, &id, plan, &sink)?;
    inner.log_command(&state, sql)?;
    state.catalog.put_query(info);
    inner.queries.start(query)?;
    Ok(StatementResult::Status { message: format!("Created query with ID {id}"), query_id: Some(id) })
}

/// `TERMINATE id|ALL`
pub(crate) fn terminate(inner: &Inner, target: &QueryTarget, sql: &str) -> Result<StatementResult> {
    let mut state = inner.state.lock();
    let ids: Vec<String> = match target {
        QueryTarget::All => state.catalog.queries().map(|q| q.id.clone()).collect(),
        QueryTarget::Id(id) => {
            let id = id.to_ascii_uppercase();
            if state.catalog.query(&id).is_none() {
                return Err(Error::user(format!("Unknown queryId: {id}")));
            }
            vec![id]
        }
    };
    inner.log_command(&state, sql)?;
    for id in &ids {
        inner.queries.stop(id);
        state.catalog.remove_query(id);
    }
    Ok(status("Query terminated.".into()))
}

/// A SELECT typed by the user: a push query (EMIT) or a pull query.
pub(crate) fn transient_query(inner: &Inner, query: &Query) -> Result<StatementResult> {
    let state = inner.state.lock();
    let plan = crate::plan::select::plan_transient(query, &state.catalog)?;
    let columns: Vec<ResultColumn> =
        plan.columns.iter().map(|c| ResultColumn { name: c.name.clone(), ty: c.ty.to_string(), key: false }).collect();
    let log = ProcessingLog::new(inner.backend.clone(), "transient");
    match query.emit {
        Some(_) => {
            let positions = start_positions(inner, &state, &plan.source, None)?;
            drop(state);
            let reader = SourceReader::new(plan.source.clone(), inner.backend.clone(), positions, log.clone())?;
            let limit = plan.limit;
            let select = SelectQuery::new(plan, reader, log);
            Ok(StatementResult::Push(spawn_push(select, inner.backend.clone(), columns, limit)?))
        }
        None => {
            // A pull query on a stream: what the topic holds now, from the beginning.
            let mut positions = Vec::new();
            let mut ends = Vec::new();
            let topic = inner
                .backend
                .describe_topic(&plan.source.topic)?
                .ok_or_else(|| Error::user(format!("Kafka topic does not exist: {}", plan.source.topic)))?;
            for partition in 0..topic.config.partitions {
                positions.push((partition, inner.backend.start_offset(&plan.source.topic, partition)?));
                ends.push(inner.backend.end_offset(&plan.source.topic, partition)?);
            }
            drop(state);
            let limit = plan.limit;
            let reader = SourceReader::new(plan.source.clone(), inner.backend.clone(), positions, log.clone())?;
            let mut select = SelectQuery::new(plan, reader, log);
            let mut rows = Vec::new();
            let done = |select: &SelectQuery| select.reader().positions().iter().zip(&ends).all(|(p, end)| p.1 >= *end);
            'scan: while !done(&select) {
                let Some(batch) = select.step(BATCH_SIZE)? else {
                    break;
                };
                for row in batch_rows(&batch) {
                    if limit.is_some_and(|l| rows.len() as u64 >= l) {
                        break 'scan;
                    }
                    rows.push(row);
                }
            }
            Ok(StatementResult::Rows { columns, rows })
        }
    }
}

/// The rows of an output batch (without its trailing ROWTIME, headers and null flag) as JSON
/// values.
pub(crate) fn batch_rows(batch: &arrow::array::RecordBatch) -> Vec<Vec<serde_json::Value>> {
    let width = batch.num_columns().saturating_sub(3);
    (0..batch.num_rows())
        .map(|row| (0..width).map(|c| crate::format::array_value_to_json(batch.column(c).as_ref(), row)).collect())
        .collect()
}

fn spawn_push(
    mut select: SelectQuery,
    backend: SharedBackend,
    columns: Vec<ResultColumn>,
    limit: Option<u64>,
) -> Result<PushQuery> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1024);
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    std::thread::Builder::new()
        .name("push-query".into())
        .spawn(move || {
            let mut sent: u64 = 0;
            while !flag.load(Ordering::Acquire) {
                match select.step(BATCH_SIZE) {
                    Ok(Some(batch)) => {
                        for row in batch_rows(&batch) {
                            if tx.send(Ok(row)).is_err() {
                                flag.store(true, Ordering::Release);
                                return;
                            }
                            sent += 1;
                            if limit.is_some_and(|l| sent >= l) {
                                flag.store(true, Ordering::Release);
                                return;
                            }
                        }
                    }
                    Ok(None) => backend.wait_for_data(Duration::from_millis(100)),
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        flag.store(true, Ordering::Release);
                        return;
                    }
                }
            }
        })
        .map_err(|e| Error::external(format!("cannot start a push query: {e}")))?;
    Ok(PushQuery { id: "transient".into(), columns, limit, rows: rx, cancel })
}
