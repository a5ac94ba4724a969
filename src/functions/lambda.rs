//! ksqlDB's higher-order functions TRANSFORM, FILTER and REDUCE, over arrays and maps.
//!
//! A lambda's body is planned by `plan::expr` as an ordinary DataFusion physical expression over
//! a *body schema*: the lambda's parameters first, then the outer columns the body refers to.
//! [`LambdaUdf`] is the scalar function the call becomes. Its arguments are the collection, the
//! initial state (REDUCE only) and the captured outer columns; it evaluates the body once per
//! batch over the flattened elements (outer columns repeated per element with `take`) and
//! rebuilds the arrays or maps with the original offsets. REDUCE folds one element position at
//! a time, still vectorized across the rows of the batch.
//!
//! As in ksqlDB, where a failing lambda (a NULL element in arithmetic, say) throws and the
//! whole expression becomes NULL, an error for some row makes that row's result NULL: the batch
//! is re-evaluated row by row only when the vectorized evaluation fails.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, MapArray, RecordBatch, StructArray, UInt32Array, new_null_array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion::physical_expr::PhysicalExpr;

use super::util::{exec_error, null_as_false};

/// Which higher-order function a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LambdaKind {
    /// `TRANSFORM(array, x => e)`, `TRANSFORM(map, (k, v) => ke, (k, v) => ve)`
    Transform,
    /// `FILTER(array, x => p)`, `FILTER(map, (k, v) => p)`
    Filter,
    /// `REDUCE(array, s0, (s, x) => e)`, `REDUCE(map, s0, (s, k, v) => e)`
    Reduce,
}

impl LambdaKind {
    /// The kind called `name` (any case), if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "TRANSFORM" => Some(Self::Transform),
            "FILTER" => Some(Self::Filter),
            "REDUCE" => Some(Self::Reduce),
            _ => None,
        }
    }

    /// The upper-case ksqlDB name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Transform => "TRANSFORM",
            Self::Filter => "FILTER",
            Self::Reduce => "REDUCE",
        }
    }
}

/// One compiled lambda: its body over `schema` (parameters, then captured columns).
#[derive(Debug, Clone)]
pub struct LambdaBody {
    /// The body.
    pub expr: Arc<dyn PhysicalExpr>,
    /// Parameters first, then the captured outer columns, in argument order.
    pub schema: SchemaRef,
    /// The type the body's result is cast to (the element, key, value or state type).
    pub result: DataType,
}

/// A call of TRANSFORM, FILTER or REDUCE with its compiled lambdas.
///
/// Arguments: the collection, the initial state (REDUCE only), then the captured columns.
#[derive(Debug)]
pub struct LambdaUdf {
    kind: LambdaKind,
    bodies: Vec<LambdaBody>,
    return_type: DataType,
    signature: Signature,
}

impl LambdaUdf {
    /// A call of `kind` whose result has `return_type`. TRANSFORM of a map has two bodies (key,
    /// value); every other call has one.
    pub fn new(kind: LambdaKind, bodies: Vec<LambdaBody>, return_type: DataType) -> Self {
        Self { kind, bodies, return_type, signature: Signature::variadic_any(Volatility::Immutable) }
    }

    /// How many leading arguments are not captured columns.
    fn fixed_args(&self) -> usize {
        if self.kind == LambdaKind::Reduce { 2 } else { 1 }
    }

    fn body(&self, i: usize) -> Result<&LambdaBody> {
        self.bodies.get(i).ok_or_else(|| DataFusionError::Internal(format!("{} has no lambda #{i}", self.kind.name())))
    }

    /// Evaluates the call on arrays of equal length.
    fn evaluate(&self, args: &[ArrayRef]) -> Result<ArrayRef> {
        let fixed = self.fixed_args();
        if args.len() < fixed {
            return Err(DataFusionError::Internal(format!("{} called with too few arguments", self.kind.name())));
        }
        let captured = &args[fixed..];
        let collection = &args[0];
        match (self.kind, collection.data_type()) {
            // A NULL collection folds to the initial state; anything else of it is NULL.
            (LambdaKind::Reduce, DataType::Null) => cast_to(&args[1], &self.return_type),
            (_, DataType::Null) => Ok(new_null_array(&self.return_type, collection.len())),
            (LambdaKind::Transform, DataType::List(_)) => self.transform_list(collection.as_list::<i32>(), captured),
            (LambdaKind::Filter, DataType::List(_)) => self.filter_list(collection.as_list::<i32>(), captured),
            (LambdaKind::Reduce, DataType::List(_)) => {
                let list = collection.as_list::<i32>();
                let (values, _) = flatten(list.value_offsets(), list.values());
                self.reduce(list.value_offsets(), list.nulls(), &[values], &args[1], captured)
            }
            (LambdaKind::Transform, DataType::Map(_, _)) => self.transform_map(collection.as_map(), captured),
            (LambdaKind::Filter, DataType::Map(_, _)) => self.filter_map(collection.as_map(), captured),
            (LambdaKind::Reduce, DataType::Map(_, _)) => {
                let map = collection.as_map();
                let (keys, _) = flatten(map.value_offsets(), map.keys());
                let (values, _) = flatten(map.value_offsets(), map.values());
                self.reduce(map.value_offsets(), map.nulls(), &[keys, values], &args[1], captured)
            }
            (kind, other) => Err(exec_error(format!("{} needs an ARRAY or a MAP, not {other}", kind.name()))),
        }
    }

