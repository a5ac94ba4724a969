//! ksqlDB's aggregate functions as group accumulators.
//!
//! An [`Accumulator`] holds the state of one aggregate call for every group of a query,
//! indexed by a dense group number that the aggregation operator hands out. Updates come a
//! batch at a time with the group of each row; a table's aggregation also *retracts* rows (an
//! update of a table row removes its old value from its old group first), which only the
//! functions ksqlDB marks as undoable support. Session windows *merge* groups.
//!
//! Why not DataFusion's accumulators: a streaming aggregate has to emit the current value of a
//! group after every change, retract, merge sessions, and save and restore the state of single
//! groups to and from a changelog. DataFusion's `GroupsAccumulator` consumes its state on
//! `evaluate` and has no retraction or per-group restore. So the hot aggregates (COUNT, SUM,
//! MIN, MAX over numbers) are written here as typed vectors, and the rest keep one small Rust
//! value per group, converted from Arrow per row.
//!
//! Each accumulator's state is one Arrow column ([`Accumulator::state_type`]) so that the
//! changelog can store a group's state as one row.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, new_empty_array};
use arrow::datatypes::{DataType, Field, Fields, Float64Type, Int32Type, Int64Type};
use datafusion::common::ScalarValue;

use crate::error::{Error, Result};

/// Per-query settings the functions read.
#[derive(Debug, Clone, Default)]
pub struct AggregateConfig {
    /// `ksql.functions.collect_list.limit`
    pub collect_list_limit: Option<usize>,
    /// `ksql.functions.collect_set.limit`
    pub collect_set_limit: Option<usize>,
}

/// The state of one aggregate call over every group.
pub trait Accumulator: Send {
    /// Type of the values [`Accumulator::evaluate`] returns.
    fn result_type(&self) -> DataType;
    /// Adds (or, with `retract`, removes) row `i` of `args` to group `groups[i]`, in row order.
    /// `seq` numbers the rows in processing order (the offset order EARLIEST_BY_OFFSET needs).
    fn update(&mut self, groups: &[usize], args: &[ArrayRef], seq: &[i64], retract: bool) -> Result<()>;
    /// Merges group `from` into group `into` (session windows); `from` is then reset.
    fn merge(&mut self, into: usize, from: usize) -> Result<()>;
    /// The current values of `groups`.
    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef>;
    /// Type of the state column.
    fn state_type(&self) -> DataType;
    /// The state of `groups`, one row each.
    fn state(&self, groups: &[usize]) -> Result<ArrayRef>;
    /// Sets the state of `groups` from rows of a state column.
    fn restore(&mut self, groups: &[usize], state: &ArrayRef) -> Result<()>;
    /// Forgets a group (its number will be reused).
    fn reset(&mut self, group: usize);
}

/// True for the names of aggregate functions.
pub fn is_aggregate(name: &str) -> bool {
    matches!(
        name.to_ascii_uppercase().as_str(),
        "ATTR"
            | "AVG"
            | "COLLECT_LIST"
            | "COLLECT_SET"
            | "CORRELATION"
            | "COUNT"
            | "COUNT_DISTINCT"
            | "EARLIEST_BY_OFFSET"
            | "HISTOGRAM"
            | "LATEST_BY_OFFSET"
            | "MAX"
            | "MIN"
            | "STDDEV_SAMP"
            | "STDDEV_SAMPLE"
            | "SUM"
            | "SUM_LIST"
            | "TOPK"
            | "TOPKDISTINCT"
    )
}

/// True when the function can retract a row, and so can aggregate a table.
pub fn supports_undo(name: &str) -> bool {
    matches!(
        name.to_ascii_uppercase().as_str(),
        "AVG"
            | "COLLECT_LIST"
            | "COLLECT_SET"
            | "COUNT"
            | "HISTOGRAM"
            | "STDDEV_SAMP"
            | "STDDEV_SAMPLE"
            | "SUM"
            | "SUM_LIST"
    )
}

/// A call: the function, the types of its column arguments and its literal parameters (the
/// trailing constant arguments such as TOPK's `k` or EARLIEST_BY_OFFSET's `n, ignoreNulls`).
pub struct AggregateCall<'a> {
    pub name: &'a str,
    /// Arrow types of the column arguments (empty for `COUNT(*)`).
    pub args: &'a [DataType],
    pub params: &'a [ScalarValue],
}

/// Builds the accumulator for a call, checking argument types as ksqlDB does.
pub fn create(call: &AggregateCall<'_>, config: &AggregateConfig) -> Result<Box<dyn Accumulator>> {
    let name = call.name.to_ascii_uppercase();
    let arg = call.args.first().cloned();
    let bad_params = || {
        let types: Vec<String> = call.args.iter().map(type_name).collect();
        Error::user(format!("Function '{name}' does not accept parameters ({}).", types.join(", ")))
    };
    let int_param = |i: usize| -> Option<i64> {
        match call.params.get(i) {
            Some(ScalarValue::Int32(Some(v))) => Some(*v as i64),
            Some(ScalarValue::Int64(Some(v))) => Some(*v),
            _ => None,
        }
    };
    let bool_param = |i: usize| -> Option<bool> {
        match call.params.get(i) {
            Some(ScalarValue::Boolean(Some(v))) => Some(*v),
            _ => None,
        }
    };
    Ok(match name.as_str() {
        "COUNT" => Box::new(Count { star: call.args.is_empty(), counts: Vec::new() }),
        "SUM" => match arg {
            Some(DataType::Int32) => Box::new(SumInt { sums: Vec::new(), int32: true }),
            Some(DataType::Int64) => Box::new(SumInt { sums: Vec::new(), int32: false }),
            Some(DataType::Float64) => Box::new(SumFloat { sums: Vec::new() }),
            Some(t @ DataType::Decimal128(_, _)) => Box::new(Rows::new(SumDecimal { ty: t })),
            _ => return Err(bad_params()),
        },
        "MIN" | "MAX" => {
            let max = name == "MAX";
            match arg {
                Some(t @ (DataType::Int32 | DataType::Int64 | DataType::Date32 | DataType::Time32(_))) => {
                    Box::new(MinMaxPrimitive::<Int64Type>::new(max, t))
                }
                Some(t @ DataType::Timestamp(_, _)) => Box::new(MinMaxPrimitive::<Int64Type>::new(max, t)),
                Some(DataType::Float64) => Box::new(MinMaxPrimitive::<Float64Type>::new(max, DataType::Float64)),
                Some(t @ (DataType::Decimal128(_, _) | DataType::Utf8 | DataType::Boolean | DataType::Binary)) => {
                    Box::new(Rows::new(MinMax { max, ty: t }))
                }
                _ => return Err(bad_params()),
            }
        }
        "AVG" => match arg {
            Some(DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Decimal128(_, _)) => {
                Box::new(Rows::new(Avg))
            }
            _ => return Err(bad_params()),
        },
        "EARLIEST_BY_OFFSET" | "LATEST_BY_OFFSET" => {
            let ty = arg.ok_or_else(bad_params)?;
            let (n, ignore_nulls) = match (call.params.len(), int_param(0), bool_param(0)) {
                (0, _, _) => (None, true),
                (1, Some(n), _) => (Some(n), true),
                (1, None, Some(ignore)) => (None, ignore),
                (2, Some(n), _) => (Some(n), bool_param(1).ok_or_else(bad_params)?),
                _ => return Err(bad_params()),
            };
            if let Some(n) = n
                && n <= 0
            {
                return Err(Error::user(format!("{name} must return at least one value, but {n} were requested.")));
            }
            Box::new(Rows::new(ByOffset {
                earliest: name == "EARLIEST_BY_OFFSET",
                n: n.map(|n| n as usize),
                ignore_nulls,
                ty,
            }))
        }
        "COLLECT_LIST" | "COLLECT_SET" => {
            let ty = arg.ok_or_else(bad_params)?;
            let set = name == "COLLECT_SET";
            let limit = if set { config.collect_set_limit } else { config.collect_list_limit };
            Box::new(Rows::new(Collect { set, limit, ty }))
        }
        "COUNT_DISTINCT" => {
            let _ = arg.ok_or_else(bad_params)?;
            Box::new(Rows::new(CountDistinct))
        }
        "TOPK" | "TOPKDISTINCT" => {
            let ty = arg.ok_or_else(bad_params)?;
            let k = int_param(0).ok_or_else(bad_params)?;
            if k <= 0 {
                return Err(Error::user(format!("{name} must return at least one value, but {k} were requested.")));
            }
            Box::new(Rows::new(TopK { k: k as usize, distinct: name == "TOPKDISTINCT", ty }))
        }
        "HISTOGRAM" => match arg {
            Some(DataType::Utf8) => Box::new(Rows::new(Histogram)),
            _ => return Err(bad_params()),
        },
        "STDDEV_SAMP" | "STDDEV_SAMPLE" => match arg {
            Some(DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Decimal128(_, _)) => {
                Box::new(Rows::new(Stddev))
            }
            _ => return Err(bad_params()),
        },
        "CORRELATION" => match call.args {
            [x, y] if is_numeric(x) && is_numeric(y) => Box::new(Rows::new(Correlation)),
            _ => return Err(bad_params()),
        },
        "ATTR" => Box::new(Rows::new(Attr { ty: arg.ok_or_else(bad_params)? })),
        "SUM_LIST" => match arg {
            Some(DataType::List(item)) if is_numeric(item.data_type()) => {
                Box::new(Rows::new(SumList { ty: item.data_type().clone() }))
            }
            _ => return Err(bad_params()),
        },
        _ => return Err(Error::user(format!("Can't find any functions with the name '{name}'"))),
    })
}

