//! Translation of ksqlDB expressions into DataFusion expressions.
//!
//! The syntax tree's [`ast::Expr`] becomes a DataFusion logical [`Expr`] over the input schema;
//! [`ExprPlanner::physical`] then lets DataFusion coerce types and compile it into a
//! [`PhysicalExpr`] that operators evaluate on Arrow batches. ksqlDB's forms that DataFusion
//! spells differently (1-based subscripts, `->` dereference, `MAP(k := v)`, lambdas) are
//! rewritten here, in one place.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::expr::{Case, Cast, InList, Like, ScalarFunction};
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Operator, lit};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::prelude::SessionContext;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::functions;
use crate::functions::lambda::{LambdaBody, LambdaKind, LambdaUdf};
use crate::plan::coerce;
use crate::sql::ast::{self, BinaryOp, Literal, TypeExpr, UnaryOp};
use crate::sql::types::SqlType;

/// Plans expressions over one input schema.
pub struct ExprPlanner<'a> {
    schema: SchemaRef,
    df_schema: DFSchema,
    state: Arc<SessionState>,
    catalog: &'a Catalog,
    /// Names a column reference may be qualified with (the source name and its alias).
    qualifiers: Vec<String>,
    /// Inside a lambda body, arithmetic fails on a NULL operand (see
    /// [`functions::lambda::strict_operand_udf`]).
    strict_arithmetic: bool,
}

/// The DataFusion session every planner compiles with. Building one registers every built-in
/// function and rule (a large share of a pull query's cost when done per query), and nothing
/// here changes it afterwards, so one is built once and shared.
fn shared_state() -> Arc<SessionState> {
    static STATE: std::sync::OnceLock<Arc<SessionState>> = std::sync::OnceLock::new();
    STATE.get_or_init(|| Arc::new(SessionContext::new().state())).clone()
}

impl<'a> ExprPlanner<'a> {
    /// A planner over `schema`; `qualifiers` are the names `src.col` may use.
    pub fn new(schema: SchemaRef, catalog: &'a Catalog, qualifiers: Vec<String>) -> Result<Self> {
        let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
        Ok(Self { schema, df_schema, state: shared_state(), catalog, qualifiers, strict_arithmetic: false })
    }

    /// The input schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Translates and compiles an expression.
    pub fn physical(&self, expr: &ast::Expr) -> Result<Arc<dyn PhysicalExpr>> {
        let logical = self.logical(expr)?;
        Ok(self.state.create_physical_expr(logical, &self.df_schema)?)
    }

    /// Compiles a call of `udf` (a function outside the ksqlDB library) on `args`.
    pub fn physical_call(
        &self,
        udf: Arc<datafusion::logical_expr::ScalarUDF>,
        args: &[ast::Expr],
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let args = args.iter().map(|a| self.logical(a)).collect::<Result<Vec<_>>>()?;
        Ok(self.state.create_physical_expr(call(udf, args), &self.df_schema)?)
    }

    /// The SQL type an expression evaluates to.
    pub fn sql_type(&self, expr: &ast::Expr) -> Result<SqlType> {
        let physical = self.physical(expr)?;
        SqlType::from_arrow(&physical.data_type(&self.schema)?)
    }

    /// Resolves a type as written (custom types come from the catalog).
    pub fn resolve_type(&self, ty: &TypeExpr) -> Result<SqlType> {
        resolve_type(ty, self.catalog)
    }

