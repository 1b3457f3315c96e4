//! 一件事 definitions (STANDARDS §5): bundles of items of several departments, versioned with
//! the catalogue's four-eyes workflow (`yiwang_core::catalog::decide_action`: a draft is
//! submitted by its editors and published by another manager). The projections `bundles`,
//! `bundle_versions` and `bundle_members` (which items each bundle's open and published
//! versions name, so a change to an item shows on the bundles that use it).
//!
//! A definition is checked against the items in force it names (`yiwang_core::bundles::check`)
//! on the request task, when saved and again when published: the writer only decides the
//! workflow step and stores.

use crate::catalog::Service;
use crate::ledger::Expect;
use crate::rows::{JsonText, OptionalCode, read};
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, Written, new_id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::AnyConnection;
use std::collections::{BTreeMap, BTreeSet};
use yiwang_core::bundles::{self as core, BundleDoc, Guide, MemberItem};
use yiwang_core::catalog::{Action, OpenVersion, Transition, VersionState, decide_action};
use yiwang_core::error::{DomainError, FieldError};

#[derive(Debug, Clone)]
pub enum Cmd {
    /// Saves the definition as its bundle's draft (creating the bundle on its first save).
    /// `base_version`: the version the editor started from.
    Save {
        doc: Box<BundleDoc>,
        base_version: Option<i64>,
    },
    Act {
        bundle_id: String,
        action: Action,
        /// A publication: the version of each member item in force as checked (a later
        /// version of an item flags the bundle for review).
        pinned: BTreeMap<String, i64>,
    },
    /// An application for a bundle (`apply`).
    Apply(Box<ApplyCmd>),
    /// A bundle case moves on (`progress`).
    Advance(Box<AdvanceCmd>),
}

impl Cmd {
    /// The streams a command opens (read as absent at the start of the batch).
    pub(crate) fn new_streams(&self) -> Vec<String> {
        match self {
            Cmd::Apply(a) => a.new_streams(),
            Cmd::Advance(a) => a.new_streams(),
            _ => vec![],
        }
    }
}

/// A bundle as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Bundle {
    pub id: String,
    pub code: String,
    pub region_code: String,
    pub lead_department_id: String,
    pub name: String,
    pub latest_version: i64,
    pub open_version: Option<i64>,
    #[sqlx(try_from = "OptionalCode")]
    pub open_state: Option<VersionState>,
    pub published_version: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One version of a bundle's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct BundleVersion {
    pub bundle_id: String,
    pub version: i64,
    #[sqlx(try_from = "String")]
    pub state: VersionState,
    #[sqlx(try_from = "JsonText")]
    pub doc: BundleDoc,
    #[sqlx(try_from = "JsonText")]
    pub editors: Vec<String>,
    pub submitted_by: Option<String>,
    pub reviewed_by: Option<String>,
    pub return_reasons: Option<String>,
    pub published_at: Option<i64>,
    /// Published: superseded from this instant.
    pub until_ms: Option<i64>,
    /// Published: the version of each member item (by code) in force when it was checked.
    #[sqlx(try_from = "JsonText")]
    pub pinned: BTreeMap<String, i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const BUNDLE_COLS: &str = "id, code, region_code, lead_department_id, name, latest_version, open_version, \
     open_state, published_version, created_at, updated_at";
const VERSION_COLS: &str = "bundle_id, version, state, doc, editors, submitted_by, reviewed_by, return_reasons, \
     published_at, until_ms, pinned, created_at, updated_at";

fn stream(id: &str) -> String {
    format!("bundle:{id}")
}

mod apply;
pub use apply::*;
mod progress;
pub use progress::*;

use crate::internal;

// ---------------------------------------------------------------------------------------
// Services (API, pages, CLI and the demo call these)
// ---------------------------------------------------------------------------------------