fn is_numeric(t: &DataType) -> bool {
    matches!(t, DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Decimal128(_, _))
}

fn type_name(t: &DataType) -> String {
    crate::sql::types::SqlType::from_arrow(t).map(|s| s.to_string()).unwrap_or_else(|_| t.to_string())
}

fn grow<T: Clone>(v: &mut Vec<T>, groups: &[usize], fill: T) {
    if let Some(&max) = groups.iter().max()
        && max >= v.len()
    {
        v.resize(max + 1, fill);
    }
}

fn unsupported_undo(name: &str) -> Error {
    Error::internal(format!("{name} cannot retract rows"))
}

// ---- COUNT -------------------------------------------------------------------------------

struct Count {
    star: bool,
    counts: Vec<i64>,
}

impl Accumulator for Count {
    fn result_type(&self) -> DataType {
        DataType::Int64
    }
    fn update(&mut self, groups: &[usize], args: &[ArrayRef], _seq: &[i64], retract: bool) -> Result<()> {
        grow(&mut self.counts, groups, 0);
        let delta = if retract { -1 } else { 1 };
        match args.first() {
            Some(array) if !self.star && array.null_count() > 0 => {
                for (row, &g) in groups.iter().enumerate() {
                    if array.is_valid(row) {
                        self.counts[g] += delta;
                    }
                }
            }
            _ => {
                for &g in groups {
                    self.counts[g] += delta;
                }
            }
        }
        Ok(())
    }
    fn merge(&mut self, into: usize, from: usize) -> Result<()> {
        grow(&mut self.counts, &[into, from], 0);
        self.counts[into] += self.counts[from];
        self.counts[from] = 0;
        Ok(())
    }
    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef> {
        Ok(Arc::new(groups.iter().map(|&g| self.counts.get(g).copied().unwrap_or(0)).collect::<Int64Array>()))
    }
    fn state_type(&self) -> DataType {
        DataType::Int64
    }
    fn state(&self, groups: &[usize]) -> Result<ArrayRef> {
        self.evaluate(groups)
    }
    fn restore(&mut self, groups: &[usize], state: &ArrayRef) -> Result<()> {
        grow(&mut self.counts, groups, 0);
        let values = state.as_primitive_opt::<Int64Type>().ok_or_else(|| Error::internal("COUNT state not BIGINT"))?;
        for (row, &g) in groups.iter().enumerate() {
            self.counts[g] = values.value(row);
        }
        Ok(())
    }
    fn reset(&mut self, group: usize) {
        if let Some(c) = self.counts.get_mut(group) {
            *c = 0;
        }
    }
}

// ---- SUM over INT/BIGINT and DOUBLE ------------------------------------------------------

/// ksqlDB's integer SUM starts at 0 and wraps on overflow, like Java's `+`.
struct SumInt {
    sums: Vec<i64>,
    int32: bool,
}

fn integers(array: &ArrayRef) -> Result<Vec<Option<i64>>> {
    if let Some(a) = array.as_primitive_opt::<Int64Type>() {
        return Ok(a.iter().collect());
    }
    if let Some(a) = array.as_primitive_opt::<Int32Type>() {
        return Ok(a.iter().map(|v| v.map(i64::from)).collect());
    }
    Err(Error::internal(format!("expected an integer column, got {}", array.data_type())))
}

impl Accumulator for SumInt {
    fn result_type(&self) -> DataType {
        if self.int32 { DataType::Int32 } else { DataType::Int64 }
    }
    fn update(&mut self, groups: &[usize], args: &[ArrayRef], _seq: &[i64], retract: bool) -> Result<()> {
        grow(&mut self.sums, groups, 0);
        let array = args.first().ok_or_else(|| Error::internal("SUM without an argument"))?;
        if let Some(values) = array.as_primitive_opt::<Int64Type>()
            && values.null_count() == 0
        {
            for (&g, &v) in groups.iter().zip(values.values().iter()) {
                self.sums[g] = if retract { self.sums[g].wrapping_sub(v) } else { self.sums[g].wrapping_add(v) };
            }
            return Ok(());
        }
        for (&g, v) in groups.iter().zip(integers(array)?) {
            if let Some(v) = v {
                self.sums[g] = if retract { self.sums[g].wrapping_sub(v) } else { self.sums[g].wrapping_add(v) };
            }
        }
        Ok(())
    }
    fn merge(&mut self, into: usize, from: usize) -> Result<()> {
        grow(&mut self.sums, &[into, from], 0);
        self.sums[into] = self.sums[into].wrapping_add(self.sums[from]);
        self.sums[from] = 0;
        Ok(())
    }
    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef> {
        let values = groups.iter().map(|&g| self.sums.get(g).copied().unwrap_or(0));
        Ok(if self.int32 {
            Arc::new(values.map(|v| v as i32).collect::<arrow::array::Int32Array>())
        } else {
            Arc::new(values.collect::<Int64Array>())
        })
    }
    fn state_type(&self) -> DataType {
        DataType::Int64
    }
    fn state(&self, groups: &[usize]) -> Result<ArrayRef> {
        Ok(Arc::new(groups.iter().map(|&g| self.sums.get(g).copied().unwrap_or(0)).collect::<Int64Array>()))
    }
    fn restore(&mut self, groups: &[usize], state: &ArrayRef) -> Result<()> {
        grow(&mut self.sums, groups, 0);
        let values = state.as_primitive_opt::<Int64Type>().ok_or_else(|| Error::internal("SUM state not BIGINT"))?;
        for (row, &g) in groups.iter().enumerate() {
            self.sums[g] = values.value(row);
        }
        Ok(())
    }
    fn reset(&mut self, group: usize) {
        if let Some(s) = self.sums.get_mut(group) {
            *s = 0;
        }
    }
}

