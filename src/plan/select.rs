//! Planning of stateless queries: projection, filter and re-keying of one stream.
//!
//! The plan is a filter and a list of projections compiled to DataFusion physical expressions
//! over the source's input batches (see `exec::source::input_schema`), plus the columns of the
//! result with their roles (which are key columns). The same plan serves persistent queries
//! (CREATE STREAM AS SELECT, INSERT INTO) and push queries.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::physical_expr::PhysicalExpr;

use crate::catalog::{Catalog, Column, ColumnRole, Source};
use crate::error::{Error, Result};
use crate::exec::source::{self, ROWOFFSET, ROWPARTITION, ROWTIME, WINDOWEND, WINDOWSTART};
use crate::plan::expr::{ExprPlanner, default_column_name};
use crate::sql::ast::{self, Expr, Query, SelectItem, SourceKind};
use crate::sql::types::SqlType;

/// Names no column or alias may take.
pub const RESERVED: [&str; 5] = [ROWTIME, ROWPARTITION, ROWOFFSET, WINDOWSTART, WINDOWEND];
/// The per-record pseudo columns a transient query may select.
const PSEUDO_COLUMNS: [&str; 3] = [ROWTIME, ROWPARTITION, ROWOFFSET];

/// A compiled stateless query.
pub struct SelectPlan {
    /// The source read.
    pub source: Source,
    /// Schema of the input batches.
    pub input_schema: SchemaRef,
    /// WHERE, if any.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// Arguments of the table functions (EXPLODE) of the select list, evaluated after WHERE;
    /// each input row becomes as many rows as its longest array. Their results are the columns
    /// `__tf_<i>` the projection reads.
    pub table_functions: Vec<Arc<dyn PhysicalExpr>>,
    /// One expression per output column (keys first, then values), then the pass-through
    /// columns ROWTIME, headers and null-value flag.
    pub projection: Vec<Arc<dyn PhysicalExpr>>,
    /// Output columns with their roles (without ROWTIME).
    pub columns: Vec<Column>,
    /// Schema of the output batches: `columns`, then the pass-through columns.
    pub output_schema: SchemaRef,
    /// LIMIT, for push queries.
    pub limit: Option<u64>,
    /// A persistent query over a table: its output is the table's changelog, so a row that
    /// fails WHERE becomes a tombstone rather than vanishing, and key-less records are dropped.
    pub changelog: bool,
    /// How many leading projections compute a PARTITION BY key. As in ksqlDB, a row whose new
    /// key fails to compute is kept with a NULL key (and a processing-log entry), not dropped.
    pub partition_keys: usize,
}

/// One expanded select item.
pub(crate) struct Item {
    pub(crate) name: String,
    pub(crate) expr: Expr,
}

/// What the select planner reads from the statement's properties.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SelectSettings {
    /// `ksql.new.query.planner.enabled`: the result's key columns are the source's key
    /// columns in the order the projection selects them, and a stream's projection may leave
    /// them out (the old planner puts them in the source's order and requires all of them).
    pub new_planner: bool,
}

impl SelectSettings {
    /// The settings from the value of each property (`None`: unset).
    pub fn from_properties<'a>(property: impl Fn(&str) -> Option<&'a str>) -> Self {
        let enabled = |name: &str| property(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        Self { new_planner: enabled("ksql.new.query.planner.enabled") }
    }
}

/// Plans a persistent query over its single source. `sink` names the result in messages.
pub fn plan_select(query: &Query, catalog: &Catalog, sink: &str, settings: SelectSettings) -> Result<SelectPlan> {
    plan(query, catalog, Some(sink), settings)
}

/// Plans a transient (push or pull) query: its rows go to a client, not to a topic, so the
/// projection need not carry the key or any value column.
pub fn plan_transient(query: &Query, catalog: &Catalog) -> Result<SelectPlan> {
    plan(query, catalog, None, SelectSettings::default())
}

