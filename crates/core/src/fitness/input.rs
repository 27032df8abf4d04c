//! Raw fields of a test record into domain values: sex, school grade (1–16, Chinese forms too), age on
//! the test date, timed results (`3'40"`, `3:40`, `220.5`) and measurements of a given kind. Every
//! parser works on bytes so the batch scorer never allocates per field.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use super::decimal::{Dec, DecError, trim};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub const ALL: [Sex; 2] = [Sex::Male, Sex::Female];

    /// `M`/`F` (any case), `male`/`female`, `男`/`女`.
    pub fn parse_bytes(bytes: &[u8]) -> Option<Sex> {
        // The usual forms first, with nothing to trim.
        match bytes {
            b"M" => return Some(Sex::Male),
            b"F" => return Some(Sex::Female),
            _ => {}
        }
        match trim(bytes) {
            b"M" | b"m" | b"male" | b"Male" | b"MALE" | b"\xe7\x94\xb7" => Some(Sex::Male),
            b"F" | b"f" | b"female" | b"Female" | b"FEMALE" | b"\xe5\xa5\xb3" => Some(Sex::Female),
            _ => None,
        }
    }

    pub fn parse(text: &str) -> Option<Sex> {
        Self::parse_bytes(text.as_bytes())
    }

    /// The letter the standards' files use.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Sex::Male => 0,
            Sex::Female => 1,
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A school grade: 1–6 primary, 7–9 junior middle, 10–12 senior middle, 13–16 university years 1–4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchoolGrade(u8);

const CHINESE_DIGITS: [&str; 9] = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];

impl SchoolGrade {
    pub const MIN: u8 = 1;
    pub const MAX: u8 = 16;

    pub fn new(grade: u8) -> Option<SchoolGrade> {
        (Self::MIN..=Self::MAX).contains(&grade).then_some(SchoolGrade(grade))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// `1`–`16`, `一年级`…`六年级` (also `小学一年级`), `七年级`…`九年级`, `初一`…`初三`, `高一`…`高三`,
    /// `大一`…`大四`.
    pub fn parse_bytes(bytes: &[u8]) -> Option<SchoolGrade> {
        // The usual form first, with nothing to trim.
        match *bytes {
            [units @ b'0'..=b'9'] => return Self::new(units - b'0'),
            [tens @ b'0'..=b'9', units @ b'0'..=b'9'] => return Self::new((tens - b'0') * 10 + units - b'0'),
            _ => {}
        }
        let bytes = trim(bytes);
        if !bytes.is_empty() && bytes.len() <= 2 && bytes.iter().all(u8::is_ascii_digit) {
            let number = bytes.iter().fold(0u8, |n, b| n * 10 + (b - b'0'));
            return Self::new(number);
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let digit = |s: &str| CHINESE_DIGITS.iter().position(|d| *d == s).map(|i| i as u8 + 1);
        let text = text.strip_prefix("小学").unwrap_or(text);
        if let Some(number) = text.strip_suffix("年级").and_then(digit) {
            return Self::new(number);
        }
        let (prefix, offset, count) = if let Some(rest) = text.strip_prefix('初') {
            (rest, 6, 3)
        } else if let Some(rest) = text.strip_prefix('高') {
            (rest, 9, 3)
        } else if let Some(rest) = text.strip_prefix('大') {
            (rest, 12, 4)
        } else {
            return None;
        };
        let number = digit(prefix)?;
        (number <= count).then(|| SchoolGrade(offset + number))
    }

    pub fn parse(text: &str) -> Option<SchoolGrade> {
        Self::parse_bytes(text.as_bytes())
    }
}

impl fmt::Display for SchoolGrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Completed years of age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgeYears(u8);

impl AgeYears {
    pub const MAX: u8 = 130;

    pub fn new(years: u8) -> Option<AgeYears> {
        (years <= Self::MAX).then_some(AgeYears(years))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Age in completed years on the test date; `None` if the test precedes the birth. A birthday on
    /// 29 February counts as reached on 1 March in common years.
    pub fn on(birth: NaiveDate, test: NaiveDate) -> Option<AgeYears> {
        if test < birth {
            return None;
        }
        let mut years = test.year() - birth.year();
        if (test.month(), test.day()) < (birth.month(), birth.day()) {
            years -= 1;
        }
        u8::try_from(years).ok().and_then(AgeYears::new)
    }

    pub fn parse_bytes(bytes: &[u8]) -> Option<AgeYears> {
        let bytes = trim(bytes);
        if bytes.is_empty() || bytes.len() > 3 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let years = bytes.iter().fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
        u8::try_from(years).ok().and_then(AgeYears::new)
    }
}

impl fmt::Display for AgeYears {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who a record is compared with: student standards band by school grade, adult ones by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cohort {
    Grade(SchoolGrade),
    Age(AgeYears),
}

impl Cohort {
    pub fn value(self) -> u8 {
        match self {
            Cohort::Grade(grade) => grade.get(),
            Cohort::Age(age) => age.get(),
        }
    }
}

impl fmt::Display for Cohort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cohort::Grade(grade) => write!(f, "grade {grade}"),
            Cohort::Age(age) => write!(f, "age {age}"),
        }
    }
}

/// How a measurement is written and what it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Seconds: `220`, `220.5`, `3'40"`, `3'40.5"`, `3:40`, `3′40″`, `3分40秒`; never negative.
    Seconds,
    /// Whole repetitions; never negative.
    Count,
    /// A decimal amount (cm, mL, kg, an index); negative only when allowed (sit-and-reach).
    Amount { negative_allowed: bool },
    /// Strictly positive amount with an upper bound (height, weight): 0 is a data-entry error.
    Positive { max: Dec },
}