    fn transform_list(&self, list: &ListArray, captured: &[ArrayRef]) -> Result<ArrayRef> {
        let body = self.body(0)?;
        let (values, parents) = flatten(list.value_offsets(), list.values());
        let out = eval_body(body, vec![values], captured, &parents)?;
        let field = Arc::new(Field::new("item", out.data_type().clone(), true));
        Ok(Arc::new(ListArray::try_new(field, rebase(list.value_offsets()), out, list.nulls().cloned())?))
    }

    fn filter_list(&self, list: &ListArray, captured: &[ArrayRef]) -> Result<ArrayRef> {
        let body = self.body(0)?;
        let (values, parents) = flatten(list.value_offsets(), list.values());
        let mask = eval_mask(body, vec![Arc::clone(&values)], captured, &parents)?;
        let kept = datafusion::arrow::compute::filter(&values, &mask)?;
        let offsets = filtered_offsets(list.value_offsets(), &mask);
        let field = match list.data_type() {
            DataType::List(f) => Arc::clone(f),
            _ => Arc::new(Field::new("item", kept.data_type().clone(), true)),
        };
        Ok(Arc::new(ListArray::try_new(field, offsets, kept, list.nulls().cloned())?))
    }

    fn transform_map(&self, map: &MapArray, captured: &[ArrayRef]) -> Result<ArrayRef> {
        let (keys, parents) = flatten(map.value_offsets(), map.keys());
        let (values, _) = flatten(map.value_offsets(), map.values());
        let params = vec![keys, values];
        let new_keys = eval_body(self.body(0)?, params.clone(), captured, &parents)?;
        let new_values = eval_body(self.body(1)?, params, captured, &parents)?;
        if new_keys.null_count() > 0 {
            return Err(exec_error("TRANSFORM produced a NULL map key"));
        }
        // Two entries may now share a key: the later one wins, as in the Java map ksqlDB builds.
        let offsets = rebase(map.value_offsets());
        let (keep, offsets) = last_of_duplicates(&new_keys, &offsets)?;
        let new_keys = datafusion::arrow::compute::take(&new_keys, &keep, None)?;
        let new_values = datafusion::arrow::compute::take(&new_values, &keep, None)?;
        build_map(new_keys, new_values, offsets, map)
    }

    fn filter_map(&self, map: &MapArray, captured: &[ArrayRef]) -> Result<ArrayRef> {
        let (keys, parents) = flatten(map.value_offsets(), map.keys());
        let (values, _) = flatten(map.value_offsets(), map.values());
        let mask = eval_mask(self.body(0)?, vec![Arc::clone(&keys), Arc::clone(&values)], captured, &parents)?;
        let keys = datafusion::arrow::compute::filter(&keys, &mask)?;
        let values = datafusion::arrow::compute::filter(&values, &mask)?;
        build_map(keys, values, filtered_offsets(map.value_offsets(), &mask), map)
    }

