//! ksqlDB's test-only functions, for the conformance runner only.
//!
//! A few QTT cases call functions that ksqlDB's runner loads from its test classpath, not from
//! its function library: `WHENCONDITION` and `WHENRESULT` (to prove that CASE is lazy),
//! `BAD_UDF` (a function that throws, or returns NULL every other call), `TEST_UDTF` (a table
//! function over every type) and `THROWING_UDTF`. [`registry`] adds equivalents to the
//! built-in library; the runner hands it to the engines it opens (`EngineConfig::functions`),
//! so a normal engine or server never sees them, just as a ksqlDB server does not.
//!
//! Their behaviour is read from how the corpus calls them and what it expects back. Like a
//! Java UDF, each is invoked once per row ([`RowUdf`]), and each call site gets its own
//! instance, so `BAD_UDF`'s call counter is per call site as a Java UDF's field is.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, new_empty_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use crate::functions::FunctionRegistry;
use crate::functions::cast::java_string_of;
use crate::functions::util::{list_of, reject};

/// The built-in library plus ksqlDB's test-only functions.
pub fn registry() -> FunctionRegistry {
    let mut registry = FunctionRegistry::builtin();
    registry.add_scalar(
        "WHENCONDITION",
        "Test only: returns its first argument; fails when its second is false.",
        Arc::new(|| first_arg_unless_false("WHENCONDITION")),
    );
    registry.add_scalar(
        "WHENRESULT",
        "Test only: returns its first argument; fails when its second is false.",
        Arc::new(|| first_arg_unless_false("WHENRESULT")),
    );
    registry.add_scalar(
        "BAD_UDF",
        "Test only: fails on TRUE or on any INT; a STRING comes back as NULL every other call.",
        Arc::new(bad_udf),
    );
    registry.add_table(
        "TEST_UDTF",
        "Test only: one row with its argument, or one STRING row per argument (per element of an \
         ARRAY argument, per value of a MAP argument).",
        Arc::new(test_udtf),
    );
    registry.add_table(
        "THROWING_UDTF",
        "Test only: one row with its BOOLEAN argument; fails on TRUE.",
        Arc::new(throwing_udtf),
    );
    registry
}

/// Chooses the argument types of a call (`None`: no overload takes these).
type CoerceFn = dyn Fn(&[DataType]) -> Option<Vec<DataType>> + Send + Sync;
/// The return type for the chosen argument types.
type ReturnFn = dyn Fn(&[DataType]) -> Result<DataType> + Send + Sync;
/// One invocation: the row's arguments and the return type.
type RowFn = dyn Fn(&[ScalarValue], &DataType) -> Result<ScalarValue> + Send + Sync;

/// A function invoked once per row, the way ksqlDB calls a Java UDF: a function with state or
/// side effects (a counter, a failure) sees exactly the rows it is asked about, and none when
/// a lazy CASE branch selects no row.
struct RowUdf {
    name: String,
    /// Tells instances apart: each has its own state, so two are never the same function.
    instance: u64,
    signature: Signature,
    coerce: Box<CoerceFn>,
    ret: Box<ReturnFn>,
    body: Box<RowFn>,
}

impl RowUdf {
    fn udf(
        name: &str,
        coerce: impl Fn(&[DataType]) -> Option<Vec<DataType>> + Send + Sync + 'static,
        ret: impl Fn(&[DataType]) -> Result<DataType> + Send + Sync + 'static,
        body: impl Fn(&[ScalarValue], &DataType) -> Result<ScalarValue> + Send + Sync + 'static,
    ) -> Arc<ScalarUDF> {
        static INSTANCES: AtomicU64 = AtomicU64::new(0);
        Arc::new(ScalarUDF::new_from_impl(RowUdf {
            name: name.to_ascii_lowercase(),
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed),
            // Volatile: never folded into a constant at planning time, which would call it on
            // no row at all (or on one that a CASE would not have chosen).
            signature: Signature::user_defined(Volatility::Volatile),
            coerce: Box::new(coerce),
            ret: Box::new(ret),
            body: Box::new(body),
        }))
    }
}

impl std::fmt::Debug for RowUdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowUdf").field("name", &self.name).field("instance", &self.instance).finish()
    }
}

impl PartialEq for RowUdf {
    fn eq(&self, other: &Self) -> bool {
        self.instance == other.instance
    }
}

impl Eq for RowUdf {}

impl Hash for RowUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.instance.hash(state);
    }
}

impl ScalarUDFImpl for RowUdf {
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
        (self.coerce)(arg_types).ok_or_else(|| reject(&self.name, arg_types))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ret = args.return_field.data_type().clone();
        let rows = args.number_rows;
        if rows == 0 {
            return Ok(ColumnarValue::Array(new_empty_array(&ret)));
        }
        let mut results = Vec::with_capacity(rows);
        let mut row_args = Vec::with_capacity(args.args.len());
        for row in 0..rows {
            row_args.clear();
            for arg in &args.args {
                row_args.push(match arg {
                    ColumnarValue::Scalar(s) => s.clone(),
                    ColumnarValue::Array(a) => ScalarValue::try_from_array(a, row)?,
                });
            }
            results.push((self.body)(&row_args, &ret)?);
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(results)?))
    }
}

