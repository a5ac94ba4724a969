//! DDL and INSERT VALUES: CREATE STREAM/TABLE, DROP, CREATE/DROP TYPE.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::Schema;

use crate::catalog::{Column, ColumnRole, Source, TimestampSpec, WindowType};
use crate::engine::result::StatementResult;
use crate::engine::{Inner, State};
use crate::error::{Error, Result};
use crate::format::{FormatKind, FormatSpec, RowDecoder, RowEncoder};
use crate::plan::expr::{ExprPlanner, resolve_type};
use crate::plan::select::RESERVED;
use crate::sql::ast::{ColumnConstraint, CreateSource, Expr, Literal, Properties, SourceKind, TypeExpr};
use crate::sql::types::SqlType;
use crate::topic::{CleanupPolicy, ProducerRecord, TopicConfig};

/// `CREATE [OR REPLACE] STREAM|TABLE name (...) WITH (...)`
pub(crate) fn create_source(inner: &Inner, create: &CreateSource, sql: &str) -> Result<StatementResult> {
    let mut state = inner.state.lock();
    let noun = kind_noun(create.kind);
    if create.or_replace && create.is_source {
        return Err(Error::user(format!(
            "Cannot add {noun} '{}': CREATE OR REPLACE is not supported on source {noun}s.",
            create.name
        )));
    }
    if let Some(existing) = state.catalog.source(&create.name) {
        if create.if_not_exists {
            return Ok(status(format!(
                "Cannot add {noun} '{}': A {noun} with the same name already exists",
                create.name
            )));
        }
        if !create.or_replace {
            return Err(Error::user(format!(
                "Cannot add {noun} '{}': A {} with the same name already exists",
                create.name,
                kind_noun(existing.kind)
            )));
        }
        if existing.read_only || create.is_source {
            return Err(Error::user(format!(
                "Cannot add {noun} '{}': CREATE OR REPLACE is not supported on source {noun}s.",
                create.name
            )));
        }
    }
    let props = WithProps::new(&create.properties, &state, &inner.config)?;
    let topic = props.string("KAFKA_TOPIC")?.ok_or_else(|| {
        Error::user(format!("Missing required property \"KAFKA_TOPIC\" for CREATE {}", kind_upper(create.kind)))
    })?;
    let mut columns = Vec::with_capacity(create.elements.len());
    for element in &create.elements {
        if RESERVED.contains(&element.name.as_str()) {
            return Err(Error::user(format!(
                "'{}' is a reserved column name. You cannot use it as a name for a column.",
                element.name
            )));
        }
        if columns.iter().any(|c: &Column| c.name == element.name) {
            return Err(Error::user(format!("Duplicate column names: {}", element.name)));
        }
        let ty = resolve_type(&element.ty, &state.catalog)?;
        let role = match (&element.constraint, create.kind) {
            (ColumnConstraint::None, _) => ColumnRole::Value,
            (ColumnConstraint::Key, SourceKind::Stream) | (ColumnConstraint::PrimaryKey, SourceKind::Table) => {
                ColumnRole::Key
            }
            (ColumnConstraint::Key, SourceKind::Table) => {
                return Err(Error::user(format!(
                    "Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.",
                    element.name
                )));
            }
            (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
                return Err(Error::user(format!(
                    "Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.",
                    element.name
                )));
            }
            (ColumnConstraint::Headers, _) => {
                if ty.to_arrow() != crate::exec::source::headers_type() {
                    return Err(Error::user(format!(
                        "Invalid type for HEADERS column: expected ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>>, got {ty}"
                    )));
                }
                ColumnRole::Headers
            }
            (ColumnConstraint::Header(h), _) => {
                if ty != SqlType::Bytes {
                    return Err(Error::user(format!(
                        "Invalid type for HEADER('{h}') column: expected BYTES, got {ty}"
                    )));
                }
                ColumnRole::Header(h.clone())
            }
        };
        if role == ColumnRole::Key {
            crate::plan::select::check_key_type(&element.name, &ty)?;
        }
        columns.push(Column { name: element.name.clone(), ty, role });
    }
    // Key columns first, as ksqlDB orders them.
    columns.sort_by_key(|c| c.role != ColumnRole::Key);
    if create.kind == SourceKind::Table && !columns.iter().any(|c| c.role == ColumnRole::Key) {
        return Err(Error::user("Tables require a PRIMARY KEY. Please define the PRIMARY KEY."));
    }
    let has_key = columns.iter().any(|c| c.role == ColumnRole::Key);
    let (key_format, value_format) = props.formats(has_key, None)?;
    let timestamp = props.timestamp(&columns)?;
    let window = props.window_type()?;
    let source = Source {
        name: create.name.clone(),
        kind: create.kind,
        topic: topic.clone(),
        columns,
        key_format,
        value_format,
        timestamp,
        window,
        read_only: create.is_source,
        sql: sql.to_string(),
    };
    validate_formats(&source)?;
    if !state.replaying {
        let config = props.topic_config(create.kind, 1)?;
        match inner.backend.describe_topic(&topic)? {
            Some(_) => {}
            None => inner.backend.create_topic(&topic, &config)?,
        }
    }
    inner.log_command(&state, sql)?;
    state.catalog.put_source(source);
    Ok(status(format!("{} created", capitalized(create.kind))))
}

