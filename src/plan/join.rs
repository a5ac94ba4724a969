//! Planning of joins: two sources, a join criterion, and the projection over the joined row.
//!
//! A join is planned in two parts. The *criterion* (`ON l_expr = r_expr`) becomes one physical
//! expression per side, compiled over that side's input batches (`exec::source::input_schema`):
//! the operator keys each side's state by its value, so joining on something that is not a
//! side's key simply keys that side by the expression (see `exec::join` for why no repartition
//! topic is needed). The *projection* is compiled over the joined row, whose columns are every
//! column of both sides named `<ALIAS>_<COLUMN>` as ksqlDB names them (`T_ID`, `TT_F1`,
//! `T_ROWTIME`), then the join key, the result's ROWTIME, headers and null-value flag.
//!
//! Column references are rewritten onto those names before planning: `T.ID` becomes `T_ID`,
//! an unqualified `NAME` the one side's column that has it (ambiguous if both have it), and the
//! synthetic key (`ROWKEY`, used when the criterion names no plain column or the join is FULL
//! OUTER) the join key itself. Names of the result's columns follow ksqlDB: a qualified column
//! `t.id` is `T_ID`, an unqualified one keeps its name, `*` expands to both sides' prefixed
//! columns (after the synthetic key, if there is one; with PARTITION BY, each side's value
//! columns, ROWTIME, ROWPARTITION, ROWOFFSET and then its key, as ksqlDB's repartition lays
//! them out).
//!
//! Under GROUP BY, [`plan_join_input`] plans the join instead to pass the joined row on to the
//! aggregation (`plan::aggregate`), which treats it as a source of its own.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::physical_expr::PhysicalExpr;

use crate::catalog::{Catalog, Column, ColumnRole, Source};
use crate::error::{Error, Result};
use crate::exec::source::{self, ROWOFFSET, ROWPARTITION, ROWTIME, WINDOWEND, WINDOWSTART};
use crate::format::FormatKind;
use crate::plan::expr::{ExprPlanner, default_column_name, expr_text};
use crate::plan::select::{Item, check_key_type, check_result_columns, checked_alias, in_clause, struct_items};
use crate::sql::ast::{self, Expr, JoinKind, Query, SelectItem, SourceKind};
use crate::sql::types::SqlType;

/// Name of the join key in the joined row.
pub const JOIN_KEY_COLUMN: &str = "__join_key";

/// Default grace period of a join window without GRACE PERIOD: 24 hours, as in Kafka Streams.
const DEFAULT_GRACE_MS: u64 = 24 * 60 * 60 * 1000;

/// What is joined to what: the operator's state differs for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinShape {
    /// Both sides buffered in window stores.
    StreamStream,
    /// The stream looks its key up in the table's current rows.
    StreamTable,
    /// Both sides are tables; the result is a table.
    TableTable,
}

/// The join window of a stream-stream join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindowPlan {
    /// A left record joins right records down to this much earlier.
    pub before_ms: i64,
    /// A left record joins right records up to this much later.
    pub after_ms: i64,
    /// How long after a window ends its records are still accepted.
    pub grace_ms: i64,
    /// `GRACE PERIOD` was given: outer joins then emit a null-padded row only once the record's
    /// window has closed (Kafka Streams' spurious-result fix); without it they emit it at once.
    pub explicit_grace: bool,
}

/// One side of a join.
pub struct JoinSide {
    /// The source read.
    pub source: Source,
    /// The name its columns are qualified with (the alias, or the source name).
    pub alias: String,
    /// Schema of the side's input batches.
    pub input_schema: SchemaRef,
    /// The side's half of the criterion, over `input_schema`.
    pub key: Arc<dyn PhysicalExpr>,
    /// How many leading input columns the joined row carries (all but headers and null flag).
    pub width: usize,
    /// Those columns, renamed `<ALIAS>_<COLUMN>` and nullable (an outer join pads with nulls).
    pub schema: SchemaRef,
}

/// A compiled join query.
pub struct JoinPlan {
    /// The left (FROM) side.
    pub left: JoinSide,
    /// The right (JOIN) side.
    pub right: JoinSide,
    /// INNER, LEFT, RIGHT or FULL.
    pub kind: JoinKind,
    /// What the sides are.
    pub shape: JoinShape,
    /// The window of a stream-stream join.
    pub window: Option<JoinWindowPlan>,
    /// Type of the join key (both sides' key values are cast to it).
    pub key_type: DataType,
    /// Schema of the joined rows: left columns, right columns, join key, ROWTIME, headers,
    /// null-value flag.
    pub joined_schema: SchemaRef,
    /// WHERE, over the joined row.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// One expression per output column (key first), then ROWTIME, headers and null flag.
    pub projection: Vec<Arc<dyn PhysicalExpr>>,
    /// Output columns with their roles.
    pub columns: Vec<Column>,
    /// Schema of the output batches.
    pub output_schema: SchemaRef,
    /// The result is a table: a row that fails WHERE becomes a tombstone.
    pub changelog: bool,
    /// LIMIT, for push queries.
    pub limit: Option<u64>,
}