    /// Folds the elements (`params`, flattened, one array per lambda parameter after the state)
    /// into the state, one element position at a time across all rows.
    fn reduce(
        &self,
        offsets: &[i32],
        nulls: Option<&datafusion::arrow::buffer::NullBuffer>,
        params: &[ArrayRef],
        init: &ArrayRef,
        captured: &[ArrayRef],
    ) -> Result<ArrayRef> {
        let body = self.body(0)?;
        let rows = init.len();
        let mut state = cast_to(init, &body.result)?;
        let base = offsets.first().copied().unwrap_or(0);
        let len = |row: usize| (offsets[row + 1] - offsets[row]) as usize;
        // ksqlDB returns the initial state for a NULL collection, and NULL for a NULL state.
        let folds = |row: usize| !init.is_null(row) && nulls.is_none_or(|n| n.is_valid(row));
        let longest = (0..rows).filter(|&r| folds(r)).map(len).max().unwrap_or(0);
        for position in 0..longest {
            let active: Vec<u32> = (0..rows).filter(|&r| folds(r) && len(r) > position).map(|r| r as u32).collect();
            let active = UInt32Array::from(active);
            let elements = UInt32Array::from_iter_values(
                active.values().iter().map(|&r| (offsets[r as usize] - base) as u32 + position as u32),
            );
            let mut inputs = vec![datafusion::arrow::compute::take(&state, &active, None)?];
            for p in params {
                inputs.push(datafusion::arrow::compute::take(p, &elements, None)?);
            }
            // The body's rows are the active rows, so captured columns are taken by them.
            let next = eval_body(body, inputs, captured, &active)?;
            state = scatter(&state, &next, &active)?;
        }
        Ok(state)
    }
}

// Two calls are the same exactly when they share their compiled bodies.
impl PartialEq for LambdaUdf {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.bodies.len() == other.bodies.len()
            && self.bodies.iter().zip(&other.bodies).all(|(a, b)| Arc::ptr_eq(&a.expr, &b.expr))
    }
}

impl Eq for LambdaUdf {}

impl Hash for LambdaUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        for b in &self.bodies {
            (Arc::as_ptr(&b.expr) as *const u8 as usize).hash(state);
        }
    }
}

