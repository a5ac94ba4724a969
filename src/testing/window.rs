//! Windowed keys on the wire, as Kafka Streams (and so ksqlDB) lays them out.
//!
//! SEAM: the lead is adding the engine's own `crate::format::encode_windowed_key` /
//! `decode_windowed_key`. Until then the runner uses this copy of Kafka Streams' layout; once
//! those land, [`encode`] and [`decode`] should simply call them so that the runner and the
//! engine can never disagree.
//!
//! - time windows (tumbling, hopping): `key bytes ++ start (8 bytes, big-endian ms)`; the end is
//!   `start + size`.
//! - session windows: `key bytes ++ end (8 bytes) ++ start (8 bytes)`.

use crate::catalog::WindowType;
use crate::error::{Error, Result};
use crate::testing::compare::ActualWindow;

/// Appends the window to serialized key bytes (`None` is an empty key).
pub fn encode(key: Option<Vec<u8>>, window: WindowType, start: i64, end: i64) -> Vec<u8> {
    let mut bytes = key.unwrap_or_default();
    match window {
        WindowType::Tumbling { .. } | WindowType::Hopping { .. } => bytes.extend_from_slice(&start.to_be_bytes()),
        WindowType::Session => {
            bytes.extend_from_slice(&end.to_be_bytes());
            bytes.extend_from_slice(&start.to_be_bytes());
        }
    }
    bytes
}

/// Splits windowed key bytes into the serialized key (`None` when empty) and the window.
pub fn decode(bytes: &[u8], window: WindowType) -> Result<(Option<Vec<u8>>, ActualWindow)> {
    let suffix = match window {
        WindowType::Tumbling { .. } | WindowType::Hopping { .. } => 8,
        WindowType::Session => 16,
    };
    let Some(split) = bytes.len().checked_sub(suffix) else {
        return Err(Error::user(format!(
            "a windowed key needs at least {suffix} bytes of window, got {} bytes",
            bytes.len()
        )));
    };
    let (key, tail) = bytes.split_at(split);
    let long = |at: usize| -> i64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&tail[at..at + 8]);
        i64::from_be_bytes(b)
    };
    let actual = match window {
        WindowType::Tumbling { size_ms } | WindowType::Hopping { size_ms } => {
            let start = long(0);
            let size = i64::try_from(size_ms).unwrap_or(i64::MAX);
            ActualWindow { start, end: start.saturating_add(size), kind: "time" }
        }
        WindowType::Session => ActualWindow { start: long(8), end: long(0), kind: "session" },
    };
    let key = if key.is_empty() { None } else { Some(key.to_vec()) };
    Ok((key, actual))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windows_round_trip() {
        let window = WindowType::Tumbling { size_ms: 1000 };
        let bytes = encode(Some(b"k".to_vec()), window, 2000, 3000);
        assert_eq!(bytes.len(), 9);
        let (key, w) = decode(&bytes, window).unwrap();
        assert_eq!(key, Some(b"k".to_vec()));
        assert_eq!(w, ActualWindow { start: 2000, end: 3000, kind: "time" });
    }

    #[test]
    fn session_windows_round_trip() {
        let bytes = encode(None, WindowType::Session, 10, 20);
        assert_eq!(bytes.len(), 16);
        let (key, w) = decode(&bytes, WindowType::Session).unwrap();
        assert_eq!(key, None);
        assert_eq!(w, ActualWindow { start: 10, end: 20, kind: "session" });
    }

    #[test]
    fn short_keys_are_an_error() {
        assert!(decode(&[1, 2, 3], WindowType::Hopping { size_ms: 5 }).is_err());
    }
}
