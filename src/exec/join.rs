//! The join operator: two sources read side by side, state per join key, joined rows out.
//!
//! [`JoinOperator`] reads both sides of a [`JoinPlan`], evaluates each side's half of the
//! criterion on its batches, and keeps per side the state the shape needs:
//!
//! - **stream-stream**: a window store per side (rows by join key, each with its time), and for
//!   outer joins with an explicit GRACE PERIOD a store of not-yet-joined rows. The semantics
//!   are Kafka Streams 3.x's `KStreamKStreamJoin`, which ksqlDB's tests pin down: a record is
//!   first put in its own side's store (dropped when its segment has expired), then joined with
//!   the other side's rows within `[t - before, t + after]` (only rows newer than that store's
//!   stream time minus its retention), each result at the later of the two times. An outer
//!   side's record that found nothing is emitted null-padded at once without GRACE PERIOD
//!   (ksqlDB's legacy windows); with one it waits until its window has closed, unless it is
//!   already late, and leaves the waiting store when a match arrives.
//! - **stream-table**: the table side's current row per primary key; a stream record joins the
//!   row current when it is processed (LEFT pads with nulls).
//! - **table-table**: both sides' current rows; every change emits the updated join row or a
//!   tombstone, as Kafka Streams' KTable-KTable joins do without a cache.
//!
//! Re-keying: a side joined on something other than its key is keyed here by the evaluated
//! expression. ksqlDB repartitions such a side through an internal topic so that several
//! instances see matching keys; one Rivulet process reads every partition of both topics, so
//! the in-memory keying is equivalent and no repartition topic is written.
//!
//! State: the stores live in memory. A table side is rebuilt on start by reading its topic from
//! the beginning (the topic is the table's changelog). The window stores of stream-stream joins
//! are not checkpointed: after a restart, records read before it no longer join with later
//! ones. Output timestamps and ordering follow one-record-at-a-time processing; with larger
//! batches the table side of a stream-table join is read before the stream side.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, new_null_array};
use arrow::datatypes::{Int64Type, SchemaRef};
use arrow::row::{RowConverter, SortField};

use crate::error::{Error, Result};
use crate::exec::processing_log::ProcessingLog;
use crate::exec::source::{HEADERS_COLUMN, NULL_VALUE_COLUMN, ROWTIME, SourceReader};
use crate::plan::join::{JoinPlan, JoinShape};
use crate::sql::ast::JoinKind;

/// Kafka Streams' smallest window-store segment.
const MIN_SEGMENT_MS: i64 = 60_000;

/// One buffered row of a side: its columns in the joined layout, its time and key.
#[derive(Clone)]
struct Stored {
    ts: i64,
    row: RecordBatch,
    key: ArrayRef,
}

/// A side's window store: rows by join key in time order.
struct WindowStore {
    rows: HashMap<Vec<u8>, Vec<Stored>>,
    /// The largest time put (the store's own stream time).
    observed: i64,
    retention: i64,
    segment_ms: i64,
    puts: u64,
}

impl WindowStore {
    fn new(retention: i64) -> Self {
        Self {
            rows: HashMap::new(),
            observed: i64::MIN,
            retention,
            segment_ms: (retention / 2).max(MIN_SEGMENT_MS),
            puts: 0,
        }
    }

    /// Puts a row unless its segment has already expired, as a segmented store does.
    fn put(&mut self, key: &[u8], stored: Stored) {
        self.observed = self.observed.max(stored.ts);
        let min_live = self.observed.saturating_sub(self.retention);
        if stored.ts / self.segment_ms < min_live / self.segment_ms {
            return;
        }
        let rows = self.rows.entry(key.to_vec()).or_default();
        let at = rows.partition_point(|r| r.ts <= stored.ts);
        rows.insert(at, stored);
        self.puts += 1;
        if self.puts.is_multiple_of(1024) {
            // Drop what no fetch can return any more.
            let horizon = self.observed.saturating_sub(self.retention);
            self.rows.retain(|_, rows| {
                rows.retain(|r| r.ts > horizon);
                !rows.is_empty()
            });
        }
    }

    /// Rows of `key` with time in `[from, to]` that have not expired.
    fn fetch(&self, key: &[u8], from: i64, to: i64) -> Vec<Stored> {
        let from = from.max(self.observed.saturating_sub(self.retention).saturating_add(1));
        self.rows
            .get(key)
            .map(|rows| rows.iter().filter(|r| r.ts >= from && r.ts <= to).cloned().collect())
            .unwrap_or_default()
    }
}

