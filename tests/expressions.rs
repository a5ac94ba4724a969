//! ksqlDB's expression semantics where they differ from DataFusion's defaults, planned from SQL
//! text and evaluated on an Arrow batch as a query's select list is.

// A test crate: a failed setup step should abort the test loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use rivulet::catalog::Catalog;
use rivulet::plan::expr::ExprPlanner;
use rivulet::sql::parser::parse_expression;

/// Rows: `(1, 10, 'a%b')`, `(NULL, 20, NULL)`.
fn batch() -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("A", DataType::Int32, true),
        Field::new("B", DataType::Int64, true),
        Field::new("S", DataType::Utf8, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![Some(1), None])),
        Arc::new(Int64Array::from(vec![10, 20])),
        Arc::new(StringArray::from(vec![Some("a%b"), None])),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

fn try_eval(sql: &str) -> rivulet::Result<ArrayRef> {
    let b = batch();
    let catalog = Catalog::new();
    let planner = ExprPlanner::new(b.schema(), &catalog, vec![])?;
    let expr = planner.physical(&parse_expression(sql)?)?;
    Ok(expr.evaluate(&b)?.into_array(b.num_rows())?)
}

fn bools(sql: &str) -> Vec<Option<bool>> {
    try_eval(sql).unwrap_or_else(|e| panic!("{sql}: {e}")).as_boolean().iter().collect()
}

#[test]
fn comparisons_with_null_are_false() {
    assert_eq!(bools("A = 1"), vec![Some(true), Some(false)]);
    assert_eq!(bools("A <> 1"), vec![Some(false), Some(false)]);
    assert_eq!(bools("NOT (A < 5)"), vec![Some(false), Some(true)]);
}

#[test]
fn plus_concatenates_strings() {
    let out = try_eval("'x-' + S + '-y'").unwrap();
    assert_eq!(out.as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("x-a%b-y"), None]);
}

#[test]
fn like_takes_any_escape_character() {
    assert_eq!(bools("S LIKE 'a!%b' ESCAPE '!'"), vec![Some(true), None]);
    assert_eq!(bools("'axb' LIKE 'a!%b' ESCAPE '!'"), vec![Some(false), Some(false)]);
}

#[test]
fn empty_struct_has_no_fields() {
    let out = try_eval("STRUCT()").unwrap();
    assert_eq!(out.data_type(), &DataType::Struct(Default::default()));
    assert_eq!(out.len(), 2);
}

#[test]
fn a_case_of_only_nulls_is_rejected() {
    let err = try_eval("CASE WHEN A < 2 THEN NULL ELSE NULL END").unwrap_err();
    assert!(err.to_string().contains("All case branches have NULL type"), "{err}");
}

#[test]
fn array_elements_widen_as_in_ksqldb() {
    let out = try_eval("ARRAY[NULL, 10, '2e1', A, B]").unwrap();
    let DataType::List(item) = out.data_type() else { panic!("{}", out.data_type()) };
    assert_eq!(item.data_type(), &DataType::Decimal128(19, 0));
    let struct_array = try_eval("ARRAY[STRUCT(X := A), STRUCT(Y := B)]").unwrap();
    let DataType::List(item) = struct_array.data_type() else { panic!() };
    let DataType::Struct(fields) = item.data_type() else { panic!("{}", item.data_type()) };
    assert_eq!(fields.iter().map(|f| f.name().as_str()).collect::<Vec<_>>(), vec!["X", "Y"]);
}

#[test]
fn a_star_argument_is_no_argument() {
    let err = try_eval("GREATEST(*)").unwrap_err();
    assert!(err.to_string().contains("Function 'greatest' does not accept parameters ()."), "{err}");
}
