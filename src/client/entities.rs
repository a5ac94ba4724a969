//! ksqlDB's `/ksql` entities read back into the engine's [`StatementResult`]s, and ksqlDB's
//! error bodies into [`Error`]s: what lets the REPL's `--server` mode show a server's answers
//! with the same tables and error layout as the embedded REPL.
//!
//! This is the inverse of `server::entity`; the round-trip tests at the bottom hold the two
//! together. Entities this side does not know (from a newer or a real ksqlDB server) come back
//! as a status whose message is the entity's JSON, so that nothing is silently dropped.

use serde_json::Value;

use crate::engine::StatementResult;
use crate::engine::result::{QuerySummary, ResultColumn, SourceDescription, SourceSummary, TopicSummary};
use crate::error::{Error, Position};
use crate::functions::FunctionInfo;
use crate::sql::types::SqlType;

/// The result an entity stands for.
pub fn statement_result(entity: &Value) -> StatementResult {
    let kind = entity.get("@type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "currentStatus" => StatementResult::Status {
            message: text(&entity["commandStatus"]["message"]),
            query_id: entity["commandStatus"]["queryId"].as_str().map(str::to_string),
        },
        "terminate_query" => {
            let id = text(&entity["queryId"]);
            StatementResult::Status { message: format!("Query terminated: {id}"), query_id: Some(id) }
        }
        "streams" => StatementResult::Streams(sources(&entity["streams"])),
        "tables" => StatementResult::Tables(sources(&entity["tables"])),
        "queries" => StatementResult::Queries(list(&entity["queries"]).map(query).collect()),
        "kafka_topics" | "kafka_topics_extended" => StatementResult::Topics(
            list(&entity["topics"])
                .map(|t| {
                    let replicas = t["replicaInfo"].as_array().map(Vec::as_slice).unwrap_or_default();
                    TopicSummary {
                        name: text(&t["name"]),
                        partitions: i32::try_from(replicas.len()).unwrap_or(i32::MAX),
                        replicas: replicas
                            .first()
                            .and_then(Value::as_i64)
                            .and_then(|r| i16::try_from(r).ok())
                            .unwrap_or(1),
                    }
                })
                .collect(),
        ),
        "function_names" => StatementResult::Functions(
            list(&entity["functions"])
                .map(|f| FunctionInfo {
                    name: text(&f["name"]),
                    kind: function_kind(&f["type"]),
                    description: String::new(),
                })
                .collect(),
        ),
        "describe_function" => StatementResult::Functions(vec![FunctionInfo {
            name: text(&entity["name"]),
            kind: function_kind(&entity["type"]),
            description: text(&entity["description"]),
        }]),
        "properties" => StatementResult::Properties(
            list(&entity["properties"]).map(|p| (text(&p["name"]), text(&p["value"]))).collect(),
        ),
        "type_list" => StatementResult::Types(
            entity["types"]
                .as_object()
                .map(|types| types.iter().map(|(name, schema)| (name.clone(), sql_type(schema).to_string())).collect())
                .unwrap_or_default(),
        ),
        "variables" => StatementResult::Variables(
            list(&entity["variables"]).map(|v| (text(&v["name"]), text(&v["value"]))).collect(),
        ),
        "sourceDescription" => StatementResult::Description(Box::new(description(&entity["sourceDescription"]))),
        "source_descriptions" => {
            StatementResult::Descriptions(list(&entity["sourceDescriptions"]).map(description).collect())
        }
        "queryDescription" => {
            let d = &entity["queryDescription"];
            StatementResult::Explain { sql: text(&d["statementText"]), plan: text(&d["executionPlan"]) }
        }
        "warning_entity" => StatementResult::Status { message: text(&entity["message"]), query_id: None },
        _ => StatementResult::Status { message: entity.to_string(), query_id: None },
    }
}

/// A ksqlDB error body as an [`Error`]: the message, and — when the message starts the way
/// Rivulet's errors print (`[preamble: ]line L:C: message (hint: h)`) — its position and hint,
/// so that the REPL can point at the spot in the statement.
pub fn error(body: &Value) -> Error {
    let message = match body.get("message").and_then(Value::as_str) {
        Some(message) => message.to_string(),
        None => body.to_string(),
    };
    let (message, hint) = match message.strip_suffix(')').and_then(|m| m.rsplit_once(" (hint: ")) {
        Some((message, hint)) => (message.to_string(), Some(hint.to_string())),
        None => (message, None),
    };
    let (message, position) = split_position(&message);
    let mut error = Error::user(message);
    if let Some(position) = position {
        error = error.at(position);
    }
    if let Some(hint) = hint {
        error = error.with_hint(hint);
    }
    error
}

