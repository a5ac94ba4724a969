//! The engine: the one entry point of every front end.
//!
//! [`Engine::execute`] takes SQL text and returns one [`StatementResult`] per statement. The
//! engine owns the catalog, the topic backend and the running queries. Every accepted
//! DDL/DML statement is appended to the command topic and replayed when the engine opens, so
//! the catalog and the persistent queries come back after a restart; queries resume from the
//! offsets they committed.

mod ddl;
mod pull_cache;
mod queries;
pub mod result;
mod show;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::sql::ast::{ParsedStatement, Statement};
use crate::topic::embedded::EmbeddedLog;
use crate::topic::{ProducerRecord, SharedBackend, TopicConfig};

pub use queries::RunningQueries;
pub use result::StatementResult;

/// The topic holding the command log.
pub const COMMAND_TOPIC: &str = "_rivulet_command_topic";

/// How an engine is set up.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Where the embedded log keeps its files; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// Server-level properties (`ksql.*`, `auto.offset.reset`, ...).
    pub properties: BTreeMap<String, String>,
    /// `true`: persistent queries run on their own threads as records arrive. `false`: they run
    /// only inside [`Engine::run_until_idle`], one record at a time, which makes every
    /// intermediate update visible (the conformance runner's mode).
    pub background: bool,
    /// The functions statements may call: the built-in library unless the owner adds some
    /// (the QTT runner adds ksqlDB's test-only functions).
    pub functions: crate::functions::FunctionRegistry,
}

/// A Rivulet engine.
pub struct Engine {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: EngineConfig,
    pub(crate) backend: SharedBackend,
    pub(crate) state: Mutex<State>,
    pub(crate) queries: RunningQueries,
    /// Materialized views of the tables persistent queries maintain, by table name.
    pub(crate) tables: Mutex<std::collections::HashMap<String, queries::View>>,
    /// Held while a request runs in a session of its own ([`Engine::with_session`]), so that
    /// one request's SET cannot leak into another's statements. Re-entrant: RUN SCRIPT
    /// executes statements from inside a statement.
    pub(crate) requests: parking_lot::ReentrantMutex<()>,
    /// Running shared push queries by statement (see `queries::Fanout`).
    pub(crate) fanouts: Arc<Mutex<std::collections::HashMap<String, Arc<queries::Fanout>>>>,
    /// Plans of key-lookup pull queries by shape (see `pull_cache`).
    pub(crate) pull_cache: pull_cache::PullCache,
}

/// The settings one request runs with: ksqlDB's `streamsProperties` and `sessionVariables`.
/// SET, UNSET, DEFINE and UNDEFINE inside the request change them for its later statements
/// only.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub properties: BTreeMap<String, String>,
    pub variables: BTreeMap<String, String>,
}

/// What statements change: the catalog and the session's properties.
pub(crate) struct State {
    pub(crate) catalog: Catalog,
    /// Properties set with SET, on top of the config's.
    pub(crate) session: BTreeMap<String, String>,
    /// Variables set with DEFINE.
    pub(crate) variables: BTreeMap<String, String>,
    /// True while the command log is replayed: no new commands are appended, topics are not
    /// created again and no data is written.
    pub(crate) replaying: bool,
}

impl State {
    /// The effective value of a property: SET, then the engine's config.
    pub(crate) fn property<'a>(&'a self, config: &'a EngineConfig, name: &str) -> Option<&'a str> {
        self.session.get(name).or_else(|| config.properties.get(name)).map(String::as_str)
    }
}

