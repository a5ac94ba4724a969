//! A running stateless query: read a batch, filter, project, hand the rows on.
//!
//! [`SelectQuery::step`] is synchronous: it reads what is pending (up to a bound), evaluates
//! the plan on the Arrow batch and passes the result to its output (a sink topic, or the
//! channel of a push query). Whoever owns the query decides when to step: a background thread
//! in production, the test runner one record at a time.

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type};

use crate::error::{Error, Result};
use crate::exec::processing_log::ProcessingLog;
use crate::exec::source::{ROWOFFSET, ROWPARTITION, SourceReader};
use crate::plan::select::SelectPlan;

/// A stateless query over one source.
pub struct SelectQuery {
    plan: SelectPlan,
    reader: SourceReader,
    log: ProcessingLog,
}

impl SelectQuery {
    /// A query evaluating `plan` on what `reader` reads.
    pub fn new(plan: SelectPlan, reader: SourceReader, log: ProcessingLog) -> Self {
        Self { plan, reader, log }
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
        let filtered;
        let batch = match &self.plan.filter {
            Some(filter) => {
                let mask = filter.evaluate(batch)?.into_array(batch.num_rows())?;
                let mask = mask.as_boolean_opt().ok_or_else(|| Error::user("WHERE must be a BOOLEAN expression"))?;
                // NULL counts as false.
                let mask: BooleanArray = if mask.null_count() > 0 {
                    mask.iter().map(|v| Some(v == Some(true))).collect()
                } else {
                    mask.clone()
                };
                filtered = arrow::compute::filter_record_batch(batch, &mask)?;
                &filtered
            }
            None => batch,
        };
        let mut columns = Vec::with_capacity(self.plan.projection.len());
        for expr in &self.plan.projection {
            columns.push(expr.evaluate(batch)?.into_array(batch.num_rows())?);
        }
        let columns = columns
            .into_iter()
            .zip(self.plan.output_schema.fields())
            .map(|(array, field)| {
                if array.data_type() == field.data_type() {
                    Ok(array)
                } else {
                    arrow::compute::cast(&array, field.data_type())
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new(self.plan.output_schema.clone(), columns)?)
    }

    fn log_row(&self, batch: &RecordBatch, error: &Error) {
        let partition = batch
            .column_by_name(ROWPARTITION)
            .and_then(|a| a.as_primitive_opt::<Int32Type>().map(|p| p.value(0)))
            .unwrap_or_default();
        let offset = batch
            .column_by_name(ROWOFFSET)
            .and_then(|a| a.as_primitive_opt::<Int64Type>().map(|p| p.value(0)))
            .unwrap_or_default();
        self.log.row_error(&self.plan.source.topic, partition, offset, &format!("error evaluating the query: {error}"));
    }
}
