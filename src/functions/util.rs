//! Shared machinery for the scalar function library: a closure-based `ScalarUDFImpl`,
//! ksqlDB-style overload resolution (which drives DataFusion's type coercion), SQL type names
//! for error messages, and small helpers for building Arrow arrays.
//!
//! Every ksqlDB function is a [`KsqlUdf`]: its signature is `UserDefined`, so DataFusion asks
//! [`KsqlUdf::coerce_types`] which argument types it wants and inserts the casts; the function
//! body then sees arrays of exactly those types. Scalars are expanded to arrays and, when every
//! argument was a scalar, the one-row result is turned back into a scalar.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, ListArray, StringArray, UInt32Array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, IntervalUnit, TimeUnit};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

/// Decides the argument types a call wants; `Err(None)` means "no overload matches".
pub(crate) type CoerceFn = dyn Fn(&[DataType]) -> std::result::Result<Vec<DataType>, Option<String>> + Send + Sync;
/// The return type for (already coerced) argument types.
pub(crate) type ReturnFn = dyn Fn(&[DataType]) -> Result<DataType> + Send + Sync;
/// The body: arguments as arrays of equal length, the return type and the row count.
pub(crate) type InvokeFn = dyn Fn(&[ArrayRef], &DataType, usize) -> Result<ArrayRef> + Send + Sync;

/// A ksqlDB scalar function implemented with closures.
pub(crate) struct KsqlUdf {
    name: String,
    signature: Signature,
    coerce: Box<CoerceFn>,
    ret: Box<ReturnFn>,
    invoke: Box<InvokeFn>,
}

impl fmt::Debug for KsqlUdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KsqlUdf").field("name", &self.name).finish()
    }
}

// Two ksqlDB functions are the same function exactly when they have the same name.
impl PartialEq for KsqlUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for KsqlUdf {}

impl Hash for KsqlUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for KsqlUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.ret)(arg_types)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match (self.coerce)(arg_types) {
            Ok(types) => Ok(types),
            Err(Some(msg)) => Err(DataFusionError::Plan(msg)),
            Err(None) => Err(reject(&self.name, arg_types)),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if args.args.is_empty() {
            args.number_rows
        } else {
            // values_to_arrays makes one-row arrays when every argument is a scalar
            args.args
                .iter()
                .find_map(|a| match a {
                    ColumnarValue::Array(a) => Some(a.len()),
                    ColumnarValue::Scalar(_) => None,
                })
                .unwrap_or(1)
        };
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out = (self.invoke)(&arrays, args.return_field.data_type(), rows)?;
        if all_scalar && !args.args.is_empty() && out.len() == 1 {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// Builds a ksqlDB function from its parts.
pub(crate) fn make_udf(
    name: &str,
    volatility: Volatility,
    coerce: impl Fn(&[DataType]) -> std::result::Result<Vec<DataType>, Option<String>> + Send + Sync + 'static,
    ret: impl Fn(&[DataType]) -> Result<DataType> + Send + Sync + 'static,
    invoke: impl Fn(&[ArrayRef], &DataType, usize) -> Result<ArrayRef> + Send + Sync + 'static,
) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(KsqlUdf {
        name: name.to_ascii_lowercase(),
        signature: Signature::user_defined(volatility),
        coerce: Box::new(coerce),
        ret: Box::new(ret),
        invoke: Box::new(invoke),
    }))
}

/// Builds a deterministic function whose overloads are given as [`Sig`]s.
pub(crate) fn overloaded(
    name: &str,
    sigs: Vec<Sig>,
    ret: impl Fn(&[DataType]) -> Result<DataType> + Send + Sync + 'static,
    invoke: impl Fn(&[ArrayRef], &DataType, usize) -> Result<ArrayRef> + Send + Sync + 'static,
) -> Arc<ScalarUDF> {
    make_udf(name, Volatility::Immutable, move |args| resolve(args, &sigs).ok_or(None), ret, invoke)
}

/// The ksqlDB error for a call that matches no overload.
pub(crate) fn reject(name: &str, arg_types: &[DataType]) -> DataFusionError {
    let names: Vec<String> = arg_types.iter().map(sql_type_name).collect();
    DataFusionError::Plan(format!(
        "Function '{}' does not accept parameters ({}).",
        name.to_ascii_lowercase(),
        names.join(", ")
    ))
}