impl JoinPlan {
    /// Stream or table.
    pub fn result_kind(&self) -> SourceKind {
        if self.shape == JoinShape::TableTable { SourceKind::Table } else { SourceKind::Stream }
    }
}

/// The result kind a join query produces, without planning it (for the statement check).
pub fn join_result_kind(query: &Query, catalog: &Catalog) -> Result<SourceKind> {
    let left = catalog.require_source(&query.from.source.name)?;
    let all_tables = left.kind == SourceKind::Table
        && query.from.joins.iter().all(|j| catalog.source(&j.source.name).is_some_and(|s| s.kind == SourceKind::Table));
    Ok(if all_tables { SourceKind::Table } else { SourceKind::Stream })
}

/// Plans a join query. `sink` names the result in messages; `None` for a push query, whose
/// projection need not carry the key.
pub fn plan_join(query: &Query, catalog: &Catalog, sink: Option<&str>) -> Result<JoinPlan> {
    let transient = sink.is_none();
    let sink = sink.unwrap_or("QUERY");
    if query.from.joins.len() > 1 {
        return Err(Error::user("joins of more than two sources are not supported yet"));
    }
    if query.window.is_some() {
        return Err(Error::user("WINDOW clause requires a GROUP BY clause."));
    }
    let Core { left, right, kind, shape, window, key_type, left_type, joined_schema, scope, eligible } =
        join_core(query, catalog)?;
    let planner = ExprPlanner::new(joined_schema.clone(), catalog, Vec::new())?;

    let items = scope.expand_items(query, &planner)?;
    let filter = match &query.where_clause {
        Some(w) => Some(planner.physical(&scope.rewrite(w)?).map_err(|e| in_clause(e, "WHERE"))?),
        None => None,
    };
    for item in &items {
        planner.physical(&item.expr).map_err(|e| in_clause(e, "SELECT"))?;
    }

    // Which item is the key.
    let is_key_expr = |e: &Expr, target: &str| matches!(e, Expr::Column { qualifier: None, name } if name == target);
    let mut key_item = None;
    // PARTITION BY: the result is keyed by the partitioning expressions instead.
    let mut partition_items = Vec::new();
    for partition in &query.partition_by {
        let rewritten = scope.rewrite(partition).map_err(|e| in_clause(e, "PARTITION BY"))?;
        planner.physical(&rewritten).map_err(|e| in_clause(e, "PARTITION BY"))?;
        let found: Vec<usize> =
            items.iter().enumerate().filter(|(_, it)| it.expr == rewritten).map(|(i, _)| i).collect();
        match found.as_slice() {
            [one] => partition_items.push(*one),
            [] => {
                let text = expr_text(partition);
                return Err(Error::user(format!(
                    "The query used to build `{sink}` must include the partitioning expression {text} in its projection (eg, SELECT {text}...)."
                )));
            }
            [first, second, ..] => {
                return Err(Error::user(format!(
                    "The projection contains a key column (`{}`) more than once, aliased as: {} and {}.",
                    expr_text(partition),
                    items[*first].name,
                    items[*second].name
                )));
            }
        }
    }
    if !transient && partition_items.is_empty() {
        let targets: Vec<String> = match &scope.synthetic {
            Some(_) => vec![JOIN_KEY_COLUMN.to_string()],
            None => eligible.iter().map(|(column, _)| column.clone()).collect(),
        };
        for target in &targets {
            let found: Vec<usize> =
                items.iter().enumerate().filter(|(_, it)| is_key_expr(&it.expr, target)).map(|(i, _)| i).collect();
            if let [first, second, ..] = found.as_slice() {
                let mut names = [items[*first].name.clone(), items[*second].name.clone()];
                names.sort();
                let shown = if target == JOIN_KEY_COLUMN {
                    scope.synthetic.clone().unwrap_or_default()
                } else {
                    target.clone()
                };
                return Err(Error::user(format!(
                    "The projection contains a key column (`{shown}`) more than once, aliased as: {} and {}.",
                    names[0], names[1]
                )));
            }
            if key_item.is_none() {
                key_item = found.first().copied();
            }
        }
        if key_item.is_none() {
            let preamble = "Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.";
            return Err(Error::user(match &scope.synthetic {
                Some(name) => format!(
                    "{preamble}\nThe query used to build `{sink}` must include the join expression {name} in its projection (eg, SELECT {name}...).\n{name} was added as a synthetic key column because the join criteria did not match any source column. This expression must be included in the projection and may be aliased."
                ),
                None => {
                    let shown: Vec<&str> = eligible.iter().map(|(_, text)| text.as_str()).collect();
                    let noun = if shown.len() == 1 { "expression" } else { "expressions" };
                    format!(
                        "{preamble}\nThe query used to build `{sink}` must include the join {noun} {} in its projection (eg, SELECT {}...).",
                        shown.join(" or "),
                        shown[0]
                    )
                }
            }));
        }
    }

    let mut columns = Vec::with_capacity(items.len());
    let mut projection = Vec::with_capacity(items.len() + 3);
    for &k in &partition_items {
        let ty = planner.sql_type(&items[k].expr)?;
        check_key_type(&items[k].name, &ty)?;
        columns.push(Column { name: items[k].name.clone(), ty, role: ColumnRole::Key });
        projection.push(planner.physical(&items[k].expr)?);
    }
    if let Some(k) = key_item {
        check_key_type(&items[k].name, &left_type)?;
        columns.push(Column { name: items[k].name.clone(), ty: left_type.clone(), role: ColumnRole::Key });
        // The key is the join key even where the named column is null (the padded side of an
        // outer join), as in ksqlDB.
        projection.push(planner.physical(&Expr::Column { qualifier: None, name: JOIN_KEY_COLUMN.into() })?);
    }
    for (i, item) in items.iter().enumerate() {
        if Some(i) == key_item || partition_items.contains(&i) {
            continue;
        }
        let ty = planner.sql_type(&item.expr)?;
        columns.push(Column { name: item.name.clone(), ty, role: ColumnRole::Value });
        projection.push(planner.physical(&item.expr)?);
    }
    check_result_columns(&columns, transient)?;
    let mut out_fields: Vec<Field> = columns.iter().map(Column::field).collect();
    for name in [ROWTIME, source::HEADERS_COLUMN, source::NULL_VALUE_COLUMN] {
        projection.push(planner.physical(&Expr::Column { qualifier: None, name: name.into() })?);
        out_fields.push(joined_schema.field_with_name(name)?.clone());
    }
    Ok(JoinPlan {
        left,
        right,
        kind,
        shape,
        window,
        key_type,
        joined_schema,
        filter,
        projection,
        columns,
        output_schema: Arc::new(Schema::new(out_fields)),
        changelog: !transient && shape == JoinShape::TableTable,
        limit: query.limit,
    })
}

