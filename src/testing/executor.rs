//! Running one case against a fresh engine, the way ksqlDB's `TestExecutor` does.
//!
//! Per case: open an in-memory engine in manual mode with the case's properties, create the
//! topics the case needs (as ksqlDB's runner does before it runs anything), execute the
//! statements one at a time, then produce the inputs one record at a time, running every query
//! until idle after each record so that every intermediate update is visible (ksqlDB's
//! `TopologyTestDriver` with caching off). Finally read every expected output topic back,
//! decode it with the formats of the source written to it, compare, and check the
//! post-conditions. A negative case passes when a statement or the processing fails with the
//! expected message.
//!
//! Each case runs on its own thread with a timeout, and a panic is caught, so that no case can
//! hang or abort the run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use arrow::datatypes::Fields;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use regex::Regex;
use serde_json::Value;

use crate::catalog::{Catalog, Source};
use crate::engine::{Engine, EngineConfig};
use crate::format::FormatSpec;
use crate::testing::case::{RecordSpec, TestCase};
use crate::testing::compare::{self, ActualRecord};
use crate::testing::{post, window};
use crate::topic::{ProducerRecord, Record, TopicBackend, TopicConfig};

/// Stack of a case thread: planning deep expressions recurses, and debug builds use big frames.
const CASE_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Records read from a partition per backend call.
const READ_BATCH: usize = 1024;

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything matched.
    Passed,
    /// The first problem, as one readable line.
    Failed(String),
    /// Not run, and why.
    Skipped(String),
}

/// Runs a case on its own thread; a panic or exceeding `timeout` is a failure. A timed-out
/// case's thread is left behind (a thread cannot be killed); it owns only its own engine.
pub fn run_case(case: &TestCase, timeout: Duration) -> Outcome {
    if let Some(reason) = &case.skip {
        return Outcome::Skipped(reason.clone());
    }
    if let Some(error) = &case.error {
        return Outcome::Failed(error.clone());
    }
    let owned = case.clone();
    guarded(timeout, move || match &owned.rest {
        Some(spec) => super::rest::execute(&owned, spec),
        None => execute(&owned),
    })
}

/// Runs `work` on its own thread: a panic becomes a failure with the panic's message, and
/// running past `timeout` a failure that abandons the thread.
fn guarded(timeout: Duration, work: impl FnOnce() -> Result<(), String> + Send + 'static) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let spawned =
        std::thread::Builder::new().name("qtt-case".to_string()).stack_size(CASE_STACK_BYTES).spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(work))
                .unwrap_or_else(|payload| Err(format!("panicked: {}", panic_message(payload.as_ref()))));
            // The receiver is gone only when the case timed out; nobody wants the result then.
            let _ = tx.send(result);
        });
    let handle = match spawned {
        Ok(handle) => handle,
        Err(e) => return Outcome::Failed(format!("cannot start the case thread: {e}")),
    };
    match rx.recv_timeout(timeout) {
        Ok(Ok(())) => {
            let _ = handle.join();
            Outcome::Passed
        }
        Ok(Err(message)) => {
            let _ = handle.join();
            Outcome::Failed(message)
        }
        Err(RecvTimeoutError::Timeout) => {
            Outcome::Failed(format!("timed out after {} s (the case was abandoned)", timeout.as_secs_f64()))
        }
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => Outcome::Failed(format!("panicked: {}", panic_message(payload.as_ref()))),
            Ok(()) => Outcome::Failed("the case thread ended without a result".to_string()),
        },
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

/// Runs a case on the current thread: `Err` is the failure message.
pub fn execute(case: &TestCase) -> Result<(), String> {
    let engine = Engine::open(engine_config(case)).map_err(|e| format!("cannot open an engine: {e}"))?;
    let backend = engine.backend();
    create_topics(case, backend.as_ref())?;

    let mut produced = HashSet::new();
    let mut order = OutputOrder::default();
    let raised = drive(case, &engine, backend.as_ref(), &mut produced, &mut order).err();

    if let Some(expected) = &case.expected_exception {
        let describe = || {
            let kind = expected.kind.as_deref().map(|k| k.rsplit('.').next().unwrap_or(k)).unwrap_or("an exception");
            match &expected.message {
                Some(m) => format!("{kind} containing {m:?}"),
                None => kind.to_string(),
            }
        };
        return match raised {
            None => Err(format!("expected {}, but none was raised", describe())),
            // Only the error's own text counts, not the context the runner adds around it.
            Some(raised) => match &expected.message {
                Some(m) if !raised.message.contains(m.as_str()) => {
                    Err(format!("expected {}, but got: {raised}", describe()))
                }
                _ => Ok(()),
            },
        };
    }
    if let Some(raised) = raised {
        return Err(raised.to_string());
    }

    let catalog = engine.catalog();
    verify_outputs(case, &catalog, backend.as_ref(), &produced, &order)?;
    if let Some(conditions) = &case.post {
        post::check(conditions, &catalog, backend.as_ref())?;
    }
    Ok(())
}

