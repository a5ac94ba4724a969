//! Java `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSS`, `dd-MMM-yyyy`, `zzz` …) and
//! `ZoneId`s, implemented on chrono and chrono-tz.
//!
//! ksqlDB's date functions take Java patterns, so rather than translating them to strftime
//! (which cannot express Java's parsing rules) a pattern is compiled into [`Item`]s that both
//! format and parse. Parsing follows ksqlDB's formatter setup: case-insensitive, with missing
//! fields defaulting to 1970-01-01T00:00:00.

use std::str::FromStr;

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike};
use chrono_tz::{OffsetName, Tz};

/// A time zone: a fixed offset or a tz-database region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Zone {
    /// A fixed offset such as `+02:00` (or UTC).
    Fixed(FixedOffset),
    /// A region such as `America/Los_Angeles`.
    Named(Tz),
}

/// What a zone looks like at an instant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ZoneInfo {
    /// Offset from UTC in seconds.
    pub(crate) offset: i32,
    /// Short name (`PDT`) or, for fixed offsets, the offset id.
    pub(crate) abbrev: String,
    /// Zone id (`America/Los_Angeles`, `Z`, `+02:00`).
    pub(crate) id: String,
}

/// Common abbreviations Java resolves to regions when parsing `z`.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("PT", "America/Los_Angeles"),
    ("MST", "America/Denver"),
    ("MDT", "America/Denver"),
    ("CST", "America/Chicago"),
    ("CDT", "America/Chicago"),
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("AKST", "America/Anchorage"),
    ("AKDT", "America/Anchorage"),
    ("HST", "Pacific/Honolulu"),
    ("BST", "Europe/London"),
    ("CET", "Europe/Paris"),
    ("CEST", "Europe/Paris"),
    ("EET", "Europe/Athens"),
    ("EEST", "Europe/Athens"),
    ("WET", "Europe/Lisbon"),
    ("WEST", "Europe/Lisbon"),
    ("IST", "Asia/Kolkata"),
    ("JST", "Asia/Tokyo"),
    ("KST", "Asia/Seoul"),
    ("AEST", "Australia/Sydney"),
    ("AEDT", "Australia/Sydney"),
    ("NZST", "Pacific/Auckland"),
    ("NZDT", "Pacific/Auckland"),
];

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).unwrap_or_else(|| Offset::fix(&chrono::Utc))
}

/// Parses `+h`, `+hh`, `+hhmm`, `+hh:mm`, `+hhmmss`, `+hh:mm:ss` into seconds.
fn parse_offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || digits.is_empty() {
        return None;
    }
    let (h, m, sec) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?, 0),
        6 => (digits[..2].parse().ok()?, digits[2..4].parse().ok()?, digits[4..].parse().ok()?),
        _ => return None,
    };
    if h > 18 || m > 59 || sec > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + sec))
}

impl Zone {
    /// UTC.
    pub(crate) fn utc() -> Zone {
        Zone::Fixed(utc())
    }