/// What planning the join itself yields, before the projection over the joined row.
struct Core {
    left: JoinSide,
    right: JoinSide,
    kind: JoinKind,
    shape: JoinShape,
    window: Option<JoinWindowPlan>,
    key_type: DataType,
    /// SQL type of the join key.
    left_type: SqlType,
    joined_schema: SchemaRef,
    scope: Scope,
    /// The criterion's plain columns that may be the result's key: (joined-row name, `A.B`).
    eligible: Vec<(String, String)>,
}

/// Checks and plans the two sources and the criterion, and lays out the joined row.
fn join_core(query: &Query, catalog: &Catalog) -> Result<Core> {
    let [join] = query.from.joins.as_slice() else {
        return Err(Error::user("joins of more than two sources are not supported yet"));
    };
    let left_source = catalog.require_source(&query.from.source.name)?.clone();
    let right_source = catalog.require_source(&join.source.name)?.clone();
    if left_source.name == right_source.name {
        return Err(Error::user(format!(
            "Can not join '{0}' to '{0}': self joins are not yet supported.",
            left_source.name
        )));
    }
    let kafka: Vec<&str> = [&left_source, &right_source]
        .into_iter()
        .filter(|s| s.value_format.kind == FormatKind::Kafka)
        .map(|s| s.name.as_str())
        .collect();
    if !kafka.is_empty() {
        return Err(Error::user(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.",
            kafka.join(", ")
        )));
    }
    check_windows(&left_source, &right_source)?;
    let shape = match (left_source.kind, right_source.kind) {
        (SourceKind::Stream, SourceKind::Stream) => JoinShape::StreamStream,
        (SourceKind::Stream, SourceKind::Table) => JoinShape::StreamTable,
        (SourceKind::Table, SourceKind::Table) => JoinShape::TableTable,
        (SourceKind::Table, SourceKind::Stream) => {
            return Err(Error::user(format!(
                "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {} {} {}.",
                left_source.name,
                join_words(join.kind),
                right_source.name
            )));
        }
    };
    let scope = Scope {
        left: (left_source.clone(), query.from.source.alias.clone().unwrap_or_else(|| left_source.name.clone())),
        right: (right_source.clone(), join.source.alias.clone().unwrap_or_else(|| right_source.name.clone())),
        synthetic: None,
    };

    // The criterion: one plain equality, each side reading exactly one source.
    let (on_left, on_right) = match &join.on {
        Expr::Binary { op: ast::BinaryOp::Eq, left, right } => (left.as_ref(), right.as_ref()),
        Expr::Binary { op: ast::BinaryOp::And, .. } => {
            return Err(Error::user(format!(
                "Invalid join condition: joins on multiple conditions are not yet supported. Got {}.",
                criterion_text(&join.on)
            )));
        }
        other => {
            return Err(Error::user(format!(
                "Unsupported join expression: {}. Only equality joins are supported.",
                criterion_text(other)
            )));
        }
    };
    // Unknown qualifiers are reported before ambiguous names.
    for e in [on_left, on_right] {
        scope.check_qualifiers(e)?;
    }
    let mut sides = Vec::new();
    for e in [on_left, on_right] {
        let mut refs = Vec::new();
        scope.sides_of(e, &mut refs)?;
        refs.sort_unstable();
        refs.dedup();
        match refs.as_slice() {
            [one] => sides.push(*one),
            _ => {
                return Err(Error::user(format!(
                    "Invalid comparison expression '{}' in join '{}'. Each side of the join comparision must contain references from exactly one source.",
                    expr_text(e),
                    criterion_text(&join.on)
                )));
            }
        }
    }
    let (left_on, right_on) = match (sides[0], sides[1]) {
        (0, 1) => (on_left, on_right),
        (1, 0) => (on_right, on_left),
        _ => {
            return Err(Error::user(format!(
                "Each side of the join must reference exactly one source and not the same source. Left side references {0} and right references {0}",
                if sides[0] == 0 { &scope.left.1 } else { &scope.right.1 }
            )));
        }
    };
    let left_planner = side_planner(&scope.left, catalog)?;
    let right_planner = side_planner(&scope.right, catalog)?;
    let left_key = left_planner.physical(left_on).map_err(|e| in_clause(e, "JOIN ON"))?;
    let right_key = right_planner.physical(right_on).map_err(|e| in_clause(e, "JOIN ON"))?;
    let left_type = left_planner.sql_type(left_on)?;
    let right_type = right_planner.sql_type(right_on)?;
    if left_type != right_type {
        return Err(Error::user(format!(
            "Invalid join condition: types don't match. Got {}{{{left_type}}} = {}{{{right_type}}}.",
            qualified_text(left_on, &scope.left.1),
            qualified_text(right_on, &scope.right.1)
        )));
    }
    let window = match (shape, join.within) {
        (JoinShape::StreamStream, Some(w)) => Some(JoinWindowPlan {
            before_ms: w.before_ms as i64,
            after_ms: w.after_ms as i64,
            grace_ms: join.grace_ms.unwrap_or(DEFAULT_GRACE_MS) as i64,
            explicit_grace: join.grace_ms.is_some(),
        }),
        (JoinShape::StreamStream, None) => {
            return Err(Error::user(
                "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select",
            ));
        }
        (_, Some(_)) => {
            return Err(Error::user(format!(
                "A window definition was provided for a {} join. These joins are not windowed. Please drop the window definition (ie. the WITHIN clause) and try to re-run your join.",
                if shape == JoinShape::StreamTable { "Stream-Table" } else { "Table-Table" }
            )));
        }
        (_, None) => None,
    };
    if shape == JoinShape::StreamTable && matches!(join.kind, JoinKind::Right | JoinKind::Full) {
        let name = if join.kind == JoinKind::Right { "right" } else { "full-outer" };
        return Err(Error::user(format!("Invalid join type: {name} join not supported for stream-table join.")));
    }

    let key_name = match (left_on, right_on) {
        (Expr::Column { name, .. }, _) => prefixed(&scope.left.1, name),
        (_, Expr::Column { name, .. }) => prefixed(&scope.right.1, name),
        _ => synthetic_key_name(&left_source, &right_source),
    };
    check_key_type(&key_name, &left_type)?;
    // A windowed source is keyed by its key and window; it cannot be re-keyed.
    for (source, on) in [(&left_source, left_on), (&right_source, right_on)] {
        let on_key = matches!(on, Expr::Column { name, .. } if source.key_columns().count() == 1 && source.key_columns().any(|k| &k.name == name));
        if source.window.is_some() && !on_key {
            return Err(Error::user(
                "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
            ));
        }
    }
    if left_source.window.is_some() {
        return Err(Error::user("joins of windowed sources are not supported yet"));
    }
    // A table is keyed by its primary key: joining on anything else would need a foreign-key
    // join.
    for (table, on, alias) in [(&left_source, left_on, &scope.left.1), (&right_source, right_on, &scope.right.1)] {
        if table.kind != SourceKind::Table {
            continue;
        }
        let on_key = matches!(on, Expr::Column { name, .. } if table.key_columns().count() == 1 && table.key_columns().any(|k| &k.name == name));
        if !on_key {
            let key = table.key_columns().map(|k| k.name.clone()).collect::<Vec<_>>().join(", ");
            return Err(if shape == JoinShape::TableTable {
                Error::user(format!(
                    "Invalid join condition: table-table joins require to join on the primary key of the right input table. Got {} = {}.",
                    qualified_text(left_on, &scope.left.1),
                    qualified_text(right_on, &scope.right.1)
                ))
                .with_hint("foreign-key table-table joins are not supported yet")
            } else {
                Error::user(format!(
                    "Cannot repartition a TABLE source. If this is a join, make sure that the criteria uses the TABLE's key column {key} instead of {}",
                    qualified_text(on, alias)
                ))
            });
        }
    }

    // The key of the result: the criterion's column, or a synthetic ROWKEY when the criterion
    // names no plain column or either side may be missing (FULL OUTER).
    let eligible: Vec<(String, String)> = if join.kind == JoinKind::Full {
        Vec::new()
    } else {
        [(left_on, &scope.left), (right_on, &scope.right)]
            .into_iter()
            .filter_map(|(e, (_, alias))| match e {
                Expr::Column { name, .. } => Some((prefixed(alias, name), format!("{alias}.{name}"))),
                _ => None,
            })
            .collect()
    };
    let mut scope = scope;
    if eligible.is_empty() {
        scope.synthetic = Some(synthetic_key_name(&left_source, &right_source));
    }

    let left = join_side(&scope.left, left_key)?;
    let right = join_side(&scope.right, right_key)?;
    let key_type = left_type.to_arrow();
    let mut fields: Vec<Field> = Vec::new();
    fields.extend(left.schema.fields().iter().map(|f| f.as_ref().clone()));
    fields.extend(right.schema.fields().iter().map(|f| f.as_ref().clone()));
    fields.push(Field::new(JOIN_KEY_COLUMN, key_type.clone(), true));
    fields.push(Field::new(ROWTIME, DataType::Int64, false));
    fields.push(Field::new(source::HEADERS_COLUMN, source::headers_type(), true));
    fields.push(Field::new(source::NULL_VALUE_COLUMN, DataType::Boolean, false));
    let joined_schema: SchemaRef = Arc::new(Schema::new(fields));
    Ok(Core { left, right, kind: join.kind, shape, window, key_type, left_type, joined_schema, scope, eligible })
}

