//! Date and time functions: formatting and parsing with Java patterns (FORMAT_*, PARSE_*, and
//! the deprecated STRINGTO*/ *TOSTRING forms), arithmetic with a time unit (DATEADD, TIMEADD,
//! TIMESTAMPADD and their SUB twins), CONVERT_TZ, FROM_DAYS, FROM_UNIXTIME, UNIX_DATE and
//! UNIX_TIMESTAMP.
//!
//! A value that does not parse, or a bad pattern or zone, gives NULL for that row, as ksqlDB
//! does. Zones default to UTC. Time units arrive as strings (`'SECONDS'`).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Int32Array, Int64Array, StringArray, Time32MillisecondArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::{
    as_date32_array, as_int32_array, as_int64_array, as_time32_millisecond_array, as_timestamp_millisecond_array,
};
use datafusion::logical_expr::Volatility;

use super::Registry;
use super::javatime::{JavaFormat, Kind, Zone};
use super::util::{P, arg, cast_arg, make_udf, overloaded, resolve, returns, sig, str_arg, sval, time_type, ts_type};

const DAY_MS: i64 = 86_400_000;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN)
}

fn days_to_date(days: i32) -> Option<NaiveDate> {
    epoch().checked_add_signed(chrono::Duration::days(i64::from(days)))
}

fn date_to_days(d: NaiveDate) -> Option<i32> {
    i32::try_from(d.signed_duration_since(epoch()).num_days()).ok()
}

fn millis_to_utc(ms: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_millis(ms).map(|d| d.naive_utc())
}

/// Compiled patterns and zones of one batch, so a literal is compiled once.
#[derive(Default)]
struct Cache {
    formats: HashMap<String, Option<JavaFormat>>,
    zones: HashMap<String, Option<Zone>>,
}

impl Cache {
    fn format(&mut self, p: &str) -> Option<&JavaFormat> {
        self.formats.entry(p.to_string()).or_insert_with(|| JavaFormat::new(p).ok()).as_ref()
    }

    fn zone(&mut self, z: &str) -> Option<Zone> {
        *self.zones.entry(z.to_string()).or_insert_with(|| Zone::parse(z))
    }
}

/// The zone argument at `i` of row `row`: UTC when the function has no zone argument.
fn zone_at(cache: &mut Cache, tz: Option<&StringArray>, row: usize) -> Option<Zone> {
    match tz {
        None => Some(Zone::utc()),
        Some(a) => cache.zone(sval(a, row)?),
    }
}

fn format_timestamp(cache: &mut Cache, ms: i64, fmt: &str, zone: Zone) -> Option<String> {
    let utc = millis_to_utc(ms)?;
    let info = zone.info_at(&utc);
    let local = utc + chrono::Duration::seconds(i64::from(info.offset));
    cache.format(fmt)?.format(&local, Some(&info), Kind::DateTime).ok()
}

fn parse_timestamp(cache: &mut Cache, text: &str, fmt: &str, zone: Option<Zone>) -> Option<i64> {
    let parsed = cache.format(fmt)?.parse(text).ok()?;
    let local = parsed.datetime().ok()?;
    let zone = parsed.zone.or(zone)?;
    Some(zone.local_to_utc(&local)?.and_utc().timestamp_millis())
}

/// Parses a date; `prefix_only` ignores text after what the pattern matched, as ksqlDB's
/// PARSE_DATE does (`PARSE_DATE('2003-12-24-01-01', 'yyyy-MM-dd')` is 2003-12-24).
fn parse_date(cache: &mut Cache, text: &str, fmt: &str, prefix_only: bool) -> Option<i32> {
    let format = cache.format(fmt)?;
    let parsed = if prefix_only { format.parse_prefix(text) } else { format.parse(text) }.ok()?;
    date_to_days(parsed.date().ok()?)
}

fn format_date(cache: &mut Cache, days: i32, fmt: &str) -> Option<String> {
    let d = days_to_date(days)?;
    cache.format(fmt)?.format(&NaiveDateTime::new(d, NaiveTime::MIN), None, Kind::Date).ok()
}