fn failure(name: &str, why: &str) -> DataFusionError {
    DataFusionError::Execution(format!("{name} failed: {why}"))
}

/// `WHENCONDITION(x, ok)` / `WHENRESULT(x, ok)`: `x`, or a failure when `ok` is false. A CASE
/// that evaluated a branch it did not choose would fail.
fn first_arg_unless_false(name: &'static str) -> Arc<ScalarUDF> {
    RowUdf::udf(
        name,
        |types| match types {
            [value, DataType::Boolean | DataType::Null] => Some(vec![value.clone(), DataType::Boolean]),
            _ => None,
        },
        |types| Ok(types.first().cloned().unwrap_or(DataType::Null)),
        move |args, _| match args {
            [_, ScalarValue::Boolean(Some(false))] => Err(failure(name, "called with false")),
            [value, _] => Ok(value.clone()),
            _ => Err(failure(name, "takes two arguments")),
        },
    )
}

/// `BAD_UDF`: of a BOOLEAN, 0, or a failure when it is true; of an INT, always a failure; of a
/// STRING, NULL on the first call and every other one after it, the argument otherwise.
fn bad_udf() -> Arc<ScalarUDF> {
    let calls = AtomicU64::new(0);
    RowUdf::udf(
        "BAD_UDF",
        |types| match types {
            [DataType::Boolean] => Some(vec![DataType::Boolean]),
            [DataType::Int8 | DataType::Int16 | DataType::Int32] => Some(vec![DataType::Int32]),
            [DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View] => Some(vec![DataType::Utf8]),
            _ => None,
        },
        |types| match types {
            [DataType::Utf8] => Ok(DataType::Utf8),
            _ => Ok(DataType::Int32),
        },
        move |args, _| match args {
            [ScalarValue::Boolean(Some(true))] => Err(failure("BAD_UDF", "its argument is true")),
            [ScalarValue::Boolean(_)] => Ok(ScalarValue::Int32(Some(0))),
            [ScalarValue::Int32(_)] => Err(failure("BAD_UDF", "it always fails on an INT")),
            [ScalarValue::Utf8(value)] => {
                let call = calls.fetch_add(1, Ordering::Relaxed);
                Ok(ScalarValue::Utf8(if call.is_multiple_of(2) { None } else { value.clone() }))
            }
            _ => Err(failure("BAD_UDF", "unexpected arguments")),
        },
    )
}

/// The DECIMAL type `TEST_UDTF` of one DECIMAL argument returns, whatever the argument's.
const TEST_UDTF_DECIMAL: DataType = DataType::Decimal128(30, 10);

/// `TEST_UDTF(x)`: one row holding `x` (a DECIMAL as DECIMAL(30, 10)). `TEST_UDTF(a, b, ...)`:
/// one STRING row per argument, as Java prints it; an ARRAY argument gives one per element and
/// a MAP argument one per value.
fn test_udtf() -> Arc<ScalarUDF> {
    RowUdf::udf(
        "TEST_UDTF",
        |types| match types {
            [] => None,
            _ => Some(types.to_vec()),
        },
        |types| match types {
            [DataType::Decimal128(_, _)] => Ok(list_of(TEST_UDTF_DECIMAL)),
            [one] => Ok(list_of(one.clone())),
            _ => Ok(list_of(DataType::Utf8)),
        },
        |args, ret| {
            let DataType::List(item) = ret else {
                return Err(DataFusionError::Internal(format!("TEST_UDTF returns {ret}, not a list")));
            };
            let rows: Vec<ScalarValue> = match args {
                [one] => vec![one.cast_to(item.data_type())?],
                many => {
                    let mut strings = Vec::new();
                    for arg in many {
                        for text in java_strings(arg)? {
                            strings.push(ScalarValue::Utf8(Some(text)));
                        }
                    }
                    strings
                }
            };
            list_scalar(&rows, item.data_type())
        },
    )
}

/// Java's `String.valueOf` of a value, of each element of an array, or of each value of a map.
fn java_strings(value: &ScalarValue) -> Result<Vec<String>> {
    let array = value.to_array_of_size(1)?;
    let (values, range): (ArrayRef, std::ops::Range<usize>) = match array.data_type() {
        DataType::List(_) if array.is_valid(0) => {
            let list = array.as_list::<i32>();
            let offsets = list.value_offsets();
            (list.values().clone(), offsets[0] as usize..offsets[1] as usize)
        }
        DataType::Map(_, _) if array.is_valid(0) => {
            let map = array.as_map();
            let offsets = map.value_offsets();
            (map.values().clone(), offsets[0] as usize..offsets[1] as usize)
        }
        _ => (array, 0..1),
    };
    range.map(|i| java_string_of(values.as_ref(), i)).collect()
}

