//! Notices (告知书) and their sealed files.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Notice {
    pub id: String,
    pub case_id: String,
    #[sqlx(try_from = "String")]
    pub kind: NoticeKind,
    #[sqlx(try_from = "JsonText")]
    pub body: Value,
    pub seal_id: Option<String>,
    pub key_id: Option<String>,
    pub signature: Option<String>,
    pub created_at: i64,
}

pub async fn notices(store: &Store, case_id: &str) -> Result<Vec<Notice>> {
    sqlx::query("SELECT * FROM case_notices WHERE case_id = $1 ORDER BY created_at, id")
        .bind(case_id)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

pub async fn notice(store: &Store, id: &str) -> Result<Option<Notice>> {
    sqlx::query("SELECT * FROM case_notices WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

/// The bytes a notice's seal signs: kind, case and body, canonical JSON.
pub fn notice_bytes(n: &Notice) -> Vec<u8> {
    serde_json::to_vec(
        &json!({ "id": n.id, "case_id": n.case_id, "kind": n.kind, "body": n.body,
        "key_id": n.key_id, "at": n.created_at }),
    )
    .expect("serialisable")
}

/// Checks a notice's seal signature against the seal's public key.
pub async fn verify_notice(store: &Store, n: &Notice) -> Result<bool> {
    let (Some(key_id), Some(sig)) = (&n.key_id, &n.signature) else {
        return Ok(false);
    };
    let Some(k) = seals::trusted_key_by_id(store, key_id).await? else {
        return Ok(false);
    };
    let (Ok(sig), Ok(pk)) = (hex::decode(sig), hex::decode(&k.public_key)) else {
        return Ok(false);
    };
    Ok(yiwang_crypto::verify(&pk, &notice_bytes(n), &sig).is_ok())
}

/// A written notice, signed with the department's active seal (《行政许可法》第三十二条:
/// notices are sealed and dated). A department without a seal gets an unsigned notice
/// that says so.
pub(super) async fn add_notice(ctx: &mut WriteCtx<'_>, row: &CaseRow, kind: NoticeKind, extra: Value) -> Result<()> {
    let dept = crate::orgs::department(&mut *ctx.conn, &row.department_id).await?;
    let mut body = json!({ "case_id": row.id, "item_code": row.item_code, "item_name": row.item_name,
        "applicant_name": row.applicant_name, "department": dept.as_ref().map(|d| d.name.clone()),
        "title": kind.zh(), "title_en": kind.en() });
    if let (Value::Object(b), Value::Object(x)) = (&mut body, extra) {
        b.extend(x);
    }
    let seal = seals::signing_seal(ctx.conn, &row.department_id).await?;
    let today = date_of(ctx.now_ms);
    let seal = seal.filter(|s| yiwang_core::seals::may_sign(s, today).is_ok());
    // The next running number of this department, year and kind, in the same transaction.
    let year = chrono::Datelike::year(&today);
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO doc_numbers (department_id, year, kind, last) VALUES ($1, $2, $3, 1)
         ON CONFLICT (department_id, year, kind) DO UPDATE SET last = doc_numbers.last + 1 RETURNING last",
    )
    .bind(&row.department_id)
    .bind(year as i64)
    .bind(kind.as_str())
    .fetch_one(&mut *ctx.conn)
    .await?;
    let dept_name = dept.as_ref().map(|d| d.name.as_str()).unwrap_or("");
    body["doc_no"] = json!(core::doc_number(dept_name, kind, year, seq));
    let mut n = Notice {
        id: new_id(),
        case_id: row.id.clone(),
        kind,
        body,
        seal_id: seal.as_ref().map(|s| s.id.clone()),
        key_id: seal.as_ref().map(|s| s.key_id.clone()),
        signature: None,
        created_at: ctx.now_ms,
    };
    if let Some(s) = &seal {
        let signer = ctx.keys.signer(ctx.conn, &s.key_id).await?;
        n.signature = Some(hex::encode(signer.sign(&notice_bytes(&n))));
    }
    sqlx::query(
        "INSERT INTO case_notices (id, case_id, kind, body, seal_id, key_id, signature, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&n.id)
    .bind(&n.case_id)
    .bind(kind.as_str())
    .bind(n.body.to_string())
    .bind(&n.seal_id)
    .bind(&n.key_id)
    .bind(&n.signature)
    .bind(n.created_at)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}