/// Why a field is not a valid value of its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("expected a number")]
    NotANumber,
    #[error("expected a time in seconds or m'ss\" / m:ss")]
    NotATime,
    #[error("seconds must be below 60 in m'ss\"")]
    SecondsOver60,
    #[error("more than 3 decimal places")]
    TooManyDecimals,
    #[error("number too large")]
    TooLarge,
    #[error("must not be negative")]
    Negative,
    #[error("expected a whole number")]
    NotWhole,
    #[error("must be greater than 0")]
    NotPositive,
    #[error("implausibly large")]
    Implausible,
}

impl From<DecError> for ValueError {
    fn from(error: DecError) -> ValueError {
        match error {
            DecError::Empty | DecError::NotANumber => ValueError::NotANumber,
            DecError::TooManyDecimals => ValueError::TooManyDecimals,
            DecError::TooLarge => ValueError::TooLarge,
        }
    }
}

impl ValueKind {
    /// Parses a non-empty field (callers treat an empty field as "not tested").
    pub fn parse_bytes(self, bytes: &[u8]) -> Result<Dec, ValueError> {
        // Plain digits read the same for every kind (seconds included: `220.5`).
        if let Some(value) = Dec::parse_plain(bytes) {
            self.check(value)?;
            return Ok(value);
        }
        let value = match self {
            ValueKind::Seconds => parse_seconds(bytes)?,
            _ => Dec::parse_bytes(bytes)?,
        };
        self.check(value)?;
        Ok(value)
    }

    /// The values this kind allows (those `check` accepts), for testing many values without a
    /// branch on the kind.
    pub fn allowed(self) -> AllowedValues {
        let (min_milli, max_milli, whole) = match self {
            ValueKind::Seconds | ValueKind::Amount { negative_allowed: false } => (0, i64::MAX, false),
            ValueKind::Count => (0, i64::MAX, true),
            ValueKind::Amount { negative_allowed: true } => (i64::MIN, i64::MAX, false),
            ValueKind::Positive { max } => (1, max.milli(), false),
        };
        AllowedValues { min_milli, max_milli, whole }
    }

    /// Whether a value is one this kind allows.
    pub fn check(self, value: Dec) -> Result<(), ValueError> {
        match self {
            ValueKind::Seconds | ValueKind::Amount { negative_allowed: false } if value.is_negative() => Err(ValueError::Negative),
            ValueKind::Count if value.is_negative() => Err(ValueError::Negative),
            ValueKind::Count if !value.is_integer() => Err(ValueError::NotWhole),
            ValueKind::Positive { .. } if value.milli() <= 0 => Err(ValueError::NotPositive),
            ValueKind::Positive { max } if value > max => Err(ValueError::Implausible),
            _ => Ok(()),
        }
    }
}

/// The values a `ValueKind` allows: from `min_milli` to `max_milli`, whole numbers only if `whole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedValues {
    min_milli: i64,
    max_milli: i64,
    whole: bool,
}

