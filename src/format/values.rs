//! Conversions between record bytes and the JSON that describes them in ksqlDB's test files
//! (QTT `inputs[].key/value` and `outputs`) and REST payloads.
//!
//! The JSON is the record as ksqlDB's tests write it: an object (or a bare value) for JSON, a
//! primitive for KAFKA, the CSV line as a string for DELIMITED, `null` for no bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use arrow::datatypes::Fields;

use super::kafka::{KafkaType, fixed};
use super::{FormatKind, FormatSpec};
use crate::error::{Error, Result};

/// Serializes a test-file JSON value into record bytes of this format; `null` is no bytes.
///
/// JSON values are written as they are (the decoder does the matching and coercion); KAFKA
/// values are converted to the column's type; DELIMITED values are the CSV text.
pub fn json_to_bytes(spec: &FormatSpec, fields: &Fields, value: &Value) -> Result<Option<Vec<u8>>> {
    if value.is_null() {
        return Ok(None);
    }
    super::check_supported(spec.kind)?;
    match spec.kind {
        FormatKind::Json => Ok(Some(
            serde_json::to_vec(value).map_err(|e| Error::internal(format!("could not serialize a JSON value: {e}")))?,
        )),
        FormatKind::Delimited => match value {
            Value::String(text) => Ok(Some(text.clone().into_bytes())),
            Value::Number(_) | Value::Bool(_) => Ok(Some(value.to_string().into_bytes())),
            _ => Err(Error::user(format!("a DELIMITED record is written as a string, not {value}"))),
        },
        FormatKind::Kafka => kafka_bytes(fields, value).map(Some),
        _ => Ok(None),
    }
}

/// A primitive JSON value as the bytes of the KAFKA column.
fn kafka_bytes(fields: &Fields, value: &Value) -> Result<Vec<u8>> {
    let wrong = |ty: &str| Error::user(format!("cannot write {value} as a KAFKA {ty}"));
    let integer = || match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let Some(ty) = KafkaType::of(fields)? else {
        // No column: the bytes are ignored by every reader, keep them readable.
        return Ok(match value {
            Value::String(s) => s.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        });
    };
    Ok(match ty {
        KafkaType::Int => {
            let v = integer().and_then(|v| i32::try_from(v).ok()).ok_or_else(|| wrong("INT"))?;
            v.to_be_bytes().to_vec()
        }
        KafkaType::Bigint => integer().ok_or_else(|| wrong("BIGINT"))?.to_be_bytes().to_vec(),
        KafkaType::Double => {
            let v = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => super::scalar::parse_f64(s.as_bytes()),
                _ => None,
            };
            v.ok_or_else(|| wrong("DOUBLE"))?.to_be_bytes().to_vec()
        }
        KafkaType::String => match value {
            Value::String(s) => s.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        },
        KafkaType::Bytes => match value {
            Value::String(s) => BASE64.decode(s).map_err(|e| Error::user(format!("BYTES value is not base64: {e}")))?,
            _ => return Err(wrong("BYTES")),
        },
    })
}

