//! ksqlDB's coercion of the elements of an `ARRAY[...]` constructor to one type.
//!
//! DataFusion unifies `make_array` arguments by its own rules; ksqlDB's differ in two ways the
//! corpus checks: numbers widen to the smallest type holding all of them (INT → BIGINT →
//! DECIMAL → DOUBLE), a string literal among numbers counts as the decimal it spells (and is an
//! error if it spells none), and structs with different fields unify to one struct with the
//! fields of all of them, in order of appearance, missing ones NULL.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::{Case, Cast};
use datafusion::logical_expr::{Expr, lit};

use crate::error::{Error, Result};
use crate::sql::types::SqlType;

/// One element of the constructor: its planned expression, its type and, for a string literal,
/// its text.
pub struct Element {
    /// The planned expression.
    pub expr: Expr,
    /// Its type.
    pub data_type: DataType,
    /// The text of a string literal element.
    pub string_literal: Option<String>,
}

/// The elements cast to their common ksqlDB type, or `None` when ksqlDB's rules add nothing to
/// DataFusion's (all elements already share a type, or the types are not ones handled here).
pub fn coerce_elements(elements: Vec<Element>) -> Result<Option<Vec<Expr>>> {
    let typed: Vec<&Element> = elements.iter().filter(|e| e.data_type != DataType::Null).collect();
    if typed.windows(2).all(|w| w[0].data_type == w[1].data_type) {
        return Ok(None);
    }
    let mut common: Option<DataType> = None;
    for e in typed.iter().filter(|e| e.string_literal.is_none()) {
        common = match common {
            None => Some(e.data_type.clone()),
            Some(c) => match common_type(&c, &e.data_type) {
                Some(t) => Some(t),
                None => return Ok(None),
            },
        };
    }
    let Some(mut common) = common else { return Ok(None) };
    let has_strings = typed.iter().any(|e| e.string_literal.is_some());
    if has_strings && !is_numeric(&common) {
        return Ok(None);
    }
    let mut literal_values = Vec::new();
    for e in &elements {
        let Some(text) = &e.string_literal else {
            literal_values.push(None);
            continue;
        };
        let Some((value, precision, scale)) = parse_decimal(text) else {
            let name = SqlType::from_arrow(&common).map(|t| t.to_string()).unwrap_or_else(|_| common.to_string());
            return Err(Error::user(format!("invalid input syntax for type {name}: \"{text}\"")));
        };
        let literal_type = DataType::Decimal128(precision, scale);
        common = common_type(&common, &literal_type).unwrap_or(common);
        literal_values.push(Some(ScalarValue::Decimal128(Some(value), precision, scale)));
    }
    let exprs = elements
        .into_iter()
        .zip(literal_values)
        .map(|(e, literal)| {
            let expr = match literal {
                Some(v) => Expr::Literal(v, None),
                None => e.expr,
            };
            let from = if e.string_literal.is_some() { DataType::Decimal128(1, 0) } else { e.data_type };
            cast_to(expr, &from, &common)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(exprs))
}

/// The ksqlDB type both `a` and `b` widen to, if there is one.
fn common_type(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType as D;
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (D::Null, t) | (t, D::Null) => Some(t.clone()),
        (D::Float64, t) | (t, D::Float64) if is_numeric(t) => Some(D::Float64),
        (D::Decimal128(_, _), _) | (_, D::Decimal128(_, _)) if is_numeric(a) && is_numeric(b) => {
            let (p1, s1) = decimal_of(a)?;
            let (p2, s2) = decimal_of(b)?;
            let scale = s1.max(s2);
            let digits = (p1 as i16 - s1 as i16).max(p2 as i16 - s2 as i16);
            let precision = (digits + scale as i16).clamp(1, 38) as u8;
            Some(D::Decimal128(precision, scale))
        }
        (D::Int64, D::Int32) | (D::Int32, D::Int64) => Some(D::Int64),
        (D::Struct(fa), D::Struct(fb)) => {
            let mut fields: Vec<Field> = fa.iter().map(|f| f.as_ref().clone()).collect();
            for f in fb.iter() {
                match fields.iter_mut().find(|g| g.name() == f.name()) {
                    Some(g) => {
                        let t = common_type(g.data_type(), f.data_type())?;
                        *g = Field::new(g.name(), t, true);
                    }
                    None => fields.push(f.as_ref().clone().with_nullable(true)),
                }
            }
            Some(D::Struct(Fields::from(fields)))
        }
        (D::List(fa), D::List(fb)) => {
            let t = common_type(fa.data_type(), fb.data_type())?;
            Some(D::List(Arc::new(Field::new("item", t, true))))
        }
        _ => None,
    }
}

fn is_numeric(t: &DataType) -> bool {
    matches!(t, DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Decimal128(_, _))
}

