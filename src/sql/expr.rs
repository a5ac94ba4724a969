//! Expressions, literals, types and durations of the ksqlDB dialect.
//!
//! This file owns the precedence of ksqlDB's expressions, taken from its ANTLR grammar
//! (`SqlBase.g4`), lowest first:
//!
//! 1. `OR`
//! 2. `AND`
//! 3. `NOT`
//! 4. one predicate — `= <> != < <= > >=`, `[NOT] BETWEEN`, `[NOT] IN (..)`, `[NOT] LIKE`,
//!    `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM` — which, as in ksqlDB, does not chain:
//!    `a = b = c` is a syntax error
//! 5. `||`
//! 6. `+ -`
//! 7. `* / %`
//! 8. unary `- +`
//! 9. `AT TIME ZONE`
//! 10. postfix `[index]` and `->field` on primaries (literals, columns, calls, CASE, CAST, ...)
//!
//! Levels 5 to 10 form a *value expression*: what ksqlDB accepts in GROUP BY, PARTITION BY,
//! INSERT VALUES and on both sides of a comparison.

use sqlparser::tokenizer::Token;

use crate::error::{Error, Position, Result};
use crate::sql::ast::{BinaryOp, Expr, Literal, TypeExpr, UnaryOp};
use crate::sql::parser::{Parser, is_reserved};

/// The time units of durations and of bare unit function arguments, with their length in ms.
const TIME_UNITS: &[(&str, u64)] = &[
    ("MILLISECOND", 1),
    ("MILLISECONDS", 1),
    ("SECOND", 1_000),
    ("SECONDS", 1_000),
    ("MINUTE", 60_000),
    ("MINUTES", 60_000),
    ("HOUR", 3_600_000),
    ("HOURS", 3_600_000),
    ("DAY", 86_400_000),
    ("DAYS", 86_400_000),
];

fn unit_millis(word: &str) -> Option<u64> {
    TIME_UNITS.iter().find(|(name, _)| name.eq_ignore_ascii_case(word)).map(|(_, ms)| *ms)
}

/// An error found while building the syntax tree rather than by the grammar (a literal out of
/// range), worded as ksqlDB words it: "Failed to prepare statement: line 1:40: ...". ksqlDB's
/// column there is one past the token's 1-based column (it adds one twice); we follow it.
fn prepare_error(message: &str, at: Position) -> Error {
    Error::user(message)
        .at(Position { line: at.line, column: at.column + 1 })
        .with_preamble("Failed to prepare statement")
}

/// Parses the text of a numeric token (with the sign of a folded unary minus) into a literal.
pub(crate) fn number_literal(text: &str, negative: bool) -> std::result::Result<Literal, String> {
    let signed = if negative { format!("-{text}") } else { text.to_string() };
    if text.contains(['e', 'E']) {
        match signed.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Literal::Double(v)),
            _ => Err(format!("Number overflows DOUBLE: {signed}")),
        }
    } else if text.contains('.') {
        Ok(Literal::Decimal(signed))
    } else {
        match signed.parse::<i64>() {
            Ok(v) => Ok(match i32::try_from(v) {
                Ok(small) => Literal::Int(small),
                Err(_) => Literal::Bigint(v),
            }),
            Err(_) => Err(format!("Invalid numeric literal: {signed}")),
        }
    }
}

/// The built-in type a (single-word) type name stands for, if any.
fn base_type(upper: &str) -> Option<TypeExpr> {
    Some(match upper {
        "BOOLEAN" => TypeExpr::Boolean,
        "INT" | "INTEGER" => TypeExpr::Int,
        "BIGINT" => TypeExpr::Bigint,
        "DOUBLE" => TypeExpr::Double,
        "STRING" | "VARCHAR" => TypeExpr::String,
        "BYTES" => TypeExpr::Bytes,
        "DATE" => TypeExpr::Date,
        "TIME" => TypeExpr::Time,
        "TIMESTAMP" => TypeExpr::Timestamp,
        _ => return None,
    })
}

/// The type of `DECIMAL '12.50'`: the precision and scale as written (here 4 and 2), as
/// ksqlDB derives them; `None` if the text is not a plain decimal number.
fn decimal_literal_type(text: &str) -> Option<TypeExpr> {
    let unsigned = text.trim().trim_start_matches(['-', '+']);
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if int_part.is_empty() && frac_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    let significant = format!("{int_part}{frac_part}").trim_start_matches('0').len();
    let scale = frac_part.len();
    let precision = significant.max(scale).max(1);
    Some(TypeExpr::Decimal(u8::try_from(precision).ok()?, i8::try_from(scale).ok()?))
}

fn comparison(token: &Token) -> Option<BinaryOp> {
    Some(match token {
        Token::Eq => BinaryOp::Eq,
        Token::Neq => BinaryOp::NotEq,
        Token::Lt => BinaryOp::Lt,
        Token::LtEq => BinaryOp::LtEq,
        Token::Gt => BinaryOp::Gt,
        Token::GtEq => BinaryOp::GtEq,
        _ => return None,
    })
}