/// The engine a case runs on: in memory, queries stepped by the runner, the case's
/// properties, and ksqlDB's test-only functions (which ksqlDB's runner loads from its test
/// classpath; no other engine has them).
pub(crate) fn engine_config(case: &TestCase) -> EngineConfig {
    EngineConfig {
        data_dir: None,
        properties: engine_properties(case),
        background: false,
        functions: super::functions::registry(),
    }
}

/// The case's properties over ksqlDB's runner's base config, which reads topics from the
/// earliest offset (so a query sees records written before it started, e.g. by INSERT VALUES).
pub(crate) fn engine_properties(case: &TestCase) -> BTreeMap<String, String> {
    let mut properties = case.properties.clone();
    let set = |k: &str| properties.contains_key(k);
    if !set("auto.offset.reset") && !set("ksql.streams.auto.offset.reset") {
        properties.insert("auto.offset.reset".to_string(), "earliest".to_string());
    }
    properties
}

/// Creates the topics the case names before anything runs, as ksqlDB's runner does: those of
/// `topics` (with their partition counts), those of `CREATE STREAM|TABLE` statements that are
/// not `AS SELECT` (with their `PARTITIONS`), and those of the inputs; one partition otherwise.
/// Output-only topics are left to the queries that write them.
pub(crate) fn create_topics(case: &TestCase, backend: &dyn TopicBackend) -> Result<(), String> {
    let mut wanted: BTreeMap<String, i32> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut want = |name: &str, partitions: i32| {
        if !name.is_empty() && !wanted.contains_key(name) {
            wanted.insert(name.to_string(), partitions);
            order.push(name.to_string());
        }
    };
    for topic in &case.topics {
        want(&topic.name, topic.partitions.unwrap_or(1));
    }
    for statement in &case.statements {
        if let Some((name, partitions)) = source_topic(statement) {
            want(&name, partitions.unwrap_or(1));
        }
    }
    for input in &case.inputs {
        want(&input.topic, 1);
    }
    for name in &order {
        let partitions = wanted.get(name).copied().unwrap_or(1).max(1);
        let config = TopicConfig { partitions, ..TopicConfig::default() };
        backend.create_topic(name, &config).map_err(|e| format!("cannot create topic '{name}': {e}"))?;
    }
    Ok(())
}

/// The topic (and `PARTITIONS`, when given) of a `CREATE STREAM|TABLE` that is not `AS SELECT`.
fn source_topic(statement: &str) -> Option<(String, Option<i32>)> {
    static PATTERNS: OnceLock<Option<(Regex, Regex, Regex)>> = OnceLock::new();
    let (topic, partitions, as_select) = PATTERNS
        .get_or_init(|| {
            Some((
                Regex::new(r"(?i)\bkafka_topic\s*=\s*'([^']*)'").ok()?,
                Regex::new(r"(?i)\bpartitions\s*=\s*'?(\d+)").ok()?,
                Regex::new(r"(?i)\bAS\s+SELECT\b").ok()?,
            ))
        })
        .as_ref()?;
    let trimmed = statement.trim_start();
    let is_create = trimmed.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("CREATE"));
    if !is_create || as_select.is_match(statement) {
        return None;
    }
    let name = topic.captures(statement)?.get(1)?.as_str().to_string();
    let count = partitions.captures(statement).and_then(|c| c.get(1)?.as_str().parse().ok());
    Some((name, count))
}

/// An error raised while a case ran: `expectedException` is matched against `message` alone.
#[derive(Debug)]
struct Raised {
    /// Where it happened, for the report: `statement #2 (CREATE ...) failed`.
    context: String,
    /// The error's text.
    message: String,
}

