//! Text forms of single values shared by the text formats (JSON and DELIMITED).
//!
//! Parsing follows Java's rules where ksqlDB relies on them (`Integer.parseInt`,
//! `Double.parseDouble`, `new BigDecimal(text)` followed by a HALF_UP rescale), and formatting
//! writes what Java writes (`Double.toString`, `BigDecimal.toPlainString`), so that records we
//! produce are byte-for-byte those ksqlDB produces. Also the names of types in messages.

use std::fmt::{self, Write as _};

use arrow::datatypes::DataType;

/// The ksqlDB name of an Arrow type, e.g. `INTEGER`, `ARRAY<STRING>`, `DECIMAL(4, 2)`.
pub(crate) fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p}, {s})"),
        DataType::Utf8 => "STRING".into(),
        DataType::Binary => "BYTES".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Time32(_) => "TIME".into(),
        DataType::Timestamp(_, _) => "TIMESTAMP".into(),
        DataType::List(item) => format!("ARRAY<{}>", type_name(item.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("MAP<{}, {}>", type_name(kv[0].data_type()), type_name(kv[1].data_type()))
            }
            _ => "MAP".into(),
        },
        DataType::Struct(fields) => {
            let inner: Vec<String> =
                fields.iter().map(|f| format!("`{}` {}", f.name(), type_name(f.data_type()))).collect();
            format!("STRUCT<{}>", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// The ksqlDB base type name (`ARRAY`, not `ARRAY<INTEGER>`), as used in "does not support
/// type" messages.
pub(crate) fn base_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::List(_) => "ARRAY".into(),
        DataType::Map(_, _) => "MAP".into(),
        DataType::Struct(_) => "STRUCT".into(),
        DataType::Decimal128(_, _) => "DECIMAL".into(),
        other => type_name(other),
    }
}

/// Parses an integer as `Long.parseLong` does: an optional sign and at least one digit.
#[inline]
pub(crate) fn parse_i64(text: &[u8]) -> Option<i64> {
    let (neg, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate negatively so that i64::MIN parses.
    let mut acc: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc = acc.checked_mul(10)?.checked_sub(i64::from(d))?;
    }
    if neg { Some(acc) } else { acc.checked_neg() }
}

/// Parses an integer as `Integer.parseInt` does.
#[inline]
pub(crate) fn parse_i32(text: &[u8]) -> Option<i32> {
    parse_i64(text).and_then(|v| i32::try_from(v).ok())
}

/// Parses a double as `Double.parseDouble` does (surrounding blanks, `NaN`, `Infinity`, an
/// optional `d`/`f` suffix); hexadecimal floats are not accepted.
pub(crate) fn parse_f64(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?.trim_matches(|c: char| c <= ' ');
    let unsigned = text.trim_start_matches(['+', '-']);
    if unsigned == "NaN" {
        return (text.len() - unsigned.len() <= 1).then_some(f64::NAN);
    }
    if unsigned == "Infinity" {
        return match text.len() - unsigned.len() {
            0 => Some(f64::INFINITY),
            1 if text.starts_with('-') => Some(f64::NEG_INFINITY),
            1 => Some(f64::INFINITY),
            _ => None,
        };
    }
    let text = text.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(text);
    // Rust also accepts "inf" and "nan" spelled other ways; Java does not.
    if !text.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E')) {
        return None;
    }
    text.parse::<f64>().ok()
}

