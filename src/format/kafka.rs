//! The KAFKA format: Kafka's own serializers for a single primitive column.
//!
//! INT is 4 bytes big-endian, BIGINT 8 bytes big-endian, DOUBLE 8 bytes of IEEE 754
//! (big-endian), STRING UTF-8 and BYTES the raw bytes. ksqlDB accepts no other type (not
//! BOOLEAN, DECIMAL, DATE, TIME, TIMESTAMP, nor any container) and at most one column; a side
//! with no columns ignores its bytes. A null value is a record without bytes.

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Fields};

use super::DecodeError;
use super::builder::ColumnBuilder;
use super::json::{binary_value, float_value, integer_value, string_value};
use super::scalar::{base_type_name, type_name};
use crate::error::{Error, Result};

/// The types KAFKA can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KafkaType {
    Int,
    Bigint,
    Double,
    String,
    Bytes,
}

impl KafkaType {
    /// The KAFKA type of the single column of `fields`, `None` when there is no column.
    pub(crate) fn of(fields: &Fields) -> Result<Option<KafkaType>> {
        if fields.len() > 1 {
            let columns: Vec<String> =
                fields.iter().map(|f| format!("`{}` {}", f.name(), type_name(f.data_type()))).collect();
            return Err(Error::user(format!(
                "The 'KAFKA' format only supports a single field. Got: [{}]",
                columns.join(", ")
            ))
            .with_hint("use JSON or DELIMITED for several columns"));
        }
        let Some(field) = fields.iter().next() else {
            return Ok(None);
        };
        Ok(Some(match field.data_type() {
            DataType::Int32 => KafkaType::Int,
            DataType::Int64 => KafkaType::Bigint,
            DataType::Float64 => KafkaType::Double,
            DataType::Utf8 => KafkaType::String,
            DataType::Binary => KafkaType::Bytes,
            other => {
                return Err(Error::user(format!(
                    "The 'KAFKA' format does not support type '{}'",
                    base_type_name(other)
                ))
                .with_hint("KAFKA supports INT, BIGINT, DOUBLE, STRING and BYTES"));
            }
        }))
    }

    /// Kafka's deserializer class name, for messages.
    fn deserializer(self) -> &'static str {
        match self {
            KafkaType::Int => "IntegerDeserializer",
            KafkaType::Bigint => "LongDeserializer",
            KafkaType::Double => "DoubleDeserializer",
            KafkaType::String => "StringDeserializer",
            KafkaType::Bytes => "BytesDeserializer",
        }
    }
}

/// Checks that a fixed-width value has the right size.
pub(crate) fn fixed<const N: usize>(bytes: &[u8], ty: KafkaType) -> Result<[u8; N], DecodeError> {
    bytes.try_into().map_err(|_| DecodeError(format!("Size of data received by {} is not {N}", ty.deserializer())))
}

/// Decodes KAFKA records.
pub(crate) struct KafkaDecoder {
    ty: Option<KafkaType>,
}

impl KafkaDecoder {
    pub(crate) fn new(fields: &Fields) -> Result<Self> {
        Ok(Self { ty: KafkaType::of(fields)? })
    }
}

impl super::Decode for KafkaDecoder {
    fn decode(&mut self, bytes: &[u8], columns: &mut [ColumnBuilder]) -> Result<(), DecodeError> {
        let (Some(ty), Some(column)) = (self.ty, columns.first_mut()) else {
            return Ok(());
        };
        match ty {
            KafkaType::Int => column.append_i32(i32::from_be_bytes(fixed(bytes, ty)?)),
            KafkaType::Bigint => column.append_i64(i64::from_be_bytes(fixed(bytes, ty)?)),
            KafkaType::Double => column.append_f64(f64::from_be_bytes(fixed(bytes, ty)?)),
            // Java decodes malformed UTF-8 with replacement characters; so do we.
            KafkaType::String => column.append_bytes(String::from_utf8_lossy(bytes).as_bytes()),
            KafkaType::Bytes => column.append_bytes(bytes),
        }
        Ok(())
    }
}

