//! A running stateless query: read a batch, filter, project, hand the rows on.
//!
//! [`SelectQuery::step`] is synchronous: it reads what is pending (up to a bound), evaluates
//! the plan on the Arrow batch and passes the result to its output (a sink topic, or the
//! channel of a push query). Whoever owns the query decides when to step: a background thread
//! in production, the test runner one record at a time.

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};

use crate::error::{Error, Result};
use crate::exec::processing_log::ProcessingLog;
use crate::exec::source::{NULL_VALUE_COLUMN, SourceReader};
use crate::plan::select::SelectPlan;

/// A stateless query over one source.
pub struct SelectQuery {
    plan: SelectPlan,
    reader: SourceReader,
    log: ProcessingLog,
    /// Per input column, whether WHERE's survivors must carry its values: the projection (or
    /// a table function) reads it, or it cannot be null. The others become nulls instead of
    /// being filtered. `None`: every column is filtered.
    carried: Option<Vec<bool>>,
}

impl SelectQuery {
    /// A query evaluating `plan` on what `reader` reads.
    pub fn new(plan: SelectPlan, reader: SourceReader, log: ProcessingLog) -> Self {
        let read: std::collections::HashSet<usize> = plan
            .projection
            .iter()
            .chain(&plan.table_functions)
            .flat_map(|e| datafusion::physical_expr::utils::collect_columns(e).into_iter().map(|c| c.index()))
            .collect();
        let carried: Vec<bool> =
            reader.schema().fields().iter().enumerate().map(|(i, f)| read.contains(&i) || !f.is_nullable()).collect();
        let carried = carried.contains(&false).then_some(carried);
        Self { plan, reader, log, carried }
    }

    /// The plan.
    pub fn plan(&self) -> &SelectPlan {
        &self.plan
    }

    /// The reader (its positions are what to commit).
    pub fn reader(&self) -> &SourceReader {
        &self.reader
    }

    /// Reads up to `max` records and returns the resulting rows (`None` when nothing was
    /// pending). Rows whose expressions fail are logged and dropped.
    pub fn step(&mut self, max: usize) -> Result<Option<RecordBatch>> {
        let Some(batch) = self.reader.poll(max)? else {
            return Ok(None);
        };
        Ok(Some(self.process(&batch)?))
    }

    /// Evaluates the plan on one input batch.
    pub fn process(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        match self.evaluate(batch) {
            Ok(out) => Ok(out),
            // An expression failed on some row (a bad cast, a division by zero): evaluate row
            // by row so that only the failing rows are dropped.
            Err(_) if batch.num_rows() > 1 => {
                let mut parts = Vec::new();
                for row in 0..batch.num_rows() {
                    let one = batch.slice(row, 1);
                    match self.evaluate(&one) {
                        Ok(out) => parts.push(out),
                        Err(e) => self.log_row(&one, &e),
                    }
                }
                Ok(arrow::compute::concat_batches(&self.plan.output_schema, &parts)?)
            }
            Err(e) => {
                self.log_row(batch, &e);
                Ok(RecordBatch::new_empty(self.plan.output_schema.clone()))
            }
        }
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        if self.plan.changelog {
            return self.evaluate_changelog(batch);
        }
        let filtered;
        let batch = match &self.plan.filter {
            Some(filter) => {
                let mut mask = self.mask(filter, batch)?;
                // A record without a value (a tombstone) never passes a WHERE, as in ksqlDB.
                if let Some(null_value) = batch.column_by_name(NULL_VALUE_COLUMN).and_then(|c| c.as_boolean_opt())
                    && null_value.true_count() > 0
                {
                    mask = arrow::compute::and_not(&mask, null_value)?;
                }
                filtered = self.filter_rows(batch, &mask)?;
                &filtered
            }
            None => batch,
        };
        let exploded;
        let batch = if self.plan.table_functions.is_empty() {
            batch
        } else {
            exploded = explode(batch, &self.plan.table_functions)?;
            &exploded
        };
        let mut columns = Vec::with_capacity(self.plan.projection.len());
        for (i, expr) in self.plan.projection.iter().enumerate() {
            let column = match expr.evaluate(batch) {
                Ok(value) => value.into_array(batch.num_rows())?,
                // A PARTITION BY key that fails on a row leaves that row without a key. With
                // several rows the failing ones are not known: `process` retries row by row.
                Err(e) if i < self.plan.partition_keys && batch.num_rows() == 1 => {
                    self.log_row(batch, &Error::from(e));
                    arrow::array::new_null_array(&expr.data_type(&batch.schema())?, 1)
                }
                Err(e) => return Err(e.into()),
            };
            columns.push(column);
        }
        self.finish(columns)
    }

