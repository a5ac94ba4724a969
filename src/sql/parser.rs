//! The parser of the ksqlDB dialect: text in, [`ParsedStatement`]s out.
//!
//! This file owns the statements (recursive descent over the tokens of [`crate::sql::lexer`]),
//! the token cursor shared with the expression and type parser of [`crate::sql::expr`], the
//! splitting of a text into `;`-terminated statements, and syntax errors: each one says what
//! was found and what was expected, at the 1-based line and column of the offending token,
//! with a hint when one is obvious (a misspelled keyword, a missing `;`).
//!
//! The parser never panics and never recurses without bound: nesting (parentheses, calls,
//! CASE, types, EXPLAIN) deeper than [`MAX_DEPTH`] is a syntax error.

use std::collections::BTreeMap;

use sqlparser::tokenizer::Token;

use crate::error::{Error, Position, Result};
use crate::sql::ast::{
    AliasedSource, ColumnConstraint, CreateAsSelect, CreateSource, Describe, Emit, Explain, Expr, Join, JoinKind,
    JoinWindow, Literal, ParsedStatement, Properties, Query, QueryTarget, Relation, SelectItem, Show, SourceKind,
    Statement, TableElement, TypeExpr, WindowKind, WindowSpec,
};
use crate::sql::lexer::{Tok, closest_keyword, describe, tokenize};

/// How deeply expressions, types and EXPLAINs may nest (a parenthesis or call counts two).
/// Each level costs a few stack frames: at the limit the worst case measured about 800 KiB of
/// stack in a debug build and 128 KiB in a release build, well inside the 2 MiB of test and
/// tokio worker threads, while 32 nested calls are far beyond what real statements need.
pub const MAX_DEPTH: usize = 64;

/// Words that can never be unquoted identifiers: they would make statements ambiguous.
/// Other keywords (KEY, VALUE, SIZE, DATE, TIMESTAMP, ...) are usable as names, as in ksqlDB.
const RESERVED: &[&str] = &[
    "SELECT", "FROM", "AS", "WHERE", "WITHIN", "WINDOW", "GROUP", "BY", "HAVING", "LIMIT", "OR", "AND", "IN", "NOT",
    "BETWEEN", "LIKE", "IS", "NULL", "TRUE", "FALSE", "CASE", "WHEN", "THEN", "ELSE", "END", "JOIN", "FULL", "OUTER",
    "INNER", "LEFT", "RIGHT", "ON", "WITH", "VALUES", "CREATE", "INSERT", "INTO", "DROP", "CAST", "DISTINCT", "EXISTS",
];

/// Words that may be names but not aliases written without AS, because a clause starts with
/// them right where an alias could be.
const CLAUSE_WORDS: &[&str] = &["EMIT", "PARTITION", "GRACE"];

/// The clause keywords that may follow a source in FROM, for "did you mean" on an alias.
const AFTER_SOURCE: &[&str] = &[
    "WHERE",
    "WINDOW",
    "GROUP",
    "PARTITION",
    "HAVING",
    "EMIT",
    "LIMIT",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "WITHIN",
    "GRACE",
    "ON",
];

/// The words a statement can start with.
const STATEMENT_STARTS: &[&str] = &[
    "SELECT",
    "CREATE",
    "INSERT",
    "DROP",
    "SHOW",
    "LIST",
    "DESCRIBE",
    "EXPLAIN",
    "PRINT",
    "TERMINATE",
    "PAUSE",
    "RESUME",
    "ALTER",
    "SET",
    "UNSET",
    "DEFINE",
    "UNDEFINE",
    "RUN",
    "ASSERT",
];

/// Whether an upper-cased word is reserved.
pub(crate) fn is_reserved(upper: &str) -> bool {
    RESERVED.contains(&upper)
}

static EOF_TOKEN: Token = Token::EOF;

/// Session variables for `${name}` references: upper-cased names to their values.
pub type Variables = BTreeMap<String, String>;

/// Parses a text of `;`-terminated statements (the last `;` may be missing).
///
/// Each statement comes with its own text (trimmed, without the `;`) and its position in the
/// whole input. A syntax error anywhere fails the whole text. Variables defined by a `DEFINE`
/// in the text are substituted in the statements after it; see [`parse_with_variables`].
pub fn parse(sql: &str) -> Result<Vec<ParsedStatement>> {
    parse_with_variables(sql, &mut Variables::new())
}

/// Parses a text of statements in a session with `variables`.
///
/// As in ksqlDB, `${name}` is replaced by the variable's value before the statement it is in
/// is parsed — in names, in literals and inside quoted strings, but not in comments — and a
/// statement's text is its text after substitution (what the command log must record).
/// `DEFINE` and `UNDEFINE` update `variables` as they are met, so they apply to the
/// statements after them. A reference to an undefined variable is an error.
pub fn parse_with_variables(sql: &str, variables: &mut Variables) -> Result<Vec<ParsedStatement>> {
    let mut parser = Parser::new(sql)?;
    let mut statements = Vec::new();
    loop {
        while parser.eat(&Token::SemiColon) {}
        if parser.peek() == &Token::EOF {
            break;
        }
        let start = parser.here();
        let end_index = parser.statement_end();
        let original = parser.text_until(end_index);
        let (statement, text) = if original.contains("${") {
            let substituted = substitute_variables(original, start, variables)?;
            let statement = parse_substituted(&substituted, start)?;
            parser.pos = end_index;
            (statement, substituted)
        } else {
            let statement = parser.parse_statement()?;
            if !matches!(parser.peek(), Token::SemiColon | Token::EOF) {
                return Err(parser.end_of_statement_error());
            }
            (statement, original.to_string())
        };
        match &statement {
            Statement::DefineVariable { name, value } => {
                variables.insert(name.to_uppercase(), value.clone());
            }
            Statement::UndefineVariable { name } => {
                variables.remove(&name.to_uppercase());
            }
            _ => {}
        }
        statements.push(ParsedStatement { statement, text, position: start });
    }
    Ok(statements)
}

/// Splits a text into the texts of its statements, with where each starts, without parsing
/// them: for a REPL that must know whether the input so far is complete.
pub fn split_statements(sql: &str) -> Result<Vec<(Position, String)>> {
    let mut parser = Parser::new(sql)?;
    let mut out = Vec::new();
    loop {
        while parser.eat(&Token::SemiColon) {}
        if parser.peek() == &Token::EOF {
            return Ok(out);
        }
        let start = parser.here();
        let end_index = parser.statement_end();
        out.push((start, parser.text_until(end_index).to_string()));
        parser.pos = end_index;
    }
}

/// Parses one statement whose `${..}` were substituted, shifting positions to `start`, where
/// the statement begins in the whole input (past a substitution they are approximate).
fn parse_substituted(text: &str, start: Position) -> Result<Statement> {
    let mut parser = Parser::new(text)?;
    for tok in &mut parser.tokens {
        for pos in [&mut tok.start, &mut tok.end] {
            if pos.line == 1 {
                pos.column = pos.column.saturating_add(start.column.saturating_sub(1));
            }
            pos.line = pos.line.saturating_add(start.line.saturating_sub(1));
        }
    }
    let statement = parser.parse_statement()?;
    if !matches!(parser.peek(), Token::EOF) {
        return Err(parser.end_of_statement_error());
    }
    Ok(statement)
}

/// Replaces each `${name}` of one statement's text by the variable's value. Inside quotes the
/// value's own quote characters are doubled so that it stays inside them.
fn substitute_variables(text: &str, start: Position, variables: &Variables) -> Result<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Quoted(char),
        LineComment,
        BlockComment,
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut state = State::Code;
    let mut line = start.line;
    let mut column = start.column;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        let mut consumed = 1;
        match state {
            State::LineComment if c == '\n' => state = State::Code,
            State::BlockComment if c == '*' && next == Some('/') => {
                out.push('*');
                out.push('/');
                consumed = 2;
                state = State::Code;
            }
            State::LineComment | State::BlockComment => {}
            _ if c == '$' && next == Some('{') => {
                let name: String = chars.iter().skip(i + 2).take_while(|c| c.is_alphanumeric() || **c == '_').collect();
                let closed = chars.get(i + 2 + name.chars().count()) == Some(&'}');
                if !name.is_empty() && closed {
                    let Some(value) = variables.get(&name.to_uppercase()) else {
                        return Err(Error::user(format!("variable '{name}' is not defined"))
                            .at(Position { line, column })
                            .with_hint(format!("define it first: DEFINE {name} = '...';")));
                    };
                    match state {
                        State::Quoted(q) => out.push_str(&value.replace(q, &format!("{q}{q}"))),
                        _ => out.push_str(value),
                    }
                    consumed = name.chars().count() + 3;
                    i += consumed;
                    column += consumed as u64;
                    continue;
                }
            }
            State::Code if c == '-' && next == Some('-') => state = State::LineComment,
            State::Code if c == '/' && next == Some('*') => {
                out.push('/');
                out.push('*');
                consumed = 2;
                state = State::BlockComment;
            }
            State::Code if matches!(c, '\'' | '"' | '`') => state = State::Quoted(c),
            // A doubled quote inside quotes is an escaped quote: stay inside.
            State::Quoted(q) if c == q && next == Some(q) => {
                out.push(c);
                out.push(c);
                consumed = 2;
            }
            State::Quoted(q) if c == q => state = State::Code,
            _ => {}
        }
        if consumed == 1 {
            out.push(c);
        }
        for ch in chars.iter().skip(i).take(consumed) {
            if *ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        i += consumed;
    }
    Ok(out)
}

