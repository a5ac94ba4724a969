//! Reading a source: records of a topic's partitions decoded into Arrow batches.
//!
//! A [`SourceReader`] owns the read position of every partition of one source's topic and the
//! decoders of its key and value. Each batch has the source's columns followed by the
//! pseudo-columns ROWTIME, ROWPARTITION and ROWOFFSET (and WINDOWSTART/WINDOWEND when the key is
//! windowed). Records that do not decode go to the processing log and are skipped.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, Int32Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder, StructBuilder,
};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

use crate::catalog::{ColumnRole, Source};
use crate::error::{Error, Result};
use crate::exec::processing_log::ProcessingLog;
use crate::exec::time::TimestampExtractor;
use crate::format::{RowDecoder, decode_windowed_key};
use crate::topic::{Record, SharedBackend};

/// Names of the pseudo-columns every source batch carries.
pub const ROWTIME: &str = "ROWTIME";
/// The partition a record came from.
pub const ROWPARTITION: &str = "ROWPARTITION";
/// The offset of a record.
pub const ROWOFFSET: &str = "ROWOFFSET";
/// Window bounds of a windowed key.
pub const WINDOWSTART: &str = "WINDOWSTART";
/// Window bounds of a windowed key.
pub const WINDOWEND: &str = "WINDOWEND";
/// Hidden column: the record's headers, passed on to what a query writes (as Kafka Streams
/// forwards them). Lower-case so that no unquoted identifier can name it.
pub const HEADERS_COLUMN: &str = "__headers";
/// Hidden column: true when the record had no value (a stream's null value stays null through a
/// projection, as in ksqlDB).
pub const NULL_VALUE_COLUMN: &str = "__null_value";

/// The type of [`HEADERS_COLUMN`] and of HEADERS columns.
pub fn headers_type() -> DataType {
    let fields =
        Fields::from(vec![Field::new("KEY", DataType::Utf8, true), Field::new("VALUE", DataType::Binary, true)]);
    DataType::List(Arc::new(Field::new("item", DataType::Struct(fields), true)))
}

/// The schema of batches read from `source`: its columns, then the pseudo-columns.
pub fn input_schema(source: &Source) -> SchemaRef {
    let mut fields: Vec<Field> = source.columns.iter().map(|c| c.field()).collect();
    if source.window.is_some() {
        fields.push(Field::new(WINDOWSTART, DataType::Int64, true));
        fields.push(Field::new(WINDOWEND, DataType::Int64, true));
    }
    fields.push(Field::new(ROWTIME, DataType::Int64, false));
    fields.push(Field::new(ROWPARTITION, DataType::Int32, false));
    fields.push(Field::new(ROWOFFSET, DataType::Int64, false));
    fields.push(Field::new(HEADERS_COLUMN, headers_type(), true));
    fields.push(Field::new(NULL_VALUE_COLUMN, DataType::Boolean, false));
    Arc::new(Schema::new(fields))
}

/// Reads and decodes one source's topic.
pub struct SourceReader {
    source: Source,
    backend: SharedBackend,
    schema: SchemaRef,
    /// (partition, next offset) for every partition of the topic.
    positions: Vec<(i32, i64)>,
    next_partition: usize,
    key: RowDecoder,
    value: RowDecoder,
    timestamps: Option<TimestampExtractor>,
    log: ProcessingLog,
    /// Per value column, whether the query reads it (`None`: all are decoded).
    value_used: Option<Vec<bool>>,
    /// The records of the last poll, kept so that every poll reuses one buffer.
    buffer: Vec<Record>,
}

impl SourceReader {
    /// A reader of `source` starting at the given offsets, one per partition.
    pub fn new(source: Source, backend: SharedBackend, positions: Vec<(i32, i64)>, log: ProcessingLog) -> Result<Self> {
        let key = RowDecoder::new(&source.key_format, source.key_fields())?;
        let value = RowDecoder::new(&source.value_format, source.value_fields())?;
        let schema = input_schema(&source);
        let timestamps = match &source.timestamp {
            Some(spec) => Some(TimestampExtractor::new(spec, &schema)?),
            None => None,
        };
        Ok(Self {
            source,
            backend,
            schema,
            positions,
            next_partition: 0,
            key,
            value,
            timestamps,
            log,
            value_used: None,
            buffer: Vec::new(),
        })
    }

    /// Fails on a record whose TIMESTAMP column holds no time (null or unparsable) rather
    /// than skipping it: `ksql.timestamp.throw.on.invalid`.
    pub fn throw_on_invalid_timestamp(mut self, throw: bool) -> Self {
        self.timestamps = self.timestamps.map(|t| t.throw_on_invalid(throw));
        self
    }