impl Raised {
    fn new(context: String, message: impl std::fmt::Display) -> Raised {
        Raised { context, message: message.to_string() }
    }
}

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.context, self.message)
    }
}

/// Executes the statements and produces the inputs. `Err` is what was raised.
fn drive(
    case: &TestCase,
    engine: &Engine,
    backend: &dyn TopicBackend,
    produced: &mut HashSet<(String, i32, i64)>,
    order: &mut OutputOrder,
) -> Result<(), Raised> {
    // ksqlDB's runner parses the statements as one text, one after the other on new lines, so
    // its error positions count lines from the first statement: leading newlines make ours do
    // the same (a statement's own text is trimmed, so they change nothing else).
    let mut lines_before = 0;
    for (i, statement) in case.statements.iter().enumerate() {
        let positioned = format!("{}{statement}", "\n".repeat(lines_before));
        lines_before += statement.lines().count().max(1);
        engine
            .execute(&positioned)
            .map_err(|e| Raised::new(format!("statement #{} ({}) failed", i + 1, abbreviate(statement)), e))?;
    }
    // Records written by the statements themselves (INSERT ... VALUES) are processed first.
    engine.run_until_idle().map_err(|e| Raised::new("processing after the statements failed".into(), e))?;
    order.mark(case, backend);
    // Statements are done: the catalog no longer changes while inputs are processed.
    let catalog = engine.catalog();
    for (i, input) in case.inputs.iter().enumerate() {
        let record = input_record(input, &catalog).map_err(|e| Raised::new(format!("input #{}", i + 1), e))?;
        let positions = backend
            .produce(&input.topic, vec![record])
            .map_err(|e| Raised::new(format!("input #{}: cannot produce to '{}'", i + 1, input.topic), e))?;
        for (partition, offset) in positions {
            produced.insert((input.topic.clone(), partition, offset));
        }
        engine.run_until_idle().map_err(|e| Raised::new(format!("processing input #{} failed", i + 1), e))?;
        order.mark(case, backend);
    }
    Ok(())
}

/// The order in which output records were written, as far as it matters: ksqlDB's runner
/// sees a query's output records as they are produced, across partitions, and expects them in
/// that order; read back partition by partition, the results of two inputs whose keys land in
/// different partitions would swap. The end of every output partition is marked after each
/// input is processed, and records are compared in the order of the input that caused them
/// (then partition by partition, offset by offset, within one input's).
#[derive(Debug, Default)]
pub(crate) struct OutputOrder {
    /// Per output topic and partition, its end offset after each step.
    marks: HashMap<(String, i32), Vec<i64>>,
}

impl OutputOrder {
    /// Marks where every output topic of the case ends now. A topic that does not exist yet
    /// ends at 0.
    fn mark(&mut self, case: &TestCase, backend: &dyn TopicBackend) {
        let mut seen = HashSet::new();
        for topic in case.outputs.iter().map(|r| r.topic.as_str()) {
            if !seen.insert(topic) {
                continue;
            }
            let partitions = backend.describe_topic(topic).ok().flatten().map_or(0, |d| d.config.partitions);
            for partition in 0..partitions {
                let end = backend.end_offset(topic, partition).unwrap_or(0);
                self.marks.entry((topic.to_string(), partition)).or_default().push(end);
            }
        }
    }

    /// The step that wrote the record at `offset` of a partition: the first mark past it.
    /// Without marks (or past the last), every record is in the last step.
    fn step(&self, topic: &str, partition: i32, offset: i64) -> usize {
        match self.marks.get(&(topic.to_string(), partition)) {
            Some(ends) => ends.partition_point(|&end| end <= offset),
            None => usize::MAX,
        }
    }
}

fn abbreviate(statement: &str) -> String {
    let one_line = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        format!("{}…", one_line.chars().take(60).collect::<String>())
    } else {
        one_line
    }
}

