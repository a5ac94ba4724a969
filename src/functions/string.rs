//! String functions: SUBSTRING (1-based, negative positions count from the end), CONCAT and
//! CONCAT_WS (skip NULLs), INSTR, LPAD/RPAD, SPLIT (keeps empty parts), SPLIT_TO_MAP, the MASK
//! family, case functions, TRIM, LEN, encodings (TO_BYTES, FROM_BYTES, ENCODE), ELT/FIELD,
//! CHR, MD5 and UUID. Positions and lengths count characters; most work on BYTES too.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryBuilder, Int32Array, ListBuilder, MapBuilder, MapFieldNames, StringArray,
    StringBuilder,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::common::cast::{as_binary_array, as_int32_array, as_string_array};
use datafusion::logical_expr::Volatility;

use super::Registry;
use super::util::{
    P, arg, call_df, list_of, make_udf, map_type, overloaded, returns, returns_arg, sig, sig_var, str_arg, sval,
};

fn bval(a: &BinaryArray, i: usize) -> Option<&[u8]> {
    if a.is_null(i) { None } else { Some(a.value(i)) }
}

fn ival(a: &Int32Array, i: usize) -> Option<i32> {
    if a.is_null(i) { None } else { Some(a.value(i)) }
}

fn strings(v: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

fn binaries(v: Vec<Option<Vec<u8>>>) -> ArrayRef {
    Arc::new(BinaryArray::from_iter(v))
}

fn is_bytes(args: &[ArrayRef]) -> bool {
    args.first().is_some_and(|a| a.data_type() == &DataType::Binary)
}

/// ksqlDB's start index for SUBSTRING.
fn start_index(len: usize, pos: i32) -> usize {
    let len = len as i64;
    let pos = i64::from(pos);
    let start = if pos < 0 { (len + pos).max(0) } else { (pos - 1).min(len).max(0) };
    start as usize
}

fn substring_range(len: usize, pos: i32, count: Option<i32>) -> (usize, usize) {
    let start = start_index(len, pos);
    let end = match count {
        None => len,
        Some(n) => {
            let end = (start as i64 + i64::from(n)).min(len as i64);
            end.max(start as i64) as usize
        }
    };
    (start, end)
}

/// Java's `String.indexOf`/`lastIndexOf` semantics over characters for INSTR.
fn instr(s: &str, sub: &str, position: i32, occurrence: i32) -> i32 {
    let hay: Vec<char> = s.chars().collect();
    let needle: Vec<char> = sub.chars().collect();
    let matches_at = |i: usize| i + needle.len() <= hay.len() && hay[i..i + needle.len()] == needle[..];
    let n = hay.len() as i64;
    if position > 0 {
        let mut index: i64 = i64::from(position) - 2;
        for _ in 0..occurrence.max(0) {
            let from = (index + 1).max(0);
            match (from..=n).find(|i| matches_at(*i as usize)) {
                Some(i) => index = i,
                None => return 0,
            }
        }
        (index + 1) as i32
    } else if position < 0 {
        let mut index: i64 = n + i64::from(position) + 1;
        for _ in 0..occurrence.max(0) {
            let from = (index - 1).min(n - needle.len() as i64);
            if from < 0 {
                return 0;
            }
            match (0..=from).rev().find(|i| matches_at(*i as usize)) {
                Some(i) => index = i,
                None => return 0,
            }
        }
        (index + 1) as i32
    } else {
        0
    }
}

fn pad(input: &[char], len: i32, padding: &[char], left: bool) -> Option<String> {
    if padding.is_empty() || len < 0 {
        return None;
    }
    let len = len as usize;
    let mut out: Vec<char> = Vec::with_capacity(len);
    if left {
        let pad_to = len.saturating_sub(input.len());
        out.extend(padding.iter().cycle().take(pad_to));
        out.extend_from_slice(input);
    } else {
        out.extend_from_slice(input);
        let pad_to = len.saturating_sub(input.len());
        out.extend(padding.iter().cycle().take(pad_to));
    }
    out.truncate(len);
    Some(out.into_iter().collect())
}

fn pad_bytes(input: &[u8], len: i32, padding: &[u8], left: bool) -> Option<Vec<u8>> {
    if padding.is_empty() || len < 0 {
        return None;
    }
    let len = len as usize;
    let mut out: Vec<u8> = Vec::with_capacity(len);
    let pad_to = len.saturating_sub(input.len());
    if left {
        out.extend(padding.iter().cycle().take(pad_to));
        out.extend_from_slice(input);
    } else {
        out.extend_from_slice(input);
        out.extend(padding.iter().cycle().take(pad_to));
    }
    out.truncate(len);
    Some(out)
}

/// Splits like Guava's `Splitter.on(delim)`: empty parts are kept; an empty delimiter splits
/// into single characters.
fn split_str<'a>(s: &'a str, delim: &str) -> Vec<&'a str> {
    if delim.is_empty() {
        if s.is_empty() {
            return vec![""];
        }
        return s.char_indices().map(|(i, c)| &s[i..i + c.len_utf8()]).collect();
    }
    s.split(delim).collect()
}

