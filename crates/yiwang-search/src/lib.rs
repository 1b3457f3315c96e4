//! Full-text search over the published catalogue: tantivy with jieba segmentation
//! (tantivy-jieba). Queries are segmented by the same tokenizer, stop words dropped,
//! expanded with a synonym list (colloquial ↔ official terms) and built as boolean
//! queries over weighted fields — never QueryParser phrases, which miss unspaced Chinese.
//! Facets (department, region, audience, theme, star rating, 全程网办), highlights, and
//! publication dates: a document is found only while its version is in force.
//!
//! The index lives in `DATA_DIR/search` and follows the ledger through the outbox: its
//! cursor is the commit payload, so the index and its position always agree.

pub mod synonyms;

use serde::Serialize;
use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::{Count, MultiCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query as TQuery, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};
use yiwang_core::catalog::{Audience, CatalogPolicy, Elements};
use yiwang_store::catalog::Service;

pub use synonyms::Synonyms;

/// Bumped when the schema changes: an index of another version is rebuilt.
const SCHEMA_VERSION: u32 = 3;
const TOKENIZER: &str = "jieba";

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index: {0}")]
    Open(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index: {0}")]
    Io(#[from] std::io::Error),
    #[error("store: {0}")]
    Store(#[from] yiwang_store::StoreError),
    #[error("the search index is open read-only (another process holds it)")]
    ReadOnly,
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

#[derive(Clone, Copy)]
struct Fields {
    entry_id: Field,
    code: Field,
    basic_code: Field,
    version: Field,
    name: Field,
    aliases: Field,
    department: Field,
    materials: Field,
    body: Field,
    /// Facet dimensions as untokenized string fast fields, filtered by term and counted
    /// by terms aggregations (which turn only the top buckets back into text; tantivy's
    /// facet collector turns every counted value back, which costs tens of milliseconds
    /// a query once a country's departments are in the index).
    department_s: Field,
    city_s: Field,
    audience_s: Field,
    theme_s: Field,
    online_s: Field,
    /// Hierarchical region (province / city / county), for filtering only.
    region_f: Field,
    region_code: Field,
    stars: Field,
    effective_from: Field,
    until: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { o.set_stored() } else { o }
    };
    let f = Fields {
        entry_id: b.add_text_field("entry_id", STRING | STORED),
        code: b.add_text_field("code", STRING | STORED),
        basic_code: b.add_text_field("basic_code", STRING | STORED),
        version: b.add_i64_field("version", STORED),
        name: b.add_text_field("name", text(true)),
        aliases: b.add_text_field("aliases", text(true)),
        department: b.add_text_field("department", text(true)),
        materials: b.add_text_field("materials", text(true)),
        body: b.add_text_field("body", text(true)),
        department_s: b.add_text_field("department_s", STRING | FAST),
        city_s: b.add_text_field("city_s", STRING | FAST),
        audience_s: b.add_text_field("audience_s", STRING | FAST),
        theme_s: b.add_text_field("theme_s", STRING | FAST),
        online_s: b.add_text_field("online_s", STRING | FAST),
        region_f: b.add_facet_field("region_f", FacetOptions::default()),
        region_code: b.add_text_field("region_code", STRING | STORED),
        stars: b.add_u64_field("stars", STORED | INDEXED | FAST),
        effective_from: b.add_i64_field("effective_from", INDEXED | FAST),
        until: b.add_i64_field("until", INDEXED | FAST),
    };
    (b.build(), f)
}

/// The words of a query that carry no meaning for finding a service.
const STOP_WORDS: &[&str] = &[
    "要",
    "办",
    "什么",
    "怎么",
    "怎样",
    "如何",
    "哪些",
    "哪里",
    "需要",
    "的",
    "了",
    "吗",
    "呢",
    "我",
    "想",
    "去",
    "在",
    "有",
    "和",
    "与",
    "及",
    "或",
    "是",
    "啊",
    "吧",
    "一下",
    "可以",
    "能",
    "能不能",
    "咋",
    "咋办",
    "手续",
    "流程",
    "材料",
    "哪个",
    "部门",
    "多久",
    "多少",
    "时间",
    "怎么办",
    "办理",
    "应该",
    "请问",
    "你好",
    "我们",
    "我家",
    "给",
    "把",
    "被",
    "让",
    "就",
    "都",
    "也",
    "还",
    "再",
    "又",
    "个",
    "些",
    "这",
    "那",
    "么",
    "里",
    "上",
    "下",
    "后",
    "前",
    "时候",
    "准备",
    "带",
    "交",
    "拿",
];

/// A search over the catalogue.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub department: Option<String>,
    /// Items of this region and below (GB/T 2260 code).
    pub region: Option<String>,
    pub audience: Option<Audience>,
    pub theme: Option<String>,
    /// At least this many stars of online depth.
    pub min_stars: Option<u8>,
    pub full_online: bool,
    pub limit: usize,
    pub offset: usize,
    /// Versions in force at this instant (epoch ms).
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub entry_id: String,
    /// 实施编码.
    pub code: String,
    pub basic_code: String,
    pub name: String,
    pub department: String,
    pub region_code: String,
    pub stars: u8,
    pub score: f32,
    /// The name with query terms in `<b>`.
    pub name_html: String,
    /// A fragment of aliases, materials or FAQ with query terms in `<b>`.
    pub snippet_html: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FacetCounts {
    pub department: Vec<(String, u64)>,
    /// Per city: the first 4 digits of the region code (`4690` for the counties under
    /// the province directly).
    pub region: Vec<(String, u64)>,
    pub audience: Vec<(String, u64)>,
    pub theme: Vec<(String, u64)>,
    pub stars: Vec<(String, u64)>,
    pub full_online: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Results {
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: FacetCounts,
    /// The terms searched for (after segmentation, stop words and synonyms).
    pub terms: Vec<String>,
}

/// The index, its reader and (unless another process holds it) its writer.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    f: Fields,
    synonyms: Synonyms,
    analyzer: Mutex<TextAnalyzer>,
    policy: CatalogPolicy,
}

/// What the index's commit payload records.
#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    schema: u32,
    cursor: i64,
}

fn register(index: &Index) {
    index
        .tokenizers()
        .register(TOKENIZER, tantivy_jieba::JiebaTokenizer::new());
}

impl SearchIndex {
    /// Opens (or creates) the index in `dir`. An index of another schema version is
    /// recreated empty (its cursor is 0: reindex). When another process holds the
    /// writer lock, the index opens read-only.
    pub fn open(dir: &Path, synonyms: Synonyms, policy: CatalogPolicy) -> Result<SearchIndex> {
        std::fs::create_dir_all(dir)?;
        let (schema, f) = schema();
        let index = if dir.join("meta.json").exists() {
            let index = Index::open_in_dir(dir)?;
            let ok = index.schema() == schema && read_payload(&index).is_some_and(|p| p.schema == SCHEMA_VERSION);
            if ok {
                index
            } else {
                tracing::warn!(dir = %dir.display(), "search index of another schema: rebuilding");
                for e in std::fs::read_dir(dir)? {
                    let p = e?.path();
                    if p.is_file() {
                        std::fs::remove_file(p)?;
                    }
                }
                Index::create_in_dir(dir, schema)?
            }
        } else {
            Index::create_in_dir(dir, schema)?
        };
        Self::finish(index, f, synonyms, policy, true)
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_ram(synonyms: Synonyms, policy: CatalogPolicy) -> Result<SearchIndex> {
        let (schema, f) = schema();
        Self::finish(Index::create_in_ram(schema), f, synonyms, policy, true)
    }

    fn finish(index: Index, f: Fields, synonyms: Synonyms, policy: CatalogPolicy, write: bool) -> Result<SearchIndex> {
        register(&index);
        let writer = if write {
            match index.writer::<TantivyDocument>(50_000_000) {
                Ok(w) => Some(w),
                Err(tantivy::TantivyError::LockFailure(..)) => None,
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        let analyzer = index.tokenizer_for_field(f.name)?;
        let me = SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            f,
            synonyms,
            analyzer: Mutex::new(analyzer),
            policy,
        };
        if me.is_writable() && read_payload(&me.index).is_none() {
            me.commit(0)?;
        }
        Ok(me)
    }

    pub fn is_writable(&self) -> bool {
        self.writer.lock().expect("writer lock").is_some()
    }

    /// The last ledger sequence number the index reflects.
    pub fn cursor(&self) -> i64 {
        read_payload(&self.index).map(|p| p.cursor).unwrap_or(0)
    }

    /// How many segments the index has now (for operators: many small segments slow
    /// every search down until they are merged).
    pub fn num_segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// How many documents the index holds (all versions, in force or not).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn doc_of(&self, s: &Service) -> TantivyDocument {
        let f = &self.f;
        let e = &s.elements;
        let stars = self.policy.stars(e);
        let mut aliases = e.aliases.clone();
        aliases.extend(e.keywords.iter().cloned());
        let materials: Vec<&str> = e.materials.iter().map(|m| m.name.as_str()).collect();
        let mut body = vec![e.conditions.clone()];
        body.extend(e.themes.iter().cloned());
        body.extend(e.faq.iter().flat_map(|q| [q.q.clone(), q.a.clone()]));
        body.extend(e.handling_items.iter().map(|h| h.name.clone()));
        if let Some(r) = &e.result {
            body.push(r.name.clone());
        }
        let mut d = doc!(
            f.entry_id => s.entry_id.clone(),
            f.code => s.code.clone(),
            f.basic_code => s.basic_code.clone(),
            f.version => s.version,
            f.name => e.name.clone(),
            f.aliases => aliases.join("，"),
            f.department => s.department_name.clone(),
            f.materials => materials.join("，"),
            f.body => body.join("。"),
            f.region_code => s.region_code.clone(),
            f.stars => stars as u64,
            f.effective_from => s.effective_from,
            f.until => s.until_ms.unwrap_or(i64::MAX),
        );
        d.add_text(f.department_s, &s.department_name);
        d.add_facet(f.region_f, region_facet(&s.region_code));
        if let Some(city) = s.region_code.get(..4) {
            d.add_text(f.city_s, city);
        }
        for a in e.audiences() {
            d.add_text(f.audience_s, a.as_str());
        }
        for t in &e.themes {
            d.add_text(f.theme_s, t);
        }
        if e.full_online() {
            d.add_text(f.online_s, "full");
        }
        d
    }

    fn with_writer<T>(&self, f: impl FnOnce(&mut IndexWriter) -> Result<T>) -> Result<T> {
        let mut g = self.writer.lock().expect("writer lock");
        let w = g.as_mut().ok_or(SearchError::ReadOnly)?;
        f(w)
    }

    /// Replaces an entry's documents by these published versions (none: removes it).
    pub fn put(&self, entry_id: &str, versions: &[Service]) -> Result<()> {
        let docs: Vec<TantivyDocument> = versions.iter().map(|s| self.doc_of(s)).collect();
        self.with_writer(|w| {
            w.delete_term(Term::from_field_text(self.f.entry_id, entry_id));
            for d in docs {
                w.add_document(d)?;
            }
            Ok(())
        })
    }

    /// Removes every document (before a full reindex).
    pub fn clear(&self) -> Result<()> {
        self.with_writer(|w| {
            w.delete_all_documents()?;
            Ok(())
        })
    }

    /// Commits what was put, recording the ledger position it reflects.
    pub fn commit(&self, cursor: i64) -> Result<()> {
        self.with_writer(|w| {
            let mut p = w.prepare_commit()?;
            p.set_payload(
                &serde_json::to_string(&Payload {
                    schema: SCHEMA_VERSION,
                    cursor,
                })
                .expect("payload"),
            );
            p.commit()?;
            Ok(())
        })?;
        self.reader.reload()?;
        Ok(())
    }

    /// Segments text as the index does.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let mut a = self.analyzer.lock().expect("analyzer");
        let mut ts = a.token_stream(text);
        let mut out = vec![];
        while ts.advance() {
            let t = ts.token().text.trim().to_lowercase();
            if !t.is_empty()
                && !t
                    .chars()
                    .all(|c| c.is_ascii_punctuation() || "，。、？！：；（）《》".contains(c))
            {
                out.push(t);
            }
        }
        out
    }

    /// The weighted terms of a query: its own tokens, then synonyms' tokens (what the
    /// search looks for; benchmarks give the same terms to other engines).
    pub fn terms(&self, text: &str) -> Vec<(String, f32)> {
        let mut seen = HashSet::new();
        let mut out = vec![];
        let mut add = |t: String, w: f32, out: &mut Vec<(String, f32)>| {
            if !STOP_WORDS.contains(&t.as_str()) && seen.insert(t.clone()) {
                out.push((t, w));
            }
        };
        for t in self.tokens(text) {
            // A single character says little on its own (证, 卡, 房).
            let w = if t.chars().count() == 1 { 0.4 } else { 1.0 };
            add(t, w, &mut out);
        }
        for syn in self.synonyms.expand(text) {
            for t in self.tokens(&syn) {
                let w = if t.chars().count() == 1 { 0.2 } else { 0.7 };
                add(t, w, &mut out);
            }
        }
        out
    }

    fn text_query(&self, terms: &[(String, f32)]) -> Box<dyn TQuery> {
        let f = &self.f;
        let fields = [
            (f.name, 5.0),
            (f.aliases, 4.0),
            (f.department, 1.2),
            (f.materials, 1.0),
            (f.body, 0.6),
        ];
        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = vec![];
        for (t, w) in terms {
            for (field, boost) in fields {
                let q = TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqsAndPositions,
                );
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost * w))));
            }
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Searches the items in force at `q.at_ms`.
    pub fn search(&self, q: &SearchQuery) -> Result<Results> {
        let f = &self.f;
        let terms = self.terms(&q.text);
        let mut must: Vec<(Occur, Box<dyn TQuery>)> = vec![
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Included(Term::from_field_i64(f.effective_from, q.at_ms)),
                )),
            ),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Excluded(Term::from_field_i64(f.until, q.at_ms)),
                    Bound::Unbounded,
                )),
            ),
        ];
        let text_query: Option<Box<dyn TQuery>> = if terms.is_empty() {
            None
        } else {
            Some(self.text_query(&terms))
        };
        if !q.text.trim().is_empty() && terms.is_empty() {
            // Only stop words: nothing meaningful to find.
            return Ok(Results::default());
        }
        must.push((
            Occur::Must,
            match &text_query {
                Some(t) => t.box_clone(),
                None => Box::new(AllQuery),
            },
        ));
        let is = |term: Term| -> (Occur, Box<dyn TQuery>) {
            (Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::Basic)))
        };
        if let Some(d) = &q.department {
            must.push(is(Term::from_field_text(f.department_s, d)));
        }
        if let Some(r) = &q.region {
            must.push(is(Term::from_facet(f.region_f, &region_facet(r))));
        }
        if let Some(a) = q.audience {
            must.push(is(Term::from_field_text(f.audience_s, a.as_str())));
        }
        if let Some(t) = &q.theme {
            must.push(is(Term::from_field_text(f.theme_s, t)));
        }
        if q.full_online {
            must.push(is(Term::from_field_text(f.online_s, "full")));
        }
        if let Some(min) = q.min_stars {
            must.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_u64(f.stars, min as u64)),
                    Bound::Unbounded,
                )),
            ));
        }
        let query = BooleanQuery::new(must);
        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, 200);
        let mut mc = MultiCollector::new();
        let top = mc.add_collector(TopDocs::with_limit(limit).and_offset(q.offset).order_by_score());
        let total = mc.add_collector(Count);
        let aggs = mc.add_collector(AggregationCollector::from_aggs(
            facet_aggregations(),
            AggContextParams::new(AggregationLimitsGuard::default(), self.index.tokenizers().clone()),
        ));
        let mut fruits = searcher.search(&query, &mc)?;
        let top = top.extract(&mut fruits);
        let total = total.extract(&mut fruits);
        let facets = serde_json::to_value(aggs.extract(&mut fruits)).unwrap_or_default();
        let highlight_terms: Vec<&str> = terms.iter().map(|(t, _)| t.as_str()).collect();
        let mut hits = vec![];
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            let text = |field: Field| d.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let name = text(f.name);
            let name_html = highlight(&name, &highlight_terms, 200).unwrap_or_else(|| html_escape(&name));
            let snippet_html = [f.aliases, f.materials, f.body]
                .into_iter()
                .find_map(|field| highlight(&text(field), &highlight_terms, 60))
                .unwrap_or_default();
            hits.push(Hit {
                entry_id: text(f.entry_id),
                code: text(f.code),
                basic_code: text(f.basic_code),
                name,
                department: text(f.department),
                region_code: text(f.region_code),
                stars: d.get_first(f.stars).and_then(|v| v.as_u64()).unwrap_or(0) as u8,
                score,
                name_html,
                snippet_html,
            });
        }
        let counts = |dim: &str| -> Vec<(String, u64)> {
            let mut v: Vec<(String, u64)> = facets[dim]["buckets"]
                .as_array()
                .map(|b| {
                    b.iter()
                        .map(|x| {
                            let key = match &x["key"] {
                                serde_json::Value::String(s) => s.clone(),
                                serde_json::Value::Number(n) => {
                                    n.as_f64().map(|f| (f as i64).to_string()).unwrap_or_default()
                                }
                                other => other.to_string(),
                            };
                            (key, x["doc_count"].as_u64().unwrap_or(0))
                        })
                        .collect()
                })
                .unwrap_or_default();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        };
        let mut region = counts("city");
        region.sort();
        Ok(Results {
            total,
            hits,
            facets: FacetCounts {
                department: counts("department"),
                region,
                audience: counts("audience"),
                theme: counts("theme"),
                stars: counts("stars"),
                full_online: counts("online").iter().map(|(_, n)| n).sum(),
            },
            terms: terms.into_iter().map(|(t, _)| t).collect(),
        })
    }
}

