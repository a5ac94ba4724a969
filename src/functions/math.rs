//! Math functions: ABS, the trigonometric family, CEIL/FLOOR, ROUND/TRUNC (ksqlDB rounds half
//! up, towards positive infinity, on the decimal value Java prints for a double), GREATEST/LEAST,
//! LOG, POWER, SIGN, PI and RANDOM.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array};
use datafusion::arrow::compute::kernels::{boolean, cmp, zip};
use datafusion::arrow::compute::{is_not_null, is_null};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::{as_decimal128_array, as_float64_array, as_int32_array, as_int64_array};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::Volatility;

use super::Registry;
use super::util::{P, arg, cast_arg, make_udf, null_as_false, overloaded, returns, returns_arg, sig, sql_type_name};

pub(crate) fn register(r: &mut Registry) {
    unary_double(r, "ACOS", "Returns the arc cosine of a value.", f64::acos);
    unary_double(r, "ASIN", "Returns the arc sine of a value.", f64::asin);
    unary_double(r, "ATAN", "Returns the arc tangent of a value.", f64::atan);
    unary_double(r, "CBRT", "Returns the cube root of a value.", f64::cbrt);
    unary_double(r, "COS", "Returns the cosine of an angle in radians.", f64::cos);
    unary_double(r, "COSH", "Returns the hyperbolic cosine of a value.", f64::cosh);
    unary_double(r, "COT", "Returns the cotangent of an angle in radians.", |v| 1.0 / v.tan());
    unary_double(r, "DEGREES", "Converts radians to degrees.", f64::to_degrees);
    unary_double(r, "EXP", "Returns e raised to the power of a value.", f64::exp);
    unary_double(r, "LN", "Returns the natural logarithm of a value.", f64::ln);
    unary_double(r, "RADIANS", "Converts degrees to radians.", f64::to_radians);
    unary_double(r, "SIN", "Returns the sine of an angle in radians.", f64::sin);
    unary_double(r, "SINH", "Returns the hyperbolic sine of a value.", f64::sinh);
    unary_double(r, "SQRT", "Returns the square root of a value.", f64::sqrt);
    unary_double(r, "TAN", "Returns the tangent of an angle in radians.", f64::tan);
    unary_double(r, "TANH", "Returns the hyperbolic tangent of a value.", f64::tanh);
    binary_double(r, "ATAN2", "Returns the angle of the point (x, y): ATAN2(y, x).", f64::atan2);
    binary_double(r, "POWER", "Returns a base raised to the power of an exponent.", f64::powf);
    r.add(
        "LOG",
        "LOG(x) returns the natural logarithm of x; LOG(base, x) the logarithm of x in base.",
        overloaded(
            "LOG",
            vec![sig(&[P::Double]), sig(&[P::Double, P::Double])],
            returns(DataType::Float64),
            |args, _, _| {
                if args.len() == 1 {
                    map_f64(arg(args, 0)?, f64::ln)
                } else {
                    let base = as_float64_array(arg(args, 0)?)?;
                    let v = as_float64_array(arg(args, 1)?)?;
                    // ksqlDB: a base that is not positive, or is 1, has no logarithm (NaN).
                    let log = |b: f64, v: f64| if b <= 0.0 || b == 1.0 { f64::NAN } else { v.ln() / b.ln() };
                    let out: Float64Array = base.iter().zip(v.iter()).map(|(b, v)| Some(log(b?, v?))).collect();
                    Ok(Arc::new(out))
                }
            },
        ),
    );
    r.add(
        "PI",
        "Returns the value of pi.",
        overloaded("PI", vec![sig(&[])], returns(DataType::Float64), |_, _, rows| {
            Ok(Arc::new(Float64Array::from(vec![std::f64::consts::PI; rows])) as ArrayRef)
        }),
    );
    r.add(
        "RANDOM",
        "Returns a random DOUBLE between 0.0 (inclusive) and 1.0 (exclusive).",
        make_udf(
            "RANDOM",
            Volatility::Volatile,
            |args| {
                if args.is_empty() { Ok(vec![]) } else { Err(None) }
            },
            returns(DataType::Float64),
            |_, _, rows| {
                let mut rng = super::other::Rng::new();
                let out: Float64Array = (0..rows).map(|_| Some(rng.next_f64())).collect();
                Ok(Arc::new(out) as ArrayRef)
            },
        ),
    );
    r.add(
        "ABS",
        "Returns the absolute value of a number.",
        overloaded("ABS", numeric_sigs(), returns_arg(0), |args, _, _| {
            let a = arg(args, 0)?;
            match a.data_type() {
                DataType::Int32 => {
                    Ok(Arc::new(as_int32_array(a)?.iter().map(|v| v.map(i32::wrapping_abs)).collect::<Int32Array>())
                        as ArrayRef)
                }
                DataType::Int64 => {
                    Ok(Arc::new(as_int64_array(a)?.iter().map(|v| v.map(i64::wrapping_abs)).collect::<Int64Array>()))
                }
                DataType::Decimal128(p, s) => map_decimal(a, *p, *s, |v| Some(v.wrapping_abs())),
                _ => map_f64(a, f64::abs),
            }
        }),
    );
    r.add(
        "CEIL",
        "Returns the smallest integral value not less than a number.",
        overloaded("CEIL", numeric_sigs(), returns_arg(0), |args, _, _| {
            integral(arg(args, 0)?, f64::ceil, RoundMode::Ceiling)
        }),
    );
    r.add(
        "FLOOR",
        "Returns the largest integral value not greater than a number.",
        overloaded("FLOOR", numeric_sigs(), returns_arg(0), |args, _, _| {
            integral(arg(args, 0)?, f64::floor, RoundMode::Floor)
        }),
    );
    r.add(
        "SIGN",
        "Returns the sign of a number: -1, 0 or 1.",
        overloaded("SIGN", numeric_sigs(), returns(DataType::Int32), |args, _, _| {
            let a = arg(args, 0)?;
            let out: Int32Array = match a.data_type() {
                DataType::Int32 => as_int32_array(a)?.iter().map(|v| v.map(i32::signum)).collect(),
                DataType::Int64 => as_int64_array(a)?.iter().map(|v| v.map(|v| v.signum() as i32)).collect(),
                DataType::Decimal128(_, _) => {
                    as_decimal128_array(a)?.iter().map(|v| v.map(|v| v.signum() as i32)).collect()
                }
                _ => as_float64_array(a)?
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            if v > 0.0 {
                                1
                            } else if v < 0.0 {
                                -1
                            } else {
                                0
                            }
                        })
                    })
                    .collect(),
            };
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    round_like(
        r,
        "ROUND",
        "Rounds a number half up (towards positive infinity), optionally to some decimal places.",
        RoundMode::HalfUp,
    );
    round_like(r, "TRUNC", "Truncates a number towards zero, optionally to some decimal places.", RoundMode::Down);
    greatest_like(r, "GREATEST", "Returns the largest non-NULL argument.", true);
    greatest_like(r, "LEAST", "Returns the smallest non-NULL argument.", false);
}