    /// Translates an expression into a DataFusion logical expression.
    pub fn logical(&self, expr: &ast::Expr) -> Result<Expr> {
        use ast::Expr as A;
        Ok(match expr {
            A::Column { qualifier, name } => self.column(qualifier.as_deref(), name)?,
            A::Literal(l) => Expr::Literal(literal(l)?, None),
            A::Star => {
                return Err(Error::user("'*' is only allowed in COUNT(*) and the select list"));
            }
            A::Unary { op, expr } => {
                let inner = self.logical(expr)?;
                match op {
                    UnaryOp::Not => Expr::Not(Box::new(inner)),
                    UnaryOp::Minus => Expr::Negative(Box::new(inner)),
                    UnaryOp::Plus => inner,
                }
            }
            A::Binary { op, left, right } => {
                let is_null = |e: &ast::Expr| matches!(e, A::Literal(Literal::Null));
                if is_comparison(*op) && is_null(left) && is_null(right) {
                    return Err(Error::user(format!(
                        "Comparison with NULL not supported: NULL {} NULL",
                        op_symbol(*op)
                    )));
                }
                let mut l = self.logical(left)?;
                let mut r = self.logical(right)?;
                // An untyped NULL has no arithmetic: ksqlDB refuses `1 + NULL` when planning.
                if is_arithmetic(*op) && (is_null(left) || is_null(right)) {
                    let side = |e: &ast::Expr, x: &Expr| -> Result<String> {
                        Ok(if is_null(e) { "null".into() } else { type_text(&x.get_type(&self.df_schema)?) })
                    };
                    return Err(Error::user(format!(
                        "Error processing expression: {}. Arithmetic on types {} and {} are not supported.",
                        expr_text(expr),
                        side(left, &l)?,
                        side(right, &r)?
                    )));
                }
                if self.strict_arithmetic && is_arithmetic(*op) {
                    l = call(functions::lambda::strict_operand_udf(), vec![l]);
                    r = call(functions::lambda::strict_operand_udf(), vec![r]);
                }
                if matches!(op, BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq) {
                    let (lt, rt) = (l.get_type(&self.df_schema)?, r.get_type(&self.df_schema)?);
                    if lt.is_nested() || rt.is_nested() {
                        return Err(Error::user(format!(
                            "Cannot compare {} ({}) to {} ({}) with {}.",
                            expr_text(left),
                            type_text(&lt),
                            expr_text(right),
                            type_text(&rt),
                            comparison_name(*op)
                        )));
                    }
                }
                let (lt, rt) = (l.get_type(&self.df_schema)?, r.get_type(&self.df_schema)?);
                let op_df = match op {
                    // ksqlDB concatenates strings with `+`.
                    BinaryOp::Plus if is_string(&lt) && is_string(&rt) => Operator::StringConcat,
                    other => operator(*other),
                };
                let binary = Expr::BinaryExpr(BinaryExpr::new(Box::new(l), op_df, Box::new(r)));
                if is_comparison(*op) {
                    // ksqlDB's comparisons are false, not NULL, when a side is NULL.
                    Expr::IsTrue(Box::new(binary))
                } else {
                    binary
                }
            }
            A::IsNull { expr, negated } => {
                let inner = Box::new(self.logical(expr)?);
                if *negated { Expr::IsNotNull(inner) } else { Expr::IsNull(inner) }
            }
            A::IsDistinctFrom { left, right, negated } => {
                let op = if *negated { Operator::IsNotDistinctFrom } else { Operator::IsDistinctFrom };
                Expr::BinaryExpr(BinaryExpr::new(Box::new(self.logical(left)?), op, Box::new(self.logical(right)?)))
            }
            A::Between { expr, low, high, negated } => Expr::Between(datafusion::logical_expr::Between::new(
                Box::new(self.logical(expr)?),
                *negated,
                Box::new(self.logical(low)?),
                Box::new(self.logical(high)?),
            )),
            A::InList { expr, list, negated } => Expr::InList(InList::new(
                Box::new(self.logical(expr)?),
                list.iter().map(|e| self.logical(e)).collect::<Result<_>>()?,
                *negated,
            )),
            A::Like { expr, pattern, escape, negated } => {
                let mut pattern = self.logical(pattern)?;
                // DataFusion only knows the backslash as escape: spell other escapes with it.
                let escape = match escape {
                    Some(c) if *c != '\\' => {
                        pattern = call(functions::string_like_escape(*c), vec![pattern]);
                        Some('\\')
                    }
                    other => *other,
                };
                Expr::Like(Like::new(*negated, Box::new(self.logical(expr)?), Box::new(pattern), escape, false))
            }
            A::Case { whens, else_result, .. }
                if whens.iter().map(|(_, t)| t).chain(else_result.as_deref()).all(|e| {
                    self.logical(e).and_then(|l| Ok(l.get_type(&self.df_schema)?)).is_ok_and(|t| t == DataType::Null)
                }) =>
            {
                return Err(Error::user("Invalid Case expression. All case branches have NULL type"));
            }
            A::Case { operand, whens, else_result } => Expr::Case(Case::new(
                operand.as_ref().map(|o| self.logical(o).map(Box::new)).transpose()?,
                whens
                    .iter()
                    .map(|(w, t)| Ok((Box::new(self.logical(w)?), Box::new(self.logical(t)?))))
                    .collect::<Result<_>>()?,
                else_result.as_ref().map(|e| self.logical(e).map(Box::new)).transpose()?,
            )),
            A::Cast { expr, ty } => {
                let target_sql = self.resolve_type(ty)?;
                let target = target_sql.to_arrow();
                let inner = self.logical(expr)?;
                let source = inner.get_type(&self.df_schema)?;
                if !source.is_nested() && source != DataType::Null && target.is_nested() {
                    return Err(Error::user(format!(
                        "Invalid Select: Cast of {} to {target_sql} is not supported",
                        type_text(&source)
                    )));
                }
                match (&source, &target) {
                    // Arrow cannot print these, and fails where Java's narrowing wraps.
                    (DataType::Map(_, _) | DataType::Struct(_), DataType::Utf8)
                    | (DataType::List(_), DataType::List(_))
                    | (DataType::Map(_, _), DataType::Map(_, _)) => {
                        call(functions::cast::cast_udf(target.clone()), vec![inner])
                    }
                    _ => Expr::Cast(Cast::new(Box::new(inner), target)),
                }
            }
            A::Function { name, args } => self.function(name, args)?,
            A::Subscript { expr, index } => {
                let base = self.logical(expr)?;
                let index = self.logical(index)?;
                match base.get_type(&self.df_schema)? {
                    DataType::Map(_, _) => {
                        let values =
                            call(datafusion::functions_nested::map_extract::map_extract_udf(), vec![base, index]);
                        call(datafusion::functions_nested::extract::array_element_udf(), vec![values, lit(1i64)])
                    }
                    DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
                        call(datafusion::functions_nested::extract::array_element_udf(), vec![base, index])
                    }
                    other => {
                        return Err(Error::user(format!("subscript [] needs an ARRAY or a MAP, not {other}")));
                    }
                }
            }
            A::Dereference { expr, field } => {
                let base = self.logical(expr)?;
                match base.get_type(&self.df_schema)? {
                    DataType::Struct(fields) => {
                        let actual = fields
                            .iter()
                            .find(|f| f.name() == field)
                            .or_else(|| fields.iter().find(|f| f.name().eq_ignore_ascii_case(field)))
                            .ok_or_else(|| Error::user(format!("struct has no field `{field}`")))?;
                        call(datafusion::functions::core::get_field(), vec![base, lit(actual.name().as_str())])
                    }
                    other => return Err(Error::user(format!("'->' needs a STRUCT, not {other}"))),
                }
            }
            A::Array(items) if items.is_empty() => {
                return Err(Error::user(
                    "Array constructor cannot be empty. Please supply at least one element (see https://github.com/confluentinc/ksql/issues/4239).",
                ));
            }
            A::Array(items) if items.iter().all(|e| matches!(e, A::Literal(Literal::Null))) => {
                return Err(Error::user(
                    "Cannot construct an array with all NULL elements (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type.",
                ));
            }
            A::Array(items) => {
                let elements = items
                    .iter()
                    .map(|e| {
                        let expr = self.logical(e)?;
                        let data_type = expr.get_type(&self.df_schema)?;
                        let string_literal = match e {
                            A::Literal(Literal::String(s)) => Some(s.clone()),
                            _ => None,
                        };
                        Ok(coerce::Element { expr, data_type, string_literal })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let plain: Vec<Expr> = elements.iter().map(|e| e.expr.clone()).collect();
                let args = coerce::coerce_elements(elements)?.unwrap_or(plain);
                call(datafusion::functions_nested::make_array::make_array_udf(), args)
            }
            A::Map(entries) => {
                let keys = entries.iter().map(|(k, _)| self.logical(k)).collect::<Result<Vec<_>>>()?;
                let values = entries.iter().map(|(_, v)| self.logical(v)).collect::<Result<Vec<_>>>()?;
                datafusion::functions_nested::map::map(keys, values)
            }
            // DataFusion's named_struct needs a field: build the empty struct directly.
            A::Struct(fields) if fields.is_empty() => {
                Expr::Literal(ScalarValue::Struct(Arc::new(arrow::array::StructArray::new_empty_fields(1, None))), None)
            }
            A::Struct(fields) => {
                let mut names = std::collections::HashSet::new();
                if !fields.iter().all(|(n, _)| names.insert(n.as_str())) {
                    return Err(Error::user("Duplicate field names found in STRUCT"));
                }
                let mut args = Vec::with_capacity(fields.len() * 2);
                for (name, value) in fields {
                    args.push(lit(name.as_str()));
                    args.push(self.logical(value)?);
                }
                call(datafusion::functions::core::named_struct(), args)
            }
            A::Lambda { .. } => {
                return Err(Error::user("a lambda is only allowed as an argument of TRANSFORM, FILTER or REDUCE"));
            }
            A::TimeUnit(unit) => lit(unit.as_str()),
            A::AtTimeZone { .. } => return Err(Error::user("AT TIME ZONE is not supported yet")),
            A::TypedLiteral { ty, value } => {
                let target = self.resolve_type(ty)?.to_arrow();
                Expr::Cast(Cast::new(Box::new(lit(value.as_str())), target))
            }
        })
    }

    fn column(&self, qualifier: Option<&str>, name: &str) -> Result<Expr> {
        if let Some(q) = qualifier
            && !self.qualifiers.iter().any(|k| k == q)
        {
            return Err(Error::user(format!("'{q}' is not a valid stream/table name or alias.")));
        }
        if self.schema.field_with_name(name).is_ok() {
            return Ok(Expr::Column(datafusion::common::Column::new_unqualified(name)));
        }
        let err = Error::user(format!("column '{}' cannot be resolved.", qualified(qualifier, name)));
        Err(match self.schema.fields().iter().find(|f| f.name().eq_ignore_ascii_case(name)) {
            Some(f) => err.with_hint(format!("did you mean `{}`? quoted names are case-sensitive", f.name())),
            None => err,
        })
    }

    fn function(&self, name: &str, args: &[ast::Expr]) -> Result<Expr> {
        if let Some(kind) = LambdaKind::from_name(name)
            && args.iter().any(|a| matches!(a, ast::Expr::Lambda { .. }))
        {
            return self.lambda_call(kind, args);
        }
        let Some(udf) = self.catalog.functions().scalar(name) else {
            return Err(Error::user(format!("Can't find any functions with the name '{name}'")));
        };
        // `F(*)` outside COUNT passes no argument at all, as in ksqlDB.
        let args = if matches!(args, [ast::Expr::Star]) { &[] } else { args };
        let args = args.iter().map(|a| self.logical(a)).collect::<Result<Vec<_>>>()?;
        Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, args)))
    }
}

