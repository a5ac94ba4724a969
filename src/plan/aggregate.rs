//! Planning of aggregations: GROUP BY over a stream, a table or a join, optionally windowed.
//!
//! Over a join, `plan::join::plan_join_input` plans the join to pass its whole joined row on
//! and rewrites the clauses over that row's columns (`T_ID` for `t.id`); the aggregation is
//! then planned over the joined row as over a source: a stream, or a table (retracting) for a
//! table-table join.
//!
//! The select list and HAVING are rewritten over the *aggregate schema*, the shape of one
//! group's row: the group keys (`__key_i`), the window bounds (WINDOWSTART, WINDOWEND) when
//! windowed, the aggregate results (`__agg_j`) and the group's ROWTIME. Expressions that match
//! a GROUP BY expression read its key column; aggregate calls read their result column;
//! anything else that reads a source column is not part of the GROUP BY, which is an error as
//! in ksqlDB. The executor (`exec::aggregate`) computes the aggregate schema's rows and then
//! evaluates HAVING and the projection on them.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::physical_expr::PhysicalExpr;

use crate::catalog::{Catalog, Column, ColumnRole, Source};
use crate::error::{Error, Result};
use crate::exec::source::{self, ROWTIME, WINDOWEND, WINDOWSTART};
use crate::format::FormatKind;
use crate::functions::aggregate::{is_aggregate, supports_undo};
use crate::plan::expr::{ExprPlanner, expr_text};
use crate::plan::join::JoinPlan;
use crate::plan::select::{Item, check_key_type, expand_items, in_clause, plural, same_expr};
use crate::sql::ast::{self, Expr, Query, SelectItem, SourceKind, WindowKind, WindowSpec};

/// ksqlDB's defaults: 24 hours of grace, one day of retention.
pub const DEFAULT_GRACE_MS: u64 = 24 * 60 * 60 * 1000;

/// One aggregate call.
pub struct AggregateSpec {
    /// Upper-case function name.
    pub name: String,
    /// Column arguments, over the input schema (empty for `COUNT(*)`).
    pub args: Vec<Arc<dyn PhysicalExpr>>,
    /// Their Arrow types.
    pub arg_types: Vec<DataType>,
    /// Trailing literal parameters (TOPK's k, EARLIEST_BY_OFFSET's n and ignoreNulls).
    pub params: Vec<ScalarValue>,
}

/// The window of an aggregation, with its defaults resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub kind: WindowKind,
    pub grace_ms: i64,
    pub retention_ms: i64,
}

impl Window {
    fn from_spec(spec: &WindowSpec) -> Self {
        let grace_ms = spec.grace_ms.unwrap_or(DEFAULT_GRACE_MS) as i64;
        let size = match spec.kind {
            WindowKind::Tumbling { size_ms } | WindowKind::Hopping { size_ms, .. } => size_ms as i64,
            WindowKind::Session { gap_ms } => gap_ms as i64,
        };
        // A window's state is kept at least until it closes.
        let retention_ms = (spec.retention_ms.unwrap_or(DEFAULT_GRACE_MS) as i64).max(size + grace_ms);
        Self { kind: spec.kind, grace_ms, retention_ms }
    }

    /// The catalog's description of the windowed key this window produces.
    pub fn key_type(&self) -> crate::catalog::WindowType {
        match self.kind {
            WindowKind::Tumbling { size_ms } => crate::catalog::WindowType::Tumbling { size_ms },
            WindowKind::Hopping { size_ms, .. } => crate::catalog::WindowType::Hopping { size_ms },
            WindowKind::Session { .. } => crate::catalog::WindowType::Session,
        }
    }
}

/// A compiled aggregation.
pub struct AggregatePlan {
    /// What is aggregated: a source, or the rows of `join` (see `plan::join::JoinInput`).
    pub source: Source,
    /// The join whose rows are aggregated, for `... FROM a JOIN b ... GROUP BY ...`.
    pub join: Option<Box<JoinPlan>>,
    /// The join's rows are grouped by the join key, which they are partitioned by: no
    /// repartition is needed.
    pub by_join_key: bool,
    pub input_schema: SchemaRef,
    /// WHERE, over the input.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// GROUP BY expressions, over the input.
    pub group_by: Vec<Arc<dyn PhysicalExpr>>,
    pub window: Option<Window>,
    pub aggregates: Vec<AggregateSpec>,
    /// The shape of a group's row (see the module doc).
    pub agg_schema: SchemaRef,
    /// HAVING, over the aggregate schema.
    pub having: Option<Arc<dyn PhysicalExpr>>,
    /// One expression per output column (keys first), over the aggregate schema.
    pub projection: Vec<Arc<dyn PhysicalExpr>>,
    /// Output columns with their roles.
    pub columns: Vec<Column>,
    /// `columns`, then ROWTIME, headers and the null-value flag, as sinks expect.
    pub output_schema: SchemaRef,
    /// EMIT FINAL: one row per window, when it closes.
    pub emit_final: bool,
    pub limit: Option<u64>,
}

