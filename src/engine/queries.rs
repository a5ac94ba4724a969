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
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::catalog::{QueryInfo, Source};
use crate::engine::ddl::{WithProps, status, validate_formats};
use crate::engine::result::{PushQuery, PushedRow, ResultColumn, StatementResult};
use crate::engine::{Inner, State};
use crate::error::{Error, Result};
use crate::exec::aggregate::{AggregateInput, Aggregator};
use crate::exec::join::JoinOperator;
use crate::exec::processing_log::ProcessingLog;
use crate::exec::query::SelectQuery;
use crate::exec::sink::Sink;
use crate::exec::source::SourceReader;
use crate::plan::aggregate::{AggregatePlan, is_aggregation, plan_aggregate};
use crate::plan::join::{JoinPlan, join_result_kind, plan_join};
use crate::plan::select::{SelectPlan, SelectSettings, plan_select};
use crate::sql::ast::{CreateAsSelect, Emit, Query, QueryTarget, SourceKind};
use crate::state::changelog::{self, Changelog};
use crate::state::snapshot::Snapshots;
use crate::state::store::StateStore;
use crate::state::table::{MaterializedTable, SharedTable};
use crate::topic::SharedBackend;

/// How many records a background query reads per step.
const BATCH_SIZE: usize = 8192;

/// What a query runs: a stateless select or an aggregation, each with its reader.
pub(crate) enum Operator {
    Select(Box<SelectQuery>),
    /// Shared with the pull queries that read its groups.
    Aggregate(Arc<Mutex<Aggregator>>),
    /// A join of two sources.
    Join(Box<JoinOperator>),
}

/// What pull queries on a table read: its rows, or the groups of the aggregation behind it.
#[derive(Clone)]
pub(crate) enum View {
    Rows(SharedTable),
    Aggregate(Arc<Mutex<Aggregator>>),
}

impl Operator {
    fn step(&mut self, max: usize) -> Result<Option<arrow::array::RecordBatch>> {
        match self {
            Operator::Select(q) => q.step(max),
            Operator::Aggregate(a) => a.lock().step(max),
            Operator::Join(j) => j.step(max),
        }
    }

    /// Next offsets per topic and partition of the sources: what to commit.
    fn offsets(&self) -> Vec<(String, i32, i64)> {
        let of = |reader: &SourceReader| -> Vec<(String, i32, i64)> {
            let topic = &reader.source().topic;
            reader.positions().iter().map(|&(p, o)| (topic.clone(), p, o)).collect()
        };
        match self {
            Operator::Select(q) => of(q.reader()),
            Operator::Aggregate(a) => a.lock().readers().into_iter().flat_map(of).collect(),
            Operator::Join(j) => j.readers().into_iter().flat_map(of).collect(),
        }
    }

    /// Grows whenever the operator consumes input.
    fn progress(&self) -> i64 {
        match self {
            Operator::Select(q) => q.reader().positions().iter().map(|p| p.1).sum(),
            Operator::Aggregate(a) => a.lock().progress(),
            Operator::Join(j) => j.readers().iter().flat_map(|r| r.positions()).map(|p| p.1).sum(),
        }
    }

    /// Writes state changes to the changelog (before the flush that makes them durable).
    fn checkpoint(&mut self) -> Result<()> {
        match self {
            Operator::Select(_) | Operator::Join(_) => Ok(()),
            Operator::Aggregate(a) => a.lock().checkpoint(),
        }
    }
}

/// A planned query.
pub(crate) enum Planned {
    Select(SelectPlan),
    Aggregate(AggregatePlan),
    Join(Box<JoinPlan>),
}

impl Planned {
    /// The input columns (indices into the source's batch schema) the plan reads.
    /// `None`: all of them.
    fn used_columns(&self) -> Option<std::collections::HashSet<usize>> {
        let exprs: Vec<&Arc<dyn datafusion::physical_expr::PhysicalExpr>> = match self {
            Planned::Join(_) => return None,
            Planned::Aggregate(p) if p.join.is_some() => return None,
            Planned::Select(p) => p.filter.iter().chain(p.table_functions.iter()).chain(p.projection.iter()).collect(),
            Planned::Aggregate(p) => p
                .filter
                .iter()
                .chain(p.group_by.iter())
                .chain(p.aggregates.iter().flat_map(|a| a.args.iter()))
                .collect(),
        };
        Some(
            exprs
                .into_iter()
                .flat_map(|e| datafusion::physical_expr::utils::collect_columns(e).into_iter().map(|c| c.index()))
                .collect(),
        )
    }

    fn source(&self) -> &Source {
        match self {
            Planned::Select(p) => &p.source,
            Planned::Aggregate(p) => p.first_source(),
            Planned::Join(p) => &p.left.source,
        }
    }

    /// Every source read.
    fn source_names(&self) -> Vec<String> {
        match self {
            Planned::Join(p) => vec![p.left.source.name.clone(), p.right.source.name.clone()],
            Planned::Aggregate(p) => p.source_names(),
            other => vec![other.source().name.clone()],
        }
    }

    fn columns(&self) -> &[crate::catalog::Column] {
        match self {
            Planned::Select(p) => &p.columns,
            Planned::Aggregate(p) => &p.columns,
            Planned::Join(p) => &p.columns,
        }
    }

    fn output_schema(&self) -> &arrow::datatypes::SchemaRef {
        match self {
            Planned::Select(p) => &p.output_schema,
            Planned::Aggregate(p) => &p.output_schema,
            Planned::Join(p) => &p.output_schema,
        }
    }

    fn window(&self) -> Option<crate::catalog::WindowType> {
        match self {
            Planned::Select(p) => p.source.window,
            Planned::Aggregate(p) => p.window.map(|w| w.key_type()),
            Planned::Join(_) => None,
        }
    }
}