fn split_bytes<'a>(s: &'a [u8], delim: &[u8]) -> Vec<&'a [u8]> {
    if delim.is_empty() {
        if s.is_empty() {
            return vec![s];
        }
        return s.chunks(1).collect();
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delim.len() <= s.len() {
        if &s[i..i + delim.len()] == delim {
            out.push(&s[start..i]);
            i += delim.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// Bytes of `s` read in `encoding` (hex, utf8, ascii, base64); `None` when invalid.
pub(crate) fn decode_string(s: &str, encoding: &str) -> Option<Vec<u8>> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" => {
            let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
            let s = if s.len() % 2 == 1 { format!("0{s}") } else { s.to_string() };
            (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
        }
        "utf8" | "utf-8" => Some(s.as_bytes().to_vec()),
        "ascii" => Some(s.chars().map(|c| if c.is_ascii() { c as u8 } else { b'?' }).collect()),
        "base64" => BASE64.decode(s).ok(),
        _ => None,
    }
}

/// `bytes` written in `encoding` (hex, utf8, ascii, base64); `None` for an unknown encoding.
pub(crate) fn encode_bytes(bytes: &[u8], encoding: &str) -> Option<String> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" => Some(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        "utf8" | "utf-8" => Some(String::from_utf8_lossy(bytes).into_owned()),
        "ascii" => Some(bytes.iter().map(|b| if b.is_ascii() { *b as char } else { '\u{FFFD}' }).collect()),
        "base64" => Some(BASE64.encode(bytes)),
        _ => None,
    }
}

