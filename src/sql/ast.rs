//! The syntax tree of the ksqlDB dialect.
//!
//! Names are already normalized by the parser: unquoted identifiers are upper-cased, quoted
//! ones keep their case. Durations are in milliseconds.

use std::collections::BTreeMap;

use crate::error::Position;

/// One parsed statement with the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    pub statement: Statement,
    /// The statement's own text, without the trailing `;`.
    pub text: String,
    /// Where the statement starts in the whole input.
    pub position: Position,
}

/// A statement of the dialect.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name [(elements)] [WITH (...)]`
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO name [WITH (...)] SELECT ...`
    InsertIntoSelect { target: String, properties: Properties, query: Box<Query> },
    /// `INSERT INTO name [(columns)] VALUES (...)`
    InsertValues { target: String, columns: Option<Vec<String>>, values: Vec<Expr> },
    /// A push (`EMIT CHANGES|FINAL`) or pull (no EMIT) query.
    Query(Box<Query>),
    /// `SHOW|LIST STREAMS|TABLES|QUERIES|TOPICS|FUNCTIONS|PROPERTIES|TYPES|VARIABLES|CONNECTORS`
    Show(Show),
    /// `DESCRIBE name [EXTENDED]`, `DESCRIBE STREAMS|TABLES [EXTENDED]`, `DESCRIBE FUNCTION f`,
    /// `DESCRIBE CONNECTOR c`
    Describe(Describe),
    /// `EXPLAIN statement` or `EXPLAIN query_id`
    Explain(Explain),
    /// `PRINT 'topic' [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`
    Print { topic: String, from_beginning: bool, interval: Option<u64>, limit: Option<u64> },
    /// `TERMINATE id|ALL`
    Terminate(QueryTarget),
    /// `PAUSE id|ALL`
    Pause(QueryTarget),
    /// `RESUME id|ALL`
    Resume(QueryTarget),
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
    DropSource { kind: SourceKind, name: String, if_exists: bool, delete_topic: bool },
    /// `ALTER STREAM|TABLE name ADD [COLUMN] c type, ...`
    AlterSource { kind: SourceKind, name: String, add_columns: Vec<(String, TypeExpr)> },
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`
    CreateType { name: String, if_not_exists: bool, ty: TypeExpr },
    /// `DROP TYPE [IF EXISTS] name`
    DropType { name: String, if_exists: bool },
    /// `SET 'name' = 'value'`
    SetProperty { name: String, value: String },
    /// `UNSET 'name'`
    UnsetProperty { name: String },
    /// `ALTER SYSTEM 'name' = 'value'`
    AlterSystem { name: String, value: String },
    /// `DEFINE name = 'value'`
    DefineVariable { name: String, value: String },
    /// `UNDEFINE name`
    UndefineVariable { name: String },
    /// `RUN SCRIPT 'path'`
    RunScript { path: String },
    /// `CREATE SOURCE|SINK CONNECTOR [IF NOT EXISTS] name WITH (...)`
    CreateConnector { name: String, source: bool, if_not_exists: bool, properties: Properties },
    /// `DROP CONNECTOR [IF EXISTS] name`
    DropConnector { name: String, if_exists: bool },
    /// `ASSERT [NOT EXISTS] TOPIC name [WITH (...)] [TIMEOUT n unit]`
    AssertTopic { name: String, exists: bool, properties: Properties, timeout_ms: Option<u64> },
    /// `ASSERT [NOT EXISTS] SCHEMA [SUBJECT s] [ID n] [TIMEOUT n unit]`
    AssertSchema { subject: Option<String>, id: Option<i64>, exists: bool, timeout_ms: Option<u64> },
}

/// STREAM or TABLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Stream,
    Table,
}

/// A `WITH (...)` list: upper-cased property names to literal values.
pub type Properties = BTreeMap<String, Literal>;

/// `CREATE ... STREAM|TABLE name (elements) WITH (...)`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub name: String,
    pub or_replace: bool,
    pub if_not_exists: bool,
    /// `CREATE SOURCE STREAM|TABLE`: read-only.
    pub is_source: bool,
    pub elements: Vec<TableElement>,
    pub properties: Properties,
}

/// A column in a CREATE statement.
#[derive(Debug, Clone, PartialEq)]
pub struct TableElement {
    pub name: String,
    pub ty: TypeExpr,
    pub constraint: ColumnConstraint,
}

/// What kind of column an element is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnConstraint {
    None,
    /// `KEY` (streams).
    Key,
    /// `PRIMARY KEY` (tables).
    PrimaryKey,
    /// `HEADERS`: all headers as ARRAY<STRUCT<KEY STRING, VALUE BYTES>>.
    Headers,
    /// `HEADER('name')`: one header's bytes.
    Header(String),
}

