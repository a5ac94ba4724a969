//! Execution: operators on Arrow batches, sources, sinks, event time and the processing log.

pub mod aggregate;
pub mod join;
pub mod processing_log;
pub mod query;
pub mod sink;
pub mod source;
pub mod time;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type, SchemaRef};

/// A batch of `schema` from evaluated columns, casting those whose type differs from the
/// schema's (DataFusion may widen or narrow what an expression returns).
pub(crate) fn conform(schema: &SchemaRef, columns: Vec<ArrayRef>) -> crate::error::Result<RecordBatch> {
    let columns = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(array, field)| {
            if array.data_type() == field.data_type() {
                Ok(array)
            } else {
                arrow::compute::cast(&array, field.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The partition and offset of a source batch's first row (0 when the batch has none), for
/// processing-log entries about that row.
pub(crate) fn row_position(batch: &RecordBatch) -> (i32, i64) {
    let partition = batch
        .column_by_name(source::ROWPARTITION)
        .and_then(|a| a.as_primitive_opt::<Int32Type>())
        .filter(|p| !p.is_empty())
        .map(|p| p.value(0))
        .unwrap_or_default();
    let offset = batch
        .column_by_name(source::ROWOFFSET)
        .and_then(|a| a.as_primitive_opt::<Int64Type>())
        .filter(|p| !p.is_empty())
        .map(|p| p.value(0))
        .unwrap_or_default();
    (partition, offset)
}
