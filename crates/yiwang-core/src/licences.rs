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

/// How long a licence of a type is valid from its issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum ValidityRule {
    /// 长期有效.
    Permanent,
    Years(u32),
    Months(u32),
}

impl ValidityRule {
    /// The last day of validity for a licence valid from `from` (None: permanent).
    pub fn until(self, from: NaiveDate) -> Option<NaiveDate> {
        let months = match self {
            ValidityRule::Permanent => return None,
            ValidityRule::Years(y) => y * 12,
            ValidityRule::Months(m) => m,
        };
        from.checked_add_months(chrono::Months::new(months))
            .and_then(|d| d.pred_opt())
    }
}

/// A field printed on the face of a licence, from the data-element dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FaceField {
    /// The data element's code.
    pub element: String,
    /// A label other than the element's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default)]
    pub required: bool,
}

/// The page layout a licence is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A landscape certificate (许可证、执照).
    #[default]
    Certificate,
    /// A portrait certificate (证明、证书).
    Portrait,
}

/// 证照类型.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LicenceType {
    /// 类型代码: the defining authority's credit code + 3 digits.
    pub code: String,
    pub name: String,
    pub holder: HolderKind,
    pub validity: ValidityRule,
    #[serde(default)]
    pub face: Vec<FaceField>,
    #[serde(default)]
    pub layout: Layout,
    /// A note printed at the foot of the licence (e.g. how to verify it, the law).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl LicenceType {
    pub fn definer_uscc(&self) -> &str {
        &self.code[..18.min(self.code.len())]
    }
}

/// Checks a licence type; `element_known` tells whether a data element exists.
pub fn check_type(t: &LicenceType, element_known: &dyn Fn(&str) -> bool) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.check(check_type_code("code", &t.code));
    p.text("name", &t.name, 60);
    match t.validity {
        ValidityRule::Years(y) if !(1..=100).contains(&y) => p.push(FieldError::new(
            "validity",
            "range",
            "有效期为 1–100 年",
            "the validity is 1–100 years",
        )),
        ValidityRule::Months(m) if !(1..=1200).contains(&m) => p.push(FieldError::new(
            "validity",
            "range",
            "有效期为 1–1200 个月",
            "the validity is 1–1200 months",
        )),
        _ => {}
    }
    let mut seen = std::collections::HashSet::new();
    for (i, f) in t.face.iter().enumerate() {
        if !element_known(&f.element) {
            p.push(FieldError::new(
                format!("face[{i}].element"),
                "form.unknown_element",
                format!("数据元字典中没有「{}」", f.element),
                format!("the data-element dictionary has no '{}'", f.element),
            ));
        } else if !seen.insert(f.element.as_str()) {
            p.push(FieldError::new(
                format!("face[{i}].element"),
                "duplicate",
                format!("照面字段「{}」重复", f.element),
                format!("face field '{}' appears twice", f.element),
            ));
        }
        p.opt_text(&format!("face[{i}].label"), f.label.as_deref(), 30);
    }
    if t.face.len() > 30 {
        p.push(FieldError::new(
            "face",
            "max_items",
            "照面字段最多 30 个",
            "at most 30 face fields",
        ));
    }
    p.opt_text("note", t.note.as_deref(), 300);
    p.finish()
}

/// Everything a licence says: what the seal's signature covers (STANDARDS §6 metadata).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LicenceData {
    /// GB/T 36904 identifier.
    pub id: String,
    pub type_code: String,
    pub type_name: String,
    /// 证照编号 printed on the face.
    pub number: String,
    pub version: u32,
    pub definer_uscc: String,
    pub issuer_uscc: String,
    pub issuer_name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub issued_on: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub valid_from: NaiveDate,
    /// None: permanent (长期有效).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub valid_until: Option<NaiveDate>,
    /// 管辖区域 (region code).
    pub jurisdiction: String,
    pub holder_kind: HolderKind,
    pub holder_name: String,
    pub holder_code: String,
    /// 持证主体代码类型: 111 resident ID, 001 credit code.
    pub holder_code_type: String,
    /// The 实施编码 of the item it results from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_item: Option<String>,
    /// Face data by data-element code (照面信息).
    pub face: BTreeMap<String, String>,
}

/// The domain tag of what a licence signature covers.
const LICENCE_TAG: &[u8] = b"yiwang-licence/1\n";

