use std::fmt;

use phonenumber::country::Id;
use phonenumber::{PhoneNumber, Type};

use super::{Error, Result};

/// A mobile number, parsed once at the edge and stored as E.164 (`+8613800138000`).
/// A number without a leading `+` is Chinese, as on LeanCloud: `138...` and `+86138...` are one number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    e164: String,
    country_code: u16,
}

impl Phone {
    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(Error::MissingPhone);
        }
        // Only digits and the usual separators; phonenumber would accept letters (vanity numbers).
        if !trimmed.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')')) {
            return Err(Error::InvalidPhone);
        }
        let parsed: PhoneNumber = phonenumber::parse(Some(Id::CN), trimmed).map_err(|_| Error::InvalidPhone)?;
        // A number is valid when its type is known (that is all `phonenumber::is_valid` checks,
        // with the same metadata), so asking for the type once does both; it halves the cost,
        // which matters when an import parses a million numbers.
        match parsed.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => {}
            _ => return Err(Error::InvalidPhone),
        }
        // E.164 is "+", the country code and the national number (with any leading zeros), as
        // the crate's E164 formatter writes it, without its search for a national layout.
        let country_code = parsed.code().value();
        Ok(Self { e164: format!("+{country_code}{}", parsed.national()), country_code })
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// Mainland China: domestic for SMS rules (international switch, voice).
    pub fn is_domestic(&self) -> bool {
        self.country_code == 86
    }

    /// Whether default texts for this number should be Chinese.
    pub fn prefers_chinese(&self) -> bool {
        matches!(self.country_code, 86 | 852 | 853 | 886)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_plus_is_chinese() {
        let a = Phone::parse("13800138000").unwrap();
        let b = Phone::parse("+8613800138000").unwrap();
        let c = Phone::parse("+86 138-0013-8000").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.e164(), "+8613800138000");
        assert!(a.is_domestic());
    }

    #[test]
    fn foreign_mobile() {
        let p = Phone::parse("+447400123456").unwrap();
        assert_eq!(p.e164(), "+447400123456");
        assert_eq!(p.country_code(), 44);
        assert!(!p.is_domestic());
    }

    /// The shortcuts in `parse` agree with the crate's `is_valid` and E.164 formatter.
    #[test]
    fn agrees_with_the_crates_validity_and_format() {
        for raw in [
            "13800138000",
            "+8617012345678",
            "14012345678",
            "+447400123456",
            "+14155550100",
            "+12015550123",
            "+390312345678",
            "+393123456789",
            "+85291234567",
            "+8860912345678",
            "+6591234567",
            "+61412345678",
            "+8601012345678",
        ] {
            let parsed = phonenumber::parse(Some(Id::CN), raw).unwrap();
            let mobile =
                matches!(parsed.number_type(&phonenumber::metadata::DATABASE), Type::Mobile | Type::FixedLineOrMobile);
            let expected = (phonenumber::is_valid(&parsed) && mobile)
                .then(|| parsed.format().mode(phonenumber::Mode::E164).to_string());
            assert_eq!(Phone::parse(raw).ok().map(|p| p.e164), expected, "{raw}");
        }
    }

    #[test]
    fn invalid_numbers() {
        for bad in ["", "   ", "123", "1380013800", "abc13800138000", "+86 1234", "+8601012345678", "+9991234567"] {
            assert!(matches!(Phone::parse(bad), Err(Error::InvalidPhone | Error::MissingPhone)), "{bad:?} parsed");
        }
    }
}
