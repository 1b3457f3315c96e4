//! The writer's catalogue commands: dispatcher and checks.

use super::*;

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

pub(super) async fn load(conn: &mut AnyConnection, id: &str) -> Result<Entry> {
    entry(conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("entry_id", "事项", "catalogue entry", id).into())
}

pub(super) async fn generate_basic_code(ctx: &mut WriteCtx<'_>, region_code: &str, e: &Elements) -> Result<String> {
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

pub(super) fn with_prefix(prefix: &str, mut e: DomainError) -> DomainError {
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

pub(super) fn check(
    policy: &CatalogPolicy,
    known: &HashSet<String>,
    e: &Elements,
    prefix: &str,
) -> Result<(), DomainError> {
    core::check_elements(e, policy, &|c| known.contains(c))
        .finish()
        .map_err(|err| with_prefix(prefix, err))
}
