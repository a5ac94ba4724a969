//! A running aggregation: GROUP BY over a stream or a table, optionally windowed.
//!
//! The input is a source's reader or a join's operator ([`AggregateInput`]): a join's rows
//! arrive laid out like a source's (see `plan::join::JoinInput`), a table-table join's as a
//! table keyed by the join key, so everything below treats them alike.
//!
//! Groups are (key, window) pairs. The key columns are encoded once per batch in Arrow's row
//! format; a hash table maps the encoded key plus the window start to a dense group number,
//! which indexes the accumulators (`functions::aggregate`). Each batch updates the groups its
//! rows fall in and then emits one row per changed group (EMIT CHANGES: with one record per
//! batch, as the test runner steps, that is every intermediate update, as ksqlDB emits with
//! caching off; bigger batches coalesce updates to a key, like ksqlDB's record cache), or, with
//! EMIT FINAL, one row per window once stream time passes its end plus the grace period.
//!
//! Stream time is the largest event time seen. A record whose window has closed (end plus
//! grace at or before stream time) is late: it is dropped and counted. Windows are forgotten
//! once their retention has passed. A table source is aggregated with retractions: an update
//! first removes the row's previous value from its previous group (which emits that group),
//! then adds the new one. Session windows merge: sessions a record bridges are replaced by one,
//! and the replaced ones are emitted as tombstones, as Kafka Streams does.
//!
//! The state is written to the query's changelog after each batch (see `state`).

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Int64Array, RecordBatch, UInt32Array};
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use arrow::row::{RowConverter, SortField};

use crate::catalog::ColumnRole;
use crate::error::{Error, Result};
use crate::exec::join::JoinOperator;
use crate::exec::processing_log::ProcessingLog;
use crate::exec::source::{HEADERS_COLUMN, NULL_VALUE_COLUMN, ROWTIME, SourceReader};
use crate::functions::aggregate::{Accumulator, AggregateCall, AggregateConfig, create};
use crate::plan::aggregate::AggregatePlan;
use crate::sql::ast::{SourceKind, WindowKind};
use crate::state::changelog::{self, Changelog, Checkpoint};
use crate::state::snapshot::{SnapshotMeta, Snapshots};
use crate::state::store::{Entry, StateStore, split_windowed_key};
use crate::state::{RestoreStats, restore};

/// The key bytes of a slot in the arena.
fn slot_key<'a>(arena: &'a [u8], slot: &Slot) -> &'a [u8] {
    let at = slot.key_at as usize;
    &arena[at..at + slot.key_len as usize]
}

/// One (key, window) group.
struct Slot {
    /// Where the group's key lives in the key arena: the encoded key columns followed by the
    /// window start (8 bytes, big-endian).
    key_at: u64,
    key_len: u32,
    start: i64,
    end: i64,
    /// Largest event time of the group's rows: the time of its output.
    rowtime: i64,
    live: bool,
    /// Whether the group's last emitted row passed HAVING: a group that stops passing is
    /// deleted from the result (a tombstone); one that never passed emits nothing.
    passed: bool,
}

/// A row to emit for a group.
struct Emit {
    group: usize,
    key: Box<[u8]>,
    start: i64,
    end: i64,
    rowtime: i64,
    tombstone: bool,
}

/// Group keys in Arrow's row format: encoded from a batch, or read back from a repartition
/// topic.
enum Keys {
    Rows(arrow::row::Rows),
    Raw(Vec<crate::topic::Bytes>),
}

impl Keys {
    fn get(&self, row: usize) -> &[u8] {
        match self {
            Keys::Rows(rows) => rows.row(row).data(),
            Keys::Raw(raw) => &raw[row],
        }
    }
}

/// Rows ready to aggregate.
struct Prepared {
    rows: usize,
    /// Which rows count (`None`: all).
    keep: Option<BooleanArray>,
    keys: Keys,
    /// Arguments per aggregate call.
    args: Vec<Vec<ArrayRef>>,
    rowtime: Int64Array,
    /// The rows' headers, when any row has some.
    headers: Option<ArrayRef>,
}

/// The repartition stage of a GROUP BY on something other than a multi-partition stream's
/// key: rows are written keyed by their group, so that each group lives in one partition of
/// an internal topic (and so with one instance, once several share the work), and the
/// aggregation reads them back from there, as Kafka Streams does. Keys and arguments travel in
/// Arrow's row format. The source offsets are committed once the rows are durable in the
/// topic; the aggregation's checkpoint holds its positions in the topic.
pub struct Repartition {
    backend: crate::topic::SharedBackend,
    topic: String,
    positions: Vec<(i32, i64)>,
    next_partition: usize,
    /// Row format of the aggregate arguments, flattened over the calls.
    values: RowConverter,
    /// Arguments per call, to split the flattened columns again.
    arity: Vec<usize>,
}

impl Repartition {
    /// The stage writing and reading `topic` (which must exist), starting at its beginning.
    pub fn new(backend: crate::topic::SharedBackend, topic: String, plan: &AggregatePlan) -> Result<Self> {
        let partitions = backend
            .describe_topic(&topic)?
            .ok_or_else(|| Error::internal(format!("repartition topic {topic} does not exist")))?
            .config
            .partitions;
        let mut positions = Vec::with_capacity(partitions as usize);
        for p in 0..partitions {
            positions.push((p, backend.start_offset(&topic, p)?));
        }
        let fields: Vec<SortField> =
            plan.aggregates.iter().flat_map(|a| a.arg_types.iter().map(|t| SortField::new(t.clone()))).collect();
        Ok(Self {
            backend,
            topic,
            positions,
            next_partition: 0,
            values: RowConverter::new(fields)?,
            arity: plan.aggregates.iter().map(|a| a.args.len()).collect(),
        })
    }

    fn write(&mut self, prepared: &Prepared) -> Result<()> {
        let flat: Vec<ArrayRef> = prepared.args.iter().flatten().cloned().collect();
        let values = if flat.is_empty() { None } else { Some(self.values.convert_columns(&flat)?) };
        // Every key and value of the batch goes into one buffer that the records slice, so
        // the batch costs one allocation rather than two per row.
        let mut buffer = Vec::new();
        let mut spans = Vec::with_capacity(prepared.rows);
        for row in 0..prepared.rows {
            if let Some(keep) = &prepared.keep
                && (!keep.is_valid(row) || !keep.value(row))
            {
                continue;
            }
            let start = buffer.len();
            buffer.extend_from_slice(prepared.keys.get(row));
            let middle = buffer.len();
            if let Some(values) = &values {
                buffer.extend_from_slice(values.row(row).data());
            }
            spans.push((row, start, middle, buffer.len()));
        }
        let buffer = crate::topic::Bytes::from(buffer);
        let records: Vec<crate::topic::ProducerRecord> = spans
            .into_iter()
            .map(|(row, start, middle, end)| crate::topic::ProducerRecord {
                partition: None,
                timestamp: prepared.rowtime.value(row),
                key: Some(buffer.slice(start..middle)),
                value: Some(buffer.slice(middle..end)),
                headers: prepared
                    .headers
                    .as_ref()
                    .and_then(|h| h.as_list_opt::<i32>())
                    .map(|h| crate::exec::sink::row_headers(h, row))
                    .unwrap_or_default(),
            })
            .collect();
        if !records.is_empty() {
            self.backend.produce(&self.topic, records)?;
        }
        Ok(())
    }

