//! The interchange document (our JSON format; round trip is lossless).

use super::*;

// ---------------------------------------------------------------------------------------
// The interchange document (our JSON format; round trip is lossless)
// ---------------------------------------------------------------------------------------

pub const DOC_FORMAT: &str = "yiwang-catalog";
pub const DOC_VERSION: u32 = 1;

/// A whole catalogue (or part of one) as exchanged by import and export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogDoc {
    /// Always `yiwang-catalog`.
    pub format: String,
    /// Always 1.
    pub version: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_elements: Vec<DataElement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub basic: Vec<BasicDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemDoc>,
    /// 一件事 definitions (their members by implementation code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bundles: Vec<crate::bundles::BundleDoc>,
}

impl CatalogDoc {
    pub fn new() -> CatalogDoc {
        CatalogDoc {
            format: DOC_FORMAT.into(),
            version: DOC_VERSION,
            data_elements: vec![],
            basic: vec![],
            items: vec![],
            bundles: vec![],
        }
    }
}

impl Default for CatalogDoc {
    fn default() -> Self {
        Self::new()
    }
}

/// A basic directory entry in the interchange document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicDoc {
    pub basic_code: String,
    pub elements: Elements,
}

/// An implementation item: the basic entry it implements, its department, and its own
/// elements, given as changes over the basic entry's (export writes them all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemDoc {
    pub basic_code: String,
    /// Checked against the department and level when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_code: Option<String>,
    /// The implementing department by credit code, or by exact name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_uscc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
    /// Element name → value, over the basic entry's elements.
    #[serde(default)]
    pub elements: serde_json::Map<String, Value>,
}

/// An implementation item's full elements: the basic entry's, with the item's own values
/// laid over them (then checked like any elements).
pub fn overlay(basic: &Elements, own: &serde_json::Map<String, Value>, at: &str) -> Result<Elements, DomainError> {
    let mut m = basic.to_map();
    for (k, v) in own {
        if !ELEMENT_NAMES.contains(&k.as_str()) {
            return Err(DomainError::invalid(vec![FieldError::new(
                format!("{at}.{k}"),
                "catalog.unknown_element",
                format!("未知要素「{k}」"),
                format!("unknown element '{k}'"),
            )]));
        }
        m.insert(k.clone(), v.clone());
    }
    elements_from_value(Value::Object(m), at)
}

/// Reads elements from JSON, naming the bad field by its path under `at`.
pub fn elements_from_value(v: Value, at: &str) -> Result<Elements, DomainError> {
    serde_path_like(v).map_err(|(path, msg)| {
        let (rule, zh, en) = crate::error::serde_problem(&msg);
        DomainError::invalid(vec![FieldError::new(
            if path.is_empty() {
                at.to_string()
            } else {
                format!("{at}.{path}")
            },
            rule,
            zh,
            en,
        )])
    })
}

/// Deserialises elements, reporting the element (top-level key) at fault.
pub(super) fn serde_path_like(v: Value) -> Result<Elements, (String, String)> {
    match serde_json::from_value::<Elements>(v.clone()) {
        Ok(e) => Ok(e),
        Err(err) => {
            // Find the first top-level element that fails on its own, to name it.
            let msg = err.to_string();
            if let Value::Object(m) = &v {
                let base = Elements::new("x", ItemType::PublicService).to_map();
                for (k, val) in m {
                    let mut probe = base.clone();
                    probe.insert(k.clone(), val.clone());
                    if let Err(e) = serde_json::from_value::<Elements>(Value::Object(probe)) {
                        return Err((k.clone(), e.to_string()));
                    }
                }
            }
            let missing = msg
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
                .unwrap_or("")
                .to_string();
            Err((missing, msg))
        }
    }
}