/// The ksqlDB name of an Arrow type, as error messages print it.
pub(crate) fn sql_type_name(dt: &DataType) -> String {
    match dt {
        DataType::Null => "null".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float32 | DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(_, _) => "TIMESTAMP".into(),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("ARRAY<{}>", sql_type_name(f.data_type()))
        }
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("MAP<{}, {}>", sql_type_name(kv[0].data_type()), sql_type_name(kv[1].data_type()))
            }
            _ => "MAP".into(),
        },
        DataType::Struct(fields) => {
            let inner: Vec<String> =
                fields.iter().map(|f| format!("`{}` {}", f.name(), sql_type_name(f.data_type()))).collect();
            format!("STRUCT<{}>", inner.join(", "))
        }
        DataType::Interval(IntervalUnit::DayTime) => "INTERVAL".into(),
        other => other.to_string(),
    }
}

/// A parameter type in a ksqlDB overload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum P {
    /// INT (Int32).
    Int,
    /// BIGINT (Int64).
    BigInt,
    /// DOUBLE (Float64).
    Double,
    /// Any DECIMAL (Decimal128).
    Decimal,
    /// STRING (Utf8).
    Str,
    /// BYTES (Binary).
    Bytes,
    /// BOOLEAN.
    Bool,
    /// DATE (Date32).
    Date,
    /// TIME (Time32 ms).
    Time,
    /// TIMESTAMP (Timestamp ms).
    Ts,
    /// Any ARRAY.
    Array,
    /// Any MAP.
    Map,
    /// Any type, passed through unchanged.
    Any,
}

/// One overload: fixed parameters, then optionally any number of a variadic one.
#[derive(Debug, Clone)]
pub(crate) struct Sig {
    fixed: Vec<P>,
    variadic: Option<P>,
}

/// An overload with exactly these parameters.
pub(crate) fn sig(fixed: &[P]) -> Sig {
    Sig { fixed: fixed.to_vec(), variadic: None }
}

/// An overload with these parameters followed by any number (zero or more) of `rest`.
pub(crate) fn sig_var(fixed: &[P], rest: P) -> Sig {
    Sig { fixed: fixed.to_vec(), variadic: Some(rest) }
}

/// The Arrow type a NULL literal becomes for a parameter of type `p`.
fn null_target(p: P) -> DataType {
    match p {
        P::Int => DataType::Int32,
        P::BigInt => DataType::Int64,
        P::Double => DataType::Float64,
        P::Decimal => DataType::Decimal128(10, 0),
        P::Str => DataType::Utf8,
        P::Bytes => DataType::Binary,
        P::Bool => DataType::Boolean,
        P::Date => DataType::Date32,
        P::Time => DataType::Time32(TimeUnit::Millisecond),
        P::Ts => ts_type(),
        P::Array | P::Map | P::Any => DataType::Null,
    }
}

/// TIMESTAMP as Arrow sees it.
pub(crate) fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// TIME as Arrow sees it.
pub(crate) fn time_type() -> DataType {
    DataType::Time32(TimeUnit::Millisecond)
}

/// `ARRAY<dt>` with the default element field.
pub(crate) fn list_of(dt: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(dt, true)))
}

/// Cost and target type of passing an argument of type `dt` to a parameter `p`
/// (ksqlDB's implicit widening: INT → BIGINT → DECIMAL → DOUBLE).
pub(crate) fn accept(dt: &DataType, p: P) -> Option<(u32, DataType)> {
    use DataType as D;
    if dt == &D::Null {
        return Some((0, null_target(p)));
    }
    let cost_to = |cost: u32, target: DataType| Some((cost, target));
    match (p, dt) {
        (P::Any, _) => cost_to(0, dt.clone()),
        (P::Int, D::Int8 | D::Int16 | D::Int32) => cost_to(0, D::Int32),
        // a BIGINT where an INT is wanted: ksqlDB would refuse; we accept a narrowing cast
        (P::Int, D::Int64) => cost_to(20, D::Int32),
        (P::BigInt, D::Int64) => cost_to(0, D::Int64),
        (P::BigInt, D::Int8 | D::Int16 | D::Int32) => cost_to(1, D::Int64),
        (P::Decimal, D::Decimal128(_, _)) => cost_to(0, dt.clone()),
        (P::Decimal, D::Int8 | D::Int16 | D::Int32) => cost_to(2, D::Decimal128(10, 0)),
        (P::Decimal, D::Int64) => cost_to(1, D::Decimal128(19, 0)),
        (P::Double, D::Float64) => cost_to(0, D::Float64),
        (P::Double, D::Float32) => cost_to(0, D::Float64),
        (P::Double, D::Decimal128(_, _)) => cost_to(1, D::Float64),
        (P::Double, D::Int64) => cost_to(2, D::Float64),
        (P::Double, D::Int8 | D::Int16 | D::Int32) => cost_to(3, D::Float64),
        (P::Str, D::Utf8 | D::LargeUtf8 | D::Utf8View) => cost_to(0, D::Utf8),
        (P::Bytes, D::Binary | D::LargeBinary | D::BinaryView) => cost_to(0, D::Binary),
        (P::Bool, D::Boolean) => cost_to(0, D::Boolean),
        (P::Date, D::Date32) => cost_to(0, D::Date32),
        (P::Time, D::Time32(_) | D::Time64(_)) => cost_to(0, time_type()),
        (P::Ts, D::Timestamp(_, _)) => cost_to(0, ts_type()),
        (P::Array, D::List(_)) => cost_to(0, dt.clone()),
        (P::Array, D::LargeList(f) | D::FixedSizeList(f, _)) => cost_to(0, D::List(Arc::clone(f))),
        (P::Map, D::Map(_, _)) => cost_to(0, dt.clone()),
        _ => None,
    }
}