fn plan(query: &Query, catalog: &Catalog, sink: Option<&str>, settings: SelectSettings) -> Result<SelectPlan> {
    let transient = sink.is_none();
    let sink = sink.unwrap_or("QUERY");
    if !query.from.joins.is_empty() {
        return Err(Error::user("joins are not supported yet"));
    }
    if query.window.is_some() && query.group_by.is_empty() {
        return Err(Error::user("WINDOW clause requires a GROUP BY clause."));
    }
    if !query.group_by.is_empty() {
        return Err(Error::user("GROUP BY (aggregation) is not supported yet"));
    }
    let source = catalog.require_source(&query.from.source.name)?.clone();
    let input_schema = source::input_schema(&source);
    let mut qualifiers = vec![source.name.clone()];
    qualifiers.extend(query.from.source.alias.clone());
    let planner = ExprPlanner::new(input_schema.clone(), catalog, qualifiers)?;

    let mut items = expand_items(query, &source, &planner, transient)?;
    if transient && source.window.is_some() {
        // A transient `SELECT *` over a windowed source shows the window bounds after the
        // key columns, as ksqlDB does.
        let keys = source.key_columns().count();
        let star = query.select.iter().any(|i| matches!(i, SelectItem::Wildcard | SelectItem::QualifiedWildcard(_)));
        if star && query.partition_by.is_empty() {
            for (offset, bound) in [WINDOWSTART, WINDOWEND].into_iter().enumerate() {
                let at = (keys + offset).min(items.len());
                items.insert(
                    at,
                    Item { name: bound.into(), expr: Expr::Column { qualifier: None, name: bound.into() } },
                );
            }
        }
    }

    // Table functions: their arguments are planned over the input; the projection reads their
    // results from extra columns appended after the explosion.
    let mut table_functions = Vec::new();
    let mut tf_fields: Vec<Field> = input_schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for item in items.iter_mut() {
        if let Expr::Function { name, args } = &item.expr
            && catalog.functions().is_table_function(name)
        {
            if source.kind == SourceKind::Table {
                return Err(Error::user("Table source is not supported with table functions"));
            }
            let column = format!("__tf_{}", table_functions.len());
            // An added table function returns, per row, the ARRAY of its rows: exploded as
            // EXPLODE's argument is.
            if let Some(udf) = catalog.functions().added_table(name) {
                let rows = planner.physical_call(udf, args).map_err(|e| in_clause(e, "SELECT"))?;
                let element = match SqlType::from_arrow(&rows.data_type(&input_schema)?)? {
                    SqlType::Array(element) => *element,
                    other => {
                        return Err(Error::internal(format!("table function '{name}' returned {other}, not an ARRAY")));
                    }
                };
                table_functions.push(rows);
                tf_fields.push(Field::new(&column, element.to_arrow(), true));
                item.expr = Expr::Column { qualifier: None, name: column };
                continue;
            }
            let [arg] = args.as_slice() else {
                return Err(Error::user(format!("Function '{name}' takes exactly one ARRAY argument")));
            };
            let arg_type = planner.sql_type(arg)?;
            let SqlType::Array(element) = arg_type else {
                return Err(Error::user(format!("Function '{name}' does not accept parameters ({arg_type}).")));
            };
            // CUBE_EXPLODE(a) is EXPLODE(CUBE(a)): one row per combination of a's elements.
            let (arg, element) = if name == "CUBE_EXPLODE" {
                (planner.physical_call(crate::functions::table::cube_udf(), args)?, SqlType::Array(element))
            } else {
                (planner.physical(arg)?, *element)
            };
            table_functions.push(arg);
            tf_fields.push(Field::new(&column, element.to_arrow(), true));
            item.expr = Expr::Column { qualifier: None, name: column };
        }
    }
    let exploded_schema: SchemaRef = Arc::new(Schema::new(tf_fields));
    let mut qualifiers = vec![source.name.clone()];
    qualifiers.extend(query.from.source.alias.clone());
    let planner = if table_functions.is_empty() {
        planner
    } else {
        ExprPlanner::new(exploded_schema.clone(), catalog, qualifiers)?
    };

    let filter = match &query.where_clause {
        Some(w) => {
            let f = planner.physical(w).map_err(|e| in_clause(e, "WHERE"))?;
            Some(f)
        }
        None => None,
    };

    // The select list must plan before the key columns are checked: ksqlDB reports a bad
    // expression first.
    for item in &items {
        planner.physical(&item.expr).map_err(|e| in_clause(e, "SELECT"))?;
    }

    // Which items become key columns.
    let mut key_items: Vec<usize> = Vec::new();
    if transient {
        // Every item is a plain column of the result.
    } else if query.partition_by.is_empty() {
        let keys: Vec<&Column> = source.key_columns().collect();
        let mut missing = Vec::new();
        for key in &keys {
            let found: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, it)| matches!(&it.expr, Expr::Column { name, .. } if name == &key.name))
                .map(|(i, _)| i)
                .collect();
            match found.as_slice() {
                [] => missing.push(key.name.clone()),
                [one] => key_items.push(*one),
                [first, second, ..] => {
                    return Err(Error::user(format!(
                        "The projection contains a key column (`{}`) more than once, aliased as: {} and {}.",
                        key.name, items[*first].name, items[*second].name
                    )));
                }
            }
        }
        if settings.new_planner {
            // ksqlDB's new planner keys the result by the source's key columns the projection
            // selects, in the projection's order; a stream's result may leave them all out
            // (it then has no key), but a table's rows are identified by their key.
            key_items.sort_unstable();
            if source.kind == SourceKind::Stream {
                missing.clear();
            }
        }
        if !missing.is_empty() {
            // ksqlDB names every key column, not only the missing ones.
            let missing: Vec<String> = keys.iter().map(|k| k.name.clone()).collect();
            let (noun, list) = plural("key column", &missing);
            return Err(Error::user(format!(
                "The query used to build `{sink}` must include the {noun} {list} in its projection (eg, SELECT {}...).",
                missing.join(", ")
            )));
        }
    } else if !(query.partition_by.len() == 1 && matches!(query.partition_by[0], Expr::Literal(ast::Literal::Null))) {
        if query.partition_by.iter().any(|p| matches!(p, Expr::Literal(ast::Literal::Null))) {
            return Err(Error::user("Cannot PARTITION BY multiple columns including NULL"));
        }
        let mut missing = Vec::new();
        for partition in &query.partition_by {
            check_partition_columns(partition, &planner)?;
            let found: Vec<usize> =
                items.iter().enumerate().filter(|(_, it)| same_expr(&it.expr, partition)).map(|(i, _)| i).collect();
            match found.as_slice() {
                [] => missing.push(display_expr(partition, &source.name)),
                [one] => key_items.push(*one),
                [first, second, ..] => {
                    let key = match partition {
                        Expr::Column { name, .. } => name.clone(),
                        other => display_expr(other, &source.name),
                    };
                    return Err(Error::user(format!(
                        "The projection contains a key column (`{key}`) more than once, aliased as: {} and {}.",
                        items[*first].name, items[*second].name
                    )));
                }
            }
        }
        if !missing.is_empty() {
            // ksqlDB names every partitioning expression, not only the missing ones.
            let missing: Vec<String> = query.partition_by.iter().map(|p| display_expr(p, &source.name)).collect();
            let (noun, list) = plural("partitioning expression", &missing);
            let err = Error::user(format!(
                "The query used to build `{sink}` must include the {noun} {list} in its projection (eg, SELECT {}...).",
                missing.join(", ")
            ));
            let aliased = query.partition_by.iter().find_map(|p| match p {
                Expr::Column { name, .. } if items.iter().any(|it| &it.name == name) => Some(name.clone()),
                _ => None,
            });
            return Err(match aliased {
                Some(name) => err.with_hint(format!(
                    "PARTITION BY reads the source's columns, not the select list's aliases: `{name}` here is the source column; select it as it is, or PARTITION BY the aliased expression"
                )),
                None => err,
            });
        }
    }

    let mut columns = Vec::with_capacity(items.len());
    let mut projection = Vec::with_capacity(items.len() + 1);
    for &i in &key_items {
        let ty = planner.sql_type(&items[i].expr)?;
        check_key_type(&items[i].name, &ty)?;
        columns.push(Column { name: items[i].name.clone(), ty, role: ColumnRole::Key });
        let key = if query.partition_by.is_empty() {
            items[i].expr.clone()
        } else {
            null_without_value(&items[i].expr, &planner, &source)?
        };
        projection.push(planner.physical(&key)?);
    }
    for (i, item) in items.iter().enumerate() {
        if key_items.contains(&i) {
            continue;
        }
        let ty = planner.sql_type(&item.expr)?;
        // A transient query keeps the select list's order; a plain reference to a key column
        // (or to a window bound of a windowed source) is still a key of its result, which
        // pull-query headers mark.
        let is_key = transient
            && matches!(&item.expr, Expr::Column { name, .. }
                if source.column(name).is_some_and(|c| c.role == ColumnRole::Key)
                    || (source.window.is_some() && (name == WINDOWSTART || name == WINDOWEND)));
        let role = if is_key { ColumnRole::Key } else { ColumnRole::Value };
        columns.push(Column { name: item.name.clone(), ty, role });
        projection.push(planner.physical(&item.expr)?);
    }
    check_result_columns(&columns, transient)?;
    // Passed through to the sink: the time, the headers and the null-value flag.
    let mut fields: Vec<Field> = columns.iter().map(Column::field).collect();
    for name in [ROWTIME, source::HEADERS_COLUMN, source::NULL_VALUE_COLUMN] {
        projection.push(planner.physical(&Expr::Column { qualifier: None, name: name.into() })?);
        fields.push(input_schema.field_with_name(name)?.clone());
    }
    if !transient && source.window.is_some() {
        // A windowed stream stays windowed: sinks read each row's window from these.
        for (name, hidden) in [
            (WINDOWSTART, crate::exec::aggregate::WINDOW_START_COLUMN),
            (WINDOWEND, crate::exec::aggregate::WINDOW_END_COLUMN),
        ] {
            projection.push(planner.physical(&Expr::Column { qualifier: None, name: name.into() })?);
            fields.push(Field::new(hidden, arrow::datatypes::DataType::Int64, true));
        }
    }
    // Push queries on tables see the changelog too (key-less records dropped, deletions as
    // tombstones).
    let changelog = source.kind == SourceKind::Table;
    Ok(SelectPlan {
        source,
        input_schema,
        filter,
        table_functions,
        projection,
        columns,
        output_schema: Arc::new(Schema::new(fields)),
        limit: query.limit,
        changelog,
        partition_keys: if query.partition_by.is_empty() { 0 } else { key_items.len() },
    })
}

