//! The licence's data, its canonical signed bytes, signatures and the face check.

use super::*;

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
pub(super) const LICENCE_TAG: &[u8] = b"yiwang-licence/1\n";

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
