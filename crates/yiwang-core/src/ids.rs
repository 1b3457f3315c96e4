//! National identifier checks: resident ID (GB 11643), unified social credit code
//! (GB 32100), and the ISO/IEC 7064 MOD 37,36 check character (GB/T 36904 licence ids).

use crate::error::FieldError;
use chrono::{Datelike, NaiveDate};

/// GB 11643-1999 §5.1: weights of the 17 body digits for the MOD 11-2 check.
const RID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// GB 32100-2015 §4: the 31-character alphabet (no I, O, Z, S, V).
pub const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100-2015 §5: weights of the 17 body characters.
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// GB 11643-1999 §5.1 (ISO 7064 MOD 11-2): the check character of a 17-digit body.
pub fn resident_id_check_char(body: &str) -> Option<char> {
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
    if digits.len() != 17 {
        return None;
    }
    let sum: u32 = digits.iter().zip(RID_WEIGHTS).map(|(d, w)| d * w).sum();
    let r = (12 - sum % 11) % 11;
    Some(if r == 10 { 'X' } else { char::from_digit(r, 10).unwrap() })
}

/// What a valid resident ID number tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentId {
    pub region: String,
    pub birth_date: NaiveDate,
    /// GB 11643-1999 §4.3: an odd sequence code is a man, an even one a woman.
    pub male: bool,
}

/// Checks an 18-character resident ID number (GB 11643-1999); `field` names it in errors.
pub fn check_resident_id(field: &str, s: &str) -> Result<ResidentId, FieldError> {
    let err = |rule: &str, zh: &str, en: &str| FieldError::new(field, rule, zh, en);
    if s.chars().count() != 18 {
        return Err(err(
            "resident_id.length",
            "公民身份号码应为 18 位",
            "a resident ID number has 18 characters",
        ));
    }
    let (body, check) = s.split_at(17);
    if !body.bytes().all(|b| b.is_ascii_digit()) || !matches!(check.as_bytes()[0], b'0'..=b'9' | b'X') {
        return Err(err(
            "resident_id.charset",
            "公民身份号码前 17 位应为数字，末位为数字或大写 X",
            "the first 17 characters must be digits and the last a digit or capital X",
        ));
    }
    // GB 11643-1999 §4.2: characters 7–14 are the birth date (YYYYMMDD).
    let birth = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
        .ok()
        .filter(|d| d.year() >= 1800)
        .ok_or_else(|| {
            err(
                "resident_id.birth_date",
                "公民身份号码中的出生日期无效",
                "the birth date inside the resident ID number is not a valid date",
            )
        })?;
    let expected = resident_id_check_char(body).expect("17 digits");
    if !check.starts_with(expected) {
        return Err(err(
            "resident_id.check_digit",
            "公民身份号码校验码错误，请核对是否输错",
            "the check character of the resident ID number is wrong; please check for a typing error",
        ));
    }
    let seq: u32 = s[14..17].parse().expect("digits");
    Ok(ResidentId {
        region: s[..6].to_string(),
        birth_date: birth,
        male: seq % 2 == 1,
    })
}

/// GB 32100-2015 §5: the check character of a 17-character credit-code body.
pub fn uscc_check_char(body: &str) -> Option<char> {
    let vals: Vec<u32> = body
        .bytes()
        .map(|b| USCC_ALPHABET.iter().position(|&a| a == b).map(|p| p as u32))
        .collect::<Option<_>>()?;
    if vals.len() != 17 {
        return None;
    }
    let sum: u32 = vals.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    // GB 32100-2015 §5: C18 = 31 − (Σ mod 31); 31 becomes 0.
    let c = (31 - sum % 31) % 31;
    Some(USCC_ALPHABET[c as usize] as char)
}

/// Checks an 18-character unified social credit code (GB 32100-2015).
pub fn check_uscc(field: &str, s: &str) -> Result<(), FieldError> {
    let err = |rule: &str, zh: &str, en: &str| FieldError::new(field, rule, zh, en);
    if s.chars().count() != 18 {
        return Err(err(
            "uscc.length",
            "统一社会信用代码应为 18 位",
            "a unified social credit code has 18 characters",
        ));
    }
    if !s.bytes().all(|b| USCC_ALPHABET.contains(&b)) {
        return Err(err(
            "uscc.charset",
            "统一社会信用代码只能包含数字和大写字母（不含 I、O、Z、S、V）",
            "a unified social credit code uses digits and capital letters except I, O, Z, S, V",
        ));
    }
    // GB 32100-2015 §4.3: characters 3–8 are the registering authority's region code.
    if !s.as_bytes()[2..8].iter().all(u8::is_ascii_digit) {
        return Err(err(
            "uscc.region",
            "统一社会信用代码第 3–8 位应为行政区划代码",
            "characters 3–8 of a unified social credit code must be a region code",
        ));
    }
    let expected = uscc_check_char(&s[..17]).expect("17 valid characters");
    if s.as_bytes()[17] as char != expected {
        return Err(err(
            "uscc.check_digit",
            "统一社会信用代码校验码错误，请核对是否输错",
            "the check character of the unified social credit code is wrong; please check for a typing error",
        ));
    }
    Ok(())
}