impl AggregatePlan {
    /// The source read first: the source, or the left side of the join.
    pub fn first_source(&self) -> &Source {
        match &self.join {
            Some(join) => &join.left.source,
            None => &self.source,
        }
    }

    /// Every source read.
    pub fn source_names(&self) -> Vec<String> {
        match &self.join {
            Some(join) => vec![join.left.source.name.clone(), join.right.source.name.clone()],
            None => vec![self.source.name.clone()],
        }
    }
}

/// True when the query aggregates (GROUP BY, or an aggregate call in the select list).
pub fn is_aggregation(query: &Query) -> bool {
    !query.group_by.is_empty()
        || query.select.iter().any(|item| matches!(item, SelectItem::Expr { expr, .. } if contains_aggregate(expr)))
}

fn contains_aggregate(e: &Expr) -> bool {
    let mut found = false;
    visit(e, &mut |x| {
        if let Expr::Function { name, .. } = x
            && is_aggregate(name)
        {
            found = true;
        }
    });
    found
}

fn visit(e: &Expr, f: &mut impl FnMut(&Expr)) {
    f(e);
    let _ = e.map_children(&mut |child| -> std::result::Result<Expr, ()> {
        visit(child, f);
        Ok(child.clone())
    });
}

/// Plans an aggregation. `sink` names the result in messages; `None` for a push query (whose
/// rows go to a client and need not carry the key).
pub fn plan_aggregate(query: &Query, catalog: &Catalog, sink: Option<&str>) -> Result<AggregatePlan> {
    let transient = sink.is_none();
    if query.group_by.is_empty() {
        // Without GROUP BY, a plain column next to an aggregate is the first problem ksqlDB
        // names; otherwise the missing GROUP BY itself.
        let mut rewriter = Rewriter { group_by: &[], calls: Vec::new(), windowed: false };
        let mut not_grouped = Vec::new();
        let mut call = String::new();
        for item in &query.select {
            if let SelectItem::Expr { expr, .. } = item {
                let mut bad = false;
                rewriter.rewrite(expr, &mut bad)?;
                if bad {
                    not_grouped.push(expr_text(expr));
                } else if call.is_empty() && contains_aggregate(expr) {
                    call = expr_text(expr).replace("(*)", "(ROWTIME)").replace("()", "(ROWTIME)");
                }
            }
        }
        if !not_grouped.is_empty() {
            return Err(Error::user(format!(
                "Non-aggregate SELECT expression(s) not part of GROUP BY: {}",
                not_grouped.join(", ")
            )));
        }
        if transient {
            // A push query may aggregate a whole stream: one group, under a constant key that
            // its result does not show.
            let mut whole = query.clone();
            whole.group_by = vec![crate::sql::ast::Expr::Literal(crate::sql::ast::Literal::Int(1))];
            return plan_aggregate(&whole, catalog, sink);
        }
        return Err(Error::user(format!(
            "CREATE TABLE AS SELECT statement does not support aggregate function [{call}] without a GROUP BY clause."
        )));
    }
    if !query.from.joins.is_empty() {
        let mut input = crate::plan::join::plan_join_input(query, catalog)?;
        let items = std::mem::take(&mut input.items);
        let display = |e: &Expr| input.display(e);
        let mut plan = plan_over(&input.query, input.source.clone(), Some(items), catalog, sink, &display)?;
        plan.by_join_key = input.by_key;
        plan.join = Some(Box::new(input.join));
        return Ok(plan);
    }
    let source = catalog.require_source(&query.from.source.name)?.clone();
    if source.value_format.kind == FormatKind::Kafka {
        return Err(Error::user(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support GROUP BY.",
            source.name
        )));
    }
    if source.window.is_some() {
        return Err(Error::user("KSQL does not support persistent queries on windowed tables."));
    }
    plan_over(query, source, None, catalog, sink, &expr_text)
}