pub(crate) fn plural(noun: &str, names: &[String]) -> (String, String) {
    match names {
        [one] => (noun.to_string(), one.clone()),
        [init @ .., last] => (format!("{noun}s"), format!("{} and {last}", init.join(", "))),
        [] => (noun.to_string(), String::new()),
    }
}

/// Rejects key columns ksqlDB cannot key by (maps, anywhere in the type).
pub fn check_key_type(name: &str, ty: &SqlType) -> Result<()> {
    fn has_map(ty: &SqlType) -> bool {
        match ty {
            SqlType::Map(_, _) => true,
            SqlType::Array(item) => has_map(item),
            SqlType::Struct(fields) => fields.iter().any(|(_, t)| has_map(t)),
            _ => false,
        }
    }
    if has_map(ty) {
        return Err(Error::user(format!(
            "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{name}`. Column type: {ty}. See https://github.com/confluentinc/ksql/issues/6621 for more."
        )));
    }
    Ok(())
}

/// Expands `*`, `src.*` and `s->*`, and names every item.
/// `transient`: a query whose result goes to its caller rather than a topic may select the
/// pseudo columns (ROWTIME, ROWPARTITION, ROWOFFSET) as they are.
pub(crate) fn expand_items(
    query: &Query,
    source: &Source,
    planner: &ExprPlanner<'_>,
    transient: bool,
) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    // ksqlDB numbers generated names (KSQL_COL_n) among the items that need one.
    let mut generated = 0;
    for item in &query.select {
        match item {
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                if let SelectItem::QualifiedWildcard(q) = item
                    && q != &source.name
                    && query.from.source.alias.as_deref() != Some(q.as_str())
                {
                    return Err(Error::user(format!("'{q}' is not a valid stream/table name or alias.")));
                }
                if query.partition_by.is_empty() {
                    for column in &source.columns {
                        items.push(Item {
                            name: column.name.clone(),
                            expr: Expr::Column { qualifier: None, name: column.name.clone() },
                        });
                    }
                } else {
                    // ksqlDB re-keys before it projects: `*` then means the new key columns,
                    // the value columns that did not become keys, and the old key columns moved
                    // into the value.
                    let is_partition_column = |name: &str| {
                        query.partition_by.iter().any(|p| matches!(p, Expr::Column { name: n, .. } if n == name))
                    };
                    for partition in &query.partition_by {
                        if matches!(partition, Expr::Literal(ast::Literal::Null)) {
                            continue;
                        }
                        let name = default_column_name(partition, generated);
                        if name.starts_with("KSQL_COL_") {
                            generated += 1;
                        }
                        items.push(Item { name, expr: partition.clone() });
                    }
                    let values = source.columns.iter().filter(|c| c.role != ColumnRole::Key);
                    let keys = source.columns.iter().filter(|c| c.role == ColumnRole::Key);
                    for column in values.chain(keys) {
                        if !is_partition_column(&column.name) {
                            items.push(Item {
                                name: column.name.clone(),
                                expr: Expr::Column { qualifier: None, name: column.name.clone() },
                            });
                        }
                    }
                }
            }
            SelectItem::StructWildcard(expr) => items.extend(struct_items(expr, planner)?),
            SelectItem::Expr { expr, alias } => {
                let name = match checked_alias(expr, alias.as_deref())? {
                    Some(alias) => alias,
                    None => {
                        let mut name = default_column_name(expr, generated);
                        if name.starts_with("KSQL_COL_") {
                            generated += 1;
                        }
                        // A struct field's name that a source column or an earlier item already
                        // has gets a suffix, as in ksqlDB: B, then B_1, B_2.
                        if matches!(expr, Expr::Dereference { .. }) {
                            let taken = |n: &str| {
                                source.columns.iter().any(|c| c.name == n) || items.iter().any(|it: &Item| it.name == n)
                            };
                            if taken(&name) {
                                let base = name.clone();
                                let mut n = 1;
                                while taken(&format!("{base}_{n}")) {
                                    n += 1;
                                }
                                name = format!("{base}_{n}");
                            }
                        }
                        // A windowed source's bounds are its columns: they may be selected as
                        // they are.
                        // A windowed source's bounds are its columns, and a transient windowed
                        // aggregation's are its results': either may be selected as they are.
                        let windowed = source.window.is_some() || (transient && query.window.is_some());
                        let window_bound = windowed && (name == WINDOWSTART || name == WINDOWEND);
                        let pseudo =
                            transient && matches!(expr, Expr::Column { .. }) && PSEUDO_COLUMNS.contains(&name.as_str());
                        if RESERVED.contains(&name.as_str()) && !window_bound && !pseudo {
                            return Err(Error::user(format!(
                                "Reserved column name in select: `{name}`. Please remove or alias the column."
                            )));
                        }
                        name
                    }
                };
                items.push(Item { name, expr: expr.clone() });
            }
        }
    }
    Ok(items)
}

