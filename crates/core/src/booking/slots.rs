//! Resources, slot rules and closures, and the slots they generate. Times are China local time
//! (`NaiveDateTime`, UTC+8, no daylight saving); the edge converts.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::venue::FieldError;

/// Longest slot a rule may define, minutes.
pub const MAX_SLOT_LENGTH_MIN: u32 = 24 * 60;
/// Shortest slot, minutes.
pub const MIN_SLOT_LENGTH_MIN: u32 = 10;
/// Most places one slot may have (a session of a swimming pool, a running track).
pub const MAX_PLACES_PER_SLOT: u32 = 10_000;
/// Highest price, fen (10,000 yuan: a limit against typos, public venues are far below it).
pub const MAX_PRICE_FEN: i64 = 1_000_000;
/// Rules per resource.
pub const MAX_RULES_PER_RESOURCE: usize = 50;
/// How far ahead slots are generated, days.
pub const MAX_DAYS_AHEAD: u32 = 60;
/// Closures must be announced this many days ahead unless flagged urgent.
pub const CLOSURE_NOTICE_DAYS: i64 = 7;

/// Identifier of a bookable resource (a court, a lane, a field, a session with N places): letters,
/// digits, `.`, `_`, `-`, at most 64 characters, like venue ids.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId(String);

impl ResourceId {
    pub fn parse(text: &str) -> Result<ResourceId, String> {
        crate::venue::VenueId::parse(text).map(|id| ResourceId(id.as_str().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Days of the week as a set, Monday = bit 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Weekdays(u8);

impl Weekdays {
    pub const ALL: Weekdays = Weekdays(0b111_1111);

    /// `1-5`, `6,7`, `1-7` (1 = Monday … 7 = Sunday), or `mon-fri`, `sat,sun`.
    pub fn parse(text: &str) -> Result<Weekdays, String> {
        let mut bits = 0u8;
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(format!("empty day in {text:?}; expected e.g. 1-5 or 6,7 (1 = Monday)"));
            }
            let (first, last) = match part.split_once('-') {
                Some((first, last)) => (day_number(first)?, day_number(last)?),
                None => (day_number(part)?, day_number(part)?),
            };
            if first > last {
                return Err(format!("day range {part:?} runs backwards"));
            }
            for day in first..=last {
                bits |= 1 << (day - 1);
            }
        }
        Ok(Weekdays(bits))
    }

    pub fn from_bits(bits: u8) -> Weekdays {
        Weekdays(bits & 0b111_1111)
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.0 & (1 << date.weekday().num_days_from_monday()) != 0
    }

    /// Canonical text: `1-5,7`.
    pub fn canonical(self) -> String {
        let mut parts = Vec::new();
        let mut day = 1;
        while day <= 7 {
            if self.0 & (1 << (day - 1)) == 0 {
                day += 1;
                continue;
            }
            let start = day;
            while day < 7 && self.0 & (1 << day) != 0 {
                day += 1;
            }
            parts.push(if start == day { start.to_string() } else { format!("{start}-{day}") });
            day += 1;
        }
        parts.join(",")
    }
}

fn day_number(text: &str) -> Result<u8, String> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let lower = text.trim().to_ascii_lowercase();
    if let Some(index) = NAMES.iter().position(|name| *name == lower) {
        return Ok(index as u8 + 1);
    }
    match lower.parse::<u8>() {
        Ok(day) if (1..=7).contains(&day) => Ok(day),
        _ => Err(format!("{text:?} is not a day of the week (1 = Monday … 7 = Sunday, or mon … sun)")),
    }
}

/// A slot rule: on `weekdays`, from `start` to `end`, slots of `slot_length_min`, each with
/// `places`, at `price_fen` (`reduced_price_fen` for priority groups: the elderly, students, the
/// disabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRule {
    pub weekdays: Weekdays,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub slot_length_min: u32,
    pub places: u32,
    pub price_fen: i64,
    pub reduced_price_fen: i64,
}