fn numeric_sigs() -> Vec<super::util::Sig> {
    vec![sig(&[P::Int]), sig(&[P::BigInt]), sig(&[P::Double]), sig(&[P::Decimal])]
}

fn map_f64(a: &ArrayRef, f: impl Fn(f64) -> f64) -> Result<ArrayRef> {
    let out: Float64Array = as_float64_array(a)?.iter().map(|v| v.map(&f)).collect();
    Ok(Arc::new(out))
}

fn map_decimal(a: &ArrayRef, p: u8, s: i8, f: impl Fn(i128) -> Option<i128>) -> Result<ArrayRef> {
    let out: Decimal128Array = as_decimal128_array(a)?.iter().map(|v| v.and_then(&f)).collect();
    Ok(Arc::new(out.with_precision_and_scale(p, s)?))
}

fn unary_double(r: &mut Registry, name: &'static str, desc: &'static str, f: fn(f64) -> f64) {
    r.add(
        name,
        desc,
        overloaded(name, vec![sig(&[P::Double])], returns(DataType::Float64), move |args, _, _| {
            map_f64(arg(args, 0)?, f)
        }),
    );
}

fn binary_double(r: &mut Registry, name: &'static str, desc: &'static str, f: fn(f64, f64) -> f64) {
    r.add(
        name,
        desc,
        overloaded(name, vec![sig(&[P::Double, P::Double])], returns(DataType::Float64), move |args, _, _| {
            let a = as_float64_array(arg(args, 0)?)?;
            let b = as_float64_array(arg(args, 1)?)?;
            let out: Float64Array = a.iter().zip(b.iter()).map(|(a, b)| Some(f(a?, b?))).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
}

/// How a value is brought to fewer decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoundMode {
    /// Half up towards positive infinity (ksqlDB's ROUND): 1.5 → 2, -1.5 → -1.
    HalfUp,
    /// Towards zero (TRUNC).
    Down,
    /// Towards positive infinity (CEIL).
    Ceiling,
    /// Towards negative infinity (FLOOR).
    Floor,
}

/// Whether to add one unit (in magnitude) after dropping digits.
fn bump(mode: RoundMode, negative: bool, first_dropped: u8, rest_nonzero: bool) -> bool {
    let any = first_dropped > 0 || rest_nonzero;
    match mode {
        RoundMode::Down => false,
        RoundMode::Ceiling => any && !negative,
        RoundMode::Floor => any && negative,
        RoundMode::HalfUp => {
            if negative {
                first_dropped > 5 || (first_dropped == 5 && rest_nonzero)
            } else {
                first_dropped >= 5
            }
        }
    }
}

/// Rounds a double to `places` decimal places on its shortest decimal representation (what
/// Java's `BigDecimal.valueOf(double)` sees). `None` for NaN and infinities.
pub(crate) fn round_f64(v: f64, places: i32, mode: RoundMode) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return Some(0.0);
    }
    let sci = format!("{:e}", v.abs());
    let (mant, exp) = sci.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    let len = digits.len() as i32;
    // number of digits after the decimal point
    let frac = len - 1 - exp;
    if frac <= places {
        return Some(v);
    }
    let keep = len - (frac - places);
    let negative = v < 0.0;
    let (kept, first, rest_nonzero) = if keep < 0 {
        (Vec::new(), 0, true)
    } else {
        let k = keep as usize;
        let first = digits.get(k).copied().unwrap_or(0);
        let rest = digits.iter().skip(k + 1).any(|d| *d > 0);
        (digits[..k].to_vec(), first, rest)
    };
    let mut int_digits: Vec<u8> = if kept.is_empty() { vec![0] } else { kept };
    if bump(mode, negative, first, rest_nonzero) {
        let mut i = int_digits.len();
        loop {
            if i == 0 {
                int_digits.insert(0, 1);
                break;
            }
            i -= 1;
            if int_digits[i] == 9 {
                int_digits[i] = 0;
            } else {
                int_digits[i] += 1;
                break;
            }
        }
    }
    let mut s: String = int_digits.iter().map(|d| char::from(b'0' + d)).collect();
    s.push_str(&format!("e{}", -places));
    let out: f64 = s.parse().ok()?;
    Some(if negative { -out } else { out })
}

