//! Weekly opening hours in a small subset of the OpenStreetMap `opening_hours` syntax.
//!
//! `Mo-Fr 06:00-22:00; Sa,Su 07:00-12:00,14:00-21:00`, `24/7`, `周一-周五 06:00-22:00`, or an empty
//! string for "never". A later rule replaces the hours of the days it names (`Mo-Su 08:00-20:00; We off`).
//! Times are local China Standard Time (UTC+8, no daylight saving). Ranges may not cross midnight:
//! write `Fr 20:00-24:00; Sa 00:00-02:00`.

use std::fmt;

pub const MINUTES_PER_DAY: u16 = 24 * 60;
const DAY_CODES: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
const DAY_NAMES_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
/// At most this many ranges per day (a limit on everything).
const MAX_RANGES_PER_DAY: usize = 12;
const MAX_TEXT_LEN: usize = 512;

/// A half-open range of minutes in a day, `start_min < end_min ≤ 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayRange {
    pub start_min: u16,
    pub end_min: u16,
}

/// Opening ranges for Monday (index 0) to Sunday (index 6), sorted and merged.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct WeeklyHours {
    days: [Vec<DayRange>; 7],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("opening hours are longer than {MAX_TEXT_LEN} characters")]
    TooLong,
    #[error("rule {rule:?}: unknown day {day:?} (use Mo Tu We Th Fr Sa Su or 周一…周日)")]
    UnknownDay { rule: String, day: String },
    #[error("rule {rule:?}: time {time:?} is not HH:MM between 00:00 and 24:00")]
    BadTime { rule: String, time: String },
    #[error("rule {rule:?}: range {range:?} must end after it starts; split ranges that cross midnight")]
    EmptyOrBackwards { rule: String, range: String },
    #[error("rule {rule:?}: expected 'DAYS HH:MM-HH:MM[,HH:MM-HH:MM]' or 'DAYS off'")]
    Malformed { rule: String },
    #[error("more than {MAX_RANGES_PER_DAY} ranges on one day")]
    TooManyRanges,
}

impl WeeklyHours {
    pub fn never() -> WeeklyHours {
        WeeklyHours::default()
    }

    pub fn always() -> WeeklyHours {
        let full = vec![DayRange { start_min: 0, end_min: MINUTES_PER_DAY }];
        WeeklyHours { days: std::array::from_fn(|_| full.clone()) }
    }

    pub fn parse(text: &str) -> Result<WeeklyHours, HoursError> {
        if text.len() > MAX_TEXT_LEN {
            return Err(HoursError::TooLong);
        }
        let text = text.trim();
        if text.is_empty() {
            return Ok(WeeklyHours::never());
        }
        if text == "24/7" {
            return Ok(WeeklyHours::always());
        }
        let mut hours = WeeklyHours::never();
        for rule in text.split(';').map(str::trim).filter(|rule| !rule.is_empty()) {
            let (days, ranges_text) = split_rule(rule)?;
            let ranges = if ranges_text.eq_ignore_ascii_case("off") || ranges_text == "休息" { Vec::new() } else { parse_ranges(rule, ranges_text)? };
            for day in days {
                hours.days[day] = ranges.clone();
            }
        }
        for day in &mut hours.days {
            *day = merge(std::mem::take(day));
            if day.len() > MAX_RANGES_PER_DAY {
                return Err(HoursError::TooManyRanges);
            }
        }
        Ok(hours)
    }

    /// Ranges on a weekday (0 = Monday).
    pub fn day(&self, weekday: usize) -> &[DayRange] {
        &self.days[weekday]
    }

