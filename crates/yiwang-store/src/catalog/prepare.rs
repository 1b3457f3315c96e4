//! Preparing entries before they enter the writer.

use super::*;

/// Checks a basic entry's code and elements; returns the existing entry with that code.
pub(super) async fn prepare_basic(
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
pub(super) struct PreparedItem {
    pub(super) code: String,
    pub(super) region_code: String,
    pub(super) level: ExerciseLevel,
    pub(super) elements: Elements,
    pub(super) existing: Option<Entry>,
}

/// Resolves and checks an implementation item: its basic entry (from the database, or
/// `basic_in_doc` when the same import creates it), department, level, code and elements.
pub(super) async fn prepare_item(
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
pub(super) async fn check_entry_elements(
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

pub(super) async fn basic_of(conn: &mut AnyConnection, item: &Entry) -> Result<Version> {
    let b = entry_by_code(conn, &item.basic_code)
        .await?
        .ok_or_else(|| internal(format!("basic entry {} of {} is missing", item.basic_code, item.code)))?;
    reference(conn, &b).await
}

pub(super) fn check_dates(d: &Dates, now: i64) -> Result<(), DomainError> {
    let today = day_start_ms(date_of(now));
    core::check_publication_dates(
        d.effective_from.map(day_start_ms).unwrap_or(today),
        d.cancel_on.map(day_start_ms),
        today,
    )
}

pub(super) fn normalized(e: &Elements) -> Elements {
    let mut e = e.clone();
    e.normalize();
    e
}

pub(super) fn stream(id: &str) -> String {
    format!("catalog:{id}")
}