/// ksqlDB's INITCAP: lower-case everything, then upper-case the first letter of each word.
/// Leading whitespace is dropped, as ksqlDB's `[^\s]+\s*` matching does.
fn initcap(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut at_word_start = true;
    let mut seen_word = false;
    for c in lower.chars() {
        if c.is_whitespace() {
            if seen_word {
                out.push(c);
            }
            at_word_start = true;
        } else {
            if at_word_start {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            at_word_start = false;
            seen_word = true;
        }
    }
    out
}

/// Java's `String.trim`: strips characters up to and including U+0020 from both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// The replacement characters of the MASK family: upper, lower, digit, other.
#[derive(Clone, Copy)]
struct Masker {
    upper: Option<char>,
    lower: Option<char>,
    digit: Option<char>,
    other: Option<char>,
}

impl Masker {
    fn mask(&self, c: char) -> char {
        let repl = if c.is_uppercase() {
            self.upper
        } else if c.is_lowercase() {
            self.lower
        } else if c.is_ascii_digit() {
            self.digit
        } else {
            self.other
        };
        repl.unwrap_or(c)
    }
}

/// Which characters of a string the MASK variant masks.
#[derive(Clone, Copy)]
enum MaskKind {
    All,
    KeepLeft,
    KeepRight,
    Left,
    Right,
}

fn register_mask(r: &mut Registry, name: &'static str, desc: &'static str, kind: MaskKind) {
    let with_n = !matches!(kind, MaskKind::All);
    let first = if with_n { 2 } else { 1 };
    let mut sigs = Vec::new();
    for extra in 0..=4 {
        let mut params = vec![P::Str];
        if with_n {
            params.push(P::Int);
        }
        params.extend(std::iter::repeat_n(P::Str, extra));
        sigs.push(sig(&params));
    }
    r.add(
        name,
        desc,
        overloaded(name, sigs, returns(DataType::Utf8), move |args, _, rows| {
            let input = str_arg(args, 0, rows)?;
            let n = if with_n { Some(as_int32_array(arg(args, 1)?)?.clone()) } else { None };
            let masks: Vec<StringArray> = (first..args.len()).map(|i| str_arg(args, i, rows)).collect::<Result<_>>()?;
            let defaults = ['X', 'x', 'n', '-'];
            let mut out = Vec::with_capacity(rows);
            for i in 0..rows {
                let Some(s) = sval(&input, i) else {
                    out.push(None);
                    continue;
                };
                let pick = |k: usize| -> Option<char> {
                    match masks.get(k) {
                        None => Some(defaults[k]),
                        Some(m) => sval(m, i).and_then(|v| v.chars().next()),
                    }
                };
                let masker = Masker { upper: pick(0), lower: pick(1), digit: pick(2), other: pick(3) };
                let chars: Vec<char> = s.chars().collect();
                let len = chars.len();
                let n = match &n {
                    Some(a) => match ival(a, i) {
                        Some(v) if v >= 0 => v as usize,
                        _ => {
                            out.push(None);
                            continue;
                        }
                    },
                    None => 0,
                };
                let masked: String = chars
                    .iter()
                    .enumerate()
                    .map(|(idx, c)| {
                        let do_mask = match kind {
                            MaskKind::All => true,
                            MaskKind::KeepLeft => idx >= n,
                            MaskKind::KeepRight => idx + n < len,
                            MaskKind::Left => idx < n,
                            MaskKind::Right => idx + n >= len,
                        };
                        if do_mask { masker.mask(*c) } else { *c }
                    })
                    .collect();
                out.push(Some(masked));
            }
            Ok(strings(out))
        }),
    );
}

fn string_map(r: &mut Registry, name: &'static str, desc: &'static str, f: fn(&str) -> String) {
    r.add(
        name,
        desc,
        overloaded(name, vec![sig(&[P::Str])], returns(DataType::Utf8), move |args, _, rows| {
            let a = str_arg(args, 0, rows)?;
            let out: StringArray = a.iter().map(|v| v.map(f)).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
}

pub(crate) fn register(r: &mut Registry) {
    r.add(
        "SUBSTRING",
        "Returns the part of a string or bytes from a 1-based position (negative: from the end), \
         optionally of some length.",
        overloaded(
            "SUBSTRING",
            vec![
                sig(&[P::Str, P::Int]),
                sig(&[P::Str, P::Int, P::Int]),
                sig(&[P::Bytes, P::Int]),
                sig(&[P::Bytes, P::Int, P::Int]),
            ],
            returns_arg(0),
            |args, _, rows| {
                let pos = as_int32_array(arg(args, 1)?)?;
                let len = if args.len() > 2 { Some(as_int32_array(arg(args, 2)?)?) } else { None };
                let count = |i: usize| -> Option<Option<i32>> {
                    match len {
                        None => Some(None),
                        Some(l) => ival(l, i).map(Some),
                    }
                };
                if is_bytes(args) {
                    let s = as_binary_array(arg(args, 0)?)?;
                    let out: Vec<Option<Vec<u8>>> = (0..rows)
                        .map(|i| {
                            let v = bval(s, i)?;
                            let (a, b) = substring_range(v.len(), ival(pos, i)?, count(i)?);
                            Some(v[a..b].to_vec())
                        })
                        .collect();
                    Ok(binaries(out))
                } else {
                    let s = str_arg(args, 0, rows)?;
                    let out: Vec<Option<String>> = (0..rows)
                        .map(|i| {
                            let v = sval(&s, i)?;
                            let p = ival(pos, i)?;
                            let c = count(i)?;
                            let n = v.chars().count();
                            let (a, b) = substring_range(n, p, c);
                            Some(v.chars().skip(a).take(b - a).collect())
                        })
                        .collect();
                    Ok(strings(out))
                }
            },
        ),
    );
    r.add(
        "CONCAT",
        "Concatenates strings or bytes, skipping NULLs.",
        overloaded(
            "CONCAT",
            vec![sig_var(&[P::Str], P::Str), sig_var(&[P::Bytes], P::Bytes)],
            returns_arg(0),
            |args, _, rows| concat_ws(args, None, rows),
        ),
    );
    r.add(
        "CONCAT_WS",
        "Concatenates strings or bytes with a separator, skipping NULLs; NULL if the separator is \
         NULL.",
        overloaded(
            "CONCAT_WS",
            vec![sig_var(&[P::Str, P::Str], P::Str), sig_var(&[P::Bytes, P::Bytes], P::Bytes)],
            returns_arg(0),
            |args, _, rows| concat_ws(&args[1..], Some(arg(args, 0)?), rows),
        ),
    );
    r.add(
        "INSTR",
        "Returns the 1-based position of the n-th occurrence of a substring, searching from a \
         position (negative: backwards from the end); 0 if absent.",
        overloaded(
            "INSTR",
            vec![sig(&[P::Str, P::Str]), sig(&[P::Str, P::Str, P::Int]), sig(&[P::Str, P::Str, P::Int, P::Int])],
            returns(DataType::Int32),
            |args, _, rows| {
                let s = str_arg(args, 0, rows)?;
                let sub = str_arg(args, 1, rows)?;
                let pos = if args.len() > 2 { Some(as_int32_array(arg(args, 2)?)?) } else { None };
                let occ = if args.len() > 3 { Some(as_int32_array(arg(args, 3)?)?) } else { None };
                let out: Int32Array = (0..rows)
                    .map(|i| {
                        let p = match pos {
                            Some(a) => ival(a, i)?,
                            None => 1,
                        };
                        let o = match occ {
                            Some(a) => ival(a, i)?,
                            None => 1,
                        };
                        match (sval(&s, i), sval(&sub, i)) {
                            (Some(s), Some(sub)) => Some(instr(s, sub, p, o)),
                            _ => Some(0),
                        }
                    })
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            },
        ),
    );
    for (name, left) in [("LPAD", true), ("RPAD", false)] {
        r.add(
            name,
            if left {
                "Pads a string or bytes on the left with a padding to a length (or truncates)."
            } else {
                "Pads a string or bytes on the right with a padding to a length (or truncates)."
            },
            overloaded(
                name,
                vec![sig(&[P::Str, P::Int, P::Str]), sig(&[P::Bytes, P::Int, P::Bytes])],
                returns_arg(0),
                move |args, _, rows| {
                    let len = as_int32_array(arg(args, 1)?)?;
                    if is_bytes(args) {
                        let s = as_binary_array(arg(args, 0)?)?;
                        let p = as_binary_array(arg(args, 2)?)?;
                        let out = (0..rows).map(|i| pad_bytes(bval(s, i)?, ival(len, i)?, bval(p, i)?, left)).collect();
                        Ok(binaries(out))
                    } else {
                        let s = str_arg(args, 0, rows)?;
                        let p = str_arg(args, 2, rows)?;
                        let out = (0..rows)
                            .map(|i| {
                                let input: Vec<char> = sval(&s, i)?.chars().collect();
                                let padding: Vec<char> = sval(&p, i)?.chars().collect();
                                pad(&input, ival(len, i)?, &padding, left)
                            })
                            .collect();
                        Ok(strings(out))
                    }
                },
            ),
        );
    }
    r.add(
        "SPLIT",
        "Splits a string or bytes on a delimiter into an array, keeping empty parts.",
        overloaded(
            "SPLIT",
            vec![sig(&[P::Str, P::Str]), sig(&[P::Bytes, P::Bytes])],
            |args| Ok(list_of(args.first().cloned().unwrap_or(DataType::Utf8))),
            |args, _, rows| {
                if is_bytes(args) {
                    let s = as_binary_array(arg(args, 0)?)?;
                    let d = as_binary_array(arg(args, 1)?)?;
                    let mut b = ListBuilder::new(BinaryBuilder::new());
                    for i in 0..rows {
                        match (bval(s, i), bval(d, i)) {
                            (Some(s), Some(d)) => {
                                for part in split_bytes(s, d) {
                                    b.values().append_value(part);
                                }
                                b.append(true);
                            }
                            _ => b.append(false),
                        }
                    }
                    Ok(Arc::new(b.finish()) as ArrayRef)
                } else {
                    let s = str_arg(args, 0, rows)?;
                    let d = str_arg(args, 1, rows)?;
                    let mut b = ListBuilder::new(StringBuilder::new());
                    for i in 0..rows {
                        match (sval(&s, i), sval(&d, i)) {
                            (Some(s), Some(d)) => {
                                for part in split_str(s, d) {
                                    b.values().append_value(part);
                                }
                                b.append(true);
                            }
                            _ => b.append(false),
                        }
                    }
                    Ok(Arc::new(b.finish()) as ArrayRef)
                }
            },
        ),
    );
    r.add(
        "SPLIT_TO_MAP",
        "Splits a string into a map using an entry delimiter and a key-value delimiter.",
        overloaded(
            "SPLIT_TO_MAP",
            vec![sig(&[P::Str, P::Str, P::Str])],
            returns(map_type(DataType::Utf8, DataType::Utf8)),
            |args, _, rows| {
                let s = str_arg(args, 0, rows)?;
                let e = str_arg(args, 1, rows)?;
                let kv = str_arg(args, 2, rows)?;
                let names = MapFieldNames { entry: "entries".into(), key: "key".into(), value: "value".into() };
                let mut b = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
                for i in 0..rows {
                    let (Some(s), Some(e), Some(kv)) = (sval(&s, i), sval(&e, i), sval(&kv, i)) else {
                        b.append(false)?;
                        continue;
                    };
                    if e.is_empty() || kv.is_empty() || e == kv {
                        b.append(false)?;
                        continue;
                    }
                    let mut entries: Vec<(&str, &str)> = Vec::new();
                    for entry in s.split(e).filter(|p| !p.is_empty()) {
                        if !entry.contains(kv) {
                            continue;
                        }
                        let mut parts = entry.split(kv);
                        let k = parts.next().unwrap_or("");
                        let v = parts.next().unwrap_or("");
                        match entries.iter_mut().find(|(ek, _)| *ek == k) {
                            Some(slot) => slot.1 = v,
                            None => entries.push((k, v)),
                        }
                    }
                    for (k, v) in entries {
                        b.keys().append_value(k);
                        b.values().append_value(v);
                    }
                    b.append(true)?;
                }
                Ok(Arc::new(b.finish()) as ArrayRef)
            },
        ),
    );
    string_map(r, "LCASE", "Converts a string to lower case.", |s| s.to_lowercase());
    string_map(r, "UCASE", "Converts a string to upper case.", |s| s.to_uppercase());
    string_map(r, "TRIM", "Removes leading and trailing whitespace.", |s| java_trim(s).to_string());
    string_map(r, "INITCAP", "Capitalizes the first letter of each word and lower-cases the rest.", initcap);
    r.add(
        "LEN",
        "Returns the number of characters of a string, or bytes of a BYTES value.",
        overloaded("LEN", vec![sig(&[P::Str]), sig(&[P::Bytes])], returns(DataType::Int32), |args, _, rows| {
            let out: Int32Array = if is_bytes(args) {
                as_binary_array(arg(args, 0)?)?.iter().map(|v| v.map(|v| v.len() as i32)).collect()
            } else {
                str_arg(args, 0, rows)?.iter().map(|v| v.map(|v| v.chars().count() as i32)).collect()
            };
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "REPLACE",
        "Replaces every occurrence of a substring with another.",
        overloaded("REPLACE", vec![sig(&[P::Str, P::Str, P::Str])], returns(DataType::Utf8), |args, _, rows| {
            let s = str_arg(args, 0, rows)?;
            let a = str_arg(args, 1, rows)?;
            let b = str_arg(args, 2, rows)?;
            let out = (0..rows).map(|i| Some(sval(&s, i)?.replace(sval(&a, i)?, sval(&b, i)?))).collect();
            Ok(strings(out))
        }),
    );
    r.add(
        "TO_BYTES",
        "Converts a string to bytes using an encoding: hex, utf8, ascii or base64.",
        overloaded("TO_BYTES", vec![sig(&[P::Str, P::Str])], returns(DataType::Binary), |args, _, rows| {
            let s = str_arg(args, 0, rows)?;
            let e = str_arg(args, 1, rows)?;
            let out = (0..rows).map(|i| decode_string(sval(&s, i)?, sval(&e, i)?)).collect();
            Ok(binaries(out))
        }),
    );
    r.add(
        "FROM_BYTES",
        "Converts bytes to a string using an encoding: hex, utf8, ascii or base64.",
        overloaded("FROM_BYTES", vec![sig(&[P::Bytes, P::Str])], returns(DataType::Utf8), |args, _, rows| {
            let b = as_binary_array(arg(args, 0)?)?;
            let e = str_arg(args, 1, rows)?;
            let out = (0..rows).map(|i| encode_bytes(bval(b, i)?, sval(&e, i)?)).collect();
            Ok(strings(out))
        }),
    );
    r.add(
        "ENCODE",
        "Re-encodes a string from one encoding to another (hex, utf8, ascii, base64).",
        overloaded("ENCODE", vec![sig(&[P::Str, P::Str, P::Str])], returns(DataType::Utf8), |args, _, rows| {
            let s = str_arg(args, 0, rows)?;
            let from = str_arg(args, 1, rows)?;
            let to = str_arg(args, 2, rows)?;
            let out = (0..rows)
                .map(|i| {
                    let bytes = decode_string(sval(&s, i)?, sval(&from, i)?)?;
                    encode_bytes(&bytes, sval(&to, i)?)
                })
                .collect();
            Ok(strings(out))
        }),
    );
    r.add(
        "ELT",
        "Returns the n-th (1-based) of the following strings, or NULL if out of range.",
        overloaded("ELT", vec![sig_var(&[P::Int], P::Str)], returns(DataType::Utf8), |args, _, rows| {
            let n = as_int32_array(arg(args, 0)?)?;
            let rest: Vec<StringArray> = (1..args.len()).map(|i| str_arg(args, i, rows)).collect::<Result<_>>()?;
            let out = (0..rows)
                .map(|i| {
                    let n = ival(n, i)?;
                    let a = rest.get(usize::try_from(n).ok()?.checked_sub(1)?)?;
                    sval(a, i).map(str::to_string)
                })
                .collect();
            Ok(strings(out))
        }),
    );
    r.add(
        "FIELD",
        "Returns the 1-based position of a string among the following ones, or 0.",
        overloaded("FIELD", vec![sig_var(&[P::Str], P::Str)], returns(DataType::Int32), |args, _, rows| {
            let s = str_arg(args, 0, rows)?;
            let rest: Vec<StringArray> = (1..args.len()).map(|i| str_arg(args, i, rows)).collect::<Result<_>>()?;
            let out: Int32Array = (0..rows)
                .map(|i| {
                    let Some(v) = sval(&s, i) else { return Some(0) };
                    let pos = rest.iter().position(|a| sval(a, i) == Some(v));
                    Some(pos.map_or(0, |p| p as i32 + 1))
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "CHR",
        "Returns the character for a Unicode code point, given as an INT or a '\\uXXXX' string.",
        overloaded("CHR", vec![sig(&[P::Int]), sig(&[P::Str])], returns(DataType::Utf8), |args, _, rows| {
            let a = arg(args, 0)?;
            let out: Vec<Option<String>> = if a.data_type() == &DataType::Int32 {
                as_int32_array(a)?.iter().map(|v| char::from_u32(u32::try_from(v?).ok()?).map(String::from)).collect()
            } else {
                str_arg(args, 0, rows)?
                    .iter()
                    .map(|v| {
                        let hex = v?.strip_prefix("\\u")?;
                        if hex.len() != 4 {
                            return None;
                        }
                        char::from_u32(u32::from_str_radix(hex, 16).ok()?).map(String::from)
                    })
                    .collect()
            };
            Ok(strings(out))
        }),
    );
    r.add(
        "MD5",
        "Returns the hex-encoded MD5 hash of a string.",
        overloaded("MD5", vec![sig(&[P::Str])], returns(DataType::Utf8), |args, _, rows| {
            let md5 = datafusion::functions::crypto::md5();
            let out = call_df(&md5, args, rows)?;
            Ok(datafusion::arrow::compute::cast(&out, &DataType::Utf8)?)
        }),
    );
    r.add(
        "UUID",
        "Returns a random (version 4) UUID string.",
        make_udf(
            "UUID",
            Volatility::Volatile,
            |args| {
                if args.is_empty() { Ok(vec![]) } else { Err(None) }
            },
            returns(DataType::Utf8),
            |_, _, rows| {
                let mut rng = super::other::Rng::new();
                let out: Vec<Option<String>> = (0..rows)
                    .map(|_| {
                        let hi = rng.next_u64();
                        let lo = rng.next_u64();
                        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
                        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
                        let h = format!("{hi:016x}{lo:016x}");
                        Some(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
                    })
                    .collect();
                Ok(strings(out))
            },
        ),
    );
    register_mask(r, "MASK", "Masks every character of a string.", MaskKind::All);
    register_mask(r, "MASK_KEEP_LEFT", "Masks all but the first n characters of a string.", MaskKind::KeepLeft);
    register_mask(r, "MASK_KEEP_RIGHT", "Masks all but the last n characters of a string.", MaskKind::KeepRight);
    register_mask(r, "MASK_LEFT", "Masks the first n characters of a string.", MaskKind::Left);
    register_mask(r, "MASK_RIGHT", "Masks the last n characters of a string.", MaskKind::Right);
}

/// CONCAT (no separator) and CONCAT_WS over strings or bytes; NULL values are skipped.
fn concat_ws(values: &[ArrayRef], sep: Option<&ArrayRef>, rows: usize) -> Result<ArrayRef> {
    let bytes = values
        .first()
        .map(|a| a.data_type() == &DataType::Binary)
        .unwrap_or(sep.is_some_and(|s| s.data_type() == &DataType::Binary));
    if bytes {
        let vals: Vec<&BinaryArray> = values.iter().map(|a| as_binary_array(a)).collect::<Result<_>>()?;
        let sep = sep.map(|s| as_binary_array(s)).transpose()?;
        let out = (0..rows)
            .map(|i| {
                let sep: &[u8] = match sep {
                    Some(s) => bval(s, i)?,
                    None => &[],
                };
                let parts: Vec<&[u8]> = vals.iter().filter_map(|a| bval(a, i)).collect();
                Some(parts.join(sep))
            })
            .collect();
        Ok(binaries(out))
    } else {
        let vals: Vec<&StringArray> = values.iter().map(|a| as_string_array(a)).collect::<Result<_>>()?;
        let sep = sep.map(|s| as_string_array(s)).transpose()?;
        let out = (0..rows)
            .map(|i| {
                let sep = match sep {
                    Some(s) => sval(s, i)?,
                    None => "",
                };
                let parts: Vec<&str> = vals.iter().filter_map(|a| sval(a, i)).collect();
                Some(parts.join(sep))
            })
            .collect();
        Ok(strings(out))
    }
}

/// Rewrites a LIKE pattern written with escape character `escape` into the backslash-escaped
/// pattern DataFusion's LIKE understands: `!%` (with `!` as escape) becomes `\%`, and a plain
/// backslash becomes `\\`.
pub(crate) fn like_pattern_with_escape(escape: char) -> Arc<datafusion::logical_expr::ScalarUDF> {
    super::util::make_udf(
        "__like_escape",
        Volatility::Immutable,
        |types| match types {
            [DataType::Utf8 | DataType::Null] => Ok(vec![DataType::Utf8]),
            [DataType::LargeUtf8 | DataType::Utf8View] => Ok(vec![DataType::Utf8]),
            _ => Err(None),
        },
        super::util::returns(DataType::Utf8),
        move |args, _, rows| {
            let patterns = super::util::str_arg(args, 0, rows)?;
            let out: datafusion::arrow::array::StringArray =
                patterns.iter().map(|p| p.map(|p| rewrite_like_escape(p, escape))).collect();
            Ok(Arc::new(out))
        },
    )
}

fn rewrite_like_escape(pattern: &str, escape: char) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            // Only the wildcards and the backslash itself need escaping for DataFusion.
            match chars.next() {
                Some(next @ ('%' | '_')) => {
                    out.push('\\');
                    out.push(next);
                }
                Some('\\') => out.push_str("\\\\"),
                Some(next) => out.push(next),
                None => {}
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use datafusion::common::ScalarValue;

    fn b(v: &[u8]) -> ScalarValue {
        ScalarValue::Binary(Some(v.to_vec()))
    }

    #[test]
    fn substring_positions() {
        assert_eq!(eval_lit("SUBSTRING", vec![s("some_string"), i(6)]), s("string"));
        assert_eq!(eval_lit("SUBSTRING", vec![s("some_string"), i(6), i(3)]), s("str"));
        assert_eq!(eval_lit("SUBSTRING", vec![s("another"), i(6), i(3)]), s("er"));
        assert_eq!(eval_lit("SUBSTRING", vec![s("short"), i(6)]), s(""));
        assert_eq!(eval_lit("SUBSTRING", vec![s("some string"), i(0), i(2)]), s("so"));
        assert_eq!(eval_lit("SUBSTRING", vec![s("abcdef"), i(-3)]), s("def"));
        assert_eq!(eval_lit("SUBSTRING", vec![s("abc"), ScalarValue::Null]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("SUBSTRING", vec![b(b"some_string"), i(6), i(3)]), b(b"str"));
    }

    #[test]
    fn concat_skips_nulls() {
        assert_eq!(
            eval_lit("CONCAT", vec![s("prefix-"), ScalarValue::Utf8(None), s("-postfix")]),
            s("prefix--postfix")
        );
        assert_eq!(eval_lit("CONCAT", vec![b(b"yes"), ScalarValue::Null, b(b"no")]), b(b"yesno"));
        assert_eq!(eval_lit("CONCAT_WS", vec![s("SEP"), s("foo"), ScalarValue::Null, s("baz")]), s("fooSEPbaz"));
        assert_eq!(eval_lit("CONCAT_WS", vec![ScalarValue::Utf8(None), s("foo")]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("CONCAT_WS", vec![b(b"a"), b(b"b"), b(b""), b(b"no")]), b(b"baano"));
    }

    #[test]
    fn instr_cases() {
        assert_eq!(eval_lit("INSTR", vec![s("corporate floor"), s("or")]), i(2));
        assert_eq!(eval_lit("INSTR", vec![s("corporate floor"), s("or"), i(4)]), i(5));
        assert_eq!(eval_lit("INSTR", vec![s("corporate floor"), s("or"), i(4), i(2)]), i(14));
        assert_eq!(eval_lit("INSTR", vec![s("corporate floor"), s("or"), i(-4)]), i(5));
        assert_eq!(eval_lit("INSTR", vec![s("corporate floor"), s("or"), i(-4), i(2)]), i(2));
        assert_eq!(eval_lit("INSTR", vec![s("short"), s("or"), i(-4), i(2)]), i(0));
        assert_eq!(eval_lit("INSTR", vec![s("no substring"), s("or")]), i(0));
    }

    #[test]
    fn pads() {
        assert_eq!(eval_lit("LPAD", vec![s("foo"), i(7), s("Bar")]), s("BarBfoo"));
        assert_eq!(eval_lit("LPAD", vec![s("foo"), i(2), s("Bar")]), s("fo"));
        assert_eq!(eval_lit("LPAD", vec![s("foo"), i(-1), s("Bar")]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("LPAD", vec![s("foo"), i(7), s("")]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("RPAD", vec![s("foo"), i(5), s("Bar")]), s("fooBa"));
        assert_eq!(eval_lit("RPAD", vec![s(""), i(7), s("Bar")]), s("BarBarB"));
        assert_eq!(eval_lit("RPAD", vec![b(b"ab"), i(4), b(b"x")]), b(b"abxx"));
    }

    #[test]
    fn split_keeps_empties() {
        let list = |v: Vec<&str>| {
            ScalarValue::List(ScalarValue::new_list_nullable(
                &v.into_iter().map(s).collect::<Vec<_>>(),
                &DataType::Utf8,
            ))
        };
        assert_eq!(eval_lit("SPLIT", vec![s("..a.."), s(".")]), list(vec!["", "", "a", "", ""]));
        assert_eq!(eval_lit("SPLIT", vec![s("abc"), s("")]), list(vec!["a", "b", "c"]));
        assert_eq!(eval_lit("SPLIT", vec![s(""), s("")]), list(vec![""]));
        assert_eq!(eval_lit("SPLIT", vec![s("a$$b.c"), s("$$")]), list(vec!["a", "b.c"]));
        let out = eval_lit("SPLIT", vec![b(b".abc."), b(b".")]);
        assert_eq!(out.data_type(), list_of(DataType::Binary));
    }

    #[test]
    fn split_to_map_and_case() {
        let out = eval_lit("SPLIT_TO_MAP", vec![s("a=1;b=2;a=3;junk"), s(";"), s("=")]);
        let ScalarValue::Map(m) = out else { panic!() };
        assert_eq!(m.value(0).len(), 2);
        assert_eq!(eval_lit("INITCAP", vec![s("the FOO  bar")]), s("The Foo  Bar"));
        assert_eq!(eval_lit("UCASE", vec![s("abc")]), s("ABC"));
        assert_eq!(eval_lit("LCASE", vec![s("ABC")]), s("abc"));
        assert_eq!(eval_lit("TRIM", vec![s("  x y \t")]), s("x y"));
        assert_eq!(eval_lit("LEN", vec![s("héllo")]), i(5));
        assert_eq!(eval_lit("LEN", vec![b(b"ab")]), i(2));
        assert_eq!(eval_lit("REPLACE", vec![s("abcabc"), s("b"), s("X")]), s("aXcaXc"));
    }

    #[test]
    fn encodings() {
        assert_eq!(eval_lit("TO_BYTES", vec![s("hello"), s("ascii")]), b(b"hello"));
        assert_eq!(eval_lit("TO_BYTES", vec![s("aGVsbG8="), s("base64")]), b(b"hello"));
        assert_eq!(eval_lit("FROM_BYTES", vec![b(b"KSQL"), s("hex")]), s("4b53514c"));
        assert_eq!(eval_lit("ENCODE", vec![s("4b53514c"), s("hex"), s("utf8")]), s("KSQL"));
        assert_eq!(eval_lit("ENCODE", vec![s("zz"), s("hex"), s("utf8")]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("MD5", vec![s("hello")]), s("5d41402abc4b2a76b9719d911017c592"));
        let ScalarValue::Utf8(Some(u)) = eval_lit("UUID", vec![]) else { panic!() };
        assert_eq!(u.len(), 36);
    }

    #[test]
    fn elt_field_chr() {
        assert_eq!(eval_lit("ELT", vec![i(2), s("a"), s("b")]), s("b"));
        assert_eq!(eval_lit("ELT", vec![i(3), s("a"), s("b")]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("FIELD", vec![s("b"), s("a"), s("b")]), i(2));
        assert_eq!(eval_lit("FIELD", vec![s("z"), s("a")]), i(0));
        assert_eq!(eval_lit("CHR", vec![i(75)]), s("K"));
        assert_eq!(eval_lit("CHR", vec![s("\\u004b")]), s("K"));
    }

    #[test]
    fn masks() {
        assert_eq!(eval_lit("MASK", vec![s("AbC-12")]), s("XxX-nn"));
        assert_eq!(eval_lit("MASK", vec![s("AbC-12"), s("*"), ScalarValue::Null]), s("*b*-nn"));
        assert_eq!(eval_lit("MASK_KEEP_LEFT", vec![s("AbCd"), i(2)]), s("AbXx"));
        assert_eq!(eval_lit("MASK_KEEP_RIGHT", vec![s("AbCd"), i(1)]), s("XxXd"));
        assert_eq!(eval_lit("MASK_LEFT", vec![s("AbCd"), i(1)]), s("XbCd"));
        assert_eq!(eval_lit("MASK_RIGHT", vec![s("AbCd"), i(2)]), s("AbXx"));
    }

    #[test]
    fn like_escape_rewrites_to_backslashes() {
        assert_eq!(super::rewrite_like_escape("!%a\\b!!!_", '!'), "\\%a\\\\b!\\_");
        assert_eq!(super::rewrite_like_escape("50!%", '!'), "50\\%");
    }
}
