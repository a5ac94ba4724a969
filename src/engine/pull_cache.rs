//! Key-lookup pull queries answered from a cached plan.
//!
//! A pull query such as `SELECT * FROM t WHERE id = 'k42';` costs far more to parse and plan
//! (sqlparser, then DataFusion expressions) than to answer (one key read from the table's
//! state). Services ask the same question for different keys over and over, so the plan is
//! kept by the statement's *shape*: its text with its one literal, the key, taken out.
//!
//! Only a narrow shape is cached, the one whose answer provably does not depend on anything
//! but the key: one statement, a SELECT without EMIT, GROUP BY or JOIN, over a non-windowed
//! table with a materialized view and a single key column, whose WHERE clause is exactly
//! `key = literal`, with a string literal for a STRING key or an integer for an INT or BIGINT
//! key. For such a query the key lookup returns exactly the rows the WHERE clause keeps
//! (equality of strings and of integers is exact both ways), so the cached plan runs the
//! projection without the WHERE clause, whose compiled form holds the first key it was
//! planned for. Anything else — and anything the cache is unsure of — takes the ordinary
//! path, which also produces every error, so errors are exactly the uncached ones.
//!
//! Invalidation is by generation: every statement other than a SELECT (CREATE, DROP, ALTER,
//! TERMINATE, SET, INSERT ...) bumps the engine's generation after it ran, and an entry is
//! used only while the generation it was planned in is current. An entry also records the
//! request's properties: a request with other properties plans afresh.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{ArrayRef, Int32Array, Int64Array, StringArray};
use arrow::datatypes::SchemaRef;
use parking_lot::{Mutex, RwLock};

use super::queries::{View, batch_rows, result_columns};
use super::result::{ResultColumn, StatementResult};
use super::{Engine, Inner, Session};
use crate::catalog::Source;
use crate::error::Result;
use crate::exec::processing_log::ProcessingLog;
use crate::exec::query::SelectQuery;
use crate::exec::source::SourceReader;
use crate::sql::ast::{BinaryOp, Expr, Literal, Query, SourceKind, Statement};
use crate::sql::types::SqlType;

/// Shapes kept at most; a full cache is emptied (shapes are few in practice: one per kind of
/// question a service asks).
const CAPACITY: usize = 1024;

/// The key literal of a query text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyLiteral {
    String(String),
    Integer(i64),
}

/// A query text split into its shape and its one literal.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The text with the literal replaced by a marker naming its kind.
    template: String,
    key: KeyLiteral,
}

/// The marker standing for the literal in a template: NUL cannot appear in SQL text outside
/// a literal or a quoted name, and the letter keeps strings and integers apart (they do not
/// type-check alike).
const STRING_MARK: &str = "\0S";
const INTEGER_MARK: &str = "\0N";

impl Shape {
    /// The shape of `sql` when it has exactly one literal, a string or an unsigned integer,
    /// and nothing the cache cannot read with certainty (variables, numbers with a point or
    /// an exponent, digit-led names, typed literals such as `DATE '...'`). Comments and
    /// quoted names are kept verbatim, so a quote inside them is not mistaken for a literal.
    pub(crate) fn of(sql: &str) -> Option<Shape> {
        let bytes = sql.as_bytes();
        let mut template = String::with_capacity(sql.len());
        let mut key = None;
        let mut i = 0;
        // The last byte that was not whitespace or a comment: what a literal follows.
        let mut previous: u8 = b' ';
        while i < bytes.len() {
            let c = bytes[i];
            let start = i;
            match c {
                b'\'' => {
                    if previous.is_ascii_alphanumeric() || matches!(previous, b'_' | b'@' | b'"' | b'`' | b'\'') {
                        return None;
                    }
                    let mut value = String::new();
                    i += 1;
                    loop {
                        let end = i + sql[i..].find('\'')?;
                        value.push_str(&sql[i..end]);
                        if bytes.get(end + 1) == Some(&b'\'') {
                            value.push('\'');
                            i = end + 2;
                        } else {
                            i = end + 1;
                            break;
                        }
                    }
                    if key.is_some() {
                        return None;
                    }
                    key = Some(KeyLiteral::String(value));
                    template.push_str(STRING_MARK);
                    previous = b'\'';
                    continue;
                }
                b'"' | b'`' => {
                    i += 1;
                    loop {
                        let end = i + sql[i..].find(c as char)?;
                        if bytes.get(end + 1) == Some(&c) {
                            i = end + 2;
                        } else {
                            i = end + 1;
                            break;
                        }
                    }
                    previous = c;
                }
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    i = sql[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
                    template.push_str(&sql[start..i]);
                    continue;
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i = i + 2 + sql[i + 2..].find("*/")? + 2;
                    template.push_str(&sql[start..i]);
                    continue;
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') => return None,
                b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => return None,
                b'0'..=b'9' => {
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                    let glued =
                        bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'.'));
                    // A leading zero is read the same by the parser, but the template would
                    // then not say how the literal was written.
                    let padded = bytes[start] == b'0' && i - start > 1;
                    if glued || padded || key.is_some() {
                        return None;
                    }
                    key = Some(KeyLiteral::Integer(sql[start..i].parse().ok()?));
                    template.push_str(INTEGER_MARK);
                    previous = b'0';
                    continue;
                }
                b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'@')) {
                        i += 1;
                    }
                    previous = b'a';
                }
                // NUL would collide with the markers.
                0 => return None,
                _ => {
                    // Whitespace does not change what a literal follows; other characters
                    // (multi-byte ones included) are copied whole.
                    let width = sql[i..].chars().next().map_or(1, char::len_utf8);
                    i += width;
                    if !c.is_ascii_whitespace() {
                        previous = c;
                    }
                }
            }
            template.push_str(&sql[start..i]);
        }
        Some(Shape { template, key: key? })
    }
}

