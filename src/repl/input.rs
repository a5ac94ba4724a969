//! What the REPL makes of the text typed so far: a complete input (statements ended by `;`),
//! an input that needs more lines, or a CLI-local command that needs no `;`.
//!
//! Completeness is decided on tokens, not characters, so that a `;` inside a string, a quoted
//! name or a comment does not end a statement, and an unclosed quote asks for more lines.

use rivulet::sql::lexer::KsqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// A command of the REPL itself, accepted with or without a trailing `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalCommand {
    Help,
    Exit,
    Clear,
    History,
    Version,
    /// `datagen ARGS`: start a generator (`datagen stop` stops them).
    Datagen(Vec<String>),
}

/// What to do with the text typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Nothing but whitespace and comments.
    Empty,
    /// A REPL command.
    Local(LocalCommand),
    /// Statements ended by `;`, ready to run.
    Complete,
    /// A statement is still open (no `;` yet, or an unclosed quote or comment).
    Incomplete,
}

/// Classifies the text typed so far.
pub fn classify(buffer: &str) -> Input {
    if let Some(command) = local_command(buffer) {
        return Input::Local(command);
    }
    let dialect = KsqlDialect;
    let Ok(tokens) = Tokenizer::new(&dialect, buffer).tokenize() else {
        // The tokenizer fails on an unclosed string, quoted name or block comment: the
        // statement goes on on the next line.
        return Input::Incomplete;
    };
    let last = tokens.iter().rev().find(|t| !matches!(t, Token::Whitespace(_)));
    match last {
        None => Input::Empty,
        Some(Token::SemiColon) => Input::Complete,
        Some(_) => Input::Incomplete,
    }
}

/// `help`, `exit`, `quit`, `clear`, `history`, `version`: whole input, any case, optional `;`.
fn local_command(buffer: &str) -> Option<LocalCommand> {
    let mut words = buffer.trim().trim_end_matches(';').split_whitespace();
    if words.next().is_some_and(|w| w.eq_ignore_ascii_case("datagen")) {
        return Some(LocalCommand::Datagen(words.map(String::from).collect()));
    }
    let word = buffer.trim().trim_end_matches(';').trim().to_ascii_lowercase();
    match word.as_str() {
        "help" | "?" => Some(LocalCommand::Help),
        "exit" | "quit" => Some(LocalCommand::Exit),
        "clear" => Some(LocalCommand::Clear),
        "history" => Some(LocalCommand::History),
        "version" => Some(LocalCommand::Version),
        _ => None,
    }
}

/// What kind of statement a statement text is, from its first words: the REPL runs PRINT and
/// RUN SCRIPT itself and everything else through the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    Print,
    RunScript,
    Help,
    Engine,
}

/// The kind of one statement's text.
pub fn statement_kind(text: &str) -> StatementKind {
    let mut words = text.split_whitespace().map(|w| w.to_ascii_uppercase());
    match (words.next().as_deref(), words.next().as_deref()) {
        (Some("PRINT"), _) => StatementKind::Print,
        (Some("RUN"), Some("SCRIPT")) => StatementKind::RunScript,
        (Some("HELP"), None) => StatementKind::Help,
        _ => StatementKind::Engine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_semicolon_ends_the_input_only_outside_strings_and_comments() {
        assert_eq!(classify("SHOW STREAMS;"), Input::Complete);
        assert_eq!(classify("SHOW STREAMS"), Input::Incomplete);
        assert_eq!(classify("SELECT * FROM s\n  WHERE x = 1;"), Input::Complete);
        assert_eq!(classify("SELECT 'a;b"), Input::Incomplete);
        assert_eq!(classify("SELECT 'a;b' FROM s;"), Input::Complete);
        assert_eq!(classify("SHOW STREAMS; -- trailing comment"), Input::Complete);
        assert_eq!(classify("SHOW STREAMS /* ; */"), Input::Incomplete);
        assert_eq!(classify("SHOW STREAMS; SHOW TABLES;"), Input::Complete);
        assert_eq!(classify("SHOW STREAMS; SHOW TABLES"), Input::Incomplete);
        assert_eq!(classify("   "), Input::Empty);
        assert_eq!(classify("-- only a comment"), Input::Empty);
    }

    #[test]
    fn local_commands_need_no_semicolon() {
        assert_eq!(classify("help"), Input::Local(LocalCommand::Help));
        assert_eq!(classify("EXIT;"), Input::Local(LocalCommand::Exit));
        assert_eq!(classify(" quit "), Input::Local(LocalCommand::Exit));
        assert_eq!(classify("helper"), Input::Incomplete);
        assert_eq!(
            classify("datagen --quickstart users;"),
            Input::Local(LocalCommand::Datagen(vec!["--quickstart".into(), "users".into()]))
        );
    }

    #[test]
    fn statement_kinds_come_from_the_first_words() {
        assert_eq!(statement_kind("print 'pageviews' FROM BEGINNING"), StatementKind::Print);
        assert_eq!(statement_kind("RUN  SCRIPT 'a.sql'"), StatementKind::RunScript);
        assert_eq!(statement_kind("SELECT * FROM s EMIT CHANGES"), StatementKind::Engine);
        assert_eq!(statement_kind("HELP"), StatementKind::Help);
    }
}
