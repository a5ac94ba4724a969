//! Event time: extracting ROWTIME from a source's TIMESTAMP column.
//!
//! With `TIMESTAMP='col'` a record's event time is that column's value instead of the record
//! timestamp: a BIGINT of epoch milliseconds, a TIMESTAMP, or a STRING parsed with
//! `TIMESTAMP_FORMAT`. A record whose time cannot be extracted (null, unparsable, negative) is
//! skipped and logged, as ksqlDB does by default. With `ksql.timestamp.throw.on.invalid=true`
//! a null or unparsable time fails the query instead, with Kafka Streams' message (a negative
//! one is still skipped: Kafka Streams drops records with negative times whatever the
//! extractor does).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, SchemaRef, TimeUnit};
use datafusion::physical_expr::PhysicalExpr;

use crate::catalog::{Catalog, TimestampSpec};
use crate::error::{Error, Result};
use crate::exec::processing_log::ProcessingLog;
use crate::exec::source::{ROWOFFSET, ROWPARTITION, ROWTIME};
use crate::plan::expr::ExprPlanner;
use crate::sql::ast::{Expr, Literal};

/// Computes ROWTIME from a column.
pub struct TimestampExtractor {
    column: String,
    expr: Arc<dyn PhysicalExpr>,
    rowtime_index: usize,
    /// `ksql.timestamp.throw.on.invalid`: fail rather than skip a record without a time.
    throw_on_invalid: bool,
}

impl TimestampExtractor {
    /// An extractor for `spec` over batches of `schema`.
    pub fn new(spec: &TimestampSpec, schema: &SchemaRef) -> Result<Self> {
        let field = schema.field_with_name(&spec.column).map_err(|_| {
            Error::user(format!(
                "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{}'",
                spec.column
            ))
        })?;
        let column = Expr::Column { qualifier: None, name: spec.column.clone() };
        let expr = match (field.data_type(), &spec.format) {
            (DataType::Int64, None) => column,
            (DataType::Timestamp(TimeUnit::Millisecond, _), None) => {
                Expr::Cast { expr: Box::new(column), ty: crate::sql::ast::TypeExpr::Bigint }
            }
            (DataType::Utf8, Some(format)) => Expr::Function {
                name: "STRINGTOTIMESTAMP".into(),
                args: vec![column, Expr::Literal(Literal::String(format.clone()))],
            },
            (DataType::Utf8, None) => {
                return Err(Error::user(format!(
                    "TIMESTAMP column '{}' is a STRING: set TIMESTAMP_FORMAT to say how to parse it",
                    spec.column
                )));
            }
            (other, _) => {
                return Err(Error::user(format!(
                    "Timestamp column, `{}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified. Found {other}",
                    spec.column
                )));
            }
        };
        let catalog = Catalog::new();
        let planner = ExprPlanner::new(schema.clone(), &catalog, vec![])?;
        let expr = planner.physical(&expr)?;
        let rowtime_index = schema.index_of(ROWTIME)?;
        Ok(Self { column: spec.column.clone(), expr, rowtime_index, throw_on_invalid: false })
    }

    /// Fails on a record whose time cannot be extracted rather than skipping it
    /// (`ksql.timestamp.throw.on.invalid`).
    pub fn throw_on_invalid(mut self, throw: bool) -> Self {
        self.throw_on_invalid = throw;
        self
    }

    /// Replaces ROWTIME in `batch` with the extracted times; drops rows without one, or fails
    /// on the first when [`Self::throw_on_invalid`] is set.
    pub fn apply(&self, batch: RecordBatch, log: &ProcessingLog, topic: &str) -> Result<RecordBatch> {
        if batch.num_rows() == 0 {
            return Ok(batch);
        }
        let times = self.expr.evaluate(&batch)?.into_array(batch.num_rows())?;
        let times = arrow::compute::cast(&times, &DataType::Int64)?;
        let times = times.as_primitive::<Int64Type>();
        let valid: BooleanArray = times.iter().map(|t| Some(matches!(t, Some(v) if v >= 0))).collect();
        if valid.false_count() > 0 {
            let partitions =
                batch.column_by_name(ROWPARTITION).map(|a| a.as_primitive::<arrow::datatypes::Int32Type>().clone());
            let offsets = batch.column_by_name(ROWOFFSET).map(|a| a.as_primitive::<Int64Type>().clone());
            let rowtimes = batch.column(self.rowtime_index).as_primitive_opt::<Int64Type>();
            for row in 0..batch.num_rows() {
                if !valid.value(row) {
                    let partition = partitions.as_ref().map(|p| p.value(row)).unwrap_or_default();
                    let offset = offsets.as_ref().map(|o| o.value(row)).unwrap_or_default();
                    if self.throw_on_invalid && times.is_null(row) {
                        // Kafka Streams' words for an extractor that throws: the query stops
                        // here, and the record stays unconsumed.
                        let timestamp = rowtimes.map(|t| t.value(row)).unwrap_or_default();
                        return Err(Error::user(format!(
                            "Fatal user code error in TimestampExtractor callback for record \
                             ConsumerRecord(topic = {topic}, partition = {partition}, offset = {offset}, \
                             timestamp = {timestamp}): cannot extract a timestamp from column {}: its value is \
                             null or does not parse",
                            self.column
                        )));
                    }
                    log.row_error(topic, partition, offset, &format!("invalid timestamp in column {}", self.column));
                }
            }
        }
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns[self.rowtime_index] = Arc::new(Int64Array::from(times.values().to_vec()));
        let batch = RecordBatch::try_new(batch.schema(), columns)?;
        if valid.false_count() > 0 { Ok(arrow::compute::filter_record_batch(&batch, &valid)?) } else { Ok(batch) }
    }
}
