//! Differences between versions.

use super::*;

// ---------------------------------------------------------------------------------------
// Differences between versions
// ---------------------------------------------------------------------------------------

/// One changed value between two versions, at a JSON path such as `materials[2].name`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub path: String,
    /// The element's Chinese name.
    pub element_zh: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub before: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub after: Value,
}

/// Every difference between two JSON documents, depth first, in key order.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    fn walk(path: String, a: &Value, b: &Value, out: &mut Vec<Change>) {
        if a == b {
            return;
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(
                        p,
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                for i in 0..x.len().max(y.len()) {
                    walk(
                        format!("{path}[{i}]"),
                        x.get(i).unwrap_or(&Value::Null),
                        y.get(i).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            _ => {
                let top = path.split(['.', '[']).next().unwrap_or("");
                out.push(Change {
                    element_zh: element_zh(top).to_string(),
                    path,
                    before: a.clone(),
                    after: b.clone(),
                })
            }
        }
    }
    let mut out = vec![];
    walk(String::new(), before, after, &mut out);
    out
}

/// The top-level elements that differ between two versions.
pub fn changed_elements(before: &Elements, after: &Elements) -> Vec<String> {
    let a = before.to_map();
    let b = after.to_map();
    ELEMENT_NAMES
        .iter()
        .filter(|n| a.get(**n) != b.get(**n))
        .map(|n| n.to_string())
        .collect()
}
