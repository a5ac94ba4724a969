//! The lexical layer of the ksqlDB dialect: sqlparser's tokenizer, configured for ksqlDB.
//!
//! This file owns the [`KsqlDialect`] handed to sqlparser's tokenizer, the conversion of its
//! output into a token list with positions and byte offsets (whitespace and comments dropped,
//! an end marker appended), the mapping of tokenizer failures to user errors, and the small helpers the
//! parser uses to talk about tokens in error messages.

use std::ops::Range;
use std::str::CharIndices;

use sqlparser::dialect::Dialect;
use sqlparser::tokenizer::{Location, Token, Tokenizer};

use crate::error::{Error, Position, Result};

/// The lexical rules of ksqlDB, as far as sqlparser's tokenizer lets us express them.
///
/// - Identifiers start with a letter or `_` and go on with letters, digits, `_` and `@`.
///   ksqlDB also allows `:` inside identifiers, but then `MAP(k:=v)` — which the conformance
///   tests write without spaces — would lex `k:` as a name, so `:` is left out.
/// - Digit-led identifiers (`1abc`) are words: hence `supports_numeric_prefix`.
/// - `"double"` and `` `back` `` quotes delimit identifiers; strings use `'...'` with `''`
///   as the only escape (no backslash escapes).
#[derive(Debug, Default, Clone, Copy)]
pub struct KsqlDialect;

impl Dialect for KsqlDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"' || ch == '`'
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '@'
    }

    fn supports_numeric_prefix(&self) -> bool {
        true
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        false
    }
}

/// A token with where it starts and where it ends (exclusive) in the input, as positions
/// and as byte offsets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tok {
    pub token: Token,
    pub start: Position,
    pub end: Position,
    pub bytes: Range<usize>,
}

/// Tokenizes `sql`, dropping whitespace and comments and appending a [`Token::EOF`] whose
/// position is the end of the input.
pub(crate) fn tokenize(sql: &str) -> Result<Vec<Tok>> {
    let dialect = KsqlDialect;
    let raw = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| tokenizer_error(sql, &e.message, e.location))?;
    let mut cursor = Cursor { chars: sql.char_indices(), line: 1, column: 1, byte: 0 };
    let mut tokens = Vec::with_capacity(raw.len() + 1);
    for t in raw {
        if matches!(t.token, Token::Whitespace(_)) {
            continue;
        }
        let (start, end) = (position(t.span.start), position(t.span.end));
        // Positions only grow, so one pass over the text finds every byte offset.
        let start_byte = cursor.seek(start);
        let end_byte = cursor.seek(end);
        tokens.push(Tok { token: t.token, start, end, bytes: start_byte..end_byte });
    }
    let end = end_of(sql);
    tokens.push(Tok { token: Token::EOF, start: end, end, bytes: sql.len()..sql.len() });
    Ok(tokens)
}

/// Walks the text alongside the tokenizer's (line, column) positions to find byte offsets.
struct Cursor<'a> {
    chars: CharIndices<'a>,
    line: u64,
    column: u64,
    byte: usize,
}

impl Cursor<'_> {
    /// Moves to `pos` (never backwards) and returns its byte offset.
    fn seek(&mut self, pos: Position) -> usize {
        while (self.line, self.column) < (pos.line, pos.column) {
            let Some((i, c)) = self.chars.next() else {
                break;
            };
            self.byte = i + c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.byte
    }
}

fn position(location: Location) -> Position {
    Position { line: location.line, column: location.column }
}