/// The facet counts a search returns: the biggest buckets of each dimension.
fn facet_aggregations() -> Aggregations {
    serde_json::from_value(serde_json::json!({
        "department": { "terms": { "field": "department_s", "size": 30 } },
        "city": { "terms": { "field": "city_s", "size": 100 } },
        "audience": { "terms": { "field": "audience_s", "size": 5 } },
        "theme": { "terms": { "field": "theme_s", "size": 30 } },
        "stars": { "terms": { "field": "stars", "size": 6 } },
        "online": { "terms": { "field": "online_s", "size": 2 } },
    }))
    .expect("a valid aggregation request")
}

fn read_payload(index: &Index) -> Option<Payload> {
    index
        .load_metas()
        .ok()?
        .payload
        .and_then(|p| serde_json::from_str(&p).ok())
}

/// `/region/46/4601/460106`: a region and its ancestors (GB/T 2260 code structure), so a
/// filter on a city finds its counties' items too.
fn region_facet(code: &str) -> Facet {
    let mut parts = vec![];
    if code.len() >= 2 {
        parts.push(&code[..2]);
    }
    if code.len() >= 6 && &code[2..4] != "00" {
        parts.push(&code[..4]);
    }
    if code.len() >= 6 && &code[4..6] != "00" {
        parts.push(&code[..6]);
    }
    if code.len() > 6 {
        parts.push(code);
    }
    let mut p = vec!["region"];
    p.extend(parts);
    Facet::from_path(p)
}