/// Picks the cheapest overload for `args` and returns the argument types it wants.
pub(crate) fn resolve(args: &[DataType], sigs: &[Sig]) -> Option<Vec<DataType>> {
    let mut best: Option<(u32, Vec<DataType>)> = None;
    for s in sigs {
        if args.len() < s.fixed.len() || (s.variadic.is_none() && args.len() != s.fixed.len()) {
            continue;
        }
        let mut cost = 0;
        let mut out = Vec::with_capacity(args.len());
        let mut ok = true;
        for (i, a) in args.iter().enumerate() {
            let p = match s.fixed.get(i) {
                Some(p) => *p,
                None => match s.variadic {
                    Some(p) => p,
                    None => {
                        ok = false;
                        break;
                    }
                },
            };
            match accept(a, p) {
                Some((c, t)) => {
                    cost += c;
                    out.push(t);
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, out));
        }
    }
    best.map(|(_, t)| t)
}

/// A return-type function that always answers `dt`.
pub(crate) fn returns(dt: DataType) -> impl Fn(&[DataType]) -> Result<DataType> + Send + Sync {
    move |_| Ok(dt.clone())
}

/// A return-type function answering the type of argument `i`.
pub(crate) fn returns_arg(i: usize) -> impl Fn(&[DataType]) -> Result<DataType> + Send + Sync {
    move |args| args.get(i).cloned().ok_or_else(|| DataFusionError::Internal(format!("missing argument {i}")))
}

/// An execution error with a lowercase message.
pub(crate) fn exec_error(msg: impl Into<String>) -> DataFusionError {
    DataFusionError::Execution(msg.into())
}

/// Argument `i`, or an internal error (coercion guarantees the count).
pub(crate) fn arg(args: &[ArrayRef], i: usize) -> Result<&ArrayRef> {
    args.get(i).ok_or_else(|| DataFusionError::Internal(format!("missing argument {i}")))
}

/// A STRING argument, treating a NULL-typed array as all nulls.
pub(crate) fn str_arg(args: &[ArrayRef], i: usize, rows: usize) -> Result<StringArray> {
    let a = arg(args, i)?;
    match a.data_type() {
        DataType::Utf8 => Ok(datafusion::common::cast::as_string_array(a)?.clone()),
        DataType::Null => Ok(StringArray::new_null(rows)),
        _ => {
            let cast = datafusion::arrow::compute::cast(a, &DataType::Utf8)?;
            Ok(datafusion::common::cast::as_string_array(&cast)?.clone())
        }
    }
}

/// Casts argument `i` to `dt` (a no-op when it already has that type).
pub(crate) fn cast_arg(args: &[ArrayRef], i: usize, dt: &DataType) -> Result<ArrayRef> {
    let a = arg(args, i)?;
    if a.data_type() == dt { Ok(Arc::clone(a)) } else { Ok(datafusion::arrow::compute::cast(a, dt)?) }
}

/// The element field of a list type.
pub(crate) fn list_field(dt: &DataType) -> Result<FieldRef> {
    match dt {
        DataType::List(f) => Ok(Arc::clone(f)),
        other => Err(DataFusionError::Internal(format!("expected a list type, got {other}"))),
    }
}

/// Builds a list array out of per-row index lists into `values`.
///
/// `rows[i]` is `None` for a NULL row, or the indices (into `values`) of its elements.
pub(crate) fn list_from_indices(field: FieldRef, values: &dyn Array, rows: &[Option<Vec<u32>>]) -> Result<ArrayRef> {
    let mut offsets = Vec::with_capacity(rows.len() + 1);
    offsets.push(0i32);
    let mut idx: Vec<u32> = Vec::new();
    let mut valid = Vec::with_capacity(rows.len());
    for r in rows {
        match r {
            Some(v) => {
                idx.extend_from_slice(v);
                valid.push(true);
            }
            None => valid.push(false),
        }
        let end = i32::try_from(idx.len()).map_err(|_| exec_error("array result is too large"))?;
        offsets.push(end);
    }
    let taken = datafusion::arrow::compute::take(values, &UInt32Array::from(idx), None)?;
    // the element type must match the field exactly (nullable flags included)
    let field = if taken.data_type() == field.data_type() {
        field
    } else {
        Arc::new(field.as_ref().clone().with_data_type(taken.data_type().clone()))
    };
    let nulls = if valid.iter().all(|v| *v) { None } else { Some(NullBuffer::from(valid)) };
    Ok(Arc::new(ListArray::try_new(field, OffsetBuffer::new(offsets.into()), taken, nulls)?))
}

