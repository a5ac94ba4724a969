//! The catalog: streams, tables, custom types and persistent queries.
//!
//! The catalog is the result of replaying the command log (see `engine`): every accepted
//! DDL/DML statement is appended to an internal topic and replayed on start, so the catalog is
//! never persisted on its own. This module holds the data and the lookups; it does not parse,
//! plan or touch topics.

use std::collections::BTreeMap;

use arrow::datatypes::{Field, Fields};

use crate::error::{Error, Result};
use crate::format::FormatSpec;
use crate::functions::FunctionRegistry;
use crate::sql::ast::SourceKind;
use crate::sql::types::SqlType;

/// What part of a record a column comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRole {
    /// A key column (`KEY` on streams, `PRIMARY KEY` on tables).
    Key,
    /// A value column.
    Value,
    /// All headers, as ARRAY<STRUCT<KEY STRING, VALUE BYTES>>.
    Headers,
    /// One header's value as BYTES.
    Header(String),
}

/// A column of a stream or table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub role: ColumnRole,
}

impl Column {
    /// An Arrow field for this column (always nullable: ksqlDB columns are).
    pub fn field(&self) -> Field {
        Field::new(&self.name, self.ty.to_arrow(), true)
    }
}

/// The shape of a windowed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowType {
    Tumbling { size_ms: u64 },
    Hopping { size_ms: u64 },
    Session,
}

impl WindowType {
    /// The name ksqlDB shows.
    pub fn name(self) -> &'static str {
        match self {
            WindowType::Tumbling { .. } => "TUMBLING",
            WindowType::Hopping { .. } => "HOPPING",
            WindowType::Session => "SESSION",
        }
    }

    /// How keys with this window are serialized.
    pub fn key_layout(self) -> crate::format::WindowLayout {
        match self {
            WindowType::Tumbling { size_ms } | WindowType::Hopping { size_ms } => {
                crate::format::WindowLayout::Time { size_ms }
            }
            WindowType::Session => crate::format::WindowLayout::Session,
        }
    }
}

/// Where a source's event time comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampSpec {
    /// The column named by `TIMESTAMP`.
    pub column: String,
    /// `TIMESTAMP_FORMAT` for a STRING column (a Java DateTimeFormatter pattern).
    pub format: Option<String>,
}

/// A stream or a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub kind: SourceKind,
    pub topic: String,
    /// Key columns first, then value and header columns, in declaration order.
    pub columns: Vec<Column>,
    pub key_format: FormatSpec,
    pub value_format: FormatSpec,
    pub timestamp: Option<TimestampSpec>,
    /// Set when the key is windowed (the output of a windowed aggregation).
    pub window: Option<WindowType>,
    /// `CREATE SOURCE ...`: read-only, no INSERT.
    pub read_only: bool,
    /// The statement that created it.
    pub sql: String,
}

