//! Serialization formats of keys and values: JSON, DELIMITED, KAFKA and NONE.
//!
//! A format turns the bytes of a record's key or value into a row of Arrow columns and back.
//! Decoding appends straight into Arrow builders ([`RowDecoder`]); encoding reads rows of Arrow
//! arrays ([`RowEncoder`]). The schema of one side (the key columns, or the value columns) is
//! given as Arrow [`Fields`]; nothing here knows about SQL.

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use arrow::datatypes::{Fields, Schema};

use crate::error::{Error, Result};
use crate::topic::{Bytes, PackedBytes};

mod builder;
mod delimited;
mod json;
mod kafka;
mod none;
mod scalar;
mod values;
mod windowed;

use builder::ColumnBuilder;

pub use json::array_value_to_json;
pub use values::{bytes_to_json, json_to_bytes};
pub use windowed::{WindowBounds, WindowLayout, decode_windowed_key, encode_windowed_key};

/// The formats ksqlDB knows. AVRO, PROTOBUF, PROTOBUF_NOSR and JSON_SR need a schema registry
/// and are not supported yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    /// Kafka's own serializers: one primitive column, big-endian numbers, UTF-8 strings.
    Kafka,
    /// A JSON object per row (or the bare value of a single unwrapped column).
    Json,
    /// One CSV line per row.
    Delimited,
    /// No columns at all; the bytes are ignored.
    None,
    /// Needs a schema registry; not supported yet.
    Avro,
    /// Needs a schema registry; not supported yet.
    Protobuf,
    /// Protobuf without a schema registry; not supported yet.
    ProtobufNoSr,
    /// JSON with a schema registry; not supported yet.
    JsonSr,
}
impl FormatKind {
    /// Parses a format name as written in WITH (case-insensitive).
    pub fn parse(name: &str) -> Result<FormatKind> {
        Ok(match name.to_ascii_uppercase().as_str() {
            "KAFKA" => FormatKind::Kafka,
            "JSON" => FormatKind::Json,
            "DELIMITED" => FormatKind::Delimited,
            "NONE" => FormatKind::None,
            "AVRO" => FormatKind::Avro,
            "PROTOBUF" => FormatKind::Protobuf,
            "PROTOBUF_NOSR" => FormatKind::ProtobufNoSr,
            "JSON_SR" => FormatKind::JsonSr,
            other => {
                return Err(Error::user(format!("Unknown format: {other}"))
                    .with_hint("use one of KAFKA, JSON, DELIMITED, NONE, AVRO, PROTOBUF, PROTOBUF_NOSR, JSON_SR"));
            }
        })
    }

    /// The name as ksqlDB prints it.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Kafka => "KAFKA",
            FormatKind::Json => "JSON",
            FormatKind::Delimited => "DELIMITED",
            FormatKind::None => "NONE",
            FormatKind::Avro => "AVRO",
            FormatKind::Protobuf => "PROTOBUF",
            FormatKind::ProtobufNoSr => "PROTOBUF_NOSR",
            FormatKind::JsonSr => "JSON_SR",
        }
    }

    /// True for the formats that need a schema registry.
    pub fn needs_schema_registry(self) -> bool {
        matches!(self, FormatKind::Avro | FormatKind::Protobuf | FormatKind::ProtobufNoSr | FormatKind::JsonSr)
    }
}

/// A format with its options, resolved for one side (key or value) of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatSpec {
    /// Which format.
    pub kind: FormatKind,
    /// For JSON with exactly one column: `true` writes `{"COL": v}`, `false` writes the bare
    /// `v`. Keys are unwrapped, values wrapped, unless WRAP_SINGLE_VALUE says otherwise.
    pub wrap_single: bool,
    /// DELIMITED's field separator (SPACE and TAB already resolved to the character).
    pub delimiter: char,
}