/// A planned key lookup.
pub(crate) struct Entry {
    generation: u64,
    /// The request's properties it was planned with.
    properties: BTreeMap<String, String>,
    plan: Option<Arc<Plan>>,
}

impl Entry {
    /// Whether the entry still answers for `session`: no DDL since it was planned, and the
    /// same properties.
    fn is_current(&self, generation: u64, session: &Session) -> bool {
        self.generation == generation && self.properties == session.properties
    }
}

/// What answering a cached shape needs.
struct Plan {
    source: Source,
    /// The schema of the source's batches, which the view's rows are laid out in.
    layout: SchemaRef,
    view: View,
    key_type: SqlType,
    columns: Vec<ResultColumn>,
    limit: Option<u64>,
    /// The projection (the WHERE clause left out, see the module doc), [`SELECTS`] times:
    /// each is behind a lock because the reader it holds is not shared between threads, and
    /// with one only, two server threads answering at once would send one of them the slow
    /// way round (to wait on the blocking pool).
    selects: Vec<Mutex<SelectQuery>>,
}

/// Projections per cached plan: as many as threads that may answer at once (the server's
/// async workers, one per core here, and a thread of the blocking pool).
const SELECTS: usize = 4;

/// The cache, and the generation DDL bumps.
#[derive(Default)]
pub(crate) struct PullCache {
    generation: AtomicU64,
    /// Read by every lookup at once; written when a shape is planned or DDL runs.
    entries: RwLock<HashMap<String, Arc<Entry>>>,
    hits: AtomicU64,
}

impl PullCache {
    /// Called after every statement other than a SELECT: cached plans may be stale now.
    /// The entries go too, so that a dropped table's state is not kept alive by them.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.write().clear();
    }

    /// How many pull queries the cache answered.
    pub(crate) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

/// Answers `sql` from the cache, planning and caching its shape the first time: `None` when
/// the query is not a cacheable key lookup (the caller then runs it the ordinary way, which
/// also produces its errors).
pub(crate) fn answer(engine: &Engine, sql: &str, session: &Session) -> Option<Result<StatementResult>> {
    if !session.variables.is_empty() {
        return None;
    }
    let shape = Shape::of(sql)?;
    let cache = &engine.inner.pull_cache;
    let generation = cache.generation.load(Ordering::Acquire);
    let cached = cache.entries.read().get(&shape.template).cloned();
    let entry = match cached {
        Some(entry) if entry.is_current(generation, session) => entry,
        _ => {
            let plan = engine.with_session(session, |engine| prepare(&engine.inner, sql, &shape.key));
            let entry =
                Arc::new(Entry { generation, properties: session.properties.clone(), plan: plan.map(Arc::new) });
            let mut entries = cache.entries.write();
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(shape.template, entry.clone());
            entry
        }
    };
    let plan = entry.plan.as_ref()?;
    let result = plan.answer(&shape.key, Wait::Yes)?;
    cache.hits.fetch_add(1, Ordering::Relaxed);
    Some(result)
}

