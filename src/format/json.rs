//! The JSON format: a hand-written scanner that decodes straight into column builders, the
//! encoder that writes ksqlDB's JSON, and [`array_value_to_json`] for query results.
//!
//! Decoding never builds a document tree: the scanner walks the bytes once, matches each
//! object field to a column and appends the value into that column's builder, converting as
//! ksqlDB's `KsqlJsonDeserializer` does:
//! - field names match a column exactly, else when the upper-cased JSON name equals the
//!   column name (an exact match wins over an upper-cased one; among equals the last wins);
//!   missing fields are null, extra fields are skipped;
//! - STRING accepts any JSON value (numbers and booleans as their text, objects and arrays as
//!   compact JSON text); INT, BIGINT, DATE (days), TIME (ms) and TIMESTAMP (epoch ms) accept
//!   numbers (fractions are truncated) and integer strings; DOUBLE accepts numbers and numeric
//!   strings; DECIMAL is read from the number's or string's text, never through a double, and
//!   rounded HALF_UP to the column's scale; BOOLEAN accepts `true`/`false` and those strings;
//!   BYTES is a base64 string;
//! - a record that is `null` (or empty) is a row of nulls.
//!
//! Encoding writes what ksqlDB's Jackson writer writes: column names as given, DECIMAL as a
//! number carrying its scale, DOUBLE as Java prints it (`NaN` and infinities as strings),
//! BYTES as base64, DATE/TIME/TIMESTAMP as numbers, MAP as an object.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal128Type, Fields, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::DecodeError;
use super::builder::{ColumnBuilder, Values};
use super::scalar::{
    decimal_to_string, parse_decimal, parse_f64, parse_i64, type_name, write_decimal, write_java_double,
};
use crate::error::{Error, Result};

type Res<T> = std::result::Result<T, DecodeError>;

/// Deepest nesting of arrays and objects a record may have.
const MAX_DEPTH: u32 = 256;

/// Checks that every column can be written as JSON: MAP keys must be strings.
pub(crate) fn check_fields(fields: &Fields) -> Result<()> {
    fn check(data_type: &DataType) -> Result<()> {
        match data_type {
            DataType::List(item) => check(item.data_type()),
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => {
                    if kv[0].data_type() != &DataType::Utf8 {
                        return Err(Error::user("JSON only supports MAP types with STRING keys"));
                    }
                    check(kv[1].data_type())
                }
                other => Err(Error::internal(format!("map entries of unexpected type {other}"))),
            },
            DataType::Struct(fields) => fields.iter().try_for_each(|f| check(f.data_type())),
            _ => Ok(()),
        }
    }
    fields.iter().try_for_each(|f| check(f.data_type()))
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Decodes JSON records into the columns of one side.
pub(crate) struct JsonDecoder {
    names: Vec<Box<[u8]>>,
    /// One column and WRAP_SINGLE_VALUE=false: the record is the bare value.
    unwrapped: bool,
    /// `STRUCT<...>` of the columns, for messages.
    row_type: String,
    /// No column name has a lower-case ASCII letter (the usual, unquoted, case).
    all_upper: bool,
    scratch: Scratch,
}

/// Buffers reused across records so that decoding does not allocate per row.
#[derive(Default)]
struct Scratch {
    /// Match states of the objects being decoded, one slot per column, stacked by depth.
    states: Vec<u8>,
    /// An unescaped string (a field name, a numeric string, base64 text).
    text: Vec<u8>,
    /// The columns the top-level field names fed in the last record, by position in the
    /// object: records of one topic mostly repeat their field names in the same order, so a
    /// name equal to the one at its position last time reuses its match.
    top_matches: Vec<(Box<[u8]>, Matches)>,
}

/// The columns a field name feeds (see [`find_columns`]).
type Matches = [Option<(usize, u8)>; 2];

/// Top-level field positions whose matches are remembered; a wider object matches the rest
/// of its names afresh each time.
const MATCH_CACHE: usize = 64;

impl JsonDecoder {
    pub(crate) fn new(fields: &Fields, wrap_single: bool) -> Result<Self> {
        check_fields(fields)?;
        Ok(Self {
            names: fields.iter().map(|f| f.name().as_bytes().to_vec().into_boxed_slice()).collect(),
            unwrapped: fields.len() == 1 && !wrap_single,
            row_type: type_name(&DataType::Struct(fields.clone())),
            all_upper: fields.iter().all(|f| !f.name().bytes().any(|c| c.is_ascii_lowercase())),
            scratch: Scratch::default(),
        })
    }
}

impl super::Decode for JsonDecoder {
    fn decode(&mut self, bytes: &[u8], columns: &mut [ColumnBuilder]) -> Res<()> {
        // Validating the whole record once means every slice cut at an ASCII delimiter is
        // valid UTF-8 too, so strings can be copied into STRING columns unchecked.
        if simdutf8::basic::from_utf8(bytes).is_err() {
            return Err(DecodeError("the record is not valid UTF-8 JSON".into()));
        }
        let mut cur = Cursor { b: bytes, pos: 0 };
        cur.ws();
        if cur.at_end() {
            columns.iter_mut().for_each(ColumnBuilder::append_null);
            return Ok(());
        }
        if columns.is_empty() {
            cur.skip_value(0)?;
        } else if self.unwrapped {
            decode_value(&mut self.scratch, &mut cur, &mut columns[0], 0)?;
        } else {
            match cur.peek() {
                Some(b'n') => {
                    cur.literal(b"null")?;
                    columns.iter_mut().for_each(ColumnBuilder::append_null);
                }
                Some(b'{') => {
                    let len = columns[0].len();
                    let names = NameList::Top(&self.names, self.all_upper);
                    decode_object(&mut self.scratch, &mut cur, names, columns, len, 0)?;
                }
                _ => {
                    return Err(cur.conversion_error(&self.row_type));
                }
            }
        }
        cur.ws();
        if !cur.at_end() {
            return Err(cur.syntax_error("unexpected characters after the JSON value"));
        }
        Ok(())
    }
}

/// Column names of one object level: the top-level columns, or a STRUCT's fields.
#[derive(Clone, Copy)]
enum NameList<'a> {
    /// The top-level columns, and whether none of them has a lower-case ASCII letter (then a
    /// JSON name with one can only match upper-cased, which saves a scan).
    Top(&'a [Box<[u8]>], bool),
    Struct(&'a Fields),
}

impl NameList<'_> {
    #[inline]
    fn get(&self, i: usize) -> &[u8] {
        match self {
            NameList::Top(names, _) => &names[i],
            NameList::Struct(fields) => fields[i].name().as_bytes(),
        }
    }

    fn len(&self) -> usize {
        match self {
            NameList::Top(names, _) => names.len(),
            NameList::Struct(fields) => fields.len(),
        }
    }
}

/// A match quality: how a JSON field name matched a column.
const UNSET: u8 = 0;
const UPPER: u8 = 1;
const EXACT: u8 = 2;

/// Decodes an object whose fields are the `columns` (top level or a STRUCT's children), each
/// of which has `len` values before this object. Appends exactly one value to every column.
fn decode_object(
    scratch: &mut Scratch,
    cur: &mut Cursor<'_>,
    names: NameList<'_>,
    columns: &mut [ColumnBuilder],
    len: usize,
    depth: u32,
) -> Res<()> {
    if depth > MAX_DEPTH {
        return Err(cur.syntax_error("the record is nested too deeply"));
    }
    let n = columns.len();
    let base = scratch.states.len();
    scratch.states.resize(base + n, UNSET);
    let result = decode_fields(scratch, cur, names, columns, len, depth, base);
    if result.is_ok() {
        for (i, column) in columns.iter_mut().enumerate() {
            if scratch.states[base + i] == UNSET {
                column.append_null();
            }
        }
    }
    scratch.states.truncate(base);
    result
}

