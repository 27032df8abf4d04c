//! Exact decimal values for fitness measurements: `Dec` is a fixed-point number in thousandths,
//! parsed straight from the decimal text (never through a binary float), and the BMI computed from
//! it with integer arithmetic, rounded to 0.1 half-up.

use std::fmt;

/// A decimal number with at most three decimal places, held exactly as thousandths.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dec(i64);

/// Why a text is not a `Dec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecError {
    #[error("empty")]
    Empty,
    #[error("expected a number")]
    NotANumber,
    #[error("more than 3 decimal places")]
    TooManyDecimals,
    #[error("number too large")]
    TooLarge,
}

/// Integer digits accepted before the decimal point (keeps every value far from `i64` overflow).
const MAX_INTEGER_DIGITS: usize = 12;

impl Dec {
    pub const SCALE: i64 = 1000;
    pub const ZERO: Dec = Dec(0);

    pub const fn from_milli(milli: i64) -> Dec {
        Dec(milli)
    }

    pub const fn from_int(units: i64) -> Dec {
        Dec(units * Self::SCALE)
    }

    /// The value in thousandths.
    pub const fn milli(self) -> i64 {
        self.0
    }

    pub const fn is_integer(self) -> bool {
        self.0 % Self::SCALE == 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Decimal places needed to write the value exactly (0 to 3).
    pub const fn decimals(self) -> u8 {
        if self.0 % 1000 == 0 {
            0
        } else if self.0 % 100 == 0 {
            1
        } else if self.0 % 10 == 0 {
            2
        } else {
            3
        }
    }

    /// One unit in the last of `decimals` places: 1, 0.1, 0.01 or 0.001.
    pub const fn step(decimals: u8) -> Dec {
        match decimals {
            0 => Dec(1000),
            1 => Dec(100),
            2 => Dec(10),
            _ => Dec(1),
        }
    }

    pub const fn saturating_add(self, other: Dec) -> Dec {
        Dec(self.0.saturating_add(other.0))
    }

    pub const fn saturating_sub(self, other: Dec) -> Dec {
        Dec(self.0.saturating_sub(other.0))
    }

    pub fn parse(text: &str) -> Result<Dec, DecError> {
        Self::parse_bytes(text.as_bytes())
    }

    /// Parses `[+-]digits[.digits]` with surrounding spaces allowed; at most 3 decimal places
    /// (trailing zeros beyond them are accepted: `1.2500`).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Dec, DecError> {
        match Self::parse_plain(bytes) {
            Some(value) => Ok(value),
            None => Self::parse_in_full(bytes),
        }
    }

    /// `parse_bytes` without the one-pass reading of the common form.
    fn parse_in_full(bytes: &[u8]) -> Result<Dec, DecError> {
        let bytes = trim(bytes);
        if bytes.is_empty() {
            return Err(DecError::Empty);
        }
        let (negative, digits) = match bytes[0] {
            b'-' => (true, &bytes[1..]),
            b'+' => (false, &bytes[1..]),
            _ => (false, bytes),
        };
        let (integer, fraction) = match digits.iter().position(|&b| b == b'.') {
            Some(dot) => (&digits[..dot], Some(&digits[dot + 1..])),
            None => (digits, None),
        };
        if integer.is_empty() && fraction.is_none_or(|f| f.is_empty()) {
            return Err(DecError::NotANumber);
        }
        let mut value: i64 = 0;
        let mut significant = 0usize;
        for &b in integer {
            if !b.is_ascii_digit() {
                return Err(DecError::NotANumber);
            }
            if value != 0 || b != b'0' {
                significant += 1;
            }
            value = value * 10 + i64::from(b - b'0');
        }
        if significant > MAX_INTEGER_DIGITS {
            return Err(DecError::TooLarge);
        }
        value *= Self::SCALE;
        if let Some(fraction) = fraction {
            let mut place = 100;
            for (index, &b) in fraction.iter().enumerate() {
                if !b.is_ascii_digit() {
                    return Err(DecError::NotANumber);
                }
                if index < 3 {
                    value += i64::from(b - b'0') * place;
                    place /= 10;
                } else if b != b'0' {
                    return Err(DecError::TooManyDecimals);
                }
            }
        }
        Ok(Dec(if negative { -value } else { value }))
    }