    /// Decodes only the value columns a query reads (`used`: indices into [`Self::schema`]),
    /// leaving the others NULL. Only for JSON, where fields are found by name: skipping a
    /// field still checks that the record is well-formed JSON, but no longer converts (or
    /// validates the type of) a value nobody reads, which is most of the work for wide
    /// records.
    pub fn project(&mut self, used: &std::collections::HashSet<usize>) -> Result<()> {
        if self.source.value_format.kind != crate::format::FormatKind::Json {
            return Ok(());
        }
        let mut mask = Vec::new();
        let mut fields = Vec::new();
        for (i, column) in self.source.columns.iter().enumerate() {
            if column.role != ColumnRole::Value {
                continue;
            }
            let keep = used.contains(&i) || self.source.timestamp.as_ref().is_some_and(|t| t.column == column.name);
            mask.push(keep);
            if keep {
                fields.push(column.field());
            }
        }
        if mask.iter().all(|&k| k) || fields.is_empty() {
            // Nothing to skip; and a JSON value decoder needs at least one field to tell an
            // object from a wrapped single value.
            return Ok(());
        }
        self.value = RowDecoder::new(&self.source.value_format, fields.into())?;
        self.value_used = Some(mask);
        Ok(())
    }

    /// The schema of the batches this reader yields.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The source read.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Next offsets per partition: what to commit once the output of what was read is durable.
    pub fn positions(&self) -> &[(i32, i64)] {
        &self.positions
    }

    /// Moves the read positions of the given partitions (restoring from a checkpoint).
    pub fn seek(&mut self, positions: &[(i32, i64)]) {
        for &(partition, offset) in positions {
            if let Some(p) = self.positions.iter_mut().find(|p| p.0 == partition) {
                p.1 = offset;
            }
        }
    }