/// A join feeding an aggregation (`... FROM a JOIN b ... GROUP BY ...`): the join passes the
/// whole joined row on, and the aggregation plans its clauses over that row as if it were a
/// source of its own.
pub struct JoinInput {
    /// The join, projecting the joined row laid out as `source::input_schema(&source)`.
    pub join: JoinPlan,
    /// The joined row as a source: the join key (the key: a table-table join's result is
    /// keyed by it, and the aggregation retracts per key), then both sides' columns.
    pub source: Source,
    /// The select list, expanded and named as a join names it, over the joined row.
    pub(crate) items: Vec<Item>,
    /// The query with WHERE, GROUP BY and HAVING rewritten over the joined row.
    pub query: Query,
    /// GROUP BY is the join key alone (a column of the criterion, or the synthetic key).
    pub by_key: bool,
    /// Each joined-row column's source alias and column name, to show an expression in
    /// messages as it was written (`T.NAME` for `T_NAME`).
    columns_by_name: std::collections::HashMap<String, (String, String)>,
}

impl JoinInput {
    /// `e` as the user wrote it, for messages: joined-row columns qualified again.
    pub fn display(&self, e: &Expr) -> String {
        expr_text(&self.unprefixed(e))
    }

    fn unprefixed(&self, e: &Expr) -> Expr {
        match e {
            Expr::Column { qualifier: None, name } => match self.columns_by_name.get(name) {
                Some((alias, column)) => Expr::Column { qualifier: Some(alias.clone()), name: column.clone() },
                None => e.clone(),
            },
            other => other.map_children(&mut |c| Ok::<_, Error>(self.unprefixed(c))).unwrap_or_else(|_| other.clone()),
        }
    }
}