/// ksqlDB's checks of a result's columns: a persistent query's result needs a value column,
/// and no two columns may share a name.
pub(crate) fn check_result_columns(columns: &[Column], transient: bool) -> Result<()> {
    if !transient && !columns.iter().any(|c| c.role == ColumnRole::Value) {
        return Err(Error::user("The projection contains no value columns."));
    }
    let mut seen = std::collections::HashSet::new();
    for c in columns {
        if !seen.insert(c.name.as_str()) {
            return Err(Error::user(format!("Duplicate column name in projection: `{}`", c.name)));
        }
    }
    Ok(())
}

/// `expr->*`: one item per field of the struct `expr`.
pub(crate) fn struct_items(expr: &Expr, planner: &ExprPlanner<'_>) -> Result<Vec<Item>> {
    match planner.sql_type(expr)? {
        SqlType::Struct(fields) => Ok(fields
            .into_iter()
            .map(|(name, _)| Item {
                name: name.clone(),
                expr: Expr::Dereference { expr: Box::new(expr.clone()), field: name },
            })
            .collect()),
        other => Err(Error::user(format!("'->*' needs a STRUCT, not {other}"))),
    }
}

/// Checks a select item as ksqlDB does before naming it (a bare NULL has no type; an alias
/// may not be a reserved name) and returns its alias, if any.
pub(crate) fn checked_alias(expr: &Expr, alias: Option<&str>) -> Result<Option<String>> {
    if matches!(expr, Expr::Literal(ast::Literal::Null)) {
        return Err(Error::user(
            "Can't infer a type of null. Please explicitly cast it to a required type, e.g. CAST(null AS VARCHAR).",
        ));
    }
    if let Some(alias) = alias
        && RESERVED.contains(&alias)
    {
        return Err(Error::user(format!(
            "`{alias}` is a reserved column name. You cannot use it as an alias for a column."
        )));
    }
    Ok(alias.map(str::to_string))
}

