//! SHOW, DESCRIBE and EXPLAIN: reading the catalog back as structured results.

use crate::catalog::{ColumnRole, Source};
use crate::engine::Inner;
use crate::engine::result::{
    QuerySummary, ResultColumn, SourceDescription, SourceSummary, StatementResult, TopicSummary,
};
use crate::error::{Error, Result};
use crate::sql::ast::{Describe, Explain, Show, SourceKind, Statement};

/// `SHOW|LIST ...`
pub(crate) fn show(inner: &Inner, show: &Show) -> Result<StatementResult> {
    let state = inner.state.lock();
    let summaries = |kind: SourceKind| -> Vec<SourceSummary> {
        state
            .catalog
            .sources()
            .filter(|s| s.kind == kind)
            .map(|s| SourceSummary {
                name: s.name.clone(),
                topic: s.topic.clone(),
                key_format: s.key_format.kind.name().to_string(),
                value_format: s.value_format.kind.name().to_string(),
                windowed: s.window.is_some(),
            })
            .collect()
    };
    Ok(match show {
        Show::Streams { .. } => StatementResult::Streams(summaries(SourceKind::Stream)),
        Show::Tables { .. } => StatementResult::Tables(summaries(SourceKind::Table)),
        Show::Queries { .. } => StatementResult::Queries(
            state
                .catalog
                .queries()
                .map(|q| QuerySummary {
                    id: q.id.clone(),
                    sql: q.sql.clone(),
                    sinks: vec![q.sink.clone()],
                    sink_topics: vec![q.sink_topic.clone()],
                    state: "RUNNING".into(),
                })
                .collect(),
        ),
        Show::Topics { all, .. } => StatementResult::Topics(
            inner
                .backend
                .list_topics()?
                .into_iter()
                // Internal topics (command log, processing log) only with SHOW ALL TOPICS.
                .filter(|t| *all || !(t.name.starts_with('_') || t.name.starts_with("rivulet_")))
                .map(|t| TopicSummary { name: t.name, partitions: t.config.partitions, replicas: t.config.replicas })
                .collect(),
        ),
        Show::Functions => StatementResult::Functions(state.catalog.functions().list()),
        Show::Properties => {
            let mut props: std::collections::BTreeMap<String, String> = inner.config.properties.clone();
            props.extend(state.session.clone());
            props.entry("auto.offset.reset".into()).or_insert_with(|| "earliest".into());
            StatementResult::Properties(props.into_iter().collect())
        }
        Show::Types => StatementResult::Types(
            state.catalog.custom_types().map(|(name, ty)| (name.clone(), ty.to_string())).collect(),
        ),
        Show::Variables => StatementResult::Variables(state.variables.clone().into_iter().collect()),
        Show::Connectors { .. } | Show::ConnectorPlugins => {
            return Err(Error::user("connectors are not supported: Rivulet does not run Kafka Connect"));
        }
    })
}

/// `DESCRIBE ...`
pub(crate) fn describe(inner: &Inner, describe: &Describe) -> Result<StatementResult> {
    let state = inner.state.lock();
    match describe {
        Describe::Source { name, extended } => {
            let source = state.catalog.require_source(name)?;
            Ok(StatementResult::Description(Box::new(description(inner, &state.catalog, source, *extended)?)))
        }
        Describe::AllSources { kind, extended } => Ok(StatementResult::Descriptions(
            state
                .catalog
                .sources()
                .filter(|s| s.kind == *kind)
                .map(|s| description(inner, &state.catalog, s, *extended))
                .collect::<Result<_>>()?,
        )),
        Describe::Function { name } => {
            let info = state
                .catalog
                .functions()
                .list()
                .into_iter()
                .find(|f| f.name == *name)
                .ok_or_else(|| Error::user(format!("Can't find any functions with the name '{name}'")))?;
            Ok(StatementResult::Functions(vec![info]))
        }
        Describe::Connector { .. } => {
            Err(Error::user("connectors are not supported: Rivulet does not run Kafka Connect"))
        }
    }
}