/// Arrow's layout of a MAP (the same as the SQL layer's: `entries{key, value}`).
pub(crate) fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(vec![Field::new("key", key, false), Field::new("value", value, true)].into()),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// A nullable string value of row `i`.
pub(crate) fn sval(a: &StringArray, i: usize) -> Option<&str> {
    if a.is_null(i) { None } else { Some(a.value(i)) }
}

/// Calls one of DataFusion's own scalar functions on arrays.
pub(crate) fn call_df(udf: &ScalarUDF, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let arg_fields: Vec<FieldRef> =
        args.iter().map(|a| Arc::new(Field::new("a", a.data_type().clone(), true))).collect();
    let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
    let ret = udf.return_type(&types)?;
    let out = udf.invoke_with_args(ScalarFunctionArgs {
        args: args.iter().map(|a| ColumnarValue::Array(Arc::clone(a))).collect(),
        arg_fields,
        number_rows: rows,
        return_field: Arc::new(Field::new(udf.name(), ret, true)),
        config_options: Arc::new(datafusion::config::ConfigOptions::default()),
    })?;
    out.into_array(rows)
}

/// A boolean mask with NULLs turned into `false`.
pub(crate) fn null_as_false(a: &BooleanArray) -> BooleanArray {
    match a.nulls() {
        Some(n) => BooleanArray::new(a.values() & n.inner(), None),
        None => a.clone(),
    }
}

/// Row-wise equality of two arrays of the same type (nested types included); a row where
/// either side is NULL compares as "not equal" unless both are NULL.
pub(crate) fn rows_equal(a: &ArrayRef, b: &ArrayRef) -> Result<Vec<bool>> {
    use datafusion::arrow::row::{RowConverter, SortField};
    let conv = RowConverter::new(vec![SortField::new(a.data_type().clone())])?;
    let ra = conv.convert_columns(&[Arc::clone(a)])?;
    let rb = conv.convert_columns(&[Arc::clone(b)])?;
    Ok((0..a.len().min(b.len())).map(|i| ra.row(i) == rb.row(i)).collect())
}

/// Formats a double the way Java's `Double.toString` does (`1.0`, `1.0E10`, `NaN`).
pub(crate) fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let abs = v.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{v}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        // scientific: shortest digits, mantissa with at least one fractional digit
        let s = format!("{v:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') { mant.to_string() } else { format!("{mant}.0") };
        format!("{mant}E{exp}")
    }
}

/// Formats an unscaled Decimal128 value with `scale` as a plain decimal string.
pub(crate) fn decimal_string(v: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = v.to_string();
        for _ in 0..(-scale) {
            s.push('0');
        }
        return s;
    }
    let neg = v < 0;
    let digits = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded =
        if digits.len() <= scale { format!("{}{}", "0".repeat(scale - digits.len() + 1), digits) } else { digits };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_double_matches_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(123.456), "123.456");
        assert_eq!(java_double(1e10), "1.0E10");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(java_double(f64::NAN), "NaN");
    }

    #[test]
    fn decimal_string_pads() {
        assert_eq!(decimal_string(123456, 3), "123.456");
        assert_eq!(decimal_string(-5, 2), "-0.05");
        assert_eq!(decimal_string(5, 0), "5");
    }

    #[test]
    fn resolve_prefers_exact_then_widening() {
        let sigs = vec![sig(&[P::Int]), sig(&[P::BigInt]), sig(&[P::Double])];
        assert_eq!(resolve(&[DataType::Int32], &sigs), Some(vec![DataType::Int32]));
        assert_eq!(resolve(&[DataType::Int64], &sigs), Some(vec![DataType::Int64]));
        assert_eq!(resolve(&[DataType::Decimal128(5, 2)], &sigs), Some(vec![DataType::Float64]));
        assert_eq!(resolve(&[DataType::Utf8], &sigs), None);
    }

    #[test]
    fn type_names() {
        assert_eq!(sql_type_name(&DataType::Int32), "INTEGER");
        assert_eq!(sql_type_name(&list_of(DataType::Utf8)), "ARRAY<STRING>");
    }
}
