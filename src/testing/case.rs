//! Loading QTT files: the case model, lenient JSON, the format × config matrices and skips.
//!
//! A QTT file is `{"tests": [case, ...]}` (see `reference/ksqldb.md` §1.2). ksqlDB reads these
//! files with comments allowed, so [`strip_comments`] removes `//` and `/* */` comments outside
//! string literals before `serde_json` sees the text. Each case is then expanded once per entry
//! of its `format` matrix (`{FORMAT}` in statements) and of its `config` matrix (`{CONFIG}` in
//! properties), and marked skipped when it is disabled or needs a schema-registry format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// Formats that need a schema registry: cases using them are skipped, not failed.
const SCHEMA_REGISTRY_FORMATS: [&str; 4] = ["AVRO", "PROTOBUF", "PROTOBUF_NOSR", "JSON_SR"];

/// One expanded test case, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// The file the case came from.
    pub file: PathBuf,
    /// The file name without extension: the first part of the display name and the key of
    /// `--summary-by-file`.
    pub file_stem: String,
    /// `<file-stem> - <name>[ - <format>][ - <prop>=<config>]`.
    pub display_name: String,
    /// Statements, `{FORMAT}` replaced, run one at a time in order.
    pub statements: Vec<String>,
    /// Engine properties, `{CONFIG}` replaced, values as strings.
    pub properties: BTreeMap<String, String>,
    /// Records produced, one at a time, after the statements.
    pub inputs: Vec<RecordSpec>,
    /// Records expected on the output topics, in order per topic.
    pub outputs: Vec<RecordSpec>,
    /// Topic metadata (partitions, formats).
    pub topics: Vec<TopicSpec>,
    /// Set for negative cases.
    pub expected_exception: Option<ExpectedException>,
    /// Checks on the catalog and the created topics after the run.
    pub post: Option<PostConditions>,
    /// Why the case is skipped, when it is.
    pub skip: Option<String>,
    /// Why the case could not be read (a malformed field); such a case fails when run.
    pub error: Option<String>,
    /// Set for REST query-validation cases (reference §1.3): run against a server over HTTP.
    pub rest: Option<RestSpec>,
}

/// What a REST query-validation case adds: the expected HTTP responses.
#[derive(Debug, Clone, PartialEq)]
pub struct RestSpec {
    /// One per statement: `{"admin": {...}}` for /ksql entities, `{"query": [...]}` for
    /// queries' streamed rows. Expected objects are partial.
    pub responses: Vec<Value>,
    /// `{type?, message?, status?}` for the last statement.
    pub expected_error: Option<Value>,
    /// Inputs are produced once the (first) push query is running.
    pub wait_for_active_push_query: bool,
    /// Row order matters (otherwise rows compare as a multiset).
    pub verify_order: bool,
}

impl TestCase {
    /// A case that could not be read: it fails with `error` when run.
    pub fn invalid(path: &Path, file_stem: &str, name: &str, error: String) -> TestCase {
        TestCase {
            file: path.to_path_buf(),
            file_stem: file_stem.to_string(),
            display_name: format!("{file_stem} - {name}"),
            statements: Vec::new(),
            properties: BTreeMap::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            topics: Vec::new(),
            expected_exception: None,
            post: None,
            skip: None,
            error: Some(error),
            rest: None,
        }
    }
}

/// A record of `inputs` or `outputs`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RecordSpec {
    /// Topic name.
    pub topic: String,
    /// The key as JSON; absent means a null key.
    #[serde(default)]
    pub key: Value,
    /// The value as JSON; `null` is a tombstone.
    #[serde(default)]
    pub value: Value,
    /// Record timestamp (ms). Inputs default to 0; outputs check it only when given.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// An explicit partition (inputs only).
    #[serde(default)]
    pub partition: Option<i32>,
    /// The window of a windowed key.
    #[serde(default)]
    pub window: Option<WindowSpec>,
    /// Headers, compared as an ordered list when given.
    #[serde(default)]
    pub headers: Option<Vec<HeaderSpec>>,
}

/// `{"start": ms, "end": ms, "type": "time" | "session"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WindowSpec {
    /// Window start (ms, inclusive).
    pub start: i64,
    /// Window end (ms).
    pub end: i64,
    /// `time` (tumbling and hopping) or `session`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// `{"KEY": "name", "VALUE": "<base64>"}`; `VALUE` may be null.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HeaderSpec {
    /// Header name.
    #[serde(rename = "KEY")]
    pub key: String,
    /// Base64 of the header bytes, `None` for a null header value.
    #[serde(rename = "VALUE", default)]
    pub value: Option<String>,
}

