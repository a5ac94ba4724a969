//! What a pull query on a table may ask, checked before it runs, with ksqlDB's messages.
//!
//! A pull query is answered from a table's materialized state: a key lookup reads one row,
//! anything else scans. ksqlDB refuses WHERE clauses it cannot answer the way the server is
//! configured to answer them — with `ksql.query.pull.table.scan.enabled=false`, every disjunct
//! of the WHERE clause must pin each key column with `=` or `IN` to an expression that needs
//! no column — and some always: comparisons of mismatched types, NULL keys, pseudo columns a
//! table's state does not keep.

use crate::catalog::{ColumnRole, Source};
use crate::error::{Error, Result};
use crate::plan::expr::{comparison_name, is_comparison, op_symbol};
use crate::sql::ast::{BinaryOp, Expr, Literal, Query, SelectItem};
use crate::sql::types::SqlType;

const NOT_IN_STATE: [&str; 2] = ["ROWPARTITION", "ROWOFFSET"];

/// Checks a pull query on `source` (a table); `scan_enabled` is
/// `ksql.query.pull.table.scan.enabled`.
pub fn validate(query: &Query, source: &Source, scan_enabled: bool) -> Result<()> {
    for item in &query.select {
        if let SelectItem::Expr { expr, .. } = item
            && let Some(name) = pseudo_column(expr)
        {
            return Err(Error::user(format!(
                "Pull queries don't support the following columns in SELECT clauses: `{name}`"
            )));
        }
    }
    let Some(filter) = &query.where_clause else { return Ok(()) };
    if let Some(name) = pseudo_column(filter) {
        return Err(Error::user(format!(
            "Pull queries don't support the following columns in WHERE clauses: `{name}`"
        )));
    }
    let mut disjuncts = Vec::new();
    split(filter, BinaryOp::Or, &mut disjuncts);
    for disjunct in &disjuncts {
        let mut conjuncts = Vec::new();
        split(disjunct, BinaryOp::And, &mut conjuncts);
        for conjunct in &conjuncts {
            check_types(conjunct, source)?;
        }
        if !scan_enabled {
            check_key_bounds(disjunct, &conjuncts, source)?;
        }
    }
    Ok(())
}

fn split<'a>(expr: &'a Expr, op: BinaryOp, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::Binary { op: o, left, right } if *o == op => {
            split(left, op, out);
            split(right, op, out);
        }
        other => out.push(other),
    }
}

/// The first pseudo column a table's state does not keep that `expr` reads.
fn pseudo_column(expr: &Expr) -> Option<String> {
    let mut found = None;
    visit_columns(expr, &mut |name| {
        if found.is_none() && NOT_IN_STATE.contains(&name) {
            found = Some(name.to_string());
        }
    });
    found
}

fn visit_columns(expr: &Expr, f: &mut dyn FnMut(&str)) {
    match expr {
        Expr::Column { name, .. } => f(name),
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => visit_columns(expr, f),
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
            visit_columns(left, f);
            visit_columns(right, f);
        }
        Expr::Between { expr, low, high, .. } => {
            visit_columns(expr, f);
            visit_columns(low, f);
            visit_columns(high, f);
        }
        Expr::InList { expr, list, .. } => {
            visit_columns(expr, f);
            list.iter().for_each(|e| visit_columns(e, f));
        }
        Expr::Like { expr, pattern, .. } => {
            visit_columns(expr, f);
            visit_columns(pattern, f);
        }
        Expr::Function { args, .. } => args.iter().for_each(|e| visit_columns(e, f)),
        _ => {}
    }
}

fn references_columns(expr: &Expr) -> bool {
    let mut any = false;
    visit_columns(expr, &mut |_| any = true);
    any
}

fn key_column<'a>(expr: &Expr, source: &'a Source) -> Option<&'a crate::catalog::Column> {
    match expr {
        Expr::Column { name, .. } => source.column(name).filter(|c| c.role == ColumnRole::Key),
        _ => None,
    }
}

/// ksqlDB's name of a comparison operator, `None` for other operators.
fn comparison(op: BinaryOp) -> Option<&'static str> {
    is_comparison(op).then(|| comparison_name(op))
}

/// The type of a literal as ksqlDB names it, and whether it is numeric.
fn literal_type(literal: &Literal) -> Option<(String, bool)> {
    Some(match literal {
        Literal::Null => return None,
        Literal::Boolean(_) => ("BOOLEAN".into(), false),
        Literal::Int(_) => ("INTEGER".into(), true),
        Literal::Bigint(_) => ("BIGINT".into(), true),
        Literal::Decimal(text) => {
            let digits = text.trim_start_matches('-');
            let scale = digits.split_once('.').map_or(0, |(_, f)| f.len());
            let precision = digits.replace('.', "").trim_start_matches('0').len().max(1).max(scale);
            (format!("DECIMAL({precision}, {scale})"), true)
        }
        Literal::Double(_) => ("DOUBLE".into(), true),
        Literal::String(_) => ("STRING".into(), false),
    })
}

fn is_numeric(ty: &SqlType) -> bool {
    matches!(ty, SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::Decimal(..))
}