/// Serializes an input record with the formats of the source declared on its topic.
pub(crate) fn input_record(input: &RecordSpec, catalog: &Catalog) -> Result<ProducerRecord, String> {
    let source = pick_source(catalog, &input.topic, false);
    let mut key = match source {
        Some(s) => serialize(Some(&s.key_format), &s.key_fields(), &input.key),
        None => serialize(None, &Fields::empty(), &input.key),
    }
    .map_err(|e| format!("cannot serialize key {}: {e}", input.key))?;
    // Windowed keys carry their window after the key bytes (see `format::encode_windowed_key`).
    if let (Some(w), Some(wtype)) = (&input.window, source.and_then(|s| s.window)) {
        key = Some(window::encode(key, wtype, w.start, w.end));
    }
    let value = match source {
        Some(s) => serialize(Some(&s.value_format), &s.value_fields(), &input.value),
        None => serialize(None, &Fields::empty(), &input.value),
    }
    .map_err(|e| format!("cannot serialize value {}: {e}", input.value))?;
    let mut headers = Vec::new();
    for h in input.headers.iter().flatten() {
        let bytes = match &h.value {
            Some(b64) => Some(BASE64.decode(b64).map_err(|e| format!("header '{}' is not valid base64: {e}", h.key))?),
            None => None,
        };
        headers.push((h.key.clone(), bytes));
    }
    Ok(ProducerRecord {
        partition: input.partition,
        timestamp: input.timestamp.unwrap_or(0),
        key: key.map(Into::into),
        value: value.map(Into::into),
        headers,
    })
}

/// The source whose formats apply to `topic`: for inputs a declared source (not a query's
/// sink) if there is one, for outputs a query's sink if there is one.
fn pick_source<'a>(catalog: &'a Catalog, topic: &'a str, output: bool) -> Option<&'a Source> {
    let sinks: HashSet<&str> = catalog.queries().map(|q| q.sink.as_str()).collect();
    let candidates: Vec<&Source> = catalog.sources_for_topic(topic).collect();
    candidates.iter().find(|s| sinks.contains(s.name.as_str()) == output).or_else(|| candidates.first()).copied()
}

/// JSON to bytes for one side of a record with the format layer, which writes the record as
/// ksqlDB's runner's serdes do (JSON as the test wrote it, DELIMITED as the test's string).
fn serialize(spec: Option<&FormatSpec>, fields: &Fields, json: &Value) -> Result<Option<Vec<u8>>, String> {
    match spec {
        Some(spec) => crate::format::json_to_bytes(spec, fields, json).map_err(|e| e.to_string()),
        // No source declares the topic: strings as they are, anything else as JSON.
        None => match json {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.as_bytes().to_vec())),
            other => serde_json::to_vec(other).map(Some).map_err(|e| e.to_string()),
        },
    }
}

/// Bytes to JSON for one side of an output record (the inverse of [`serialize`]).
fn deserialize(spec: Option<&FormatSpec>, fields: &Fields, bytes: Option<&[u8]>) -> Result<Value, String> {
    match (spec, bytes) {
        (Some(spec), bytes) => crate::format::bytes_to_json(spec, fields, bytes).map_err(|e| e.to_string()),
        (None, None) => Ok(Value::Null),
        (None, Some(bytes)) => Ok(serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))),
    }
}

/// Reads every expected output topic and compares it with the expectation.
pub(crate) fn verify_outputs(
    case: &TestCase,
    catalog: &Catalog,
    backend: &dyn TopicBackend,
    produced: &HashSet<(String, i32, i64)>,
    order: &OutputOrder,
) -> Result<(), String> {
    // Grouped by topic, in order of first appearance.
    let mut topics: Vec<(&str, Vec<&RecordSpec>)> = Vec::new();
    for record in &case.outputs {
        match topics.iter_mut().find(|(t, _)| *t == record.topic) {
            Some((_, records)) => records.push(record),
            None => topics.push((&record.topic, vec![record])),
        }
    }
    // Inputs carry the timestamps; with none (INSERT VALUES), times come from the wall clock.
    let check_timestamps = !case.inputs.is_empty();
    for (topic, expected) in topics {
        let mut records = read_topic(backend, topic, produced)?.ok_or_else(|| {
            format!("topic '{topic}': expected {} records but the topic does not exist", expected.len())
        })?;
        // Stable: within one step, partition by partition as read.
        records.sort_by_key(|r| order.step(topic, r.partition, r.offset));
        let source = pick_source(catalog, topic, true);
        let mut actual = Vec::with_capacity(records.len());
        for (i, record) in records.into_iter().enumerate() {
            actual.push(decode_record(record, source).map_err(|e| format!("topic '{topic}' record #{}: {e}", i + 1))?);
        }
        compare::compare_topic(topic, &expected, &actual, check_timestamps)?;
    }
    Ok(())
}

