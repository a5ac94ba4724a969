//! Rendering results for the terminal: the only place that prints to stdout.
#![allow(clippy::print_stdout)]

use rivulet::engine::StatementResult;
use rivulet::engine::result::PushQuery;

/// Prints an error to stderr with its position and hint.
pub fn error(e: &rivulet::Error) {
    eprintln!("error: {e}");
}

/// Prints a statement's result.
pub fn result(result: &StatementResult) {
    match result {
        StatementResult::Status { message, .. } => {
            if !message.is_empty() {
                println!("{message}");
            }
        }
        StatementResult::Streams(list) | StatementResult::Tables(list) => {
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
                .collect::<Vec<_>>();
            table(&["Name", "Kafka Topic", "Key Format", "Value Format", "Windowed"], &rows);
        }
        StatementResult::Queries(list) => {
            let rows = list
                .iter()
                .map(|q| vec![q.id.clone(), q.state.clone(), q.sink_topics.join(","), q.sql.clone()])
                .collect::<Vec<_>>();
            table(&["Query ID", "Status", "Sink Kafka Topic", "Query String"], &rows);
        }
        StatementResult::Topics(list) => {
            let rows = list
                .iter()
                .map(|t| vec![t.name.clone(), t.partitions.to_string(), t.replicas.to_string()])
                .collect::<Vec<_>>();
            table(&["Kafka Topic", "Partitions", "Partition Replicas"], &rows);
        }
        StatementResult::Functions(list) => {
            let rows = list
                .iter()
                .map(|f| vec![f.name.clone(), f.kind.to_string(), f.description.clone()])
                .collect::<Vec<_>>();
            table(&["Function Name", "Type", "Description"], &rows);
        }
        StatementResult::Properties(list) | StatementResult::Types(list) | StatementResult::Variables(list) => {
            let rows = list.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect::<Vec<_>>();
            table(&["Name", "Value"], &rows);
        }
        StatementResult::Description(d) => describe(d),
        StatementResult::Descriptions(list) => list.iter().for_each(describe),
        StatementResult::Explain { sql, plan } => println!("{sql}\n\n{plan}"),
        StatementResult::Rows { columns, rows, .. } => {
            let header: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(cell).collect()).collect();
            table(&header, &rows);
        }
        StatementResult::Push(push) => self::push(push),
    }
}

fn describe(d: &rivulet::engine::result::SourceDescription) {
    println!("Name                 : {}", d.name);
    println!("Type                 : {}", d.kind);
    println!("Kafka topic          : {} (key format: {}, value format: {})", d.topic, d.key_format, d.value_format);
    let rows: Vec<Vec<String>> = d
        .columns
        .iter()
        .map(|c| vec![c.name.clone(), if c.key { format!("{} (key)", c.ty) } else { c.ty.clone() }])
        .collect();
    table(&["Field", "Type"], &rows);
}

/// Streams a push query's rows until it ends.
pub fn push(push: &PushQuery) {
    let header: Vec<&str> = push.columns.iter().map(|c| c.name.as_str()).collect();
    println!("|{}|", header.join("|"));
    while let Some(row) = push.next_row() {
        match row {
            Ok(row) => println!("|{}|", row.iter().map(cell).collect::<Vec<_>>().join("|")),
            Err(e) => {
                error(&e);
                break;
            }
        }
    }
    if let Some(limit) = push.limit {
        println!("Limit Reached ({limit} rows)");
    }
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!(" {:<w$} ", c, w = widths[i])).collect();
        println!("|{}|", parts.join("|"));
    };
    line(header.iter().map(|h| h.to_string()).collect());
    println!("|{}|", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("|"));
    for row in rows {
        line(row.clone());
    }
}

/// One line of command output on stdout.
pub fn line(text: &str) {
    println!("{text}");
}