    /// Parses a zone as Java's `ZoneId.of` does (plus common abbreviations such as `PST`).
    pub(crate) fn parse(s: &str) -> Option<Zone> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let upper = s.to_ascii_uppercase();
        if matches!(upper.as_str(), "Z" | "UTC" | "GMT" | "UT") {
            return Some(Zone::utc());
        }
        if let Some(secs) = parse_offset(s) {
            return FixedOffset::east_opt(secs).map(Zone::Fixed);
        }
        for prefix in ["UTC", "GMT", "UT"] {
            if let Some(rest) = upper.strip_prefix(prefix)
                && let Some(secs) = parse_offset(rest)
            {
                return FixedOffset::east_opt(secs).map(Zone::Fixed);
            }
        }
        if let Ok(tz) = Tz::from_str(s) {
            return Some(Zone::Named(tz));
        }
        if let Some(tz) = chrono_tz::TZ_VARIANTS.iter().find(|tz| tz.name().eq_ignore_ascii_case(s)) {
            return Some(Zone::Named(*tz));
        }
        ABBREVIATIONS.iter().find(|(a, _)| *a == upper).and_then(|(_, id)| Tz::from_str(id).ok()).map(Zone::Named)
    }

    /// Offset and names of this zone at the UTC instant `utc`.
    pub(crate) fn info_at(&self, utc: &NaiveDateTime) -> ZoneInfo {
        match self {
            Zone::Fixed(f) => {
                let secs = f.local_minus_utc();
                let id = if secs == 0 { "Z".to_string() } else { format_offset(secs, true, false) };
                ZoneInfo { offset: secs, abbrev: if secs == 0 { "Z".into() } else { id.clone() }, id }
            }
            Zone::Named(tz) => {
                let off = tz.offset_from_utc_datetime(utc);
                let secs = off.fix().local_minus_utc();
                let abbrev = off.abbreviation().map(str::to_string).unwrap_or_else(|| format_offset(secs, true, false));
                ZoneInfo { offset: secs, abbrev, id: tz.name().to_string() }
            }
        }
    }

    /// Offset in seconds at the UTC instant given in epoch milliseconds.
    pub(crate) fn offset_at_millis(&self, millis: i64) -> Option<i32> {
        let utc = chrono::DateTime::from_timestamp_millis(millis)?.naive_utc();
        Some(self.info_at(&utc).offset)
    }

    /// The UTC instant of a local date-time in this zone. Like Java, an ambiguous time takes
    /// the earlier offset and a time in a gap is moved forward by the gap's length.
    pub(crate) fn local_to_utc(&self, local: &NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Zone::Fixed(f) => Some(*local - chrono::Duration::seconds(i64::from(f.local_minus_utc()))),
            Zone::Named(tz) => match tz.from_local_datetime(local) {
                chrono::LocalResult::Single(d) => Some(d.naive_utc()),
                chrono::LocalResult::Ambiguous(a, _) => Some(a.naive_utc()),
                chrono::LocalResult::None => {
                    let later = *local + chrono::Duration::hours(1);
                    tz.from_local_datetime(&later).earliest().map(|d| d.naive_utc())
                }
            },
        }
    }
}

/// `+HH:MM` (colon) or `+HHMM`; seconds appended when non-zero.
fn format_offset(secs: i32, colon: bool, hours_only_if_whole: bool) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, (a / 60) % 60, a % 60);
    let sep = if colon { ":" } else { "" };
    let mut out = format!("{sign}{h:02}");
    if !(hours_only_if_whole && m == 0 && s == 0) {
        out.push_str(&format!("{sep}{m:02}"));
    }
    if s != 0 {
        out.push_str(&format!("{sep}{s:02}"));
    }
    out
}

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// Text copied (formatting) or matched case-insensitively (parsing).
    Literal(String),
    /// A pattern letter repeated `count` times.
    Field(char, usize),
    /// `[ … ]`: printed when possible, parsed if present.
    Optional(Vec<Item>),
}

/// Which kind of value a pattern is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A DATE: time and zone fields are errors.
    Date,
    /// A TIME: date and zone fields are errors.
    Time,
    /// A TIMESTAMP (with a zone for zone fields).
    DateTime,
}

const DATE_LETTERS: &str = "GuyYMLdDQqEe";
const TIME_LETTERS: &str = "ahKkHmsSAnN";
const ZONE_LETTERS: &str = "VzOXxZ";