/// Checks that the formats can hold the columns (KAFKA takes one primitive, ...).
pub(crate) fn validate_formats(source: &Source) -> Result<()> {
    for (spec, fields, what) in
        [(&source.key_format, source.key_fields(), "key"), (&source.value_format, source.value_fields(), "value")]
    {
        if spec.kind.needs_schema_registry() {
            return Err(Error::user(format!(
                "The '{}' format needs a schema registry, which is not supported yet ({what} format of {})",
                spec.kind.name(),
                source.name
            )));
        }
        let checked = RowDecoder::new(spec, fields.clone()).and_then(|_| RowEncoder::new(spec, fields).map(|_| ()));
        if let Err(e) = checked {
            return Err(if what == "key" { key_schema_error(source, e) } else { e });
        }
    }
    Ok(())
}

/// ksqlDB's wording when the key format cannot hold the key columns: the format, the key
/// schema and the reason.
fn key_schema_error(source: &Source, e: Error) -> Error {
    let columns: Vec<String> = source.key_columns().map(|c| format!("`{}` {} KEY", c.name, c.ty)).collect();
    let columns = columns.join(", ");
    let kind = source.key_format.kind.name();
    let reason = if e.message().starts_with(&format!("The '{kind}' format only supports a single field")) {
        format!("The '{kind}' format only supports a single field. Got: [{columns}]")
    } else {
        e.message().to_string()
    };
    Error::user(format!(
        "Key format does not support schema.\nformat: {kind}\nschema: Persistence{{columns=[{columns}], features=[]}}\nreason: {reason}"
    ))
}

