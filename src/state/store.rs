//! The seam between a stateful operator's in-memory structures and their durability: a
//! [`StateStore`] is something whose live entries can be streamed out (to a local snapshot)
//! and rebuilt from entries streamed back in (from a snapshot, then the changelog's tail).
//!
//! Entries are the changelog's: a tag byte saying what kind of entry it is (see
//! `changelog::GROUP`), a key and a value, `None` deleting the key. A *windowed* store keys its
//! entries by the record key followed by the window start, 8 bytes big-endian
//! ([`windowed_key`]), so that byte order is key order then window order, as Kafka Streams'
//! windowed stores order them; a key-value store uses the key alone.
//!
//! The aggregation (`exec::aggregate`) is the store that matters: it keeps its groups in
//! columnar accumulators behind a hash table, which is several times denser than a map of
//! encoded entries, and implements this trait by encoding entries on the way out and decoding
//! them on the way in. [`MemoryStore`] is the plain ordered map of entries: the reference the
//! restore path is tested against.

use std::collections::BTreeMap;

use crate::error::Result;

/// One state entry: the unit of changelogs and snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What kind of entry (`changelog::GROUP`, `changelog::TABLE_ROW`).
    pub tag: u8,
    pub key: Vec<u8>,
    /// `None`: the key is deleted.
    pub value: Option<Vec<u8>>,
}

/// State that can be snapshotted and restored entry by entry.
pub trait StateStore {
    /// Number of live entries: what a snapshot of the store holds.
    fn entry_count(&self) -> usize;

    /// Streams every live entry to `sink`, at most `chunk` at a time, so that a snapshot of
    /// millions of entries never holds more than one chunk of them encoded.
    fn scan(&self, chunk: usize, sink: &mut dyn FnMut(&[Entry]) -> Result<()>) -> Result<()>;

    /// Applies restored entries in order: a value puts (replacing what the key held), `None`
    /// deletes. Within one call a key appears at most once (a snapshot holds each key once; a
    /// changelog batch writes each changed key once).
    fn apply(&mut self, entries: Vec<Entry>) -> Result<()>;
}

/// The key of a windowed entry: `key` then the window start, big-endian, so that entries
/// order by key and then by window (window starts are epoch-aligned event times, which are
/// not negative in practice; a negative start would sort after the positive ones).
pub fn windowed_key(key: &[u8], window_start: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 8);
    out.extend_from_slice(key);
    out.extend_from_slice(&window_start.to_be_bytes());
    out
}

/// Splits a windowed entry key into the record key and the window start; `None` when it is
/// too short to hold a window.
pub fn split_windowed_key(key: &[u8]) -> Option<(&[u8], i64)> {
    let (key, start) = key.split_at_checked(key.len().checked_sub(8)?)?;
    Some((key, i64::from_be_bytes(start.try_into().ok()?)))
}

/// A key-value store in memory: an ordered map from (tag, key) to value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemoryStore {
    entries: BTreeMap<(u8, Vec<u8>), Vec<u8>>,
}

impl MemoryStore {
    /// The value of `key` under `tag`.
    pub fn get(&self, tag: u8, key: &[u8]) -> Option<&[u8]> {
        self.entries.get(&(tag, key.to_vec())).map(Vec::as_slice)
    }

    /// Puts or (with `None`) deletes one entry.
    pub fn put(&mut self, tag: u8, key: &[u8], value: Option<Vec<u8>>) {
        match value {
            Some(v) => self.entries.insert((tag, key.to_vec()), v),
            None => self.entries.remove(&(tag, key.to_vec())),
        };
    }

    /// The entries under `tag` whose key starts with `prefix`, in key order (for a windowed
    /// store, the windows of one key in window order).
    pub fn prefix<'a>(&'a self, tag: u8, prefix: &'a [u8]) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        self.entries
            .range((tag, prefix.to_vec())..)
            .take_while(move |((t, k), _)| *t == tag && k.starts_with(prefix))
            .map(|((_, k), v)| (k.as_slice(), v.as_slice()))
    }
}

impl StateStore for MemoryStore {
    fn entry_count(&self) -> usize {
        self.entries.len()
    }

    fn scan(&self, chunk: usize, sink: &mut dyn FnMut(&[Entry]) -> Result<()>) -> Result<()> {
        let mut buffer = Vec::with_capacity(chunk.min(self.entries.len()));
        for ((tag, key), value) in &self.entries {
            buffer.push(Entry { tag: *tag, key: key.clone(), value: Some(value.clone()) });
            if buffer.len() >= chunk.max(1) {
                sink(&buffer)?;
                buffer.clear();
            }
        }
        if !buffer.is_empty() {
            sink(&buffer)?;
        }
        Ok(())
    }

    fn apply(&mut self, entries: Vec<Entry>) -> Result<()> {
        for entry in entries {
            self.put(entry.tag, &entry.key, entry.value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windowed_keys_order_by_key_then_window() {
        let mut store = MemoryStore::default();
        for (key, start) in [("b", 0), ("a", 20), ("a", 10), ("ab", 0)] {
            store.put(b'G', &windowed_key(key.as_bytes(), start), Some(vec![1]));
        }
        let windows: Vec<(&[u8], i64)> =
            store.prefix(b'G', b"a").map(|(k, _)| split_windowed_key(k).unwrap()).collect();
        // "ab" shares the prefix: a prefix scan of a windowed store is by bytes, not by key.
        assert_eq!(windows, vec![(&b"a"[..], 10), (&b"a"[..], 20), (&b"ab"[..], 0)]);
        let key = windowed_key(b"k", 42);
        let (key, start) = split_windowed_key(&key).unwrap();
        assert_eq!((key, start), (&b"k"[..], 42));
        assert!(split_windowed_key(b"short").is_none());
    }

    #[test]
    fn scan_streams_in_chunks_and_apply_round_trips() {
        let mut store = MemoryStore::default();
        for i in 0..10u8 {
            store.put(b'G', &[i], Some(vec![i; 3]));
        }
        let mut chunks = Vec::new();
        let mut copy = MemoryStore::default();
        store
            .scan(4, &mut |entries| {
                chunks.push(entries.len());
                copy.apply(entries.to_vec())
            })
            .unwrap();
        assert_eq!(chunks, vec![4, 4, 2]);
        assert_eq!(copy, store);
        copy.apply(vec![Entry { tag: b'G', key: vec![3], value: None }]).unwrap();
        assert_eq!(copy.entry_count(), 9);
        assert_eq!(copy.get(b'G', &[4]), Some(&[4u8, 4, 4][..]));
    }
}