impl FormatSpec {
    /// A spec with the default options of `kind`.
    pub fn new(kind: FormatKind) -> Self {
        Self { kind, wrap_single: true, delimiter: ',' }
    }
}

/// Why one record's bytes could not be decoded; the record goes to the processing log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<DecodeError> for Error {
    /// Bad data is the user's (or the producer's) problem, never ours.
    fn from(err: DecodeError) -> Self {
        Error::user(err.0)
    }
}

/// One format's way of turning a record's bytes into a row; one implementation per file.
trait Decode: Send {
    /// Decodes `bytes` and appends exactly one value to every column. On error it may leave
    /// partial values behind: [`RowDecoder`] rolls every column back.
    fn decode(&mut self, bytes: &[u8], columns: &mut [ColumnBuilder]) -> Result<(), DecodeError>;
}

/// One format's way of turning a row into bytes; one implementation per file.
trait Encode: Send {
    /// Appends the encoding of row `row` of `columns` to `out`, which holds the rows before it
    /// (the encoder must not touch them). `false` is a record without bytes (a null value);
    /// whatever was appended then is discarded.
    fn encode(&mut self, columns: &[ArrayRef], row: usize, out: &mut Vec<u8>) -> Result<bool>;
}

/// Fails with a user error for the formats that need a schema registry.
fn check_supported(kind: FormatKind) -> Result<()> {
    if kind.needs_schema_registry() {
        return Err(Error::user(format!(
            "the '{}' format needs a schema registry, which is not supported yet",
            kind.name()
        ))
        .with_hint("use JSON, DELIMITED or KAFKA"));
    }
    Ok(())
}

/// The delimiter as a byte; DELIMITED supports single-byte (ASCII) delimiters.
fn delimiter_byte(spec: &FormatSpec) -> Result<u8> {
    u8::try_from(spec.delimiter).ok().filter(u8::is_ascii).ok_or_else(|| {
        Error::user(format!(
            "invalid delimiter '{}': the DELIMITED format supports ASCII delimiters only",
            spec.delimiter
        ))
    })
}

/// Decodes serialized rows of one side into Arrow columns, a row at a time.
///
/// Rows are appended straight into column builders; [`RowDecoder::finish`] hands them over as
/// Arrow arrays. A record that fails to decode leaves the builders as they were.
pub struct RowDecoder {
    spec: FormatSpec,
    fields: Fields,
    columns: Vec<ColumnBuilder>,
    rows: usize,
    decoder: Box<dyn Decode>,
}

impl RowDecoder {
    /// A decoder for rows with the given columns. Fails (a user error) if the format cannot
    /// hold these columns, e.g. KAFKA with two columns.
    pub fn new(spec: &FormatSpec, fields: Fields) -> Result<Self> {
        check_supported(spec.kind)?;
        let decoder: Box<dyn Decode> = match spec.kind {
            FormatKind::Json => Box::new(json::JsonDecoder::new(&fields, spec.wrap_single)?),
            FormatKind::Delimited => Box::new(delimited::DelimitedDecoder::new(&fields, delimiter_byte(spec)?)?),
            FormatKind::Kafka => Box::new(kafka::KafkaDecoder::new(&fields)?),
            FormatKind::None => Box::new(none::NoneDecoder::new(&fields)?),
            other => {
                return Err(Error::internal(format!("format {} unchecked", other.name())));
            }
        };
        let columns = fields.iter().map(|f| ColumnBuilder::new(f.data_type())).collect::<Result<_>>()?;
        Ok(Self { spec: spec.clone(), fields, columns, rows: 0, decoder })
    }

    /// The format this decoder reads.
    pub fn spec(&self) -> &FormatSpec {
        &self.spec
    }