/// A persistent query: an operator feeding a sink (and, for tables, the materialized view
/// pull queries read).
pub(crate) struct PersistentQuery {
    id: String,
    op: Operator,
    sink: Sink,
    /// The sink's TIMESTAMP column, when it names one: it sets the output records' time.
    sink_time: Option<crate::exec::time::TimestampExtractor>,
    table: Option<SharedTable>,
    log: ProcessingLog,
    backend: SharedBackend,
    /// An aggregation's local snapshots (engines with a data directory only).
    snapshots: Option<SnapshotSchedule>,
    /// Whether the state in memory is what the last durable checkpoint holds (false after a
    /// step that failed half-way), so that a snapshot of it may be taken.
    consistent: bool,
}

impl PersistentQuery {
    /// On a clean stop: a snapshot of whatever the changelog gained since the last one, so
    /// that the next start replays nothing.
    fn snapshot_on_stop(&mut self) {
        if !self.consistent {
            return;
        }
        if let (Some(schedule), Operator::Aggregate(aggregator)) = (&mut self.snapshots, &self.op) {
            schedule.maybe_snapshot(&self.id, &aggregator.lock(), &self.backend, true);
        }
    }

    /// EMIT FINAL at the end of input: every open window is written out.
    fn close_windows(&mut self) -> Result<()> {
        if let Operator::Aggregate(aggregator) = &self.op
            && aggregator.lock().plan().emit_final
        {
            let out = aggregator.lock().flush_final()?;
            self.sink.write(&out)?;
            if let Some(table) = &self.table {
                table.write().apply(&out)?;
            }
            self.backend.flush()?;
        }
        Ok(())
    }

    /// Processes up to `max` records; returns how many input records were consumed.
    fn step(&mut self, max: usize) -> Result<usize> {
        // Until the step's checkpoint is durable the state in memory may be ahead of it.
        self.consistent = false;
        let before = self.op.progress();
        if let Some(mut out) = self.op.step(max)? {
            if let Some(extractor) = &self.sink_time {
                out = extractor.apply(out, &self.log, self.sink.topic())?;
            }
            self.sink.write(&out)?;
            if let Some(table) = &self.table {
                table.write().apply(&out)?;
            }
        }
        let offsets = self.op.offsets();
        let after = self.op.progress();
        if after > before {
            // Offsets are committed only once what they produced is durable.
            self.op.checkpoint()?;
            self.backend.flush()?;
            self.backend.commit_offsets(&self.id, &offsets)?;
            if let (Some(schedule), Operator::Aggregate(aggregator)) = (&mut self.snapshots, &self.op) {
                schedule.maybe_snapshot(&self.id, &aggregator.lock(), &self.backend, false);
            }
        }
        self.consistent = true;
        Ok((after - before).max(0) as usize)
    }
}