/// Turns a tokenizer failure into a syntax error with a hint for the common cases.
fn tokenizer_error(sql: &str, message: &str, location: Location) -> Error {
    let lower = message.to_ascii_lowercase();
    let (text, hint) = if lower.contains("unterminated string") || lower.contains("encoded string") {
        (
            "unterminated string literal".to_string(),
            Some("close the string with a single quote; write '' for a quote inside a string"),
        )
    } else if lower.contains("close delimiter") {
        ("unterminated quoted identifier".to_string(), Some("close the identifier with the quote it was opened with"))
    } else if lower.contains("multi-line comment") {
        ("unterminated comment".to_string(), Some("close the comment with */"))
    } else if lower.contains("dollar-quoted") {
        ("unterminated $-quoted text".to_string(), Some("strings are written between single quotes"))
    } else {
        (lower.trim_end_matches('.').to_string(), None)
    };
    let mut pos = position(location);
    // sqlparser reports some errors at line 0 (unknown position): point at the end instead.
    if pos.line == 0 {
        pos = end_of(sql);
    }
    let err = Error::user(format!("Syntax Error: {text}")).at(pos);
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// The position just after the last character of `sql`.
fn end_of(sql: &str) -> Position {
    let mut line = 1;
    let mut column = 1;
    for ch in sql.chars() {
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    Position { line, column }
}

/// How a token is shown in an error message: `'FORM'`, `';'`, `end of input`.
pub(crate) fn describe(token: &Token) -> String {
    match token {
        Token::EOF => "end of input".to_string(),
        Token::Word(w) => match w.quote_style {
            Some(q) => format!("{q}{}{q}", w.value),
            None => format!("'{}'", w.value),
        },
        Token::SingleQuotedString(s) => format!("string '{}'", s.replace('\'', "''")),
        Token::Number(n, _) => format!("number {n}"),
        other => format!("'{other}'"),
    }
}

/// The edit distance (with adjacent transpositions, so `FORM` is one edit from `FROM`)
/// between two words, ignoring ASCII case; used for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_uppercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_uppercase()).collect();
    let (n, m) = (a.len(), b.len());
    // d[i][j]: distance between the first i chars of a and the first j chars of b. All the
    // indices below stay within 0..=n and 0..=m, the bounds the table was built with.
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    if let Some(first) = d.first_mut() {
        for (j, cell) in first.iter_mut().enumerate() {
            *cell = j;
        }
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

/// The keyword among `candidates` that `word` most likely misspells, if any is close enough.
pub(crate) fn closest_keyword<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    if word.len() < 2 {
        return None;
    }
    let limit = if word.len() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .filter(|c| !c.eq_ignore_ascii_case(word))
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<Token> {
        tokenize(sql).unwrap().into_iter().map(|t| t.token).collect()
    }

    #[test]
    fn quoted_identifiers_and_strings() {
        let toks = kinds("`a b` \"C\" 'it''s'");
        match &toks[..] {
            [Token::Word(a), Token::Word(c), Token::SingleQuotedString(s), Token::EOF] => {
                assert_eq!((a.value.as_str(), a.quote_style), ("a b", Some('`')));
                assert_eq!((c.value.as_str(), c.quote_style), ("C", Some('"')));
                assert_eq!(s, "it's");
            }
            other => panic!("unexpected tokens {other:?}"),
        }
    }

    #[test]
    fn digit_identifiers_and_numbers() {
        let toks = kinds("1abc 12 1.5 1.5E3 a.b");
        assert!(matches!(&toks[0], Token::Word(w) if w.value == "1abc"));
        assert_eq!(toks[1], Token::Number("12".into(), false));
        assert_eq!(toks[2], Token::Number("1.5".into(), false));
        assert_eq!(toks[3], Token::Number("1.5E3".into(), false));
        assert_eq!(toks[5], Token::Period);
    }

    #[test]
    fn operators() {
        let toks = kinds("a->b x => y k:=v || <> != >>");
        assert!(toks.contains(&Token::Arrow));
        assert!(toks.contains(&Token::RArrow));
        assert!(toks.contains(&Token::Assignment));
        assert!(toks.contains(&Token::StringConcat));
        assert!(toks.contains(&Token::ShiftRight));
        assert_eq!(toks.iter().filter(|t| **t == Token::Neq).count(), 2);
    }

    #[test]
    fn comments_are_dropped() {
        let toks = kinds("a -- comment\n /* block */ b");
        assert_eq!(toks.len(), 3);
    }

    #[test]
    fn unterminated_string_is_a_user_error_with_hint() {
        let err = tokenize("SELECT 'abc").unwrap_err();
        assert!(err.message().contains("unterminated string"), "{err}");
        assert!(err.hint().is_some());
        assert!(err.position().is_some());
    }

    #[test]
    fn byte_offsets_follow_unicode() {
        let sql = "é;\nSELECT 'ü' ;";
        let toks = tokenize(sql).unwrap();
        let texts: Vec<&str> = toks.iter().map(|t| &sql[t.bytes.clone()]).collect();
        assert_eq!(texts, vec!["é", ";", "SELECT", "'ü'", ";", ""]);
        assert_eq!(toks[3].start, Position { line: 2, column: 8 });
    }

    #[test]
    fn closest_keyword_finds_typos() {
        assert_eq!(closest_keyword("FORM", &["FROM", "WHERE"]), Some("FROM"));
        assert_eq!(closest_keyword("SELCT", &["SELECT", "CREATE"]), Some("SELECT"));
        assert_eq!(closest_keyword("xyz", &["FROM"]), None);
    }
}
