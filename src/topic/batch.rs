//! Records produced together: [`ProducerBatch`], whose keys and values are [`PackedBytes`],
//! many byte strings sliced out of one shared buffer.
//!
//! A producer that already holds its records' bytes in one buffer (an encoder writing a batch
//! of rows, a loader holding a file) hands the buffer over once, with where each record's bytes
//! start and end. The embedded log keeps such a batch as it is: a few bytes of bookkeeping per
//! record instead of a [`Record`](crate::topic::Record) and two reference-counted handles
//! each, which for small records was most of the memory (and of the page faults) of a log.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::topic::{Bytes, Header, ProducerRecord};

/// Byte strings, each null or a range of one shared buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedBytes {
    buffer: Bytes,
    /// `[start, end)` of each entry in `buffer`; a start of [`NULL`] marks a null entry.
    spans: Vec<[usize; 2]>,
}

/// The start of a null entry's span (no buffer is that long).
const NULL: usize = usize::MAX;

impl PackedBytes {
    /// No entries yet over `buffer`.
    pub fn new(buffer: Bytes) -> Self {
        Self::with_capacity(buffer, 0)
    }

    /// [`PackedBytes::new`] with room for `entries` entries.
    pub fn with_capacity(buffer: Bytes, entries: usize) -> Self {
        Self { buffer, spans: Vec::with_capacity(entries) }
    }

    /// Copies `entries` into a fresh buffer of their own.
    pub fn copied<'a>(entries: impl IntoIterator<Item = Option<&'a [u8]>>) -> Self {
        let mut buffer = Vec::new();
        let mut spans = Vec::new();
        for entry in entries {
            match entry {
                None => spans.push([NULL, NULL]),
                Some(bytes) => {
                    let start = buffer.len();
                    buffer.extend_from_slice(bytes);
                    spans.push([start, buffer.len()]);
                }
            }
        }
        Self { buffer: Bytes::from(buffer), spans }
    }

    /// Adds an entry: `buffer[range]`, or null. An internal error when the range is not in the
    /// buffer (a producer bug).
    #[inline]
    pub fn push(&mut self, range: Option<Range<usize>>) -> Result<()> {
        match range {
            None => self.spans.push([NULL, NULL]),
            Some(range) => {
                if range.start > range.end || range.end > self.buffer.len() {
                    return Err(Error::internal(format!(
                        "entry {range:?} is outside a batch buffer of {} bytes",
                        self.buffer.len()
                    )));
                }
                self.spans.push([range.start, range.end]);
            }
        }
        Ok(())
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The bytes of entry `i`, `None` when null (or out of range).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let [start, end] = *self.spans.get(i)?;
        (start != NULL).then(|| &self.buffer[start..end])
    }

    /// The length of entry `i`, `None` when null (or out of range).
    #[inline]
    pub fn entry_len(&self, i: usize) -> Option<usize> {
        let [start, end] = *self.spans.get(i)?;
        (start != NULL).then_some(end - start)
    }

    /// Entry `i` as its own handle on the shared buffer (no copy), `None` when null.
    #[inline]
    pub fn bytes(&self, i: usize) -> Option<Bytes> {
        let [start, end] = *self.spans.get(i)?;
        (start != NULL).then(|| self.buffer.slice(start..end))
    }

    /// The buffer the entries slice.
    pub fn buffer(&self) -> &Bytes {
        &self.buffer
    }

    /// Where entry `i` is in [`PackedBytes::buffer`], `None` when null (or out of range).
    #[inline]
    pub fn range(&self, i: usize) -> Option<Range<usize>> {
        let [start, end] = *self.spans.get(i)?;
        (start != NULL).then_some(start..end)
    }

    /// Entries `range` over the same buffer (no copy of the bytes).
    pub fn slice(&self, range: Range<usize>) -> Self {
        Self { buffer: self.buffer.clone(), spans: self.spans[range].to_vec() }
    }

    /// The entries at `indices`, in that order, over the same buffer.
    pub fn select(&self, indices: &[usize]) -> Self {
        Self { buffer: self.buffer.clone(), spans: indices.iter().map(|&i| self.spans[i]).collect() }
    }

    /// Every entry in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&[u8]>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Records to append to one topic together; record `i` is `timestamps[i]`, key `i` (every key
/// null when `keys` is `None`), value `i` and, when `headers` is not empty, `headers[i]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerBatch {
    /// The partition of every record; `None` places each as [`ProducerRecord`]'s does.
    pub partition: Option<i32>,
    pub timestamps: Vec<i64>,
    /// `None`: every key is null.
    pub keys: Option<PackedBytes>,
    /// A null value is a tombstone.
    pub values: PackedBytes,
    /// One list per record, or empty when no record has headers.
    pub headers: Vec<Vec<Header>>,
}