impl LicenceData {
    /// The canonical bytes of the data: fixed field order, face sorted by key, no
    /// whitespace (serde_json of this struct is deterministic).
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("serialisable")
    }
    /// What the seal signs: the data, the seal and the signing time together, so a
    /// signature cannot be moved to another seal or time.
    pub fn signed_bytes(&self, seal_id: &str, key_id: &str, signed_at_ms: i64) -> Vec<u8> {
        let mut v = LICENCE_TAG.to_vec();
        v.extend_from_slice(&self.canonical());
        v.extend_from_slice(format!("\n{seal_id}\n{key_id}\n{signed_at_ms}").as_bytes());
        v
    }
    /// Is it within its validity on `day`?
    pub fn in_validity(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_until.is_none_or(|u| day <= u)
    }
}

/// A seal's signature over a licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LicenceSignature {
    pub seal_id: String,
    pub key_id: String,
    pub signed_at_ms: i64,
    /// Always SM2-SM3 (GB/T 38540: OID 1.2.156.10197.1.501; user id 1234567812345678).
    pub alg: String,
    /// DER, hex.
    pub value: String,
}

pub const ALG: &str = "SM2-SM3";

/// The licence file: data and signature (the exchange form of an e-licence here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LicenceFile {
    /// Always `yiwang-licence`.
    pub format: String,
    pub data: LicenceData,
    pub signature: LicenceSignature,
}

/// Builds the face data of a licence: the type's fields, in order, each value checked
/// against its data element; unknown keys refused.
pub fn check_face(
    t: &LicenceType,
    face: &BTreeMap<String, String>,
    element: &dyn Fn(&str) -> Option<crate::catalog::DataElement>,
) -> Result<(), DomainError> {
    let mut p = Problems::new();
    for f in &t.face {
        let v = face.get(&f.element).map(|s| s.trim()).unwrap_or("");
        if v.is_empty() {
            if f.required {
                p.push(FieldError::new(
                    format!("face.{}", f.element),
                    "required",
                    "照面必填项不能为空",
                    "a required face field is empty",
                ));
            }
            continue;
        }
        if let Some(d) = element(&f.element) {
            p.check(crate::catalog::check_value(
                &format!("face.{}", f.element),
                &d,
                &serde_json::Value::String(v.into()),
            ));
        }
    }
    for k in face.keys() {
        if !t.face.iter().any(|f| &f.element == k) {
            p.push(FieldError::new(
                format!("face.{k}"),
                "licence.unknown_face_field",
                format!("证照类型「{}」的照面没有「{k}」", t.name),
                format!("the licence type '{}' has no face field '{k}'", t.name),
            ));
        }
    }
    p.finish()
}

// ---------------------------------------------------------------------------------------
// The QR payload: verifiable offline with the trust list
// ---------------------------------------------------------------------------------------

/// What the QR code on a licence carries (compact, signed by the same seal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrClaims {
    /// Licence identifier.
    pub i: String,
    /// Type name.
    pub t: String,
    /// Number on the face.
    pub n: String,
    /// Holder name.
    pub h: String,
    /// Holder code, masked for a person.
    pub c: String,
    /// Issuer credit code.
    pub s: String,
    /// Valid until (YYYY-MM-DD; empty: permanent).
    pub u: String,
    /// SM3 of the licence data's canonical bytes (hex): binds the code to the full data.
    pub d: String,
    /// Signing key.
    pub k: String,
    /// Signed at (epoch ms).
    pub a: i64,
}

pub const QR_PREFIX: &str = "YWL1";

/// The bytes a QR payload's signature covers.
pub fn qr_signed_bytes(claims_b64: &str) -> Vec<u8> {
    format!("{QR_PREFIX}.{claims_b64}").into_bytes()
}

/// Splits a compact payload `YWL1.<claims>.<signature>` (base64url, no padding).
pub fn parse_qr(payload: &str) -> Result<(QrClaims, String, Vec<u8>), String> {
    let mut parts = payload.trim().split('.');
    let (Some(prefix), Some(claims_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a licence QR payload (YWL1.claims.signature)".into());
    };
    if prefix != QR_PREFIX {
        return Err(format!("unknown payload version {prefix}"));
    }
    let claims = b64url_decode(claims_b64).ok_or("the claims are not base64url")?;
    let claims: QrClaims = serde_json::from_slice(&claims).map_err(|e| format!("the claims are not valid: {e}"))?;
    let sig = b64url_decode(sig_b64).ok_or("the signature is not base64url")?;
    Ok((claims, claims_b64.to_string(), sig))
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 §5 base64url without padding.
pub fn b64url_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(B64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut n = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64URL.iter().position(|&x| x == c)? as u32;
        n = (n << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
            n &= (1 << bits) - 1;
        }
    }
    if bits >= 6 { None } else { Some(out) }
}

// ---------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------

/// A signing key as verifiers know it: from this node's seals or a trust list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrustedKey {
    pub key_id: String,
    /// The seal this key belongs to (seal keys only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_id: Option<String>,
    pub owner_uscc: String,
    pub owner_name: String,
    /// `seal` (signs licences and notices) or `seal_maker` (certifies seals).
    pub purpose: String,
    /// SEC1 uncompressed SM2 public key, hex.
    pub public_key: String,
    pub valid_from_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<i64>,
    /// Signatures made from this instant on are invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
}

