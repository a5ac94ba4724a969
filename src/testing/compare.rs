//! Comparing expected records with what a case produced, and describing the first difference.
//!
//! The rules are ksqlDB's runner's (`reference/ksqldb.md` §1.2): records are compared in order
//! per topic and the counts must match; integers compare exactly, doubles within 1e-6
//! (relative or absolute), and an expected decimal written as a string (`"1.50"`) matches the
//! number it spells; objects need the same field count and a field name falls back to upper
//! case; the window is compared when the expected record has one, headers when given, the
//! timestamp when given (the caller decides whether timestamps count at all).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Number, Value};

use crate::testing::case::{HeaderSpec, RecordSpec, WindowSpec};
use crate::topic::Header;

/// The longest rendering of one record in a diff, so that a failure stays one readable line.
const MAX_RENDERED: usize = 300;

/// The window of a record read back from a windowed topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActualWindow {
    /// Window start (ms).
    pub start: i64,
    /// Window end (ms).
    pub end: i64,
    /// `time` or `session`, as QTT files spell it.
    pub kind: &'static str,
}

/// A record read back from an output topic and decoded with its source's formats.
#[derive(Debug, Clone, PartialEq)]
pub struct ActualRecord {
    /// The decoded key (`null` for no key).
    pub key: Value,
    /// The decoded value (`null` for a tombstone).
    pub value: Value,
    /// Record timestamp (ms).
    pub timestamp: i64,
    /// The window, when the key is windowed.
    pub window: Option<ActualWindow>,
    /// Headers in order.
    pub headers: Vec<Header>,
}

/// Compares the records of one topic. `Err` describes the first difference: a count mismatch
/// together with the first record that differs (or is missing, or is extra).
pub fn compare_topic(
    topic: &str,
    expected: &[&RecordSpec],
    actual: &[ActualRecord],
    check_timestamps: bool,
) -> Result<(), String> {
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if let Some(what) = record_mismatch(e, a, check_timestamps) {
            let count = if expected.len() == actual.len() {
                String::new()
            } else {
                format!(" (and {} records expected, {} produced)", expected.len(), actual.len())
            };
            return Err(format!(
                "topic '{topic}' record #{}: {what} differs{count}: expected {} but got {}",
                i + 1,
                render_expected(e),
                render_actual(a),
            ));
        }
    }
    if expected.len() > actual.len() {
        let missing = expected[actual.len()];
        return Err(format!(
            "topic '{topic}': expected {} records but got {}; first missing #{}: {}",
            expected.len(),
            actual.len(),
            actual.len() + 1,
            render_expected(missing)
        ));
    }
    if actual.len() > expected.len() {
        let extra = &actual[expected.len()];
        return Err(format!(
            "topic '{topic}': expected {} records but got {}; first extra #{}: {}",
            expected.len(),
            actual.len(),
            expected.len() + 1,
            render_actual(extra)
        ));
    }
    Ok(())
}

/// Which part of a record differs (`key`, `value`, `window`, `headers`, `timestamp`), if any.
pub fn record_mismatch(expected: &RecordSpec, actual: &ActualRecord, check_timestamp: bool) -> Option<&'static str> {
    if !values_match(&expected.key, &actual.key) {
        return Some("key");
    }
    if let Some(window) = &expected.window
        && !window_matches(window, actual.window.as_ref())
    {
        return Some("window");
    }
    if !values_match(&expected.value, &actual.value) {
        return Some("value");
    }
    if let Some(headers) = &expected.headers
        && !headers_match(headers, &actual.headers)
    {
        return Some("headers");
    }
    if check_timestamp
        && let Some(timestamp) = expected.timestamp
        && timestamp != actual.timestamp
    {
        return Some("timestamp");
    }
    None
}

/// True when `actual` matches `expected` under the QTT rules.
pub fn values_match(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(e), Value::Bool(a)) => e == a,
        (Value::Number(e), Value::Number(a)) => numbers_match(e, a),
        (Value::String(e), Value::String(a)) => e == a,
        // A decimal may be written as a string in the expectation ("1.50").
        (Value::String(e), Value::Number(a)) => decimal_string_matches(e, a),
        (Value::Array(e), Value::Array(a)) => e.len() == a.len() && e.iter().zip(a).all(|(e, a)| values_match(e, a)),
        // As ksqlDB's runner does, a missing field reads as null: with equal field counts, an
        // expected `"X": null` matches an object without `X`.
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter().all(|(name, e)| {
                    let actual = a.get(name).or_else(|| a.get(&name.to_uppercase()));
                    values_match(e, actual.unwrap_or(&Value::Null))
                })
        }
        _ => false,
    }
}

fn numbers_match(expected: &Number, actual: &Number) -> bool {
    if let (Some(e), Some(a)) = (expected.as_i64(), actual.as_i64()) {
        return e == a;
    }
    if let (Some(e), Some(a)) = (expected.as_u64(), actual.as_u64()) {
        return e == a;
    }
    match (expected.as_f64(), actual.as_f64()) {
        (Some(e), Some(a)) => floats_close(e, a),
        _ => false,
    }
}

