//! Writing results: rows of Arrow batches encoded and appended to a sink topic.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::Int64Type;

use crate::catalog::Source;
use crate::error::{Error, Result};
use crate::format::RowEncoder;
use crate::topic::{Bytes, PackedBytes, ProducerBatch, SharedBackend};

/// Encodes batches with a sink's formats and produces them to its topic.
///
/// Batches given to [`Sink::write`] have the sink's key columns, then its value columns, then
/// a ROWTIME column used as the record timestamp, the headers to write, and whether the input
/// value was null (then the output value is null too).
pub struct Sink {
    topic: String,
    backend: SharedBackend,
    key: RowEncoder,
    value: RowEncoder,
    key_count: usize,
    value_count: usize,
    /// Set for windowed tables: keys carry their window, and batches end with the window
    /// start and end columns.
    window: Option<crate::catalog::WindowType>,
}

impl Sink {
    /// A sink writing `source`'s topic.
    pub fn new(source: &Source, backend: SharedBackend) -> Result<Self> {
        let key_fields = source.key_fields();
        let value_fields = source.value_fields();
        Ok(Self {
            topic: source.topic.clone(),
            // A null single-column key is a null key in every format; so is an all-null
            // DELIMITED key. A multi-column JSON key stays an object of nulls, as in ksqlDB.
            key: RowEncoder::new(&source.key_format, key_fields.clone())?.null_rows_absent(
                key_fields.len() == 1 || source.key_format.kind == crate::format::FormatKind::Delimited,
            ),
            value: RowEncoder::new(&source.value_format, value_fields.clone())?,
            key_count: key_fields.len(),
            value_count: value_fields.len(),
            backend,
            window: source.window,
        })
    }

    /// The topic written.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Encodes and produces every row of `batch`; returns the number of records written.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<usize> {
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(0);
        }
        let expected = self.key_count + self.value_count + 3;
        let window_columns = if self.window.is_some() { 2 } else { 0 };
        if batch.num_columns() != expected + window_columns {
            return Err(Error::internal(format!(
                "sink batch has {} columns, the sink needs {expected}",
                batch.num_columns()
            )));
        }
        let columns: &[ArrayRef] = batch.columns();
        // A side with no columns has no bytes at all: every key (or value) is null.
        let mut keys =
            if self.key_count == 0 { None } else { Some(self.key.encode_packed(&columns[..self.key_count])?) };
        let mut values = if self.value_count == 0 {
            let mut nulls = PackedBytes::with_capacity(Bytes::new(), rows);
            for _ in 0..rows {
                nulls.push(None)?;
            }
            nulls
        } else {
            self.value.encode_packed(&columns[self.key_count..self.key_count + self.value_count])?
        };
        if let Some(window) = self.window {
            let starts = columns[expected]
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| Error::internal("window start is not BIGINT"))?;
            let ends = columns[expected + 1]
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| Error::internal("window end is not BIGINT"))?;
            let windowed: Vec<Vec<u8>> = (0..rows)
                .map(|row| {
                    crate::format::encode_windowed_key(
                        keys.as_ref().and_then(|k| k.get(row)),
                        window.key_layout(),
                        crate::format::WindowBounds { start: starts.value(row), end: ends.value(row) },
                    )
                })
                .collect();
            keys = Some(PackedBytes::copied(windowed.iter().map(|k| Some(k.as_slice()))));
        }
        let rowtime = columns[expected - 3]
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| Error::internal("ROWTIME is not BIGINT"))?;
        let headers =
            columns[expected - 2].as_list_opt::<i32>().ok_or_else(|| Error::internal("headers are not a list"))?;
        let null_value =
            columns[expected - 1].as_boolean_opt().ok_or_else(|| Error::internal("null-value flag is not BOOLEAN"))?;
        if null_value.values().count_set_bits() > 0 {
            // A null input value is a null output value (a tombstone).
            let mut kept = PackedBytes::with_capacity(values.buffer().clone(), rows);
            for row in 0..rows {
                kept.push(if null_value.value(row) { None } else { values.range(row) })?;
            }
            values = kept;
        }
        let timestamps = (0..rows).map(|row| if rowtime.is_null(row) { 0 } else { rowtime.value(row) }).collect();
        let headers =
            if any_headers(headers) { (0..rows).map(|row| row_headers(headers, row)).collect() } else { Vec::new() };
        let batch = ProducerBatch { partition: None, timestamps, keys, values, headers };
        self.backend.produce_batch(&self.topic, batch)?;
        Ok(rows)
    }
}

/// Whether a HEADERS column holds any header at all (most batches have none).
pub(crate) fn any_headers(headers: &arrow::array::ListArray) -> bool {
    let offsets = headers.value_offsets();
    (0..headers.len()).any(|row| offsets[row] != offsets[row + 1] && !headers.is_null(row))
}

pub(crate) fn row_headers(headers: &arrow::array::ListArray, row: usize) -> Vec<crate::topic::Header> {
    // Most rows have no headers: look at the offsets before slicing anything, as slicing the
    // entries (a struct array) costs allocations.
    let offsets = headers.value_offsets();
    let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
    if headers.is_null(row) || start == end {
        return Vec::new();
    }
    let Some(entries) = headers.values().as_struct_opt() else { return Vec::new() };
    let (Some(keys), Some(values)) =
        (entries.column(0).as_string_opt::<i32>(), entries.column(1).as_binary_opt::<i32>())
    else {
        return Vec::new();
    };
    (start..end)
        .map(|i| {
            let key = if keys.is_null(i) { String::new() } else { keys.value(i).to_string() };
            let value = if values.is_null(i) { None } else { Some(values.value(i).to_vec()) };
            (key, value)
        })
        .collect()
}
