//! The index itself: opening, building, putting and removing documents, and searching.

use super::*;

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
            // One indexing thread at tantivy's smallest budget: a catalogue changes a few
            // items at a time, and each thread's term table is allocated up front (a third
            // of its budget), resident for the life of the server.
            match index.writer_with_num_threads::<TantivyDocument>(1, WRITER_BUDGET) {
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
        for text in std::iter::once(&e.name).chain(aliases.iter()) {
            if let Some((whole, initials)) = crate::pinyin_terms::of(text) {
                d.add_text(f.pinyin, &whole);
                d.add_text(f.pinyin, &initials);
            }
        }
        if let Some(n) = &e.name_en {
            d.add_text(f.name_en, n);
        }
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
        // A synonym brings its words, but a word that a tenth of the catalogue's names share
        // (登记, 证明 in some catalogues, 许可) says little about what was meant: it may
        // only tip the balance.
        let searcher = self.reader.searcher();
        let docs = searcher.num_docs().max(1) as f32;
        let common = |t: &str| {
            let df = searcher.doc_freq(&Term::from_field_text(self.f.name, t)).unwrap_or(0) as f32;
            df / docs > 0.1
        };
        for syn in self.synonyms.expand(text) {
            for t in self.tokens(&syn) {
                let w = match (t.chars().count(), common(&t)) {
                    (1, _) => 0.2,
                    (_, true) => 0.1,
                    _ => 0.7,
                };
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
        let mut text_query: Option<Box<dyn TQuery>> = if terms.is_empty() {
            None
        } else {
            Some(self.text_query(&terms))
        };
        // Latin letters may be pinyin or initials: a name whose pinyin starts with them.
        // A name or alias spelled out whole ranks above one it only begins (a prefix query
        // scores every match alike).
        if let Some(py) = crate::pinyin_terms::query(&q.text) {
            let exact: Box<dyn TQuery> = Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(f.pinyin, &py),
                    IndexRecordOption::Basic,
                )),
                8.0,
            ));
            let starts: Box<dyn TQuery> = Box::new(BoostQuery::new(
                Box::new(RegexQuery::from_pattern(&format!("{py}.*"), f.pinyin)?),
                3.0,
            ));
            let prefix: Box<dyn TQuery> =
                Box::new(BooleanQuery::new(vec![(Occur::Should, exact), (Occur::Should, starts)]));
            text_query = Some(match text_query {
                Some(t) => Box::new(BooleanQuery::new(vec![(Occur::Should, t), (Occur::Should, prefix)])),
                None => prefix,
            });
        }
        // English words: the English names, stemmed ("licences" finds "Licence").
        if q.text.chars().any(|c| c.is_ascii_alphabetic()) {
            let mut analyzer = self.index.tokenizer_for_field(f.name_en)?;
            let mut stream = analyzer.token_stream(&q.text);
            let mut words: Vec<(Occur, Box<dyn TQuery>)> = vec![];
            while stream.advance() {
                let term = Term::from_field_text(f.name_en, &stream.token().text);
                let q = TermQuery::new(term, IndexRecordOption::WithFreqsAndPositions);
                words.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), 5.0))));
            }
            if !words.is_empty() {
                let english: Box<dyn TQuery> = Box::new(BooleanQuery::new(words));
                text_query = Some(match text_query {
                    Some(t) => Box::new(BooleanQuery::new(vec![(Occur::Should, t), (Occur::Should, english)])),
                    None => english,
                });
            }
        }
        if !q.text.trim().is_empty() && text_query.is_none() {
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
            // A readable sentence or material, not the keyword list the aliases are.
            let snippet_html = [f.body, f.materials]
                .into_iter()
                .find_map(|field| highlight(&text(field), &highlight_terms, 60))
                .unwrap_or_default();
            hits.push(Hit {
                entry_id: text(f.entry_id),
                code: text(f.code),
                basic_code: text(f.basic_code),
                name,
                name_en: Some(text(f.name_en)).filter(|n| !n.is_empty()),
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
pub(crate) fn facet_aggregations() -> Aggregations {
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

pub(crate) fn read_payload(index: &Index) -> Option<Payload> {
    index
        .load_metas()
        .ok()?
        .payload
        .and_then(|p| serde_json::from_str(&p).ok())
}

/// `/region/46/4601/460106`: a region and its ancestors (GB/T 2260 code structure), so a
/// filter on a city finds its counties' items too.
pub(crate) fn region_facet(code: &str) -> Facet {
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
