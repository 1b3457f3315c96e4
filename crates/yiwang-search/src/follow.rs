//! Following the ledger: the outbox subscriber, refresh and reindex, and the document of a
//! published service.

use super::*;

/// Keeps the index in step with publications: an outbox subscriber whose cursor is the
/// index's own commit payload.
pub struct Follower {
    pub index: Arc<SearchIndex>,
    pub store: Arc<yiwang_store::Store>,
}

/// The catalogue entries (and departments) that changed in these events.
pub(crate) fn touched(events: &[yiwang_store::outbox::StoredEvent]) -> (HashSet<String>, HashSet<String>) {
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
    /// Publications and departments' changes; the cases' events are passed over unread.
    fn kinds(&self) -> Option<&[&str]> {
        Some(&["catalog.", "department.changed"])
    }
    async fn handle(&self, events: &[yiwang_store::outbox::StoredEvent], upto: i64) -> std::result::Result<(), String> {
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
        let last = upto;
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
