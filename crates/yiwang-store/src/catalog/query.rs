//! Queries: entries, versions, services, lists.

use super::*;

// ---------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------

/// Which entries a manager's list shows.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub kind: Option<EntryKind>,
    pub department_id: Option<String>,
    pub open_state: Option<VersionState>,
    /// Name contains.
    pub q: Option<String>,
}

pub async fn entries(store: &Store, f: &EntryFilter) -> Result<Vec<Entry>> {
    let sql = format!("SELECT {ENTRY_COLS} FROM catalog_entries ORDER BY kind, region_code, code");
    let all: Vec<Entry> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect::<Result<_>>()?;
    Ok(all
        .into_iter()
        .filter(|e| f.kind.is_none_or(|k| e.kind == k))
        .filter(|e| f.department_id.is_none() || e.department_id == f.department_id)
        .filter(|e| f.open_state.is_none() || e.open_state == f.open_state)
        .filter(|e| {
            f.q.as_deref()
                .is_none_or(|q| e.name.contains(q.trim()) || e.code.contains(q.trim()))
        })
        .collect())
}

pub async fn entry_of(store: &Store, id: &str) -> Result<Option<Entry>> {
    let mut c = store.read.acquire().await?;
    entry(&mut c, id).await
}

pub async fn versions_of(store: &Store, id: &str) -> Result<Vec<Version>> {
    let mut c = store.read.acquire().await?;
    versions(&mut c, id).await
}

pub async fn version_of(store: &Store, id: &str, v: i64) -> Result<Option<Version>> {
    let mut c = store.read.acquire().await?;
    version(&mut c, id, v).await
}

/// The differences between two versions of an entry.
pub async fn diff(store: &Store, id: &str, from: i64, to: i64) -> Result<Vec<core::Change>> {
    let mut c = store.read.acquire().await?;
    let mut get = async |v: i64| -> Result<Version> {
        version(&mut c, id, v).await?.ok_or_else(|| {
            DomainError::not_found(if v == from { "from" } else { "to" }, "版本", "version", &v.to_string()).into()
        })
    };
    let a = get(from).await?;
    let b = get(to).await?;
    Ok(core::diff(
        &serde_json::to_value(&a.elements).map_err(internal)?,
        &serde_json::to_value(&b.elements).map_err(internal)?,
    ))
}

pub async fn data_elements(store: &Store) -> Result<Vec<DataElement>> {
    let rows = sqlx::query("SELECT body FROM data_elements ORDER BY code")
        .fetch_all(&store.read)
        .await?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get("body")?;
            serde_json::from_str(&body).map_err(internal)
        })
        .collect()
}

/// A published implementation item in force: what the portal, the window, search and the
/// API show (同源发布).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Service {
    pub entry_id: String,
    /// 实施编码.
    pub code: String,
    pub basic_code: String,
    pub version: i64,
    pub department_id: String,
    pub department_name: String,
    pub region_code: String,
    #[sqlx(try_from = "OptionalCode")]
    pub level: Option<ExerciseLevel>,
    pub effective_from: i64,
    pub until_ms: Option<i64>,
    #[sqlx(try_from = "JsonText")]
    pub elements: Elements,
}

/// The 清单 the catalogue publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// 行政许可事项清单.
    Licensing,
    /// 告知承诺事项.
    Commitment,
    /// 容缺受理事项.
    Tolerated,
    /// 通办事项 (by scope).
    Tongban,
    /// 即办件.
    Instant,
    /// 全程网办事项.
    FullOnline,
    /// 特别程序事项.
    Special,
    /// 涉及中介服务事项.
    Intermediary,
    /// 收费事项.
    Charged,
    /// Every item in force.
    All,
}

impl yiwang_core::Named for ListKind {
    fn zh(&self) -> &'static str {
        ListKind::zh(*self)
    }
    fn en(&self) -> &'static str {
        ListKind::en(*self)
    }
}