/// Parses one expression, as written in a select list (for tools and tests).
pub fn parse_expression(sql: &str) -> Result<Expr> {
    let mut parser = Parser::new(sql)?;
    let expr = parser.parse_expr()?;
    parser.expect_end()?;
    Ok(expr)
}

/// Parses one type, such as `STRUCT<A INT, B ARRAY<STRING>>`.
pub fn parse_type(sql: &str) -> Result<TypeExpr> {
    let mut parser = Parser::new(sql)?;
    let ty = parser.parse_type()?;
    parser.expect_end()?;
    Ok(ty)
}

/// A cursor over the tokens of one input.
pub(crate) struct Parser<'a> {
    tokens: Vec<Tok>,
    pos: usize,
    depth: usize,
    sql: &'a str,
}

impl<'a> Parser<'a> {
    fn new(sql: &'a str) -> Result<Self> {
        Ok(Self { tokens: tokenize(sql)?, pos: 0, depth: 0, sql })
    }

    // ----- the cursor -----

    /// The current token (the end marker once past the end).
    pub(crate) fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    /// The token `n` places ahead.
    pub(crate) fn peek_at(&self, n: usize) -> &Token {
        self.tokens.get(self.pos.saturating_add(n)).map_or(&EOF_TOKEN, |t| &t.token)
    }

    /// Moves past the current token (never past the end marker).
    pub(crate) fn advance(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    /// Where the current token starts.
    pub(crate) fn here(&self) -> Position {
        self.tokens.get(self.pos).or(self.tokens.last()).map(|t| t.start).unwrap_or_default()
    }

    /// The source text from the current token to the one before `end_index`, trimmed.
    fn text_until(&self, end_index: usize) -> &'a str {
        let start = self.tokens.get(self.pos).map_or(0, |t| t.bytes.start);
        let end = end_index.checked_sub(1).and_then(|i| self.tokens.get(i)).map_or(start, |t| t.bytes.end);
        self.sql.get(start..end.max(start)).unwrap_or("").trim()
    }

    /// The index of the `;` (or end marker) that ends the statement starting here. A `;`
    /// token always ends a statement: inside strings and quoted names it is not a token.
    fn statement_end(&self) -> usize {
        let mut i = self.pos;
        while let Some(tok) = self.tokens.get(i) {
            if matches!(tok.token, Token::SemiColon | Token::EOF) {
                return i;
            }
            i += 1;
        }
        self.tokens.len().saturating_sub(1)
    }

    /// Whether the token `n` places ahead is the unquoted keyword `kw`.
    pub(crate) fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(self.peek_at(n), Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    }

    /// Whether the current token is the unquoted keyword `kw`.
    pub(crate) fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    /// Consumes the keyword `kw` if it is next.
    pub(crate) fn eat_kw(&mut self, kw: &str) -> bool {
        let found = self.is_kw(kw);
        if found {
            self.advance();
        }
        found
    }

    /// Consumes the keyword `kw` or fails saying it was expected.
    pub(crate) fn expect_kw(&mut self, kw: &str) -> Result<()> {
        if self.eat_kw(kw) { Ok(()) } else { Err(self.error_expected(&[kw])) }
    }

    /// Consumes `token` if it is next.
    pub(crate) fn eat(&mut self, token: &Token) -> bool {
        let found = self.peek() == token;
        if found {
            self.advance();
        }
        found
    }

    /// Consumes `token` or fails saying `what` was expected.
    pub(crate) fn expect(&mut self, token: &Token, what: &str) -> Result<()> {
        if self.eat(token) { Ok(()) } else { Err(self.error_expected(&[what])) }
    }

    /// Consumes a `>` closing a type, splitting `>>` (and `>=`) as the tokenizer glued them.
    pub(crate) fn eat_gt(&mut self) -> bool {
        let rest = match self.peek() {
            Token::Gt => {
                self.advance();
                return true;
            }
            Token::ShiftRight => Token::Gt,
            Token::GtEq => Token::Eq,
            _ => return false,
        };
        if let Some(tok) = self.tokens.get_mut(self.pos) {
            tok.token = rest;
            tok.start.column = tok.start.column.saturating_add(1);
            tok.bytes.start = tok.bytes.start.saturating_add(1);
        }
        true
    }

    /// Consumes a `>` closing a type or fails.
    pub(crate) fn expect_gt(&mut self) -> Result<()> {
        if self.eat_gt() { Ok(()) } else { Err(self.error_expected(&["'>'"])) }
    }

    /// Runs `f` one nesting level deeper, failing beyond [`MAX_DEPTH`].
    pub(crate) fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_DEPTH {
            return Err(Error::user(format!(
                "Syntax Error: the statement is nested more than {MAX_DEPTH} levels deep"
            ))
            .at(self.here())
            .with_hint("simplify the expression"));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// `item (, item)*`
    pub(crate) fn comma_separated<T>(&mut self, mut f: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let mut items = vec![f(self)?];
        while self.eat(&Token::Comma) {
            items.push(f(self)?);
        }
        Ok(items)
    }

    /// `[item (, item)*] close`, after the opening bracket; `what` names the closing one.
    pub(crate) fn list_until<T>(
        &mut self,
        close: &Token,
        what: &str,
        mut f: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(f(self)?);
            if self.eat(&Token::Comma) {
                continue;
            }
            if self.eat(close) {
                return Ok(items);
            }
            return Err(self.error_expected(&["','", what]));
        }
    }

    fn expect_end(&mut self) -> Result<()> {
        self.eat(&Token::SemiColon);
        if self.peek() == &Token::EOF { Ok(()) } else { Err(self.error_expected(&["end of input"])) }
    }

    // ----- errors -----

    /// "expected A, B or C, found X", at the current token, with a "did you mean" hint when the
    /// current word is a near miss of an expected keyword.
    pub(crate) fn error_expected(&self, expected: &[&str]) -> Error {
        let keywords: Vec<&str> = expected
            .iter()
            .filter_map(|e| e.split(' ').next())
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect();
        self.error_expected_among(&join_alternatives(expected), &keywords)
    }

    /// "expected {what}, found X", with a hint if the current word looks like one of
    /// `candidates`.
    pub(crate) fn error_expected_among(&self, what: &str, candidates: &[&str]) -> Error {
        let found = describe(self.peek());
        let err = Error::user(format!("Syntax Error: expected {what}, found {found}")).at(self.here());
        match self.peek() {
            Token::Word(w) if w.quote_style.is_none() => match closest_keyword(&w.value, candidates) {
                Some(k) => err.with_hint(format!("did you mean {k}?")),
                None => err,
            },
            _ => err,
        }
    }

    /// The error for a token after a complete statement.
    fn end_of_statement_error(&self) -> Error {
        let err = self.error_expected(&["';'", "end of input"]);
        let starts_statement = STATEMENT_STARTS.iter().any(|k| self.is_kw(k));
        if starts_statement { err.with_hint("end the previous statement with ';'") } else { err }
    }

    // ----- names and literals -----

    /// The name a word at `n` stands for, whatever the word: unquoted words upper-cased,
    /// quoted ones as written.
    pub(crate) fn identifier_text_at(&self, n: usize) -> Option<String> {
        match self.peek_at(n) {
            Token::Word(w) if w.quote_style.is_some() => Some(w.value.clone()),
            Token::Word(w) => Some(w.value.to_uppercase()),
            _ => None,
        }
    }