impl TrustedKey {
    /// Could this key make a valid signature at `at_ms`? Otherwise why not.
    pub fn usable_at(&self, at_ms: i64) -> Result<(), (String, String)> {
        if at_ms < self.valid_from_ms {
            return Err((
                "签名时间早于印章启用时间".into(),
                "signed before the seal came into use".into(),
            ));
        }
        if let Some(u) = self.valid_until_ms
            && at_ms > u
        {
            return Err(("签名时间晚于印章有效期".into(), "signed after the seal expired".into()));
        }
        if let Some(r) = self.revoked_at_ms
            && at_ms >= r
        {
            return Err((
                "签名时印章已被吊销".into(),
                "the seal was revoked when it signed".into(),
            ));
        }
        Ok(())
    }
}

/// Checks an SM2 signature: (public key, message, DER signature) → valid. Core does no
/// cryptography itself; the caller passes `yiwang_crypto::verify`.
pub type SigCheck = dyn Fn(&[u8], &[u8], &[u8]) -> bool;

/// One check of a verification, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    /// `identifier`, `key`, `signature`, `seal`, `digest`, `validity`, `status`.
    pub name: String,
    pub ok: bool,
    pub zh: String,
    pub en: String,
}

/// The outcome of verifying a licence (STANDARDS §6: signature and seal validity →
/// recomputed hash → current status → identifier check character).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    pub valid: bool,
    pub checks: Vec<Check>,
    /// The first failed check's reason (English), for exit messages.
    pub reason: Option<String>,
}

impl Verification {
    fn from_checks(checks: Vec<Check>) -> Verification {
        let reason = checks.iter().find(|c| !c.ok).map(|c| c.en.clone());
        Verification {
            valid: reason.is_none(),
            checks,
            reason,
        }
    }
}

fn check(name: &str, r: Result<(String, String), (String, String)>) -> Check {
    match r {
        Ok((zh, en)) => Check {
            name: name.into(),
            ok: true,
            zh,
            en,
        },
        Err((zh, en)) => Check {
            name: name.into(),
            ok: false,
            zh,
            en,
        },
    }
}