/// A compiled Java date-time pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JavaFormat {
    items: Vec<Item>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn compile(chars: &[char], pos: &mut usize, nested: bool) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    while *pos < chars.len() {
        let c = chars[*pos];
        if c.is_ascii_alphabetic() {
            let mut n = 1;
            while *pos + n < chars.len() && chars[*pos + n] == c {
                n += 1;
            }
            if !(DATE_LETTERS.contains(c) || TIME_LETTERS.contains(c) || ZONE_LETTERS.contains(c)) {
                return Err(format!("Unknown pattern letter: {c}"));
            }
            if c == 'V' && n != 2 {
                return Err("Pattern letter count must be 2: V".into());
            }
            items.push(Item::Field(c, n));
            *pos += n;
        } else if c == '\'' {
            *pos += 1;
            let mut lit = String::new();
            loop {
                match chars.get(*pos) {
                    None => return Err("Pattern ends with an incomplete string literal".into()),
                    Some('\'') if chars.get(*pos + 1) == Some(&'\'') => {
                        lit.push('\'');
                        *pos += 2;
                    }
                    Some('\'') => {
                        *pos += 1;
                        break;
                    }
                    Some(ch) => {
                        lit.push(*ch);
                        *pos += 1;
                    }
                }
            }
            if lit.is_empty() {
                lit.push('\'');
            }
            items.push(Item::Literal(lit));
        } else if c == '[' {
            *pos += 1;
            let inner = compile(chars, pos, true)?;
            items.push(Item::Optional(inner));
        } else if c == ']' {
            if !nested {
                return Err("Pattern invalid as it contains ] without previous [".into());
            }
            *pos += 1;
            return Ok(items);
        } else if matches!(c, '{' | '}' | '#') {
            return Err(format!("Pattern includes reserved character: '{c}'"));
        } else {
            items.push(Item::Literal(c.to_string()));
            *pos += 1;
        }
    }
    Ok(items)
}

fn pad_num(v: i64, width: usize) -> String {
    if v < 0 { format!("-{:0width$}", -v, width = width) } else { format!("{v:0width$}") }
}

/// Parsed fields, before resolution into a date, time or instant.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parsed {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    hour: Option<u32>,
    hour12: Option<u32>,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    nano: Option<u32>,
    milli_of_day: Option<u32>,
    /// The zone given in the text, if any.
    pub(crate) zone: Option<Zone>,
}

impl Parsed {
    /// The date, with missing fields defaulting to 1970-01-01.
    pub(crate) fn date(&self) -> Result<NaiveDate, String> {
        let year = self.year.unwrap_or(1970);
        if let Some(doy) = self.day_of_year {
            return NaiveDate::from_yo_opt(year, doy).ok_or_else(|| "invalid day of year".into());
        }
        NaiveDate::from_ymd_opt(year, self.month.unwrap_or(1), self.day.unwrap_or(1))
            .ok_or_else(|| "invalid date".to_string())
    }

    /// The time of day, with missing fields defaulting to midnight.
    pub(crate) fn time(&self) -> Result<NaiveTime, String> {
        if let Some(ms) = self.milli_of_day {
            return NaiveTime::from_num_seconds_from_midnight_opt(ms / 1000, (ms % 1000) * 1_000_000)
                .ok_or_else(|| "invalid milli of day".into());
        }
        let hour = match (self.hour, self.hour12, self.pm) {
            (Some(h), _, _) => h,
            (None, Some(h), pm) => (h % 12) + if pm == Some(true) { 12 } else { 0 },
            (None, None, _) => 0,
        };
        NaiveTime::from_hms_nano_opt(hour, self.minute.unwrap_or(0), self.second.unwrap_or(0), self.nano.unwrap_or(0))
            .ok_or_else(|| "invalid time".to_string())
    }

    /// The local date-time.
    pub(crate) fn datetime(&self) -> Result<NaiveDateTime, String> {
        Ok(NaiveDateTime::new(self.date()?, self.time()?))
    }
}