/// `CREATE STREAM|TABLE name WITH (...) AS SELECT ...`
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub name: String,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub properties: Properties,
    pub query: Box<Query>,
}

/// What SHOW lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    Streams {
        extended: bool,
    },
    Tables {
        extended: bool,
    },
    Queries {
        extended: bool,
    },
    Topics {
        all: bool,
        extended: bool,
    },
    Functions,
    Properties,
    Types,
    Variables,
    /// `SHOW [SOURCE|SINK] CONNECTORS`; `Some(true)` for SOURCE, `Some(false)` for SINK.
    Connectors {
        source: Option<bool>,
    },
    ConnectorPlugins,
}

/// What DESCRIBE describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Describe {
    Source {
        name: String,
        extended: bool,
    },
    /// `DESCRIBE STREAMS|TABLES [EXTENDED]`
    AllSources {
        kind: SourceKind,
        extended: bool,
    },
    Function {
        name: String,
    },
    Connector {
        name: String,
    },
}

/// What EXPLAIN explains.
#[derive(Debug, Clone, PartialEq)]
pub enum Explain {
    Statement(Box<Statement>),
    QueryId(String),
}

/// A query named by TERMINATE, PAUSE or RESUME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryTarget {
    Id(String),
    All,
}

/// `SELECT ... FROM ... [WINDOW] [WHERE] [GROUP BY] [PARTITION BY] [HAVING] [EMIT] [LIMIT]`
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Relation,
    pub window: Option<WindowSpec>,
    pub where_clause: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
}

/// One item of the select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`
    Wildcard,
    /// `source.*`
    QualifiedWildcard(String),
    /// `struct_expr->*`
    StructWildcard(Expr),
    /// `expr [AS alias]`
    Expr { expr: Expr, alias: Option<String> },
}

/// The FROM clause: a source, possibly joined to others.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub source: AliasedSource,
    pub joins: Vec<Join>,
}

/// `name [[AS] alias]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasedSource {
    pub name: String,
    pub alias: Option<String>,
}

/// `[INNER|LEFT|RIGHT|FULL] JOIN source [WITHIN ...] [GRACE PERIOD ...] ON expr`
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub kind: JoinKind,
    pub source: AliasedSource,
    pub within: Option<JoinWindow>,
    pub grace_ms: Option<u64>,
    pub on: Expr,
}

/// The join types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

/// `WITHIN n unit` (before = after) or `WITHIN (before, after)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindow {
    pub before_ms: u64,
    pub after_ms: u64,
}

/// `WINDOW TUMBLING|HOPPING|SESSION (...)`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    pub kind: WindowKind,
    pub retention_ms: Option<u64>,
    pub grace_ms: Option<u64>,
}

/// The window shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    Tumbling { size_ms: u64 },
    Hopping { size_ms: u64, advance_ms: u64 },
    Session { gap_ms: u64 },
}

/// `EMIT CHANGES` or `EMIT FINAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Changes,
    Final,
}

/// A type as written: a built-in type or the name of a `CREATE TYPE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    Boolean,
    Int,
    Bigint,
    Double,
    Decimal(u8, i8),
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<TypeExpr>),
    Map(Box<TypeExpr>, Box<TypeExpr>),
    Struct(Vec<(String, TypeExpr)>),
    /// A custom type from CREATE TYPE.
    Named(String),
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Boolean(bool),
    /// An integer literal that fits INT.
    Int(i32),
    /// An integer literal too large for INT.
    Bigint(i64),
    /// `1.5`: a DECIMAL literal, kept as written.
    Decimal(String),
    /// `1.5E1`: a DOUBLE literal.
    Double(f64),
    String(String),
}