/// Expression equality that ignores column qualifiers (`INPUT.ID` is `ID` over one source).
pub(crate) fn same_expr(a: &Expr, b: &Expr) -> bool {
    strip_qualifiers(a) == strip_qualifiers(b)
}

pub(crate) fn strip_qualifiers(e: &Expr) -> Expr {
    // Only the common shapes need this: a column, or a function/operator over columns.
    match e {
        Expr::Column { name, .. } => Expr::Column { qualifier: None, name: name.clone() },
        Expr::Function { name, args } => {
            Expr::Function { name: name.clone(), args: args.iter().map(strip_qualifiers).collect() }
        }
        Expr::Binary { op, left, right } => {
            Expr::Binary { op: *op, left: Box::new(strip_qualifiers(left)), right: Box::new(strip_qualifiers(right)) }
        }
        Expr::Dereference { expr, field } => {
            Expr::Dereference { expr: Box::new(strip_qualifiers(expr)), field: field.clone() }
        }
        other => other.clone(),
    }
}

/// A short rendering of an expression for error messages, columns qualified with `source`.
pub fn display_expr(e: &Expr, source: &str) -> String {
    match e {
        Expr::Column { qualifier, name } => {
            format!("{}.{name}", qualifier.as_deref().unwrap_or(source))
        }
        Expr::Function { name, args } => {
            format!("{name}({})", args.iter().map(|a| display_expr(a, source)).collect::<Vec<_>>().join(", "))
        }
        Expr::Dereference { expr, field } => format!("{}->{field}", display_expr(expr, source)),
        other => format!("{other:?}"),
    }
}