struct Cursor<'a> {
    s: &'a [char],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Result<i64, String> {
        let start = self.pos;
        while self.pos < self.s.len() && self.pos - start < max && self.s[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        let n = self.pos - start;
        if n < min || n == 0 {
            self.pos = start;
            return Err(format!("expected {min} digits at index {start}"));
        }
        let text: String = self.s[start..self.pos].iter().collect();
        text.parse::<i64>().map_err(|e| e.to_string())
    }

    fn text_choice(&mut self, options: &[String]) -> Result<usize, String> {
        // longest match first, case-insensitive
        let mut best: Option<(usize, usize)> = None;
        for (i, o) in options.iter().enumerate() {
            let len = o.chars().count();
            if self.pos + len <= self.s.len() {
                let cand: String = self.s[self.pos..self.pos + len].iter().collect();
                if cand.eq_ignore_ascii_case(o) && best.is_none_or(|(_, l)| len > l) {
                    best = Some((i, len));
                }
            }
        }
        match best {
            Some((i, len)) => {
                self.pos += len;
                Ok(i)
            }
            None => Err(format!("unparseable text at index {}", self.pos)),
        }
    }

    fn literal(&mut self, lit: &str) -> Result<(), String> {
        for c in lit.chars() {
            match self.s.get(self.pos) {
                Some(x) if x.to_lowercase().eq(c.to_lowercase()) => self.pos += 1,
                _ => return Err(format!("expected '{lit}' at index {}", self.pos)),
            }
        }
        Ok(())
    }

    fn offset(&mut self, allow_z: bool) -> Result<i32, String> {
        if allow_z && matches!(self.s.get(self.pos), Some('Z' | 'z')) {
            self.pos += 1;
            return Ok(0);
        }
        let start = self.pos;
        let mut end = self.pos;
        if matches!(self.s.get(end), Some('+' | '-')) {
            end += 1;
            while end < self.s.len() && (self.s[end].is_ascii_digit() || self.s[end] == ':') {
                end += 1;
            }
        }
        let text: String = self.s[start..end].iter().collect();
        match parse_offset(&text) {
            Some(o) => {
                self.pos = end;
                Ok(o)
            }
            None => Err(format!("invalid offset at index {start}")),
        }
    }

    fn zone_text(&mut self) -> Result<Zone, String> {
        let start = self.pos;
        let mut end = self.pos;
        while end < self.s.len()
            && (self.s[end].is_ascii_alphanumeric() || matches!(self.s[end], '/' | '_' | '+' | '-' | ':'))
        {
            end += 1;
        }
        // try the longest candidate first, then shorter prefixes
        while end > start {
            let text: String = self.s[start..end].iter().collect();
            if let Some(z) = Zone::parse(&text) {
                self.pos = end;
                return Ok(z);
            }
            end -= 1;
        }
        Err(format!("unparseable zone at index {start}"))
    }
}

fn is_numeric_field(item: Option<&Item>) -> bool {
    match item {
        Some(Item::Field(c, n)) => match c {
            'M' | 'L' | 'Q' | 'q' | 'E' => *n <= 2 && *c != 'E',
            'G' | 'a' | 'z' | 'V' | 'O' | 'X' | 'x' | 'Z' => false,
            _ => true,
        },
        _ => false,
    }
}

impl JavaFormat {
    /// Compiles a Java pattern; the error says what is wrong with it.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pos = 0;
        let items = compile(&chars, &mut pos, false)?;
        Ok(JavaFormat { items })
    }

    /// Formats `dt` (local time in `zone`, if one is given).
    pub(crate) fn format(&self, dt: &NaiveDateTime, zone: Option<&ZoneInfo>, kind: Kind) -> Result<String, String> {
        let mut out = String::new();
        format_items(&self.items, dt, zone, kind, &mut out, false)?;
        Ok(out)
    }

    /// Parses the start of `text` that matches the pattern, ignoring what follows (as
    /// `DateTimeFormatter.parse(text, ParsePosition)` does).
    pub(crate) fn parse_prefix(&self, text: &str) -> Result<Parsed, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut cur = Cursor { s: &chars, pos: 0 };
        let mut parsed = Parsed::default();
        parse_items(&self.items, &mut cur, &mut parsed)?;
        Ok(parsed)
    }

    /// Parses `text`, which must match the whole pattern.
    pub(crate) fn parse(&self, text: &str) -> Result<Parsed, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut cur = Cursor { s: &chars, pos: 0 };
        let mut parsed = Parsed::default();
        parse_items(&self.items, &mut cur, &mut parsed)?;
        if cur.pos != chars.len() {
            return Err(format!("Text '{text}' could not be parsed, unparsed text found at index {}", cur.pos));
        }
        Ok(parsed)
    }
}

