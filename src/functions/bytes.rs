//! Numbers from BYTES: INT_FROM_BYTES, BIGINT_FROM_BYTES and DOUBLE_FROM_BYTES, big-endian by
//! default or in the byte order given ('BIG_ENDIAN' / 'LITTLE_ENDIAN'). A value of the wrong
//! length gives NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Float64Array, Int32Array, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::as_binary_array;

use super::Registry;
use super::util::{P, arg, overloaded, returns, sig, str_arg, sval};

/// The `N` bytes of row `i` in big-endian order, or `None`.
fn bytes_at<const N: usize>(
    b: &datafusion::arrow::array::BinaryArray,
    order: Option<&datafusion::arrow::array::StringArray>,
    i: usize,
) -> Option<[u8; N]> {
    if b.is_null(i) {
        return None;
    }
    let mut v: [u8; N] = b.value(i).try_into().ok()?;
    let little = match order {
        None => false,
        Some(o) => match sval(o, i)?.to_ascii_uppercase().as_str() {
            "BIG_ENDIAN" => false,
            "LITTLE_ENDIAN" => true,
            _ => return None,
        },
    };
    if little {
        v.reverse();
    }
    Some(v)
}

pub(crate) fn register(r: &mut Registry) {
    let sigs = || vec![sig(&[P::Bytes]), sig(&[P::Bytes, P::Str])];
    r.add(
        "INT_FROM_BYTES",
        "Reads an INT from 4 bytes (big-endian unless 'LITTLE_ENDIAN' is given).",
        overloaded("INT_FROM_BYTES", sigs(), returns(DataType::Int32), |args, _, rows| {
            let b = as_binary_array(arg(args, 0)?)?;
            let o = if args.len() > 1 { Some(str_arg(args, 1, rows)?) } else { None };
            let out: Int32Array = (0..rows).map(|i| bytes_at::<4>(b, o.as_ref(), i).map(i32::from_be_bytes)).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "BIGINT_FROM_BYTES",
        "Reads a BIGINT from 8 bytes (big-endian unless 'LITTLE_ENDIAN' is given).",
        overloaded("BIGINT_FROM_BYTES", sigs(), returns(DataType::Int64), |args, _, rows| {
            let b = as_binary_array(arg(args, 0)?)?;
            let o = if args.len() > 1 { Some(str_arg(args, 1, rows)?) } else { None };
            let out: Int64Array = (0..rows).map(|i| bytes_at::<8>(b, o.as_ref(), i).map(i64::from_be_bytes)).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "DOUBLE_FROM_BYTES",
        "Reads a DOUBLE from 8 bytes (big-endian unless 'LITTLE_ENDIAN' is given).",
        overloaded("DOUBLE_FROM_BYTES", sigs(), returns(DataType::Float64), |args, _, rows| {
            let b = as_binary_array(arg(args, 0)?)?;
            let o = if args.len() > 1 { Some(str_arg(args, 1, rows)?) } else { None };
            let out: Float64Array =
                (0..rows).map(|i| bytes_at::<8>(b, o.as_ref(), i).map(f64::from_be_bytes)).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use datafusion::common::ScalarValue;

    fn b(v: &[u8]) -> ScalarValue {
        ScalarValue::Binary(Some(v.to_vec()))
    }

    #[test]
    fn numbers_from_bytes() {
        assert_eq!(eval_lit("INT_FROM_BYTES", vec![b(&[0, 0, 1, 0])]), i(256));
        assert_eq!(eval_lit("INT_FROM_BYTES", vec![b(&[0, 1, 0, 0]), s("LITTLE_ENDIAN")]), i(256));
        assert_eq!(eval_lit("INT_FROM_BYTES", vec![b(&[1, 0])]), ScalarValue::Int32(None));
        assert_eq!(eval_lit("BIGINT_FROM_BYTES", vec![b(&[0, 0, 0, 0, 0, 0, 0, 7])]), ScalarValue::Int64(Some(7)));
        assert_eq!(eval_lit("DOUBLE_FROM_BYTES", vec![b(&1.5f64.to_be_bytes())]), d(1.5));
    }
}
