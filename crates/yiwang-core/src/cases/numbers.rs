//! Case numbers.

use super::*;

// ---------------------------------------------------------------------------------------
// Case numbers
// ---------------------------------------------------------------------------------------

/// 办件编号: the 12-digit region code, the date (yyyyMMdd) and a zero-padded serial
/// (issue 6 / national aggregation: one number per case, unique across the platform).
pub fn case_number(region_code: &str, date: NaiveDate, serial: u64) -> String {
    let mut region: String = region_code.chars().filter(|c| c.is_ascii_digit()).take(12).collect();
    while region.len() < 12 {
        region.push('0');
    }
    format!("{region}{}{serial:06}", date.format("%Y%m%d"))
}

/// Checks the form of a case number: 12 digits of region, a real date, ≥ 6 digits.
pub fn check_case_number(field: &str, s: &str) -> Result<(), FieldError> {
    let ok = s.len() >= 26
        && s.len() <= 32
        && s.bytes().all(|b| b.is_ascii_digit())
        && NaiveDate::parse_from_str(&s[12..20], "%Y%m%d").is_ok();
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "case.number",
            "办件编号为 12 位区划代码、8 位日期和 6 位序号",
            "a case number is a 12-digit region code, a yyyyMMdd date and a 6-digit serial",
        ))
    }
}