fn unsupported(c: char, kind: Kind) -> String {
    let what = match kind {
        Kind::Date => "a DATE",
        Kind::Time => "a TIME",
        Kind::DateTime => "a TIMESTAMP without a time zone",
    };
    format!("Unsupported field for {what}: pattern letter '{c}'")
}

fn format_items(
    items: &[Item],
    dt: &NaiveDateTime,
    zone: Option<&ZoneInfo>,
    kind: Kind,
    out: &mut String,
    optional: bool,
) -> Result<(), String> {
    for item in items {
        match item {
            Item::Literal(l) => out.push_str(l),
            Item::Optional(inner) => {
                let mut tmp = String::new();
                if format_items(inner, dt, zone, kind, &mut tmp, true).is_ok() {
                    out.push_str(&tmp);
                }
            }
            Item::Field(c, n) => {
                let (c, n) = (*c, *n);
                if (kind == Kind::Date && TIME_LETTERS.contains(c)) || (kind == Kind::Time && DATE_LETTERS.contains(c))
                {
                    return Err(unsupported(c, kind));
                }
                let s = match c {
                    'G' => {
                        let ad = dt.year() > 0;
                        match (n, ad) {
                            (4, true) => "Anno Domini".into(),
                            (4, false) => "Before Christ".into(),
                            (5, true) => "A".into(),
                            (5, false) => "B".into(),
                            (_, true) => "AD".into(),
                            (_, false) => "BC".into(),
                        }
                    }
                    'u' | 'y' | 'Y' => {
                        let y = if c == 'Y' {
                            i64::from(dt.iso_week().year())
                        } else if c == 'y' && dt.year() <= 0 {
                            i64::from(1 - dt.year())
                        } else {
                            i64::from(dt.year())
                        };
                        if n == 2 { pad_num(y.rem_euclid(100), 2) } else { pad_num(y, n) }
                    }
                    'M' | 'L' => match n {
                        1 | 2 => pad_num(i64::from(dt.month()), n),
                        3 => MONTHS[dt.month0() as usize][..3].to_string(),
                        4 => MONTHS[dt.month0() as usize].to_string(),
                        _ => MONTHS[dt.month0() as usize][..1].to_string(),
                    },
                    'd' => pad_num(i64::from(dt.day()), n),
                    'D' => pad_num(i64::from(dt.ordinal()), n),
                    'Q' | 'q' => {
                        let q = dt.month0() / 3 + 1;
                        match n {
                            1 | 2 => pad_num(i64::from(q), n),
                            3 => format!("Q{q}"),
                            _ => format!(
                                "{q}{} quarter",
                                match q {
                                    1 => "st",
                                    2 => "nd",
                                    3 => "rd",
                                    _ => "th",
                                }
                            ),
                        }
                    }
                    'E' => {
                        let name = DAYS[dt.weekday().num_days_from_monday() as usize];
                        match n {
                            1..=3 => name[..3].to_string(),
                            4 => name.to_string(),
                            _ => name[..1].to_string(),
                        }
                    }
                    'e' => pad_num(i64::from(dt.weekday().number_from_sunday()), n),
                    'a' => if dt.hour() < 12 { "AM" } else { "PM" }.into(),
                    'h' => pad_num(i64::from((dt.hour() + 11) % 12 + 1), n),
                    'K' => pad_num(i64::from(dt.hour() % 12), n),
                    'k' => pad_num(i64::from(if dt.hour() == 0 { 24 } else { dt.hour() }), n),
                    'H' => pad_num(i64::from(dt.hour()), n),
                    'm' => pad_num(i64::from(dt.minute()), n),
                    's' => pad_num(i64::from(dt.second()), n),
                    'S' => {
                        let nanos = format!("{:09}", dt.nanosecond() % 1_000_000_000);
                        if n <= 9 { nanos[..n].to_string() } else { format!("{nanos}{}", "0".repeat(n - 9)) }
                    }
                    'A' => pad_num(
                        i64::from(dt.num_seconds_from_midnight()) * 1000 + i64::from(dt.nanosecond() / 1_000_000),
                        n,
                    ),
                    'n' => pad_num(i64::from(dt.nanosecond()), n),
                    'N' => pad_num(
                        i64::from(dt.num_seconds_from_midnight()) * 1_000_000_000 + i64::from(dt.nanosecond()),
                        n,
                    ),
                    _ => {
                        let Some(z) = zone else {
                            return Err(unsupported(c, kind));
                        };
                        format_zone(c, n, z)
                    }
                };
                out.push_str(&s);
            }
        }
    }
    let _ = optional;
    Ok(())
}