impl ListKind {
    pub const ALL: [ListKind; 10] = [
        ListKind::All,
        ListKind::Licensing,
        ListKind::Commitment,
        ListKind::Tolerated,
        ListKind::Tongban,
        ListKind::Instant,
        ListKind::FullOnline,
        ListKind::Special,
        ListKind::Intermediary,
        ListKind::Charged,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Licensing => "licensing",
            ListKind::Commitment => "commitment",
            ListKind::Tolerated => "tolerated",
            ListKind::Tongban => "tongban",
            ListKind::Instant => "instant",
            ListKind::FullOnline => "full_online",
            ListKind::Special => "special",
            ListKind::Intermediary => "intermediary",
            ListKind::Charged => "charged",
            ListKind::All => "all",
        }
    }
    pub fn parse(s: &str) -> Option<ListKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn zh(self) -> &'static str {
        match self {
            ListKind::Licensing => "行政许可事项清单",
            ListKind::Commitment => "告知承诺事项清单",
            ListKind::Tolerated => "容缺受理事项清单",
            ListKind::Tongban => "通办事项清单",
            ListKind::Instant => "即办件清单",
            ListKind::FullOnline => "全程网办事项清单",
            ListKind::Special => "特别程序事项清单",
            ListKind::Intermediary => "中介服务事项清单",
            ListKind::Charged => "收费事项清单",
            ListKind::All => "政务服务事项总清单",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            ListKind::Licensing => "Administrative licences",
            ListKind::Commitment => "Decided on a written commitment",
            ListKind::Tolerated => "Accepted with materials to follow",
            ListKind::Tongban => "Handled across regions",
            ListKind::Instant => "Decided on the spot",
            ListKind::FullOnline => "Fully online",
            ListKind::Special => "With special procedures",
            ListKind::Intermediary => "Involving intermediary services",
            ListKind::Charged => "With fees",
            ListKind::All => "All services",
        }
    }
    /// The SQL condition on `catalog_versions v` (fixed text: no input).
    pub(super) fn condition(self) -> &'static str {
        match self {
            ListKind::Licensing => "v.item_type = 'licensing'",
            ListKind::Commitment => "v.commitment = 1",
            ListKind::Tolerated => "v.tolerated = 1",
            ListKind::Tongban => "v.tongban <> 'none'",
            ListKind::Instant => "v.case_kind = 'instant'",
            ListKind::FullOnline => "v.full_online = 1",
            ListKind::Special => "v.special = 1",
            ListKind::Intermediary => "v.intermediary = 1",
            ListKind::Charged => "v.charged = 1",
            ListKind::All => "1 = 1",
        }
    }
}

/// Filters of the public lists and service queries.
#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    pub list: Option<ListKind>,
    pub department_id: Option<String>,
    /// Items of this region and the regions under it.
    pub region: Option<String>,
    pub tongban: Option<core::TongbanScope>,
    pub audience: Option<core::Audience>,
    /// Name contains.
    pub q: Option<String>,
}

pub(super) const SERVICE_SELECT: &str = "SELECT e.id AS entry_id, e.code, e.basic_code, COALESCE(e.department_id, '') AS department_id, \
     e.region_code, e.level, v.version, v.elements, v.effective_from, v.until_ms, \
     COALESCE(d.name, '') AS department_name \
     FROM catalog_entries e JOIN catalog_versions v ON v.entry_id = e.id \
     LEFT JOIN departments d ON d.id = e.department_id \
     WHERE e.kind = 'item' AND v.state = 'published' AND v.effective_from <= $1 \
     AND (v.until_ms IS NULL OR v.until_ms > $1)";