/// Parses a decimal number (`-12.50`, `.5`, `1E+3`) into the unscaled value of
/// DECIMAL(`precision`, `scale`), rounding HALF_UP to the scale as ksqlDB does. The text is
/// read digit by digit, never through a double, so no precision is lost.
pub(crate) fn parse_decimal(text: &[u8], precision: u8, scale: i8) -> Result<i128, String> {
    let bad = || format!("'{}' is not a valid decimal number", String::from_utf8_lossy(text));
    let len = text.len();
    let mut i = 0;
    let neg = match text.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let int_start = i;
    while i < len && text[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = &text[int_start..i];
    let mut frac_digits: &[u8] = &[];
    if i < len && text[i] == b'.' {
        i += 1;
        let start = i;
        while i < len && text[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = &text[start..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(bad());
    }
    let mut exp: i64 = 0;
    if i < len && (text[i] == b'e' || text[i] == b'E') {
        i += 1;
        let start = i;
        if i < len && (text[i] == b'+' || text[i] == b'-') {
            i += 1;
        }
        let digits_start = i;
        while i < len && text[i].is_ascii_digit() {
            i += 1;
        }
        if digits_start == i {
            return Err(bad());
        }
        // Exponents beyond this can only overflow or round to zero.
        exp = std::str::from_utf8(&text[start..i])
            .ok()
            .and_then(|e| e.parse::<i64>().ok())
            .map(|e| e.clamp(-100_000, 100_000))
            .ok_or_else(bad)?;
    }
    if i != len {
        return Err(bad());
    }
    let overflow = || {
        format!(
            "Cannot fit decimal '{}' into DECIMAL({precision}, {scale}) without overflow",
            String::from_utf8_lossy(text)
        )
    };
    // The number is D × 10^(exp − frac_len) where D is all the digits; the unscaled value
    // is D × 10^shift.
    let shift = exp - frac_digits.len() as i64 + i64::from(scale);
    let digits = int_digits.iter().chain(frac_digits.iter());
    let mut acc: i128 = 0;
    if shift >= 0 {
        for &d in digits {
            acc = acc.checked_mul(10).and_then(|a| a.checked_add(i128::from(d - b'0'))).ok_or_else(overflow)?;
        }
        if acc != 0 {
            for _ in 0..shift {
                acc = acc.checked_mul(10).ok_or_else(overflow)?;
            }
        }
    } else {
        let total = (int_digits.len() + frac_digits.len()) as i64;
        let keep = total + shift;
        let mut round_up = false;
        for (k, &d) in digits.enumerate() {
            let k = k as i64;
            if k < keep {
                acc = acc.checked_mul(10).and_then(|a| a.checked_add(i128::from(d - b'0'))).ok_or_else(overflow)?;
            } else {
                // HALF_UP: only the first dropped digit decides.
                round_up = k == keep && d >= b'5';
                break;
            }
        }
        if round_up {
            acc += 1;
        }
    }
    if precision < 39 && acc >= 10i128.pow(u32::from(precision)) {
        return Err(overflow());
    }
    Ok(if neg { -acc } else { acc })
}

/// Writes an unscaled decimal as `BigDecimal.toPlainString` does: `-0.05`, `12.3650`, `10`.
pub(crate) fn write_decimal(unscaled: i128, scale: i8, out: &mut Vec<u8>) {
    let mut buf = StackBuf::new();
    // i128 prints in at most 40 characters.
    let _ = write!(buf, "{}", unscaled.unsigned_abs());
    let digits = buf.as_bytes();
    if unscaled < 0 {
        out.push(b'-');
    }
    if scale <= 0 {
        out.extend_from_slice(digits);
        if unscaled != 0 {
            out.extend(std::iter::repeat_n(b'0', usize::from(scale.unsigned_abs())));
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let point = digits.len() - scale;
        out.extend_from_slice(&digits[..point]);
        out.push(b'.');
        out.extend_from_slice(&digits[point..]);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits);
    }
}

/// A decimal as a string, see [`write_decimal`].
pub(crate) fn decimal_to_string(unscaled: i128, scale: i8) -> String {
    let mut out = Vec::with_capacity(24);
    write_decimal(unscaled, scale, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes a double as Java's `Double.toString` does: `1.0`, `0.001`, `1.0E7`, `4.9E-324`,
/// `NaN`, `Infinity`. Digits are the shortest that read back to the same double.
pub(crate) fn write_java_double(v: f64, out: &mut Vec<u8>) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_sign_negative() {
        out.push(b'-');
    }
    if v.is_infinite() {
        out.extend_from_slice(b"Infinity");
        return;
    }
    if v == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let mut buf = StackBuf::new();
    let _ = write!(buf, "{:e}", v.abs());
    if !buf.as_bytes().contains(&b'.') {
        // Java prints at least two significant digits, the pair closest to the exact value:
        // 4.9E-324 where the shortest form is 5e-324.
        buf = StackBuf::new();
        let _ = write!(buf, "{:.1e}", v.abs());
    }
    let text = buf.as_bytes();
    let e_at = text.iter().position(|&c| c == b'e').unwrap_or(text.len());
    let exp: i32 =
        std::str::from_utf8(&text[(e_at + 1).min(text.len())..]).ok().and_then(|e| e.parse().ok()).unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &c in &text[..e_at] {
        if c.is_ascii_digit() && n < digits.len() {
            digits[n] = c;
            n += 1;
        }
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[..n];
    if (-3..7).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() > int_len {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            } else {
                out.extend_from_slice(digits);
                out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
                out.extend_from_slice(b".0");
            }
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        out.push(b'.');
        if digits.len() > 1 {
            out.extend_from_slice(&digits[1..]);
        } else {
            out.push(b'0');
        }
        out.push(b'E');
        let mut e = StackBuf::new();
        let _ = write!(e, "{exp}");
        out.extend_from_slice(e.as_bytes());
    }
}

/// A small fixed buffer to format numbers into without allocating.
struct StackBuf {
    buf: [u8; 64],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        Self { buf: [0; 64], len: 0 }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let end = self.len + bytes.len();
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn java(v: f64) -> String {
        let mut out = Vec::new();
        write_java_double(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn dec(text: &str, p: u8, s: i8) -> Result<String, String> {
        parse_decimal(text.as_bytes(), p, s).map(|v| decimal_to_string(v, s))
    }

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(java(0.0), "0.0");
        assert_eq!(java(-0.0), "-0.0");
        assert_eq!(java(1.0), "1.0");
        assert_eq!(java(1234.589), "1234.589");
        assert_eq!(java(0.001), "0.001");
        assert_eq!(java(0.0001), "1.0E-4");
        assert_eq!(java(1e7), "1.0E7");
        assert_eq!(java(9999999.0), "9999999.0");
        assert_eq!(java(123456789.5), "1.234567895E8");
        assert_eq!(java(4.9e-324), "4.9E-324");
        assert_eq!(java(-1.7976931348623157e308), "-1.7976931348623157E308");
        assert_eq!(java(2.2250738585072014E-308), "2.2250738585072014E-308");
        assert_eq!(java(f64::NAN), "NaN");
        assert_eq!(java(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(java(100.0), "100.0");
    }

    #[test]
    fn decimals_parse_exactly_and_round_half_up() {
        assert_eq!(dec("12.3650", 6, 4).unwrap(), "12.3650");
        assert_eq!(dec("12.0", 6, 4).unwrap(), "12.0000");
        assert_eq!(dec(".12", 33, 16).unwrap(), "0.1200000000000000");
        assert_eq!(dec("-12345.12", 33, 16).unwrap(), "-12345.1200000000000000");
        assert_eq!(dec("12345678987654321.2345678987654321", 33, 16).unwrap(), "12345678987654321.2345678987654321");
        assert_eq!(dec("10", 6, 4).unwrap(), "10.0000");
        assert_eq!(dec("0", 4, 2).unwrap(), "0.00");
        assert_eq!(dec("1.005", 4, 2).unwrap(), "1.01");
        assert_eq!(dec("-1.005", 4, 2).unwrap(), "-1.01");
        assert_eq!(dec("1.004999", 4, 2).unwrap(), "1.00");
        assert_eq!(dec("1E+2", 5, 1).unwrap(), "100.0");
        assert_eq!(dec("15e-1", 2, 1).unwrap(), "1.5");
        assert_eq!(dec("0.0001", 4, 2).unwrap(), "0.00");
        assert_eq!(dec("+7", 1, 0).unwrap(), "7");
        assert_eq!(
            dec("99999999999999999999999999999999999999", 38, 0).unwrap(),
            "99999999999999999999999999999999999999"
        );
    }

    #[test]
    fn decimals_that_do_not_fit_or_parse_are_errors() {
        let err = dec("100.5", 4, 2).unwrap_err();
        assert_eq!(err, "Cannot fit decimal '100.5' into DECIMAL(4, 2) without overflow");
        assert!(dec("99.999", 4, 2).is_err(), "rounds up to 100.00");
        assert!(dec("1e100", 38, 0).is_err());
        assert!(dec("abc", 4, 2).unwrap_err().contains("not a valid decimal"));
        assert!(dec("", 4, 2).is_err());
        assert!(dec("1.2.3", 4, 2).is_err());
        assert!(dec("1e", 4, 2).is_err());
        assert!(dec("-", 4, 2).is_err());
    }

    #[test]
    fn decimals_print_plainly() {
        let s = |v, scale| decimal_to_string(v, scale);
        assert_eq!(s(5, 2), "0.05");
        assert_eq!(s(-5, 2), "-0.05");
        assert_eq!(s(1234, 2), "12.34");
        assert_eq!(s(1234, 0), "1234");
        assert_eq!(s(12, -2), "1200");
        assert_eq!(s(0, 3), "0.000");
        assert_eq!(s(i128::MIN + 1, 0).len(), 40);
    }

    #[test]
    fn integers_parse_as_java_does() {
        assert_eq!(parse_i32(b"33"), Some(33));
        assert_eq!(parse_i32(b"-2147483648"), Some(i32::MIN));
        assert_eq!(parse_i32(b"2147483648"), None);
        assert_eq!(parse_i32(b"+5"), Some(5));
        assert_eq!(parse_i32(b" 5"), None);
        assert_eq!(parse_i32(b"1.0"), None);
        assert_eq!(parse_i32(b""), None);
        assert_eq!(parse_i32(b"-"), None);
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
    }

    #[test]
    fn doubles_parse_as_java_does() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b" 2 "), Some(2.0));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"3d"), Some(3.0));
        assert_eq!(parse_f64(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_f64(b"NaN").unwrap().is_nan());
        assert_eq!(parse_f64(b"inf"), None);
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(parse_f64(b""), None);
    }

    #[test]
    fn type_names_are_ksql_names() {
        use arrow::datatypes::{Field, TimeUnit};
        use std::sync::Arc;
        let list = DataType::List(Arc::new(Field::new("item", DataType::Int32, true)));
        assert_eq!(type_name(&list), "ARRAY<INTEGER>");
        assert_eq!(base_type_name(&list), "ARRAY");
        assert_eq!(type_name(&DataType::Decimal128(4, 2)), "DECIMAL(4, 2)");
        assert_eq!(type_name(&DataType::Timestamp(TimeUnit::Millisecond, None)), "TIMESTAMP");
    }
}