struct SumFloat {
    sums: Vec<f64>,
}

impl Accumulator for SumFloat {
    fn result_type(&self) -> DataType {
        DataType::Float64
    }
    fn update(&mut self, groups: &[usize], args: &[ArrayRef], _seq: &[i64], retract: bool) -> Result<()> {
        grow(&mut self.sums, groups, 0.0);
        let values = args
            .first()
            .and_then(|a| a.as_primitive_opt::<Float64Type>())
            .ok_or_else(|| Error::internal("SUM(DOUBLE) without a DOUBLE argument"))?;
        for (row, &g) in groups.iter().enumerate() {
            if values.is_valid(row) {
                let v = values.value(row);
                self.sums[g] += if retract { -v } else { v };
            }
        }
        Ok(())
    }
    fn merge(&mut self, into: usize, from: usize) -> Result<()> {
        grow(&mut self.sums, &[into, from], 0.0);
        self.sums[into] += self.sums[from];
        self.sums[from] = 0.0;
        Ok(())
    }
    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef> {
        Ok(Arc::new(groups.iter().map(|&g| self.sums.get(g).copied().unwrap_or(0.0)).collect::<Float64Array>()))
    }
    fn state_type(&self) -> DataType {
        DataType::Float64
    }
    fn state(&self, groups: &[usize]) -> Result<ArrayRef> {
        self.evaluate(groups)
    }
    fn restore(&mut self, groups: &[usize], state: &ArrayRef) -> Result<()> {
        grow(&mut self.sums, groups, 0.0);
        let values = state.as_primitive_opt::<Float64Type>().ok_or_else(|| Error::internal("SUM state not DOUBLE"))?;
        for (row, &g) in groups.iter().enumerate() {
            self.sums[g] = values.value(row);
        }
        Ok(())
    }
    fn reset(&mut self, group: usize) {
        if let Some(s) = self.sums.get_mut(group) {
            *s = 0.0;
        }
    }
}

// ---- MIN / MAX over integers and doubles ---------------------------------------------------

/// The native values MIN/MAX keep per group: i64 (INT, BIGINT, DATE, TIME, TIMESTAMP are all
/// integers underneath) and f64 (whose `max`/`min` ignore NaN, as ksqlDB's do).
trait Extremum: arrow::datatypes::ArrowPrimitiveType<Native: Copy> {
    fn pick(max: bool, old: Self::Native, new: Self::Native) -> Self::Native;
}

impl Extremum for Int64Type {
    fn pick(max: bool, old: i64, new: i64) -> i64 {
        if max { old.max(new) } else { old.min(new) }
    }
}

impl Extremum for Float64Type {
    fn pick(max: bool, old: f64, new: f64) -> f64 {
        if max { old.max(new) } else { old.min(new) }
    }
}

/// MIN or MAX kept as a vector of `T`'s native values; arguments are cast to `T` and results
/// back to the argument's type `ty`.
struct MinMaxPrimitive<T: Extremum> {
    max: bool,
    ty: DataType,
    values: Vec<Option<T::Native>>,
}

impl<T: Extremum> MinMaxPrimitive<T> {
    fn new(max: bool, ty: DataType) -> Self {
        Self { max, ty, values: Vec::new() }
    }

    fn fold(&mut self, g: usize, v: T::Native) {
        let slot = &mut self.values[g];
        *slot = Some(match *slot {
            None => v,
            Some(old) => T::pick(self.max, old, v),
        });
    }

    fn native(&self, groups: &[usize]) -> arrow::array::PrimitiveArray<T> {
        groups.iter().map(|&g| self.values.get(g).copied().flatten()).collect()
    }
}

impl<T: Extremum> Accumulator for MinMaxPrimitive<T> {
    fn result_type(&self) -> DataType {
        self.ty.clone()
    }
    fn update(&mut self, groups: &[usize], args: &[ArrayRef], _seq: &[i64], retract: bool) -> Result<()> {
        if retract {
            return Err(unsupported_undo(if self.max { "MAX" } else { "MIN" }));
        }
        grow(&mut self.values, groups, None);
        let array = args.first().ok_or_else(|| Error::internal("MIN/MAX without an argument"))?;
        let cast = arrow::compute::cast(array, &T::DATA_TYPE)?;
        let values = cast.as_primitive::<T>();
        for (row, &g) in groups.iter().enumerate() {
            if values.is_valid(row) {
                self.fold(g, values.value(row));
            }
        }
        Ok(())
    }
    fn merge(&mut self, into: usize, from: usize) -> Result<()> {
        grow(&mut self.values, &[into, from], None);
        if let Some(v) = self.values[from].take() {
            self.fold(into, v);
        }
        Ok(())
    }
    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef> {
        Ok(arrow::compute::cast(&self.native(groups), &self.ty)?)
    }
    fn state_type(&self) -> DataType {
        T::DATA_TYPE
    }
    fn state(&self, groups: &[usize]) -> Result<ArrayRef> {
        Ok(Arc::new(self.native(groups)))
    }
    fn restore(&mut self, groups: &[usize], state: &ArrayRef) -> Result<()> {
        grow(&mut self.values, groups, None);
        let values = state
            .as_primitive_opt::<T>()
            .ok_or_else(|| Error::internal(format!("MIN/MAX state is not {}", T::DATA_TYPE)))?;
        for (row, &g) in groups.iter().enumerate() {
            self.values[g] = values.is_valid(row).then(|| values.value(row));
        }
        Ok(())
    }
    fn reset(&mut self, group: usize) {
        if let Some(s) = self.values.get_mut(group) {
            *s = None;
        }
    }
}

// ---- Row-at-a-time aggregates over ScalarValues --------------------------------------------