/// Plans the aggregation of `source`'s rows: a catalog source, or a join's rows, whose select
/// list arrives expanded (`items`) and whose clauses are over the joined row. `display` shows
/// an expression in messages as the user wrote it.
fn plan_over(
    query: &Query,
    source: Source,
    items: Option<Vec<Item>>,
    catalog: &Catalog,
    sink: Option<&str>,
    display: &dyn Fn(&Expr) -> String,
) -> Result<AggregatePlan> {
    let transient = sink.is_none();
    let sink_name = sink.unwrap_or("QUERY");
    let input_schema = source::input_schema(&source);
    let mut qualifiers = vec![source.name.clone()];
    qualifiers.extend(query.from.source.alias.clone());
    let planner = ExprPlanner::new(input_schema.clone(), catalog, qualifiers.clone())?;

    match &items {
        Some(items) => {
            for item in items {
                check_functions_exist(&item.expr, &planner)?;
            }
        }
        None => {
            for item in &query.select {
                if let SelectItem::Expr { expr, .. } = item {
                    check_functions_exist(expr, &planner)?;
                }
            }
        }
    }
    if let Some(bound) = query.where_clause.as_ref().and_then(window_bound) {
        return Err(Error::user(format!("Error in WHERE expression: Unknown column {bound}.")));
    }
    for e in query.group_by.iter().chain(query.having.iter()) {
        if let Some(bound) = window_bound(e) {
            return Err(window_bound_error(&bound));
        }
    }
    let filter = match &query.where_clause {
        Some(w) => Some(planner.physical(w).map_err(|e| in_clause(e, "WHERE"))?),
        None => None,
    };

    // GROUP BY expressions.
    let mut group_by = Vec::with_capacity(query.group_by.len());
    let mut group_types = Vec::with_capacity(query.group_by.len());
    for (i, g) in query.group_by.iter().enumerate() {
        if let Some(name) = first_aggregate(g) {
            return Err(Error::user(format!(
                "GROUP BY does not support aggregate functions: {name} is an aggregate function."
            )));
        }
        if query.group_by[..i].iter().any(|earlier| same_expr(earlier, g)) {
            return Err(Error::user(format!(
                "Duplicate GROUP BY expression: {}",
                crate::plan::select::display_expr(g, &source.name)
            )));
        }
        group_by.push(planner.physical(g).map_err(|e| in_clause(e, "GROUP BY"))?);
        group_types.push(planner.sql_type(g)?);
    }
    let window = query.window.as_ref().map(Window::from_spec);

    // Rewrite the select list and HAVING over the aggregate schema.
    let items = match items {
        Some(items) => items,
        None => expand_items(query, &source, &planner, transient)?,
    };
    let mut rewriter = Rewriter { group_by: &query.group_by, calls: Vec::new(), windowed: window.is_some() };
    let mut rewritten = Vec::with_capacity(items.len());
    let mut not_grouped = Vec::new();
    for item in &items {
        let mut bad = false;
        let expr = rewriter.rewrite(&item.expr, &mut bad)?;
        if bad {
            not_grouped.push(display(&item.expr));
        }
        rewritten.push(expr);
    }
    let mut having_bad = false;
    let having = match &query.having {
        Some(h) => Some(rewriter.rewrite(h, &mut having_bad)?),
        None => None,
    };
    if rewriter.calls.is_empty() {
        return Err(Error::user("GROUP BY requires aggregate functions in either the SELECT or HAVING clause."));
    }
    if !not_grouped.is_empty() {
        return Err(Error::user(format!(
            "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
            not_grouped.join(", ")
        )));
    }
    if having_bad && let Some(h) = &query.having {
        let mut columns = Vec::new();
        visit(h, &mut |x| {
            if let Expr::Column { name, .. } = x
                && !columns.contains(name)
            {
                columns.push(name.clone());
            }
        });
        return Err(Error::user(format!(
            "Non-aggregate HAVING expression not part of GROUP BY: {}",
            columns.join(", ")
        )));
    }
    if source.kind == SourceKind::Table {
        let mut refused: Vec<String> = Vec::new();
        for (name, _) in &rewriter.calls {
            if !supports_undo(name) && !refused.contains(name) {
                refused.push(name.clone());
            }
        }
        if !refused.is_empty() {
            let (noun, list) = plural("aggregation function", &refused);
            return Err(Error::user(format!(
                "The {noun} {list} cannot be applied to a table source, only to a stream source."
            )));
        }
    }

    // The aggregate calls.
    let mut aggregates = Vec::with_capacity(rewriter.calls.len());
    let mut agg_fields: Vec<Field> = Vec::new();
    for (i, ty) in group_types.iter().enumerate() {
        agg_fields.push(Field::new(format!("__key_{i}"), ty.to_arrow(), true));
    }
    if window.is_some() {
        agg_fields.push(Field::new(WINDOWSTART, DataType::Int64, true));
        agg_fields.push(Field::new(WINDOWEND, DataType::Int64, true));
    }
    let config = crate::functions::aggregate::AggregateConfig::default();
    for (j, (name, args)) in rewriter.calls.iter().enumerate() {
        let (columns, params) = split_params(name, args);
        let mut physical = Vec::with_capacity(columns.len());
        let mut arg_types = Vec::with_capacity(columns.len());
        for a in columns {
            if let Some(bound) = window_bound(a) {
                return Err(window_bound_error(&bound));
            }
            if first_aggregate(a).is_some() {
                return Err(Error::user(format!(
                    "Aggregate functions can not be nested: {name}({})",
                    args.iter().map(display).collect::<Vec<_>>().join(", ")
                )));
            }
            let p = planner.physical(a).map_err(|e| in_clause(e, "SELECT"))?;
            arg_types.push(p.data_type(&input_schema)?);
            physical.push(p);
        }
        let params = params
            .iter()
            .map(|p| match p {
                Expr::Literal(l) => crate::plan::expr::literal(l),
                other => Err(Error::user(format!("{name}'s parameter must be a literal, not {}", expr_text(other)))),
            })
            .collect::<Result<Vec<_>>>()?;
        let accumulator = crate::functions::aggregate::create(
            &crate::functions::aggregate::AggregateCall { name, args: &arg_types, params: &params },
            &config,
        )?;
        agg_fields.push(Field::new(format!("__agg_{j}"), accumulator.result_type(), true));
        aggregates.push(AggregateSpec { name: name.clone(), args: physical, arg_types, params });
    }
    agg_fields.push(Field::new(ROWTIME, DataType::Int64, false));
    let agg_schema: SchemaRef = Arc::new(Schema::new(agg_fields));
    let agg_planner = ExprPlanner::new(agg_schema.clone(), catalog, qualifiers)?;

    // Output columns: the group keys (in GROUP BY order, named by the select item that is the
    // key), then the other items.
    let mut key_items: Vec<usize> = Vec::new();
    if !transient {
        let mut missing = Vec::new();
        for (i, g) in query.group_by.iter().enumerate() {
            let key_column = format!("__key_{i}");
            let found: Vec<usize> = rewritten
                .iter()
                .enumerate()
                .filter(|(_, e)| matches!(e, Expr::Column { name, .. } if name == &key_column))
                .map(|(i, _)| i)
                .collect();
            match found.as_slice() {
                [] => missing.push(display(g)),
                [one] => key_items.push(*one),
                [first, second, ..] => {
                    return Err(Error::user(format!(
                        "The projection contains a key column more than once: `{}` and `{}`.",
                        items[*first].name, items[*second].name
                    )));
                }
            }
        }
        if !missing.is_empty() {
            let (noun, list) = plural("grouping expression", &missing);
            return Err(Error::user(format!(
                "The query used to build `{sink_name}` must include the {noun} {list} in its projection (eg, SELECT {}...).",
                missing.join(", ")
            )));
        }
    }
    let mut columns = Vec::with_capacity(items.len());
    let mut projection = Vec::with_capacity(items.len() + 3);
    for &i in &key_items {
        let ty = agg_planner.sql_type(&rewritten[i])?;
        check_key_type(&items[i].name, &ty)?;
        columns.push(Column { name: items[i].name.clone(), ty, role: ColumnRole::Key });
        projection.push(agg_planner.physical(&rewritten[i])?);
    }
    for (i, expr) in rewritten.iter().enumerate() {
        if key_items.contains(&i) {
            continue;
        }
        let ty = agg_planner.sql_type(expr).map_err(|e| in_clause(e, "SELECT"))?;
        columns.push(Column { name: items[i].name.clone(), ty, role: ColumnRole::Value });
        projection.push(agg_planner.physical(expr)?);
    }
    if !transient && !columns.iter().any(|c| c.role == ColumnRole::Value) {
        return Err(Error::user("The projection contains no value columns."));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &columns {
        if !seen.insert(c.name.as_str()) {
            let noun = if c.role == ColumnRole::Key { "key" } else { "value" };
            return Err(Error::user(format!("Duplicate {noun} columns found in schema: `{}` {}", c.name, c.ty)));
        }
    }
    let having = match having {
        Some(h) => Some(agg_planner.physical(&h).map_err(|e| in_clause(e, "HAVING"))?),
        None => None,
    };
    let mut fields: Vec<Field> = columns.iter().map(Column::field).collect();
    fields.push(Field::new(ROWTIME, DataType::Int64, false));
    fields.push(Field::new(source::HEADERS_COLUMN, source::headers_type(), true));
    fields.push(Field::new(source::NULL_VALUE_COLUMN, DataType::Boolean, false));
    let emit_final = query.emit == Some(ast::Emit::Final);
    if emit_final && window.is_none() {
        return Err(Error::user("EMIT FINAL is only supported for windowed aggregations."));
    }
    Ok(AggregatePlan {
        source,
        join: None,
        by_join_key: false,
        input_schema,
        filter,
        group_by,
        window,
        aggregates,
        agg_schema,
        having,
        projection,
        columns,
        output_schema: Arc::new(Schema::new(fields)),
        emit_final,
        limit: query.limit,
    })
}

/// The column arguments and the literal parameters of an aggregate call.
fn split_params<'e>(name: &str, args: &'e [Expr]) -> (&'e [Expr], &'e [Expr]) {
    match name {
        "COUNT" if matches!(args, [Expr::Star] | []) => (&[], &[]),
        "CORRELATION" => args.split_at(2.min(args.len())),
        _ => args.split_at(1.min(args.len())),
    }
}

