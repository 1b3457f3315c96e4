//! Verification of a licence file or QR payload, and the materials a licence covers.

use super::*;

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
    pub(super) fn from_checks(checks: Vec<Check>) -> Verification {
        let reason = checks.iter().find(|c| !c.ok).map(|c| c.en.clone());
        Verification {
            valid: reason.is_none(),
            checks,
            reason,
        }
    }
}

pub(super) fn check(name: &str, r: Result<(String, String), (String, String)>) -> Check {
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
        Err((zh, en)) => {
            return (
                None,
                Verification::from_checks(vec![check(
                    "payload",
                    Err((
                        format!("二维码内容无法识别：{zh}"),
                        format!("the QR code cannot be read: {en}"),
                    )),
                )]),
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

pub(super) fn hex_decode(s: &str) -> Option<Vec<u8>> {
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