/// An aggregate whose per-group state is a small Rust value, updated one row at a time.
trait RowAggregate: Send + 'static {
    type State: Default + Clone + Send;
    const NAME: &'static str;
    fn result_type(&self) -> DataType;
    fn add(&self, state: &mut Self::State, args: &[ScalarValue], seq: i64) -> Result<()>;
    fn retract(&self, _state: &mut Self::State, _args: &[ScalarValue]) -> Result<()> {
        Err(unsupported_undo(Self::NAME))
    }
    fn merge(&self, into: &mut Self::State, from: Self::State) -> Result<()>;
    fn result(&self, state: &Self::State) -> Result<ScalarValue>;
    fn state_type(&self) -> DataType;
    fn save(&self, state: &Self::State) -> Result<ScalarValue>;
    fn load(&self, value: ScalarValue) -> Result<Self::State>;
}

struct Rows<A: RowAggregate> {
    agg: A,
    states: Vec<A::State>,
}

impl<A: RowAggregate> Rows<A> {
    fn new(agg: A) -> Self {
        Self { agg, states: Vec::new() }
    }
}

fn scalars_to_array(values: Vec<ScalarValue>, ty: &DataType) -> Result<ArrayRef> {
    if values.is_empty() {
        return Ok(new_empty_array(ty));
    }
    let array = ScalarValue::iter_to_array(values)?;
    if array.data_type() == ty { Ok(array) } else { Ok(arrow::compute::cast(&array, ty)?) }
}

impl<A: RowAggregate> Accumulator for Rows<A> {
    fn result_type(&self) -> DataType {
        self.agg.result_type()
    }
    fn update(&mut self, groups: &[usize], args: &[ArrayRef], seq: &[i64], retract: bool) -> Result<()> {
        grow(&mut self.states, groups, A::State::default());
        let mut row_args = Vec::with_capacity(args.len());
        for (row, &g) in groups.iter().enumerate() {
            row_args.clear();
            for a in args {
                row_args.push(ScalarValue::try_from_array(a, row)?);
            }
            if retract {
                self.agg.retract(&mut self.states[g], &row_args)?;
            } else {
                self.agg.add(&mut self.states[g], &row_args, seq.get(row).copied().unwrap_or_default())?;
            }
        }
        Ok(())
    }
    fn merge(&mut self, into: usize, from: usize) -> Result<()> {
        grow(&mut self.states, &[into, from], A::State::default());
        let from_state = std::mem::take(&mut self.states[from]);
        self.agg.merge(&mut self.states[into], from_state)
    }
    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef> {
        let empty = A::State::default();
        let values = groups
            .iter()
            .map(|&g| self.agg.result(self.states.get(g).unwrap_or(&empty)))
            .collect::<Result<Vec<_>>>()?;
        scalars_to_array(values, &self.agg.result_type())
    }
    fn state_type(&self) -> DataType {
        self.agg.state_type()
    }
    fn state(&self, groups: &[usize]) -> Result<ArrayRef> {
        let empty = A::State::default();
        let values =
            groups.iter().map(|&g| self.agg.save(self.states.get(g).unwrap_or(&empty))).collect::<Result<Vec<_>>>()?;
        scalars_to_array(values, &self.agg.state_type())
    }
    fn restore(&mut self, groups: &[usize], state: &ArrayRef) -> Result<()> {
        grow(&mut self.states, groups, A::State::default());
        for (row, &g) in groups.iter().enumerate() {
            self.states[g] = self.agg.load(ScalarValue::try_from_array(state, row)?)?;
        }
        Ok(())
    }
    fn reset(&mut self, group: usize) {
        if let Some(s) = self.states.get_mut(group) {
            *s = A::State::default();
        }
    }
}

fn list_type(item: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item.clone(), true)))
}

fn list_scalar(values: &[ScalarValue], item: &DataType) -> Result<ScalarValue> {
    let array = scalars_to_array(values.to_vec(), item)?;
    Ok(ScalarValue::List(Arc::new(arrow::array::ListArray::new(
        Arc::new(Field::new("item", item.clone(), true)),
        arrow::buffer::OffsetBuffer::from_lengths([array.len()]),
        array,
        None,
    ))))
}

fn list_values(value: &ScalarValue) -> Result<Vec<ScalarValue>> {
    match value {
        ScalarValue::List(list) if !list.is_null(0) => {
            let items = list.value(0);
            (0..items.len()).map(|i| Ok(ScalarValue::try_from_array(&items, i)?)).collect()
        }
        ScalarValue::List(_) => Ok(Vec::new()),
        other => Err(Error::internal(format!("expected a list state, got {other:?}"))),
    }
}

fn to_f64(v: &ScalarValue) -> Option<f64> {
    match v {
        ScalarValue::Int32(Some(x)) => Some(*x as f64),
        ScalarValue::Int64(Some(x)) => Some(*x as f64),
        ScalarValue::Float64(Some(x)) => Some(*x),
        ScalarValue::Decimal128(Some(x), _, s) => Some(*x as f64 / 10f64.powi(*s as i32)),
        _ => None,
    }
}

fn f64_list(values: &[f64]) -> Result<ScalarValue> {
    list_scalar(&values.iter().map(|v| ScalarValue::Float64(Some(*v))).collect::<Vec<_>>(), &DataType::Float64)
}

fn f64_values(value: ScalarValue) -> Result<Vec<f64>> {
    Ok(list_values(&value)?.iter().map(|v| to_f64(v).unwrap_or(0.0)).collect())
}

struct SumDecimal {
    ty: DataType,
}

impl RowAggregate for SumDecimal {
    type State = i128;
    const NAME: &'static str = "SUM";
    fn result_type(&self) -> DataType {
        self.ty.clone()
    }
    fn add(&self, state: &mut i128, args: &[ScalarValue], _seq: i64) -> Result<()> {
        if let Some(ScalarValue::Decimal128(Some(v), _, _)) = args.first() {
            *state += v;
        }
        Ok(())
    }
    fn retract(&self, state: &mut i128, args: &[ScalarValue]) -> Result<()> {
        if let Some(ScalarValue::Decimal128(Some(v), _, _)) = args.first() {
            *state -= v;
        }
        Ok(())
    }
    fn merge(&self, into: &mut i128, from: i128) -> Result<()> {
        *into += from;
        Ok(())
    }
    fn result(&self, state: &i128) -> Result<ScalarValue> {
        let DataType::Decimal128(p, s) = self.ty else { return Err(Error::internal("SUM(DECIMAL) type")) };
        Ok(ScalarValue::Decimal128(Some(*state), p, s))
    }
    fn state_type(&self) -> DataType {
        self.ty.clone()
    }
    fn save(&self, state: &i128) -> Result<ScalarValue> {
        self.result(state)
    }
    fn load(&self, value: ScalarValue) -> Result<i128> {
        Ok(match value {
            ScalarValue::Decimal128(Some(v), _, _) => v,
            _ => 0,
        })
    }
}

struct MinMax {
    max: bool,
    ty: DataType,
}