/// A slot rule as it arrives (API, form): every field a string or number, parsed by [`SlotRuleInput::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlotRuleInput {
    pub weekdays: String,
    pub start: String,
    pub end: String,
    pub slot_length_min: u32,
    pub places: u32,
    #[serde(default)]
    pub price_fen: i64,
    #[serde(default)]
    pub reduced_price_fen: Option<i64>,
}

fn parse_time(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").map_err(|_| format!("expected a time like 08:00, got {text:?}"))
}

impl SlotRuleInput {
    /// Every field checked, every problem reported.
    pub fn parse(&self) -> Result<SlotRule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let weekdays = Weekdays::parse(&self.weekdays).map_err(|reason| errors.push(FieldError::new("weekdays", reason))).ok();
        let start = parse_time(&self.start).map_err(|reason| errors.push(FieldError::new("start", reason))).ok();
        let end = parse_time(&self.end).map_err(|reason| errors.push(FieldError::new("end", reason))).ok();
        if !(MIN_SLOT_LENGTH_MIN..=MAX_SLOT_LENGTH_MIN).contains(&self.slot_length_min) {
            errors.push(FieldError::new("slot_length_min", format!("must be from {MIN_SLOT_LENGTH_MIN} to {MAX_SLOT_LENGTH_MIN} minutes")));
        }
        if !(1..=MAX_PLACES_PER_SLOT).contains(&self.places) {
            errors.push(FieldError::new("places", format!("must be from 1 to {MAX_PLACES_PER_SLOT}")));
        }
        if !(0..=MAX_PRICE_FEN).contains(&self.price_fen) {
            errors.push(FieldError::new("price_fen", format!("must be from 0 to {MAX_PRICE_FEN} fen")));
        }
        let reduced = self.reduced_price_fen.unwrap_or(self.price_fen);
        if !(0..=self.price_fen.max(0)).contains(&reduced) {
            errors.push(FieldError::new("reduced_price_fen", "must be from 0 to the full price"));
        }
        if let (Some(start), Some(end)) = (start, end) {
            if end <= start {
                errors.push(FieldError::new("end", "must be after start (slots do not run past midnight)"));
            } else {
                let span_min = (end - start).num_minutes();
                if self.slot_length_min > 0 && span_min % i64::from(self.slot_length_min) != 0 {
                    errors.push(FieldError::new("slot_length_min", format!("must divide the {span_min} minutes from start to end")));
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SlotRule {
            weekdays: weekdays.expect("parsed"),
            start: start.expect("parsed"),
            end: end.expect("parsed"),
            slot_length_min: self.slot_length_min,
            places: self.places,
            price_fen: self.price_fen,
            reduced_price_fen: reduced,
        })
    }
}

impl SlotRule {
    pub fn input(&self) -> SlotRuleInput {
        SlotRuleInput {
            weekdays: self.weekdays.canonical(),
            start: self.start.format("%H:%M").to_string(),
            end: self.end.format("%H:%M").to_string(),
            slot_length_min: self.slot_length_min,
            places: self.places,
            price_fen: self.price_fen,
            reduced_price_fen: Some(self.reduced_price_fen),
        }
    }

    fn overlaps(&self, other: &SlotRule) -> bool {
        self.weekdays.0 & other.weekdays.0 != 0 && self.start < other.end && other.start < self.end
    }
}

/// Rules of one resource must not overlap (one place cannot be sold twice for the same time).
pub fn check_rules(rules: &[SlotRule]) -> Result<(), String> {
    if rules.len() > MAX_RULES_PER_RESOURCE {
        return Err(format!("at most {MAX_RULES_PER_RESOURCE} rules per resource"));
    }
    for (index, rule) in rules.iter().enumerate() {
        for (other_index, other) in rules.iter().enumerate().skip(index + 1) {
            if rule.overlaps(other) {
                return Err(format!(
                    "rule {} and rule {} overlap on day(s) {}",
                    index + 1,
                    other_index + 1,
                    Weekdays(rule.weekdays.0 & other.weekdays.0).canonical()
                ));
            }
        }
    }
    Ok(())
}

/// A closure of a resource (maintenance, an event, a holiday): no slots start inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub reason: String,
    /// Announced less than [`CLOSURE_NOTICE_DAYS`] ahead (weather, damage): allowed, and shown as urgent.
    pub urgent: bool,
}

