//! Helpers for the table functions, which the select planner applies (see `exec::query`).
//!
//! EXPLODE turns each element of an array into a row. CUBE_EXPLODE is EXPLODE over the array of
//! all combinations of the argument's elements with NULL (ksqlDB's `Cube` UDTF): planning it as
//! `EXPLODE(CUBE(arr))` with the internal scalar function [`cube_udf`] lets both share one
//! operator.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, UInt32Array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{ScalarUDF, Volatility};

use super::util::{arg, exec_error, list_of, make_udf};

/// `CUBE(arr)`: per row, the `2^n` arrays obtained from `arr`'s `n` elements by replacing
/// every subset of them with NULL, in ksqlDB's order (the first element is the most
/// significant bit, NULL before present). A combination that would show a NULL element as
/// "present" repeats one with it absent, so it is left out. A NULL array gives no combination.
pub fn cube_udf() -> Arc<ScalarUDF> {
    make_udf(
        "cube",
        Volatility::Immutable,
        |types| match types {
            [DataType::List(_)] => Ok(types.to_vec()),
            _ => Err(None),
        },
        |types| match types {
            [t @ DataType::List(_)] => Ok(list_of(t.clone())),
            _ => Err(DataFusionError::Plan("CUBE needs an ARRAY".into())),
        },
        |args, _, _| cube(arg(args, 0)?.as_list_opt::<i32>().ok_or_else(|| exec_error("CUBE needs an ARRAY"))?),
    )
}

/// The combinations of every row of `list` (see [`cube_udf`]).
fn cube(list: &ListArray) -> Result<ArrayRef> {
    let values = list.values();
    let offsets = list.value_offsets();
    // Indices into `values` of the inner arrays' elements (None: the NULL stand-in).
    let mut element_indices: Vec<Option<u32>> = Vec::new();
    let mut inner_offsets = vec![0i32];
    let mut outer_offsets = vec![0i32];
    for row in 0..list.len() {
        if list.is_valid(row) {
            let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
            let n = end - start;
            if n > 20 {
                return Err(exec_error(format!("CUBE_EXPLODE of {n} elements would produce too many rows")));
            }
            // Bit (n - 1 - j) of `mask` set: element j is present.
            let null_mask: u32 = (0..n).filter(|&j| values.is_null(start + j)).map(|j| 1u32 << (n - 1 - j)).sum();
            for mask in 0u32..(1 << n) {
                if mask & null_mask != 0 {
                    continue;
                }
                for j in 0..n {
                    let present = mask & (1 << (n - 1 - j)) != 0;
                    element_indices.push(present.then_some((start + j) as u32));
                }
                inner_offsets.push(element_indices.len() as i32);
            }
        }
        outer_offsets.push(inner_offsets.len() as i32 - 1);
    }
    let taken = datafusion::arrow::compute::take(values, &UInt32Array::from(element_indices), None)?;
    let item = Arc::new(Field::new("item", taken.data_type().clone(), true));
    let inner = ListArray::try_new(item, OffsetBuffer::new(inner_offsets.into()), taken, None)?;
    let outer_item = Arc::new(Field::new("item", inner.data_type().clone(), true));
    let nulls = list.nulls().map(|n| NullBuffer::new(n.inner().clone()));
    Ok(Arc::new(ListArray::try_new(outer_item, OffsetBuffer::new(outer_offsets.into()), Arc::new(inner), nulls)?))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int32Builder, ListBuilder};
    use datafusion::arrow::datatypes::Int32Type;

    use super::*;

    fn rows(a: &ArrayRef) -> Vec<Vec<Vec<Option<i32>>>> {
        let outer = a.as_list::<i32>();
        (0..outer.len())
            .map(|r| {
                let combos = outer.value(r);
                let combos = combos.as_list::<i32>();
                (0..combos.len()).map(|c| combos.value(c).as_primitive::<Int32Type>().iter().collect()).collect()
            })
            .collect()
    }

    #[test]
    fn cube_lists_every_combination_in_ksqldb_order() {
        let mut b = ListBuilder::new(Int32Builder::new());
        b.append_value([Some(1), Some(2)]);
        b.append_value([Some(3), None]);
        b.append_null();
        b.append_value(Vec::<Option<i32>>::new());
        let out = cube(&b.finish()).unwrap();
        assert_eq!(
            rows(&out),
            vec![
                vec![vec![None, None], vec![None, Some(2)], vec![Some(1), None], vec![Some(1), Some(2)]],
                vec![vec![None, None], vec![Some(3), None]],
                vec![],
                vec![vec![]],
            ]
        );
        assert!(out.is_null(2));
    }
}