/// `INSERT INTO target [(columns)] VALUES (...)`
pub(crate) fn insert_values(
    inner: &Inner,
    target: &str,
    columns: Option<&[String]>,
    values: &[Expr],
) -> Result<StatementResult> {
    let source = insertable_source(inner, target)?;
    let names: Vec<String> = match columns {
        Some(names) => names.to_vec(),
        None => source.columns.iter().map(|c| c.name.clone()).collect(),
    };
    if columns.is_some() && names.len() != values.len() {
        return Err(Error::user(format!(
            "Failed to prepare statement: Expected number columns and values to match: {}, {}",
            names.len(),
            values.len()
        )));
    }
    if names.len() != values.len() {
        return Err(Error::user(format!(
            "Expected a value for each column. Expected Columns: {:?}. Got {}",
            names,
            values.len()
        )));
    }
    let catalog = crate::catalog::Catalog::new();
    let empty = Arc::new(Schema::empty());
    let planner = ExprPlanner::new(empty.clone(), &catalog, vec![])?;
    let one_row = RecordBatch::try_new_with_options(
        empty,
        vec![],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let mut rowtime: Option<i64> = None;
    let mut provided: Vec<(String, ArrayRef)> = Vec::new();
    for (name, expr) in names.iter().zip(values) {
        if name == crate::exec::source::ROWPARTITION || name == crate::exec::source::ROWOFFSET {
            return Err(Error::user(format!("Inserting into column `{name}` is not allowed.")));
        }
        let array = planner
            .physical(expr)
            .map_err(|e| e.context("Failed to prepare statement"))?
            .evaluate(&one_row)?
            .into_array(1)?;
        if name == crate::exec::source::ROWTIME {
            let t = arrow::compute::cast(&array, &arrow::datatypes::DataType::Int64)?;
            rowtime = arrow::array::AsArray::as_primitive_opt::<arrow::datatypes::Int64Type>(&t).map(|a| a.value(0));
            continue;
        }
        let column = source.column(name).ok_or_else(|| Error::user(format!("Column name {name} does not exist.")))?;
        if matches!(column.role, ColumnRole::Headers | ColumnRole::Header(_)) {
            return Err(Error::user(format!("Cannot insert into HEADER columns: {name}")));
        }
        let target_type = column.ty.to_arrow();
        let cast = arrow::compute::cast(&array, &target_type).map_err(|_| {
            Error::user(format!(
                "Expected type {} for field {name} but got {}",
                column.ty,
                sql_type_name(array.data_type())
            ))
        })?;
        provided.push((name.clone(), cast));
    }
    write_row(inner, &source, &provided, rowtime)?;
    Ok(status(String::new()))
}

/// Encodes one row of `source` from the values given per column (absent columns are NULL)
/// and appends it to its topic, stamped `rowtime` or the wall clock.
fn write_row(
    inner: &Inner,
    source: &crate::catalog::Source,
    provided: &[(String, ArrayRef)],
    rowtime: Option<i64>,
) -> Result<()> {
    let record = encode_row(source, provided, rowtime)?;
    inner.backend.produce(&source.topic, vec![record])?;
    inner.backend.flush()?;
    Ok(())
}

/// The record a row of `provided` columns becomes in `source`'s topic (absent columns null).
fn encode_row(
    source: &crate::catalog::Source,
    provided: &[(String, ArrayRef)],
    rowtime: Option<i64>,
) -> Result<ProducerRecord> {
    let build = |cols: Vec<&Column>| -> Result<Vec<ArrayRef>> {
        cols.into_iter()
            .map(|c| match provided.iter().find(|(n, _)| n == &c.name) {
                Some((_, a)) => Ok(a.clone()),
                None => Ok(arrow::array::new_null_array(&c.ty.to_arrow(), 1)),
            })
            .collect()
    };
    let key_columns = build(source.key_columns().collect())?;
    let value_columns = build(source.value_columns().collect())?;
    let mut key = Vec::new();
    let mut value = Vec::new();
    if key_columns.is_empty() {
        key.push(None);
    } else {
        RowEncoder::new(&source.key_format, source.key_fields())?.encode(&key_columns, &mut key)?;
    }
    if value_columns.is_empty() {
        value.push(None);
    } else {
        RowEncoder::new(&source.value_format, source.value_fields())?.encode(&value_columns, &mut value)?;
    }
    // INSERT VALUES without ROWTIME is stamped with the wall clock, as in ksqlDB; this is the
    // engine's edge, not an operator, so reading the clock here is right.
    let timestamp = rowtime.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    Ok(ProducerRecord {
        partition: None,
        timestamp,
        key: key.pop().flatten(),
        value: value.pop().flatten(),
        headers: Vec::new(),
    })
}

/// The source an INSERT writes to: it must exist and not be read-only.
fn insertable_source(inner: &Inner, target: &str) -> Result<Source> {
    let source = inner.state.lock().catalog.require_source(target)?.clone();
    if source.read_only {
        return Err(Error::user(format!(
            "Cannot insert values into read-only {}: {}",
            kind_noun(source.kind),
            source.name
        )));
    }
    Ok(source)
}

/// Inserts `rows` of `/inserts-stream` in order, as one write made durable once (a group
/// commit): the rows before the first one that fails are written, and their count comes back
/// with that failure. When the write itself fails, none of them is (the count is 0).
pub(crate) fn insert_json_rows(
    inner: &Inner,
    target: &str,
    rows: &[serde_json::Map<String, serde_json::Value>],
) -> (usize, Option<Error>) {
    let source = match insertable_source(inner, target) {
        Ok(source) => source,
        Err(e) => return (0, Some(e)),
    };
    if source.kind != SourceKind::Stream {
        let message = format!("Inserts are only supported into streams, and {} is a table.", source.name);
        return (0, Some(Error::user(message)));
    }
    let mut records = Vec::with_capacity(rows.len());
    let mut failure = None;
    for row in rows {
        match json_record(&source, row) {
            Ok(record) => records.push(record),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let written = records.len();
    if written > 0 {
        let durable = inner.backend.produce(&source.topic, records).and_then(|_| inner.backend.flush());
        if let Err(e) = durable {
            return (0, Some(e));
        }
    }
    (written, failure)
}

/// The record one JSON row of an inserts stream becomes: a JSON object of column name to
/// value, decoded as the JSON format decodes a record (so types convert exactly as they do for
/// records on a topic); `ROWTIME` sets the record's timestamp.
fn json_record(source: &Source, row: &serde_json::Map<String, serde_json::Value>) -> Result<ProducerRecord> {
    let mut rowtime = None;
    let mut provided: Vec<(String, ArrayRef)> = Vec::new();
    for (name, value) in row {
        if name.eq_ignore_ascii_case(crate::exec::source::ROWTIME) {
            rowtime =
                Some(value.as_i64().ok_or_else(|| Error::user(format!("ROWTIME must be a BIGINT, got {value}")))?);
            continue;
        }
        let column = source
            .column(name)
            .or_else(|| source.column(&name.to_uppercase()))
            .ok_or_else(|| Error::user(format!("Column name {name} does not exist.")))?;
        if matches!(column.role, ColumnRole::Headers | ColumnRole::Header(_)) {
            return Err(Error::user(format!("Cannot insert into HEADER columns: {name}")));
        }
        let fields = arrow::datatypes::Fields::from(vec![column.field()]);
        let mut decoder = RowDecoder::new(&crate::format::FormatSpec::new(crate::format::FormatKind::Json), fields)?;
        let mut record = serde_json::Map::new();
        record.insert(column.name.clone(), value.clone());
        let bytes = serde_json::to_vec(&record).map_err(|e| Error::internal(format!("re-encoding a row: {e}")))?;
        decoder
            .append(Some(&bytes))
            .map_err(|e| Error::user(format!("Failed to deserialize value for column {name}: {}", e.0)))?;
        let array = decoder.finish().pop().ok_or_else(|| Error::internal("a one-column decoder returned no column"))?;
        provided.push((column.name.clone(), array));
    }
    encode_row(source, &provided, rowtime)
}

fn sql_type_name(dt: &arrow::datatypes::DataType) -> String {
    SqlType::from_arrow(dt).map(|t| t.to_string()).unwrap_or_else(|_| dt.to_string())
}

/// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
pub(crate) fn drop_source(
    inner: &Inner,
    kind: SourceKind,
    name: &str,
    if_exists: bool,
    delete_topic: bool,
    sql: &str,
) -> Result<StatementResult> {
    let mut state = inner.state.lock();
    let Some(source) = state.catalog.source(name).cloned() else {
        if if_exists {
            return Ok(status(format!("Source `{name}` does not exist.")));
        }
        return Err(Error::user(format!("Source {name} does not exist.")));
    };
    if source.kind != kind {
        return Err(Error::user(format!(
            "Incompatible data source type is {}, but statement was DROP {}",
            kind_upper(source.kind),
            kind_upper(kind)
        )));
    }
    let readers: Vec<String> = state.catalog.queries_reading(name).iter().map(|q| q.id.clone()).collect();
    let writers: Vec<String> = state.catalog.queries_writing(name).iter().map(|q| q.id.clone()).collect();
    if !readers.is_empty() || !writers.is_empty() {
        return Err(Error::user(format!(
            "Cannot drop {name}.\nThe following queries read from this source: [{}].\nThe following queries write into this source: [{}].\nYou need to terminate them before dropping {name}.",
            readers.join(", "),
            writers.join(", ")
        )));
    }
    if delete_topic && source.read_only {
        return Err(Error::user(format!("Cannot delete topic for read-only source: {name}")));
    }
    inner.log_command(&state, sql)?;
    state.catalog.remove_source(name);
    inner.tables.lock().remove(name);
    if delete_topic && !state.replaying && inner.backend.describe_topic(&source.topic)?.is_some() {
        inner.backend.delete_topic(&source.topic)?;
    }
    Ok(status(format!("Source `{name}` (topic: {}) was dropped.", source.topic)))
}

/// `CREATE TYPE [IF NOT EXISTS] name AS type`
pub(crate) fn create_type(
    inner: &Inner,
    name: &str,
    if_not_exists: bool,
    ty: &TypeExpr,
    sql: &str,
) -> Result<StatementResult> {
    let mut state = inner.state.lock();
    if let Some(existing) = state.catalog.custom_type(name) {
        if if_not_exists {
            return Ok(status(format!("Registered custom type with name '{name}' and SQL type {existing}")));
        }
        return Err(Error::user(format!(
            "Cannot register custom type '{name}' since it is already registered with type: {existing}"
        )));
    }
    let resolved = resolve_type(ty, &state.catalog)?;
    inner.log_command(&state, sql)?;
    state.catalog.put_type(name.to_string(), resolved.clone());
    Ok(status(format!("Registered custom type with name '{name}' and SQL type {resolved}")))
}

/// `DROP TYPE [IF EXISTS] name`
pub(crate) fn drop_type(inner: &Inner, name: &str, if_exists: bool, sql: &str) -> Result<StatementResult> {
    let mut state = inner.state.lock();
    if state.catalog.custom_type(name).is_none() {
        if if_exists {
            return Ok(status(format!("Type '{name}' does not exist")));
        }
        return Err(Error::user(format!("Type {name} does not exist.")));
    }
    inner.log_command(&state, sql)?;
    state.catalog.remove_type(name);
    Ok(status(format!("Dropped type '{name}'")))
}

pub(crate) fn status(message: String) -> StatementResult {
    StatementResult::Status { message, query_id: None }
}

pub(crate) fn kind_noun(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

pub(crate) fn kind_upper(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    }
}

fn capitalized(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "Stream",
        SourceKind::Table => "Table",
    }
}

/// The WITH properties of a CREATE, with the engine's defaults behind them.
pub(crate) struct WithProps<'a> {
    props: &'a Properties,
    default_key_format: Option<String>,
    default_value_format: Option<String>,
    wrap_single_default: Option<bool>,
}

const KNOWN_PROPERTIES: &[&str] = &[
    "KAFKA_TOPIC",
    "PARTITIONS",
    "REPLICAS",
    "RETENTION_MS",
    "CLEANUP_POLICY",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "KEY_FORMAT",
    "VALUE_FORMAT",
    "FORMAT",
    "WRAP_SINGLE_VALUE",
    "KEY_DELIMITER",
    "VALUE_DELIMITER",
    "KEY_SCHEMA_ID",
    "VALUE_SCHEMA_ID",
    "KEY_SCHEMA_FULL_NAME",
    "VALUE_SCHEMA_FULL_NAME",
    "VALUE_AVRO_SCHEMA_FULL_NAME",
    "KEY_PROTOBUF_NULLABLE_REPRESENTATION",
    "VALUE_PROTOBUF_NULLABLE_REPRESENTATION",
    "WINDOW_TYPE",
    "WINDOW_SIZE",
    "SOURCE_CONNECTOR",
    "SOURCED_BY_CONNECTOR",
    "QUERY_ID",
];

impl<'a> WithProps<'a> {
    pub(crate) fn new(props: &'a Properties, state: &State, config: &crate::engine::EngineConfig) -> Result<Self> {
        for name in props.keys() {
            if !KNOWN_PROPERTIES.contains(&name.as_str()) {
                return Err(Error::user(format!("Invalid config variable(s) in the WITH clause: {name}")));
            }
        }
        Ok(Self {
            props,
            default_key_format: state.property(config, "ksql.persistence.default.format.key").map(str::to_string),
            default_value_format: state.property(config, "ksql.persistence.default.format.value").map(str::to_string),
            wrap_single_default: state
                .property(config, "ksql.persistence.wrap.single.values")
                .map(|v| v.eq_ignore_ascii_case("true")),
        })
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<String>> {
        Ok(match self.props.get(name) {
            None => None,
            Some(Literal::String(s)) => Some(s.clone()),
            Some(Literal::Int(i)) => Some(i.to_string()),
            Some(Literal::Bigint(i)) => Some(i.to_string()),
            Some(Literal::Boolean(b)) => Some(b.to_string()),
            Some(Literal::Decimal(d)) => Some(d.clone()),
            Some(Literal::Double(d)) => Some(d.to_string()),
            Some(Literal::Null) => None,
        })
    }

    fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::user(format!("Invalid value for {name}: '{s}' is not a number"))),
        }
    }

    /// Key and value formats; `inherit` gives the formats of a query's source for CSAS.
    pub(crate) fn formats(
        &self,
        has_key: bool,
        inherit: Option<(&FormatSpec, &FormatSpec)>,
    ) -> Result<(FormatSpec, FormatSpec)> {
        let format = self.string("FORMAT")?;
        let key_format = self.string("KEY_FORMAT")?;
        let value_format = self.string("VALUE_FORMAT")?;
        if format.is_some() && (key_format.is_some() || value_format.is_some()) {
            let which = if key_format.is_some() { "KEY_FORMAT" } else { "VALUE_FORMAT" };
            return Err(Error::user(format!(
                "Cannot supply both '{which}' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
            )));
        }
        let key_name = format.clone().or(key_format.clone());
        let value_name = format.or(value_format);
        let key_named = key_name.is_some();
        let key_kind = match (key_name, inherit) {
            (Some(name), _) => FormatKind::parse(&name)?,
            (None, Some((key, _))) => key.kind,
            (None, None) => FormatKind::parse(self.default_key_format.as_deref().unwrap_or("KAFKA"))?,
        };
        // A source that gains a key (PARTITION BY on a key-less stream) cannot keep NONE; a query
        // result without key columns (PARTITION BY NULL) has no key format to inherit.
        let key_kind = if has_key && key_kind == FormatKind::None { FormatKind::Kafka } else { key_kind };
        let key_kind = match inherit {
            Some(_) if !has_key && key_format.is_some() => {
                return Err(Error::user("Key format specified for stream without key columns."));
            }
            Some(_) if !has_key && !key_named => FormatKind::None,
            _ => key_kind,
        };
        let value_kind = match (value_name, inherit) {
            (Some(name), _) => FormatKind::parse(&name)?,
            (None, Some((_, value))) => value.kind,
            (None, None) => match &self.default_value_format {
                Some(name) => FormatKind::parse(name)?,
                None => {
                    return Err(Error::user(
                        "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config.",
                    )
                    .with_hint("add VALUE_FORMAT='JSON' (or another format) to the WITH clause"));
                }
            },
        };
        let mut key = FormatSpec::new(key_kind);
        let mut value = FormatSpec::new(value_kind);
        key.wrap_single = false;
        let explicit_wrap = match self.props.get("WRAP_SINGLE_VALUE") {
            Some(Literal::Boolean(b)) => Some(*b),
            Some(Literal::String(s)) => Some(s.eq_ignore_ascii_case("true")),
            Some(other) => return Err(Error::user(format!("Invalid value for WRAP_SINGLE_VALUE: {other:?}"))),
            None => None,
        };
        if explicit_wrap == Some(true) && matches!(value.kind, FormatKind::Kafka | FormatKind::Delimited) {
            return Err(Error::user(format!(
                "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to 'true'.",
                value.kind.name()
            )));
        }
        value.wrap_single = explicit_wrap.or(self.wrap_single_default).unwrap_or(true);
        if let Some((_, inherited)) = inherit
            && value.kind == inherited.kind
        {
            value.delimiter = inherited.delimiter;
        }
        for (spec, prop) in [(&mut key, "KEY_DELIMITER"), (&mut value, "VALUE_DELIMITER")] {
            if let Some(d) = self.string(prop)? {
                if spec.kind != FormatKind::Delimited {
                    return Err(Error::user(format!(
                        "{} does not support the following configs: [delimiter]",
                        spec.kind.name()
                    )));
                }
                spec.delimiter = parse_delimiter(prop, &d)?;
            }
        }
        Ok((key, value))
    }

    pub(crate) fn timestamp(&self, columns: &[Column]) -> Result<Option<TimestampSpec>> {
        let Some(column) = self.string("TIMESTAMP")? else {
            if self.props.contains_key("TIMESTAMP_FORMAT") {
                return Err(Error::user("TIMESTAMP_FORMAT needs TIMESTAMP: name the column to read the time from"));
            }
            return Ok(None);
        };
        // An unquoted column name in the property is upper-cased, like identifiers.
        let name = match columns.iter().find(|c| c.name == column) {
            Some(c) => c.name.clone(),
            None => match columns.iter().find(|c| c.name == column.to_ascii_uppercase()) {
                Some(c) => c.name.clone(),
                None => {
                    return Err(Error::user(format!(
                        "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{}'",
                        column.to_ascii_uppercase()
                    )));
                }
            },
        };
        Ok(Some(TimestampSpec { column: name, format: self.string("TIMESTAMP_FORMAT")? }))
    }

    pub(crate) fn window_type(&self) -> Result<Option<WindowType>> {
        let Some(kind) = self.string("WINDOW_TYPE")? else {
            return Ok(None);
        };
        let size = match self.string("WINDOW_SIZE")? {
            Some(s) => Some(parse_duration(&s)?),
            None => None,
        };
        Ok(Some(match (kind.to_ascii_uppercase().as_str(), size) {
            ("SESSION", _) => WindowType::Session,
            ("TUMBLING", Some(size_ms)) => WindowType::Tumbling { size_ms },
            ("HOPPING", Some(size_ms)) => WindowType::Hopping { size_ms },
            ("TUMBLING" | "HOPPING", None) => {
                return Err(Error::user(format!(
                    "{kind} windows require 'WINDOW_SIZE' to be provided in the WITH clause."
                )));
            }
            (other, _) => return Err(Error::user(format!("Invalid WINDOW_TYPE: {other}"))),
        }))
    }

    /// Topic settings for a topic this statement creates.
    pub(crate) fn topic_config(&self, kind: SourceKind, default_partitions: i32) -> Result<TopicConfig> {
        let partitions = match self.int("PARTITIONS")? {
            Some(p) if p >= 1 && p <= i32::MAX as i64 => p as i32,
            Some(p) => return Err(Error::user(format!("Invalid value for PARTITIONS: {p}"))),
            None => default_partitions,
        };
        let replicas = self.int("REPLICAS")?.unwrap_or(1).clamp(1, i16::MAX as i64) as i16;
        let cleanup_policy = match self.string("CLEANUP_POLICY")?.map(|s| s.to_ascii_lowercase()) {
            Some(p) if p == "compact" => CleanupPolicy::Compact,
            Some(p) if p == "delete" => CleanupPolicy::Delete,
            Some(p) if p.contains("compact") && p.contains("delete") => CleanupPolicy::CompactDelete,
            Some(p) => {
                return Err(Error::user(format!("Invalid value for CLEANUP_POLICY: '{p}'")));
            }
            None if kind == SourceKind::Table => CleanupPolicy::Compact,
            None => CleanupPolicy::Delete,
        };
        Ok(TopicConfig { partitions, replicas, cleanup_policy, retention_ms: self.int("RETENTION_MS")? })
    }
}

fn parse_delimiter(prop: &str, text: &str) -> Result<char> {
    match text.trim() {
        "TAB" => Ok('\t'),
        "SPACE" => Ok(' '),
        "" => Err(Error::user(format!(
            "Failed to prepare statement: Configuration {prop} is invalid: Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'\nExample valid value: ';'"
        ))),
        t => {
            let mut chars = t.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(Error::user(format!(
                    "Failed to prepare statement: Configuration {prop} is invalid: Invalid delimiter value: '{t}'. Delimiter must be a single character or TAB,SPACE\nExample valid value: ';'"
                ))),
            }
        }
    }
}

/// `'20 SECONDS'` → milliseconds.
pub(crate) fn parse_duration(text: &str) -> Result<u64> {
    let mut parts = text.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::user(format!("Invalid duration: '{text}'")));
    };
    let n: u64 = n.parse().map_err(|_| Error::user(format!("Invalid duration: '{text}'")))?;
    let factor = match unit.to_ascii_uppercase().trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return Err(Error::user(format!("Invalid duration unit in '{text}'"))),
    };
    Ok(n * factor)
}