    /// The common form in one pass: `digits[.digits]` with 1–12 integer digits and at most 3
    /// decimal places, nothing else (no sign, no spaces). `None` for anything else, which
    /// `parse_bytes` then reads (or refuses) in full; where this accepts, it agrees with it.
    #[inline]
    pub(crate) fn parse_plain(bytes: &[u8]) -> Option<Dec> {
        let mut integer: i64 = 0;
        let mut rest = bytes;
        while let [byte, tail @ ..] = rest {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            integer = integer * 10 + i64::from(digit);
            rest = tail;
            if bytes.len() - rest.len() > MAX_INTEGER_DIGITS {
                return None;
            }
        }
        let whole = bytes.len() > rest.len();
        let digit = |byte: u8| {
            let digit = byte.wrapping_sub(b'0');
            (digit <= 9).then_some(i64::from(digit))
        };
        let milli = match rest {
            [] if whole => 0,
            [b'.'] if whole => 0,
            [b'.', a] => digit(*a)? * 100,
            [b'.', a, b] => digit(*a)? * 100 + digit(*b)? * 10,
            [b'.', a, b, c] => digit(*a)? * 100 + digit(*b)? * 10 + digit(*c)?,
            _ => return None,
        };
        Some(Dec(integer * Self::SCALE + milli))
    }

    /// Appends the value with exactly `decimals` places (0 to 3), truncating nothing: callers pass at
    /// least `self.decimals()`, or accept that further digits are cut.
    #[inline]
    pub fn write_fixed(self, decimals: u8, out: &mut Vec<u8>) {
        let mut text = [0u8; Self::MAX_TEXT_BYTES];
        let length = self.write_fixed_to(decimals, &mut text);
        out.extend_from_slice(&text[..length]);
    }

    /// The most bytes `write_fixed_to` writes: a sign, 16 integer digits (|i64| < 10^19
    /// thousandths), the point and 3 places.
    pub const MAX_TEXT_BYTES: usize = 21;

    /// `write_fixed` into the start of `out` (at least `MAX_TEXT_BYTES` long); returns the number
    /// of bytes written.
    #[inline]
    pub fn write_fixed_to(self, decimals: u8, out: &mut [u8]) -> usize {
        let mut length = 0;
        if self.0 < 0 {
            out[0] = b'-';
            length = 1;
        }
        let magnitude = self.0.unsigned_abs();
        length += write_digits_to(magnitude / Self::SCALE as u64, &mut out[length..]);
        if decimals > 0 {
            // All four bytes are written, `places` of them kept (`out` has room for them all).
            out[length..length + 4].copy_from_slice(&FRACTION_TEXTS[(magnitude % Self::SCALE as u64) as usize]);
            length += 1 + usize::from(decimals.min(3));
        }
        length
    }

    /// `write_exact` into the start of `out` (at least `MAX_TEXT_BYTES` long).
    #[inline]
    pub fn write_exact_to(self, out: &mut [u8]) -> usize {
        self.write_fixed_to(self.decimals(), out)
    }

    /// Appends the shortest exact form: `220`, `8.5`, `-0.8`, `0.395`.
    pub fn write_exact(self, out: &mut Vec<u8>) {
        self.write_fixed(self.decimals(), out);
    }

    /// The text with exactly `decimals` places (see `write_fixed`).
    pub fn to_fixed(self, decimals: u8) -> String {
        let mut out = Vec::with_capacity(16);
        self.write_fixed(decimals, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_fixed(self.decimals()))
    }
}

impl fmt::Debug for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Trims ASCII spaces, tabs and carriage returns (the '\r' of a CRLF line).
pub(crate) fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Appends the decimal digits of `value`.
#[inline]
pub fn write_u64(out: &mut Vec<u8>, value: u64) {
    let mut text = [0u8; 20];
    let length = write_digits_to(value, &mut text);
    out.extend_from_slice(&text[..length]);
}

