//! JSON functions: EXTRACTJSONFIELD (a JSONPath subset; numbers keep their text, `1.23450`
//! stays `1.23450`), TO_JSON_STRING (any SQL value, serialized as ksqlDB does), and the
//! JSON_* helpers over JSON strings: IS_JSON_STRING, JSON_ARRAY_CONTAINS, JSON_ARRAY_LENGTH,
//! JSON_CONCAT, JSON_ITEMS, JSON_KEYS and JSON_RECORDS.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{NaiveTime, Timelike};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Int32Array, ListBuilder, MapBuilder, MapFieldNames, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::cast as c;
use datafusion::common::{Result, ScalarValue};
use serde_json::Value;

use super::Registry;
use super::util::{
    P, arg, decimal_string, java_double, list_of, map_type, overloaded, returns, sig, sig_var, str_arg, sval,
};

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
}

/// Parses `$.a.b[0]['c']`; `None` for an invalid path.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let chars: Vec<char> = path.trim().chars().collect();
    if chars.first() != Some(&'$') {
        return None;
    }
    let mut steps = Vec::new();
    let mut i = 1;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
                    j += 1;
                }
                if j == start {
                    return None;
                }
                steps.push(Step::Key(chars[start..j].iter().collect()));
                i = j;
            }
            '[' => {
                let close = (i + 1..chars.len()).find(|k| chars[*k] == ']')?;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Key(q.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// A minimal JSON scanner over bytes that finds the span of values without building them.
struct Scan<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Scan<'_> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn string(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        self.pos += 1;
        while let Some(ch) = self.peek() {
            self.pos += 1;
            match ch {
                b'\\' => self.pos += 1,
                b'"' => return Some(()),
                _ => {}
            }
        }
        None
    }

    /// Skips one value, returning its span.
    fn value(&mut self) -> Option<(usize, usize)> {
        self.ws();
        let start = self.pos;
        match self.peek()? {
            b'"' => self.string()?,
            b'{' => {
                self.pos += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        self.string()?;
                        self.ws();
                        if self.peek()? != b':' {
                            return None;
                        }
                        self.pos += 1;
                        self.value()?;
                        self.ws();
                        match self.peek()? {
                            b',' => self.pos += 1,
                            b'}' => {
                                self.pos += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.pos += 1;
                } else {
                    loop {
                        self.value()?;
                        self.ws();
                        match self.peek()? {
                            b',' => self.pos += 1,
                            b']' => {
                                self.pos += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
            }
            _ => {
                while let Some(ch) = self.peek() {
                    if ch.is_ascii_alphanumeric() || matches!(ch, b'-' | b'+' | b'.') {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                if self.pos == start {
                    return None;
                }
            }
        }
        Some((start, self.pos))
    }

    /// Inside an object starting at `self.pos`, the span of the value under `key`.
    fn member(&mut self, key: &str) -> Option<(usize, usize)> {
        self.ws();
        if self.peek()? != b'{' {
            return None;
        }
        self.pos += 1;
        loop {
            self.ws();
            if self.peek()? == b'}' {
                return None;
            }
            let ks = self.pos;
            self.string()?;
            let k: String = serde_json::from_slice(&self.b[ks..self.pos]).ok()?;
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.pos += 1;
            let span = self.value()?;
            if k == key {
                return Some(span);
            }
            self.ws();
            match self.peek()? {
                b',' => self.pos += 1,
                _ => return None,
            }
        }
    }

    fn element(&mut self, index: i64) -> Option<(usize, usize)> {
        self.ws();
        if self.peek()? != b'[' || index < 0 {
            return None;
        }
        self.pos += 1;
        let mut n = 0;
        loop {
            self.ws();
            if self.peek()? == b']' {
                return None;
            }
            let span = self.value()?;
            if n == index {
                return Some(span);
            }
            n += 1;
            self.ws();
            match self.peek()? {
                b',' => self.pos += 1,
                _ => return None,
            }
        }
    }
}

/// Removes insignificant whitespace from a JSON span.
fn minify(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut in_str = false;
    let mut escaped = false;
    for &ch in s {
        if in_str {
            out.push(ch);
            if escaped {
                escaped = false;
            } else if ch == b'\\' {
                escaped = true;
            } else if ch == b'"' {
                in_str = false;
            }
        } else if ch == b'"' {
            in_str = true;
            out.push(ch);
        } else if !ch.is_ascii_whitespace() {
            out.push(ch);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// EXTRACTJSONFIELD on one value. Like Jackson, anything after the first JSON value is ignored.
fn extract(json: &str, path: &[Step]) -> Option<String> {
    let b = json.as_bytes();
    let mut scan = Scan { b, pos: 0 };
    let mut span = scan.value()?;
    for step in path {
        let mut inner = Scan { b, pos: span.0 };
        span = match step {
            Step::Key(k) => inner.member(k)?,
            Step::Index(i) => inner.element(*i)?,
        };
    }
    let text = &b[span.0..span.1];
    match text.first()? {
        b'"' => serde_json::from_slice::<String>(text).ok(),
        b'n' if text == b"null" => None,
        b'{' | b'[' => Some(minify(text)),
        _ => Some(String::from_utf8_lossy(text).into_owned()),
    }
}

/// Parses a JSON string strictly (the whole text must be one value).
fn parse_json(s: &str) -> Option<Value> {
    serde_json::from_str(s).ok()
}

fn escape(s: &str, out: &mut String) {
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str("null"),
    }
}

fn time_string(ms: i64) -> String {
    let ms = ms.rem_euclid(86_400_000);
    let t = NaiveTime::from_num_seconds_from_midnight_opt((ms / 1000) as u32, (ms % 1000) as u32 * 1_000_000)
        .unwrap_or(NaiveTime::MIN);
    // Java's LocalTime.toString
    if t.nanosecond() != 0 {
        t.format("%H:%M:%S%.3f").to_string()
    } else if t.second() != 0 {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%H:%M").to_string()
    }
}

/// Serializes row `i` of `a` as ksqlDB's TO_JSON_STRING does.
fn to_json(a: &dyn Array, i: usize, out: &mut String) -> Result<()> {
    if a.is_null(i) {
        out.push_str("null");
        return Ok(());
    }
    match a.data_type() {
        DataType::Null => out.push_str("null"),
        DataType::Boolean => out.push_str(if c::as_boolean_array(a)?.value(i) { "true" } else { "false" }),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32 => {
            let v = ScalarValue::try_from_array(a, i)?;
            out.push_str(&v.to_string());
        }
        DataType::Float64 => {
            let v = c::as_float64_array(a)?.value(i);
            if v.is_finite() {
                out.push_str(&java_double(v));
            } else {
                escape(&java_double(v), out);
            }
        }
        DataType::Decimal128(_, s) => out.push_str(&decimal_string(c::as_decimal128_array(a)?.value(i), *s)),
        DataType::Utf8 => escape(c::as_string_array(a)?.value(i), out),
        DataType::LargeUtf8 | DataType::Utf8View => {
            let v = ScalarValue::try_from_array(a, i)?;
            escape(&v.to_string(), out);
        }
        DataType::Binary => escape(&BASE64.encode(c::as_binary_array(a)?.value(i)), out),
        DataType::Date32 => {
            let d = c::as_date32_array(a)?.value_as_date(i);
            escape(&d.map(|d| d.to_string()).unwrap_or_default(), out);
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            escape(&time_string(i64::from(c::as_time32_millisecond_array(a)?.value(i))), out)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let ms = c::as_timestamp_millisecond_array(a)?.value(i);
            let s = chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
                .unwrap_or_default();
            escape(&s, out);
        }
        DataType::List(_) => {
            let l = c::as_list_array(a)?;
            let v = l.value(i);
            out.push('[');
            for j in 0..v.len() {
                if j > 0 {
                    out.push(',');
                }
                to_json(v.as_ref(), j, out)?;
            }
            out.push(']');
        }
        DataType::Struct(fields) => {
            let s = c::as_struct_array(a)?;
            out.push('{');
            for (k, f) in fields.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                escape(f.name(), out);
                out.push(':');
                to_json(s.column(k).as_ref(), i, out)?;
            }
            out.push('}');
        }
        DataType::Map(_, _) => {
            let m = c::as_map_array(a)?;
            let e = m.value(i);
            out.push('{');
            for j in 0..e.len() {
                if j > 0 {
                    out.push(',');
                }
                let mut key = String::new();
                to_json(e.column(0).as_ref(), j, &mut key)?;
                if key.starts_with('"') {
                    out.push_str(&key);
                } else {
                    escape(&key, out);
                }
                out.push(':');
                to_json(e.column(1).as_ref(), j, out)?;
            }
            out.push('}');
        }
        _ => {
            let v = ScalarValue::try_from_array(a, i)?;
            escape(&v.to_string(), out);
        }
    }
    Ok(())
}

/// Whether JSON element `e` equals the SQL value at row `i` of `v` (JSON_ARRAY_CONTAINS).
fn json_equals(e: &Value, v: &dyn Array, i: usize) -> Result<bool> {
    if v.is_null(i) {
        return Ok(e.is_null());
    }
    Ok(match v.data_type() {
        DataType::Utf8 => e.as_str() == Some(c::as_string_array(v)?.value(i)),
        DataType::Boolean => e.as_bool() == Some(c::as_boolean_array(v)?.value(i)),
        DataType::Int32 => e.is_i64() && e.as_i64() == Some(i64::from(c::as_int32_array(v)?.value(i))),
        DataType::Int64 => e.is_i64() && e.as_i64() == Some(c::as_int64_array(v)?.value(i)),
        DataType::Float64 => e.is_f64() && e.as_f64() == Some(c::as_float64_array(v)?.value(i)),
        _ => false,
    })
}

pub(crate) fn register(r: &mut Registry) {
    r.add(
        "EXTRACTJSONFIELD",
        "Extracts the value at a JSONPath ('$.a.b[0]') from a JSON string, as a string.",
        overloaded("EXTRACTJSONFIELD", vec![sig(&[P::Str, P::Str])], returns(DataType::Utf8), |args, _, rows| {
            let json = str_arg(args, 0, rows)?;
            let path = str_arg(args, 1, rows)?;
            let mut last: Option<(String, Option<Vec<Step>>)> = None;
            let mut out = Vec::with_capacity(rows);
            for i in 0..rows {
                let (Some(j), Some(p)) = (sval(&json, i), sval(&path, i)) else {
                    out.push(None);
                    continue;
                };
                if last.as_ref().is_none_or(|(lp, _)| lp != p) {
                    last = Some((p.to_string(), parse_path(p)));
                }
                let steps = last.as_ref().and_then(|(_, s)| s.as_ref());
                out.push(steps.and_then(|s| extract(j, s)));
            }
            Ok(Arc::new(StringArray::from(out)) as ArrayRef)
        }),
    );
    r.add(
        "TO_JSON_STRING",
        "Serializes any value to a JSON string.",
        overloaded("TO_JSON_STRING", vec![sig(&[P::Any])], returns(DataType::Utf8), |args, _, rows| {
            let a = arg(args, 0)?;
            let mut out = Vec::with_capacity(rows);
            for i in 0..rows {
                let mut s = String::new();
                to_json(a.as_ref(), i, &mut s)?;
                out.push(Some(s));
            }
            Ok(Arc::new(StringArray::from(out)) as ArrayRef)
        }),
    );
    r.add(
        "IS_JSON_STRING",
        "Returns whether a string is valid JSON.",
        overloaded("IS_JSON_STRING", vec![sig(&[P::Str])], returns(DataType::Boolean), |args, _, rows| {
            let s = str_arg(args, 0, rows)?;
            let out: BooleanArray = (0..rows).map(|i| Some(sval(&s, i).and_then(parse_json).is_some())).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "JSON_ARRAY_CONTAINS",
        "Returns whether a JSON array string contains a value.",
        overloaded(
            "JSON_ARRAY_CONTAINS",
            vec![
                sig(&[P::Str, P::Str]),
                sig(&[P::Str, P::Bool]),
                sig(&[P::Str, P::Int]),
                sig(&[P::Str, P::BigInt]),
                sig(&[P::Str, P::Double]),
            ],
            returns(DataType::Boolean),
            |args, _, rows| {
                let s = str_arg(args, 0, rows)?;
                let v = arg(args, 1)?;
                let mut out = Vec::with_capacity(rows);
                for i in 0..rows {
                    let found = match sval(&s, i).and_then(parse_json) {
                        Some(Value::Array(items)) => {
                            let mut found = false;
                            for e in &items {
                                if json_equals(e, v.as_ref(), i)? {
                                    found = true;
                                    break;
                                }
                            }
                            found
                        }
                        _ => false,
                    };
                    out.push(Some(found));
                }
                Ok(Arc::new(BooleanArray::from(out)) as ArrayRef)
            },
        ),
    );
    r.add(
        "JSON_ARRAY_LENGTH",
        "Returns the length of a JSON array string, or NULL if it is not one.",
        overloaded("JSON_ARRAY_LENGTH", vec![sig(&[P::Str])], returns(DataType::Int32), |args, _, rows| {
            let s = str_arg(args, 0, rows)?;
            let out: Int32Array = (0..rows)
                .map(|i| match sval(&s, i).and_then(parse_json)? {
                    Value::Array(a) => Some(a.len() as i32),
                    _ => None,
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "JSON_CONCAT",
        "Merges JSON objects, or concatenates JSON arrays (other values become one-element \
         arrays).",
        overloaded("JSON_CONCAT", vec![sig_var(&[P::Str], P::Str)], returns(DataType::Utf8), |args, _, rows| {
            let arrays: Vec<StringArray> = (0..args.len()).map(|k| str_arg(args, k, rows)).collect::<Result<_>>()?;
            let out: StringArray = (0..rows)
                .map(|i| {
                    let values: Vec<Value> =
                        arrays.iter().map(|a| sval(a, i).and_then(parse_json)).collect::<Option<_>>()?;
                    let merged = if values.iter().all(Value::is_object) {
                        let mut m = serde_json::Map::new();
                        for v in values {
                            if let Value::Object(o) = v {
                                m.extend(o);
                            }
                        }
                        Value::Object(m)
                    } else {
                        let mut items = Vec::new();
                        for v in values {
                            match v {
                                Value::Array(a) => items.extend(a),
                                other => items.push(other),
                            }
                        }
                        Value::Array(items)
                    };
                    serde_json::to_string(&merged).ok()
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "JSON_ITEMS",
        "Returns the elements of a JSON array string as an array of JSON strings.",
        overloaded("JSON_ITEMS", vec![sig(&[P::Str])], returns(list_of(DataType::Utf8)), |args, _, rows| {
            let s = str_arg(args, 0, rows)?;
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..rows {
                match sval(&s, i).and_then(parse_json) {
                    Some(Value::Array(items)) => {
                        for e in items {
                            b.values().append_value(e.to_string());
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            Ok(Arc::new(b.finish()) as ArrayRef)
        }),
    );
    r.add(
        "JSON_KEYS",
        "Returns the keys of a JSON object string.",
        overloaded("JSON_KEYS", vec![sig(&[P::Str])], returns(list_of(DataType::Utf8)), |args, _, rows| {
            let s = str_arg(args, 0, rows)?;
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..rows {
                match sval(&s, i).and_then(parse_json) {
                    Some(Value::Object(o)) => {
                        for k in o.keys() {
                            b.values().append_value(k);
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            Ok(Arc::new(b.finish()) as ArrayRef)
        }),
    );
    r.add(
        "JSON_RECORDS",
        "Returns the entries of a JSON object string as a map from key to JSON string.",
        overloaded(
            "JSON_RECORDS",
            vec![sig(&[P::Str])],
            returns(map_type(DataType::Utf8, DataType::Utf8)),
            |args, _, rows| {
                let s = str_arg(args, 0, rows)?;
                let names = MapFieldNames { entry: "entries".into(), key: "key".into(), value: "value".into() };
                let mut b = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
                for i in 0..rows {
                    match sval(&s, i).and_then(parse_json) {
                        Some(Value::Object(o)) => {
                            for (k, v) in o {
                                b.keys().append_value(k);
                                b.values().append_value(v.to_string());
                            }
                            b.append(true)?;
                        }
                        _ => b.append(false)?,
                    }
                }
                Ok(Arc::new(b.finish()) as ArrayRef)
            },
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use datafusion::arrow::array::{Int32Array as I32, StructArray};
    use datafusion::arrow::datatypes::{Field, Int32Type};

    #[test]
    fn extract_fields() {
        let j = r#"{"name": "cdd", "version": "2", "@type": "VAL"}}"#;
        assert_eq!(eval_lit("EXTRACTJSONFIELD", vec![s(j), s("$.name")]), s("cdd"));
        assert_eq!(eval_lit("EXTRACTJSONFIELD", vec![s(j), s("$.@type")]), s("VAL"));
        let a = r#"{"array": [1.23450, {"x": [1, 2]}]}"#;
        assert_eq!(eval_lit("EXTRACTJSONFIELD", vec![s(a), s("$.array[0]")]), s("1.23450"));
        assert_eq!(eval_lit("EXTRACTJSONFIELD", vec![s(a), s("$.array[1]")]), s(r#"{"x":[1,2]}"#));
        assert_eq!(eval_lit("EXTRACTJSONFIELD", vec![s(a), s("$.array[1].x[1]")]), s("2"));
        assert_eq!(eval_lit("EXTRACTJSONFIELD", vec![s(a), s("$.array[-1]")]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("EXTRACTJSONFIELD", vec![s("not json"), s("$.a")]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("EXTRACTJSONFIELD", vec![s(r#"{"a b": 1}"#), s("$['a b']")]), s("1"));
    }

    #[test]
    fn to_json_string() {
        assert_eq!(eval_lit("TO_JSON_STRING", vec![i(1)]), s("1"));
        assert_eq!(eval_lit("TO_JSON_STRING", vec![ScalarValue::Int32(None)]), s("null"));
        assert_eq!(eval_lit("TO_JSON_STRING", vec![s("abc")]), s("\"abc\""));
        assert_eq!(eval_lit("TO_JSON_STRING", vec![d(123.456)]), s("123.456"));
        assert_eq!(eval_lit("TO_JSON_STRING", vec![ScalarValue::Decimal128(Some(123456), 6, 3)]), s("123.456"));
        assert_eq!(eval_lit("TO_JSON_STRING", vec![ScalarValue::Binary(Some(b"!".to_vec()))]), s("\"IQ==\""));
        assert_eq!(
            eval_lit("TO_JSON_STRING", vec![ScalarValue::Time32Millisecond(Some(60_220_000))]),
            s("\"16:43:40\"")
        );
        assert_eq!(eval_lit("TO_JSON_STRING", vec![ScalarValue::Date32(Some(1000))]), s("\"1972-09-27\""));
        assert_eq!(
            eval_lit("TO_JSON_STRING", vec![ScalarValue::TimestampMillisecond(Some(60_220_000_000), None)]),
            s("\"1971-11-28T23:46:40.000\"")
        );
        let list: ArrayRef =
            Arc::new(datafusion::arrow::array::ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![
                Some(1),
                Some(2),
                Some(3),
            ])]));
        let out = eval_cols("TO_JSON_STRING", vec![list]);
        assert_eq!(out.as_any().downcast_ref::<StringArray>().unwrap().value(0), "[1,2,3]");
        let st: ArrayRef = Arc::new(StructArray::from(vec![
            (Arc::new(Field::new("ID", DataType::Int32, true)), Arc::new(I32::from(vec![1])) as ArrayRef),
            (
                Arc::new(Field::new("NAME", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec!["Alice"])) as ArrayRef,
            ),
        ]));
        let out = eval_cols("TO_JSON_STRING", vec![st]);
        assert_eq!(out.as_any().downcast_ref::<StringArray>().unwrap().value(0), r#"{"ID":1,"NAME":"Alice"}"#);
    }

    #[test]
    fn json_helpers() {
        assert_eq!(eval_lit("IS_JSON_STRING", vec![s("[1, 2]")]), ScalarValue::Boolean(Some(true)));
        assert_eq!(eval_lit("IS_JSON_STRING", vec![s("abc")]), ScalarValue::Boolean(Some(false)));
        assert_eq!(eval_lit("JSON_ARRAY_LENGTH", vec![s("[1, [2], 3]")]), i(3));
        assert_eq!(eval_lit("JSON_ARRAY_LENGTH", vec![s("{}")]), ScalarValue::Int32(None));
        assert_eq!(eval_lit("JSON_ARRAY_CONTAINS", vec![s("[1, \"a\"]"), s("a")]), ScalarValue::Boolean(Some(true)));
        assert_eq!(eval_lit("JSON_ARRAY_CONTAINS", vec![s("[1, \"a\"]"), i(2)]), ScalarValue::Boolean(Some(false)));
        assert_eq!(eval_lit("JSON_CONCAT", vec![s(r#"{"a": 1}"#), s(r#"{"b": 2}"#)]), s(r#"{"a":1,"b":2}"#));
        assert_eq!(eval_lit("JSON_CONCAT", vec![s("[1, 2]"), s("3")]), s("[1,2,3]"));
        let keys = eval_lit("JSON_KEYS", vec![s(r#"{"a": 1, "b": 2}"#)]);
        assert_eq!(keys, ScalarValue::List(ScalarValue::new_list_nullable(&[s("a"), s("b")], &DataType::Utf8)));
        let items = eval_lit("JSON_ITEMS", vec![s(r#"[{"a": 1}, 2]"#)]);
        assert_eq!(
            items,
            ScalarValue::List(ScalarValue::new_list_nullable(&[s(r#"{"a":1}"#), s("2")], &DataType::Utf8))
        );
        let rec = eval_lit("JSON_RECORDS", vec![s(r#"{"a": [1]}"#)]);
        assert!(matches!(rec, ScalarValue::Map(_)));
    }
}