impl Engine {
    /// Opens an engine: the embedded log under `data_dir` (or in memory), the catalog replayed
    /// from the command log, persistent queries resumed.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let backend: SharedBackend = match &config.data_dir {
            Some(dir) => Arc::new(EmbeddedLog::open(dir)?),
            None => Arc::new(EmbeddedLog::in_memory()),
        };
        Self::with_backend(config, backend)
    }

    /// Opens an engine on a given topic backend.
    pub fn with_backend(config: EngineConfig, backend: SharedBackend) -> Result<Engine> {
        let background = config.background;
        let functions = config.functions.clone();
        let inner = Arc::new(Inner {
            config,
            backend,
            state: Mutex::new(State {
                catalog: Catalog::with_functions(functions),
                session: BTreeMap::new(),
                variables: BTreeMap::new(),
                replaying: false,
            }),
            queries: RunningQueries::new(background),
            tables: Mutex::new(std::collections::HashMap::new()),
            requests: parking_lot::ReentrantMutex::new(()),
            fanouts: Arc::new(Mutex::new(std::collections::HashMap::new())),
            pull_cache: pull_cache::PullCache::default(),
        });
        let engine = Engine { inner };
        engine.replay()?;
        Ok(engine)
    }

    /// Executes `;`-separated statements in order; stops at the first that fails.
    pub fn execute(&self, sql: &str) -> Result<Vec<StatementResult>> {
        let _serial = self.inner.requests.lock();
        let statements = self.parse(sql)?;
        let mut results = Vec::with_capacity(statements.len());
        for statement in statements {
            results.push(self.execute_statement(&statement)?);
        }
        Ok(results)
    }

    /// Parses `;`-separated statements with the session's variables: `${name}` is
    /// substituted, and DEFINE/UNDEFINE apply as the parser reaches them.
    pub fn parse(&self, sql: &str) -> Result<Vec<ParsedStatement>> {
        let mut variables = self.inner.state.lock().variables.clone();
        let statements = crate::sql::parser::parse_with_variables(sql, &mut variables)?;
        self.inner.state.lock().variables = variables;
        Ok(statements)
    }

    /// Runs `work` with `session`'s properties and variables in place of the engine's own,
    /// then puts the engine's back: what a request to the HTTP server runs in. Requests run
    /// one at a time (statements are short; push queries only start here and stream later).
    pub fn with_session<R>(&self, session: &Session, work: impl FnOnce(&Engine) -> R) -> R {
        let _serial = self.inner.requests.lock();
        let saved = {
            let mut state = self.inner.state.lock();
            (
                std::mem::replace(&mut state.session, session.properties.clone()),
                std::mem::replace(&mut state.variables, session.variables.clone()),
            )
        };
        // Restores the engine's session even if `work` panics.
        struct Restore<'a>(&'a Inner, Option<(BTreeMap<String, String>, BTreeMap<String, String>)>);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                if let Some((session, variables)) = self.1.take() {
                    let mut state = self.0.state.lock();
                    state.session = session;
                    state.variables = variables;
                }
            }
        }
        let _restore = Restore(&self.inner, Some(saved));
        work(self)
    }

    /// Executes one parsed statement.
    pub fn execute_statement(&self, statement: &ParsedStatement) -> Result<StatementResult> {
        let result = self.dispatch(statement);
        // Whatever else a statement does, a SELECT changes nothing a cached pull-query plan
        // depends on; anything else (DDL, TERMINATE, SET, ...) may have, succeeding or not.
        if !matches!(statement.statement, Statement::Query(_)) {
            self.inner.pull_cache.invalidate();
        }
        result
    }

    /// Answers a pull query that looks up one key of a table (`SELECT ... FROM t WHERE k =
    /// 'v';`) from a plan cached by the query's shape, planning it the first time; `None` when
    /// `sql` is not such a query, to be run with [`Engine::with_session`] and
    /// [`Engine::execute_statement`] as usual (which also reports its errors). The answer is
    /// the one the ordinary path gives; the cache is dropped by any statement other than a
    /// SELECT.
    pub fn cached_pull(&self, sql: &str, session: &Session) -> Option<Result<StatementResult>> {
        pull_cache::answer(self, sql, session)
    }

    /// [`Engine::cached_pull`] for callers that must not wait (an async server thread): the
    /// answer when the query's plan is cached and the table is not being written right now,
    /// else `None` (then call [`Engine::cached_pull`] where waiting is fine). Never plans.
    pub fn cached_pull_now(&self, sql: &str, session: &Session) -> Option<Result<StatementResult>> {
        pull_cache::answer_now(self, sql, session)
    }

    /// How many pull queries the plan cache answered.
    pub fn pull_cache_hits(&self) -> u64 {
        self.inner.pull_cache.hits()
    }

    fn dispatch(&self, parsed: &ParsedStatement) -> Result<StatementResult> {
        let inner = &self.inner;
        match &parsed.statement {
            Statement::CreateSource(create) => ddl::create_source(inner, create, &parsed.text),
            Statement::CreateAsSelect(create) => queries::create_as_select(inner, create, &parsed.text),
            Statement::InsertIntoSelect { target, query, .. } => {
                queries::insert_into_select(inner, target, query, &parsed.text)
            }
            Statement::InsertValues { target, columns, values } => {
                ddl::insert_values(inner, target, columns.as_deref(), values)
            }
            Statement::Query(query) => queries::transient_query(inner, query),
            Statement::Show(show) => show::show(inner, show),
            Statement::Describe(describe) => show::describe(inner, describe),
            Statement::Explain(explain) => show::explain(inner, explain),
            Statement::Terminate(target) => queries::terminate(inner, target, &parsed.text),
            Statement::DropSource { kind, name, if_exists, delete_topic } => {
                ddl::drop_source(inner, *kind, name, *if_exists, *delete_topic, &parsed.text)
            }
            Statement::CreateType { name, if_not_exists, ty } => {
                ddl::create_type(inner, name, *if_not_exists, ty, &parsed.text)
            }
            Statement::DropType { name, if_exists } => ddl::drop_type(inner, name, *if_exists, &parsed.text),
            Statement::SetProperty { name, value } => {
                let mut state = inner.state.lock();
                let old = state.session.insert(name.clone(), value.clone());
                let message = match old {
                    Some(old) => format!("Successfully changed local property '{name}' from '{old}' to '{value}'."),
                    None => format!("Successfully changed local property '{name}' to '{value}'."),
                };
                Ok(StatementResult::Status { message, query_id: None })
            }
            Statement::UnsetProperty { name } => {
                let mut state = inner.state.lock();
                let message = match state.session.remove(name) {
                    Some(_) => format!("Successfully unset local property '{name}'."),
                    None => format!("Cannot unset local property '{name}' which was never set"),
                };
                Ok(StatementResult::Status { message, query_id: None })
            }
            Statement::RunScript { path } => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::user(format!("cannot read script '{path}': {e}")))?;
                let mut results = self.execute(&text)?;
                Ok(results.pop().unwrap_or(StatementResult::Status { message: "Script ran".into(), query_id: None }))
            }
            Statement::AlterSource { kind, name, .. } => {
                let state = inner.state.lock();
                let source = state.catalog.require_source(name)?;
                let noun = ddl::kind_noun(*kind);
                if source.read_only {
                    return Err(Error::user(format!(
                        "Cannot alter {noun} '{name}': ALTER operations are not supported on source {noun}s."
                    )));
                }
                Err(Error::user("ALTER ... ADD COLUMN is not supported yet"))
            }
            // The parser already applied these to the session's variables.
            Statement::DefineVariable { .. } | Statement::UndefineVariable { .. } => {
                Ok(StatementResult::Status { message: String::new(), query_id: None })
            }
            other => Err(Error::user(format!("{} is not supported yet", statement_name(other)))),
        }
    }

    /// Inserts `rows` into the stream `target` in order, made durable together (one flush for
    /// all): the number written, and the error that stopped the rest if one did. Rows before
    /// a bad row are written; if the write itself fails, none is.
    pub fn insert_json_rows(
        &self,
        target: &str,
        rows: &[serde_json::Map<String, serde_json::Value>],
    ) -> (usize, Option<Error>) {
        ddl::insert_json_rows(&self.inner, target, rows)
    }

    /// The sequence number of the last command logged (-1 before the first): what ksqlDB's
    /// `commandSequenceNumber` reports.
    pub fn command_sequence(&self) -> i64 {
        let backend = &self.inner.backend;
        match backend.describe_topic(COMMAND_TOPIC) {
            Ok(Some(_)) => backend.end_offset(COMMAND_TOPIC, 0).map(|end| end - 1).unwrap_or(-1),
            _ => -1,
        }
    }

    /// The topic backend (the test runner produces inputs and reads outputs through it).
    pub fn backend(&self) -> SharedBackend {
        self.inner.backend.clone()
    }

    /// A copy of the catalog as it is now.
    pub fn catalog(&self) -> Catalog {
        self.inner.state.lock().catalog.clone()
    }

    /// Runs every persistent query until none has input left (manual mode).
    pub fn run_until_idle(&self) -> Result<()> {
        self.inner.queries.run_until_idle()
    }

    /// Runs every manual-mode query in batches of `batch` records until all input is consumed
    /// (the benchmark's mode: no per-record visibility needed).
    pub fn run_to_completion(&self, batch: usize) -> Result<()> {
        self.inner.queries.run_until_idle_with(batch)
    }

    /// Closes every window still open in manual queries, as at the end of a bounded input
    /// (EMIT FINAL emits them); `rivulet bench` calls it once the input is consumed.
    pub fn close_windows(&self) -> Result<()> {
        self.inner.queries.close_windows()
    }

    /// What the aggregation maintaining `table` restored when it started: whether it loaded a
    /// local snapshot and how much changelog it replayed. `None` when no aggregation maintains
    /// the table.
    pub fn restore_stats(&self, table: &str) -> Option<crate::state::RestoreStats> {
        match self.inner.tables.lock().get(&table.to_ascii_uppercase())? {
            queries::View::Aggregate(aggregator) => Some(aggregator.lock().restore_stats().clone()),
            queries::View::Rows(_) => None,
        }
    }

    /// Stops every query, letting each commit what it wrote.
    pub fn shutdown(&self) {
        self.inner.queries.stop_all();
    }

    fn replay(&self) -> Result<()> {
        let backend = &self.inner.backend;
        if backend.describe_topic(COMMAND_TOPIC)?.is_none() {
            return Ok(());
        }
        let mut offset = backend.start_offset(COMMAND_TOPIC, 0)?;
        let end = backend.end_offset(COMMAND_TOPIC, 0)?;
        self.inner.state.lock().replaying = true;
        let outcome = (|| {
            while offset < end {
                let records = backend.read(COMMAND_TOPIC, 0, offset, 1000)?;
                let Some(last) = records.last() else { break };
                offset = last.offset + 1;
                for record in records {
                    let Some(value) = record.value else { continue };
                    let command: Command = serde_json::from_slice(&value)
                        .map_err(|e| Error::internal(format!("unreadable command log entry: {e}")))?;
                    self.inner.state.lock().session = command.properties;
                    for statement in crate::sql::parse(&command.sql)? {
                        if let Err(e) = self.execute_statement(&statement) {
                            // A command that was accepted once but fails now (say its topic was
                            // deleted) must not stop the others from coming back.
                            tracing::error!(sql = %command.sql, error = %e, "replaying a command failed");
                        }
                    }
                }
            }
            Ok(())
        })();
        let mut state = self.inner.state.lock();
        state.replaying = false;
        state.session.clear();
        drop(state);
        outcome
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.inner.queries.stop_all();
    }
}

