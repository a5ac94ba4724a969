//! URL functions: URL_ENCODE_PARAM / URL_DECODE_PARAM (Java's `URLEncoder`/`URLDecoder`,
//! UTF-8) and URL_EXTRACT_* over the parts of a URI (Java's `java.net.URI` semantics: an
//! absent part is NULL; a string that is not a valid URI gives NULL).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray};
use datafusion::arrow::datatypes::DataType;

use super::Registry;
use super::util::{P, overloaded, returns, sig, str_arg, sval};

/// The parts of a URI, raw (still percent-encoded).
#[derive(Debug, Default, PartialEq)]
struct Uri<'a> {
    scheme: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<i32>,
    path: Option<&'a str>,
    query: Option<&'a str>,
    fragment: Option<&'a str>,
}

/// Splits a URI; `None` if Java's `URI` would reject it.
fn parse_uri(s: &str) -> Option<Uri<'_>> {
    if s.is_empty()
        || s.chars().any(|c| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}'))
    {
        return None;
    }
    let mut uri = Uri::default();
    let (rest, fragment) = match s.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    uri.fragment = fragment;
    let mut rest = rest;
    if let Some(colon) = rest.find(':') {
        let scheme = &rest[..colon];
        let valid = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            uri.scheme = Some(scheme);
            rest = &rest[colon + 1..];
        }
    }
    let (hier, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    uri.query = query;
    if let Some(after) = hier.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let authority = &after[..end];
        uri.path = Some(&after[end..]);
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || host_port.starts_with('[') => {
                if p.is_empty() {
                    (h, None)
                } else {
                    (h, Some(p.parse::<i32>().ok()?))
                }
            }
            _ => (host_port, None),
        };
        uri.host = (!host.is_empty()).then_some(host);
        uri.port = port;
    } else if uri.scheme.is_some() && !hier.starts_with('/') {
        // opaque URI such as mailto:x — no path, query or host
        uri.path = None;
        uri.query = None;
    } else {
        uri.path = Some(hier);
    }
    Some(uri)
}