/// Encodes KAFKA records.
pub(crate) struct KafkaEncoder {
    ty: Option<KafkaType>,
}

impl KafkaEncoder {
    pub(crate) fn new(fields: &Fields) -> Result<Self> {
        Ok(Self { ty: KafkaType::of(fields)? })
    }
}

impl super::Encode for KafkaEncoder {
    fn encode(&mut self, columns: &[ArrayRef], row: usize, out: &mut Vec<u8>) -> Result<bool> {
        let (Some(ty), Some(column)) = (self.ty, columns.first()) else {
            return Ok(false);
        };
        if column.is_null(row) {
            return Ok(false);
        }
        let column = column.as_ref();
        let out_of_range = |v: i128| {
            Error::user(format!("value {v} is out of range for the KAFKA format's {}", type_name(column.data_type())))
        };
        match ty {
            KafkaType::Int => {
                let v = integer_value(column, row).unwrap_or_default();
                let v = i32::try_from(v).map_err(|_| out_of_range(v))?;
                out.extend_from_slice(&v.to_be_bytes());
            }
            KafkaType::Bigint => {
                let v = integer_value(column, row).unwrap_or_default();
                let v = i64::try_from(v).map_err(|_| out_of_range(v))?;
                out.extend_from_slice(&v.to_be_bytes());
            }
            KafkaType::Double => out.extend_from_slice(&float_value(column, row).to_be_bytes()),
            KafkaType::String => out.extend_from_slice(string_value(column, row).as_bytes()),
            KafkaType::Bytes => out.extend_from_slice(binary_value(column, row)),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray, BinaryArray, Float64Array, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{Field, Float64Type, Int32Type, Int64Type};

    use super::*;
    use crate::format::{FormatKind, FormatSpec, RowDecoder, RowEncoder};

    fn fields(data_type: DataType) -> Fields {
        Fields::from(vec![Field::new("V", data_type, true)])
    }

    fn spec() -> FormatSpec {
        FormatSpec::new(FormatKind::Kafka)
    }

    fn round_trip(data_type: DataType, column: ArrayRef) -> (Vec<Option<crate::topic::Bytes>>, ArrayRef) {
        let mut encoder = RowEncoder::new(&spec(), fields(data_type.clone())).unwrap();
        let mut out = Vec::new();
        encoder.encode(&[column], &mut out).unwrap();
        let mut decoder = RowDecoder::new(&spec(), fields(data_type)).unwrap();
        for record in &out {
            decoder.append(record.as_deref()).unwrap();
        }
        (out, decoder.finish().remove(0))
    }

    #[test]
    fn every_supported_type_round_trips() {
        let (bytes, back) = round_trip(DataType::Int32, Arc::new(Int32Array::from(vec![Some(2), None, Some(-1)])));
        assert_eq!(bytes[0].as_deref(), Some(&[0u8, 0, 0, 2][..]));
        assert_eq!(bytes[1], None);
        assert_eq!(back.as_primitive::<Int32Type>(), &Int32Array::from(vec![Some(2), None, Some(-1)]));
        let (bytes, back) = round_trip(DataType::Int64, Arc::new(Int64Array::from(vec![1])));
        assert_eq!(bytes[0].as_deref(), Some(&1i64.to_be_bytes()[..]));
        assert_eq!(back.as_primitive::<Int64Type>().value(0), 1);
        let (bytes, back) = round_trip(DataType::Float64, Arc::new(Float64Array::from(vec![2.2])));
        assert_eq!(bytes[0].as_deref(), Some(&2.2f64.to_be_bytes()[..]));
        assert_eq!(back.as_primitive::<Float64Type>().value(0), 2.2);
        let (bytes, back) = round_trip(DataType::Utf8, Arc::new(StringArray::from(vec!["bar", ""])));
        assert_eq!(bytes[0].as_deref(), Some(&b"bar"[..]));
        assert_eq!(bytes[1].as_deref(), Some(&b""[..]));
        assert_eq!(back.as_string::<i32>().value(0), "bar");
        let (bytes, back) = round_trip(DataType::Binary, Arc::new(BinaryArray::from(vec![&[0u8, 255][..]])));
        assert_eq!(bytes[0].as_deref(), Some(&[0u8, 255][..]));
        assert_eq!(back.as_binary::<i32>().value(0), &[0u8, 255]);
    }

    #[test]
    fn wrong_sizes_are_decode_errors() {
        let mut decoder = RowDecoder::new(&spec(), fields(DataType::Int32)).unwrap();
        let err = decoder.append(Some(&[0, 1])).unwrap_err();
        assert_eq!(err.0, "Size of data received by IntegerDeserializer is not 4");
        let mut decoder = RowDecoder::new(&spec(), fields(DataType::Int64)).unwrap();
        let err = decoder.append(Some(&[])).unwrap_err();
        assert_eq!(err.0, "Size of data received by LongDeserializer is not 8");
        let mut decoder = RowDecoder::new(&spec(), fields(DataType::Float64)).unwrap();
        assert!(decoder.append(Some(&[0; 4])).unwrap_err().0.contains("DoubleDeserializer"));
        assert!(decoder.is_empty());
    }

    #[test]
    fn malformed_utf8_is_replaced_as_java_does() {
        let mut decoder = RowDecoder::new(&spec(), fields(DataType::Utf8)).unwrap();
        decoder.append(Some(b"a\xffb")).unwrap();
        assert_eq!(decoder.finish()[0].as_string::<i32>().value(0), "a\u{FFFD}b");
    }

    #[test]
    fn unsupported_schemas_are_user_errors() {
        for (data_type, name) in [
            (DataType::Boolean, "BOOLEAN"),
            (DataType::Decimal128(2, 1), "DECIMAL"),
            (DataType::Date32, "DATE"),
            (DataType::List(Arc::new(Field::new("item", DataType::Int32, true))), "ARRAY"),
        ] {
            let err = RowDecoder::new(&spec(), fields(data_type.clone())).err().unwrap();
            assert_eq!(err.message(), format!("The 'KAFKA' format does not support type '{name}'"));
            assert!(RowEncoder::new(&spec(), fields(data_type)).is_err());
        }
        let two = Fields::from(vec![Field::new("A", DataType::Int32, true), Field::new("B", DataType::Utf8, true)]);
        let err = RowDecoder::new(&spec(), two).err().unwrap();
        assert_eq!(err.message(), "The 'KAFKA' format only supports a single field. Got: [`A` INTEGER, `B` STRING]");
    }

    #[test]
    fn no_columns_ignore_the_bytes() {
        let mut decoder = RowDecoder::new(&spec(), Fields::empty()).unwrap();
        decoder.append(Some(b"anything")).unwrap();
        decoder.append(None).unwrap();
        assert_eq!(decoder.len(), 2);
        let mut encoder = RowEncoder::new(&spec(), Fields::empty()).unwrap();
        let mut out = Vec::new();
        encoder.encode_rows(&[], 2, &mut out).unwrap();
        assert_eq!(out, vec![None, None]);
    }

    #[test]
    fn wider_integer_columns_are_checked_on_encode() {
        let mut encoder = RowEncoder::new(&spec(), fields(DataType::Int32)).unwrap();
        let mut out = Vec::new();
        let wide: ArrayRef = Arc::new(Int64Array::from(vec![5, i64::MAX]));
        assert!(encoder.encode(&[wide.slice(0, 1)], &mut out).is_ok());
        assert_eq!(out[0].as_deref(), Some(&[0u8, 0, 0, 5][..]));
        assert!(encoder.encode(&[wide], &mut out).is_err());
        assert_eq!(wide_len(&out), 1, "a failed batch pushes nothing");
    }

    fn wide_len(out: &[Option<crate::topic::Bytes>]) -> usize {
        out.iter().filter(|b| b.as_ref().is_some_and(|b| b.len() == 4)).count()
    }
}