fn decode_fields(
    scratch: &mut Scratch,
    cur: &mut Cursor<'_>,
    names: NameList<'_>,
    columns: &mut [ColumnBuilder],
    len: usize,
    depth: u32,
    base: usize,
) -> Res<()> {
    cur.pos += 1; // '{'
    cur.ws();
    if cur.peek() == Some(b'}') {
        cur.pos += 1;
        return Ok(());
    }
    let mut hint = 0;
    let top = matches!(names, NameList::Top(..));
    let mut position = 0;
    loop {
        cur.ws();
        if cur.peek() != Some(b'"') {
            return Err(cur.syntax_error("expected a field name"));
        }
        let repeated = if top { repeated_name(&scratch.top_matches, cur, position) } else { None };
        let matches = match repeated {
            Some(matches) => matches,
            None => {
                let key = cur.string()?;
                if key.escaped {
                    scratch.text.clear();
                    unescape(&cur.b[key.start..key.end], &mut scratch.text)?;
                    find_columns(&scratch.text, names, hint)
                } else {
                    let key = &cur.b[key.start..key.end];
                    if top && position < MATCH_CACHE {
                        cached_columns(&mut scratch.top_matches, position, key, names, hint)
                    } else {
                        find_columns(key, names, hint)
                    }
                }
            }
        };
        position += 1;
        cur.ws();
        if cur.peek() != Some(b':') {
            return Err(cur.syntax_error("expected ':' after a field name"));
        }
        cur.pos += 1;
        cur.ws();
        let start = cur.pos;
        let mut end = None;
        for (i, quality) in matches.into_iter().flatten() {
            let state = &mut scratch.states[base + i];
            if *state > quality {
                continue;
            }
            if *state != UNSET {
                // A later field for the same column replaces the earlier one.
                columns[i].truncate(len);
            }
            *state = quality;
            hint = i + 1;
            cur.pos = start;
            decode_value(scratch, cur, &mut columns[i], depth + 1).map_err(|e| in_field(names.get(i), e))?;
            end = Some(cur.pos);
        }
        match end {
            Some(end) => cur.pos = end,
            None => cur.skip_value(depth + 1)?,
        }
        cur.ws();
        match cur.next() {
            Some(b',') => continue,
            Some(b'}') => return Ok(()),
            _ => return Err(cur.syntax_error("expected ',' or '}' in an object")),
        }
    }
}

/// Records of one topic mostly repeat their field names in order: when the (unescaped) name
/// remembered for this position follows the cursor, it is the key, taken with its matches and
/// without scanning for its end.
#[inline]
fn repeated_name(cache: &[(Box<[u8]>, Matches)], cur: &mut Cursor<'_>, position: usize) -> Option<Matches> {
    let (name, matches) = cache.get(position)?;
    let rest = cur.b.get(cur.pos + 1..)?;
    // Names are short: a byte loop beats a call to memcmp.
    if rest.len() > name.len() && rest.iter().zip(name.iter()).all(|(a, b)| a == b) && rest[name.len()] == b'"' {
        cur.pos += name.len() + 2;
        Some(*matches)
    } else {
        None
    }
}

/// [`find_columns`] for the top-level field at `position`, remembered in `cache`. Column
/// names are distinct, so a name's matches do not depend on the hint and can be reused.
#[inline]
fn cached_columns(
    cache: &mut Vec<(Box<[u8]>, Matches)>,
    position: usize,
    key: &[u8],
    names: NameList<'_>,
    hint: usize,
) -> Matches {
    if let Some((name, matches)) = cache.get(position)
        && **name == *key
    {
        return *matches;
    }
    let matches = find_columns(key, names, hint);
    if position < cache.len() {
        cache[position] = (key.into(), matches);
    } else if position == cache.len() {
        cache.push((key.into(), matches));
    }
    matches
}

/// The columns a JSON field name feeds: the column it names exactly, and the column that
/// equals its upper-cased form (ksqlDB's case-insensitive lookup). At most one of each.
#[inline]
fn find_columns(key: &[u8], names: NameList<'_>, hint: usize) -> Matches {
    let n = names.len();
    // An all-upper-case ASCII name is its own upper-case form: nothing more to find.
    let needs_upper = !key.iter().all(|c| c.is_ascii() && !c.is_ascii_lowercase());
    let exact = if needs_upper && matches!(names, NameList::Top(_, true)) && key.iter().any(u8::is_ascii_lowercase) {
        None
    } else if hint < n && names.get(hint) == key {
        Some(hint)
    } else {
        (0..n).find(|&i| names.get(i) == key)
    };
    let mut upper = None;
    if needs_upper {
        if key.is_ascii() {
            let eq = |name: &[u8]| {
                name.len() == key.len() && name.iter().zip(key).all(|(a, b)| *a == b.to_ascii_uppercase())
            };
            upper = if hint < n && eq(names.get(hint)) { Some(hint) } else { (0..n).find(|&i| eq(names.get(i))) };
        } else if let Ok(text) = std::str::from_utf8(key) {
            let upper_key = text.to_uppercase();
            upper = (0..n).find(|&i| names.get(i) == upper_key.as_bytes());
        }
    }
    if upper == exact {
        upper = None;
    }
    [exact.map(|i| (i, EXACT)), upper.map(|i| (i, UPPER))]
}

/// Prefixes an error with the field it happened in, joining nested fields with dots.
fn in_field(name: &[u8], err: DecodeError) -> DecodeError {
    let name = String::from_utf8_lossy(name);
    match err.0.strip_prefix("field '") {
        Some(rest) => DecodeError(format!("field '{name}.{rest}")),
        None => DecodeError(format!("field '{name}': {}", err.0)),
    }
}

/// Decodes one JSON value into `col`, appending exactly one value.
fn decode_value(scratch: &mut Scratch, cur: &mut Cursor<'_>, col: &mut ColumnBuilder, depth: u32) -> Res<()> {
    cur.ws();
    let Some(c) = cur.peek() else {
        return Err(cur.syntax_error("unexpected end of input"));
    };
    if c == b'n' {
        cur.literal(b"null")?;
        col.append_null();
        return Ok(());
    }
    match col.data_type() {
        DataType::Boolean => {
            let v = match c {
                b't' => cur.literal(b"true").map(|_| true)?,
                b'f' => cur.literal(b"false").map(|_| false)?,
                b'"' => {
                    let text = string_text(scratch, cur)?;
                    if text.eq_ignore_ascii_case(b"true") {
                        true
                    } else if text.eq_ignore_ascii_case(b"false") {
                        false
                    } else {
                        return Err(coercion_error(text, col.data_type()));
                    }
                }
                _ => return Err(cur.conversion_error(&type_name(col.data_type()))),
            };
            col.append_bool(v);
        }
        DataType::Int32 | DataType::Date32 | DataType::Time32(_) => {
            let v = integer(scratch, cur, c, col.data_type())?;
            let v = i32::try_from(v).map_err(|_| out_of_range(v, col.data_type()))?;
            col.append_i32(v);
        }
        DataType::Int64 | DataType::Timestamp(_, _) => {
            let v = integer(scratch, cur, c, col.data_type())?;
            col.append_i64(v);
        }
        DataType::Float64 => {
            let v = match c {
                b'-' | b'0'..=b'9' => {
                    let num = cur.number()?;
                    // JSON's number grammar is a subset of what Rust parses.
                    std::str::from_utf8(&cur.b[num.start..num.end])
                        .ok()
                        .and_then(|text| text.parse::<f64>().ok())
                        .ok_or_else(|| cur.syntax_error("invalid number"))?
                }
                b'"' => {
                    let text = string_text(scratch, cur)?;
                    parse_f64(text).ok_or_else(|| coercion_error(text, col.data_type()))?
                }
                _ => return Err(cur.conversion_error(&type_name(col.data_type()))),
            };
            col.append_f64(v);
        }
        DataType::Decimal128(p, s) => {
            let (p, s) = (*p, *s);
            let v = match c {
                b'-' | b'0'..=b'9' => {
                    let num = cur.number()?;
                    parse_decimal(&cur.b[num.start..num.end], p, s).map_err(DecodeError)?
                }
                b'"' => {
                    let text = string_text(scratch, cur)?;
                    parse_decimal(text, p, s).map_err(DecodeError)?
                }
                _ => return Err(cur.conversion_error(&type_name(col.data_type()))),
            };
            col.append_i128(v);
        }
        DataType::Utf8 => decode_string(cur, c, col, depth)?,
        DataType::Binary => {
            if c != b'"' {
                return Err(cur.conversion_error("BYTES"));
            }
            let text = string_text(scratch, cur)?;
            let Some(out) = col.bytes_buffer() else {
                return Err(DecodeError("BYTES column without a byte buffer".into()));
            };
            if BASE64.decode_vec(text, out).is_err() {
                col.abort_bytes();
                return Err(DecodeError(format!("'{}' is not valid base64 for a BYTES value", snippet(text))));
            }
            col.commit_bytes();
        }
        DataType::List(_) => {
            if c != b'[' {
                return Err(cur.conversion_error(&type_name(col.data_type())));
            }
            if depth > MAX_DEPTH {
                return Err(cur.syntax_error("the record is nested too deeply"));
            }
            let Values::List { child, .. } = &mut col.values else {
                return Err(DecodeError("ARRAY column without an item builder".into()));
            };
            cur.pos += 1;
            cur.ws();
            if cur.peek() == Some(b']') {
                cur.pos += 1;
            } else {
                loop {
                    decode_value(scratch, cur, child, depth + 1)?;
                    cur.ws();
                    match cur.next() {
                        Some(b',') => continue,
                        Some(b']') => break,
                        _ => return Err(cur.syntax_error("expected ',' or ']' in an array")),
                    }
                }
            }
            col.close_list();
        }
        DataType::Map(_, _) => {
            if c != b'{' {
                return Err(cur.conversion_error(&type_name(col.data_type())));
            }
            if depth > MAX_DEPTH {
                return Err(cur.syntax_error("the record is nested too deeply"));
            }
            let Values::Map { keys, values, .. } = &mut col.values else {
                return Err(DecodeError("MAP column without entry builders".into()));
            };
            cur.pos += 1;
            cur.ws();
            if cur.peek() == Some(b'}') {
                cur.pos += 1;
            } else {
                loop {
                    cur.ws();
                    if cur.peek() != Some(b'"') {
                        return Err(cur.syntax_error("expected a field name"));
                    }
                    decode_string(cur, b'"', keys, depth)?;
                    cur.ws();
                    if cur.next() != Some(b':') {
                        return Err(cur.syntax_error("expected ':' after a field name"));
                    }
                    decode_value(scratch, cur, values, depth + 1)?;
                    cur.ws();
                    match cur.next() {
                        Some(b',') => continue,
                        Some(b'}') => break,
                        _ => return Err(cur.syntax_error("expected ',' or '}' in an object")),
                    }
                }
            }
            col.close_list();
        }
        DataType::Struct(_) => {
            if c != b'{' {
                return Err(cur.conversion_error(&type_name(col.data_type())));
            }
            let len = col.len();
            let ColumnBuilder { data_type: DataType::Struct(fields), values: Values::Struct { children }, .. } = col
            else {
                return Err(DecodeError("STRUCT column without field builders".into()));
            };
            let names = NameList::Struct(fields);
            decode_object(scratch, cur, names, children, len, depth + 1)?;
            col.push_valid();
        }
        other => {
            return Err(DecodeError(format!("the JSON format cannot decode arrow type {other}")));
        }
    }
    Ok(())
}

