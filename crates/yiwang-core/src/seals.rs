//! E-seals (电子印章, STANDARDS §6; GB/T 38540): a department's seal with its own SM2 key,
//! certified by the platform as seal maker (制章者), valid for a period; rotated (a new key
//! takes over, the old one keeps verifying what it signed) and revoked (nothing it signs
//! from then on is valid). "一枚印章管审批": one approval seal serves a department.

use crate::error::{DomainError, ErrorKind, FieldError, Problems};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// What a seal is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// 行政审批专用章.
    Approval,
    /// 公章.
    Official,
    /// 电子证照专用章.
    Licence,
}

crate::from_text!(Purpose, SealStatus);

impl Purpose {
    pub const ALL: [Purpose; 3] = [Purpose::Approval, Purpose::Official, Purpose::Licence];
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Approval => "approval",
            Purpose::Official => "official",
            Purpose::Licence => "licence",
        }
    }
    pub fn parse(s: &str) -> Option<Purpose> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
    /// The words under the star of the seal image.
    pub fn seal_words(self) -> &'static str {
        match self {
            Purpose::Approval => "行政审批专用章",
            Purpose::Official => "",
            Purpose::Licence => "电子证照专用章",
        }
    }
}

impl crate::Named for Purpose {
    fn zh(&self) -> &'static str {
        match self {
            Purpose::Approval => "行政审批专用章",
            Purpose::Official => "公章",
            Purpose::Licence => "电子证照专用章",
        }
    }
    fn en(&self) -> &'static str {
        match self {
            Purpose::Approval => "approval seal",
            Purpose::Official => "official seal",
            Purpose::Licence => "e-licence seal",
        }
    }
}

/// Where a seal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SealStatus {
    Active,
    /// Replaced by a newer seal (rotation): verifies what it signed, signs nothing new.
    Superseded,
    /// Revoked: signatures from the revocation on are invalid.
    Revoked,
}

impl SealStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SealStatus::Active => "active",
            SealStatus::Superseded => "superseded",
            SealStatus::Revoked => "revoked",
        }
    }
    pub fn parse(s: &str) -> Option<SealStatus> {
        [SealStatus::Active, SealStatus::Superseded, SealStatus::Revoked]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

impl crate::Named for SealStatus {
    fn zh(&self) -> &'static str {
        match self {
            SealStatus::Active => "在用",
            SealStatus::Superseded => "已更换",
            SealStatus::Revoked => "已吊销",
        }
    }
    fn en(&self) -> &'static str {
        match self {
            SealStatus::Active => "active",
            SealStatus::Superseded => "superseded",
            SealStatus::Revoked => "revoked",
        }
    }
}

/// A seal record: what the seal maker certifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Seal {
    pub id: String,
    /// e.g. 海口市市场监督管理局行政审批专用章.
    pub name: String,
    pub department_id: String,
    pub owner_uscc: String,
    pub owner_name: String,
    pub purpose: Purpose,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_until: NaiveDate,
    pub key_id: String,
    /// SEC1 uncompressed SM2 public key, hex.
    pub public_key: String,
    /// SM3 of the seal image (SVG), hex: the image is part of what is certified.
    pub image_sm3: String,
    /// The seal maker's key and its signature over `certified_bytes`, hex DER.
    pub maker_key_id: String,
    pub maker_signature: String,
    pub status: SealStatus,
    /// When it was revoked or superseded (epoch ms).
    pub ended_at_ms: Option<i64>,
    pub end_reason: Option<String>,
    pub created_at_ms: i64,
}

const SEAL_TAG: &[u8] = b"yiwang-seal/1\n";

/// What the seal maker signs: the seal's identity, owner, purpose, validity, public key
/// and image, so none can be swapped without breaking the certification.
pub fn certified_bytes(s: &Seal) -> Vec<u8> {
    let mut v = SEAL_TAG.to_vec();
    v.extend_from_slice(
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            s.id,
            s.name,
            s.owner_uscc,
            s.purpose.as_str(),
            s.valid_from,
            s.valid_until,
            s.key_id,
            s.public_key,
            s.image_sm3
        )
        .as_bytes(),
    );
    v
}

/// A request to make a seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SealInput {
    pub department_id: String,
    pub purpose: Purpose,
    /// Default: the department's name + the purpose (e.g. …行政审批专用章).
    #[serde(default)]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    /// Default: five years.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
}

