//! Tab completion: keywords, stream/table/column names, functions, properties and topics.
//!
//! The REPL refreshes a [`Vocabulary`] from the engine after each statement (the catalog only
//! changes through statements), so completing never takes the engine's locks while the user
//! types. What is offered depends on where the cursor is:
//! - inside quotes after `SET`/`UNSET`: property names; after `PRINT`: topic names;
//! - elsewhere: keywords, source names, column names and function names.
//!
//! Candidates follow the case of what was typed (`pagev` completes to `pageviews`,
//! `PAGEV` to `PAGEVIEWS`), since unquoted names are case-insensitive.

use std::borrow::Cow;
use std::collections::BTreeSet;

use rivulet::engine::{Engine, StatementResult};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// Keywords of the dialect worth completing.
const KEYWORDS: &[&str] = &[
    "ADVANCE",
    "ALL",
    "ALTER",
    "AND",
    "ARRAY",
    "AS",
    "ASSERT",
    "BEGINNING",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CHANGES",
    "CREATE",
    "DEFINE",
    "DELETE",
    "DESCRIBE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "EMIT",
    "END",
    "EXISTS",
    "EXPLAIN",
    "EXTENDED",
    "FALSE",
    "FINAL",
    "FROM",
    "FULL",
    "FUNCTION",
    "FUNCTIONS",
    "GRACE",
    "GROUP",
    "HAVING",
    "HELP",
    "HOPPING",
    "IF",
    "IN",
    "INNER",
    "INSERT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LIST",
    "MAP",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "OUTER",
    "PARTITION",
    "PARTITIONS",
    "PERIOD",
    "PRIMARY",
    "PRINT",
    "PROPERTIES",
    "QUERIES",
    "REPLACE",
    "RETENTION",
    "RUN",
    "SCRIPT",
    "SELECT",
    "SESSION",
    "SET",
    "SHOW",
    "SIZE",
    "STREAM",
    "STREAMS",
    "STRUCT",
    "TABLE",
    "TABLES",
    "TERMINATE",
    "THEN",
    "TOPIC",
    "TOPICS",
    "TRUE",
    "TUMBLING",
    "TYPE",
    "TYPES",
    "UNDEFINE",
    "UNSET",
    "VALUES",
    "VARIABLES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WINDOWEND",
    "WINDOWSTART",
    "WITH",
    "WITHIN",
    "ROWTIME",
    "ROWPARTITION",
    "ROWOFFSET",
    "BIGINT",
    "BOOLEAN",
    "BYTES",
    "DATE",
    "DECIMAL",
    "DOUBLE",
    "INT",
    "INTEGER",
    "STRING",
    "TIME",
    "TIMESTAMP",
    "VARCHAR",
    "KAFKA_TOPIC",
    "VALUE_FORMAT",
    "KEY_FORMAT",
    "FORMAT",
    "TIMESTAMP_FORMAT",
    "REPLICAS",
    "CLEANUP_POLICY",
    "SECOND",
    "SECONDS",
    "MINUTE",
    "MINUTES",
    "HOUR",
    "HOURS",
    "DAY",
    "DAYS",
    "MILLISECONDS",
];

/// Properties a session commonly sets; the engine's effective properties are added to them.
const PROPERTIES: &[&str] = &[
    "auto.offset.reset",
    "processing.guarantee",
    "ksql.streams.auto.offset.reset",
    "ksql.streams.cache.max.bytes.buffering",
    "ksql.streams.commit.interval.ms",
    "ksql.query.pull.table.scan.enabled",
    "ksql.query.pull.range.scan.enabled",
    "ksql.query.pull.stream.enabled",
    "ksql.query.pull.limit.clause.enabled",
    "ksql.persistence.default.format.key",
    "ksql.persistence.default.format.value",
    "ksql.persistence.wrap.single.values",
    "ksql.output.topic.name.prefix",
    "ksql.sink.partitions",
    "ksql.sink.replicas",
    "ksql.timestamp.throw.on.invalid",
];

/// Everything completion can offer, as of the last refresh.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    /// Keywords and function names: offered as typed, keyword-like.
    words: BTreeSet<String>,
    /// Stream, table and column names.
    names: BTreeSet<String>,
    properties: BTreeSet<String>,
    topics: BTreeSet<String>,
}

impl Vocabulary {
    /// Reads the catalog, functions, properties and topics of `engine`.
    pub fn of(engine: &Engine) -> Vocabulary {
        let mut vocabulary = Vocabulary::base();
        for source in engine.catalog().sources() {
            vocabulary.names.insert(source.name.clone());
            vocabulary.names.extend(source.columns.iter().map(|c| c.name.clone()));
        }
        // SHOW PROPERTIES reads the session's properties; failing to read them only costs
        // completions.
        if let Ok(results) = engine.execute("SHOW PROPERTIES;") {
            for result in results {
                if let StatementResult::Properties(list) = result {
                    vocabulary.properties.extend(list.into_iter().map(|(name, _)| name));
                }
            }
        }
        if let Ok(topics) = engine.backend().list_topics() {
            vocabulary.topics.extend(topics.into_iter().map(|t| t.name).filter(|t| !t.starts_with('_')));
        }
        vocabulary
    }