/// `line 1:5: Syntax Error ...` (after an optional `Preamble: `) → the message and 1:5.
fn split_position(message: &str) -> (String, Option<Position>) {
    let start = if message.starts_with("line ") { Some(0) } else { message.find(": line ").map(|i| i + 2) };
    let parsed = start.and_then(|start| {
        let rest = message.get(start + "line ".len()..)?;
        let (place, text) = rest.split_once(": ")?;
        let (line, column) = place.split_once(':')?;
        Some((text.to_string(), Position { line: line.parse().ok()?, column: column.parse().ok()? }))
    });
    match parsed {
        Some((text, position)) => (text, Some(position)),
        None => (message.to_string(), None),
    }
}

/// A result column from a `fields[]` element.
pub fn column(field: &Value) -> ResultColumn {
    let sql_type = sql_type(&field["schema"]);
    ResultColumn {
        name: text(&field["name"]),
        ty: sql_type.to_string(),
        sql_type,
        key: field["type"] == "KEY" || field["fieldType"] == "KEY",
    }
}

/// A type from ksqlDB's `SchemaInfo` (`{type, fields, memberSchema, parameters}`); STRING when
/// the schema is not one this side knows.
pub fn sql_type(schema: &Value) -> SqlType {
    match schema["type"].as_str().unwrap_or("") {
        "BOOLEAN" => SqlType::Boolean,
        "INTEGER" => SqlType::Int,
        "BIGINT" => SqlType::Bigint,
        "DOUBLE" => SqlType::Double,
        "DECIMAL" => {
            let parameter = |name: &str| schema["parameters"][name].as_i64().unwrap_or(0);
            SqlType::Decimal(
                u8::try_from(parameter("precision")).unwrap_or(u8::MAX),
                i8::try_from(parameter("scale")).unwrap_or(0),
            )
        }
        "BYTES" => SqlType::Bytes,
        "DATE" => SqlType::Date,
        "TIME" => SqlType::Time,
        "TIMESTAMP" => SqlType::Timestamp,
        "ARRAY" => SqlType::Array(Box::new(sql_type(&schema["memberSchema"]))),
        "MAP" => SqlType::Map(Box::new(SqlType::String), Box::new(sql_type(&schema["memberSchema"]))),
        "STRUCT" => {
            SqlType::Struct(list(&schema["fields"]).map(|f| (text(&f["name"]), sql_type(&f["schema"]))).collect())
        }
        _ => SqlType::String,
    }
}

fn list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().map(Vec::as_slice).unwrap_or_default().iter()
}

/// A string field (other JSON values as their text, null as empty).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn function_kind(value: &Value) -> &'static str {
    match value.as_str() {
        Some("AGGREGATE") => "AGGREGATE",
        Some("TABLE") => "TABLE",
        _ => "SCALAR",
    }
}

fn sources(value: &Value) -> Vec<SourceSummary> {
    list(value)
        .map(|s| SourceSummary {
            name: text(&s["name"]),
            topic: text(&s["topic"]),
            key_format: text(&s["keyFormat"]),
            value_format: text(&s["valueFormat"]),
            windowed: s["isWindowed"].as_bool().unwrap_or(false),
        })
        .collect()
}

fn query(q: &Value) -> QuerySummary {
    let strings = |v: &Value| list(v).map(text).collect();
    QuerySummary {
        id: text(&q["id"]),
        sql: text(&q["queryString"]),
        sinks: strings(&q["sinks"]),
        sink_topics: strings(&q["sinkKafkaTopics"]),
        state: text(&q["state"]),
    }
}

