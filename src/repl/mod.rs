//! The interactive REPL (`rivulet` with no subcommand): an embedded engine — or, with
//! `--server URL`, a server's REST API ([`remote`]) — behind a rustyline prompt, in the manner
//! of ksqlDB's CLI.
//!
//! This module owns the read-eval-print loop: reading lines until the input is complete
//! ([`input`]), running each statement through `Engine::execute` — except PRINT and
//! RUN SCRIPT, which the REPL does itself on top of the engine ([`print`]) — and showing the
//! results ([`render`], [`table`]). Completion lives in [`completion`].
//!
//! Ctrl-C: at the prompt rustyline reads it as a key (the terminal is in raw mode) and the
//! line is dropped; while a statement runs the terminal is in cooked mode, Ctrl-C raises
//! SIGINT, and a signal flag registered here stops the running push query or PRINT instead of
//! the process. Ctrl-D at the prompt exits.

mod completion;
mod input;
use rivulet::topic::print;
mod remote;
mod render;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rivulet::engine::result::PushQuery;
use rivulet::engine::{Engine, EngineConfig, StatementResult};
use rivulet::sql::ast::Statement;
use rivulet::{Error, Result};
use rustyline::error::ReadlineError;
use rustyline::history::{FileHistory, History};
use rustyline::{CompletionType, Config, Editor};

use completion::{ReplHelper, Vocabulary};
use input::{Input, LocalCommand, StatementKind};
use remote::Remote;
pub use remote::Target;

const PROMPT: &str = "rivulet> ";
/// As wide as the prompt, so that continued lines stay aligned.
const CONTINUATION: &str = "       > ";
/// Width used when the output is not a terminal.
const DEFAULT_WIDTH: usize = 120;
/// RUN SCRIPT may run scripts that run scripts, but not forever.
const MAX_SCRIPT_DEPTH: usize = 16;

/// Whether to go on with the statements after the one that just ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// An error or a Ctrl-C: the rest of the input (or script) is dropped.
    Stop,
}

/// Starts the REPL on an embedded engine over `data_dir` and returns when the user exits.
pub fn run(data_dir: &Path) -> Result<()> {
    let engine = Engine::open(EngineConfig {
        data_dir: Some(data_dir.to_path_buf()),
        properties: BTreeMap::new(),
        background: true,
        ..Default::default()
    })?;
    let banner = vec![format!(
        "Rivulet {} — streaming SQL in ksqlDB's dialect, embedded on {}",
        env!("CARGO_PKG_VERSION"),
        data_dir.display()
    )];
    let outcome = run_on(Backend::Local(&engine), &banner);
    engine.shutdown();
    outcome
}

/// Starts the REPL on the server `target` names (`--server URL`), after checking that it
/// answers.
pub fn run_remote(target: &Target) -> Result<()> {
    let remote = Remote::connect(target)?;
    let banner = remote.banner();
    run_on(Backend::Remote(Box::new(remote)), &banner)
}

fn run_on(backend: Backend<'_>, banner: &[String]) -> Result<()> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let signal = signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone())
        .map_err(|e| Error::external(format!("cannot handle Ctrl-C: {e}")))?;
    let outcome = Repl::new(backend, interrupted).and_then(|mut repl| {
        render::lines(banner);
        render::line("Having trouble? Type 'help' (case-insensitive) for a rundown of how things work!");
        render::line("");
        repl.run_loop()
    });
    signal_hook::low_level::unregister(signal);
    outcome
}

/// Where statements run.
enum Backend<'e> {
    /// The embedded engine.
    Local(&'e Engine),
    /// A server, over HTTP.
    Remote(Box<Remote>),
}

impl Backend<'_> {
    fn vocabulary(&self) -> Vocabulary {
        match self {
            Backend::Local(engine) => Vocabulary::of(engine),
            Backend::Remote(remote) => remote.vocabulary(),
        }
    }
}

struct Repl<'e> {
    backend: Backend<'e>,
    editor: Editor<ReplHelper, FileHistory>,
    history: Option<PathBuf>,
    /// Set by SIGINT (Ctrl-C while a statement runs).
    interrupted: Arc<AtomicBool>,
    /// Terminal width, read before each input is run.
    width: usize,
    script_depth: usize,
    /// Generators started with `datagen`, stopped when the REPL exits.
    generators: Vec<crate::datagen_cmd::Background>,
}

