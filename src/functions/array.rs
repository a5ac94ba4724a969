//! Array functions: the set operations (ARRAY_DISTINCT, _EXCEPT, _INTERSECT, _UNION) and
//! ARRAY_CONCAT, ARRAY_CONTAINS, ARRAY_REMOVE, ARRAY_LENGTH, ARRAY_MAX/MIN, ARRAY_SORT (NULLs
//! last), ARRAY_JOIN, GENERATE_SERIES and SLICE.
//!
//! Elements are compared through Arrow's row format, so every function works for any element
//! type, nested ones included, and output arrays are built with `take` on the input values.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Int32Array, ListArray, ListBuilder, PrimitiveBuilder, StringArray,
};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::cast::{as_int32_array, as_int64_array, as_list_array};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::Volatility;
use datafusion::logical_expr::binary::try_type_union_resolution;

use super::Registry;
use super::util::{
    P, arg, cast_arg, decimal_string, exec_error, java_double, list_field, list_from_indices, list_of, make_udf,
    overloaded, returns, returns_arg, sig, str_arg, sval,
};

/// Element rows of a list's values, in ascending order with NULLs last.
fn element_rows(values: &ArrayRef, descending: bool) -> Result<Rows> {
    let conv = RowConverter::new(vec![SortField::new_with_options(
        values.data_type().clone(),
        SortOptions { descending, nulls_first: false },
    )])?;
    Ok(conv.convert_columns(&[Arc::clone(values)])?)
}

fn element_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::List(f) => Some(f.data_type().clone()),
        _ => None,
    }
}

/// Two arrays (or NULLs) coerced to one list type.
fn two_lists(args: &[DataType]) -> std::result::Result<Vec<DataType>, Option<String>> {
    if args.len() != 2 {
        return Err(None);
    }
    match (&args[0], &args[1]) {
        (DataType::Null, DataType::Null) => Ok(vec![list_of(DataType::Null); 2]),
        (DataType::Null, l @ DataType::List(_)) | (l @ DataType::List(_), DataType::Null) => {
            Ok(vec![l.clone(), l.clone()])
        }
        (a @ DataType::List(_), b @ DataType::List(_)) if a == b => Ok(vec![a.clone(), b.clone()]),
        (DataType::List(_), DataType::List(_)) => try_type_union_resolution(args).map_err(|_| None),
        _ => Err(None),
    }
}

/// An array and a value of its element type.
fn list_and_element(args: &[DataType]) -> std::result::Result<Vec<DataType>, Option<String>> {
    if args.len() != 2 {
        return Err(None);
    }
    match &args[0] {
        DataType::List(f) => {
            let elem = f.data_type();
            if args[1] == DataType::Null || &args[1] == elem {
                return Ok(vec![args[0].clone(), elem.clone()]);
            }
            let common = try_type_union_resolution(&[elem.clone(), args[1].clone()]).map_err(|_| None)?;
            let c = common.first().cloned().ok_or(None)?;
            Ok(vec![list_of(c.clone()), c])
        }
        DataType::Null => Ok(vec![list_of(args[1].clone()), args[1].clone()]),
        _ => Err(None),
    }
}

fn range(l: &ListArray, i: usize) -> std::ops::Range<usize> {
    let o = l.value_offsets();
    o[i] as usize..o[i + 1] as usize
}

/// Set-like operations over two lists; `op` gets the element rows of both sides.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Except,
    Intersect,
    Union,
    Concat,
}

