use std::fmt;

use phonenumber::PhoneNumber;
use phonenumber::country::Id;

use super::{Error, Result};

/// A mobile number, parsed once at the edge and stored as E.164 (`+8613800138000`).
/// A number without a country code is Chinese, as on LeanCloud: `138...` and `+86138...` are one
/// number. A number with one (`+225 07 12 34 56 78`, or `00225...` dialled from China) is read by
/// the rules of its own region, never China's: China's trunk prefix `0` is not stripped from it.
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
        if !trimmed.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')')) {
            return Err(Error::InvalidPhone);
        }
        let parsed: PhoneNumber = match with_country_code(trimmed) {
            // The crate applies the default region's national prefix rules even after a country
            // code, so a number that names its country is parsed without one.
            Some(international) => phonenumber::parse(None, international),
            None => phonenumber::parse(Some(Id::CN), trimmed),
        }
        .map_err(|_| Error::InvalidPhone)?;
        // E.164 is "+", the country code and the national number (with any leading zeros), as
        // the crate's E164 formatter writes it, without its search for a national layout.
        let country_code = parsed.code().value();
        let national = parsed.national().to_string();
        // A number is valid when its type is known (that is all `phonenumber::is_valid` checks,
        // with the same metadata), so classifying it once does both; it halves the cost, which
        // matters when an import parses a million numbers.
        if !is_mobile(country_code, &national) {
            return Err(Error::InvalidPhone);
        }
        Ok(Self { e164: format!("+{country_code}{national}"), country_code })
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

/// The region (ISO 3166 code such as "CN", or "001" for non-geographic numbers) and country
/// calling code of a stored E.164 number; `None` when it cannot be read (it was stored valid, so
/// only a metadata change makes that happen).
pub fn region_of(e164: &str) -> Option<(String, u16)> {
    let parsed = phonenumber::parse(None, e164).ok()?;
    let code = parsed.code().value();
    let region = match parsed.country().id() {
        Some(id) => id.as_ref().to_string(),
        None => phonenumber::metadata::DATABASE.region(&code)?.first()?.to_string(),
    };
    Some((region, code))
}

/// Whether `national` (the national significant number, with its leading zeros) is a mobile (or
/// fixed-line-or-mobile) number of a region of `code`: the region is found and the number
/// classified as `phonenumber::is_valid` and `number_type` do, with the same metadata, except that
/// the crate's `number_type` drops the leading zeros (`PhoneNumber::number_type` classifies
/// `national().value()`), which makes every mobile number of Côte d'Ivoire (`07...`) or Congo
/// (`06...`) "unknown" while `is_valid` accepts it.
fn is_mobile(code: u16, national: &str) -> bool {
    let db = &*phonenumber::metadata::DATABASE;
    let Some(regions) = db.region(&code) else {
        return false;
    };
    let meta = match regions.as_slice() {
        [] => None,
        ["001"] => db.by_code(&code).and_then(|m| m.into_iter().next()),
        [one] => db.by_id(*one),
        many => many.iter().filter_map(|r| db.by_id(*r)).find(|m| match m.leading_digits() {
            Some(digits) => digits.find(national).is_some_and(|at| at.start() == 0),
            None => classify(m, national).is_some(),
        }),
    };
    meta.and_then(|m| classify(m, national)) == Some(true)
}

/// The number's type in one region, as `Some(is mobile)`, `None` when unknown (invalid). The
/// order is libphonenumber's: special services first, then fixed line and mobile.
fn classify(meta: &phonenumber::Metadata, national: &str) -> Option<bool> {
    let d = meta.descriptors();
    if !d.general().is_match(national) {
        return None;
    }
    let matches = |x: Option<&phonenumber::metadata::Descriptor>| x.is_some_and(|x| x.is_match(national));
    let special = [d.premium_rate(), d.toll_free(), d.shared_cost(), d.voip(), d.personal_number(), d.pager()];
    if special.into_iter().chain([d.uan(), d.voicemail()]).any(matches) {
        return Some(false);
    }
    if matches(d.fixed_line()) {
        let same =
            d.fixed_line().map(|x| x.national_number().as_str()) == d.mobile().map(|x| x.national_number().as_str());
        return Some(same || matches(d.mobile()));
    }
    matches(d.mobile()).then_some(true)
}