impl Closure {
    /// A closure announced at `now`: it must end after it starts, and start at least
    /// [`CLOSURE_NOTICE_DAYS`] days ahead unless `urgent`.
    pub fn parse(from: NaiveDateTime, to: NaiveDateTime, reason: &str, urgent: bool, now: NaiveDateTime) -> Result<Closure, FieldError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(FieldError::new("reason", "must have 1 to 200 characters"));
        }
        if to <= from {
            return Err(FieldError::new("to", "must be after from"));
        }
        if !urgent && from < now + Duration::days(CLOSURE_NOTICE_DAYS) {
            return Err(FieldError::new(
                "from",
                format!("closures are announced at least {CLOSURE_NOTICE_DAYS} days ahead; flag it as urgent if it cannot wait"),
            ));
        }
        Ok(Closure { from, to, reason: reason.to_string(), urgent })
    }

    fn covers(&self, start: NaiveDateTime, end: NaiveDateTime) -> bool {
        start < self.to && self.from < end
    }
}

/// One slot to exist: a resource's time with its places and prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSpec {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub capacity: u32,
    pub price_fen: i64,
    pub reduced_price_fen: i64,
}

/// The slots `rules` give on `days` days from `from`, minus those overlapping a closure, in time order.
pub fn generate_slots(rules: &[SlotRule], closures: &[Closure], from: NaiveDate, days: u32) -> Vec<SlotSpec> {
    let mut slots = Vec::new();
    for offset in 0..days.min(MAX_DAYS_AHEAD) {
        let Some(date) = from.checked_add_days(chrono::Days::new(u64::from(offset))) else { break };
        for rule in rules.iter().filter(|rule| rule.weekdays.contains(date)) {
            let mut start = date.and_time(rule.start);
            let last = date.and_time(rule.end);
            let length = Duration::minutes(i64::from(rule.slot_length_min));
            while start + length <= last {
                let end = start + length;
                if !closures.iter().any(|closure| closure.covers(start, end)) {
                    slots.push(SlotSpec { start, end, capacity: rule.places, price_fen: rule.price_fen, reduced_price_fen: rule.reduced_price_fen });
                }
                start = end;
            }
        }
    }
    slots.sort_by_key(|slot| slot.start);
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn check_weekdays(text: &str, expect: Result<&str, &str>) {
        let got = Weekdays::parse(text).map(Weekdays::canonical);
        assert_eq!(got.as_deref().map_err(String::as_str), expect, "{text}");
    }

    #[test]
    fn weekdays() {
        check_weekdays("1-5", Ok("1-5"));
        check_weekdays("6,7", Ok("6-7"));
        check_weekdays("mon-fri,sun", Ok("1-5,7"));
        check_weekdays("1,3,5", Ok("1,3,5"));
        check_weekdays("7", Ok("7"));
        check_weekdays("0", Err("\"0\" is not a day of the week (1 = Monday … 7 = Sunday, or mon … sun)"));
        check_weekdays("5-1", Err("day range \"5-1\" runs backwards"));
        check_weekdays("1,", Err("empty day in \"1,\"; expected e.g. 1-5 or 6,7 (1 = Monday)"));
    }

    fn rule(weekdays: &str, start: &str, end: &str, length: u32, places: u32) -> SlotRuleInput {
        SlotRuleInput {
            weekdays: weekdays.into(),
            start: start.into(),
            end: end.into(),
            slot_length_min: length,
            places,
            price_fen: 0,
            reduced_price_fen: None,
        }
    }

    fn check_rule(input: SlotRuleInput, expect: &[(&str, &str)]) {
        let got: Vec<(&str, String)> = match input.parse() {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|error| (error.field, error.reason)).collect(),
        };
        let expect: Vec<(&str, String)> = expect.iter().map(|(field, reason)| (*field, reason.to_string())).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn slot_rules_are_checked_field_by_field() {
        check_rule(rule("1-5", "08:00", "22:00", 60, 4), &[]);
        check_rule(rule("1-5", "08:00", "22:00", 90, 4), &[("slot_length_min", "must divide the 840 minutes from start to end")]);
        check_rule(rule("1-5", "22:00", "08:00", 60, 4), &[("end", "must be after start (slots do not run past midnight)")]);
        check_rule(
            rule("x", "8", "22:00", 5, 0),
            &[
                ("weekdays", "\"x\" is not a day of the week (1 = Monday … 7 = Sunday, or mon … sun)"),
                ("start", "expected a time like 08:00, got \"8\""),
                ("slot_length_min", "must be from 10 to 1440 minutes"),
                ("places", "must be from 1 to 10000"),
            ],
        );
        let mut priced = rule("6,7", "09:00", "11:00", 60, 2);
        priced.price_fen = 2000;
        priced.reduced_price_fen = Some(3000);
        check_rule(priced, &[("reduced_price_fen", "must be from 0 to the full price")]);
    }

    #[test]
    fn overlapping_rules_are_refused() {
        let a = rule("1-5", "08:00", "12:00", 60, 4).parse().unwrap();
        let b = rule("5-7", "11:00", "13:00", 60, 4).parse().unwrap();
        let c = rule("6-7", "08:00", "12:00", 60, 4).parse().unwrap();
        assert_eq!(check_rules(&[a.clone(), b.clone()]), Err("rule 1 and rule 2 overlap on day(s) 5".into()));
        assert_eq!(check_rules(&[a, c]), Ok(()));
    }

    #[test]
    fn slots_follow_rules_and_skip_closures() {
        // 2026-12-07 is a Monday.
        let weekday = rule("1-5", "08:00", "10:00", 60, 4).parse().unwrap();
        let weekend = rule("6,7", "09:00", "10:30", 30, 10).parse().unwrap();
        let closure = Closure { from: at("2026-12-08 08:30"), to: at("2026-12-08 09:00"), reason: "维修".into(), urgent: true };
        let slots = generate_slots(&[weekday, weekend], &[closure], NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(), 7);
        let starts: Vec<String> = slots.iter().map(|slot| slot.start.format("%d %H:%M").to_string()).collect();
        assert_eq!(
            starts,
            [
                "07 08:00", "07 09:00", "08 09:00", "09 08:00", "09 09:00", "10 08:00", "10 09:00", "11 08:00", "11 09:00", "12 09:00", "12 09:30", "12 10:00",
                "13 09:00", "13 09:30", "13 10:00"
            ]
        );
        assert_eq!(slots[10].capacity, 10);
    }

    #[test]
    fn closures_need_notice_unless_urgent() {
        let now = at("2026-12-01 10:00");
        assert!(Closure::parse(at("2026-12-08 10:00"), at("2026-12-08 12:00"), "赛事", false, now).is_ok());
        let error = Closure::parse(at("2026-12-05 10:00"), at("2026-12-05 12:00"), "赛事", false, now).unwrap_err();
        assert_eq!(error.field, "from");
        assert!(Closure::parse(at("2026-12-05 10:00"), at("2026-12-05 12:00"), "暴雨", true, now).is_ok());
        assert_eq!(Closure::parse(at("2026-12-09 10:00"), at("2026-12-09 10:00"), "x", false, now).unwrap_err().field, "to");
    }
}
