//! Regular-expression functions: REGEXP_EXTRACT, REGEXP_EXTRACT_ALL, REGEXP_REPLACE and
//! REGEXP_SPLIT_TO_ARRAY. Patterns use Rust's `regex` syntax, which agrees with Java's for
//! everything but look-around and back-references; a pattern that does not compile gives NULL.
//! Java replacement strings (`$1`, `\$`) are translated.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListBuilder, StringArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::as_int32_array;

use super::Registry;
use super::util::{P, arg, list_of, overloaded, returns, sig, str_arg, sval};

/// Compiled patterns of one batch.
#[derive(Default)]
struct Cache(HashMap<String, Option<::regex::Regex>>);

impl Cache {
    fn get(&mut self, p: &str) -> Option<&::regex::Regex> {
        self.0.entry(p.to_string()).or_insert_with(|| ::regex::Regex::new(p).ok()).as_ref()
    }
}

/// Turns a Java replacement (`$1`, `${name}`, `\$`) into the `regex` crate's syntax.
fn java_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                if chars.peek() == Some(&'{') {
                    out.push('$');
                } else {
                    let mut digits = String::new();
                    while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        digits.push(*d);
                        chars.next();
                    }
                    if digits.is_empty() {
                        out.push_str("$$");
                    } else {
                        out.push_str(&format!("${{{digits}}}"));
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn group_arg(args: &[ArrayRef], i: usize) -> datafusion::common::Result<Option<datafusion::arrow::array::Int32Array>> {
    if args.len() > i { Ok(Some(as_int32_array(arg(args, i)?)?.clone())) } else { Ok(None) }
}

fn group_at(g: &Option<datafusion::arrow::array::Int32Array>, i: usize) -> Option<usize> {
    match g {
        None => Some(0),
        Some(a) if a.is_null(i) => None,
        Some(a) => usize::try_from(a.value(i)).ok(),
    }
}

pub(crate) fn register(r: &mut Registry) {
    r.add(
        "REGEXP_EXTRACT",
        "Returns the first match of a pattern in a string (or of one capture group of it).",
        overloaded(
            "REGEXP_EXTRACT",
            vec![sig(&[P::Str, P::Str]), sig(&[P::Str, P::Str, P::Int])],
            returns(DataType::Utf8),
            |args, _, rows| {
                let p = str_arg(args, 0, rows)?;
                let s = str_arg(args, 1, rows)?;
                let g = group_arg(args, 2)?;
                let mut cache = Cache::default();
                let out: StringArray = (0..rows)
                    .map(|i| {
                        let re = cache.get(sval(&p, i)?)?;
                        let caps = re.captures(sval(&s, i)?)?;
                        caps.get(group_at(&g, i)?).map(|m| m.as_str().to_string())
                    })
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            },
        ),
    );
    r.add(
        "REGEXP_EXTRACT_ALL",
        "Returns every match of a pattern in a string (or of one capture group of it).",
        overloaded(
            "REGEXP_EXTRACT_ALL",
            vec![sig(&[P::Str, P::Str]), sig(&[P::Str, P::Str, P::Int])],
            returns(list_of(DataType::Utf8)),
            |args, _, rows| {
                let p = str_arg(args, 0, rows)?;
                let s = str_arg(args, 1, rows)?;
                let g = group_arg(args, 2)?;
                let mut cache = Cache::default();
                let mut b = ListBuilder::new(StringBuilder::new());
                for i in 0..rows {
                    let (Some(pat), Some(text), Some(group)) = (sval(&p, i), sval(&s, i), group_at(&g, i)) else {
                        b.append(false);
                        continue;
                    };
                    let Some(re) = cache.get(pat) else {
                        b.append(false);
                        continue;
                    };
                    for caps in re.captures_iter(text) {
                        b.values().append_option(caps.get(group).map(|m| m.as_str()));
                    }
                    b.append(true);
                }
                Ok(Arc::new(b.finish()) as ArrayRef)
            },
        ),
    );
    r.add(
        "REGEXP_REPLACE",
        "Replaces every match of a pattern in a string (Java replacement syntax: $1).",
        overloaded("REGEXP_REPLACE", vec![sig(&[P::Str, P::Str, P::Str])], returns(DataType::Utf8), |args, _, rows| {
            let s = str_arg(args, 0, rows)?;
            let p = str_arg(args, 1, rows)?;
            let rep = str_arg(args, 2, rows)?;
            let mut cache = Cache::default();
            let out: StringArray = (0..rows)
                .map(|i| {
                    let re = cache.get(sval(&p, i)?)?;
                    let rep = java_replacement(sval(&rep, i)?);
                    Some(re.replace_all(sval(&s, i)?, rep.as_str()).into_owned())
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "REGEXP_SPLIT_TO_ARRAY",
        "Splits a string on a pattern into an array, keeping empty parts.",
        overloaded(
            "REGEXP_SPLIT_TO_ARRAY",
            vec![sig(&[P::Str, P::Str])],
            returns(list_of(DataType::Utf8)),
            |args, _, rows| {
                let s = str_arg(args, 0, rows)?;
                let p = str_arg(args, 1, rows)?;
                let mut cache = Cache::default();
                let mut b = ListBuilder::new(StringBuilder::new());
                for i in 0..rows {
                    let (Some(text), Some(pat)) = (sval(&s, i), sval(&p, i)) else {
                        b.append(false);
                        continue;
                    };
                    let Some(re) = cache.get(pat) else {
                        b.append(false);
                        continue;
                    };
                    for part in re.split(text) {
                        b.values().append_value(part);
                    }
                    b.append(true);
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
    use datafusion::common::ScalarValue;

    fn list(v: &[Option<&str>]) -> ScalarValue {
        let items: Vec<ScalarValue> = v.iter().map(|x| ScalarValue::Utf8(x.map(str::to_string))).collect();
        ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Utf8))
    }

    #[test]
    fn extract() {
        assert_eq!(eval_lit("REGEXP_EXTRACT", vec![s("test."), s("some_test_string")]), s("test_"));
        assert_eq!(eval_lit("REGEXP_EXTRACT", vec![s("test."), s("anothertest")]), ScalarValue::Utf8(None));
        assert_eq!(eval_lit("REGEXP_EXTRACT", vec![s("(.*) (.*)"), s("steven zhang"), i(2)]), s("zhang"));
        assert_eq!(
            eval_lit("REGEXP_EXTRACT_ALL", vec![s("test."), s("some_test_string_testabab")]),
            list(&[Some("test_"), Some("testa")])
        );
        assert_eq!(
            eval_lit("REGEXP_EXTRACT_ALL", vec![s(r"(\w+) (\w*)"), s("apurva mehta agavra "), i(2)]),
            list(&[Some("mehta"), Some("")])
        );
        assert_eq!(eval_lit("REGEXP_EXTRACT_ALL", vec![s("x"), s("abc")]), list(&[]));
    }

    #[test]
    fn replace_and_split() {
        assert_eq!(eval_lit("REGEXP_REPLACE", vec![s("foo bar"), s("(\\w+) (\\w+)"), s("$2 $1")]), s("bar foo"));
        assert_eq!(eval_lit("REGEXP_REPLACE", vec![s("a.b"), s("\\."), s("\\$")]), s("a$b"));
        assert_eq!(
            eval_lit("REGEXP_SPLIT_TO_ARRAY", vec![s("aabcda"), s("(ab|cd)")]),
            list(&[Some("a"), Some(""), Some("a")])
        );
        assert_eq!(
            eval_lit("REGEXP_SPLIT_TO_ARRAY", vec![ScalarValue::Utf8(None), s("x")]),
            ScalarValue::List(Arc::new(datafusion::arrow::array::ListArray::new_null(
                Arc::new(datafusion::arrow::datatypes::Field::new_list_field(DataType::Utf8, true)),
                1
            )))
        );
    }
}
