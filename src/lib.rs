//! Rivulet: a streaming SQL engine in the spirit of ksqlDB.
//!
//! Data flows `sql → plan → exec → state`; `format` and `topic` are leaves that know nothing of
//! SQL. Every front end goes through [`engine::Engine::execute`].

pub mod catalog;
pub mod client;
pub mod datagen;
pub mod engine;
pub mod error;
pub mod exec;
pub mod format;
pub mod functions;
pub mod plan;
pub mod server;
pub mod sql;
pub mod state;
pub mod sys;
pub mod testing;
pub mod topic;

pub use error::{Error, ErrorKind, Result};