    /// Reads up to `max` repartitioned rows.
    fn read(&mut self, max: usize) -> Result<Option<Prepared>> {
        let records = crate::topic::read_round_robin(
            self.backend.as_ref(),
            &self.topic,
            &mut self.positions,
            &mut self.next_partition,
            max,
        )?;
        if records.is_empty() {
            return Ok(None);
        }
        let rowtime: Int64Array = records.iter().map(|r| Some(r.timestamp)).collect();
        let parser = self.values.parser();
        let mut args: Vec<Vec<ArrayRef>> = Vec::with_capacity(self.arity.len());
        if self.arity.iter().any(|&n| n > 0) {
            let rows: Vec<_> = records.iter().map(|r| parser.parse(r.value.as_deref().unwrap_or_default())).collect();
            let mut flat = self.values.convert_rows(rows)?.into_iter();
            for &n in &self.arity {
                args.push(flat.by_ref().take(n).collect());
            }
        } else {
            args.resize(self.arity.len(), Vec::new());
        }
        let headers = if records.iter().any(|r| !r.headers.is_empty()) {
            let refs: Vec<&crate::topic::Record> = records.iter().collect();
            let field = arrow::datatypes::Field::new(HEADERS_COLUMN, crate::exec::source::headers_type(), true);
            Some(crate::exec::source::headers_array(&refs, true, &field)?)
        } else {
            None
        };
        let keys = records.into_iter().map(|r| r.key.unwrap_or_default()).collect();
        Ok(Some(Prepared { rows: rowtime.len(), keep: None, keys: Keys::Raw(keys), args, rowtime, headers }))
    }
}

/// A table source's current row per key: its group and its aggregate arguments, which an
/// update or a delete must retract.
struct TableRow {
    group_key: Box<[u8]>,
    args: Vec<ArrayRef>,
}

/// Next offsets per partition of one topic.
type Positions = Vec<(i32, i64)>;

/// What an aggregation reads: one source, or the rows a join of two produces.
pub enum AggregateInput {
    /// A stream or table read from its topic.
    Source(Box<SourceReader>),
    /// The rows of a join of two sources.
    Join(Box<JoinOperator>),
}

impl AggregateInput {
    /// The next batch of rows to aggregate (`None` when nothing was pending).
    fn poll(&mut self, max: usize) -> Result<Option<RecordBatch>> {
        match self {
            AggregateInput::Source(reader) => reader.poll(max),
            AggregateInput::Join(join) => join.step(max),
        }
    }

    /// The source readers: their positions are what to commit.
    pub fn readers(&self) -> Vec<&SourceReader> {
        match self {
            AggregateInput::Source(reader) => vec![reader],
            AggregateInput::Join(join) => join.readers().to_vec(),
        }
    }

    /// Where the input stands: the source's (or the join's left side's) positions, and the
    /// join's right side's.
    fn positions(&self) -> (Positions, Positions) {
        match self {
            AggregateInput::Source(reader) => (reader.positions().to_vec(), Vec::new()),
            AggregateInput::Join(join) => {
                let [left, right] = join.readers();
                (left.positions().to_vec(), right.positions().to_vec())
            }
        }
    }

    /// Moves the input to where a checkpoint left it.
    fn seek(&mut self, checkpoint: &Checkpoint) {
        match self {
            AggregateInput::Source(reader) => reader.seek(&checkpoint.positions),
            AggregateInput::Join(join) => join.seek(&checkpoint.positions, &checkpoint.right_positions),
        }
    }
}

/// The aggregation operator with its input.
pub struct Aggregator {
    plan: AggregatePlan,
    input: AggregateInput,
    log: ProcessingLog,
    keys: RowConverter,
    /// Group numbers, hashed by their slot's key: the key bytes live only in the slot.
    index: hashbrown::HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    slots: Vec<Slot>,
    /// The groups' keys, back to back: one allocation for all of them instead of one each
    /// (the difference between ~120 and ~240 bytes per group with a million of them). Freed
    /// groups leave holes that [`Aggregator::compact_keys`] squeezes out.
    arena: Vec<u8>,
    /// Bytes of the arena that belong to freed groups.
    arena_garbage: usize,
    free: Vec<usize>,
    accumulators: Vec<Box<dyn Accumulator>>,
    /// Session windows: the groups of each key.
    sessions: HashMap<Box<[u8]>, Vec<usize>>,
    /// Table sources: the current row of each source key.
    table_rows: HashMap<Box<[u8]>, TableRow>,
    source_keys: Option<RowConverter>,
    /// Groups by window end, for retention.
    expiry: BTreeMap<i64, Vec<u32>>,
    /// EMIT FINAL: open windows by end, emitted when they close.
    pending_final: BTreeMap<i64, Vec<u32>>,
    seq: i64,
    stream_time: i64,
    late: u64,
    /// Batch bookkeeping: which groups were touched (to emit once) and changed (to log).
    touched: Vec<u32>,
    epoch: u32,
    emits: Vec<Emit>,
    changed: Vec<usize>,
    deleted: Vec<Box<[u8]>>,
    table_changed: Vec<Box<[u8]>>,
    changelog: Option<Changelog>,
    repartition: Option<Repartition>,
    state_rows: RowConverter,
    table_state_rows: Option<RowConverter>,
    /// What the restore at start found.
    restored: RestoreStats,
    /// All-null HEADERS values, sliced for each output batch: building a null nested array
    /// costs more than the rest of a one-row output (a pull query's key lookup).
    null_headers: Option<ArrayRef>,
    /// The HEADERS of the input batch being applied, when any row has some.
    batch_headers: Option<ArrayRef>,
    /// Per group updated in this batch, the headers of the row that last updated it.
    emit_headers: HashMap<usize, ArrayRef>,
}

/// Splits `min_start..` windows of a hopping or tumbling window containing `ts`.
fn time_windows(kind: WindowKind, ts: i64, out: &mut Vec<(i64, i64)>) {
    out.clear();
    match kind {
        WindowKind::Tumbling { size_ms } => {
            let size = size_ms.max(1) as i64;
            let start = ts - ts.rem_euclid(size);
            out.push((start, start + size));
        }
        WindowKind::Hopping { size_ms, advance_ms } => {
            let (size, advance) = (size_ms.max(1) as i64, advance_ms.max(1) as i64);
            let first = (ts - size + advance).max(0);
            let mut start = first - first.rem_euclid(advance);
            while start <= ts {
                if start + size > ts {
                    out.push((start, start + size));
                }
                start += advance;
            }
        }
        WindowKind::Session { .. } => {}
    }
}