impl ExprPlanner<'_> {
    /// Plans `TRANSFORM`, `FILTER` or `REDUCE`: each lambda body is compiled over its
    /// parameters and the outer columns it uses, which the call then takes as extra arguments.
    fn lambda_call(&self, kind: LambdaKind, args: &[ast::Expr]) -> Result<Expr> {
        let name = kind.name();
        let fixed = if kind == LambdaKind::Reduce { 2 } else { 1 };
        if args.len() <= fixed || args[..fixed].iter().any(|a| matches!(a, ast::Expr::Lambda { .. })) {
            return Err(Error::user(format!("{name} takes {} argument(s) followed by lambdas", fixed)));
        }
        let collection = self.logical(&args[0])?;
        let collection_type = collection.get_type(&self.df_schema)?;
        let mut inputs = vec![collection];
        let state_type = if kind == LambdaKind::Reduce {
            let init = self.logical(&args[1])?;
            let t = init.get_type(&self.df_schema)?;
            inputs.push(init);
            Some(t)
        } else {
            None
        };
        // The types of each lambda's parameters, and how many lambdas there must be.
        let (element_params, lambda_count) = match (&collection_type, kind) {
            (DataType::List(f), LambdaKind::Transform | LambdaKind::Filter) => (vec![f.data_type().clone()], 1),
            (DataType::List(f), LambdaKind::Reduce) => (vec![f.data_type().clone()], 1),
            (DataType::Map(entries, _), _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => (
                    vec![kv[0].data_type().clone(), kv[1].data_type().clone()],
                    if kind == LambdaKind::Transform { 2 } else { 1 },
                ),
                other => return Err(Error::internal(format!("map entries of unexpected type {other}"))),
            },
            (DataType::Null, _) => (vec![DataType::Null], 1),
            (other, _) => {
                return Err(Error::user(format!(
                    "{name} needs an ARRAY or a MAP as its first argument, not {}",
                    type_text(other)
                )));
            }
        };
        let param_types: Vec<DataType> = state_type.iter().cloned().chain(element_params).collect();
        let lambdas = &args[fixed..];
        if lambdas.len() != lambda_count {
            return Err(Error::user(format!(
                "{name} over {} takes {lambda_count} lambda(s)",
                type_text(&collection_type)
            )));
        }
        // Plan each body over its parameters and every outer column, then keep the outer
        // columns the bodies actually use.
        let mut planned = Vec::with_capacity(lambdas.len());
        for lambda in lambdas {
            let ast::Expr::Lambda { params, body } = lambda else {
                return Err(Error::user(format!("{name} expects a lambda here, not {}", expr_text(lambda))));
            };
            if params.len() != param_types.len() {
                return Err(Error::user(format!(
                    "the lambda of {name} takes {} parameter(s), not {}",
                    param_types.len(),
                    params.len()
                )));
            }
            let param_fields: Vec<Field> =
                params.iter().zip(&param_types).map(|(p, t)| Field::new(p.as_str(), t.clone(), true)).collect();
            let outer = self.schema.fields().iter().filter(|f| !params.contains(f.name())).map(|f| f.as_ref().clone());
            let schema = Arc::new(Schema::new(param_fields.iter().cloned().chain(outer).collect::<Vec<_>>()));
            let mut planner = ExprPlanner::new(schema, self.catalog, self.qualifiers.clone())?;
            planner.strict_arithmetic = true;
            let logical = planner.logical(body)?;
            planned.push((params, param_fields, logical));
        }
        let used: std::collections::HashSet<String> = planned
            .iter()
            .flat_map(|(params, _, logical)| {
                logical
                    .column_refs()
                    .into_iter()
                    .map(|c| c.name.clone())
                    .filter(|n| !params.contains(n))
                    .collect::<Vec<_>>()
            })
            .collect();
        let captured: Vec<Field> =
            self.schema.fields().iter().filter(|f| used.contains(f.name())).map(|f| f.as_ref().clone()).collect();
        let mut bodies = Vec::with_capacity(planned.len());
        for (i, (_, param_fields, logical)) in planned.into_iter().enumerate() {
            let schema =
                Arc::new(Schema::new(param_fields.into_iter().chain(captured.iter().cloned()).collect::<Vec<_>>()));
            let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
            let expr = self.state.create_physical_expr(logical, &df_schema)?;
            let body_type = expr.data_type(&schema)?;
            let result = match (kind, &state_type) {
                // The state keeps the type of the initial value (unless that is an untyped NULL).
                (LambdaKind::Reduce, Some(t)) if *t != DataType::Null => t.clone(),
                // A map key is never NULL-typed: an untyped NULL key stays a STRING.
                (LambdaKind::Transform, _) if i == 0 && body_type == DataType::Null && lambda_count == 2 => {
                    DataType::Utf8
                }
                _ => body_type,
            };
            if kind == LambdaKind::Filter && !matches!(result, DataType::Boolean | DataType::Null) {
                return Err(Error::user(format!(
                    "the lambda of FILTER must return a BOOLEAN, not {}",
                    type_text(&result)
                )));
            }
            bodies.push(LambdaBody { expr, schema, result });
        }
        let return_type = match (kind, &collection_type) {
            (LambdaKind::Transform, DataType::Map(_, _)) => {
                functions::lambda::map_of(bodies[0].result.clone(), bodies[1].result.clone())
            }
            (LambdaKind::Transform, _) => DataType::List(Arc::new(Field::new("item", bodies[0].result.clone(), true))),
            (LambdaKind::Filter, _) => collection_type.clone(),
            (LambdaKind::Reduce, _) => bodies[0].result.clone(),
        };
        inputs.extend(captured.iter().map(|f| Expr::Column(datafusion::common::Column::new_unqualified(f.name()))));
        let udf = datafusion::logical_expr::ScalarUDF::new_from_impl(LambdaUdf::new(kind, bodies, return_type));
        Ok(call(Arc::new(udf), inputs))
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_arithmetic(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::Plus | BinaryOp::Minus | BinaryOp::Multiply | BinaryOp::Divide | BinaryOp::Modulo)
}