/// The first window-bound column (WINDOWSTART, WINDOWEND) an expression reads.
fn window_bound(e: &Expr) -> Option<String> {
    let mut found = None;
    visit(e, &mut |x| {
        if found.is_none()
            && let Expr::Column { name, .. } = x
            && (name == WINDOWSTART || name == WINDOWEND)
        {
            found = Some(name.clone());
        }
    });
    found
}

fn window_bound_error(name: &str) -> Error {
    Error::user(format!(
        "Window bounds column {name} can only be used in the SELECT clause of windowed aggregations and can not be passed to aggregate functions."
    ))
}

/// ksqlDB names an unknown function before anything else about the statement.
fn check_functions_exist(e: &Expr, planner: &ExprPlanner<'_>) -> Result<()> {
    let mut result = Ok(());
    visit(e, &mut |x| {
        if result.is_ok()
            && let Expr::Function { name, .. } = x
            && !is_aggregate(name)
            && !contains_aggregate(x)
            && let Err(err) = planner.logical(x)
            && err.message().starts_with("Can't find any functions")
        {
            result = Err(err);
        }
    });
    result
}

fn first_aggregate(e: &Expr) -> Option<String> {
    let mut found = None;
    visit(e, &mut |x| {
        if found.is_none()
            && let Expr::Function { name, .. } = x
            && is_aggregate(name)
        {
            found = Some(name.clone());
        }
    });
    found
}

