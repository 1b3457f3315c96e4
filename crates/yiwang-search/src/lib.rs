//! Full-text search over the published catalogue: tantivy with jieba segmentation
//! (tantivy-jieba). Queries are segmented by the same tokenizer, stop words dropped,
//! expanded with a synonym list (colloquial ↔ official terms) and built as boolean
//! queries over weighted fields — never QueryParser phrases, which miss unspaced Chinese.
//! Facets (department, region, audience, theme, star rating, 全程网办), highlights, and
//! publication dates: a document is found only while its version is in force.
//!
//! The index lives in `DATA_DIR/search` and follows the ledger through the outbox: its
//! cursor is the commit payload, so the index and its position always agree.

mod follow;
mod highlight;
mod hotline;
mod index;
mod pinyin_terms;
pub mod synonyms;
#[cfg(test)]
mod tests;

use serde::Serialize;
use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::{Count, MultiCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query as TQuery, RangeQuery, RegexQuery, TermQuery};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};
use yiwang_core::catalog::{Audience, CatalogPolicy, Elements};
use yiwang_store::catalog::Service;

pub use follow::*;
pub use highlight::*;
pub use hotline::*;
pub use synonyms::Synonyms;

/// Bumped when the schema changes: an index of another version is rebuilt.
const SCHEMA_VERSION: u32 = 5;
/// tantivy's smallest indexing budget for one thread (its `MEMORY_BUDGET_NUM_BYTES_MIN`, 15 MB).
const WRITER_BUDGET: usize = 15_000_000;
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
    /// The English name, with tantivy's English stemming tokenizer.
    name_en: Field,
    aliases: Field,
    department: Field,
    materials: Field,
    body: Field,
    /// The name and aliases in pinyin, whole and as initials (`shipinjingyingxuke`,
    /// `spjyxk`): one untokenized term each, found by prefix.
    pinyin: Field,
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
        name_en: b.add_text_field(
            "name_en",
            TextOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer("en_stem")
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                )
                .set_stored(),
        ),
        aliases: b.add_text_field("aliases", text(true)),
        department: b.add_text_field("department", text(true)),
        materials: b.add_text_field("materials", text(true)),
        body: b.add_text_field("body", text(true)),
        pinyin: b.add_text_field("pinyin", STRING),
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
    /// The English name, where the catalogue gives one.
    pub name_en: Option<String>,
    pub department: String,
    pub region_code: String,
    pub stars: u8,
    pub score: f32,
    /// The name with query terms in `<b>`.
    pub name_html: String,
    /// A fragment of the conditions, FAQ or materials with query terms in `<b>`.
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