fn set_op(args: &[ArrayRef], op: SetOp) -> Result<ArrayRef> {
    let a = as_list_array(arg(args, 0)?)?;
    let b = as_list_array(arg(args, 1)?)?;
    let field = list_field(a.data_type())?;
    let values = datafusion::arrow::compute::concat(&[a.values().as_ref(), b.values().as_ref()])?;
    let rows = element_rows(&values, false)?;
    let shift = a.values().len();
    let mut out: Vec<Option<Vec<u32>>> = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        let (an, bn) = (a.is_null(i), b.is_null(i));
        if op == SetOp::Concat {
            if an && bn {
                out.push(None);
                continue;
            }
            let mut idx: Vec<u32> = Vec::new();
            if !an {
                idx.extend(range(a, i).map(|j| j as u32));
            }
            if !bn {
                idx.extend(range(b, i).map(|j| (j + shift) as u32));
            }
            out.push(Some(idx));
            continue;
        }
        if an || bn {
            out.push(None);
            continue;
        }
        let other: HashSet<_> = range(b, i).map(|j| rows.row(j + shift)).collect();
        let mut seen = HashSet::new();
        let mut idx: Vec<u32> = Vec::new();
        for j in range(a, i) {
            let r = rows.row(j);
            let keep = match op {
                SetOp::Except => !other.contains(&r),
                SetOp::Intersect => other.contains(&r),
                _ => true,
            };
            if keep && seen.insert(r) {
                idx.push(j as u32);
            }
        }
        if op == SetOp::Union {
            for j in range(b, i) {
                if seen.insert(rows.row(j + shift)) {
                    idx.push((j + shift) as u32);
                }
            }
        }
        out.push(Some(idx));
    }
    list_from_indices(field, values.as_ref(), &out)
}

/// Per row of `list`, whether each element equals `value` at that row.
fn matches_value(
    list: &ListArray,
    value: &ArrayRef,
    mut f: impl FnMut(usize, &mut dyn Iterator<Item = (usize, bool)>),
) -> Result<()> {
    let elem = list.values();
    let value = if value.data_type() == elem.data_type() {
        Arc::clone(value)
    } else {
        datafusion::arrow::compute::cast(value, elem.data_type())?
    };
    let conv = RowConverter::new(vec![SortField::new(elem.data_type().clone())])?;
    let rows = conv.convert_columns(&[Arc::clone(elem)])?;
    let vrows = conv.convert_columns(&[value])?;
    for i in 0..list.len() {
        let v = vrows.row(i);
        let mut it = range(list, i).map(|j| (j, rows.row(j) == v));
        f(i, &mut it);
    }
    Ok(())
}

fn value_string(a: &ArrayRef, i: usize) -> Result<String> {
    if a.is_null(i) {
        return Ok("null".into());
    }
    Ok(match a.data_type() {
        DataType::Float64 => java_double(datafusion::common::cast::as_float64_array(a)?.value(i)),
        DataType::Decimal128(_, s) => decimal_string(datafusion::common::cast::as_decimal128_array(a)?.value(i), *s),
        _ => {
            let s = datafusion::arrow::compute::cast(&a.slice(i, 1), &DataType::Utf8)?;
            let s = datafusion::common::cast::as_string_array(&s)?;
            s.value(0).to_string()
        }
    })
}

