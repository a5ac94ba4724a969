//! NULL handling: COALESCE, IFNULL and NULLIF.
//!
//! DataFusion's own `coalesce` only works after the optimizer has rewritten it into CASE,
//! which the planner's direct `create_physical_expr` path does not do, so these are our own.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::arrow::compute::kernels::zip;
use datafusion::arrow::compute::{is_not_null, nullif};
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::Volatility;
use datafusion::logical_expr::binary::try_type_union_resolution;

use super::Registry;
use super::util::{cast_arg, make_udf, returns_arg, rows_equal};

/// One common type for all arguments (ksqlDB requires compatible types).
fn common(name: &str, args: &[DataType]) -> std::result::Result<Vec<DataType>, Option<String>> {
    if args.is_empty() {
        return Err(Some(format!("Function '{name}' does not accept parameters ()")));
    }
    if args.iter().all(|t| *t == DataType::Null) {
        return Ok(args.to_vec());
    }
    try_type_union_resolution(args).map_err(|_| None)
}

fn coalesce(args: &[ArrayRef], ret: &DataType) -> datafusion::common::Result<ArrayRef> {
    let mut acc = cast_arg(args, 0, ret)?;
    for i in 1..args.len() {
        let next = cast_arg(args, i, ret)?;
        acc = zip::zip(&is_not_null(acc.as_ref())?, &acc, &next)?;
    }
    Ok(acc)
}

pub(crate) fn register(r: &mut Registry) {
    r.add(
        "COALESCE",
        "Returns the first non-NULL argument.",
        make_udf(
            "COALESCE",
            Volatility::Immutable,
            |args| common("COALESCE", args),
            returns_arg(0),
            |args, ret, _| coalesce(args, ret),
        ),
    );
    r.add(
        "IFNULL",
        "Returns the first argument if it is not NULL, otherwise the second.",
        make_udf(
            "IFNULL",
            Volatility::Immutable,
            |args| {
                if args.len() != 2 {
                    return Err(None);
                }
                common("IFNULL", args)
            },
            returns_arg(0),
            |args, ret, _| coalesce(args, ret),
        ),
    );
    r.add(
        "NULLIF",
        "Returns NULL if both arguments are equal, otherwise the first.",
        make_udf(
            "NULLIF",
            Volatility::Immutable,
            |args| {
                if args.len() != 2 {
                    return Err(None);
                }
                common("NULLIF", args)
            },
            returns_arg(0),
            |args, ret, _| {
                let a = cast_arg(args, 0, ret)?;
                let b = cast_arg(args, 1, ret)?;
                if *ret == DataType::Null {
                    return Ok(a);
                }
                let eq = BooleanArray::from(rows_equal(&a, &b)?);
                Ok(Arc::new(nullif(a.as_ref(), &eq)?) as ArrayRef)
            },
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use datafusion::arrow::array::{Array, Int32Array, ListArray};
    use datafusion::arrow::datatypes::Int32Type;
    use datafusion::common::ScalarValue;

    #[test]
    fn coalesce_and_ifnull() {
        assert_eq!(eval_lit("COALESCE", vec![ScalarValue::Int32(None), ScalarValue::Null, i(2), i(3)]), i(2));
        assert_eq!(eval_lit("IFNULL", vec![ScalarValue::Utf8(None), s("x")]), s("x"));
        let err = try_eval_lit("COALESCE", vec![]).unwrap_err();
        assert!(err.to_string().contains("Function 'COALESCE' does not accept parameters ()"));
    }

    #[test]
    fn coalesce_lists() {
        let a: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)]), None]));
        let b: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(10), Some(20)]),
            Some(vec![Some(10), Some(20)]),
        ]));
        let out = eval_cols("COALESCE", vec![a, b]);
        let out = out.as_any().downcast_ref::<ListArray>().unwrap();
        assert_eq!(out.value(0).len(), 1);
        assert_eq!(out.value(1).len(), 2);
    }

    #[test]
    fn nullif_scalars_and_lists() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), Some(10), None]));
        let b: ArrayRef = Arc::new(Int32Array::from(vec![Some(10), Some(10), Some(10)]));
        let out = eval_cols("NULLIF", vec![a, b]);
        let out = out.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(1), None, None]);
        let l: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2), Some(3)]),
            Some(vec![Some(4)]),
        ]));
        let r: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2), Some(3)]),
            Some(vec![Some(1), Some(2), Some(3)]),
        ]));
        let out = eval_cols("NULLIF", vec![l, r]);
        assert!(out.is_null(0));
        assert!(!out.is_null(1));
    }
}
