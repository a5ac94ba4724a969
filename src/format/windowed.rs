//! Windowed keys on the wire, laid out as Kafka Streams (and so ksqlDB) serializes them.
//!
//! - time windows (tumbling, hopping): `key bytes ++ start` (8 bytes, big-endian epoch ms); the
//!   end is not stored: it is `start + size`.
//! - session windows: `key bytes ++ end ++ start` (8 bytes each, big-endian epoch ms).
//!
//! The key bytes themselves are whatever the key format produced; a NULL key is empty.

use crate::error::{Error, Result};

/// How a windowed key stores its window after the key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowLayout {
    /// Tumbling and hopping windows: only the start is stored; the end is `start + size_ms`.
    Time {
        /// The window size in milliseconds.
        size_ms: u64,
    },
    /// Session windows: end, then start.
    Session,
}

impl WindowLayout {
    /// Bytes of window after the key bytes.
    fn suffix_len(self) -> usize {
        match self {
            WindowLayout::Time { .. } => 8,
            WindowLayout::Session => 16,
        }
    }
}

/// The window bounds of a windowed key, in epoch milliseconds (end exclusive for time windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowBounds {
    /// Start.
    pub start: i64,
    /// End.
    pub end: i64,
}

/// Appends the window to serialized key bytes (`None` is an empty key).
pub fn encode_windowed_key(key: Option<&[u8]>, layout: WindowLayout, bounds: WindowBounds) -> Vec<u8> {
    let key = key.unwrap_or_default();
    let mut bytes = Vec::with_capacity(key.len() + layout.suffix_len());
    bytes.extend_from_slice(key);
    if layout == WindowLayout::Session {
        bytes.extend_from_slice(&bounds.end.to_be_bytes());
    }
    bytes.extend_from_slice(&bounds.start.to_be_bytes());
    bytes
}

/// Splits windowed key bytes into the serialized key (`None` when empty) and the window.
pub fn decode_windowed_key(bytes: &[u8], layout: WindowLayout) -> Result<(Option<&[u8]>, WindowBounds)> {
    let suffix = layout.suffix_len();
    let Some(split) = bytes.len().checked_sub(suffix) else {
        return Err(Error::user(format!(
            "a windowed key needs at least {suffix} bytes of window, got {} bytes",
            bytes.len()
        )));
    };
    let (key, tail) = bytes.split_at(split);
    let long = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&tail[at..at + 8]);
        i64::from_be_bytes(b)
    };
    let bounds = match layout {
        WindowLayout::Time { size_ms } => {
            let start = long(0);
            WindowBounds { start, end: start.saturating_add(i64::try_from(size_ms).unwrap_or(i64::MAX)) }
        }
        WindowLayout::Session => WindowBounds { start: long(8), end: long(0) },
    };
    Ok((if key.is_empty() { None } else { Some(key) }, bounds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windows_store_the_start_only() {
        let layout = WindowLayout::Time { size_ms: 1000 };
        let bytes = encode_windowed_key(Some(b"k"), layout, WindowBounds { start: 2000, end: 3000 });
        assert_eq!(bytes, [b"k".as_slice(), &2000i64.to_be_bytes()].concat());
        let (key, w) = decode_windowed_key(&bytes, layout).unwrap();
        assert_eq!(key, Some(b"k".as_slice()));
        assert_eq!(w, WindowBounds { start: 2000, end: 3000 });
    }

    #[test]
    fn session_windows_store_end_then_start() {
        let bytes = encode_windowed_key(None, WindowLayout::Session, WindowBounds { start: 10, end: 20 });
        assert_eq!(bytes, [20i64.to_be_bytes(), 10i64.to_be_bytes()].concat());
        let (key, w) = decode_windowed_key(&bytes, WindowLayout::Session).unwrap();
        assert_eq!(key, None);
        assert_eq!(w, WindowBounds { start: 10, end: 20 });
    }

    #[test]
    fn short_keys_are_an_error() {
        assert!(decode_windowed_key(&[1, 2, 3], WindowLayout::Time { size_ms: 5 }).is_err());
        assert!(decode_windowed_key(&[0; 15], WindowLayout::Session).is_err());
    }
}