/// The number in `+<country code>...` form when it carries a country code: a `+`, or China's
/// international prefix `00`. `None` for a national (Chinese) number.
fn with_country_code(input: &str) -> Option<std::borrow::Cow<'_, str>> {
    if input.contains('+') {
        return Some(input.into());
    }
    let digits_start = input.find(|c: char| c.is_ascii_digit())?;
    let rest = input[digits_start..].strip_prefix("00")?;
    Some(format!("+{rest}").into())
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
            "+393123456789",
            "+85291234567",
            "+8860912345678",
            "+6591234567",
            "+61412345678",
            "+8601012345678",
            "+2250712345678",
            "+225 07 12 34 56 78",
            "002250712345678",
            "+447400123456",
            "+44 07400 123456",
            "+393123456789",
            "+79123456789",
            "+5491123456789",
            "+525512345678",
        ] {
            // The crate itself, told the region the way a person means it: a country code names
            // it, else China.
            let parsed = match with_country_code(raw) {
                Some(international) => phonenumber::parse(None, international),
                None => phonenumber::parse(Some(Id::CN), raw),
            }
            .unwrap();
            // The crate's `number_type` is right only without leading zeros (see `is_mobile`).
            let mobile = parsed.national().zeros() > 0
                || matches!(
                    parsed.number_type(&phonenumber::metadata::DATABASE),
                    phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile
                );
            let expected = (phonenumber::is_valid(&parsed) && mobile)
                .then(|| parsed.format().mode(phonenumber::Mode::E164).to_string());
            assert_eq!(Phone::parse(raw).ok().map(|p| p.e164), expected, "{raw}");
        }
    }

    #[test]
    fn cote_d_ivoire_keeps_its_leading_zero() {
        let p = Phone::parse("+225 07 12 34 56 78").unwrap();
        assert_eq!(p.e164(), "+2250712345678");
        assert_eq!(p.country_code(), 225);
        assert_eq!(Phone::parse("+2250712345678").unwrap(), p);
        assert_eq!(Phone::parse("00225 07 12 34 56 78").unwrap(), p);
        // Its fixed lines stay refused: only mobile numbers get codes.
        let ci = phonenumber::metadata::DATABASE.by_id("CI").unwrap();
        let fixed = ci.descriptors().fixed_line().and_then(|d| d.example()).unwrap();
        assert!(Phone::parse(&format!("+225{fixed}")).is_err(), "{fixed}");
    }

    /// The example mobile number of every region in the metadata is accepted, and normalised to
    /// the same E.164 whether written as E.164 or in the region's international layout (spaces,
    /// dashes, brackets), and for China also in its national layout.
    #[test]
    fn every_regions_example_mobile_number() {
        let db = &*phonenumber::metadata::DATABASE;
        let mut checked = 0;
        for meta in db.iter() {
            let Some(example) = meta.descriptors().mobile().and_then(|d| d.example()) else {
                continue;
            };
            let e164 = format!("+{}{example}", meta.country_code());
            let number = phonenumber::parse(None, &e164).unwrap_or_else(|e| panic!("{}: {e:?}", meta.id()));
            assert_eq!(number.format().mode(phonenumber::Mode::E164).to_string(), e164, "{}", meta.id());
            let international = number.format().mode(phonenumber::Mode::International).to_string();
            for written in [e164.as_str(), international.as_str()] {
                let phone = Phone::parse(written).unwrap_or_else(|e| panic!("{} {written:?}: {e}", meta.id()));
                assert_eq!(phone.e164(), e164, "{} {written:?}", meta.id());
                assert_eq!(phone.country_code(), meta.country_code());
            }
            if meta.id() == "CN" {
                let national = number.format().mode(phonenumber::Mode::National).to_string();
                assert_eq!(Phone::parse(&national).unwrap().e164(), e164, "{national:?}");
            }
            checked += 1;
        }
        assert!(checked > 200, "only {checked} regions have an example mobile number");
    }

    #[test]
    fn invalid_numbers() {
        // +39 03... is an Italian landline (Como): the crate's `number_type`, which drops the
        // leading zero, would call it mobile (3...).
        for bad in [
            "",
            "   ",
            "123",
            "1380013800",
            "abc13800138000",
            "+86 1234",
            "+8601012345678",
            "+9991234567",
            "+390312345678",
        ] {
            assert!(matches!(Phone::parse(bad), Err(Error::InvalidPhone | Error::MissingPhone)), "{bad:?} parsed");
        }
    }
}