    /// The rows of `batch` where `mask` is set. Only the columns something reads afterwards
    /// are filtered (the rest become nulls), and a list column of empty lists only (HEADERS,
    /// mostly) is rebuilt rather than filtered entry by entry.
    fn filter_rows(&self, batch: &RecordBatch, mask: &BooleanArray) -> Result<RecordBatch> {
        use arrow::array::{ArrayRef, ListArray, new_null_array};
        let filter = arrow::compute::FilterBuilder::new(mask).optimize().build();
        let rows = filter.count();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
        for (i, column) in batch.columns().iter().enumerate() {
            let carried = self.carried.as_ref().is_none_or(|c| c.get(i).copied().unwrap_or(true));
            let empty_lists = column.as_list_opt::<i32>().filter(|l| l.null_count() == 0 && l.values().is_empty());
            columns.push(match empty_lists {
                _ if !carried => new_null_array(column.data_type(), rows),
                Some(lists) => {
                    let arrow::datatypes::DataType::List(item) = lists.data_type() else {
                        return Err(Error::internal("a list array whose type is not a list"));
                    };
                    let offsets = arrow::buffer::OffsetBuffer::new_zeroed(rows);
                    std::sync::Arc::new(ListArray::try_new(item.clone(), offsets, lists.values().clone(), None)?)
                }
                None => filter.filter(column)?,
            });
        }
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(batch.schema(), columns, &options)?)
    }

    /// WHERE as a mask in which NULL counts as false.
    fn mask(
        &self,
        filter: &std::sync::Arc<dyn datafusion::physical_expr::PhysicalExpr>,
        batch: &RecordBatch,
    ) -> Result<BooleanArray> {
        let mask = filter.evaluate(batch)?.into_array(batch.num_rows())?;
        let mask = mask.as_boolean_opt().ok_or_else(|| Error::user("WHERE must be a BOOLEAN expression"))?;
        Ok(if mask.null_count() > 0 { mask.iter().map(|v| Some(v == Some(true))).collect() } else { mask.clone() })
    }

    /// A table's changelog: records without a key are dropped; a row that fails WHERE (or a
    /// tombstone) becomes a tombstone of its key.
    fn evaluate_changelog(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let key_columns: Vec<usize> = self
            .plan
            .source
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.role == crate::catalog::ColumnRole::Key)
            .map(|(i, _)| i)
            .collect();
        let keyed: BooleanArray =
            (0..batch.num_rows()).map(|row| Some(key_columns.iter().any(|&i| batch.column(i).is_valid(row)))).collect();
        let keyed_batch;
        let batch = if keyed.false_count() > 0 && !key_columns.is_empty() {
            keyed_batch = arrow::compute::filter_record_batch(batch, &keyed)?;
            &keyed_batch
        } else {
            batch
        };
        let mut columns = Vec::with_capacity(self.plan.projection.len());
        for expr in &self.plan.projection {
            columns.push(expr.evaluate(batch)?.into_array(batch.num_rows())?);
        }
        if let Some(filter) = &self.plan.filter {
            let passes = self.mask(filter, batch)?;
            let last = columns.len() - 1;
            let was_null = columns[last].as_boolean_opt().ok_or_else(|| Error::internal("null flag not BOOLEAN"))?;
            columns[last] = std::sync::Arc::new(arrow::compute::or(was_null, &arrow::compute::not(&passes)?)?);
        }
        self.finish(columns)
    }

    fn finish(&self, columns: Vec<arrow::array::ArrayRef>) -> Result<RecordBatch> {
        crate::exec::conform(&self.plan.output_schema, columns)
    }

    fn log_row(&self, batch: &RecordBatch, error: &Error) {
        let (partition, offset) = crate::exec::row_position(batch);
        self.log.row_error(&self.plan.source.topic, partition, offset, &format!("error evaluating the query: {error}"));
    }
}

/// Applies table functions (EXPLODE): each row is repeated as many times as its longest array,
/// and each function's column holds the array elements (null past the end of a shorter array),
/// appended after the input columns. Rows whose arrays are all empty or null produce nothing.
fn explode(
    batch: &RecordBatch,
    functions: &[std::sync::Arc<dyn datafusion::physical_expr::PhysicalExpr>],
) -> Result<RecordBatch> {
    use arrow::array::{ListArray, UInt32Array};
    let rows = batch.num_rows();
    let mut lists: Vec<ListArray> = Vec::with_capacity(functions.len());
    for f in functions {
        let array = f.evaluate(batch)?.into_array(rows)?;
        let list = array.as_list_opt::<i32>().ok_or_else(|| Error::user("EXPLODE needs an ARRAY"))?.clone();
        lists.push(list);
    }
    let length = |list: &ListArray, row: usize| if list.is_null(row) { 0 } else { list.value_length(row) as usize };
    let mut repeat: Vec<u32> = Vec::new();
    let mut element_indices: Vec<Vec<Option<u32>>> = vec![Vec::new(); lists.len()];
    for row in 0..rows {
        let n = lists.iter().map(|l| length(l, row)).max().unwrap_or(0);
        for j in 0..n {
            repeat.push(row as u32);
            for (k, list) in lists.iter().enumerate() {
                let index = (j < length(list, row)).then(|| list.value_offsets()[row] as u32 + j as u32);
                element_indices[k].push(index);
            }
        }
    }
    let repeat = UInt32Array::from(repeat);
    let mut columns: Vec<arrow::array::ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c, &repeat, None))
        .collect::<std::result::Result<_, _>>()?;
    let mut fields: Vec<arrow::datatypes::FieldRef> = batch.schema().fields().iter().cloned().collect();
    for (k, list) in lists.iter().enumerate() {
        let indices = UInt32Array::from(std::mem::take(&mut element_indices[k]));
        let values = arrow::compute::take(list.values(), &indices, None)?;
        fields.push(std::sync::Arc::new(arrow::datatypes::Field::new(
            format!("__tf_{k}"),
            values.data_type().clone(),
            true,
        )));
        columns.push(values);
    }
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
    Ok(RecordBatch::try_new(schema, columns)?)
}