fn qualified(qualifier: Option<&str>, name: &str) -> String {
    match qualifier {
        Some(q) => format!("{q}.{name}"),
        None => name.to_string(),
    }
}

/// A call of a DataFusion scalar function.
pub(crate) fn call(udf: Arc<datafusion::logical_expr::ScalarUDF>, args: Vec<Expr>) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(udf, args))
}

fn operator(op: BinaryOp) -> Operator {
    match op {
        BinaryOp::Or => Operator::Or,
        BinaryOp::And => Operator::And,
        BinaryOp::Eq => Operator::Eq,
        BinaryOp::NotEq => Operator::NotEq,
        BinaryOp::Lt => Operator::Lt,
        BinaryOp::LtEq => Operator::LtEq,
        BinaryOp::Gt => Operator::Gt,
        BinaryOp::GtEq => Operator::GtEq,
        BinaryOp::Plus => Operator::Plus,
        BinaryOp::Minus => Operator::Minus,
        BinaryOp::Multiply => Operator::Multiply,
        BinaryOp::Divide => Operator::Divide,
        BinaryOp::Modulo => Operator::Modulo,
        BinaryOp::Concat => Operator::StringConcat,
    }
}

/// The DataFusion value of a literal, typed as ksqlDB types it.
pub fn literal(l: &Literal) -> Result<ScalarValue> {
    Ok(match l {
        Literal::Null => ScalarValue::Null,
        Literal::Boolean(b) => ScalarValue::Boolean(Some(*b)),
        Literal::Int(i) => ScalarValue::Int32(Some(*i)),
        Literal::Bigint(i) => ScalarValue::Int64(Some(*i)),
        Literal::Double(d) => ScalarValue::Float64(Some(*d)),
        Literal::String(s) => ScalarValue::Utf8(Some(s.clone())),
        Literal::Decimal(text) => decimal_literal(text)?,
    })
}

