//! The REPL's `--server URL` mode: the same prompt, every statement sent to a Rivulet (or
//! ksqlDB) server over its REST API, as ksqlDB's CLI does.
//!
//! - Statements go to `/ksql` one at a time; the entities that come back are read into the
//!   engine's `StatementResult`s (`rivulet::client::entities`) and shown by the same renderer
//!   as the embedded REPL, errors included (position, caret and hint survive the trip).
//! - SELECT (and PRINT, which the server refuses with its reason) goes to `/query-stream`. A
//!   push query streams its rows until the server ends the response (its LIMIT) or Ctrl-C,
//!   which drops the response: closing the connection is what stops the query on the server.
//! - SET/UNSET and DEFINE/UNDEFINE stay in this process, as in ksqlDB's CLI: the properties go
//!   with every request as `streamsProperties`, the variables as `sessionVariables`.
//! - RUN SCRIPT sends the file as one `/ksql` request, so a script cannot contain queries.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rivulet::client::entities;
use rivulet::client::{Client, ClientError};
use rivulet::engine::result::ResultColumn;
use rivulet::engine::{Session, StatementResult};
use rivulet::sql::ast::Statement;
use rivulet::sql::lexer::KsqlDialect;
use rivulet::{Error, Result};
use serde_json::Value;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::completion::Vocabulary;
use super::{Flow, render};

/// How to reach the server.
pub struct Target {
    pub url: String,
    /// PEM certificates to trust besides the usual roots (a self-signed server).
    pub ca_cert: Option<std::path::PathBuf>,
    /// Basic-auth user; the password comes from `RIVULET_PASSWORD` or a prompt.
    pub user: Option<String>,
}

/// A connection to a server and the session the REPL keeps for it.
pub struct Remote {
    client: Client,
    session: Session,
    /// What `GET /info` said, for the banner.
    version: String,
    status: String,
}

impl Remote {
    /// Connects (`GET /info`), failing with a message that says what to check.
    pub fn connect(target: &Target) -> Result<Remote> {
        let client = match &target.ca_cert {
            Some(ca) => Client::with_ca(&target.url, ca)?,
            None => Client::new(&target.url)?,
        };
        let client = match &target.user {
            Some(user) => client.basic_auth(user, &password(user)?),
            None => client,
        };
        let info = client.get("/info").map_err(|e| match e {
            ClientError::Transport(e) => {
                Error::external(format!("cannot reach a server at {}: {}", target.url, e.message())).with_hint(
                    "is `rivulet server` running there? (for https, --ca-cert trusts a self-signed certificate)",
                )
            }
            ClientError::Server(e) if e.status == 401 => {
                Error::user(format!("the server at {} refused the credentials: {}", target.url, e.message()))
                    .with_hint("pass --user NAME; the password comes from RIVULET_PASSWORD or a prompt")
            }
            ClientError::Server(e) => Error::external(format!(
                "the server at {} answered GET /info with HTTP {}: {}",
                target.url,
                e.status,
                e.message()
            )),
        })?;
        let info = &info["KsqlServerInfo"];
        Ok(Remote {
            client,
            session: Session::default(),
            version: info["version"].as_str().unwrap_or("unknown").to_string(),
            status: info["serverStatus"].as_str().unwrap_or("unknown").to_string(),
        })
    }

    /// The banner lines, in the manner of ksqlDB's CLI.
    pub fn banner(&self) -> Vec<String> {
        vec![
            format!(
                "Rivulet {} — connected to server v{} located at {}",
                env!("CARGO_PKG_VERSION"),
                self.version,
                self.client.url()
            ),
            format!("Server Status: {}", self.status),
        ]
    }

    /// Completion words: the base vocabulary plus the server's streams, tables and topics.
    /// Failing to list them only costs completions.
    pub fn vocabulary(&self) -> Vocabulary {
        let mut vocabulary = Vocabulary::base();
        if let Ok(found) = self.client.ksql("SHOW STREAMS; SHOW TABLES; SHOW TOPICS;", &self.session) {
            for entity in &found {
                match entities::statement_result(entity) {
                    StatementResult::Streams(list) | StatementResult::Tables(list) => {
                        vocabulary.add_names(list.into_iter().map(|s| s.name));
                    }
                    StatementResult::Topics(list) => vocabulary.add_topics(list.into_iter().map(|t| t.name)),
                    _ => {}
                }
            }
        }
        vocabulary.add_properties(self.session.properties.keys().cloned());
        vocabulary
    }

    /// Runs one statement on the server (or, for session statements, here) and shows the
    /// outcome.
    pub fn run_statement(&mut self, text: &str, width: usize, interrupted: &AtomicBool) -> Flow {
        let words = first_words(text);
        let outcome = match (words.first().map(String::as_str), words.get(1).map(String::as_str)) {
            (Some("SET" | "UNSET" | "DEFINE" | "UNDEFINE"), _) => return self.session_statement(text, width),
            (Some("SHOW" | "LIST"), Some("VARIABLES")) => {
                let variables = self.session.variables.clone().into_iter().collect();
                render::result(&StatementResult::Variables(variables), width);
                Ok(Flow::Continue)
            }
            (Some("SELECT" | "PRINT"), _) => return self.query(text, width, interrupted),
            _ => self.client.ksql(text, &self.session).map(|found| {
                for entity in &found {
                    render::result(&entities::statement_result(entity), width);
                }
                Flow::Continue
            }),
        };
        outcome.unwrap_or_else(|e| {
            show_error(&e, text, width);
            Flow::Stop
        })
    }