    pub fn is_never(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// Open at this minute of this weekday (0 = Monday)?
    pub fn contains(&self, weekday: usize, minute_of_day: u16) -> bool {
        self.days[weekday].iter().any(|range| range.start_min <= minute_of_day && minute_of_day < range.end_min)
    }

    pub fn minutes_on(&self, weekday: usize) -> u32 {
        self.days[weekday].iter().map(|range| u32::from(range.end_min - range.start_min)).sum()
    }

    pub fn minutes_per_week(&self) -> u32 {
        (0..7).map(|day| self.minutes_on(day)).sum()
    }

    /// Minutes of each day covered by both `self` and `other`.
    pub fn intersect(&self, other: &WeeklyHours) -> WeeklyHours {
        let days = std::array::from_fn(|day| {
            let mut out = Vec::new();
            for a in &self.days[day] {
                for b in &other.days[day] {
                    let start_min = a.start_min.max(b.start_min);
                    let end_min = a.end_min.min(b.end_min);
                    if start_min < end_min {
                        out.push(DayRange { start_min, end_min });
                    }
                }
            }
            merge(out)
        });
        WeeklyHours { days }
    }

    pub fn union(&self, other: &WeeklyHours) -> WeeklyHours {
        let days = std::array::from_fn(|day| merge(self.days[day].iter().chain(&other.days[day]).copied().collect()));
        WeeklyHours { days }
    }

    /// Human-readable per-day lines, e.g. `[("周一", "Mo", "06:00–22:00"), …]`.
    pub fn describe_days(&self) -> Vec<(&'static str, &'static str, String)> {
        (0..7)
            .map(|day| {
                let text = if self.days[day].is_empty() {
                    String::new()
                } else {
                    self.days[day].iter().map(|range| format!("{}–{}", hhmm(range.start_min), hhmm(range.end_min))).collect::<Vec<_>>().join(", ")
                };
                (DAY_NAMES_ZH[day], DAY_CODES[day], text)
            })
            .collect()
    }
}

/// The canonical text form: consecutive days with equal ranges grouped, `24/7` when always open.
impl fmt::Display for WeeklyHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == WeeklyHours::always() {
            return f.write_str("24/7");
        }
        let mut rules = Vec::new();
        let mut day = 0;
        while day < 7 {
            let mut end = day;
            while end + 1 < 7 && self.days[end + 1] == self.days[day] {
                end += 1;
            }
            if !self.days[day].is_empty() {
                let days = if end == day { DAY_CODES[day].to_string() } else { format!("{}-{}", DAY_CODES[day], DAY_CODES[end]) };
                let ranges: Vec<String> = self.days[day].iter().map(|range| format!("{}-{}", hhmm(range.start_min), hhmm(range.end_min))).collect();
                rules.push(format!("{days} {}", ranges.join(",")));
            }
            day = end + 1;
        }
        f.write_str(&rules.join("; "))
    }
}

impl fmt::Debug for WeeklyHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeeklyHours({self})")
    }
}