/// A row to emit: a left and a right row (either may be missing), the key, the time.
struct Pending {
    left: Option<RecordBatch>,
    right: Option<RecordBatch>,
    key: ArrayRef,
    ts: i64,
    headers: ArrayRef,
    tombstone: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Left,
    Right,
}

/// The state of one join.
enum JoinState {
    Windowed {
        left: WindowStore,
        right: WindowStore,
        /// Outer rows waiting for their window to close, ordered as Kafka Streams orders them:
        /// by time, right side before left, then key.
        waiting: BTreeMap<(i64, bool, Vec<u8>, u64), Stored>,
        sequence: u64,
        stream_time: i64,
    },
    Tables {
        left: HashMap<Vec<u8>, Stored>,
        right: HashMap<Vec<u8>, Stored>,
    },
}

/// A running join over two sources.
pub struct JoinOperator {
    plan: JoinPlan,
    left: SourceReader,
    right: SourceReader,
    log: ProcessingLog,
    converter: RowConverter,
    state: JoinState,
    left_nulls: RecordBatch,
    right_nulls: RecordBatch,
    /// Keys of a filtered table result that are currently in it: a row failing WHERE is a
    /// tombstone only when it removes one (Kafka Streams' table filter forwards nothing when
    /// both the old and the new result are filtered out).
    present: std::collections::HashSet<Vec<u8>>,
}

impl JoinOperator {
    /// A join of what the two readers read.
    pub fn new(plan: JoinPlan, left: SourceReader, right: SourceReader, log: ProcessingLog) -> Result<Self> {
        let converter = RowConverter::new(vec![SortField::new(plan.key_type.clone())])?;
        let state = match plan.window {
            Some(w) => {
                let retention = w.before_ms + w.after_ms + w.grace_ms;
                JoinState::Windowed {
                    left: WindowStore::new(retention),
                    right: WindowStore::new(retention),
                    waiting: BTreeMap::new(),
                    sequence: 0,
                    stream_time: i64::MIN,
                }
            }
            None => JoinState::Tables { left: HashMap::new(), right: HashMap::new() },
        };
        let nulls = |schema: &SchemaRef| -> Result<RecordBatch> {
            let columns = schema.fields().iter().map(|f| new_null_array(f.data_type(), 1)).collect();
            Ok(RecordBatch::try_new(schema.clone(), columns)?)
        };
        let left_nulls = nulls(&plan.left.schema)?;
        let right_nulls = nulls(&plan.right.schema)?;
        Ok(Self { plan, left, right, log, converter, state, left_nulls, right_nulls, present: Default::default() })
    }

    /// The plan.
    pub fn plan(&self) -> &JoinPlan {
        &self.plan
    }

    /// The readers, left then right.
    pub fn readers(&self) -> [&SourceReader; 2] {
        [&self.left, &self.right]
    }

    /// Moves the stream sides to where a checkpoint of the state fed by this join left them. A
    /// table side stays where it is: it is read from its beginning to rebuild its rows.
    pub fn seek(&mut self, left: &[(i32, i64)], right: &[(i32, i64)]) {
        for (reader, positions) in [(&mut self.left, left), (&mut self.right, right)] {
            if reader.source().kind == crate::sql::ast::SourceKind::Stream {
                reader.seek(positions);
            }
        }
    }

    /// Reads up to `max` records of each side and returns the joined rows (`None` when nothing
    /// was pending on either side).
    pub fn step(&mut self, max: usize) -> Result<Option<RecordBatch>> {
        let mut pending = Vec::new();
        let mut read = false;
        // A table side first: a stream record should see the table as of the records before it.
        let order = if self.plan.shape == JoinShape::StreamTable {
            [Side::Right, Side::Left]
        } else {
            [Side::Left, Side::Right]
        };
        for side in order {
            let reader = match side {
                Side::Left => &mut self.left,
                Side::Right => &mut self.right,
            };
            if let Some(batch) = reader.poll(max)? {
                read = true;
                self.on_batch(side, &batch, &mut pending)?;
            }
        }
        if !read {
            return Ok(None);
        }
        let out = self.emit(pending)?;
        if self.plan.changelog && self.plan.filter.is_some() && out.num_rows() > 0 {
            return Ok(Some(self.drop_repeated_tombstones(out)?));
        }
        Ok(Some(out))
    }

