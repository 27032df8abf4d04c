//! The Chinese resident identity number (居民身份证号码, GB 11643-1999).
//!
//! An 18-character number: a 6-digit address code (地址码, the GB/T 2260 region code of the place
//! where the number was first issued), an 8-digit birth date (YYYYMMDD), a 3-digit sequence code whose
//! last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check character (`0`–`9` or
//! `X`).
//!
//! [`ResidentIdNumber::parse`] is the one place raw text becomes a number; a value of the type has
//! passed every check. What it cannot tell: whether the number was actually issued, and to whom — only
//! the public security authority can verify that; a number that passes here is merely well formed.
//!
//! Personal data: the type deliberately has no `Display`, no `Serialize` and a `Debug` that prints
//! only the masked form ([`ResidentIdNumber::masked`]), so the full number cannot leak into logs or
//! responses by accident. [`ResidentIdNumber::as_str`] exists for the keyed hash the store keeps for
//! uniqueness and for nothing else.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::region::RegionCode;

/// Characters in an identity number.
pub const ID_NUMBER_LEN: usize = 18;

/// ISO 7064 MOD 11-2 weights of the first 17 digits: 2^(17 - i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The earliest birth date accepted.
pub fn earliest_birth_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).expect("a real date")
}

/// Sex as recorded in the number (the 17th digit: odd = male, even = female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// Why a text is not a valid identity number. Positions are 1-based character positions, as a person
/// counts them. Every message is in English and says what is wrong; the server returns it with a 400.
///
/// The checks run in this order and the first failure is reported: characters, length, `X` placement,
/// region, birth date, check digit. The field checks come before the check digit so that a typo in the
/// region or the date is reported where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// The number of characters after trimming surrounding whitespace (when every character is allowed).
    #[error("{}", wrong_length_message(*.0))]
    WrongLength(usize),
    /// A character other than `0`–`9`, or `X`/`x` anywhere but last. Full-width characters (`１`, `Ｘ`)
    /// are rejected here too, and the message says so.
    #[error("{}", bad_character_message(*.position, *.character))]
    BadCharacter { position: usize, character: char },
    /// The first 6 digits are not a region the caller knows.
    #[error(
        "identity number starts with {0}, which is not a known region code (the first 6 digits are the address code of the place where the number was issued)"
    )]
    UnknownRegion(String),
    /// Characters 7–14 (YYYYMMDD) are not a calendar date.
    #[error("identity number birth date {0} (characters 7-14, YYYYMMDD) is not a real date")]
    ImpossibleBirthDate(String),
    #[error("identity number birth date {0} is in the future")]
    BirthDateInFuture(NaiveDate),
    /// Before 1900-01-01.
    #[error("identity number birth date {0} is before 1900-01-01")]
    BirthDateTooEarly(NaiveDate),
    /// The check character does not match the first 17 digits. The expected character is deliberately
    /// not kept: telling a person "the last character should be 7" invites them to "fix" the last
    /// character when the typo is almost always elsewhere, which yields a well-formed number belonging to
    /// someone else or to nobody. (It does not stop forging — MOD 11-2 is public — and is not meant to.)
    #[error("identity number check digit {found} (the last character) does not match the rest of the number; one of the characters is probably mistyped")]
    WrongCheckDigit { found: char },
}

fn wrong_length_message(length: usize) -> String {
    let mut message = format!("identity number must have {ID_NUMBER_LEN} characters, got {length}");
    if length == 15 {
        message.push_str(" (15-digit first-generation numbers are no longer valid; use the 18-character number on your current card)");
    }
    message
}

fn is_full_width(character: char) -> bool {
    // Full-width forms of ASCII (！ to ～) and the ideographic space.
    ('\u{FF01}'..='\u{FF5E}').contains(&character) || character == '\u{3000}'
}