/// The items in force a definition names, by implementation code (a code not in force is
/// left out: `core::check` names it).
pub async fn member_services(store: &Store, doc: &BundleDoc, at_ms: i64) -> Result<BTreeMap<String, Service>> {
    let mut out = BTreeMap::new();
    for m in &doc.members {
        let s = match &m.node {
            // 多地联办: the partner's item as it published it.
            Some(node) => crate::federation::joint_service(store, node, &m.item_code).await?,
            None => crate::catalog::service(store, &m.item_code, at_ms).await?,
        };
        if let Some(s) = s {
            out.insert(m.item_code.clone(), s);
        }
    }
    Ok(out)
}

fn member_items(services: &BTreeMap<String, Service>) -> BTreeMap<String, MemberItem<'_>> {
    services
        .iter()
        .map(|(code, s)| {
            (
                code.clone(),
                MemberItem {
                    code,
                    region_code: &s.region_code,
                    department_id: &s.department_id,
                    department_name: &s.department_name,
                    elements: &s.elements,
                },
            )
        })
        .collect()
}

/// Checks a definition against the catalogue in force now and its lead department.
pub async fn check(store: &Store, doc: &BundleDoc) -> Result<()> {
    check_with(store, doc, &member_services(store, doc, crate::now_ms()).await?).await
}

/// [`check`] against the member items already read.
async fn check_with(store: &Store, doc: &BundleDoc, services: &BTreeMap<String, Service>) -> Result<()> {
    let mut problems = match core::check(doc, &member_items(services)) {
        Ok(()) => vec![],
        Err(e) => e.errors,
    };
    // A member decided at a partner node: offered there for 多地联办 under an agreement in
    // force that lets this node deliver its result (the reason replaces "not in force").
    for (i, m) in doc.members.iter().enumerate() {
        let Some(node) = &m.node else { continue };
        let field = format!("members[{i}].node");
        if let Some(e) = crate::federation::joint_problem(store, &field, node, &m.item_code).await? {
            let item_field = format!("members[{i}].item_code");
            problems.retain(|x| !(x.field == item_field && x.rule == "bundles.unpublished_item"));
            problems.push(e);
        }
    }
    match crate::refdata::department(store, &doc.lead_department_id).await? {
        None => problems.push(FieldError::new(
            "lead_department_id",
            "bundles.unknown_department",
            format!("没有部门「{}」", doc.lead_department_id),
            format!("there is no department '{}'", doc.lead_department_id),
        )),
        // The lead department answers for the bundle in its region (牵头).
        Some(d) if !yiwang_core::access::region_within(&doc.region_code, &d.region_code) => {
            problems.push(FieldError::new(
                "lead_department_id",
                "bundles.foreign_region",
                format!("牵头部门「{}」不在一件事的区划 {} 内", d.name, doc.region_code),
                format!(
                    "the lead department '{}' is outside the bundle's region {}",
                    d.name, doc.region_code
                ),
            ))
        }
        Some(_) => {}
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(DomainError::invalid(problems).into())
    }
}

/// Saves a definition as a draft, after checking it against the catalogue in force.
pub async fn save(store: &Store, meta: Meta, doc: BundleDoc, base_version: Option<i64>) -> Result<Written> {
    check(store, &doc).await?;
    store
        .write(
            meta,
            Command::Bundles(Box::new(Cmd::Save {
                doc: Box::new(doc),
                base_version,
            })),
        )
        .await
}

/// Submit, recall, return, publish or discard the open version. A publication checks the
/// definition against the catalogue in force again (an item may have ended meanwhile).
pub async fn act(store: &Store, meta: Meta, bundle_id: &str, action: Action) -> Result<Written> {
    let mut pinned = BTreeMap::new();
    if action == Action::Publish {
        let b = bundle(store, bundle_id).await?.ok_or_else(|| not_found(bundle_id))?;
        if let Some(v) = b.open_version
            && let Some(v) = version(store, bundle_id, v).await?
        {
            // Checked and pinned against the same reading of the items in force.
            let services = member_services(store, &v.doc, crate::now_ms()).await?;
            check_with(store, &v.doc, &services).await?;
            pinned = services.into_iter().map(|(code, s)| (code, s.version)).collect();
        }
    }
    store
        .write(
            meta,
            Command::Bundles(Box::new(Cmd::Act {
                bundle_id: bundle_id.into(),
                action,
                pinned,
            })),
        )
        .await
}

