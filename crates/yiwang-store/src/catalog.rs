//! The service catalogue: commands (create entries, save drafts, submit, recall, return,
//! publish, discard, data elements, import chunks), the projections `catalog_entries`,
//! `catalog_versions` and `data_elements`, and the queries the portal, the lists (清单),
//! the guides, search and the CLI share.
//!
//! Every change is a version: the first save after a publication opens version N+1 as a
//! draft; a manager submits it; another manager publishes it (four eyes, decided in
//! `yiwang_core::catalog::decide_action`). Publishing a basic directory entry passes its
//! locked elements on to every implementation item (同要素管理), as a new published version
//! of each item whose locked elements changed, and into their open drafts.

pub mod sheets;

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Meta, Result, Store, StoreError, new_id, orgs};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, HashMap, HashSet};
use yiwang_core::catalog::{
    self as core, Action, BasicDoc, CatalogDoc, CatalogPolicy, DataElement, Elements, EntryKind, ExerciseLevel,
    ItemDoc, OpenVersion, Transition, VersionState,
};
use yiwang_core::error::{DomainError, ErrorKind, FieldError, Problems};

pub use crate::{date_of, day_start_ms};

/// Dates a draft proposes for its publication.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dates {
    /// In force from this day (default: the day it is published).
    #[serde(default)]
    pub effective_from: Option<NaiveDate>,
    /// 计划取消日期: no longer in force from this day.
    #[serde(default)]
    pub cancel_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub enum Cmd {
    /// A basic directory entry; its code is generated in the region's province when None.
    CreateBasic {
        basic_code: Option<String>,
        region_code: String,
        elements: Elements,
        dates: Dates,
    },
    /// An implementation item of a department: the basic entry's elements with `own` laid
    /// over them (locked elements cannot be among them).
    CreateItem {
        basic_code: String,
        department_id: String,
        own: Map<String, Value>,
        dates: Dates,
    },
    /// Saves the elements as the entry's draft. `base_version`: the version the editor
    /// started from (a newer one means someone else saved in between).
    SaveDraft {
        entry_id: String,
        elements: Elements,
        dates: Dates,
        base_version: Option<i64>,
    },
    Act {
        entry_id: String,
        action: Action,
    },
    SaveDataElement(DataElement),
    Import(ImportChunk),
}

/// Part of an import, written as one command (all or nothing).
#[derive(Debug, Clone)]
pub struct ImportChunk {
    pub ops: Vec<ImportOp>,
    /// Submit each created or changed entry for review.
    pub submit: bool,
    /// The region new basic entries belong to (the portal's province).
    pub region_code: String,
}

#[derive(Debug, Clone)]
pub enum ImportOp {
    Element(DataElement),
    Basic(Box<BasicDoc>),
    Item { doc: Box<ItemDoc>, department_id: String },
}