/// Type errors of one comparison between a column and a literal, and NULL keys.
fn check_types(conjunct: &Expr, source: &Source) -> Result<()> {
    match conjunct {
        Expr::Binary { op, left, right } => {
            let Some(op_name) = comparison(*op) else { return Ok(()) };
            let (column, literal) = match (left.as_ref(), right.as_ref()) {
                (Expr::Column { name, .. }, Expr::Literal(l)) | (Expr::Literal(l), Expr::Column { name, .. }) => {
                    (name, l)
                }
                _ => return Ok(()),
            };
            // Window bounds and ROWTIME compare with datetime strings.
            let Some(column) = source.column(column) else { return Ok(()) };
            let statement = format!("Statement: {}", render(conjunct));
            let Some((literal_type, numeric)) = literal_type(literal) else {
                return Err(Error::user(format!(
                    "Error in WHERE expression: Comparison with NULL not supported: {} {} NULL\nUse 'IS NULL' or 'IS NOT NULL' instead.\n{statement}",
                    column.ty,
                    op_symbol(*op)
                )));
            };
            let mismatch = match column.ty {
                SqlType::String => numeric,
                ref ty if is_numeric(ty) => !numeric,
                SqlType::Boolean => literal_type != "BOOLEAN",
                _ => false,
            };
            if mismatch {
                let (left, right) = if matches!(left.as_ref(), Expr::Column { .. }) {
                    (
                        format!("{} ({})", column.name, column.ty),
                        format!("{} ({literal_type})", render_literal(literal)),
                    )
                } else {
                    (
                        format!("{} ({literal_type})", render_literal(literal)),
                        format!("{} ({})", column.name, column.ty),
                    )
                };
                return Err(Error::user(format!(
                    "Error in WHERE expression: Cannot compare {left} to {right} with {op_name}.\n{statement}"
                )));
            }
            Ok(())
        }
        Expr::InList { expr, list, negated: false } => {
            let Some(key) = key_column(expr, source) else { return Ok(()) };
            for item in list {
                match item {
                    Expr::Literal(Literal::Null) => {
                        return Err(Error::user(format!("Primary key columns can not be NULL: ({} = null)", key.name)));
                    }
                    Expr::Literal(literal) => {
                        let numeric = literal_type(literal).is_some_and(|(_, n)| n);
                        let mismatch = match key.ty {
                            SqlType::String => numeric,
                            ref ty if is_numeric(ty) => !numeric,
                            _ => false,
                        };
                        if mismatch {
                            return Err(Error::user(format!(
                                "{} can not be converted to the type of the key column: {} {} KEY",
                                render_literal(literal),
                                key.name,
                                key.ty
                            )));
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Without table scans: every key column pinned once, by `=` or `IN`, to a resolvable value.
fn check_key_bounds(disjunct: &Expr, conjuncts: &[&Expr], source: &Source) -> Result<()> {
    let keys: Vec<&crate::catalog::Column> = source.key_columns().collect();
    let mut bound = vec![0usize; keys.len()];
    let position = |name: &str| keys.iter().position(|k| k.name == name);
    for conjunct in conjuncts {
        match conjunct {
            Expr::Binary { op, left, right } if comparison(*op).is_some() => {
                let (key, other) = match (key_column(left, source), key_column(right, source)) {
                    (Some(k), _) => (k, right.as_ref()),
                    (None, Some(k)) => (k, left.as_ref()),
                    (None, None) => {
                        let mut reads_key = false;
                        visit_columns(conjunct, &mut |name| reads_key |= position(name).is_some());
                        if reads_key {
                            return Err(Error::user("A comparison must directly reference a key column."));
                        }
                        continue;
                    }
                };
                if references_columns(other) {
                    return Err(Error::user("A comparison must be between a key column and a resolvable expression."));
                }
                if *op == BinaryOp::NotEq {
                    return Err(Error::user(format!(
                        "Bound on key columns '[`{}` {} KEY]' must currently be '='. ",
                        key.name, key.ty
                    )));
                }
                if let Some(i) = position(&key.name) {
                    bound[i] += 1;
                }
            }
            Expr::InList { expr, list, negated: false } => {
                let Some(key) = key_column(expr, source) else { continue };
                if list.iter().any(references_columns) {
                    return Err(Error::user("A comparison must be between a key column and a resolvable expression."));
                }
                if let Some(i) = position(&key.name) {
                    bound[i] += 1;
                }
            }
            _ => {}
        }
    }
    if bound.iter().any(|&n| n > 1) {
        return Err(Error::user(
            "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate",
        ));
    }
    let present = bound.iter().filter(|&&n| n > 0).count();
    if present == 0 {
        return Err(Error::user(format!("WHERE clause missing key column for disjunct: {}", render(disjunct))));
    }
    if present < keys.len() {
        return Err(Error::user("Multi-column sources must specify every key in the WHERE clause"));
    }
    Ok(())
}

fn render_literal(literal: &Literal) -> String {
    match literal {
        Literal::Null => "null".into(),
        Literal::Boolean(b) => b.to_string(),
        Literal::Int(i) => i.to_string(),
        Literal::Bigint(i) => i.to_string(),
        Literal::Decimal(d) => d.clone(),
        Literal::Double(d) => d.to_string(),
        Literal::String(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

/// An expression as ksqlDB prints it in messages: `(ID = '10')`.
fn render(expr: &Expr) -> String {
    match expr {
        Expr::Column { name, .. } => name.clone(),
        Expr::Literal(literal) => render_literal(literal),
        Expr::Binary { op, left, right } => format!("({} {} {})", render(left), op_symbol(*op), render(right)),
        Expr::InList { expr, list, negated } => format!(
            "({} {}IN ({}))",
            render(expr),
            if *negated { "NOT " } else { "" },
            list.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        other => format!("{other:?}"),
    }
}
