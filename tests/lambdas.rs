//! TRANSFORM, FILTER and REDUCE over arrays and maps, planned from SQL text and evaluated on
//! Arrow batches exactly as a query evaluates its select list.

// A test crate: a failed setup step should abort the test loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int32Builder, ListBuilder, MapBuilder, RecordBatch, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema};
use rivulet::catalog::Catalog;
use rivulet::plan::expr::ExprPlanner;
use rivulet::sql::parser::parse_expression;

/// Rows: `([1, 2, 3], 10)`, `([4, NULL], 20)`, `(NULL, 30)`, `([], 40)`.
fn batch() -> RecordBatch {
    let mut list = ListBuilder::new(Int32Builder::new());
    list.append_value([Some(1), Some(2), Some(3)]);
    list.append_value([Some(4), None]);
    list.append_null();
    list.append_value(Vec::<Option<i32>>::new());
    let list = list.finish();
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    for entries in [vec![("a", 1), ("b", 2)], vec![("c", 3)], vec![], vec![("d", 4), ("e", 5)]] {
        for (k, v) in entries {
            map.keys().append_value(k);
            map.values().append_value(v);
        }
        map.append(true).unwrap();
    }
    let map = map.finish();
    let n = Int32Array::from(vec![10, 20, 30, 40]);
    let schema = Schema::new(vec![
        Field::new("XS", list.data_type().clone(), true),
        Field::new("M", map.data_type().clone(), true),
        Field::new("N", DataType::Int32, true),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![Arc::new(list), Arc::new(map), Arc::new(n)]).unwrap()
}

fn eval(sql: &str) -> ArrayRef {
    try_eval(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn try_eval(sql: &str) -> rivulet::Result<ArrayRef> {
    let b = batch();
    let catalog = Catalog::new();
    let planner = ExprPlanner::new(b.schema(), &catalog, vec![])?;
    let expr = planner.physical(&parse_expression(sql)?)?;
    Ok(expr.evaluate(&b)?.into_array(b.num_rows())?)
}

/// The rows of an INT array result (`None` for a NULL row).
fn int_lists(a: &ArrayRef) -> Vec<Option<Vec<Option<i32>>>> {
    let list = a.as_list::<i32>();
    (0..list.len())
        .map(|i| (!list.is_null(i)).then(|| list.value(i).as_primitive::<Int32Type>().iter().collect::<Vec<_>>()))
        .collect()
}

/// One MAP<STRING, INT> row as its entries sorted by key (`None` for a NULL row).
type Entries = Option<Vec<(String, Option<i32>)>>;

/// The rows of a MAP<STRING, INT> result.
fn string_int_maps(a: &ArrayRef) -> Vec<Entries> {
    let map = a.as_map();
    (0..map.len())
        .map(|i| {
            (!map.is_null(i)).then(|| {
                let entries = map.value(i);
                let keys = entries.column(0).as_string::<i32>();
                let values = entries.column(1).as_primitive::<Int32Type>();
                let mut out: Vec<_> = (0..keys.len())
                    .map(|j| (keys.value(j).to_string(), values.is_valid(j).then(|| values.value(j))))
                    .collect();
                out.sort();
                out
            })
        })
        .collect()
}

#[test]
fn transform_array_applies_the_body_to_each_element() {
    let out = eval("TRANSFORM(XS, x => x * 2)");
    // A NULL element in arithmetic fails the lambda for that row, which makes it NULL (ksqlDB).
    assert_eq!(int_lists(&out), vec![Some(vec![Some(2), Some(4), Some(6)]), None, None, Some(vec![])]);
}

#[test]
fn transform_array_reads_outer_columns() {
    let out = eval("TRANSFORM(XS, x => IFNULL(x, 0) + n)");
    assert_eq!(
        int_lists(&out),
        vec![Some(vec![Some(11), Some(12), Some(13)]), Some(vec![Some(24), Some(20)]), None, Some(vec![])]
    );
}

#[test]
fn transform_array_result_takes_the_body_type() {
    let out = eval("TRANSFORM(XS, x => CAST(x AS STRING))");
    let DataType::List(f) = out.data_type() else { panic!("{}", out.data_type()) };
    assert_eq!(f.data_type(), &DataType::Utf8);
    let first = out.as_list::<i32>().value(0);
    let strings: Vec<_> = first.as_string::<i32>().iter().collect();
    assert_eq!(strings, vec![Some("1"), Some("2"), Some("3")]);
}

#[test]
fn nested_lambdas_see_the_outer_parameter() {
    let out = eval("TRANSFORM(XS, x => REDUCE(XS, 0, (s, y) => s + IFNULL(y, 0) * IFNULL(x, 1)))");
    assert_eq!(
        int_lists(&out),
        vec![Some(vec![Some(6), Some(12), Some(18)]), Some(vec![Some(16), Some(4)]), None, Some(vec![])]
    );
}

#[test]
fn filter_array_keeps_matching_elements() {
    let out = eval("FILTER(XS, x => x > 1)");
    assert_eq!(int_lists(&out), vec![Some(vec![Some(2), Some(3)]), Some(vec![Some(4)]), None, Some(vec![])]);
}

#[test]
fn reduce_array_folds_from_the_initial_state() {
    let out = eval("REDUCE(XS, n, (s, x) => s + x)");
    let out = out.as_primitive::<Int32Type>();
    // [4, NULL] throws on the NULL; a NULL array returns the initial state.
    assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(16), None, Some(30), Some(40)]);
}

#[test]
fn reduce_keeps_the_state_type() {
    let out = eval("REDUCE(XS, CAST(0 AS BIGINT), (s, x) => s + IFNULL(x, 0))");
    assert_eq!(out.data_type(), &DataType::Int64);
    let out = eval("REDUCE(XS, '', (s, x) => CONCAT(s, CAST(x AS STRING)))");
    let strings: Vec<_> = out.as_string::<i32>().iter().collect();
    assert_eq!(strings, vec![Some("123"), Some("4"), Some(""), Some("")]);
}

#[test]
fn transform_map_rewrites_keys_and_values() {
    let out = eval("TRANSFORM(M, (k, v) => UCASE(k), (k, v) => v + n)");
    assert_eq!(
        string_int_maps(&out),
        vec![
            Some(vec![("A".into(), Some(11)), ("B".into(), Some(12))]),
            Some(vec![("C".into(), Some(23))]),
            Some(vec![]),
            Some(vec![("D".into(), Some(44)), ("E".into(), Some(45))]),
        ]
    );
}

#[test]
fn transform_map_later_duplicate_keys_win() {
    let out = eval("TRANSFORM(M, (k, v) => 'same', (k, v) => v)");
    assert_eq!(string_int_maps(&out)[0], Some(vec![("same".into(), Some(2))]));
}

#[test]
fn filter_map_keeps_matching_entries() {
    let out = eval("FILTER(M, (k, v) => v % 2 = 1 OR k = 'e')");
    assert_eq!(
        string_int_maps(&out),
        vec![
            Some(vec![("a".into(), Some(1))]),
            Some(vec![("c".into(), Some(3))]),
            Some(vec![]),
            Some(vec![("e".into(), Some(5))]),
        ]
    );
}

#[test]
fn reduce_map_folds_entries() {
    let out = eval("REDUCE(M, 0, (s, k, v) => s + v * LEN(k))");
    assert_eq!(out.as_primitive::<Int32Type>().iter().collect::<Vec<_>>(), vec![Some(3), Some(3), Some(0), Some(9)]);
}

#[test]
fn lambda_arity_is_checked() {
    let err = try_eval("TRANSFORM(XS, (a, b) => a)").unwrap_err();
    assert!(err.to_string().contains("takes 1 parameter"), "{err}");
    let err = try_eval("TRANSFORM(M, (k, v) => k)").unwrap_err();
    assert!(err.to_string().contains("2 lambda"), "{err}");
    let err = try_eval("FILTER(XS, x => x + 1)").unwrap_err();
    assert!(err.to_string().contains("BOOLEAN"), "{err}");
}

#[test]
fn a_guarded_null_does_not_fail_the_lambda() {
    // CASE evaluates the ELSE branch only for the rows that reach it.
    let out = eval("TRANSFORM(XS, x => CASE WHEN x IS NULL THEN 0 ELSE x * 2 END)");
    assert_eq!(int_lists(&out)[1], Some(vec![Some(8), Some(0)]));
}

#[test]
fn lambdas_work_on_literal_arrays() {
    let out = eval("TRANSFORM(ARRAY[1, 2], x => x + N)");
    assert_eq!(int_lists(&out)[3], Some(vec![Some(41), Some(42)]));
    let out = eval("FILTER(ARRAY['a', 'bb'], s => LEN(s) > 1)");
    let first = out.as_list::<i32>().value(0);
    assert_eq!(first.as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("bb")]);
}

#[test]
fn reduce_of_a_null_literal_is_the_initial_state() {
    let out = eval("REDUCE(CAST(NULL AS ARRAY<INT>), N, (s, x) => s + x)");
    assert_eq!(
        out.as_primitive::<Int32Type>().iter().collect::<Vec<_>>(),
        vec![Some(10), Some(20), Some(30), Some(40)]
    );
    let out = eval("REDUCE(NULL, N, (s, x) => s)");
    assert_eq!(out.as_primitive::<Int32Type>().value(0), 10);
}