/// `1.50` → DECIMAL(3, 2) with value 150.
fn decimal_literal(text: &str) -> Result<ScalarValue> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let all: String = format!("{int_part}{frac_part}");
    let trimmed = all.trim_start_matches('0');
    let precision = trimmed.len().max(frac_part.len()).max(1);
    if precision > 38 {
        return Err(Error::user(format!("decimal literal {text} has more than 38 digits")));
    }
    let mut value: i128 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().map_err(|_| Error::user(format!("invalid decimal literal {text}")))?
    };
    if negative {
        value = -value;
    }
    // Precision and scale are both below 39 here, so they fit u8/i8.
    Ok(ScalarValue::Decimal128(Some(value), precision as u8, frac_part.len() as i8))
}

/// Resolves a written type to a [`SqlType`]; named types come from the catalog.
pub fn resolve_type(ty: &TypeExpr, catalog: &Catalog) -> Result<SqlType> {
    Ok(match ty {
        TypeExpr::Boolean => SqlType::Boolean,
        TypeExpr::Int => SqlType::Int,
        TypeExpr::Bigint => SqlType::Bigint,
        TypeExpr::Double => SqlType::Double,
        TypeExpr::Decimal(p, s) => {
            if *p == 0 || *p > 38 || *s < 0 || (*s as u8) > *p {
                return Err(Error::user(format!(
                    "invalid DECIMAL({p}, {s}): precision must be 1..38 and scale 0..precision"
                )));
            }
            SqlType::Decimal(*p, *s)
        }
        TypeExpr::String => SqlType::String,
        TypeExpr::Bytes => SqlType::Bytes,
        TypeExpr::Date => SqlType::Date,
        TypeExpr::Time => SqlType::Time,
        TypeExpr::Timestamp => SqlType::Timestamp,
        TypeExpr::Array(item) => SqlType::Array(Box::new(resolve_type(item, catalog)?)),
        TypeExpr::Map(k, v) => SqlType::Map(Box::new(resolve_type(k, catalog)?), Box::new(resolve_type(v, catalog)?)),
        TypeExpr::Struct(fields) => SqlType::Struct(
            fields.iter().map(|(n, t)| Ok((n.clone(), resolve_type(t, catalog)?))).collect::<Result<_>>()?,
        ),
        TypeExpr::Named(name) => {
            catalog.custom_type(name).cloned().ok_or_else(|| Error::user(format!("Unknown type: {name}")))?
        }
    })
}