impl ScalarUDFImpl for LambdaUdf {
    fn name(&self) -> &str {
        match self.kind {
            LambdaKind::Transform => "transform",
            LambdaKind::Filter => "filter",
            LambdaKind::Reduce => "reduce",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<Vec<_>>>()?;
        let out = match self.evaluate(&arrays) {
            Ok(out) => out,
            // Some row failed: only that row's result becomes NULL.
            Err(_) if rows > 1 => {
                let mut parts = Vec::with_capacity(rows);
                for row in 0..rows {
                    let one: Vec<ArrayRef> = arrays.iter().map(|a| a.slice(row, 1)).collect();
                    parts.push(self.evaluate(&one).unwrap_or_else(|_| new_null_array(&self.return_type, 1)));
                }
                let parts: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
                datafusion::arrow::compute::concat(&parts)?
            }
            Err(_) => new_null_array(&self.return_type, rows),
        };
        Ok(ColumnarValue::Array(cast_to(&out, &self.return_type)?))
    }
}

/// The elements of a list or map (from its first offset to its last) and, per element, the row
/// it belongs to.
fn flatten(offsets: &[i32], values: &ArrayRef) -> (ArrayRef, UInt32Array) {
    let first = offsets.first().copied().unwrap_or(0);
    let last = offsets.last().copied().unwrap_or(0);
    let values = values.slice(first as usize, (last - first) as usize);
    let mut parents = Vec::with_capacity(values.len());
    for (row, w) in offsets.windows(2).enumerate() {
        parents.extend(std::iter::repeat_n(row as u32, (w[1] - w[0]) as usize));
    }
    (values, UInt32Array::from(parents))
}

/// Offsets shifted to start at zero (the flattened values start at the first offset).
fn rebase(offsets: &[i32]) -> OffsetBuffer<i32> {
    let first = offsets.first().copied().unwrap_or(0);
    OffsetBuffer::new(offsets.iter().map(|o| o - first).collect::<Vec<_>>().into())
}

/// Offsets after keeping only the elements `mask` selects.
fn filtered_offsets(offsets: &[i32], mask: &BooleanArray) -> OffsetBuffer<i32> {
    let first = offsets.first().copied().unwrap_or(0);
    let mut out = Vec::with_capacity(offsets.len());
    let mut kept = 0i32;
    out.push(0);
    for w in offsets.windows(2) {
        kept += (w[0]..w[1]).filter(|&i| mask.value((i - first) as usize)).count() as i32;
        out.push(kept);
    }
    OffsetBuffer::new(out.into())
}

/// Evaluates a body over parameter arrays (one value per element) and the captured columns
/// repeated for each element's row.
fn eval_body(
    body: &LambdaBody,
    params: Vec<ArrayRef>,
    captured: &[ArrayRef],
    parents: &UInt32Array,
) -> Result<ArrayRef> {
    let rows = parents.len();
    let mut columns = params;
    for c in captured {
        columns.push(datafusion::arrow::compute::take(c, parents, None)?);
    }
    // The schema's types are what the body was planned for; the arrays may differ in nullability
    // flags of nested fields only, which a cast reconciles.
    let columns =
        columns.iter().zip(body.schema.fields()).map(|(c, f)| cast_to(c, f.data_type())).collect::<Result<Vec<_>>>()?;
    let batch = RecordBatch::try_new_with_options(
        Arc::clone(&body.schema),
        columns,
        &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
    )?;
    let out = body.expr.evaluate(&batch)?.into_array(rows)?;
    cast_to(&out, &body.result)
}

/// Evaluates a predicate body; NULL counts as false.
fn eval_mask(
    body: &LambdaBody,
    params: Vec<ArrayRef>,
    captured: &[ArrayRef],
    parents: &UInt32Array,
) -> Result<BooleanArray> {
    let out = eval_body(body, params, captured, parents)?;
    let mask = out.as_boolean_opt().ok_or_else(|| exec_error("FILTER needs a lambda returning BOOLEAN"))?;
    Ok(null_as_false(mask))
}

fn cast_to(array: &ArrayRef, dt: &DataType) -> Result<ArrayRef> {
    if array.data_type() == dt { Ok(Arc::clone(array)) } else { Ok(datafusion::arrow::compute::cast(array, dt)?) }
}

/// `state` with the rows listed in `rows` replaced by the values of `next`, in order.
fn scatter(state: &ArrayRef, next: &ArrayRef, rows: &UInt32Array) -> Result<ArrayRef> {
    let mut indices: Vec<(usize, usize)> = (0..state.len()).map(|r| (0, r)).collect();
    for (i, &r) in rows.values().iter().enumerate() {
        indices[r as usize] = (1, i);
    }
    Ok(datafusion::arrow::compute::interleave(&[state.as_ref(), next.as_ref()], &indices)?)
}

/// For each row's entries (`offsets` into `keys`), the indices of the entries to keep when
/// later duplicates of a key replace earlier ones, and the resulting offsets.
fn last_of_duplicates(keys: &ArrayRef, offsets: &OffsetBuffer<i32>) -> Result<(UInt32Array, OffsetBuffer<i32>)> {
    use datafusion::arrow::row::{RowConverter, SortField};
    let converter = RowConverter::new(vec![SortField::new(keys.data_type().clone())])?;
    let encoded = converter.convert_columns(&[Arc::clone(keys)])?;
    let mut keep = Vec::with_capacity(keys.len());
    let mut out = Vec::with_capacity(offsets.len());
    out.push(0i32);
    let mut seen = std::collections::HashMap::new();
    for w in offsets.windows(2) {
        seen.clear();
        let (start, end) = (w[0] as usize, w[1] as usize);
        for i in start..end {
            seen.insert(encoded.row(i), i);
        }
        // A map has no order: each key keeps the entry of its last occurrence.
        for i in start..end {
            if seen.get(&encoded.row(i)).is_some_and(|&last| last == i) {
                keep.push(i as u32);
            }
        }
        out.push(keep.len() as i32);
    }
    Ok((UInt32Array::from(keep), OffsetBuffer::new(out.into())))
}

/// A map array with the given entries, typed after them, with the null rows of `like`.
fn build_map(keys: ArrayRef, values: ArrayRef, offsets: OffsetBuffer<i32>, like: &MapArray) -> Result<ArrayRef> {
    let fields = Fields::from(vec![
        Field::new("key", keys.data_type().clone(), false),
        Field::new("value", values.data_type().clone(), true),
    ]);
    let entries = StructArray::try_new(fields.clone(), vec![keys, values], None)?;
    let entries_field: FieldRef = Arc::new(Field::new("entries", DataType::Struct(fields), false));
    Ok(Arc::new(MapArray::try_new(entries_field, offsets, entries, like.nulls().cloned(), false)?))
}

/// The map type TRANSFORM of a map returns, in the layout the rest of Rivulet uses.
pub fn map_of(key: DataType, value: DataType) -> DataType {
    super::util::map_type(key, value)
}

/// The operand guard of arithmetic inside a lambda body: it passes its argument through and
/// fails on a NULL, because ksqlDB's generated code for `x + 1` throws on a NULL `x` there, which
/// makes the whole higher-order call NULL for that row. Volatile so that planning never folds
/// it into an error over a NULL literal.
pub fn strict_operand_udf() -> Arc<datafusion::logical_expr::ScalarUDF> {
    super::util::make_udf(
        "__lambda_strict_operand",
        Volatility::Volatile,
        |types| Ok(types.to_vec()),
        super::util::returns_arg(0),
        |args, _, _| {
            let a = super::util::arg(args, 0)?;
            if a.null_count() > 0 {
                return Err(exec_error("a NULL operand in arithmetic inside a lambda"));
            }
            Ok(Arc::clone(a))
        },
    )
}
