//! The ksqlDB function library on DataFusion.
//!
//! Scalar functions are DataFusion `ScalarUDF`s looked up by their ksqlDB name with
//! [`scalar_udf`]. Each category lives in its own file; every function declares ksqlDB's
//! overloads through `coerce_types`, so that DataFusion's type coercion casts the arguments to
//! what the body handles, and returns ksqlDB's result type. A value a function cannot handle
//! (a bad format string, an unparsable date) yields NULL for that row, as in ksqlDB, rather
//! than failing the batch.
//!
//! [`list_functions`] also names the aggregate and table functions (implemented elsewhere) so
//! that SHOW FUNCTIONS lists all of them. An engine resolves names through a
//! [`registry::FunctionRegistry`]: this library plus the functions its owner adds.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::ScalarUDF;

pub use registry::FunctionRegistry;

pub mod aggregate;
mod array;
mod bytes;
pub mod cast;
mod datetime;
mod javatime;
mod json;
pub mod lambda;
mod map;
mod math;
mod nulls;
mod other;
mod regex;
pub mod registry;
mod string;
pub mod table;
mod url;
pub(crate) mod util;

/// Registered scalar functions: name, description and implementation.
pub(crate) struct Registry {
    entries: Vec<(&'static str, &'static str, Arc<ScalarUDF>)>,
}

impl Registry {
    /// Registers `udf` under the upper-case ksqlDB `name`.
    pub(crate) fn add(&mut self, name: &'static str, description: &'static str, udf: Arc<ScalarUDF>) {
        self.entries.push((name, description, udf));
    }
}

struct Library {
    by_name: HashMap<&'static str, Arc<ScalarUDF>>,
    infos: Vec<FunctionInfo>,
}

static LIBRARY: LazyLock<Library> = LazyLock::new(|| {
    let mut reg = Registry { entries: Vec::new() };
    math::register(&mut reg);
    string::register(&mut reg);
    datetime::register(&mut reg);
    array::register(&mut reg);
    map::register(&mut reg);
    json::register(&mut reg);
    url::register(&mut reg);
    regex::register(&mut reg);
    bytes::register(&mut reg);
    nulls::register(&mut reg);
    other::register(&mut reg);
    let mut by_name = HashMap::new();
    let mut infos = Vec::new();
    for (name, description, udf) in reg.entries {
        infos.push(FunctionInfo { name: name.to_string(), kind: "SCALAR", description: description.to_string() });
        by_name.insert(name, udf);
    }
    for (name, description) in AGGREGATES {
        infos.push(FunctionInfo { name: name.to_string(), kind: "AGGREGATE", description: description.to_string() });
    }
    for (name, description) in LAMBDA_FUNCTIONS {
        infos.push(FunctionInfo { name: name.to_string(), kind: "SCALAR", description: description.to_string() });
    }
    for (name, description) in TABLE_FUNCTIONS {
        infos.push(FunctionInfo { name: name.to_string(), kind: "TABLE", description: description.to_string() });
    }
    infos.sort_by(|a, b| a.name.cmp(&b.name));
    Library { by_name, infos }
});

const AGGREGATES: &[(&str, &str)] = &[
    ("ATTR", "Returns the single distinct value of a column, or NULL if there are several."),
    ("AVG", "Returns the average value of a column."),
    ("COLLECT_LIST", "Gathers all values of a column into an array."),
    ("COLLECT_SET", "Gathers the distinct values of a column into an array."),
    ("CORRELATION", "Returns the correlation coefficient of two columns."),
    ("COUNT", "Counts the rows, or the non-NULL values of a column."),
    ("COUNT_DISTINCT", "Returns the approximate number of distinct values of a column."),
    ("EARLIEST_BY_OFFSET", "Returns the earliest value(s) of a column by offset."),
    ("HISTOGRAM", "Returns a map from each distinct value to its number of occurrences."),
    ("LATEST_BY_OFFSET", "Returns the latest value(s) of a column by offset."),
    ("MAX", "Returns the maximum value of a column."),
    ("MIN", "Returns the minimum value of a column."),
    ("STDDEV_SAMP", "Returns the sample standard deviation of a column."),
    ("STDDEV_SAMPLE", "Returns the sample standard deviation of a column."),
    ("SUM", "Sums the values of a column."),
    ("SUM_LIST", "Sums the elements of an array column."),
    ("TOPK", "Returns the K largest values of a column."),
    ("TOPKDISTINCT", "Returns the K largest distinct values of a column."),
];

/// The higher-order functions: the planner compiles their lambdas (see [`lambda`]), so they
/// are listed here rather than looked up as UDFs.
const LAMBDA_FUNCTIONS: &[(&str, &str)] = &[
    ("FILTER", "Keeps the elements of an array, or the entries of a map, for which a lambda is true."),
    ("REDUCE", "Folds an array or a map into one value with a lambda, from an initial state."),
    ("TRANSFORM", "Applies a lambda to each element of an array, or to the keys and values of a map."),
];