/// Names the clause in "column 'X' cannot be resolved." errors, as ksqlDB does.
pub(crate) fn in_clause(e: Error, clause: &str) -> Error {
    if e.message().starts_with("column '") {
        let mut message = format!("{clause} {}", e.message());
        if let Some(hint) = e.hint() {
            message = format!("{message} (hint: {hint})");
        }
        Error::user(message)
    } else {
        e
    }
}

/// A PARTITION BY key that reads anything but the source's key columns is NULL for a record
/// without a value, as in ksqlDB (which has no value row to evaluate it on).
fn null_without_value(expr: &Expr, planner: &ExprPlanner, source: &Source) -> Result<Expr> {
    let reads_value =
        planner.logical(expr)?.column_refs().iter().any(|c| !source.key_columns().any(|k| k.name == c.name));
    if !reads_value {
        return Ok(expr.clone());
    }
    Ok(Expr::Case {
        operand: None,
        whens: vec![(
            Expr::Column { qualifier: None, name: source::NULL_VALUE_COLUMN.to_string() },
            Expr::Literal(ast::Literal::Null),
        )],
        else_result: Some(Box::new(expr.clone())),
    })
}

/// PARTITION BY is applied to the input: a column it names must be a source column, even when
/// the select list has an alias of that name.
fn check_partition_columns(partition: &Expr, planner: &ExprPlanner) -> Result<()> {
    match planner.logical(partition) {
        Ok(_) => Ok(()),
        Err(e) if e.message().starts_with("column '") => {
            let name = e.message().split('\'').nth(1).unwrap_or_default().to_string();
            Err(Error::user(format!(
                "PARTITION BY column '{name}' cannot be resolved. '{name}' must be a column in the source schema since PARTITION BY is applied on the input."
            )))
        }
        Err(e) => Err(e),
    }
}