    /// True when some partition has records not yet read.
    pub fn has_pending(&self) -> Result<bool> {
        for &(partition, offset) in &self.positions {
            if self.backend.end_offset(&self.source.topic, partition)? > offset {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reads up to `max` records (partitions in turn) and decodes them into a batch.
    /// `Ok(None)` when nothing was pending.
    pub fn poll(&mut self, max: usize) -> Result<Option<RecordBatch>> {
        // A batch that fails to read or decode is not consumed: the positions go back to
        // before it, so that the records are read again rather than lost.
        let before = (self.positions.clone(), self.next_partition);
        let mut records = std::mem::take(&mut self.buffer);
        let read = crate::topic::read_round_robin_into(
            self.backend.as_ref(),
            &self.source.topic,
            &mut self.positions,
            &mut self.next_partition,
            max,
            &mut records,
        );
        let decoded = match read {
            Err(e) => Some(Err(e)),
            Ok(()) if records.is_empty() => None,
            Ok(()) => Some(self.decode(&records)),
        };
        records.clear();
        self.buffer = records;
        if matches!(decoded, Some(Err(_))) {
            (self.positions, self.next_partition) = before;
        }
        decoded.transpose()
    }

    /// Decodes records into a batch of this reader's schema; bad records are logged and left out.
    pub fn decode(&mut self, records: &[Record]) -> Result<RecordBatch> {
        let mut rowtime = Int64Builder::with_capacity(records.len());
        let mut partition = Int32Builder::with_capacity(records.len());
        let mut offset = Int64Builder::with_capacity(records.len());
        let mut kept: Vec<&Record> = Vec::with_capacity(records.len());
        // A record whose key decodes but whose value does not (or the reverse) leaves a row in
        // one decoder only; such rows are filled with nulls and filtered out at the end, so that
        // the decoders stay aligned without per-row undo.
        let mut good: Vec<bool> = Vec::with_capacity(records.len());
        let layout = self.source.window.map(|w| w.key_layout());
        let mut window_start = Int64Builder::with_capacity(if layout.is_some() { records.len() } else { 0 });
        let mut window_end = Int64Builder::with_capacity(if layout.is_some() { records.len() } else { 0 });
        // Taken while each record is at hand: a second pass over the records for these costs
        // a cache miss per record.
        let mut null_values = arrow::array::BooleanBufferBuilder::new(records.len());
        let mut any_headers = false;
        for record in records {
            let mut ok = true;
            // A windowed key is the key's own bytes followed by its window.
            let mut key_bytes = record.key.as_deref();
            if let Some(layout) = layout {
                match key_bytes.map(|b| decode_windowed_key(b, layout)).transpose() {
                    Ok(Some((key, bounds))) => {
                        key_bytes = key;
                        window_start.append_value(bounds.start);
                        window_end.append_value(bounds.end);
                    }
                    Ok(None) => {
                        window_start.append_null();
                        window_end.append_null();
                    }
                    Err(e) => {
                        self.log.record_error(&self.source.topic, record, &format!("failed to deserialize key: {e}"));
                        window_start.append_null();
                        window_end.append_null();
                        key_bytes = None;
                        ok = false;
                    }
                }
            }
            if !ok {
                append_null(&mut self.key)?;
            } else if let Err(e) = self.key.append(key_bytes) {
                self.log.record_error(&self.source.topic, record, &format!("failed to deserialize key: {}", e.0));
                append_null(&mut self.key)?;
                ok = false;
            }
            if ok && let Err(e) = self.value.append(record.value.as_deref()) {
                self.log.record_error(&self.source.topic, record, &format!("failed to deserialize value: {}", e.0));
                append_null(&mut self.value)?;
                ok = false;
            } else if !ok {
                append_null(&mut self.value)?;
            }
            good.push(ok);
            rowtime.append_value(record.timestamp);
            partition.append_value(record.partition);
            offset.append_value(record.offset);
            null_values.append(record.value.is_none());
            any_headers |= !record.headers.is_empty();
            kept.push(record);
        }
        let mut key_arrays = self.key.finish().into_iter();
        let mut value_arrays = self.value.finish().into_iter();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        let mut value_index = 0;
        for column in &self.source.columns {
            let array = match &column.role {
                ColumnRole::Key => key_arrays.next(),
                ColumnRole::Value => {
                    let used = self.value_used.as_ref().is_none_or(|m| m.get(value_index).copied().unwrap_or(true));
                    value_index += 1;
                    if used {
                        value_arrays.next()
                    } else {
                        Some(arrow::array::new_null_array(&column.ty.to_arrow(), kept.len()))
                    }
                }
                ColumnRole::Headers => Some(headers_array(&kept, any_headers, &column.field())?),
                ColumnRole::Header(name) => Some(header_array(&kept, name)),
            };
            columns.push(array.ok_or_else(|| Error::internal("decoder returned fewer columns than the source has"))?);
        }
        if layout.is_some() {
            columns.push(Arc::new(window_start.finish()));
            columns.push(Arc::new(window_end.finish()));
        }
        columns.push(Arc::new(rowtime.finish()));
        columns.push(Arc::new(partition.finish()));
        columns.push(Arc::new(offset.finish()));
        columns.push(headers_array(&kept, any_headers, &Field::new(HEADERS_COLUMN, headers_type(), true))?);
        columns.push(Arc::new(arrow::array::BooleanArray::new(null_values.finish(), None)));
        let mut batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        if good.iter().any(|ok| !ok) {
            let mask = arrow::array::BooleanArray::from(good);
            batch = arrow::compute::filter_record_batch(&batch, &mask)?;
        }
        match &self.timestamps {
            Some(extractor) => extractor.apply(batch, &self.log, &self.source.topic),
            None => Ok(batch),
        }
    }
}

fn append_null(decoder: &mut RowDecoder) -> Result<()> {
    decoder.append(None).map_err(|e| Error::internal(format!("a decoder refused a row of nulls: {}", e.0)))
}

fn header_array(records: &[&Record], name: &str) -> ArrayRef {
    let mut builder = BinaryBuilder::new();
    for record in records {
        // ksqlDB's HEADER('k') takes the last header with that name.
        match record.headers.iter().rev().find(|(k, _)| k == name) {
            Some((_, Some(v))) => builder.append_value(v),
            _ => builder.append_null(),
        }
    }
    Arc::new(builder.finish())
}

/// The headers of `records` as a list column; `any` says whether some record has headers.
pub(crate) fn headers_array(records: &[&Record], any: bool, field: &Field) -> Result<ArrayRef> {
    let DataType::List(item) = field.data_type() else {
        return Err(Error::user(format!(
            "HEADERS column `{}` must be ARRAY<STRUCT<KEY STRING, VALUE BYTES>>",
            field.name()
        )));
    };
    let DataType::Struct(fields) = item.data_type() else {
        return Err(Error::user(format!(
            "HEADERS column `{}` must be ARRAY<STRUCT<KEY STRING, VALUE BYTES>>",
            field.name()
        )));
    };
    if !any {
        // The usual case: every row an empty list, built without a builder visit per row.
        let entries = arrow::array::new_empty_array(item.data_type());
        let offsets = arrow::buffer::OffsetBuffer::new_zeroed(records.len());
        return Ok(Arc::new(arrow::array::ListArray::try_new(item.clone(), offsets, entries, None)?));
    }
    let struct_fields: Fields = fields.clone();
    let values = StructBuilder::from_fields(struct_fields, 0);
    let mut builder = ListBuilder::new(values).with_field(item.clone());
    for record in records {
        let entries = builder.values();
        for (k, v) in &record.headers {
            entries
                .field_builder::<StringBuilder>(0)
                .ok_or_else(|| Error::internal("header struct has no KEY field"))?
                .append_value(k);
            let vb = entries
                .field_builder::<BinaryBuilder>(1)
                .ok_or_else(|| Error::internal("header struct has no VALUE field"))?;
            match v {
                Some(v) => vb.append_value(v),
                None => vb.append_null(),
            }
            entries.append(true);
        }
        builder.append(true);
    }
    Ok(Arc::new(builder.finish()))
}
