//! The writer's licence commands: defining types, issuing, status, annotations, grants.

use super::*;

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::DefineType { department_id, t } => define_type(ctx, department_id, t).await,
        Cmd::Issue(input) => issue(ctx, input).await,
        Cmd::ChangeStatus { licence_id, to, reason } => {
            let s = summary_on(ctx.conn, licence_id).await?;
            core::decide_status(s.status, *to, reason)?;
            ctx.append(
                &stream(licence_id),
                Expect::Exists,
                "licence.status_changed",
                &json!({ "from": s.status, "to": to, "reason": reason.trim() }),
            )
            .await?;
            sqlx::query("UPDATE licences SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(to.as_str())
                .bind(ctx.now_ms)
                .bind(licence_id)
                .execute(&mut *ctx.conn)
                .await?;
            history(ctx, licence_id, "status", Some(*to), reason.trim(), None).await?;
            Ok(json!({ "id": licence_id, "status": to }))
        }
        Cmd::Annotate { licence_id, text } => {
            let mut p = yiwang_core::error::Problems::new();
            p.text("text", text, 500);
            p.finish()?;
            let s = summary_on(ctx.conn, licence_id).await?;
            if s.status.is_final() {
                return Err(DomainError::conflict(
                    "status",
                    "licence.final",
                    format!("证照已{}，不能再加注", s.status.zh()),
                    format!("the licence is {}: it takes no more annotations", s.status.en()),
                )
                .into());
            }
            // 加注件: signed by the issuer's seal like the licence itself.
            let seal = seals::signing_seal(ctx.conn, &s.issuer_department_id)
                .await?
                .ok_or_else(no_seal)?;
            yiwang_core::seals::may_sign(&seal, date_of(ctx.now_ms))?;
            let signer = ctx.keys.signer(ctx.conn, &seal.key_id).await?;
            let bytes = annotation_bytes(licence_id, text.trim(), &seal.key_id, ctx.now_ms);
            let sig = hex::encode(signer.sign(&bytes));
            ctx.append(
                &stream(licence_id),
                Expect::Exists,
                "licence.annotated",
                &json!({ "text": text.trim(), "seal_id": seal.id, "key_id": seal.key_id, "signature": sig }),
            )
            .await?;
            history(ctx, licence_id, "annotation", None, text.trim(), Some(&sig)).await?;
            Ok(json!({ "id": licence_id, "annotated": true }))
        }
        Cmd::Grant(g) => grant(ctx, g).await,
        Cmd::RevokeGrant { grant_id, by } => {
            let row = sqlx::query("SELECT licence_id, granted_by, revoked_at FROM licence_grants WHERE id = $1")
                .bind(grant_id)
                .fetch_optional(&mut *ctx.conn)
                .await?
                .ok_or_else(|| DomainError::not_found("grant_id", "授权", "grant", grant_id))?;
            let granted_by: String = row.try_get("granted_by")?;
            if &granted_by != by {
                return Err(DomainError::one(
                    ErrorKind::NotFound,
                    FieldError::new("grant_id", "exists", "授权不存在", "no such grant of yours"),
                )
                .into());
            }
            let licence_id: String = row.try_get("licence_id")?;
            ctx.append(
                &stream(&licence_id),
                Expect::Exists,
                "licence.grant_revoked",
                &json!({ "grant_id": grant_id }),
            )
            .await?;
            sqlx::query("UPDATE licence_grants SET revoked_at = $1 WHERE id = $2")
                .bind(ctx.now_ms)
                .bind(grant_id)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(json!({ "grant_id": grant_id, "revoked": true }))
        }
    }
}

pub(super) fn stream(id: &str) -> String {
    format!("licence:{id}")
}

pub(super) fn no_seal() -> StoreError {
    DomainError::conflict(
        "department_id",
        "licence.no_seal",
        "颁发部门尚无在用的印章，请先制作印章".into(),
        "the issuing department has no active seal: make one first".into(),
    )
    .into()
}