/// The decimal digits of `value` into the start of `out` (at least 20 bytes, or as many as the
/// digits); returns their number.
#[inline]
pub fn write_digits_to(mut value: u64, out: &mut [u8]) -> usize {
    // Scores, BMIs and totals are below 1000: their text comes from a table, written as four bytes
    // of which the number's own are kept.
    if let (Some((text, length)), Some(room)) = (SMALL_NUMBER_TEXTS.get(value as usize), out.get_mut(..4)) {
        room.copy_from_slice(text);
        return usize::from(*length);
    }
    let mut buffer = [0u8; 20];
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    let digits = &buffer[start..];
    out[..digits.len()].copy_from_slice(digits);
    digits.len()
}

/// BMI = weight_kg / height_m², rounded to 0.1 half-up on the exact quotient: 18.15 → 18.2, never
/// 18.1 through a binary approximation. `None` when the height is not positive or the weight negative.
pub fn bmi(weight_kg: Dec, height_cm: Dec) -> Option<Dec> {
    if height_cm.0 <= 0 || weight_kg.0 < 0 {
        return None;
    }
    // weight = w/1000 kg, height = h/1000 cm = h/100000 m → BMI = w·10^7 / h²; tenths = w·10^8 / h²,
    // half-up: (2·num + den) / (2·den). In u64 when it fits (every plausible record), else u128.
    let (w, h) = (weight_kg.0 as u64, height_cm.0 as u64);
    let tenths = match (w.checked_mul(200_000_000), h.checked_mul(h)) {
        (Some(twice_numerator), Some(denominator)) if denominator < 1 << 62 && twice_numerator < 1 << 62 => (twice_numerator + denominator) / (2 * denominator),
        _ => {
            let (numerator, denominator) = (u128::from(w) * 100_000_000, u128::from(h) * u128::from(h));
            u64::try_from((2 * numerator + denominator) / (2 * denominator)).ok()?
        }
    };
    i64::try_from(tenths).ok().and_then(|tenths| tenths.checked_mul(100)).map(Dec)
}

/// The text of each number below 1000 (in four bytes, the rest zero) and its length.
static SMALL_NUMBER_TEXTS: [([u8; 4], u8); 1000] = small_number_texts();
/// ".000" to ".999".
static FRACTION_TEXTS: [[u8; 4]; 1000] = fraction_texts();

const fn small_number_texts() -> [([u8; 4], u8); 1000] {
    let mut texts = [([0u8; 4], 0u8); 1000];
    let mut value = 0;
    while value < 1000 {
        texts[value] = if value < 10 {
            ([digit(value), 0, 0, 0], 1)
        } else if value < 100 {
            ([digit(value / 10), digit(value), 0, 0], 2)
        } else {
            ([digit(value / 100), digit(value / 10), digit(value), 0], 3)
        };
        value += 1;
    }
    texts
}

/// The ASCII digit of a number's last decimal place.
pub const fn digit(value: usize) -> u8 {
    b'0' + (value % 10) as u8
}