/// Decides the name and validity of a new seal.
pub fn decide_new(
    input: &SealInput,
    department_name: &str,
    today: NaiveDate,
) -> Result<(String, NaiveDate, NaiveDate), DomainError> {
    use crate::Named;
    let name = input
        .name
        .clone()
        .map(|n| n.trim().to_string())
        .unwrap_or_else(|| match input.purpose {
            Purpose::Official => department_name.to_string(),
            p => format!("{department_name}{}", p.zh()),
        });
    let from = input.valid_from.unwrap_or(today);
    let until = input
        .valid_until
        .unwrap_or_else(|| from.checked_add_months(chrono::Months::new(60)).expect("date"));
    let mut p = Problems::new();
    p.text("name", &name, 60);
    if from < today {
        p.push(FieldError::new(
            "valid_from",
            "seal.from_past",
            "启用日期不能早于今天",
            "a seal cannot come into use before today",
        ));
    }
    if until <= from {
        p.push(FieldError::new(
            "valid_until",
            "seal.until_before_from",
            "有效期截止日期应晚于启用日期",
            "a seal's validity ends after it begins",
        ));
    }
    if until > from.checked_add_months(chrono::Months::new(120)).expect("date") {
        p.push(FieldError::new(
            "valid_until",
            "seal.too_long",
            "印章有效期最长 10 年",
            "a seal is valid for at most 10 years",
        ));
    }
    p.finish()?;
    Ok((name, from, until))
}

/// May this seal sign now? Only an active seal within its validity signs: a revoked,
/// superseded or expired seal's new signatures are refused.
pub fn may_sign(s: &Seal, today: NaiveDate) -> Result<(), DomainError> {
    use crate::Named;
    let refuse = |zh: String, en: String| {
        Err(DomainError::one(
            ErrorKind::Conflict,
            FieldError::new("seal", "seal.cannot_sign", zh, en),
        ))
    };
    if s.status != SealStatus::Active {
        return refuse(
            format!("印章「{}」{}，不能再用于签章", s.name, s.status.zh()),
            format!("the seal '{}' is {} and signs nothing new", s.name, s.status.en()),
        );
    }
    if today < s.valid_from || today > s.valid_until {
        return refuse(
            format!(
                "印章「{}」不在有效期内（{} 至 {}）",
                s.name, s.valid_from, s.valid_until
            ),
            format!(
                "the seal '{}' is outside its validity ({} to {})",
                s.name, s.valid_from, s.valid_until
            ),
        );
    }
    Ok(())
}

/// Decides ending a seal (revocation or supersession): a reason is required and only an
/// active seal ends.
pub fn decide_end(s: &Seal, reason: &str) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.text("reason", reason, 300);
    p.finish()?;
    if s.status != SealStatus::Active {
        use crate::Named;
        return Err(DomainError::conflict(
            "status",
            "seal.not_active",
            format!("印章已{}", s.status.zh()),
            format!("the seal is already {}", s.status.en()),
        ));
    }
    Ok(())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The seal image: a red ring, the owner's name along the upper arc, a five-pointed star,