/// Decodes any JSON value into a STRING column: strings as their text, numbers and booleans
/// as written, objects and arrays as compact JSON text.
fn decode_string(cur: &mut Cursor<'_>, c: u8, col: &mut ColumnBuilder, depth: u32) -> Res<()> {
    match c {
        b'"' => {
            let span = cur.string()?;
            let raw = &cur.b[span.start..span.end];
            if !span.escaped {
                col.append_bytes(raw);
                return Ok(());
            }
            let Some(out) = col.bytes_buffer() else {
                return Err(DecodeError("STRING column without a byte buffer".into()));
            };
            if let Err(e) = unescape(raw, out) {
                col.abort_bytes();
                return Err(e);
            }
            col.commit_bytes();
        }
        b'-' | b'0'..=b'9' => {
            let num = cur.number()?;
            col.append_bytes(&cur.b[num.start..num.end]);
        }
        b't' => {
            cur.literal(b"true")?;
            col.append_bytes(b"true");
        }
        b'f' => {
            cur.literal(b"false")?;
            col.append_bytes(b"false");
        }
        b'{' | b'[' => {
            let start = cur.pos;
            cur.skip_value(depth)?;
            let Some(out) = col.bytes_buffer() else {
                return Err(DecodeError("STRING column without a byte buffer".into()));
            };
            minify(&cur.b[start..cur.pos], out);
            col.commit_bytes();
        }
        _ => return Err(cur.syntax_error("expected a JSON value")),
    }
    Ok(())
}

/// Reads an integer for INT, BIGINT, DATE, TIME or TIMESTAMP: a JSON number (a fraction is
/// truncated, as Java's `longValue` does) or a string holding an integer.
fn integer(scratch: &mut Scratch, cur: &mut Cursor<'_>, c: u8, data_type: &DataType) -> Res<i64> {
    match c {
        b'-' | b'0'..=b'9' => {
            if let Some(v) = cur.plain_integer() {
                return Ok(v);
            }
            let num = cur.number()?;
            let text = &cur.b[num.start..num.end];
            if num.integer {
                return parse_i64(text).ok_or_else(|| {
                    DecodeError(format!("value {} is out of range for {}", snippet(text), type_name(data_type)))
                });
            }
            let v = parse_f64(text).ok_or_else(|| cur.syntax_error("invalid number"))?;
            let t = v.trunc();
            if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&t) {
                Ok(t as i64)
            } else {
                Err(DecodeError(format!("value {} is out of range for {}", snippet(text), type_name(data_type))))
            }
        }
        b'"' => {
            let text = string_text(scratch, cur)?;
            parse_i64(text).ok_or_else(|| coercion_error(text, data_type))
        }
        _ => Err(cur.conversion_error(&type_name(data_type))),
    }
}

/// The text of the string at the cursor, unescaped into the scratch buffer when needed.
fn string_text<'s, 'a: 's>(scratch: &'s mut Scratch, cur: &mut Cursor<'a>) -> Res<&'s [u8]> {
    let span = cur.string()?;
    let raw: &'a [u8] = &cur.b[span.start..span.end];
    if !span.escaped {
        return Ok(raw);
    }
    scratch.text.clear();
    unescape(raw, &mut scratch.text)?;
    Ok(&scratch.text)
}

fn out_of_range(v: i64, data_type: &DataType) -> DecodeError {
    DecodeError(format!("value {v} is out of range for {}", type_name(data_type)))
}

fn coercion_error(text: &[u8], data_type: &DataType) -> DecodeError {
    DecodeError(format!(
        "Can't coerce string to type. targetType: {}, value: \"{}\"",
        type_name(data_type),
        snippet(text)
    ))
}

/// At most 40 characters of a value, for messages.
fn snippet(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.into_owned(),
    }
}

/// Copies JSON text without the whitespace between tokens, as Jackson prints a node.
fn minify(raw: &[u8], out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &c in raw {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
            if c == b'"' {
                in_string = true;
            }
            out.push(c);
        }
    }
}

/// Appends the unescaped content of a JSON string (without its quotes) to `out`.
fn unescape(raw: &[u8], out: &mut Vec<u8>) -> Res<()> {
    let bad = || DecodeError("invalid escape sequence in a JSON string".into());
    let mut i = 0;
    while i < raw.len() {
        let run_end = raw[i..].iter().position(|&c| c == b'\\').map_or(raw.len(), |p| i + p);
        out.extend_from_slice(&raw[i..run_end]);
        i = run_end;
        if i >= raw.len() {
            break;
        }
        let escape = *raw.get(i + 1).ok_or_else(bad)?;
        i += 2;
        let c = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(raw, i).ok_or_else(bad)?;
                i += 4;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    let lo = raw[i..]
                        .starts_with(b"\\u")
                        .then(|| hex4(raw, i + 2))
                        .flatten()
                        .filter(|lo| (0xDC00..0xE000).contains(lo));
                    match lo {
                        Some(lo) => {
                            i += 6;
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        }
                        None => 0xFFFD,
                    }
                } else {
                    hi
                };
                char::from_u32(code).unwrap_or('\u{FFFD}')
            }
            _ => return Err(bad()),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Ok(())
}

fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = raw.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// The content of a string token.
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

/// Whether the eight bytes of `chunk` (little endian: the first byte lowest) are ASCII digits.
#[inline]
fn eight_digits(chunk: u64) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    // Every high nibble is 3 (0x30..=0x3F), and still 3 after adding 6 (not 0x3A..=0x3F).
    chunk & HIGH == ZEROS && chunk.wrapping_add(0x0606_0606_0606_0606) & HIGH == ZEROS
}

