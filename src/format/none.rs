//! The NONE format: a side with no columns, whose bytes (if any) are ignored.
//!
//! ksqlDB uses it for keyless streams; decoding any bytes yields an empty row and encoding
//! yields no bytes.

use arrow::array::ArrayRef;
use arrow::datatypes::Fields;

use super::DecodeError;
use super::builder::ColumnBuilder;
use super::scalar::type_name;
use crate::error::{Error, Result};

/// Fails unless there are no columns.
fn check_fields(fields: &Fields) -> Result<()> {
    if fields.is_empty() {
        return Ok(());
    }
    let columns: Vec<String> = fields.iter().map(|f| format!("`{}` {}", f.name(), type_name(f.data_type()))).collect();
    Err(Error::user(format!(
        "The 'NONE' format can only be used when no columns are defined. Got: [{}]",
        columns.join(", ")
    )))
}

/// Decodes nothing.
pub(crate) struct NoneDecoder;

impl NoneDecoder {
    pub(crate) fn new(fields: &Fields) -> Result<Self> {
        check_fields(fields)?;
        Ok(Self)
    }
}

impl super::Decode for NoneDecoder {
    fn decode(&mut self, _bytes: &[u8], _columns: &mut [ColumnBuilder]) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// Encodes nothing.
pub(crate) struct NoneEncoder;

impl NoneEncoder {
    pub(crate) fn new(fields: &Fields) -> Result<Self> {
        check_fields(fields)?;
        Ok(Self)
    }
}

impl super::Encode for NoneEncoder {
    fn encode(&mut self, _columns: &[ArrayRef], _row: usize, _out: &mut Vec<u8>) -> Result<bool> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field};

    use super::*;
    use crate::format::{FormatKind, FormatSpec, RowDecoder, RowEncoder};

    #[test]
    fn any_bytes_decode_to_an_empty_row() {
        let spec = FormatSpec::new(FormatKind::None);
        let mut decoder = RowDecoder::new(&spec, Fields::empty()).unwrap();
        decoder.append(Some(b"\x00garbage")).unwrap();
        decoder.append(None).unwrap();
        assert_eq!(decoder.len(), 2);
        assert!(decoder.finish().is_empty());
        let batch = decoder.finish_batch().unwrap();
        assert_eq!(batch.num_rows(), 0);
        let mut encoder = RowEncoder::new(&spec, Fields::empty()).unwrap();
        let mut out = Vec::new();
        encoder.encode_rows(&[], 3, &mut out).unwrap();
        assert_eq!(out, vec![None, None, None]);
    }

    #[test]
    fn columns_are_a_user_error() {
        let spec = FormatSpec::new(FormatKind::None);
        let fields = Fields::from(vec![Field::new("K", DataType::Utf8, true)]);
        let err = RowDecoder::new(&spec, fields.clone()).err().unwrap();
        assert_eq!(err.message(), "The 'NONE' format can only be used when no columns are defined. Got: [`K` STRING]");
        assert!(RowEncoder::new(&spec, fields).is_err());
    }
}