/// the purpose below it and the seal's short number at the bottom (SVG, 200 × 200).
pub fn image_svg(owner_name: &str, purpose: Purpose, number: &str) -> String {
    let chars: Vec<char> = owner_name.chars().collect();
    let n = chars.len().max(1) as f64;
    // The name spreads over 240° of the upper arc, each character upright towards the centre.
    let span = 240f64.min(18.0 * n + 40.0);
    let mut text = String::new();
    for (i, c) in chars.iter().enumerate() {
        let a = -90.0 - span / 2.0 + span * (i as f64 + 0.5) / n;
        let r = 72.0;
        let (x, y) = (100.0 + r * a.to_radians().cos(), 100.0 + r * a.to_radians().sin());
        text.push_str(&format!(
            r##"<text x="{x:.2}" y="{y:.2}" transform="rotate({:.2} {x:.2} {y:.2})" font-size="19" text-anchor="middle" dominant-baseline="central" fill="#d4000f" font-family="Noto Serif CJK SC, serif" font-weight="700">{}</text>"##,
            a + 90.0,
            escape(&c.to_string())
        ));
    }
    let star: Vec<String> = (0..10)
        .map(|k| {
            let r = if k % 2 == 0 { 26.0 } else { 10.5 };
            let a = (-90.0 + 36.0 * k as f64).to_radians();
            format!("{:.2},{:.2}", 100.0 + r * a.cos(), 100.0 + r * a.sin())
        })
        .collect();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" width="200" height="200"><circle cx="100" cy="100" r="94" fill="none" stroke="#d4000f" stroke-width="6"/>{text}<polygon points="{}" fill="#d4000f"/><text x="100" y="146" font-size="15" text-anchor="middle" fill="#d4000f" font-family="Noto Serif CJK SC, serif" font-weight="700">{}</text><text x="100" y="170" font-size="10" text-anchor="middle" fill="#d4000f" font-family="Noto Sans CJK SC, sans-serif">{}</text></svg>"##,
        star.join(" "),
        escape(purpose.seal_words()),
        escape(number)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal() -> Seal {
        Seal {
            id: "s1".into(),
            name: "海口市市场监督管理局行政审批专用章".into(),
            department_id: "d".into(),
            owner_uscc: "11460100000000113L".into(),
            owner_name: "海口市市场监督管理局".into(),
            purpose: Purpose::Approval,
            valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2030, 12, 31).unwrap(),
            key_id: "k1".into(),
            public_key: "04ab".into(),
            image_sm3: "00".into(),
            maker_key_id: "m".into(),
            maker_signature: "30".into(),
            status: SealStatus::Active,
            ended_at_ms: None,
            end_reason: None,
            created_at_ms: 0,
        }
    }

    #[test]
    fn only_an_active_seal_in_its_period_signs() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let s = seal();
        assert!(may_sign(&s, d(2026, 6, 1)).is_ok());
        assert_eq!(
            may_sign(&s, d(2031, 1, 1)).unwrap_err().errors[0].rule,
            "seal.cannot_sign"
        );
        assert!(may_sign(&s, d(2025, 12, 31)).is_err());
        for st in [SealStatus::Revoked, SealStatus::Superseded] {
            let mut x = seal();
            x.status = st;
            assert!(may_sign(&x, d(2026, 6, 1)).is_err());
            assert_eq!(decide_end(&x, "遗失").unwrap_err().errors[0].rule, "seal.not_active");
        }
        assert_eq!(decide_end(&s, "").unwrap_err().errors[0].rule, "required");
    }

    #[test]
    fn certification_covers_every_part() {
        let base = certified_bytes(&seal());
        let mut changes: Vec<Seal> = vec![];
        for f in 0..7 {
            let mut s = seal();
            match f {
                0 => s.name.push('x'),
                1 => s.owner_uscc.push('x'),
                2 => s.purpose = Purpose::Official,
                3 => s.valid_until = s.valid_until.succ_opt().unwrap(),
                4 => s.public_key.push('0'),
                5 => s.image_sm3.push('1'),
                _ => s.key_id.push('2'),
            }
            changes.push(s);
        }
        for s in changes {
            assert_ne!(certified_bytes(&s), base);
        }
    }

    #[test]
    fn new_seals_get_names_and_periods() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let input = SealInput {
            department_id: "d".into(),
            purpose: Purpose::Approval,
            name: None,
            valid_from: None,
            valid_until: None,
        };
        let (name, from, until) = decide_new(&input, "海口市市场监督管理局", today).unwrap();
        assert_eq!(name, "海口市市场监督管理局行政审批专用章");
        assert_eq!((from, until), (today, NaiveDate::from_ymd_opt(2031, 11, 25).unwrap()));
        let bad = SealInput {
            valid_from: Some(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
            valid_until: Some(NaiveDate::from_ymd_opt(2045, 1, 1).unwrap()),
            ..input
        };
        let rules: Vec<String> = decide_new(&bad, "x", today)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.rule)
            .collect();
        assert_eq!(rules, ["seal.from_past", "seal.too_long"]);
    }

    #[test]
    fn the_image_is_well_formed_svg_with_the_name() {
        let svg = image_svg("海口市市场监督管理局", Purpose::Approval, "4601000001");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<text").count(), "海口市市场监督管理局".chars().count() + 2);
        assert!(svg.contains("行政审批专用章"));
        assert!(!image_svg("A&B<", Purpose::Official, "1").contains("&B<"));
    }
}