impl RowAggregate for MinMax {
    type State = Option<ScalarValue>;
    const NAME: &'static str = "MIN/MAX";
    fn result_type(&self) -> DataType {
        self.ty.clone()
    }
    fn add(&self, state: &mut Option<ScalarValue>, args: &[ScalarValue], _seq: i64) -> Result<()> {
        let Some(v) = args.first().filter(|v| !v.is_null()) else { return Ok(()) };
        let replace = match state {
            None => true,
            Some(old) => {
                let ord = v.partial_cmp(old);
                if self.max { ord == Some(std::cmp::Ordering::Greater) } else { ord == Some(std::cmp::Ordering::Less) }
            }
        };
        if replace {
            *state = Some(v.clone());
        }
        Ok(())
    }
    fn merge(&self, into: &mut Option<ScalarValue>, from: Option<ScalarValue>) -> Result<()> {
        if let Some(v) = from {
            self.add(into, &[v], 0)?;
        }
        Ok(())
    }
    fn result(&self, state: &Option<ScalarValue>) -> Result<ScalarValue> {
        Ok(match state {
            Some(v) => v.clone(),
            None => ScalarValue::try_from(&self.ty)?,
        })
    }
    fn state_type(&self) -> DataType {
        self.ty.clone()
    }
    fn save(&self, state: &Option<ScalarValue>) -> Result<ScalarValue> {
        self.result(state)
    }
    fn load(&self, value: ScalarValue) -> Result<Option<ScalarValue>> {
        Ok((!value.is_null()).then_some(value))
    }
}

/// AVG: DOUBLE, 0.0 for a group with no non-null value (as ksqlDB returns).
struct Avg;

impl RowAggregate for Avg {
    type State = (f64, i64);
    const NAME: &'static str = "AVG";
    fn result_type(&self) -> DataType {
        DataType::Float64
    }
    fn add(&self, state: &mut (f64, i64), args: &[ScalarValue], _seq: i64) -> Result<()> {
        if let Some(v) = args.first().and_then(to_f64) {
            state.0 += v;
            state.1 += 1;
        }
        Ok(())
    }
    fn retract(&self, state: &mut (f64, i64), args: &[ScalarValue]) -> Result<()> {
        if let Some(v) = args.first().and_then(to_f64) {
            state.0 -= v;
            state.1 -= 1;
        }
        Ok(())
    }
    fn merge(&self, into: &mut (f64, i64), from: (f64, i64)) -> Result<()> {
        into.0 += from.0;
        into.1 += from.1;
        Ok(())
    }
    fn result(&self, state: &(f64, i64)) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(Some(if state.1 == 0 { 0.0 } else { state.0 / state.1 as f64 })))
    }
    fn state_type(&self) -> DataType {
        list_type(&DataType::Float64)
    }
    fn save(&self, state: &(f64, i64)) -> Result<ScalarValue> {
        f64_list(&[state.0, state.1 as f64])
    }
    fn load(&self, value: ScalarValue) -> Result<(f64, i64)> {
        let v = f64_values(value)?;
        Ok((v.first().copied().unwrap_or(0.0), v.get(1).copied().unwrap_or(0.0) as i64))
    }
}

/// EARLIEST_BY_OFFSET / LATEST_BY_OFFSET, single or N values.
struct ByOffset {
    earliest: bool,
    n: Option<usize>,
    ignore_nulls: bool,
    ty: DataType,
}

impl RowAggregate for ByOffset {
    /// (sequence, value) pairs in sequence order, at most N (or 1).
    type State = Vec<(i64, ScalarValue)>;
    const NAME: &'static str = "EARLIEST_BY_OFFSET";
    fn result_type(&self) -> DataType {
        match self.n {
            Some(_) => list_type(&self.ty),
            None => self.ty.clone(),
        }
    }
    fn add(&self, state: &mut Self::State, args: &[ScalarValue], seq: i64) -> Result<()> {
        let Some(v) = args.first() else { return Ok(()) };
        if v.is_null() && self.ignore_nulls {
            return Ok(());
        }
        let keep = self.n.unwrap_or(1);
        if self.earliest {
            if state.len() < keep {
                state.push((seq, v.clone()));
            }
        } else {
            state.push((seq, v.clone()));
            if state.len() > keep {
                state.remove(0);
            }
        }
        Ok(())
    }
    fn merge(&self, into: &mut Self::State, from: Self::State) -> Result<()> {
        into.extend(from);
        into.sort_by_key(|(seq, _)| *seq);
        let keep = self.n.unwrap_or(1);
        if into.len() > keep {
            if self.earliest {
                into.truncate(keep);
            } else {
                into.drain(..into.len() - keep);
            }
        }
        Ok(())
    }
    fn result(&self, state: &Self::State) -> Result<ScalarValue> {
        match self.n {
            Some(_) => list_scalar(&state.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(), &self.ty),
            None => match state.first() {
                Some((_, v)) => Ok(v.clone()),
                None => Ok(ScalarValue::try_from(&self.ty)?),
            },
        }
    }
    fn state_type(&self) -> DataType {
        DataType::Struct(Fields::from(vec![
            Field::new("SEQ", list_type(&DataType::Int64), true),
            Field::new("VAL", list_type(&self.ty), true),
        ]))
    }
    fn save(&self, state: &Self::State) -> Result<ScalarValue> {
        let seqs = list_scalar(
            &state.iter().map(|(s, _)| ScalarValue::Int64(Some(*s))).collect::<Vec<_>>(),
            &DataType::Int64,
        )?;
        let vals = list_scalar(&state.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(), &self.ty)?;
        struct_scalar(vec![("SEQ", seqs), ("VAL", vals)])
    }
    fn load(&self, value: ScalarValue) -> Result<Self::State> {
        let [seqs, vals] = struct_fields(&value)?;
        let seqs = list_values(&seqs)?;
        let vals = list_values(&vals)?;
        Ok(seqs
            .into_iter()
            .zip(vals)
            .map(|(s, v)| (if let ScalarValue::Int64(Some(s)) = s { s } else { 0 }, v))
            .collect())
    }
}

fn struct_scalar(fields: Vec<(&str, ScalarValue)>) -> Result<ScalarValue> {
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let mut schema: Vec<Field> = Vec::new();
    for (name, value) in fields {
        let array = value.to_array()?;
        schema.push(Field::new(name, array.data_type().clone(), true));
        arrays.push(array);
    }
    Ok(ScalarValue::Struct(Arc::new(arrow::array::StructArray::try_new(Fields::from(schema), arrays, None)?)))
}

fn struct_fields<const N: usize>(value: &ScalarValue) -> Result<[ScalarValue; N]> {
    let ScalarValue::Struct(s) = value else {
        return Err(Error::internal(format!("expected a struct state, got {value:?}")));
    };
    let mut out: Vec<ScalarValue> = Vec::with_capacity(N);
    for i in 0..N {
        out.push(ScalarValue::try_from_array(s.column(i), 0)?);
    }
    out.try_into().map_err(|_| Error::internal("struct state has the wrong arity"))
}

/// COLLECT_LIST / COLLECT_SET.
struct Collect {
    set: bool,
    limit: Option<usize>,
    ty: DataType,
}