/// Verifies a licence file: the identifier and its check character, the signing key is
/// trusted and was usable when it signed, the signature over the data, the validity
/// period on `today`, and (online) the current status from the issuer.
pub fn verify_file(
    f: &LicenceFile,
    key: Option<&TrustedKey>,
    sig_ok: &SigCheck,
    today: NaiveDate,
    status: Option<Status>,
) -> Verification {
    let mut checks = vec![];
    checks.push(check(
        "identifier",
        match check_licence_id("id", &f.data.id) {
            Ok(p) if p.issuer_uscc == f.data.issuer_uscc && p.type_code == f.data.type_code => Ok((
                "证照标识及校验位正确".into(),
                "the identifier and its check character are right".into(),
            )),
            Ok(_) => Err((
                "证照标识与颁发机构或类型不符".into(),
                "the identifier does not match the issuer or type".into(),
            )),
            Err(e) => Err((e.zh, e.en)),
        },
    ));
    let key_ok = match key {
        None => Err((
            format!("签名密钥「{}」不在信任列表中", f.signature.key_id),
            format!("the signing key '{}' is not in the trust list", f.signature.key_id),
        )),
        Some(k) if k.owner_uscc != f.data.issuer_uscc => Err((
            "签名印章不属于颁发机构".into(),
            "the signing seal does not belong to the issuer".into(),
        )),
        Some(k) => k.usable_at(f.signature.signed_at_ms).map(|_| {
            (
                format!("由「{}」的印章签名，签名时印章有效", k.owner_name),
                format!("signed with a seal of {} that was valid when it signed", k.owner_name),
            )
        }),
    };
    let key_usable = key_ok.is_ok();
    checks.push(check("seal", key_ok));
    let sig = hex_decode(&f.signature.value);
    let signed = f
        .data
        .signed_bytes(&f.signature.seal_id, &f.signature.key_id, f.signature.signed_at_ms);
    checks.push(check(
        "signature",
        match (key, sig) {
            _ if f.signature.alg != ALG => Err((
                format!("不支持的签名算法 {}", f.signature.alg),
                format!("unsupported signature algorithm {}", f.signature.alg),
            )),
            (Some(k), Some(sig)) if key_usable => match hex_decode(&k.public_key) {
                Some(pk) if sig_ok(&pk, &signed, &sig) => Ok((
                    "SM2 签名有效，证照内容未被篡改".into(),
                    "the SM2 signature is valid: the licence data is unaltered".into(),
                )),
                _ => Err((
                    "签名无效：证照内容被篡改或签名不符".into(),
                    "the signature is not valid: the data was altered or the signature does not match".into(),
                )),
            },
            (Some(_), None) => Err(("签名格式错误".into(), "the signature is malformed".into())),
            _ => Err((
                "无可信密钥，无法验证签名".into(),
                "no trusted key to check the signature with".into(),
            )),
        },
    ));
    checks.push(check(
        "validity",
        if f.data.in_validity(today) {
            Ok((
                format!(
                    "在有效期内（{} 至 {}）",
                    f.data.valid_from,
                    f.data
                        .valid_until
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "长期".into())
                ),
                "within its validity period".into(),
            ))
        } else {
            Err((
                "不在有效期内".into(),
                format!("outside its validity period (today is {today})"),
            ))
        },
    ));
    if let Some(st) = status {
        use crate::Named;
        checks.push(check(
            "status",
            if st == Status::Valid {
                Ok((
                    "颁发机构记录的状态：有效".into(),
                    "the issuer records it as valid".into(),
                ))
            } else {
                Err((
                    format!("颁发机构记录的状态：{}", st.zh()),
                    format!("the issuer records it as {}", st.en()),
                ))
            },
        ));
    }
    Verification::from_checks(checks)
}