impl Aggregator {
    /// An aggregation reading `input` with empty state, writing its changes to `changelog`
    /// when given. [`Aggregator::restore`] brings back the state of an earlier run.
    pub fn new(
        plan: AggregatePlan,
        input: AggregateInput,
        log: ProcessingLog,
        changelog: Option<Changelog>,
        config: &AggregateConfig,
        repartition: Option<Repartition>,
    ) -> Result<Self> {
        let key_fields: Vec<SortField> = plan
            .agg_schema
            .fields()
            .iter()
            .take(plan.group_by.len())
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let mut accumulators = Vec::with_capacity(plan.aggregates.len());
        for spec in &plan.aggregates {
            accumulators.push(create(
                &AggregateCall { name: &spec.name, args: &spec.arg_types, params: &spec.params },
                config,
            )?);
        }
        let mut state_fields = vec![SortField::new(DataType::Int64), SortField::new(DataType::Int64)];
        state_fields.extend(accumulators.iter().map(|a| SortField::new(a.state_type())));
        let (source_keys, table_state_rows) = if plan.source.kind == SourceKind::Table {
            let fields: Vec<SortField> = plan
                .source
                .columns
                .iter()
                .filter(|c| c.role == ColumnRole::Key)
                .map(|c| SortField::new(c.ty.to_arrow()))
                .collect();
            let mut table_fields = vec![SortField::new(DataType::Binary)];
            for spec in &plan.aggregates {
                table_fields.extend(spec.arg_types.iter().map(|t| SortField::new(t.clone())));
            }
            (Some(RowConverter::new(fields)?), Some(RowConverter::new(table_fields)?))
        } else {
            (None, None)
        };
        Ok(Self {
            input,
            keys: RowConverter::new(key_fields)?,
            plan,
            log,
            index: hashbrown::HashTable::new(),
            arena: Vec::new(),
            arena_garbage: 0,
            hasher: hashbrown::DefaultHashBuilder::default(),
            slots: Vec::new(),
            free: Vec::new(),
            accumulators,
            sessions: HashMap::new(),
            table_rows: HashMap::new(),
            source_keys,
            expiry: BTreeMap::new(),
            pending_final: BTreeMap::new(),
            seq: 0,
            stream_time: i64::MIN,
            late: 0,
            touched: Vec::new(),
            epoch: 0,
            emits: Vec::new(),
            changed: Vec::new(),
            deleted: Vec::new(),
            table_changed: Vec::new(),
            changelog,
            repartition,
            state_rows: RowConverter::new(state_fields)?,
            table_state_rows,
            restored: RestoreStats::default(),
            null_headers: None,
            batch_headers: None,
            emit_headers: HashMap::new(),
        })
    }

    /// Rebuilds the state of an earlier run of query `query_id` from its newest valid local
    /// snapshot (when `snapshots` is given) plus its changelog's tail, and moves the reader to
    /// the offsets that state reflects. Call it once, on a new aggregator.
    pub fn restore(
        &mut self,
        backend: &crate::topic::SharedBackend,
        query_id: &str,
        snapshots: Option<&Snapshots>,
    ) -> Result<RestoreStats> {
        let stats = restore(backend, query_id, snapshots, self)?;
        if let Some(checkpoint) = &stats.checkpoint {
            self.resume(checkpoint);
        }
        // Restoring is not a change: nothing of it goes to the changelog again.
        self.deleted.clear();
        self.changed.clear();
        self.table_changed.clear();
        self.emits.clear();
        self.restored = stats.clone();
        Ok(stats)
    }

    /// Continues from `checkpoint`: the reader's positions, stream time and sequence, and the
    /// EMIT FINAL windows still to close.
    fn resume(&mut self, checkpoint: &Checkpoint) {
        // The checkpoint's positions are where the aggregation reads: the repartition topic
        // when there is one (the source then resumes from its committed offsets).
        match &mut self.repartition {
            Some(r) => {
                for &(partition, offset) in &checkpoint.positions {
                    if let Some(p) = r.positions.iter_mut().find(|p| p.0 == partition) {
                        p.1 = offset;
                    }
                }
            }
            None => self.input.seek(checkpoint),
        }
        self.seq = checkpoint.seq;
        self.stream_time = checkpoint.stream_time;
        if let Some(w) = self.plan.window
            && self.plan.emit_final
        {
            // Windows that had closed were emitted before the checkpoint.
            let close = self.stream_time.saturating_sub(w.grace_ms);
            self.pending_final.retain(|&end, _| end > close);
        }
    }

    /// What the last [`Aggregator::restore`] did.
    pub fn restore_stats(&self) -> &RestoreStats {
        &self.restored
    }

    /// Changelog records written since the aggregation started.
    pub fn changelog_written(&self) -> u64 {
        self.changelog.as_ref().map_or(0, Changelog::written)
    }

    /// Writes a snapshot of the state as of the last checkpoint, which the changelog holds up
    /// to `changelog_offset`. Call it right after [`Aggregator::checkpoint`] and the flush that
    /// made it durable, before the next batch.
    pub fn write_snapshot(&self, snapshots: &Snapshots, changelog_offset: i64) -> Result<SnapshotMeta> {
        snapshots.write(changelog_offset, &self.position(), self)
    }

    /// Where the state stands: the reader's positions, stream time and sequence.
    fn position(&self) -> Checkpoint {
        let (positions, right_positions) = match &self.repartition {
            Some(r) => (r.positions.clone(), Vec::new()),
            None => self.input.positions(),
        };
        Checkpoint { positions, right_positions, stream_time: self.stream_time, seq: self.seq }
    }

    /// The plan.
    pub fn plan(&self) -> &AggregatePlan {
        &self.plan
    }

    /// The source readers (their positions are what to commit).
    pub fn readers(&self) -> Vec<&SourceReader> {
        self.input.readers()
    }

    /// Records dropped because their window had closed.
    pub fn late_records(&self) -> u64 {
        self.late
    }

    /// Number of live groups.
    pub fn group_count(&self) -> usize {
        self.index.len()
    }