/// Rounds an unscaled decimal with `scale` to `places` places, keeping the scale.
pub(crate) fn round_i128(v: i128, scale: i8, places: i32, mode: RoundMode) -> Option<i128> {
    let drop = i32::from(scale) - places;
    if drop <= 0 {
        return Some(v);
    }
    if drop > 38 {
        return Some(0);
    }
    let factor = 10i128.checked_pow(drop as u32)?;
    let q = v / factor;
    let r = (v % factor).abs();
    let negative = v < 0;
    let half = factor / 2;
    let up = match mode {
        RoundMode::Down => false,
        RoundMode::Ceiling => r > 0 && !negative,
        RoundMode::Floor => r > 0 && negative,
        RoundMode::HalfUp => {
            if negative {
                r > half
            } else {
                r >= half
            }
        }
    };
    let q = if up { if negative { q - 1 } else { q + 1 } } else { q };
    q.checked_mul(factor)
}

fn integral(a: &ArrayRef, f: fn(f64) -> f64, mode: RoundMode) -> Result<ArrayRef> {
    match a.data_type() {
        DataType::Int32 | DataType::Int64 => Ok(Arc::clone(a)),
        DataType::Decimal128(p, s) => {
            let s = *s;
            map_decimal(a, *p, s, |v| round_i128(v, s, 0, mode))
        }
        _ => map_f64(a, f),
    }
}

