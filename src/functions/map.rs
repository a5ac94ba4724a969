//! Map functions: MAP_KEYS, MAP_VALUES, MAP_UNION (the second map wins), ENTRIES (an array of
//! `STRUCT<K, V>`, optionally sorted by key) and AS_MAP (zips a key array with a value array).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListArray, MapArray, StructArray, UInt32Array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::cast::{as_boolean_array, as_list_array, as_map_array};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::Volatility;

use super::Registry;
use super::util::{P, arg, exec_error, list_of, make_udf, map_type, overloaded, sig};

fn key_value_types(dt: &DataType) -> Result<(DataType, DataType)> {
    match dt {
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Ok((kv[0].data_type().clone(), kv[1].data_type().clone())),
            other => Err(DataFusionError::Plan(format!("unexpected map entries {other}"))),
        },
        other => Err(DataFusionError::Plan(format!("expected a MAP, got {other}"))),
    }
}

fn entries_type(dt: &DataType) -> Result<DataType> {
    let (k, v) = key_value_types(dt)?;
    Ok(list_of(DataType::Struct(Fields::from(vec![Field::new("K", k, true), Field::new("V", v, true)]))))
}

fn offsets_of(rows: &[Option<Vec<u32>>]) -> Result<(OffsetBuffer<i32>, Vec<u32>, Option<NullBuffer>)> {
    let mut offsets = vec![0i32];
    let mut idx = Vec::new();
    for r in rows {
        if let Some(v) = r {
            idx.extend_from_slice(v);
        }
        offsets.push(i32::try_from(idx.len()).map_err(|_| exec_error("map is too large"))?);
    }
    let nulls = if rows.iter().all(Option::is_some) {
        None
    } else {
        Some(NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>()))
    };
    Ok((OffsetBuffer::new(offsets.into()), idx, nulls))
}

/// Builds a map from per-row indices into `keys` and `values` (same length per row).
fn build_map(
    dt: &DataType,
    keys: &dyn Array,
    values: &dyn Array,
    key_rows: &[Option<Vec<u32>>],
    value_rows: &[Option<Vec<u32>>],
) -> Result<ArrayRef> {
    let DataType::Map(entries_field, sorted) = dt else {
        return Err(DataFusionError::Internal(format!("expected a map type, got {dt}")));
    };
    let DataType::Struct(kv_fields) = entries_field.data_type() else {
        return Err(DataFusionError::Internal("map entries must be a struct".into()));
    };
    let (offsets, kidx, nulls) = offsets_of(key_rows)?;
    let (_, vidx, _) = offsets_of(value_rows)?;
    let k = take(keys, &UInt32Array::from(kidx), None)?;
    let v = take(values, &UInt32Array::from(vidx), None)?;
    let k = if k.data_type() == kv_fields[0].data_type() {
        k
    } else {
        datafusion::arrow::compute::cast(&k, kv_fields[0].data_type())?
    };
    let v = if v.data_type() == kv_fields[1].data_type() {
        v
    } else {
        datafusion::arrow::compute::cast(&v, kv_fields[1].data_type())?
    };
    let entries = StructArray::try_new(kv_fields.clone(), vec![k, v], None)?;
    Ok(Arc::new(MapArray::try_new(Arc::clone(entries_field), offsets, entries, nulls, *sorted)?))
}

fn two_maps(args: &[DataType]) -> std::result::Result<Vec<DataType>, Option<String>> {
    match args {
        [a @ DataType::Map(_, _), b @ DataType::Map(_, _)] if a == b => Ok(args.to_vec()),
        [a @ DataType::Map(_, _), DataType::Null] | [DataType::Null, a @ DataType::Map(_, _)] => {
            Ok(vec![a.clone(), a.clone()])
        }
        [a @ DataType::Map(_, _), b @ DataType::Map(_, _)] => {
            // same layout, different value types: widen through the common value type
            let (ka, va) = key_value_types(a).map_err(|_| None)?;
            let (_, vb) = key_value_types(b).map_err(|_| None)?;
            let common = datafusion::logical_expr::binary::try_type_union_resolution(&[va, vb]).map_err(|_| None)?;
            let t = map_type(ka, common.first().cloned().ok_or(None)?);
            Ok(vec![t.clone(), t])
        }
        _ => Err(None),
    }
}