fn not_found(id: &str) -> StoreError {
    DomainError::not_found("bundle_id", "一件事", "bundle", id).into()
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

async fn bundle_where(conn: &mut AnyConnection, col: &str, v: &str) -> Result<Option<Bundle>> {
    let sql = format!("SELECT {BUNDLE_COLS} FROM bundles WHERE {col} = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(v)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

async fn version_in(conn: &mut AnyConnection, id: &str, v: i64) -> Result<Option<BundleVersion>> {
    let sql = format!("SELECT {VERSION_COLS} FROM bundle_versions WHERE bundle_id = $1 AND version = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(v)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

pub async fn bundle(store: &Store, id: &str) -> Result<Option<Bundle>> {
    bundle_where(&mut *store.read.acquire().await?, "id", id).await
}

pub async fn bundle_by_code(store: &Store, code: &str) -> Result<Option<Bundle>> {
    bundle_where(&mut *store.read.acquire().await?, "code", code).await
}

pub async fn version(store: &Store, id: &str, v: i64) -> Result<Option<BundleVersion>> {
    version_in(&mut *store.read.acquire().await?, id, v).await
}

/// What a bundle's definition says now for its managers (the open version, else the
/// published one), and the open version's state.
pub async fn current_doc(store: &Store, code: &str) -> Result<Option<(BundleDoc, Option<VersionState>)>> {
    let Some(b) = bundle_by_code(store, code).await? else {
        return Ok(None);
    };
    let Some(v) = b.open_version.or(b.published_version) else {
        return Ok(None);
    };
    Ok(version(store, &b.id, v).await?.map(|v| (v.doc, b.open_state)))
}

/// Every bundle (the managers' list), by region and code.
pub async fn bundles(store: &Store) -> Result<Vec<Bundle>> {
    let sql = format!("SELECT {BUNDLE_COLS} FROM bundles ORDER BY region_code, code");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// The published definitions in force (the portal's 一件事 list), by code.
pub async fn published(store: &Store) -> Result<Vec<BundleVersion>> {
    let sql = format!(
        "SELECT {} FROM bundles b JOIN bundle_versions v ON v.bundle_id = b.id AND v.version = b.published_version \
         ORDER BY b.code",
        VERSION_COLS
            .split(", ")
            .map(|c| format!("v.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

/// The published bundles a search names (the portal's search shows them first): the words
/// typed contain the bundle's name or one of its other names (开饭店需要哪些证 → 开办餐饮店
/// by its alias 开饭店), or, for two characters or more, are part of one (出生 → 新生儿出生).
/// A province has tens of bundles, not thousands: they are matched here, in full, from the
/// reference-data cache (cleared by every `bundle.` event).
pub async fn matching(store: &Store, q: &str) -> Result<Vec<BundleVersion>> {
    let q: String = q
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    if q.chars().count() < 2 {
        return Ok(vec![]);
    }
    let named = |n: &str| {
        let n = n.to_lowercase();
        !n.is_empty() && (q.contains(&n) || n.contains(&q))
    };
    Ok(crate::refdata::published_bundles(store)
        .await?
        .iter()
        .filter(|v| {
            named(&v.doc.name)
                || v.doc.name_en.as_deref().is_some_and(named)
                || v.doc.aliases.iter().any(|a| named(a))
                || named(&v.doc.theme)
        })
        .cloned()
        .collect())
}

/// The published definition of a bundle code, if any.
pub async fn published_of(store: &Store, code: &str) -> Result<Option<(Bundle, BundleVersion)>> {
    let Some(b) = bundle_by_code(store, code).await? else {
        return Ok(None);
    };
    let Some(p) = b.published_version else { return Ok(None) };
    Ok(version(store, &b.id, p).await?.map(|v| (b, v)))
}

/// The bundles whose open or published versions name an item (a change to the item is
/// flagged on them).
pub async fn bundles_of_item(store: &Store, item_code: &str) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT bundle_id FROM bundle_members WHERE item_code = $1 ORDER BY bundle_id")
            .bind(item_code)
            .fetch_all(&store.read)
            .await?,
    )
}

/// A bundle's merged guide as the portal shows it.
#[derive(Debug, Clone, Serialize)]
pub struct GuideView {
    pub bundle: Bundle,
    pub version: BundleVersion,
    pub guide: Guide,
    /// Members whose item took a new version after this definition was published, or is
    /// no longer in force: the managers review the bundle.
    pub changed_members: Vec<String>,
}

/// The members whose item took a new version after the bundle's publication, or is no
/// longer in force (the managers review the bundle).
fn changed_of(version: &BundleVersion, services: &BTreeMap<String, Service>) -> Vec<String> {
    version
        .doc
        .members
        .iter()
        .filter(|m| {
            services
                .get(&m.item_code)
                .is_none_or(|s| version.pinned.get(&m.item_code) != Some(&s.version))
        })
        .map(|m| m.key.clone())
        .collect()
}

/// The changed members of a published bundle, without building its guide (the managers'
/// list).
pub async fn changed_members(store: &Store, code: &str) -> Result<Vec<String>> {
    let Some((_, version)) = published_of(store, code).await? else {
        return Ok(vec![]);
    };
    let services = member_services(store, &version.doc, crate::now_ms()).await?;
    Ok(changed_of(&version, &services))
}

/// The merged guide of a published bundle for a set of answers.
pub async fn guide(store: &Store, code: &str, answers: &BTreeMap<String, String>) -> Result<Option<GuideView>> {
    let Some((bundle, version)) = published_of(store, code).await? else {
        return Ok(None);
    };
    let services = member_services(store, &version.doc, crate::now_ms()).await?;
    let guide = core::guide(&version.doc, &member_items(&services), answers)?;
    let changed_members = changed_of(&version, &services);
    Ok(Some(GuideView {
        bundle,
        version,
        guide,
        changed_members,
    }))
}

// ---------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::Save { doc, base_version } => save_cmd(ctx, doc, *base_version).await,
        Cmd::Act {
            bundle_id,
            action,
            pinned,
        } => act_cmd(ctx, bundle_id, action, pinned).await,
        Cmd::Apply(a) => apply_cmd(ctx, a).await,
        Cmd::Advance(a) => advance_cmd(ctx, a).await,
    }
}

fn open_of(v: &BundleVersion) -> OpenVersion {
    OpenVersion {
        version: v.version,
        state: v.state,
        editors: v.editors.clone(),
        submitted_by: v.submitted_by.clone(),
    }
}

async fn open_version(ctx: &mut WriteCtx<'_>, b: &Bundle) -> Result<Option<BundleVersion>> {
    match b.open_version {
        Some(v) => version_in(ctx.conn, &b.id, v).await,
        None => Ok(None),
    }
}

async fn save_cmd(ctx: &mut WriteCtx<'_>, doc: &BundleDoc, base_version: Option<i64>) -> Result<Value> {
    let existing = bundle_where(ctx.conn, "code", &doc.code).await?;
    if let (Some(b), Some(base)) = (&existing, base_version)
        && base != b.latest_version
    {
        return Err(DomainError::conflict(
            "base_version",
            "catalog.stale",
            format!(
                "该一件事已被他人修改（现为第 {} 版，您编辑的是第 {base} 版），请刷新后再编辑",
                b.latest_version
            ),
            format!(
                "someone else changed this bundle (now version {}, you edited version {base}); reload and edit again",
                b.latest_version
            ),
        )
        .into());
    }
    let b = match existing {
        Some(b) => {
            if b.region_code != doc.region_code {
                return Err(DomainError::invalid(vec![FieldError::new(
                    "region_code",
                    "bundles.region_fixed",
                    format!("一件事 {} 属于区划 {}，不能改变", b.code, b.region_code),
                    format!(
                        "bundle {} belongs to region {}: that cannot change",
                        b.code, b.region_code
                    ),
                )])
                .into());
            }
            b
        }
        None => {
            let id = new_id();
            ctx.append(
                &stream(&id),
                Expect::New,
                "bundle.created",
                &json!({ "id": id, "code": doc.code, "region_code": doc.region_code }),
            )
            .await?;
            Bundle {
                id,
                code: doc.code.clone(),
                region_code: doc.region_code.clone(),
                lead_department_id: doc.lead_department_id.clone(),
                name: doc.name.clone(),
                latest_version: 0,
                open_version: None,
                open_state: None,
                published_version: None,
                created_at: ctx.now_ms,
                updated_at: ctx.now_ms,
            }
        }
    };
    let open = open_version(ctx, &b).await?;
    let t = decide_action(
        open.as_ref().map(open_of).as_ref(),
        b.latest_version,
        &Action::SaveDraft,
        &ctx.actor,
    )?;
    let v = match t {
        Transition::NewDraft(v) | Transition::To(v, _) => v,
    };
    if open.as_ref().is_some_and(|o| o.doc == *doc) {
        return Ok(json!({ "bundle": b, "version": v })); // nothing changed: no event
    }
    ctx.append(
        &stream(&b.id),
        Expect::Exists,
        "bundle.draft_saved",
        &json!({ "version": v, "doc": doc }),
    )
    .await?;
    let mut editors = open.as_ref().map(|o| o.editors.clone()).unwrap_or_default();
    if !editors.contains(&ctx.actor) {
        editors.push(ctx.actor.clone());
    }
    let row = BundleVersion {
        bundle_id: b.id.clone(),
        version: v,
        state: VersionState::Draft,
        doc: doc.clone(),
        editors,
        submitted_by: None,
        reviewed_by: None,
        return_reasons: open.as_ref().and_then(|o| o.return_reasons.clone()),
        published_at: None,
        until_ms: None,
        pinned: BTreeMap::new(),
        created_at: open.as_ref().map_or(ctx.now_ms, |o| o.created_at),
        updated_at: ctx.now_ms,
    };
    write_version(ctx, &row).await?;
    let mut b = b;
    b.name = doc.name.clone();
    b.lead_department_id = doc.lead_department_id.clone();
    b.latest_version = b.latest_version.max(v);
    b.open_version = Some(v);
    b.open_state = Some(VersionState::Draft);
    b.updated_at = ctx.now_ms;
    write_bundle(ctx, &b).await?;
    write_members(ctx, &b).await?;
    Ok(json!({ "bundle": b, "version": v }))
}

async fn act_cmd(
    ctx: &mut WriteCtx<'_>,
    bundle_id: &str,
    action: &Action,
    pinned: &BTreeMap<String, i64>,
) -> Result<Value> {
    let mut b = bundle_where(ctx.conn, "id", bundle_id)
        .await?
        .ok_or_else(|| not_found(bundle_id))?;
    let open = open_version(ctx, &b).await?;
    let t = decide_action(
        open.as_ref().map(open_of).as_ref(),
        b.latest_version,
        action,
        &ctx.actor,
    )?;
    let (Transition::To(v, to), Some(mut row)) = (t, open) else {
        return Err(internal("workflow action without an open version"));
    };
    let step = yiwang_core::catalog::record_step(
        action,
        &ctx.actor,
        &mut row.submitted_by,
        &mut row.reviewed_by,
        &mut row.return_reasons,
    )
    .ok_or_else(|| internal("saving goes through Cmd::Save"))?;
    if *action == Action::Publish {
        row.published_at = Some(ctx.now_ms);
        row.pinned = pinned.clone();
    }
    let kind = format!("bundle.{step}");
    ctx.append(
        &stream(&b.id),
        Expect::Exists,
        &kind,
        &json!({ "version": v, "reasons": row.return_reasons, "pinned": row.pinned }),
    )
    .await?;
    row.state = to;
    row.updated_at = ctx.now_ms;
    match to {
        VersionState::Draft | VersionState::Submitted => b.open_state = Some(to),
        VersionState::Published => {
            // The version it replaces is in force until now.
            if let Some(p) = b.published_version {
                sqlx::query(
                    "UPDATE bundle_versions SET until_ms = $1, updated_at = $1 WHERE bundle_id = $2 AND version = $3",
                )
                .bind(ctx.now_ms)
                .bind(&b.id)
                .bind(p)
                .execute(&mut *ctx.conn)
                .await?;
            }
            b.open_version = None;
            b.open_state = None;
            b.published_version = Some(v);
        }
        VersionState::Discarded => {
            b.open_version = None;
            b.open_state = None;
            if let Some(p) = b.published_version
                && let Some(pv) = version_in(ctx.conn, &b.id, p).await?
            {
                b.name = pv.doc.name;
                b.lead_department_id = pv.doc.lead_department_id;
            }
        }
    }
    write_version(ctx, &row).await?;
    b.updated_at = ctx.now_ms;
    write_bundle(ctx, &b).await?;
    write_members(ctx, &b).await?;
    Ok(json!({ "bundle": b, "version": v }))
}

async fn write_version(ctx: &mut WriteCtx<'_>, v: &BundleVersion) -> Result<()> {
    sqlx::query(
        "INSERT INTO bundle_versions (bundle_id, version, state, doc, editors, submitted_by, reviewed_by,
           return_reasons, published_at, until_ms, pinned, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (bundle_id, version) DO UPDATE SET state = excluded.state, doc = excluded.doc,
           editors = excluded.editors, submitted_by = excluded.submitted_by, reviewed_by = excluded.reviewed_by,
           return_reasons = excluded.return_reasons, published_at = excluded.published_at,
           until_ms = excluded.until_ms, pinned = excluded.pinned, updated_at = excluded.updated_at",
    )
    .bind(&v.bundle_id)
    .bind(v.version)
    .bind(v.state.as_str())
    .bind(serde_json::to_string(&v.doc).map_err(internal)?)
    .bind(serde_json::to_string(&v.editors).map_err(internal)?)
    .bind(&v.submitted_by)
    .bind(&v.reviewed_by)
    .bind(&v.return_reasons)
    .bind(v.published_at)
    .bind(v.until_ms)
    .bind(serde_json::to_string(&v.pinned).map_err(internal)?)
    .bind(v.created_at)
    .bind(v.updated_at)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

async fn write_bundle(ctx: &mut WriteCtx<'_>, b: &Bundle) -> Result<()> {
    sqlx::query(
        "INSERT INTO bundles (id, code, region_code, lead_department_id, name, latest_version, open_version,
           open_state, published_version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET lead_department_id = excluded.lead_department_id, name = excluded.name,
           latest_version = excluded.latest_version, open_version = excluded.open_version,
           open_state = excluded.open_state, published_version = excluded.published_version,
           updated_at = excluded.updated_at",
    )
    .bind(&b.id)
    .bind(&b.code)
    .bind(&b.region_code)
    .bind(&b.lead_department_id)
    .bind(&b.name)
    .bind(b.latest_version)
    .bind(b.open_version)
    .bind(b.open_state.map(|s| s.as_str()))
    .bind(b.published_version)
    .bind(b.created_at)
    .bind(b.updated_at)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// The items the bundle's open and published versions name.
async fn write_members(ctx: &mut WriteCtx<'_>, b: &Bundle) -> Result<()> {
    let mut codes: BTreeSet<String> = BTreeSet::new();
    for v in [b.open_version, b.published_version].into_iter().flatten() {
        if let Some(v) = version_in(ctx.conn, &b.id, v).await? {
            codes.extend(v.doc.members.into_iter().map(|m| m.item_code));
        }
    }
    sqlx::query("DELETE FROM bundle_members WHERE bundle_id = $1")
        .bind(&b.id)
        .execute(&mut *ctx.conn)
        .await?;
    for c in codes {
        sqlx::query("INSERT INTO bundle_members (item_code, bundle_id) VALUES ($1, $2)")
            .bind(&c)
            .bind(&b.id)
            .execute(&mut *ctx.conn)
            .await?;
    }
    Ok(())
}
