//! The ksqlDB dialect: statements, expressions and types, parsed on sqlparser's tokenizer.

pub mod ast;
mod expr;
pub mod lexer;
pub mod parser;
pub mod types;

pub use parser::parse;