fn round_like(r: &mut Registry, name: &'static str, desc: &'static str, mode: RoundMode) {
    let sigs = vec![
        sig(&[P::Int]),
        sig(&[P::BigInt]),
        sig(&[P::Double]),
        sig(&[P::Decimal]),
        sig(&[P::Double, P::Int]),
        sig(&[P::Decimal, P::Int]),
    ];
    let ret = |args: &[DataType]| -> Result<DataType> {
        Ok(match (args.first(), args.len()) {
            (Some(DataType::Float64), 1) => DataType::Int64,
            (Some(DataType::Decimal128(p, s)), 1) => {
                let digits = i16::from(*p) - i16::from((*s).max(0));
                DataType::Decimal128(digits.clamp(1, 38) as u8, 0)
            }
            (Some(t), _) => t.clone(),
            (None, _) => return Err(DataFusionError::Internal("no arguments".into())),
        })
    };
    r.add(
        name,
        desc,
        overloaded(name, sigs, ret, move |args, ret, rows| {
            let a = arg(args, 0)?;
            let places: Vec<Option<i32>> =
                if args.len() > 1 { as_int32_array(arg(args, 1)?)?.iter().collect() } else { vec![Some(0); rows] };
            match (a.data_type(), ret) {
                (DataType::Int32 | DataType::Int64, _) => Ok(Arc::clone(a)),
                (DataType::Float64, DataType::Int64) => {
                    let out: Int64Array =
                        as_float64_array(a)?.iter().map(|v| round_f64(v?, 0, mode).map(|x| x as i64)).collect();
                    Ok(Arc::new(out) as ArrayRef)
                }
                (DataType::Float64, _) => {
                    let out: Float64Array = as_float64_array(a)?
                        .iter()
                        .zip(places.iter())
                        .map(|(v, p)| round_f64(v?, (*p)?, mode))
                        .collect();
                    Ok(Arc::new(out))
                }
                (DataType::Decimal128(_, s), DataType::Decimal128(rp, rs)) => {
                    let s = *s;
                    let out: Decimal128Array = as_decimal128_array(a)?
                        .iter()
                        .zip(places.iter())
                        .map(|(v, p)| {
                            let rounded = round_i128(v?, s, (*p)?, mode)?;
                            if *rs == s {
                                Some(rounded)
                            } else {
                                // ROUND(decimal) drops the scale entirely
                                let factor = 10i128.checked_pow(u32::try_from(s - *rs).ok()?)?;
                                Some(rounded / factor)
                            }
                        })
                        .collect();
                    Ok(Arc::new(out.with_precision_and_scale(*rp, *rs)?))
                }
                (other, _) => Err(DataFusionError::Internal(format!("unexpected argument type {other}"))),
            }
        }),
    );
}

/// The common type of GREATEST/LEAST arguments, following ksqlDB's rules.
fn greatest_type(name: &str, args: &[DataType]) -> std::result::Result<DataType, Option<String>> {
    use DataType as D;
    if args.is_empty() {
        return Err(None);
    }
    let ambiguous = || {
        let names: Vec<String> = args.iter().map(sql_type_name).collect();
        Some(format!(
            "Function '{}' cannot be resolved due to ambiguous method parameters ({}).",
            name.to_ascii_lowercase(),
            names.join(", ")
        ))
    };
    let typed: Vec<&D> = args.iter().filter(|t| **t != D::Null).collect();
    if typed.is_empty() {
        return Err(ambiguous());
    }
    let is_str = |t: &D| matches!(t, D::Utf8 | D::LargeUtf8 | D::Utf8View);
    let is_num = |t: &D| t.is_numeric();
    if typed.iter().all(|t| is_str(t)) {
        return Ok(D::Utf8);
    }
    if typed.iter().all(|t| matches!(t, D::Binary | D::LargeBinary | D::BinaryView)) {
        return Ok(D::Binary);
    }
    if typed.iter().all(|t| **t == D::Boolean) {
        return Ok(D::Boolean);
    }
    for temporal in [D::Date32, super::util::time_type(), super::util::ts_type()] {
        if typed.iter().any(|t| **t == temporal) && typed.iter().all(|t| **t == temporal || is_str(t)) {
            return Ok(temporal);
        }
    }
    if !typed.iter().all(|t| is_num(t)) {
        return Err(None);
    }
    if typed.iter().any(|t| t.is_floating()) {
        return Ok(D::Float64);
    }
    if typed.iter().all(|t| matches!(t, D::Int8 | D::Int16 | D::Int32)) {
        return Ok(D::Int32);
    }
    if typed.iter().all(|t| **t == D::Int64) {
        return Ok(D::Int64);
    }
    if typed.iter().all(|t| matches!(t, D::Decimal128(_, _))) {
        let mut int_digits = 0i16;
        let mut scale = 0i16;
        for t in &typed {
            if let D::Decimal128(p, s) = t {
                int_digits = int_digits.max(i16::from(*p) - i16::from(*s));
                scale = scale.max(i16::from(*s));
            }
        }
        let p = (int_digits + scale).clamp(1, 38) as u8;
        return Ok(D::Decimal128(p, scale.clamp(0, 38) as i8));
    }
    Err(ambiguous())
}

