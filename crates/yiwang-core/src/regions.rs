//! Administrative divisions: GB/T 2260 six-digit codes (province, city, county) and the
//! statistical codes below them (9-digit township, 12-digit village).

use crate::error::{DomainError, FieldError, Problems};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province = 1,
    City = 2,
    County = 3,
    Township = 4,
    Village = 5,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Province,
        Level::City,
        Level::County,
        Level::Township,
        Level::Village,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }
    /// The level from its number (1 province … 5 village), as stored.
    pub fn from_number(n: i64) -> Option<Level> {
        Self::ALL.into_iter().find(|l| *l as i64 == n)
    }
    pub fn parse(s: &str) -> Option<Level> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
    /// How many leading characters of a code identify a region of this level.
    fn prefix_len(self) -> usize {
        match self {
            Level::Province => 2,
            Level::City => 4,
            Level::County => 6,
            Level::Township => 9,
            Level::Village => 12,
        }
    }
}

/// The level a code denotes, or why it is no region code.
pub fn level_of(field: &str, code: &str) -> Result<Level, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "region_code.format",
            "行政区划代码应为 6 位（GB/T 2260）、9 位（乡镇街道）或 12 位（村社区）数字",
            "a region code has 6 digits (GB/T 2260), 9 (township) or 12 (village)",
        )
    };
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    // GB/T 2260 §4: two digits each for province, city and county; 00 means "none".
    let level = match code.len() {
        6 if &code[2..] == "0000" => Level::Province,
        6 if &code[4..] == "00" => Level::City,
        6 => Level::County,
        9 => Level::Township,
        12 => Level::Village,
        _ => return Err(bad()),
    };
    let unit_zero = match level {
        Level::Province => &code[..2] == "00",
        Level::City => &code[2..4] == "00",
        Level::County => false,
        Level::Township => &code[6..9] == "000",
        Level::Village => &code[9..12] == "000",
    };
    if unit_zero || (code.len() > 6 && (&code[4..6] == "00" || &code[2..4] == "00")) {
        return Err(bad());
    }
    Ok(level)
}

/// A region as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Region {
    pub code: String,
    pub name: String,
    /// The English name, where one is used (e.g. Hainan Province).
    pub name_en: Option<String>,
    pub level: Level,
    pub parent_code: Option<String>,
}

/// Input: a new region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRegion {
    #[cfg_attr(feature = "openapi", schema(example = "460105"))]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(example = "秀英区"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "Xiuying District"))]
    #[serde(default)]
    pub name_en: Option<String>,
    /// Required for every level below province.
    #[cfg_attr(feature = "openapi", schema(example = "460100"))]
    pub parent_code: Option<String>,
}

/// Input: a change to a region (its code never changes; a new code is a new region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegionChange {
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
}

/// Decides whether a region may be created. `existing` is the region already stored under
/// the same code, `parent` the stored parent (if one was named and found).
pub fn decide_create(
    input: &NewRegion,
    existing: Option<&Region>,
    parent: Option<&Region>,
) -> Result<Region, DomainError> {
    let mut p = Problems::new();
    p.text("name", &input.name, 60);
    p.opt_text("name_en", input.name_en.as_deref(), 100);
    let level = match level_of("code", &input.code) {
        Ok(l) => Some(l),
        Err(e) => {
            p.push(e);
            None
        }
    };
    if let Some(level) = level {
        match (&input.parent_code, level) {
            (None, Level::Province) => {}
            (None, _) => p.push(FieldError::new(
                "parent_code",
                "required",
                "省级以下行政区划必须指定上级",
                "every region below a province needs a parent",
            )),
            (Some(_), Level::Province) => p.push(FieldError::new(
                "parent_code",
                "region.province_has_no_parent",
                "省级行政区划没有上级",
                "a province has no parent region",
            )),
            (Some(pc), _) => {
                if let Some(parent) = parent {
                    // GB/T 2260: a region's code begins with the significant digits of
                    // its parent's code, and the parent stands at a higher level.
                    let n = parent.level.prefix_len();
                    if parent.level >= level || !input.code.starts_with(&parent.code[..n]) {
                        p.push(FieldError::new(
                            "parent_code",
                            "region.parent_prefix",
                            format!("上级「{pc}」与代码「{}」的层级或前缀不一致", input.code),
                            format!("parent '{pc}' is not above '{}' in level and code prefix", input.code),
                        ));
                    }
                }
            }
        }
    }
    p.finish()?;
    if input.parent_code.is_some() && parent.is_none() {
        return Err(DomainError::not_found(
            "parent_code",
            "上级行政区划",
            "parent region",
            input.parent_code.as_deref().unwrap_or(""),
        ));
    }
    if let Some(e) = existing {
        return Err(DomainError::conflict(
            "code",
            "region.duplicate",
            format!("行政区划代码「{}」已存在（{}）", e.code, e.name),
            format!("region code '{}' already exists ({})", e.code, e.name),
        ));
    }
    Ok(Region {
        code: input.code.clone(),
        name: input.name.trim().to_string(),
        name_en: input
            .name_en
            .as_ref()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        level: level.expect("checked"),
        parent_code: input.parent_code.clone(),
    })
}