enum Runner {
    Manual(Box<PersistentQuery>),
    /// `snapshot`: whether the thread snapshots the query's state once stopped.
    Background {
        stop: Arc<AtomicBool>,
        snapshot: Arc<AtomicBool>,
        thread: Option<JoinHandle<()>>,
    },
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
            let snapshot = Arc::new(AtomicBool::new(false));
            let snapshot_on_stop = snapshot.clone();
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
                    if snapshot_on_stop.load(Ordering::Acquire) {
                        query.snapshot_on_stop();
                    }
                })
                .map_err(|e| Error::external(format!("cannot start a query thread: {e}")))?;
            Runner::Background { stop, snapshot, thread: Some(thread) }
        } else {
            Runner::Manual(Box::new(query))
        };
        self.queries.lock().insert(id, runner);
        Ok(())
    }

    /// Stops a query; with `snapshot`, its state is snapshotted first (a shutdown, so that the
    /// next start restores from it; a TERMINATE drops the state instead).
    fn stop(&self, id: &str, snapshot: bool) {
        let runner = self.queries.lock().remove(id);
        match runner {
            Some(Runner::Background { stop, snapshot: snapshot_on_stop, mut thread }) => {
                snapshot_on_stop.store(snapshot, Ordering::Release);
                stop.store(true, Ordering::Release);
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
            Some(Runner::Manual(mut query)) if snapshot => query.snapshot_on_stop(),
            _ => {}
        }
    }

    /// Stops every query and waits for their threads.
    pub fn stop_all(&self) {
        let ids: Vec<String> = self.queries.lock().keys().cloned().collect();
        for id in ids {
            self.stop(&id, true);
        }
    }

    /// Emits the windows manual aggregations still hold open (end of a bounded input).
    pub fn close_windows(&self) -> Result<()> {
        let mut queries = self.queries.lock();
        for runner in queries.values_mut() {
            if let Runner::Manual(query) = runner {
                query.close_windows()?;
            }
        }
        Ok(())
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

/// Plans the query of a CREATE ... AS SELECT or INSERT INTO, checking that what it produces
/// (a stream or a table) is what the statement creates.
fn plan_persistent(
    query: &Query,
    catalog: &crate::catalog::Catalog,
    sink: &str,
    kind: SourceKind,
    settings: SelectSettings,
) -> Result<Planned> {
    if !query.from.joins.is_empty() && !is_aggregation(query) {
        let produces = join_result_kind(query, catalog)?;
        let plan = plan_join(query, catalog, Some(sink))?;
        check_result_kind(produces, kind)?;
        return Ok(Planned::Join(Box::new(plan)));
    }
    let source = catalog.require_source(&query.from.source.name)?;
    if source.window.is_some() && source.kind == SourceKind::Table && query.from.joins.is_empty() {
        return Err(Error::user("KSQL does not support persistent queries on windowed tables."));
    }
    let source_kind = source.kind;
    let produces =
        if is_aggregation(query) || source_kind == SourceKind::Table { SourceKind::Table } else { SourceKind::Stream };
    check_result_kind(produces, kind)?;
    if is_aggregation(query) {
        Ok(Planned::Aggregate(plan_aggregate(query, catalog, Some(sink))?))
    } else {
        Ok(Planned::Select(plan_select(query, catalog, sink, settings)?))
    }
}

/// Rejects a CREATE STREAM of a query producing a table, and the reverse.
fn check_result_kind(produces: SourceKind, kind: SourceKind) -> Result<()> {
    if produces != kind {
        let (produced, statement) = match produces {
            SourceKind::Table => ("TABLE", "CREATE TABLE AS SELECT"),
            SourceKind::Stream => ("STREAM", "CREATE STREAM AS SELECT"),
        };
        return Err(Error::user(format!(
            "Invalid result type. Your SELECT query produces a {produced}. Please use {statement} statement instead."
        )));
    }
    Ok(())
}

/// `CREATE STREAM|TABLE name [WITH (...)] AS SELECT ...`
pub(crate) fn create_as_select(inner: &Inner, create: &CreateAsSelect, sql: &str) -> Result<StatementResult> {
    let mut state = inner.state.lock();
    let noun = crate::engine::ddl::kind_noun(create.kind);
    if let Some(existing) = state.catalog.source(&create.name) {
        if create.if_not_exists {
            return Ok(status(format!(
                "Cannot add {noun} '{}': A {noun} with the same name already exists",
                create.name
            )));
        }
        if !create.or_replace || existing.kind != create.kind {
            return Err(Error::user(format!(
                "Cannot add {noun} '{}': A {} with the same name already exists",
                create.name,
                crate::engine::ddl::kind_noun(existing.kind)
            )));
        }
        return Err(Error::user("CREATE OR REPLACE of a query's sink is not supported yet"));
    }
    if create.query.emit == Some(Emit::Final) && create.query.window.is_none() {
        return Err(Error::user("EMIT FINAL is only supported for windowed aggregations."));
    }
    let plan =
        plan_persistent(&create.query, &state.catalog, &create.name, create.kind, select_settings(inner, &state))?;
    let props = WithProps::new(&create.properties, &state, &inner.config)?;
    let prefix = state.property(&inner.config, "ksql.output.topic.name.prefix").unwrap_or("").to_string();
    let topic = match props.string("KAFKA_TOPIC")? {
        Some(t) => t,
        None => format!("{prefix}{}", create.name),
    };
    let has_key = plan.columns().iter().any(|c| c.role == crate::catalog::ColumnRole::Key);
    let (key_format, value_format) =
        props.formats(has_key, Some((&plan.source().key_format, &plan.source().value_format)))?;
    let sink = Source {
        name: create.name.clone(),
        kind: create.kind,
        topic: topic.clone(),
        columns: plan.columns().to_vec(),
        key_format,
        value_format,
        timestamp: props.timestamp(plan.columns())?,
        window: plan.window(),
        read_only: false,
        sql: sql.to_string(),
    };
    validate_formats(&sink)?;
    let source_partitions =
        inner.backend.describe_topic(&plan.source().topic)?.map(|d| d.config.partitions).unwrap_or(1);
    let sink_partitions =
        state.property(&inner.config, "ksql.sink.partitions").and_then(|p| p.parse().ok()).unwrap_or(source_partitions);
    if !state.replaying && inner.backend.describe_topic(&topic)?.is_none() {
        inner.backend.create_topic(&topic, &props.topic_config(create.kind, sink_partitions)?)?;
    }
    let prefix = if create.kind == SourceKind::Table { "CTAS" } else { "CSAS" };
    let id = state.catalog.next_query_id(prefix, &create.name);
    let info = QueryInfo {
        id: id.clone(),
        sql: sql.to_string(),
        sources: plan.source_names(),
        sink: create.name.clone(),
        sink_topic: topic,
    };
    // A stateless table query keeps its rows for pull queries; an aggregation answers them
    // from its groups.
    let table = match (create.kind, &plan) {
        (SourceKind::Table, Planned::Select(_) | Planned::Join(_)) => {
            Some(Arc::new(parking_lot::RwLock::new(MaterializedTable::new(&sink)?)))
        }
        _ => None,
    };
    let query = build_persistent(inner, &state, &id, plan, &sink, table.clone(), &create.query)?;
    inner.log_command(&state, sql)?;
    state.catalog.put_source(sink);
    state.catalog.put_query(info);
    let view = match (&query.op, table) {
        (Operator::Aggregate(a), _) => Some(View::Aggregate(a.clone())),
        (_, Some(table)) => Some(View::Rows(table)),
        _ => None,
    };
    if let Some(view) = view {
        inner.tables.lock().insert(create.name.clone(), view);
    }
    inner.queries.start(query)?;
    Ok(StatementResult::Status { message: format!("Created query with ID {id}"), query_id: Some(id) })
}

fn build_persistent(
    inner: &Inner,
    state: &State,
    id: &str,
    plan: Planned,
    sink: &Source,
    table: Option<SharedTable>,
    query: &Query,
) -> Result<PersistentQuery> {
    let log = ProcessingLog::new(inner.backend.clone(), id);
    let positions = start_positions(inner, state, plan.source(), Some(id))?;
    let throw = throw_on_invalid_timestamp(inner, state);
    let mut reader = SourceReader::new(plan.source().clone(), inner.backend.clone(), positions, log.clone())?
        .throw_on_invalid_timestamp(throw);
    if let Some(used) = plan.used_columns() {
        reader.project(&used)?;
    }
    // Local snapshots of an aggregation's state, when there is a data directory to keep them.
    let snapshots = match (&plan, &inner.config.data_dir) {
        (Planned::Aggregate(_), Some(dir)) => Some(SnapshotSchedule::new(inner, state, dir, id)),
        _ => None,
    };
    let sink_time = match &sink.timestamp {
        Some(spec) if sink.window.is_none() => {
            Some(crate::exec::time::TimestampExtractor::new(spec, plan.output_schema())?)
        }
        _ => None,
    };
    let op = match plan {
        Planned::Join(plan) => Operator::Join(Box::new(open_join(inner, state, *plan, Some(id), &log, throw)?)),
        Planned::Select(plan) => {
            if let Some(table) = &table {
                warm_table(inner, state, query, sink, table, &log)?;
            }
            Operator::Select(Box::new(SelectQuery::new(plan, reader, log.clone())))
        }
        Planned::Aggregate(mut plan) => {
            let changelog = Changelog::open(inner.backend.clone(), id)?;
            let repartition = match needs_repartition(inner, query, &plan)? {
                Some(partitions) => {
                    let topic = changelog::repartition_topic_name(id);
                    if inner.backend.describe_topic(&topic)?.is_none() {
                        let config = crate::topic::TopicConfig { partitions, ..Default::default() };
                        inner.backend.create_topic(&topic, &config)?;
                    }
                    Some(crate::exec::aggregate::Repartition::new(inner.backend.clone(), topic, &plan)?)
                }
                None => None,
            };
            let input = match plan.join.take() {
                Some(join) => AggregateInput::Join(Box::new(open_join(inner, state, *join, Some(id), &log, throw)?)),
                None => AggregateInput::Source(Box::new(reader)),
            };
            let mut aggregator = Aggregator::new(
                plan,
                input,
                log.clone(),
                Some(changelog),
                &aggregate_config(inner, state),
                repartition,
            )?;
            let started = Instant::now();
            let stats = aggregator.restore(&inner.backend, id, snapshots.as_ref().map(|s| &s.snapshots))?;
            if stats.checkpoint.is_some() {
                tracing::info!(
                    query = id,
                    groups = aggregator.group_count(),
                    from_snapshot = stats.snapshot_offset.is_some(),
                    replayed_records = stats.replayed_records,
                    ms = started.elapsed().as_millis() as u64,
                    "restored an aggregation's state"
                );
            }
            Operator::Aggregate(Arc::new(Mutex::new(aggregator)))
        }
    };
    Ok(PersistentQuery {
        id: id.to_string(),
        op,
        sink: Sink::new(sink, inner.backend.clone())?,
        sink_time,
        table,
        log,
        backend: inner.backend.clone(),
        snapshots,
        consistent: true,
    })
}

/// When an aggregation writes its next local snapshot (see the module doc of `state`).
struct SnapshotSchedule {
    snapshots: Snapshots,
    /// Changelog records to write between two snapshots, at least (more when the state has
    /// more entries than this).
    min_records: u64,
    /// Time after which a snapshot is due anyway once anything was written.
    interval: Duration,
    /// The changelog's written count at the last snapshot, and when that was.
    written_at_last: u64,
    last: Instant,
}

impl SnapshotSchedule {
    fn new(inner: &Inner, state: &State, data_dir: &std::path::Path, id: &str) -> Self {
        let number = |name: &str| state.property(&inner.config, name).and_then(|v| v.trim().parse::<u64>().ok());
        Self {
            snapshots: Snapshots::new(data_dir, id),
            min_records: number(crate::state::SNAPSHOT_MIN_RECORDS)
                .unwrap_or(crate::state::DEFAULT_SNAPSHOT_MIN_RECORDS)
                .max(1),
            interval: Duration::from_millis(
                number(crate::state::SNAPSHOT_INTERVAL_MS).unwrap_or(crate::state::DEFAULT_SNAPSHOT_INTERVAL_MS),
            ),
            written_at_last: 0,
            last: Instant::now(),
        }
    }

    /// Writes a snapshot of `aggregator` if one is due, or (`now`) if anything was written
    /// since the last one. Called after a checkpoint is durable. A failed snapshot is logged,
    /// not returned: the changelog still holds everything.
    fn maybe_snapshot(&mut self, id: &str, aggregator: &Aggregator, backend: &SharedBackend, now: bool) {
        let written = aggregator.changelog_written();
        let since = written.saturating_sub(self.written_at_last);
        let threshold = self.min_records.max(aggregator.entry_count() as u64);
        if since == 0 || (!now && since < threshold && self.last.elapsed() < self.interval) {
            return;
        }
        let started = Instant::now();
        let outcome =
            changelog::end_offset(backend, id).and_then(|end| aggregator.write_snapshot(&self.snapshots, end));
        match outcome {
            Ok(meta) => tracing::info!(
                query = id,
                changelog_offset = meta.changelog_offset,
                entries = meta.entries,
                ms = started.elapsed().as_millis() as u64,
                "wrote a state snapshot"
            ),
            Err(e) => tracing::warn!(query = id, error = %e, "cannot write a state snapshot; restore will replay more"),
        }
        self.written_at_last = written;
        self.last = Instant::now();
    }
}

/// The operator of a join with its readers placed. A stream side of a persistent query
/// (`query_id`) resumes where the query committed; of a push query, it starts where
/// `auto.offset.reset` says. A table side is rebuilt from its topic (its changelog): a
/// persistent query reads it as its offsets say, a push query whole, joining with the table
/// as it is.
fn open_join(
    inner: &Inner,
    state: &State,
    plan: JoinPlan,
    query_id: Option<&str>,
    log: &ProcessingLog,
    throw: bool,
) -> Result<JoinOperator> {
    let reader = |source: &Source| -> Result<SourceReader> {
        let positions = match query_id {
            Some(id) => {
                let group = (source.kind == SourceKind::Stream).then_some(id);
                start_positions(inner, state, source, group)?
            }
            None if source.kind == SourceKind::Table => {
                let partitions = inner.backend.describe_topic(&source.topic)?.map(|d| d.config.partitions).unwrap_or(1);
                (0..partitions)
                    .map(|p| Ok((p, inner.backend.start_offset(&source.topic, p)?)))
                    .collect::<Result<Vec<_>>>()?
            }
            None => start_positions(inner, state, source, None)?,
        };
        Ok(SourceReader::new(source.clone(), inner.backend.clone(), positions, log.clone())?
            .throw_on_invalid_timestamp(throw))
    };
    let (left, right) = (reader(&plan.left.source)?, reader(&plan.right.source)?);
    JoinOperator::new(plan, left, right, log.clone())
}

/// The partition count of the repartition topic a GROUP BY needs, if it needs one: when it
/// groups a stream spread over several partitions by anything but the stream's key, rows of
/// one group arrive on different partitions (and, once several instances share the work, at
/// different instances). With one partition, one task sees every row and the topic would be
/// pure overhead.
fn needs_repartition(inner: &Inner, query: &Query, plan: &AggregatePlan) -> Result<Option<i32>> {
    if plan.source.kind != SourceKind::Stream {
        return Ok(None);
    }
    if let Some(join) = &plan.join {
        // The joined rows come keyed by the join key: grouping by it (either side's column of
        // the criterion, or the synthetic key) keeps each group on one partition.
        let mut partitions = 1;
        for source in [&join.left.source, &join.right.source] {
            let n = inner.backend.describe_topic(&source.topic)?.map(|d| d.config.partitions).unwrap_or(1);
            partitions = partitions.max(n);
        }
        return Ok((!plan.by_join_key && partitions > 1).then_some(partitions));
    }
    let keys: Vec<&str> = plan.source.key_columns().map(|c| c.name.as_str()).collect();
    let by_key = query.group_by.len() == keys.len()
        && query
            .group_by
            .iter()
            .zip(&keys)
            .all(|(g, k)| matches!(g, crate::sql::ast::Expr::Column { name, .. } if name == k));
    let partitions = inner.backend.describe_topic(&plan.source.topic)?.map(|d| d.config.partitions).unwrap_or(1);
    Ok((!by_key && partitions > 1).then_some(partitions))
}

/// The settings the select planner reads from the session and config.
pub(crate) fn select_settings(inner: &Inner, state: &State) -> SelectSettings {
    SelectSettings::from_properties(|name| state.property(&inner.config, name))
}

/// `ksql.timestamp.throw.on.invalid`: a persistent query fails on a record whose TIMESTAMP
/// column holds no time, rather than skipping it (ksqlDB's default).
fn throw_on_invalid_timestamp(inner: &Inner, state: &State) -> bool {
    state
        .property(&inner.config, "ksql.timestamp.throw.on.invalid")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The settings aggregate functions read from the session and config.
fn aggregate_config(inner: &Inner, state: &State) -> crate::functions::aggregate::AggregateConfig {
    let limit = |name: &str| state.property(&inner.config, name).and_then(|v| v.trim().parse::<usize>().ok());
    crate::functions::aggregate::AggregateConfig {
        collect_list_limit: limit("ksql.functions.collect_list.limit"),
        collect_set_limit: limit("ksql.functions.collect_set.limit"),
    }
}

/// Fills a stateless table query's materialized view with what its source already holds (on
/// restart the query resumes from its committed offsets, so the view would otherwise start
/// empty). Rows are upserts, so reading past the committed offsets is harmless.
fn warm_table(
    inner: &Inner,
    state: &State,
    query: &Query,
    sink: &Source,
    table: &SharedTable,
    log: &ProcessingLog,
) -> Result<()> {
    let plan = plan_select(query, &state.catalog, &sink.name, select_settings(inner, state))?;
    let positions = start_positions(inner, state, &plan.source, None)?;
    let reader = SourceReader::new(plan.source.clone(), inner.backend.clone(), positions, log.clone())?
        .throw_on_invalid_timestamp(throw_on_invalid_timestamp(inner, state));
    let mut select = SelectQuery::new(plan, reader, log.clone());
    while let Some(batch) = select.step(BATCH_SIZE)? {
        table.write().apply(&batch)?;
    }
    Ok(())
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
    let plan = plan_persistent(query, &state.catalog, target, SourceKind::Stream, select_settings(inner, &state))?;
    if let Planned::Aggregate(_) = plan {
        return Err(Error::internal("INSERT INTO planned an aggregation"));
    }
    let result_schema: Vec<(&str, String, bool)> = plan
        .columns()
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
            plan.columns().iter().map(|c| format!("`{}` {}", c.name, c.ty)).collect::<Vec<_>>().join(", "),
            sink.schema_string()
        )));
    }
    let id = state.catalog.next_query_id("INSERTQUERY", "");
    let info = QueryInfo {
        id: id.clone(),
        sql: sql.to_string(),
        sources: plan.source_names(),
        sink: sink.name.clone(),
        sink_topic: sink.topic.clone(),
    };
    let query = build_persistent(inner, &state, &id, plan, &sink, None, query)?;
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
        inner.queries.stop(id, false);
        if let Some(query) = state.catalog.query(id) {
            // The table is no longer maintained: pull queries must not read a stale view.
            let sink = query.sink.clone();
            if state.catalog.queries_writing(&sink).len() <= 1 {
                inner.tables.lock().remove(&sink);
            }
        }
        state.catalog.remove_query(id);
        // Its state goes with it, as ksqlDB deletes a terminated query's internal topics. The
        // snapshots go first: left behind a deleted changelog, they would describe a state
        // that no longer exists.
        if let Some(dir) = &inner.config.data_dir {
            Snapshots::new(dir, id).remove_all()?;
        }
        for internal in [changelog::topic_name(id), changelog::repartition_topic_name(id)] {
            if inner.backend.describe_topic(&internal)?.is_some() {
                inner.backend.delete_topic(&internal)?;
            }
        }
    }
    Ok(status("Query terminated.".into()))
}