/// Decodes `%XX` escapes (and `+` as a space when `plus` is set); `None` if malformed.
fn percent_decode(s: &str, plus: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Java's `URLEncoder.encode(s, UTF_8)`.
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn string_fn(r: &mut Registry, name: &'static str, desc: &'static str, f: fn(&str) -> Option<String>) {
    r.add(
        name,
        desc,
        overloaded(name, vec![sig(&[P::Str])], returns(DataType::Utf8), move |args, _, rows| {
            let a = str_arg(args, 0, rows)?;
            let out: StringArray = (0..rows).map(|i| f(sval(&a, i)?)).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
}

pub(crate) fn register(r: &mut Registry) {
    string_fn(r, "URL_ENCODE_PARAM", "Escapes a string for use as a URL query parameter.", |s| Some(url_encode(s)));
    string_fn(r, "URL_DECODE_PARAM", "Unescapes a URL query parameter.", |s| percent_decode(s, true));
    string_fn(r, "URL_EXTRACT_FRAGMENT", "Returns the fragment of a URL.", |s| {
        percent_decode(parse_uri(s)?.fragment?, false)
    });
    string_fn(r, "URL_EXTRACT_HOST", "Returns the host of a URL.", |s| parse_uri(s)?.host.map(str::to_string));
    string_fn(r, "URL_EXTRACT_PATH", "Returns the path of a URL.", |s| percent_decode(parse_uri(s)?.path?, false));
    string_fn(r, "URL_EXTRACT_PROTOCOL", "Returns the protocol (scheme) of a URL.", |s| {
        parse_uri(s)?.scheme.map(str::to_string)
    });
    string_fn(r, "URL_EXTRACT_QUERY", "Returns the query string of a URL.", |s| {
        percent_decode(parse_uri(s)?.query?, false)
    });
    r.add(
        "URL_EXTRACT_PORT",
        "Returns the port of a URL, or NULL if it has none.",
        overloaded("URL_EXTRACT_PORT", vec![sig(&[P::Str])], returns(DataType::Int32), |args, _, rows| {
            let a = str_arg(args, 0, rows)?;
            let out: Int32Array = (0..rows).map(|i| parse_uri(sval(&a, i)?)?.port).collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "URL_EXTRACT_PARAMETER",
        "Returns the (still encoded) value of a query parameter of a URL; '' if it has no value.",
        overloaded("URL_EXTRACT_PARAMETER", vec![sig(&[P::Str, P::Str])], returns(DataType::Utf8), |args, _, rows| {
            let a = str_arg(args, 0, rows)?;
            let p = str_arg(args, 1, rows)?;
            let out: StringArray = (0..rows)
                .map(|i| {
                    let query = parse_uri(sval(&a, i)?)?.query?;
                    let want = sval(&p, i)?;
                    query.split('&').find_map(|param| match param.split_once('=') {
                        Some((k, v)) if k == want => Some(v.to_string()),
                        None if param == want => Some(String::new()),
                        _ => None,
                    })
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use datafusion::common::ScalarValue;

    #[test]
    fn encode_decode() {
        assert_eq!(eval_lit("URL_ENCODE_PARAM", vec![s("?foo $bar")]), s("%3Ffoo+%24bar"));
        assert_eq!(eval_lit("URL_ENCODE_PARAM", vec![s("hello&world")]), s("hello%26world"));
        assert_eq!(eval_lit("URL_DECODE_PARAM", vec![s("%3Ffoo+%24bar")]), s("?foo $bar"));
        assert_eq!(eval_lit("URL_DECODE_PARAM", vec![s("%zz")]), ScalarValue::Utf8(None));
    }

    #[test]
    fn extract_parts() {
        let u = "http://test@confluent.io:8080/nested/path?query&jobs";
        assert_eq!(eval_lit("URL_EXTRACT_HOST", vec![s(u)]), s("confluent.io"));
        assert_eq!(eval_lit("URL_EXTRACT_PORT", vec![s(u)]), i(8080));
        assert_eq!(eval_lit("URL_EXTRACT_PORT", vec![s("http://test@confluent.io")]), ScalarValue::Int32(None));
        assert_eq!(eval_lit("URL_EXTRACT_PATH", vec![s(u)]), s("/nested/path"));
        assert_eq!(eval_lit("URL_EXTRACT_PATH", vec![s("http://www.test.com?query#fragment")]), s(""));
        assert_eq!(eval_lit("URL_EXTRACT_QUERY", vec![s("http://www.test.com/path?q1&q2")]), s("q1&q2"));
        assert_eq!(
            eval_lit("URL_EXTRACT_QUERY", vec![s("http://test@confluent.io:8080/path")]),
            ScalarValue::Utf8(None)
        );
        assert_eq!(eval_lit("URL_EXTRACT_FRAGMENT", vec![s("http://www.test.com/?query#fragment")]), s("fragment"));
        assert_eq!(eval_lit("URL_EXTRACT_FRAGMENT", vec![s("http://www.nofragment.com")]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("URL_EXTRACT_PROTOCOL", vec![s("https://a.b:1/x")]), s("https"));
        assert_eq!(eval_lit("URL_EXTRACT_PROTOCOL", vec![s("www.confluent.io")]), ScalarValue::Utf8(None));
        let p = "http://www.test.com/?one=a&two=url%20encoded&three";
        assert_eq!(eval_lit("URL_EXTRACT_PARAMETER", vec![s(p), s("one")]), s("a"));
        assert_eq!(eval_lit("URL_EXTRACT_PARAMETER", vec![s(p), s("two")]), s("url%20encoded"));
        assert_eq!(eval_lit("URL_EXTRACT_PARAMETER", vec![s(p), s("three")]), s(""));
        assert_eq!(eval_lit("URL_EXTRACT_PARAMETER", vec![s(p), s("four")]), ScalarValue::Utf8(None));
    }
}