    /// The columns this decoder produces.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Decodes one serialized row and appends it. `None` bytes append a row of nulls. On error
    /// nothing is appended.
    pub fn append(&mut self, bytes: Option<&[u8]>) -> Result<(), DecodeError> {
        match bytes {
            None => self.columns.iter_mut().for_each(ColumnBuilder::append_null),
            Some(bytes) => {
                if let Err(err) = self.decoder.decode(bytes, &mut self.columns) {
                    for column in &mut self.columns {
                        column.truncate(self.rows);
                    }
                    return Err(err);
                }
            }
        }
        self.rows += 1;
        debug_assert!(self.columns.iter().all(|c| c.len() == self.rows));
        Ok(())
    }

    /// Rows appended since the last [`RowDecoder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no row is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the appended rows as one array per column, and starts afresh.
    pub fn finish(&mut self) -> Vec<ArrayRef> {
        let rows = std::mem::take(&mut self.rows);
        self.columns
            .iter_mut()
            .map(|column| {
                column.finish().unwrap_or_else(|err| {
                    // The builders only ever hold values that make a valid array; this is a
                    // bug, and the rows are lost rather than the query.
                    tracing::error!(error = %err, "could not build a decoded column");
                    new_null_array(column.data_type(), rows)
                })
            })
            .collect()
    }

    /// Takes the appended rows as a record batch with the decoder's fields as its schema.
    pub fn finish_batch(&mut self) -> Result<RecordBatch> {
        let rows = self.rows;
        let columns = self.finish();
        let schema = Arc::new(Schema::new(self.fields.clone()));
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(schema, columns, &options)?)
    }
}

/// Encodes rows of Arrow columns of one side into bytes.
pub struct RowEncoder {
    spec: FormatSpec,
    fields: Fields,
    encoder: Box<dyn Encode>,
    null_rows_absent: bool,
    /// The largest average row size seen, to size a batch's buffer up front.
    row_size_hint: usize,
}

impl RowEncoder {
    /// An encoder for rows with the given columns (same rules as [`RowDecoder::new`]).
    pub fn new(spec: &FormatSpec, fields: Fields) -> Result<Self> {
        check_supported(spec.kind)?;
        let encoder: Box<dyn Encode> = match spec.kind {
            FormatKind::Json => Box::new(json::JsonEncoder::new(&fields, spec.wrap_single)?),
            FormatKind::Delimited => Box::new(delimited::DelimitedEncoder::new(&fields, delimiter_byte(spec)?)?),
            FormatKind::Kafka => Box::new(kafka::KafkaEncoder::new(&fields)?),
            FormatKind::None => Box::new(none::NoneEncoder::new(&fields)?),
            other => {
                return Err(Error::internal(format!("format {} unchecked", other.name())));
            }
        };
        Ok(Self { spec: spec.clone(), fields, encoder, null_rows_absent: false, row_size_hint: 16 })
    }

    /// When set, a row whose every column is null encodes as no bytes (`None`) instead of,
    /// say, `{"K1":null,"K2":null}`. Use it for keys: a record read with a null key comes back
    /// as a row of nulls, and ksqlDB writes its key as null again. Values keep their nulls
    /// (`{"NAME":null}` is not a tombstone).
    pub fn null_rows_absent(mut self, yes: bool) -> Self {
        self.null_rows_absent = yes;
        self
    }

    /// The format this encoder writes.
    pub fn spec(&self) -> &FormatSpec {
        &self.spec
    }

    /// The columns this encoder expects.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Encodes every row of `columns` (one array per field, equal lengths) and pushes one entry
    /// per row onto `out`. A format with no columns (NONE, or an empty key) yields `None`; as
    /// no columns carry no row count, use [`RowEncoder::encode_rows`] for those. On error
    /// nothing is pushed.
    ///
    /// The rows are encoded into one buffer that the pushed entries slice: a batch costs one
    /// allocation, not one per row.
    pub fn encode(&mut self, columns: &[ArrayRef], out: &mut Vec<Option<Bytes>>) -> Result<()> {
        if columns.is_empty() && self.fields.is_empty() {
            // No columns, no row count: the caller encodes an empty key or NONE per row
            // itself; nothing to push.
            return Ok(());
        }
        let packed = self.encode_packed(columns)?;
        out.extend((0..packed.len()).map(|i| packed.bytes(i)));
        Ok(())
    }

