//! Column builders that can be rolled back: the decoders append into these.
//!
//! Arrow's own builders cannot forget what was appended. A decoder that fails half-way through
//! a record (the third field is not a number) must leave no trace of that record, so each
//! column here keeps plain `Vec`s that [`ColumnBuilder::truncate`] can cut back to the length
//! they had before the record began. [`ColumnBuilder::finish`] turns the vectors into an Arrow
//! array without copying the values.
//!
//! The layouts are exactly the Arrow types of `sql::types` (INT, DATE and TIME are 32-bit,
//! BIGINT and TIMESTAMP 64-bit, DECIMAL 128-bit, LIST/MAP with 32-bit offsets).

use std::mem;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, ListArray,
    MapArray, StringArray, StructArray, Time32MillisecondArray, TimestampMillisecondArray,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, TimeUnit};

use crate::error::{Error, Result};

/// The values of one column, by physical layout.
#[derive(Debug)]
pub(crate) enum Values {
    Bool(Vec<bool>),
    /// INT, DATE (days) and TIME (milliseconds).
    I32(Vec<i32>),
    /// BIGINT and TIMESTAMP (milliseconds).
    I64(Vec<i64>),
    F64(Vec<f64>),
    /// DECIMAL: unscaled values.
    I128(Vec<i128>),
    /// STRING (always valid UTF-8) and BYTES.
    Bytes {
        offsets: Vec<i32>,
        data: Vec<u8>,
    },
    List {
        offsets: Vec<i32>,
        child: Box<ColumnBuilder>,
    },
    /// MAP: `keys` and `values` hold the entries of every map, `offsets` where each map starts.
    Map {
        offsets: Vec<i32>,
        keys: Box<ColumnBuilder>,
        values: Box<ColumnBuilder>,
    },
    Struct {
        children: Vec<ColumnBuilder>,
    },
}

/// A growable, truncatable column of one Arrow type.
#[derive(Debug)]
pub(crate) struct ColumnBuilder {
    pub(crate) data_type: DataType,
    /// `true` = valid. Its length is the length of the column.
    valid: Vec<bool>,
    nulls: usize,
    pub(crate) values: Values,
}

impl ColumnBuilder {
    /// A builder for `data_type`; fails for types that no ksqlDB type maps to.
    pub(crate) fn new(data_type: &DataType) -> Result<Self> {
        let values = match data_type {
            DataType::Boolean => Values::Bool(Vec::new()),
            DataType::Int32 | DataType::Date32 | DataType::Time32(TimeUnit::Millisecond) => Values::I32(Vec::new()),
            DataType::Int64 | DataType::Timestamp(TimeUnit::Millisecond, None) => Values::I64(Vec::new()),
            DataType::Float64 => Values::F64(Vec::new()),
            DataType::Decimal128(_, _) => Values::I128(Vec::new()),
            DataType::Utf8 | DataType::Binary => Values::Bytes { offsets: vec![0], data: Vec::new() },
            DataType::List(item) => {
                Values::List { offsets: vec![0], child: Box::new(ColumnBuilder::new(item.data_type())?) }
            }
            DataType::Map(entries, _) => {
                let (key, value) = map_fields(entries)?;
                Values::Map {
                    offsets: vec![0],
                    keys: Box::new(ColumnBuilder::new(key.data_type())?),
                    values: Box::new(ColumnBuilder::new(value.data_type())?),
                }
            }
            DataType::Struct(fields) => Values::Struct {
                children: fields.iter().map(|f| ColumnBuilder::new(f.data_type())).collect::<Result<_>>()?,
            },
            other => {
                return Err(Error::internal(format!("serialization formats do not support the arrow type {other}")));
            }
        };
        Ok(Self { data_type: data_type.clone(), valid: Vec::new(), nulls: 0, values })
    }

    /// The Arrow type this builder produces.
    pub(crate) fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// Number of values appended.
    pub(crate) fn len(&self) -> usize {
        self.valid.len()
    }

    /// Appends a null.
    pub(crate) fn append_null(&mut self) {
        self.valid.push(false);
        self.nulls += 1;
        match &mut self.values {
            Values::Bool(v) => v.push(false),
            Values::I32(v) => v.push(0),
            Values::I64(v) => v.push(0),
            Values::F64(v) => v.push(0.0),
            Values::I128(v) => v.push(0),
            Values::Bytes { offsets, data } => offsets.push(data.len() as i32),
            Values::List { offsets, child } => offsets.push(child.len() as i32),
            Values::Map { offsets, keys, .. } => offsets.push(keys.len() as i32),
            Values::Struct { children } => children.iter_mut().for_each(|c| c.append_null()),
        }
    }

    /// Marks one more value valid; the caller pushes the value itself.
    #[inline]
    pub(crate) fn push_valid(&mut self) {
        self.valid.push(true);
    }

    /// Appends a boolean; the column must be BOOLEAN.
    #[inline]
    pub(crate) fn append_bool(&mut self, v: bool) {
        if let Values::Bool(values) = &mut self.values {
            values.push(v);
            self.valid.push(true);
        }
    }