/// The name ksqlDB gives an unaliased select item at `index`: a column keeps its name, a
/// dereference takes the field's name, anything else is `KSQL_COL_<index>`.
pub fn default_column_name(expr: &ast::Expr, index: usize) -> String {
    match expr {
        ast::Expr::Column { name, .. } => name.clone(),
        ast::Expr::Dereference { field, .. } => field.clone(),
        _ => format!("KSQL_COL_{index}"),
    }
}

pub(crate) fn is_comparison(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::Eq | BinaryOp::NotEq | BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq)
}

/// An operator as SQL writes it, for messages.
pub(crate) fn op_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Or => "OR",
        BinaryOp::And => "AND",
        BinaryOp::Eq => "=",
        BinaryOp::NotEq => "<>",
        BinaryOp::Lt => "<",
        BinaryOp::LtEq => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::GtEq => ">=",
        BinaryOp::Plus => "+",
        BinaryOp::Minus => "-",
        BinaryOp::Multiply => "*",
        BinaryOp::Divide => "/",
        BinaryOp::Modulo => "%",
        BinaryOp::Concat => "||",
    }
}

/// ksqlDB's name of a comparison operator, for messages.
pub(crate) fn comparison_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Lt => "LESS_THAN",
        BinaryOp::LtEq => "LESS_THAN_OR_EQUAL",
        BinaryOp::Gt => "GREATER_THAN",
        BinaryOp::GtEq => "GREATER_THAN_OR_EQUAL",
        BinaryOp::Eq => "EQUAL",
        _ => "NOT_EQUAL",
    }
}

