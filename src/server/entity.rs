//! ksqlDB's `/ksql` response entities, built from the engine's structured results.
//!
//! One entity per statement, each with `@type`, `statementText` and `warnings`; the shapes
//! follow ksqlDB's rest-model classes (reference §3.2) so that existing clients parse them.

use serde_json::{Map, Value, json};

use crate::engine::result::{QuerySummary, ResultColumn, SourceDescription, SourceSummary, StatementResult};
use crate::sql::ast::{SourceKind, Statement};
use crate::sql::types::SqlType;

/// What the server knows of a statement besides its result: its text and the command it
/// became.
pub struct Executed<'a> {
    pub text: &'a str,
    pub statement: &'a Statement,
    pub result: &'a StatementResult,
    /// The command log's sequence number after the statement (-1 when it logged nothing).
    pub sequence: i64,
}

/// The entity ksqlDB returns for a statement.
pub fn entity(executed: &Executed<'_>) -> Value {
    let text = executed.text;
    let mut body = match executed.result {
        StatementResult::Status { message, query_id } => {
            if let Statement::Terminate(_) = executed.statement {
                json!({
                    "@type": "terminate_query",
                    "queryId": query_id.clone().or_else(|| terminated_id(executed.statement)),
                    "wasTerminated": true,
                })
            } else {
                let mut status = json!({"status": "SUCCESS", "message": message});
                if let Some(id) = query_id {
                    status["queryId"] = json!(id);
                }
                json!({
                    "@type": "currentStatus",
                    "commandId": command_id(executed.statement),
                    "commandStatus": status,
                    "commandSequenceNumber": executed.sequence,
                })
            }
        }
        StatementResult::Streams(list) => json!({"@type": "streams", "streams": sources(list, "STREAM")}),
        StatementResult::Tables(list) => json!({"@type": "tables", "tables": sources(list, "TABLE")}),
        StatementResult::Queries(list) => {
            json!({"@type": "queries", "queries": list.iter().map(query).collect::<Vec<_>>()})
        }
        StatementResult::Topics(list) => json!({
            "@type": "kafka_topics",
            "topics": list
                .iter()
                .map(|t| json!({"name": t.name, "replicaInfo": vec![t.replicas; t.partitions.max(0) as usize]}))
                .collect::<Vec<_>>(),
        }),
        StatementResult::Functions(list) => {
            if let Statement::Describe(_) = executed.statement {
                let f = list.first();
                json!({
                    "@type": "describe_function",
                    "name": f.map(|f| f.name.clone()),
                    "description": f.map(|f| f.description.clone()),
                    "type": f.map(|f| f.kind),
                    "author": "",
                    "version": "",
                    "path": "internal",
                    "functions": [],
                })
            } else {
                json!({
                    "@type": "function_names",
                    "functions": list
                        .iter()
                        .map(|f| json!({"name": f.name, "type": f.kind, "category": category(f.kind)}))
                        .collect::<Vec<_>>(),
                })
            }
        }
        StatementResult::Properties(list) => json!({
            "@type": "properties",
            "properties": list
                .iter()
                .map(|(name, value)| json!({"name": name, "scope": scope(name), "value": value}))
                .collect::<Vec<_>>(),
            "overwrittenProperties": [],
            "defaultProperties": [],
        }),
        StatementResult::Types(list) => {
            let types: Map<String, Value> =
                list.iter().map(|(name, ty)| (name.clone(), type_schema_from_text(ty))).collect();
            json!({"@type": "type_list", "types": types})
        }
        StatementResult::Variables(list) => json!({
            "@type": "variables",
            "variables": list.iter().map(|(name, value)| json!({"name": name, "value": value})).collect::<Vec<_>>(),
        }),
        StatementResult::Description(description) => {
            json!({"@type": "sourceDescription", "sourceDescription": source_description(description)})
        }
        StatementResult::Descriptions(list) => json!({
            "@type": "source_descriptions",
            "sourceDescriptions": list.iter().map(source_description).collect::<Vec<_>>(),
        }),
        StatementResult::Explain { sql, plan } => json!({
            "@type": "queryDescription",
            "queryDescription": {
                "id": "",
                "statementText": sql,
                "windowType": null,
                "fields": [],
                "sources": [],
                "sinks": [],
                "topology": "",
                "executionPlan": plan,
                "overriddenProperties": {},
                "ksqlHostQueryStatus": {},
                "queryType": "PERSISTENT",
                "queryErrors": [],
                "tasksMetadata": [],
                "state": "RUNNING",
            },
        }),
        // The /ksql handler refuses queries before running them; these cannot get here.
        StatementResult::Rows { .. } | StatementResult::Push(_) => json!({"@type": "currentStatus"}),
    };
    if let Value::Object(map) = &mut body {
        map.insert("statementText".into(), json!(text));
        map.insert("warnings".into(), json!([]));
    }
    body
}