/// An entry of the command log.
#[derive(serde::Serialize, serde::Deserialize)]
struct Command {
    sql: String,
    #[serde(default)]
    properties: BTreeMap<String, String>,
}

impl Inner {
    /// Appends an accepted statement to the command log (not while replaying it).
    pub(crate) fn log_command(&self, state: &State, sql: &str) -> Result<()> {
        if state.replaying {
            return Ok(());
        }
        self.backend.create_topic(COMMAND_TOPIC, &TopicConfig::default())?;
        let command = Command { sql: sql.to_string(), properties: state.session.clone() };
        let value = serde_json::to_vec(&command).map_err(|e| Error::internal(format!("command encoding: {e}")))?;
        self.backend.produce(
            COMMAND_TOPIC,
            vec![ProducerRecord { partition: Some(0), value: Some(value.into()), ..Default::default() }],
        )?;
        self.backend.flush()
    }
}

fn statement_name(statement: &Statement) -> &'static str {
    match statement {
        Statement::CreateSource(_) => "CREATE",
        Statement::CreateAsSelect(_) => "CREATE AS SELECT",
        Statement::InsertIntoSelect { .. } => "INSERT INTO SELECT",
        Statement::InsertValues { .. } => "INSERT VALUES",
        Statement::Query(_) => "SELECT",
        Statement::Show(_) => "SHOW",
        Statement::Describe(_) => "DESCRIBE",
        Statement::Explain(_) => "EXPLAIN",
        Statement::Print { .. } => "PRINT",
        Statement::Terminate(_) => "TERMINATE",
        Statement::Pause(_) => "PAUSE",
        Statement::Resume(_) => "RESUME",
        Statement::DropSource { .. } => "DROP",
        Statement::AlterSource { .. } => "ALTER",
        Statement::CreateType { .. } => "CREATE TYPE",
        Statement::DropType { .. } => "DROP TYPE",
        Statement::SetProperty { .. } => "SET",
        Statement::UnsetProperty { .. } => "UNSET",
        Statement::AlterSystem { .. } => "ALTER SYSTEM",
        Statement::DefineVariable { .. } => "DEFINE",
        Statement::UndefineVariable { .. } => "UNDEFINE",
        Statement::RunScript { .. } => "RUN SCRIPT",
        Statement::CreateConnector { .. } => "CREATE CONNECTOR",
        Statement::DropConnector { .. } => "DROP CONNECTOR",
        Statement::AssertTopic { .. } => "ASSERT TOPIC",
        Statement::AssertSchema { .. } => "ASSERT SCHEMA",
    }
}
