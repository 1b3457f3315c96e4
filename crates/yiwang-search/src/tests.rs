//! Tests of the search index: relevance, facets, publication dates, highlights.

use super::*;
use crate::index::region_facet;
use yiwang_core::catalog::ItemType;

fn item(id: &str, name: &str, aliases: &[&str], materials: &[&str], from: i64, until: Option<i64>) -> Service {
    let mut e = Elements::new(name, ItemType::Licensing);
    e.aliases = aliases.iter().map(|s| s.to_string()).collect();
    e.service_objects = vec![yiwang_core::catalog::ServiceObject::Enterprise];
    e.themes = vec!["开办企业".into()];
    e.materials = materials
        .iter()
        .enumerate()
        .map(|(i, m)| {
            serde_json::from_value(serde_json::json!({"key": format!("m{i}"), "name": m, "originals": 1})).unwrap()
        })
        .collect();
    let mut s = service_doc(
        id,
        &format!("code-{id}"),
        "460100001000",
        "海口市市场监督管理局",
        "460106",
        e,
    );
    s.effective_from = from;
    s.until_ms = until;
    s
}

#[test]
fn finds_by_segmented_terms_synonyms_facets_and_dates() {
    let syn = Synonyms::parse("饭店,餐饮店,餐馆,餐饮\n营业执照,企业设立登记\n");
    let ix = SearchIndex::in_ram(syn, CatalogPolicy::default()).unwrap();
    ix.put(
        "a",
        &[item(
            "a",
            "食品经营许可",
            &["餐饮服务许可"],
            &["食品经营许可申请书"],
            0,
            None,
        )],
    )
    .unwrap();
    ix.put("b", &[item("b", "企业设立登记", &["公司注册"], &["公司章程"], 0, None)])
        .unwrap();
    ix.put(
        "c",
        &[item("c", "公共场所卫生许可", &[], &["卫生管理制度"], 100, Some(200))],
    )
    .unwrap();
    ix.commit(7).unwrap();
    assert_eq!(ix.cursor(), 7);
    let q = |text: &str, at: i64| {
        ix.search(&SearchQuery {
            text: text.into(),
            limit: 5,
            at_ms: at,
            ..Default::default()
        })
        .unwrap()
    };
    let r = q("开饭店需要哪些证", 50);
    assert_eq!(r.hits[0].code, "code-a", "{:?}", r.terms);
    assert!(r.terms.contains(&"餐饮".to_string()), "{:?}", r.terms);
    let r = q("办营业执照", 50);
    assert_eq!(r.hits[0].code, "code-b");
    assert!(r.hits[0].name_html.contains("<b>"), "{}", r.hits[0].name_html);
    // The item of c is found only while in force.
    assert!(q("卫生许可", 50).hits.iter().all(|h| h.code != "code-c"));
    assert_eq!(q("卫生许可", 150).hits[0].code, "code-c");
    assert!(q("卫生许可", 200).hits.iter().all(|h| h.code != "code-c"));
    // Stop words only: nothing.
    assert_eq!(q("怎么办", 50).total, 0);
    // Browse with facets.
    let r = q("", 50);
    assert_eq!(r.total, 2);
    assert_eq!(r.facets.department, vec![("海口市市场监督管理局".to_string(), 2)]);
    assert_eq!(r.facets.region, vec![("4601".to_string(), 2)]);
    let r = ix
        .search(&SearchQuery {
            region: Some("460200".into()),
            limit: 5,
            at_ms: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.total, 0);
    let r = ix
        .search(&SearchQuery {
            region: Some("460100".into()),
            audience: Some(Audience::Legal),
            limit: 5,
            at_ms: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.total, 2);
    // Replacing an entry's documents.
    ix.put("a", &[]).unwrap();
    ix.commit(8).unwrap();
    assert!(q("食品经营", 50).hits.iter().all(|h| h.code != "code-a"));
}

#[test]
fn highlights_terms_in_a_window() {
    assert_eq!(
        highlight("食品经营许可申请书", &["经营", "许可", "证"], 50).unwrap(),
        "食品<b>经营许可</b>申请书"
    );
    assert_eq!(
        highlight("营业执照<副本>", &["执照"], 50).unwrap(),
        "营业<b>执照</b>&lt;副本&gt;"
    );
    assert_eq!(highlight("身份证", &["证", "户口"], 50).unwrap(), "身份<b>证</b>");
    assert!(highlight("身份证", &["户口"], 50).is_none());
    let long = format!("{}出生医学证明{}", "甲".repeat(30), "乙".repeat(30));
    let h = highlight(&long, &["出生"], 20).unwrap();
    assert!(
        h.starts_with('…') && h.ends_with('…') && h.contains("<b>出生</b>"),
        "{h}"
    );
}

#[test]
fn region_facets_follow_code_structure() {
    assert_eq!(region_facet("460000").to_string(), "/region/46");
    assert_eq!(region_facet("460100").to_string(), "/region/46/4601");
    assert_eq!(region_facet("460106").to_string(), "/region/46/4601/460106");
    assert_eq!(region_facet("469001").to_string(), "/region/46/4690/469001");
    assert_eq!(
        region_facet("460106001").to_string(),
        "/region/46/4601/460106/460106001"
    );
}

/// An English name is found by English words, stemmed ("licences", "Licensing" find
/// "Licence"), and comes back with the hit; a name without one is not found in English.
#[test]
fn english_names_are_found_by_english_words() {
    let ix = SearchIndex::in_ram(Synonyms::default(), CatalogPolicy::default()).unwrap();
    let mut food = item("a", "食品经营许可", &[], &[], 0, None);
    food.elements.name_en = Some("Food business licence".into());
    ix.put("a", &[food]).unwrap();
    ix.put("b", &[item("b", "企业设立登记", &[], &[], 0, None)]).unwrap();
    ix.commit(1).unwrap();
    let q = |text: &str| {
        ix.search(&SearchQuery {
            text: text.into(),
            limit: 5,
            at_ms: 10,
            ..Default::default()
        })
        .unwrap()
    };
    for text in ["food business licences", "Food", "BUSINESS licence"] {
        let r = q(text);
        assert_eq!(r.hits.len(), 1, "{text}");
        assert_eq!(r.hits[0].name, "食品经营许可");
        assert_eq!(r.hits[0].name_en.as_deref(), Some("Food business licence"));
    }
    assert!(q("company registration").hits.is_empty());
    assert_eq!(q("企业设立登记").hits[0].name_en, None);
}