impl<'e> Repl<'e> {
    fn new(backend: Backend<'e>, interrupted: Arc<AtomicBool>) -> Result<Self> {
        let config = Config::builder()
            .completion_type(CompletionType::List)
            .auto_add_history(false)
            .max_history_size(5000)
            .map_err(|e| Error::internal(format!("history size: {e}")))?
            .build();
        let mut editor = Editor::with_config(config).map_err(|e| Error::external(format!("terminal: {e}")))?;
        editor.set_helper(Some(ReplHelper { vocabulary: backend.vocabulary() }));
        let history = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rivulet_history"));
        if let Some(path) = &history
            && path.exists()
            && let Err(e) = editor.load_history(path)
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the REPL history");
        }
        Ok(Repl {
            backend,
            editor,
            history,
            interrupted,
            width: DEFAULT_WIDTH,
            script_depth: 0,
            generators: Vec::new(),
        })
    }

    fn run_loop(&mut self) -> Result<()> {
        let mut buffer = String::new();
        loop {
            let prompt = if buffer.is_empty() { PROMPT } else { CONTINUATION };
            match self.editor.readline(prompt) {
                Ok(line) => {
                    if !buffer.is_empty() {
                        buffer.push('\n');
                    }
                    buffer.push_str(&line);
                    match input::classify(&buffer) {
                        Input::Empty => buffer.clear(),
                        Input::Incomplete => {}
                        Input::Local(command) => {
                            self.remember(&buffer);
                            buffer.clear();
                            if command == LocalCommand::Exit {
                                break;
                            }
                            self.local(&command);
                        }
                        Input::Complete => {
                            self.remember(&buffer);
                            let text = std::mem::take(&mut buffer);
                            self.width = self.terminal_width();
                            self.run_text(&text);
                            self.refresh_vocabulary();
                        }
                    }
                }
                // Ctrl-C at the prompt drops what was typed, including earlier lines of an
                // unfinished statement.
                Err(ReadlineError::Interrupted) => buffer.clear(),
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(Error::external(format!("reading the terminal: {e}"))),
            }
        }
        for generator in self.generators.drain(..) {
            generator.stop();
        }
        if let Some(path) = &self.history
            && let Err(e) = self.editor.save_history(path)
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot save the REPL history");
        }
        Ok(())
    }

    /// Adds an input to the history, on one line so that recalling it recalls all of it.
    fn remember(&mut self, text: &str) {
        let one_line = text.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        if let Err(e) = self.editor.add_history_entry(one_line) {
            tracing::debug!(error = %e, "history entry not added");
        }
    }

    fn terminal_width(&mut self) -> usize {
        self.editor.dimensions().map(|(w, _)| usize::from(w)).filter(|w| *w > 0).unwrap_or(DEFAULT_WIDTH)
    }

    fn refresh_vocabulary(&mut self) {
        let vocabulary = self.backend.vocabulary();
        if let Some(helper) = self.editor.helper_mut() {
            helper.vocabulary = vocabulary;
        }
    }

    fn local(&mut self, command: &LocalCommand) {
        match command {
            LocalCommand::Help => render::line(render::HELP),
            LocalCommand::Clear => {
                if let Err(e) = self.editor.clear_screen() {
                    tracing::debug!(error = %e, "cannot clear the screen");
                }
            }
            LocalCommand::History => {
                let history = self.editor.history();
                for i in 0..history.len() {
                    if let Ok(Some(entry)) = history.get(i, rustyline::history::SearchDirection::Forward) {
                        render::line(&format!("{:>5}  {}", i + 1, entry.entry));
                    }
                }
            }
            LocalCommand::Version => render::line(&format!("Rivulet {}", env!("CARGO_PKG_VERSION"))),
            LocalCommand::Datagen(words) => self.datagen(words),
            LocalCommand::Exit => {}
        }
    }

    /// `datagen ARGS` starts a generator on this engine's log (the log is locked by this
    /// process, so `rivulet datagen` cannot write to it meanwhile); `datagen stop` stops them.
    fn datagen(&mut self, words: &[String]) {
        let Backend::Local(engine) = &self.backend else {
            let message = "datagen writes to the embedded engine's log: run `rivulet datagen` where the server runs \
                           (stop the server first: it holds its data directory)";
            render::error(&Error::user(message), None);
            return;
        };
        let engine = *engine;
        if words.first().is_some_and(|w| w.eq_ignore_ascii_case("stop")) {
            let n = self.generators.len();
            for generator in self.generators.drain(..) {
                generator.stop();
            }
            render::line(&format!("Stopped {n} data generator(s)"));
            return;
        }
        // Generators that wrote all their iterations are joined as we go.
        let (finished, running): (Vec<_>, Vec<_>) = self.generators.drain(..).partition(|g| g.finished());
        finished.into_iter().for_each(crate::datagen_cmd::Background::stop);
        self.generators = running;
        let started = crate::datagen_cmd::parse_line(words)
            .map_err(|usage| Error::user(usage.trim().to_string()))
            .and_then(|args| crate::datagen_cmd::spawn(&args, engine.backend()));
        match started {
            Ok(generator) => {
                render::line(&format!("{} in the background ('datagen stop' stops it)", generator.description));
                self.generators.push(generator);
            }
            Err(e) => render::error(&e, None),
        }
    }

    /// Runs every statement of a complete input in order, stopping at the first failure.
    fn run_text(&mut self, text: &str) -> Flow {
        let statements = match rivulet::sql::parser::split_statements(text) {
            Ok(statements) => statements,
            Err(e) => {
                render::error(&e, Some(text));
                return Flow::Stop;
            }
        };
        for (_, statement) in statements {
            if self.run_statement(&statement) == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    fn run_statement(&mut self, text: &str) -> Flow {
        let engine = match &mut self.backend {
            Backend::Local(engine) => *engine,
            Backend::Remote(remote) => {
                return match input::statement_kind(text) {
                    StatementKind::Help => {
                        render::line(render::HELP);
                        Flow::Continue
                    }
                    StatementKind::RunScript => match script_path(text) {
                        Ok(path) => remote.run_script(&path, self.width),
                        Err(e) => {
                            render::error(&e, Some(text));
                            Flow::Stop
                        }
                    },
                    StatementKind::Print | StatementKind::Engine => {
                        remote.run_statement(text, self.width, &self.interrupted)
                    }
                };
            }
        };
        let outcome = match input::statement_kind(text) {
            StatementKind::Help => {
                render::line(render::HELP);
                Ok(Flow::Continue)
            }
            StatementKind::Print => self.print(engine, text),
            StatementKind::RunScript => self.run_script(text),
            StatementKind::Engine => engine.execute(text).map(|results| {
                for result in results {
                    match result {
                        StatementResult::Push(push) => {
                            if self.stream(&push) == Flow::Stop {
                                return Flow::Stop;
                            }
                        }
                        other => render::result(&other, self.width),
                    }
                }
                Flow::Continue
            }),
        };
        outcome.unwrap_or_else(|e| {
            render::error(&e, Some(text));
            Flow::Stop
        })
    }

    /// Shows a push query's rows as they arrive, until its LIMIT or Ctrl-C.
    fn stream(&self, push: &PushQuery) -> Flow {
        self.interrupted.store(false, Ordering::Release);
        render::line("Press CTRL-C to interrupt");
        let names: Vec<String> = push.columns.iter().map(|c| c.name.clone()).collect();
        let widths = render::push_header(&names, self.width);
        loop {
            if self.interrupted.swap(false, Ordering::AcqRel) {
                push.canceller().store(true, Ordering::Release);
                render::line("Query terminated");
                return Flow::Stop;
            }
            match push.next_timeout(Duration::from_millis(100)) {
                Some(Ok(row)) => render::push_row(&row, &widths),
                Some(Err(e)) => {
                    render::error(&e, None);
                    return Flow::Stop;
                }
                None if push.is_done() => {
                    // The query ended (its LIMIT): show what it sent before it stopped.
                    while let Some(Ok(row)) = push.next_timeout(Duration::from_millis(20)) {
                        render::push_row(&row, &widths);
                    }
                    if push.limit.is_some() {
                        render::line("Limit Reached");
                    }
                    render::line("Query terminated");
                    return Flow::Continue;
                }
                None => {}
            }
        }
    }

    fn print(&self, engine: &Engine, text: &str) -> Result<Flow> {
        let parsed = rivulet::sql::parse(text)?;
        let Some(Statement::Print { topic, from_beginning, interval, limit }) =
            parsed.into_iter().next().map(|p| p.statement)
        else {
            return Err(Error::user("expected PRINT 'topic' [FROM BEGINNING] [INTERVAL n] [LIMIT n]"));
        };
        let request = print::PrintRequest { topic, from_beginning, interval, limit };
        self.interrupted.store(false, Ordering::Release);
        if request.limit.is_none() {
            render::line("Press CTRL-C to interrupt");
        }
        print::print_topic(&engine.backend(), &request, &self.interrupted, &mut |line| render::line(&line))?;
        let stopped = self.interrupted.swap(false, Ordering::AcqRel);
        render::line("Topic printing ceased");
        Ok(if stopped { Flow::Stop } else { Flow::Continue })
    }

    /// RUN SCRIPT: the file's statements run as if typed, push queries included (they
    /// stream until their LIMIT or Ctrl-C, which also stops the script).
    fn run_script(&mut self, text: &str) -> Result<Flow> {
        let path = script_path(text)?;
        if self.script_depth >= MAX_SCRIPT_DEPTH {
            return Err(Error::user(format!("RUN SCRIPT '{path}': scripts nest deeper than {MAX_SCRIPT_DEPTH}")));
        }
        let script =
            std::fs::read_to_string(&path).map_err(|e| Error::user(format!("cannot read script '{path}': {e}")))?;
        self.script_depth += 1;
        let flow = self.run_text(&script);
        self.script_depth -= 1;
        Ok(flow)
    }
}

/// The file of a `RUN SCRIPT 'file.sql'` statement.
fn script_path(text: &str) -> Result<String> {
    let parsed = rivulet::sql::parse(text)?;
    match parsed.into_iter().next().map(|p| p.statement) {
        Some(Statement::RunScript { path }) => Ok(path),
        _ => Err(Error::user("expected RUN SCRIPT 'file.sql'")),
    }
}
