//! The REPL's output: the only place in the REPL that prints.
//!
//! Results are laid out by [`super::table`] for the terminal's width and printed line by line
//! (stdout is line-buffered, so each row shows as soon as it is printed — push query rows
//! must appear as they arrive). Errors go to stdout too, where the user is looking, with the
//! statement line and a caret under the error position.
#![allow(clippy::print_stdout)]

use rivulet::engine::StatementResult;
use rivulet::engine::result::{Row, SourceDescription};

use super::table::{self, Style};

/// Prints lines as they are.
pub fn lines(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}

/// Prints one line.
pub fn line(text: &str) {
    println!("{text}");
}

/// Prints a statement's complete result (everything but a push query, which streams).
pub fn result(result: &StatementResult, width: usize) {
    let listing = |header: &[&str], rows: Vec<Vec<String>>| {
        let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        lines(&table::render(&header, &rows, width, Style::Listing));
    };
    match result {
        StatementResult::Status { message, .. } => {
            if !message.is_empty() {
                listing(&["Message"], vec![vec![message.clone()]]);
            }
        }
        StatementResult::Streams(list) | StatementResult::Tables(list) => {
            let noun = if matches!(result, StatementResult::Streams(_)) { "Stream Name" } else { "Table Name" };
            let rows = list
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        s.topic.clone(),
                        s.key_format.clone(),
                        s.value_format.clone(),
                        s.windowed.to_string(),
                    ]
                })
                .collect();
            listing(&[noun, "Kafka Topic", "Key Format", "Value Format", "Windowed"], rows);
        }
        StatementResult::Queries(list) => {
            let rows = list
                .iter()
                .map(|q| {
                    vec![
                        q.id.clone(),
                        "PERSISTENT".into(),
                        q.state.clone(),
                        q.sinks.join(","),
                        q.sink_topics.join(","),
                        q.sql.clone(),
                    ]
                })
                .collect();
            listing(&["Query ID", "Query Type", "Status", "Sink Name", "Sink Kafka Topic", "Query String"], rows);
        }
        StatementResult::Topics(list) => {
            let rows =
                list.iter().map(|t| vec![t.name.clone(), t.partitions.to_string(), t.replicas.to_string()]).collect();
            listing(&["Kafka Topic", "Partitions", "Partition Replicas"], rows);
        }
        StatementResult::Functions(list) => {
            let rows = list.iter().map(|f| vec![f.name.clone(), f.kind.to_string(), f.description.clone()]).collect();
            listing(&["Function Name", "Type", "Description"], rows);
        }
        StatementResult::Properties(list) => {
            listing(&["Property", "Value"], list.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect());
        }
        StatementResult::Types(list) => {
            listing(&["Type Name", "Schema"], list.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect());
        }
        StatementResult::Variables(list) => {
            listing(&["Variable Name", "Value"], list.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect());
        }
        StatementResult::Description(d) => describe(d, width),
        StatementResult::Descriptions(list) => {
            for d in list {
                describe(d, width);
                line("");
            }
        }
        StatementResult::Explain { sql, plan } => {
            line(&format!("{:<20} : {sql}", "SQL"));
            line("");
            line("Execution plan");
            line("--------------");
            for l in plan.lines() {
                line(l);
            }
        }
        StatementResult::Rows { columns, rows, .. } => {
            let header: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
            lines(&table::render(&header, &rows, width, Style::Rows));
        }
        StatementResult::Push(_) => {}
    }
}

/// DESCRIBE: `Name : X` lines and a field table, as ksqlDB's CLI shows them.
fn describe(d: &SourceDescription, width: usize) {
    let field = |name: &str, value: &str| line(&format!("{name:<20} : {value}"));
    field("Name", &d.name);
    field("Type", &d.kind);
    if let Some(ts) = &d.timestamp {
        field("Timestamp field", ts);
    }
    field("Key format", &d.key_format);
    field("Value format", &d.value_format);
    field("Kafka topic", &d.topic);
    if let Some(window) = &d.window_type {
        field("Window type", window);
    }
    if let Some(partitions) = d.partitions {
        field("Partitions", &partitions.to_string());
    }
    field("Statement", &d.sql);
    let rows: Vec<Vec<String>> = d
        .columns
        .iter()
        .map(|c| vec![c.name.clone(), if c.key { format!("{}  (key)", c.ty) } else { c.ty.clone() }])
        .collect();
    lines(&table::render(&["Field".to_string(), "Type".to_string()], &rows, width, Style::Listing));
    if !d.writers.is_empty() || !d.readers.is_empty() {
        field("Queries that write", &d.writers.join(", "));
        field("Queries that read", &d.readers.join(", "));
    }
    if let Some(stats) = &d.statistics {
        field("Statistics", stats);
    }
}

/// A value as a table cell: strings unquoted, everything else as JSON.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// Prints a push query's header (its column names) and returns the column widths its rows
/// use.
pub fn push_header(names: &[String], width: usize) -> Vec<usize> {
    let widths = table::even_widths(names.len(), width, Style::Rows);
    lines(&table::header_lines(names, &widths));
    widths
}

/// Prints one push query row.
pub fn push_row(row: &Row, widths: &[usize]) {
    let cells: Vec<String> = row.iter().map(cell).collect();
    lines(&table::row_lines(&cells, widths, Style::Rows));
}

/// Prints an error: message, the statement line with a caret under the position, the hint.
pub fn error(e: &rivulet::Error, statement: Option<&str>) {
    line(e.message());
    if let (Some(position), Some(text)) = (e.position(), statement) {
        let row = usize::try_from(position.line).unwrap_or(1).saturating_sub(1);
        let column = usize::try_from(position.column).unwrap_or(1).saturating_sub(1);
        if let Some(source_line) = text.lines().nth(row) {
            line(&format!("  {source_line}"));
            line(&format!("  {}^", " ".repeat(column.min(source_line.chars().count()))));
        }
        if text.lines().nth(1).is_some() {
            line(&format!("at line {}, column {}", position.line, position.column));
        }
    }
    if let Some(hint) = e.hint() {
        line(&format!("Hint: {hint}"));
    }
}

/// The text of HELP.
pub const HELP: &str = "\
Rivulet: statements end with ';' and may span several lines. Tab completes keywords,
stream, table, column, function and property names. Ctrl-C stops a running query (or
clears the line), Ctrl-D exits.

Statements (ksqlDB's dialect):
  CREATE STREAM s (id VARCHAR KEY, ...) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON');
  CREATE TABLE t AS SELECT k, COUNT(*) FROM s WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY k;
  CREATE STREAM s2 AS SELECT ... FROM s WHERE ... EMIT CHANGES;
  INSERT INTO s (col, ...) VALUES (...);
  SELECT ... FROM s EMIT CHANGES [LIMIT n];     push query: rows as they arrive
  SELECT ... FROM t WHERE k = 'x';              pull query: a table's current rows
  SHOW STREAMS | TABLES | QUERIES | TOPICS | FUNCTIONS | PROPERTIES | TYPES | VARIABLES;
  DESCRIBE s [EXTENDED];   EXPLAIN query_id;   TERMINATE query_id | ALL;
  DROP STREAM | TABLE [IF EXISTS] s [DELETE TOPIC];
  SET 'auto.offset.reset'='earliest';   UNSET 'auto.offset.reset';
  DEFINE name = 'value';  (then ${name} in statements)   UNDEFINE name;
  PRINT 'topic' [FROM BEGINNING] [INTERVAL n] [LIMIT n];
  RUN SCRIPT 'file.sql';

REPL commands (no ';' needed): help, clear, history, version, exit";
