//! Planning: a statement plus the catalog become a continuous plan.

pub mod aggregate;
pub mod coerce;
pub mod expr;
pub mod join;
pub mod pull;
pub mod select;