    /// [`RowEncoder::encode`] returning the rows as they were written: one buffer and where
    /// each row is in it (a producer can hand that to a topic as it is). With no columns it
    /// returns no rows.
    pub fn encode_packed(&mut self, columns: &[ArrayRef]) -> Result<PackedBytes> {
        if columns.len() != self.fields.len() {
            return Err(Error::internal(format!(
                "{} encoder given {} columns for {} fields",
                self.spec.kind.name(),
                columns.len(),
                self.fields.len()
            )));
        }
        let Some(rows) = columns.first().map(|c| c.len()) else {
            return Ok(PackedBytes::default());
        };
        if let Some((field, column)) = self
            .fields
            .iter()
            .zip(columns)
            .find(|(f, c)| c.len() != rows || !types_compatible(f.data_type(), c.data_type()))
        {
            return Err(Error::internal(format!(
                "column '{}' to encode is {} with {} rows, expected {} with {rows} rows",
                field.name(),
                column.data_type(),
                column.len(),
                field.data_type()
            )));
        }
        let mut buffer = Vec::with_capacity(self.row_size_hint.saturating_mul(rows));
        // (start, end) of each row's bytes in `buffer`, `None` for a null row. Nothing is
        // returned before every row is encoded: all or nothing, like decoding.
        let mut spans: Vec<Option<(usize, usize)>> = Vec::with_capacity(rows);
        for row in 0..rows {
            if self.null_rows_absent && columns.iter().all(|c| c.is_null(row)) {
                spans.push(None);
                continue;
            }
            let start = buffer.len();
            if self.encoder.encode(columns, row, &mut buffer)? {
                spans.push(Some((start, buffer.len())));
            } else {
                buffer.truncate(start);
                spans.push(None);
            }
        }
        if rows > 0 {
            self.row_size_hint = self.row_size_hint.max(buffer.len().div_ceil(rows));
        }
        let mut packed = PackedBytes::with_capacity(Bytes::from(buffer), rows);
        for span in spans {
            packed.push(span.map(|(start, end)| start..end))?;
        }
        Ok(packed)
    }

    /// Encodes `rows` rows: like [`RowEncoder::encode`], but also right for a side with no
    /// columns, where it pushes `rows` times `None`.
    pub fn encode_rows(&mut self, columns: &[ArrayRef], rows: usize, out: &mut Vec<Option<Bytes>>) -> Result<()> {
        if self.fields.is_empty() {
            out.extend(std::iter::repeat_n(None, rows));
            return Ok(());
        }
        self.encode(columns, out)
    }
}