    /// Appends to a 32-bit column (INT, DATE, TIME).
    #[inline]
    pub(crate) fn append_i32(&mut self, v: i32) {
        if let Values::I32(values) = &mut self.values {
            values.push(v);
            self.valid.push(true);
        }
    }

    /// Appends to a 64-bit column (BIGINT, TIMESTAMP).
    #[inline]
    pub(crate) fn append_i64(&mut self, v: i64) {
        if let Values::I64(values) = &mut self.values {
            values.push(v);
            self.valid.push(true);
        }
    }

    /// Appends to a DOUBLE column.
    #[inline]
    pub(crate) fn append_f64(&mut self, v: f64) {
        if let Values::F64(values) = &mut self.values {
            values.push(v);
            self.valid.push(true);
        }
    }

    /// Appends an unscaled value to a DECIMAL column.
    #[inline]
    pub(crate) fn append_i128(&mut self, v: i128) {
        if let Values::I128(values) = &mut self.values {
            values.push(v);
            self.valid.push(true);
        }
    }

    /// Appends bytes to a STRING or BYTES column. For STRING the caller guarantees UTF-8.
    #[inline]
    pub(crate) fn append_bytes(&mut self, v: &[u8]) {
        if let Values::Bytes { offsets, data } = &mut self.values {
            data.extend_from_slice(v);
            offsets.push(data.len() as i32);
            self.valid.push(true);
        }
    }

    /// The data buffer of a STRING or BYTES column, to write one value straight into it; the
    /// value is committed by [`ColumnBuilder::commit_bytes`] or dropped by
    /// [`ColumnBuilder::abort_bytes`].
    #[inline]
    pub(crate) fn bytes_buffer(&mut self) -> Option<&mut Vec<u8>> {
        match &mut self.values {
            Values::Bytes { data, .. } => Some(data),
            _ => None,
        }
    }

    /// Ends a value written through [`ColumnBuilder::bytes_buffer`].
    #[inline]
    pub(crate) fn commit_bytes(&mut self) {
        if let Values::Bytes { offsets, data } = &mut self.values {
            offsets.push(data.len() as i32);
            self.valid.push(true);
        }
    }

    /// Drops a partly written value of [`ColumnBuilder::bytes_buffer`].
    pub(crate) fn abort_bytes(&mut self) {
        if let Values::Bytes { offsets, data } = &mut self.values {
            let end = offsets.last().copied().unwrap_or(0) as usize;
            data.truncate(end);
        }
    }

    /// Cuts the column back to `len` values, forgetting everything appended after.
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.valid.len() {
            self.nulls -= self.valid[len..].iter().filter(|v| !**v).count();
            self.valid.truncate(len);
        }
        // Cut the buffers even when the length did not change: a value that failed half-way
        // may have left bytes or child items behind that were never committed.
        let len = self.valid.len();
        match &mut self.values {
            Values::Bool(v) => v.truncate(len),
            Values::I32(v) => v.truncate(len),
            Values::I64(v) => v.truncate(len),
            Values::F64(v) => v.truncate(len),
            Values::I128(v) => v.truncate(len),
            Values::Bytes { offsets, data } => {
                offsets.truncate(len + 1);
                data.truncate(offsets[len] as usize);
            }
            Values::List { offsets, child } => {
                offsets.truncate(len + 1);
                child.truncate(offsets[len] as usize);
            }
            Values::Map { offsets, keys, values } => {
                offsets.truncate(len + 1);
                keys.truncate(offsets[len] as usize);
                values.truncate(offsets[len] as usize);
            }
            Values::Struct { children } => children.iter_mut().for_each(|c| c.truncate(len)),
        }
    }

    /// Ends a list value whose items were appended to the child.
    pub(crate) fn close_list(&mut self) {
        match &mut self.values {
            Values::List { offsets, child } => offsets.push(child.len() as i32),
            Values::Map { offsets, keys, .. } => offsets.push(keys.len() as i32),
            _ => return,
        }
        self.valid.push(true);
    }

    /// Takes the appended values as an Arrow array and starts afresh.
    pub(crate) fn finish(&mut self) -> Result<ArrayRef> {
        let valid = take_keep(&mut self.valid);
        let len = valid.len();
        let nulls = if mem::take(&mut self.nulls) > 0 { Some(NullBuffer::from(valid)) } else { None };
        let array: ArrayRef = match (&mut self.values, &self.data_type) {
            (Values::Bool(v), _) => {
                let values = BooleanBuffer::from_iter(take_keep(v));
                Arc::new(BooleanArray::new(values, nulls))
            }
            (Values::I32(v), DataType::Date32) => Arc::new(Date32Array::new(ScalarBuffer::from(take_keep(v)), nulls)),
            (Values::I32(v), DataType::Time32(_)) => {
                Arc::new(Time32MillisecondArray::new(ScalarBuffer::from(take_keep(v)), nulls))
            }
            (Values::I32(v), _) => Arc::new(Int32Array::new(ScalarBuffer::from(take_keep(v)), nulls)),
            (Values::I64(v), DataType::Timestamp(_, _)) => {
                Arc::new(TimestampMillisecondArray::new(ScalarBuffer::from(take_keep(v)), nulls))
            }
            (Values::I64(v), _) => Arc::new(Int64Array::new(ScalarBuffer::from(take_keep(v)), nulls)),
            (Values::F64(v), _) => Arc::new(Float64Array::new(ScalarBuffer::from(take_keep(v)), nulls)),
            (Values::I128(v), DataType::Decimal128(p, s)) => Arc::new(
                Decimal128Array::new(ScalarBuffer::from(take_keep(v)), nulls).with_precision_and_scale(*p, *s)?,
            ),
            (Values::I128(v), _) => {
                v.clear();
                return Err(Error::internal("decimal builder without a decimal type"));
            }
            (Values::Bytes { offsets, data }, data_type) => {
                let offsets = take_offsets(offsets);
                let data = Buffer::from_vec(take_keep(data));
                if *data_type == DataType::Utf8 {
                    Arc::new(StringArray::try_new(offsets, data, nulls)?)
                } else {
                    Arc::new(BinaryArray::try_new(offsets, data, nulls)?)
                }
            }
            (Values::List { offsets, child }, DataType::List(item)) => {
                let offsets = take_offsets(offsets);
                let values = child.finish()?;
                Arc::new(ListArray::try_new(item.clone(), offsets, values, nulls)?)
            }
            (Values::Map { offsets, keys, values }, DataType::Map(entries, sorted)) => {
                let offsets = take_offsets(offsets);
                let (key_field, value_field) = map_fields(entries)?;
                let keys = keys.finish()?;
                let values = values.finish()?;
                let entries_struct = StructArray::try_new(
                    Fields::from(vec![key_field.as_ref().clone(), value_field.as_ref().clone()]),
                    vec![keys, values],
                    None,
                )?;
                Arc::new(MapArray::try_new(entries.clone(), offsets, entries_struct, nulls, *sorted)?)
            }
            (Values::Struct { children }, DataType::Struct(fields)) => {
                let arrays = children.iter_mut().map(ColumnBuilder::finish).collect::<Result<Vec<_>>>()?;
                Arc::new(StructArray::try_new_with_length(fields.clone(), arrays, nulls, len)?)
            }
            (_, other) => {
                return Err(Error::internal(format!("column builder does not match its type {other}")));
            }
        };
        Ok(array)
    }
}

