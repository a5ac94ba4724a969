//! Post-conditions: the sources a case must leave in the catalog and the topics it must not
//! create.
//!
//! A post-condition schema such as `K INT KEY, V VARCHAR` is compared with
//! [`Source::schema_string`] as a sequence of tokens: whitespace does not count, unquoted names
//! are upper-cased while back-quoted ones keep their case, `INT` means `INTEGER`, `VARCHAR`
//! means `STRING`, and `PRIMARY KEY` means `KEY` (ksqlDB's files write either on tables).

use regex::Regex;

use crate::catalog::{Catalog, Source};
use crate::sql::ast::SourceKind;
use crate::testing::case::{PostConditions, PostSource};
use crate::topic::TopicBackend;

/// Checks every post-condition; `Err` names the first that does not hold.
pub fn check(post: &PostConditions, catalog: &Catalog, backend: &dyn TopicBackend) -> Result<(), String> {
    for expected in &post.sources {
        check_source(expected, catalog)?;
    }
    if let Some(blacklist) = &post.blacklist {
        // ksqlDB uses Java's `String.matches`: the whole name must match.
        let regex = Regex::new(&format!("^(?:{blacklist})$"))
            .map_err(|e| format!("post: blacklist {blacklist:?} is not a valid regex: {e}"))?;
        let topics = backend.list_topics().map_err(|e| format!("post: cannot list topics: {e}"))?;
        if let Some(topic) = topics.iter().find(|t| regex.is_match(&t.name)) {
            return Err(format!("post: topic '{}' was created but matches the blacklist {blacklist:?}", topic.name));
        }
    }
    Ok(())
}

fn check_source(expected: &PostSource, catalog: &Catalog) -> Result<(), String> {
    let source = catalog
        .source(&expected.name)
        .or_else(|| catalog.sources().find(|s| s.name.eq_ignore_ascii_case(&expected.name)))
        .ok_or_else(|| format!("post: source '{}' does not exist", expected.name))?;
    if let Some(kind) = &expected.kind {
        let actual = match source.kind {
            SourceKind::Stream => "stream",
            SourceKind::Table => "table",
        };
        if !kind.eq_ignore_ascii_case(actual) {
            return Err(format!("post: source '{}' should be a {kind} but is a {actual}", source.name));
        }
    }
    if let Some(schema) = &expected.schema {
        let actual = source.schema_string();
        if normalize_schema(schema) != normalize_schema(&actual) {
            return Err(format!("post: source '{}' schema: expected \"{schema}\" but got \"{actual}\"", source.name));
        }
    }
    if let Some(format) = &expected.key_format
        && !format.eq_ignore_ascii_case(source.key_format.kind.name())
    {
        return Err(format!(
            "post: source '{}' key format: expected {format} but got {}",
            source.name,
            source.key_format.kind.name()
        ));
    }
    if let Some(format) = &expected.value_format
        && !format.eq_ignore_ascii_case(source.value_format.kind.name())
    {
        return Err(format!(
            "post: source '{}' value format: expected {format} but got {}",
            source.name,
            source.value_format.kind.name()
        ));
    }
    check_window(expected, source)
}

fn check_window(expected: &PostSource, source: &Source) -> Result<(), String> {
    if expected.window_type.is_none() && expected.window_size.is_none() {
        return Ok(());
    }
    let Some(window) = source.window else {
        return Err(format!("post: source '{}' should have a windowed key but does not", source.name));
    };
    if let Some(kind) = &expected.window_type
        && !kind.eq_ignore_ascii_case(window.name())
    {
        return Err(format!("post: source '{}' window type: expected {kind} but got {}", source.name, window.name()));
    }
    if let Some(size) = expected.window_size {
        let actual = match window {
            crate::catalog::WindowType::Tumbling { size_ms } | crate::catalog::WindowType::Hopping { size_ms } => {
                Some(size_ms)
            }
            crate::catalog::WindowType::Session => None,
        };
        if actual != Some(size) {
            return Err(format!(
                "post: source '{}' window size: expected {size} ms but got {}",
                source.name,
                actual.map_or_else(|| "none".to_string(), |s| format!("{s} ms"))
            ));
        }
    }
    Ok(())
}

/// The schema as comparable tokens (see the module docs).
pub fn normalize_schema(schema: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut chars = schema.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '`' {
            // A quoted name keeps its case; a doubled back-quote is a literal one.
            let mut name = String::new();
            while let Some(n) = chars.next() {
                if n == '`' {
                    if chars.peek() == Some(&'`') {
                        chars.next();
                        name.push('`');
                        continue;
                    }
                    break;
                }
                name.push(n);
            }
            tokens.push(name);
        } else if c == '\'' {
            let mut literal = String::from("'");
            for n in chars.by_ref() {
                literal.push(n);
                if n == '\'' {
                    break;
                }
            }
            tokens.push(literal);
        } else if c.is_alphanumeric() || c == '_' {
            let mut word = String::from(c);
            while let Some(&n) = chars.peek() {
                if !(n.is_alphanumeric() || n == '_') {
                    break;
                }
                word.push(n);
                chars.next();
            }
            tokens.push(word.to_uppercase());
        } else {
            tokens.push(c.to_string());
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        if token == "PRIMARY" && tokens.get(i + 1).is_some_and(|t| t == "KEY") {
            continue;
        }
        out.push(match token.as_str() {
            "INT" => "INTEGER".to_string(),
            "VARCHAR" => "STRING".to_string(),
            _ => token.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        normalize_schema(a) == normalize_schema(b)
    }

    #[test]
    fn schemas_compare_without_case_whitespace_or_aliases() {
        assert!(same("K INT KEY, V VARCHAR", "`K` INTEGER KEY, `V` STRING"));
        assert!(same("ID STRING KEY, DEC DECIMAL(6,4)", "`ID` STRING KEY, `DEC` DECIMAL(6, 4)"));
        assert!(same("ROWKEY INTEGER KEY, C BIGINT", "`ROWKEY` INTEGER PRIMARY KEY, `C` BIGINT"));
        assert!(same("ID STRING KEY, S STRUCT< >", "`ID` STRING KEY, `S` STRUCT<>"));
        assert!(same("id string key, m map<varchar, int>", "`ID` STRING KEY, `M` MAP<STRING, INTEGER>"));
        assert!(same("K STRING KEY, H BYTES HEADER('a')", "`K` STRING KEY, `H` BYTES HEADER('a')"));
    }

    #[test]
    fn quoted_names_keep_their_case() {
        assert!(same(
            "ID STRING KEY, S STRUCT<FOO VARCHAR, `foo` VARCHAR>",
            "`ID` STRING KEY, `S` STRUCT<`FOO` STRING, `foo` STRING>"
        ));
        assert!(!same("`foo` INT", "`FOO` INT"));
        assert!(!same("K INT KEY, V INT", "`K` INTEGER KEY, `V` BIGINT"));
        assert!(!same("K INT KEY", "`K` INTEGER"));
    }
}