/// Answers `sql` from a plan already cached, without ever waiting: `None` when there is no
/// current plan for its shape, or when answering would wait for a lock (a persistent query
/// updating the table right now). What an async server thread may call without stalling
/// the other requests it serves; [`answer`] is the rest.
pub(crate) fn answer_now(engine: &Engine, sql: &str, session: &Session) -> Option<Result<StatementResult>> {
    if !session.variables.is_empty() {
        return None;
    }
    let shape = Shape::of(sql)?;
    let cache = &engine.inner.pull_cache;
    let generation = cache.generation.load(Ordering::Acquire);
    let entry = cache.entries.try_read()?.get(&shape.template).cloned()?;
    if !entry.is_current(generation, session) {
        return None;
    }
    let result = entry.plan.as_ref()?.answer(&shape.key, Wait::No)?;
    cache.hits.fetch_add(1, Ordering::Relaxed);
    Some(result)
}

/// Whether answering may wait for the table's locks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    Yes,
    No,
}

/// Plans `sql` when it is a cacheable key lookup whose WHERE literal is `key`.
fn prepare(inner: &Inner, sql: &str, key: &KeyLiteral) -> Option<Plan> {
    let mut statements = crate::sql::parser::parse_with_variables(sql, &mut BTreeMap::new()).ok()?;
    if statements.len() != 1 {
        return None;
    }
    let Statement::Query(query) = statements.remove(0).statement else { return None };
    if query.emit.is_some() || !query.from.joins.is_empty() || crate::plan::aggregate::is_aggregation(&query) {
        return None;
    }
    let state = inner.state.lock();
    let plan = crate::plan::select::plan_transient(&query, &state.catalog).ok()?;
    // More projections, planned alike, for the server's other threads (see `Plan::selects`).
    let mut spares = Vec::with_capacity(SELECTS - 1);
    for _ in 1..SELECTS {
        spares.push(crate::plan::select::plan_transient(&query, &state.catalog).ok()?);
    }
    let source = plan.source.clone();
    if source.kind != SourceKind::Table || source.window.is_some() {
        return None;
    }
    let key_type = {
        let mut keys = source.key_columns();
        let (Some(key_column), None) = (keys.next(), keys.next()) else { return None };
        if !where_is_key_equals(&query, &key_column.name, key) {
            return None;
        }
        let compatible = matches!(
            (&key_column.ty, key),
            (SqlType::String, KeyLiteral::String(_)) | (SqlType::Int | SqlType::Bigint, KeyLiteral::Integer(_))
        );
        if !compatible {
            return None;
        }
        key_column.ty.clone()
    };
    let view = inner.tables.lock().get(&source.name).cloned()?;
    let scan_enabled = state
        .property(&inner.config, "ksql.query.pull.table.scan.enabled")
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
    drop(state);
    crate::plan::pull::validate(&query, &source, scan_enabled).ok()?;
    let columns = result_columns(&plan.columns);
    let limit = plan.limit;
    let log = ProcessingLog::new(inner.backend.clone(), "transient");
    let mut selects = Vec::with_capacity(SELECTS);
    for mut plan in std::iter::once(plan).chain(spares) {
        let reader = SourceReader::new(source.clone(), inner.backend.clone(), Vec::new(), log.clone()).ok()?;
        plan.filter = None;
        selects.push(Mutex::new(SelectQuery::new(plan, reader, log.clone())));
    }
    let layout = crate::exec::source::input_schema(&source);
    Some(Plan { source, layout, view, key_type, columns, limit, selects })
}

/// Whether the WHERE clause is exactly `key = literal` (either way round) with `literal`
/// being the one the text's shape found.
fn where_is_key_equals(query: &Query, key_name: &str, key: &KeyLiteral) -> bool {
    let Some(Expr::Binary { op: BinaryOp::Eq, left, right }) = &query.where_clause else { return false };
    let (name, literal) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column { name, .. }, Expr::Literal(l)) | (Expr::Literal(l), Expr::Column { name, .. }) => (name, l),
        _ => return false,
    };
    if name != key_name {
        return false;
    }
    match (literal, key) {
        (Literal::String(s), KeyLiteral::String(k)) => s == k,
        (Literal::Int(v), KeyLiteral::Integer(k)) => i64::from(*v) == *k,
        (Literal::Bigint(v), KeyLiteral::Integer(k)) => v == k,
        _ => false,
    }
}

