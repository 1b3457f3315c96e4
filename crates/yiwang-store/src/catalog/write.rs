//! Writing entries and versions, publication and cascades.

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) async fn create_entry(
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
pub(super) async fn save_draft(ctx: &mut WriteCtx<'_>, e: &Entry, elements: &Elements, dates: &Dates) -> Result<i64> {
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

pub(super) fn open_of(v: &Version) -> OpenVersion {
    OpenVersion {
        version: v.version,
        state: v.state,
        editors: v.editors.clone(),
        submitted_by: v.submitted_by.clone(),
    }
}

/// Submit, recall, return, publish or discard; returns the version acted on.
pub(super) async fn act(ctx: &mut WriteCtx<'_>, e: &Entry, action: &Action) -> Result<i64> {
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
    let step = core::record_step(
        action,
        &ctx.actor,
        &mut row.submitted_by,
        &mut row.reviewed_by,
        &mut row.return_reasons,
    )
    .ok_or_else(|| internal("saving goes through save_draft"))?;
    if *action == Action::Publish {
        prepare_publication(ctx, e, &mut row).await?;
    }
    let kind = format!("catalog.{step}");
    ctx.append(
        &stream(&e.id),
        Expect::Exists,
        &kind,
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
pub(super) async fn prepare_publication(ctx: &mut WriteCtx<'_>, e: &Entry, row: &mut Version) -> Result<()> {
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
pub(super) async fn refresh_validity(ctx: &mut WriteCtx<'_>, entry_id: &str) -> Result<()> {
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
pub(super) async fn cascade(ctx: &mut WriteCtx<'_>, basic: &Entry, published: &Version) -> Result<()> {
    let sql = format!("SELECT {ENTRY_COLS} FROM catalog_entries WHERE kind = 'item' AND basic_code = $1 ORDER BY code");
    let items: Vec<Entry> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&basic.code)
        .fetch_all(&mut *ctx.conn)
        .await?
        .iter()
        .map(read)
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

pub(super) async fn write_entry(ctx: &mut WriteCtx<'_>, e: &Entry) -> Result<()> {
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

pub(super) async fn write_version(ctx: &mut WriteCtx<'_>, v: &Version, policy: &CatalogPolicy) -> Result<()> {
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

pub(super) async fn save_element(ctx: &mut WriteCtx<'_>, d: &DataElement) -> Result<bool> {
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