fn format_zone(c: char, n: usize, z: &ZoneInfo) -> String {
    let off = z.offset;
    match c {
        'V' => z.id.clone(),
        'z' => {
            if n >= 4 {
                z.id.clone()
            } else {
                z.abbrev.clone()
            }
        }
        'O' => {
            if off == 0 {
                "GMT".into()
            } else if n >= 4 {
                format!("GMT{}", format_offset(off, true, false))
            } else {
                let sign = if off < 0 { '-' } else { '+' };
                let a = off.unsigned_abs();
                let (h, m) = (a / 3600, (a / 60) % 60);
                if m == 0 { format!("GMT{sign}{h}") } else { format!("GMT{sign}{h}:{m:02}") }
            }
        }
        'X' | 'x' => {
            if c == 'X' && off == 0 {
                "Z".into()
            } else {
                match n {
                    1 => format_offset(off, false, true),
                    2 | 4 => format_offset(off, false, false),
                    _ => format_offset(off, true, false),
                }
            }
        }
        _ => match n {
            1..=3 => format_offset(off, false, false),
            4 => {
                if off == 0 {
                    "GMT".into()
                } else {
                    format!("GMT{}", format_offset(off, true, false))
                }
            }
            _ => {
                if off == 0 {
                    "Z".into()
                } else {
                    format_offset(off, true, false)
                }
            }
        },
    }
}