fn floats_close(e: f64, a: f64) -> bool {
    if e == a {
        return true;
    }
    let diff = (e - a).abs();
    diff <= 1e-6 || diff <= 1e-6 * e.abs().max(a.abs())
}

fn decimal_string_matches(expected: &str, actual: &Number) -> bool {
    let Some(expected_norm) = normalize_decimal(expected) else {
        return false;
    };
    if normalize_decimal(&actual.to_string()).is_some_and(|a| a == expected_norm) {
        return true;
    }
    // The actual number went through an f64; compare approximately.
    match (expected.trim().parse::<f64>(), actual.as_f64()) {
        (Ok(e), Some(a)) => floats_close(e, a),
        _ => false,
    }
}

/// A plain decimal (`-12.50`, `.5`, `3`) without trailing fractional zeros; `None` if `text` is
/// not one.
fn normalize_decimal(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit()) || !frac_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int_part = int_part.trim_start_matches('0');
    let frac_part = frac_part.trim_end_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let zero = int_part == "0" && frac_part.is_empty();
    let sign = if negative && !zero { "-" } else { "" };
    Some(if frac_part.is_empty() { format!("{sign}{int_part}") } else { format!("{sign}{int_part}.{frac_part}") })
}

fn window_matches(expected: &WindowSpec, actual: Option<&ActualWindow>) -> bool {
    let Some(actual) = actual else {
        return false;
    };
    expected.start == actual.start
        && expected.end == actual.end
        && expected.kind.as_deref().is_none_or(|k| k.eq_ignore_ascii_case(actual.kind))
}

fn headers_match(expected: &[HeaderSpec], actual: &[Header]) -> bool {
    expected.len() == actual.len()
        && expected.iter().zip(actual).all(|(e, (name, bytes))| {
            e.key == *name
                && match (&e.value, bytes) {
                    (None, None) => true,
                    (Some(e), Some(a)) => match BASE64.decode(e) {
                        Ok(e) => e == *a,
                        Err(_) => *e == BASE64.encode(a),
                    },
                    _ => false,
                }
        })
}

/// One expected record, compactly, for a diff.
pub fn render_expected(record: &RecordSpec) -> String {
    let mut out = format!("{{key: {}, value: {}", record.key, record.value);
    if let Some(w) = &record.window {
        out.push_str(&format!(", window: [{}, {}) {}", w.start, w.end, w.kind.as_deref().unwrap_or("?")));
    }
    if let Some(t) = record.timestamp {
        out.push_str(&format!(", timestamp: {t}"));
    }
    if let Some(headers) = &record.headers {
        let rendered: Vec<String> =
            headers.iter().map(|h| format!("{}={}", h.key, h.value.as_deref().unwrap_or("null"))).collect();
        out.push_str(&format!(", headers: [{}]", rendered.join(", ")));
    }
    out.push('}');
    truncate(out)
}