impl Source {
    /// Columns that make the key.
    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.role == ColumnRole::Key)
    }

    /// Columns serialized in the value.
    pub fn value_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.role == ColumnRole::Value)
    }

    /// Arrow fields of the key columns, in order.
    pub fn key_fields(&self) -> Fields {
        self.key_columns().map(Column::field).collect()
    }

    /// Arrow fields of the value columns, in order.
    pub fn value_fields(&self) -> Fields {
        self.value_columns().map(Column::field).collect()
    }

    /// The column called `name` (exact match).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The schema as ksqlDB writes it: "`K` STRING KEY, `V` INTEGER".
    pub fn schema_string(&self) -> String {
        self.columns
            .iter()
            .map(|c| {
                let suffix = match (&c.role, self.kind) {
                    (ColumnRole::Key, SourceKind::Stream) => " KEY".to_string(),
                    (ColumnRole::Key, SourceKind::Table) => " PRIMARY KEY".to_string(),
                    (ColumnRole::Value, _) => String::new(),
                    (ColumnRole::Headers, _) => " HEADERS".to_string(),
                    (ColumnRole::Header(h), _) => format!(" HEADER('{h}')"),
                };
                format!("`{}` {}{}", c.name, c.ty, suffix)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A persistent query as the catalog records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryInfo {
    pub id: String,
    /// The statement text.
    pub sql: String,
    /// Sources it reads.
    pub sources: Vec<String>,
    /// The source it writes.
    pub sink: String,
    pub sink_topic: String,
}

/// Streams, tables, types and persistent queries.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    sources: BTreeMap<String, Source>,
    types: BTreeMap<String, SqlType>,
    queries: BTreeMap<String, QueryInfo>,
    /// Next number for generated query ids; ids are never reused.
    next_query_number: u64,
    /// The functions statements may call. Not replayed: the engine's owner supplies them, as
    /// ksqlDB's metastore holds the function registry its server loaded.
    functions: FunctionRegistry,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty catalog whose statements call `functions`.
    pub fn with_functions(functions: FunctionRegistry) -> Self {
        Self { functions, ..Self::default() }
    }

    /// The functions statements may call.
    pub fn functions(&self) -> &FunctionRegistry {
        &self.functions
    }

    /// The source called `name`.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.get(name)
    }

    /// The source called `name`, or a user error naming it (with a did-you-mean hint).
    pub fn require_source(&self, name: &str) -> Result<&Source> {
        self.sources.get(name).ok_or_else(|| {
            let err = Error::user(format!("{name} does not exist."));
            match self.sources.keys().find(|k| k.eq_ignore_ascii_case(name)) {
                Some(close) => err.with_hint(format!("did you mean {close}? quoted names are case-sensitive")),
                None => err,
            }
        })
    }

    /// All sources, sorted by name.
    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.sources.values()
    }

    /// Sources reading or writing `topic`.
    pub fn sources_for_topic<'a>(&'a self, topic: &'a str) -> impl Iterator<Item = &'a Source> + 'a {
        self.sources.values().filter(move |s| s.topic == topic)
    }

    /// Adds or replaces a source.
    pub fn put_source(&mut self, source: Source) {
        self.sources.insert(source.name.clone(), source);
    }

    /// Removes a source, returning it.
    pub fn remove_source(&mut self, name: &str) -> Option<Source> {
        self.sources.remove(name)
    }

    /// A custom type.
    pub fn custom_type(&self, name: &str) -> Option<&SqlType> {
        self.types.get(name)
    }

    /// All custom types.
    pub fn custom_types(&self) -> impl Iterator<Item = (&String, &SqlType)> {
        self.types.iter()
    }

    /// Registers a custom type.
    pub fn put_type(&mut self, name: String, ty: SqlType) {
        self.types.insert(name, ty);
    }

    /// Drops a custom type.
    pub fn remove_type(&mut self, name: &str) -> Option<SqlType> {
        self.types.remove(name)
    }

    /// A persistent query.
    pub fn query(&self, id: &str) -> Option<&QueryInfo> {
        self.queries.get(id)
    }

    /// All persistent queries, sorted by id.
    pub fn queries(&self) -> impl Iterator<Item = &QueryInfo> {
        self.queries.values()
    }

    /// Records a persistent query.
    pub fn put_query(&mut self, query: QueryInfo) {
        self.queries.insert(query.id.clone(), query);
    }

    /// Forgets a persistent query.
    pub fn remove_query(&mut self, id: &str) -> Option<QueryInfo> {
        self.queries.remove(id)
    }

    /// A fresh query id `PREFIX_SINK_N`, as ksqlDB names them (CSAS_, CTAS_, INSERTQUERY_).
    pub fn next_query_id(&mut self, prefix: &str, sink: &str) -> String {
        let n = self.next_query_number;
        self.next_query_number += 1;
        if sink.is_empty() { format!("{prefix}_{n}") } else { format!("{prefix}_{sink}_{n}") }
    }

    /// Queries writing to `sink`.
    pub fn queries_writing(&self, sink: &str) -> Vec<&QueryInfo> {
        self.queries.values().filter(|q| q.sink == sink).collect()
    }

    /// Queries reading from `source`.
    pub fn queries_reading(&self, source: &str) -> Vec<&QueryInfo> {
        self.queries.values().filter(|q| q.sources.iter().any(|s| s == source)).collect()
    }
}
