//! The 12345 knowledge base's search: the published articles in an index of their own, in
//! memory (built from the store when first used, then kept by the `kb.` events), searched
//! with the catalogue's own query terms — the same jieba segmentation, stop words and
//! synonyms ([`SearchIndex::terms`]) — so the agent's words find an article as they find a
//! service. The service guides are searched beside it by the catalogue's index.

use super::*;
use chrono::NaiveDate;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use yiwang_store::hotline::ArticleVersion;

#[derive(Clone, Copy)]
struct KbFields {
    article_id: Field,
    version: Field,
    title: Field,
    body: Field,
    keywords: Field,
    department_id: Field,
    region_code: Field,
    valid_from: Field,
    valid_until: Field,
}

/// An article found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KbHit {
    pub article_id: String,
    pub version: i64,
    pub title: String,
    pub department_id: String,
    pub region_code: String,
    pub score: f32,
    /// The title with the query's words in `<b>`.
    pub title_html: String,
    /// A fragment of the answer with the query's words in `<b>`.
    pub snippet_html: String,
    /// The whole answer (what the agent reads out or cites).
    pub body: String,
}

/// The knowledge base's index.
pub struct KnowledgeIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: KbFields,
    /// Built from the store once.
    built: AtomicBool,
    /// The ledger position the index reflects (its follower's cursor).
    cursor: AtomicI64,
    /// Serialises the first build.
    building: tokio::sync::Mutex<()>,
}

impl KnowledgeIndex {
    pub fn in_ram() -> Result<KnowledgeIndex> {
        let mut b = Schema::builder();
        let text = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
            .set_stored();
        let f = KbFields {
            article_id: b.add_text_field("article_id", STRING | STORED),
            version: b.add_i64_field("version", STORED),
            title: b.add_text_field("title", text.clone()),
            body: b.add_text_field("body", text.clone()),
            keywords: b.add_text_field("keywords", text),
            department_id: b.add_text_field("department_id", STRING | STORED),
            region_code: b.add_text_field("region_code", STRING | STORED),
            valid_from: b.add_text_field("valid_from", STORED),
            valid_until: b.add_text_field("valid_until", STORED),
        };
        let index = Index::create_in_ram(b.build());
        register(&index);
        let writer = index.writer_with_num_threads::<TantivyDocument>(1, WRITER_BUDGET)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(KnowledgeIndex {
            reader,
            writer: Mutex::new(writer),
            f,
            built: AtomicBool::new(false),
            cursor: AtomicI64::new(0),
            building: tokio::sync::Mutex::new(()),
        })
    }

