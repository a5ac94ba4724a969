//! The DELIMITED format: one CSV line per row, as ksqlDB reads and writes it with Apache
//! Commons CSV.
//!
//! Reading: fields are split on the delimiter; a field that starts with `"` is quoted and `""`
//! inside it is one quote; the record ends at the first line break outside quotes. An empty
//! field (quoted or not) is null. The number of fields must equal the number of columns. Only
//! primitive types: BOOLEAN (`true` in any case, anything else false, as Java's
//! `Boolean.parseBoolean`), INT, BIGINT, DOUBLE, DECIMAL (from its text, exactly), STRING,
//! BYTES (base64), DATE (days), TIME (ms of day) and TIMESTAMP (epoch ms).
//!
//! Writing follows Commons CSV's minimal quoting: a value is quoted when it contains the
//! delimiter, a quote or a line break, starts with a character up to `#` or ends with a blank;
//! the first value of a line is also quoted when it does not start with a letter or digit
//! (so a negative first number is written `"-1"`). Nulls are empty.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Decimal128Type, Fields, TimeUnit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::DecodeError;
use super::builder::ColumnBuilder;
use super::json::{binary_value, float_value, integer_value, string_value};
use super::scalar::{
    base_type_name, parse_decimal, parse_f64, parse_i32, parse_i64, type_name, write_decimal, write_java_double,
};
use crate::error::{Error, Result};

type Res<T> = std::result::Result<T, DecodeError>;

/// Checks that every column is of a primitive type DELIMITED can hold.
fn check_fields(fields: &Fields) -> Result<()> {
    for field in fields {
        let supported = matches!(
            field.data_type(),
            DataType::Boolean
                | DataType::Int32
                | DataType::Int64
                | DataType::Float64
                | DataType::Decimal128(_, _)
                | DataType::Utf8
                | DataType::Binary
                | DataType::Date32
                | DataType::Time32(TimeUnit::Millisecond)
                | DataType::Timestamp(TimeUnit::Millisecond, None)
        );
        if !supported {
            return Err(Error::user(format!(
                "The 'DELIMITED' format does not support type '{}', column: `{}`",
                base_type_name(field.data_type()),
                field.name()
            )));
        }
    }
    Ok(())
}

/// Where one field's text is in the record.
#[derive(Clone, Copy)]
struct FieldSpan {
    start: usize,
    end: usize,
    /// Quoted with `""` inside: the text needs unescaping.
    escaped: bool,
}

/// Decodes CSV records.
pub(crate) struct DelimitedDecoder {
    delimiter: u8,
    names: Vec<String>,
    spans: Vec<FieldSpan>,
    /// An unescaped quoted field.
    text: Vec<u8>,
}

impl DelimitedDecoder {
    pub(crate) fn new(fields: &Fields, delimiter: u8) -> Result<Self> {
        check_fields(fields)?;
        Ok(Self {
            delimiter,
            names: fields.iter().map(|f| f.name().clone()).collect(),
            spans: Vec::with_capacity(fields.len()),
            text: Vec::new(),
        })
    }
}