/// A SELECT typed by the user: a push query (EMIT) or a pull query.
pub(crate) fn transient_query(inner: &Inner, query: &Query) -> Result<StatementResult> {
    let state = inner.state.lock();
    let log = ProcessingLog::new(inner.backend.clone(), "transient");
    if is_aggregation(query) {
        if query.emit.is_none() {
            return Err(Error::user(
                "Pull queries don't support GROUP BY clauses. Aggregate in a CREATE TABLE AS SELECT and query the table.",
            ));
        }
        let mut plan = plan_aggregate(query, &state.catalog, None)?;
        let columns = result_columns(&plan.columns);
        let input = match plan.join.take() {
            Some(join) => AggregateInput::Join(Box::new(open_join(inner, &state, *join, None, &log, false)?)),
            None => {
                let positions = start_positions(inner, &state, &plan.source, None)?;
                AggregateInput::Source(Box::new(SourceReader::new(
                    plan.source.clone(),
                    inner.backend.clone(),
                    positions,
                    log.clone(),
                )?))
            }
        };
        let config = aggregate_config(inner, &state);
        drop(state);
        let limit = plan.limit;
        let source = plan.source.clone();
        let aggregator = Aggregator::new(plan, input, log, None, &config, None)?;
        let op = Operator::Aggregate(Arc::new(Mutex::new(aggregator)));
        return Ok(StatementResult::Push(spawn_push(op, inner.backend.clone(), &source, columns, limit)?));
    }
    if !query.from.joins.is_empty() {
        if query.emit.is_none() {
            return Err(Error::user("Pull queries don't support JOIN clauses."));
        }
        let plan = plan_join(query, &state.catalog, None)?;
        let columns = result_columns(&plan.columns);
        let limit = plan.limit;
        let source = plan.left.source.clone();
        let op = Operator::Join(Box::new(open_join(inner, &state, plan, None, &log, false)?));
        drop(state);
        return Ok(StatementResult::Push(spawn_push(op, inner.backend.clone(), &source, columns, limit)?));
    }
    let plan = crate::plan::select::plan_transient(query, &state.catalog)?;
    let columns = result_columns(&plan.columns);
    match query.emit {
        Some(_) => {
            let latest =
                state.property(&inner.config, "auto.offset.reset").is_some_and(|v| v.eq_ignore_ascii_case("latest"));
            // Push queries that start at the end of their source see the same rows from then
            // on: identical ones share one running query (see `Fanout`).
            let share = latest.then(|| format!("{query:?}"));
            if let Some(key) = &share
                && let Some(push) = join_fanout(inner, key, &plan.source, &columns, plan.limit)
            {
                return Ok(StatementResult::Push(push));
            }
            let positions = start_positions(inner, &state, &plan.source, None)?;
            drop(state);
            let reader = SourceReader::new(plan.source.clone(), inner.backend.clone(), positions, log.clone())?;
            let limit = plan.limit;
            let source = plan.source.clone();
            let op = Operator::Select(Box::new(SelectQuery::new(plan, reader, log)));
            match share {
                Some(key) => Ok(StatementResult::Push(start_fanout(inner, key, op, &source, columns, limit)?)),
                None => Ok(StatementResult::Push(spawn_push(op, inner.backend.clone(), &source, columns, limit)?)),
            }
        }
        None if plan.source.kind == SourceKind::Table => {
            // A pull query on a table: answered from its materialized view.
            let view = inner.tables.lock().get(&plan.source.name).cloned().ok_or_else(|| {
                Error::user(format!(
                    "The `{0}` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{0} AS SELECT * FROM {0}'. See https://cnfl.io/queries for more info.",
                    plan.source.name
                ))
            })?;
            let scan_enabled = state
                .property(&inner.config, "ksql.query.pull.table.scan.enabled")
                .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
            drop(state);
            crate::plan::pull::validate(query, &plan.source, scan_enabled)?;
            let limit = plan.limit;
            // A lookup of one key reads one row; anything else scans. Either way the query's
            // WHERE then runs on what was read.
            let key = key_lookup(query, &plan.source)?;
            let batch = match (view, key) {
                (View::Rows(table), Some(key)) => table.read().lookup(&key)?,
                (View::Rows(table), None) => table.read().scan()?,
                (View::Aggregate(aggregator), key) => {
                    let mut aggregator = aggregator.lock();
                    let rows = match key {
                        Some(key) => match aggregator.lookup(&key)? {
                            Some(rows) => rows,
                            None => aggregator.snapshot()?,
                        },
                        None => aggregator.snapshot()?,
                    };
                    crate::state::table::source_layout(&rows, &plan.source)?
                }
            };
            let reader = SourceReader::new(plan.source.clone(), inner.backend.clone(), Vec::new(), log.clone())?;
            let select = SelectQuery::new(plan, reader, log);
            let out = select.process(&batch)?;
            let mut rows = batch_rows(&out, columns.len());
            if let Some(limit) = limit {
                rows.truncate(limit as usize);
            }
            Ok(StatementResult::Rows { columns, rows, stream: false })
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
                for row in batch_rows(&batch, columns.len()) {
                    if limit.is_some_and(|l| rows.len() as u64 >= l) {
                        break 'scan;
                    }
                    rows.push(row);
                }
            }
            Ok(StatementResult::Rows { columns, rows, stream: true })
        }
    }
}