impl ProducerBatch {
    /// The number of records.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// Whether the batch has no record.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// An internal error unless every part has one entry per record.
    pub fn check(&self) -> Result<()> {
        let n = self.len();
        let keys_ok = self.keys.as_ref().is_none_or(|k| k.len() == n);
        let headers_ok = self.headers.is_empty() || self.headers.len() == n;
        if self.values.len() != n || !keys_ok || !headers_ok {
            return Err(Error::internal(format!(
                "a producer batch of {n} timestamps has {} values, {} keys and {} header lists",
                self.values.len(),
                self.keys.as_ref().map_or(0, PackedBytes::len),
                self.headers.len()
            )));
        }
        Ok(())
    }

    /// The key of record `i`, `None` when null.
    #[inline]
    pub fn key(&self, i: usize) -> Option<&[u8]> {
        self.keys.as_ref().and_then(|k| k.get(i))
    }

    /// The headers of record `i`.
    #[inline]
    pub fn headers_of(&self, i: usize) -> &[Header] {
        self.headers.get(i).map_or(&[], Vec::as_slice)
    }

    /// Records `range` of the batch (the bytes stay shared).
    pub fn slice(&self, range: Range<usize>) -> Self {
        Self {
            partition: self.partition,
            timestamps: self.timestamps[range.clone()].to_vec(),
            keys: self.keys.as_ref().map(|k| k.slice(range.clone())),
            values: self.values.slice(range.clone()),
            headers: if self.headers.is_empty() { Vec::new() } else { self.headers[range].to_vec() },
        }
    }

    /// The records at `indices`, in that order (the bytes stay shared).
    pub fn select(&self, indices: &[usize]) -> Self {
        Self {
            partition: self.partition,
            timestamps: indices.iter().map(|&i| self.timestamps[i]).collect(),
            keys: self.keys.as_ref().map(|k| k.select(indices)),
            values: self.values.select(indices),
            headers: if self.headers.is_empty() {
                Vec::new()
            } else {
                indices.iter().map(|&i| self.headers[i].clone()).collect()
            },
        }
    }

    /// The batch as one [`ProducerRecord`] per record (their bytes slice the shared buffers).
    pub fn into_records(self) -> Vec<ProducerRecord> {
        (0..self.len())
            .map(|i| ProducerRecord {
                partition: self.partition,
                timestamp: self.timestamps[i],
                key: self.keys.as_ref().and_then(|k| k.bytes(i)),
                value: self.values.bytes(i),
                headers: self.headers.get(i).cloned().unwrap_or_default(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_slice_the_shared_buffer() {
        let buffer = Bytes::from_static(b"abc\ndef\n\n");
        let mut packed = PackedBytes::new(buffer.clone());
        packed.push(Some(0..3)).unwrap();
        packed.push(None).unwrap();
        packed.push(Some(4..7)).unwrap();
        packed.push(Some(8..8)).unwrap();
        assert_eq!(packed.len(), 4);
        assert_eq!(packed.iter().collect::<Vec<_>>(), vec![Some(&b"abc"[..]), None, Some(b"def"), Some(b"")]);
        assert_eq!(packed.entry_len(1), None);
        assert_eq!(packed.entry_len(3), Some(0));
        assert_eq!((packed.range(2), packed.range(1)), (Some(4..7), None));
        assert_eq!(packed.get(4), None);
        let def = packed.bytes(2).unwrap();
        assert!(buffer.as_ptr_range().contains(&def.as_ptr()), "an entry is a slice, not a copy");
        assert_eq!(packed.slice(1..3).iter().collect::<Vec<_>>(), vec![None, Some(&b"def"[..])]);
        assert_eq!(packed.select(&[3, 0]).iter().collect::<Vec<_>>(), vec![Some(&b""[..]), Some(b"abc")]);
        assert_eq!(packed.push(Some(8..10)).unwrap_err().kind(), crate::error::ErrorKind::Internal);
        assert_eq!(PackedBytes::copied(packed.iter()), {
            let mut own = PackedBytes::new(Bytes::from_static(b"abcdef"));
            for range in [Some(0..3), None, Some(3..6), Some(6..6)] {
                own.push(range).unwrap();
            }
            own
        });
    }

    #[test]
    fn batches_check_their_lengths_and_become_records() {
        let mut values = PackedBytes::new(Bytes::from_static(b"xy"));
        values.push(Some(0..1)).unwrap();
        values.push(None).unwrap();
        let mut batch = ProducerBatch { timestamps: vec![5, 6], values, ..Default::default() };
        batch.check().unwrap();
        assert_eq!(batch.key(0), None);
        assert!(batch.headers_of(1).is_empty());
        let records = batch.clone().into_records();
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].timestamp, records[0].value.as_deref()), (5, Some(&b"x"[..])));
        assert_eq!((records[1].timestamp, records[1].value.as_deref()), (6, None));
        assert_eq!(batch.slice(1..2).timestamps, vec![6]);
        assert_eq!(batch.select(&[1, 0]).values.get(1), Some(&b"x"[..]));
        batch.headers = vec![vec![]];
        assert!(batch.check().is_err());
    }
}