    fn find(&self, key: &[u8]) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        let (slots, arena) = (&self.slots, &self.arena);
        self.index.find(hash, |&g| slot_key(arena, &slots[g as usize]) == key).map(|&g| g as usize)
    }

    /// A group's key: encoded key columns, then the window start.
    fn key(&self, g: usize) -> &[u8] {
        slot_key(&self.arena, &self.slots[g])
    }

    /// Rewrites the arena without the keys of freed groups once they are half of it.
    fn compact_keys(&mut self) {
        if self.arena_garbage < 4096 || self.arena_garbage * 2 < self.arena.len() {
            return;
        }
        let mut arena = Vec::with_capacity(self.arena.len() - self.arena_garbage);
        for slot in self.slots.iter_mut().filter(|s| s.live) {
            let at = arena.len();
            arena.extend_from_slice(slot_key(&self.arena, slot));
            slot.key_at = at as u64;
        }
        self.arena = arena;
        self.arena_garbage = 0;
    }

    /// Reads up to `max` records and returns the rows to emit (`None` when nothing was
    /// pending).
    pub fn step(&mut self, max: usize) -> Result<Option<RecordBatch>> {
        if self.repartition.is_none() {
            let Some(batch) = self.input.poll(max)? else {
                return Ok(None);
            };
            return Ok(Some(self.process(&batch)?));
        }
        // Stage one writes the source's rows to the repartition topic; stage two aggregates
        // what the topic holds.
        let mut progressed = false;
        if let Some(batch) = self.input.poll(max)? {
            progressed = true;
            self.process(&batch)?;
        }
        let read = match self.repartition.as_mut() {
            Some(r) => r.read(max)?,
            None => None,
        };
        match read {
            Some(prepared) => {
                self.begin_batch();
                self.apply(prepared)?;
                Ok(Some(self.finish_batch()?))
            }
            None if progressed => Ok(Some(RecordBatch::new_empty(self.plan.output_schema.clone()))),
            None => Ok(None),
        }
    }

    /// A number that grows whenever the query consumes input (source or repartition topic).
    pub fn progress(&self) -> i64 {
        let source: i64 = self.input.readers().iter().flat_map(|r| r.positions()).map(|p| p.1).sum();
        let repartitioned: i64 = self.repartition.as_ref().map_or(0, |r| r.positions.iter().map(|p| p.1).sum());
        source + repartitioned
    }

    /// The current row of every group (to fill a materialized view after a restore).
    pub fn snapshot(&mut self) -> Result<RecordBatch> {
        self.begin_batch();
        for g in 0..self.slots.len() {
            if self.slots[g].live {
                self.emit_group(g, false);
            }
        }
        self.output()
    }

    /// The current row of the group with these key values (one single-row array per GROUP BY
    /// expression), for key lookups of pull queries; `None` for windowed aggregations, whose
    /// groups of one key are found by a scan.
    pub fn lookup(&mut self, key: &[ArrayRef]) -> Result<Option<RecordBatch>> {
        if self.plan.window.is_some() {
            return Ok(None);
        }
        let rows = self.keys.convert_columns(key)?;
        let mut wanted = rows.row(0).data().to_vec();
        wanted.extend_from_slice(&0i64.to_be_bytes());
        self.begin_batch();
        if let Some(g) = self.find(&wanted) {
            self.emit_group(g, false);
        }
        self.output().map(Some)
    }

    /// Emits every window still open, as at the end of input (`rivulet bench`).
    pub fn flush_final(&mut self) -> Result<RecordBatch> {
        self.begin_batch();
        let pending = std::mem::take(&mut self.pending_final);
        for (_, groups) in pending {
            self.emit_window(groups);
        }
        self.finish_batch()
    }

    /// Aggregates one input batch and returns the rows to emit.
    pub fn process(&mut self, batch: &RecordBatch) -> Result<RecordBatch> {
        self.begin_batch();
        match self.update(batch) {
            Ok(()) => {}
            Err(e) if batch.num_rows() > 1 => {
                // Some row's expression failed; redo the batch row by row so that only it is
                // dropped. Rows before it were not applied: `update` evaluates every
                // expression before it touches a group.
                tracing::debug!(error = %e, "batch failed; retrying row by row");
                for row in 0..batch.num_rows() {
                    if let Err(e) = self.update(&batch.slice(row, 1)) {
                        self.log_row(&batch.slice(row, 1), &e);
                    }
                }
            }
            Err(e) => self.log_row(batch, &e),
        }
        self.finish_batch()
    }

    /// Remembers the headers of the row that updated group `g`, if the input has headers.
    fn note_headers(&mut self, g: usize, row: usize) {
        if let Some(headers) = &self.batch_headers {
            self.emit_headers.insert(g, headers.slice(row, 1));
        }
    }

    fn begin_batch(&mut self) {
        self.batch_headers = None;
        self.emit_headers.clear();
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // The epoch wrapped: forget which groups were touched in earlier batches.
            self.touched.iter_mut().for_each(|t| *t = u32::MAX);
        }
        self.emits.clear();
    }

    /// Emits the groups of one closed window, ordered by key as Kafka Streams' suppression
    /// buffer orders them.
    fn emit_window(&mut self, mut groups: Vec<u32>) {
        groups.retain(|&g| self.slots[g as usize].live);
        groups.sort_by(|&a, &b| self.key(a as usize).cmp(self.key(b as usize)));
        for g in groups {
            self.emit_group(g as usize, false);
        }
    }

    fn log_row(&self, batch: &RecordBatch, error: &Error) {
        let (partition, offset) = crate::exec::row_position(batch);
        self.log.row_error(&self.plan.source.topic, partition, offset, &format!("error evaluating the query: {error}"));
    }

    /// Applies a batch to the groups, recording what to emit.
    fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.plan.source.kind == SourceKind::Table {
            return self.update_table(batch);
        }
        let prepared = self.prepare(batch)?;
        match &mut self.repartition {
            Some(repartition) => repartition.write(&prepared),
            None => self.apply(prepared),
        }
    }

    /// Evaluates WHERE, the group keys and the aggregate arguments of a stream batch.
    fn prepare(&self, batch: &RecordBatch) -> Result<Prepared> {
        // Streams drop null values before aggregating, as ksqlDB does.
        let nulls = batch
            .column_by_name(NULL_VALUE_COLUMN)
            .ok_or_else(|| Error::internal("input batch has no null-value flag"))?
            .as_boolean();
        let mut keep: BooleanArray = if nulls.true_count() > 0 {
            arrow::compute::not(nulls)?
        } else {
            BooleanArray::from(vec![true; batch.num_rows()])
        };
        if let Some(filter) = &self.plan.filter {
            let mask = filter.evaluate(batch)?.into_array(batch.num_rows())?;
            let mask = mask.as_boolean_opt().ok_or_else(|| Error::user("WHERE must be a BOOLEAN expression"))?;
            keep = arrow::compute::and_kleene(&keep, mask)?;
        }
        let mut key_arrays = Vec::with_capacity(self.plan.group_by.len());
        for expr in &self.plan.group_by {
            key_arrays.push(expr.evaluate(batch)?.into_array(batch.num_rows())?);
        }
        // A row with a null grouping value has no group: ksqlDB drops it.
        for array in &key_arrays {
            if array.null_count() > 0 {
                keep = arrow::compute::and(&keep, &arrow::compute::is_not_null(array)?)?;
            }
        }
        let mut args = Vec::with_capacity(self.plan.aggregates.len());
        for spec in &self.plan.aggregates {
            let mut evaluated = Vec::with_capacity(spec.args.len());
            for a in &spec.args {
                evaluated.push(a.evaluate(batch)?.into_array(batch.num_rows())?);
            }
            args.push(evaluated);
        }
        let rowtime = batch
            .column_by_name(ROWTIME)
            .and_then(|a| a.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| Error::internal("input batch has no BIGINT ROWTIME"))?
            .clone();
        let key_rows = self.keys.convert_columns(&key_arrays)?;
        let headers = batch
            .column_by_name(HEADERS_COLUMN)
            .filter(|h| h.as_list_opt::<i32>().is_some_and(crate::exec::sink::any_headers))
            .cloned();
        Ok(Prepared { rows: batch.num_rows(), keep: Some(keep), keys: Keys::Rows(key_rows), args, rowtime, headers })
    }

    /// Aggregates prepared rows.
    fn apply(&mut self, prepared: Prepared) -> Result<()> {
        let Prepared { rows: count, keep, keys: key_rows, args, rowtime, headers } = prepared;
        self.batch_headers = headers;

        let mut groups: Vec<usize> = Vec::with_capacity(count);
        let mut rows: Vec<u32> = Vec::with_capacity(count);
        let mut windows = Vec::new();
        let mut lookup = Vec::new();
        let window = self.plan.window;
        for row in 0..count {
            if let Some(keep) = &keep
                && (!keep.is_valid(row) || !keep.value(row))
            {
                continue;
            }
            let ts = rowtime.value(row);
            self.stream_time = self.stream_time.max(ts);
            let key_row = key_rows.get(row);
            match window {
                None => {
                    let g = self.group_for(key_row, 0, 0, &mut lookup);
                    self.slots[g].rowtime = self.slots[g].rowtime.max(ts);
                    self.note_headers(g, row);
                    self.touch(g);
                    groups.push(g);
                    rows.push(row as u32);
                }
                Some(w) if matches!(w.kind, WindowKind::Session { .. }) => {
                    // Sessions merge groups, which must see the rows before this one.
                    self.flush_updates(&mut groups, &mut rows, &args)?;
                    self.session_row(key_row, ts, row, &args)?;
                }
                Some(w) => {
                    time_windows(w.kind, ts, &mut windows);
                    let close = self.stream_time.saturating_sub(w.grace_ms);
                    for &(start, end) in &windows {
                        if end <= close {
                            self.late += 1;
                            continue;
                        }
                        let g = self.group_for(key_row, start, end, &mut lookup);
                        self.slots[g].rowtime = self.slots[g].rowtime.max(ts);
                        self.note_headers(g, row);
                        self.touch(g);
                        groups.push(g);
                        rows.push(row as u32);
                    }
                }
            }
        }
        self.flush_updates(&mut groups, &mut rows, &args)?;
        self.seq += count as i64;
        Ok(())
    }

    /// Applies the collected (group, row) updates to the accumulators.
    fn flush_updates(&mut self, groups: &mut Vec<usize>, rows: &mut Vec<u32>, args: &[Vec<ArrayRef>]) -> Result<()> {
        if groups.is_empty() {
            return Ok(());
        }
        let identity = rows.len() == args.first().and_then(|a| a.first()).map_or(usize::MAX, |a| a.len())
            && rows.iter().enumerate().all(|(i, &r)| i as u32 == r);
        let indices = UInt32Array::from(std::mem::take(rows));
        let seq: Vec<i64> = indices.values().iter().map(|&r| self.seq + r as i64).collect();
        for (acc, arrays) in self.accumulators.iter_mut().zip(args) {
            let taken: Vec<ArrayRef> = if identity {
                arrays.clone()
            } else {
                arrays.iter().map(|a| arrow::compute::take(a, &indices, None)).collect::<std::result::Result<_, _>>()?
            };
            acc.update(groups, &taken, &seq, false)?;
        }
        groups.clear();
        Ok(())
    }

    /// A session-windowed row: merge the sessions it bridges, then add it.
    fn session_row(&mut self, key_row: &[u8], ts: i64, row: usize, args: &[Vec<ArrayRef>]) -> Result<()> {
        let Some(w) = self.plan.window else { return Ok(()) };
        let WindowKind::Session { gap_ms } = w.kind else { return Ok(()) };
        let gap = gap_ms as i64;
        let found: Vec<usize> = self
            .sessions
            .get(key_row)
            .map(|groups| {
                groups
                    .iter()
                    .copied()
                    .filter(|&g| self.slots[g].end >= ts - gap && self.slots[g].start <= ts + gap)
                    .collect()
            })
            .unwrap_or_default();
        let (mut start, mut end, mut rowtime) = (ts, ts, ts);
        for &g in &found {
            start = start.min(self.slots[g].start);
            end = end.max(self.slots[g].end);
            rowtime = rowtime.max(self.slots[g].rowtime);
        }
        if end < self.stream_time.saturating_sub(w.grace_ms) {
            self.late += 1;
            return Ok(());
        }
        let mut lookup = Vec::new();
        let target = if (start, end) == (ts, ts) && found.len() == 1 {
            found[0]
        } else {
            // Every merged session is replaced: emit its removal, fold its state into a new
            // group.
            let mut old_states = Vec::with_capacity(found.len());
            for &g in &found {
                self.emits.push(Emit {
                    group: g,
                    key: self.key(g).into(),
                    start: self.slots[g].start,
                    end: self.slots[g].end,
                    rowtime: self.slots[g].rowtime,
                    tombstone: true,
                });
                old_states.push(g);
            }
            // The new group must not reuse a merged group's number before its state moved.
            let target = self.new_group(key_row, start, end, &mut lookup);
            for g in old_states {
                for acc in &mut self.accumulators {
                    acc.merge(target, g)?;
                }
                self.free_group(g);
            }
            target
        };
        self.slots[target].rowtime = rowtime;
        self.note_headers(target, row);
        let indices = UInt32Array::from(vec![row as u32]);
        for (acc, arrays) in self.accumulators.iter_mut().zip(args) {
            let taken: Vec<ArrayRef> = arrays
                .iter()
                .map(|a| arrow::compute::take(a, &indices, None))
                .collect::<std::result::Result<_, _>>()?;
            acc.update(&[target], &taken, &[self.seq + row as i64], false)?;
        }
        self.touch(target);
        Ok(())
    }

    /// A table source: each row replaces the previous row of its key.
    fn update_table(&mut self, batch: &RecordBatch) -> Result<()> {
        let source_keys = self.source_keys.as_ref().ok_or_else(|| Error::internal("table aggregation without keys"))?;
        let key_columns: Vec<ArrayRef> = self
            .plan
            .source
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.role == ColumnRole::Key)
            .map(|(i, _)| batch.column(i).clone())
            .collect();
        let source_rows = source_keys.convert_columns(&key_columns)?;
        // A tombstone, a row WHERE rejects and a row without a group only retract.
        let Prepared { keep, keys: key_rows, args, rowtime, headers, .. } = self.prepare(batch)?;
        self.batch_headers = headers;
        let keep = keep.ok_or_else(|| Error::internal("prepared table rows without a mask"))?;
        let mut lookup = Vec::new();
        for row in 0..batch.num_rows() {
            // A record without a key is not a row of the table.
            if key_columns.iter().all(|k| k.is_null(row)) {
                continue;
            }
            let ts = rowtime.value(row);
            self.stream_time = self.stream_time.max(ts);
            let source_key: Box<[u8]> = source_rows.row(row).as_ref().into();
            if let Some(old) = self.table_rows.remove(&source_key)
                && let Some(g) = self.find(&old.group_key)
            {
                for (acc, old_args) in self.accumulators.iter_mut().zip(&old.args_by_call(&self.plan)) {
                    acc.update(&[g], old_args, &[self.seq + row as i64], true)?;
                }
                self.slots[g].rowtime = self.slots[g].rowtime.max(ts);
                self.note_headers(g, row);
                self.touch(g);
                self.table_changed.push(source_key.clone());
            }
            if keep.is_valid(row) && keep.value(row) {
                let g = self.group_for(key_rows.get(row), 0, 0, &mut lookup);
                let mut row_args = Vec::new();
                for (acc, arrays) in self.accumulators.iter_mut().zip(&args) {
                    let one: Vec<ArrayRef> = arrays
                        .iter()
                        .map(|a| arrow::compute::concat(&[a.slice(row, 1).as_ref()]))
                        .collect::<std::result::Result<_, _>>()?;
                    acc.update(&[g], &one, &[self.seq + row as i64], false)?;
                    row_args.extend(one);
                }
                self.slots[g].rowtime = self.slots[g].rowtime.max(ts);
                self.note_headers(g, row);
                self.touch(g);
                self.table_rows.insert(source_key.clone(), TableRow { group_key: self.key(g).into(), args: row_args });
                self.table_changed.push(source_key);
            }
        }
        self.seq += batch.num_rows() as i64;
        Ok(())
    }

    /// The group of (key, window start), created when new.
    fn group_for(&mut self, key_row: &[u8], start: i64, end: i64, lookup: &mut Vec<u8>) -> usize {
        lookup.clear();
        lookup.extend_from_slice(key_row);
        lookup.extend_from_slice(&start.to_be_bytes());
        if let Some(g) = self.find(lookup) {
            return g;
        }
        self.new_group(key_row, start, end, lookup)
    }

    fn new_group(&mut self, key_row: &[u8], start: i64, end: i64, lookup: &mut Vec<u8>) -> usize {
        lookup.clear();
        lookup.extend_from_slice(key_row);
        lookup.extend_from_slice(&start.to_be_bytes());
        let hash = self.hasher.hash_one(lookup.as_slice());
        let key_at = self.arena.len() as u64;
        self.arena.extend_from_slice(lookup);
        let slot =
            Slot { key_at, key_len: lookup.len() as u32, start, end, rowtime: i64::MIN, live: true, passed: false };
        let g = match self.free.pop() {
            Some(g) => {
                self.slots[g] = slot;
                g
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        let (slots, hasher, arena) = (&self.slots, &self.hasher, &self.arena);
        self.index.insert_unique(hash, g as u32, |&x| hasher.hash_one(slot_key(arena, &slots[x as usize])));
        if let Some(w) = self.plan.window {
            self.expiry.entry(end).or_default().push(g as u32);
            if matches!(w.kind, WindowKind::Session { .. }) {
                self.sessions.entry(key_row.into()).or_default().push(g);
            }
            if self.plan.emit_final {
                self.pending_final.entry(end).or_default().push(g as u32);
            }
        }
        g
    }

    /// Forgets a group: its window expired or it was merged into another session.
    fn free_group(&mut self, g: usize) {
        if !self.slots[g].live {
            return;
        }
        self.slots[g].live = false;
        let key: Box<[u8]> = self.key(g).into();
        self.arena_garbage += key.len();
        let end = self.slots[g].end;
        let hash = self.hasher.hash_one(&*key);
        if let Ok(entry) = self.index.find_entry(hash, |&x| x as usize == g) {
            entry.remove();
        }
        for map in [&mut self.expiry, &mut self.pending_final] {
            if let Some(groups) = map.get_mut(&end) {
                groups.retain(|&x| x as usize != g);
                if groups.is_empty() {
                    map.remove(&end);
                }
            }
        }
        let key_row: Box<[u8]> = key[..key.len() - 8].into();
        if let Some(groups) = self.sessions.get_mut(&key_row) {
            groups.retain(|&x| x != g);
            if groups.is_empty() {
                self.sessions.remove(&key_row);
            }
        }
        for acc in &mut self.accumulators {
            acc.reset(g);
        }
        self.deleted.push(key);
        self.free.push(g);
    }

    fn touch(&mut self, g: usize) {
        if self.touched.len() <= g {
            self.touched.resize(g + 1, self.epoch.wrapping_sub(1));
        }
        if self.touched[g] != self.epoch {
            self.touched[g] = self.epoch;
            self.changed.push(g);
            if !self.plan.emit_final {
                self.emit_group(g, false);
            }
        }
    }

    fn emit_group(&mut self, g: usize, tombstone: bool) {
        let slot = &self.slots[g];
        self.emits.push(Emit {
            group: g,
            key: slot_key(&self.arena, slot).into(),
            start: slot.start,
            end: slot.end,
            rowtime: slot.rowtime,
            tombstone,
        });
    }

    /// Closes windows (EMIT FINAL), expires old ones and builds the output batch.
    fn finish_batch(&mut self) -> Result<RecordBatch> {
        if let Some(w) = self.plan.window {
            if self.plan.emit_final {
                let close = self.stream_time.saturating_sub(w.grace_ms);
                while let Some((&end, _)) = self.pending_final.first_key_value() {
                    if end > close {
                        break;
                    }
                    if let Some((_, groups)) = self.pending_final.pop_first() {
                        self.emit_window(groups);
                    }
                }
            }
            let horizon = self.stream_time.saturating_sub(w.retention_ms);
            while let Some((&end, _)) = self.expiry.first_key_value() {
                if end >= horizon {
                    break;
                }
                if let Some((_, groups)) = self.expiry.pop_first() {
                    for g in groups {
                        self.free_group(g as usize);
                    }
                }
            }
        }
        self.compact_keys();
        self.output()
    }

    /// The rows of this batch's emissions: HAVING and the projection over the groups' rows.
    /// `n` null values for the HEADERS column at `index` of the output schema.
    fn null_headers(&mut self, index: usize, n: usize) -> ArrayRef {
        match &self.null_headers {
            Some(nulls) if nulls.len() >= n => nulls.slice(0, n),
            _ => {
                let ty = self.plan.output_schema.field(index).data_type();
                let nulls = arrow::array::new_null_array(ty, n.max(1024));
                self.null_headers = Some(nulls.clone());
                nulls.slice(0, n)
            }
        }
    }

    fn output(&mut self) -> Result<RecordBatch> {
        let emits = std::mem::take(&mut self.emits);
        let n = emits.len();
        let parser = self.keys.parser();
        let key_rows: Vec<_> = emits.iter().map(|e| parser.parse(&e.key[..e.key.len() - 8])).collect();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.plan.agg_schema.fields().len());
        if !self.plan.group_by.is_empty() {
            columns.extend(self.keys.convert_rows(key_rows)?);
        }
        let starts: ArrayRef = Arc::new(emits.iter().map(|e| e.start).collect::<Int64Array>());
        let ends: ArrayRef = Arc::new(emits.iter().map(|e| e.end).collect::<Int64Array>());
        if self.plan.window.is_some() {
            columns.push(starts.clone());
            columns.push(ends.clone());
        }
        let groups: Vec<usize> = emits.iter().map(|e| e.group).collect();
        for acc in &self.accumulators {
            columns.push(acc.evaluate(&groups)?);
        }
        columns.push(Arc::new(emits.iter().map(|e| e.rowtime).collect::<Int64Array>()));
        let rows = RecordBatch::try_new(self.plan.agg_schema.clone(), columns)?;
        let mut tombstones: Vec<bool> = emits.iter().map(|e| e.tombstone).collect();
        let mut keep = vec![true; n];
        if let Some(having) = &self.plan.having
            && n > 0
        {
            let mask = having.evaluate(&rows)?.into_array(n)?;
            let mask = mask.as_boolean_opt().ok_or_else(|| Error::user("HAVING must be a BOOLEAN expression"))?;
            for (i, e) in emits.iter().enumerate() {
                if e.tombstone {
                    continue;
                }
                let passes = mask.is_valid(i) && mask.value(i);
                let slot = &mut self.slots[e.group];
                if passes {
                    slot.passed = true;
                } else if slot.passed {
                    slot.passed = false;
                    tombstones[i] = true;
                } else {
                    keep[i] = false;
                }
            }
        }
        let tombstone = BooleanArray::from(tombstones);
        let mut out: Vec<ArrayRef> = Vec::with_capacity(self.plan.output_schema.fields().len());
        for expr in &self.plan.projection {
            out.push(expr.evaluate(&rows)?.into_array(n)?);
        }
        out.push(rows.column(rows.num_columns() - 1).clone());
        let headers = if self.emit_headers.is_empty() {
            self.null_headers(out.len(), n)
        } else {
            // Each update carries the headers of the record that made it (none for a window
            // closed or a session merged away without one).
            let none = self.null_headers(out.len(), 1);
            let parts: Vec<&dyn Array> =
                emits.iter().map(|e| self.emit_headers.get(&e.group).unwrap_or(&none).as_ref()).collect();
            arrow::compute::concat(&parts)?
        };
        out.push(headers);
        out.push(Arc::new(tombstone));
        let mut batch = crate::exec::conform(&self.plan.output_schema, out)?;
        if self.plan.window.is_some() {
            batch = with_window_columns(batch, starts, ends)?;
        }
        if keep.contains(&false) {
            batch = arrow::compute::filter_record_batch(&batch, &BooleanArray::from(keep))?;
        }
        Ok(batch)
    }

    /// The changelog values of `groups`: window end, rowtime, then each accumulator's state,
    /// in Arrow's row format.
    fn state_rows_of(&self, groups: &[usize]) -> Result<arrow::row::Rows> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(groups.iter().map(|&g| self.slots[g].end).collect::<Int64Array>()),
            Arc::new(groups.iter().map(|&g| self.slots[g].rowtime).collect::<Int64Array>()),
        ];
        for acc in &self.accumulators {
            columns.push(acc.state(groups)?);
        }
        Ok(self.state_rows.convert_columns(&columns)?)
    }

    /// Writes the changes since the last checkpoint, then a checkpoint at the reader's
    /// positions. The caller flushes before committing anything.
    pub fn checkpoint(&mut self) -> Result<()> {
        if self.changelog.is_none() {
            self.changed.clear();
            self.deleted.clear();
            self.table_changed.clear();
            return Ok(());
        }
        // A deleted key may belong to a live group again (a window re-created after expiry).
        let deleted: Vec<Box<[u8]>> =
            std::mem::take(&mut self.deleted).into_iter().filter(|k| self.find(k).is_none()).collect();
        let mut live: Vec<usize> = self.changed.drain(..).filter(|&g| self.slots[g].live).collect();
        live.sort_unstable();
        live.dedup();
        let rows = if live.is_empty() { None } else { Some(self.state_rows_of(&live)?) };
        let Some(changelog) = self.changelog.as_mut() else { return Ok(()) };
        if let Some(rows) = rows {
            for (i, &g) in live.iter().enumerate() {
                changelog.put(
                    changelog::GROUP,
                    slot_key(&self.arena, &self.slots[g]),
                    Some(rows.row(i).as_ref().to_vec()),
                );
            }
        }
        for key in deleted {
            changelog.put(changelog::GROUP, &key, None);
        }
        if let Some(converter) = &self.table_state_rows {
            let mut keys: Vec<Box<[u8]>> = std::mem::take(&mut self.table_changed);
            keys.sort();
            keys.dedup();
            for key in keys {
                match self.table_rows.get(&key) {
                    Some(row) => changelog.put(changelog::TABLE_ROW, &key, Some(table_row(converter, row)?)),
                    None => changelog.put(changelog::TABLE_ROW, &key, None),
                }
            }
        }
        let position = self.position();
        let Some(changelog) = self.changelog.as_mut() else { return Ok(()) };
        changelog.checkpoint(&position)
    }
}