/// The key a pull query looks up, when its WHERE pins every key column to a literal
/// (`k = 'x'` joined by AND): one single-row array per key column.
fn key_lookup(query: &Query, source: &Source) -> Result<Option<Vec<arrow::array::ArrayRef>>> {
    use crate::sql::ast::{BinaryOp, Expr};
    fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e {
            Expr::Binary { op: BinaryOp::And, left, right } => {
                conjuncts(left, out);
                conjuncts(right, out);
            }
            other => out.push(other),
        }
    }
    let Some(filter) = &query.where_clause else { return Ok(None) };
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    let mut key = Vec::new();
    for column in source.key_columns() {
        let literal = parts.iter().find_map(|p| match p {
            Expr::Binary { op: BinaryOp::Eq, left, right } => match (left.as_ref(), right.as_ref()) {
                (Expr::Column { name, .. }, Expr::Literal(l)) | (Expr::Literal(l), Expr::Column { name, .. })
                    if name == &column.name =>
                {
                    Some(l)
                }
                _ => None,
            },
            _ => None,
        });
        let Some(literal) = literal else { return Ok(None) };
        let value = crate::plan::expr::literal(literal)?;
        // A literal that does not convert to the key's type cannot be a lookup; the scan
        // path reports or evaluates it as the WHERE says.
        match value.cast_to(&column.ty.to_arrow()).and_then(|v| v.to_array()) {
            Ok(array) if array.null_count() == 0 => key.push(array),
            _ => return Ok(None),
        }
    }
    Ok(if key.is_empty() { None } else { Some(key) })
}