/// ISO/IEC 7064 MOD 37,36 (used by GB/T 36904 licence identifiers): the check character
/// over `0-9A-Z`; `None` if `s` holds any other character.
pub fn mod37_36_check_char(s: &str) -> Option<char> {
    const AL: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut p: u32 = 36;
    for b in s.bytes() {
        let v = AL.iter().position(|&a| a == b)? as u32;
        p = (p + v) % 36;
        if p == 0 {
            p = 36;
        }
        p = (p * 2) % 37;
    }
    Some(AL[((37 - p) % 36) as usize] as char)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The credit-code parts of the real item codes and licence ids in STANDARDS §1 and §6.
    const REAL_USCC: [&str; 7] = [
        "11650000010183859F",
        "114507210081153718",
        "11450721MB15580811",
        "11450000007565194H",
        "11100000000013338W",
        "11220000013544541J",
        "11430000006122244L",
    ];

    #[test]
    fn real_credit_codes_pass() {
        for c in REAL_USCC {
            check_uscc("uscc", c).unwrap_or_else(|e| panic!("{c}: {e:?}"));
        }
    }

    #[test]
    fn every_single_character_change_of_a_real_code_fails() {
        // A substitution of one character is always caught by a MOD 31 check.
        for c in REAL_USCC {
            for i in 0..18 {
                for &a in USCC_ALPHABET {
                    if a == c.as_bytes()[i] {
                        continue;
                    }
                    let mut b = c.as_bytes().to_vec();
                    b[i] = a;
                    let s = String::from_utf8(b).unwrap();
                    assert!(check_uscc("uscc", &s).is_err(), "{s} passed");
                }
            }
        }
    }

    #[test]
    fn uscc_errors_name_the_rule() {
        assert_eq!(check_uscc("x", "11650000010183859").unwrap_err().rule, "uscc.length");
        assert_eq!(check_uscc("x", "11650000010183859I").unwrap_err().rule, "uscc.charset");
        assert_eq!(
            check_uscc("x", "11650000010183859A").unwrap_err().rule,
            "uscc.check_digit"
        );
        assert_eq!(check_uscc("x", "1165000001018385九F").unwrap_err().rule, "uscc.charset");
    }

    #[test]
    fn resident_id_sample_and_corruptions() {
        // The example number of GB 11643-1999 itself.
        let r = check_resident_id("id", "11010519491231002X").unwrap();
        assert_eq!(r.region, "110105");
        assert_eq!(r.birth_date, NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert!(!r.male);
        assert!(check_resident_id("id", "440524188001010014").unwrap().male);
        assert_eq!(
            check_resident_id("id", "110105194912310021").unwrap_err().rule,
            "resident_id.check_digit"
        );
        assert_eq!(
            check_resident_id("id", "11010519491331002X").unwrap_err().rule,
            "resident_id.birth_date"
        );
        assert_eq!(
            check_resident_id("id", "11010519491231002x").unwrap_err().rule,
            "resident_id.charset"
        );
        assert_eq!(
            check_resident_id("id", "1101051949123100").unwrap_err().rule,
            "resident_id.length"
        );
    }

    #[test]
    fn licence_identifier_check_characters() {
        // STANDARDS §6, verified examples: the check runs over the parts without dots.
        for (id, check) in [
            (
                "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001",
                'F',
            ),
            (
                "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001",
                'U',
            ),
        ] {
            let body: String = id.split('.').skip(5).collect();
            assert_eq!(mod37_36_check_char(&body), Some(check));
        }
        assert_eq!(mod37_36_check_char("abc"), None);
    }

    proptest! {
        #[test]
        fn generated_resident_ids_pass_and_one_digit_changes_fail(
            region in 110000u32..=659000, days in 0i64..40000, seq in 0u32..1000, pos in 0usize..17, delta in 1u32..10
        ) {
            let birth = NaiveDate::from_ymd_opt(1910, 1, 1).unwrap() + chrono::Duration::days(days);
            let body = format!("{region:06}{}{seq:03}", birth.format("%Y%m%d"));
            let id = format!("{body}{}", resident_id_check_char(&body).unwrap());
            prop_assert!(check_resident_id("id", &id).is_ok());
            let mut b = id.into_bytes();
            b[pos] = b'0' + ((b[pos] - b'0') as u32 + delta) as u8 % 10;
            let bad = String::from_utf8(b).unwrap();
            // Either the date becomes invalid or the check digit catches it: never accepted.
            prop_assert!(check_resident_id("id", &bad).is_err());
        }

        #[test]
        fn generated_credit_codes_pass_and_transpositions_fail(
            chars in proptest::collection::vec(0usize..31, 15), i in 0usize..16
        ) {
            let mut body = String::from("91");
            for (k, c) in chars.iter().enumerate() {
                // Keep characters 3–8 digits (the region part).
                let c = if (0..6).contains(&k) { c % 10 } else { *c };
                body.push(USCC_ALPHABET[c] as char);
            }
            let code = format!("{body}{}", uscc_check_char(&body).unwrap());
            prop_assert!(check_uscc("uscc", &code).is_ok());
            let mut b = code.clone().into_bytes();
            b.swap(i, i + 1);
            if b != code.as_bytes() {
                let t = String::from_utf8(b).unwrap();
                // MOD 31 with these weights catches every adjacent transposition.
                prop_assert!(check_uscc("uscc", &t).is_err(), "{} passed", t);
            }
        }
    }
}