fn description(
    inner: &Inner,
    catalog: &crate::catalog::Catalog,
    source: &Source,
    extended: bool,
) -> Result<SourceDescription> {
    let mut columns = Vec::new();
    if let Some(_window) = source.window {
        for c in source.key_columns() {
            columns.push(ResultColumn {
                name: c.name.clone(),
                ty: c.ty.to_string(),
                sql_type: c.ty.clone(),
                key: true,
            });
        }
    }
    for c in &source.columns {
        if source.window.is_some() && c.role == ColumnRole::Key {
            continue;
        }
        columns.push(ResultColumn {
            name: c.name.clone(),
            ty: c.ty.to_string(),
            sql_type: c.ty.clone(),
            key: c.role == ColumnRole::Key,
        });
    }
    let (partitions, statistics) = if extended {
        let topic = inner.backend.describe_topic(&source.topic)?;
        let partitions = topic.as_ref().map(|t| t.config.partitions);
        let mut total = 0i64;
        if let Some(t) = &topic {
            for p in 0..t.config.partitions {
                total += inner.backend.end_offset(&source.topic, p)? - inner.backend.start_offset(&source.topic, p)?;
            }
        }
        (partitions, Some(format!("records-in-topic: {total}")))
    } else {
        (None, None)
    };
    Ok(SourceDescription {
        name: source.name.clone(),
        kind: match source.kind {
            SourceKind::Stream => "STREAM".into(),
            SourceKind::Table => "TABLE".into(),
        },
        topic: source.topic.clone(),
        key_format: source.key_format.kind.name().into(),
        value_format: source.value_format.kind.name().into(),
        timestamp: source.timestamp.as_ref().map(|t| t.column.clone()),
        window_type: source.window.map(|w| w.name().to_string()),
        columns,
        sql: source.sql.clone(),
        writers: catalog.queries_writing(&source.name).iter().map(|q| q.id.clone()).collect(),
        readers: catalog.queries_reading(&source.name).iter().map(|q| q.id.clone()).collect(),
        partitions,
        statistics,
    })
}

/// `EXPLAIN statement|query_id`
pub(crate) fn explain(inner: &Inner, explain: &Explain) -> Result<StatementResult> {
    let state = inner.state.lock();
    let (sql, query) = match explain {
        Explain::QueryId(id) => {
            let info = state.catalog.query(&id.to_ascii_uppercase()).ok_or_else(|| {
                Error::user(format!(
                    "Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries."
                ))
            })?;
            let statement = crate::sql::parse(&info.sql)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::internal("a query's statement did not parse back"))?;
            (info.sql.clone(), statement.statement)
        }
        Explain::Statement(statement) => (format!("{statement:?}"), (**statement).clone()),
    };
    let select = match &query {
        Statement::CreateAsSelect(c) => &c.query,
        Statement::InsertIntoSelect { query, .. } => query,
        Statement::Query(q) => q,
        _ => {
            return Err(Error::user("EXPLAIN needs a query: a SELECT, CREATE ... AS SELECT or INSERT INTO ... SELECT"));
        }
    };
    let settings = crate::engine::queries::select_settings(inner, &state);
    let plan = crate::plan::select::plan_select(select, &state.catalog, "EXPLAIN", settings)?;
    let mut text = String::new();
    text.push_str(&format!(
        "Source: {} (topic {}, {} / {})\n",
        plan.source.name,
        plan.source.topic,
        plan.source.key_format.kind.name(),
        plan.source.value_format.kind.name()
    ));
    if let Some(filter) = &plan.filter {
        text.push_str(&format!("  Filter: {filter}\n"));
    }
    text.push_str("  Project:\n");
    for (column, expr) in plan.columns.iter().zip(&plan.projection) {
        let role = if column.role == ColumnRole::Key { " KEY" } else { "" };
        text.push_str(&format!("    {} {}{role} := {expr}\n", column.name, column.ty));
    }
    Ok(StatementResult::Explain { sql, plan: text })
}