/// Rewrites expressions over the aggregate schema, collecting the aggregate calls.
struct Rewriter<'q> {
    group_by: &'q [Expr],
    /// (upper-case name, arguments) of each distinct call; call `j` is column `__agg_j`.
    calls: Vec<(String, Vec<Expr>)>,
    windowed: bool,
}

impl Rewriter<'_> {
    /// Sets `bad` when the expression reads a source column outside any aggregate or GROUP BY
    /// expression.
    fn rewrite(&mut self, e: &Expr, bad: &mut bool) -> Result<Expr> {
        if let Some(i) = self.group_by.iter().position(|g| same_expr(g, e)) {
            return Ok(Expr::Column { qualifier: None, name: format!("__key_{i}") });
        }
        match e {
            Expr::Function { name, args } if is_aggregate(name) => {
                let name = name.to_ascii_uppercase();
                let args: Vec<Expr> = args.iter().map(crate::plan::select::strip_qualifiers).collect();
                let j = match self.calls.iter().position(|(n, a)| n == &name && a == &args) {
                    Some(j) => j,
                    None => {
                        self.calls.push((name, args));
                        self.calls.len() - 1
                    }
                };
                Ok(Expr::Column { qualifier: None, name: format!("__agg_{j}") })
            }
            Expr::Column { name, .. } if (name == WINDOWSTART || name == WINDOWEND) && self.windowed => {
                Ok(Expr::Column { qualifier: None, name: name.clone() })
            }
            Expr::Column { name, .. } if name == ROWTIME => Ok(Expr::Column { qualifier: None, name: name.clone() }),
            Expr::Column { name, .. } if name == WINDOWSTART || name == WINDOWEND => Err(Error::user(format!(
                "Window bounds column {name} can only be used in the SELECT clause of windowed aggregations and can not be passed to aggregate functions."
            ))),
            Expr::Column { .. } => {
                *bad = true;
                Ok(e.clone())
            }
            other => other.map_children(&mut |child| self.rewrite(child, bad)),
        }
    }
}