/// Plans the join under an aggregation.
pub fn plan_join_input(query: &Query, catalog: &Catalog) -> Result<JoinInput> {
    // ksqlDB resolves the window bounds of an aggregation over a join against the joined
    // sources, which have none (https://github.com/confluentinc/ksql/issues/5931).
    for item in &query.select {
        if let SelectItem::Expr { expr, .. } = item
            && let Some(bound) = window_bound(expr)
        {
            return Err(Error::user(format!("SELECT column '{bound}' cannot be resolved.")));
        }
    }
    let Core { left, right, kind, shape, window, key_type, left_type, joined_schema, scope, eligible } =
        join_core(query, catalog)?;
    let planner = ExprPlanner::new(joined_schema.clone(), catalog, Vec::new())?;
    let items = scope.expand_items(query, &planner)?;
    let mut rewritten = query.clone();
    rewritten.where_clause = match &query.where_clause {
        Some(w) => Some(scope.rewrite(w).map_err(|e| in_clause(e, "WHERE"))?),
        None => None,
    };
    rewritten.group_by =
        query.group_by.iter().map(|g| scope.rewrite(g).map_err(|e| in_clause(e, "GROUP BY"))).collect::<Result<_>>()?;
    rewritten.having = match &query.having {
        Some(h) => Some(scope.rewrite(h).map_err(|e| in_clause(e, "HAVING"))?),
        None => None,
    };

    // The joined row as a source: the key, then every column of both sides.
    let mut columns = vec![Column { name: JOIN_KEY_COLUMN.into(), ty: left_type, role: ColumnRole::Key }];
    for field in left.schema.fields().iter().chain(right.schema.fields()) {
        let column = Expr::Column { qualifier: None, name: field.name().clone() };
        columns.push(Column { name: field.name().clone(), ty: planner.sql_type(&column)?, role: ColumnRole::Value });
    }
    let kind_of_result = if shape == JoinShape::TableTable { SourceKind::Table } else { SourceKind::Stream };
    let source = Source {
        name: format!("{}_{}", left.source.name, right.source.name),
        kind: kind_of_result,
        // Rows that fail in the aggregation are logged against the left source's topic.
        topic: left.source.topic.clone(),
        columns: columns.clone(),
        key_format: left.source.key_format.clone(),
        value_format: left.source.value_format.clone(),
        timestamp: None,
        window: None,
        read_only: true,
        sql: String::new(),
    };
    let output_schema = source::input_schema(&source);
    let mut projection = Vec::with_capacity(output_schema.fields().len());
    for field in output_schema.fields() {
        let expr = match field.name().as_str() {
            // The joined row is no one record of a partition: it has no position of its own
            // (and a join cannot name these columns unqualified, both sides having them).
            ROWPARTITION => Expr::Literal(ast::Literal::Int(0)),
            ROWOFFSET => Expr::Literal(ast::Literal::Bigint(0)),
            name => Expr::Column { qualifier: None, name: name.to_string() },
        };
        projection.push(planner.physical(&expr)?);
    }
    let join = JoinPlan {
        left,
        right,
        kind,
        shape,
        window,
        key_type,
        joined_schema,
        // WHERE is the aggregation's: a table row it rejects retracts there.
        filter: None,
        projection,
        columns,
        output_schema,
        changelog: shape == JoinShape::TableTable,
        limit: None,
    };
    let by_key = matches!(rewritten.group_by.as_slice(), [Expr::Column { qualifier: None, name }]
        if name == JOIN_KEY_COLUMN || eligible.iter().any(|(column, _)| column == name));
    let mut columns_by_name = std::collections::HashMap::new();
    for side in [&join.left, &join.right] {
        let schema = source::input_schema(&side.source);
        for field in &schema.fields()[..side.width] {
            columns_by_name.insert(prefixed(&side.alias, field.name()), (side.alias.clone(), field.name().clone()));
        }
    }
    Ok(JoinInput { join, source, items, query: rewritten, by_key, columns_by_name })
}