    /// What needs no engine: keywords, function names (a server has the same library) and
    /// the well-known properties.
    pub fn base() -> Vocabulary {
        let mut vocabulary = Vocabulary::default();
        vocabulary.words.extend(KEYWORDS.iter().map(|k| k.to_string()));
        vocabulary.words.extend(rivulet::functions::list_functions().into_iter().map(|f| f.name));
        vocabulary.properties.extend(PROPERTIES.iter().map(|p| p.to_string()));
        vocabulary
    }

    /// Adds stream, table and column names (what a server's SHOW and DESCRIBE listed).
    pub fn add_names(&mut self, names: impl IntoIterator<Item = String>) {
        self.names.extend(names);
    }

    /// Adds property names.
    pub fn add_properties(&mut self, names: impl IntoIterator<Item = String>) {
        self.properties.extend(names);
    }

    /// Adds topic names (internal ones, starting with `_`, are left out).
    pub fn add_topics(&mut self, names: impl IntoIterator<Item = String>) {
        self.topics.extend(names.into_iter().filter(|t| !t.starts_with('_')));
    }

    /// Candidates for the word before `pos` in `line`: where it starts and the replacements.
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = line.get(..pos).unwrap_or(line);
        if let Some(quote) = open_quote(before) {
            let typed = before.get(quote + 1..).unwrap_or("");
            let statement = current_statement(before.get(..quote).unwrap_or(""));
            let first = statement.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
            let pool = match first.as_str() {
                "SET" | "UNSET" => &self.properties,
                "PRINT" => &self.topics,
                _ => return (pos, Vec::new()),
            };
            // Properties and topics are case-sensitive: offered exactly as they are.
            let found = pool.iter().filter(|c| c.starts_with(typed)).cloned().collect();
            return (quote + 1, found);
        }
        let start = before.rfind(|c: char| !(c.is_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let typed = before.get(start..).unwrap_or("");
        if typed.is_empty() {
            return (pos, Vec::new());
        }
        let upper = typed.to_ascii_uppercase();
        let lower = typed.chars().all(|c| !c.is_ascii_uppercase());
        let mut found: Vec<String> = self
            .names
            .iter()
            .chain(self.words.iter())
            .filter(|c| c.to_ascii_uppercase().starts_with(&upper))
            .map(|c| if lower && is_plain_upper(c) { c.to_ascii_lowercase() } else { c.clone() })
            .collect();
        found.dedup();
        let mut seen = BTreeSet::new();
        found.retain(|c| seen.insert(c.clone()));
        (start, found)
    }
}

/// Where an unclosed `'` starts in `text`, if the cursor is inside a string.
fn open_quote(text: &str) -> Option<usize> {
    let mut open = None;
    for (i, c) in text.char_indices() {
        if c == '\'' {
            open = if open.is_some() { None } else { Some(i) };
        }
    }
    open
}

/// The text after the last `;`: the statement being typed.
fn current_statement(text: &str) -> &str {
    text.rsplit(';').next().unwrap_or(text)
}

/// An unquoted name as the catalog stores it (upper case): safe to offer in lower case.
fn is_plain_upper(name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The rustyline helper: completion from a [`Vocabulary`], nothing else.
pub struct ReplHelper {
    pub vocabulary: Vocabulary,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = self.vocabulary.complete(line, pos);
        Ok((start, found.into_iter().map(|c| Pair { display: c.clone(), replacement: c }).collect()))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(&'s self, prompt: &'p str, _default: bool) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for ReplHelper {}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let mut v = Vocabulary::default();
        v.words.extend(["SELECT", "SESSION", "SET", "COUNT", "CONCAT"].map(String::from));
        v.names.extend(["PAGEVIEWS", "PAGEID", "USERID", "MixedCase"].map(String::from));
        v.properties.extend(["auto.offset.reset", "ksql.streams.commit.interval.ms"].map(String::from));
        v.topics.extend(["pageviews", "users"].map(String::from));
        v
    }

    #[test]
    fn names_complete_in_the_case_typed() {
        let v = vocabulary();
        assert_eq!(v.complete("SELECT * FROM pagev", 19), (14, vec!["pageviews".to_string()]));
        assert_eq!(v.complete("SELECT * FROM PAGEV", 19), (14, vec!["PAGEVIEWS".to_string()]));
        assert_eq!(v.complete("describe Mix", 12), (9, vec!["MixedCase".to_string()]));
    }

    #[test]
    fn keywords_functions_and_columns_share_the_pool() {
        let v = vocabulary();
        let (start, found) = v.complete("se", 2);
        assert_eq!(start, 0);
        assert_eq!(found, vec!["select", "session", "set"]);
        let (_, found) = v.complete("SELECT CO", 9);
        assert_eq!(found, vec!["CONCAT", "COUNT"]);
        let (_, found) = v.complete("SELECT page", 11);
        assert_eq!(found, vec!["pageid", "pageviews"]);
    }

    #[test]
    fn quoted_words_complete_properties_after_set_and_topics_after_print() {
        let v = vocabulary();
        assert_eq!(v.complete("SET 'auto", 9), (5, vec!["auto.offset.reset".to_string()]));
        assert_eq!(v.complete("SHOW STREAMS; PRINT 'us", 23), (21, vec!["users".to_string()]));
        assert_eq!(v.complete("SELECT 'pa", 10).1, Vec::<String>::new());
    }
}