/// One actual record, compactly, for a diff.
pub fn render_actual(record: &ActualRecord) -> String {
    let mut out = format!("{{key: {}, value: {}", record.key, record.value);
    if let Some(w) = &record.window {
        out.push_str(&format!(", window: [{}, {}) {}", w.start, w.end, w.kind));
    }
    out.push_str(&format!(", timestamp: {}", record.timestamp));
    if !record.headers.is_empty() {
        let rendered: Vec<String> = record
            .headers
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_ref().map_or_else(|| "null".to_string(), |v| BASE64.encode(v))))
            .collect();
        out.push_str(&format!(", headers: [{}]", rendered.join(", ")));
    }
    out.push('}');
    truncate(out)
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_RENDERED {
        let mut cut = MAX_RENDERED;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn expected(value: Value) -> RecordSpec {
        RecordSpec {
            topic: "OUT".into(),
            key: json!(1),
            value,
            timestamp: None,
            partition: None,
            window: None,
            headers: None,
        }
    }

    fn actual(value: Value) -> ActualRecord {
        ActualRecord { key: json!(1), value, timestamp: 0, window: None, headers: Vec::new() }
    }

    #[test]
    fn integers_compare_exactly() {
        assert!(values_match(&json!(10), &json!(10)));
        assert!(!values_match(&json!(10), &json!(11)));
        assert!(values_match(&json!(9_007_199_254_740_993_i64), &json!(9_007_199_254_740_993_i64)));
        assert!(!values_match(&json!(9_007_199_254_740_993_i64), &json!(9_007_199_254_740_992_i64)));
    }

    #[test]
    fn doubles_compare_within_a_tolerance() {
        assert!(values_match(&json!(0.1), &json!(0.1000000001)));
        assert!(values_match(&json!(1.0e12), &json!(1.0000000001e12)));
        assert!(!values_match(&json!(0.1), &json!(0.11)));
        assert!(values_match(&json!(1.0), &json!(1)));
    }

    #[test]
    fn decimals_written_as_strings_match_numbers() {
        let actual: Value = serde_json::from_str("1.5").unwrap();
        assert!(values_match(&json!("1.50"), &actual));
        assert!(values_match(&json!("-0.00"), &json!(0)));
        assert!(values_match(&json!(".5"), &json!(0.5)));
        assert!(!values_match(&json!("1.51"), &actual));
        assert!(!values_match(&json!("abc"), &actual));
        assert_eq!(normalize_decimal("007.100"), Some("7.1".into()));
        assert_eq!(normalize_decimal("-0"), Some("0".into()));
        assert_eq!(normalize_decimal("1e5"), None);
    }

    #[test]
    fn objects_need_the_same_fields_with_upper_case_fallback() {
        assert!(values_match(&json!({"a": 1, "B": "x"}), &json!({"A": 1, "B": "x"})));
        assert!(!values_match(&json!({"A": 1}), &json!({"A": 1, "B": 2})));
        assert!(!values_match(&json!({"A": 1, "C": 2}), &json!({"A": 1, "B": 2})));
        assert!(values_match(&json!({"S": {"f": [1, null]}}), &json!({"S": {"F": [1, null]}})));
        assert!(!values_match(&json!([1, 2]), &json!([1, 2, 3])));
        assert!(!values_match(&json!(null), &json!({})));
        // A missing field reads as null (field counts still have to agree).
        assert!(values_match(&json!({"KQL_COL_0": null}), &json!({"KSQL_COL_0": null})));
        assert!(!values_match(&json!({"KQL_COL_0": 1}), &json!({"KSQL_COL_0": 1})));
    }

    #[test]
    fn windows_are_compared_when_expected() {
        let mut e = expected(json!({"C": 1}));
        let mut a = actual(json!({"C": 1}));
        assert_eq!(record_mismatch(&e, &a, true), None);
        e.window = Some(WindowSpec { start: 0, end: 1000, kind: Some("time".into()) });
        assert_eq!(record_mismatch(&e, &a, true), Some("window"));
        a.window = Some(ActualWindow { start: 0, end: 1000, kind: "time" });
        assert_eq!(record_mismatch(&e, &a, true), None);
        a.window = Some(ActualWindow { start: 0, end: 1000, kind: "session" });
        assert_eq!(record_mismatch(&e, &a, true), Some("window"));
        a.window = Some(ActualWindow { start: 0, end: 999, kind: "time" });
        assert_eq!(record_mismatch(&e, &a, true), Some("window"));
    }

    #[test]
    fn headers_and_timestamps_are_compared_when_given() {
        let mut e = expected(json!(null));
        let mut a = actual(json!(null));
        a.headers = vec![("abc".into(), Some(b"!".to_vec()))];
        a.timestamp = 7;
        assert_eq!(record_mismatch(&e, &a, true), None);
        e.headers = Some(vec![HeaderSpec { key: "abc".into(), value: Some("IQ==".into()) }]);
        assert_eq!(record_mismatch(&e, &a, true), None);
        e.headers = Some(vec![HeaderSpec { key: "abc".into(), value: None }]);
        assert_eq!(record_mismatch(&e, &a, true), Some("headers"));
        e.headers = Some(Vec::new());
        assert_eq!(record_mismatch(&e, &a, true), Some("headers"));
        e.headers = None;
        e.timestamp = Some(8);
        assert_eq!(record_mismatch(&e, &a, true), Some("timestamp"));
        assert_eq!(record_mismatch(&e, &a, false), None);
    }

    #[test]
    fn topic_diffs_name_the_first_difference() {
        let e1 = expected(json!({"V": 1}));
        let e2 = expected(json!({"V": 2}));
        let ok = compare_topic("OUT", &[&e1, &e2], &[actual(json!({"V": 1})), actual(json!({"V": 2}))], true);
        assert_eq!(ok, Ok(()));

        let err =
            compare_topic("OUT", &[&e1, &e2], &[actual(json!({"V": 1})), actual(json!({"V": 3}))], true).unwrap_err();
        assert!(err.contains("record #2: value differs"), "{err}");
        assert!(err.contains(r#"{"V":2}"#) && err.contains(r#"{"V":3}"#), "{err}");

        let err = compare_topic("OUT", &[&e1, &e2], &[actual(json!({"V": 1}))], true).unwrap_err();
        assert!(err.contains("expected 2 records but got 1; first missing #2"), "{err}");

        let err = compare_topic("OUT", &[&e1], &[actual(json!({"V": 1})), actual(json!({"V": 9}))], true).unwrap_err();
        assert!(err.contains("first extra #2"), "{err}");
    }

    #[test]
    fn long_records_are_truncated() {
        let long = "x".repeat(1000);
        let rendered = render_expected(&expected(json!(long)));
        assert!(rendered.chars().count() <= MAX_RENDERED + 1);
    }
}
