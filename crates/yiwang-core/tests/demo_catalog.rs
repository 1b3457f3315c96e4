//! The demo province's catalogue (`crates/yiwang/demo/catalog.json`) satisfies every rule
//! of the domain: codes, elements, locked elements, situations, form fields. All problems
//! are reported at once.

use std::collections::{BTreeSet, HashMap};
use yiwang_core::catalog::*;

#[test]
fn demo_catalogue_satisfies_every_rule() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../yiwang/demo/catalog.json");
    let text = std::fs::read_to_string(path).expect("read demo catalogue");
    let doc: CatalogDoc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!((doc.format.as_str(), doc.version), (DOC_FORMAT, DOC_VERSION));
    let policy = CatalogPolicy::default();
    let mut dict = default_dictionary();
    for d in &doc.data_elements {
        if let Err(e) = check_data_element(d) {
            panic!("data element {}: {e}", d.code);
        }
        dict.push(d.clone());
    }
    let known = |c: &str| dict.iter().any(|d| d.code == c);
    let mut problems: Vec<String> = vec![];
    let mut basics: HashMap<&str, &Elements> = HashMap::new();
    for (i, b) in doc.basic.iter().enumerate() {
        match check_basic_code("basic_code", &b.basic_code) {
            Ok(c) if c.item_type != b.elements.item_type => problems.push(format!(
                "basic[{i}] {}: code says type {:?}, elements say {:?}",
                b.basic_code, c.item_type, b.elements.item_type
            )),
            Ok(_) => {}
            Err(e) => problems.push(format!("basic[{i}] {}: {}", b.basic_code, e.en)),
        }
        if basics.insert(&b.basic_code, &b.elements).is_some() {
            problems.push(format!("basic[{i}] {}: duplicate code", b.basic_code));
        }
        for f in check_elements(&b.elements, &policy, &known).0 {
            problems.push(format!(
                "basic[{i}] {} {}: {} ({})",
                b.basic_code, f.field, f.en, f.rule
            ));
        }
    }
    let mut departments = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut items = vec![];
    for (i, it) in doc.items.iter().enumerate() {
        let Some(basic) = basics.get(it.basic_code.as_str()) else {
            problems.push(format!("items[{i}]: no basic entry {}", it.basic_code));
            continue;
        };
        let dept = it.department_name.clone().unwrap_or_default();
        if !seen.insert((it.basic_code.clone(), dept.clone())) {
            problems.push(format!("items[{i}]: {} twice for {dept}", it.basic_code));
        }
        departments.insert(dept);
        match overlay(basic, &it.elements, &format!("items[{i}].elements")) {
            Err(e) => problems.push(format!("items[{i}]: {e}")),
            Ok(e) => {
                if let Err(err) = check_locked(basic, &e, &policy) {
                    problems.push(format!("items[{i}] {}: {err}", e.name));
                }
                for f in check_elements(&e, &policy, &known).0 {
                    problems.push(format!("items[{i}] {} {}: {} ({})", e.name, f.field, f.en, f.rule));
                }
                items.push(e);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(items.len() >= 40, "{} items, want at least 40", items.len());
    assert!(
        departments.len() >= 10,
        "{} departments, want at least 10",
        departments.len()
    );
    assert!(items.iter().any(|e| e.tolerated()), "no item allows 容缺");
    assert!(items.iter().any(|e| e.commitment.is_some()), "no item allows 告知承诺");
    assert!(items.iter().any(|e| e.case_kind == CaseKind::Instant), "no 即办件");
    assert!(items.iter().any(|e| !e.questions.is_empty()), "no situation questions");
}