/// A catalogue entry as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub kind: EntryKind,
    /// 12-character basic code or 31-character implementation code.
    pub code: String,
    pub basic_code: String,
    pub department_id: Option<String>,
    pub region_code: String,
    pub level: Option<ExerciseLevel>,
    pub name: String,
    pub latest_version: i64,
    pub open_version: Option<i64>,
    pub open_state: Option<VersionState>,
    pub published_version: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One version of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub entry_id: String,
    pub version: i64,
    pub state: VersionState,
    pub elements: Elements,
    pub editors: Vec<String>,
    pub submitted_by: Option<String>,
    pub reviewed_by: Option<String>,
    pub return_reasons: Option<String>,
    pub effective_from: Option<i64>,
    pub cancel_on: Option<i64>,
    /// Published: no longer in force from this instant (superseded or cancelled).
    pub until_ms: Option<i64>,
    pub published_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Version {
    /// Is this published version in force at `t`?
    pub fn in_force(&self, t: i64) -> bool {
        self.state == VersionState::Published
            && self.effective_from.is_some_and(|f| f <= t)
            && self.until_ms.is_none_or(|u| t < u)
    }
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

const ENTRY_COLS: &str = "id, kind, code, basic_code, department_id, region_code, level, name, latest_version, \
     open_version, open_state, published_version, created_at, updated_at";

fn to_entry(r: &sqlx::any::AnyRow) -> Result<Entry> {
    let kind: String = r.try_get("kind")?;
    let level: Option<String> = r.try_get("level")?;
    let open_state: Option<String> = r.try_get("open_state")?;
    Ok(Entry {
        id: r.try_get("id")?,
        kind: EntryKind::parse(&kind).ok_or_else(|| internal(format!("entry kind {kind}")))?,
        code: r.try_get("code")?,
        basic_code: r.try_get("basic_code")?,
        department_id: r.try_get("department_id")?,
        region_code: r.try_get("region_code")?,
        level: level.as_deref().and_then(ExerciseLevel::parse),
        name: r.try_get("name")?,
        latest_version: r.try_get("latest_version")?,
        open_version: r.try_get("open_version")?,
        open_state: open_state.as_deref().and_then(VersionState::parse),
        published_version: r.try_get("published_version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const VERSION_COLS: &str = "entry_id, version, state, elements, editors, submitted_by, reviewed_by, return_reasons, \
     effective_from, cancel_on, until_ms, published_at, created_at, updated_at";

fn to_version(r: &sqlx::any::AnyRow) -> Result<Version> {
    let state: String = r.try_get("state")?;
    let elements: String = r.try_get("elements")?;
    let editors: String = r.try_get("editors")?;
    Ok(Version {
        entry_id: r.try_get("entry_id")?,
        version: r.try_get("version")?,
        state: VersionState::parse(&state).ok_or_else(|| internal(format!("version state {state}")))?,
        elements: serde_json::from_str(&elements).map_err(|e| internal(format!("stored elements: {e}")))?,
        editors: serde_json::from_str(&editors).map_err(|e| internal(format!("stored editors: {e}")))?,
        submitted_by: r.try_get("submitted_by")?,
        reviewed_by: r.try_get("reviewed_by")?,
        return_reasons: r.try_get("return_reasons")?,
        effective_from: r.try_get("effective_from")?,
        cancel_on: r.try_get("cancel_on")?,
        until_ms: r.try_get("until_ms")?,
        published_at: r.try_get("published_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

// ---------------------------------------------------------------------------------------
// Reads on one connection (used inside the writer and for import planning)
// ---------------------------------------------------------------------------------------

/// The entry whose `column` (a fixed name: `id` or `code`) is `value`.
async fn entry_where(conn: &mut AnyConnection, column: &'static str, value: &str) -> Result<Option<Entry>> {
    let sql = format!("SELECT {ENTRY_COLS} FROM catalog_entries WHERE {column} = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(to_entry)
        .transpose()
}

pub async fn entry(conn: &mut AnyConnection, id: &str) -> Result<Option<Entry>> {
    entry_where(conn, "id", id).await
}

pub async fn entry_by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<Entry>> {
    entry_where(conn, "code", code).await
}

pub async fn version(conn: &mut AnyConnection, entry_id: &str, v: i64) -> Result<Option<Version>> {
    let sql = format!("SELECT {VERSION_COLS} FROM catalog_versions WHERE entry_id = $1 AND version = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(entry_id)
        .bind(v)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(to_version)
        .transpose()
}

/// All versions of an entry, oldest first.
pub async fn versions(conn: &mut AnyConnection, entry_id: &str) -> Result<Vec<Version>> {
    let sql = format!("SELECT {VERSION_COLS} FROM catalog_versions WHERE entry_id = $1 ORDER BY version");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(entry_id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(to_version)
        .collect()
}

/// The version other levels and the lists refer to: the latest publication, or the
/// latest version when the entry was never published.
pub async fn reference(conn: &mut AnyConnection, e: &Entry) -> Result<Version> {
    let v = e.published_version.unwrap_or(e.latest_version);
    version(conn, &e.id, v)
        .await?
        .ok_or_else(|| internal(format!("entry {} lacks version {v}", e.id)))
}

/// What the entry says now for its managers: the open draft or submission, else the
/// reference version (export and import compare against this).
pub async fn current(conn: &mut AnyConnection, e: &Entry) -> Result<Version> {
    match e.open_version {
        Some(v) => version(conn, &e.id, v)
            .await?
            .ok_or_else(|| internal(format!("entry {} lacks version {v}", e.id))),
        None => reference(conn, e).await,
    }
}

pub async fn element_codes(conn: &mut AnyConnection) -> Result<HashSet<String>> {
    Ok(sqlx::query_scalar::<_, String>("SELECT code FROM data_elements")
        .fetch_all(conn)
        .await?
        .into_iter()
        .collect())
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::CreateBasic {
            basic_code,
            region_code,
            elements,
            dates,
        } => {
            let elements = &normalized(elements);
            let code = match basic_code {
                Some(c) => c.clone(),
                None => generate_basic_code(ctx, region_code, elements).await?,
            };
            let known = element_codes(ctx.conn).await?;
            let e = prepare_basic(ctx.conn, ctx.catalog, &known, &code, elements, "").await?;
            if e.is_some() {
                return Err(DomainError::conflict(
                    "basic_code",
                    "catalog.duplicate_code",
                    format!("基本编码「{code}」已存在"),
                    format!("basic code '{code}' already exists"),
                )
                .into());
            }
            check_dates(dates, ctx.now_ms)?;
            let entry = create_entry(
                ctx,
                EntryKind::Basic,
                &code,
                &code,
                None,
                region_code,
                None,
                elements,
                dates,
            )
            .await?;
            Ok(json!({ "entry": entry, "version": 1 }))
        }
        Cmd::CreateItem {
            basic_code,
            department_id,
            own,
            dates,
        } => {
            let known = element_codes(ctx.conn).await?;
            let doc = ItemDoc {
                basic_code: basic_code.clone(),
                implementation_code: None,
                department_uscc: None,
                department_name: None,
                elements: own.clone(),
            };
            let p = prepare_item(ctx.conn, ctx.catalog, &known, &doc, department_id, None, "").await?;
            if p.existing.is_some() {
                return Err(DomainError::conflict(
                    "department_id",
                    "catalog.duplicate_code",
                    format!("该部门已有此事项（实施编码 {}）", p.code),
                    format!("the department already implements this item (code {})", p.code),
                )
                .into());
            }
            check_dates(dates, ctx.now_ms)?;
            let entry = create_entry(
                ctx,
                EntryKind::Item,
                &p.code,
                basic_code,
                Some(department_id),
                &p.region_code,
                Some(p.level),
                &p.elements,
                dates,
            )
            .await?;
            Ok(json!({ "entry": entry, "version": 1 }))
        }
        Cmd::SaveDraft {
            entry_id,
            elements,
            dates,
            base_version,
        } => {
            let elements = &normalized(elements);
            let e = load(ctx.conn, entry_id).await?;
            if let Some(b) = base_version
                && *b != e.latest_version
            {
                return Err(DomainError::conflict(
                    "base_version",
                    "catalog.stale",
                    format!(
                        "该事项已被他人修改（现为第 {} 版，您编辑的是第 {b} 版），请刷新后再编辑",
                        e.latest_version
                    ),
                    format!(
                        "someone else changed this entry (now version {}, you edited version {b}); reload and edit again",
                        e.latest_version
                    ),
                )
                .into());
            }
            let known = element_codes(ctx.conn).await?;
            check_entry_elements(ctx.conn, ctx.catalog, &known, &e, elements, "").await?;
            check_dates(dates, ctx.now_ms)?;
            let v = save_draft(ctx, &e, elements, dates).await?;
            Ok(json!({ "entry": load(ctx.conn, entry_id).await?, "version": v }))
        }
        Cmd::Act { entry_id, action } => {
            let e = load(ctx.conn, entry_id).await?;
            let v = act(ctx, &e, action).await?;
            Ok(json!({ "entry": load(ctx.conn, entry_id).await?, "version": v }))
        }
        Cmd::SaveDataElement(d) => {
            core::check_data_element(d)?;
            let changed = save_element(ctx, d).await?;
            Ok(json!({ "data_element": d, "changed": changed }))
        }
        Cmd::Import(chunk) => import_chunk(ctx, chunk).await,
    }
}

async fn load(conn: &mut AnyConnection, id: &str) -> Result<Entry> {
    entry(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("entry_id", "事项", "catalogue entry", id).into())
}

async fn generate_basic_code(ctx: &mut WriteCtx<'_>, region_code: &str, e: &Elements) -> Result<String> {
    let origin = region_code.get(..2).unwrap_or("00").to_string();
    let used: Vec<String> = sqlx::query_scalar("SELECT code FROM catalog_entries WHERE kind = 'basic'")
        .fetch_all(&mut *ctx.conn)
        .await?;
    Ok(core::next_basic_code(
        &origin,
        e.item_type,
        used.iter().map(String::as_str),
    ))
}

fn with_prefix(prefix: &str, mut e: DomainError) -> DomainError {
    if !prefix.is_empty() {
        for f in &mut e.errors {
            f.field = if f.field.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}.{}", f.field)
            };
        }
    }
    e
}

fn check(policy: &CatalogPolicy, known: &HashSet<String>, e: &Elements, prefix: &str) -> Result<(), DomainError> {
    core::check_elements(e, policy, &|c| known.contains(c))
        .finish()
        .map_err(|err| with_prefix(prefix, err))
}

/// Checks a basic entry's code and elements; returns the existing entry with that code.
async fn prepare_basic(
    conn: &mut AnyConnection,
    policy: &CatalogPolicy,
    known: &HashSet<String>,
    code: &str,
    elements: &Elements,
    prefix: &str,
) -> Result<Option<Entry>> {
    let at = |f: &str| {
        if prefix.is_empty() {
            f.to_string()
        } else {
            format!("{prefix}.{f}")
        }
    };
    let parsed = core::check_basic_code(&at("basic_code"), code).map_err(|f| DomainError::invalid(vec![f]))?;
    if parsed.item_type != elements.item_type {
        return Err(DomainError::invalid(vec![FieldError::new(
            at("basic_code"),
            "basic_code.type_mismatch",
            format!(
                "基本编码第 3–4 位为「{}」（{}），与事项类型「{}」不一致",
                parsed.item_type.code(),
                parsed.item_type.zh(),
                elements.item_type.zh()
            ),
            format!(
                "digits 3–4 of the basic code say {} ({}), the item type is {}",
                parsed.item_type.code(),
                parsed.item_type.en(),
                elements.item_type.en()
            ),
        )])
        .into());
    }
    check(policy, known, elements, &at("elements"))?;
    let existing = entry_by_code(conn, code).await?;
    if let Some(x) = &existing
        && x.kind != EntryKind::Basic
    {
        return Err(DomainError::conflict(
            &at("basic_code"),
            "catalog.duplicate_code",
            format!("编码「{code}」已被占用"),
            format!("code '{code}' is taken"),
        )
        .into());
    }
    Ok(existing)
}

/// An implementation item ready to write.
struct PreparedItem {
    code: String,
    region_code: String,
    level: ExerciseLevel,
    elements: Elements,
    existing: Option<Entry>,
}

/// Resolves and checks an implementation item: its basic entry (from the database, or
/// `basic_in_doc` when the same import creates it), department, level, code and elements.
async fn prepare_item(
    conn: &mut AnyConnection,
    policy: &CatalogPolicy,
    known: &HashSet<String>,
    doc: &ItemDoc,
    department_id: &str,
    basic_in_doc: Option<&Elements>,
    prefix: &str,
) -> Result<PreparedItem> {
    let at = |f: &str| {
        if prefix.is_empty() {
            f.to_string()
        } else {
            format!("{prefix}.{f}")
        }
    };
    let basic = match entry_by_code(conn, &doc.basic_code).await? {
        Some(b) if b.kind == EntryKind::Basic => Some(reference(conn, &b).await?.elements),
        _ => None,
    };
    let basic = match (basic, basic_in_doc) {
        (Some(b), _) => b,
        (None, Some(b)) => b.clone(),
        (None, None) => {
            return Err(DomainError::not_found(
                &at("basic_code"),
                "基本目录事项",
                "basic directory entry",
                &doc.basic_code,
            )
            .into());
        }
    };
    let dept = orgs::department(&mut *conn, department_id)
        .await?
        .ok_or_else(|| DomainError::not_found(&at("department_id"), "部门", "department", department_id))?;
    let level = core::level_for_region(&dept.region_code).ok_or_else(|| {
        DomainError::invalid(vec![FieldError::new(
            at("department_id"),
            "catalog.department_level",
            "无法从部门所在区划确定行使层级",
            "the department's region gives no exercise level",
        )])
    })?;
    let code = core::impl_code(&dept.uscc, level, &doc.basic_code);
    if let Some(given) = &doc.implementation_code
        && given != &code
    {
        let mut p = Problems::new();
        p.check(core::check_impl_code(&at("implementation_code"), given).map(|_| ()));
        p.push(FieldError::new(
            at("implementation_code"),
            "implementation_code.mismatch",
            format!(
                "实施编码应为 {code}（部门统一社会信用代码 + 行使层级 {} + 基本编码）",
                level.code()
            ),
            format!(
                "the implementation code is {code} (the department's credit code + level {} + basic code)",
                level.code()
            ),
        ));
        return Err(p.finish().expect_err("has problems").into());
    }
    // Locked elements may be repeated in `own` only unchanged (同要素管理).
    let mut elements = core::overlay(&basic, &doc.elements, &at("elements"))?;
    elements.normalize();
    core::check_locked(&basic, &elements, policy).map_err(|e| with_prefix(&at("elements"), e))?;
    check(policy, known, &elements, &at("elements"))?;
    let existing = entry_by_code(conn, &code).await?;
    Ok(PreparedItem {
        code,
        region_code: dept.region_code,
        level,
        elements,
        existing,
    })
}

/// Checks new elements for an existing entry: the rules, and for an item its locked
/// elements against the basic entry.
async fn check_entry_elements(
    conn: &mut AnyConnection,
    policy: &CatalogPolicy,
    known: &HashSet<String>,
    e: &Entry,
    elements: &Elements,
    prefix: &str,
) -> Result<()> {
    if e.kind == EntryKind::Item {
        let basic = basic_of(conn, e).await?;
        core::check_locked(&basic.elements, elements, policy).map_err(|err| with_prefix(prefix, err))?;
    } else if let Ok(parsed) = core::check_basic_code("basic_code", &e.code)
        && parsed.item_type != elements.item_type
    {
        return Err(DomainError::invalid(vec![FieldError::new(
            if prefix.is_empty() {
                "item_type".to_string()
            } else {
                format!("{prefix}.item_type")
            },
            "basic_code.type_mismatch",
            "事项类型须与基本编码第 3–4 位一致；要改变类型请新建事项",
            "the item type matches digits 3–4 of the basic code; create a new entry to change it",
        )])
        .into());
    }
    check(policy, known, elements, prefix)?;
    Ok(())
}

async fn basic_of(conn: &mut AnyConnection, item: &Entry) -> Result<Version> {
    let b = entry_by_code(conn, &item.basic_code)
        .await?
        .ok_or_else(|| internal(format!("basic entry {} of {} is missing", item.basic_code, item.code)))?;
    reference(conn, &b).await
}

fn check_dates(d: &Dates, now: i64) -> Result<(), DomainError> {
    let today = day_start_ms(date_of(now));
    core::check_publication_dates(
        d.effective_from.map(day_start_ms).unwrap_or(today),
        d.cancel_on.map(day_start_ms),
        today,
    )
}

fn normalized(e: &Elements) -> Elements {
    let mut e = e.clone();
    e.normalize();
    e
}

fn stream(id: &str) -> String {
    format!("catalog:{id}")
}

#[allow(clippy::too_many_arguments)]
async fn create_entry(
    ctx: &mut WriteCtx<'_>,
    kind: EntryKind,
    code: &str,
    basic_code: &str,
    department_id: Option<&str>,
    region_code: &str,
    level: Option<ExerciseLevel>,
    elements: &Elements,
    dates: &Dates,
) -> Result<Entry> {
    let id = new_id();
    ctx.append(
        &stream(&id),
        Expect::New,
        "catalog.entry_created",
        &json!({ "id": id, "kind": kind, "code": code, "basic_code": basic_code,
                 "department_id": department_id, "region_code": region_code, "level": level }),
    )
    .await?;
    let entry = Entry {
        id: id.clone(),
        kind,
        code: code.into(),
        basic_code: basic_code.into(),
        department_id: department_id.map(Into::into),
        region_code: region_code.into(),
        level,
        name: elements.name.clone(),
        latest_version: 0,
        open_version: None,
        open_state: None,
        published_version: None,
        created_at: ctx.now_ms,
        updated_at: ctx.now_ms,
    };
    save_draft(ctx, &entry, elements, dates).await?;
    load(ctx.conn, &id).await
}

/// Saves a draft (the elements were checked by the caller); returns its version number.
async fn save_draft(ctx: &mut WriteCtx<'_>, e: &Entry, elements: &Elements, dates: &Dates) -> Result<i64> {
    let open = match e.open_version {
        Some(v) => version(ctx.conn, &e.id, v).await?,
        None => None,
    };
    let t = core::decide_action(
        open.as_ref().map(open_of).as_ref(),
        e.latest_version,
        &Action::SaveDraft,
        &ctx.actor,
    )?;
    let (v, previous) = match (&t, &open) {
        (Transition::NewDraft(v), _) => {
            let prev = if e.latest_version > 0 {
                Some(reference(ctx.conn, e).await?.elements)
            } else {
                None
            };
            (*v, prev)
        }
        (Transition::To(v, _), Some(o)) => {
            if o.elements == *elements
                && o.effective_from == dates.effective_from.map(day_start_ms)
                && o.cancel_on == dates.cancel_on.map(day_start_ms)
            {
                return Ok(*v); // nothing changed: no event, no write
            }
            (*v, Some(o.elements.clone()))
        }
        (Transition::To(..), None) => unreachable!("an open version exists"),
    };
    let changed = match &previous {
        Some(p) => core::changed_elements(p, elements),
        None => core::ELEMENT_NAMES.iter().map(|s| s.to_string()).collect(),
    };
    ctx.append(
        &stream(&e.id),
        Expect::Exists,
        "catalog.draft_saved",
        &json!({ "version": v, "elements": elements, "changed": changed,
                 "effective_from": dates.effective_from, "cancel_on": dates.cancel_on }),
    )
    .await?;
    let mut editors = open.as_ref().map(|o| o.editors.clone()).unwrap_or_default();
    if !editors.contains(&ctx.actor) {
        editors.push(ctx.actor.clone());
    }
    let row = Version {
        entry_id: e.id.clone(),
        version: v,
        state: VersionState::Draft,
        elements: elements.clone(),
        editors,
        submitted_by: None,
        reviewed_by: None,
        return_reasons: open.as_ref().and_then(|o| o.return_reasons.clone()),
        effective_from: dates.effective_from.map(day_start_ms),
        cancel_on: dates.cancel_on.map(day_start_ms),
        until_ms: None,
        published_at: None,
        created_at: open.as_ref().map(|o| o.created_at).unwrap_or(ctx.now_ms),
        updated_at: ctx.now_ms,
    };
    write_version(ctx, &row, ctx.catalog).await?;
    let mut entry = e.clone();
    entry.name = elements.name.clone();
    entry.latest_version = e.latest_version.max(v);
    entry.open_version = Some(v);
    entry.open_state = Some(VersionState::Draft);
    entry.updated_at = ctx.now_ms;
    write_entry(ctx, &entry).await?;
    Ok(v)
}

fn open_of(v: &Version) -> OpenVersion {
    OpenVersion {
        version: v.version,
        state: v.state,
        editors: v.editors.clone(),
        submitted_by: v.submitted_by.clone(),
    }
}

/// Submit, recall, return, publish or discard; returns the version acted on.
async fn act(ctx: &mut WriteCtx<'_>, e: &Entry, action: &Action) -> Result<i64> {
    let open = match e.open_version {
        Some(v) => version(ctx.conn, &e.id, v).await?,
        None => None,
    };
    let t = core::decide_action(
        open.as_ref().map(open_of).as_ref(),
        e.latest_version,
        action,
        &ctx.actor,
    )?;
    let (Transition::To(v, to), Some(mut row)) = (t, open) else {
        return Err(internal("workflow action without an open version"));
    };
    let mut entry = e.clone();
    let kind = match action {
        Action::SaveDraft => unreachable!("saving goes through save_draft"),
        Action::Submit => {
            row.submitted_by = Some(ctx.actor.clone());
            "catalog.submitted"
        }
        Action::Recall => {
            row.submitted_by = None;
            "catalog.recalled"
        }
        Action::Return { reasons } => {
            row.submitted_by = None;
            row.reviewed_by = Some(ctx.actor.clone());
            row.return_reasons = Some(reasons.trim().to_string());
            "catalog.returned"
        }
        Action::Discard => "catalog.discarded",
        Action::Publish => {
            prepare_publication(ctx, e, &mut row).await?;
            "catalog.published"
        }
    };
    ctx.append(
        &stream(&e.id),
        Expect::Exists,
        kind,
        &json!({ "version": v, "reasons": row.return_reasons, "effective_from": row.effective_from,
                 "cancel_on": row.cancel_on }),
    )
    .await?;
    row.state = to;
    row.updated_at = ctx.now_ms;
    write_version(ctx, &row, ctx.catalog).await?;
    match to {
        VersionState::Draft | VersionState::Submitted => {
            entry.open_state = Some(to);
        }
        VersionState::Published => {
            entry.open_version = None;
            entry.open_state = None;
            entry.published_version = Some(v);
        }
        VersionState::Discarded => {
            entry.open_version = None;
            entry.open_state = None;
            if let Some(p) = entry.published_version {
                entry.name = version(ctx.conn, &e.id, p)
                    .await?
                    .map(|x| x.elements.name)
                    .unwrap_or(entry.name);
            }
        }
    }
    entry.updated_at = ctx.now_ms;
    write_entry(ctx, &entry).await?;
    if to == VersionState::Published {
        refresh_validity(ctx, &e.id).await?;
        if e.kind == EntryKind::Basic {
            cascade(ctx, e, &row).await?;
        }
    }
    Ok(v)
}

/// The checks and dates of a publication: the elements still satisfy every rule (the
/// policy or the dictionary may have changed since the draft was saved); an item's basic
/// entry is published and its locked elements agree; the dates are not in the past.
async fn prepare_publication(ctx: &mut WriteCtx<'_>, e: &Entry, row: &mut Version) -> Result<()> {
    let known = element_codes(ctx.conn).await?;
    if e.kind == EntryKind::Item {
        let b = entry_by_code(ctx.conn, &e.basic_code)
            .await?
            .ok_or_else(|| internal("basic entry missing"))?;
        if b.published_version.is_none() {
            return Err(DomainError::one(
                ErrorKind::Conflict,
                FieldError::new(
                    "basic_code",
                    "catalog.basic_unpublished",
                    format!("基本目录事项「{}」尚未发布，请先审核发布基本目录", b.name),
                    format!(
                        "the basic directory entry '{}' is not published yet: publish it first",
                        b.name
                    ),
                ),
            )
            .into());
        }
    }
    check_entry_elements(ctx.conn, ctx.catalog, &known, e, &row.elements, "elements").await?;
    let today = day_start_ms(date_of(ctx.now_ms));
    let from = row.effective_from.unwrap_or(today);
    core::check_publication_dates(from, row.cancel_on, today)?;
    row.effective_from = Some(from);
    row.reviewed_by = Some(ctx.actor.clone());
    row.published_at = Some(ctx.now_ms);
    Ok(())
}

/// Recomputes when each published version of an entry is in force.
async fn refresh_validity(ctx: &mut WriteCtx<'_>, entry_id: &str) -> Result<()> {
    let rows = sqlx::query(
        "SELECT version, effective_from, cancel_on FROM catalog_versions
         WHERE entry_id = $1 AND state = 'published' ORDER BY published_at, version",
    )
    .bind(entry_id)
    .fetch_all(&mut *ctx.conn)
    .await?;
    let published: Vec<core::Published> = rows
        .iter()
        .map(|r| {
            Ok(core::Published {
                version: r.try_get("version")?,
                effective_from_ms: r.try_get::<Option<i64>, _>("effective_from")?.unwrap_or(0),
                cancel_on_ms: r.try_get("cancel_on")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    for (v, _, until) in core::validity(&published) {
        sqlx::query("UPDATE catalog_versions SET until_ms = $1 WHERE entry_id = $2 AND version = $3")
            .bind(until)
            .bind(entry_id)
            .bind(v)
            .execute(&mut *ctx.conn)
            .await?;
    }
    Ok(())
}

/// Passes a basic entry's newly published locked elements on to its implementation items
/// (同要素管理): a new published version of each item whose locked elements changed (in
/// force from the basic entry's effective date), and open drafts rebased in place.
async fn cascade(ctx: &mut WriteCtx<'_>, basic: &Entry, published: &Version) -> Result<()> {
    let sql = format!("SELECT {ENTRY_COLS} FROM catalog_entries WHERE kind = 'item' AND basic_code = $1 ORDER BY code");
    let items: Vec<Entry> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&basic.code)
        .fetch_all(&mut *ctx.conn)
        .await?
        .iter()
        .map(to_entry)
        .collect::<Result<_>>()?;
    for item in items {
        let mut entry = item.clone();
        if let Some(pv) = item.published_version {
            let r = reference(ctx.conn, &item).await?;
            let inherited = core::inherit(&published.elements, &r.elements, ctx.catalog);
            if inherited != r.elements {
                let v = entry.latest_version + 1;
                ctx.append(
                    &stream(&item.id),
                    Expect::Exists,
                    "catalog.inherited",
                    &json!({ "version": v, "from_version": pv, "basic_code": basic.code,
                             "basic_version": published.version,
                             "changed": core::changed_elements(&r.elements, &inherited),
                             "elements": inherited }),
                )
                .await?;
                let row = Version {
                    entry_id: item.id.clone(),
                    version: v,
                    state: VersionState::Published,
                    elements: inherited,
                    editors: vec![],
                    submitted_by: None,
                    reviewed_by: published.reviewed_by.clone(),
                    return_reasons: None,
                    effective_from: published.effective_from,
                    cancel_on: r.cancel_on,
                    until_ms: None,
                    published_at: Some(ctx.now_ms),
                    created_at: ctx.now_ms,
                    updated_at: ctx.now_ms,
                };
                write_version(ctx, &row, ctx.catalog).await?;
                entry.latest_version = v;
                entry.published_version = Some(v);
                if entry.open_version.is_none() {
                    entry.name = row.elements.name.clone();
                }
            }
        }
        if let Some(ov) = item.open_version
            && let Some(mut draft) = version(ctx.conn, &item.id, ov).await?
        {
            let rebased = core::inherit(&published.elements, &draft.elements, ctx.catalog);
            if rebased != draft.elements {
                ctx.append(
                    &stream(&item.id),
                    Expect::Exists,
                    "catalog.draft_rebased",
                    &json!({ "version": ov, "basic_code": basic.code, "basic_version": published.version,
                             "changed": core::changed_elements(&draft.elements, &rebased), "elements": rebased }),
                )
                .await?;
                draft.elements = rebased;
                draft.updated_at = ctx.now_ms;
                entry.name = draft.elements.name.clone();
                write_version(ctx, &draft, ctx.catalog).await?;
            }
        }
        if entry != item {
            entry.updated_at = ctx.now_ms;
            write_entry(ctx, &entry).await?;
            refresh_validity(ctx, &item.id).await?;
        }
    }
    Ok(())
}

async fn write_entry(ctx: &mut WriteCtx<'_>, e: &Entry) -> Result<()> {
    sqlx::query(
        "INSERT INTO catalog_entries (id, kind, code, basic_code, department_id, region_code, level, name, latest_version,
           open_version, open_state, published_version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, latest_version = excluded.latest_version,
           open_version = excluded.open_version, open_state = excluded.open_state,
           published_version = excluded.published_version, updated_at = excluded.updated_at",
    )
    .bind(&e.id)
    .bind(e.kind.as_str())
    .bind(&e.code)
    .bind(&e.basic_code)
    .bind(&e.department_id)
    .bind(&e.region_code)
    .bind(e.level.map(|l| l.as_str()))
    .bind(&e.name)
    .bind(e.latest_version)
    .bind(e.open_version)
    .bind(e.open_state.map(|s| s.as_str()))
    .bind(e.published_version)
    .bind(e.created_at)
    .bind(e.updated_at)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

async fn write_version(ctx: &mut WriteCtx<'_>, v: &Version, policy: &CatalogPolicy) -> Result<()> {
    let _ = policy;
    let el = &v.elements;
    let b = |x: bool| x as i16;
    let audience = el.audiences().iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",");
    sqlx::query(
        "INSERT INTO catalog_versions (entry_id, version, state, elements, editors, submitted_by, reviewed_by,
           return_reasons, effective_from, cancel_on, until_ms, published_at, name, item_type, case_kind, commitment,
           tolerated, tongban, full_online, special, intermediary, charged, audience, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
           $23, $24, $25)
         ON CONFLICT (entry_id, version) DO UPDATE SET state = excluded.state, elements = excluded.elements,
           editors = excluded.editors, submitted_by = excluded.submitted_by, reviewed_by = excluded.reviewed_by,
           return_reasons = excluded.return_reasons, effective_from = excluded.effective_from,
           cancel_on = excluded.cancel_on, until_ms = excluded.until_ms, published_at = excluded.published_at,
           name = excluded.name, item_type = excluded.item_type, case_kind = excluded.case_kind,
           commitment = excluded.commitment, tolerated = excluded.tolerated, tongban = excluded.tongban,
           full_online = excluded.full_online, special = excluded.special, intermediary = excluded.intermediary,
           charged = excluded.charged, audience = excluded.audience, updated_at = excluded.updated_at",
    )
    .bind(&v.entry_id)
    .bind(v.version)
    .bind(v.state.as_str())
    .bind(serde_json::to_string(el).map_err(internal)?)
    .bind(serde_json::to_string(&v.editors).map_err(internal)?)
    .bind(&v.submitted_by)
    .bind(&v.reviewed_by)
    .bind(&v.return_reasons)
    .bind(v.effective_from)
    .bind(v.cancel_on)
    .bind(v.until_ms)
    .bind(v.published_at)
    .bind(&el.name)
    .bind(el.item_type.as_str())
    .bind(el.case_kind.as_str())
    .bind(b(el.commitment.is_some()))
    .bind(b(el.tolerated()))
    .bind(el.tongban.as_str())
    .bind(b(el.full_online()))
    .bind(b(!el.special_procedures.is_empty()))
    .bind(b(!el.intermediary_services.is_empty()))
    .bind(b(el.charged()))
    .bind(audience)
    .bind(v.created_at)
    .bind(v.updated_at)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

async fn save_element(ctx: &mut WriteCtx<'_>, d: &DataElement) -> Result<bool> {
    let old: Option<String> = sqlx::query_scalar("SELECT body FROM data_elements WHERE code = $1")
        .bind(&d.code)
        .fetch_optional(&mut *ctx.conn)
        .await?;
    let body = serde_json::to_string(d).map_err(internal)?;
    if old.as_deref() == Some(body.as_str()) {
        return Ok(false);
    }
    ctx.append(
        &format!("data_element:{}", d.code),
        Expect::Any,
        "data_element.saved",
        d,
    )
    .await?;
    sqlx::query(
        "INSERT INTO data_elements (code, name, kind, body, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, body = excluded.body,
           updated_at = excluded.updated_at",
    )
    .bind(&d.code)
    .bind(&d.name)
    .bind(d.kind.as_str())
    .bind(body)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(true)
}

/// Seeds the default data-element dictionary (only the elements missing).
pub async fn seed_dictionary(store: &Store) -> Result<()> {
    let have: HashSet<String> = {
        let mut c = store.read.acquire().await?;
        element_codes(&mut c).await?
    };
    let ops: Vec<ImportOp> = core::default_dictionary()
        .into_iter()
        .filter(|d| !have.contains(&d.code))
        .map(ImportOp::Element)
        .collect();
    if !ops.is_empty() {
        store
            .write(
                Meta::actor("system"),
                crate::Command::Catalog(Box::new(Cmd::Import(ImportChunk {
                    ops,
                    submit: false,
                    region_code: String::new(),
                }))),
            )
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------

/// What one import op did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Changed,
    Unchanged,
}

async fn import_chunk(ctx: &mut WriteCtx<'_>, chunk: &ImportChunk) -> Result<Value> {
    let mut outcomes = vec![];
    for op in &chunk.ops {
        if let ImportOp::Element(d) = op {
            core::check_data_element(d)?;
            let changed = save_element(ctx, d).await?;
            outcomes.push(if changed { Outcome::Changed } else { Outcome::Unchanged });
        }
    }
    let known = element_codes(ctx.conn).await?;
    for op in &chunk.ops {
        let (outcome, entry) = match op {
            ImportOp::Element(_) => continue,
            ImportOp::Basic(doc) => {
                let elements = normalized(&doc.elements);
                match prepare_basic(ctx.conn, ctx.catalog, &known, &doc.basic_code, &elements, "").await? {
                    None => {
                        let e = create_entry(
                            ctx,
                            EntryKind::Basic,
                            &doc.basic_code,
                            &doc.basic_code,
                            None,
                            &chunk.region_code,
                            None,
                            &elements,
                            &Dates::default(),
                        )
                        .await?;
                        (Outcome::Created, e)
                    }
                    Some(e) => (update_from_import(ctx, &e, &elements).await?, e),
                }
            }
            ImportOp::Item { doc, department_id } => {
                let p = prepare_item(ctx.conn, ctx.catalog, &known, doc, department_id, None, "").await?;
                match p.existing {
                    None => {
                        let e = create_entry(
                            ctx,
                            EntryKind::Item,
                            &p.code,
                            &doc.basic_code,
                            Some(department_id),
                            &p.region_code,
                            Some(p.level),
                            &p.elements,
                            &Dates::default(),
                        )
                        .await?;
                        (Outcome::Created, e)
                    }
                    Some(e) => {
                        check_entry_elements(ctx.conn, ctx.catalog, &known, &e, &p.elements, "").await?;
                        (update_from_import(ctx, &e, &p.elements).await?, e)
                    }
                }
            }
        };
        if chunk.submit && outcome != Outcome::Unchanged {
            let e = load(ctx.conn, &entry.id).await?;
            act(ctx, &e, &Action::Submit).await?;
        }
        outcomes.push(outcome);
    }
    Ok(json!({ "outcomes": outcomes }))
}

async fn update_from_import(ctx: &mut WriteCtx<'_>, e: &Entry, elements: &Elements) -> Result<Outcome> {
    let cur = current(ctx.conn, e).await?;
    if cur.elements == *elements {
        return Ok(Outcome::Unchanged);
    }
    if e.open_state == Some(VersionState::Submitted) {
        return Err(not_editable(e));
    }
    let dates = Dates {
        effective_from: None,
        cancel_on: if e.open_version.is_some() {
            cur.cancel_on.map(date_of)
        } else {
            None
        },
    };
    save_draft(ctx, e, elements, &dates).await?;
    Ok(Outcome::Changed)
}

fn not_editable(e: &Entry) -> StoreError {
    DomainError::conflict(
        "state",
        "catalog.not_editable",
        format!(
            "「{}」（{}）已提交审核，导入不能修改它；请先撤回或等待审核",
            e.name, e.code
        ),
        format!(
            "'{}' ({}) awaits review and cannot be changed by an import; recall it or wait for the review",
            e.name, e.code
        ),
    )
    .into()
}

/// A problem found in an import, placed where the user can find it: the JSON path, and
/// for spreadsheets also the sheet, row and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub rule: String,
    pub zh: String,
    pub en: String,
}

impl ImportProblem {
    pub fn of(f: FieldError) -> ImportProblem {
        ImportProblem {
            path: f.field,
            sheet: None,
            row: None,
            column: None,
            rule: f.rule,
            zh: f.zh,
            en: f.en,
        }
    }
    /// "sheet 申请材料, row 7, column 名称: …" (or the JSON path).
    pub fn place_zh(&self) -> String {
        match (&self.sheet, self.row) {
            (Some(s), Some(r)) => format!(
                "工作表「{s}」第 {r} 行{}",
                self.column.as_ref().map(|c| format!("「{c}」列")).unwrap_or_default()
            ),
            _ => self.path.clone(),
        }
    }
    pub fn place_en(&self) -> String {
        match (&self.sheet, self.row) {
            (Some(s), Some(r)) => format!(
                "sheet '{s}', row {r}{}",
                self.column
                    .as_ref()
                    .map(|c| format!(", column '{c}'"))
                    .unwrap_or_default()
            ),
            _ => self.path.clone(),
        }
    }
}

/// How an import went: nothing is written when `problems` is not empty.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub ok: bool,
    pub dry_run: bool,
    pub problems: Vec<ImportProblem>,
    pub data_elements: usize,
    pub created: usize,
    pub changed: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Check only; write nothing.
    pub dry_run: bool,
    /// Submit created and changed entries for review.
    pub submit: bool,
    /// The region new basic entries belong to (the portal's province).
    pub region_code: String,
    /// Entries written per command.
    pub chunk: usize,
}

/// Progress of an import: (phase, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// Imports a catalogue document: every entry is checked first, against the database and
/// the rest of the document, and every problem reported at once; only a document without
/// problems is written, in chunks of `opts.chunk` entries (each chunk one transaction).
/// Unchanged entries are skipped, so importing the same document again changes nothing.
pub async fn import(
    store: &Store,
    meta: Meta,
    doc: &CatalogDoc,
    opts: &ImportOptions,
    progress: Progress<'_>,
) -> Result<ImportReport> {
    let mut report = ImportReport {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let mut doc = doc.clone();
    for b in &mut doc.basic {
        b.elements.normalize();
    }
    let doc = &doc;
    let mut problems: Vec<FieldError> = vec![];
    if doc.format != core::DOC_FORMAT || doc.version != core::DOC_VERSION {
        problems.push(FieldError::new(
            "format",
            "import.format",
            format!("文件格式应为 {} 第 {} 版", core::DOC_FORMAT, core::DOC_VERSION),
            format!(
                "the document format is {} version {}",
                core::DOC_FORMAT,
                core::DOC_VERSION
            ),
        ));
    }
    let mut conn = store.read.acquire().await?;
    let mut known = element_codes(&mut conn).await?;
    let mut seen_elements = HashSet::new();
    for (i, d) in doc.data_elements.iter().enumerate() {
        if let Err(e) = core::check_data_element(d) {
            problems.extend(with_prefix(&format!("data_elements[{i}]"), e).errors);
        }
        if !seen_elements.insert(d.code.clone()) {
            problems.push(duplicate(&format!("data_elements[{i}].code"), &d.code));
        }
        known.insert(d.code.clone());
    }
    let total = doc.basic.len() + doc.items.len();
    let mut ops: Vec<ImportOp> = doc.data_elements.iter().cloned().map(ImportOp::Element).collect();
    let mut basic_in_doc: HashMap<&str, &Elements> = HashMap::new();
    let mut codes = HashSet::new();
    let mut done = 0;
    for (i, b) in doc.basic.iter().enumerate() {
        let at = format!("basic[{i}]");
        if !codes.insert(b.basic_code.clone()) {
            problems.push(duplicate(&format!("{at}.basic_code"), &b.basic_code));
        }
        basic_in_doc.insert(&b.basic_code, &b.elements);
        match prepare_basic(
            &mut conn,
            &store.config.catalog,
            &known,
            &b.basic_code,
            &b.elements,
            &at,
        )
        .await
        {
            Err(StoreError::Domain(e)) => problems.extend(e.errors),
            Err(e) => return Err(e),
            Ok(existing) => {
                if let Some(e) = &existing {
                    let cur = current(&mut conn, e).await?;
                    if cur.elements == b.elements {
                        report.unchanged += 1;
                    } else if e.open_state == Some(VersionState::Submitted) {
                        problems.push(not_editable_at(&at, e));
                    } else {
                        report.changed += 1;
                    }
                } else {
                    report.created += 1;
                }
                ops.push(ImportOp::Basic(Box::new(b.clone())));
            }
        }
        done += 1;
        progress("check", done, total);
    }
    for (i, it) in doc.items.iter().enumerate() {
        let at = format!("items[{i}]");
        let dept = match resolve_department(store, it, &at).await? {
            Ok(d) => d,
            Err(f) => {
                problems.push(f);
                done += 1;
                progress("check", done, total);
                continue;
            }
        };
        let in_doc = basic_in_doc.get(it.basic_code.as_str()).copied();
        match prepare_item(&mut conn, &store.config.catalog, &known, it, &dept, in_doc, &at).await {
            Err(StoreError::Domain(e)) => problems.extend(e.errors),
            Err(e) => return Err(e),
            Ok(p) => {
                if !codes.insert(p.code.clone()) {
                    problems.push(duplicate(&format!("{at}.implementation_code"), &p.code));
                }
                match &p.existing {
                    Some(e) => {
                        let cur = current(&mut conn, e).await?;
                        if cur.elements == p.elements {
                            report.unchanged += 1;
                        } else if e.open_state == Some(VersionState::Submitted) {
                            problems.push(not_editable_at(&at, e));
                        } else {
                            report.changed += 1;
                        }
                    }
                    None => report.created += 1,
                }
                ops.push(ImportOp::Item {
                    doc: Box::new(it.clone()),
                    department_id: dept,
                });
            }
        }
        done += 1;
        progress("check", done, total);
    }
    drop(conn);
    report.data_elements = doc.data_elements.len();
    report.problems = problems.into_iter().map(ImportProblem::of).collect();
    report.ok = report.problems.is_empty();
    if !report.ok || opts.dry_run {
        return Ok(report);
    }
    // Write: data elements and basic entries first (items refer to them), in chunks.
    let n = ops.len();
    let mut written = 0;
    let mut it = ops.into_iter().peekable();
    while it.peek().is_some() {
        let chunk: Vec<ImportOp> = it.by_ref().take(opts.chunk.max(1)).collect();
        let len = chunk.len();
        store
            .write(
                meta.clone(),
                crate::Command::Catalog(Box::new(Cmd::Import(ImportChunk {
                    ops: chunk,
                    submit: opts.submit,
                    region_code: opts.region_code.clone(),
                }))),
            )
            .await?;
        written += len;
        progress("write", written, n);
    }
    Ok(report)
}

fn duplicate(field: &str, code: &str) -> FieldError {
    FieldError::new(
        field,
        "import.duplicate",
        format!("「{code}」在文件中出现了不止一次"),
        format!("'{code}' appears more than once in the document"),
    )
}

fn not_editable_at(at: &str, e: &Entry) -> FieldError {
    FieldError::new(
        at,
        "catalog.not_editable",
        format!(
            "「{}」（{}）已提交审核，导入不能修改它；请先撤回或等待审核",
            e.name, e.code
        ),
        format!(
            "'{}' ({}) awaits review and cannot be changed by an import; recall it or wait for the review",
            e.name, e.code
        ),
    )
}

/// The department an item names, by credit code or by exact name.
async fn resolve_department(store: &Store, it: &ItemDoc, at: &str) -> Result<std::result::Result<String, FieldError>> {
    if let Some(u) = &it.department_uscc {
        return Ok(match orgs::department_by_uscc(&store.read, u).await? {
            Some(d) => Ok(d.id),
            None => Err(FieldError::new(
                format!("{at}.department_uscc"),
                "exists",
                format!("没有统一社会信用代码为「{u}」的部门"),
                format!("no department has the credit code '{u}'"),
            )),
        });
    }
    let Some(name) = &it.department_name else {
        return Ok(Err(FieldError::new(
            format!("{at}.department_uscc"),
            "required",
            "请填写实施部门的统一社会信用代码或名称",
            "name the implementing department by credit code or name",
        )));
    };
    let found: Vec<String> = sqlx::query_scalar("SELECT id FROM departments WHERE name = $1")
        .bind(name.trim())
        .fetch_all(&store.read)
        .await?;
    Ok(match found.len() {
        1 => Ok(found[0].clone()),
        0 => Err(FieldError::new(
            format!("{at}.department_name"),
            "exists",
            format!("没有名为「{name}」的部门"),
            format!("no department is named '{name}'"),
        )),
        _ => Err(FieldError::new(
            format!("{at}.department_name"),
            "import.ambiguous_department",
            format!("有多个名为「{name}」的部门，请改用统一社会信用代码"),
            format!("several departments are named '{name}': use the credit code"),
        )),
    })
}

/// Which content an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportState {
    /// What managers see: the open draft or submission, else the latest publication
    /// (importing this export again changes nothing).
    Current,
    /// Only entries with a publication, as last published.
    Published,
}

/// The catalogue as an interchange document (data elements, basic entries, items with
/// their full elements and their department's code and name).
pub async fn export(store: &Store, state: ExportState) -> Result<CatalogDoc> {
    let mut doc = CatalogDoc::new();
    let rows = sqlx::query("SELECT body FROM data_elements ORDER BY code")
        .fetch_all(&store.read)
        .await?;
    for r in rows {
        let body: String = r.try_get("body")?;
        doc.data_elements.push(serde_json::from_str(&body).map_err(internal)?);
    }
    let departments: HashMap<String, (String, String)> = orgs::departments(&store.read, None)
        .await?
        .into_iter()
        .map(|d| (d.id, (d.uscc, d.name)))
        .collect();
    let mut conn = store.read.acquire().await?;
    let sql = format!("SELECT {ENTRY_COLS} FROM catalog_entries ORDER BY kind, code");
    let entries: Vec<Entry> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(to_entry)
        .collect::<Result<_>>()?;
    for e in entries {
        let v = match state {
            ExportState::Current => current(&mut conn, &e).await?,
            ExportState::Published if e.published_version.is_some() => reference(&mut conn, &e).await?,
            ExportState::Published => continue,
        };
        match e.kind {
            EntryKind::Basic => doc.basic.push(BasicDoc {
                basic_code: e.code,
                elements: v.elements,
            }),
            EntryKind::Item => {
                let (uscc, name) = e
                    .department_id
                    .as_ref()
                    .and_then(|d| departments.get(d))
                    .cloned()
                    .unwrap_or_default();
                doc.items.push(ItemDoc {
                    basic_code: e.basic_code,
                    implementation_code: Some(e.code),
                    department_uscc: Some(uscc),
                    department_name: Some(name),
                    elements: v.elements.to_map(),
                });
            }
        }
    }
    Ok(doc)
}

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
        .map(to_entry)
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub entry_id: String,
    /// 实施编码.
    pub code: String,
    pub basic_code: String,
    pub version: i64,
    pub department_id: String,
    pub department_name: String,
    pub region_code: String,
    pub level: Option<ExerciseLevel>,
    pub effective_from: i64,
    pub until_ms: Option<i64>,
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
    fn condition(self) -> &'static str {
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

const SERVICE_SELECT: &str = "SELECT e.id, e.code, e.basic_code, e.department_id, e.region_code, e.level, v.version, \
     v.elements, v.effective_from, v.until_ms, d.name AS department_name \
     FROM catalog_entries e JOIN catalog_versions v ON v.entry_id = e.id \
     LEFT JOIN departments d ON d.id = e.department_id \
     WHERE e.kind = 'item' AND v.state = 'published' AND v.effective_from <= $1 \
     AND (v.until_ms IS NULL OR v.until_ms > $1)";

fn to_service(r: &sqlx::any::AnyRow) -> Result<Service> {
    let level: Option<String> = r.try_get("level")?;
    let elements: String = r.try_get("elements")?;
    Ok(Service {
        entry_id: r.try_get("id")?,
        code: r.try_get("code")?,
        basic_code: r.try_get("basic_code")?,
        version: r.try_get("version")?,
        department_id: r.try_get::<Option<String>, _>("department_id")?.unwrap_or_default(),
        department_name: r.try_get::<Option<String>, _>("department_name")?.unwrap_or_default(),
        region_code: r.try_get("region_code")?,
        level: level.as_deref().and_then(ExerciseLevel::parse),
        effective_from: r.try_get("effective_from")?,
        until_ms: r.try_get("until_ms")?,
        elements: serde_json::from_str(&elements).map_err(|e| internal(format!("stored elements: {e}")))?,
    })
}

/// The item in force at `at_ms` under an implementation code.
pub async fn service(store: &Store, code: &str, at_ms: i64) -> Result<Option<Service>> {
    let sql = format!("{SERVICE_SELECT} AND e.code = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(at_ms)
        .bind(code)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(to_service)
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
        .map(to_service)
        .transpose()
}

/// Every published version of an item that is or will be in force after `at_ms`
/// (scheduled publications included), with its dates.
pub async fn services_of_entry(store: &Store, entry_id: &str, at_ms: i64) -> Result<Vec<Service>> {
    let sql = "SELECT e.id, e.code, e.basic_code, e.department_id, e.region_code, e.level, v.version, \
     v.elements, v.effective_from, v.until_ms, d.name AS department_name \
     FROM catalog_entries e JOIN catalog_versions v ON v.entry_id = e.id \
     LEFT JOIN departments d ON d.id = e.department_id \
     WHERE e.kind = 'item' AND e.id = $1 AND v.state = 'published' \
     AND (v.until_ms IS NULL OR (v.until_ms > $2 AND v.until_ms > v.effective_from)) ORDER BY v.version";
    sqlx::query(sql)
        .bind(entry_id)
        .bind(at_ms)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(to_service)
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
        let s = to_service(r)?;
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
        .map(to_entry)
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