/// The value of eight ASCII digits read little endian (the first digit is the most
/// significant): adjacent digits are combined into pairs, pairs into fours, fours into eight,
/// each step a multiply and a shift on all lanes at once.
#[inline]
fn eight_digit_value(chunk: u64) -> u64 {
    let digits = chunk.wrapping_sub(0x3030_3030_3030_3030);
    let pairs = (digits.wrapping_mul(10).wrapping_add(digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs.wrapping_mul(100).wrapping_add(pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    (fours.wrapping_mul(10_000).wrapping_add(fours >> 32)) & 0xFFFF_FFFF
}

/// A number token.
struct Num {
    start: usize,
    end: usize,
    /// No fraction and no exponent.
    integer: bool,
}

/// A position in the bytes of one record.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if c == b' ' || c == b'\n' || c == b'\r' || c == b'\t' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    #[inline]
    fn literal(&mut self, lit: &[u8]) -> Res<()> {
        if self.b[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.syntax_error("invalid literal"))
        }
    }

    /// Reads the string starting at the cursor (on its opening quote).
    #[inline]
    fn string(&mut self) -> Res<Span> {
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            // Jump to the next quote or backslash: long strings are scanned a vector at a time.
            let Some(at) = self.b.get(i..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) else {
                return Err(self.syntax_error("unterminated string"));
            };
            i += at;
            if self.b[i] == b'"' {
                break;
            }
            escaped = true;
            i += 2;
        }
        self.pos = i + 1;
        Ok(Span { start, end: i, escaped })
    }

    /// Reads a number without fraction or exponent that fits an i64 in one pass, computing its
    /// value as it goes; `None` (the cursor unmoved) for anything else, which
    /// [`Cursor::number`] then reads or reports.
    #[inline]
    fn plain_integer(&mut self) -> Option<i64> {
        let b = self.b;
        let mut i = self.pos;
        let negative = b.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let first = i;
        let mut v: u64 = 0;
        // Eight digits at a time while they last: an epoch timestamp in milliseconds is 13.
        while let Some(Ok(chunk)) = b.get(i..i + 8).map(<[u8; 8]>::try_from) {
            let chunk = u64::from_le_bytes(chunk);
            if !eight_digits(chunk) {
                break;
            }
            // Wraps only past 19 digits, which are rejected below.
            v = v.wrapping_mul(100_000_000).wrapping_add(eight_digit_value(chunk));
            i += 8;
        }
        while let Some(&c) = b.get(i) {
            let digit = c.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            // Up to 18 digits cannot overflow; longer numbers are for the general path.
            v = v.wrapping_mul(10).wrapping_add(u64::from(digit));
            i += 1;
        }
        let digits = i - first;
        // JSON wants a digit and no leading zero; a fraction, an exponent or a stray letter
        // is for the general path to read or reject.
        if digits == 0 || digits > 18 || (b[first] == b'0' && digits > 1) {
            return None;
        }
        if b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.') {
            return None;
        }
        self.pos = i;
        // At most 18 digits: below 10^18, so the value and its negation fit an i64.
        let v = v as i64;
        Some(if negative { -v } else { v })
    }

    /// Reads the number starting at the cursor, checking JSON's number grammar.
    #[inline]
    fn number(&mut self) -> Res<Num> {
        let b = self.b;
        let start = self.pos;
        let mut i = start;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(i + 1),
            _ => return Err(self.syntax_error("invalid number")),
        }
        let mut integer = true;
        if b.get(i) == Some(&b'.') {
            integer = false;
            let end = digits(i + 1);
            if end == i + 1 {
                return Err(self.syntax_error("invalid number"));
            }
            i = end;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            integer = false;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return Err(self.syntax_error("invalid number"));
            }
            i = end;
        }
        if b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.') {
            return Err(self.syntax_error("invalid number"));
        }
        self.pos = i;
        Ok(Num { start, end: i, integer })
    }

    /// Skips one JSON value, checking its syntax.
    fn skip_value(&mut self, depth: u32) -> Res<()> {
        if depth > MAX_DEPTH {
            return Err(self.syntax_error("the record is nested too deeply"));
        }
        self.ws();
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'[') => {
                self.pos += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next() {
                        Some(b',') => continue,
                        Some(b']') => return Ok(()),
                        _ => return Err(self.syntax_error("expected ',' or ']' in an array")),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.syntax_error("expected a field name"));
                    }
                    self.string()?;
                    self.ws();
                    if self.next() != Some(b':') {
                        return Err(self.syntax_error("expected ':' after a field name"));
                    }
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next() {
                        Some(b',') => continue,
                        Some(b'}') => return Ok(()),
                        _ => return Err(self.syntax_error("expected ',' or '}' in an object")),
                    }
                }
            }
            Some(_) => Err(self.syntax_error("expected a JSON value")),
            None => Err(self.syntax_error("unexpected end of input")),
        }
    }

    fn syntax_error(&self, what: &str) -> DecodeError {
        DecodeError(format!("invalid JSON at offset {}: {what}", self.pos))
    }

    /// A value of the wrong JSON kind for the column, in ksqlDB's words.
    fn conversion_error(&self, required: &str) -> DecodeError {
        let source = match self.peek() {
            Some(b'"') => "TextNode",
            Some(b'{') => "ObjectNode",
            Some(b'[') => "ArrayNode",
            Some(b't' | b'f') => "BooleanNode",
            Some(b'-' | b'0'..=b'9') => "NumericNode",
            _ => return self.syntax_error("expected a JSON value"),
        };
        DecodeError(format!("Can't convert type. sourceType: {source}, requiredType: {required}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Encodes rows as ksqlDB's JSON.
pub(crate) struct JsonEncoder {
    /// `"NAME":` of every column, escaped once.
    keys: Vec<Vec<u8>>,
    unwrapped: bool,
}

impl JsonEncoder {
    pub(crate) fn new(fields: &Fields, wrap_single: bool) -> Result<Self> {
        check_fields(fields)?;
        let keys = fields
            .iter()
            .map(|f| {
                let mut key = Vec::with_capacity(f.name().len() + 3);
                write_string(f.name().as_bytes(), &mut key);
                key.push(b':');
                key
            })
            .collect();
        Ok(Self { keys, unwrapped: fields.len() == 1 && !wrap_single })
    }
}

impl super::Encode for JsonEncoder {
    fn encode(&mut self, columns: &[ArrayRef], row: usize, out: &mut Vec<u8>) -> Result<bool> {
        if self.unwrapped {
            if columns[0].is_null(row) {
                return Ok(false);
            }
            write_value(columns[0].as_ref(), row, out)?;
        } else {
            out.push(b'{');
            for (i, (key, column)) in self.keys.iter().zip(columns).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(key);
                write_value(column.as_ref(), row, out)?;
            }
            out.push(b'}');
        }
        Ok(true)
    }
}

/// Writes a JSON string literal, escaping as Jackson does.
pub(crate) fn write_string(text: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut run = 0;
    for (i, &c) in text.iter().enumerate() {
        let escape: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&text[run..i]);
        run = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(&text[run..]);
    out.push(b'"');
}

fn write_int(v: i128, out: &mut Vec<u8>) {
    // Nearly every value fits an i64, which formats faster than an i128.
    let mut buffer = itoa::Buffer::new();
    let text = match i64::try_from(v) {
        Ok(v) => buffer.format(v),
        Err(_) => buffer.format(v),
    };
    out.extend_from_slice(text.as_bytes());
}

/// Writes one cell as JSON.
pub(crate) fn write_value(array: &dyn Array, row: usize, out: &mut Vec<u8>) -> Result<()> {
    if array.is_null(row) {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Null => out.extend_from_slice(b"null"),
        DataType::Boolean => {
            let v = array.as_boolean().value(row);
            out.extend_from_slice(if v { b"true" } else { b"false" });
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let v = float_value(array, row);
            if v.is_finite() {
                write_java_double(v, out);
            } else {
                // Jackson writes non-finite doubles as strings.
                out.push(b'"');
                write_java_double(v, out);
                out.push(b'"');
            }
        }
        DataType::Decimal128(_, s) => {
            write_decimal(array.as_primitive::<Decimal128Type>().value(row), *s, out);
        }
        DataType::Utf8 => write_string(array.as_string::<i32>().value(row).as_bytes(), out),
        DataType::LargeUtf8 => write_string(array.as_string::<i64>().value(row).as_bytes(), out),
        DataType::Utf8View => write_string(array.as_string_view().value(row).as_bytes(), out),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            out.push(b'"');
            let encoded = BASE64.encode(binary_value(array, row));
            out.extend_from_slice(encoded.as_bytes());
            out.push(b'"');
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let items = list_value(array, row);
            out.push(b'[');
            for i in 0..items.len() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(items.as_ref(), i, out)?;
            }
            out.push(b']');
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            out.push(b'{');
            for i in 0..entries.len() {
                if i > 0 {
                    out.push(b',');
                }
                write_key(keys.as_ref(), i, out)?;
                out.push(b':');
                write_value(values.as_ref(), i, out)?;
            }
            out.push(b'}');
        }
        DataType::Struct(fields) => {
            let array = array.as_struct();
            out.push(b'{');
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(field.name().as_bytes(), out);
                out.push(b':');
                write_value(array.column(i).as_ref(), row, out)?;
            }
            out.push(b'}');
        }
        _ => match integer_value(array, row) {
            Some(v) => write_int(v, out),
            None => {
                return Err(Error::internal(format!("the JSON format cannot encode arrow type {}", array.data_type())));
            }
        },
    }
    Ok(())
}