/// ksqlDB's command id: `stream/`NAME`/create`, `table/`NAME`/drop`, `terminate/ID/execute`.
pub fn command_id(statement: &Statement) -> String {
    let kind = |k: SourceKind| if k == SourceKind::Table { "table" } else { "stream" };
    match statement {
        Statement::CreateSource(c) => format!("{}/`{}`/create", kind(c.kind), c.name),
        Statement::CreateAsSelect(c) => format!("{}/`{}`/create", kind(c.kind), c.name),
        Statement::DropSource { kind: k, name, .. } => format!("{}/`{}`/drop", kind(*k), name),
        Statement::InsertIntoSelect { target, .. } => format!("stream/`{target}`/create"),
        Statement::CreateType { name, .. } => format!("type/`{name}`/create"),
        Statement::DropType { name, .. } => format!("type/`{name}`/drop"),
        Statement::Terminate(_) => "terminate/query/execute".into(),
        _ => "topic/none/execute".into(),
    }
}

fn terminated_id(statement: &Statement) -> Option<String> {
    match statement {
        Statement::Terminate(crate::sql::ast::QueryTarget::Id(id)) => Some(id.clone()),
        _ => None,
    }
}

fn sources(list: &[SourceSummary], kind: &str) -> Vec<Value> {
    list.iter()
        .map(|s| {
            json!({
                "type": kind,
                "name": s.name,
                "topic": s.topic,
                "keyFormat": s.key_format,
                "valueFormat": s.value_format,
                "isWindowed": s.windowed,
            })
        })
        .collect()
}

fn query(q: &QuerySummary) -> Value {
    json!({
        "queryString": q.sql,
        "sinks": q.sinks,
        "sinkKafkaTopics": q.sink_topics,
        "id": q.id,
        "statusCount": {q.state.clone(): 1},
        "queryType": "PERSISTENT",
        "state": q.state,
    })
}

fn source_description(d: &SourceDescription) -> Value {
    json!({
        "name": d.name,
        "windowType": d.window_type,
        "readQueries": d.readers.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
        "writeQueries": d.writers.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
        "fields": fields(&d.columns),
        "type": d.kind,
        "timestamp": d.timestamp.clone().unwrap_or_default(),
        "statistics": d.statistics.clone().unwrap_or_default(),
        "errorStats": "",
        "extended": d.partitions.is_some(),
        "keyFormat": d.key_format,
        "valueFormat": d.value_format,
        "topic": d.topic,
        "partitions": d.partitions.unwrap_or(0),
        "replication": 1,
        "statement": d.sql,
        "queryOffsetSummaries": [],
        "sourceConstraints": [],
        "clusterStatistics": [],
        "clusterErrorStats": [],
    })
}

/// `fields[]`: `{name, schema, type: "KEY"}` for key columns.
pub fn fields(columns: &[ResultColumn]) -> Vec<Value> {
    columns
        .iter()
        .map(|c| {
            let mut field = json!({"name": c.name, "schema": type_schema(&c.sql_type)});
            if c.key {
                field["type"] = json!("KEY");
            }
            field
        })
        .collect()
}

/// ksqlDB's `SchemaInfo`: `{type, fields, memberSchema, parameters?}`.
fn type_schema(ty: &SqlType) -> Value {
    let name = match ty {
        SqlType::Boolean => "BOOLEAN",
        SqlType::Int => "INTEGER",
        SqlType::Bigint => "BIGINT",
        SqlType::Double => "DOUBLE",
        SqlType::Decimal(..) => "DECIMAL",
        SqlType::String => "STRING",
        SqlType::Bytes => "BYTES",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Array(_) => "ARRAY",
        SqlType::Map(..) => "MAP",
        SqlType::Struct(_) => "STRUCT",
    };
    let mut schema = json!({"type": name, "fields": null, "memberSchema": null});
    match ty {
        SqlType::Decimal(precision, scale) => {
            schema["parameters"] = json!({"precision": precision, "scale": scale});
        }
        SqlType::Array(member) | SqlType::Map(_, member) => schema["memberSchema"] = type_schema(member),
        SqlType::Struct(members) => {
            schema["fields"] = members
                .iter()
                .map(|(name, ty)| json!({"name": name, "schema": type_schema(ty)}))
                .collect::<Vec<_>>()
                .into();
        }
        _ => {}
    }
    schema
}

fn type_schema_from_text(ty: &str) -> Value {
    let catalog = crate::catalog::Catalog::new();
    match crate::sql::parser::parse_type(ty).and_then(|t| crate::plan::expr::resolve_type(&t, &catalog)) {
        Ok(ty) => type_schema(&ty),
        Err(_) => json!({"type": ty, "fields": null, "memberSchema": null}),
    }
}

fn category(kind: &str) -> &'static str {
    match kind {
        "AGGREGATE" => "AGGREGATE",
        "TABLE" => "TABLE",
        _ => "SCALAR",
    }
}

/// Kafka Streams and client settings are `STREAMS`-scoped in ksqlDB; its own are `KSQL`.
fn scope(name: &str) -> &'static str {
    if name.starts_with("ksql.") && !name.starts_with("ksql.streams.") { "KSQL" } else { "STREAMS" }
}

/// The header schema of a query: "`ID` STRING KEY, `COUNT` BIGINT". Push queries mark no
/// keys; pull queries do.
pub fn schema_text(columns: &[ResultColumn], mark_keys: bool) -> String {
    columns
        .iter()
        .map(|c| {
            let key = if mark_keys && c.key { " KEY" } else { "" };
            format!("`{}` {}{key}", c.name, c.ty)
        })
        .collect::<Vec<_>>()
        .join(", ")
}
