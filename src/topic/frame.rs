//! The on-disk encoding of one record: a length-prefixed, CRC32-checked frame.
//!
//! ```text
//! frame  = len:u32 crc:u32 body          (len = body length, crc = CRC32 of body; little endian)
//! body   = offset:i64 timestamp:i64 key:bytes value:bytes count:u32 header*
//! header = name_len:u32 name:utf8 value:bytes
//! bytes  = len:i32 data                  (len = -1 means null, distinct from an empty array)
//! ```
//!
//! The length comes first so a reader can skip a frame without decoding it, and the CRC covers
//! the whole body so a torn or bit-flipped tail is detected rather than decoded into garbage.
//! The offset opens the body so that a read can skip records before its start offset by looking
//! at eight bytes. Everything is little endian: the files never leave this machine.

use crate::error::{Error, Result};
use crate::topic::{Bytes, Header, Record};

/// Bytes before the body: the length and the CRC.
pub(crate) const FRAME_HEADER: usize = 8;

/// The largest body we accept. Anything bigger in a length prefix is corruption, not a record;
/// without a bound a flipped bit in a length could make recovery allocate gigabytes.
pub(crate) const MAX_BODY: usize = 256 * 1024 * 1024;

/// The encoded size of a record's frame, header included.
pub(crate) fn frame_len(record: &Record) -> usize {
    frame_len_of(record.key.as_ref().map(|k| k.len()), record.value.as_ref().map(|v| v.len()), &record.headers)
}

/// [`frame_len`] from the lengths of the key and value (`None` when null) and the headers.
pub(crate) fn frame_len_of(key: Option<usize>, value: Option<usize>, headers: &[Header]) -> usize {
    let headers: usize =
        headers.iter().map(|(name, value)| 4 + name.len() + 4 + value.as_ref().map_or(0, Vec::len)).sum();
    FRAME_HEADER + 8 + 8 + 4 + key.unwrap_or(0) + 4 + value.unwrap_or(0) + 4 + headers
}