pub(crate) fn register(r: &mut Registry) {
    for (name, desc, op) in [
        ("ARRAY_EXCEPT", "Returns the distinct elements of the first array that are not in the second.", SetOp::Except),
        ("ARRAY_INTERSECT", "Returns the distinct elements that are in both arrays.", SetOp::Intersect),
        ("ARRAY_UNION", "Returns the distinct elements that are in either array.", SetOp::Union),
        ("ARRAY_CONCAT", "Concatenates two arrays; a NULL array counts as empty unless both are NULL.", SetOp::Concat),
    ] {
        r.add(
            name,
            desc,
            make_udf(name, Volatility::Immutable, two_lists, returns_arg(0), move |args, _, _| set_op(args, op)),
        );
    }
    r.add(
        "ARRAY_DISTINCT",
        "Returns the distinct elements of an array, in order of first occurrence.",
        overloaded("ARRAY_DISTINCT", vec![sig(&[P::Array])], returns_arg(0), |args, _, _| {
            let a = as_list_array(arg(args, 0)?)?;
            let field = list_field(a.data_type())?;
            let rows = element_rows(a.values(), false)?;
            let out: Vec<Option<Vec<u32>>> = (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        return None;
                    }
                    let mut seen = HashSet::new();
                    Some(range(a, i).filter(|j| seen.insert(rows.row(*j))).map(|j| j as u32).collect())
                })
                .collect();
            list_from_indices(field, a.values().as_ref(), &out)
        }),
    );
    r.add(
        "ARRAY_CONTAINS",
        "Returns whether an array contains a value.",
        make_udf(
            "ARRAY_CONTAINS",
            Volatility::Immutable,
            list_and_element,
            returns(DataType::Boolean),
            |args, _, _| {
                let l = as_list_array(arg(args, 0)?)?;
                let mut out = vec![false; l.len()];
                matches_value(l, arg(args, 1)?, |i, it| {
                    let mut found = false;
                    for (_, eq) in it {
                        found |= eq;
                    }
                    out[i] = !l.is_null(i) && found;
                })?;
                Ok(Arc::new(BooleanArray::from(out)) as ArrayRef)
            },
        ),
    );
    r.add(
        "ARRAY_REMOVE",
        "Removes every element equal to a value from an array.",
        make_udf("ARRAY_REMOVE", Volatility::Immutable, list_and_element, returns_arg(0), |args, _, _| {
            let l = as_list_array(arg(args, 0)?)?;
            let field = list_field(l.data_type())?;
            let mut out: Vec<Option<Vec<u32>>> = vec![None; l.len()];
            matches_value(l, arg(args, 1)?, |i, it| {
                if !l.is_null(i) {
                    out[i] = Some(it.filter(|(_, eq)| !eq).map(|(j, _)| j as u32).collect());
                }
            })?;
            list_from_indices(field, l.values().as_ref(), &out)
        }),
    );
    r.add(
        "ARRAY_LENGTH",
        "Returns the number of elements of an array.",
        overloaded("ARRAY_LENGTH", vec![sig(&[P::Array])], returns(DataType::Int32), |args, _, rows| {
            let a = arg(args, 0)?;
            if a.data_type() == &DataType::Null {
                return Ok(Arc::new(Int32Array::new_null(rows)) as ArrayRef);
            }
            let l = as_list_array(a)?;
            let out: Int32Array = (0..l.len()).map(|i| (!l.is_null(i)).then(|| l.value_length(i))).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    for (name, desc, max) in [
        ("ARRAY_MAX", "Returns the largest non-NULL element of an array.", true),
        ("ARRAY_MIN", "Returns the smallest non-NULL element of an array.", false),
    ] {
        r.add(
            name,
            desc,
            overloaded(
                name,
                vec![sig(&[P::Array])],
                |args| {
                    args.first().and_then(element_type).ok_or_else(|| DataFusionError::Plan("expected an array".into()))
                },
                move |args, _, _| {
                    let l = as_list_array(arg(args, 0)?)?;
                    let values = l.values();
                    let rows = element_rows(values, false)?;
                    let idx: Vec<Option<u32>> = (0..l.len())
                        .map(|i| {
                            if l.is_null(i) {
                                return None;
                            }
                            let it = range(l, i).filter(|j| !values.is_null(*j));
                            let best = if max {
                                it.max_by(|x, y| rows.row(*x).cmp(&rows.row(*y)))
                            } else {
                                it.min_by(|x, y| rows.row(*x).cmp(&rows.row(*y)))
                            };
                            best.map(|j| j as u32)
                        })
                        .collect();
                    let idx = datafusion::arrow::array::UInt32Array::from(idx);
                    Ok(datafusion::arrow::compute::take(values.as_ref(), &idx, None)?)
                },
            ),
        );
    }
    r.add(
        "ARRAY_SORT",
        "Sorts an array ascending (default) or descending ('ASC'/'DESC'); NULLs go last.",
        overloaded(
            "ARRAY_SORT",
            vec![sig(&[P::Array]), sig(&[P::Array, P::Str])],
            returns_arg(0),
            |args, _, rows_n| {
                let l = as_list_array(arg(args, 0)?)?;
                let field = list_field(l.data_type())?;
                let dir = if args.len() > 1 { Some(str_arg(args, 1, rows_n)?) } else { None };
                let asc = element_rows(l.values(), false)?;
                let desc = element_rows(l.values(), true)?;
                let out: Vec<Option<Vec<u32>>> = (0..l.len())
                    .map(|i| {
                        if l.is_null(i) {
                            return None;
                        }
                        let descending = match &dir {
                            None => false,
                            Some(d) => match sval(d, i)?.to_ascii_uppercase().as_str() {
                                "ASC" | "ASCENDING" => false,
                                "DESC" | "DESCENDING" => true,
                                _ => return None,
                            },
                        };
                        let rows = if descending { &desc } else { &asc };
                        let mut idx: Vec<u32> = range(l, i).map(|j| j as u32).collect();
                        idx.sort_by(|x, y| rows.row(*x as usize).cmp(&rows.row(*y as usize)));
                        Some(idx)
                    })
                    .collect();
                list_from_indices(field, l.values().as_ref(), &out)
            },
        ),
    );
    r.add(
        "ARRAY_JOIN",
        "Joins the elements of an array into a string with a delimiter (default ',').",
        overloaded(
            "ARRAY_JOIN",
            vec![sig(&[P::Array]), sig(&[P::Array, P::Str])],
            returns(DataType::Utf8),
            |args, _, rows| {
                let l = as_list_array(arg(args, 0)?)?;
                let delim = if args.len() > 1 { Some(str_arg(args, 1, rows)?) } else { None };
                let values = l.values();
                let mut out: Vec<Option<String>> = Vec::with_capacity(l.len());
                for i in 0..l.len() {
                    if l.is_null(i) {
                        out.push(None);
                        continue;
                    }
                    let d = match &delim {
                        None => ",",
                        Some(d) => sval(d, i).unwrap_or(""),
                    };
                    let parts: Vec<String> = range(l, i).map(|j| value_string(values, j)).collect::<Result<_>>()?;
                    out.push(Some(parts.join(d)));
                }
                Ok(Arc::new(StringArray::from(out)) as ArrayRef)
            },
        ),
    );
    r.add(
        "GENERATE_SERIES",
        "Returns the array of numbers from start to end (inclusive), by an optional step.",
        overloaded(
            "GENERATE_SERIES",
            vec![
                sig(&[P::Int, P::Int]),
                sig(&[P::Int, P::Int, P::Int]),
                sig(&[P::BigInt, P::BigInt]),
                sig(&[P::BigInt, P::BigInt, P::BigInt]),
            ],
            |args| Ok(list_of(args.first().cloned().unwrap_or(DataType::Int32))),
            |args, _, rows| {
                let wide = arg(args, 0)?.data_type() == &DataType::Int64;
                let get = |k: usize| -> Result<ArrayRef> { cast_arg(args, k, &DataType::Int64) };
                let start = get(0)?;
                let end = get(1)?;
                let step = if args.len() > 2 { Some(get(2)?) } else { None };
                let (start, end) = (as_int64_array(&start)?, as_int64_array(&end)?);
                let step = step.as_ref().map(|a| as_int64_array(a)).transpose()?;
                let series = |i: usize| -> Result<Option<Vec<i64>>> {
                    if start.is_null(i) || end.is_null(i) {
                        return Ok(None);
                    }
                    let (s, e) = (start.value(i), end.value(i));
                    let st = match step {
                        Some(a) if a.is_null(i) => return Ok(None),
                        Some(a) => a.value(i),
                        None => {
                            if e >= s {
                                1
                            } else {
                                -1
                            }
                        }
                    };
                    if st == 0 {
                        return Err(exec_error("GENERATE_SERIES step cannot be zero"));
                    }
                    if (e > s && st < 0) || (e < s && st > 0) {
                        return Ok(None);
                    }
                    let n = (e - s) / st + 1;
                    if n > 10_000_000 {
                        return Err(exec_error("GENERATE_SERIES result is too large"));
                    }
                    Ok(Some((0..n).map(|k| s + k * st).collect()))
                };
                if wide {
                    let mut b = ListBuilder::new(PrimitiveBuilder::<Int64Type>::new());
                    for i in 0..rows {
                        match series(i)? {
                            Some(v) => {
                                b.values().append_slice(&v);
                                b.append(true);
                            }
                            None => b.append(false),
                        }
                    }
                    Ok(Arc::new(b.finish()) as ArrayRef)
                } else {
                    let mut b = ListBuilder::new(PrimitiveBuilder::<Int32Type>::new());
                    for i in 0..rows {
                        match series(i)? {
                            Some(v) => {
                                for x in v {
                                    b.values().append_value(x as i32);
                                }
                                b.append(true);
                            }
                            None => b.append(false),
                        }
                    }
                    Ok(Arc::new(b.finish()) as ArrayRef)
                }
            },
        ),
    );
    r.add(
        "SLICE",
        "Returns the elements of an array from one 1-based position to another, inclusive.",
        overloaded("SLICE", vec![sig(&[P::Array, P::Int, P::Int])], returns_arg(0), |args, _, _| {
            let l = as_list_array(arg(args, 0)?)?;
            let field = list_field(l.data_type())?;
            let from = as_int32_array(arg(args, 1)?)?;
            let to = as_int32_array(arg(args, 2)?)?;
            let out: Vec<Option<Vec<u32>>> = (0..l.len())
                .map(|i| {
                    if l.is_null(i) {
                        return None;
                    }
                    let r = range(l, i);
                    let len = r.len() as i64;
                    let start = if from.is_null(i) { 0 } else { i64::from(from.value(i)) - 1 };
                    let end = if to.is_null(i) { len } else { i64::from(to.value(i)) };
                    if start < 0 || end > len || start > end {
                        return None;
                    }
                    Some((r.start + start as usize..r.start + end as usize).map(|j| j as u32).collect())
                })
                .collect();
            list_from_indices(field, l.values().as_ref(), &out)
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use datafusion::arrow::datatypes::Int32Type;
    use datafusion::common::ScalarValue;

    fn ints(rows: Vec<Option<Vec<Option<i32>>>>) -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(rows))
    }

    fn as_vecs(a: &ArrayRef) -> Vec<Option<Vec<Option<i32>>>> {
        let l = a.as_any().downcast_ref::<ListArray>().unwrap();
        (0..l.len())
            .map(|i| {
                (!l.is_null(i)).then(|| {
                    let v = l.value(i);
                    let v = v.as_any().downcast_ref::<Int32Array>().unwrap();
                    v.iter().collect()
                })
            })
            .collect()
    }

    fn v(x: &[i32]) -> Option<Vec<Option<i32>>> {
        Some(x.iter().map(|v| Some(*v)).collect())
    }

    #[test]
    fn set_operations() {
        let a = ints(vec![v(&[0, 0, 1, 0, -1]), v(&[0, 0, 1, 0, -1]), None, v(&[])]);
        let b = ints(vec![v(&[1, -2, 0]), v(&[3, 4]), v(&[1]), v(&[1, -2])]);
        let ex = eval_cols("ARRAY_EXCEPT", vec![a.clone(), b.clone()]);
        assert_eq!(as_vecs(&ex), vec![v(&[-1]), v(&[0, 1, -1]), None, v(&[])]);
        let inter = eval_cols("ARRAY_INTERSECT", vec![a.clone(), b.clone()]);
        assert_eq!(as_vecs(&inter), vec![v(&[0, 1]), v(&[]), None, v(&[])]);
        let un = eval_cols("ARRAY_UNION", vec![a.clone(), b.clone()]);
        assert_eq!(as_vecs(&un), vec![v(&[0, 1, -1, -2]), v(&[0, 1, -1, 3, 4]), None, v(&[1, -2])]);
        let cat = eval_cols("ARRAY_CONCAT", vec![a.clone(), b]);
        assert_eq!(as_vecs(&cat)[2], v(&[1]));
        let dist = eval_cols("ARRAY_DISTINCT", vec![ints(vec![Some(vec![Some(0), None, Some(0), None])])]);
        assert_eq!(as_vecs(&dist), vec![Some(vec![Some(0), None])]);
    }

    #[test]
    fn distinct_nested() {
        use datafusion::arrow::array::StringBuilder;
        let mut b = ListBuilder::new(ListBuilder::new(StringBuilder::new()));
        for row in [["foo", "bar"], ["foo", "bar"], ["x", "y"]] {
            for s in row {
                b.values().values().append_value(s);
            }
            b.values().append(true);
        }
        b.append(true);
        let out = eval_cols("ARRAY_DISTINCT", vec![Arc::new(b.finish())]);
        let l = out.as_any().downcast_ref::<ListArray>().unwrap();
        assert_eq!(l.value_length(0), 2);
    }

    #[test]
    fn contains_remove_length() {
        let a = ints(vec![v(&[1, 2]), Some(vec![Some(3), None]), None]);
        let out = eval(
            "ARRAY_CONTAINS",
            vec![datafusion::logical_expr::col("a"), datafusion::logical_expr::lit(2)],
            &batch(vec![("a", a.clone())]),
        );
        let out = out.as_any().downcast_ref::<BooleanArray>().unwrap();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(true), Some(false), Some(false)]);
        let out = eval(
            "ARRAY_REMOVE",
            vec![datafusion::logical_expr::col("a"), datafusion::logical_expr::lit(ScalarValue::Null)],
            &batch(vec![("a", a.clone())]),
        );
        assert_eq!(as_vecs(&out), vec![v(&[1, 2]), v(&[3]), None]);
        let len = eval_cols("ARRAY_LENGTH", vec![a]);
        let len = len.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(len.iter().collect::<Vec<_>>(), vec![Some(2), Some(2), None]);
    }

    #[test]
    fn max_min_sort_join() {
        let a = ints(vec![Some(vec![Some(3), None, Some(-1), Some(7)]), v(&[]), None]);
        let max = eval_cols("ARRAY_MAX", vec![a.clone()]);
        let max = max.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(max.iter().collect::<Vec<_>>(), vec![Some(7), None, None]);
        let min = eval_cols("ARRAY_MIN", vec![a.clone()]);
        let min = min.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(min.value(0), -1);
        let sorted = eval_cols("ARRAY_SORT", vec![a.clone()]);
        assert_eq!(as_vecs(&sorted)[0], Some(vec![Some(-1), Some(3), Some(7), None]));
        let b = batch(vec![("a", a.clone())]);
        let desc =
            eval("ARRAY_SORT", vec![datafusion::logical_expr::col("a"), datafusion::logical_expr::lit("desc")], &b);
        assert_eq!(as_vecs(&desc)[0], Some(vec![Some(7), Some(3), Some(-1), None]));
        let joined = eval_cols("ARRAY_JOIN", vec![a]);
        let joined = joined.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(joined.value(0), "3,null,-1,7");
    }

    #[test]
    fn series_and_slice() {
        let out = eval_lit("GENERATE_SERIES", vec![i(4), i(0)]);
        assert_eq!(as_vecs(&out.to_array().unwrap()), vec![v(&[4, 3, 2, 1, 0])]);
        let out = eval_lit("GENERATE_SERIES", vec![i(-2), i(1), i(2)]);
        assert_eq!(as_vecs(&out.to_array().unwrap()), vec![v(&[-2, 0])]);
        let out = eval_lit("GENERATE_SERIES", vec![ScalarValue::Int64(Some(1)), ScalarValue::Int64(Some(3))]);
        assert_eq!(out.data_type(), list_of(DataType::Int64));
        let a = ints(vec![v(&[1, 2, 3, 4])]);
        let b = batch(vec![("a", a)]);
        let out = eval(
            "SLICE",
            vec![
                datafusion::logical_expr::col("a"),
                datafusion::logical_expr::lit(2),
                datafusion::logical_expr::lit(3),
            ],
            &b,
        );
        assert_eq!(as_vecs(&out), vec![v(&[2, 3])]);
    }
}