/// A binary operator of a value expression and its binding power (higher binds tighter).
fn value_operator(token: &Token) -> Option<(BinaryOp, u8)> {
    Some(match token {
        Token::StringConcat => (BinaryOp::Concat, 1),
        Token::Plus => (BinaryOp::Plus, 2),
        Token::Minus => (BinaryOp::Minus, 2),
        Token::Mul => (BinaryOp::Multiply, 3),
        Token::Div => (BinaryOp::Divide, 3),
        Token::Mod => (BinaryOp::Modulo, 3),
        _ => return None,
    })
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(left), right: Box::new(right) }
}

impl Parser<'_> {
    /// `expression`: a boolean expression, the loosest level.
    pub(crate) fn parse_expr(&mut self) -> Result<Expr> {
        self.nested(|p| p.parse_or())
    }

    fn parse_or(&mut self) -> Result<Expr> {
        let mut left = self.parse_and()?;
        while self.eat_kw("OR") {
            let right = self.parse_and()?;
            left = binary(BinaryOp::Or, left, right);
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Expr> {
        let mut left = self.parse_not()?;
        while self.eat_kw("AND") {
            let right = self.parse_not()?;
            left = binary(BinaryOp::And, left, right);
        }
        Ok(left)
    }

    fn parse_not(&mut self) -> Result<Expr> {
        if self.eat_kw("NOT") {
            let expr = self.nested(|p| p.parse_not())?;
            return Ok(Expr::Unary { op: UnaryOp::Not, expr: Box::new(expr) });
        }
        self.parse_predicated()
    }

    /// A value expression followed by at most one predicate.
    fn parse_predicated(&mut self) -> Result<Expr> {
        let value = self.parse_value()?;
        if let Some(op) = comparison(self.peek()) {
            self.advance();
            let right = self.parse_value()?;
            return Ok(binary(op, value, right));
        }
        let negated = self.is_kw("NOT") && ["BETWEEN", "IN", "LIKE"].iter().any(|k| self.is_kw_at(1, k));
        if negated {
            self.advance();
        }
        if self.eat_kw("BETWEEN") {
            let low = self.parse_value()?;
            self.expect_kw("AND")?;
            let high = self.parse_value()?;
            return Ok(Expr::Between { expr: Box::new(value), low: Box::new(low), high: Box::new(high), negated });
        }
        if self.eat_kw("IN") {
            self.expect(&Token::LParen, "'('")?;
            let list = self.comma_separated(|p| p.parse_expr())?;
            self.expect(&Token::RParen, "')'")?;
            return Ok(Expr::InList { expr: Box::new(value), list, negated });
        }
        if self.eat_kw("LIKE") {
            let pattern = self.parse_value()?;
            let escape = if self.eat_kw("ESCAPE") { Some(self.parse_escape_char()?) } else { None };
            return Ok(Expr::Like { expr: Box::new(value), pattern: Box::new(pattern), escape, negated });
        }
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            if self.eat_kw("NULL") {
                return Ok(Expr::IsNull { expr: Box::new(value), negated });
            }
            if self.eat_kw("DISTINCT") {
                self.expect_kw("FROM")?;
                let right = self.parse_value()?;
                return Ok(Expr::IsDistinctFrom { left: Box::new(value), right: Box::new(right), negated });
            }
            return Err(self.error_expected(&["NULL", "DISTINCT FROM"]));
        }
        Ok(value)
    }

    fn parse_escape_char(&mut self) -> Result<char> {
        let at = self.here();
        let text = self.parse_string("an escape character in quotes")?;
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => {
                Err(Error::user(format!("Syntax Error: the LIKE escape must be one character, found '{text}'")).at(at))
            }
        }
    }

    /// `valueExpression`: arithmetic and concatenation over unary and primary expressions.
    pub(crate) fn parse_value(&mut self) -> Result<Expr> {
        self.nested(|p| p.parse_value_from(1))
    }

    /// Precedence climbing: parses operators binding at least as tightly as `min_power`.
    /// Operators of one level associate to the left, so chains loop rather than recurse.
    fn parse_value_from(&mut self, min_power: u8) -> Result<Expr> {
        let mut left = self.parse_unary()?;
        while let Some((op, power)) = value_operator(self.peek()) {
            if power < min_power {
                break;
            }
            self.advance();
            let right = self.parse_value_from(power + 1)?;
            left = binary(op, left, right);
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Expr> {
        match self.peek() {
            Token::Minus => {
                self.advance();
                // A minus in front of a number is part of the literal, so that
                // -2147483648 is an INT and -9223372036854775808 a BIGINT.
                if let Token::Number(text, _) = self.peek().clone() {
                    let at = self.here();
                    self.advance();
                    let literal = number_literal(&text, true).map_err(|m| prepare_error(&m, at))?;
                    return self.parse_postfix(Expr::Literal(literal));
                }
                let expr = self.nested(|p| p.parse_unary())?;
                Ok(Expr::Unary { op: UnaryOp::Minus, expr: Box::new(expr) })
            }
            Token::Plus => {
                self.advance();
                let expr = self.nested(|p| p.parse_unary())?;
                Ok(Expr::Unary { op: UnaryOp::Plus, expr: Box::new(expr) })
            }
            _ => {
                let primary = self.parse_primary()?;
                self.parse_postfix(primary)
            }
        }
    }

    /// Postfix operators: `[index]`, `->field` and then `AT TIME ZONE 'zone'`.
    fn parse_postfix(&mut self, mut expr: Expr) -> Result<Expr> {
        loop {
            match self.peek() {
                Token::LBracket => {
                    self.advance();
                    let index = self.parse_value()?;
                    self.expect(&Token::RBracket, "']'")?;
                    expr = Expr::Subscript { expr: Box::new(expr), index: Box::new(index) };
                }
                // `s->*` is a select item, not an expression: leave it to the select list.
                Token::Arrow if self.peek_at(1) != &Token::Mul => {
                    self.advance();
                    let field = self.parse_field_name()?;
                    expr = Expr::Dereference { expr: Box::new(expr), field };
                }
                _ => break,
            }
        }
        while self.is_kw("AT") {
            self.advance();
            self.expect_kw("TIME")?;
            self.expect_kw("ZONE")?;
            let zone = self.parse_string("a time zone in quotes")?;
            expr = Expr::AtTimeZone { expr: Box::new(expr), zone };
        }
        Ok(expr)
    }

    fn parse_primary(&mut self) -> Result<Expr> {
        let token = self.peek().clone();
        match token {
            Token::Number(text, _) => {
                let at = self.here();
                self.advance();
                let literal = number_literal(&text, false).map_err(|m| prepare_error(&m, at))?;
                Ok(Expr::Literal(literal))
            }
            Token::SingleQuotedString(s) => {
                self.advance();
                Ok(Expr::Literal(Literal::String(s)))
            }
            Token::LParen => {
                self.advance();
                let expr = self.parse_expr()?;
                self.expect(&Token::RParen, "')'")?;
                Ok(expr)
            }
            Token::Word(w) if w.quote_style.is_none() => self.parse_word_primary(&w.value),
            Token::Word(_) => {
                let name = self.parse_identifier("an expression")?;
                self.parse_name_primary(name)
            }
            _ => Err(self.error_expected(&["an expression"])),
        }
    }

    /// A primary starting with an unquoted word: a keyword form or a name.
    fn parse_word_primary(&mut self, word: &str) -> Result<Expr> {
        let upper = word.to_uppercase();
        let next = self.peek_at(1).clone();
        match (upper.as_str(), &next) {
            ("TRUE", _) => self.literal_word(Literal::Boolean(true)),
            ("FALSE", _) => self.literal_word(Literal::Boolean(false)),
            ("NULL", _) => self.literal_word(Literal::Null),
            ("CASE", _) => self.parse_case(),
            ("CAST", Token::LParen) => self.parse_cast(),
            ("ARRAY", Token::LBracket) => {
                self.advance();
                self.advance();
                let items = self.list_until(&Token::RBracket, "']'", |p| p.parse_expr())?;
                Ok(Expr::Array(items))
            }
            ("MAP", Token::LParen) => {
                self.advance();
                self.advance();
                let entries = self.list_until(&Token::RParen, "')'", |p| {
                    let key = p.parse_expr()?;
                    p.expect(&Token::Assignment, "':='")?;
                    let value = p.parse_expr()?;
                    Ok((key, value))
                })?;
                Ok(Expr::Map(entries))
            }
            ("STRUCT", Token::LParen) => {
                self.advance();
                self.advance();
                let fields = self.list_until(&Token::RParen, "')'", |p| {
                    let name = p.parse_field_name()?;
                    p.expect(&Token::Assignment, "':='")?;
                    let value = p.parse_expr()?;
                    Ok((name, value))
                })?;
                Ok(Expr::Struct(fields))
            }
            (_, Token::SingleQuotedString(value)) if !is_reserved(&upper) => {
                // `DATE '2020-01-01'`: ksqlDB's type constructor, `identifier STRING`.
                self.advance();
                self.advance();
                let ty = match upper.as_str() {
                    "DECIMAL" => decimal_literal_type(value).unwrap_or(TypeExpr::Named(upper)),
                    _ => base_type(&upper).unwrap_or(TypeExpr::Named(upper)),
                };
                Ok(Expr::TypedLiteral { ty, value: value.clone() })
            }
            _ => {
                let name = self.parse_identifier("an expression")?;
                self.parse_name_primary(name)
            }
        }
    }

    fn literal_word(&mut self, literal: Literal) -> Result<Expr> {
        self.advance();
        Ok(Expr::Literal(literal))
    }

    /// After a name: a function call, a qualified column or a plain column.
    fn parse_name_primary(&mut self, name: String) -> Result<Expr> {
        match self.peek() {
            Token::LParen => {
                self.advance();
                let args = self.parse_function_args()?;
                Ok(Expr::Function { name, args })
            }
            Token::Period => {
                self.advance();
                let column = self.parse_identifier("a column name")?;
                Ok(Expr::Column { qualifier: Some(name), name: column })
            }
            _ => Ok(Expr::Column { qualifier: None, name }),
        }
    }

    /// The arguments of a call, after its `(`: `*`, expressions, bare time units and lambdas.
    fn parse_function_args(&mut self) -> Result<Vec<Expr>> {
        if self.peek() == &Token::Mul && self.peek_at(1) == &Token::RParen {
            self.advance();
            self.advance();
            return Ok(vec![Expr::Star]);
        }
        self.list_until(&Token::RParen, "')'", |p| p.parse_function_arg())
    }

    /// One argument. A unit word standing alone (`SECONDS` in `TIMESTAMPADD(SECONDS, 1, ts)`)
    /// is a [`Expr::TimeUnit`] even where a column of that name could be meant: the planner
    /// knows which arguments take a unit and can read it back as a column elsewhere.
    fn parse_function_arg(&mut self) -> Result<Expr> {
        if let Some(params) = self.lambda_params() {
            let body = self.parse_expr()?;
            return Ok(Expr::Lambda { params, body: Box::new(body) });
        }
        if let Token::Word(w) = self.peek()
            && w.quote_style.is_none()
            && unit_millis(&w.value).is_some()
            && matches!(self.peek_at(1), Token::Comma | Token::RParen)
        {
            let unit = w.value.to_uppercase();
            self.advance();
            return Ok(Expr::TimeUnit(unit));
        }
        self.parse_expr()
    }

    /// If a lambda starts here (`x =>` or `(x, y) =>`), consumes its parameters and the arrow.
    fn lambda_params(&mut self) -> Option<Vec<String>> {
        let is_name = |t: &Token| matches!(t, Token::Word(_));
        if is_name(self.peek()) && self.peek_at(1) == &Token::RArrow {
            let name = self.identifier_text_at(0)?;
            self.advance();
            self.advance();
            return Some(vec![name]);
        }
        if self.peek() != &Token::LParen {
            return None;
        }
        // `(a, b, c) =>`: names separated by commas, then `) =>`.
        let mut names = Vec::new();
        let mut i = 1;
        loop {
            if !is_name(self.peek_at(i)) {
                return None;
            }
            names.push(self.identifier_text_at(i)?);
            match self.peek_at(i + 1) {
                Token::Comma => i += 2,
                Token::RParen if self.peek_at(i + 2) == &Token::RArrow => break,
                _ => return None,
            }
        }
        for _ in 0..i + 3 {
            self.advance();
        }
        Some(names)
    }

    fn parse_case(&mut self) -> Result<Expr> {
        self.expect_kw("CASE")?;
        let operand = if self.is_kw("WHEN") { None } else { Some(Box::new(self.parse_value()?)) };
        let mut whens = Vec::new();
        while self.eat_kw("WHEN") {
            let condition = self.parse_expr()?;
            self.expect_kw("THEN")?;
            let result = self.parse_expr()?;
            whens.push((condition, result));
        }
        if whens.is_empty() {
            return Err(self.error_expected(&["WHEN"]));
        }
        let else_result = if self.eat_kw("ELSE") { Some(Box::new(self.parse_expr()?)) } else { None };
        if !self.eat_kw("END") {
            let expected: &[&str] = if else_result.is_some() { &["END"] } else { &["WHEN", "ELSE", "END"] };
            return Err(self.error_expected(expected));
        }
        Ok(Expr::Case { operand, whens, else_result })
    }

    fn parse_cast(&mut self) -> Result<Expr> {
        self.expect_kw("CAST")?;
        self.expect(&Token::LParen, "'('")?;
        let expr = self.parse_expr()?;
        self.expect_kw("AS")?;
        let ty = self.parse_type()?;
        self.expect(&Token::RParen, "')'")?;
        Ok(Expr::Cast { expr: Box::new(expr), ty })
    }

    /// A struct field name (`s->f`, `STRUCT(f := ..)`, `STRUCT<f T>`): any word, since ksqlDB
    /// data is full of fields named KEY, VALUE, TYPE, ...
    pub(crate) fn parse_field_name(&mut self) -> Result<String> {
        match self.identifier_text_at(0) {
            Some(name) => {
                self.advance();
                Ok(name)
            }
            None => Err(self.error_expected(&["a field name"])),
        }
    }

    /// A literal as a property value or an ID: NULL, TRUE, FALSE, a string or a signed number.
    pub(crate) fn parse_literal(&mut self) -> Result<Literal> {
        let at = self.here();
        let negative = self.peek() == &Token::Minus;
        if negative {
            self.advance();
        }
        let literal = match self.peek().clone() {
            Token::Number(text, _) => number_literal(&text, negative).map_err(|m| prepare_error(&m, at))?,
            _ if negative => return Err(self.error_expected(&["a number"])),
            Token::SingleQuotedString(s) => Literal::String(s),
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("TRUE") => Literal::Boolean(true),
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("FALSE") => {
                Literal::Boolean(false)
            }
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("NULL") => Literal::Null,
            _ => return Err(self.error_expected(&["a literal"])),
        };
        self.advance();
        Ok(literal)
    }

    /// A type: `INT`, `DECIMAL(p, s)`, `ARRAY<T>`, `MAP<K, V>`, `STRUCT<f T, ..>`, a custom
    /// type's name, and ksqlDB's postfix `T ARRAY`.
    pub(crate) fn parse_type(&mut self) -> Result<TypeExpr> {
        self.nested(|p| {
            let mut ty = p.parse_type_inner()?;
            while p.is_kw("ARRAY") && !matches!(p.peek_at(1), Token::Lt) {
                p.advance();
                ty = TypeExpr::Array(Box::new(ty));
            }
            Ok(ty)
        })
    }

    fn parse_type_inner(&mut self) -> Result<TypeExpr> {
        let Token::Word(w) = self.peek().clone() else {
            return Err(self.error_expected(&["a type"]));
        };
        if w.quote_style.is_some() {
            self.advance();
            return Ok(TypeExpr::Named(w.value));
        }
        let upper = w.value.to_uppercase();
        match upper.as_str() {
            "ARRAY" => {
                self.advance();
                self.expect(&Token::Lt, "'<'")?;
                let item = self.parse_type()?;
                self.expect_gt()?;
                Ok(TypeExpr::Array(Box::new(item)))
            }
            "MAP" => {
                self.advance();
                self.expect(&Token::Lt, "'<'")?;
                let key = self.parse_type()?;
                self.expect(&Token::Comma, "','")?;
                let value = self.parse_type()?;
                self.expect_gt()?;
                Ok(TypeExpr::Map(Box::new(key), Box::new(value)))
            }
            "STRUCT" => {
                self.advance();
                // `STRUCT<>` reaches us as the operator `<>`.
                if self.eat(&Token::Neq) {
                    return Ok(TypeExpr::Struct(Vec::new()));
                }
                self.expect(&Token::Lt, "'<'")?;
                let mut fields = Vec::new();
                if !self.eat_gt() {
                    loop {
                        let name = self.parse_field_name()?;
                        let ty = self.parse_type()?;
                        fields.push((name, ty));
                        if self.eat(&Token::Comma) {
                            continue;
                        }
                        self.expect_gt()?;
                        break;
                    }
                }
                Ok(TypeExpr::Struct(fields))
            }
            "DECIMAL" => {
                self.advance();
                self.expect(&Token::LParen, "'('")?;
                let precision = self.parse_type_number("a precision")?;
                self.expect(&Token::Comma, "','")?;
                let scale = self.parse_type_number("a scale")?;
                self.expect(&Token::RParen, "')'")?;
                let at = self.here();
                match (u8::try_from(precision), i8::try_from(scale)) {
                    (Ok(p), Ok(s)) => Ok(TypeExpr::Decimal(p, s)),
                    _ => Err(Error::user(format!("DECIMAL({precision}, {scale}) is out of range")).at(at)),
                }
            }
            _ if is_reserved(&upper) => Err(self.error_expected(&["a type"])),
            _ => {
                self.advance();
                let ty = base_type(&upper).unwrap_or(TypeExpr::Named(upper));
                // ksqlDB accepts and ignores parameters on base types, as in `VARCHAR(10)`.
                if !matches!(ty, TypeExpr::Named(_)) && self.eat(&Token::LParen) {
                    self.list_until(&Token::RParen, "')'", |p| match p.peek() {
                        Token::Number(..) | Token::SingleQuotedString(_) => {
                            p.advance();
                            Ok(())
                        }
                        _ => Err(p.error_expected(&["a type parameter"])),
                    })?;
                }
                Ok(ty)
            }
        }
    }

    fn parse_type_number(&mut self, what: &str) -> Result<i64> {
        let negative = self.eat(&Token::Minus);
        match self.peek().clone() {
            Token::Number(text, _) => match number_literal(&text, negative) {
                Ok(Literal::Int(v)) => {
                    self.advance();
                    Ok(i64::from(v))
                }
                _ => Err(self.error_expected(&[what])),
            },
            _ => Err(self.error_expected(&[what])),
        }
    }

    /// `n unit` in milliseconds.
    pub(crate) fn parse_duration(&mut self) -> Result<u64> {
        let at = self.here();
        let amount = self.parse_unsigned("a number")?;
        let unit = match self.peek() {
            Token::Word(w) if w.quote_style.is_none() => unit_millis(&w.value),
            _ => None,
        };
        let Some(unit) = unit else {
            let names: Vec<&str> = TIME_UNITS.iter().map(|(n, _)| *n).collect();
            return Err(self.error_expected_among("a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS)", &names));
        };
        self.advance();
        amount.checked_mul(unit).ok_or_else(|| Error::user("Syntax Error: the duration is too long").at(at))
    }

    /// A non-negative integer (LIMIT, sizes, intervals).
    pub(crate) fn parse_unsigned(&mut self, what: &str) -> Result<u64> {
        if let Token::Number(text, _) = self.peek()
            && let Ok(v) = text.parse::<u64>()
        {
            self.advance();
            return Ok(v);
        }
        Err(self.error_expected(&[what]))
    }
}

#[cfg(test)]
mod tests {
    use crate::sql::ast::{BinaryOp as B, Expr, Literal, TypeExpr, UnaryOp};
    use crate::sql::parser::{parse_expression, parse_type};

    fn e(sql: &str) -> Expr {
        parse_expression(sql).unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    fn col(name: &str) -> Expr {
        Expr::Column { qualifier: None, name: name.to_string() }
    }

    fn int(v: i32) -> Expr {
        Expr::Literal(Literal::Int(v))
    }

    fn bin(op: B, l: Expr, r: Expr) -> Expr {
        Expr::Binary { op, left: Box::new(l), right: Box::new(r) }
    }

    fn not(x: Expr) -> Expr {
        Expr::Unary { op: UnaryOp::Not, expr: Box::new(x) }
    }

    fn neg(x: Expr) -> Expr {
        Expr::Unary { op: UnaryOp::Minus, expr: Box::new(x) }
    }

    fn s(v: &str) -> Expr {
        Expr::Literal(Literal::String(v.to_string()))
    }

    #[test]
    fn boolean_precedence() {
        assert_eq!(e("a OR b AND c"), bin(B::Or, col("A"), bin(B::And, col("B"), col("C"))));
        assert_eq!(e("a AND b OR c"), bin(B::Or, bin(B::And, col("A"), col("B")), col("C")));
        assert_eq!(e("NOT a = 1 AND b"), bin(B::And, not(bin(B::Eq, col("A"), int(1))), col("B")));
        assert_eq!(e("NOT NOT a"), not(not(col("A"))));
        assert_eq!(e("a or b or c"), bin(B::Or, bin(B::Or, col("A"), col("B")), col("C")));
    }

    #[test]
    fn arithmetic_precedence() {
        assert_eq!(e("a + b * c"), bin(B::Plus, col("A"), bin(B::Multiply, col("B"), col("C"))));
        assert_eq!(e("a - b - c"), bin(B::Minus, bin(B::Minus, col("A"), col("B")), col("C")));
        assert_eq!(e("a / b % c"), bin(B::Modulo, bin(B::Divide, col("A"), col("B")), col("C")));
        assert_eq!(e("(a + b) * c"), bin(B::Multiply, bin(B::Plus, col("A"), col("B")), col("C")));
        // `||` binds more loosely than `+`, as in ksqlDB's grammar.
        assert_eq!(e("a || b + c"), bin(B::Concat, col("A"), bin(B::Plus, col("B"), col("C"))));
        assert_eq!(e("-a * b"), bin(B::Multiply, neg(col("A")), col("B")));
        assert_eq!(e("- - a"), neg(neg(col("A"))));
        assert_eq!(e("+a"), Expr::Unary { op: UnaryOp::Plus, expr: Box::new(col("A")) });
        assert_eq!(
            e("a + b = c * d"),
            bin(B::Eq, bin(B::Plus, col("A"), col("B")), bin(B::Multiply, col("C"), col("D")))
        );
    }

    #[test]
    fn comparisons() {
        for (text, op) in [
            ("=", B::Eq),
            ("<>", B::NotEq),
            ("!=", B::NotEq),
            ("<", B::Lt),
            ("<=", B::LtEq),
            (">", B::Gt),
            (">=", B::GtEq),
        ] {
            assert_eq!(e(&format!("a {text} 1")), bin(op, col("A"), int(1)), "{text}");
        }
        // Predicates do not chain.
        assert!(parse_expression("a = b = c").is_err());
        assert!(parse_expression("a IS NULL IS NULL").is_err());
    }

    #[test]
    fn predicates() {
        assert_eq!(
            e("a NOT BETWEEN 1 AND 2 AND b"),
            bin(
                B::And,
                Expr::Between {
                    expr: Box::new(col("A")),
                    low: Box::new(int(1)),
                    high: Box::new(int(2)),
                    negated: true
                },
                col("B")
            )
        );
        assert_eq!(
            e("a IN (1, 2)"),
            Expr::InList { expr: Box::new(col("A")), list: vec![int(1), int(2)], negated: false }
        );
        assert_eq!(e("a NOT IN (1)"), Expr::InList { expr: Box::new(col("A")), list: vec![int(1)], negated: true });
        assert_eq!(
            e("a NOT LIKE 'x!%' ESCAPE '!'"),
            Expr::Like { expr: Box::new(col("A")), pattern: Box::new(s("x!%")), escape: Some('!'), negated: true }
        );
        assert_eq!(
            e("a LIKE b"),
            Expr::Like { expr: Box::new(col("A")), pattern: Box::new(col("B")), escape: None, negated: false }
        );
        assert!(parse_expression("a LIKE 'x' ESCAPE 'ab'").is_err());
        assert_eq!(e("a IS NULL"), Expr::IsNull { expr: Box::new(col("A")), negated: false });
        assert_eq!(e("a IS NOT NULL"), Expr::IsNull { expr: Box::new(col("A")), negated: true });
        assert_eq!(
            e("a IS NOT DISTINCT FROM b + 1"),
            Expr::IsDistinctFrom {
                left: Box::new(col("A")),
                right: Box::new(bin(B::Plus, col("B"), int(1))),
                negated: true
            }
        );
        assert_eq!(
            e("a IS DISTINCT FROM b"),
            Expr::IsDistinctFrom { left: Box::new(col("A")), right: Box::new(col("B")), negated: false }
        );
    }

    #[test]
    fn literals() {
        assert_eq!(e("1"), int(1));
        assert_eq!(e("2147483647"), int(i32::MAX));
        assert_eq!(e("-2147483648"), int(i32::MIN));
        assert_eq!(e("2147483648"), Expr::Literal(Literal::Bigint(2_147_483_648)));
        assert_eq!(e("-9223372036854775808"), Expr::Literal(Literal::Bigint(i64::MIN)));
        assert!(parse_expression("9223372036854775808").is_err());
        assert!(parse_expression("-9223372036854775809").is_err());
        assert_eq!(e("1.50"), Expr::Literal(Literal::Decimal("1.50".into())));
        assert_eq!(e("-1.5"), Expr::Literal(Literal::Decimal("-1.5".into())));
        assert_eq!(e("1.5E3"), Expr::Literal(Literal::Double(1500.0)));
        assert_eq!(e("-1e-3"), Expr::Literal(Literal::Double(-0.001)));
        assert!(parse_expression("1.7976931348623159E308").is_err());
        assert_eq!(e("'it''s'"), s("it's"));
        assert_eq!(e("TRUE"), Expr::Literal(Literal::Boolean(true)));
        assert_eq!(e("false"), Expr::Literal(Literal::Boolean(false)));
        assert_eq!(e("NULL"), Expr::Literal(Literal::Null));
        // A minus before a column or a parenthesis stays an operator.
        assert_eq!(e("-(1)"), neg(int(1)));
        assert_eq!(e("1 - -2"), bin(B::Minus, int(1), int(-2)));
        assert_eq!(e("DATE '2020-01-01'"), Expr::TypedLiteral { ty: TypeExpr::Date, value: "2020-01-01".into() });
        assert_eq!(e("DECIMAL '12.50'"), Expr::TypedLiteral { ty: TypeExpr::Decimal(4, 2), value: "12.50".into() });
        assert_eq!(e("DECIMAL '-0.05'"), Expr::TypedLiteral { ty: TypeExpr::Decimal(2, 2), value: "-0.05".into() });
        assert_eq!(e("time '10:00'"), Expr::TypedLiteral { ty: TypeExpr::Time, value: "10:00".into() });
        assert_eq!(
            e("TIMESTAMP '2020-01-01T00:00'"),
            Expr::TypedLiteral { ty: TypeExpr::Timestamp, value: "2020-01-01T00:00".into() }
        );
    }

    #[test]
    fn names() {
        assert_eq!(e("abc"), col("ABC"));
        assert_eq!(e("\"abc\""), col("abc"));
        assert_eq!(e("`a b`"), col("a b"));
        assert_eq!(e("1abc"), col("1ABC"));
        assert_eq!(e("t.c"), Expr::Column { qualifier: Some("T".into()), name: "C".into() });
        assert_eq!(e("`t`.\"c\""), Expr::Column { qualifier: Some("t".into()), name: "c".into() });
        for keyword in ["VALUE", "KEY", "TIMESTAMP", "SIZE", "DATE", "TIME", "WINDOWSTART", "ROWTIME", "TYPE", "SOURCE"]
        {
            assert_eq!(e(keyword), col(keyword));
            assert_eq!(e(&keyword.to_lowercase()), col(keyword));
        }
        assert!(parse_expression("FROM").is_err());
        assert!(parse_expression("select").is_err());
    }

    #[test]
    fn postfix_operators() {
        let deref = |x: Expr, f: &str| Expr::Dereference { expr: Box::new(x), field: f.to_string() };
        let sub = |x: Expr, i: Expr| Expr::Subscript { expr: Box::new(x), index: Box::new(i) };
        assert_eq!(e("a->b->c"), deref(deref(col("A"), "B"), "C"));
        assert_eq!(e("t.a->b"), deref(Expr::Column { qualifier: Some("T".into()), name: "A".into() }, "B"));
        assert_eq!(e("a[1][-1]"), sub(sub(col("A"), int(1)), int(-1)));
        assert_eq!(e("a['k']->v"), deref(sub(col("A"), s("k")), "V"));
        assert_eq!(e("a->`Mixed`"), deref(col("A"), "Mixed"));
        assert_eq!(e("a->key"), deref(col("A"), "KEY"));
        assert_eq!(e("f(x)[1]"), sub(Expr::Function { name: "F".into(), args: vec![col("X")] }, int(1)));
        assert_eq!(e("ts AT TIME ZONE 'UTC'"), Expr::AtTimeZone { expr: Box::new(col("TS")), zone: "UTC".into() });
        // AT TIME ZONE binds tighter than unary minus.
        assert_eq!(
            e("-ts AT TIME ZONE 'UTC'"),
            neg(Expr::AtTimeZone { expr: Box::new(col("TS")), zone: "UTC".into() })
        );
    }

    #[test]
    fn calls_and_constructors() {
        assert_eq!(e("count(*)"), Expr::Function { name: "COUNT".into(), args: vec![Expr::Star] });
        assert_eq!(e("COUNT()"), Expr::Function { name: "COUNT".into(), args: vec![] });
        assert_eq!(
            e("TIMESTAMPADD(SECONDS, 1, ts)"),
            Expr::Function {
                name: "TIMESTAMPADD".into(),
                args: vec![Expr::TimeUnit("SECONDS".into()), int(1), col("TS")]
            }
        );
        assert_eq!(
            e("dateadd(days, -5, date)"),
            Expr::Function { name: "DATEADD".into(), args: vec![Expr::TimeUnit("DAYS".into()), int(-5), col("DATE")] }
        );
        assert_eq!(
            e("TRANSFORM(arr, x => x + 1)"),
            Expr::Function {
                name: "TRANSFORM".into(),
                args: vec![
                    col("ARR"),
                    Expr::Lambda { params: vec!["X".into()], body: Box::new(bin(B::Plus, col("X"), int(1))) }
                ]
            }
        );
        assert_eq!(
            e("REDUCE(arr, 0, (s, x) => s + x)"),
            Expr::Function {
                name: "REDUCE".into(),
                args: vec![
                    col("ARR"),
                    int(0),
                    Expr::Lambda {
                        params: vec!["S".into(), "X".into()],
                        body: Box::new(bin(B::Plus, col("S"), col("X")))
                    }
                ]
            }
        );
        assert_eq!(e("ARRAY[1, 2]"), Expr::Array(vec![int(1), int(2)]));
        assert_eq!(e("ARRAY[]"), Expr::Array(vec![]));
        assert_eq!(e("MAP('a' := 1, 'b':=2)"), Expr::Map(vec![(s("a"), int(1)), (s("b"), int(2))]));
        assert_eq!(e("MAP(k:=v)"), Expr::Map(vec![(col("K"), col("V"))]));
        assert_eq!(e("STRUCT(a := 1, `b` := x)"), Expr::Struct(vec![("A".into(), int(1)), ("b".into(), col("X"))]));
        assert_eq!(e("STRUCT()"), Expr::Struct(vec![]));
        // Without their brackets these words are plain names.
        assert_eq!(e("array"), col("ARRAY"));
        assert_eq!(e("map"), col("MAP"));
    }

    #[test]
    fn case_and_cast() {
        assert_eq!(
            e("CASE WHEN a > 1 THEN 'x' WHEN a > 0 THEN 'y' ELSE 'z' END"),
            Expr::Case {
                operand: None,
                whens: vec![(bin(B::Gt, col("A"), int(1)), s("x")), (bin(B::Gt, col("A"), int(0)), s("y"))],
                else_result: Some(Box::new(s("z"))),
            }
        );
        assert_eq!(
            e("CASE a WHEN 1 THEN 'x' END"),
            Expr::Case { operand: Some(Box::new(col("A"))), whens: vec![(int(1), s("x"))], else_result: None }
        );
        assert!(parse_expression("CASE a END").is_err());
        assert!(parse_expression("CASE WHEN a THEN 1").is_err());
        assert_eq!(e("CAST(a AS BIGINT)"), Expr::Cast { expr: Box::new(col("A")), ty: TypeExpr::Bigint });
        assert_eq!(e("CAST(a AS DECIMAL(5, 2))"), Expr::Cast { expr: Box::new(col("A")), ty: TypeExpr::Decimal(5, 2) });
        assert!(parse_expression("CAST(a AS NULL)").is_err());
    }

    #[test]
    fn types() {
        let t = |sql: &str| parse_type(sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
        assert_eq!(t("int"), TypeExpr::Int);
        assert_eq!(t("INTEGER"), TypeExpr::Int);
        assert_eq!(t("VARCHAR"), TypeExpr::String);
        assert_eq!(t("VARCHAR(10)"), TypeExpr::String);
        assert_eq!(t("BYTES"), TypeExpr::Bytes);
        assert_eq!(t("DECIMAL(10, 2)"), TypeExpr::Decimal(10, 2));
        assert!(parse_type("DECIMAL(1000, 2)").is_err());
        assert_eq!(t("ARRAY<ARRAY<INT>>"), TypeExpr::Array(Box::new(TypeExpr::Array(Box::new(TypeExpr::Int)))));
        assert_eq!(
            t("MAP<STRING, ARRAY<MAP<STRING, INT>>>"),
            TypeExpr::Map(
                Box::new(TypeExpr::String),
                Box::new(TypeExpr::Array(Box::new(TypeExpr::Map(Box::new(TypeExpr::String), Box::new(TypeExpr::Int)))))
            )
        );
        assert_eq!(
            t("STRUCT<key STRING, `value` BYTES, s STRUCT<>>"),
            TypeExpr::Struct(vec![
                ("KEY".into(), TypeExpr::String),
                ("value".into(), TypeExpr::Bytes),
                ("S".into(), TypeExpr::Struct(vec![]))
            ])
        );
        assert_eq!(t("address"), TypeExpr::Named("ADDRESS".into()));
        assert_eq!(t("INT ARRAY"), TypeExpr::Array(Box::new(TypeExpr::Int)));
        assert!(parse_type("ARRAY<INT").is_err());
        assert!(parse_type("MAP<INT>").is_err());
    }

    #[test]
    fn nesting_is_limited() {
        let ok = format!("{}1{}", "(".repeat(20), ")".repeat(20));
        assert_eq!(e(&ok), int(1));
        let deep = format!("{}1{}", "(".repeat(1000), ")".repeat(1000));
        let err = parse_expression(&deep).unwrap_err();
        assert!(err.message().contains("nested"), "{err}");
        assert!(err.position().is_some());
    }
}