pub(crate) fn result_columns(columns: &[crate::catalog::Column]) -> Vec<ResultColumn> {
    columns
        .iter()
        .map(|c| ResultColumn {
            name: c.name.clone(),
            ty: c.ty.to_string(),
            sql_type: c.ty.clone(),
            key: c.role == crate::catalog::ColumnRole::Key,
        })
        .collect()
}

/// Rows a push query may have produced and its consumer not yet taken: beyond this the query
/// waits for the consumer.
const PUSH_BUFFER_ROWS: usize = 1024;

/// The rows of an output batch (without its trailing ROWTIME, headers and null flag) as JSON
/// values.
pub(crate) fn batch_rows(batch: &arrow::array::RecordBatch, width: usize) -> Vec<Vec<serde_json::Value>> {
    // A row a table query deleted (a tombstone) is not a result row.
    push_rows(batch, width, false).into_iter().map(|(row, _)| row).collect()
}

/// The rows of a push query's output batch, ready to hand to subscribers.
fn pushed_rows(batch: &arrow::array::RecordBatch, width: usize, table: bool) -> Vec<Arc<PushedRow>> {
    push_rows(batch, width, table)
        .into_iter()
        .map(|(values, tombstone)| Arc::new(PushedRow::new(values, tombstone)))
        .collect()
}