/// All records of a topic, partition by partition in offset order, without the ones the runner
/// produced itself (a topic can be both an input and an output). `None` if it does not exist.
fn read_topic(
    backend: &dyn TopicBackend,
    topic: &str,
    produced: &HashSet<(String, i32, i64)>,
) -> Result<Option<Vec<Record>>, String> {
    let description = backend.describe_topic(topic).map_err(|e| format!("cannot describe topic '{topic}': {e}"))?;
    let Some(description) = description else {
        return Ok(None);
    };
    let mut records = Vec::new();
    for partition in 0..description.config.partitions {
        let failed = |e: crate::error::Error| format!("cannot read topic '{topic}' partition {partition}: {e}");
        let mut offset = backend.start_offset(topic, partition).map_err(failed)?;
        let end = backend.end_offset(topic, partition).map_err(failed)?;
        while offset < end {
            let batch = backend.read(topic, partition, offset, READ_BATCH).map_err(failed)?;
            let Some(last) = batch.last() else {
                break;
            };
            // Never loop forever on a backend that returns records before `offset`.
            let next = (last.offset + 1).max(offset + 1);
            records
                .extend(batch.into_iter().filter(|r| !produced.contains(&(topic.to_string(), r.partition, r.offset))));
            offset = next;
        }
    }
    Ok(Some(records))
}