/// Takes a vector, leaving an empty one with the same capacity: the next batch is likely as
/// big as this one, and growing from nothing again would reallocate a dozen times.
fn take_keep<T>(v: &mut Vec<T>) -> Vec<T> {
    let capacity = v.capacity();
    mem::replace(v, Vec::with_capacity(capacity))
}

/// Takes the offsets, leaving a fresh `[0]`.
fn take_offsets(offsets: &mut Vec<i32>) -> OffsetBuffer<i32> {
    let mut fresh = Vec::with_capacity(offsets.capacity());
    fresh.push(0);
    let taken = mem::replace(offsets, fresh);
    // Offsets only ever grow by construction, so this does not panic.
    OffsetBuffer::new(ScalarBuffer::from(taken))
}

/// The key and value fields of a MAP's entries field.
pub(crate) fn map_fields(entries: &Field) -> Result<(FieldRef, FieldRef)> {
    match entries.data_type() {
        DataType::Struct(kv) if kv.len() == 2 => Ok((kv[0].clone(), kv[1].clone())),
        other => Err(Error::internal(format!("map entries of unexpected type {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int32Type;

    #[test]
    fn truncate_forgets_nested_values() {
        let item = Arc::new(Field::new("item", DataType::Int32, true));
        let mut list = ColumnBuilder::new(&DataType::List(item)).unwrap();
        if let Values::List { child, .. } = &mut list.values {
            child.append_i32(1);
            child.append_i32(2);
        }
        list.close_list();
        if let Values::List { child, .. } = &mut list.values {
            child.append_i32(3);
        }
        list.close_list();
        list.truncate(1);
        let array = list.finish().unwrap();
        let array = array.as_list::<i32>();
        assert_eq!(array.len(), 1);
        assert_eq!(array.value(0).as_primitive::<Int32Type>().values(), &[1, 2]);
    }

    #[test]
    fn finish_starts_afresh() {
        let mut col = ColumnBuilder::new(&DataType::Utf8).unwrap();
        col.append_bytes(b"a");
        col.append_null();
        let first = col.finish().unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first.null_count(), 1);
        col.append_bytes(b"b");
        let second = col.finish().unwrap();
        assert_eq!(second.as_string::<i32>().value(0), "b");
        assert_eq!(second.null_count(), 0);
    }

    #[test]
    fn empty_struct_keeps_its_length() {
        let mut col = ColumnBuilder::new(&DataType::Struct(Fields::empty())).unwrap();
        col.append_null();
        col.push_valid();
        let array = col.finish().unwrap();
        assert_eq!(array.len(), 2);
        assert_eq!(array.null_count(), 1);
    }
}
