//! Planning: a statement plus the catalog become a continuous plan.

pub mod aggregate;
pub mod expr;
pub mod select;
