//! No field key, internal code or parser text reaches a person: every problem the
//! pre-check (智能预审) can raise on every item of the demo catalogue — empty applications,
//! wrong values in every field, every way of providing every material — is checked for
//! the codes of form fields, materials and questions, snake_case words and serde's words,
//! in both languages. (API bodies: `serde_problem` in `yiwang_core::error` has its own test;
//! `tests/api.rs` posts malformed bodies.)

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use yiwang_core::FieldError;
use yiwang_core::cases::{Application, Provision, ProvisionKind, precheck};
use yiwang_core::catalog::{CatalogDoc, DataElement, Elements, default_dictionary, overlay};

fn demo_items() -> Vec<Elements> {
    let doc: CatalogDoc = serde_json::from_str(include_str!("../demo/catalog.json")).unwrap();
    let basics: HashMap<&str, &Elements> = doc.basic.iter().map(|b| (b.basic_code.as_str(), &b.elements)).collect();
    doc.items
        .iter()
        .map(|it| overlay(basics[it.basic_code.as_str()], &it.elements, "x").unwrap())
        .collect()
}

/// Words a reader must never see: the item's codes in a Chinese sentence (in English a
/// code may be an ordinary word), snake_case identifiers and serde's words in either.
fn leaks(e: &FieldError, codes: &BTreeSet<String>) -> Vec<String> {
    let mut out = vec![];
    for text in [&e.zh, &e.en] {
        for c in codes.iter().filter(|_| text == &e.zh) {
            // A code is a whole word in the text (not a part of a longer word or number).
            let hit = text.match_indices(c.as_str()).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + c.len()..].chars().next();
                !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == '_')
                    && !after.is_some_and(|a| a.is_ascii_alphanumeric() || a == '_')
            });
            if hit {
                out.push(format!("code {c:?} in {text:?}"));
            }
        }
        for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if w.contains('_') && w.chars().any(|c| c.is_ascii_lowercase()) {
                out.push(format!("identifier {w:?} in {text:?}"));
            }
        }
        for w in ["expected", "invalid type", "`", "at line", "missing field"] {
            if text.contains(w) {
                out.push(format!("parser words {w:?} in {text:?}"));
            }
        }
    }
    out
}

#[test]
fn no_problem_names_a_field_by_its_code() {
    let dict: BTreeMap<String, DataElement> = default_dictionary().into_iter().map(|d| (d.code.clone(), d)).collect();
    let lookup = |c: &str| dict.get(c).cloned();
    let items = demo_items();
    assert!(items.len() >= 50, "{} items", items.len());
    let mut checked = 0;
    let mut found = vec![];
    for e in &items {
        // The item's own codes; words a reader would take as words (`name`) are not codes.
        let codes: BTreeSet<String> = e
            .form
            .iter()
            .map(|f| f.element.clone())
            .chain(e.materials.iter().map(|m| m.key.clone()))
            .chain(e.questions.iter().map(|q| q.key.clone()))
            .filter(|c| c.len() >= 2)
            .collect();
        let answers: BTreeMap<String, String> = e
            .questions
            .iter()
            .filter_map(|q| q.choices.first().map(|c| (q.key.clone(), c.key.clone())))
            .collect();
        let mut apps = vec![Application::default()];
        for bad in [json!("!"), json!(""), json!(12.5), json!(true), json!("x".repeat(3000))] {
            apps.push(Application {
                answers: answers.clone(),
                form: e
                    .form
                    .iter()
                    .map(|f| (f.element.clone(), bad.clone()))
                    .collect::<BTreeMap<String, Value>>(),
                ..Default::default()
            });
        }
        for kind in ProvisionKind::ALL {
            apps.push(Application {
                answers: answers.clone(),
                form: [("no_such_field".to_string(), json!("x"))].into(),
                materials: e
                    .materials
                    .iter()
                    .map(|m| {
                        let p = Provision {
                            kind: *kind,
                            files: vec![],
                            licence_id: None,
                            case_id: None,
                            originals_checked: None,
                        };
                        (m.key.clone(), p)
                    })
                    .collect(),
                commitment: true,
                handling: Some("99".into()),
            });
        }
        for app in &apps {
            for tolerance in [true, false] {
                if let Err(err) = precheck(e, &lookup, app, tolerance) {
                    for fe in &err.errors {
                        checked += 1;
                        found.extend(
                            leaks(fe, &codes)
                                .into_iter()
                                .map(|l| format!("{}: {} ({l})", e.name, fe.rule)),
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} problems raised");
    found.sort();
    found.dedup();
    let mut rules: Vec<&str> = found
        .iter()
        .map(|f| f.split(" (").next().unwrap().split(": ").nth(1).unwrap_or(""))
        .collect();
    rules.dedup();
    rules.sort();
    rules.dedup();
    assert!(
        found.is_empty(),
        "{} leaks in rules {rules:?}, e.g. {:#?}",
        found.len(),
        &found[..found.len().min(10)]
    );
}
