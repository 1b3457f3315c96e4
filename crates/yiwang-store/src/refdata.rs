//! Reference data kept in memory (DESIGN "The write path": reference data is cached, with
//! invalidation from the ledger): the data-element dictionary, the published versions of
//! each item, the departments and their signing seals, the licence types, read by every
//! submission and by
//! the guide, case and verification pages; the working-day calendars (`calendar`) are kept
//! by region until the same clearing.
//!
//! A change this process commits clears the cache before its caller is answered (the
//! writer marks a batch that appended a catalogue, data-element, department or seal event). A
//! change another process commits on the same database reaches this one through the
//! ledger: `follow` reads the kinds of the events after its cursor, once a second, and
//! clears the cache when one of them touches reference data.

use crate::catalog::Service;
use crate::{Result, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

/// The data-element dictionary by code.
pub type Dictionary = BTreeMap<String, yiwang_core::catalog::DataElement>;

/// The published versions of one item code that were in force or scheduled when read.
#[derive(Debug)]
pub struct Versions {
    /// When they were read: a lookup for an earlier instant goes to the database.
    pub read_at_ms: i64,
    pub list: Vec<Service>,
}

impl Versions {
    /// The version in force at `at_ms`.
    pub fn at(&self, at_ms: i64) -> Option<&Service> {
        self.list
            .iter()
            .find(|s| s.effective_from <= at_ms && s.until_ms.is_none_or(|u| u > at_ms))
    }
}

/// Most item codes kept at once (a province has ~10,000 items in force; the busy ones are
/// few): past this the cache starts again empty.
const MAX_ITEMS: usize = 2_000;

/// The kinds of event that change reference data, as prefixes (a region's place in the
/// tree decides whose local days its calendar inherits).
const KINDS: [&str; 9] = [
    "catalog.",
    "bundle.",
    "licence_type.",
    "data_element.",
    "department.",
    "seal.",
    "calendar.",
    "region.",
    "rating.options",
];

/// Does an event of this kind change reference data?
pub fn touches(kind: &str) -> bool {
    KINDS.iter().any(|p| kind.starts_with(p))
}

#[derive(Default)]
pub struct RefCache {
    /// Bumped at every clearing: a value read before a clearing is not stored after it.
    generation: AtomicU64,
    dictionary: RwLock<Option<Arc<Dictionary>>>,
    items: RwLock<HashMap<String, Arc<Versions>>>,
    /// Each department's signing seal (`seals::signing_seal`), or none.
    seals: RwLock<HashMap<String, Option<yiwang_core::seals::Seal>>>,
    /// Departments by id, or none.
    departments: RwLock<HashMap<String, Option<yiwang_core::orgs::Department>>>,
    /// Licence types by code, or none.
    licence_types: RwLock<HashMap<String, Option<yiwang_core::licences::LicenceType>>>,
    /// The published 一件事 definitions (every search page matches against them).
    bundles: RwLock<Option<Arc<Vec<crate::bundles::BundleVersion>>>>,
    /// The 好差评 option set in force: its version and options.
    rating_options: RwLock<Option<RatingOptions>>,
}

/// The 好差评 option set in force: its version and options.
pub type RatingOptions = Arc<(i64, Vec<yiwang_core::ratings::RatingOption>)>;

impl RefCache {
    /// Forgets everything (a change was committed).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.dictionary.write().expect("refdata") = None;
        self.items.write().expect("refdata").clear();
        self.seals.write().expect("refdata").clear();
        self.departments.write().expect("refdata").clear();
        self.licence_types.write().expect("refdata").clear();
        *self.bundles.write().expect("refdata") = None;
        *self.rating_options.write().expect("refdata") = None;
    }

    /// Bumped at every clearing: a value read in an earlier generation is stale.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// The dictionary, from memory or read once.
pub async fn dictionary(store: &Store) -> Result<Arc<Dictionary>> {
    single(&store.refdata, &store.refdata.dictionary, async {
        Ok(crate::catalog::data_elements(store)
            .await?
            .into_iter()
            .map(|d| (d.code.clone(), d))
            .collect())
    })
    .await
}

/// The published 一件事 definitions, from memory or read once.
pub async fn published_bundles(store: &Store) -> Result<Arc<Vec<crate::bundles::BundleVersion>>> {
    single(&store.refdata, &store.refdata.bundles, crate::bundles::published(store)).await
}

/// The 好差评 option set in force, from memory or read once.
pub async fn rating_options(store: &Store) -> Result<RatingOptions> {
    single(
        &store.refdata,
        &store.refdata.rating_options,
        crate::ratings::options_stored(store),
    )
    .await
}

/// A value kept whole (not by key): from memory, or loaded and kept unless the cache was
/// cleared meanwhile.
async fn single<T>(
    cache: &RefCache,
    slot: &RwLock<Option<Arc<T>>>,
    load: impl std::future::Future<Output = Result<T>>,
) -> Result<Arc<T>> {
    if let Some(v) = slot.read().expect("refdata").clone() {
        return Ok(v);
    }
    let generation = cache.generation();
    let v = Arc::new(load.await?);
    let mut kept = slot.write().expect("refdata");
    if cache.generation() == generation {
        *kept = Some(v.clone());
    }
    Ok(v)
}

/// The published versions of an item code, from memory or read once.
pub async fn versions(store: &Store, code: &str) -> Result<Arc<Versions>> {
    keyed(&store.refdata, &store.refdata.items, code, async {
        let read_at_ms = crate::now_ms();
        Ok(Arc::new(Versions {
            read_at_ms,
            list: crate::catalog::services_of_code(store, code, read_at_ms).await?,
        }))
    })
    .await
}

/// A department's signing seal (its licence, approval or official seal, the first active
/// one in that order), from memory or read once. Whether it may sign today is for the
/// caller to check (`yiwang_core::seals::may_sign`); the writer checks again that it is
/// still active when it stores what it signed.
pub async fn signing_seal(store: &Store, department_id: &str) -> Result<Option<yiwang_core::seals::Seal>> {
    keyed(&store.refdata, &store.refdata.seals, department_id, async {
        let mut conn = store.read.acquire().await?;
        crate::seals::signing_seal(&mut conn, department_id).await
    })
    .await
}

/// A department, from memory or read once. For reads outside the writer: a command
/// reads it on its own connection (a change in the same batch is not in memory yet).
pub async fn department(store: &Store, id: &str) -> Result<Option<yiwang_core::orgs::Department>> {
    keyed(&store.refdata, &store.refdata.departments, id, async {
        crate::orgs::department(&store.read, id).await
    })
    .await
}

/// A licence type, from memory or read once (for reads outside the writer).
pub async fn licence_type(store: &Store, code: &str) -> Result<Option<yiwang_core::licences::LicenceType>> {
    keyed(&store.refdata, &store.refdata.licence_types, code, async {
        let mut conn = store.read.acquire().await?;
        crate::licences::type_on(&mut conn, code).await
    })
    .await
}

/// The value under `key` in `map`, or the one `load` reads, kept unless the cache was
/// cleared while it was being read.
async fn keyed<V: Clone>(
    cache: &RefCache,
    map: &RwLock<HashMap<String, V>>,
    key: &str,
    load: impl std::future::Future<Output = Result<V>>,
) -> Result<V> {
    if let Some(v) = map.read().expect("refdata").get(key).cloned() {
        return Ok(v);
    }
    let generation = cache.generation();
    let v = load.await?;
    let mut m = map.write().expect("refdata");
    if cache.generation() == generation {
        if m.len() >= MAX_ITEMS {
            m.clear();
        }
        m.insert(key.to_string(), v.clone());
    }
    Ok(v)
}

/// The outbox subscriber that clears the cache when an event of another process touches
/// reference data: it reads the kinds only (never a body) and keeps its position in memory
/// (a process starts with an empty cache, so it starts at the ledger's head).
struct Watch(Arc<RefCache>);

impl crate::outbox::Subscriber for Watch {
    fn name(&self) -> &str {
        "refdata"
    }
    fn kinds(&self) -> Option<&[&str]> {
        Some(&KINDS)
    }
    fn bodies(&self) -> bool {
        false
    }
    async fn handle(&self, _events: &[crate::ledger::StoredEvent], _upto: i64) -> std::result::Result<(), String> {
        self.0.clear();
        Ok(())
    }
}

/// Follows the ledger for changes committed by other processes (see the module comment),
/// once a second, through the outbox's delivery; ends when the store is dropped or closed.
pub(crate) fn follow(store: Weak<Store>, mut cursor: i64) {
    tokio::spawn(async move {
        let mut watch: Option<Watch> = None;
        let mut more = false;
        loop {
            // A full scan means more is waiting: read on at once.
            if !more {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let Some(store) = store.upgrade() else { return };
            if store.read.is_closed() {
                return;
            }
            let watch = watch.get_or_insert_with(|| Watch(store.refdata.clone()));
            match crate::outbox::deliver(&store, &*watch, cursor, 0).await {
                Ok(d) => {
                    more = d.passed as i64 >= crate::outbox::SCAN;
                    cursor = d.position;
                }
                Err(e) => {
                    more = false;
                    tracing::warn!(error = %e, "reference data follower: reading the ledger failed");
                }
            }
        }
    });
}