/// Decides a change to an existing region; returns the region as it will be.
pub fn decide_change(current: &Region, change: &RegionChange) -> Result<Region, DomainError> {
    let mut p = Problems::new();
    p.text("name", &change.name, 60);
    p.opt_text("name_en", change.name_en.as_deref(), 100);
    p.finish()?;
    Ok(Region {
        name: change.name.trim().to_string(),
        name_en: change
            .name_en
            .as_ref()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        ..current.clone()
    })
}

/// The error for a region code that is not stored.
pub fn unknown(field: &str, code: &str) -> DomainError {
    DomainError::not_found(field, "行政区划", "region", code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn r(code: &str, name: &str, parent: Option<&str>) -> Region {
        Region {
            code: code.into(),
            name: name.into(),
            name_en: None,
            level: level_of("c", code).unwrap(),
            parent_code: parent.map(Into::into),
        }
    }

    #[test]
    fn levels() {
        assert_eq!(level_of("c", "460000").unwrap(), Level::Province);
        assert_eq!(level_of("c", "460100").unwrap(), Level::City);
        assert_eq!(level_of("c", "460105").unwrap(), Level::County);
        assert_eq!(level_of("c", "469001").unwrap(), Level::County);
        assert_eq!(level_of("c", "460105001").unwrap(), Level::Township);
        assert_eq!(level_of("c", "460105001001").unwrap(), Level::Village);
        for bad in [
            "46000",
            "4600000",
            "000000",
            "46a000",
            "460105000",
            "460105001000",
            "460000001",
            "",
            "460000100",
        ] {
            assert!(level_of("c", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parents_must_match_prefix_and_level() {
        let hainan = r("460000", "海南省", None);
        let haikou = r("460100", "海口市", Some("460000"));
        let ok = NewRegion {
            code: "460105".into(),
            name: "秀英区".into(),
            name_en: None,
            parent_code: Some("460100".into()),
        };
        assert_eq!(decide_create(&ok, None, Some(&haikou)).unwrap().level, Level::County);
        // A province-administered county-level city hangs directly under the province.
        let wzs = NewRegion {
            code: "469001".into(),
            name: "五指山市".into(),
            name_en: None,
            parent_code: Some("460000".into()),
        };
        assert!(decide_create(&wzs, None, Some(&hainan)).is_ok());
        let wrong = NewRegion {
            code: "350105".into(),
            name: "x".into(),
            name_en: None,
            parent_code: Some("460100".into()),
        };
        assert_eq!(
            decide_create(&wrong, None, Some(&haikou)).unwrap_err().errors[0].rule,
            "region.parent_prefix"
        );
        let missing = NewRegion {
            code: "460105".into(),
            name: "x".into(),
            name_en: None,
            parent_code: None,
        };
        assert_eq!(
            decide_create(&missing, None, None).unwrap_err().errors[0].field,
            "parent_code"
        );
        let orphan = NewRegion {
            code: "460105".into(),
            name: "x".into(),
            name_en: None,
            parent_code: Some("460100".into()),
        };
        assert_eq!(
            decide_create(&orphan, None, None).unwrap_err().kind,
            ErrorKind::NotFound
        );
        let dup = decide_create(&ok, Some(&r("460105", "秀英区", Some("460100"))), Some(&haikou)).unwrap_err();
        assert_eq!(dup.kind, ErrorKind::Conflict);
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let bad = NewRegion {
            code: "12".into(),
            name: "".into(),
            name_en: None,
            parent_code: None,
        };
        let e = decide_create(&bad, None, None).unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "code"]);
    }
}