fn map_part(r: &mut Registry, name: &'static str, desc: &'static str, keys: bool) {
    r.add(
        name,
        desc,
        overloaded(
            name,
            vec![sig(&[P::Map])],
            move |args| {
                let (k, v) = key_value_types(args.first().unwrap_or(&DataType::Null))?;
                Ok(list_of(if keys { k } else { v }))
            },
            move |args, ret, _| {
                let m = as_map_array(arg(args, 0)?)?;
                let values = if keys { m.keys() } else { m.values() };
                let field: FieldRef = match ret {
                    DataType::List(f) => Arc::clone(f),
                    other => return Err(DataFusionError::Internal(format!("bad type {other}"))),
                };
                let values = if values.data_type() == field.data_type() {
                    Arc::clone(values)
                } else {
                    datafusion::arrow::compute::cast(values, field.data_type())?
                };
                Ok(Arc::new(ListArray::try_new(field, m.offsets().clone(), values, m.nulls().cloned())?) as ArrayRef)
            },
        ),
    );
}

pub(crate) fn register(r: &mut Registry) {
    map_part(r, "MAP_KEYS", "Returns the keys of a map as an array.", true);
    map_part(r, "MAP_VALUES", "Returns the values of a map as an array.", false);
    r.add(
        "MAP_UNION",
        "Merges two maps; for a key in both, the second map's value wins.",
        make_udf(
            "MAP_UNION",
            Volatility::Immutable,
            two_maps,
            |args| Ok(args.first().cloned().unwrap_or(DataType::Null)),
            |args, ret, _| {
                let a = as_map_array(arg(args, 0)?)?;
                let b = as_map_array(arg(args, 1)?)?;
                let keys = datafusion::arrow::compute::concat(&[a.keys().as_ref(), b.keys().as_ref()])?;
                let values = datafusion::arrow::compute::concat(&[a.values().as_ref(), b.values().as_ref()])?;
                let conv = RowConverter::new(vec![SortField::new(keys.data_type().clone())])?;
                let rows = conv.convert_columns(&[Arc::clone(&keys)])?;
                let shift = a.keys().len();
                let mut key_rows = Vec::with_capacity(a.len());
                let mut value_rows = Vec::with_capacity(a.len());
                for i in 0..a.len() {
                    if a.is_null(i) && b.is_null(i) {
                        key_rows.push(None);
                        value_rows.push(None);
                        continue;
                    }
                    let mut order: Vec<u32> = Vec::new();
                    let mut val: Vec<u32> = Vec::new();
                    let mut pos = HashMap::new();
                    let ranges = [(a, 0usize, !a.is_null(i)), (b, shift, !b.is_null(i))];
                    for (m, base, present) in ranges {
                        if !present {
                            continue;
                        }
                        let o = m.value_offsets();
                        for j in o[i] as usize..o[i + 1] as usize {
                            let idx = (j + base) as u32;
                            match pos.get(&rows.row(j + base)) {
                                Some(p) => val[*p] = idx,
                                None => {
                                    pos.insert(rows.row(j + base), order.len());
                                    order.push(idx);
                                    val.push(idx);
                                }
                            }
                        }
                    }
                    key_rows.push(Some(order));
                    value_rows.push(Some(val));
                }
                build_map(ret, keys.as_ref(), values.as_ref(), &key_rows, &value_rows)
            },
        ),
    );
    r.add(
        "ENTRIES",
        "Returns a map's entries as an array of STRUCT<K, V>, sorted by key if asked.",
        overloaded(
            "ENTRIES",
            vec![sig(&[P::Map, P::Bool])],
            |args| entries_type(args.first().unwrap_or(&DataType::Null)),
            |args, ret, _| {
                let m = as_map_array(arg(args, 0)?)?;
                let sorted = as_boolean_array(arg(args, 1)?)?;
                let DataType::List(item) = ret else {
                    return Err(DataFusionError::Internal("entries must be a list".into()));
                };
                let DataType::Struct(fields) = item.data_type() else {
                    return Err(DataFusionError::Internal("entries must hold structs".into()));
                };
                let conv = RowConverter::new(vec![SortField::new(m.keys().data_type().clone())])?;
                let rows = conv.convert_columns(&[Arc::clone(m.keys())])?;
                let o = m.value_offsets();
                let per_row: Vec<Option<Vec<u32>>> = (0..m.len())
                    .map(|i| {
                        if m.is_null(i) {
                            return None;
                        }
                        let mut idx: Vec<u32> = (o[i] as u32..o[i + 1] as u32).collect();
                        if sorted.is_valid(i) && sorted.value(i) {
                            idx.sort_by(|x, y| rows.row(*x as usize).cmp(&rows.row(*y as usize)));
                        }
                        Some(idx)
                    })
                    .collect();
                let (offsets, idx, nulls) = offsets_of(&per_row)?;
                let idx = UInt32Array::from(idx);
                let k = take(m.keys().as_ref(), &idx, None)?;
                let v = take(m.values().as_ref(), &idx, None)?;
                let entries = StructArray::try_new(fields.clone(), vec![k, v], None)?;
                Ok(Arc::new(ListArray::try_new(Arc::clone(item), offsets, Arc::new(entries), nulls)?) as ArrayRef)
            },
        ),
    );
    r.add(
        "AS_MAP",
        "Builds a map from an array of keys and an array of values.",
        make_udf(
            "AS_MAP",
            Volatility::Immutable,
            |args| match args {
                [k, v] => {
                    let kt = match k {
                        DataType::List(_) | DataType::Null => list_of(DataType::Utf8),
                        _ => return Err(None),
                    };
                    let vt = match v {
                        DataType::List(_) => v.clone(),
                        DataType::Null => list_of(DataType::Utf8),
                        _ => return Err(None),
                    };
                    Ok(vec![kt, vt])
                }
                _ => Err(None),
            },
            |args| match args.get(1) {
                Some(DataType::List(f)) => Ok(map_type(DataType::Utf8, f.data_type().clone())),
                _ => Err(DataFusionError::Plan("AS_MAP needs two arrays".into())),
            },
            |args, ret, _| {
                let k = as_list_array(arg(args, 0)?)?;
                let v = as_list_array(arg(args, 1)?)?;
                let kv = k.values();
                let conv = RowConverter::new(vec![SortField::new(kv.data_type().clone())])?;
                let rows = conv.convert_columns(&[Arc::clone(kv)])?;
                let mut key_rows = Vec::with_capacity(k.len());
                let mut value_rows = Vec::with_capacity(k.len());
                // one extra NULL value for keys without a value
                let null_value = datafusion::arrow::array::new_null_array(v.values().data_type(), 1);
                let values = datafusion::arrow::compute::concat(&[v.values().as_ref(), null_value.as_ref()])?;
                let null_idx = v.values().len() as u32;
                for i in 0..k.len() {
                    if k.is_null(i) || v.is_null(i) {
                        key_rows.push(None);
                        value_rows.push(None);
                        continue;
                    }
                    let ko = k.value_offsets();
                    let vo = v.value_offsets();
                    let vlen = (vo[i + 1] - vo[i]) as usize;
                    let mut order: Vec<u32> = Vec::new();
                    let mut vals: Vec<u32> = Vec::new();
                    let mut pos = HashMap::new();
                    for (n, j) in (ko[i] as usize..ko[i + 1] as usize).enumerate() {
                        if kv.is_null(j) {
                            continue;
                        }
                        let value = if n < vlen { (vo[i] as usize + n) as u32 } else { null_idx };
                        match pos.get(&rows.row(j)) {
                            Some(p) => vals[*p] = value,
                            None => {
                                pos.insert(rows.row(j), order.len());
                                order.push(j as u32);
                                vals.push(value);
                            }
                        }
                    }
                    key_rows.push(Some(order));
                    value_rows.push(Some(vals));
                }
                build_map(ret, kv.as_ref(), values.as_ref(), &key_rows, &value_rows)
            },
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use datafusion::arrow::array::{Int32Builder, MapBuilder, StringArray, StringBuilder};

    type Entries<'a> = Vec<(&'a str, Option<i32>)>;

    fn map(rows: Vec<Option<Entries<'_>>>) -> ArrayRef {
        let mut b = MapBuilder::new(
            Some(datafusion::arrow::array::MapFieldNames {
                entry: "entries".into(),
                key: "key".into(),
                value: "value".into(),
            }),
            StringBuilder::new(),
            Int32Builder::new(),
        );
        for r in rows {
            match r {
                Some(kv) => {
                    for (k, v) in kv {
                        b.keys().append_value(k);
                        b.values().append_option(v);
                    }
                    b.append(true).unwrap();
                }
                None => b.append(false).unwrap(),
            }
        }
        Arc::new(b.finish())
    }

    fn keys_of(a: &ArrayRef, i: usize) -> Vec<String> {
        let m = a.as_any().downcast_ref::<MapArray>().unwrap();
        let e = m.value(i);
        let k = e.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        k.iter().map(|s| s.unwrap().to_string()).collect()
    }

    #[test]
    fn keys_values_union() {
        let m = map(vec![Some(vec![("foo", Some(10)), ("bar", None)]), None]);
        let keys = eval_cols("MAP_KEYS", vec![m.clone()]);
        assert_eq!(keys.data_type(), &list_of(DataType::Utf8));
        assert!(keys.is_null(1));
        let vals = eval_cols("MAP_VALUES", vec![m.clone()]);
        let l = vals.as_any().downcast_ref::<ListArray>().unwrap();
        assert_eq!(l.value(0).null_count(), 1);
        let m1 = map(vec![Some(vec![("foo", Some(10)), ("bar", Some(20)), ("baz", Some(30))]), None, None]);
        let m2 = map(vec![Some(vec![("foo", Some(99)), ("apple", Some(-1))]), Some(vec![("foo", None)]), None]);
        let u = eval_cols("MAP_UNION", vec![m1, m2]);
        assert_eq!(keys_of(&u, 0), vec!["foo", "bar", "baz", "apple"]);
        let um = u.as_any().downcast_ref::<MapArray>().unwrap();
        let v = um.value(0);
        let v = v.column(1).as_any().downcast_ref::<datafusion::arrow::array::Int32Array>().unwrap();
        assert_eq!(v.value(0), 99);
        assert_eq!(keys_of(&u, 1), vec!["foo"]);
        assert!(u.is_null(2));
    }

    #[test]
    fn entries_sorted() {
        let m = map(vec![Some(vec![("K2", Some(2)), ("K1", Some(1))]), None]);
        let b = batch(vec![("a", m)]);
        let out = eval("ENTRIES", vec![datafusion::logical_expr::col("a"), datafusion::logical_expr::lit(true)], &b);
        let l = out.as_any().downcast_ref::<ListArray>().unwrap();
        let first = l.value(0);
        let s = first.as_any().downcast_ref::<StructArray>().unwrap();
        let k = s.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(k.value(0), "K1");
        assert!(l.is_null(1));
    }

    #[test]
    fn as_map() {
        use datafusion::common::ScalarValue;
        let keys = ScalarValue::List(ScalarValue::new_list_nullable(&[s("a"), s("b"), s("a")], &DataType::Utf8));
        let vals = ScalarValue::List(ScalarValue::new_list_nullable(&[i(1), i(2)], &DataType::Int32));
        let out = eval_lit("AS_MAP", vec![keys, vals]);
        let ScalarValue::Map(m) = out else { panic!() };
        let arr: ArrayRef = m;
        assert_eq!(keys_of(&arr, 0), vec!["a", "b"]);
    }
}