impl Plan {
    /// The answer for `key`; `None` when the key does not convert to the key column's type
    /// exactly (an integer out of INT's range), which the ordinary path handles.
    fn answer(&self, key: &KeyLiteral, wait: Wait) -> Option<Result<StatementResult>> {
        // As the ordinary path converts a key literal (`key_lookup`), without its detour
        // through a scalar value: an integer that does not fit INT goes the ordinary way.
        let array: ArrayRef = match (&self.key_type, key) {
            (SqlType::String, KeyLiteral::String(s)) => Arc::new(StringArray::from(vec![s.as_str()])),
            (SqlType::Int, KeyLiteral::Integer(v)) => Arc::new(Int32Array::from(vec![i32::try_from(*v).ok()?])),
            (SqlType::Bigint, KeyLiteral::Integer(v)) => Arc::new(Int64Array::from(vec![*v])),
            _ => return None,
        };
        let key = [array];
        // The projection's lock is taken first: without waiting, nothing may be looked up
        // that is then not answered.
        let free = self.selects.iter().find_map(|select| select.try_lock());
        let select = match (free, wait) {
            (Some(select), _) => select,
            (None, Wait::Yes) => self.selects.first()?.lock(),
            (None, Wait::No) => return None,
        };
        let batch = match &self.view {
            View::Rows(table) => match wait {
                Wait::Yes => table.read().lookup(&key),
                Wait::No => table.try_read()?.lookup(&key),
            },
            View::Aggregate(aggregator) => {
                let mut aggregator = match wait {
                    Wait::Yes => aggregator.lock(),
                    Wait::No => aggregator.try_lock()?,
                };
                let rows = match aggregator.lookup(&key) {
                    Ok(Some(rows)) => rows,
                    // Only windowed aggregations answer no lookup, and they are not cached.
                    Ok(None) => return None,
                    Err(e) => return Some(Err(e)),
                };
                crate::state::table::source_layout_as(&rows, &self.source, self.layout.clone())
            }
        };
        Some(batch.and_then(|batch| {
            let out = select.process(&batch)?;
            let mut rows = batch_rows(&out, self.columns.len());
            if let Some(limit) = self.limit {
                rows.truncate(limit as usize);
            }
            Ok(StatementResult::Rows { columns: self.columns.clone(), rows, stream: false })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyLiteral, Shape};

    fn shape(sql: &str) -> Option<(String, KeyLiteral)> {
        Shape::of(sql).map(|s| (s.template.replace('\0', "?"), s.key))
    }

    #[test]
    fn a_key_lookup_has_a_shape_and_a_key() {
        assert_eq!(
            shape("SELECT * FROM t WHERE id = 'k''1';"),
            Some(("SELECT * FROM t WHERE id = ?S;".into(), KeyLiteral::String("k'1".into())))
        );
        assert_eq!(
            shape("select `a'b` from \"T'\" where id=42 -- it's\n"),
            Some(("select `a'b` from \"T'\" where id=?N -- it's\n".into(), KeyLiteral::Integer(42)))
        );
        assert_eq!(shape("SELECT * /* 'x' */ FROM t WHERE id = 0;").map(|s| s.1), Some(KeyLiteral::Integer(0)));
        // Two keys of one shape share the template.
        assert_eq!(
            shape("SELECT * FROM t WHERE id = 'a';").map(|s| s.0),
            shape("SELECT * FROM t WHERE id = 'bb';").map(|s| s.0)
        );
        // A string and a number of the same text are different shapes.
        assert_ne!(
            shape("SELECT * FROM t WHERE id = '1';").map(|s| s.0),
            shape("SELECT * FROM t WHERE id = 1;").map(|s| s.0)
        );
    }

    #[test]
    fn texts_the_cache_cannot_read_with_certainty_have_no_shape() {
        for sql in [
            "SELECT * FROM t;",
            "SELECT * FROM t WHERE id = 'a' OR id = 'b';",
            "SELECT * FROM t WHERE id = ${key};",
            "SELECT * FROM t WHERE id = 1.5;",
            "SELECT * FROM t WHERE id = .5;",
            "SELECT * FROM t WHERE id = 1e3;",
            "SELECT * FROM t WHERE id = 007;",
            "SELECT * FROM t WHERE id = 99999999999999999999;",
            "SELECT * FROM t WHERE d = DATE '2020-01-01';",
            "SELECT * FROM t WHERE id = 'unterminated;",
            "SELECT * FROM t1x WHERE id = 1R;",
            "SELECT * FROM t /* open",
        ] {
            assert_eq!(shape(sql), None, "{sql}");
        }
    }
}