/// The text (cut to a window of `max_chars` around the first match) with every
/// occurrence of the terms in `<b>`, HTML-escaped; None when no term occurs. Terms of
/// two or more characters are preferred; single characters only when nothing longer
/// matches. (tantivy's snippet generator assumes tokens in offset order, which jieba's
/// search mode does not keep.)
pub fn highlight(text: &str, terms: &[&str], max_chars: usize) -> Option<String> {
    let find = |long: bool| -> Vec<(usize, usize)> {
        let mut r = vec![];
        for t in terms
            .iter()
            .filter(|t| (t.chars().count() > 1) == long && !t.is_empty())
        {
            let mut from = 0;
            while let Some(i) = text[from..].find(*t) {
                r.push((from + i, from + i + t.len()));
                from += i + t.len();
            }
        }
        r
    };
    let mut ranges = find(true);
    if ranges.is_empty() {
        ranges = find(false);
    }
    if ranges.is_empty() {
        return None;
    }
    ranges.sort();
    let mut merged: Vec<(usize, usize)> = vec![];
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    // A window of at most `max_chars` characters, starting a little before the first match.
    let first = merged[0].0;
    let lead = text[..first].chars().rev().take(10).map(char::len_utf8).sum::<usize>();
    let start = first - lead;
    let end = text[start..]
        .char_indices()
        .nth(max_chars)
        .map(|(i, _)| start + i)
        .unwrap_or(text.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut pos = start;
    for (a, b) in merged.into_iter().filter(|(a, _)| *a < end) {
        let b = b.min(end);
        out.push_str(&html_escape(&text[pos.max(start)..a.max(pos)]));
        if b > a.max(pos) {
            out.push_str("<b>");
            out.push_str(&html_escape(&text[a.max(pos)..b]));
            out.push_str("</b>");
        }
        pos = b.max(pos);
    }
    out.push_str(&html_escape(&text[pos..end]));
    if end < text.len() {
        out.push('…');
    }
    Some(out)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

// ---------------------------------------------------------------------------------------
// Following the ledger
// ---------------------------------------------------------------------------------------

/// Keeps the index in step with publications: an outbox subscriber whose cursor is the
/// index's own commit payload.
pub struct Follower {
    pub index: Arc<SearchIndex>,
    pub store: Arc<yiwang_store::Store>,
}

/// The catalogue entries (and departments) that changed in these events.
fn touched(events: &[yiwang_store::outbox::StoredEvent]) -> (HashSet<String>, HashSet<String>) {
    let mut entries = HashSet::new();
    let mut departments = HashSet::new();
    for e in events {
        if let Some(id) = e.stream_id.strip_prefix("catalog:") {
            entries.insert(id.to_string());
        } else if e.kind == "department.changed"
            && let Some(id) = e.stream_id.strip_prefix("department:")
        {
            departments.insert(id.to_string());
        }
    }
    (entries, departments)
}

/// Re-reads the given entries' published versions and puts them in the index.
pub async fn refresh(index: &Arc<SearchIndex>, store: &yiwang_store::Store, entries: &HashSet<String>) -> Result<()> {
    let now = yiwang_store::now_ms();
    for id in entries {
        let versions = yiwang_store::catalog::services_of_entry(store, id, now).await?;
        index.put(id, &versions)?;
    }
    Ok(())
}

impl yiwang_store::outbox::Subscriber for Follower {
    fn name(&self) -> &str {
        "search"
    }
    fn local_cursor(&self) -> Option<i64> {
        Some(self.index.cursor())
    }
    async fn handle(&self, events: &[yiwang_store::outbox::StoredEvent]) -> std::result::Result<(), String> {
        let (mut entries, departments) = touched(events);
        for d in departments {
            let f = yiwang_store::catalog::EntryFilter {
                department_id: Some(d),
                ..Default::default()
            };
            for e in yiwang_store::catalog::entries(&self.store, &f)
                .await
                .map_err(|e| e.to_string())?
            {
                entries.insert(e.id);
            }
        }
        let last = events.last().map(|e| e.seq).unwrap_or(0);
        refresh(&self.index, &self.store, &entries)
            .await
            .map_err(|e| e.to_string())?;
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || index.commit(last))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
}

/// Rebuilds the whole index from the store; `progress(done, total)`.
pub async fn reindex(
    index: &Arc<SearchIndex>,
    store: &yiwang_store::Store,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<usize> {
    let head = store.head().await?;
    let ids = yiwang_store::catalog::published_entry_ids(store).await?;
    index.clear()?;
    let total = ids.len();
    let now = yiwang_store::now_ms();
    for (i, id) in ids.iter().enumerate() {
        let versions = yiwang_store::catalog::services_of_entry(store, id, now).await?;
        index.put(id, &versions)?;
        progress(i + 1, total);
    }
    let ix = index.clone();
    tokio::task::spawn_blocking(move || ix.commit(head))
        .await
        .map_err(|e| SearchError::Io(std::io::Error::other(e.to_string())))??;
    Ok(total)
}

/// A published item ready to index, built from elements alone (relevance tests and
/// benchmarks build their corpus without a database).
pub fn service_doc(
    entry_id: &str,
    code: &str,
    basic_code: &str,
    department: &str,
    region_code: &str,
    elements: Elements,
) -> Service {
    Service {
        entry_id: entry_id.into(),
        code: code.into(),
        basic_code: basic_code.into(),
        version: 1,
        department_id: String::new(),
        department_name: department.into(),
        region_code: region_code.into(),
        level: yiwang_core::catalog::level_for_region(region_code),
        effective_from: 0,
        until_ms: None,
        elements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