/// Whether a column of type `actual` can be written for a field declared `expected`: the same
/// type, or the same kind of value (an expression may produce Int64 for an INT field, a view
/// type for a string); the encoders read every integer, float, string and binary layout.
fn types_compatible(expected: &arrow::datatypes::DataType, actual: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType as D;
    let class = |t: &D| match t {
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => 1,
        D::Float16 | D::Float32 | D::Float64 => 2,
        D::Utf8 | D::LargeUtf8 | D::Utf8View => 3,
        D::Binary | D::LargeBinary | D::BinaryView => 4,
        D::Null => 0,
        _ => 5,
    };
    expected == actual
        || *actual == D::Null
        || (class(expected) == class(actual) && class(expected) < 5)
        || expected.equals_datatype(actual)
        || matches!(
            (expected, actual),
            (D::List(_), D::List(_) | D::LargeList(_))
                | (D::Map(_, _), D::Map(_, _))
                | (D::Struct(_), D::Struct(_))
                | (D::Decimal128(_, _), D::Decimal128(_, _))
                | (D::Timestamp(_, _), D::Timestamp(_, _))
                | (D::Date32, D::Date64)
                | (D::Time32(_), D::Time32(_) | D::Time64(_))
        )
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field};

    use super::*;

    #[test]
    fn format_names_parse_and_print() {
        for kind in [
            FormatKind::Kafka,
            FormatKind::Json,
            FormatKind::Delimited,
            FormatKind::None,
            FormatKind::Avro,
            FormatKind::Protobuf,
            FormatKind::ProtobufNoSr,
            FormatKind::JsonSr,
        ] {
            assert_eq!(FormatKind::parse(&kind.name().to_lowercase()).unwrap(), kind);
        }
        let err = FormatKind::parse("foo").unwrap_err();
        assert_eq!(err.message(), "Unknown format: FOO");
    }

    #[test]
    fn decode_error_becomes_a_user_error() {
        let err: Error = DecodeError("bad".into()).into();
        assert_eq!(err.kind(), crate::error::ErrorKind::User);
        assert_eq!(DecodeError("bad".into()).to_string(), "bad");
    }

    #[test]
    fn finish_batch_uses_the_fields() {
        let fields =
            Fields::from(vec![Field::new("ID", DataType::Int64, true), Field::new("NAME", DataType::Utf8, true)]);
        let mut decoder = RowDecoder::new(&FormatSpec::new(FormatKind::Json), fields).unwrap();
        decoder.append(Some(br#"{"id": 1, "name": "a"}"#)).unwrap();
        decoder.append(None).unwrap();
        let batch = decoder.finish_batch().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema().field(1).name(), "NAME");
        assert!(batch.column(0).is_null(1));
        assert!(decoder.is_empty());
    }

    #[test]
    fn encoder_checks_the_columns_it_is_given() {
        let fields = Fields::from(vec![Field::new("V", DataType::Int32, true)]);
        let mut encoder = RowEncoder::new(&FormatSpec::new(FormatKind::Json), fields).unwrap();
        let mut out = Vec::new();
        let strings: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        let err = encoder.encode(&[strings], &mut out).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Internal);
        assert!(encoder.encode(&[], &mut out).is_err());
        // A wider integer from an expression is fine.
        let wide: ArrayRef = Arc::new(Int64Array::from(vec![7]));
        encoder.encode(&[wide], &mut out).unwrap();
        let narrow: ArrayRef = Arc::new(Int32Array::from(vec![8]));
        encoder.encode(&[narrow], &mut out).unwrap();
        assert_eq!(out, vec![Some(Bytes::from_static(br#"{"V":7}"#)), Some(Bytes::from_static(br#"{"V":8}"#))]);
    }

    #[test]
    fn null_key_rows_can_encode_as_no_bytes() {
        // delimited.json "multi-column key": a null DELIMITED key written as a JSON key.
        let fields = Fields::from(vec![Field::new("K1", DataType::Utf8, true), Field::new("K2", DataType::Utf8, true)]);
        let mut decoder = RowDecoder::new(&FormatSpec::new(FormatKind::Delimited), fields.clone()).unwrap();
        decoder.append(Some(b"foo,bar")).unwrap();
        decoder.append(None).unwrap();
        decoder.append(Some(b"foo,")).unwrap();
        let columns = decoder.finish();
        let json = FormatSpec::new(FormatKind::Json);
        let mut out = Vec::new();
        RowEncoder::new(&json, fields.clone()).unwrap().null_rows_absent(true).encode(&columns, &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                Some(Bytes::from_static(br#"{"K1":"foo","K2":"bar"}"#)),
                None,
                Some(Bytes::from_static(br#"{"K1":"foo","K2":null}"#))
            ]
        );
        out.clear();
        RowEncoder::new(&json, fields).unwrap().encode(&columns, &mut out).unwrap();
        assert_eq!(out[1].as_deref(), Some(&br#"{"K1":null,"K2":null}"#[..]));
    }
}
