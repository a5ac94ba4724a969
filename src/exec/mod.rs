//! Execution: operators on Arrow batches, sources, sinks, event time and the processing log.

pub mod aggregate;
pub mod join;
pub mod processing_log;
pub mod query;
pub mod sink;
pub mod source;
pub mod time;