    /// Keeps a tombstone only when its key is in the result; remembers which keys are.
    fn drop_repeated_tombstones(&mut self, out: RecordBatch) -> Result<RecordBatch> {
        let keys = self.converter.convert_columns(&[arrow::compute::cast(out.column(0), &self.plan.key_type)?])?;
        let flags = out
            .column(out.num_columns() - 1)
            .as_boolean_opt()
            .ok_or_else(|| Error::internal("null flag not BOOLEAN"))?
            .clone();
        let mut keep = Vec::with_capacity(out.num_rows());
        for row in 0..out.num_rows() {
            let key = keys.row(row).as_ref().to_vec();
            if flags.value(row) {
                keep.push(self.present.remove(&key));
            } else {
                self.present.insert(key);
                keep.push(true);
            }
        }
        Ok(arrow::compute::filter_record_batch(&out, &BooleanArray::from(keep))?)
    }

    fn on_batch(&mut self, side: Side, batch: &RecordBatch, pending: &mut Vec<Pending>) -> Result<()> {
        let plan_side = match side {
            Side::Left => &self.plan.left,
            Side::Right => &self.plan.right,
        };
        let rows = batch.num_rows();
        let key = match plan_side.key.evaluate(batch).and_then(|k| k.into_array(rows)) {
            Ok(key) => key,
            Err(e) => {
                // The criterion failed on some row: join row by row so only that row is lost.
                if rows > 1 {
                    for row in 0..rows {
                        self.on_batch(side, &batch.slice(row, 1), pending)?;
                    }
                } else {
                    self.log_row(side, batch, &format!("error evaluating the join criterion: {e}"));
                }
                return Ok(());
            }
        };
        let key =
            if key.data_type() == &self.plan.key_type { key } else { arrow::compute::cast(&key, &self.plan.key_type)? };
        let encoded = self.converter.convert_columns(std::slice::from_ref(&key))?;
        let carried = RecordBatch::try_new(plan_side.schema.clone(), batch.columns()[..plan_side.width].to_vec())?;
        let times = column::<Int64Type>(batch, ROWTIME)?;
        let null_value = batch
            .column_by_name(NULL_VALUE_COLUMN)
            .and_then(|c| c.as_boolean_opt())
            .ok_or_else(|| Error::internal("input batch has no null-value flag"))?
            .clone();
        let headers =
            batch.column_by_name(HEADERS_COLUMN).ok_or_else(|| Error::internal("input batch has no headers"))?.clone();
        let is_table = plan_side.source.kind == crate::sql::ast::SourceKind::Table;
        for row in 0..rows {
            if key.is_null(row) {
                // No key, nothing to join with (Kafka Streams drops these records too).
                continue;
            }
            let stored = Stored { ts: times.value(row), row: carried.slice(row, 1), key: key.slice(row, 1) };
            let key_bytes = encoded.row(row).as_ref().to_vec();
            let tombstone = null_value.value(row);
            let headers = headers.slice(row, 1);
            match self.plan.shape {
                JoinShape::StreamStream => {
                    if !tombstone {
                        self.stream_stream(side, key_bytes, stored, headers, pending);
                    }
                }
                JoinShape::StreamTable if is_table => self.table_update(side, key_bytes, stored, tombstone),
                JoinShape::StreamTable => {
                    if !tombstone {
                        self.stream_lookup(key_bytes, stored, headers, pending);
                    }
                }
                JoinShape::TableTable => self.table_table(side, key_bytes, stored, tombstone, headers, pending),
            }
        }
        Ok(())
    }