fn description(d: &Value) -> SourceDescription {
    let ids = |v: &Value| list(v).map(|q| text(&q["id"])).collect();
    let optional = |v: &Value| Some(text(v)).filter(|s| !s.is_empty());
    SourceDescription {
        name: text(&d["name"]),
        kind: text(&d["type"]),
        topic: text(&d["topic"]),
        key_format: text(&d["keyFormat"]),
        value_format: text(&d["valueFormat"]),
        timestamp: optional(&d["timestamp"]),
        window_type: optional(&d["windowType"]),
        columns: list(&d["fields"]).map(column).collect(),
        sql: text(&d["statement"]),
        writers: ids(&d["writeQueries"]),
        readers: ids(&d["readQueries"]),
        partitions: if d["extended"].as_bool().unwrap_or(false) {
            d["partitions"].as_i64().and_then(|p| i32::try_from(p).ok())
        } else {
            None
        },
        statistics: optional(&d["statistics"]),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use serde_json::json;

    use super::*;
    use crate::server::entity::{Executed, entity};
    use crate::sql::ast::Statement;

    /// An engine result through the server's entity and back.
    fn round_trip(result: &StatementResult) -> StatementResult {
        let statement = Statement::Show(crate::sql::ast::Show::Streams { extended: false });
        statement_result(&entity(&Executed { text: "x", statement: &statement, result, sequence: 1 }))
    }

    #[test]
    fn listings_survive_the_round_trip() {
        let streams = vec![SourceSummary {
            name: "S".into(),
            topic: "t".into(),
            key_format: "KAFKA".into(),
            value_format: "JSON".into(),
            windowed: true,
        }];
        let StatementResult::Streams(back) = round_trip(&StatementResult::Streams(streams.clone())) else { panic!() };
        assert_eq!(back, streams);
        let queries = vec![QuerySummary {
            id: "CSAS_S_0".into(),
            sql: "CREATE STREAM ...".into(),
            sinks: vec!["S".into()],
            sink_topics: vec!["s".into()],
            state: "RUNNING".into(),
        }];
        let StatementResult::Queries(back) = round_trip(&StatementResult::Queries(queries.clone())) else { panic!() };
        assert_eq!(back, queries);
        let topics = vec![TopicSummary { name: "t".into(), partitions: 3, replicas: 1 }];
        let StatementResult::Topics(back) = round_trip(&StatementResult::Topics(topics.clone())) else { panic!() };
        assert_eq!(back, topics);
        let StatementResult::Status { message, query_id } = round_trip(&StatementResult::Status {
            message: "Created query with ID X".into(),
            query_id: Some("X".into()),
        }) else {
            panic!()
        };
        assert_eq!((message.as_str(), query_id.as_deref()), ("Created query with ID X", Some("X")));
    }

    #[test]
    fn a_description_survives_the_round_trip() {
        let ty = SqlType::Struct(vec![("A".into(), SqlType::Array(Box::new(SqlType::Decimal(10, 2))))]);
        let description = SourceDescription {
            name: "S".into(),
            kind: "STREAM".into(),
            topic: "t".into(),
            key_format: "KAFKA".into(),
            value_format: "JSON".into(),
            timestamp: Some("TS".into()),
            window_type: None,
            columns: vec![
                ResultColumn { name: "ID".into(), ty: "BIGINT".into(), sql_type: SqlType::Bigint, key: true },
                ResultColumn { name: "V".into(), ty: ty.to_string(), sql_type: ty, key: false },
            ],
            sql: "CREATE STREAM S ...".into(),
            writers: vec!["CSAS_S_0".into()],
            readers: vec![],
            partitions: Some(2),
            statistics: None,
        };
        let StatementResult::Description(back) =
            round_trip(&StatementResult::Description(Box::new(description.clone())))
        else {
            panic!()
        };
        assert_eq!(*back, description);
    }

    #[test]
    fn error_bodies_keep_position_and_hint() {
        let e = error(&json!({"@type": "statement_error", "error_code": 40001,
            "message": "line 1:1: Syntax Error: expected a statement, found 'SELEC' (hint: did you mean SELECT?)"}));
        assert_eq!(e.message(), "Syntax Error: expected a statement, found 'SELEC'");
        assert_eq!(e.position(), Some(Position { line: 1, column: 1 }));
        assert_eq!(e.hint(), Some("did you mean SELECT?"));
        let e = error(&json!({"message": "Failed to prepare statement: line 2:7: no such column"}));
        assert_eq!((e.message(), e.position()), ("no such column", Some(Position { line: 2, column: 7 })));
        let e = error(&json!({"message": "Stream FOO does not exist."}));
        assert_eq!((e.message(), e.position(), e.hint()), ("Stream FOO does not exist.", None, None));
    }
}