    pub fn cursor(&self) -> i64 {
        self.cursor.load(Ordering::Acquire)
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Replaces an article's document by its published version (none: removes it).
    pub fn put(&self, article_id: &str, v: Option<&ArticleVersion>) -> Result<()> {
        let f = &self.f;
        let w = self.writer.lock().expect("kb writer");
        w.delete_term(Term::from_field_text(f.article_id, article_id));
        if let Some(v) = v {
            w.add_document(doc!(
                f.article_id => v.article_id.clone(),
                f.version => v.version,
                f.title => v.title.clone(),
                f.body => v.body.clone(),
                f.keywords => v.keywords.join("，"),
                f.department_id => v.department_id.clone(),
                f.region_code => v.region_code.clone(),
                f.valid_from => v.valid_from.map(|d| d.to_string()).unwrap_or_default(),
                f.valid_until => v.valid_until.map(|d| d.to_string()).unwrap_or_default(),
            ))?;
        }
        Ok(())
    }

    /// Commits what was put and makes it searchable.
    pub fn commit(&self, cursor: i64) -> Result<()> {
        self.writer.lock().expect("kb writer").commit()?;
        self.reader.reload()?;
        self.cursor.fetch_max(cursor, Ordering::AcqRel);
        Ok(())
    }

    /// Builds the index from the store's published articles, once.
    pub async fn ensure_built(&self, store: &yiwang_store::Store) -> Result<()> {
        if self.built.load(Ordering::Acquire) {
            return Ok(());
        }
        let _g = self.building.lock().await;
        if self.built.load(Ordering::Acquire) {
            return Ok(());
        }
        let head = store.head().await?;
        for v in yiwang_store::hotline::published_articles(store).await? {
            self.put(&v.article_id, Some(&v))?;
        }
        self.commit(head)?;
        self.built.store(true, Ordering::Release);
        Ok(())
    }

    /// Re-reads an article's published version after a change this process made (the
    /// follower does the same for every process).
    pub async fn refresh(&self, store: &yiwang_store::Store, article_id: &str) -> Result<()> {
        if !self.built.load(Ordering::Acquire) {
            return self.ensure_built(store).await;
        }
        let v = yiwang_store::hotline::published_article(store, article_id).await?;
        self.put(article_id, v.as_ref())?;
        self.commit(0)
    }

    /// The articles in force on `day` for a matter in `region` (an article holds in its
    /// region and below), best first, for the query's weighted terms.
    pub fn search(
        &self,
        terms: &[(String, f32)],
        region: Option<&str>,
        day: NaiveDate,
        limit: usize,
    ) -> Result<Vec<KbHit>> {
        if terms.is_empty() {
            return Ok(vec![]);
        }
        let f = &self.f;
        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = vec![];
        for (t, w) in terms {
            for (field, boost) in [(f.title, 4.0), (f.keywords, 3.0), (f.body, 1.0)] {
                let q = TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqsAndPositions,
                );
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost * w))));
            }
        }
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit * 4 + 20).order_by_score(),
        )?;
        let words: Vec<&str> = terms.iter().map(|(t, _)| t.as_str()).collect();
        let mut out = vec![];
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            let text = |field: Field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let date = |field: Field| NaiveDate::parse_from_str(&text(field), "%Y-%m-%d").ok();
            let region_code = text(f.region_code);
            if region.is_some_and(|r| !yiwang_core::access::region_within(&region_code, r))
                || !yiwang_core::hotline::in_force(date(f.valid_from), date(f.valid_until), day)
            {
                continue;
            }
            let title = text(f.title);
            let body = text(f.body);
            out.push(KbHit {
                article_id: text(f.article_id),
                version: d.get_first(f.version).and_then(|v| v.as_i64()).unwrap_or(0),
                title_html: highlight(&title, &words, 100).unwrap_or_else(|| crate::highlight::html_escape(&title)),
                snippet_html: highlight(&body, &words, 120)
                    .unwrap_or_else(|| crate::highlight::html_escape(&body.chars().take(120).collect::<String>())),
                title,
                body,
                department_id: text(f.department_id),
                region_code,
                score,
            });
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }
}

/// Keeps the knowledge index in step with every process's reviews: an outbox subscriber of
/// `kb.` events whose cursor is the index's own (in memory: the index is rebuilt at start).
pub struct KnowledgeFollower {
    pub index: Arc<KnowledgeIndex>,
    pub store: Arc<yiwang_store::Store>,
}

impl yiwang_store::outbox::Subscriber for KnowledgeFollower {
    fn name(&self) -> &str {
        "knowledge"
    }
    fn local_cursor(&self) -> Option<i64> {
        Some(self.index.cursor())
    }
    fn kinds(&self) -> Option<&[&str]> {
        Some(&["kb."])
    }
    async fn handle(&self, events: &[yiwang_store::outbox::StoredEvent], upto: i64) -> std::result::Result<(), String> {
        let err = |e: SearchError| e.to_string();
        if !self.index.built.load(Ordering::Acquire) {
            return self.index.ensure_built(&self.store).await.map_err(err);
        }
        let ids: HashSet<&str> = events.iter().filter_map(|e| e.stream_id.strip_prefix("kb:")).collect();
        for id in ids {
            let v = yiwang_store::hotline::published_article(&self.store, id)
                .await
                .map_err(|e| e.to_string())?;
            self.index.put(id, v.as_ref()).map_err(err)?;
        }
        self.index.commit(upto).map_err(err)
    }
}