    /// An identifier that is not a reserved word, normalized; `what` names it in errors.
    pub(crate) fn parse_identifier(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Token::Word(w) if w.quote_style.is_some() => {
                let name = w.value.clone();
                self.advance();
                Ok(name)
            }
            Token::Word(w) if !is_reserved(&w.value.to_uppercase()) => {
                let name = w.value.to_uppercase();
                self.advance();
                Ok(name)
            }
            _ => Err(self.error_expected(&[what])),
        }
    }

    /// A name whose case matters (topic names, subjects): a string or a word, kept as written.
    fn parse_raw_name(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Token::SingleQuotedString(s) => {
                let name = s.clone();
                self.advance();
                Ok(name)
            }
            Token::Word(w) if w.quote_style.is_some() || !is_reserved(&w.value.to_uppercase()) => {
                let name = w.value.clone();
                self.advance();
                Ok(name)
            }
            _ => Err(self.error_expected(&[what])),
        }
    }

    /// A `'string'`; `what` names it in errors.
    pub(crate) fn parse_string(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Token::SingleQuotedString(s) => {
                let s = s.clone();
                self.advance();
                Ok(s)
            }
            _ => Err(self.error_expected(&[what])),
        }
    }

    fn parse_if_not_exists(&mut self) -> Result<bool> {
        if self.eat_kw("IF") {
            self.expect_kw("NOT")?;
            self.expect_kw("EXISTS")?;
            return Ok(true);
        }
        Ok(false)
    }

    fn parse_if_exists(&mut self) -> Result<bool> {
        if self.eat_kw("IF") {
            self.expect_kw("EXISTS")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// `( name = literal, ... )` after WITH. Names are case-insensitive and upper-cased, except
    /// quoted names when `keep_quoted_case` (connector configs such as `'connector.class'`).
    fn parse_properties(&mut self, keep_quoted_case: bool) -> Result<Properties> {
        self.expect(&Token::LParen, "'('")?;
        let mut properties = Properties::new();
        let entries = self.list_until(&Token::RParen, "')'", |p| {
            let at = p.here();
            let name = match p.peek() {
                Token::SingleQuotedString(s) if keep_quoted_case => s.clone(),
                Token::Word(w) if keep_quoted_case && w.quote_style.is_some() => w.value.clone(),
                Token::SingleQuotedString(s) => s.to_uppercase(),
                Token::Word(w) => w.value.to_uppercase(),
                _ => return Err(p.error_expected(&["a property name"])),
            };
            p.advance();
            p.expect(&Token::Eq, "'='")?;
            let value = p.parse_literal()?;
            Ok((at, name, value))
        })?;
        if entries.is_empty() {
            return Err(Error::user("Syntax Error: expected at least one property in WITH (...)").at(self.here()));
        }
        for (at, name, value) in entries {
            if properties.contains_key(&name) {
                return Err(Error::user(format!("duplicate property '{name}'")).at(at));
            }
            properties.insert(name, value);
        }
        Ok(properties)
    }

    fn parse_optional_properties(&mut self) -> Result<Properties> {
        if self.eat_kw("WITH") { self.parse_properties(false) } else { Ok(Properties::new()) }
    }

    // ----- statements -----

    fn parse_statement(&mut self) -> Result<Statement> {
        let Token::Word(w) = self.peek() else {
            return Err(self.error_expected_among("a statement", STATEMENT_STARTS));
        };
        if w.quote_style.is_some() {
            return Err(self.error_expected_among("a statement", STATEMENT_STARTS));
        }
        match w.value.to_uppercase().as_str() {
            "SELECT" => Ok(Statement::Query(Box::new(self.parse_query()?))),
            "CREATE" => self.parse_create(),
            "INSERT" => self.parse_insert(),
            "SHOW" | "LIST" => self.parse_show(),
            "DESCRIBE" => self.parse_describe(),
            "EXPLAIN" => self.parse_explain(),
            "PRINT" => self.parse_print(),
            "TERMINATE" => {
                self.advance();
                Ok(Statement::Terminate(self.parse_query_target()?))
            }
            "PAUSE" => {
                self.advance();
                Ok(Statement::Pause(self.parse_query_target()?))
            }
            "RESUME" => {
                self.advance();
                Ok(Statement::Resume(self.parse_query_target()?))
            }
            "DROP" => self.parse_drop(),
            "ALTER" => self.parse_alter(),
            "SET" => {
                self.advance();
                let name = self.parse_string("a property name in quotes")?;
                self.expect(&Token::Eq, "'='")?;
                let value = self.parse_string("a property value in quotes")?;
                Ok(Statement::SetProperty { name, value })
            }
            "UNSET" => {
                self.advance();
                let name = self.parse_string("a property name in quotes")?;
                Ok(Statement::UnsetProperty { name })
            }
            "DEFINE" => {
                self.advance();
                let name = self.parse_identifier("a variable name")?;
                self.expect(&Token::Eq, "'='")?;
                let value = self.parse_string("a value in quotes")?;
                Ok(Statement::DefineVariable { name, value })
            }
            "UNDEFINE" => {
                self.advance();
                let name = self.parse_identifier("a variable name")?;
                Ok(Statement::UndefineVariable { name })
            }
            "RUN" => {
                self.advance();
                self.expect_kw("SCRIPT")?;
                let path = self.parse_string("a file path in quotes")?;
                Ok(Statement::RunScript { path })
            }
            "ASSERT" => self.parse_assert(),
            _ => Err(self.error_expected_among("a statement", STATEMENT_STARTS)),
        }
    }

    /// `CREATE ...`: sources, CREATE AS SELECT, types and connectors.
    fn parse_create(&mut self) -> Result<Statement> {
        self.expect_kw("CREATE")?;
        let or_replace = if self.eat_kw("OR") {
            self.expect_kw("REPLACE")?;
            true
        } else {
            false
        };
        if !or_replace && self.is_kw("TYPE") {
            self.advance();
            let if_not_exists = self.parse_if_not_exists()?;
            let name = self.parse_identifier("a type name")?;
            self.expect_kw("AS")?;
            let ty = self.parse_type()?;
            return Ok(Statement::CreateType { name, if_not_exists, ty });
        }
        if !or_replace && (self.is_kw("SOURCE") || self.is_kw("SINK")) && self.is_kw_at(1, "CONNECTOR") {
            let source = self.is_kw("SOURCE");
            self.advance();
            self.advance();
            let if_not_exists = self.parse_if_not_exists()?;
            let name = self.parse_identifier("a connector name")?;
            self.expect_kw("WITH")?;
            let properties = self.parse_properties(true)?;
            return Ok(Statement::CreateConnector { name, source, if_not_exists, properties });
        }
        let is_source = self.eat_kw("SOURCE");
        let kind = if self.eat_kw("STREAM") {
            SourceKind::Stream
        } else if self.eat_kw("TABLE") {
            SourceKind::Table
        } else {
            let expected: &[&str] = match (or_replace, is_source) {
                (false, false) => &["STREAM", "TABLE", "SOURCE", "SINK", "TYPE", "OR REPLACE"],
                _ => &["STREAM", "TABLE"],
            };
            return Err(self.error_expected(expected));
        };
        let if_not_exists = self.parse_if_not_exists()?;
        let name = self.parse_identifier("a name")?;
        let elements_at = self.here();
        let elements = if self.peek() == &Token::LParen { self.parse_table_elements()? } else { Vec::new() };
        let properties = self.parse_optional_properties()?;
        if self.is_kw("AS") {
            if !elements.is_empty() {
                return Err(Error::user("Syntax Error: CREATE ... AS SELECT cannot declare columns")
                    .at(elements_at)
                    .with_hint("the columns come from the SELECT"));
            }
            if is_source {
                return Err(Error::user("Syntax Error: CREATE SOURCE cannot be AS SELECT").at(self.here()));
            }
            self.advance();
            if !self.is_kw("SELECT") {
                return Err(self.error_expected(&["SELECT"]));
            }
            let query = Box::new(self.parse_query()?);
            return Ok(Statement::CreateAsSelect(CreateAsSelect {
                kind,
                name,
                or_replace,
                if_not_exists,
                properties,
                query,
            }));
        }
        Ok(Statement::CreateSource(CreateSource {
            kind,
            name,
            or_replace,
            if_not_exists,
            is_source,
            elements,
            properties,
        }))
    }

    /// `( name type [KEY | PRIMARY KEY | HEADERS | HEADER('k')], ... )`
    fn parse_table_elements(&mut self) -> Result<Vec<TableElement>> {
        self.expect(&Token::LParen, "'('")?;
        let elements = self.list_until(&Token::RParen, "')'", |p| {
            let name = p.parse_identifier("a column name")?;
            let ty = p.parse_type()?;
            let constraint = if p.eat_kw("PRIMARY") {
                p.expect_kw("KEY")?;
                ColumnConstraint::PrimaryKey
            } else if p.eat_kw("KEY") {
                ColumnConstraint::Key
            } else if p.eat_kw("HEADERS") {
                ColumnConstraint::Headers
            } else if p.eat_kw("HEADER") {
                p.expect(&Token::LParen, "'('")?;
                let key = p.parse_string("a header name in quotes")?;
                p.expect(&Token::RParen, "')'")?;
                ColumnConstraint::Header(key)
            } else {
                ColumnConstraint::None
            };
            Ok(TableElement { name, ty, constraint })
        })?;
        if elements.is_empty() {
            return Err(Error::user("Syntax Error: expected at least one column").at(self.here()));
        }
        Ok(elements)
    }

    /// `INSERT INTO t [WITH (...)] SELECT ...` or `INSERT INTO t [(cols)] VALUES (...)`.
    fn parse_insert(&mut self) -> Result<Statement> {
        self.expect_kw("INSERT")?;
        self.expect_kw("INTO")?;
        let target = self.parse_identifier("a stream or table name")?;
        if self.peek() == &Token::LParen || self.is_kw("VALUES") {
            let columns = if self.eat(&Token::LParen) {
                Some(self.list_until(&Token::RParen, "')'", |p| p.parse_identifier("a column name"))?)
            } else {
                None
            };
            self.expect_kw("VALUES")?;
            self.expect(&Token::LParen, "'('")?;
            let values = self.list_until(&Token::RParen, "')'", |p| p.parse_value())?;
            return Ok(Statement::InsertValues { target, columns, values });
        }
        let properties = self.parse_optional_properties()?;
        if !self.is_kw("SELECT") {
            let expected: &[&str] =
                if properties.is_empty() { &["SELECT", "VALUES", "WITH", "'('"] } else { &["SELECT"] };
            return Err(self.error_expected(expected));
        }
        let query = Box::new(self.parse_query()?);
        Ok(Statement::InsertIntoSelect { target, properties, query })
    }

    fn parse_show(&mut self) -> Result<Statement> {
        self.advance(); // SHOW or LIST
        let show = if self.eat_kw("PROPERTIES") {
            Show::Properties
        } else if self.eat_kw("ALL") {
            self.expect_kw("TOPICS")?;
            Show::Topics { all: true, extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("TOPICS") {
            Show::Topics { all: false, extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("STREAMS") {
            Show::Streams { extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("TABLES") {
            Show::Tables { extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("QUERIES") {
            Show::Queries { extended: self.eat_kw("EXTENDED") }
        } else if self.eat_kw("FUNCTIONS") {
            Show::Functions
        } else if self.eat_kw("TYPES") {
            Show::Types
        } else if self.eat_kw("VARIABLES") {
            Show::Variables
        } else if self.eat_kw("CONNECTORS") {
            Show::Connectors { source: None }
        } else if self.eat_kw("SOURCE") {
            self.expect_kw("CONNECTORS")?;
            Show::Connectors { source: Some(true) }
        } else if self.eat_kw("SINK") {
            self.expect_kw("CONNECTORS")?;
            Show::Connectors { source: Some(false) }
        } else if self.eat_kw("CONNECTOR") {
            self.expect_kw("PLUGINS")?;
            Show::ConnectorPlugins
        } else {
            return Err(self.error_expected(&[
                "STREAMS",
                "TABLES",
                "QUERIES",
                "TOPICS",
                "FUNCTIONS",
                "PROPERTIES",
                "TYPES",
                "VARIABLES",
                "CONNECTORS",
                "ALL",
                "SOURCE",
                "SINK",
                "CONNECTOR",
            ]));
        };
        Ok(Statement::Show(show))
    }

    fn parse_describe(&mut self) -> Result<Statement> {
        self.expect_kw("DESCRIBE")?;
        let next_is_name = matches!(self.peek_at(1), Token::Word(_));
        // `DESCRIBE STREAMS [EXTENDED]` lists; `DESCRIBE streams_source` would be a source
        // named STREAMS, which only the word after it tells apart.
        let all_of = |p: &Self, kw: &str| p.is_kw(kw) && (!next_is_name || p.is_kw_at(1, "EXTENDED"));
        let describe = if all_of(self, "STREAMS") {
            self.advance();
            Describe::AllSources { kind: SourceKind::Stream, extended: self.eat_kw("EXTENDED") }
        } else if all_of(self, "TABLES") {
            self.advance();
            Describe::AllSources { kind: SourceKind::Table, extended: self.eat_kw("EXTENDED") }
        } else if self.is_kw("FUNCTION") && next_is_name {
            self.advance();
            Describe::Function { name: self.parse_identifier("a function name")? }
        } else if self.is_kw("CONNECTOR") && next_is_name {
            self.advance();
            Describe::Connector { name: self.parse_identifier("a connector name")? }
        } else {
            let name = self.parse_identifier("a stream or table name")?;
            Describe::Source { name, extended: self.eat_kw("EXTENDED") }
        };
        Ok(Statement::Describe(describe))
    }

    fn parse_explain(&mut self) -> Result<Statement> {
        self.expect_kw("EXPLAIN")?;
        let explains_statement = STATEMENT_STARTS.iter().any(|k| self.is_kw(k));
        if explains_statement {
            let statement = self.nested(|p| p.parse_statement())?;
            return Ok(Statement::Explain(Explain::Statement(Box::new(statement))));
        }
        let id = self.parse_identifier("a statement or a query id")?;
        Ok(Statement::Explain(Explain::QueryId(id)))
    }

    /// `PRINT topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`; the topic keeps its case.
    fn parse_print(&mut self) -> Result<Statement> {
        self.expect_kw("PRINT")?;
        let topic = self.parse_raw_name("a topic name")?;
        let from_beginning = if self.eat_kw("FROM") {
            self.expect_kw("BEGINNING")?;
            true
        } else {
            false
        };
        let interval = if self.eat_kw("INTERVAL") || self.eat_kw("SAMPLE") {
            Some(self.parse_unsigned("a number")?)
        } else {
            None
        };
        let limit = if self.eat_kw("LIMIT") { Some(self.parse_unsigned("a number")?) } else { None };
        Ok(Statement::Print { topic, from_beginning, interval, limit })
    }

    fn parse_query_target(&mut self) -> Result<QueryTarget> {
        if self.eat_kw("ALL") {
            return Ok(QueryTarget::All);
        }
        Ok(QueryTarget::Id(self.parse_identifier("a query id or ALL")?))
    }

    fn parse_drop(&mut self) -> Result<Statement> {
        self.expect_kw("DROP")?;
        let kind = if self.eat_kw("STREAM") {
            SourceKind::Stream
        } else if self.eat_kw("TABLE") {
            SourceKind::Table
        } else if self.eat_kw("TYPE") {
            let if_exists = self.parse_if_exists()?;
            let name = self.parse_identifier("a type name")?;
            return Ok(Statement::DropType { name, if_exists });
        } else if self.eat_kw("CONNECTOR") {
            let if_exists = self.parse_if_exists()?;
            let name = self.parse_identifier("a connector name")?;
            return Ok(Statement::DropConnector { name, if_exists });
        } else {
            return Err(self.error_expected(&["STREAM", "TABLE", "TYPE", "CONNECTOR"]));
        };
        let if_exists = self.parse_if_exists()?;
        let name = self.parse_identifier("a name")?;
        let delete_topic = if self.eat_kw("DELETE") {
            self.expect_kw("TOPIC")?;
            true
        } else {
            false
        };
        Ok(Statement::DropSource { kind, name, if_exists, delete_topic })
    }

    fn parse_alter(&mut self) -> Result<Statement> {
        self.expect_kw("ALTER")?;
        if self.eat_kw("SYSTEM") {
            let name = self.parse_string("a property name in quotes")?;
            self.expect(&Token::Eq, "'='")?;
            let value = self.parse_string("a property value in quotes")?;
            return Ok(Statement::AlterSystem { name, value });
        }
        let kind = if self.eat_kw("STREAM") {
            SourceKind::Stream
        } else if self.eat_kw("TABLE") {
            SourceKind::Table
        } else {
            return Err(self.error_expected(&["STREAM", "TABLE", "SYSTEM"]));
        };
        let name = self.parse_identifier("a name")?;
        let add_columns = self.comma_separated(|p| {
            p.expect_kw("ADD")?;
            p.eat_kw("COLUMN");
            let column = p.parse_identifier("a column name")?;
            let ty = p.parse_type()?;
            Ok((column, ty))
        })?;
        Ok(Statement::AlterSource { kind, name, add_columns })
    }

    /// `ASSERT [NOT EXISTS] TOPIC|SCHEMA ...`; topic and subject names keep their case.
    fn parse_assert(&mut self) -> Result<Statement> {
        self.expect_kw("ASSERT")?;
        let exists = if self.eat_kw("NOT") {
            self.expect_kw("EXISTS")?;
            false
        } else {
            true
        };
        if self.eat_kw("TOPIC") {
            let name = self.parse_raw_name("a topic name")?;
            let properties = self.parse_optional_properties()?;
            let timeout_ms = self.parse_timeout()?;
            return Ok(Statement::AssertTopic { name, exists, properties, timeout_ms });
        }
        if self.eat_kw("SCHEMA") {
            let subject = if self.eat_kw("SUBJECT") { Some(self.parse_raw_name("a subject name")?) } else { None };
            let id = if self.eat_kw("ID") {
                let at = self.here();
                match self.parse_literal()? {
                    Literal::Int(v) => Some(i64::from(v)),
                    Literal::Bigint(v) => Some(v),
                    _ => {
                        return Err(Error::user("Syntax Error: a schema ID must be an integer").at(at));
                    }
                }
            } else {
                None
            };
            let timeout_ms = self.parse_timeout()?;
            if subject.is_none() && id.is_none() {
                return Err(Error::user("Syntax Error: ASSERT SCHEMA needs a SUBJECT or an ID").at(self.here()));
            }
            return Ok(Statement::AssertSchema { subject, id, exists, timeout_ms });
        }
        Err(self.error_expected(&["TOPIC", "SCHEMA"]))
    }

    fn parse_timeout(&mut self) -> Result<Option<u64>> {
        if self.eat_kw("TIMEOUT") { Ok(Some(self.parse_duration()?)) } else { Ok(None) }
    }

    // ----- queries -----

    /// `SELECT items FROM relation [WINDOW] [WHERE] [GROUP BY] [PARTITION BY] [HAVING] [EMIT]
    /// [LIMIT]`, clauses in this order only.
    pub(crate) fn parse_query(&mut self) -> Result<Query> {
        self.expect_kw("SELECT")?;
        let select = self.comma_separated(|p| p.parse_select_item())?;
        if !self.eat_kw("FROM") {
            return Err(self.error_expected(&["','", "FROM"]));
        }
        let from = self.parse_relation()?;
        // `stage` counts the clauses that can no longer come, to say what still can.
        let mut stage = 0;
        let window = if self.eat_kw("WINDOW") { Some(self.parse_window()?) } else { None };
        stage += usize::from(window.is_some());
        let where_clause = if self.eat_kw("WHERE") {
            stage = 2;
            Some(self.parse_expr()?)
        } else {
            None
        };
        let group_by = if self.eat_kw("GROUP") {
            stage = 3;
            self.expect_kw("BY")?;
            self.parse_grouping()?
        } else {
            Vec::new()
        };
        let partition_by = if self.eat_kw("PARTITION") {
            stage = 4;
            self.expect_kw("BY")?;
            let at = self.here();
            let keys = self.parse_grouping()?;
            if keys.is_empty() {
                // `PARTITION BY ()`: ksqlDB's message (the empty list reads as no clause).
                return Err(Error::user("PARTITION BY requires at least one expression").at(at));
            }
            keys
        } else {
            Vec::new()
        };
        let having = if self.eat_kw("HAVING") {
            stage = 5;
            Some(self.parse_expr()?)
        } else {
            None
        };
        let emit = if self.eat_kw("EMIT") {
            stage = 6;
            if self.eat_kw("CHANGES") {
                Some(Emit::Changes)
            } else if self.eat_kw("FINAL") {
                Some(Emit::Final)
            } else {
                return Err(self.error_expected(&["CHANGES", "FINAL"]));
            }
        } else {
            None
        };
        let limit = if self.eat_kw("LIMIT") {
            stage = 7;
            Some(self.parse_unsigned("a number")?)
        } else {
            None
        };
        if !matches!(self.peek(), Token::SemiColon | Token::EOF) {
            return Err(self.query_trailing_error(stage));
        }
        Ok(Query { select, from, window, where_clause, group_by, partition_by, having, emit, limit })
    }

    /// The error for a token left after a query: it names the clauses that could still come
    /// after the last one parsed (`stage` of them are behind).
    fn query_trailing_error(&self, stage: usize) -> Error {
        if STATEMENT_STARTS.iter().any(|k| self.is_kw(k)) {
            return self.end_of_statement_error();
        }
        const CLAUSES: &[&str] = &["WINDOW", "WHERE", "GROUP BY", "PARTITION BY", "HAVING", "EMIT", "LIMIT"];
        let mut expected: Vec<&str> = CLAUSES.get(stage..).unwrap_or_default().to_vec();
        expected.push("';'");
        self.error_expected(&expected)
    }

    fn parse_select_item(&mut self) -> Result<SelectItem> {
        if self.eat(&Token::Mul) {
            return Ok(SelectItem::Wildcard);
        }
        if matches!(self.peek(), Token::Word(_)) && self.peek_at(1) == &Token::Period && self.peek_at(2) == &Token::Mul
        {
            let source = self.parse_identifier("a source name")?;
            self.advance();
            self.advance();
            return Ok(SelectItem::QualifiedWildcard(source));
        }
        let expr = self.parse_expr()?;
        if self.peek() == &Token::Arrow && self.peek_at(1) == &Token::Mul {
            self.advance();
            self.advance();
            return Ok(SelectItem::StructWildcard(expr));
        }
        let alias = self.parse_alias(&["FROM"], &[Token::Comma])?;
        Ok(SelectItem::Expr { expr, alias })
    }

    /// `[AS] alias`. An alias without AS that is a near miss of one of `next_keywords` and is
    /// not followed by what may follow an alias is reported as that misspelled keyword.
    fn parse_alias(&mut self, next_keywords: &[&str], followers: &[Token]) -> Result<Option<String>> {
        if self.eat_kw("AS") {
            return Ok(Some(self.parse_identifier("an alias")?));
        }
        let Token::Word(w) = self.peek() else {
            return Ok(None);
        };
        if w.quote_style.is_some() {
            return self.parse_identifier("an alias").map(Some);
        }
        let upper = w.value.to_uppercase();
        if is_reserved(&upper) || CLAUSE_WORDS.contains(&upper.as_str()) {
            return Ok(None);
        }
        let next = self.peek_at(1);
        let fits = followers.contains(next)
            || matches!(next, Token::SemiColon | Token::EOF)
            || next_keywords.iter().any(|k| self.is_kw_at(1, k));
        if !fits {
            if let Some(keyword) = closest_keyword(&upper, next_keywords) {
                return Err(self.error_expected(&[keyword]));
            }
            // `... FROM s <newline> DESCRIBE x`: a statement after a missing `;`, not an alias.
            if STATEMENT_STARTS.contains(&upper.as_str()) {
                return Ok(None);
            }
        }
        self.parse_identifier("an alias").map(Some)
    }

    fn parse_relation(&mut self) -> Result<Relation> {
        let source = self.parse_aliased_source()?;
        let mut joins = Vec::new();
        loop {
            let kind = if self.eat_kw("JOIN") {
                JoinKind::Inner
            } else if self.is_kw("INNER") {
                self.advance();
                self.expect_kw("JOIN")?;
                JoinKind::Inner
            } else if let Some(kind) = self.outer_join_kind() {
                self.advance();
                self.eat_kw("OUTER");
                self.expect_kw("JOIN")?;
                kind
            } else {
                break;
            };
            let source = self.parse_aliased_source()?;
            let within = if self.eat_kw("WITHIN") {
                if self.eat(&Token::LParen) {
                    let before_ms = self.parse_duration()?;
                    self.expect(&Token::Comma, "','")?;
                    let after_ms = self.parse_duration()?;
                    self.expect(&Token::RParen, "')'")?;
                    Some(JoinWindow { before_ms, after_ms })
                } else {
                    let ms = self.parse_duration()?;
                    Some(JoinWindow { before_ms: ms, after_ms: ms })
                }
            } else {
                None
            };
            let grace_ms = self.parse_grace()?;
            if !self.eat_kw("ON") {
                let expected: &[&str] = match (within.is_some(), grace_ms.is_some()) {
                    (false, false) => &["WITHIN", "GRACE PERIOD", "ON"],
                    (true, false) => &["GRACE PERIOD", "ON"],
                    _ => &["ON"],
                };
                return Err(self.error_expected(expected));
            }
            let on = self.parse_expr()?;
            joins.push(Join { kind, source, within, grace_ms, on });
        }
        Ok(Relation { source, joins })
    }

    fn outer_join_kind(&self) -> Option<JoinKind> {
        if self.is_kw("LEFT") {
            Some(JoinKind::Left)
        } else if self.is_kw("RIGHT") {
            Some(JoinKind::Right)
        } else if self.is_kw("FULL") {
            Some(JoinKind::Full)
        } else {
            None
        }
    }

    fn parse_aliased_source(&mut self) -> Result<AliasedSource> {
        let name = self.parse_identifier("a stream or table name")?;
        let alias = self.parse_alias(AFTER_SOURCE, &[Token::RParen])?;
        Ok(AliasedSource { name, alias })
    }

    fn parse_grace(&mut self) -> Result<Option<u64>> {
        if self.eat_kw("GRACE") {
            self.expect_kw("PERIOD")?;
            return Ok(Some(self.parse_duration()?));
        }
        Ok(None)
    }

    /// `TUMBLING (SIZE d, ...)`, `HOPPING (SIZE d, ADVANCE BY d, ...)` or `SESSION (d, ...)`,
    /// where `...` is `RETENTION d` and `GRACE PERIOD d`, each at most once.
    fn parse_window(&mut self) -> Result<WindowSpec> {
        // ksqlDB's grammar allows a name before the window type; it means nothing.
        if matches!(self.peek(), Token::Word(_))
            && !["TUMBLING", "HOPPING", "SESSION"].iter().any(|k| self.is_kw(k))
            && ["TUMBLING", "HOPPING", "SESSION"].iter().any(|k| self.is_kw_at(1, k))
        {
            self.advance();
        }
        let kind = if self.eat_kw("TUMBLING") {
            self.expect(&Token::LParen, "'('")?;
            self.expect_kw("SIZE")?;
            WindowKind::Tumbling { size_ms: self.parse_duration()? }
        } else if self.eat_kw("HOPPING") {
            self.expect(&Token::LParen, "'('")?;
            self.expect_kw("SIZE")?;
            let size_ms = self.parse_duration()?;
            self.expect(&Token::Comma, "','")?;
            self.expect_kw("ADVANCE")?;
            self.expect_kw("BY")?;
            let advance_ms = self.parse_duration()?;
            WindowKind::Hopping { size_ms, advance_ms }
        } else if self.eat_kw("SESSION") {
            self.expect(&Token::LParen, "'('")?;
            WindowKind::Session { gap_ms: self.parse_duration()? }
        } else {
            return Err(self.error_expected(&["TUMBLING", "HOPPING", "SESSION"]));
        };
        let mut retention_ms = None;
        let mut grace_ms = None;
        while self.eat(&Token::Comma) {
            if retention_ms.is_none() && self.eat_kw("RETENTION") {
                retention_ms = Some(self.parse_duration()?);
            } else if grace_ms.is_none() && self.is_kw("GRACE") {
                grace_ms = self.parse_grace()?;
            } else {
                let mut expected = Vec::new();
                if retention_ms.is_none() {
                    expected.push("RETENTION");
                }
                if grace_ms.is_none() {
                    expected.push("GRACE PERIOD");
                }
                return Err(self.error_expected(&expected));
            }
        }
        self.expect(&Token::RParen, "')'")?;
        Ok(WindowSpec { kind, retention_ms, grace_ms })
    }

    /// The list after GROUP BY or PARTITION BY: value expressions, optionally in one pair of
    /// parentheses, as in ksqlDB (`GROUP BY (a, b)`, `GROUP BY ()`).
    fn parse_grouping(&mut self) -> Result<Vec<Expr>> {
        if self.peek() == &Token::LParen && self.parenthesized_list_ahead() {
            self.advance();
            return self.list_until(&Token::RParen, "')'", |p| p.parse_value());
        }
        self.comma_separated(|p| p.parse_value())
    }

    /// Whether the `(` here closes with a `)` that ends the clause, and has a comma at its top
    /// level or nothing inside: then it is a list, not a parenthesized expression.
    fn parenthesized_list_ahead(&self) -> bool {
        let mut depth = 0usize;
        let mut top_level_comma = false;
        let mut i = 0;
        loop {
            match self.peek_at(i) {
                Token::EOF => return false,
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                Token::Comma if depth == 1 => top_level_comma = true,
                _ => {}
            }
            i += 1;
        }
        let empty = i == 1;
        let ends_clause = matches!(self.peek_at(i + 1), Token::SemiColon | Token::EOF | Token::RParen)
            || ["PARTITION", "HAVING", "EMIT", "LIMIT"].iter().any(|k| self.is_kw_at(i + 1, k));
        ends_clause && (top_level_comma || empty)
    }
}

/// `A`, `A or B`, `A, B or C`.
fn join_alternatives(items: &[&str]) -> String {
    match items {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::ast::BinaryOp;

    fn one(sql: &str) -> Statement {
        let mut all = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(all.len(), 1, "{sql}");
        all.remove(0).statement
    }

    fn query(sql: &str) -> Query {
        match one(sql) {
            Statement::Query(q) => *q,
            other => panic!("not a query: {other:?}"),
        }
    }

    fn err(sql: &str) -> Error {
        match parse(sql) {
            Ok(v) => panic!("{sql} parsed: {v:?}"),
            Err(e) => e,
        }
    }

    fn col(name: &str) -> Expr {
        Expr::Column { qualifier: None, name: name.to_string() }
    }

    fn qcol(q: &str, name: &str) -> Expr {
        Expr::Column { qualifier: Some(q.to_string()), name: name.to_string() }
    }

    fn props(pairs: &[(&str, Literal)]) -> Properties {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    fn string(s: &str) -> Literal {
        Literal::String(s.to_string())
    }

    #[test]
    fn create_stream_with_columns_and_constraints() {
        let sql = "CREATE STREAM s (id INT KEY, \"Name\" STRING, hs ARRAY<STRUCT<key STRING, value BYTES>> HEADERS, \
                   h BYTES HEADER('trace'), v DOUBLE) WITH (kafka_topic='t', value_format='JSON', partitions=2, \
                   wrap_single_value=false, \"mixed\"=-1);";
        let Statement::CreateSource(c) = one(sql) else { panic!() };
        assert_eq!(
            (c.kind, c.name.as_str(), c.or_replace, c.if_not_exists, c.is_source),
            (SourceKind::Stream, "S", false, false, false)
        );
        let names: Vec<_> = c.elements.iter().map(|e| (e.name.as_str(), e.constraint.clone())).collect();
        assert_eq!(
            names,
            vec![
                ("ID", ColumnConstraint::Key),
                ("Name", ColumnConstraint::None),
                ("HS", ColumnConstraint::Headers),
                ("H", ColumnConstraint::Header("trace".into())),
                ("V", ColumnConstraint::None),
            ]
        );
        assert_eq!(c.elements[4].ty, TypeExpr::Double);
        assert_eq!(
            c.properties,
            props(&[
                ("KAFKA_TOPIC", string("t")),
                ("VALUE_FORMAT", string("JSON")),
                ("PARTITIONS", Literal::Int(2)),
                ("WRAP_SINGLE_VALUE", Literal::Boolean(false)),
                ("MIXED", Literal::Int(-1)),
            ])
        );
    }

    #[test]
    fn create_table_variants() {
        let Statement::CreateSource(c) =
            one("create or replace source table if not exists t (id bigint primary key) with ('kafka_topic'='t')")
        else {
            panic!()
        };
        assert_eq!((c.kind, c.or_replace, c.if_not_exists, c.is_source), (SourceKind::Table, true, true, true));
        assert_eq!(c.elements[0].constraint, ColumnConstraint::PrimaryKey);
        assert_eq!(c.properties, props(&[("KAFKA_TOPIC", string("t"))]));
        let Statement::CreateSource(c) = one("CREATE TABLE t WITH (KAFKA_TOPIC='t', FORMAT='AVRO')") else { panic!() };
        assert!(c.elements.is_empty());
        assert!(err("CREATE STREAM s (a INT) WITH (x=1, X=2)").message().contains("duplicate"));
        assert!(parse("CREATE STREAM s () WITH (x=1)").is_err());
    }

    #[test]
    fn create_as_select() {
        let Statement::CreateAsSelect(c) = one(
            "CREATE OR REPLACE TABLE IF NOT EXISTS agg WITH (KEY_FORMAT='JSON') AS SELECT k, COUNT(*) FROM s GROUP BY k EMIT CHANGES",
        ) else {
            panic!()
        };
        assert_eq!((c.kind, c.name.as_str(), c.or_replace, c.if_not_exists), (SourceKind::Table, "AGG", true, true));
        assert_eq!(c.properties, props(&[("KEY_FORMAT", string("JSON"))]));
        assert_eq!(c.query.group_by, vec![col("K")]);
        assert_eq!(c.query.emit, Some(Emit::Changes));
        assert!(parse("CREATE STREAM s (a INT) AS SELECT * FROM t").is_err());
        assert!(parse("CREATE SOURCE STREAM s AS SELECT * FROM t").is_err());
    }

    #[test]
    fn insert_statements() {
        let Statement::InsertIntoSelect { target, properties, query } =
            one("INSERT INTO out WITH (QUERY_ID='q1') SELECT * FROM s")
        else {
            panic!()
        };
        assert_eq!(target, "OUT");
        assert_eq!(properties, props(&[("QUERY_ID", string("q1"))]));
        assert_eq!(query.select, vec![SelectItem::Wildcard]);
        let Statement::InsertValues { target, columns, values } = one("INSERT INTO s (a, `B`) VALUES (1, 'x')") else {
            panic!()
        };
        assert_eq!(target, "S");
        assert_eq!(columns, Some(vec!["A".to_string(), "B".to_string()]));
        assert_eq!(values, vec![Expr::Literal(Literal::Int(1)), Expr::Literal(string("x"))]);
        let Statement::InsertValues { columns, values, .. } = one("INSERT INTO s VALUES ()") else { panic!() };
        assert_eq!((columns, values.len()), (None, 0));
    }

    #[test]
    fn query_with_every_clause() {
        let q = query(
            "SELECT a.id, b->c AS x, COUNT(*) cnt FROM s a LEFT OUTER JOIN t AS b WITHIN (1 HOUR, 2 MINUTES) \
             GRACE PERIOD 10 SECONDS ON a.id = b.id WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 DAYS, GRACE PERIOD 1 SECOND) \
             WHERE a.v > 1 GROUP BY a.id PARTITION BY a.id HAVING COUNT(*) > 2 EMIT FINAL LIMIT 10",
        );
        assert_eq!(q.select.len(), 3);
        assert_eq!(q.select[0], SelectItem::Expr { expr: qcol("A", "ID"), alias: None });
        assert!(matches!(&q.select[1], SelectItem::Expr { alias: Some(a), .. } if a == "X"));
        assert!(matches!(&q.select[2], SelectItem::Expr { alias: Some(a), .. } if a == "CNT"));
        assert_eq!(q.from.source, AliasedSource { name: "S".into(), alias: Some("A".into()) });
        let join = &q.from.joins[0];
        assert_eq!(join.kind, JoinKind::Left);
        assert_eq!(join.source, AliasedSource { name: "T".into(), alias: Some("B".into()) });
        assert_eq!(join.within, Some(JoinWindow { before_ms: 3_600_000, after_ms: 120_000 }));
        assert_eq!(join.grace_ms, Some(10_000));
        assert_eq!(
            join.on,
            Expr::Binary { op: BinaryOp::Eq, left: Box::new(qcol("A", "ID")), right: Box::new(qcol("B", "ID")) }
        );
        assert_eq!(
            q.window,
            Some(WindowSpec {
                kind: WindowKind::Tumbling { size_ms: 60_000 },
                retention_ms: Some(172_800_000),
                grace_ms: Some(1_000)
            })
        );
        assert!(q.where_clause.is_some());
        assert_eq!(q.group_by, vec![qcol("A", "ID")]);
        assert_eq!(q.partition_by, vec![qcol("A", "ID")]);
        assert!(q.having.is_some());
        assert_eq!(q.emit, Some(Emit::Final));
        assert_eq!(q.limit, Some(10));
    }

    #[test]
    fn join_kinds_and_windows() {
        let q = query(
            "SELECT * FROM a JOIN b WITHIN 5 SECONDS ON a.k = b.k INNER JOIN c ON a.k = c.k RIGHT JOIN d ON 1 = 1 \
             FULL OUTER JOIN e ON 1 = 1 LEFT JOIN f ON 1 = 1 EMIT CHANGES",
        );
        let kinds: Vec<_> = q.from.joins.iter().map(|j| j.kind).collect();
        assert_eq!(kinds, vec![JoinKind::Inner, JoinKind::Inner, JoinKind::Right, JoinKind::Full, JoinKind::Left]);
        assert_eq!(q.from.joins[0].within, Some(JoinWindow { before_ms: 5_000, after_ms: 5_000 }));
        assert_eq!(q.from.joins[1].within, None);
        let window = |sql: &str| query(sql).window.unwrap_or_else(|| panic!("{sql}"));
        assert_eq!(
            window("SELECT * FROM s WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY k").kind,
            WindowKind::Hopping { size_ms: 10_000, advance_ms: 5_000 }
        );
        let w = window("SELECT * FROM s WINDOW SESSION (30 MINUTES, GRACE PERIOD 1 HOUR) GROUP BY k");
        assert_eq!(
            (w.kind, w.grace_ms, w.retention_ms),
            (WindowKind::Session { gap_ms: 1_800_000 }, Some(3_600_000), None)
        );
        let w = window("SELECT * FROM s WINDOW TUMBLING (SIZE 1 MILLISECOND) GROUP BY k");
        assert_eq!(w.kind, WindowKind::Tumbling { size_ms: 1 });
        assert!(parse("SELECT * FROM s WINDOW TUMBLING (SIZE 1 WEEK) GROUP BY k").is_err());
        assert!(parse("SELECT * FROM s WINDOW TUMBLING (SIZE 1 SECOND, RETENTION 1 DAY, RETENTION 1 DAY)").is_err());
    }

    #[test]
    fn select_items() {
        let q = query("SELECT *, t.*, s->*, a->b->*, `x` AS \"Y\", value, key k FROM t");
        assert_eq!(q.select[0], SelectItem::Wildcard);
        assert_eq!(q.select[1], SelectItem::QualifiedWildcard("T".into()));
        assert_eq!(q.select[2], SelectItem::StructWildcard(col("S")));
        assert!(matches!(&q.select[3], SelectItem::StructWildcard(Expr::Dereference { field, .. }) if field == "B"));
        assert_eq!(q.select[4], SelectItem::Expr { expr: col("x"), alias: Some("Y".into()) });
        assert_eq!(q.select[5], SelectItem::Expr { expr: col("VALUE"), alias: None });
        assert_eq!(q.select[6], SelectItem::Expr { expr: col("KEY"), alias: Some("K".into()) });
    }

    #[test]
    fn grouping_lists() {
        let q = query("SELECT * FROM s GROUP BY (a, b) EMIT CHANGES");
        assert_eq!(q.group_by, vec![col("A"), col("B")]);
        let q = query("SELECT * FROM s GROUP BY (a + 1), b");
        assert_eq!(q.group_by.len(), 2);
        let q = query("SELECT * FROM s GROUP BY (a)");
        assert_eq!(q.group_by, vec![col("A")]);
        let q = query("SELECT * FROM s PARTITION BY a, b->c");
        assert_eq!(q.partition_by.len(), 2);
        let err = err("SELECT a FROM s PARTITION BY ();");
        assert!(err.to_string().contains("PARTITION BY requires at least one expression"), "{err}");
        // As in ksqlDB: value expressions only, and no nested lists.
        assert!(parse("SELECT * FROM s GROUP BY a AND b").is_err());
        assert!(parse("SELECT * FROM s GROUP BY a, (b, c)").is_err());
        assert!(parse("SELECT * FROM s PARTITION BY a = b").is_err());
    }

    #[test]
    fn clauses_out_of_order_are_errors() {
        let e = err("SELECT * FROM s WHERE a = 1 WINDOW TUMBLING (SIZE 1 SECOND)");
        assert!(e.message().contains("expected GROUP BY"), "{e}");
        assert!(parse("SELECT * FROM s EMIT CHANGES WHERE a = 1").is_err());
        assert!(parse("SELECT * FROM EXPLODE(a)").is_err());
    }

    #[test]
    fn show_and_list() {
        let cases = [
            ("SHOW STREAMS", Show::Streams { extended: false }),
            ("list streams extended", Show::Streams { extended: true }),
            ("SHOW TABLES EXTENDED", Show::Tables { extended: true }),
            ("SHOW QUERIES", Show::Queries { extended: false }),
            ("SHOW TOPICS", Show::Topics { all: false, extended: false }),
            ("SHOW ALL TOPICS EXTENDED", Show::Topics { all: true, extended: true }),
            ("SHOW FUNCTIONS", Show::Functions),
            ("LIST PROPERTIES", Show::Properties),
            ("SHOW TYPES", Show::Types),
            ("SHOW VARIABLES", Show::Variables),
            ("SHOW CONNECTORS", Show::Connectors { source: None }),
            ("SHOW SOURCE CONNECTORS", Show::Connectors { source: Some(true) }),
            ("SHOW SINK CONNECTORS", Show::Connectors { source: Some(false) }),
            ("SHOW CONNECTOR PLUGINS", Show::ConnectorPlugins),
        ];
        for (sql, show) in cases {
            assert_eq!(one(sql), Statement::Show(show), "{sql}");
        }
        let e = err("SHOW STRAEMS");
        assert_eq!(e.hint(), Some("did you mean STREAMS?"));
    }

    #[test]
    fn describe_and_explain() {
        let cases = [
            ("DESCRIBE s", Describe::Source { name: "S".into(), extended: false }),
            ("DESCRIBE `s` EXTENDED", Describe::Source { name: "s".into(), extended: true }),
            ("DESCRIBE STREAMS", Describe::AllSources { kind: SourceKind::Stream, extended: false }),
            ("DESCRIBE TABLES EXTENDED", Describe::AllSources { kind: SourceKind::Table, extended: true }),
            ("DESCRIBE FUNCTION abs", Describe::Function { name: "ABS".into() }),
            ("DESCRIBE CONNECTOR c", Describe::Connector { name: "C".into() }),
        ];
        for (sql, d) in cases {
            assert_eq!(one(sql), Statement::Describe(d), "{sql}");
        }
        assert_eq!(one("EXPLAIN CSAS_OUT_0"), Statement::Explain(Explain::QueryId("CSAS_OUT_0".into())));
        let Statement::Explain(Explain::Statement(inner)) = one("EXPLAIN SELECT * FROM s EMIT CHANGES") else {
            panic!()
        };
        assert!(matches!(*inner, Statement::Query(_)));
        assert!(matches!(one("EXPLAIN CREATE STREAM o AS SELECT * FROM s"), Statement::Explain(Explain::Statement(_))));
    }

    #[test]
    fn print_and_query_control() {
        assert_eq!(
            one("PRINT 'My-Topic' FROM BEGINNING INTERVAL 2 LIMIT 5"),
            Statement::Print { topic: "My-Topic".into(), from_beginning: true, interval: Some(2), limit: Some(5) }
        );
        assert_eq!(
            one("PRINT pageviews SAMPLE 3"),
            Statement::Print { topic: "pageviews".into(), from_beginning: false, interval: Some(3), limit: None }
        );
        assert_eq!(one("TERMINATE ALL"), Statement::Terminate(QueryTarget::All));
        assert_eq!(one("terminate csas_x_1"), Statement::Terminate(QueryTarget::Id("CSAS_X_1".into())));
        assert_eq!(one("PAUSE q"), Statement::Pause(QueryTarget::Id("Q".into())));
        assert_eq!(one("RESUME ALL"), Statement::Resume(QueryTarget::All));
    }

    #[test]
    fn drop_alter_and_types() {
        assert_eq!(
            one("DROP STREAM IF EXISTS s DELETE TOPIC"),
            Statement::DropSource { kind: SourceKind::Stream, name: "S".into(), if_exists: true, delete_topic: true }
        );
        assert_eq!(
            one("DROP TABLE t"),
            Statement::DropSource { kind: SourceKind::Table, name: "T".into(), if_exists: false, delete_topic: false }
        );
        assert_eq!(
            one("ALTER STREAM s ADD COLUMN a INT, ADD b ARRAY<STRING>"),
            Statement::AlterSource {
                kind: SourceKind::Stream,
                name: "S".into(),
                add_columns: vec![
                    ("A".into(), TypeExpr::Int),
                    ("B".into(), TypeExpr::Array(Box::new(TypeExpr::String)))
                ],
            }
        );
        assert_eq!(
            one("CREATE TYPE IF NOT EXISTS addr AS STRUCT<street STRING>"),
            Statement::CreateType {
                name: "ADDR".into(),
                if_not_exists: true,
                ty: TypeExpr::Struct(vec![("STREET".into(), TypeExpr::String)]),
            }
        );
        assert_eq!(one("DROP TYPE IF EXISTS addr"), Statement::DropType { name: "ADDR".into(), if_exists: true });
    }

    #[test]
    fn properties_variables_and_scripts() {
        assert_eq!(
            one("SET 'auto.offset.reset' = 'earliest'"),
            Statement::SetProperty { name: "auto.offset.reset".into(), value: "earliest".into() }
        );
        assert_eq!(one("UNSET 'x'"), Statement::UnsetProperty { name: "x".into() });
        assert_eq!(one("ALTER SYSTEM 'a'='b'"), Statement::AlterSystem { name: "a".into(), value: "b".into() });
        assert_eq!(one("DEFINE v = 'x'"), Statement::DefineVariable { name: "V".into(), value: "x".into() });
        assert_eq!(one("UNDEFINE v"), Statement::UndefineVariable { name: "V".into() });
        assert_eq!(one("RUN SCRIPT '/tmp/a.sql'"), Statement::RunScript { path: "/tmp/a.sql".into() });
    }

    #[test]
    fn connectors_and_assertions() {
        assert_eq!(
            one("CREATE SOURCE CONNECTOR IF NOT EXISTS c WITH ('connector.class'='X', tasks_max=1)"),
            Statement::CreateConnector {
                name: "C".into(),
                source: true,
                if_not_exists: true,
                properties: props(&[("connector.class", string("X")), ("TASKS_MAX", Literal::Int(1))]),
            }
        );
        assert!(matches!(
            one("CREATE SINK CONNECTOR c WITH ('a'='b')"),
            Statement::CreateConnector { source: false, .. }
        ));
        assert_eq!(one("DROP CONNECTOR IF EXISTS c"), Statement::DropConnector { name: "C".into(), if_exists: true });
        assert_eq!(
            one("ASSERT TOPIC my_topic WITH (PARTITIONS=1) TIMEOUT 3 SECONDS"),
            Statement::AssertTopic {
                name: "my_topic".into(),
                exists: true,
                properties: props(&[("PARTITIONS", Literal::Int(1))]),
                timeout_ms: Some(3_000),
            }
        );
        assert_eq!(
            one("ASSERT NOT EXISTS SCHEMA SUBJECT 'Sub' ID 4"),
            Statement::AssertSchema { subject: Some("Sub".into()), id: Some(4), exists: false, timeout_ms: None }
        );
        assert!(parse("ASSERT SCHEMA TIMEOUT 1 SECOND").is_err());
    }

    #[test]
    fn several_statements_with_text_and_position() {
        let sql = "-- a comment\nSHOW STREAMS;\n\n  SELECT * FROM s\n  WHERE a = ';' ;;DROP TYPE t";
        let all = parse(sql).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].text, "SHOW STREAMS");
        assert_eq!(all[0].position, Position { line: 2, column: 1 });
        assert_eq!(all[1].text, "SELECT * FROM s\n  WHERE a = ';'");
        assert_eq!(all[1].position, Position { line: 4, column: 3 });
        assert_eq!(all[2].text, "DROP TYPE t");
        assert!(parse("").unwrap().is_empty());
        assert!(parse(" ; -- nothing\n").unwrap().is_empty());
        let pieces = split_statements("SHOW STREAMS; SELECT 'a;b' FROM s").unwrap();
        assert_eq!(
            pieces.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
            vec!["SHOW STREAMS", "SELECT 'a;b' FROM s"]
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = err("SELECT a, b, c FORM t");
        assert_eq!(e.message(), "Syntax Error: expected FROM, found 'FORM'");
        assert_eq!(e.position(), Some(Position { line: 1, column: 16 }));
        assert_eq!(e.hint(), Some("did you mean FROM?"));
        let e = err("SELECT * FORM t");
        assert_eq!(e.position(), Some(Position { line: 1, column: 10 }));
        assert_eq!(e.hint(), Some("did you mean FROM?"));
        let e = err("SELECT * FROM t WHER a = 1");
        assert_eq!(e.hint(), Some("did you mean WHERE?"));
        let e = err("SELCT * FROM t");
        assert_eq!(e.hint(), Some("did you mean SELECT?"));
        assert_eq!(e.position(), Some(Position { line: 1, column: 1 }));
        let e = err("SHOW STREAMS\nSHOW TABLES");
        assert_eq!(e.position(), Some(Position { line: 2, column: 1 }));
        assert_eq!(e.hint(), Some("end the previous statement with ';'"));
        let e = err("SELECT * FROM s\nEMIT CHANGES\nSELECT 1 FROM t");
        assert_eq!(e.hint(), Some("end the previous statement with ';'"));
        let e = err("SELECT * FROM s\nDESCRIBE s");
        assert_eq!(e.hint(), Some("end the previous statement with ';'"));
        assert_eq!(e.position(), Some(Position { line: 2, column: 1 }));
        let e = err("SELECT 'abc FROM s");
        assert!(e.message().contains("unterminated string"), "{e}");
        assert!(e.hint().is_some());
        let e = err("SELECT * FROM s WHERE");
        assert_eq!(e.message(), "Syntax Error: expected an expression, found end of input");
        let e = err("CREATE STREAM s (a INT) WITH (kafka_topic='t'");
        assert!(e.message().contains("expected ',' or ')'"), "{e}");
        assert_eq!(e.kind(), crate::error::ErrorKind::User);
        let e = err("SELECT # FROM s");
        assert!(e.position().is_some());
        // Out-of-range literals are found building the tree; ksqlDB words them so (and counts
        // the column one further).
        let e = err("SELECT 9223372036854775808 FROM s");
        assert_eq!(
            e.to_string(),
            "Failed to prepare statement: line 1:9: Invalid numeric literal: 9223372036854775808"
        );
        let e = err("\nSELECT 1.7976931348623159E308 FROM s");
        assert_eq!(
            e.to_string(),
            "Failed to prepare statement: line 2:9: Number overflows DOUBLE: 1.7976931348623159E308"
        );
    }

    #[test]
    fn variables_are_substituted() {
        let mut vars = Variables::new();
        let all = parse_with_variables(
            "DEFINE src = 'pageviews'; DEFINE fmt = 'JSON'; CREATE STREAM ${src}_copy WITH (value_format='${fmt}') AS \
             SELECT * -- ${not_substituted}\nFROM ${src}; UNDEFINE fmt",
            &mut vars,
        )
        .unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(
            all[2].text,
            "CREATE STREAM pageviews_copy WITH (value_format='JSON') AS SELECT * -- ${not_substituted}\nFROM pageviews"
        );
        let Statement::CreateAsSelect(c) = &all[2].statement else { panic!() };
        assert_eq!(c.name, "PAGEVIEWS_COPY");
        assert_eq!(c.query.from.source.name, "PAGEVIEWS");
        assert_eq!(vars.get("SRC").map(String::as_str), Some("pageviews"));
        assert!(!vars.contains_key("FMT"));
        let e = err("SELECT * FROM ${nope}");
        assert!(e.message().contains("'nope' is not defined"), "{e}");
        assert_eq!(e.position(), Some(Position { line: 1, column: 15 }));
        // A value with quotes stays inside the string it is substituted into.
        let mut vars = Variables::from([("Q".to_string(), "it's".to_string())]);
        let all = parse_with_variables("SELECT '${q}' FROM s", &mut vars).unwrap();
        let Statement::Query(q) = &all[0].statement else { panic!() };
        assert_eq!(q.select[0], SelectItem::Expr { expr: Expr::Literal(string("it's")), alias: None });
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(query("select * from s emit changes"), query("SELECT * FROM S EMIT CHANGES"));
        assert_eq!(one("Show Streams"), Statement::Show(Show::Streams { extended: false }));
    }
}