/// Verifies a QR payload offline: the key is trusted and was usable, the signature over
/// the claims holds, and the claims are within validity on `today`.
pub fn verify_qr(
    payload: &str,
    key_of: &dyn Fn(&str) -> Option<TrustedKey>,
    sig_ok: &SigCheck,
    today: NaiveDate,
) -> (Option<QrClaims>, Verification) {
    let (claims, claims_b64, sig) = match parse_qr(payload) {
        Ok(x) => x,
        Err(e) => {
            return (
                None,
                Verification::from_checks(vec![check("payload", Err((format!("二维码内容无法识别：{e}"), e)))]),
            );
        }
    };
    let mut checks = vec![];
    let key = key_of(&claims.k);
    let key_ok = match &key {
        None => Err((
            format!("签名密钥「{}」不在信任列表中", claims.k),
            format!("the signing key '{}' is not in the trust list", claims.k),
        )),
        Some(k) if k.owner_uscc != claims.s => Err((
            "签名印章不属于颁发机构".into(),
            "the signing seal does not belong to the issuer".into(),
        )),
        Some(k) => k.usable_at(claims.a).map(|_| {
            (
                format!("由「{}」的印章签名", k.owner_name),
                format!("signed with a seal of {}", k.owner_name),
            )
        }),
    };
    let usable = key_ok.is_ok();
    checks.push(check("seal", key_ok));
    checks.push(check(
        "signature",
        match key.as_ref().and_then(|k| hex_decode(&k.public_key)) {
            Some(pk) if usable && sig_ok(&pk, &qr_signed_bytes(&claims_b64), &sig) => {
                Ok(("二维码签名有效".into(), "the QR code's signature is valid".into()))
            }
            _ if !usable => Err((
                "无可信密钥，无法验证签名".into(),
                "no usable trusted key to check the signature with".into(),
            )),
            _ => Err((
                "二维码签名无效：内容被篡改".into(),
                "the QR code's signature is not valid: its content was altered".into(),
            )),
        },
    ));
    let until = if claims.u.is_empty() {
        None
    } else {
        NaiveDate::parse_from_str(&claims.u, "%Y-%m-%d").ok()
    };
    checks.push(check(
        "validity",
        if until.is_none_or(|u| today <= u) {
            Ok(("在有效期内".into(), "within its validity period".into()))
        } else {
            Err(("已超过有效期".into(), "past its validity period".into()))
        },
    ));
    let v = Verification::from_checks(checks);
    (Some(claims), v)
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Why an action on a licence is refused because of its status.
pub fn require_valid(status: Status) -> Result<(), DomainError> {
    if status == Status::Valid {
        Ok(())
    } else {
        use crate::Named;
        Err(DomainError::one(
            ErrorKind::Conflict,
            FieldError::new(
                "licence_id",
                "licence.not_valid",
                format!("证照状态为「{}」，不能使用", status.zh()),
                format!("the licence is {}: it cannot be used", status.en()),
            ),
        ))
    }
}

/// The materials an applicant need not submit: each material whose source names a licence
/// type, with the applicant's valid licence of that type (免提交; 国办发〔2022〕3号 calls
/// for e-licences to replace the paper an authority itself issued).
pub fn covered_materials<'a, T>(
    materials: &'a [crate::catalog::Material],
    held: &'a [T],
    of: impl Fn(&T) -> (&str, Status),
) -> Vec<(&'a crate::catalog::Material, &'a T)> {
    materials
        .iter()
        .filter_map(|m| {
            let want = m.source.licence_type.as_deref()?;
            held.iter()
                .find(|l| {
                    let (t, s) = of(l);
                    t == want && s == Status::Valid
                })
                .map(|l| (m, l))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn materials_are_covered_by_valid_licences_of_their_type() {
        let mut a: crate::catalog::Material =
            serde_json::from_value(serde_json::json!({"key": "licence", "name": "营业执照"})).unwrap();
        a.source.licence_type = Some("11100000000013338W032".into());
        let b: crate::catalog::Material =
            serde_json::from_value(serde_json::json!({"key": "plan", "name": "平面图"})).unwrap();
        let ms = vec![a, b];
        let held = vec![
            ("11100000000013338W032", Status::Revoked, "old"),
            ("11100000000013338W032", Status::Valid, "current"),
            ("11100000000013338W011", Status::Valid, "other"),
        ];
        let c = covered_materials(&ms, &held, |h| (h.0, h.1));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0.key, "licence");
        assert_eq!(c[0].1.2, "current");
        assert!(covered_materials(&ms, &held[..1], |h| (h.0, h.1)).is_empty());
    }
    use super::*;

    /// STANDARDS §6: two real identifiers.
    const REAL: [&str; 2] = [
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    ];

    #[test]
    fn real_identifiers_check_and_round_trip() {
        for id in REAL {
            let p = check_licence_id("id", id).unwrap();
            assert_eq!(licence_id(&p.type_code, &p.issuer_uscc, &p.serial, p.version), id);
        }
    }

    #[test]
    fn every_single_corruption_is_caught() {
        for id in REAL {
            let chars: Vec<char> = id.chars().collect();
            for i in ID_PREFIX.len() + 1..chars.len() {
                if chars[i] == '.' {
                    continue;
                }
                for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".chars() {
                    if c == chars[i] {
                        continue;
                    }
                    let mut v = chars.clone();
                    v[i] = c;
                    let s: String = v.into_iter().collect();
                    assert!(check_licence_id("id", &s).is_err(), "{s} passed");
                }
            }
            // Two neighbouring characters swapped (the usual typing slip).
            for i in ID_PREFIX.len() + 1..chars.len() - 1 {
                if chars[i] == chars[i + 1] || chars[i] == '.' || chars[i + 1] == '.' {
                    continue;
                }
                let mut v = chars.clone();
                v.swap(i, i + 1);
                let s: String = v.into_iter().collect();
                assert!(check_licence_id("id", &s).is_err(), "{s} passed");
            }
        }
        assert_eq!(check_licence_id("id", "1.2.3").unwrap_err().rule, "licence_id.prefix");
        assert_eq!(
            check_licence_id("id", "1.2.156.3005.2.x").unwrap_err().rule,
            "licence_id.format"
        );
    }

    #[test]
    fn status_changes() {
        use Status::*;
        assert!(decide_status(Valid, Suspended, "依法暂扣").is_ok());
        assert!(decide_status(Suspended, Valid, "暂扣期满").is_ok());
        assert_eq!(
            decide_status(Valid, Revoked, " ").unwrap_err().errors[0].rule,
            "required"
        );
        for fin in [Annulled, Cancelled, Expired, TransferredOut, Revoked] {
            for to in Status::ALL {
                if to != fin {
                    assert_eq!(
                        decide_status(fin, to, "x").unwrap_err().errors[0].rule,
                        "licence.status_change"
                    );
                }
            }
        }
        assert!(decide_status(Valid, Expired, "x").is_err());
        assert!(decide_status(Valid, Valid, "x").is_err());
    }

    #[test]
    fn validity_rules() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(ValidityRule::Years(5).until(d), NaiveDate::from_ymd_opt(2029, 2, 27));
        assert_eq!(ValidityRule::Months(1).until(d), NaiveDate::from_ymd_opt(2024, 3, 28));
        assert_eq!(ValidityRule::Permanent.until(d), None);
    }

    #[test]
    fn base64url_round_trips() {
        for n in 0..40 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let e = b64url_encode(&data);
            assert!(!e.contains('=') && !e.contains('+') && !e.contains('/'));
            assert_eq!(b64url_decode(&e).unwrap(), data);
        }
        assert_eq!(b64url_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64url_encode(b"fo"), "Zm8");
        assert!(b64url_decode("Z").is_none());
        assert!(b64url_decode("Zm9v*").is_none());
    }

    fn data() -> LicenceData {
        LicenceData {
            id: REAL[0].into(),
            type_code: "11100000000013338W032".into(),
            type_name: "食品经营许可证".into(),
            number: "JY14601000000001".into(),
            version: 1,
            definer_uscc: "11100000000013338W".into(),
            issuer_uscc: "11220000013544541J".into(),
            issuer_name: "某市市场监督管理局".into(),
            issued_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            valid_from: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2031, 1, 4),
            jurisdiction: "220000".into(),
            holder_kind: HolderKind::Legal,
            holder_name: "某某餐饮有限公司".into(),
            holder_code: "11430000006122244L".into(),
            holder_code_type: "001".into(),
            related_item: None,
            face: [("business_address".to_string(), "某路 1 号".to_string())].into(),
        }
    }

    #[test]
    fn signed_bytes_bind_data_seal_and_time() {
        let d = data();
        let a = d.signed_bytes("s1", "k1", 5);
        assert_ne!(a, d.signed_bytes("s2", "k1", 5));
        assert_ne!(a, d.signed_bytes("s1", "k1", 6));
        let mut e = d.clone();
        e.face.insert("business_address".into(), "某路 2 号".into());
        assert_ne!(a, e.signed_bytes("s1", "k1", 5));
        // Deterministic.
        assert_eq!(a, data().signed_bytes("s1", "k1", 5));
    }

    #[test]
    fn verification_reports_each_check() {
        let d = data();
        let key = TrustedKey {
            key_id: "k1".into(),
            seal_id: Some("s1".into()),
            owner_uscc: d.issuer_uscc.clone(),
            owner_name: d.issuer_name.clone(),
            purpose: "seal".into(),
            public_key: "04aa".into(),
            valid_from_ms: 0,
            valid_until_ms: None,
            revoked_at_ms: Some(100),
        };
        let f = LicenceFile {
            format: "yiwang-licence".into(),
            signature: LicenceSignature {
                seal_id: "s1".into(),
                key_id: "k1".into(),
                signed_at_ms: 50,
                alg: ALG.into(),
                value: "3044".into(),
            },
            data: d.clone(),
        };
        let ok = |_: &[u8], _: &[u8], _: &[u8]| true;
        let no = |_: &[u8], _: &[u8], _: &[u8]| false;
        let today = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert!(verify_file(&f, Some(&key), &ok, today, Some(Status::Valid)).valid);
        let v = verify_file(&f, Some(&key), &no, today, Some(Status::Valid));
        assert_eq!(v.checks.iter().find(|c| !c.ok).unwrap().name, "signature");
        let v = verify_file(&f, Some(&key), &ok, today, Some(Status::Revoked));
        assert_eq!(v.reason.as_deref(), Some("the issuer records it as revoked"));
        let v = verify_file(&f, None, &ok, today, None);
        assert!(!v.valid);
        // Signed after the key was revoked: refused.
        let mut late = f.clone();
        late.signature.signed_at_ms = 100;
        assert_eq!(
            verify_file(&late, Some(&key), &ok, today, None)
                .checks
                .iter()
                .find(|c| !c.ok)
                .unwrap()
                .name,
            "seal"
        );
        let v = verify_file(&f, Some(&key), &ok, NaiveDate::from_ymd_opt(2032, 1, 1).unwrap(), None);
        assert_eq!(v.checks.iter().find(|c| !c.ok).unwrap().name, "validity");
    }
}