/// A Java `TimeUnit`, given as its name.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Nanos,
    Micros,
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl Unit {
    fn parse(s: &str) -> Option<Unit> {
        Some(match s.trim().to_ascii_uppercase().trim_end_matches('S') {
            "NANOSECOND" => Unit::Nanos,
            "MICROSECOND" => Unit::Micros,
            "MILLISECOND" => Unit::Millis,
            "SECOND" => Unit::Seconds,
            "MINUTE" => Unit::Minutes,
            "HOUR" => Unit::Hours,
            "DAY" => Unit::Days,
            _ => return None,
        })
    }

    fn nanos(self) -> i128 {
        match self {
            Unit::Nanos => 1,
            Unit::Micros => 1_000,
            Unit::Millis => 1_000_000,
            Unit::Seconds => 1_000_000_000,
            Unit::Minutes => 60_000_000_000,
            Unit::Hours => 3_600_000_000_000,
            Unit::Days => 86_400_000_000_000,
        }
    }

    /// `v` of this unit in `target` units, truncated towards zero like `TimeUnit.convert`.
    fn convert(self, v: i64, target: Unit) -> i64 {
        let n = i128::from(v) * self.nanos() / target.nanos();
        n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// Registers an `XADD(unit, interval, value)` function and its `XSUB` twin.
fn register_add(r: &mut Registry, add: &'static str, sub: &'static str, what: &'static str, interval: P, value: P) {
    for (name, sign) in [(add, 1i64), (sub, -1i64)] {
        let desc = if sign > 0 {
            match what {
                "DATE" => "Adds an interval of some time unit to a DATE.",
                "TIME" => "Adds an interval of some time unit to a TIME, wrapping around midnight.",
                _ => "Adds an interval of some time unit to a TIMESTAMP.",
            }
        } else {
            match what {
                "DATE" => "Subtracts an interval of some time unit from a DATE.",
                "TIME" => "Subtracts an interval of some time unit from a TIME, wrapping around midnight.",
                _ => "Subtracts an interval of some time unit from a TIMESTAMP.",
            }
        };
        let value_type = match value {
            P::Date => DataType::Date32,
            P::Time => time_type(),
            _ => ts_type(),
        };
        r.add(
            name,
            desc,
            overloaded(name, vec![sig(&[P::Str, interval, value])], returns(value_type), move |args, _, rows| {
                let units = str_arg(args, 0, rows)?;
                let amount = cast_arg(args, 1, &DataType::Int64)?;
                let amount = as_int64_array(&amount)?;
                let get = |i: usize| -> Option<(Unit, i64)> {
                    let u = Unit::parse(sval(&units, i)?)?;
                    if amount.is_null(i) {
                        return None;
                    }
                    Some((u, amount.value(i).saturating_mul(sign)))
                };
                let v = arg(args, 2)?;
                match value {
                    P::Date => {
                        let d = as_date32_array(v)?;
                        let out: Date32Array = (0..rows)
                            .map(|i| {
                                let (u, n) = get(i)?;
                                if d.is_null(i) {
                                    return None;
                                }
                                let days = u.convert(n, Unit::Days);
                                i32::try_from(i64::from(d.value(i)) + days).ok()
                            })
                            .collect();
                        Ok(Arc::new(out) as ArrayRef)
                    }
                    P::Time => {
                        let t = as_time32_millisecond_array(v)?;
                        let out: Time32MillisecondArray = (0..rows)
                            .map(|i| {
                                let (u, n) = get(i)?;
                                if t.is_null(i) {
                                    return None;
                                }
                                let nanos = i128::from(t.value(i)) * 1_000_000 + i128::from(n) * u.nanos();
                                let day = i128::from(DAY_MS) * 1_000_000;
                                Some((nanos.rem_euclid(day) / 1_000_000) as i32)
                            })
                            .collect();
                        Ok(Arc::new(out) as ArrayRef)
                    }
                    _ => {
                        let t = as_timestamp_millisecond_array(v)?;
                        let out: TimestampMillisecondArray = (0..rows)
                            .map(|i| {
                                let (u, n) = get(i)?;
                                if t.is_null(i) {
                                    return None;
                                }
                                t.value(i).checked_add(u.convert(n, Unit::Millis))
                            })
                            .collect();
                        Ok(Arc::new(out) as ArrayRef)
                    }
                }
            }),
        );
    }
}

pub(crate) fn register(r: &mut Registry) {
    register_add(r, "DATEADD", "DATESUB", "DATE", P::Int, P::Date);
    register_add(r, "TIMEADD", "TIMESUB", "TIME", P::Int, P::Time);
    register_add(r, "TIMESTAMPADD", "TIMESTAMPSUB", "TIMESTAMP", P::BigInt, P::Ts);

    for (name, desc, millis_out) in [
        ("FORMAT_TIMESTAMP", "Formats a TIMESTAMP with a Java pattern, in UTC or the given time zone.", false),
        (
            "TIMESTAMPTOSTRING",
            "Formats epoch milliseconds with a Java pattern, in UTC or the given time zone \
             (deprecated: use FORMAT_TIMESTAMP).",
            true,
        ),
    ] {
        let value = if millis_out { P::BigInt } else { P::Ts };
        r.add(
            name,
            desc,
            overloaded(
                name,
                vec![
                    sig(&[value, P::Str]),
                    sig(&[value, P::Str, P::Str]),
                    sig(&[P::Ts, P::Str]),
                    sig(&[P::Ts, P::Str, P::Str]),
                ],
                returns(DataType::Utf8),
                |args, _, rows| {
                    let ts = cast_arg(args, 0, &DataType::Int64)?;
                    let ts = as_int64_array(&ts)?;
                    let fmt = str_arg(args, 1, rows)?;
                    let tz = if args.len() > 2 { Some(str_arg(args, 2, rows)?) } else { None };
                    let mut cache = Cache::default();
                    let out: StringArray = (0..rows)
                        .map(|i| {
                            if ts.is_null(i) {
                                return None;
                            }
                            let zone = zone_at(&mut cache, tz.as_ref(), i)?;
                            format_timestamp(&mut cache, ts.value(i), sval(&fmt, i)?, zone)
                        })
                        .collect();
                    Ok(Arc::new(out) as ArrayRef)
                },
            ),
        );
    }

    for (name, desc, millis_out) in [
        (
            "PARSE_TIMESTAMP",
            "Parses a string into a TIMESTAMP with a Java pattern, in UTC or the given time zone.",
            false,
        ),
        (
            "STRINGTOTIMESTAMP",
            "Parses a string into epoch milliseconds with a Java pattern (deprecated: use \
             PARSE_TIMESTAMP).",
            true,
        ),
    ] {
        r.add(
            name,
            desc,
            overloaded(
                name,
                vec![sig(&[P::Str, P::Str]), sig(&[P::Str, P::Str, P::Str])],
                returns(if millis_out { DataType::Int64 } else { ts_type() }),
                move |args, _, rows| {
                    let text = str_arg(args, 0, rows)?;
                    let fmt = str_arg(args, 1, rows)?;
                    let tz = if args.len() > 2 { Some(str_arg(args, 2, rows)?) } else { None };
                    let mut cache = Cache::default();
                    let values: Vec<Option<i64>> = (0..rows)
                        .map(|i| {
                            let zone = zone_at(&mut cache, tz.as_ref(), i);
                            if tz.is_some() && zone.is_none() {
                                return None;
                            }
                            parse_timestamp(&mut cache, sval(&text, i)?, sval(&fmt, i)?, zone)
                        })
                        .collect();
                    if millis_out {
                        Ok(Arc::new(Int64Array::from(values)) as ArrayRef)
                    } else {
                        Ok(Arc::new(TimestampMillisecondArray::from(values)) as ArrayRef)
                    }
                },
            ),
        );
    }

    for (name, desc, days_out) in [
        ("PARSE_DATE", "Parses a string into a DATE with a Java pattern.", false),
        (
            "STRINGTODATE",
            "Parses a string into days since the epoch with a Java pattern (deprecated: use \
             PARSE_DATE).",
            true,
        ),
    ] {
        r.add(
            name,
            desc,
            overloaded(
                name,
                vec![sig(&[P::Str, P::Str])],
                returns(if days_out { DataType::Int32 } else { DataType::Date32 }),
                move |args, _, rows| {
                    let text = str_arg(args, 0, rows)?;
                    let fmt = str_arg(args, 1, rows)?;
                    let mut cache = Cache::default();
                    let values: Vec<Option<i32>> =
                        (0..rows).map(|i| parse_date(&mut cache, sval(&text, i)?, sval(&fmt, i)?, !days_out)).collect();
                    if days_out {
                        Ok(Arc::new(Int32Array::from(values)) as ArrayRef)
                    } else {
                        Ok(Arc::new(Date32Array::from(values)) as ArrayRef)
                    }
                },
            ),
        );
    }

    for (name, desc, value) in [
        ("FORMAT_DATE", "Formats a DATE with a Java pattern.", P::Date),
        ("DATETOSTRING", "Formats days since the epoch with a Java pattern (deprecated: use FORMAT_DATE).", P::Int),
    ] {
        r.add(
            name,
            desc,
            overloaded(name, vec![sig(&[value, P::Str])], returns(DataType::Utf8), |args, _, rows| {
                let days = cast_arg(args, 0, &DataType::Int32)?;
                let days = as_int32_array(&days)?;
                let fmt = str_arg(args, 1, rows)?;
                let mut cache = Cache::default();
                let out: StringArray = (0..rows)
                    .map(|i| {
                        if days.is_null(i) {
                            return None;
                        }
                        format_date(&mut cache, days.value(i), sval(&fmt, i)?)
                    })
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            }),
        );
    }

    r.add(
        "FORMAT_TIME",
        "Formats a TIME with a Java pattern.",
        overloaded("FORMAT_TIME", vec![sig(&[P::Time, P::Str])], returns(DataType::Utf8), |args, _, rows| {
            let t = as_time32_millisecond_array(arg(args, 0)?)?;
            let fmt = str_arg(args, 1, rows)?;
            let mut cache = Cache::default();
            let out: StringArray = (0..rows)
                .map(|i| {
                    if t.is_null(i) {
                        return None;
                    }
                    let ms = u32::try_from(t.value(i)).ok()?;
                    let time = NaiveTime::from_num_seconds_from_midnight_opt(ms / 1000, (ms % 1000) * 1_000_000)?;
                    let dt = NaiveDateTime::new(epoch(), time);
                    cache.format(sval(&fmt, i)?)?.format(&dt, None, Kind::Time).ok()
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "PARSE_TIME",
        "Parses a string into a TIME with a Java pattern.",
        overloaded("PARSE_TIME", vec![sig(&[P::Str, P::Str])], returns(time_type()), |args, _, rows| {
            let text = str_arg(args, 0, rows)?;
            let fmt = str_arg(args, 1, rows)?;
            let mut cache = Cache::default();
            let out: Time32MillisecondArray = (0..rows)
                .map(|i| {
                    let parsed = cache.format(sval(&fmt, i)?)?.parse(sval(&text, i)?).ok()?;
                    let t = parsed.time().ok()?;
                    Some((t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32)
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "CONVERT_TZ",
        "Converts a TIMESTAMP from one time zone to another.",
        overloaded("CONVERT_TZ", vec![sig(&[P::Ts, P::Str, P::Str])], returns(ts_type()), |args, _, rows| {
            let ts = as_timestamp_millisecond_array(arg(args, 0)?)?;
            let from = str_arg(args, 1, rows)?;
            let to = str_arg(args, 2, rows)?;
            let mut cache = Cache::default();
            let out: TimestampMillisecondArray = (0..rows)
                .map(|i| {
                    if ts.is_null(i) {
                        return None;
                    }
                    let ms = ts.value(i);
                    let f = cache.zone(sval(&from, i)?)?.offset_at_millis(ms)?;
                    let t = cache.zone(sval(&to, i)?)?.offset_at_millis(ms)?;
                    ms.checked_add(i64::from(t - f) * 1000)
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        }),
    );
    r.add(
        "FROM_DAYS",
        "Converts days since the epoch to a DATE.",
        overloaded("FROM_DAYS", vec![sig(&[P::Int])], returns(DataType::Date32), |args, _, _| {
            let d: Date32Array = as_int32_array(arg(args, 0)?)?.iter().collect();
            Ok(Arc::new(d) as ArrayRef)
        }),
    );
    r.add(
        "FROM_UNIXTIME",
        "Converts epoch milliseconds to a TIMESTAMP.",
        overloaded("FROM_UNIXTIME", vec![sig(&[P::BigInt])], returns(ts_type()), |args, _, _| {
            let t: TimestampMillisecondArray = as_int64_array(arg(args, 0)?)?.iter().collect();
            Ok(Arc::new(t) as ArrayRef)
        }),
    );
    // UNIX_DATE() and UNIX_TIMESTAMP() read the wall clock, hence volatile.
    r.add(
        "UNIX_DATE",
        "Returns the days since the epoch of a DATE, or of today (UTC) without an argument.",
        make_udf(
            "UNIX_DATE",
            Volatility::Volatile,
            |args| resolve(args, &[sig(&[]), sig(&[P::Date])]).ok_or(None),
            returns(DataType::Int32),
            |args, _, rows| {
                if args.is_empty() {
                    let today = date_to_days(chrono::Utc::now().date_naive());
                    return Ok(Arc::new(Int32Array::from(vec![today; rows])) as ArrayRef);
                }
                let d: Int32Array = as_date32_array(arg(args, 0)?)?.iter().collect();
                Ok(Arc::new(d) as ArrayRef)
            },
        ),
    );
    r.add(
        "UNIX_TIMESTAMP",
        "Returns the epoch milliseconds of a TIMESTAMP, or of now without an argument.",
        make_udf(
            "UNIX_TIMESTAMP",
            Volatility::Volatile,
            |args| resolve(args, &[sig(&[]), sig(&[P::Ts])]).ok_or(None),
            returns(DataType::Int64),
            |args, _, rows| {
                if args.is_empty() {
                    let now = chrono::Utc::now().timestamp_millis();
                    return Ok(Arc::new(Int64Array::from(vec![now; rows])) as ArrayRef);
                }
                let t: Int64Array = as_timestamp_millisecond_array(arg(args, 0)?)?.iter().collect();
                Ok(Arc::new(t) as ArrayRef)
            },
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use datafusion::common::ScalarValue;

    fn ts(v: i64) -> ScalarValue {
        ScalarValue::TimestampMillisecond(Some(v), None)
    }

    #[test]
    fn add_and_sub() {
        let date = ScalarValue::Date32(Some(10));
        assert_eq!(eval_lit("DATEADD", vec![s("DAYS"), i(10), date.clone()]), ScalarValue::Date32(Some(20)));
        assert_eq!(eval_lit("DATESUB", vec![s("DAYS"), i(-5), date.clone()]), ScalarValue::Date32(Some(15)));
        assert_eq!(
            eval_lit("DATEADD", vec![s("MILLISECONDS"), ScalarValue::Null, date.clone()]),
            ScalarValue::Date32(None)
        );
        let err = try_eval_lit("DATEADD", vec![date.clone(), i(5), date]).unwrap_err();
        assert!(
            err.to_string().contains("Function 'dateadd' does not accept parameters (DATE, INTEGER, DATE)."),
            "{err}"
        );
        let time = ScalarValue::Time32Millisecond(Some(86_399_995));
        assert_eq!(eval_lit("TIMEADD", vec![s("MILLISECONDS"), i(10), time]), ScalarValue::Time32Millisecond(Some(5)));
        assert_eq!(
            eval_lit("TIMESUB", vec![s("MILLISECONDS"), i(10), ScalarValue::Time32Millisecond(Some(5))]),
            ScalarValue::Time32Millisecond(Some(86_399_995))
        );
        assert_eq!(eval_lit("TIMESTAMPADD", vec![s("SECONDS"), i(1), ts(10)]), ts(1010));
        assert_eq!(eval_lit("TIMESTAMPSUB", vec![s("MILLISECONDS"), i(5), ts(2)]), ts(-3));
    }

    #[test]
    fn format_and_parse_timestamps() {
        assert_eq!(
            eval_lit(
                "FORMAT_TIMESTAMP",
                vec![ts(1526075913000), s("yyyy-MM-dd HH:mm:ss zzz"), s("America/Los_Angeles")]
            ),
            s("2018-05-11 14:58:33 PDT")
        );
        assert_eq!(
            eval_lit("FORMAT_TIMESTAMP", vec![ts(1526075913000), s("yyyy-MM-dd HH:mm:ss")]),
            s("2018-05-11 21:58:33")
        );
        assert_eq!(
            eval_lit(
                "TIMESTAMPTOSTRING",
                vec![ScalarValue::Int64(Some(1526075913000)), s("yyyy-MM-dd HH:mm:ss zzz"), s("Europe/London")]
            ),
            s("2018-05-11 22:58:33 BST")
        );
        assert_eq!(
            eval_lit("STRINGTOTIMESTAMP", vec![s("2018-05-11T21:58:33Z"), s("yyyy-MM-dd'T'HH:mm:ssX")]),
            ScalarValue::Int64(Some(1526075913000))
        );
        assert_eq!(
            eval_lit("PARSE_TIMESTAMP", vec![s("2018-05-11T21:58:33 PST"), s("yyyy-MM-dd'T'HH:mm:ss zzz")]),
            ts(1526101113000)
        );
        assert_eq!(
            eval_lit("PARSE_TIMESTAMP", vec![s("2018-05-11T21:58:33"), s("yyyy-MM-dd'T'HH:mm:ss")]),
            ts(1526075913000)
        );
        assert_eq!(
            eval_lit("PARSE_TIMESTAMP", vec![s("nope"), s("yyyy")]),
            ScalarValue::TimestampMillisecond(None, None)
        );
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(
            eval_lit("PARSE_DATE", vec![s("2018-05-11Lit"), s("yyyy-MM-dd'Lit'")]),
            ScalarValue::Date32(Some(17662))
        );
        assert_eq!(eval_lit("PARSE_DATE", vec![s("JAN-2022"), s("MMM-yyyy")]), ScalarValue::Date32(Some(18993)));
        assert_eq!(
            eval_lit("PARSE_DATE", vec![s("2003-12-24-01-01"), s("yyyy-MM-dd")]),
            ScalarValue::Date32(Some(12410))
        );
        assert_eq!(eval_lit("PARSE_DATE", vec![s("2004"), s("yyyy-MM-dd")]), ScalarValue::Date32(None));
        assert_eq!(eval_lit("STRINGTODATE", vec![s("foo"), s("yyyyMMdd")]), ScalarValue::Int32(None));
        assert_eq!(
            eval_lit("FORMAT_DATE", vec![ScalarValue::Date32(Some(-1)), s("dd-MM-yyyy'Sophia'")]),
            s("31-12-1969Sophia")
        );
        assert_eq!(eval_lit("DATETOSTRING", vec![i(18993), s("dd-MMM-yyyy")]), s("01-Jan-2022"));
        assert_eq!(
            eval_lit("FORMAT_TIME", vec![ScalarValue::Time32Millisecond(Some(60_220_000)), s("HH:mm:ss")]),
            s("16:43:40")
        );
        assert_eq!(
            eval_lit("PARSE_TIME", vec![s("16:43:40.5"), s("HH:mm:ss.S")]),
            ScalarValue::Time32Millisecond(Some(60_220_500))
        );
        assert_eq!(eval_lit("FROM_DAYS", vec![i(5)]), ScalarValue::Date32(Some(5)));
        assert_eq!(eval_lit("UNIX_DATE", vec![ScalarValue::Date32(Some(5))]), i(5));
        assert_eq!(eval_lit("UNIX_TIMESTAMP", vec![ts(7)]), ScalarValue::Int64(Some(7)));
        assert_eq!(eval_lit("FROM_UNIXTIME", vec![ScalarValue::Int64(Some(100))]), ts(100));
    }

    #[test]
    fn convert_tz() {
        assert_eq!(eval_lit("CONVERT_TZ", vec![ts(100), s("+0200"), s("+0500")]), ts(10_800_100));
        assert_eq!(
            eval_lit("CONVERT_TZ", vec![ts(1589234313000), s("America/Los_Angeles"), s("America/New_York")]),
            ts(1589245113000)
        );
    }
}