fn greatest_like(r: &mut Registry, name: &'static str, desc: &'static str, greatest: bool) {
    r.add(
        name,
        desc,
        make_udf(
            name,
            Volatility::Immutable,
            move |args| {
                let t = greatest_type(name, args)?;
                Ok(vec![t; args.len()])
            },
            returns_arg(0),
            move |args, ret, _| {
                let mut acc = cast_arg(args, 0, ret)?;
                for i in 1..args.len() {
                    let next = cast_arg(args, i, ret)?;
                    let better = if greatest { cmp::gt(&next, &acc)? } else { cmp::lt(&next, &acc)? };
                    let better = null_as_false(&better);
                    let take: BooleanArray =
                        boolean::and(&is_not_null(next.as_ref())?, &boolean::or(&is_null(acc.as_ref())?, &better)?)?;
                    acc = zip::zip(&take, &next, &acc)?;
                }
                Ok(acc)
            },
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use datafusion::arrow::array::{Date32Array, StringArray};
    use datafusion::common::ScalarValue;

    #[test]
    fn round_half_up_towards_positive_infinity() {
        assert_eq!(round_f64(1.5, 0, RoundMode::HalfUp), Some(2.0));
        assert_eq!(round_f64(-1.5, 0, RoundMode::HalfUp), Some(-1.0));
        assert_eq!(round_f64(-1.51, 0, RoundMode::HalfUp), Some(-2.0));
        assert_eq!(round_f64(1.234567, 2, RoundMode::HalfUp), Some(1.23));
        assert_eq!(round_f64(1.2, -1, RoundMode::HalfUp), Some(0.0));
        assert_eq!(round_f64(0.6, 0, RoundMode::HalfUp), Some(1.0));
        assert_eq!(round_f64(1.005, 2, RoundMode::HalfUp), Some(1.01));
        assert_eq!(round_f64(1.7, 0, RoundMode::Down), Some(1.0));
    }

    #[test]
    fn round_sql() {
        assert_eq!(eval_lit("ROUND", vec![d(1.5)]), ScalarValue::Int64(Some(2)));
        assert_eq!(eval_lit("ROUND", vec![d(1.234567), i(2)]), d(1.23));
        assert_eq!(eval_lit("ROUND", vec![i(7)]), i(7));
        let dec = ScalarValue::Decimal128(Some(123456789876543212345678987654321), 33, 16);
        assert_eq!(eval_lit("ROUND", vec![dec.clone()]), ScalarValue::Decimal128(Some(12345678987654321), 17, 0));
        assert_eq!(
            eval_lit("ROUND", vec![dec, i(-2)]),
            ScalarValue::Decimal128(Some(123456789876543000000000000000000), 33, 16)
        );
        assert_eq!(eval_lit("TRUNC", vec![d(1.7)]), ScalarValue::Int64(Some(1)));
        assert_eq!(eval_lit("TRUNC", vec![d(1.234567), i(2)]), d(1.23));
    }

    #[test]
    fn unary_and_binary() {
        assert_eq!(eval_lit("EXP", vec![i(1)]), d(std::f64::consts::E));
        assert_eq!(eval_lit("LN", vec![i(0)]), d(f64::NEG_INFINITY));
        assert_eq!(eval_lit("LOG", vec![i(13)]), d(2.5649493574615367));
        assert_eq!(eval_lit("LOG", vec![i(15), i(13)]), d(0.9471572411831843));
        for base in [0, 1, -15] {
            let ScalarValue::Float64(Some(v)) = eval_lit("LOG", vec![i(base), i(13)]) else { panic!("not a double") };
            assert!(v.is_nan(), "LOG({base}, 13) = {v}");
        }
        assert_eq!(eval_lit("POWER", vec![i(15), i(-1)]), d(0.06666666666666667));
        assert_eq!(eval_lit("COT", vec![i(0)]), d(f64::INFINITY));
        assert_eq!(eval_lit("CBRT", vec![i(-8)]), d(-2.0));
        assert_eq!(eval_lit("SQRT", vec![ScalarValue::Null]), ScalarValue::Float64(None));
        assert_eq!(eval_lit("PI", vec![]), d(std::f64::consts::PI));
        let r = eval_lit("RANDOM", vec![]);
        assert!(matches!(r, ScalarValue::Float64(Some(v)) if (0.0..1.0).contains(&v)));
    }

    #[test]
    fn abs_ceil_floor_sign_keep_types() {
        assert_eq!(eval_lit("ABS", vec![i(-1)]), i(1));
        assert_eq!(
            eval_lit("ABS", vec![ScalarValue::Decimal128(Some(-32), 2, 1)]),
            ScalarValue::Decimal128(Some(32), 2, 1)
        );
        assert_eq!(eval_lit("CEIL", vec![d(1.1)]), d(2.0));
        assert_eq!(
            eval_lit("CEIL", vec![ScalarValue::Decimal128(Some(11), 2, 1)]),
            ScalarValue::Decimal128(Some(20), 2, 1)
        );
        assert_eq!(
            eval_lit("FLOOR", vec![ScalarValue::Decimal128(Some(17), 2, 1)]),
            ScalarValue::Decimal128(Some(10), 2, 1)
        );
        assert_eq!(eval_lit("SIGN", vec![d(-3.0)]), i(-1));
        assert_eq!(eval_lit("SIGN", vec![ScalarValue::Int64(Some(2))]), i(1));
    }

    #[test]
    fn greatest_and_least() {
        assert_eq!(eval_lit("GREATEST", vec![i(2), ScalarValue::Null, i(5), i(-3)]), i(5));
        assert_eq!(eval_lit("LEAST", vec![i(2), ScalarValue::Null, i(5)]), i(2));
        assert_eq!(eval_lit("GREATEST", vec![s("apple"), s("hello"), ScalarValue::Null]), s("hello"));
        // INT and BIGINT together are ambiguous in ksqlDB
        let err = try_eval_lit("GREATEST", vec![i(1), ScalarValue::Int64(Some(2))]).unwrap_err();
        assert!(err.to_string().contains("ambiguous method parameters (INTEGER, BIGINT)"));
        let err = try_eval_lit("GREATEST", vec![s("a"), i(2)]).unwrap_err();
        assert!(err.to_string().contains("does not accept parameters (STRING, INTEGER)"));
        // decimals widen
        assert_eq!(
            eval_lit(
                "GREATEST",
                vec![ScalarValue::Decimal128(Some(123456789), 9, 2), ScalarValue::Decimal128(Some(123456), 7, 6)]
            ),
            ScalarValue::Decimal128(Some(1234567890000), 13, 6)
        );
        // dates compare with a string literal
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![Some(19071), None]));
        let b = batch(vec![("a", dates)]);
        let out =
            eval("GREATEST", vec![datafusion::logical_expr::col("a"), datafusion::logical_expr::lit("2022-06-14")], &b);
        let out = out.as_any().downcast_ref::<Date32Array>().unwrap();
        assert_eq!(out.value(0), 19157);
        assert_eq!(out.value(1), 19157);
        let strs: ArrayRef = Arc::new(StringArray::from(vec![Some("!"), None]));
        let out = eval_cols("GREATEST", vec![strs]);
        assert_eq!(out.null_count(), 1);
    }
}
