//! Materialized tables: the latest row per key (and window) of a table a query maintains,
//! which pull queries read.
//!
//! Rows are kept in Arrow's row format, ordered by (key, window start), so that a key lookup,
//! a key range and a window range are ordered-map lookups and a scan converts straight back
//! into an Arrow batch in the layout of the table's source batches
//! (`exec::source::input_schema`). The table is rebuilt from the output the query produces; a
//! tombstone removes a row.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, RecordBatch};
use arrow::datatypes::{Int64Type, SchemaRef};
use arrow::row::{RowConverter, SortField};

use crate::catalog::Source;
use crate::error::{Error, Result};
use crate::exec::source::input_schema;

/// One stored row.
struct Stored {
    window_end: Option<i64>,
    rowtime: i64,
    /// The value columns, in Arrow's row format.
    value: Vec<u8>,
}

/// The rows of a materialized table.
pub struct MaterializedTable {
    schema: SchemaRef,
    key_count: usize,
    value_count: usize,
    windowed: bool,
    keys: RowConverter,
    values: RowConverter,
    rows: BTreeMap<(Vec<u8>, i64), Stored>,
}

/// Shared between the query that writes a table and the pull queries that read it.
pub type SharedTable = Arc<parking_lot::RwLock<MaterializedTable>>;