/// `THROWING_UDTF(b)`: one row holding `b`, or a failure when `b` is true.
fn throwing_udtf() -> Arc<ScalarUDF> {
    RowUdf::udf(
        "THROWING_UDTF",
        |types| match types {
            [DataType::Boolean | DataType::Null] => Some(vec![DataType::Boolean]),
            _ => None,
        },
        |_| Ok(list_of(DataType::Boolean)),
        |args, _| match args {
            [ScalarValue::Boolean(Some(true))] => Err(failure("THROWING_UDTF", "its argument is true")),
            [value] => list_scalar(std::slice::from_ref(value), &DataType::Boolean),
            _ => Err(failure("THROWING_UDTF", "takes one argument")),
        },
    )
}

/// An ARRAY value of `element`s.
fn list_scalar(values: &[ScalarValue], element: &DataType) -> Result<ScalarValue> {
    Ok(ScalarValue::List(ScalarValue::new_list(values, element, true)))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int32Array, RecordBatch};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::common::DFSchema;
    use datafusion::logical_expr::expr::ScalarFunction;
    use datafusion::logical_expr::{Expr, col, lit};
    use datafusion::prelude::SessionContext;

    use super::*;

    /// Evaluates `udf(args)` over a batch of one INT column `a` with `rows` rows.
    fn eval(udf: Arc<ScalarUDF>, args: Vec<Expr>, rows: usize) -> Result<ArrayRef> {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, true)]));
        let values: Vec<i32> = (0..rows as i32).collect();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int32Array::from(values))])?;
        let expr = Expr::ScalarFunction(ScalarFunction::new_udf(udf, args));
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        let physical = SessionContext::new().state().create_physical_expr(expr, &df_schema)?;
        physical.evaluate(&batch)?.into_array(rows)
    }

    #[test]
    fn only_the_test_registry_has_the_test_functions() {
        let test = registry();
        let builtin = FunctionRegistry::builtin();
        for name in ["WHENCONDITION", "WHENRESULT", "BAD_UDF"] {
            assert!(test.scalar(name).is_some(), "{name}");
            assert!(builtin.scalar(name).is_none(), "{name}");
        }
        for name in ["TEST_UDTF", "THROWING_UDTF"] {
            assert!(test.is_table_function(name), "{name}");
            assert!(!builtin.is_table_function(name), "{name}");
        }
    }

    #[test]
    fn when_functions_are_called_per_row_and_fail_on_false() {
        let ok = eval(first_arg_unless_false("WHENRESULT"), vec![lit(100), lit(true)], 2).unwrap();
        assert_eq!(ok.as_primitive::<datafusion::arrow::datatypes::Int32Type>().values(), &[100, 100]);
        assert!(eval(first_arg_unless_false("WHENRESULT"), vec![lit(100), lit(false)], 1).is_err());
        // Asked about no row, it is not called, so it does not fail.
        let none = eval(first_arg_unless_false("WHENRESULT"), vec![lit(100), lit(false)], 0).unwrap();
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn bad_udf_returns_null_every_other_call_per_instance() {
        let udf = bad_udf();
        let first = eval(udf.clone(), vec![lit("x")], 3).unwrap();
        let first: Vec<Option<&str>> = first.as_string::<i32>().iter().collect();
        assert_eq!(first, vec![None, Some("x"), None]);
        let next = eval(udf, vec![lit("y")], 1).unwrap();
        assert_eq!(next.as_string::<i32>().value(0), "y");
        // A new instance (another call site) counts from the start.
        assert!(eval(bad_udf(), vec![lit("z")], 1).unwrap().is_null(0));
    }

    #[test]
    fn bad_udf_fails_on_true_and_on_ints() {
        let zero = eval(bad_udf(), vec![lit(false)], 1).unwrap();
        assert_eq!(zero.as_primitive::<datafusion::arrow::datatypes::Int32Type>().value(0), 0);
        assert!(eval(bad_udf(), vec![lit(true)], 1).is_err());
        assert!(eval(bad_udf(), vec![col("a")], 1).is_err());
    }

    #[test]
    fn test_udtf_keeps_one_argument_and_prints_several() {
        let one = eval(test_udtf(), vec![col("a")], 2).unwrap();
        assert_eq!(one.data_type(), &list_of(DataType::Int32));
        assert_eq!(one.as_list::<i32>().value(1).as_primitive::<datafusion::arrow::datatypes::Int32Type>().value(0), 1);
        let many = eval(test_udtf(), vec![lit(1), lit(2.5), lit(true), lit("foo")], 1).unwrap();
        let strings = many.as_list::<i32>().value(0);
        let strings: Vec<Option<&str>> = strings.as_string::<i32>().iter().collect();
        assert_eq!(strings, vec![Some("1"), Some("2.5"), Some("true"), Some("foo")]);
        let decimal = eval(test_udtf(), vec![lit(ScalarValue::Decimal128(Some(12345), 10, 2))], 1).unwrap();
        assert_eq!(decimal.data_type(), &list_of(TEST_UDTF_DECIMAL));
    }

    #[test]
    fn throwing_udtf_fails_on_true() {
        let out = eval(throwing_udtf(), vec![lit(false)], 1).unwrap();
        assert!(!out.as_list::<i32>().value(0).as_boolean().value(0));
        assert!(eval(throwing_udtf(), vec![lit(true)], 1).is_err());
    }
}