/// Appends the frame of `record` to `out`.
pub(crate) fn encode(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    out.reserve(frame_len(record));
    // Placeholders for length and CRC, patched once the body is written.
    out.extend_from_slice(&[0; FRAME_HEADER]);
    let body_start = out.len();
    out.extend_from_slice(&record.offset.to_le_bytes());
    out.extend_from_slice(&record.timestamp.to_le_bytes());
    put_bytes(out, record.key.as_deref());
    put_bytes(out, record.value.as_deref());
    out.extend_from_slice(&(record.headers.len() as u32).to_le_bytes());
    for (name, value) in &record.headers {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        put_bytes(out, value.as_deref());
    }
    let body_len = (out.len() - body_start) as u32;
    let crc = crc32fast::hash(&out[body_start..]);
    out[start..start + 4].copy_from_slice(&body_len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.extend_from_slice(&(-1i32).to_le_bytes()),
        Some(bytes) => {
            out.extend_from_slice(&(bytes.len() as i32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

/// What a frame header says about the bytes that follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameHeader {
    /// A plausible frame whose body is `len` bytes with checksum `crc`.
    Frame { len: usize, crc: u32 },
    /// A length no record can have: the bytes are not a frame.
    Corrupt,
}

/// Parses the eight header bytes of a frame.
pub(crate) fn parse_header(bytes: &[u8; FRAME_HEADER]) -> FrameHeader {
    let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    // The smallest body: offset, timestamp, two null byte arrays, a header count.
    if !(8 + 8 + 4 + 4 + 4..=MAX_BODY).contains(&len) {
        return FrameHeader::Corrupt;
    }
    FrameHeader::Frame { len, crc }
}

/// Whether `body` matches the CRC from its frame header.
pub(crate) fn crc_ok(body: &[u8], crc: u32) -> bool {
    crc32fast::hash(body) == crc
}

/// The offset of a body, read without decoding the rest.
pub(crate) fn body_offset(body: &[u8]) -> Result<i64> {
    Reader { bytes: body, pos: 0 }.i64()
}

/// The offset and timestamp of a body, read without decoding the rest.
pub(crate) fn body_offset_timestamp(body: &[u8]) -> Result<(i64, i64)> {
    let mut reader = Reader { bytes: body, pos: 0 };
    Ok((reader.i64()?, reader.i64()?))
}

/// Decodes a (CRC-checked) body into a record of `partition`.
pub(crate) fn decode(body: &[u8], partition: i32) -> Result<Record> {
    let mut reader = Reader { bytes: body, pos: 0 };
    let offset = reader.i64()?;
    let timestamp = reader.i64()?;
    let key = reader.bytes()?.map(Bytes::copy_from_slice);
    let value = reader.bytes()?.map(Bytes::copy_from_slice);
    let count = reader.u32()? as usize;
    // Each header takes at least eight bytes: never trust a count the body cannot hold.
    if count > reader.remaining() / 8 {
        return Err(corrupt("header count exceeds the record"));
    }
    let mut headers: Vec<Header> = Vec::with_capacity(count);
    for _ in 0..count {
        let name_len = reader.u32()? as usize;
        let name =
            String::from_utf8(reader.take(name_len)?.to_vec()).map_err(|_| corrupt("header name is not utf-8"))?;
        headers.push((name, reader.bytes()?.map(<[u8]>::to_vec)));
    }
    if reader.remaining() != 0 {
        return Err(corrupt("trailing bytes after the record"));
    }
    Ok(Record { partition, offset, timestamp, key, value, headers })
}

fn corrupt(what: &str) -> Error {
    Error::external(format!("corrupt record in the embedded log: {what}"))
}

/// A bounds-checked cursor over a body.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(corrupt("record is shorter than its fields"));
        }
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn bytes(&mut self) -> Result<Option<&'a [u8]>> {
        let len = i32::from_le_bytes(self.array()?);
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(corrupt("negative length")),
            n => Ok(Some(self.take(n as usize)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            partition: 3,
            offset: 42,
            timestamp: -7,
            key: Some(Bytes::new()),
            value: None,
            headers: vec![("a".into(), None), ("b".into(), Some(vec![])), ("c".into(), Some(b"x".to_vec()))],
        }
    }

    fn split(frame: &[u8]) -> (FrameHeader, &[u8]) {
        let mut header = [0; FRAME_HEADER];
        header.copy_from_slice(&frame[..FRAME_HEADER]);
        (parse_header(&header), &frame[FRAME_HEADER..])
    }

    #[test]
    fn round_trip_keeps_null_distinct_from_empty() {
        let rec = record();
        let mut buf = Vec::new();
        encode(&rec, &mut buf);
        assert_eq!(buf.len(), frame_len(&rec));
        let (header, body) = split(&buf);
        let FrameHeader::Frame { len, crc } = header else { panic!("bad header") };
        assert_eq!(len, body.len());
        assert!(crc_ok(body, crc));
        assert_eq!(body_offset(body).unwrap(), 42);
        assert_eq!(body_offset_timestamp(body).unwrap(), (42, -7));
        assert_eq!(decode(body, 3).unwrap(), rec);
    }

    #[test]
    fn flipped_bit_fails_the_crc() {
        let mut buf = Vec::new();
        encode(&record(), &mut buf);
        let last = buf.len() - 1;
        buf[last] ^= 1;
        let (FrameHeader::Frame { crc, .. }, body) = split(&buf) else { panic!("bad header") };
        assert!(!crc_ok(body, crc));
    }

    #[test]
    fn zeroed_or_huge_lengths_are_corrupt() {
        assert_eq!(parse_header(&[0; FRAME_HEADER]), FrameHeader::Corrupt);
        assert_eq!(parse_header(&[0xff; FRAME_HEADER]), FrameHeader::Corrupt);
    }

    #[test]
    fn truncated_body_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        encode(&record(), &mut buf);
        let body = &buf[FRAME_HEADER..];
        for cut in 0..body.len() {
            assert!(decode(&body[..cut], 0).is_err(), "cut at {cut}");
        }
    }
}