/// The rows of a push query's output batch with their tombstone flags: a table's changelog
/// carries deletions (a key whose row is gone, values NULL), which a push query on a table
/// shows; a stream's null-valued records are no rows at all.
fn push_rows(batch: &arrow::array::RecordBatch, width: usize, table: bool) -> Vec<(Vec<serde_json::Value>, bool)> {
    use arrow::array::{Array, AsArray};
    // The null-value flag follows ROWTIME and the headers.
    let flags = batch.columns().get(width + 2).and_then(|c| c.as_boolean_opt());
    (0..batch.num_rows())
        .filter_map(|row| {
            let tombstone = flags.is_some_and(|t| t.is_valid(row) && t.value(row));
            if tombstone && !table {
                return None;
            }
            let values =
                (0..width).map(|c| crate::format::array_value_to_json(batch.column(c).as_ref(), row)).collect();
            Some((values, tombstone))
        })
        .collect()
}

/// Push queries over the same statement, all starting at the latest offsets, share one
/// running query: one thread reads, decodes and projects each record once and hands the rows
/// to every subscriber, instead of one thread per client doing the same work (hundreds of
/// clients following one stream otherwise wake hundreds of threads per record).
///
/// Each subscriber keeps its own bounded channel, LIMIT and cancel flag. One whose channel is
/// full is not waited for (that would stall the others): it is dropped with its `overflow`
/// flag set, so that its consumer ends with an error rather than silently missing rows.
pub(crate) struct Fanout {
    subscribers: Mutex<Vec<Subscriber>>,
}

/// The sending side of a push query's rows.
type RowSender = std::sync::mpsc::SyncSender<Result<Arc<PushedRow>>>;

struct Subscriber {
    tx: Option<RowSender>,
    notify: Arc<tokio::sync::Notify>,
    cancel: Arc<AtomicBool>,
    reached: Arc<AtomicBool>,
    overflow: Arc<AtomicBool>,
    limit: Option<u64>,
    sent: u64,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        // Close the channel first, then wake the consumer so that it sees it closed.
        self.tx.take();
        self.cancel.store(true, Ordering::Release);
        self.notify.notify_one();
    }
}

/// A new subscriber and the consumer's side of it.
fn subscriber(id: String, columns: Vec<ResultColumn>, limit: Option<u64>, table: bool) -> (Subscriber, PushQuery) {
    let (tx, rx) = std::sync::mpsc::sync_channel(PUSH_BUFFER_ROWS);
    let cancel = Arc::new(AtomicBool::new(limit == Some(0)));
    let notify = Arc::new(tokio::sync::Notify::new());
    let reached = Arc::new(AtomicBool::new(limit == Some(0)));
    let overflow = Arc::new(AtomicBool::new(false));
    let sub = Subscriber {
        tx: Some(tx),
        notify: notify.clone(),
        cancel: cancel.clone(),
        reached: reached.clone(),
        overflow: overflow.clone(),
        limit,
        sent: 0,
    };
    let push = PushQuery { id, columns, limit, table, rows: rx, cancel, notify, limit_reached: reached, overflow };
    (sub, push)
}

fn push_id(source: &Source) -> String {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("transient_{}_{}", source.name, NEXT_ID.fetch_add(1, Ordering::Relaxed) + 1)
}

/// Subscribes to a running shared query, if there is one for `key`.
fn join_fanout(
    inner: &Inner,
    key: &str,
    source: &Source,
    columns: &[ResultColumn],
    limit: Option<u64>,
) -> Option<PushQuery> {
    let fanouts = inner.fanouts.lock();
    let fanout = fanouts.get(key)?;
    let (sub, push) = subscriber(push_id(source), columns.to_vec(), limit, source.kind == SourceKind::Table);
    fanout.subscribers.lock().push(sub);
    Some(push)
}