/// Splits the first record of `bytes` into fields.
fn split(bytes: &[u8], delimiter: u8, spans: &mut Vec<FieldSpan>) -> Res<()> {
    spans.clear();
    let n = bytes.len();
    let mut i = 0;
    // Commons CSV skips empty lines before a record.
    while i < n && (bytes[i] == b'\n' || bytes[i] == b'\r') {
        i += 1;
    }
    loop {
        if bytes.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            let mut escaped = false;
            loop {
                match bytes.get(j) {
                    None => {
                        return Err(DecodeError(
                            "unterminated quoted field: the record ended before the closing quote".into(),
                        ));
                    }
                    Some(b'"') if bytes.get(j + 1) == Some(&b'"') => {
                        escaped = true;
                        j += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            spans.push(FieldSpan { start, end: j, escaped });
            i = j + 1;
            while i < n && bytes[i] != delimiter && (bytes[i] == b' ' || bytes[i] == b'\t') {
                i += 1;
            }
            match bytes.get(i) {
                None | Some(b'\n' | b'\r') => return Ok(()),
                Some(&c) if c == delimiter => i += 1,
                Some(_) => {
                    return Err(DecodeError(format!(
                        "invalid character between a quoted field and the delimiter at offset {i}"
                    )));
                }
            }
        } else {
            let start = i;
            while i < n && bytes[i] != delimiter && bytes[i] != b'\n' && bytes[i] != b'\r' {
                i += 1;
            }
            spans.push(FieldSpan { start, end: i, escaped: false });
            if i < n && bytes[i] == delimiter {
                i += 1;
            } else {
                return Ok(());
            }
        }
    }
}

impl super::Decode for DelimitedDecoder {
    fn decode(&mut self, bytes: &[u8], columns: &mut [ColumnBuilder]) -> Res<()> {
        if std::str::from_utf8(bytes).is_err() {
            return Err(DecodeError("the record is not valid UTF-8".into()));
        }
        if columns.is_empty() {
            return Ok(());
        }
        split(bytes, self.delimiter, &mut self.spans)?;
        if self.spans.len() != columns.len() {
            return Err(DecodeError(format!(
                "column count mismatch on deserialization: expected {} fields, got {}",
                columns.len(),
                self.spans.len()
            )));
        }
        for (i, column) in columns.iter_mut().enumerate() {
            let span = self.spans[i];
            let raw = &bytes[span.start..span.end];
            let text: &[u8] = if span.escaped {
                self.text.clear();
                let mut k = 0;
                while k < raw.len() {
                    self.text.push(raw[k]);
                    k += if raw[k] == b'"' { 2 } else { 1 };
                }
                &self.text
            } else {
                raw
            };
            decode_field(text, column).map_err(|e| DecodeError(format!("field '{}': {}", self.names[i], e.0)))?;
        }
        Ok(())
    }
}

/// Parses one field's text into its column; empty text is null.
fn decode_field(text: &[u8], column: &mut ColumnBuilder) -> Res<()> {
    if text.is_empty() {
        column.append_null();
        return Ok(());
    }
    let invalid = |column: &ColumnBuilder| {
        DecodeError(format!("'{}' is not a valid {}", String::from_utf8_lossy(text), type_name(column.data_type())))
    };
    match column.data_type() {
        DataType::Boolean => column.append_bool(text.eq_ignore_ascii_case(b"true")),
        DataType::Int32 | DataType::Date32 | DataType::Time32(_) => {
            let v = parse_i32(text).ok_or_else(|| invalid(column))?;
            column.append_i32(v);
        }
        DataType::Int64 | DataType::Timestamp(_, _) => {
            let v = parse_i64(text).ok_or_else(|| invalid(column))?;
            column.append_i64(v);
        }
        DataType::Float64 => {
            let v = parse_f64(text).ok_or_else(|| invalid(column))?;
            column.append_f64(v);
        }
        DataType::Decimal128(p, s) => {
            let v = parse_decimal(text, *p, *s).map_err(DecodeError)?;
            column.append_i128(v);
        }
        DataType::Utf8 => column.append_bytes(text),
        DataType::Binary => {
            let Some(out) = column.bytes_buffer() else {
                return Err(DecodeError("BYTES column without a byte buffer".into()));
            };
            if BASE64.decode_vec(text, out).is_err() {
                column.abort_bytes();
                return Err(DecodeError(format!(
                    "'{}' is not valid base64 for a BYTES value",
                    String::from_utf8_lossy(text)
                )));
            }
            column.commit_bytes();
        }
        other => {
            return Err(DecodeError(format!("the DELIMITED format cannot decode arrow type {other}")));
        }
    }
    Ok(())
}

/// Encodes rows as CSV lines (without a line break at the end).
pub(crate) struct DelimitedEncoder {
    delimiter: u8,
    /// One value's text before quoting.
    text: Vec<u8>,
}

impl DelimitedEncoder {
    pub(crate) fn new(fields: &Fields, delimiter: u8) -> Result<Self> {
        check_fields(fields)?;
        Ok(Self { delimiter, text: Vec::new() })
    }
}

impl super::Encode for DelimitedEncoder {
    fn encode(&mut self, columns: &[ArrayRef], row: usize, out: &mut Vec<u8>) -> Result<bool> {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(self.delimiter);
            }
            if column.is_null(row) {
                continue;
            }
            self.text.clear();
            write_text(column.as_ref(), row, &mut self.text)?;
            write_field(&self.text, i == 0, self.delimiter, out);
        }
        Ok(true)
    }
}