/// The first window-bound column (WINDOWSTART, WINDOWEND) an expression reads.
fn window_bound(e: &Expr) -> Option<String> {
    match e {
        Expr::Column { name, .. } if name == WINDOWSTART || name == WINDOWEND => Some(name.clone()),
        other => {
            let mut found = None;
            let _ = other.map_children(&mut |c| {
                if found.is_none() {
                    found = window_bound(c);
                }
                Ok::<_, Error>(c.clone())
            });
            found
        }
    }
}

fn join_words(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::Inner => "[INNER] JOIN",
        JoinKind::Left => "LEFT [OUTER] JOIN",
        JoinKind::Right => "RIGHT [OUTER] JOIN",
        JoinKind::Full => "FULL [OUTER] JOIN",
    }
}

/// Windowed sources join only windowed sources of the same kind.
fn check_windows(left: &Source, right: &Source) -> Result<()> {
    match (left.window, right.window) {
        (None, None) => Ok(()),
        (Some(l), Some(r)) => {
            let session = |w: crate::catalog::WindowType| w == crate::catalog::WindowType::Session;
            if session(l) != session(r) {
                return Err(Error::user(format!(
                    "Incompatible windowed sources.\nLeft source: {}\nRight source: {}\nSession windowed sources can only be joined to other session windowed sources, and may still not result in expected behaviour as session bounds must be an exact match for the join to work\nHopping and tumbling windowed sources can only be joined to other hopping and tumbling windowed sources",
                    l.name(),
                    r.name()
                )));
            }
            if l != r {
                return Err(Error::user(
                    "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
                ));
            }
            Ok(())
        }
        (l, r) => {
            let describe = |s: &Source, w: Option<crate::catalog::WindowType>| match w {
                Some(w) => format!("`{}` is {} windowed", s.name, w.name()),
                None => format!("`{}` is not windowed", s.name),
            };
            Err(Error::user(format!(
                "Can not join windowed source to non-windowed source.\n{}\n{}",
                describe(left, l),
                describe(right, r)
            )))
        }
    }
}

/// `ROWKEY`, or `ROWKEY_n` with the smallest n no column of either source has.
fn synthetic_key_name(left: &Source, right: &Source) -> String {
    let taken = |n: &str| left.columns.iter().chain(&right.columns).any(|c| c.name == n);
    if !taken("ROWKEY") {
        return "ROWKEY".into();
    }
    (1..).map(|n| format!("ROWKEY_{n}")).find(|n| !taken(n)).unwrap_or_else(|| "ROWKEY".into())
}