fn parse_items(items: &[Item], cur: &mut Cursor<'_>, p: &mut Parsed) -> Result<(), String> {
    for (idx, item) in items.iter().enumerate() {
        match item {
            Item::Literal(l) => cur.literal(l)?,
            Item::Optional(inner) => {
                let (save_pos, save) = (cur.pos, p.clone());
                if parse_items(inner, cur, p).is_err() {
                    cur.pos = save_pos;
                    *p = save;
                }
            }
            Item::Field(c, n) => {
                let (c, n) = (*c, *n);
                let adjacent = is_numeric_field(items.get(idx + 1));
                // width limits for numeric fields
                let fixed = |max_single: usize| -> (usize, usize) {
                    if n >= 2 { (n, n) } else { (1, if adjacent { 1 } else { max_single }) }
                };
                match c {
                    'G' => {
                        let opts: Vec<String> =
                            vec!["AD".into(), "BC".into(), "Anno Domini".into(), "Before Christ".into()];
                        cur.text_choice(&opts)?;
                    }
                    'u' | 'y' | 'Y' => {
                        if n == 2 {
                            let v = cur.digits(2, 2)?;
                            p.year = Some(2000 + v as i32);
                        } else {
                            let max = if adjacent { n.max(1) } else { 10 };
                            let neg = c == 'u' && cur.s.get(cur.pos) == Some(&'-');
                            if neg || cur.s.get(cur.pos) == Some(&'+') {
                                cur.pos += 1;
                            }
                            let v = cur.digits(n.min(max), max)? as i32;
                            p.year = Some(if neg { -v } else { v });
                        }
                    }
                    'M' | 'L' => {
                        if n <= 2 {
                            let (min, max) = fixed(2);
                            p.month = Some(cur.digits(min, max)? as u32);
                        } else {
                            let opts: Vec<String> = if n == 3 {
                                MONTHS.iter().map(|m| m[..3].to_string()).collect()
                            } else {
                                MONTHS.iter().map(|m| m.to_string()).collect()
                            };
                            p.month = Some(cur.text_choice(&opts)? as u32 + 1);
                        }
                    }
                    'd' => {
                        let (min, max) = fixed(2);
                        p.day = Some(cur.digits(min, max)? as u32);
                    }
                    'D' => {
                        let (min, max) = if n >= 3 { (n, n) } else { (n, if adjacent { n } else { 3 }) };
                        p.day_of_year = Some(cur.digits(min, max)? as u32);
                    }
                    'Q' | 'q' => {
                        let (min, max) = fixed(1);
                        cur.digits(min, max)?;
                    }
                    'E' => {
                        let opts: Vec<String> = if n == 4 {
                            DAYS.iter().map(|d| d.to_string()).collect()
                        } else {
                            DAYS.iter().map(|d| d[..3].to_string()).collect()
                        };
                        cur.text_choice(&opts)?;
                    }
                    'e' => {
                        cur.digits(1, 1)?;
                    }
                    'a' => {
                        let opts = vec!["AM".to_string(), "PM".to_string()];
                        p.pm = Some(cur.text_choice(&opts)? == 1);
                    }
                    'h' | 'K' => {
                        let (min, max) = fixed(2);
                        p.hour12 = Some(cur.digits(min, max)? as u32);
                    }
                    'k' | 'H' => {
                        let (min, max) = fixed(2);
                        let h = cur.digits(min, max)? as u32;
                        p.hour = Some(if c == 'k' && h == 24 { 0 } else { h });
                    }
                    'm' => {
                        let (min, max) = fixed(2);
                        p.minute = Some(cur.digits(min, max)? as u32);
                    }
                    's' => {
                        let (min, max) = fixed(2);
                        p.second = Some(cur.digits(min, max)? as u32);
                    }
                    'S' => {
                        let start = cur.pos;
                        let v = cur.digits(n, n)?;
                        let width = cur.pos - start;
                        let nanos = if width <= 9 {
                            v * 10i64.pow((9 - width) as u32)
                        } else {
                            v / 10i64.pow((width - 9) as u32)
                        };
                        p.nano = Some(nanos as u32);
                    }
                    'A' => p.milli_of_day = Some(cur.digits(n, 8)? as u32),
                    'n' => p.nano = Some(cur.digits(n, 9)? as u32),
                    'N' => {
                        let v = cur.digits(n, 14)?;
                        p.milli_of_day = Some((v / 1_000_000) as u32);
                    }
                    'V' | 'z' => p.zone = Some(cur.zone_text()?),
                    'O' => {
                        cur.literal("GMT")?;
                        let off = cur.offset(false).unwrap_or(0);
                        p.zone = FixedOffset::east_opt(off).map(Zone::Fixed);
                    }
                    'X' | 'x' | 'Z' => {
                        let off = if c == 'Z' && n == 4 {
                            cur.literal("GMT")?;
                            cur.offset(false).unwrap_or(0)
                        } else {
                            cur.offset(c != 'x')?
                        };
                        p.zone = FixedOffset::east_opt(off).map(Zone::Fixed);
                    }
                    other => return Err(format!("Unknown pattern letter: {other}")),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_milli_opt(h, mi, s, ms).unwrap()
    }

    #[test]
    fn formats_common_patterns() {
        let f = JavaFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap();
        assert_eq!(f.format(&dt(2018, 5, 11, 21, 58, 33, 7), None, Kind::DateTime).unwrap(), "2018-05-11T21:58:33.007");
        let f = JavaFormat::new("dd-MMM-yyyy'Sophia'").unwrap();
        assert_eq!(f.format(&dt(2022, 1, 1, 0, 0, 0, 0), None, Kind::Date).unwrap(), "01-Jan-2022Sophia");
        let f = JavaFormat::new("EEEE h:mm a, ''yy").unwrap();
        assert_eq!(f.format(&dt(2022, 1, 3, 13, 5, 0, 0), None, Kind::DateTime).unwrap(), "Monday 1:05 PM, '22");
        // a time field in a DATE pattern is an error
        let f = JavaFormat::new("yyyy HH").unwrap();
        assert!(f.format(&dt(2022, 1, 3, 0, 0, 0, 0), None, Kind::Date).is_err());
        assert!(JavaFormat::new("yyyy-bb").is_err());
    }

    #[test]
    fn formats_zones() {
        let z = Zone::parse("America/Los_Angeles").unwrap();
        let utc = dt(2018, 5, 11, 21, 58, 33, 0);
        let info = z.info_at(&utc);
        assert_eq!(info.abbrev, "PDT");
        assert_eq!(info.offset, -7 * 3600);
        let local = utc + chrono::Duration::seconds(i64::from(info.offset));
        let f = JavaFormat::new("yyyy-MM-dd HH:mm:ss zzz XXX Z").unwrap();
        assert_eq!(f.format(&local, Some(&info), Kind::DateTime).unwrap(), "2018-05-11 14:58:33 PDT -07:00 -0700");
    }

    #[test]
    fn parses_with_defaults_and_case_insensitively() {
        let f = JavaFormat::new("dd-MMM-yyyy").unwrap();
        assert_eq!(f.parse("01-JAN-2022").unwrap().date().unwrap(), NaiveDate::from_ymd_opt(2022, 1, 1).unwrap());
        let f = JavaFormat::new("MMM-yyyy").unwrap();
        assert_eq!(f.parse("JAN-2022").unwrap().date().unwrap(), NaiveDate::from_ymd_opt(2022, 1, 1).unwrap());
        let f = JavaFormat::new("yyyyMMdd").unwrap();
        assert_eq!(f.parse("20200511").unwrap().date().unwrap(), NaiveDate::from_ymd_opt(2020, 5, 11).unwrap());
        assert!(f.parse("foo").is_err());
        let f = JavaFormat::new("yyyy-MM-dd'T'HH:mm:ssX").unwrap();
        let p = f.parse("2020-05-11T21:58:33z").unwrap();
        assert_eq!(p.zone, Some(Zone::utc()));
        let f = JavaFormat::new("yyyy-MM-dd'T'HH:mm:ss zzz").unwrap();
        let p = f.parse("2018-05-11T21:58:33 PST").unwrap();
        assert_eq!(p.zone, Zone::parse("America/Los_Angeles"));
        let f = JavaFormat::new("yyyy-MM-dd[ HH:mm]").unwrap();
        assert_eq!(f.parse("2020-01-02").unwrap().time().unwrap(), NaiveTime::MIN);
        assert_eq!(f.parse("2020-01-02 10:30").unwrap().time().unwrap(), NaiveTime::from_hms_opt(10, 30, 0).unwrap());
    }

    #[test]
    fn zones() {
        assert_eq!(Zone::parse("+0200").unwrap().info_at(&dt(2020, 1, 1, 0, 0, 0, 0)).offset, 7200);
        assert_eq!(Zone::parse("UTC").unwrap(), Zone::utc());
        assert!(Zone::parse("Not/AZone").is_none());
        let ny = Zone::parse("America/New_York").unwrap();
        let utc = ny.local_to_utc(&dt(2020, 7, 1, 12, 0, 0, 0)).unwrap();
        assert_eq!(utc, dt(2020, 7, 1, 16, 0, 0, 0));
    }
}