/// The text of one non-null cell.
fn write_text(array: &dyn Array, row: usize, out: &mut Vec<u8>) -> Result<()> {
    match array.data_type() {
        DataType::Boolean => {
            let v = array.as_boolean().value(row);
            out.extend_from_slice(if v { b"true" } else { b"false" });
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            write_java_double(float_value(array, row), out);
        }
        DataType::Decimal128(_, s) => {
            write_decimal(array.as_primitive::<Decimal128Type>().value(row), *s, out);
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            out.extend_from_slice(string_value(array, row).as_bytes());
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            out.extend_from_slice(BASE64.encode(binary_value(array, row)).as_bytes());
        }
        other => match integer_value(array, row) {
            Some(v) => {
                use std::io::Write as _;
                // Writing to a Vec cannot fail.
                let _ = write!(out, "{v}");
            }
            None => {
                return Err(Error::internal(format!("the DELIMITED format cannot encode arrow type {other}")));
            }
        },
    }
    Ok(())
}

/// Writes one value, quoting it as Commons CSV's minimal quote mode does.
fn write_field(text: &[u8], first: bool, delimiter: u8, out: &mut Vec<u8>) {
    let quote = match text.first() {
        None => first,
        Some(&c) => {
            (first && !c.is_ascii_alphanumeric())
                || c <= b'#'
                || text.iter().any(|&b| b == b'"' || b == b'\n' || b == b'\r' || b == delimiter)
                || text.last().is_some_and(|&b| b <= b' ')
        }
    };
    if !quote {
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    let mut run = 0;
    for (i, &c) in text.iter().enumerate() {
        if c == b'"' {
            out.extend_from_slice(&text[run..=i]);
            out.push(b'"');
            run = i + 1;
        }
    }
    out.extend_from_slice(&text[run..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray,
        Time32MillisecondArray, TimestampMillisecondArray,
    };
    use arrow::datatypes::{Field, Float64Type, Int32Type, Int64Type};

    use super::*;
    use crate::format::{FormatKind, FormatSpec, RowDecoder, RowEncoder, array_value_to_json};

    fn field(name: &str, data_type: DataType) -> Field {
        Field::new(name, data_type, true)
    }

    fn spec(delimiter: char) -> FormatSpec {
        FormatSpec { delimiter, ..FormatSpec::new(FormatKind::Delimited) }
    }

    fn decode(fields: Vec<Field>, delimiter: char, records: &[&str]) -> Vec<ArrayRef> {
        let mut decoder = RowDecoder::new(&spec(delimiter), Fields::from(fields)).unwrap();
        for record in records {
            decoder.append(Some(record.as_bytes())).unwrap_or_else(|e| panic!("{record}: {e}"));
        }
        decoder.finish()
    }

    fn decode_err(fields: Vec<Field>, record: &str) -> String {
        let mut decoder = RowDecoder::new(&spec(','), Fields::from(fields)).unwrap();
        let err = decoder.append(Some(record.as_bytes())).unwrap_err();
        assert_eq!(decoder.len(), 0);
        err.0
    }

    fn encode(fields: Vec<Field>, delimiter: char, columns: Vec<ArrayRef>) -> Vec<String> {
        let mut encoder = RowEncoder::new(&spec(delimiter), Fields::from(fields)).unwrap();
        let mut out = Vec::new();
        encoder.encode(&columns, &mut out).unwrap();
        out.into_iter().map(|b| String::from_utf8(b.unwrap().to_vec()).unwrap()).collect()
    }

    /// Decodes then encodes again, as a CSAS from a DELIMITED stream into one does.
    fn round_trip(fields: Vec<Field>, records: &[&str]) -> Vec<String> {
        let cols = decode(fields.clone(), ',', records);
        encode(fields, ',', cols)
    }

    fn all_types() -> Vec<Field> {
        vec![
            field("B", DataType::Boolean),
            field("I", DataType::Int32),
            field("L", DataType::Int64),
            field("D", DataType::Float64),
            field("DEC", DataType::Decimal128(6, 4)),
            field("S", DataType::Utf8),
            field("BY", DataType::Binary),
            field("DT", DataType::Date32),
            field("T", DataType::Time32(TimeUnit::Millisecond)),
            field("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
        ]
    }

    #[test]
    fn decodes_every_type() {
        let cols = decode(
            all_types(),
            ',',
            &[
                "true,-7,998877665544332211,654.321,12.0,Hey,AQID,-10,5000,1528224275715",
                ",,,,,,,,,",
                "TRUE,\"22\",\"10\",\"123.456\",\"12.3650\",\"You\",,1,2,3\r\n",
            ],
        );
        assert_eq!(cols[0].as_boolean(), &BooleanArray::from(vec![Some(true), None, Some(true)]));
        assert_eq!(cols[1].as_primitive::<Int32Type>(), &Int32Array::from(vec![Some(-7), None, Some(22)]));
        assert_eq!(
            cols[2].as_primitive::<Int64Type>(),
            &Int64Array::from(vec![Some(998877665544332211), None, Some(10)])
        );
        assert_eq!(
            cols[3].as_primitive::<Float64Type>(),
            &Float64Array::from(vec![Some(654.321), None, Some(123.456)])
        );
        assert_eq!(
            cols[4].as_primitive::<Decimal128Type>(),
            &Decimal128Array::from(vec![Some(120000), None, Some(123650)]).with_precision_and_scale(6, 4).unwrap()
        );
        assert_eq!(cols[5].as_string::<i32>(), &StringArray::from(vec![Some("Hey"), None, Some("You")]));
        assert_eq!(cols[6].as_binary::<i32>(), &BinaryArray::from(vec![Some(&[1u8, 2, 3][..]), None, None]));
        assert_eq!(
            cols[7].as_primitive::<arrow::datatypes::Date32Type>(),
            &Date32Array::from(vec![Some(-10), None, Some(1)])
        );
        assert_eq!(
            cols[8].as_primitive::<arrow::datatypes::Time32MillisecondType>(),
            &Time32MillisecondArray::from(vec![Some(5000), None, Some(2)])
        );
        assert_eq!(
            cols[9].as_primitive::<arrow::datatypes::TimestampMillisecondType>(),
            &TimestampMillisecondArray::from(vec![Some(1528224275715), None, Some(3)])
        );
    }

    #[test]
    fn quoted_fields_hold_delimiters_quotes_and_line_breaks() {
        let fields = vec![field("A", DataType::Utf8), field("B", DataType::Utf8)];
        let cols =
            decode(fields, ',', &[r#""a,b","say ""hi""""#, "\"line\nbreak\",x\ny,z", r#"plain"quote,"""#, "\"a\" ,b"]);
        let a = cols[0].as_string::<i32>();
        let b = cols[1].as_string::<i32>();
        assert_eq!((a.value(0), b.value(0)), ("a,b", "say \"hi\""));
        assert_eq!((a.value(1), b.value(1)), ("line\nbreak", "x"));
        assert_eq!(a.value(2), "plain\"quote");
        assert!(b.is_null(2), "an empty quoted field is null");
        assert_eq!((a.value(3), b.value(3)), ("a", "b"));
    }

    #[test]
    fn other_delimiters() {
        let fields = vec![field("ID", DataType::Int64), field("NAME", DataType::Utf8), field("VALUE", DataType::Int32)];
        for (delimiter, record) in [('|', "0|zero|0"), ('\t', "0\tzero\t0"), (' ', "0 zero 0")] {
            let cols = decode(fields.clone(), delimiter, &[record]);
            assert_eq!(cols[1].as_string::<i32>().value(0), "zero");
            assert_eq!(encode(fields.clone(), delimiter, cols), vec![record.to_string()]);
        }
        let keys = vec![field("K1", DataType::Utf8), field("K2", DataType::Utf8)];
        let cols = decode(keys, ';', &["foo,bar;baz"]);
        assert_eq!(cols[0].as_string::<i32>().value(0), "foo,bar");
        assert!(RowDecoder::new(&spec('é'), Fields::empty()).is_err());
    }

    #[test]
    fn bad_records_name_the_problem() {
        let two = || vec![field("A", DataType::Int32), field("B", DataType::Utf8)];
        assert_eq!(decode_err(two(), "1"), "column count mismatch on deserialization: expected 2 fields, got 1");
        assert_eq!(decode_err(two(), "1,a,b"), "column count mismatch on deserialization: expected 2 fields, got 3");
        assert_eq!(decode_err(two(), "x,a"), "field 'A': 'x' is not a valid INTEGER");
        assert_eq!(decode_err(two(), " 1,a"), "field 'A': ' 1' is not a valid INTEGER");
        assert!(decode_err(two(), "\"1,a").contains("unterminated quoted field"));
        assert!(decode_err(two(), "\"1\"x,a").contains("invalid character"));
        let dec = vec![field("D", DataType::Decimal128(4, 2))];
        assert_eq!(
            decode_err(dec, "123.45"),
            "field 'D': Cannot fit decimal '123.45' into DECIMAL(4, 2) without overflow"
        );
        let bytes = vec![field("B", DataType::Binary)];
        assert!(decode_err(bytes, "!!").contains("base64"));
        let mut decoder = RowDecoder::new(&spec(','), Fields::from(vec![field("S", DataType::Utf8)])).unwrap();
        assert!(decoder.append(Some(b"\xff")).unwrap_err().0.contains("UTF-8"));
    }

    #[test]
    fn empty_record_is_one_null_field() {
        let cols = decode(vec![field("V", DataType::Int32)], ',', &["", "0"]);
        assert!(cols[0].is_null(0));
        assert_eq!(
            decode_err(vec![field("A", DataType::Int32), field("B", DataType::Int32)], ""),
            "column count mismatch on deserialization: expected 2 fields, got 1"
        );
    }

    #[test]
    fn only_primitive_types() {
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        let err = RowDecoder::new(&spec(','), Fields::from(vec![field("K", list)])).err().unwrap();
        assert_eq!(err.message(), "The 'DELIMITED' format does not support type 'ARRAY', column: `K`");
        let st = DataType::Struct(Fields::from(vec![field("F1", DataType::Float64)]));
        let err = RowEncoder::new(&spec(','), Fields::from(vec![field("FOO", st)])).err().unwrap();
        assert!(err.message().contains("does not support type 'STRUCT'"));
    }

    #[test]
    fn encodes_as_ksql_does() {
        // delimited.json "read written decimals": the first field is quoted unless it starts
        // with a letter or digit.
        let dec = vec![field("V", DataType::Decimal128(33, 16))];
        assert_eq!(
            round_trip(dec, &["12345678987654321.2345678987654321", ".12", "-12345.12", "\"-12345.12\"", "0"]),
            vec![
                "12345678987654321.2345678987654321",
                "0.1200000000000000",
                "\"-12345.1200000000000000\"",
                "\"-12345.1200000000000000\"",
                "0.0000000000000000"
            ]
        );
        // group-by.json: only the first field of the line.
        let key = vec![field("F3", DataType::Int32), field("F2", DataType::Utf8), field("F1", DataType::Int32)];
        assert_eq!(round_trip(key, &["-1,a,1"]), vec!["\"-1\",a,1"]);
        let lits = vec![field("K", DataType::Int64), field("MIN", DataType::Int32), field("MAX", DataType::Int32)];
        assert_eq!(round_trip(lits, &["0,-2147483647,2147483647"]), vec!["0,-2147483647,2147483647"]);
        let doubles: Vec<Field> = (0..7).map(|i| field(&format!("D{i}"), DataType::Float64)).collect();
        let line = "0,4.9E-324,-4.9E-324,2.2250738585072014E-308,-2.2250738585072014E-308,1.7976931348623157E308,-1.7976931348623157E308";
        assert_eq!(round_trip(doubles, &[line]), vec![line.replacen('0', "0.0", 1)]);
        let dates = vec![field("D", DataType::Date32)];
        assert_eq!(round_trip(dates, &["10", "-10"]), vec!["10", "\"-10\""]);
    }

    #[test]
    fn quotes_only_when_needed() {
        // project-filter.json "project string with embedded code".
        let code = r#"" + new java.util.function.Supplier<String>(){public String get() {return "boom";}}.get() + ""#;
        let expected =
            r#"""" + new java.util.function.Supplier<String>(){public String get() {return ""boom"";}}.get() + """"#;
        let fields = vec![field("X", DataType::Utf8), field("Y", DataType::Utf8)];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![Some(code), Some(""), None, Some("a"), Some("é")])),
            Arc::new(StringArray::from(vec![Some("plain"), Some(""), Some("a,b"), Some("#x"), Some("end ")])),
        ];
        assert_eq!(
            encode(fields.clone(), ',', columns.clone()),
            vec![
                format!("{expected},plain"),
                "\"\",".to_string(),
                ",\"a,b\"".to_string(),
                "a,\"#x\"".to_string(),
                "\"é\",\"end \"".to_string(),
            ]
        );
        let cols = decode(fields, ',', &[&format!("{expected},plain")]);
        assert_eq!(cols[0].as_string::<i32>().value(0), code);
    }

    #[test]
    fn encodes_every_type() {
        let cols = decode(
            all_types(),
            ',',
            &["true,-7,998877665544332211,654.321,12.0,Hey,AQID,-10,5000,1528224275715", ",,,,,,,,,"],
        );
        assert_eq!(
            encode(all_types(), ',', cols.clone()),
            vec!["true,-7,998877665544332211,654.321,12.0000,Hey,AQID,-10,5000,1528224275715", ",,,,,,,,,"]
        );
        assert_eq!(array_value_to_json(cols[6].as_ref(), 0), serde_json::json!("AQID"));
    }
}