    /// RUN SCRIPT: the whole file as one `/ksql` request, as ksqlDB's CLI sends it.
    pub fn run_script(&mut self, path: &str, width: usize) -> Flow {
        let script = match std::fs::read_to_string(path) {
            Ok(script) => script,
            Err(e) => {
                render::error(&Error::user(format!("cannot read script '{path}': {e}")), None);
                return Flow::Stop;
            }
        };
        match self.client.ksql(&script, &self.session) {
            Ok(found) => {
                for entity in &found {
                    render::result(&entities::statement_result(entity), width);
                }
                Flow::Continue
            }
            Err(e) => {
                show_error(&e, &script, width);
                Flow::Stop
            }
        }
    }

    /// SET, UNSET, DEFINE, UNDEFINE: kept in this process and sent with later requests.
    fn session_statement(&mut self, text: &str, width: usize) -> Flow {
        let parsed = match rivulet::sql::parse(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                render::error(&e, Some(text));
                return Flow::Stop;
            }
        };
        for statement in parsed {
            let message = match statement.statement {
                Statement::SetProperty { name, value } => {
                    match self.session.properties.insert(name.clone(), value.clone()) {
                        Some(old) => format!("Successfully changed local property '{name}' from '{old}' to '{value}'."),
                        None => format!("Successfully changed local property '{name}' to '{value}'."),
                    }
                }
                Statement::UnsetProperty { name } => match self.session.properties.remove(&name) {
                    Some(_) => format!("Successfully unset local property '{name}'."),
                    None => format!("Cannot unset local property '{name}' which was never set"),
                },
                Statement::DefineVariable { name, value } => {
                    self.session.variables.insert(name, value);
                    continue;
                }
                Statement::UndefineVariable { name } => {
                    self.session.variables.remove(&name);
                    continue;
                }
                _ => continue,
            };
            render::result(&StatementResult::Status { message, query_id: None }, width);
        }
        Flow::Continue
    }

    /// A SELECT on `/query-stream`: a pull query's rows as one table, a push query's as they
    /// arrive.
    fn query(&self, text: &str, width: usize, interrupted: &AtomicBool) -> Flow {
        let mut lines = match self.client.query_stream(text, &self.session) {
            Ok(lines) => lines,
            Err(e) => {
                show_error(&e, text, width);
                return Flow::Stop;
            }
        };
        if first_word(text).as_deref() == Some("PRINT") {
            return print_lines(lines, interrupted);
        }
        let header = match lines.header() {
            Ok(header) => header,
            Err(e) => {
                show_error(&e, text, width);
                return Flow::Stop;
            }
        };
        let names: Vec<String> = strings(&header["columnNames"]);
        let shape = QueryShape::of(text);
        if !shape.push {
            let mut rows = Vec::new();
            loop {
                match lines.next_line() {
                    Ok(Some(line)) => match serde_json::from_str::<Value>(&line) {
                        Ok(Value::Array(row)) => rows.push(row),
                        Ok(other) => return error_line(&other),
                        Err(e) => return bad_line(&line, &e),
                    },
                    Ok(None) => break,
                    Err(e) => {
                        show_error(&e, text, width);
                        return Flow::Stop;
                    }
                }
            }
            let types = strings(&header["columnTypes"]);
            let columns = names
                .iter()
                .enumerate()
                .map(|(i, name)| column(name, types.get(i).map_or("STRING", String::as_str)))
                .collect();
            render::result(&StatementResult::Rows { columns, rows, stream: false }, width);
            return Flow::Continue;
        }
        interrupted.store(false, Ordering::Release);
        render::line("Press CTRL-C to interrupt");
        let widths = render::push_header(&names, width);
        loop {
            if interrupted.swap(false, Ordering::AcqRel) {
                // Closing the connection is what stops the query on the server.
                drop(lines);
                render::line("Query terminated");
                return Flow::Stop;
            }
            match lines.next_line_timeout(Duration::from_millis(100)) {
                Ok(Some(line)) => match serde_json::from_str::<Value>(&line) {
                    Ok(Value::Array(row)) => render::push_row(&row, &widths),
                    Ok(other) => return error_line(&other),
                    Err(e) => return bad_line(&line, &e),
                },
                Ok(None) if !lines.is_open() => {
                    // The server ended the response: the query reached its LIMIT.
                    if shape.limit {
                        render::line("Limit Reached");
                    }
                    render::line("Query terminated");
                    return Flow::Continue;
                }
                Ok(None) => {}
                Err(e) => {
                    show_error(&e, text, width);
                    return Flow::Stop;
                }
            }
        }
    }
}

/// What the text of a SELECT says about how it answers.
struct QueryShape {
    /// `EMIT CHANGES` / `EMIT FINAL`: rows keep coming.
    push: bool,
    limit: bool,
}