/// Writes a map key: strings as they are, anything else as its JSON text in a string.
fn write_key(keys: &dyn Array, i: usize, out: &mut Vec<u8>) -> Result<()> {
    match keys.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => write_value(keys, i, out),
        _ => {
            let mut text = Vec::new();
            write_value(keys, i, &mut text)?;
            write_string(&text, out);
            Ok(())
        }
    }
}

pub(crate) fn float_value(array: &dyn Array, row: usize) -> f64 {
    match array.data_type() {
        DataType::Float32 => f64::from(array.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => array.as_primitive::<Float64Type>().value(row),
        DataType::Float16 => f64::from(array.as_primitive::<arrow::datatypes::Float16Type>().value(row)),
        _ => f64::NAN,
    }
}

pub(crate) fn binary_value(array: &dyn Array, row: usize) -> &[u8] {
    match array.data_type() {
        DataType::Binary => array.as_binary::<i32>().value(row),
        DataType::LargeBinary => array.as_binary::<i64>().value(row),
        DataType::BinaryView => array.as_binary_view().value(row),
        _ => &[],
    }
}

fn list_value(array: &dyn Array, row: usize) -> ArrayRef {
    match array.data_type() {
        DataType::LargeList(_) => array.as_list::<i64>().value(row),
        _ => array.as_list::<i32>().value(row),
    }
}

/// The value of an integer-like cell as ksqlDB's JSON number: integers as they are, DATE as
/// days, TIME as milliseconds of the day, TIMESTAMP as epoch milliseconds.
pub(crate) fn integer_value(array: &dyn Array, row: usize) -> Option<i128> {
    const DAY_MS: i64 = 86_400_000;
    Some(match array.data_type() {
        DataType::Int8 => i128::from(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => i128::from(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => i128::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => i128::from(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => i128::from(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => i128::from(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => i128::from(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => i128::from(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Date32 => i128::from(array.as_primitive::<Date32Type>().value(row)),
        DataType::Date64 => i128::from(array.as_primitive::<Date64Type>().value(row).div_euclid(DAY_MS)),
        DataType::Time32(TimeUnit::Millisecond) => i128::from(array.as_primitive::<Time32MillisecondType>().value(row)),
        DataType::Time32(_) => i128::from(array.as_primitive::<Time32SecondType>().value(row)) * 1000,
        DataType::Time64(TimeUnit::Microsecond) => {
            i128::from(array.as_primitive::<Time64MicrosecondType>().value(row) / 1000)
        }
        DataType::Time64(_) => i128::from(array.as_primitive::<Time64NanosecondType>().value(row) / 1_000_000),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            i128::from(array.as_primitive::<TimestampMillisecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Second, _) => {
            i128::from(array.as_primitive::<TimestampSecondType>().value(row)) * 1000
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            i128::from(array.as_primitive::<TimestampMicrosecondType>().value(row).div_euclid(1000))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            i128::from(array.as_primitive::<TimestampNanosecondType>().value(row).div_euclid(1_000_000))
        }
        _ => return None,
    })
}

/// One Arrow cell as ksqlDB writes it in JSON (push and pull query rows, QTT outputs).
///
/// DECIMAL becomes an integer when its scale is 0, else a double (serde_json without
/// `arbitrary_precision` cannot carry its exact digits); non-finite doubles become strings;
/// BYTES are base64; DATE, TIME and TIMESTAMP are numbers (days, ms of day, epoch ms).
pub fn array_value_to_json(array: &dyn Array, row: usize) -> serde_json::Value {
    use serde_json::{Map, Number, Value};
    if array.is_null(row) {
        return Value::Null;
    }
    let double = |v: f64| match Number::from_f64(v) {
        Some(n) => Value::Number(n),
        None => {
            let mut text = Vec::new();
            write_java_double(v, &mut text);
            Value::String(String::from_utf8_lossy(&text).into_owned())
        }
    };
    match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => double(float_value(array, row)),
        DataType::Decimal128(_, s) => {
            let unscaled = array.as_primitive::<Decimal128Type>().value(row);
            if *s <= 0 {
                let v = unscaled * 10i128.pow(u32::from(s.unsigned_abs()));
                if let Ok(v) = i64::try_from(v) {
                    return Value::from(v);
                }
            }
            double(decimal_to_string(unscaled, *s).parse::<f64>().unwrap_or(f64::NAN))
        }
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_owned()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_owned()),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            Value::String(BASE64.encode(binary_value(array, row)))
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let items = list_value(array, row);
            Value::Array((0..items.len()).map(|i| array_value_to_json(items.as_ref(), i)).collect())
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let mut map = Map::with_capacity(entries.len());
            for i in 0..entries.len() {
                let key = match array_value_to_json(keys.as_ref(), i) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                map.insert(key, array_value_to_json(values.as_ref(), i));
            }
            Value::Object(map)
        }
        DataType::Struct(fields) => {
            let array = array.as_struct();
            let mut map = Map::with_capacity(fields.len());
            for (i, field) in fields.iter().enumerate() {
                map.insert(field.name().clone(), array_value_to_json(array.column(i).as_ref(), row));
            }
            Value::Object(map)
        }
        _ => match integer_value(array, row) {
            Some(v) => match i64::try_from(v) {
                Ok(v) => Value::from(v),
                Err(_) => match u64::try_from(v) {
                    Ok(v) => Value::from(v),
                    Err(_) => double(v as f64),
                },
            },
            None => Value::String(arrow::util::display::array_value_to_string(array, row).unwrap_or_default()),
        },
    }
}

/// The text of a string cell of any Arrow string layout.
pub(crate) fn string_value(array: &dyn Array, row: usize) -> &str {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row),
        DataType::Utf8View => array.as_string_view().value(row),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, ListArray,
        MapArray, StringArray, StructArray, Time32MillisecondArray, TimestampMillisecondArray,
    };
    use arrow::datatypes::{Field, TimeUnit};
    use serde_json::json;

    use super::*;
    use crate::format::{FormatKind, FormatSpec, RowDecoder, RowEncoder};

    fn field(name: &str, data_type: DataType) -> Field {
        Field::new(name, data_type, true)
    }

    fn list(item: DataType) -> DataType {
        DataType::List(Arc::new(Field::new("item", item, true)))
    }

    fn map(value: DataType) -> DataType {
        let entries = Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Utf8, false),
                Field::new("value", value, true),
            ])),
            false,
        );
        DataType::Map(Arc::new(entries), false)
    }

    fn spec(wrap_single: bool) -> FormatSpec {
        FormatSpec { wrap_single, ..FormatSpec::new(FormatKind::Json) }
    }

    /// Decodes each record (all must succeed) and returns the columns.
    fn decode(fields: Vec<Field>, wrap: bool, records: &[&str]) -> Vec<ArrayRef> {
        let mut decoder = RowDecoder::new(&spec(wrap), Fields::from(fields)).unwrap();
        for record in records {
            decoder.append(Some(record.as_bytes())).unwrap_or_else(|e| panic!("{record}: {e}"));
        }
        decoder.finish()
    }

    fn decode_err(fields: Vec<Field>, record: &str) -> String {
        let mut decoder = RowDecoder::new(&spec(true), Fields::from(fields)).unwrap();
        let err = decoder.append(Some(record.as_bytes())).unwrap_err();
        assert_eq!(decoder.len(), 0);
        err.0
    }

    fn encode(fields: Vec<Field>, wrap: bool, columns: Vec<ArrayRef>) -> Vec<Option<String>> {
        let mut encoder = RowEncoder::new(&spec(wrap), Fields::from(fields)).unwrap();
        let mut out = Vec::new();
        encoder.encode(&columns, &mut out).unwrap();
        out.into_iter().map(|b| b.map(|b| String::from_utf8(b.to_vec()).unwrap())).collect()
    }

    fn cell(array: &ArrayRef, row: usize) -> serde_json::Value {
        array_value_to_json(array.as_ref(), row)
    }

    #[test]
    fn decodes_every_primitive_type() {
        let fields = vec![
            field("B", DataType::Boolean),
            field("I", DataType::Int32),
            field("L", DataType::Int64),
            field("D", DataType::Float64),
            field("DEC", DataType::Decimal128(6, 4)),
            field("S", DataType::Utf8),
            field("BY", DataType::Binary),
            field("DT", DataType::Date32),
            field("T", DataType::Time32(TimeUnit::Millisecond)),
            field("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
        ];
        let cols = decode(
            fields,
            true,
            &[
                r#"{"B": true, "I": -7, "L": 998877665544332211, "D": 654.321, "DEC": 12.3650,
                   "S": "Hey", "BY": "AQID", "DT": -10, "T": 5000, "TS": 1528224275715}"#,
                r#"{}"#,
            ],
        );
        assert_eq!(cols[0].as_boolean(), &BooleanArray::from(vec![Some(true), None]));
        assert_eq!(cols[1].as_primitive::<Int32Type>(), &Int32Array::from(vec![Some(-7), None]));
        assert_eq!(cols[2].as_primitive::<Int64Type>(), &Int64Array::from(vec![Some(998877665544332211), None]));
        assert_eq!(cols[3].as_primitive::<Float64Type>(), &Float64Array::from(vec![Some(654.321), None]));
        assert_eq!(
            cols[4].as_primitive::<Decimal128Type>(),
            &Decimal128Array::from(vec![Some(123650), None]).with_precision_and_scale(6, 4).unwrap()
        );
        assert_eq!(cols[5].as_string::<i32>(), &StringArray::from(vec![Some("Hey"), None]));
        assert_eq!(cols[6].as_binary::<i32>(), &BinaryArray::from(vec![Some(&[1u8, 2, 3][..]), None]));
        assert_eq!(cols[7].as_primitive::<Date32Type>(), &Date32Array::from(vec![Some(-10), None]));
        assert_eq!(
            cols[8].as_primitive::<Time32MillisecondType>(),
            &Time32MillisecondArray::from(vec![Some(5000), None])
        );
        assert_eq!(
            cols[9].as_primitive::<TimestampMillisecondType>(),
            &TimestampMillisecondArray::from(vec![Some(1528224275715), None])
        );
    }

    #[test]
    fn field_names_match_exactly_first_then_upper_cased() {
        let fields = vec![field("ID", DataType::Int64), field("name", DataType::Utf8)];
        let cols = decode(
            fields,
            true,
            &[
                r#"{"id": 1, "name": "a"}"#,
                r#"{"Id": 2, "NAME": "upper does not match a quoted lower-case column"}"#,
                r#"{"ID": 3, "id": 4}"#,
                r#"{"id": 5, "ID": 6, "id": 7}"#,
                r#"{"id": 8, "id": 9}"#,
            ],
        );
        let ids = cols[0].as_primitive::<Int64Type>();
        assert_eq!(ids.values().to_vec(), vec![1, 2, 3, 6, 9]);
        let names = cols[1].as_string::<i32>();
        assert_eq!(names.value(0), "a");
        assert!(names.is_null(1));
    }

    #[test]
    fn upper_case_columns_take_the_exact_field_over_lower_case_ones() {
        let fields = vec![field("ID", DataType::Int64), field("NAME", DataType::Utf8)];
        let cols = decode(fields, true, &[r#"{"id": 1, "ID": 2}"#, r#"{"ID": 3, "id": 4, "Name": "n"}"#]);
        assert_eq!(cols[0].as_primitive::<Int64Type>().values().to_vec(), vec![2, 3]);
        assert_eq!(cols[1].as_string::<i32>().value(1), "n");
    }

    #[test]
    fn one_field_can_feed_an_exact_and_an_upper_cased_column() {
        let fields = vec![field("foo", DataType::Int32), field("FOO", DataType::Int32)];
        let cols = decode(fields, true, &[r#"{"foo": 1}"#, r#"{"foo": 1, "FOO": 2}"#]);
        let lower = cols[0].as_primitive::<Int32Type>();
        let upper = cols[1].as_primitive::<Int32Type>();
        assert_eq!((lower.value(0), upper.value(0)), (1, 1));
        assert_eq!((lower.value(1), upper.value(1)), (1, 2));
    }

    #[test]
    fn missing_fields_are_null_and_extra_fields_are_skipped() {
        let fields = vec![field("A", DataType::Int32), field("B", DataType::Utf8)];
        let cols = decode(
            fields,
            true,
            &[r#" { "x": {"deep": [1, {"y": null}, "s\"}"]}, "b": "ok", "z": -1.5e3, "w": true } "#],
        );
        assert!(cols[0].is_null(0));
        assert_eq!(cols[1].as_string::<i32>().value(0), "ok");
    }

    #[test]
    fn remembered_field_names_only_match_the_same_name() {
        // The decoder remembers each position's name from the record before: a longer name,
        // a shorter one, an escaped spelling or another order must still match afresh.
        let fields =
            vec![field("PRICE", DataType::Int64), field("PRICES", DataType::Int64), field("P", DataType::Int64)];
        let cols = decode(
            fields,
            true,
            &[
                r#"{"price": 1, "p": 2}"#,
                r#"{"prices": 3, "p": 4}"#,
                r#"{"pri": 5, "price": 6}"#,
                r#"{"pr\u0069ce": 7, "p": 8}"#,
                r#"{"price": 9, "p": 10}"#,
            ],
        );
        let ints = |c: &ArrayRef| -> Vec<Option<i64>> { c.as_primitive::<Int64Type>().iter().collect() };
        assert_eq!(ints(&cols[0]), vec![Some(1), None, Some(6), Some(7), Some(9)]);
        assert_eq!(ints(&cols[1]), vec![None, Some(3), None, None, None]);
        assert_eq!(ints(&cols[2]), vec![Some(2), Some(4), None, Some(8), Some(10)]);
    }

    #[test]
    fn null_or_empty_records_are_rows_of_nulls() {
        let fields = vec![field("A", DataType::Int32), field("B", DataType::Utf8)];
        let cols = decode(fields, true, &["null", "", "  "]);
        assert_eq!(cols[0].null_count(), 3);
        assert_eq!(cols[1].null_count(), 3);
    }

    #[test]
    fn unwrapped_single_values_are_bare() {
        let cols = decode(vec![field("V", DataType::Boolean)], false, &["true", "null"]);
        assert_eq!(cols[0].as_boolean(), &BooleanArray::from(vec![Some(true), None]));
        let cols = decode(vec![field("FOO", list(DataType::Utf8))], false, &[r#"["a", "b", null]"#, "[1, 2, 3]"]);
        assert_eq!(cell(&cols[0], 0), json!(["a", "b", null]));
        assert_eq!(cell(&cols[0], 1), json!(["1", "2", "3"]));
        let cols = decode(vec![field("V", map(DataType::Float64))], false, &[r#"{"a": 45.67}"#]);
        assert_eq!(cell(&cols[0], 0), json!({"a": 45.67}));
        // Wrapped, the same single column reads its field.
        let cols = decode(vec![field("V", DataType::Int32)], true, &[r#"{"V": 10}"#]);
        assert_eq!(cols[0].as_primitive::<Int32Type>().value(0), 10);
    }

    #[test]
    fn strings_accept_any_json_value() {
        let cols = decode(
            vec![field("S", DataType::Utf8)],
            true,
            &[
                r#"{"S": 11}"#,
                r#"{"S": -1.50}"#,
                r#"{"S": false}"#,
                r#"{"s": {"ITEMID": 6, "CATEGORY": {"ID": 2, "NAME": "Food"}, "L": [1, "a b"]}}"#,
                r#"{"S": [ 1 , 2 ]}"#,
                r#"{"S": "tab\there \u00e9 \ud83d\ude00 \"q\" \\ \/"}"#,
            ],
        );
        let s = cols[0].as_string::<i32>();
        assert_eq!(s.value(0), "11");
        assert_eq!(s.value(1), "-1.50");
        assert_eq!(s.value(2), "false");
        assert_eq!(s.value(3), r#"{"ITEMID":6,"CATEGORY":{"ID":2,"NAME":"Food"},"L":[1,"a b"]}"#);
        assert_eq!(s.value(4), "[1,2]");
        assert_eq!(s.value(5), "tab\there é 😀 \"q\" \\ /");
    }

    #[test]
    fn bigint_edges_decode_or_fail_as_before_the_one_pass_path() {
        let fields = || vec![field("L", DataType::Int64)];
        let cols = decode(
            fields(),
            true,
            &[
                r#"{"L": -9223372036854775808}"#,
                r#"{"L": 9223372036854775807}"#,
                r#"{"L": -0}"#,
                r#"{"L": 0}"#,
                r#"{"L": 12.9}"#,
                r#"{"L": 1e2}"#,
                r#"{"L": 999999999999999999}"#,
                r#"{"L": -999999999999999999}"#,
                r#"{"L": 1000000000000000000}"#,
            ],
        );
        assert_eq!(
            cols[0].as_primitive::<Int64Type>().values().to_vec(),
            vec![i64::MIN, i64::MAX, 0, 0, 12, 100, 999_999_999_999_999_999, -999_999_999_999_999_999, 10i64.pow(18)]
        );
        assert!(decode_err(fields(), r#"{"L": 9223372036854775808}"#).contains("out of range"));
        for bad in [r#"{"L": 01}"#, r#"{"L": -}"#, r#"{"L": 1x}"#, r#"{"L": 1.}"#] {
            assert!(!decode_err(fields(), bad).is_empty(), "{bad}");
        }
    }

    #[test]
    fn eight_digits_at_a_time_read_as_one_at_a_time() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let text = format!("{:08}", state % 100_000_000);
            let chunk = u64::from_le_bytes(text.as_bytes().try_into().unwrap());
            assert!(eight_digits(chunk), "{text}");
            assert_eq!(eight_digit_value(chunk), text.parse::<u64>().unwrap(), "{text}");
        }
        for bad in [b"1234567/", b"123:5678", b"12345 78", b"\x00\x00\x00\x00\x00\x00\x00\x00", b"9999999\xff"] {
            assert!(!eight_digits(u64::from_le_bytes(*bad)), "{bad:?}");
        }
        // Numbers around the chunk boundaries, in records, both signs.
        for v in [
            0i64,
            7,
            12_345_678,
            123_456_789,
            1_700_000_000_123,
            999_999_999_999_999_999,
            -87_654_321,
            -1_234_567_890_123,
        ] {
            let record = format!("{{\"V\":{v}}}");
            let columns = decode(vec![field("V", DataType::Int64)], true, &[&record]);
            assert_eq!(cell(&columns[0], 0), serde_json::json!(v), "{record}");
        }
        let too_long = decode_err(vec![field("V", DataType::Int64)], r#"{"V":12345678901234567890}"#);
        assert!(too_long.contains("out of range"), "{too_long}");
        assert!(decode_err(vec![field("V", DataType::Int64)], r#"{"V":012345678}"#).contains("invalid"));
    }

    #[test]
    fn numbers_coerce_as_ksql_does() {
        let fields = vec![
            field("I", DataType::Int32),
            field("L", DataType::Int64),
            field("D", DataType::Float64),
            field("B", DataType::Boolean),
            field("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
            field("DT", DataType::Date32),
            field("T", DataType::Time32(TimeUnit::Millisecond)),
        ];
        let cols = decode(
            fields,
            true,
            &[
                r#"{"I": "12", "L": "-5", "D": "1.5", "B": "TRUE", "TS": "10", "DT": "1", "T": "4"}"#,
                r#"{"I": 1.9, "L": -2.7, "D": 3, "B": "false", "TS": 1.5e3, "DT": 2, "T": 0}"#,
            ],
        );
        assert_eq!(cols[0].as_primitive::<Int32Type>().values().to_vec(), vec![12, 1]);
        assert_eq!(cols[1].as_primitive::<Int64Type>().values().to_vec(), vec![-5, -2]);
        assert_eq!(cols[2].as_primitive::<Float64Type>().values().to_vec(), vec![1.5, 3.0]);
        assert_eq!(cols[3].as_boolean(), &BooleanArray::from(vec![true, false]));
        assert_eq!(cols[4].as_primitive::<TimestampMillisecondType>().values().to_vec(), vec![10, 1500]);
        assert_eq!(cols[5].as_primitive::<Date32Type>().values().to_vec(), vec![1, 2]);
        assert_eq!(cols[6].as_primitive::<Time32MillisecondType>().values().to_vec(), vec![4, 0]);
    }

    #[test]
    fn decimals_keep_their_digits() {
        let cols = decode(
            vec![field("DEC", DataType::Decimal128(21, 19))],
            true,
            &[r#"{"DEC": 10.1234512345123451234}"#, r#"{"dec": "1.50"}"#, r#"{"DEC": 10}"#, r#"{"DEC": 1e-19}"#],
        );
        let dec = cols[0].as_primitive::<Decimal128Type>();
        assert_eq!(dec.value_as_string(0), "10.1234512345123451234");
        assert_eq!(dec.value_as_string(1), "1.5000000000000000000");
        assert_eq!(dec.value_as_string(2), "10.0000000000000000000");
        assert_eq!(dec.value_as_string(3), "0.0000000000000000001");
        let cols = decode(vec![field("DEC", DataType::Decimal128(4, 2))], true, &[r#"{"DEC": 1.005}"#]);
        assert_eq!(cols[0].as_primitive::<Decimal128Type>().value(0), 101);
    }

    #[test]
    fn nested_types_decode_with_case_insensitive_struct_fields() {
        let inner = DataType::Struct(Fields::from(vec![field("ID", DataType::Int64), field("NAME", DataType::Utf8)]));
        let item = DataType::Struct(Fields::from(vec![field("ITEMID", DataType::Int64), field("CATEGORY", inner)]));
        let fields = vec![
            field("ITEM", item),
            field("ARR", list(list(DataType::Int32))),
            field("M", map(list(DataType::Int32))),
            field("STRUCTS", list(DataType::Struct(Fields::from(vec![field("V", DataType::Int64)])))),
        ];
        let cols = decode(
            fields,
            true,
            &[
                r#"{"item": {"itemid": 6, "category": {"id": 2, "name": "Food", "x": 1}},
                    "arr": [[0, 1], [], null, [2]], "m": {"foo": [1, 2], "bar": null},
                    "structs": [{}, {"v": 1}, null]}"#,
                r#"{"item": null, "arr": null, "m": {}, "structs": []}"#,
            ],
        );
        assert_eq!(cell(&cols[0], 0), json!({"ITEMID": 6, "CATEGORY": {"ID": 2, "NAME": "Food"}}));
        assert_eq!(cell(&cols[1], 0), json!([[0, 1], [], null, [2]]));
        assert_eq!(cell(&cols[2], 0), json!({"foo": [1, 2], "bar": null}));
        assert_eq!(cell(&cols[3], 0), json!([{"V": null}, {"V": 1}, null]));
        assert_eq!(cell(&cols[0], 1), json!(null));
        assert_eq!(cell(&cols[1], 1), json!(null));
        assert_eq!(cell(&cols[2], 1), json!({}));
        assert_eq!(cell(&cols[3], 1), json!([]));
        let _: &StructArray = cols[0].as_struct();
        let _: &ListArray = cols[1].as_list::<i32>();
        let _: &MapArray = cols[2].as_map();
    }

    #[test]
    fn bad_records_name_the_problem_and_append_nothing() {
        let int = || vec![field("A", DataType::Int32)];
        assert_eq!(
            decode_err(int(), r#"{"A": "abc"}"#),
            "field 'A': Can't coerce string to type. targetType: INTEGER, value: \"abc\""
        );
        assert_eq!(
            decode_err(int(), r#"{"A": {"x": 1}}"#),
            "field 'A': Can't convert type. sourceType: ObjectNode, requiredType: INTEGER"
        );
        assert_eq!(
            decode_err(int(), r#"{"A": 3000000000}"#),
            "field 'A': value 3000000000 is out of range for INTEGER"
        );
        assert!(decode_err(int(), r#"{"A": 1"#).contains("invalid JSON"));
        assert!(decode_err(int(), r#"{"A": 1} x"#).contains("after the JSON value"));
        assert!(decode_err(int(), r#"{"A": "x}"#).contains("unterminated string"));
        assert!(decode_err(int(), r#"{"A": 01}"#).contains("invalid number"));
        let string = vec![field("S", DataType::Utf8)];
        assert!(decode_err(string, r#"{"S": tru}"#).contains("invalid literal"));
        assert_eq!(
            decode_err(int(), r#"[1]"#),
            "Can't convert type. sourceType: ArrayNode, requiredType: STRUCT<`A` INTEGER>"
        );
        let nested = vec![field("S", DataType::Struct(Fields::from(vec![field("L", list(DataType::Boolean))])))];
        assert_eq!(
            decode_err(nested, r#"{"S": {"L": [true, 1]}}"#),
            "field 'S.L': Can't convert type. sourceType: NumericNode, requiredType: BOOLEAN"
        );
        let dec = vec![field("D", DataType::Decimal128(4, 2))];
        assert_eq!(
            decode_err(dec, r#"{"D": 100.5}"#),
            "field 'D': Cannot fit decimal '100.5' into DECIMAL(4, 2) without overflow"
        );
        let bytes = vec![field("B", DataType::Binary)];
        assert!(decode_err(bytes, r#"{"B": "!!"}"#).contains("not valid base64"));
        let deep = format!("{{\"A\": 1, \"X\": {}{}}}", "[".repeat(300), "]".repeat(300));
        assert!(decode_err(int(), &deep).contains("nested too deeply"));
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut decoder = RowDecoder::new(&spec(true), Fields::from(vec![field("A", DataType::Utf8)])).unwrap();
        let err = decoder.append(Some(b"{\"A\": \"\xff\"}")).unwrap_err();
        assert!(err.0.contains("UTF-8"), "{err}");
    }

    #[test]
    fn a_failed_record_leaves_no_trace() {
        let fields = vec![field("S", DataType::Utf8), field("L", list(DataType::Utf8)), field("I", DataType::Int32)];
        let mut decoder = RowDecoder::new(&spec(true), Fields::from(fields)).unwrap();
        decoder.append(Some(br#"{"S": "a", "L": ["x"], "I": 1}"#)).unwrap();
        // Fails after S and part of L were appended, and in the middle of an escaped string.
        assert!(decoder.append(Some(br#"{"S": "b", "L": ["y", "z\n", 5, "\q"], "I": 2}"#)).is_err());
        assert!(decoder.append(Some(br#"{"S": "c", "L": ["w"], "I": "no"}"#)).is_err());
        decoder.append(None).unwrap();
        decoder.append(Some(br#"{"I": 3, "L": [], "S": "d"}"#)).unwrap();
        assert_eq!(decoder.len(), 3);
        let cols = decoder.finish();
        assert_eq!(cell(&cols[0], 0), json!("a"));
        assert_eq!(cell(&cols[0], 1), json!(null));
        assert_eq!(cell(&cols[0], 2), json!("d"));
        assert_eq!(cell(&cols[1], 0), json!(["x"]));
        assert_eq!(cell(&cols[1], 2), json!([]));
        assert_eq!(cols[2].as_primitive::<Int32Type>().value(2), 3);
        assert!(decoder.is_empty());
    }

    #[test]
    fn maps_need_string_keys() {
        let entries = Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Int32, false),
                Field::new("value", DataType::Float64, true),
            ])),
            false,
        );
        let fields = Fields::from(vec![field("M", DataType::Map(Arc::new(entries), false))]);
        let err = RowDecoder::new(&spec(true), fields.clone()).err().unwrap();
        assert_eq!(err.message(), "JSON only supports MAP types with STRING keys");
        assert!(RowEncoder::new(&spec(true), fields).is_err());
    }

    #[test]
    fn encodes_ksql_json() {
        let fields = vec![
            field("B", DataType::Boolean),
            field("I", DataType::Int32),
            field("D", DataType::Float64),
            field("DEC", DataType::Decimal128(6, 4)),
            field("S", DataType::Utf8),
            field("BY", DataType::Binary),
            field("TS", DataType::Timestamp(TimeUnit::Millisecond, None)),
            field("DT", DataType::Date32),
            field("T", DataType::Time32(TimeUnit::Millisecond)),
        ];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(BooleanArray::from(vec![Some(true), None])),
            Arc::new(Int32Array::from(vec![Some(1), None])),
            Arc::new(Float64Array::from(vec![Some(2.0), Some(f64::NAN)])),
            Arc::new(Decimal128Array::from(vec![Some(100000), None]).with_precision_and_scale(6, 4).unwrap()),
            Arc::new(StringArray::from(vec![Some("a\"b\n\u{1}é"), None])),
            Arc::new(BinaryArray::from(vec![Some(&[1u8, 2, 3][..]), None])),
            Arc::new(TimestampMillisecondArray::from(vec![Some(1528224275715), None])),
            Arc::new(Date32Array::from(vec![Some(-10), None])),
            Arc::new(Time32MillisecondArray::from(vec![Some(5000), None])),
        ];
        let out = encode(fields, true, columns);
        assert_eq!(
            out[0].as_deref().unwrap(),
            r#"{"B":true,"I":1,"D":2.0,"DEC":10.0000,"S":"a\"b\n\u0001é","BY":"AQID","TS":1528224275715,"DT":-10,"T":5000}"#
        );
        assert_eq!(
            out[1].as_deref().unwrap(),
            r#"{"B":null,"I":null,"D":"NaN","DEC":null,"S":null,"BY":null,"TS":null,"DT":null,"T":null}"#
        );
    }

    #[test]
    fn encodes_nested_types_and_unwrapped_values() {
        let fields = vec![
            field("M", map(DataType::Float64)),
            field("S", DataType::Struct(Fields::from(vec![field("F0", DataType::Int32)]))),
            field("A", list(DataType::Int64)),
        ];
        let cols = decode(fields.clone(), true, &[r#"{"M": {"a": 1.1, "c": null}, "S": {"f0": 1}, "A": [12, null]}"#]);
        let out = encode(fields, true, cols.clone());
        assert_eq!(out[0].as_deref().unwrap(), r#"{"M":{"a":1.1,"c":null},"S":{"F0":1},"A":[12,null]}"#);
        let single = |i: usize| encode(vec![field("X", cols[i].data_type().clone())], false, vec![cols[i].clone()]);
        assert_eq!(single(0)[0].as_deref().unwrap(), r#"{"a":1.1,"c":null}"#);
        assert_eq!(single(1)[0].as_deref().unwrap(), r#"{"F0":1}"#);
        assert_eq!(single(2)[0].as_deref().unwrap(), "[12,null]");
        let nulls: ArrayRef = Arc::new(Int32Array::from(vec![None, Some(123)]));
        let out = encode(vec![field("V", DataType::Int32)], false, vec![nulls]);
        assert_eq!(out, vec![None, Some("123".to_string())]);
    }

    #[test]
    fn round_trips_through_bytes() {
        let fields = vec![
            field("K", DataType::Utf8),
            field("DEC", DataType::Decimal128(33, 16)),
            field("D", DataType::Float64),
            field("M", map(list(DataType::Boolean))),
            field("S", DataType::Struct(Fields::from(vec![field("X", DataType::Binary)]))),
        ];
        let record = r#"{"K":"x\\y","DEC":-12345.1200000000000000,"D":1.0E-4,"M":{"k":[true,null]},"S":{"X":"AAE="}}"#;
        let cols = decode(fields.clone(), true, &[record]);
        let out = encode(fields, true, cols);
        assert_eq!(out[0].as_deref().unwrap(), record);
    }

    #[test]
    fn cells_become_ksql_json_values() {
        let dec: ArrayRef =
            Arc::new(Decimal128Array::from(vec![Some(1050), Some(7)]).with_precision_and_scale(6, 2).unwrap());
        assert_eq!(cell(&dec, 0), json!(10.5));
        let dec0: ArrayRef = Arc::new(Decimal128Array::from(vec![Some(42)]).with_precision_and_scale(4, 0).unwrap());
        assert_eq!(cell(&dec0, 0), json!(42));
        let d: ArrayRef = Arc::new(Float64Array::from(vec![f64::INFINITY, 1.5]));
        assert_eq!(cell(&d, 0), json!("Infinity"));
        assert_eq!(cell(&d, 1), json!(1.5));
        let ts: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![10]));
        assert_eq!(cell(&ts, 0), json!(10));
        let b: ArrayRef = Arc::new(BinaryArray::from(vec![&b"hi"[..]]));
        assert_eq!(cell(&b, 0), json!("aGk="));
        let s: ArrayRef = Arc::new(StringArray::from(vec![None, Some("x")]));
        assert_eq!(cell(&s, 0), json!(null));
        assert_eq!(cell(&s, 1), json!("x"));
    }

    #[test]
    fn zero_columns_accept_any_json() {
        let mut decoder = RowDecoder::new(&spec(true), Fields::empty()).unwrap();
        decoder.append(Some(br#"{"x": [1]}"#)).unwrap();
        decoder.append(Some(b"7")).unwrap();
        assert!(decoder.append(Some(b"{")).is_err());
        assert_eq!(decoder.len(), 2);
        assert!(decoder.finish().is_empty());
    }
}