const fn fraction_texts() -> [[u8; 4]; 1000] {
    let mut texts = [[0u8; 4]; 1000];
    let mut value = 0;
    while value < 1000 {
        texts[value] = [b'.', digit(value / 100), digit(value / 10), digit(value)];
        value += 1;
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let actual = match Dec::parse(input) {
            Ok(value) => format!("{value} ({})", value.milli()),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expect, "input {input:?}");
    }

    #[test]
    fn parse_and_display() {
        check("0", "0 (0)");
        check("18.15", "18.15 (18150)");
        check("  7.5 ", "7.5 (7500)");
        check("7.5\r", "7.5 (7500)");
        check("-0.8", "-0.8 (-800)");
        check("+3", "3 (3000)");
        check(".5", "0.5 (500)");
        check("5.", "5 (5000)");
        check("0.395", "0.395 (395)");
        check("1.2500", "1.25 (1250)");
        check("000012", "12 (12000)");
        check("999999999999", "999999999999 (999999999999000)");
        check("1.2345", "error: more than 3 decimal places");
        check("1000000000000", "error: number too large");
        check("", "error: empty");
        check("   ", "error: empty");
        check("-", "error: expected a number");
        check(".", "error: expected a number");
        check("1e3", "error: expected a number");
        check("1,5", "error: expected a number");
        check("abc", "error: expected a number");
        check("1.2.3", "error: expected a number");
        check("--1", "error: expected a number");
        check("NaN", "error: expected a number");
    }

    proptest::proptest! {
        /// The one-pass reading of plain numbers agrees with the full parser wherever it accepts,
        /// and accepts the plain forms.
        #[test]
        fn plain_numbers_read_as_the_full_parser_reads_them(text in "[0-9.+ -]{0,16}") {
            let bytes = text.as_bytes();
            if let Some(value) = Dec::parse_plain(bytes) {
                proptest::prop_assert_eq!(Dec::parse_in_full(bytes), Ok(value), "{:?}", text);
            }
            proptest::prop_assert_eq!(Dec::parse_bytes(bytes), Dec::parse_in_full(bytes), "{:?}", text);
        }

        #[test]
        fn plain_numbers_take_the_one_pass_reading(integer in "[0-9]{1,12}", fraction in proptest::option::of("[0-9]{0,3}")) {
            let text = match &fraction {
                Some(fraction) => format!("{integer}.{fraction}"),
                None => integer.clone(),
            };
            proptest::prop_assert_eq!(Dec::parse_plain(text.as_bytes()).map(Ok), Some(Dec::parse_in_full(text.as_bytes())), "{:?}", text);
        }

        /// The fixed forms (written from tables below 1000) are the integer part, then as many
        /// decimal places as asked, cut and never rounded.
        #[test]
        fn fixed_forms_are_the_digits_cut_to_the_places(milli in proptest::prop_oneof![-2_000_000i64..2_000_000, proptest::num::i64::ANY], decimals in 0u8..=3) {
            let sign = if milli < 0 { "-" } else { "" };
            let magnitude = milli.unsigned_abs();
            let fraction = format!("{:03}", magnitude % 1000);
            let expect = match decimals {
                0 => format!("{sign}{}", magnitude / 1000),
                places => format!("{sign}{}.{}", magnitude / 1000, &fraction[..usize::from(places)]),
            };
            proptest::prop_assert_eq!(Dec::from_milli(milli).to_fixed(decimals), expect);
        }
    }

    fn check_fixed(milli: i64, decimals: u8, expect: &str) {
        assert_eq!(Dec::from_milli(milli).to_fixed(decimals), expect, "{milli} with {decimals} decimals");
    }

    #[test]
    fn fixed_forms() {
        check_fixed(18200, 1, "18.2");
        check_fixed(90000, 2, "90.00");
        check_fixed(89950, 2, "89.95");
        check_fixed(-800, 1, "-0.8");
        check_fixed(0, 0, "0");
        check_fixed(5, 3, "0.005");
        check_fixed(1234, 0, "1");
        check_fixed(-5, 3, "-0.005");
        check_fixed(i64::MAX, 3, "9223372036854775.807");
        check_fixed(i64::MIN + 1, 2, "-9223372036854775.80");
    }

    fn check_bmi(weight_kg: &str, height_cm: &str, expect: &str) {
        let actual = bmi(Dec::parse(weight_kg).unwrap(), Dec::parse(height_cm).unwrap()).map(|b| b.to_fixed(1)).unwrap_or_else(|| "none".into());
        assert_eq!(actual, expect, "{weight_kg} kg, {height_cm} cm");
    }

    #[test]
    fn bmi_rounds_half_up_exactly() {
        // 18.15 exactly: 18.15 × 2² = 72.6 kg at 200 cm; as binary floats 72.6 / 4 = 18.149999… → 18.1.
        check_bmi("72.6", "200", "18.2");
        check_bmi("72.599", "200", "18.1"); // 18.14975
        check_bmi("72.601", "200", "18.2");
        check_bmi("18.15", "100", "18.2");
        check_bmi("18.149", "100", "18.1");
        check_bmi("24.05", "100", "24.1"); // 24.05 → 24.1 (banker's rounding would give 24.0)
        check_bmi("24.25", "100", "24.3"); // banker's rounding would give 24.2
        check_bmi("13.45", "100", "13.5");
        check_bmi("50", "160", "19.5"); // 19.53125
        check_bmi("70", "175", "22.9"); // 22.857…
        check_bmi("0", "170", "0.0");
        check_bmi("50", "0", "none");
        check_bmi("50", "-170", "none");
        check_bmi("-5", "170", "none");
        check_bmi("999999999999", "0.001", "none"); // too large for a Dec
        check_bmi("999999999", "1", "9999999990000.0"); // beyond u64 intermediates: the u128 path
    }
}