    fn stream_stream(
        &mut self,
        side: Side,
        key: Vec<u8>,
        stored: Stored,
        headers: ArrayRef,
        pending: &mut Vec<Pending>,
    ) {
        let Some(window) = self.plan.window else {
            return;
        };
        let kind = self.plan.kind;
        let JoinState::Windowed { left, right, waiting, sequence, stream_time } = &mut self.state else {
            return;
        };
        let (this, other) = match side {
            Side::Left => (left, right),
            Side::Right => (right, left),
        };
        // From this side's point of view: a left record looks `before` back and `after`
        // ahead; a right record the other way round.
        let (before, after) = match side {
            Side::Left => (window.before_ms, window.after_ms),
            Side::Right => (window.after_ms, window.before_ms),
        };
        let outer = match side {
            Side::Left => matches!(kind, JoinKind::Left | JoinKind::Full),
            Side::Right => matches!(kind, JoinKind::Right | JoinKind::Full),
        };
        let delay = window.explicit_grace && matches!(kind, JoinKind::Left | JoinKind::Right | JoinKind::Full);
        let ts = stored.ts;
        this.put(&key, stored.clone());
        *stream_time = (*stream_time).max(ts);
        if delay && ts == *stream_time {
            // Rows whose window has closed are emitted null-padded.
            let closed: Vec<(i64, bool, Vec<u8>, u64)> = waiting
                .keys()
                .filter(|(t, is_left, _, _)| {
                    let look = if *is_left { window.after_ms } else { window.before_ms };
                    t + look + window.grace_ms < *stream_time
                })
                .cloned()
                .collect();
            for k in closed {
                if let Some(row) = waiting.remove(&k) {
                    pending.push(padded(k.1, row, headers.clone()));
                }
            }
        }
        let from = (ts - before).max(0);
        let to = (ts + after).max(0);
        let matches = other.fetch(&key, from, to);
        for m in &matches {
            let (l, r) = match side {
                Side::Left => (stored.row.clone(), m.row.clone()),
                Side::Right => (m.row.clone(), stored.row.clone()),
            };
            pending.push(Pending {
                left: Some(l),
                right: Some(r),
                key: stored.key.clone(),
                ts: ts.max(m.ts),
                headers: headers.clone(),
                tombstone: false,
            });
            if delay {
                // The other side's row has joined: it no longer waits for a null-padded result.
                let other_is_left = side == Side::Right;
                waiting.retain(|(t, is_left, k, _), _| !(*t == m.ts && *is_left == other_is_left && *k == key));
            }
        }
        if matches.is_empty() && outer {
            if !delay || to < *stream_time {
                pending.push(padded(side == Side::Left, stored, headers));
            } else {
                *sequence += 1;
                waiting.insert((ts, side == Side::Left, key, *sequence), stored);
            }
        }
    }

    fn table_update(&mut self, side: Side, key: Vec<u8>, stored: Stored, tombstone: bool) {
        let JoinState::Tables { left, right } = &mut self.state else {
            return;
        };
        let table = if side == Side::Left { left } else { right };
        if tombstone {
            table.remove(&key);
        } else {
            table.insert(key, stored);
        }
    }

    fn stream_lookup(&mut self, key: Vec<u8>, stored: Stored, headers: ArrayRef, pending: &mut Vec<Pending>) {
        let JoinState::Tables { right, .. } = &self.state else {
            return;
        };
        match right.get(&key) {
            Some(row) => pending.push(Pending {
                left: Some(stored.row),
                right: Some(row.row.clone()),
                key: stored.key,
                ts: stored.ts,
                headers,
                tombstone: false,
            }),
            None if self.plan.kind == JoinKind::Left => pending.push(padded(true, stored, headers)),
            None => {}
        }
    }

    fn table_table(
        &mut self,
        side: Side,
        key: Vec<u8>,
        stored: Stored,
        tombstone: bool,
        headers: ArrayRef,
        pending: &mut Vec<Pending>,
    ) {
        let kind = self.plan.kind;
        let JoinState::Tables { left, right } = &mut self.state else {
            return;
        };
        let (this, other) = if side == Side::Left { (left, right) } else { (right, left) };
        if tombstone {
            this.remove(&key);
        } else {
            this.insert(key.clone(), stored.clone());
        }
        let other = other.get(&key).cloned();
        let new = (!tombstone).then_some(stored.clone());
        // Whether this side's row is kept when the other is missing, and the reverse.
        let (this_outer, other_outer) = match (side, kind) {
            (_, JoinKind::Full) => (true, true),
            (_, JoinKind::Inner) => (false, false),
            (Side::Left, JoinKind::Left) | (Side::Right, JoinKind::Right) => (true, false),
            (Side::Left, JoinKind::Right) | (Side::Right, JoinKind::Left) => (false, true),
        };
        let ts = other.as_ref().map_or(stored.ts, |o| o.ts.max(stored.ts));
        let emit = match (&new, &other) {
            (Some(_), Some(_)) => true,
            (Some(_), None) => this_outer,
            (None, Some(_)) => true,
            (None, None) => this_outer,
        };
        if !emit {
            return;
        }
        // A row that leaves the join (or a join that loses its outer side) is a tombstone.
        let gone = match (&new, &other) {
            (None, Some(_)) => !other_outer,
            (None, None) => true,
            (Some(_), None) => !this_outer,
            (Some(_), Some(_)) => false,
        };
        let (l, r) = match side {
            Side::Left => (new.map(|n| n.row), other.map(|o| o.row)),
            Side::Right => (other.map(|o| o.row), new.map(|n| n.row)),
        };
        pending.push(Pending { left: l, right: r, key: stored.key, ts, headers, tombstone: gone });
    }