impl AllowedValues {
    /// `check(value).is_ok()` of the kind, without a branch on the kind.
    #[inline]
    pub fn allows(&self, value: Dec) -> bool {
        let milli = value.milli();
        (self.min_milli <= milli) & (milli <= self.max_milli) & (!self.whole || value.is_integer())
    }
}

/// Seconds from `220`, `220.5`, `3'40"`, `3'40.5"`, `3'40`, `3:40`, `3:40.5`, `3′40″`, `3’40”`, `3分40秒`,
/// `40秒`, `40"`.
pub fn parse_seconds(bytes: &[u8]) -> Result<Dec, ValueError> {
    let bytes = trim(bytes);
    match minutes_and_seconds(bytes) {
        Some(seconds) => Ok(seconds),
        None => parse_seconds_in_full(bytes),
    }
}

/// The usual forms of a run's time in one step: `m'ss"`, `m'ss` and `m:ss` with one digit of minutes
/// and two of seconds below 60. `None` for anything else, which `parse_seconds_in_full` reads (or
/// refuses); where this accepts, it agrees with it.
#[inline]
fn minutes_and_seconds(bytes: &[u8]) -> Option<Dec> {
    let &[minutes, b'\'' | b':', tens, units, ref rest @ ..] = bytes else { return None };
    if !(rest.is_empty() || rest == b"\"") || !minutes.is_ascii_digit() || !(b'0'..=b'5').contains(&tens) || !units.is_ascii_digit() {
        return None;
    }
    let seconds = i64::from(minutes - b'0') * 60 + i64::from(tens - b'0') * 10 + i64::from(units - b'0');
    Some(Dec::from_int(seconds))
}

/// `parse_seconds` of a trimmed field, every form.
fn parse_seconds_in_full(bytes: &[u8]) -> Result<Dec, ValueError> {
    if bytes.is_empty() {
        return Err(ValueError::NotATime);
    }
    if bytes.first() == Some(&b'-') {
        return match Dec::parse_bytes(bytes) {
            Ok(_) => Err(ValueError::Negative),
            Err(_) => Err(ValueError::NotATime),
        };
    }
    if bytes.iter().all(|b| b.is_ascii_digit() || *b == b'.' || *b == b'+') {
        return Ok(Dec::parse_bytes(bytes)?);
    }
    const MINUTE_MARKS: [&[u8]; 5] = [b"'", b":", "′".as_bytes(), "’".as_bytes(), "分".as_bytes()];
    const SECOND_MARKS: [&[u8]; 6] = [b"''", b"\"", "″".as_bytes(), "”".as_bytes(), "秒".as_bytes(), b"s"];
    // Minutes end at the first byte that is not a digit, if a minute mark starts there (`40''` and
    // `40"` are seconds only).
    let first = bytes.iter().position(|b| !b.is_ascii_digit()).unwrap_or(bytes.len());
    let mark = MINUTE_MARKS.iter().find(|mark| bytes[first..].starts_with(mark) && !bytes[first..].starts_with(b"''"));
    let (minutes, rest) = match mark {
        Some(mark) => (Some(&bytes[..first]), trim(&bytes[first + mark.len()..])),
        None => (None, bytes),
    };
    let seconds_bytes = trim(SECOND_MARKS.iter().find_map(|mark| rest.strip_suffix(*mark)).unwrap_or(rest));
    let seconds = if seconds_bytes.is_empty() && minutes.is_some() { Dec::ZERO } else { Dec::parse_bytes(seconds_bytes).map_err(time_error)? };
    match minutes {
        None => Ok(seconds),
        Some(minutes) => {
            if minutes.is_empty() || minutes.len() > 4 {
                return Err(ValueError::NotATime);
            }
            if seconds >= Dec::from_int(60) {
                return Err(ValueError::SecondsOver60);
            }
            let minutes = minutes.iter().fold(0i64, |n, b| n * 10 + i64::from(b - b'0'));
            Ok(Dec::from_int(minutes * 60).saturating_add(seconds))
        }
    }
}

fn time_error(error: DecError) -> ValueError {
    match error {
        DecError::TooManyDecimals => ValueError::TooManyDecimals,
        DecError::TooLarge => ValueError::TooLarge,
        DecError::Empty | DecError::NotANumber => ValueError::NotATime,
    }
}