impl QueryShape {
    /// Read from keywords, not from a parse: the text may hold `${variables}` that only the
    /// server substitutes.
    fn of(text: &str) -> QueryShape {
        let tokens = Tokenizer::new(&KsqlDialect, text).tokenize().unwrap_or_default();
        // EMIT is not one of sqlparser's keywords: words are compared by their text.
        let word = |k: &str| {
            tokens
                .iter()
                .any(|t| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k)))
        };
        QueryShape { push: word("EMIT"), limit: word("LIMIT") }
    }
}

/// The first two words of a statement, upper-cased.
fn first_words(text: &str) -> Vec<String> {
    text.split_whitespace().take(2).map(|w| w.trim_end_matches(';').to_ascii_uppercase()).collect()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

/// A result column from a name and a type's text (`BIGINT`, `STRUCT<...>`); STRING when the
/// text does not parse (a type this side does not know).
fn column(name: &str, ty: &str) -> ResultColumn {
    let catalog = rivulet::catalog::Catalog::new();
    let sql_type = rivulet::sql::parser::parse_type(ty)
        .and_then(|t| rivulet::plan::expr::resolve_type(&t, &catalog))
        .unwrap_or(rivulet::sql::types::SqlType::String);
    ResultColumn { name: name.to_string(), ty: ty.to_string(), sql_type, key: false }
}

/// An error line inside a query's answer (the query failed after it started).
fn error_line(body: &Value) -> Flow {
    render::error(&entities::error(body), None);
    Flow::Stop
}

fn bad_line(line: &str, e: &serde_json::Error) -> Flow {
    render::error(&Error::external(format!("the server sent a line that is not JSON ({e}): {line}")), None);
    Flow::Stop
}

/// Shows a failed request: the entities of the statements that ran before the failing one,
/// then the error with a caret under its position in the statement.
fn show_error(e: &ClientError, text: &str, width: usize) {
    match e {
        ClientError::Server(e) => {
            if let Some(done) = e.body["entities"].as_array() {
                for entity in done {
                    render::result(&entities::statement_result(entity), width);
                }
            }
            let statement = e.body["statementText"].as_str().filter(|s| !s.is_empty()).unwrap_or(text);
            render::error(&entities::error(&e.body), Some(statement));
        }
        ClientError::Transport(e) => render::error(e, None),
    }
}

/// The password for `user`: `RIVULET_PASSWORD`, or asked on the terminal without echo.
fn password(user: &str) -> Result<String> {
    if let Ok(password) = std::env::var("RIVULET_PASSWORD") {
        return Ok(password);
    }
    let mut editor = rustyline::Editor::<Masked, rustyline::history::DefaultHistory>::new()
        .map_err(|e| Error::external(format!("terminal: {e}")))?;
    editor.set_helper(Some(Masked));
    editor.readline(&format!("Password for {user}: ")).map_err(|e| Error::user(format!("no password given: {e}")))
}

/// A line editor helper that shows `*` for every character typed.
struct Masked;

impl rustyline::highlight::Highlighter for Masked {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> std::borrow::Cow<'l, str> {
        std::borrow::Cow::Owned("*".repeat(line.chars().count()))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: rustyline::highlight::CmdKind) -> bool {
        true
    }
}

impl rustyline::completion::Completer for Masked {
    type Candidate = String;
}

impl rustyline::hint::Hinter for Masked {
    type Hint = String;
}

impl rustyline::validate::Validator for Masked {}

impl rustyline::Helper for Masked {}

/// The first word of a statement, upper-cased.
fn first_word(text: &str) -> Option<String> {
    text.split_whitespace().next().map(str::to_ascii_uppercase)
}

/// PRINT over HTTP: the server sends ksqlDB's lines; they are shown as they come until the
/// server ends (LIMIT) or Ctrl-C closes the connection.
fn print_lines(mut lines: rivulet::client::LineStream<'_>, interrupted: &AtomicBool) -> Flow {
    interrupted.store(false, Ordering::Release);
    let mut flow = Flow::Continue;
    loop {
        if interrupted.swap(false, Ordering::AcqRel) {
            flow = Flow::Stop;
            break;
        }
        match lines.next_line_timeout(Duration::from_millis(100)) {
            Ok(Some(line)) => render::line(&line),
            Ok(None) if !lines.is_open() => break,
            Ok(None) => {}
            Err(e) => {
                render::error(&rivulet::Error::external(e.to_string()), None);
                flow = Flow::Stop;
                break;
            }
        }
    }
    drop(lines);
    render::line("Topic printing ceased");
    flow
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_of_a_query_comes_from_its_keywords() {
        let shape = QueryShape::of("SELECT * FROM s EMIT CHANGES LIMIT 3;");
        assert!(shape.push && shape.limit);
        let shape = QueryShape::of("SELECT * FROM t WHERE k = 'emit';");
        assert!(!shape.push && !shape.limit);
        let shape = QueryShape::of("SELECT * FROM ${source} EMIT CHANGES;");
        assert!(shape.push && !shape.limit);
    }
}