impl RowAggregate for Collect {
    type State = Vec<ScalarValue>;
    const NAME: &'static str = "COLLECT_LIST";
    fn result_type(&self) -> DataType {
        list_type(&self.ty)
    }
    fn add(&self, state: &mut Vec<ScalarValue>, args: &[ScalarValue], _seq: i64) -> Result<()> {
        let Some(v) = args.first() else { return Ok(()) };
        if self.set && state.contains(v) {
            return Ok(());
        }
        if self.limit.is_some_and(|l| state.len() >= l) {
            return Ok(());
        }
        state.push(v.clone());
        Ok(())
    }
    fn retract(&self, state: &mut Vec<ScalarValue>, args: &[ScalarValue]) -> Result<()> {
        if let Some(v) = args.first()
            && let Some(i) = state.iter().position(|x| x == v)
        {
            state.remove(i);
        }
        Ok(())
    }
    fn merge(&self, into: &mut Vec<ScalarValue>, from: Vec<ScalarValue>) -> Result<()> {
        for v in from {
            self.add(into, &[v], 0)?;
        }
        Ok(())
    }
    fn result(&self, state: &Vec<ScalarValue>) -> Result<ScalarValue> {
        list_scalar(state, &self.ty)
    }
    fn state_type(&self) -> DataType {
        list_type(&self.ty)
    }
    fn save(&self, state: &Vec<ScalarValue>) -> Result<ScalarValue> {
        list_scalar(state, &self.ty)
    }
    fn load(&self, value: ScalarValue) -> Result<Vec<ScalarValue>> {
        list_values(&value)
    }
}

/// COUNT_DISTINCT: exact here (ksqlDB approximates with HyperLogLog; small counts agree).
struct CountDistinct;

impl RowAggregate for CountDistinct {
    type State = Vec<ScalarValue>;
    const NAME: &'static str = "COUNT_DISTINCT";
    fn result_type(&self) -> DataType {
        DataType::Int64
    }
    fn add(&self, state: &mut Vec<ScalarValue>, args: &[ScalarValue], _seq: i64) -> Result<()> {
        if let Some(v) = args.first().filter(|v| !v.is_null())
            && !state.contains(v)
        {
            state.push(v.clone());
        }
        Ok(())
    }
    fn merge(&self, into: &mut Vec<ScalarValue>, from: Vec<ScalarValue>) -> Result<()> {
        for v in from {
            self.add(into, &[v], 0)?;
        }
        Ok(())
    }
    fn result(&self, state: &Vec<ScalarValue>) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(state.len() as i64)))
    }
    fn state_type(&self) -> DataType {
        // The values as strings: enough to recount after a restore.
        list_type(&DataType::Utf8)
    }
    fn save(&self, state: &Vec<ScalarValue>) -> Result<ScalarValue> {
        list_scalar(&state.iter().map(|v| ScalarValue::Utf8(Some(v.to_string()))).collect::<Vec<_>>(), &DataType::Utf8)
    }
    fn load(&self, value: ScalarValue) -> Result<Vec<ScalarValue>> {
        list_values(&value)
    }
}

/// TOPK / TOPKDISTINCT: the k largest values, largest first.
struct TopK {
    k: usize,
    distinct: bool,
    ty: DataType,
}

impl RowAggregate for TopK {
    type State = Vec<ScalarValue>;
    const NAME: &'static str = "TOPK";
    fn result_type(&self) -> DataType {
        list_type(&self.ty)
    }
    fn add(&self, state: &mut Vec<ScalarValue>, args: &[ScalarValue], _seq: i64) -> Result<()> {
        let Some(v) = args.first().filter(|v| !v.is_null()) else { return Ok(()) };
        if self.distinct && state.contains(v) {
            return Ok(());
        }
        let at =
            state.iter().position(|x| v.partial_cmp(x) == Some(std::cmp::Ordering::Greater)).unwrap_or(state.len());
        state.insert(at, v.clone());
        state.truncate(self.k);
        Ok(())
    }
    fn merge(&self, into: &mut Vec<ScalarValue>, from: Vec<ScalarValue>) -> Result<()> {
        for v in from {
            self.add(into, &[v], 0)?;
        }
        Ok(())
    }
    fn result(&self, state: &Vec<ScalarValue>) -> Result<ScalarValue> {
        list_scalar(state, &self.ty)
    }
    fn state_type(&self) -> DataType {
        list_type(&self.ty)
    }
    fn save(&self, state: &Vec<ScalarValue>) -> Result<ScalarValue> {
        list_scalar(state, &self.ty)
    }
    fn load(&self, value: ScalarValue) -> Result<Vec<ScalarValue>> {
        list_values(&value)
    }
}

/// HISTOGRAM: MAP<STRING, BIGINT> of value counts.
struct Histogram;

impl RowAggregate for Histogram {
    type State = BTreeMap<String, i64>;
    const NAME: &'static str = "HISTOGRAM";
    fn result_type(&self) -> DataType {
        crate::sql::types::map_type(DataType::Utf8, DataType::Int64)
    }
    fn add(&self, state: &mut Self::State, args: &[ScalarValue], _seq: i64) -> Result<()> {
        if let Some(ScalarValue::Utf8(Some(v))) = args.first() {
            *state.entry(v.clone()).or_default() += 1;
        }
        Ok(())
    }
    fn retract(&self, state: &mut Self::State, args: &[ScalarValue]) -> Result<()> {
        if let Some(ScalarValue::Utf8(Some(v))) = args.first()
            && let Some(count) = state.get_mut(v)
        {
            *count -= 1;
            if *count <= 0 {
                state.remove(v);
            }
        }
        Ok(())
    }
    fn merge(&self, into: &mut Self::State, from: Self::State) -> Result<()> {
        for (k, v) in from {
            *into.entry(k).or_default() += v;
        }
        Ok(())
    }
    fn result(&self, state: &Self::State) -> Result<ScalarValue> {
        let keys = arrow::array::StringArray::from_iter_values(state.keys());
        let values = Int64Array::from_iter_values(state.values().copied());
        let DataType::Map(entries, _) = self.result_type() else {
            return Err(Error::internal("HISTOGRAM's type is not a map"));
        };
        let DataType::Struct(fields) = entries.data_type() else {
            return Err(Error::internal("HISTOGRAM's entries are not a struct"));
        };
        let structs = arrow::array::StructArray::try_new(fields.clone(), vec![Arc::new(keys), Arc::new(values)], None)?;
        let map = arrow::array::MapArray::try_new(
            entries,
            arrow::buffer::OffsetBuffer::from_lengths([state.len()]),
            structs,
            None,
            false,
        )?;
        Ok(ScalarValue::Map(Arc::new(map)))
    }
    fn state_type(&self) -> DataType {
        list_type(&DataType::Utf8)
    }
    fn save(&self, state: &Self::State) -> Result<ScalarValue> {
        // "count:value" strings: the row format has no map type.
        let items: Vec<ScalarValue> = state.iter().map(|(k, v)| ScalarValue::Utf8(Some(format!("{v}:{k}")))).collect();
        list_scalar(&items, &DataType::Utf8)
    }
    fn load(&self, value: ScalarValue) -> Result<Self::State> {
        let mut state = BTreeMap::new();
        for item in list_values(&value)? {
            if let ScalarValue::Utf8(Some(s)) = item
                && let Some((count, key)) = s.split_once(':')
            {
                state.insert(key.to_string(), count.parse().unwrap_or(0));
            }
        }
        Ok(state)
    }
}

/// STDDEV_SAMP: sample standard deviation, from count, sum and sum of squares.
struct Stddev;

