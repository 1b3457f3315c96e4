//! Search relevance on the demo province's catalogue: realistic citizen queries, most of
//! them colloquial (`crates/yiwang/demo/search-queries.json`), each with graded relevant
//! basic entries (2 = what is sought, 1 = also relevant). Prints nDCG@5 per query and the
//! mean, and fails below the threshold.
//!
//! The index is built from the demo document with the same code the portal uses
//! (`SearchIndex::put`, `SearchIndex::search`); only the feeding skips the database.

use std::collections::{BTreeMap, HashMap};
use yiwang_core::catalog::{CatalogDoc, CatalogPolicy, overlay};
use yiwang_search::{SearchIndex, SearchQuery, Synonyms, service_doc};

/// Mean nDCG@5 below this fails the test. Measured 2026-11-25: 0.95 with the shipped
/// synonym list (0.92 without it, printed as the ablation: the aliases do most of the work);
/// 2026-12-05 with 结婚 and 健康证 added: 0.94 (健康证 scores 0: the demo has no health
/// certificate item, and the portal says "no service is called that"). The catalogue's aliases and
/// these queries come from the same author, so the absolute figure flatters; the
/// threshold guards the query builder against regressions, with room for corpus changes.
const THRESHOLD: f64 = 0.85;

#[derive(serde::Deserialize)]
struct Case {
    query: String,
    relevant: BTreeMap<String, u32>,
}

/// The region of a demo department, from its name (the demo's naming).
fn region_of(dept: &str) -> &'static str {
    if dept.starts_with("海南省") {
        "460000"
    } else if dept.starts_with("海口市龙华区") {
        "460106"
    } else if dept.starts_with("三亚市") {
        "460200"
    } else {
        "460100"
    }
}

pub fn demo_index(synonyms: Synonyms) -> (SearchIndex, Vec<(String, String)>) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../yiwang/demo");
    let doc: CatalogDoc =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/catalog.json")).unwrap()).unwrap();
    let ix = SearchIndex::in_ram(synonyms, CatalogPolicy::default()).unwrap();
    let basics: HashMap<&str, _> = doc.basic.iter().map(|b| (b.basic_code.as_str(), &b.elements)).collect();
    let mut docs = vec![];
    for (i, it) in doc.items.iter().enumerate() {
        let e = overlay(basics[it.basic_code.as_str()], &it.elements, "x").unwrap();
        let dept = it.department_name.clone().unwrap();
        let id = format!("e{i}");
        docs.push((id.clone(), it.basic_code.clone()));
        ix.put(
            &id,
            &[service_doc(
                &id,
                &format!("c{i}"),
                &it.basic_code,
                &dept,
                region_of(&dept),
                e,
            )],
        )
        .unwrap();
    }
    ix.commit(1).unwrap();
    (ix, docs)
}

fn dcg(grades: &[u32]) -> f64 {
    grades
        .iter()
        .enumerate()
        .map(|(i, g)| (2f64.powi(*g as i32) - 1.0) / ((i + 2) as f64).log2())
        .sum()
}

fn cases() -> Vec<Case> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../yiwang/demo");
    serde_json::from_str(&std::fs::read_to_string(format!("{root}/search-queries.json")).unwrap()).unwrap()
}

#[test]
fn ndcg_at_5_on_citizen_queries() {
    let cases = cases();
    assert!(cases.len() >= 30, "{} queries, want at least 30", cases.len());
    let (without, _) = mean_ndcg(&cases, Synonyms::default(), false);
    let (mean, worst) = mean_ndcg(&cases, Synonyms::builtin(), true);
    println!(
        "\nnDCG@5 mean over {} queries: {mean:.3} (threshold {THRESHOLD}); without synonyms: {without:.3}",
        cases.len()
    );
    println!("weakest: {:?}", &worst[..5.min(worst.len())]);
    assert!(mean >= THRESHOLD, "nDCG@5 {mean:.3} < {THRESHOLD}");
}

/// The mean nDCG@5 and the queries from worst to best.
fn mean_ndcg(cases: &[Case], synonyms: Synonyms, print: bool) -> (f64, Vec<(f64, String)>) {
    let (ix, docs) = demo_index(synonyms);
    let mut total = 0.0;
    let mut worst = vec![];
    for c in cases {
        let r = ix
            .search(&SearchQuery {
                text: c.query.clone(),
                limit: 5,
                at_ms: 1,
                ..Default::default()
            })
            .unwrap();
        let got: Vec<u32> = r
            .hits
            .iter()
            .map(|h| c.relevant.get(&h.basic_code).copied().unwrap_or(0))
            .collect();
        // The ideal: the five best documents of the whole index for this query.
        let mut ideal: Vec<u32> = docs
            .iter()
            .map(|(_, b)| c.relevant.get(b).copied().unwrap_or(0))
            .filter(|g| *g > 0)
            .collect();
        ideal.sort_by(|a, b| b.cmp(a));
        ideal.truncate(5);
        let n = if ideal.is_empty() { 0.0 } else { dcg(&got) / dcg(&ideal) };
        total += n;
        if print {
            let names: Vec<String> = r.hits.iter().map(|h| h.name.clone()).collect();
            println!("{n:.3}  {:<24} {names:?}", c.query);
        }
        worst.push((n, c.query.clone()));
    }
    worst.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    (total / cases.len() as f64, worst)
}

/// A synonym's common words (登记 in 结婚登记) weigh little, so they cannot carry an
/// unrelated item (不动产抵押权登记) to the top on their own.
#[test]
fn common_words_of_synonyms_only_tip_the_balance() {
    let (ix, _) = demo_index(Synonyms::builtin());
    let terms = ix.terms("结婚");
    println!("{terms:?}\n{:?}", ix.terms("健康证"));
    let weight = |t: &str| terms.iter().find(|(x, _)| x == t).map(|(_, w)| *w);
    assert_eq!(weight("结婚"), Some(1.0));
    assert!(weight("登记").is_some_and(|w| w <= 0.1), "{terms:?}");
}

/// Pinyin and initials find a service typed on a phone's Latin keyboard (in the first
/// five: matches by pinyin still rank among themselves by chance).
#[test]
fn pinyin_and_initials_find_services() {
    let (ix, _) = demo_index(Synonyms::builtin());
    for q in ["yyzz", "yingyezhizhao", "spjyxk", "Shi Pin Jing Ying Xu Ke"] {
        let r = ix
            .search(&SearchQuery {
                text: q.into(),
                limit: 5,
                at_ms: 1,
                ..Default::default()
            })
            .unwrap();
        let names: Vec<&str> = r.hits.iter().map(|h| h.name.as_str()).collect();
        assert!(!names.is_empty(), "{q}: nothing found");
        // 营业执照 is an alias of 企业设立登记.
        let want = if q.starts_with('y') {
            "企业设立登记"
        } else {
            "食品经营许可"
        };
        // Found among the first five; the order among pinyin matches is not yet tuned.
        assert!(names.contains(&want), "{q}: {names:?}");
    }
}
