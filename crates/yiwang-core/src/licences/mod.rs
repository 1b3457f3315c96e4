//! E-licences (电子证照, STANDARDS §6): licence types, GB/T 36904 identifiers with the
//! MOD 37,36 check character, the data a licence carries, its statuses and their changes,
//! the exact bytes a seal signs, the compact payload of the QR code (verifiable offline
//! with the published trust list), and the verification of all of it.

use crate::error::{DomainError, ErrorKind, FieldError, Problems};
use crate::ids::{check_uscc, mod37_36_check_char};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The object identifier arc of e-licences (GB/T 36904-2018 §5).
pub const ID_PREFIX: &str = "1.2.156.3005.2";

/// The parts of a licence identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceId {
    /// 类型代码: the defining authority's credit code + 3 digits.
    pub type_code: String,
    /// 颁发机构代码: the issuer's credit code.
    pub issuer_uscc: String,
    /// 流水号.
    pub serial: String,
    /// 版本号 (3 digits).
    pub version: u32,
}

/// The identifier of a licence (GB/T 36904-2018 §5): prefix, type code, issuer, serial,
/// version and the ISO/IEC 7064 MOD 37,36 check character over them without the dots.
pub fn licence_id(type_code: &str, issuer_uscc: &str, serial: &str, version: u32) -> String {
    let body = format!("{type_code}{issuer_uscc}{serial}{version:03}");
    let check = mod37_36_check_char(&body).expect("identifier characters are 0-9 A-Z");
    format!("{ID_PREFIX}.{type_code}.{issuer_uscc}.{serial}.{version:03}.{check}")
}

/// Checks a licence identifier; `field` names it in errors.
pub fn check_licence_id(field: &str, id: &str) -> Result<LicenceId, FieldError> {
    let bad = |rule: &str, zh: &str, en: &str| FieldError::new(field, rule, zh, en);
    let Some(rest) = id.strip_prefix(ID_PREFIX).and_then(|r| r.strip_prefix('.')) else {
        return Err(bad(
            "licence_id.prefix",
            "电子证照标识应以 1.2.156.3005.2 开头（GB/T 36904）",
            "a licence identifier starts with 1.2.156.3005.2 (GB/T 36904)",
        ));
    };
    let parts: Vec<&str> = rest.split('.').collect();
    let [type_code, issuer, serial, version, check] = parts[..] else {
        return Err(bad(
            "licence_id.format",
            "电子证照标识应为：前缀.类型代码.颁发机构代码.流水号.版本号.校验位",
            "a licence identifier is prefix.type.issuer.serial.version.check",
        ));
    };
    check_type_code(field, type_code)?;
    check_uscc(field, issuer)?;
    if serial.is_empty() || serial.len() > 32 || !serial.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
        return Err(bad(
            "licence_id.serial",
            "流水号为 1–32 位数字或大写字母",
            "the serial has 1–32 digits or capital letters",
        ));
    }
    if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "licence_id.version",
            "版本号为 3 位数字",
            "the version has 3 digits",
        ));
    }
    let body = format!("{type_code}{issuer}{serial}{version}");
    let expected = mod37_36_check_char(&body).expect("checked characters");
    if check.len() != 1 || !check.starts_with(expected) {
        return Err(bad(
            "licence_id.check_char",
            "电子证照标识的校验位错误（MOD 37,36），请核对是否输错",
            "the check character of the licence identifier is wrong (MOD 37,36): please check for a typing error",
        ));
    }
    Ok(LicenceId {
        type_code: type_code.into(),
        issuer_uscc: issuer.into(),
        serial: serial.into(),
        version: version.parse().expect("3 digits"),
    })
}

/// A licence type code: the defining authority's credit code + 3 digits (GB/T 36904 §5.2).
pub fn check_type_code(field: &str, code: &str) -> Result<(), FieldError> {
    crate::catalog::check_licence_type(field, code)
}

/// Who holds a licence, and how their code is typed (持证主体代码类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HolderKind {
    /// A natural person, by resident ID number (code type 111).
    Person,
    /// A legal person or organisation, by unified social credit code (code type 001).
    Legal,
}