/// An entry of `topics`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count (1 when absent).
    pub partitions: Option<i32>,
    /// `keyFormat`.
    pub key_format: Option<String>,
    /// `valueFormat` (or the older `format`).
    pub value_format: Option<String>,
}

/// `expectedException`: the case passes iff something fails with this message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExpectedException {
    /// The Java class name ksqlDB expects; informational only.
    pub kind: Option<String>,
    /// A substring of the expected message.
    pub message: Option<String>,
}

/// `post`: checks after the run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PostConditions {
    /// Sources that must exist, with their type, schema and formats.
    pub sources: Vec<PostSource>,
    /// A regex no created topic name may (fully) match.
    pub blacklist: Option<String>,
}

/// A post-condition source.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PostSource {
    /// Source name.
    pub name: String,
    /// `stream` or `table`.
    pub kind: Option<String>,
    /// `K INT KEY, V STRING`, compared after normalization.
    pub schema: Option<String>,
    /// Key format name.
    pub key_format: Option<String>,
    /// `TUMBLING`, `HOPPING` or `SESSION`.
    pub window_type: Option<String>,
    /// Window size in ms.
    pub window_size: Option<u64>,
    /// Value format name.
    pub value_format: Option<String>,
}

/// Loads every case of a QTT file, expanded and with skips decided.
pub fn load_file(path: &Path) -> Result<Vec<TestCase>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::external(format!("cannot read '{}': {e}", path.display())))?;
    parse_file(path, &text)
}

/// Parses the text of a QTT file; `path` names the cases.
pub fn parse_file(path: &Path, text: &str) -> Result<Vec<TestCase>> {
    let json: Value = serde_json::from_str(&strip_comments(text))
        .map_err(|e| Error::user(format!("'{}' is not valid JSON: {e}", path.display())))?;
    let tests = json
        .get("tests")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::user(format!("'{}' has no top-level \"tests\" array", path.display())))?;
    let file_stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut cases = Vec::new();
    for (i, raw) in tests.iter().enumerate() {
        match expand_case(path, &file_stem, raw) {
            Ok(expanded) => cases.extend(expanded),
            // One malformed case fails on its own instead of hiding the rest of the file.
            Err(err) => {
                let name = raw.get("name").map(value_as_string).unwrap_or_else(|| format!("#{}", i + 1));
                cases.push(TestCase::invalid(path, &file_stem, &name, err.to_string()));
            }
        }
    }
    Ok(cases)
}