/// Binary operators, in ksqlDB's precedence groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Multiply,
    Divide,
    Modulo,
    /// `||`
    Concat,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Minus,
    Plus,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `[qualifier.]name`; pseudo-columns (ROWTIME, WINDOWSTART, ...) are columns too.
    Column {
        qualifier: Option<String>,
        name: String,
    },
    Literal(Literal),
    /// `*` as a function argument: `COUNT(*)`.
    Star,
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `expr IS [NOT] NULL`
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `left IS [NOT] DISTINCT FROM right`
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `expr [NOT] IN (list)`
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `expr [NOT] LIKE pattern [ESCAPE 'c']`
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<char>,
        negated: bool,
    },
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_result: Option<Box<Expr>>,
    },
    /// `CAST(expr AS type)`
    Cast {
        expr: Box<Expr>,
        ty: TypeExpr,
    },
    /// `name(args)`; the name is upper-cased.
    Function {
        name: String,
        args: Vec<Expr>,
    },
    /// `expr[index]`: 1-based for arrays (negative from the end), a key for maps.
    Subscript {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `expr->field`
    Dereference {
        expr: Box<Expr>,
        field: String,
    },
    /// `ARRAY[a, b]`
    Array(Vec<Expr>),
    /// `MAP(k := v, ...)`
    Map(Vec<(Expr, Expr)>),
    /// `STRUCT(name := v, ...)`
    Struct(Vec<(String, Expr)>),
    /// `x => body` or `(x, y) => body`
    Lambda {
        params: Vec<String>,
        body: Box<Expr>,
    },
    /// A bare time unit as a function argument: `TIMESTAMPADD(SECONDS, 1, ts)`.
    TimeUnit(String),
    /// `expr AT TIME ZONE 'zone'`
    AtTimeZone {
        expr: Box<Expr>,
        zone: String,
    },
    /// A typed literal such as `DATE '2020-01-01'`, `TIMESTAMP '...'`.
    TypedLiteral {
        ty: TypeExpr,
        value: String,
    },
}

impl Expr {
    /// A copy of this expression with `f` applied to each direct child expression. Lambda
    /// bodies are left as they are: their parameters are not columns.
    pub fn map_children<E>(&self, f: &mut impl FnMut(&Expr) -> Result<Expr, E>) -> Result<Expr, E> {
        let b = |e: &Expr, f: &mut dyn FnMut(&Expr) -> Result<Expr, E>| f(e).map(Box::new);
        Ok(match self {
            Expr::Unary { op, expr } => Expr::Unary { op: *op, expr: b(expr, f)? },
            Expr::Binary { op, left, right } => Expr::Binary { op: *op, left: b(left, f)?, right: b(right, f)? },
            Expr::IsNull { expr, negated } => Expr::IsNull { expr: b(expr, f)?, negated: *negated },
            Expr::IsDistinctFrom { left, right, negated } => {
                Expr::IsDistinctFrom { left: b(left, f)?, right: b(right, f)?, negated: *negated }
            }
            Expr::Between { expr, low, high, negated } => {
                Expr::Between { expr: b(expr, f)?, low: b(low, f)?, high: b(high, f)?, negated: *negated }
            }
            Expr::InList { expr, list, negated } => Expr::InList {
                expr: b(expr, f)?,
                list: list.iter().map(&mut *f).collect::<Result<_, E>>()?,
                negated: *negated,
            },
            Expr::Like { expr, pattern, escape, negated } => {
                Expr::Like { expr: b(expr, f)?, pattern: b(pattern, f)?, escape: *escape, negated: *negated }
            }
            Expr::Case { operand, whens, else_result } => Expr::Case {
                operand: match operand {
                    Some(o) => Some(b(o, f)?),
                    None => None,
                },
                whens: whens.iter().map(|(w, t)| Ok((f(w)?, f(t)?))).collect::<Result<_, E>>()?,
                else_result: match else_result {
                    Some(e) => Some(b(e, f)?),
                    None => None,
                },
            },
            Expr::Cast { expr, ty } => Expr::Cast { expr: b(expr, f)?, ty: ty.clone() },
            Expr::Function { name, args } => {
                Expr::Function { name: name.clone(), args: args.iter().map(&mut *f).collect::<Result<_, E>>()? }
            }
            Expr::Subscript { expr, index } => Expr::Subscript { expr: b(expr, f)?, index: b(index, f)? },
            Expr::Dereference { expr, field } => Expr::Dereference { expr: b(expr, f)?, field: field.clone() },
            Expr::Array(items) => Expr::Array(items.iter().map(&mut *f).collect::<Result<_, E>>()?),
            Expr::Map(entries) => Expr::Map(entries.iter().map(|(k, v)| Ok((f(k)?, f(v)?))).collect::<Result<_, E>>()?),
            Expr::Struct(fields) => {
                Expr::Struct(fields.iter().map(|(n, v)| Ok((n.clone(), f(v)?))).collect::<Result<_, E>>()?)
            }
            Expr::AtTimeZone { expr, zone } => Expr::AtTimeZone { expr: b(expr, f)?, zone: zone.clone() },
            Expr::Column { .. }
            | Expr::Literal(_)
            | Expr::Star
            | Expr::Lambda { .. }
            | Expr::TimeUnit(_)
            | Expr::TypedLiteral { .. } => self.clone(),
        })
    }
}
