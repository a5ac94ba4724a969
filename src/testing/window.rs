//! Windowed keys for the runner: the engine's own layout (`crate::format::encode_windowed_key`
//! and `decode_windowed_key`) with the window described as the QTT files and comparisons do,
//! so that the runner and the engine can never disagree.

use crate::catalog::WindowType;
use crate::error::Result;
use crate::format::{WindowBounds, decode_windowed_key, encode_windowed_key};
use crate::testing::compare::ActualWindow;

/// Appends the window to serialized key bytes (`None` is an empty key).
pub fn encode(key: Option<Vec<u8>>, window: WindowType, start: i64, end: i64) -> Vec<u8> {
    encode_windowed_key(key.as_deref(), window.key_layout(), WindowBounds { start, end })
}

/// Splits windowed key bytes into the serialized key (`None` when empty) and the window.
pub fn decode(bytes: &[u8], window: WindowType) -> Result<(Option<Vec<u8>>, ActualWindow)> {
    let (key, bounds) = decode_windowed_key(bytes, window.key_layout())?;
    let kind = if window == WindowType::Session { "session" } else { "time" };
    Ok((key.map(<[u8]>::to_vec), ActualWindow { start: bounds.start, end: bounds.end, kind }))
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