/// The decimal holding every value of a numeric type: INT is DECIMAL(10, 0), BIGINT (19, 0).
fn decimal_of(t: &DataType) -> Option<(u8, i8)> {
    match t {
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((19, 0)),
        DataType::Decimal128(p, s) => Some((*p, *s)),
        _ => None,
    }
}

/// Casts `expr` (of type `from`) to `to`. A struct is rebuilt field by field, since the target
/// may have fields the source lacks; a NULL struct stays NULL.
fn cast_to(expr: Expr, from: &DataType, to: &DataType) -> Result<Expr> {
    if from == to {
        return Ok(expr);
    }
    match (from, to) {
        (DataType::Struct(have), DataType::Struct(want)) => {
            let mut args = Vec::with_capacity(want.len() * 2);
            for f in want.iter() {
                args.push(lit(f.name().as_str()));
                let value = match have.iter().find(|h| h.name() == f.name()) {
                    Some(h) => cast_to(
                        crate::plan::expr::call(
                            datafusion::functions::core::get_field(),
                            vec![expr.clone(), lit(h.name().as_str())],
                        ),
                        h.data_type(),
                        f.data_type(),
                    )?,
                    None => {
                        Expr::Cast(Cast::new(Box::new(Expr::Literal(ScalarValue::Null, None)), f.data_type().clone()))
                    }
                };
                args.push(value);
            }
            let rebuilt = crate::plan::expr::call(datafusion::functions::core::named_struct(), args);
            Ok(Expr::Case(Case::new(
                None,
                vec![(
                    Box::new(Expr::IsNull(Box::new(expr))),
                    Box::new(Expr::Cast(Cast::new(Box::new(Expr::Literal(ScalarValue::Null, None)), to.clone()))),
                )],
                Some(Box::new(rebuilt)),
            )))
        }
        _ => Ok(Expr::Cast(Cast::new(Box::new(expr), to.clone()))),
    }
}

/// Parses a decimal number as Java's `BigDecimal` does (`12`, `-1.50`, `2e1`) into its unscaled
/// value, precision and (non-negative) scale.
fn parse_decimal(text: &str) -> Option<(i128, u8, i8)> {
    let text = text.trim();
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.as_bytes().first()? {
        b'-' => (true, &mantissa[1..]),
        b'+' => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut scale = frac_part.len() as i32 - exponent;
    let mut unscaled: i128 = format!("{int_part}{frac_part}").parse().ok()?;
    // A negative scale (`2e1`) is written out: 20 with scale 0.
    while scale < 0 {
        unscaled = unscaled.checked_mul(10)?;
        scale += 1;
    }
    let precision = (unscaled.unsigned_abs().checked_ilog10().unwrap_or(0) + 1).max(scale as u32);
    if precision > 38 || scale > 38 {
        return None;
    }
    Some((if negative { -unscaled } else { unscaled }, precision as u8, scale as i8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_like_big_decimal() {
        assert_eq!(parse_decimal("2e1"), Some((20, 2, 0)));
        assert_eq!(parse_decimal("-1.50"), Some((-150, 3, 2)));
        assert_eq!(parse_decimal("0.01"), Some((1, 2, 2)));
        assert_eq!(parse_decimal("not a number"), None);
        assert_eq!(parse_decimal(""), None);
    }

    #[test]
    fn numbers_widen_through_decimal() {
        assert_eq!(common_type(&DataType::Int32, &DataType::Int64), Some(DataType::Int64));
        assert_eq!(common_type(&DataType::Int64, &DataType::Decimal128(2, 0)), Some(DataType::Decimal128(19, 0)));
        assert_eq!(common_type(&DataType::Decimal128(2, 1), &DataType::Int32), Some(DataType::Decimal128(11, 1)));
        assert_eq!(common_type(&DataType::Float64, &DataType::Int32), Some(DataType::Float64));
        assert_eq!(common_type(&DataType::Boolean, &DataType::Int32), None);
    }

    #[test]
    fn structs_unify_by_field_name() {
        let a = DataType::Struct(
            vec![Field::new("X", DataType::Int32, true), Field::new("Y", DataType::Int64, true)].into(),
        );
        let b = DataType::Struct(
            vec![Field::new("Y", DataType::Int32, true), Field::new("Z", DataType::Int64, true)].into(),
        );
        let DataType::Struct(fields) = common_type(&a, &b).unwrap() else { panic!("not a struct") };
        let names: Vec<_> = fields.iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
        assert_eq!(
            names,
            vec![("X".into(), DataType::Int32), ("Y".into(), DataType::Int64), ("Z".into(), DataType::Int64)]
        );
    }

    #[test]
    fn a_string_that_is_no_number_is_an_error() {
        let el =
            |expr: Expr, data_type, s: Option<&str>| Element { expr, data_type, string_literal: s.map(Into::into) };
        let err = coerce_elements(vec![
            el(lit(1i32), DataType::Int32, None),
            el(lit("not a number"), DataType::Utf8, Some("not a number")),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("invalid input syntax for type INTEGER: \"not a number\""), "{err}");
    }
}