/// A header as compared with column names and aliases: spaces and a trailing unit in brackets
/// removed (`身高(cm)`, `身高（厘米）`), ASCII lower-cased, `×`/`*`/`X` written `x`, `一分钟` as `1分钟`.
pub fn normalize_header(header: &str) -> String {
    let mut text: String = header.trim().trim_start_matches('\u{feff}').chars().filter(|c| !c.is_whitespace()).collect();
    for (open, close) in [('(', ')'), ('（', '）'), ('[', ']')] {
        if text.ends_with(close)
            && let Some(start) = text.rfind(open)
            && start > 0
        {
            text.truncate(start);
        }
    }
    text.chars()
        .map(|c| match c {
            '×' | '*' | 'X' => 'x',
            c => c.to_ascii_lowercase(),
        })
        .collect::<String>()
        .replace("一分钟", "1分钟")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_grade(input: &str, expect: Option<u8>) {
        assert_eq!(SchoolGrade::parse(input).map(SchoolGrade::get), expect, "input {input:?}");
    }

    #[test]
    fn grades() {
        check_grade("1", Some(1));
        check_grade(" 16 ", Some(16));
        check_grade("07", Some(7));
        check_grade("0", None);
        check_grade("17", None);
        check_grade("100", None);
        check_grade("一年级", Some(1));
        check_grade("小学六年级", Some(6));
        check_grade("六年级", Some(6));
        check_grade("七年级", Some(7));
        check_grade("九年级", Some(9));
        check_grade("初一", Some(7));
        check_grade("初三", Some(9));
        check_grade("初四", None);
        check_grade("高一", Some(10));
        check_grade("高三", Some(12));
        check_grade("大一", Some(13));
        check_grade("大四", Some(16));
        check_grade("大五", None);
        check_grade("十年级", None);
        check_grade("grade 3", None);
        check_grade("", None);
        check_grade("-1", None);
    }

    fn check_sex(input: &str, expect: Option<Sex>) {
        assert_eq!(Sex::parse(input), expect, "input {input:?}");
    }

    #[test]
    fn sexes() {
        check_sex("M", Some(Sex::Male));
        check_sex("m", Some(Sex::Male));
        check_sex("男", Some(Sex::Male));
        check_sex(" 女 ", Some(Sex::Female));
        check_sex("F", Some(Sex::Female));
        check_sex("female", Some(Sex::Female));
        check_sex("X", None);
        check_sex("", None);
        check_sex("男女", None);
    }

    fn check_time(input: &str, expect: &str) {
        let actual = match parse_seconds(input.as_bytes()) {
            Ok(value) => value.to_string(),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expect, "input {input:?}");
    }

    #[test]
    fn times() {
        check_time("220", "220");
        check_time("8.5", "8.5");
        check_time("3'40\"", "220");
        check_time("3'40", "220");
        check_time("3:40", "220");
        check_time("3:40.5", "220.5");
        check_time("3'40.5\"", "220.5");
        check_time("3′40″", "220");
        check_time("3’40”", "220");
        check_time("3分40秒", "220");
        check_time("3'05\"", "185");
        check_time("3'", "180");
        check_time("40秒", "40");
        check_time("40\"", "40");
        check_time("8.5s", "8.5");
        check_time("0:59.9", "59.9");
        check_time("3:60", "error: seconds must be below 60 in m'ss\"");
        check_time("3:75", "error: seconds must be below 60 in m'ss\"");
        check_time("-8.5", "error: must not be negative");
        check_time("-3:40", "error: expected a time in seconds or m'ss\" / m:ss");
        check_time("abc", "error: expected a time in seconds or m'ss\" / m:ss");
        check_time("3:4x", "error: expected a time in seconds or m'ss\" / m:ss");
        check_time(":40", "error: expected a time in seconds or m'ss\" / m:ss");
        check_time("3:40:10", "error: expected a time in seconds or m'ss\" / m:ss");
        check_time("8.1234", "error: more than 3 decimal places");
        check_time("", "error: expected a time in seconds or m'ss\" / m:ss");
    }

    #[test]
    fn the_one_step_times_agree_with_the_full_reading() {
        let mut accepted = 0;
        for minutes in ["0", "3", "9", "12", "a", ""] {
            for seconds in 0..=99 {
                for (mark, end) in [("'", "\""), ("'", ""), (":", ""), (":", "\""), ("'", "''"), ("′", "″")] {
                    let written = if seconds < 10 { vec![format!("0{seconds}"), seconds.to_string()] } else { vec![seconds.to_string()] };
                    for seconds in written {
                        let text = format!("{minutes}{mark}{seconds}{end}");
                        let Some(fast) = minutes_and_seconds(text.as_bytes()) else { continue };
                        accepted += 1;
                        assert_eq!(Ok(fast), parse_seconds_in_full(text.as_bytes()), "{text:?}");
                    }
                }
            }
        }
        // 3 sets of minutes × 60 seconds × 4 forms (the one-digit forms of seconds below 10 are not
        // taken): the one step did take the usual forms.
        assert_eq!(accepted, 3 * 60 * 4);
    }

    fn check_value(kind: ValueKind, input: &str, expect: &str) {
        let actual = match kind.parse_bytes(input.as_bytes()) {
            Ok(value) => value.to_string(),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expect, "{kind:?} {input:?}");
    }

    #[test]
    fn values_by_kind() {
        let positive = ValueKind::Positive { max: Dec::from_int(300) };
        check_value(ValueKind::Count, "12", "12");
        check_value(ValueKind::Count, "12.0", "12");
        check_value(ValueKind::Count, "12.5", "error: expected a whole number");
        check_value(ValueKind::Count, "-1", "error: must not be negative");
        check_value(ValueKind::Count, "twelve", "error: expected a number");
        check_value(ValueKind::Amount { negative_allowed: true }, "-3.2", "-3.2");
        check_value(ValueKind::Amount { negative_allowed: false }, "-3.2", "error: must not be negative");
        check_value(ValueKind::Amount { negative_allowed: false }, "2500", "2500");
        check_value(positive, "0", "error: must be greater than 0");
        check_value(positive, "172.5", "172.5");
        check_value(positive, "301", "error: implausibly large");
        check_value(positive, "-170", "error: must be greater than 0");
        check_value(ValueKind::Seconds, "3:40", "220");
    }

    fn check_age(birth: &str, test: &str, expect: Option<u8>) {
        let birth = NaiveDate::parse_from_str(birth, "%Y-%m-%d").unwrap();
        let test = NaiveDate::parse_from_str(test, "%Y-%m-%d").unwrap();
        assert_eq!(AgeYears::on(birth, test).map(AgeYears::get), expect, "{birth} on {test}");
    }

    /// `allowed` says of every value what `check` says, for every kind.
    #[test]
    fn allowed_values_agree_with_check() {
        let kinds = [
            ValueKind::Seconds,
            ValueKind::Count,
            ValueKind::Amount { negative_allowed: false },
            ValueKind::Amount { negative_allowed: true },
            ValueKind::Positive { max: Dec::from_int(300) },
        ];
        let mut values: Vec<i64> = vec![i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1];
        for around in [-300_000, -1000, 0, 1000, 300_000] {
            values.extend((around - 1001..=around + 1001).step_by(7));
            values.extend([around - 1000, around - 999, around - 1, around, around + 1, around + 999, around + 1000]);
        }
        for kind in kinds {
            let allowed = kind.allowed();
            for &milli in &values {
                let value = Dec::from_milli(milli);
                assert_eq!(allowed.allows(value), kind.check(value).is_ok(), "{kind:?} {milli}");
            }
        }
    }

    #[test]
    fn ages_on_the_test_date() {
        check_age("1990-06-15", "2025-06-14", Some(34));
        check_age("1990-06-15", "2025-06-15", Some(35));
        check_age("1990-06-15", "2025-06-16", Some(35));
        check_age("2000-02-29", "2021-02-28", Some(20));
        check_age("2000-02-29", "2021-03-01", Some(21));
        check_age("2000-02-29", "2024-02-29", Some(24));
        check_age("2025-01-01", "2025-01-01", Some(0));
        check_age("2025-01-02", "2025-01-01", None);
        check_age("1800-01-01", "2025-01-01", None);
    }

    fn check_header(input: &str, expect: &str) {
        assert_eq!(normalize_header(input), expect, "input {input:?}");
    }

    #[test]
    fn headers() {
        check_header("身高(cm)", "身高");
        check_header("身高（厘米）", "身高");
        check_header(" Height_CM ", "height_cm");
        check_header("一分钟跳绳", "1分钟跳绳");
        check_header("50米×8往返跑", "50米x8往返跑");
        check_header("50米*8往返跑", "50米x8往返跑");
        check_header("\u{feff}学号", "学号");
        check_header("(cm)", "(cm)");
    }
}