/// ksqlDB's spelling of an Arrow type, for messages.
fn type_text(dt: &DataType) -> String {
    SqlType::from_arrow(dt).map(|t| t.to_string()).unwrap_or_else(|_| dt.to_string())
}

/// A short SQL rendering of an expression, for messages.
pub fn expr_text(e: &ast::Expr) -> String {
    use ast::Expr as A;
    match e {
        A::Column { qualifier: Some(q), name } => format!("{q}.{name}"),
        A::Column { qualifier: None, name } => name.clone(),
        A::Literal(Literal::Null) => "null".into(),
        A::Literal(Literal::String(s)) => format!("'{s}'"),
        A::Literal(Literal::Int(i)) => i.to_string(),
        A::Literal(Literal::Bigint(i)) => i.to_string(),
        A::Literal(Literal::Decimal(d)) => d.clone(),
        A::Literal(Literal::Double(d)) => d.to_string(),
        A::Literal(Literal::Boolean(b)) => b.to_string().to_uppercase(),
        A::Function { name, args } => format!("{name}({})", args.iter().map(expr_text).collect::<Vec<_>>().join(", ")),
        A::Binary { op, left, right } => format!("({} {} {})", expr_text(left), op_symbol(*op), expr_text(right)),
        A::Dereference { expr, field } => format!("{}->{field}", expr_text(expr)),
        A::Star => "*".into(),
        A::Array(items) => format!("ARRAY[{}]", items.iter().map(expr_text).collect::<Vec<_>>().join(", ")),
        A::Map(entries) => format!(
            "MAP({})",
            entries.iter().map(|(k, v)| format!("{}:={}", expr_text(k), expr_text(v))).collect::<Vec<_>>().join(", ")
        ),
        other => format!("{other:?}"),
    }
}