/// The item in force at `at_ms` under an implementation code (from the reference-data
/// cache for any instant since it was read).
pub async fn service(store: &Store, code: &str, at_ms: i64) -> Result<Option<Service>> {
    let versions = crate::refdata::versions(store, code).await?;
    if at_ms >= versions.read_at_ms {
        return Ok(versions.at(at_ms).cloned());
    }
    let sql = format!("{SERVICE_SELECT} AND e.code = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(at_ms)
        .bind(code)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

/// The published version of an entry in force at `at_ms` (search indexing).
pub async fn service_by_entry(store: &Store, entry_id: &str, at_ms: i64) -> Result<Option<Service>> {
    let sql = format!("{SERVICE_SELECT} AND e.id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(at_ms)
        .bind(entry_id)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

/// Every published version of an item code in force at `at_ms` or later (scheduled
/// publications included), oldest first (`refdata::versions`).
pub async fn services_of_code(store: &Store, code: &str, at_ms: i64) -> Result<Vec<Service>> {
    versions_from(store, "e.code", code, at_ms).await
}

/// Every published version of an item that is or will be in force after `at_ms`
/// (scheduled publications included), with its dates.
pub async fn services_of_entry(store: &Store, entry_id: &str, at_ms: i64) -> Result<Vec<Service>> {
    versions_from(store, "e.id", entry_id, at_ms).await
}

/// The published versions of the item whose `column` (`e.code` or `e.id`) is `key`, in
/// force at `at_ms` or later, oldest first.
async fn versions_from(store: &Store, column: &'static str, key: &str, at_ms: i64) -> Result<Vec<Service>> {
    let sql = format!(
        "SELECT e.id AS entry_id, e.code, e.basic_code, COALESCE(e.department_id, '') AS department_id, \
     e.region_code, e.level, v.version, v.elements, v.effective_from, v.until_ms, \
     COALESCE(d.name, '') AS department_name \
     FROM catalog_entries e JOIN catalog_versions v ON v.entry_id = e.id \
     LEFT JOIN departments d ON d.id = e.department_id \
     WHERE e.kind = 'item' AND {column} = $1 AND v.state = 'published' \
     AND (v.until_ms IS NULL OR (v.until_ms > $2 AND v.until_ms > v.effective_from)) ORDER BY v.version"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .bind(at_ms)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// Items in force at `at_ms` matching the filter, by region and code.
pub async fn services(store: &Store, f: &ServiceFilter, at_ms: i64) -> Result<Vec<Service>> {
    let cond = f.list.unwrap_or(ListKind::All).condition();
    let sql = format!("{SERVICE_SELECT} AND {cond} ORDER BY e.region_code, e.code");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(at_ms)
        .fetch_all(&store.read)
        .await?;
    let mut out = vec![];
    for r in &rows {
        let s = read::<Service, _>(r)?;
        if f.department_id.as_deref().is_some_and(|d| d != s.department_id)
            || f.region
                .as_deref()
                .is_some_and(|reg| !yiwang_core::access::region_within(reg, &s.region_code))
            || f.tongban.is_some_and(|t| s.elements.tongban != t)
            || f.audience.is_some_and(|a| !s.elements.audiences().contains(&a))
            || f.q.as_deref().is_some_and(|q| !s.elements.name.contains(q.trim()))
        {
            continue;
        }
        out.push(s);
    }
    Ok(out)
}

/// Every entry id with a published version (for a full reindex).
pub async fn published_entry_ids(store: &Store) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT e.id FROM catalog_entries e JOIN catalog_versions v ON v.entry_id = e.id
         WHERE e.kind = 'item' AND v.state = 'published' ORDER BY e.id",
    )
    .fetch_all(&store.read)
    .await?)
}

/// The level-difference report of a basic entry: how its implementation items differ
/// from it and from each other (locked elements first).
#[derive(Debug, Clone, Serialize)]
pub struct Differences {
    pub basic: Entry,
    /// Implementation code → department name.
    pub items: BTreeMap<String, String>,
    pub differences: Vec<core::LevelDifference>,
}

pub async fn differences(store: &Store, basic_code: &str) -> Result<Differences> {
    let mut c = store.read.acquire().await?;
    let basic = entry_by_code(&mut c, basic_code)
        .await?
        .filter(|e| e.kind == EntryKind::Basic)
        .ok_or_else(|| DomainError::not_found("basic_code", "基本目录事项", "basic directory entry", basic_code))?;
    let b = reference(&mut c, &basic).await?;
    let sql = format!("SELECT {ENTRY_COLS} FROM catalog_entries WHERE kind = 'item' AND basic_code = $1 ORDER BY code");
    let items: Vec<Entry> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(basic_code)
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(read)
        .collect::<Result<_>>()?;
    let names: HashMap<String, String> = orgs::departments(&store.read, None)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let mut versions = vec![("basic".to_string(), b.elements.clone())];
    let mut listed = BTreeMap::new();
    for it in &items {
        let v = reference(&mut c, it).await?;
        versions.push((it.code.clone(), v.elements));
        listed.insert(
            it.code.clone(),
            it.department_id
                .as_ref()
                .and_then(|d| names.get(d))
                .cloned()
                .unwrap_or_default(),
        );
    }
    let refs: Vec<(String, &Elements)> = versions.iter().map(|(c, e)| (c.clone(), e)).collect();
    Ok(Differences {
        differences: core::level_differences(&refs, &store.config.catalog),
        basic,
        items: listed,
    })
}