fn decode_record(record: Record, source: Option<&Source>) -> Result<ActualRecord, String> {
    let mut key_bytes = record.key;
    let mut window = None;
    // Windowed keys carry their window after the key bytes (see `format::encode_windowed_key`).
    if let Some(wtype) = source.and_then(|s| s.window)
        && let Some(bytes) = &key_bytes
    {
        let (key, w) = window::decode(bytes, wtype).map_err(|e| format!("cannot decode the windowed key: {e}"))?;
        key_bytes = key.map(Into::into);
        window = Some(w);
    }
    let (key, value) = match source {
        Some(s) => (
            deserialize(Some(&s.key_format), &s.key_fields(), key_bytes.as_deref()),
            deserialize(Some(&s.value_format), &s.value_fields(), record.value.as_deref()),
        ),
        None => (
            deserialize(None, &Fields::empty(), key_bytes.as_deref()),
            deserialize(None, &Fields::empty(), record.value.as_deref()),
        ),
    };
    Ok(ActualRecord {
        key: key.map_err(|e| format!("cannot decode the key: {e}"))?,
        value: value.map_err(|e| format!("cannot decode the value: {e}"))?,
        timestamp: record.timestamp,
        window,
        headers: record.headers,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn output_records_are_ordered_by_the_input_that_wrote_them() {
        let mut order = OutputOrder::default();
        // Partition 0 ended at 2 after the statements, 2 after input 1, 5 after input 2.
        order.marks.insert(("T".to_string(), 0), vec![2, 2, 5]);
        let steps: Vec<usize> = (0..6).map(|offset| order.step("T", 0, offset)).collect();
        assert_eq!(steps, [0, 0, 2, 2, 2, 3]);
        // A partition never marked (another runner) keeps the order it was read in.
        assert_eq!(order.step("T", 1, 0), order.step("U", 0, 7));
    }
    use crate::format::FormatKind;
    use crate::testing::case::parse_file;

    #[test]
    fn offsets_reset_to_earliest_unless_the_case_says_otherwise() {
        let mut case = TestCase::invalid(std::path::Path::new("x.json"), "x", "n", String::new());
        assert_eq!(engine_properties(&case)["auto.offset.reset"], "earliest");
        case.properties.insert("ksql.streams.auto.offset.reset".into(), "latest".into());
        assert!(!engine_properties(&case).contains_key("auto.offset.reset"));
    }

    #[test]
    fn source_topics_come_from_plain_create_statements() {
        assert_eq!(
            source_topic("CREATE STREAM S (V INT) WITH (kafka_topic='in', value_format='JSON');"),
            Some(("in".to_string(), None))
        );
        assert_eq!(
            source_topic("create table T (K INT PRIMARY KEY) with (KAFKA_TOPIC = 't2', PARTITIONS=3, format='JSON');"),
            Some(("t2".to_string(), Some(3)))
        );
        assert_eq!(source_topic("CREATE STREAM O WITH (kafka_topic='o') AS SELECT * FROM S;"), None);
        assert_eq!(source_topic("INSERT INTO O SELECT * FROM S;"), None);
    }

    #[test]
    fn topics_without_a_source_use_raw_json_or_text() {
        let fields = Fields::empty();
        assert_eq!(serialize(None, &fields, &json!("a,b")).unwrap(), Some(b"a,b".to_vec()));
        assert_eq!(serialize(None, &fields, &json!({"A": 1})).unwrap(), Some(br#"{"A":1}"#.to_vec()));
        assert_eq!(serialize(None, &fields, &Value::Null).unwrap(), None);
        assert_eq!(deserialize(None, &fields, Some(br#"{"A":1}"#)).unwrap(), json!({"A": 1}));
        assert_eq!(deserialize(None, &fields, Some(b"a,b")).unwrap(), json!("a,b"));
        assert_eq!(deserialize(None, &fields, None).unwrap(), Value::Null);
    }

    #[test]
    fn json_is_written_as_the_test_wrote_it() {
        let spec = FormatSpec::new(FormatKind::Json);
        let fields = Fields::empty();
        assert_eq!(serialize(Some(&spec), &fields, &json!({"v": 1})).unwrap(), Some(br#"{"v":1}"#.to_vec()));
        assert_eq!(serialize(Some(&spec), &fields, &json!("x")).unwrap(), Some(br#""x""#.to_vec()));
        assert_eq!(serialize(Some(&spec), &fields, &Value::Null).unwrap(), None);
        assert_eq!(deserialize(Some(&spec), &fields, Some(br#"{"V":1.5}"#)).unwrap(), json!({"V": 1.5}));
        assert_eq!(deserialize(Some(&spec), &fields, None).unwrap(), Value::Null);
    }

    #[test]
    fn delimited_is_the_raw_string() {
        let spec = FormatSpec::new(FormatKind::Delimited);
        let fields = Fields::empty();
        assert_eq!(serialize(Some(&spec), &fields, &json!("0,zero,0.0")).unwrap(), Some(b"0,zero,0.0".to_vec()));
        assert_eq!(serialize(Some(&spec), &fields, &json!(10)).unwrap(), Some(b"10".to_vec()));
        assert_eq!(deserialize(Some(&spec), &fields, Some(b"a|b")).unwrap(), json!("a|b"));
    }

    #[test]
    fn a_case_that_cannot_open_an_engine_fails_instead_of_panicking() {
        // Whatever the engine's state, `run_case` returns an outcome and never panics.
        let cases = parse_file(
            std::path::Path::new("x.json"),
            r#"{"tests": [{"name": "n", "statements": ["CREATE STREAM S (V INT) WITH (kafka_topic='t', value_format='JSON');"]}]}"#,
        )
        .unwrap();
        let outcome = run_case(&cases[0], Duration::from_secs(30));
        assert!(matches!(outcome, Outcome::Passed | Outcome::Failed(_)), "{outcome:?}");
    }

    #[test]
    fn skipped_and_invalid_cases_do_not_run() {
        let cases = parse_file(
            std::path::Path::new("x.json"),
            r#"{"tests": [{"name": "a", "enabled": false, "statements": []},
                          {"name": "b", "statements": [], "inputs": [{"topic": 1}]}]}"#,
        )
        .unwrap();
        assert_eq!(run_case(&cases[0], Duration::from_secs(1)), Outcome::Skipped("disabled".into()));
        assert!(matches!(run_case(&cases[1], Duration::from_secs(1)), Outcome::Failed(m) if m.contains("malformed")));
    }

    #[test]
    fn panics_and_timeouts_are_failures() {
        assert_eq!(guarded(Duration::from_secs(5), || Ok(())), Outcome::Passed);
        assert_eq!(guarded(Duration::from_secs(5), || Err("no".into())), Outcome::Failed("no".into()));
        let panicked = guarded(Duration::from_secs(5), || panic!("kaboom {}", 42));
        assert_eq!(panicked, Outcome::Failed("panicked: kaboom 42".into()));
        let slow = guarded(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(2));
            Ok(())
        });
        assert!(matches!(slow, Outcome::Failed(m) if m.starts_with("timed out")));
    }

    #[test]
    fn panic_messages_are_extracted() {
        let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
        assert_eq!(panic_message(payload.as_ref()), "boom");
        let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_message(payload.as_ref()), "bang");
    }
}
