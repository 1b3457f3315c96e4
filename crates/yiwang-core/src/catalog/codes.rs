//! Catalogue codes: 12-character basic codes, 31-character implementation codes, 33-character handling codes.

use super::*;

// ---------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------

/// Provincial-level region prefixes (GB/T 2260): the origins a provincial basic code may
/// have besides `00` (national).
pub(super) const PROVINCES: &[&str] = &[
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
];

/// The parts of a 12-character 基本编码.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicCode {
    /// `00` national, else the province's 2 digits.
    pub origin: String,
    pub item_type: ItemType,
    /// 主项 (5 digits).
    pub main: String,
    /// 子项 (3 digits, `000` = none).
    pub sub: String,
}

pub(super) fn code_err(field: &str, rule: &str, zh: impl Into<String>, en: impl Into<String>) -> FieldError {
    FieldError::new(field, rule, zh, en)
}

/// Checks a 基本编码 (STANDARDS §1: 2 origin + 2 事项类型 + 5 主项 + 3 子项).
pub fn check_basic_code(field: &str, code: &str) -> Result<BasicCode, FieldError> {
    if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(code_err(
            field,
            "basic_code.format",
            "基本编码为 12 位数字",
            "a basic code has 12 digits",
        ));
    }
    let origin = &code[..2];
    if origin != "00" && !PROVINCES.contains(&origin) {
        return Err(code_err(
            field,
            "basic_code.origin",
            format!("基本编码前 2 位应为 00（国家）或省级行政区划代码，而不是 {origin}"),
            format!("a basic code starts with 00 (national) or a province's 2 digits, not {origin}"),
        ));
    }
    let item_type = ItemType::ALL
        .iter()
        .copied()
        .find(|t| t.code() == &code[2..4])
        .ok_or_else(|| {
            code_err(
                field,
                "basic_code.item_type",
                format!("基本编码第 3–4 位「{}」不是事项类型代码", &code[2..4]),
                format!("digits 3–4 '{}' are not an item type code", &code[2..4]),
            )
        })?;
    if &code[4..9] == "00000" {
        return Err(code_err(
            field,
            "basic_code.main",
            "主项编号不能为 00000",
            "the main item number cannot be 00000",
        ));
    }
    Ok(BasicCode {
        origin: origin.into(),
        item_type,
        main: code[4..9].into(),
        sub: code[9..].into(),
    })
}

/// The parts of a 31-character 实施编码.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImplCode {
    pub uscc: String,
    pub level: ExerciseLevel,
    pub basic: BasicCode,
    pub basic_code: String,
}

/// Checks a 实施编码 (STANDARDS §1: 18 credit code + 1 行使层级 + 12 基本编码).
pub fn check_impl_code(field: &str, code: &str) -> Result<ImplCode, FieldError> {
    if code.chars().count() != 31 || !code.is_ascii() {
        return Err(code_err(
            field,
            "implementation_code.format",
            "实施编码为 31 位：18 位统一社会信用代码 + 1 位行使层级 + 12 位基本编码",
            "an implementation code has 31 characters: 18 credit code + 1 level + 12 basic code",
        ));
    }
    check_uscc(field, &code[..18])?;
    let level = ExerciseLevel::ALL
        .iter()
        .copied()
        .find(|l| l.code() == &code[18..19])
        .ok_or_else(|| {
            code_err(
                field,
                "implementation_code.level",
                "实施编码第 19 位应为行使层级 1–6",
                "character 19 of an implementation code is the level 1–6",
            )
        })?;
    let basic = check_basic_code(field, &code[19..])?;
    Ok(ImplCode {
        uscc: code[..18].into(),
        level,
        basic,
        basic_code: code[19..].into(),
    })
}

/// Checks a 33-character 业务办理项编码 (实施编码 + 2 digits, `00` = none).
pub fn check_handling_code(field: &str, code: &str) -> Result<(ImplCode, String), FieldError> {
    if code.len() != 33 || !code.is_ascii() || !code[31..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(code_err(
            field,
            "handling_code.format",
            "业务办理项编码为 33 位：31 位实施编码 + 2 位数字",
            "a handling item code has 33 characters: the implementation code + 2 digits",
        ));
    }
    Ok((check_impl_code(field, &code[..31])?, code[31..].into()))
}

/// The 实施编码 of a department's item.
pub fn impl_code(uscc: &str, level: ExerciseLevel, basic_code: &str) -> String {
    format!("{uscc}{}{basic_code}", level.code())
}

/// The next free basic code for an origin and type, given the codes already used.
pub fn next_basic_code<'a>(origin: &str, item_type: ItemType, used: impl IntoIterator<Item = &'a str>) -> String {
    let prefix = format!("{origin}{}", item_type.code());
    let max = used
        .into_iter()
        .filter(|c| c.len() == 12 && c.starts_with(&prefix))
        .filter_map(|c| c[4..9].parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}{:05}000", max + 1)
}

/// 行使层级 of a department by the level of its region (GB/T 2260 code structure).
pub fn level_for_region(code: &str) -> Option<ExerciseLevel> {
    use crate::regions::Level;
    Some(match crate::regions::level_of("region_code", code).ok()? {
        Level::Province => ExerciseLevel::Provincial,
        Level::City => ExerciseLevel::Municipal,
        Level::County => ExerciseLevel::County,
        Level::Township => ExerciseLevel::Township,
        Level::Village => ExerciseLevel::Village,
    })
}