pub fn hhmm(minute_of_day: u16) -> String {
    format!("{:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

fn split_rule(rule: &str) -> Result<(Vec<usize>, &str), HoursError> {
    let first_is_time = rule.chars().next().is_some_and(|c| c.is_ascii_digit());
    if first_is_time {
        return Ok(((0..7).collect(), rule));
    }
    let Some((days_text, ranges_text)) = rule.split_once(char::is_whitespace) else {
        return Err(HoursError::Malformed { rule: rule.to_string() });
    };
    let mut days = Vec::new();
    for part in days_text.split(',').map(str::trim) {
        let (from, to) = match part.split_once('-') {
            Some((from, to)) => (day_index(rule, from)?, day_index(rule, to)?),
            None => {
                let day = day_index(rule, part)?;
                (day, day)
            }
        };
        // Mo-Su, Sa-Mo (wrapping) both allowed.
        let mut day = from;
        loop {
            days.push(day);
            if day == to {
                break;
            }
            day = (day + 1) % 7;
        }
    }
    Ok((days, ranges_text.trim()))
}

fn day_index(rule: &str, text: &str) -> Result<usize, HoursError> {
    DAY_CODES
        .iter()
        .position(|code| code.eq_ignore_ascii_case(text))
        .or_else(|| DAY_NAMES_ZH.iter().position(|name| *name == text))
        .or_else(|| if text == "周天" { Some(6) } else { None })
        .ok_or_else(|| HoursError::UnknownDay { rule: rule.to_string(), day: text.to_string() })
}

fn parse_ranges(rule: &str, text: &str) -> Result<Vec<DayRange>, HoursError> {
    let mut ranges = Vec::new();
    for range_text in text.split(',').map(str::trim) {
        let Some((start, end)) = range_text.split_once('-') else {
            return Err(HoursError::Malformed { rule: rule.to_string() });
        };
        let start_min = parse_time(rule, start.trim())?;
        let end_min = parse_time(rule, end.trim())?;
        if end_min <= start_min {
            return Err(HoursError::EmptyOrBackwards { rule: rule.to_string(), range: range_text.to_string() });
        }
        ranges.push(DayRange { start_min, end_min });
    }
    Ok(ranges)
}

fn parse_time(rule: &str, text: &str) -> Result<u16, HoursError> {
    let bad = || HoursError::BadTime { rule: rule.to_string(), time: text.to_string() };
    let (hours, minutes) = text.split_once(':').ok_or_else(bad)?;
    if hours.is_empty() || hours.len() > 2 || minutes.len() != 2 {
        return Err(bad());
    }
    let hours: u16 = hours.parse().map_err(|_| bad())?;
    let minutes: u16 = minutes.parse().map_err(|_| bad())?;
    if minutes >= 60 || hours > 24 || (hours == 24 && minutes != 0) {
        return Err(bad());
    }
    Ok(hours * 60 + minutes)
}

fn merge(mut ranges: Vec<DayRange>) -> Vec<DayRange> {
    ranges.sort();
    let mut merged: Vec<DayRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start_min <= last.end_min => last.end_min = last.end_min.max(range.end_min),
            _ => merged.push(range),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let actual = match WeeklyHours::parse(input) {
            Ok(hours) => hours.to_string(),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expect, "input {input:?}");
    }

    #[test]
    fn parse_and_canonical_form() {
        check("", "");
        check("24/7", "24/7");
        check("Mo-Su 00:00-24:00", "24/7");
        check("06:00-22:00", "Mo-Su 06:00-22:00");
        check("Mo-Fr 06:00-22:00; Sa,Su 07:00-21:00", "Mo-Fr 06:00-22:00; Sa-Su 07:00-21:00");
        check("mo-fr 06:00-22:00", "Mo-Fr 06:00-22:00");
        check("周一-周五 06:00-22:00; 周六,周日 08:00-20:00", "Mo-Fr 06:00-22:00; Sa-Su 08:00-20:00");
        check("Mo-Su 08:00-20:00; We off", "Mo-Tu 08:00-20:00; Th-Su 08:00-20:00");
        check("Sa-Mo 09:00-10:00", "Mo 09:00-10:00; Sa-Su 09:00-10:00");
        check("Mo 06:00-09:00,08:00-12:00,14:00-16:00", "Mo 06:00-12:00,14:00-16:00");
        check("Mo 6:00-9:30", "Mo 06:00-09:30");
        check("Fr 20:00-24:00", "Fr 20:00-24:00");
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        check("Xx 06:00-22:00", "error: rule \"Xx 06:00-22:00\": unknown day \"Xx\" (use Mo Tu We Th Fr Sa Su or 周一…周日)");
        check("Mo 22:00-02:00", "error: rule \"Mo 22:00-02:00\": range \"22:00-02:00\" must end after it starts; split ranges that cross midnight");
        check("Mo 25:00-26:00", "error: rule \"Mo 25:00-26:00\": time \"25:00\" is not HH:MM between 00:00 and 24:00");
        check("Mo 08:60-09:00", "error: rule \"Mo 08:60-09:00\": time \"08:60\" is not HH:MM between 00:00 and 24:00");
        check("Mo 0800-0900", "error: rule \"Mo 0800-0900\": time \"0800\" is not HH:MM between 00:00 and 24:00");
        check("Mo", "error: rule \"Mo\": expected 'DAYS HH:MM-HH:MM[,HH:MM-HH:MM]' or 'DAYS off'");
        check("Mo 08:00", "error: rule \"Mo 08:00\": expected 'DAYS HH:MM-HH:MM[,HH:MM-HH:MM]' or 'DAYS off'");
        assert_eq!(WeeklyHours::parse(&"Mo 08:00-09:00;".repeat(40)), Err(HoursError::TooLong));
    }

    #[test]
    fn contains_is_half_open() {
        let hours = WeeklyHours::parse("Mo-Fr 06:00-22:00").unwrap();
        assert!(!hours.contains(0, 359));
        assert!(hours.contains(0, 360));
        assert!(hours.contains(4, 1319));
        assert!(!hours.contains(4, 1320));
        assert!(!hours.contains(5, 600));
        assert_eq!(hours.minutes_per_week(), 5 * 16 * 60);
    }

    #[test]
    fn intersect_and_union() {
        let open = WeeklyHours::parse("Mo-Su 06:00-22:00").unwrap();
        let free = WeeklyHours::parse("Mo-Fr 05:00-08:00,20:00-23:00").unwrap();
        assert_eq!(open.intersect(&free).to_string(), "Mo-Fr 06:00-08:00,20:00-22:00");
        assert_eq!(free.union(&WeeklyHours::parse("Mo 07:00-21:00").unwrap()).to_string(), "Mo 05:00-23:00; Tu-Fr 05:00-08:00,20:00-23:00");
    }

    #[test]
    fn canonical_form_parses_back_to_the_same_hours() {
        for input in ["", "24/7", "Mo-Fr 06:00-22:00; Sa,Su 07:00-21:00", "Mo 06:00-09:00,10:00-11:00; Th 00:00-24:00", "Tu,Th,Sa 18:00-21:30"] {
            let hours = WeeklyHours::parse(input).unwrap();
            assert_eq!(WeeklyHours::parse(&hours.to_string()).unwrap(), hours, "input {input:?}");
        }
    }
}