fn prefixed(alias: &str, name: &str) -> String {
    format!("{alias}_{name}")
}

/// `(L.A = R.A)` as ksqlDB prints a criterion in messages.
fn criterion_text(e: &Expr) -> String {
    match e {
        Expr::Binary { op, left, right } => {
            let op = match op {
                ast::BinaryOp::And => "AND",
                ast::BinaryOp::Or => "OR",
                ast::BinaryOp::Eq => "=",
                _ => return format!("({})", expr_text(e)),
            };
            let side = |s: &Expr| match s {
                Expr::Binary { .. } => criterion_text(s),
                other => expr_text(other),
            };
            format!("({} {op} {})", side(left), side(right))
        }
        other => expr_text(other),
    }
}

/// An expression with its unqualified columns qualified by `alias`, for messages.
fn qualified_text(e: &Expr, alias: &str) -> String {
    let qualified = qualify(e, alias);
    expr_text(&qualified)
}

fn qualify(e: &Expr, alias: &str) -> Expr {
    match e {
        Expr::Column { qualifier: None, name } => {
            Expr::Column { qualifier: Some(alias.to_string()), name: name.clone() }
        }
        other => other.map_children(&mut |c| Ok::<_, Error>(qualify(c, alias))).unwrap_or_else(|_| other.clone()),
    }
}

fn side_planner<'a>((source, alias): &(Source, String), catalog: &'a Catalog) -> Result<ExprPlanner<'a>> {
    let mut qualifiers = vec![source.name.clone()];
    if alias != &source.name {
        qualifiers.push(alias.clone());
    }
    ExprPlanner::new(source::input_schema(source), catalog, qualifiers)
}

fn join_side((source, alias): &(Source, String), key: Arc<dyn PhysicalExpr>) -> Result<JoinSide> {
    let input_schema = source::input_schema(source);
    // Everything up to ROWOFFSET: the source's columns, window bounds, ROWTIME, ROWPARTITION,
    // ROWOFFSET. Headers and the null flag are the triggering record's, not a side's.
    let width = input_schema.index_of(ROWOFFSET)? + 1;
    let fields: Vec<Field> = input_schema.fields()[..width]
        .iter()
        .map(|f| Field::new(prefixed(alias, f.name()), f.data_type().clone(), true))
        .collect();
    Ok(JoinSide {
        source: source.clone(),
        alias: alias.clone(),
        input_schema,
        key,
        width,
        schema: Arc::new(Schema::new(fields)),
    })
}

/// The two sources in scope, for resolving column references.
struct Scope {
    left: (Source, String),
    right: (Source, String),
    /// The synthetic key's name, when the key is synthetic.
    synthetic: Option<String>,
}

const PSEUDO: [&str; 5] = [ROWTIME, ROWPARTITION, ROWOFFSET, WINDOWSTART, WINDOWEND];

impl Scope {
    fn side(&self, index: usize) -> &(Source, String) {
        if index == 0 { &self.left } else { &self.right }
    }

    /// The side a qualifier names.
    fn qualifier_side(&self, q: &str) -> Result<usize> {
        for i in 0..2 {
            let (source, alias) = self.side(i);
            if alias == q || source.name == q {
                return Ok(i);
            }
        }
        Err(Error::user(format!("'{q}' is not a valid stream/table name or alias."))
            .with_preamble("Failed to prepare statement"))
    }

    fn has_column(&self, index: usize, name: &str) -> bool {
        let (source, _) = self.side(index);
        source.column(name).is_some()
            || (PSEUDO.contains(&name) && (name != WINDOWSTART && name != WINDOWEND || source.window.is_some()))
    }

    /// The side (0 or 1) an unqualified column belongs to.
    fn unqualified_side(&self, name: &str) -> Result<Option<usize>> {
        match (self.has_column(0, name), self.has_column(1, name)) {
            (true, true) => Err(Error::user(format!(
                "Column '{name}' is ambiguous. Could be {}.{name} or {}.{name}.",
                self.left.1, self.right.1
            ))),
            (true, false) => Ok(Some(0)),
            (false, true) => Ok(Some(1)),
            (false, false) => Ok(None),
        }
    }

    /// Fails on a qualifier that names neither source.
    fn check_qualifiers(&self, e: &Expr) -> Result<()> {
        if let Expr::Column { qualifier: Some(q), .. } = e {
            self.qualifier_side(q)?;
            return Ok(());
        }
        let mut result = Ok(());
        let _ = e.map_children(&mut |c| {
            if result.is_ok() {
                result = self.check_qualifiers(c);
            }
            Ok::<_, Error>(c.clone())
        });
        result
    }

