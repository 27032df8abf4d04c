//! Mainland China mobile numbers, the login name of a resident account.

use std::fmt;

/// An 11-digit mainland mobile number (`1[3-9]xxxxxxxxx`), normalised: no country code, no spaces.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number may contain only digits, spaces, '-' and a leading +86, found {0:?}")]
    BadCharacter(char),
    #[error("a mainland mobile number has 11 digits, got {0}")]
    WrongLength(usize),
    #[error("a mainland mobile number starts with 13–19")]
    NotMobile,
}

impl PhoneNumber {
    pub fn parse(text: &str) -> Result<PhoneNumber, PhoneNumberError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let without_country = text.strip_prefix("+86").or_else(|| text.strip_prefix("0086")).unwrap_or(text);
        let mut digits = String::with_capacity(11);
        for character in without_country.chars() {
            match character {
                '0'..='9' => digits.push(character),
                ' ' | '-' => {}
                other => return Err(PhoneNumberError::BadCharacter(other)),
            }
        }
        if digits.len() == 13 && digits.starts_with("86") {
            digits.drain(..2);
        }
        if digits.len() != 11 {
            return Err(PhoneNumberError::WrongLength(digits.len()));
        }
        let second = digits.as_bytes()[1];
        if !digits.starts_with('1') || !(b'3'..=b'9').contains(&second) {
            return Err(PhoneNumberError::NotMobile);
        }
        Ok(PhoneNumber(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****0000`, for display to administrators.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

/// Personal data: Debug shows the masked form only.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Result<&str, PhoneNumberError>) {
        let actual = PhoneNumber::parse(input);
        assert_eq!(actual.as_ref().map(PhoneNumber::as_str).map_err(Clone::clone), expect, "input {input:?}");
    }

    #[test]
    fn parses_mainland_mobile_numbers() {
        check("13800000000", Ok("13800000000"));
        check(" 138 0000 0000 ", Ok("13800000000"));
        check("138-0000-0000", Ok("13800000000"));
        check("+8613800000000", Ok("13800000000"));
        check("008613800000000", Ok("13800000000"));
        check("8613800000000", Ok("13800000000"));
        check("19912345678", Ok("19912345678"));
        check("", Err(PhoneNumberError::Empty));
        check("1380000000", Err(PhoneNumberError::WrongLength(10)));
        check("138000000001", Err(PhoneNumberError::WrongLength(12)));
        check("12800000000", Err(PhoneNumberError::NotMobile));
        check("05718000000", Err(PhoneNumberError::NotMobile));
        check("1380000000a", Err(PhoneNumberError::BadCharacter('a')));
        check("１３８00000000", Err(PhoneNumberError::BadCharacter('１')));
    }

    #[test]
    fn masked_and_debug_hide_the_middle() {
        let phone = PhoneNumber::parse("13812345678").unwrap();
        assert_eq!(phone.masked(), "138****5678");
        assert_eq!(format!("{phone:?}"), "PhoneNumber(138****5678)");
    }
}