/// Removes `//` line comments and `/* */` block comments outside string literals, as Jackson's
/// `ALLOW_COMMENTS` accepts them. Line breaks are kept so serde's positions stay right.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for next in chars.by_ref() {
                    if next == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = '\0';
                for next in chars.by_ref() {
                    if next == '\n' {
                        out.push('\n');
                    }
                    if prev == '*' && next == '/' {
                        break;
                    }
                    prev = next;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The fields of a case as written, before expansion.
#[derive(Debug, Deserialize)]
struct RawCase {
    name: String,
    #[serde(default)]
    statements: Vec<String>,
    #[serde(default)]
    format: Vec<String>,
    #[serde(default)]
    config: Vec<String>,
    #[serde(default)]
    properties: BTreeMap<String, Value>,
    #[serde(default)]
    inputs: Vec<RecordSpec>,
    #[serde(default)]
    outputs: Vec<RecordSpec>,
    #[serde(default)]
    topics: Vec<Value>,
    #[serde(default, rename = "expectedException")]
    expected_exception: Option<Value>,
    #[serde(default)]
    post: Option<Value>,
    #[serde(default = "enabled_default")]
    enabled: bool,
    #[serde(default)]
    responses: Option<Vec<Value>>,
    #[serde(default, rename = "expectedError")]
    expected_error: Option<Value>,
    #[serde(default, rename = "inputConditions")]
    input_conditions: Option<Value>,
    #[serde(default, rename = "outputConditions")]
    output_conditions: Option<Value>,
}

fn enabled_default() -> bool {
    true
}

fn expand_case(path: &Path, file_stem: &str, raw: &Value) -> Result<Vec<TestCase>> {
    let raw: RawCase =
        serde_json::from_value(raw.clone()).map_err(|e| Error::user(format!("malformed test case: {e}")))?;
    let properties: BTreeMap<String, String> =
        raw.properties.iter().map(|(k, v)| (k.clone(), value_as_string(v))).collect();
    let topics = raw.topics.iter().map(parse_topic).collect::<Vec<_>>();
    let expected_exception = raw.expected_exception.as_ref().map(|e| ExpectedException {
        kind: e.get("type").map(value_as_string),
        message: e.get("message").map(value_as_string),
    });
    let post = raw.post.as_ref().map(parse_post);
    let flag = |conditions: &Option<Value>, name: &str| {
        conditions.as_ref().and_then(|c| c.get(name)).and_then(Value::as_bool).unwrap_or(false)
    };
    let rest = (raw.responses.is_some() || raw.expected_error.is_some()).then(|| RestSpec {
        responses: raw.responses.clone().unwrap_or_default(),
        expected_error: raw.expected_error.clone(),
        wait_for_active_push_query: flag(&raw.input_conditions, "waitForActivePushQuery"),
        verify_order: flag(&raw.output_conditions, "verifyOrder"),
    });

    // One entry per matrix cell; `None` means the case has no such matrix.
    let formats: Vec<Option<&String>> =
        if raw.format.is_empty() { vec![None] } else { raw.format.iter().map(Some).collect() };
    let configs: Vec<Option<&String>> =
        if raw.config.is_empty() { vec![None] } else { raw.config.iter().map(Some).collect() };
    let config_key = properties.iter().find(|(_, v)| v.as_str() == "{CONFIG}").map(|(k, _)| k.clone());
    if !raw.config.is_empty() && config_key.is_none() {
        return Err(Error::user(format!(
            "case '{}' has a \"config\" matrix but no property with the value \"{{CONFIG}}\"",
            raw.name
        )));
    }

    let mut cases = Vec::new();
    for format in &formats {
        for config in &configs {
            let mut display_name = format!("{file_stem} - {}", raw.name);
            let mut statements = raw.statements.clone();
            let mut case_topics = topics.clone();
            if let Some(format) = format {
                display_name.push_str(&format!(" - {format}"));
                for s in &mut statements {
                    *s = s.replace("{FORMAT}", format);
                }
                for t in &mut case_topics {
                    for f in [&mut t.key_format, &mut t.value_format].into_iter().flatten() {
                        *f = f.replace("{FORMAT}", format);
                    }
                }
            }
            let mut case_properties = properties.clone();
            if let (Some(config), Some(key)) = (config, &config_key) {
                display_name.push_str(&format!(" - {key}={config}"));
                case_properties.insert(key.clone(), (*config).clone());
            }
            let skip = if raw.enabled {
                schema_registry_format(format.map(String::as_str), &statements, &case_topics)
                    .map(|f| format!("needs a schema registry ({f})"))
            } else {
                Some("disabled".to_string())
            };
            cases.push(TestCase {
                file: path.to_path_buf(),
                file_stem: file_stem.to_string(),
                display_name,
                statements,
                properties: case_properties,
                inputs: raw.inputs.clone(),
                outputs: raw.outputs.clone(),
                topics: case_topics,
                expected_exception: expected_exception.clone(),
                post: post.clone(),
                skip,
                error: None,
                rest: rest.clone(),
            });
        }
    }
    Ok(cases)
}

/// The first schema-registry format the case uses: its matrix format, a `KEY_FORMAT`,
/// `VALUE_FORMAT` or `FORMAT` in a statement, or a topic's format.
fn schema_registry_format(format: Option<&str>, statements: &[String], topics: &[TopicSpec]) -> Option<String> {
    static FORMAT_PROPERTY: OnceLock<Option<Regex>> = OnceLock::new();
    let is_sr = |name: &str| {
        let upper = name.trim().to_ascii_uppercase();
        SCHEMA_REGISTRY_FORMATS.contains(&upper.as_str()).then_some(upper)
    };
    if let Some(found) = format.and_then(is_sr) {
        return Some(found);
    }
    let regex = FORMAT_PROPERTY
        .get_or_init(|| Regex::new(r#"(?i)\b(?:KEY_FORMAT|VALUE_FORMAT|FORMAT)\s*=\s*['"]?([A-Za-z_]+)"#).ok());
    if let Some(regex) = regex {
        for statement in statements {
            for captures in regex.captures_iter(statement) {
                if let Some(found) = captures.get(1).and_then(|m| is_sr(m.as_str())) {
                    return Some(found);
                }
            }
        }
    }
    topics.iter().flat_map(|t| [&t.key_format, &t.value_format]).flatten().find_map(|f| is_sr(f))
}

fn parse_topic(raw: &Value) -> TopicSpec {
    TopicSpec {
        name: raw.get("name").map(value_as_string).unwrap_or_default(),
        partitions: raw.get("partitions").and_then(Value::as_i64).and_then(|p| i32::try_from(p).ok()),
        key_format: raw.get("keyFormat").map(format_name),
        value_format: raw.get("valueFormat").or_else(|| raw.get("format")).map(format_name),
    }
}

fn parse_post(raw: &Value) -> PostConditions {
    let sources = raw
        .get("sources")
        .and_then(Value::as_array)
        .map(|sources| {
            sources
                .iter()
                .map(|s| {
                    let key_format = s.get("keyFormat");
                    PostSource {
                        name: s.get("name").map(value_as_string).unwrap_or_default(),
                        kind: s.get("type").map(value_as_string),
                        schema: s.get("schema").map(value_as_string),
                        key_format: key_format.map(format_name),
                        window_type: key_format.and_then(|k| k.get("windowType")).map(value_as_string),
                        window_size: key_format.and_then(|k| k.get("windowSize")).and_then(Value::as_u64),
                        value_format: s.get("valueFormat").map(format_name),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let blacklist = raw.get("topics").and_then(|t| t.get("blacklist")).map(value_as_string);
    PostConditions { sources, blacklist }
}

/// A format is written either as a name or as `{"format": name, ...}`.
fn format_name(raw: &Value) -> String {
    match raw.get("format") {
        Some(inner) => value_as_string(inner),
        None => value_as_string(raw),
    }
}

/// Strings as they are, everything else as JSON text (`true`, `10`).
fn value_as_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Vec<TestCase> {
        parse_file(Path::new("dir/my-file.json"), text).unwrap()
    }

    #[test]
    fn comments_are_stripped_outside_strings_only() {
        let text = "{\"a\": \"http://x\", // trailing\n /* block\n */ \"b\": \"/* no */\"}";
        let stripped = strip_comments(text);
        let json: Value = serde_json::from_str(&stripped).unwrap();
        assert_eq!(json["a"], "http://x");
        assert_eq!(json["b"], "/* no */");
    }

    #[test]
    fn escaped_quotes_do_not_end_a_string() {
        let stripped = strip_comments(r#"{"a": "x\"//y"}"#);
        let json: Value = serde_json::from_str(&stripped).unwrap();
        assert_eq!(json["a"], "x\"//y");
    }

    #[test]
    fn a_file_with_comments_loads() {
        let cases = load(
            r#"{
              // a comment
              "tests": [{"name": "simple", "statements": ["CREATE STREAM S (V INT) WITH (kafka_topic='t', value_format='JSON');"],
                         "inputs": [{"topic": "t", "value": {"V": 1}, "timestamp": 5}],
                         "outputs": [{"topic": "OUT", "key": 1, "value": null, "window": {"start": 0, "end": 10, "type": "time"},
                                      "headers": [{"KEY": "h", "VALUE": "IQ=="}]}]}]
            }"#,
        );
        assert_eq!(cases.len(), 1);
        let case = &cases[0];
        assert_eq!(case.display_name, "my-file - simple");
        assert_eq!(case.file_stem, "my-file");
        assert_eq!(case.skip, None);
        assert_eq!(case.inputs[0].key, Value::Null);
        assert_eq!(case.inputs[0].timestamp, Some(5));
        assert_eq!(case.outputs[0].window, Some(WindowSpec { start: 0, end: 10, kind: Some("time".into()) }));
        assert_eq!(case.outputs[0].headers.as_ref().unwrap()[0].value.as_deref(), Some("IQ=="));
    }

    #[test]
    fn format_and_config_matrices_expand() {
        let cases = load(
            r#"{"tests": [{"name": "m", "format": ["JSON", "DELIMITED"], "config": ["true", "false"],
                 "properties": {"ksql.new.query.planner.enabled": "{CONFIG}", "other": 5},
                 "statements": ["CREATE STREAM S (V INT) WITH (kafka_topic='t', value_format='{FORMAT}');"]}]}"#,
        );
        let names: Vec<&str> = cases.iter().map(|c| c.display_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "my-file - m - JSON - ksql.new.query.planner.enabled=true",
                "my-file - m - JSON - ksql.new.query.planner.enabled=false",
                "my-file - m - DELIMITED - ksql.new.query.planner.enabled=true",
                "my-file - m - DELIMITED - ksql.new.query.planner.enabled=false",
            ]
        );
        assert!(cases[2].statements[0].contains("value_format='DELIMITED'"));
        assert_eq!(cases[1].properties["ksql.new.query.planner.enabled"], "false");
        assert_eq!(cases[1].properties["other"], "5");
    }

    #[test]
    fn schema_registry_formats_and_disabled_cases_are_skipped() {
        let cases = load(
            r#"{"tests": [
                {"name": "matrix", "format": ["JSON", "AVRO", "PROTOBUF_NOSR"], "statements": ["X {FORMAT};"]},
                {"name": "statement", "statements": ["CREATE STREAM S (V INT) WITH (kafka_topic='t', VALUE_FORMAT = 'json_sr');"]},
                {"name": "key format", "statements": ["CREATE STREAM S (V INT) WITH (kafka_topic='t', key_format='Protobuf', value_format='JSON');"]},
                {"name": "topic", "statements": ["X;"], "topics": [{"name": "t", "valueFormat": "AVRO"}]},
                {"name": "disabled", "enabled": false, "statements": ["X;"]},
                {"name": "plain", "statements": ["CREATE STREAM S (V INT) WITH (kafka_topic='t', format='KAFKA');"]}
            ]}"#,
        );
        let skipped: Vec<(&str, bool)> = cases.iter().map(|c| (c.display_name.as_str(), c.skip.is_some())).collect();
        assert_eq!(
            skipped,
            [
                ("my-file - matrix - JSON", false),
                ("my-file - matrix - AVRO", true),
                ("my-file - matrix - PROTOBUF_NOSR", true),
                ("my-file - statement", true),
                ("my-file - key format", true),
                ("my-file - topic", true),
                ("my-file - disabled", true),
                ("my-file - plain", false),
            ]
        );
        assert_eq!(cases[6].skip.as_deref(), Some("disabled"));
    }

    #[test]
    fn expected_exception_and_post_conditions_parse() {
        let cases = load(
            r#"{"tests": [{"name": "p", "statements": ["X;"],
                "expectedException": {"type": "io.confluent.ksql.util.KsqlStatementException", "message": "boom"},
                "post": {"sources": [{"name": "OUTPUT", "type": "table", "schema": "K INT KEY, V STRING",
                                      "keyFormat": {"format": "KAFKA", "windowType": "TUMBLING", "windowSize": 1000},
                                      "valueFormat": {"format": "JSON"}}],
                         "topics": {"blacklist": ".*-repartition"}}}]}"#,
        );
        let case = &cases[0];
        assert_eq!(case.expected_exception.as_ref().unwrap().message.as_deref(), Some("boom"));
        let post = case.post.as_ref().unwrap();
        assert_eq!(post.blacklist.as_deref(), Some(".*-repartition"));
        let source = &post.sources[0];
        assert_eq!(source.key_format.as_deref(), Some("KAFKA"));
        assert_eq!(source.window_type.as_deref(), Some("TUMBLING"));
        assert_eq!(source.window_size, Some(1000));
        assert_eq!(source.value_format.as_deref(), Some("JSON"));
    }

    #[test]
    fn a_malformed_case_fails_alone() {
        let cases = load(
            r#"{"tests": [{"name": "bad", "statements": ["X;"], "inputs": [{"topic": "t", "timestamp": "soon"}]},
                          {"name": "good", "statements": ["X;"]}]}"#,
        );
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].display_name, "my-file - bad");
        assert!(cases[0].error.as_ref().unwrap().contains("malformed"));
        assert_eq!(cases[1].error, None);
    }

    #[test]
    fn a_file_without_tests_is_an_error() {
        assert!(parse_file(Path::new("x.json"), "{\"cases\": []}").is_err());
        assert!(parse_file(Path::new("x.json"), "{not json").is_err());
    }
}