    /// Collects the sides an ON expression reads.
    fn sides_of(&self, e: &Expr, out: &mut Vec<usize>) -> Result<()> {
        if let Expr::Column { qualifier, name } = e {
            match qualifier {
                Some(q) => out.push(self.qualifier_side(q)?),
                None => match self.unqualified_side(name)? {
                    Some(side) => out.push(side),
                    None => return Err(Error::user(format!("JOIN ON column '{name}' cannot be resolved."))),
                },
            }
            return Ok(());
        }
        if let Expr::Lambda { body, .. } = e {
            return self.sides_of(body, out);
        }
        let mut result = Ok(());
        let _ = e.map_children(&mut |c| {
            if result.is_ok() {
                result = self.sides_of(c, out);
            }
            Ok::<_, Error>(c.clone())
        });
        result
    }

    /// Rewrites column references onto the joined row's names.
    fn rewrite(&self, e: &Expr) -> Result<Expr> {
        self.rewrite_with(e, &[])
    }

    fn rewrite_with(&self, e: &Expr, params: &[String]) -> Result<Expr> {
        match e {
            Expr::Column { qualifier: Some(q), name } => {
                let side = self.qualifier_side(q)?;
                if !self.has_column(side, name) {
                    return Err(Error::user(format!("column '{q}.{name}' cannot be resolved.")));
                }
                Ok(Expr::Column { qualifier: None, name: prefixed(&self.side(side).1, name) })
            }
            Expr::Column { qualifier: None, name } => {
                if params.contains(name) {
                    return Ok(e.clone());
                }
                if self.synthetic.as_deref() == Some(name.as_str()) {
                    return Ok(Expr::Column { qualifier: None, name: JOIN_KEY_COLUMN.into() });
                }
                if name == ROWTIME {
                    // The result's time.
                    return Ok(e.clone());
                }
                match self.unqualified_side(name)? {
                    Some(side) => Ok(Expr::Column { qualifier: None, name: prefixed(&self.side(side).1, name) }),
                    None => Ok(e.clone()),
                }
            }
            Expr::Lambda { params: names, body } => {
                let mut all = params.to_vec();
                all.extend(names.iter().cloned());
                Ok(Expr::Lambda { params: names.clone(), body: Box::new(self.rewrite_with(body, &all)?) })
            }
            other => other.map_children(&mut |c| self.rewrite_with(c, params)),
        }
    }

    /// A side's columns for `*`. Re-keyed by PARTITION BY, ksqlDB projects the side as its
    /// repartition step lays it out: value columns, ROWTIME, ROWPARTITION, ROWOFFSET, then the
    /// key columns moved into the value.
    fn side_columns(&self, index: usize, repartitioned: bool) -> Vec<Item> {
        let (source, alias) = self.side(index);
        let item = |name: &str| Item {
            name: prefixed(alias, name),
            expr: Expr::Column { qualifier: None, name: prefixed(alias, name) },
        };
        if !repartitioned {
            return source.columns.iter().map(|c| item(&c.name)).collect();
        }
        let values = source.columns.iter().filter(|c| c.role != ColumnRole::Key).map(|c| item(&c.name));
        let pseudo = [ROWTIME, ROWPARTITION, ROWOFFSET].into_iter().map(item);
        let keys = source.columns.iter().filter(|c| c.role == ColumnRole::Key).map(|c| item(&c.name));
        values.chain(pseudo).chain(keys).collect()
    }

    /// Expands `*` and `src.*` and names every item.
    fn expand_items(&self, query: &Query, planner: &ExprPlanner<'_>) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut generated = 0;
        for item in &query.select {
            match item {
                SelectItem::Wildcard => {
                    if let Some(name) = &self.synthetic {
                        items.push(Item {
                            name: name.clone(),
                            expr: Expr::Column { qualifier: None, name: JOIN_KEY_COLUMN.into() },
                        });
                    }
                    items.extend(self.side_columns(0, !query.partition_by.is_empty()));
                    items.extend(self.side_columns(1, !query.partition_by.is_empty()));
                }
                SelectItem::QualifiedWildcard(q) => {
                    let side = self.qualifier_side(q)?;
                    items.extend(self.side_columns(side, !query.partition_by.is_empty()));
                }
                SelectItem::StructWildcard(expr) => items.extend(struct_items(&self.rewrite(expr)?, planner)?),
                SelectItem::Expr { expr, alias } => {
                    let name = match checked_alias(expr, alias.as_deref())? {
                        Some(alias) => alias,
                        None => match expr {
                            // ksqlDB prefixes a column with its source only where both sources
                            // have a column of that name.
                            Expr::Column { qualifier: Some(q), name }
                                if self.has_column(0, name) && self.has_column(1, name) =>
                            {
                                prefixed(&self.side(self.qualifier_side(q)?).1, name)
                            }
                            _ => {
                                let name = default_column_name(expr, generated);
                                if name.starts_with("KSQL_COL_") {
                                    generated += 1;
                                }
                                name
                            }
                        },
                    };
                    items.push(Item { name, expr: self.rewrite(expr).map_err(|e| in_clause(e, "SELECT"))? });
                }
            }
        }
        Ok(items)
    }
}