fn bad_character_message(position: usize, character: char) -> String {
    if character == 'X' || character == 'x' {
        format!("identity number character {position} is '{character}': X can only be the last character (the check digit)")
    } else if is_full_width(character) {
        format!(
            "identity number character {position} is the full-width character '{character}': type half-width digits 0-9 and X (switch the input method to half-width)"
        )
    } else if character == ' ' {
        format!("identity number character {position} is a space: type the 18 characters without spaces")
    } else if character.is_whitespace() || character.is_control() {
        format!("identity number character {position} is {character:?}: only digits 0-9 are allowed, and X as the last character")
    } else {
        format!("identity number character {position} is '{character}': only digits 0-9 are allowed, and X as the last character")
    }
}

/// The ISO 7064 MOD 11-2 check character of the first 17 characters of an identity number, given as
/// ASCII digits (`b'0'`–`b'9'`): weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, check =
/// (12 − (sum mod 11)) mod 11, where 10 is written `X`.
///
/// # Panics
/// If a byte is not an ASCII digit (a programmer error: parse the text first).
pub fn check_digit(first17: &[u8; 17]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(&byte, weight)| {
            assert!(byte.is_ascii_digit(), "check_digit takes ASCII digits, got byte {byte}");
            u32::from(byte - b'0') * weight
        })
        .sum();
    match (12 - sum % 11) % 11 {
        10 => 'X',
        value => char::from_digit(value, 10).expect("below 10"),
    }
}

/// A valid resident identity number: the 18 characters with `X` in upper case, plus the fields read off
/// them. Built only by [`ResidentIdNumber::parse`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentIdNumber {
    /// ASCII digits, the last possibly `X`.
    characters: [u8; ID_NUMBER_LEN],
    region: RegionCode,
    birth_date: NaiveDate,
}

impl ResidentIdNumber {
    /// Parses a resident identity number. Surrounding whitespace is trimmed and a lowercase `x` is
    /// accepted as `X`; nothing else is normalised (full-width digits, inner spaces and hyphens are
    /// rejected with [`IdNumberError::BadCharacter`]).
    ///
    /// `today` is the local date in China (UTC+8): the caller reads the clock. A person born today is
    /// accepted; one born tomorrow is not.
    ///
    /// `region_exists` tells whether the 6-digit address code, as a [`RegionCode`] (`330106` is the
    /// county 西湖区, `330100` the city 杭州市, `330000` the province), is a region the caller accepts.
    /// It is not called for prefixes that are not region codes at all (e.g. starting with `00`).
    ///
    /// Limitation: a number keeps the address code it was issued with for life, and region codes change
    /// (杭州市下城区 330103 was merged away in 2021, 北京市崇文区 110103 in 2010), so checking against the
    /// current hierarchy alone (`|code| tree.contains(code)`) rejects valid numbers of people registered
    /// in a since-abolished region. A predicate that also accepts historical GB/T 2260 codes fixes that; a
    /// lenient fallback is to accept any code whose province exists (`tree.contains(code.province())`),
    /// which still catches most typos in the first two digits.
    pub fn parse(text: &str, today: NaiveDate, region_exists: impl Fn(RegionCode) -> bool) -> Result<ResidentIdNumber, IdNumberError> {
        let text = text.trim();
        if let Some((index, character)) = text
            .chars()
            .enumerate()
            .find_map(|(position, character)| (!(character.is_ascii_digit() || character == 'X' || character == 'x')).then_some((position, character)))
        {
            return Err(IdNumberError::BadCharacter { position: index + 1, character });
        }
        // Every character is ASCII now: bytes are characters.
        let bytes = text.as_bytes();
        let characters: [u8; ID_NUMBER_LEN] = bytes.try_into().map_err(|_| IdNumberError::WrongLength(bytes.len()))?;
        if let Some(index) = characters[..ID_NUMBER_LEN - 1].iter().position(|byte| !byte.is_ascii_digit()) {
            return Err(IdNumberError::BadCharacter { position: index + 1, character: char::from(characters[index]) });
        }
        let mut characters = characters;
        characters[ID_NUMBER_LEN - 1] = characters[ID_NUMBER_LEN - 1].to_ascii_uppercase();

        let prefix = &text[..6];
        let region = match RegionCode::parse(prefix) {
            Ok(region) if region_exists(region) => region,
            _ => return Err(IdNumberError::UnknownRegion(prefix.to_string())),
        };

        let date_text = &text[6..14];
        let year: i32 = date_text[..4].parse().expect("ASCII digits");
        let month: u32 = date_text[4..6].parse().expect("ASCII digits");
        let day: u32 = date_text[6..].parse().expect("ASCII digits");
        let birth_date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| IdNumberError::ImpossibleBirthDate(date_text.to_string()))?;
        if birth_date < earliest_birth_date() {
            return Err(IdNumberError::BirthDateTooEarly(birth_date));
        }
        if birth_date > today {
            return Err(IdNumberError::BirthDateInFuture(birth_date));
        }

