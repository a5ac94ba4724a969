//! ksqlDB's SQL types and their mapping to Arrow.
//!
//! [`SqlType`] is what the catalog stores and what DESCRIBE shows; [`SqlType::to_arrow`] is the
//! one place that decides how each type is laid out in Arrow. Formats and operators only see the
//! Arrow side.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};

use crate::error::{Error, Result};

/// A ksqlDB column type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    Boolean,
    Int,
    Bigint,
    Double,
    /// DECIMAL(precision, scale).
    Decimal(u8, i8),
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<SqlType>),
    /// MAP<key, value>; ksqlDB keys are in practice strings.
    Map(Box<SqlType>, Box<SqlType>),
    Struct(Vec<(String, SqlType)>),
}

impl SqlType {
    /// The Arrow type this SQL type is stored as.
    pub fn to_arrow(&self) -> DataType {
        match self {
            SqlType::Boolean => DataType::Boolean,
            SqlType::Int => DataType::Int32,
            SqlType::Bigint => DataType::Int64,
            SqlType::Double => DataType::Float64,
            SqlType::Decimal(p, s) => DataType::Decimal128(*p, *s),
            SqlType::String => DataType::Utf8,
            SqlType::Bytes => DataType::Binary,
            SqlType::Date => DataType::Date32,
            SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            SqlType::Array(item) => DataType::List(Arc::new(Field::new("item", item.to_arrow(), true))),
            SqlType::Map(key, value) => map_type(key.to_arrow(), value.to_arrow()),
            SqlType::Struct(fields) => DataType::Struct(
                fields.iter().map(|(name, ty)| Field::new(name, ty.to_arrow(), true)).collect::<Fields>(),
            ),
        }
    }

    /// The SQL type of an Arrow type, for types that came out of expression planning.
    pub fn from_arrow(data_type: &DataType) -> Result<SqlType> {
        Ok(match data_type {
            DataType::Boolean => SqlType::Boolean,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => SqlType::Int,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => SqlType::Bigint,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => SqlType::Double,
            DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
                SqlType::Decimal(*p, *s)
            }
            DataType::Decimal256(p, s) => SqlType::Decimal((*p).min(38), *s),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::String,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
                SqlType::Bytes
            }
            DataType::Date32 | DataType::Date64 => SqlType::Date,
            DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
            DataType::Timestamp(_, _) => SqlType::Timestamp,
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::ListView(f) => {
                SqlType::Array(Box::new(SqlType::from_arrow(f.data_type())?))
            }
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => SqlType::Map(
                    Box::new(SqlType::from_arrow(kv[0].data_type())?),
                    Box::new(SqlType::from_arrow(kv[1].data_type())?),
                ),
                other => {
                    return Err(Error::internal(format!("map entries of unexpected type {other}")));
                }
            },
            DataType::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|f| Ok((f.name().clone(), SqlType::from_arrow(f.data_type())?)))
                    .collect::<Result<_>>()?,
            ),
            // An untyped NULL literal: ksqlDB gives it the type of its context; STRING is the
            // widest stand-in when there is none.
            DataType::Null => SqlType::String,
            other => {
                return Err(Error::user(format!("type {other} has no ksqlDB equivalent")));
            }
        })
    }

    /// True for the types the KAFKA format can serialize.
    pub fn is_primitive(&self) -> bool {
        !matches!(self, SqlType::Array(_) | SqlType::Map(_, _) | SqlType::Struct(_))
    }
}

/// Arrow's layout of a MAP with the given key and value types.
pub fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![Field::new("key", key, false), Field::new("value", value, true)])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

impl fmt::Display for SqlType {
    /// ksqlDB's spelling, as DESCRIBE and post-condition schemas show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::Bigint => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal(p, s) => write!(f, "DECIMAL({p}, {s})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Array(item) => write!(f, "ARRAY<{item}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{name}` {ty}")?;
                }
                f.write_str(">")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_round_trip_keeps_the_type() {
        let ty = SqlType::Struct(vec![
            ("A".into(), SqlType::Array(Box::new(SqlType::Decimal(4, 2)))),
            ("M".into(), SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Timestamp))),
        ]);
        assert_eq!(SqlType::from_arrow(&ty.to_arrow()).unwrap(), ty);
        assert_eq!(ty.to_string(), "STRUCT<`A` ARRAY<DECIMAL(4, 2)>, `M` MAP<STRING, TIMESTAMP>>");
    }
}