impl RowAggregate for Stddev {
    type State = (f64, f64, f64);
    const NAME: &'static str = "STDDEV_SAMP";
    fn result_type(&self) -> DataType {
        DataType::Float64
    }
    fn add(&self, state: &mut (f64, f64, f64), args: &[ScalarValue], _seq: i64) -> Result<()> {
        if let Some(v) = args.first().and_then(to_f64) {
            state.0 += 1.0;
            state.1 += v;
            state.2 += v * v;
        }
        Ok(())
    }
    fn retract(&self, state: &mut (f64, f64, f64), args: &[ScalarValue]) -> Result<()> {
        if let Some(v) = args.first().and_then(to_f64) {
            state.0 -= 1.0;
            state.1 -= v;
            state.2 -= v * v;
        }
        Ok(())
    }
    fn merge(&self, into: &mut (f64, f64, f64), from: (f64, f64, f64)) -> Result<()> {
        into.0 += from.0;
        into.1 += from.1;
        into.2 += from.2;
        Ok(())
    }
    fn result(&self, state: &(f64, f64, f64)) -> Result<ScalarValue> {
        let (n, sum, squares) = *state;
        if n < 2.0 {
            return Ok(ScalarValue::Float64(Some(0.0)));
        }
        let variance = (squares - sum * sum / n) / (n - 1.0);
        Ok(ScalarValue::Float64(Some(variance.max(0.0).sqrt())))
    }
    fn state_type(&self) -> DataType {
        list_type(&DataType::Float64)
    }
    fn save(&self, state: &(f64, f64, f64)) -> Result<ScalarValue> {
        f64_list(&[state.0, state.1, state.2])
    }
    fn load(&self, value: ScalarValue) -> Result<(f64, f64, f64)> {
        let v = f64_values(value)?;
        Ok((v.first().copied().unwrap_or(0.0), v.get(1).copied().unwrap_or(0.0), v.get(2).copied().unwrap_or(0.0)))
    }
}

/// CORRELATION(x, y): Pearson's coefficient.
struct Correlation;

impl RowAggregate for Correlation {
    /// n, Σx, Σy, Σxy, Σx², Σy²
    type State = [f64; 6];
    const NAME: &'static str = "CORRELATION";
    fn result_type(&self) -> DataType {
        DataType::Float64
    }
    fn add(&self, state: &mut [f64; 6], args: &[ScalarValue], _seq: i64) -> Result<()> {
        if let (Some(x), Some(y)) = (args.first().and_then(to_f64), args.get(1).and_then(to_f64)) {
            for (slot, v) in state.iter_mut().zip([1.0, x, y, x * y, x * x, y * y]) {
                *slot += v;
            }
        }
        Ok(())
    }
    fn merge(&self, into: &mut [f64; 6], from: [f64; 6]) -> Result<()> {
        for (a, b) in into.iter_mut().zip(from) {
            *a += b;
        }
        Ok(())
    }
    fn result(&self, s: &[f64; 6]) -> Result<ScalarValue> {
        let [n, sx, sy, sxy, sxx, syy] = *s;
        let denominator = ((n * sxx - sx * sx) * (n * syy - sy * sy)).sqrt();
        Ok(ScalarValue::Float64(Some(if denominator == 0.0 { f64::NAN } else { (n * sxy - sx * sy) / denominator })))
    }
    fn state_type(&self) -> DataType {
        list_type(&DataType::Float64)
    }
    fn save(&self, state: &[f64; 6]) -> Result<ScalarValue> {
        f64_list(state)
    }
    fn load(&self, value: ScalarValue) -> Result<[f64; 6]> {
        let v = f64_values(value)?;
        let mut out = [0.0; 6];
        for (slot, x) in out.iter_mut().zip(v) {
            *slot = x;
        }
        Ok(out)
    }
}

/// ATTR: the value when every row had the same one, else NULL.
struct Attr {
    ty: DataType,
}

impl RowAggregate for Attr {
    /// (value, rows seen, whether values differed)
    type State = (Option<ScalarValue>, bool);
    const NAME: &'static str = "ATTR";
    fn result_type(&self) -> DataType {
        self.ty.clone()
    }
    fn add(&self, state: &mut Self::State, args: &[ScalarValue], _seq: i64) -> Result<()> {
        let Some(v) = args.first() else { return Ok(()) };
        match &state.0 {
            None => state.0 = Some(v.clone()),
            Some(old) if old != v => state.1 = true,
            Some(_) => {}
        }
        Ok(())
    }
    fn merge(&self, into: &mut Self::State, from: Self::State) -> Result<()> {
        if from.1 {
            into.1 = true;
        }
        if let Some(v) = from.0 {
            self.add(into, &[v], 0)?;
        }
        Ok(())
    }
    fn result(&self, state: &Self::State) -> Result<ScalarValue> {
        match (&state.0, state.1) {
            (Some(v), false) => Ok(v.clone()),
            _ => Ok(ScalarValue::try_from(&self.ty)?),
        }
    }
    fn state_type(&self) -> DataType {
        DataType::Struct(Fields::from(vec![
            Field::new("VAL", self.ty.clone(), true),
            Field::new("SEEN", DataType::Boolean, true),
            Field::new("MIXED", DataType::Boolean, true),
        ]))
    }
    fn save(&self, state: &Self::State) -> Result<ScalarValue> {
        struct_scalar(vec![
            ("VAL", state.0.clone().map_or_else(|| ScalarValue::try_from(&self.ty), Ok)?),
            ("SEEN", ScalarValue::Boolean(Some(state.0.is_some()))),
            ("MIXED", ScalarValue::Boolean(Some(state.1))),
        ])
    }
    fn load(&self, value: ScalarValue) -> Result<Self::State> {
        let [val, seen, mixed] = struct_fields(&value)?;
        let seen = matches!(seen, ScalarValue::Boolean(Some(true)));
        Ok((seen.then_some(val), matches!(mixed, ScalarValue::Boolean(Some(true)))))
    }
}

/// SUM_LIST: the sum of the elements of every array seen.
struct SumList {
    ty: DataType,
}