/// The aggregation is the state store of its query: its groups (and a table source's rows)
/// are the entries of its changelog and snapshots, encoded on the way out and decoded straight
/// into the accumulators on the way in.
impl StateStore for Aggregator {
    fn entry_count(&self) -> usize {
        self.index.len() + self.table_rows.len()
    }

    fn scan(&self, chunk: usize, sink: &mut dyn FnMut(&[Entry]) -> Result<()>) -> Result<()> {
        let chunk = chunk.max(1);
        let mut groups: Vec<usize> = Vec::with_capacity(chunk.min(self.slots.len()));
        let mut entries: Vec<Entry> = Vec::with_capacity(chunk.min(self.entry_count()));
        let mut g = 0;
        while g < self.slots.len() {
            groups.clear();
            while g < self.slots.len() && groups.len() < chunk {
                if self.slots[g].live {
                    groups.push(g);
                }
                g += 1;
            }
            if groups.is_empty() {
                continue;
            }
            let rows = self.state_rows_of(&groups)?;
            entries.clear();
            entries.extend(groups.iter().enumerate().map(|(i, &g)| Entry {
                tag: changelog::GROUP,
                key: self.key(g).to_vec(),
                value: Some(rows.row(i).as_ref().to_vec()),
            }));
            sink(&entries)?;
        }
        if let Some(converter) = &self.table_state_rows {
            entries.clear();
            for (key, row) in &self.table_rows {
                entries.push(Entry {
                    tag: changelog::TABLE_ROW,
                    key: key.to_vec(),
                    value: Some(table_row(converter, row)?),
                });
                if entries.len() >= chunk {
                    sink(&entries)?;
                    entries.clear();
                }
            }
            if !entries.is_empty() {
                sink(&entries)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, entries: Vec<Entry>) -> Result<()> {
        let mut puts: Vec<Entry> = Vec::new();
        let mut table: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for entry in entries {
            match (entry.tag, entry.value) {
                (changelog::GROUP, None) => {
                    if let Some(g) = self.find(&entry.key) {
                        self.free_group(g);
                    }
                }
                (changelog::GROUP, Some(value)) => puts.push(Entry { value: Some(value), ..entry }),
                (changelog::TABLE_ROW, None) => {
                    self.table_rows.remove(entry.key.as_slice());
                }
                (changelog::TABLE_ROW, Some(value)) => table.push((entry.key, value)),
                _ => {}
            }
        }
        if !puts.is_empty() {
            let parser = self.state_rows.parser();
            let rows: Vec<_> = puts.iter().map(|e| parser.parse(e.value.as_deref().unwrap_or_default())).collect();
            let columns = self.state_rows.convert_rows(rows)?;
            let ends = columns[0].as_primitive::<Int64Type>();
            let rowtimes = columns[1].as_primitive::<Int64Type>();
            let mut lookup = Vec::new();
            let mut groups = Vec::with_capacity(puts.len());
            for (i, entry) in puts.iter().enumerate() {
                let (key_row, start) = split_windowed_key(&entry.key)
                    .ok_or_else(|| Error::internal("a changelog group key without its window start"))?;
                let end = ends.value(i);
                let g = match self.find(&entry.key) {
                    // The accumulators' restore below overwrites the group's state.
                    Some(g) if self.slots[g].end == end => g,
                    // A session that grew: its end, by which it expires, moved.
                    Some(g) => {
                        self.free_group(g);
                        self.new_group(key_row, start, end, &mut lookup)
                    }
                    None => self.new_group(key_row, start, end, &mut lookup),
                };
                self.slots[g].rowtime = rowtimes.value(i);
                // Unknown after a restore; a tombstone too many is harmless, one too few is not.
                self.slots[g].passed = true;
                groups.push(g);
            }
            for (acc, column) in self.accumulators.iter_mut().zip(&columns[2..]) {
                acc.restore(&groups, column)?;
            }
        }
        if let Some(converter) = &self.table_state_rows
            && !table.is_empty()
        {
            let parser = converter.parser();
            let rows: Vec<_> = table.iter().map(|(_, v)| parser.parse(v)).collect();
            let columns = converter.convert_rows(rows)?;
            let group_keys = columns[0].as_binary::<i32>();
            for (i, (key, _)) in table.iter().enumerate() {
                let args: Vec<ArrayRef> = columns[1..].iter().map(|c| c.slice(i, 1)).collect();
                // Copies, so that a row does not keep the whole chunk's arrays alive.
                let args = args
                    .iter()
                    .map(|a| arrow::compute::concat(&[a.as_ref()]))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                self.table_rows.insert(key.as_slice().into(), TableRow { group_key: group_keys.value(i).into(), args });
            }
        }
        Ok(())
    }
}

/// A table source row's changelog value: its group's key and its aggregate arguments.
fn table_row(converter: &RowConverter, row: &TableRow) -> Result<Vec<u8>> {
    let mut columns: Vec<ArrayRef> = vec![Arc::new(BinaryArray::from(vec![&row.group_key[..]]))];
    columns.extend(row.args.iter().cloned());
    let rows = converter.convert_columns(&columns)?;
    Ok(rows.row(0).as_ref().to_vec())
}

impl TableRow {
    /// The stored arguments split per aggregate call.
    fn args_by_call(&self, plan: &AggregatePlan) -> Vec<Vec<ArrayRef>> {
        let mut out = Vec::with_capacity(plan.aggregates.len());
        let mut at = 0;
        for spec in &plan.aggregates {
            let n = spec.args.len();
            out.push(self.args[at..(at + n).min(self.args.len())].to_vec());
            at += n;
        }
        out
    }
}

/// Appends the hidden window start and end columns windowed sinks read.
pub fn with_window_columns(batch: RecordBatch, starts: ArrayRef, ends: ArrayRef) -> Result<RecordBatch> {
    let mut fields: Vec<arrow::datatypes::FieldRef> = batch.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(arrow::datatypes::Field::new(WINDOW_START_COLUMN, DataType::Int64, false)));
    fields.push(Arc::new(arrow::datatypes::Field::new(WINDOW_END_COLUMN, DataType::Int64, false)));
    let mut columns = batch.columns().to_vec();
    columns.push(starts);
    columns.push(ends);
    let schema: SchemaRef = Arc::new(arrow::datatypes::Schema::new(fields));
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Hidden columns of a windowed output batch: the window of each row.
pub const WINDOW_START_COLUMN: &str = "__window_start";
/// See [`WINDOW_START_COLUMN`].
pub const WINDOW_END_COLUMN: &str = "__window_end";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tumbling_and_hopping_windows() {
        let mut out = Vec::new();
        time_windows(WindowKind::Tumbling { size_ms: 10 }, 25, &mut out);
        assert_eq!(out, vec![(20, 30)]);
        time_windows(WindowKind::Tumbling { size_ms: 10 }, -5, &mut out);
        assert_eq!(out, vec![(-10, 0)]);
        time_windows(WindowKind::Hopping { size_ms: 10, advance_ms: 5 }, 12, &mut out);
        assert_eq!(out, vec![(5, 15), (10, 20)]);
        time_windows(WindowKind::Hopping { size_ms: 10, advance_ms: 5 }, 3, &mut out);
        assert_eq!(out, vec![(0, 10)]);
    }
}
