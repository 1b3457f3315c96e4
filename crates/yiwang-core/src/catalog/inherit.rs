//! Locked elements inherited from the basic entry (同要素管理) and differences between levels.

use super::*;

// ---------------------------------------------------------------------------------------
// Locked elements and level differences (同要素管理)
// ---------------------------------------------------------------------------------------

/// An implementation item's elements: the item's own values for the open elements, and
/// the basic entry's for the locked ones.
pub fn inherit(basic: &Elements, item: &Elements, policy: &CatalogPolicy) -> Elements {
    let b = basic.to_map();
    let mut m = item.to_map();
    for l in &policy.locked {
        match b.get(l) {
            Some(v) => m.insert(l.clone(), v.clone()),
            None => m.remove(l),
        };
    }
    serde_json::from_value(Value::Object(m)).expect("inherited elements stay valid")
}

/// Refuses an edit of a locked element below the basic entry, naming each one.
pub fn check_locked(basic: &Elements, proposed: &Elements, policy: &CatalogPolicy) -> Result<(), DomainError> {
    let b = basic.to_map();
    let p = proposed.to_map();
    let errors: Vec<FieldError> = policy
        .locked
        .iter()
        .filter(|l| b.get(*l) != p.get(*l))
        .map(|l| {
            FieldError::new(
                l.clone(),
                "catalog.locked_element",
                format!(
                    "「{}」是锁定要素，须与基本目录保持一致，只能在基本目录中修改",
                    element_zh(l)
                ),
                format!("'{l}' is a locked element: it stays identical to the basic directory entry and is changed there only"),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::invalid(errors))
    }
}

/// One element that differs between implementation items of the same basic entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelDifference {
    pub element: String,
    pub element_zh: String,
    pub locked: bool,
    /// The value per item code (items agreeing share a value).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: BTreeMap<String, Value>,
}

/// Which elements differ between the given items (code → elements) and the basic entry
/// (under the key `basic`): locked ones first; only elements with more than one value.
pub fn level_differences(entries: &[(String, &Elements)], policy: &CatalogPolicy) -> Vec<LevelDifference> {
    let maps: Vec<(String, serde_json::Map<String, Value>)> =
        entries.iter().map(|(c, e)| (c.clone(), e.to_map())).collect();
    let mut out = vec![];
    for name in ELEMENT_NAMES {
        let values: BTreeMap<String, Value> = maps
            .iter()
            .map(|(c, m)| (c.clone(), m.get(*name).cloned().unwrap_or(Value::Null)))
            .collect();
        let first = values.values().next();
        if values.values().any(|v| Some(v) != first) {
            out.push(LevelDifference {
                element: name.to_string(),
                element_zh: element_zh(name).to_string(),
                locked: policy.is_locked(name),
                values,
            });
        }
    }
    out.sort_by_key(|d| !d.locked);
    out
}