impl RowAggregate for SumList {
    type State = f64;
    const NAME: &'static str = "SUM_LIST";
    fn result_type(&self) -> DataType {
        self.ty.clone()
    }
    fn add(&self, state: &mut f64, args: &[ScalarValue], _seq: i64) -> Result<()> {
        if let Some(list) = args.first().filter(|v| !v.is_null()) {
            *state += list_values(list)?.iter().filter_map(to_f64).sum::<f64>();
        }
        Ok(())
    }
    fn retract(&self, state: &mut f64, args: &[ScalarValue]) -> Result<()> {
        if let Some(list) = args.first().filter(|v| !v.is_null()) {
            *state -= list_values(list)?.iter().filter_map(to_f64).sum::<f64>();
        }
        Ok(())
    }
    fn merge(&self, into: &mut f64, from: f64) -> Result<()> {
        *into += from;
        Ok(())
    }
    fn result(&self, state: &f64) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(Some(*state)).cast_to(&self.ty)?)
    }
    fn state_type(&self) -> DataType {
        DataType::Float64
    }
    fn save(&self, state: &f64) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(Some(*state)))
    }
    fn load(&self, value: ScalarValue) -> Result<f64> {
        Ok(to_f64(&value).unwrap_or(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(name: &str, args: &[DataType], params: &[ScalarValue]) -> Box<dyn Accumulator> {
        create(&AggregateCall { name, args, params }, &AggregateConfig::default()).unwrap()
    }

    fn int64s(a: &ArrayRef) -> Vec<Option<i64>> {
        a.as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn count_star_counts_rows_and_retracts() {
        let mut acc = make("COUNT", &[], &[]);
        acc.update(&[0, 1, 0], &[], &[0, 1, 2], false).unwrap();
        assert_eq!(int64s(&acc.evaluate(&[0, 1]).unwrap()), vec![Some(2), Some(1)]);
        acc.update(&[0], &[], &[3], true).unwrap();
        assert_eq!(int64s(&acc.evaluate(&[0]).unwrap()), vec![Some(1)]);
    }

    #[test]
    fn count_column_skips_nulls() {
        let mut acc = make("COUNT", &[DataType::Int64], &[]);
        let arg: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(3)]));
        acc.update(&[0, 0, 0], &[arg], &[0, 1, 2], false).unwrap();
        assert_eq!(int64s(&acc.evaluate(&[0]).unwrap()), vec![Some(2)]);
    }

    #[test]
    fn sum_int_keeps_int_and_state_round_trips() {
        let mut acc = make("SUM", &[DataType::Int32], &[]);
        let arg: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![Some(5), None, Some(7)]));
        acc.update(&[0, 0, 1], &[arg], &[0, 1, 2], false).unwrap();
        let out = acc.evaluate(&[0, 1]).unwrap();
        assert_eq!(out.data_type(), &DataType::Int32);
        let state = acc.state(&[0, 1]).unwrap();
        let mut other = make("SUM", &[DataType::Int32], &[]);
        other.restore(&[0, 1], &state).unwrap();
        let again = other.evaluate(&[0, 1]).unwrap();
        assert_eq!(again.as_primitive::<Int32Type>().values().to_vec(), vec![5, 7]);
    }

    #[test]
    fn max_of_bigint_and_session_merge() {
        let mut acc = make("MAX", &[DataType::Int64], &[]);
        let arg: ArrayRef = Arc::new(Int64Array::from(vec![3, 9, 4]));
        acc.update(&[0, 1, 0], &[arg], &[0, 1, 2], false).unwrap();
        acc.merge(0, 1).unwrap();
        assert_eq!(int64s(&acc.evaluate(&[0, 1]).unwrap()), vec![Some(9), None]);
        assert!(acc.update(&[0], &[Arc::new(Int64Array::from(vec![1])) as ArrayRef], &[3], true).is_err());
    }

    #[test]
    fn earliest_n_with_nulls_not_ignored() {
        let params = [ScalarValue::Int32(Some(2)), ScalarValue::Boolean(Some(false))];
        let mut acc = make("EARLIEST_BY_OFFSET", &[DataType::Int32], &params);
        let arg: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![None, Some(13), Some(14)]));
        acc.update(&[0, 0, 0], &[arg], &[0, 1, 2], false).unwrap();
        let out = acc.evaluate(&[0]).unwrap();
        let list = out.as_list::<i32>().value(0);
        assert_eq!(list.as_primitive::<Int32Type>().iter().collect::<Vec<_>>(), vec![None, Some(13)]);
        let state = acc.state(&[0]).unwrap();
        let mut other = make("EARLIEST_BY_OFFSET", &[DataType::Int32], &params);
        other.restore(&[0], &state).unwrap();
        assert_eq!(other.evaluate(&[0]).unwrap().as_ref(), out.as_ref());
    }

    #[test]
    fn latest_by_offset_ignores_nulls_by_default() {
        let mut acc = make("LATEST_BY_OFFSET", &[DataType::Utf8], &[]);
        let arg: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![Some("a"), Some("b"), None]));
        acc.update(&[0, 0, 0], &[arg], &[0, 1, 2], false).unwrap();
        assert_eq!(acc.evaluate(&[0]).unwrap().as_string::<i32>().value(0), "b");
    }

    #[test]
    fn collect_list_retracts_one_occurrence() {
        let mut acc = make("COLLECT_LIST", &[DataType::Int64], &[]);
        let arg: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 1]));
        acc.update(&[0, 0, 0], &[arg], &[0, 1, 2], false).unwrap();
        acc.update(&[0], &[Arc::new(Int64Array::from(vec![1])) as ArrayRef], &[3], true).unwrap();
        let out = acc.evaluate(&[0]).unwrap();
        let list = out.as_list::<i32>().value(0);
        assert_eq!(list.as_primitive::<Int64Type>().values().to_vec(), vec![2, 1]);
    }

    #[test]
    fn topk_keeps_the_largest_first() {
        let mut acc = make("TOPK", &[DataType::Int64], &[ScalarValue::Int32(Some(2))]);
        let arg: ArrayRef = Arc::new(Int64Array::from(vec![5, 9, 1, 7]));
        acc.update(&[0, 0, 0, 0], &[arg], &[0, 1, 2, 3], false).unwrap();
        let out = acc.evaluate(&[0]).unwrap();
        assert_eq!(out.as_list::<i32>().value(0).as_primitive::<Int64Type>().values().to_vec(), vec![9, 7]);
    }

    #[test]
    fn avg_and_stddev() {
        let mut avg = make("AVG", &[DataType::Int64], &[]);
        let mut sd = make("STDDEV_SAMP", &[DataType::Int64], &[]);
        let arg: ArrayRef = Arc::new(Int64Array::from(vec![2, 4, 4, 4, 5, 5, 7, 9]));
        let groups = [0; 8];
        let seq: Vec<i64> = (0..8).collect();
        avg.update(&groups, std::slice::from_ref(&arg), &seq, false).unwrap();
        sd.update(&groups, &[arg], &seq, false).unwrap();
        assert_eq!(avg.evaluate(&[0]).unwrap().as_primitive::<Float64Type>().value(0), 5.0);
        let s = sd.evaluate(&[0]).unwrap().as_primitive::<Float64Type>().value(0);
        assert!((s - 2.138089935).abs() < 1e-6);
    }

    #[test]
    fn histogram_counts_and_restores() {
        let mut acc = make("HISTOGRAM", &[DataType::Utf8], &[]);
        let arg: ArrayRef = Arc::new(arrow::array::StringArray::from(vec!["a", "b", "a"]));
        acc.update(&[0, 0, 0], &[arg], &[0, 1, 2], false).unwrap();
        let state = acc.state(&[0]).unwrap();
        let mut other = make("HISTOGRAM", &[DataType::Utf8], &[]);
        other.restore(&[0], &state).unwrap();
        assert_eq!(other.evaluate(&[0]).unwrap().as_ref(), acc.evaluate(&[0]).unwrap().as_ref());
    }

    #[test]
    fn bad_arguments_are_user_errors() {
        let err =
            create(&AggregateCall { name: "SUM", args: &[DataType::Utf8], params: &[] }, &AggregateConfig::default())
                .err()
                .unwrap();
        assert!(err.message().contains("does not accept parameters (STRING)"), "{}", err.message());
    }
}
