//! The parts of ksqlDB's CAST that Arrow's cast kernel does differently: containers of BIGINT
//! narrowed to INT wrap around as Java's `(int)` does, instead of failing; and MAP and STRUCT
//! values cast to STRING print as their Java objects do (`{k=v}`, `Struct{F=v}`).
//!
//! The planner uses [`cast_udf`] only for casts from or to a MAP, an ARRAY or a STRUCT; scalar
//! casts stay DataFusion's.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, ListArray, MapArray, StringBuilder, StructArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{ScalarUDF, Volatility};

use super::util::{arg, decimal_string, exec_error, java_double, make_udf};

/// `CAST(x AS target)` with ksqlDB's semantics for containers.
pub fn cast_udf(target: DataType) -> Arc<ScalarUDF> {
    let ret = target.clone();
    make_udf(
        "__ksql_cast",
        Volatility::Immutable,
        |types| Ok(types.to_vec()),
        move |_| Ok(ret.clone()),
        move |args, _, _| cast(arg(args, 0)?, &target),
    )
}

/// Casts `array` to `target`, recursing into arrays and maps.
fn cast(array: &ArrayRef, target: &DataType) -> Result<ArrayRef> {
    if array.data_type() == target {
        return Ok(Arc::clone(array));
    }
    match (array.data_type(), target) {
        (DataType::Map(_, _) | DataType::Struct(_), DataType::Utf8) => {
            let mut out = StringBuilder::new();
            for row in 0..array.len() {
                if array.is_null(row) {
                    out.append_null();
                } else {
                    let mut text = String::new();
                    java_string(array.as_ref(), row, &mut text)?;
                    out.append_value(text);
                }
            }
            Ok(Arc::new(out.finish()))
        }
        (DataType::List(_), DataType::List(item)) => {
            let list = array.as_list::<i32>();
            let values = cast(list.values(), item.data_type())?;
            Ok(Arc::new(ListArray::try_new(Arc::clone(item), list.offsets().clone(), values, list.nulls().cloned())?))
        }
        (DataType::Map(_, _), DataType::Map(entries, sorted)) => {
            let map = array.as_map();
            let DataType::Struct(fields) = entries.data_type() else {
                return Err(exec_error(format!("map entries of unexpected type {}", entries.data_type())));
            };
            let (Some(key), Some(value)) = (fields.first(), fields.get(1)) else {
                return Err(exec_error("map entries need a key and a value"));
            };
            let keys = cast(map.keys(), key.data_type())?;
            let values = cast(map.values(), value.data_type())?;
            let entries_array = StructArray::try_new(fields.clone(), vec![keys, values], None)?;
            Ok(Arc::new(MapArray::try_new(
                Arc::clone(entries),
                map.offsets().clone(),
                entries_array,
                map.nulls().cloned(),
                *sorted,
            )?))
        }
        // Java's (int) of a long keeps the low 32 bits.
        (DataType::Int64, DataType::Int32) => {
            let wrapped: Int32Array = array.as_primitive::<Int64Type>().unary(|v| v as i32);
            Ok(Arc::new(wrapped))
        }
        _ => Ok(datafusion::arrow::compute::cast(array, target)?),
    }
}

/// Java's `String.valueOf` of row `row` of `array`: what a Java UDF taking `Object` prints.
pub(crate) fn java_string_of(array: &dyn Array, row: usize) -> Result<String> {
    let mut out = String::new();
    java_string(array, row, &mut out)?;
    Ok(out)
}

/// Appends Java's `toString` of row `row` of `array` (a nested value inside a container).
fn java_string(array: &dyn Array, row: usize, out: &mut String) -> Result<()> {
    use std::fmt::Write;
    if array.is_null(row) {
        out.push_str("null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Utf8 => out.push_str(array.as_string::<i32>().value(row)),
        DataType::Float64 => {
            out.push_str(&java_double(array.as_primitive::<datafusion::arrow::datatypes::Float64Type>().value(row)))
        }
        DataType::Decimal128(_, scale) => out.push_str(&decimal_string(
            array.as_primitive::<datafusion::arrow::datatypes::Decimal128Type>().value(row),
            *scale,
        )),
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            out.push('[');
            for i in 0..items.len() {
                if i > 0 {
                    out.push_str(", ");
                }
                java_string(items.as_ref(), i, out)?;
            }
            out.push(']');
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            out.push('{');
            for i in 0..entries.len() {
                if i > 0 {
                    out.push_str(", ");
                }
                java_string(entries.column(0).as_ref(), i, out)?;
                out.push('=');
                java_string(entries.column(1).as_ref(), i, out)?;
            }
            out.push('}');
        }
        DataType::Struct(fields) => {
            // Kafka Connect's Struct prints its non-null fields only.
            let s = array.as_struct();
            out.push_str("Struct{");
            let mut first = true;
            for (i, f) in fields.iter().enumerate() {
                let column = s.column(i);
                if column.is_null(row) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                let _ = write!(out, "{}=", f.name());
                java_string(column.as_ref(), row, out)?;
            }
            out.push('}');
        }
        _ => {
            let one = datafusion::arrow::compute::cast(&array.slice(row, 1), &DataType::Utf8)?;
            out.push_str(one.as_string::<i32>().value(0));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int32Builder, Int64Builder, ListBuilder, MapBuilder, StringArray};
    use datafusion::arrow::datatypes::Field;

    use super::*;

    #[test]
    fn bigint_elements_wrap_to_int() {
        let mut b = ListBuilder::new(Int64Builder::new());
        b.append_value([Some(1), Some(2_147_483_648), None]);
        let list: ArrayRef = Arc::new(b.finish());
        let target = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        let out = cast(&list, &target).unwrap();
        let values: Vec<_> =
            out.as_list::<i32>().value(0).as_primitive::<datafusion::arrow::datatypes::Int32Type>().iter().collect();
        assert_eq!(values, vec![Some(1), Some(-2_147_483_648), None]);
    }

    #[test]
    fn maps_and_structs_print_as_java_does() {
        let mut m = MapBuilder::new(None, datafusion::arrow::array::StringBuilder::new(), Int32Builder::new());
        m.keys().append_value("this");
        m.values().append_value(1);
        m.append(true).unwrap();
        let map: ArrayRef = Arc::new(m.finish());
        let out = cast(&map, &DataType::Utf8).unwrap();
        assert_eq!(out.as_string::<i32>().value(0), "{this=1}");

        let s: ArrayRef = Arc::new(StructArray::from(vec![
            (Arc::new(Field::new("F0", DataType::Int32, true)), Arc::new(Int32Array::from(vec![1])) as ArrayRef),
            (
                Arc::new(Field::new("f1", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec![None::<&str>])) as ArrayRef,
            ),
        ]));
        let out = cast(&s, &DataType::Utf8).unwrap();
        assert_eq!(out.as_string::<i32>().value(0), "Struct{F0=1}");
    }
}