        let first17: &[u8; 17] = characters[..17].try_into().expect("17 of 18");
        let found = char::from(characters[17]);
        if check_digit(first17) != found {
            return Err(IdNumberError::WrongCheckDigit { found });
        }
        Ok(ResidentIdNumber { characters, region, birth_date })
    }

    /// The birth date, characters 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The sex: the 17th digit is odd for men, even for women.
    pub fn sex(&self) -> Sex {
        if (self.characters[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female }
    }

    /// The 6-digit address code as a region code (it may name a region that no longer exists, see
    /// [`ResidentIdNumber::parse`]).
    pub fn region_code(&self) -> RegionCode {
        self.region
    }

    /// The form safe to display and store: the first 6 characters, 8 `*`, the last 4, e.g.
    /// `330106********1236`. It hides the birth date but shows the region and the sex digit.
    pub fn masked(&self) -> String {
        let text = self.as_str();
        format!("{}{}{}", &text[..6], "*".repeat(8), &text[14..])
    }

    /// The full 18 characters (`X` upper case). Only for computing the keyed hash that enforces one
    /// account per number: never log, display or store it.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.characters).expect("ASCII digits and X")
    }

    /// Age in completed years on `date` (0 before the birth date).
    ///
    /// The age goes up on the birthday itself. Someone born on 29 February has their birthday on
    /// 1 March in common years: born 2004-02-29, they turn 18 on 2022-03-01, not on 2022-02-28. This
    /// is the reading of "completed years" that never makes a person older than they are, so a minimum
    /// age rule is never passed a day early.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        let birth = self.birth_date;
        if date < birth {
            return 0;
        }
        let mut years = date.year() - birth.year();
        if (date.month(), date.day()) < (birth.month(), birth.day()) {
            years -= 1;
        }
        u32::try_from(years).expect("date is not before the birth date")
    }
}