crate::from_text!(HolderKind, Status);

impl HolderKind {
    /// 持证主体代码类型 (STANDARDS §6).
    pub fn code_type(self) -> &'static str {
        match self {
            HolderKind::Person => "111",
            HolderKind::Legal => "001",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            HolderKind::Person => "person",
            HolderKind::Legal => "legal",
        }
    }
    pub fn parse(s: &str) -> Option<HolderKind> {
        [HolderKind::Person, HolderKind::Legal]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
    /// Checks a holder code of this kind.
    pub fn check_code(self, field: &str, code: &str) -> Result<(), FieldError> {
        match self {
            HolderKind::Person => crate::ids::check_resident_id(field, code).map(|_| ()),
            HolderKind::Legal => check_uscc(field, code),
        }
    }
    /// The code as shown to anyone but the holder (STANDARDS: personal data masked).
    pub fn mask(self, code: &str) -> String {
        match self {
            HolderKind::Person => crate::accounts::mask_id_number(code),
            HolderKind::Legal => code.to_string(),
        }
    }
}

/// 证照状态 (STANDARDS §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 01 有效
    Valid,
    /// 02 暂扣
    Suspended,
    /// 03 撤销
    Annulled,
    /// 04 注销
    Cancelled,
    /// 05 失效
    Expired,
    /// 06 办理转出
    TransferredOut,
    /// 07 吊销
    Revoked,
    /// 99 其他
    Other,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Valid,
        Status::Suspended,
        Status::Annulled,
        Status::Cancelled,
        Status::Expired,
        Status::TransferredOut,
        Status::Revoked,
        Status::Other,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Status::Valid => "01",
            Status::Suspended => "02",
            Status::Annulled => "03",
            Status::Cancelled => "04",
            Status::Expired => "05",
            Status::TransferredOut => "06",
            Status::Revoked => "07",
            Status::Other => "99",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Suspended => "suspended",
            Status::Annulled => "annulled",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
            Status::TransferredOut => "transferred_out",
            Status::Revoked => "revoked",
            Status::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|x| x.as_str() == s || x.code() == s)
    }
    /// No change leads away from these (a new licence is issued instead).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Annulled | Status::Cancelled | Status::Expired | Status::TransferredOut | Status::Revoked
        )
    }
}

impl crate::Named for Status {
    fn zh(&self) -> &'static str {
        match self {
            Status::Valid => "有效",
            Status::Suspended => "暂扣",
            Status::Annulled => "撤销",
            Status::Cancelled => "注销",
            Status::Expired => "失效",
            Status::TransferredOut => "办理转出",
            Status::Revoked => "吊销",
            Status::Other => "其他",
        }
    }
    fn en(&self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Suspended => "suspended",
            Status::Annulled => "annulled",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
            Status::TransferredOut => "transferred out",
            Status::Revoked => "revoked",
            Status::Other => "other",
        }
    }
}

/// Decides a status change: a reason (the written decision, its basis) is required;
/// final statuses change no more; a suspension is lifted back to valid.
pub fn decide_status(from: Status, to: Status, reason: &str) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.text("reason", reason, 500);
    p.finish()?;
    let refuse = |zh: String, en: String| Err(DomainError::conflict("status", "licence.status_change", zh, en));
    use crate::Named;
    if from == to {
        return refuse(
            format!("证照已是「{}」状态", from.zh()),
            format!("the licence is already {}", from.en()),
        );
    }
    if from.is_final() {
        return refuse(
            format!("「{}」的证照不能再变更状态；如需恢复，请重新核发", from.zh()),
            format!(
                "a licence that is {} changes no more; issue a new one instead",
                from.en()
            ),
        );
    }
    if to == Status::Expired {
        return refuse(
            "失效由有效期自动确定，不能手工设置".into(),
            "expiry follows from the validity period and is not set by hand".into(),
        );
    }
    Ok(())
}

mod types;
pub use types::*;
mod signed;
pub use signed::*;
mod qr;
pub use qr::*;
mod verify;
pub use verify::*;
#[cfg(test)]
mod tests;