/// The reverse of [`json_to_bytes`]: the JSON a QTT `outputs` entry expects for these bytes.
pub fn bytes_to_json(spec: &FormatSpec, fields: &Fields, bytes: Option<&[u8]>) -> Result<Value> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    super::check_supported(spec.kind)?;
    match spec.kind {
        FormatKind::Json => {
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            serde_json::from_slice(bytes).map_err(|e| Error::user(format!("the record is not valid JSON: {e}")))
        }
        FormatKind::Delimited => Ok(Value::String(String::from_utf8_lossy(bytes).into_owned())),
        FormatKind::Kafka => {
            let Some(ty) = KafkaType::of(fields)? else {
                return Ok(Value::Null);
            };
            let decode_err = |e: super::DecodeError| Error::user(e.0);
            Ok(match ty {
                KafkaType::Int => Value::from(i32::from_be_bytes(fixed(bytes, ty).map_err(decode_err)?)),
                KafkaType::Bigint => Value::from(i64::from_be_bytes(fixed(bytes, ty).map_err(decode_err)?)),
                KafkaType::Double => {
                    let v = f64::from_be_bytes(fixed(bytes, ty).map_err(decode_err)?);
                    serde_json::Number::from_f64(v).map(Value::Number).unwrap_or_else(|| Value::String(v.to_string()))
                }
                KafkaType::String => Value::String(String::from_utf8_lossy(bytes).into_owned()),
                KafkaType::Bytes => Value::String(BASE64.encode(bytes)),
            })
        }
        _ => Ok(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field};
    use serde_json::json;

    use super::*;
    use crate::format::{RowDecoder, RowEncoder};

    fn one(data_type: DataType) -> Fields {
        Fields::from(vec![Field::new("V", data_type, true)])
    }

    fn spec(kind: FormatKind) -> FormatSpec {
        FormatSpec::new(kind)
    }

    #[test]
    fn json_values_pass_through() {
        let s = spec(FormatKind::Json);
        let fields = one(DataType::Int32);
        let value = json!({"v": 10, "extra": [1.5]});
        let bytes = json_to_bytes(&s, &fields, &value).unwrap().unwrap();
        assert_eq!(bytes_to_json(&s, &fields, Some(&bytes)).unwrap(), value);
        assert_eq!(json_to_bytes(&s, &fields, &json!(null)).unwrap(), None);
        assert_eq!(bytes_to_json(&s, &fields, None).unwrap(), json!(null));
        assert!(bytes_to_json(&s, &fields, Some(b"{")).is_err());
        // The bytes decode like any record.
        let mut decoder = RowDecoder::new(&s, fields).unwrap();
        decoder.append(Some(&bytes)).unwrap();
        assert_eq!(crate::format::array_value_to_json(decoder.finish()[0].as_ref(), 0), json!(10));
    }

    #[test]
    fn kafka_values_are_typed() {
        let s = spec(FormatKind::Kafka);
        let cases = [
            (DataType::Int32, json!(2), vec![0u8, 0, 0, 2]),
            (DataType::Int64, json!(998877665544332211i64), 998877665544332211i64.to_be_bytes().to_vec()),
            (DataType::Float64, json!(1.1), 1.1f64.to_be_bytes().to_vec()),
            (DataType::Utf8, json!("foo"), b"foo".to_vec()),
            (DataType::Binary, json!("AQID"), vec![1, 2, 3]),
        ];
        for (data_type, value, bytes) in cases {
            let fields = one(data_type);
            assert_eq!(json_to_bytes(&s, &fields, &value).unwrap(), Some(bytes.clone()));
            assert_eq!(bytes_to_json(&s, &fields, Some(&bytes)).unwrap(), value);
        }
        // A STRING key written as a number in a test file.
        assert_eq!(json_to_bytes(&s, &one(DataType::Utf8), &json!(10)).unwrap(), Some(b"10".to_vec()));
        assert!(json_to_bytes(&s, &one(DataType::Int32), &json!(3000000000i64)).is_err());
        assert!(json_to_bytes(&s, &one(DataType::Int32), &json!("x")).is_err());
        let err = bytes_to_json(&s, &one(DataType::Int32), Some(&[1])).unwrap_err();
        assert_eq!(err.message(), "Size of data received by IntegerDeserializer is not 4");
        assert_eq!(bytes_to_json(&s, &Fields::empty(), Some(b"k")).unwrap(), json!(null));
    }

    #[test]
    fn delimited_values_are_the_csv_text() {
        let s = spec(FormatKind::Delimited);
        let fields =
            Fields::from(vec![Field::new("ID", DataType::Int64, true), Field::new("NAME", DataType::Utf8, true)]);
        let bytes = json_to_bytes(&s, &fields, &json!("0,zero")).unwrap().unwrap();
        assert_eq!(bytes, b"0,zero");
        assert_eq!(bytes_to_json(&s, &fields, Some(&bytes)).unwrap(), json!("0,zero"));
        assert_eq!(json_to_bytes(&s, &one(DataType::Int32), &json!(33)).unwrap(), Some(b"33".to_vec()));
        assert!(json_to_bytes(&s, &fields, &json!({"a": 1})).is_err());
        // What the encoder writes is what bytes_to_json shows.
        let mut decoder = RowDecoder::new(&s, fields.clone()).unwrap();
        decoder.append(Some(b"-1,\"a\"\"b\"")).unwrap();
        let mut encoder = RowEncoder::new(&s, fields.clone()).unwrap();
        let mut out = Vec::new();
        encoder.encode(&decoder.finish(), &mut out).unwrap();
        assert_eq!(bytes_to_json(&s, &fields, out[0].as_deref()).unwrap(), json!("\"-1\",\"a\"\"b\""));
    }

    #[test]
    fn none_and_registry_formats() {
        let none = spec(FormatKind::None);
        assert_eq!(json_to_bytes(&none, &Fields::empty(), &json!("x")).unwrap(), None);
        assert_eq!(bytes_to_json(&none, &Fields::empty(), Some(b"x")).unwrap(), json!(null));
        let avro = spec(FormatKind::Avro);
        let err = json_to_bytes(&avro, &Fields::empty(), &json!({})).unwrap_err();
        assert!(err.message().contains("schema registry"), "{err}");
        let err = RowDecoder::new(&avro, Fields::empty()).err().unwrap();
        assert_eq!(err.kind(), crate::error::ErrorKind::User);
        assert!(RowEncoder::new(&spec(FormatKind::JsonSr), Fields::empty()).is_err());
    }
}