pub(super) fn annotation_bytes(licence_id: &str, text: &str, key_id: &str, at_ms: i64) -> Vec<u8> {
    format!("yiwang-annotation/1\n{licence_id}\n{text}\n{key_id}\n{at_ms}").into_bytes()
}

pub(super) async fn define_type(ctx: &mut WriteCtx<'_>, department_id: &str, t: &LicenceType) -> Result<Value> {
    let dept = orgs::department(&mut *ctx.conn, department_id)
        .await?
        .ok_or_else(|| DomainError::not_found("department_id", "部门", "department", department_id))?;
    let known = crate::catalog::element_codes(ctx.conn).await?;
    core::check_type(t, &|c| known.contains(c))?;
    if t.definer_uscc() != dept.uscc {
        return Err(DomainError::invalid(vec![FieldError::new(
            "code",
            "licence_type.definer",
            format!("证照类型代码应以定义部门的统一社会信用代码 {} 开头", dept.uscc),
            format!(
                "a licence type code starts with the defining department's credit code {}",
                dept.uscc
            ),
        )])
        .into());
    }
    let exists = type_on(ctx.conn, &t.code).await?.is_some();
    ctx.append(
        &format!("licence_type:{}", t.code),
        if exists { Expect::Exists } else { Expect::New },
        if exists {
            "licence_type.changed"
        } else {
            "licence_type.defined"
        },
        t,
    )
    .await?;
    sqlx::query(
        "INSERT INTO licence_types (code, name, department_id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, body = excluded.body, updated_at = excluded.updated_at",
    )
    .bind(&t.code)
    .bind(&t.name)
    .bind(department_id)
    .bind(serde_json::to_string(t).expect("serialisable"))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "type": t }))
}

/// The keyed index of a holder's code (the same as persons' for ID numbers, so a person
/// finds their licences).
pub fn holder_index(store_pii: &crate::keys::PiiKeys, kind: HolderKind, code: &str) -> String {
    match kind {
        HolderKind::Person => store_pii.index("id_number", &code.trim().to_uppercase()),
        HolderKind::Legal => store_pii.index("uscc", code.trim()),
    }
}

pub(crate) async fn history(
    ctx: &mut WriteCtx<'_>,
    licence_id: &str,
    kind: &str,
    status: Option<Status>,
    text: &str,
    signature: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO licence_history (id, licence_id, kind, status, text, actor, signature, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(licence_id)
    .bind(kind)
    .bind(status.map(|s| s.as_str()))
    .bind(text)
    .bind(&ctx.actor)
    .bind(signature)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

pub(super) async fn grant(ctx: &mut WriteCtx<'_>, g: &GrantInput) -> Result<Value> {
    let mut p = yiwang_core::error::Problems::new();
    p.text("purpose", &g.purpose, 200);
    if !(1..=90).contains(&g.days) {
        p.push(FieldError::new(
            "days",
            "range",
            "授权期限为 1–90 天",
            "a grant lasts 1–90 days",
        ));
    }
    if let Some(item) = &g.item_code {
        p.check(yiwang_core::catalog::check_impl_code("item_code", item).map(|_| ()));
    }
    p.finish()?;
    let s = summary_on(ctx.conn, &g.licence_id).await?;
    core::require_valid(s.status)?;
    let dept = orgs::department(&mut *ctx.conn, &g.department_id)
        .await?
        .ok_or_else(|| DomainError::not_found("department_id", "部门", "department", &g.department_id))?;
    let id = new_id();
    let until = ctx.now_ms + g.days as i64 * 86_400_000;
    ctx.append(
        &stream(&g.licence_id),
        Expect::Exists,
        "licence.granted",
        &json!({ "grant_id": id, "department": dept.name, "item_code": g.item_code, "purpose": g.purpose.trim(),
                 "valid_until_ms": until }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO licence_grants (id, licence_id, department_id, item_code, purpose, granted_by, valid_until, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&g.licence_id)
    .bind(&g.department_id)
    .bind(&g.item_code)
    .bind(g.purpose.trim())
    .bind(&ctx.actor)
    .bind(until)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "grant_id": id, "licence_id": g.licence_id, "department": dept.name, "valid_until_ms": until }))
}