/// Starts a shared query for `key` with its first subscriber.
fn start_fanout(
    inner: &Inner,
    key: String,
    mut op: Operator,
    source: &Source,
    columns: Vec<ResultColumn>,
    limit: Option<u64>,
) -> Result<PushQuery> {
    let width = columns.len();
    let table = source.kind == SourceKind::Table;
    let (sub, push) = subscriber(push_id(source), columns, limit, table);
    let fanout = Arc::new(Fanout { subscribers: Mutex::new(vec![sub]) });
    inner.fanouts.lock().insert(key.clone(), fanout.clone());
    let registry = inner.fanouts.clone();
    let registered = key.clone();
    let backend = inner.backend.clone();
    let topic = source.topic.clone();
    let started = std::thread::Builder::new().name("push-query".into()).spawn(move || {
        loop {
            {
                let mut subscribers = fanout.subscribers.lock();
                subscribers.retain(|s| !s.cancel.load(Ordering::Acquire));
                if subscribers.is_empty() {
                    // Unregister under the registry's lock: a subscriber joining now either
                    // found this fan-out before (and is in the list, checked again here) or
                    // starts a new one.
                    drop(subscribers);
                    let mut fanouts = registry.lock();
                    if fanout.subscribers.lock().is_empty() {
                        if fanouts.get(&key).is_some_and(|f| Arc::ptr_eq(f, &fanout)) {
                            fanouts.remove(&key);
                        }
                        return;
                    }
                    continue;
                }
            }
            match op.step(BATCH_SIZE) {
                Ok(Some(batch)) => {
                    // One copy of each row, shared by every subscriber.
                    let rows = pushed_rows(&batch, width, table);
                    let mut subscribers = fanout.subscribers.lock();
                    for s in subscribers.iter_mut() {
                        for row in &rows {
                            if s.cancel.load(Ordering::Acquire) {
                                break;
                            }
                            let Some(tx) = &s.tx else { break };
                            match tx.try_send(Ok(Arc::clone(row))) {
                                Ok(()) => {
                                    s.sent += 1;
                                    if s.limit.is_some_and(|l| s.sent >= l) {
                                        s.reached.store(true, Ordering::Release);
                                        s.cancel.store(true, Ordering::Release);
                                    }
                                }
                                Err(std::sync::mpsc::TrySendError::Full(_)) => {
                                    s.overflow.store(true, Ordering::Release);
                                    s.cancel.store(true, Ordering::Release);
                                }
                                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                                    s.cancel.store(true, Ordering::Release);
                                }
                            }
                        }
                        s.notify.notify_one();
                    }
                }
                Ok(None) => backend.wait_for_topic(&topic, Duration::from_millis(100)),
                Err(e) => {
                    let mut fanouts = registry.lock();
                    if fanouts.get(&key).is_some_and(|f| Arc::ptr_eq(f, &fanout)) {
                        fanouts.remove(&key);
                    }
                    drop(fanouts);
                    for s in fanout.subscribers.lock().drain(..) {
                        if let Some(tx) = &s.tx {
                            let _ = tx.try_send(Err(e.clone()));
                        }
                    }
                    return;
                }
            }
        }
    });
    if let Err(e) = started {
        inner.fanouts.lock().remove(&registered);
        return Err(Error::external(format!("cannot start a push query: {e}")));
    }
    Ok(push)
}

fn spawn_push(
    mut select: Operator,
    backend: SharedBackend,
    source: &Source,
    columns: Vec<ResultColumn>,
    limit: Option<u64>,
) -> Result<PushQuery> {
    let id = push_id(source);
    let (tx, rx) = std::sync::mpsc::sync_channel(PUSH_BUFFER_ROWS);
    let cancel = Arc::new(AtomicBool::new(false));
    let notify = Arc::new(tokio::sync::Notify::new());
    let limit_reached = Arc::new(AtomicBool::new(false));
    let (flag, waker, reached) = (cancel.clone(), notify.clone(), limit_reached.clone());
    let width = columns.len();
    let table = source.kind == SourceKind::Table;
    // An aggregation coalesces the updates of a batch per key; a watcher of a push query
    // expects each update (ksqlDB with its record cache off), so it steps record by record.
    let step = if matches!(select, Operator::Aggregate(_)) { 1 } else { BATCH_SIZE };
    // A query reading one topic sleeps on that topic's signal alone (a join reads two, and a
    // repartitioning aggregation an internal topic too: those wake on any write).
    let wait_topic = matches!(select, Operator::Select(_)).then(|| source.topic.clone());
    std::thread::Builder::new()
        .name("push-query".into())
        .spawn(move || {
            // Wakes an async consumer once more when the thread ends, so that it sees the
            // channel close: declared first, it is dropped last, after `run` has dropped the
            // sender (normally or by unwinding).
            struct WakeOnExit(Arc<tokio::sync::Notify>);
            impl Drop for WakeOnExit {
                fn drop(&mut self) {
                    self.0.notify_one();
                }
            }
            let _wake = WakeOnExit(waker.clone());
            let mut run = move |tx: RowSender| {
                let mut sent: u64 = 0;
                if limit == Some(0) {
                    reached.store(true, Ordering::Release);
                    flag.store(true, Ordering::Release);
                    return;
                }
                while !flag.load(Ordering::Acquire) {
                    match select.step(step) {
                        Ok(Some(batch)) => {
                            for row in pushed_rows(&batch, width, table) {
                                if tx.send(Ok(row)).is_err() {
                                    flag.store(true, Ordering::Release);
                                    return;
                                }
                                waker.notify_one();
                                sent += 1;
                                if limit.is_some_and(|l| sent >= l) {
                                    reached.store(true, Ordering::Release);
                                    flag.store(true, Ordering::Release);
                                    return;
                                }
                            }
                        }
                        Ok(None) => match &wait_topic {
                            Some(topic) => backend.wait_for_topic(topic, Duration::from_millis(100)),
                            None => backend.wait_for_data(Duration::from_millis(100)),
                        },
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            flag.store(true, Ordering::Release);
                            return;
                        }
                    }
                }
            };
            run(tx);
        })
        .map_err(|e| Error::external(format!("cannot start a push query: {e}")))?;
    let overflow = Arc::new(AtomicBool::new(false));
    Ok(PushQuery { id, columns, limit, table, rows: rx, cancel, notify, limit_reached, overflow })
}