    /// Builds the joined rows and evaluates WHERE and the projection on them.
    fn emit(&self, pending: Vec<Pending>) -> Result<RecordBatch> {
        if pending.is_empty() {
            return Ok(RecordBatch::new_empty(self.plan.output_schema.clone()));
        }
        let lefts: Vec<&RecordBatch> = pending.iter().map(|p| p.left.as_ref().unwrap_or(&self.left_nulls)).collect();
        let rights: Vec<&RecordBatch> = pending.iter().map(|p| p.right.as_ref().unwrap_or(&self.right_nulls)).collect();
        let left = arrow::compute::concat_batches(&self.plan.left.schema, lefts)?;
        let right = arrow::compute::concat_batches(&self.plan.right.schema, rights)?;
        let keys: Vec<&dyn Array> = pending.iter().map(|p| p.key.as_ref()).collect();
        let headers: Vec<&dyn Array> = pending.iter().map(|p| p.headers.as_ref()).collect();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.plan.joined_schema.fields().len());
        columns.extend(left.columns().iter().cloned());
        columns.extend(right.columns().iter().cloned());
        columns.push(arrow::compute::concat(&keys)?);
        columns.push(Arc::new(Int64Array::from_iter_values(pending.iter().map(|p| p.ts))));
        columns.push(arrow::compute::concat(&headers)?);
        columns.push(Arc::new(pending.iter().map(|p| Some(p.tombstone)).collect::<BooleanArray>()));
        let joined = RecordBatch::try_new(self.plan.joined_schema.clone(), columns)?;
        match self.project(&joined) {
            Ok(out) => Ok(out),
            Err(_) if joined.num_rows() > 1 => {
                let mut parts = Vec::new();
                for row in 0..joined.num_rows() {
                    let one = joined.slice(row, 1);
                    match self.project(&one) {
                        Ok(out) => parts.push(out),
                        Err(e) => self.log.row_error(
                            &self.plan.left.source.topic,
                            0,
                            0,
                            &format!("error evaluating the join's projection: {e}"),
                        ),
                    }
                }
                Ok(arrow::compute::concat_batches(&self.plan.output_schema, &parts)?)
            }
            Err(e) => {
                self.log.row_error(
                    &self.plan.left.source.topic,
                    0,
                    0,
                    &format!("error evaluating the join's projection: {e}"),
                );
                Ok(RecordBatch::new_empty(self.plan.output_schema.clone()))
            }
        }
    }

    fn project(&self, joined: &RecordBatch) -> Result<RecordBatch> {
        let rows = joined.num_rows();
        let mut batch = joined.clone();
        let mut passes = None;
        if let Some(filter) = &self.plan.filter {
            let mask = filter.evaluate(&batch)?.into_array(rows)?;
            let mask = mask.as_boolean_opt().ok_or_else(|| Error::user("WHERE must be a BOOLEAN expression"))?;
            let mask: BooleanArray = mask.iter().map(|v| Some(v == Some(true))).collect();
            if self.plan.changelog {
                passes = Some(mask);
            } else {
                batch = arrow::compute::filter_record_batch(&batch, &mask)?;
            }
        }
        let rows = batch.num_rows();
        let mut columns = Vec::with_capacity(self.plan.projection.len());
        for expr in &self.plan.projection {
            columns.push(expr.evaluate(&batch)?.into_array(rows)?);
        }
        if let Some(passes) = passes {
            // A table row that fails WHERE leaves the result: a tombstone.
            let last = columns.len() - 1;
            let was = columns[last].as_boolean_opt().ok_or_else(|| Error::internal("null flag not BOOLEAN"))?;
            columns[last] = Arc::new(arrow::compute::or(was, &arrow::compute::not(&passes)?)?);
        }
        crate::exec::conform(&self.plan.output_schema, columns)
    }

    fn log_row(&self, side: Side, batch: &RecordBatch, message: &str) {
        let source = if side == Side::Left { &self.plan.left.source } else { &self.plan.right.source };
        let (partition, offset) = crate::exec::row_position(batch);
        self.log.row_error(&source.topic, partition, offset, message);
    }
}

/// A row of one side alone, the other side's columns null.
fn padded(is_left: bool, stored: Stored, headers: ArrayRef) -> Pending {
    let (left, right) = if is_left { (Some(stored.row), None) } else { (None, Some(stored.row)) };
    Pending { left, right, key: stored.key, ts: stored.ts, headers, tombstone: false }
}

fn column<T: arrow::datatypes::ArrowPrimitiveType>(
    batch: &RecordBatch,
    name: &str,
) -> Result<arrow::array::PrimitiveArray<T>> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<T>())
        .cloned()
        .ok_or_else(|| Error::internal(format!("input batch has no {name} column")))
}