impl MaterializedTable {
    /// An empty table for `source` (a table of the catalog).
    pub fn new(source: &Source) -> Result<Self> {
        let key_fields: Vec<SortField> = source.key_columns().map(|c| SortField::new(c.ty.to_arrow())).collect();
        let value_fields: Vec<SortField> = source.value_columns().map(|c| SortField::new(c.ty.to_arrow())).collect();
        Ok(Self {
            schema: input_schema(source),
            key_count: key_fields.len(),
            value_count: value_fields.len(),
            windowed: source.window.is_some(),
            keys: RowConverter::new(key_fields)?,
            values: RowConverter::new(value_fields)?,
            rows: BTreeMap::new(),
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Applies a batch as a sink receives it: key columns, value columns, ROWTIME, headers, the
    /// null-value flag, then (windowed tables) window start and end.
    pub fn apply(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let columns = batch.columns();
        let (k, v) = (self.key_count, self.value_count);
        let keys = self.keys.convert_columns(&columns[..k])?;
        let values = self.values.convert_columns(&columns[k..k + v])?;
        let rowtime = columns[k + v].as_primitive::<Int64Type>();
        let tombstone = columns[k + v + 2].as_boolean();
        let (starts, ends) = if self.windowed {
            let s = columns.get(k + v + 3).ok_or_else(|| Error::internal("windowed rows without a window"))?;
            let e = columns.get(k + v + 4).ok_or_else(|| Error::internal("windowed rows without a window"))?;
            (Some(s.as_primitive::<Int64Type>()), Some(e.as_primitive::<Int64Type>()))
        } else {
            (None, None)
        };
        for row in 0..batch.num_rows() {
            let start = starts.map(|s| s.value(row)).unwrap_or(0);
            let key = (keys.row(row).as_ref().to_vec(), start);
            if tombstone.value(row) {
                self.rows.remove(&key);
            } else {
                let stored = Stored {
                    window_end: ends.map(|e| e.value(row)),
                    rowtime: rowtime.value(row),
                    value: values.row(row).as_ref().to_vec(),
                };
                self.rows.insert(key, stored);
            }
        }
        Ok(())
    }

    /// Every row, as a batch in the layout of the table's source batches.
    pub fn scan(&self) -> Result<RecordBatch> {
        self.batch(self.rows.iter())
    }

    /// The rows whose key columns equal `key` (one single-row array per key column).
    pub fn lookup(&self, key: &[ArrayRef]) -> Result<RecordBatch> {
        let rows = self.keys.convert_columns(key)?;
        let wanted = rows.row(0).as_ref().to_vec();
        let range = self.rows.range((wanted.clone(), i64::MIN)..=(wanted, i64::MAX));
        self.batch(range)
    }

    fn batch<'a>(&self, rows: impl Iterator<Item = (&'a (Vec<u8>, i64), &'a Stored)>) -> Result<RecordBatch> {
        let rows: Vec<_> = rows.collect();
        let n = rows.len();
        let key_parser = self.keys.parser();
        let value_parser = self.values.parser();
        let key_rows: Vec<_> = rows.iter().map(|((k, _), _)| key_parser.parse(k)).collect();
        let value_rows: Vec<_> = rows.iter().map(|(_, s)| value_parser.parse(&s.value)).collect();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        if self.key_count > 0 {
            columns.extend(self.keys.convert_rows(key_rows)?);
        }
        if self.value_count > 0 {
            columns.extend(self.values.convert_rows(value_rows)?);
        }
        if self.windowed {
            columns.push(Arc::new(rows.iter().map(|((_, start), _)| Some(*start)).collect::<Int64Array>()));
            columns.push(Arc::new(rows.iter().map(|(_, s)| s.window_end).collect::<Int64Array>()));
        }
        columns.push(Arc::new(rows.iter().map(|(_, s)| s.rowtime).collect::<Int64Array>()));
        columns.push(Arc::new(Int32Array::from(vec![0; n])));
        columns.push(Arc::new(Int64Array::from(vec![0; n])));
        let headers = self.schema.field(columns.len()).data_type().clone();
        columns.push(arrow::array::new_null_array(&headers, n));
        columns.push(Arc::new(BooleanArray::from(vec![false; n])));
        // Source columns that are neither key nor value (headers) are not materialized.
        if columns.len() != self.schema.fields().len() {
            return Err(Error::user("pull queries on tables with header columns are not supported"));
        }
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

/// Rearranges rows as a sink receives them (keys, values, ROWTIME, headers, null-value flag,
/// then the window start and end of a windowed table) into the layout of the table's source
/// batches, leaving out deleted rows.
pub fn source_layout(rows: &RecordBatch, source: &Source) -> Result<RecordBatch> {
    source_layout_as(rows, source, input_schema(source))
}

/// [`source_layout`] with the source's batch schema (`input_schema(source)`) already at hand.
pub fn source_layout_as(rows: &RecordBatch, source: &Source, schema: SchemaRef) -> Result<RecordBatch> {
    let width = source.key_columns().count() + source.value_columns().count();
    let c = rows.columns();
    if c.len() < width + 3 {
        return Err(Error::internal("rows have fewer columns than their table"));
    }
    let n = rows.num_rows();
    let mut columns: Vec<ArrayRef> = c[..width].to_vec();
    if source.window.is_some() {
        columns.push(c.get(width + 3).cloned().ok_or_else(|| Error::internal("windowed rows without a window"))?);
        columns.push(c.get(width + 4).cloned().ok_or_else(|| Error::internal("windowed rows without a window"))?);
    }
    columns.push(c[width].clone());
    columns.push(Arc::new(Int32Array::from(vec![0; n])));
    columns.push(Arc::new(Int64Array::from(vec![0; n])));
    columns.push(c[width + 1].clone());
    columns.push(c[width + 2].clone());
    let batch = RecordBatch::try_new(schema, columns)?;
    let deleted = c[width + 2].as_boolean();
    if deleted.true_count() == 0 && arrow::array::Array::null_count(deleted) == 0 {
        return Ok(batch);
    }
    let live = arrow::compute::not(deleted)?;
    Ok(arrow::compute::filter_record_batch(&batch, &live)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Column, ColumnRole};
    use crate::format::{FormatKind, FormatSpec};
    use crate::sql::ast::SourceKind;
    use crate::sql::types::SqlType;

    fn source() -> Source {
        Source {
            name: "T".into(),
            kind: SourceKind::Table,
            topic: "t".into(),
            columns: vec![
                Column { name: "ID".into(), ty: SqlType::Bigint, role: ColumnRole::Key },
                Column { name: "N".into(), ty: SqlType::String, role: ColumnRole::Value },
            ],
            key_format: FormatSpec::new(FormatKind::Kafka),
            value_format: FormatSpec::new(FormatKind::Json),
            timestamp: None,
            window: None,
            read_only: false,
            sql: String::new(),
        }
    }

    fn sink_batch(ids: &[i64], names: &[Option<&str>], tombstones: &[bool]) -> RecordBatch {
        let n = ids.len();
        let headers = crate::exec::source::headers_type();
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("ID", arrow::datatypes::DataType::Int64, true),
            arrow::datatypes::Field::new("N", arrow::datatypes::DataType::Utf8, true),
            arrow::datatypes::Field::new("ROWTIME", arrow::datatypes::DataType::Int64, false),
            arrow::datatypes::Field::new("h", headers.clone(), true),
            arrow::datatypes::Field::new("t", arrow::datatypes::DataType::Boolean, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(arrow::array::StringArray::from(names.to_vec())),
                Arc::new(Int64Array::from(vec![7; n])),
                arrow::array::new_null_array(&headers, n),
                Arc::new(BooleanArray::from(tombstones.to_vec())),
            ],
        )
        .unwrap()
    }

    #[test]
    fn upserts_and_tombstones() {
        let mut table = MaterializedTable::new(&source()).unwrap();
        table.apply(&sink_batch(&[1, 2, 1], &[Some("a"), Some("b"), Some("c")], &[false, false, false])).unwrap();
        assert_eq!(table.len(), 2);
        table.apply(&sink_batch(&[2], &[None], &[true])).unwrap();
        let scan = table.scan().unwrap();
        assert_eq!(scan.num_rows(), 1);
        assert_eq!(scan.column(1).as_string::<i32>().value(0), "c");
        let one = table.lookup(&[Arc::new(Int64Array::from(vec![1])) as ArrayRef]).unwrap();
        assert_eq!(one.num_rows(), 1);
        let none = table.lookup(&[Arc::new(Int64Array::from(vec![2])) as ArrayRef]).unwrap();
        assert_eq!(none.num_rows(), 0);
    }
}