const TABLE_FUNCTIONS: &[(&str, &str)] = &[
    ("CUBE_EXPLODE", "Returns one row per combination of the given columns and NULL."),
    ("EXPLODE", "Returns one row per element of an array."),
];

/// The scalar function called `name` (ksqlDB name, any case), if there is one.
pub fn scalar_udf(name: &str) -> Option<Arc<ScalarUDF>> {
    LIBRARY.by_name.get(name.to_ascii_uppercase().as_str()).cloned()
}

/// The internal function rewriting a LIKE pattern with escape character `escape` to one
/// escaped with backslashes, the only escape DataFusion's LIKE knows.
pub fn string_like_escape(escape: char) -> Arc<ScalarUDF> {
    string::like_pattern_with_escape(escape)
}

/// A function as SHOW FUNCTIONS lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionInfo {
    /// Upper-case name.
    pub name: String,
    /// SCALAR, AGGREGATE or TABLE.
    pub kind: &'static str,
    /// One-line description.
    pub description: String,
}

/// Every function Rivulet knows, sorted by name.
pub fn list_functions() -> Vec<FunctionInfo> {
    LIBRARY.infos.clone()
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Evaluates functions exactly as the planner does: `Expr::ScalarFunction` →
    //! `SessionState::create_physical_expr` (with coercion) → evaluate on a batch.

    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::common::{DFSchema, Result, ScalarValue};
    use datafusion::logical_expr::expr::ScalarFunction;
    use datafusion::logical_expr::{Expr, col, lit};
    use datafusion::prelude::SessionContext;

    /// Evaluates `NAME(args)` over `batch`, returning the result column.
    pub(crate) fn try_eval(name: &str, args: Vec<Expr>, batch: &RecordBatch) -> Result<ArrayRef> {
        let udf =
            super::scalar_udf(name).ok_or_else(|| datafusion::common::DataFusionError::Plan(format!("no {name}")))?;
        let expr = Expr::ScalarFunction(ScalarFunction::new_udf(udf, args));
        let schema = DFSchema::try_from(batch.schema().as_ref().clone())?;
        let phys = SessionContext::new().state().create_physical_expr(expr, &schema)?;
        phys.evaluate(batch)?.into_array(batch.num_rows())
    }

    /// A batch with one column per `(name, array)`.
    pub(crate) fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols.into_iter().map(|(_, a)| a).collect()).unwrap()
    }

    /// Evaluates `NAME(args)` over `batch`, panicking on error.
    pub(crate) fn eval(name: &str, args: Vec<Expr>, batch: &RecordBatch) -> ArrayRef {
        try_eval(name, args, batch).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// Evaluates `NAME(literals…)` on a one-row batch and returns the scalar result.
    pub(crate) fn eval_lit(name: &str, args: Vec<ScalarValue>) -> ScalarValue {
        let b = batch(vec![("dummy", Arc::new(Int32Array::from(vec![0])) as ArrayRef)]);
        let out = eval(name, args.into_iter().map(lit).collect(), &b);
        ScalarValue::try_from_array(&out, 0).unwrap()
    }

    /// Like [`eval_lit`] but returns the planning/evaluation error, if any.
    pub(crate) fn try_eval_lit(name: &str, args: Vec<ScalarValue>) -> Result<ScalarValue> {
        let b = batch(vec![("dummy", Arc::new(Int32Array::from(vec![0])) as ArrayRef)]);
        let out = try_eval(name, args.into_iter().map(lit).collect(), &b)?;
        ScalarValue::try_from_array(&out, 0)
    }

    /// Evaluates `NAME(col("a"))` (or more columns named a, b, c…) over the given columns.
    pub(crate) fn eval_cols(name: &str, cols: Vec<ArrayRef>) -> ArrayRef {
        let names = ["a", "b", "c", "d", "e", "f"];
        let b = batch(names.iter().copied().zip(cols).collect());
        let args = (0..b.num_columns()).map(|i| col(names[i])).collect();
        eval(name, args, &b)
    }

    /// Shorthand for a Utf8 literal scalar.
    pub(crate) fn s(v: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(v.to_string()))
    }

    /// Shorthand for an Int32 literal scalar.
    pub(crate) fn i(v: i32) -> ScalarValue {
        ScalarValue::Int32(Some(v))
    }

    /// Shorthand for a Float64 literal scalar.
    pub(crate) fn d(v: f64) -> ScalarValue {
        ScalarValue::Float64(Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ksqlDB's 129 scalar functions minus the lambda ones (TRANSFORM, FILTER, REDUCE), which
    /// the planner implements.
    const KSQL_SCALARS: &[&str] = &[
        "ABS",
        "ACOS",
        "ASIN",
        "ATAN",
        "ATAN2",
        "CBRT",
        "CEIL",
        "COS",
        "COSH",
        "COT",
        "DEGREES",
        "EXP",
        "FLOOR",
        "GREATEST",
        "LEAST",
        "LN",
        "LOG",
        "PI",
        "POWER",
        "RADIANS",
        "RANDOM",
        "ROUND",
        "SIGN",
        "SIN",
        "SINH",
        "SQRT",
        "TAN",
        "TANH",
        "TRUNC",
        "CHR",
        "CONCAT",
        "CONCAT_WS",
        "ELT",
        "ENCODE",
        "FIELD",
        "FROM_BYTES",
        "INITCAP",
        "INSTR",
        "LCASE",
        "LEN",
        "LPAD",
        "MASK",
        "MASK_KEEP_LEFT",
        "MASK_KEEP_RIGHT",
        "MASK_LEFT",
        "MASK_RIGHT",
        "MD5",
        "REPLACE",
        "RPAD",
        "SPLIT",
        "SPLIT_TO_MAP",
        "SUBSTRING",
        "TO_BYTES",
        "TRIM",
        "UCASE",
        "UUID",
        "CONVERT_TZ",
        "DATEADD",
        "DATESUB",
        "DATETOSTRING",
        "FORMAT_DATE",
        "FORMAT_TIME",
        "FORMAT_TIMESTAMP",
        "FROM_DAYS",
        "FROM_UNIXTIME",
        "PARSE_DATE",
        "PARSE_TIME",
        "PARSE_TIMESTAMP",
        "STRINGTODATE",
        "STRINGTOTIMESTAMP",
        "TIMEADD",
        "TIMESTAMPADD",
        "TIMESTAMPSUB",
        "TIMESTAMPTOSTRING",
        "TIMESUB",
        "UNIX_DATE",
        "UNIX_TIMESTAMP",
        "ARRAY_CONCAT",
        "ARRAY_CONTAINS",
        "ARRAY_DISTINCT",
        "ARRAY_EXCEPT",
        "ARRAY_INTERSECT",
        "ARRAY_JOIN",
        "ARRAY_LENGTH",
        "ARRAY_MAX",
        "ARRAY_MIN",
        "ARRAY_REMOVE",
        "ARRAY_SORT",
        "ARRAY_UNION",
        "GENERATE_SERIES",
        "SLICE",
        "EXTRACTJSONFIELD",
        "IS_JSON_STRING",
        "JSON_ARRAY_CONTAINS",
        "JSON_ARRAY_LENGTH",
        "JSON_CONCAT",
        "JSON_ITEMS",
        "JSON_KEYS",
        "JSON_RECORDS",
        "TO_JSON_STRING",
        "URL_DECODE_PARAM",
        "URL_ENCODE_PARAM",
        "URL_EXTRACT_FRAGMENT",
        "URL_EXTRACT_HOST",
        "URL_EXTRACT_PARAMETER",
        "URL_EXTRACT_PATH",
        "URL_EXTRACT_PORT",
        "URL_EXTRACT_PROTOCOL",
        "URL_EXTRACT_QUERY",
        "AS_MAP",
        "ENTRIES",
        "MAP_KEYS",
        "MAP_UNION",
        "MAP_VALUES",
        "REGEXP_EXTRACT",
        "REGEXP_EXTRACT_ALL",
        "REGEXP_REPLACE",
        "REGEXP_SPLIT_TO_ARRAY",
        "BIGINT_FROM_BYTES",
        "DOUBLE_FROM_BYTES",
        "INT_FROM_BYTES",
        "COALESCE",
        "IFNULL",
        "NULLIF",
        "AS_VALUE",
        "GEO_DISTANCE",
    ];

    #[test]
    fn every_ksqldb_scalar_function_exists() {
        let missing: Vec<&str> = KSQL_SCALARS.iter().copied().filter(|n| scalar_udf(n).is_none()).collect();
        assert!(missing.is_empty(), "missing: {missing:?}");
        assert_eq!(KSQL_SCALARS.len(), 126);
    }

    #[test]
    fn lookup_is_case_insensitive() {
        assert!(scalar_udf("substring").is_some());
        assert!(scalar_udf("SUBSTRING").is_some());
        assert!(scalar_udf("NO_SUCH_FUNCTION").is_none());
    }

    #[test]
    fn list_is_sorted_and_has_all_kinds() {
        let all = list_functions();
        let names: Vec<&str> = all.iter().map(|f| f.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(all.iter().any(|f| f.kind == "AGGREGATE" && f.name == "COUNT"));
        assert!(all.iter().any(|f| f.kind == "TABLE" && f.name == "EXPLODE"));
        assert!(all.iter().any(|f| f.kind == "SCALAR" && f.name == "TRANSFORM"));
        let scalars = all.iter().filter(|f| f.kind == "SCALAR").count();
        assert!(scalars >= 120, "only {scalars} scalar functions");
    }
}