/// Prints the masked form only: the full number is personal data and must not reach logs.
impl fmt::Debug for ResidentIdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentIdNumber").field(&self.masked()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Regions the tests' hierarchy knows.
    const REGIONS: [&str; 6] = ["110101", "330100", "330106", "441900", "540102", "650102"];

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 6, 15).unwrap()
    }

    fn known(code: RegionCode) -> bool {
        REGIONS.iter().any(|text| RegionCode::parse(text).unwrap() == code)
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// The 18 characters for a region, a YYYYMMDD date and a sequence, with the computed check digit.
    fn with_check(region: &str, yyyymmdd: &str, sequence: u16) -> String {
        let first17 = format!("{region}{yyyymmdd}{sequence:03}");
        let bytes: &[u8; 17] = first17.as_bytes().try_into().unwrap();
        format!("{first17}{}", check_digit(bytes))
    }

    fn check(input: &str, expect: &str) {
        let actual = match ResidentIdNumber::parse(input, today(), known) {
            Ok(number) => {
                format!("{} {} {} {} {}", number.masked(), number.birth_date(), number.sex().as_str(), number.region_code().short(), number.as_str())
            }
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expect, "input {input:?}");
    }

    #[test]
    fn check_digit_by_hand() {
        // 3 3 0 1 0 6 1 9 9 0 0 3 0 7 1 2 3 × 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
        // = 21+27+0+5+0+24+2+9+54+0+0+27+0+35+8+8+6 = 226; 226 mod 11 = 6; (12 − 6) mod 11 = 6.
        assert_eq!(check_digit(b"33010619900307123"), '6');
        // Sequence 121: the sum is 222, 222 mod 11 = 2, (12 − 2) mod 11 = 10 → X.
        assert_eq!(check_digit(b"33010619900307121"), 'X');
        // Sequence 124: the sum is 228, 228 mod 11 = 8, (12 − 8) mod 11 = 4.
        assert_eq!(check_digit(b"33010619900307124"), '4');
        // 1 1 0 1 0 1 1 9 4 9 1 0 0 1 0 0 6: 7+9+0+5+0+4+2+9+24+27+7+0+0+5+0+0+12 = 111;
        // 111 mod 11 = 1; (12 − 1) mod 11 = 0.
        assert_eq!(check_digit(b"11010119491001006"), '0');
        assert_eq!(with_check("110101", "19491001", 6), "110101194910010060");
    }

    #[test]
    fn parse_valid_numbers() {
        check("330106199003071236", "330106********1236 1990-03-07 male 330106 330106199003071236");
        check("  330106199003071236\t", "330106********1236 1990-03-07 male 330106 330106199003071236");
        check("33010619900307121X", "330106********121X 1990-03-07 male 330106 33010619900307121X");
        check("33010619900307121x", "330106********121X 1990-03-07 male 330106 33010619900307121X");
        check("330106199003071244", "330106********1244 1990-03-07 female 330106 330106199003071244");
        // A city-level address code is accepted when the predicate knows the city.
        let city = with_check("330100", "19800101", 2);
        check(&city, &format!("330100********{} 1980-01-01 female 3301 {city}", &city[14..]));
        // 东莞市 (a city without counties): 441900 is the city's own code.
        let dongguan = with_check("441900", "20010915", 7);
        check(&dongguan, &format!("441900********{} 2001-09-15 male 4419 {dongguan}", &dongguan[14..]));
    }

    #[test]
    fn parse_errors_say_what_is_wrong() {
        check("", "error: identity number must have 18 characters, got 0");
        check("33010619900307123", "error: identity number must have 18 characters, got 17");
        check("3301061990030712366", "error: identity number must have 18 characters, got 19");
        check(
            "330106900307123",
            "error: identity number must have 18 characters, got 15 (15-digit first-generation numbers are no longer valid; use the 18-character number on your current card)",
        );
        check("33010619900307123A", "error: identity number character 18 is 'A': only digits 0-9 are allowed, and X as the last character");
        check("330106-19900307-1236", "error: identity number character 7 is '-': only digits 0-9 are allowed, and X as the last character");
        check("330106 19900307 1236", "error: identity number character 7 is a space: type the 18 characters without spaces");
        check("3301061990\n03071236", "error: identity number character 11 is '\\n': only digits 0-9 are allowed, and X as the last character");
        check("3301X6199003071236", "error: identity number character 5 is 'X': X can only be the last character (the check digit)");
        check("x30106199003071236", "error: identity number character 1 is 'x': X can only be the last character (the check digit)");
        check(
            "３３０１０６１９９００３０７１２３６",
            "error: identity number character 1 is the full-width character '３': type half-width digits 0-9 and X (switch the input method to half-width)",
        );
        check(
            "33010619900307121Ｘ",
            "error: identity number character 18 is the full-width character 'Ｘ': type half-width digits 0-9 and X (switch the input method to half-width)",
        );
        check(
            "330106\u{3000}199003071236",
            "error: identity number character 7 is the full-width character '\u{3000}': type half-width digits 0-9 and X (switch the input method to half-width)",
        );
        check(
            "330107199003071236",
            "error: identity number starts with 330107, which is not a known region code (the first 6 digits are the address code of the place where the number was issued)",
        );
        check(
            "000000199003071236",
            "error: identity number starts with 000000, which is not a known region code (the first 6 digits are the address code of the place where the number was issued)",
        );
        check("330106199002301236", "error: identity number birth date 19900230 (characters 7-14, YYYYMMDD) is not a real date");
        check("330106199013071236", "error: identity number birth date 19901307 (characters 7-14, YYYYMMDD) is not a real date");
        check("330106199003001236", "error: identity number birth date 19900300 (characters 7-14, YYYYMMDD) is not a real date");
        check("330106203001011236", "error: identity number birth date 2030-01-01 is in the future");
        check("330106189912311236", "error: identity number birth date 1899-12-31 is before 1900-01-01");
        check(
            "330106199003071235",
            "error: identity number check digit 5 (the last character) does not match the rest of the number; one of the characters is probably mistyped",
        );
        check(
            "33010619900307123X",
            "error: identity number check digit X (the last character) does not match the rest of the number; one of the characters is probably mistyped",
        );
        // A typo in the middle: the digits are swapped, the check digit catches it.
        check(
            "330106199003071326",
            "error: identity number check digit 6 (the last character) does not match the rest of the number; one of the characters is probably mistyped",
        );
    }

    #[test]
    fn check_digit_message_never_reveals_the_expected_digit() {
        for wrong in ALLOWED.into_iter().filter(|c| *c != '6') {
            let error = ResidentIdNumber::parse(&format!("33010619900307123{wrong}"), today(), known).unwrap_err();
            assert_eq!(error, IdNumberError::WrongCheckDigit { found: wrong });
            let shown: Vec<char> = error.to_string().chars().filter(|c| c.is_ascii_digit() || *c == 'X').collect();
            assert_eq!(shown, [wrong], "{error}");
        }
    }

    #[test]
    fn edge_dates() {
        let parse = |yyyymmdd: &str| ResidentIdNumber::parse(&with_check("330106", yyyymmdd, 123), today(), known).map(|number| number.birth_date());
        assert_eq!(parse("20000229"), Ok(date("2000-02-29")));
        assert_eq!(parse("19000229"), Err(IdNumberError::ImpossibleBirthDate("19000229".into())));
        assert_eq!(parse("20230229"), Err(IdNumberError::ImpossibleBirthDate("20230229".into())));
        assert_eq!(parse("19000101"), Ok(date("1900-01-01")));
        assert_eq!(parse("18991231"), Err(IdNumberError::BirthDateTooEarly(date("1899-12-31"))));
        assert_eq!(parse("20240615"), Ok(today()), "born today");
        assert_eq!(parse("20240616"), Err(IdNumberError::BirthDateInFuture(date("2024-06-16"))));
        assert_eq!(parse("00000000"), Err(IdNumberError::ImpossibleBirthDate("00000000".into())));
    }

    #[test]
    fn masked_and_debug_hide_the_birth_date() {
        let number = ResidentIdNumber::parse("33010619900307121x", today(), known).unwrap();
        assert_eq!(number.masked(), "330106********121X");
        let debug = format!("{number:?}");
        assert_eq!(debug, "ResidentIdNumber(\"330106********121X\")");
        assert!(!debug.contains("19900307"));
        assert!(!format!("{:?}", Some(&number)).contains("1990"));
    }

    #[test]
    fn sex_uses_snake_case_names() {
        use serde::Deserialize;
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        for sex in [Sex::Male, Sex::Female] {
            let deserializer: StrDeserializer<'_, Error> = sex.as_str().into_deserializer();
            assert_eq!(Sex::deserialize(deserializer), Ok(sex));
        }
        assert_eq!((Sex::Male.name_zh(), Sex::Female.name_zh()), ("男", "女"));
    }

    #[test]
    fn age_counts_completed_years() {
        let number = ResidentIdNumber::parse("330106199003071236", today(), known).unwrap();
        let cases = [
            ("1990-03-07", 0),
            ("1989-01-01", 0),
            ("1991-03-06", 0),
            ("1991-03-07", 1),
            ("2024-03-06", 33),
            ("2024-03-07", 34),
            ("2024-12-31", 34),
            ("2025-03-07", 35),
        ];
        for (on, expect) in cases {
            assert_eq!(number.age_on(date(on)), expect, "age on {on}");
        }
    }

    #[test]
    fn leap_day_births_have_their_birthday_on_march_1_in_common_years() {
        let number = ResidentIdNumber::parse(&with_check("330106", "20000229", 456), today(), known).unwrap();
        let cases = [
            ("2001-02-28", 0),
            ("2001-03-01", 1),
            ("2018-02-28", 17),
            ("2018-03-01", 18),
            ("2020-02-28", 19),
            ("2020-02-29", 20),
            ("2023-02-28", 22),
            ("2023-03-01", 23),
            ("2024-02-28", 23),
            ("2024-02-29", 24),
        ];
        for (on, expect) in cases {
            assert_eq!(number.age_on(date(on)), expect, "age on {on}");
        }
    }

    const ALLOWED: [char; 11] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X'];

    /// A valid number: a known region, a birth date in 1900-01-01..=today, any sequence.
    fn valid_number() -> impl Strategy<Value = (String, &'static str, NaiveDate, u16)> {
        let days = (today() - earliest_birth_date()).num_days();
        (0..REGIONS.len(), 0..=days, 0u16..1000).prop_map(|(region, day, sequence)| {
            let birth = earliest_birth_date() + chrono::Duration::days(day);
            let text = with_check(REGIONS[region], &birth.format("%Y%m%d").to_string(), sequence);
            (text, REGIONS[region], birth, sequence)
        })
    }

    proptest! {
        /// Every generated number with its computed check digit parses and gives back its parts.
        #[test]
        fn valid_numbers_round_trip((text, region, birth, sequence) in valid_number()) {
            let number = ResidentIdNumber::parse(&text, today(), known).unwrap();
            prop_assert_eq!(number.as_str(), text.as_str());
            prop_assert_eq!(number.birth_date(), birth);
            prop_assert_eq!(number.sex(), if sequence % 2 == 1 { Sex::Male } else { Sex::Female });
            prop_assert_eq!(number.region_code(), RegionCode::parse(region).unwrap());
            prop_assert_eq!(number.masked(), format!("{}********{}", &text[..6], &text[14..]));
            let debug = format!("{:?}", number);
            prop_assert!(!debug.contains(&text[6..14]), "{}", debug);
            let lower = ResidentIdNumber::parse(&text.to_lowercase(), today(), known).unwrap();
            prop_assert_eq!(lower, number);
        }

        /// Changing any one character to any other allowed character is caught (MOD 11-2 detects every
        /// single substitution; `X` before the end is a bad character).
        #[test]
        fn any_single_character_change_is_rejected(
            (text, _region, _birth, _sequence) in valid_number(),
            position in 0..ID_NUMBER_LEN,
            shift in 1..ALLOWED.len(),
        ) {
            let mut characters: Vec<char> = text.chars().collect();
            let original = ALLOWED.iter().position(|c| *c == characters[position]).unwrap();
            characters[position] = ALLOWED[(original + shift) % ALLOWED.len()];
            let changed: String = characters.into_iter().collect();
            prop_assert_ne!(&changed, &text);
            let result = ResidentIdNumber::parse(&changed, today(), known);
            prop_assert!(result.is_err(), "{} was accepted", changed);
        }
    }
}
