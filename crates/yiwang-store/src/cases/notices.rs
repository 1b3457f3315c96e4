//! Notices (告知书) and their sealed files.

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub case_id: String,
    pub kind: NoticeKind,
    pub body: Value,
    pub seal_id: Option<String>,
    pub key_id: Option<String>,
    pub signature: Option<String>,
    pub created_at: i64,
}

/// A notice as stored: `NOTICE_COLS`.
pub(super) type StoredNotice = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);
pub(super) const NOTICE_COLS: &str = "id, case_id, kind, body, seal_id, key_id, signature, created_at";

impl TryFrom<StoredNotice> for Notice {
    type Error = String;
    fn try_from(
        (id, case_id, kind, body, seal_id, key_id, signature, created_at): StoredNotice,
    ) -> std::result::Result<Self, String> {
        Ok(Notice {
            kind: kind.try_into()?,
            body: Value::try_from(JsonText::from(body))?,
            id,
            case_id,
            seal_id,
            key_id,
            signature,
            created_at,
        })
    }
}
crate::rows::row_from_stored!(Notice, StoredNotice);

pub async fn notices(store: &Store, case_id: &str) -> Result<Vec<Notice>> {
    let sql = format!("SELECT {NOTICE_COLS} FROM case_notices WHERE case_id = $1 ORDER BY created_at, id");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(case_id)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect()
}

pub async fn notice(store: &Store, id: &str) -> Result<Option<Notice>> {
    let sql = format!("SELECT {NOTICE_COLS} FROM case_notices WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
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

/// A notice an action is expected to issue, prepared (numbered and signed) before the
/// action's command entered the writer, with the part of its body the action supplies.
#[derive(Debug, Clone)]
pub struct PreparedNotice {
    pub kind: NoticeKind,
    pub extra: Value,
    pub notice: Notice,
}

/// What an action brings prepared into the writer: the licence an approval issues and the
/// notices it is expected to issue. The writer uses what matches what it decides, and
/// makes the rest itself.
#[derive(Default, Clone, Copy)]
pub(super) struct Ready<'a> {
    pub licence: Option<&'a licences::PreparedLicence>,
    pub notices: &'a [PreparedNotice],
}

/// A written notice, signed with the department's active seal (《行政许可法》第三十二条:
/// notices are sealed and dated): the one prepared with the same kind and content if there
/// is one, else made here. A department without a seal gets an unsigned notice that says so.
pub(super) async fn add_notice(
    ctx: &mut WriteCtx<'_>,
    row: &CaseRow,
    kind: NoticeKind,
    extra: Value,
    ready: &Ready<'_>,
) -> Result<()> {
    if let Some(p) = ready
        .notices
        .iter()
        .find(|p| p.kind == kind && p.extra == extra && p.notice.case_id == row.id)
    {
        return store_prepared_notice(ctx, &p.notice).await;
    }
    let dept = crate::orgs::department(&mut *ctx.conn, &row.department_id).await?;
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
    let mut n = notice_of(
        &row.into(),
        dept.as_ref().map(|d| d.name.as_str()),
        kind,
        extra,
        year,
        seq,
        seal.as_ref(),
        ctx.now_ms,
    );
    if let Some(s) = &seal {
        let signer = ctx.keys.signer(ctx.conn, &s.key_id).await?;
        n.signature = Some(hex::encode(signer.sign(&notice_bytes(&n))));
    }
    insert_notice(ctx, &n).await
}

/// What a notice is about: a case, or a bundle case (一件事: its number, the bundle's code
/// and name, the lead department).
pub(crate) struct NoticeFor<'a> {
    pub id: &'a str,
    pub item_code: &'a str,
    pub item_name: &'a str,
    pub applicant_name: &'a str,
    pub department_id: &'a str,
}

impl<'a> From<&'a CaseRow> for NoticeFor<'a> {
    fn from(r: &'a CaseRow) -> Self {
        NoticeFor {
            id: &r.id,
            item_code: &r.item_code,
            item_name: &r.item_name,
            applicant_name: &r.applicant_name,
            department_id: &r.department_id,
        }
    }
}

/// A notice as issued: case, kind, body with its document number (文号), the seal it is
/// to be signed with (unsigned yet).
#[allow(clippy::too_many_arguments)]
fn notice_of(
    row: &NoticeFor<'_>,
    dept_name: Option<&str>,
    kind: NoticeKind,
    extra: Value,
    year: i32,
    seq: i64,
    seal: Option<&yiwang_core::seals::Seal>,
    at_ms: i64,
) -> Notice {
    let mut body = json!({ "case_id": row.id, "item_code": row.item_code, "item_name": row.item_name,
        "applicant_name": row.applicant_name, "department": dept_name,
        "title": kind.zh(), "title_en": kind.en() });
    if let (Value::Object(b), Value::Object(x)) = (&mut body, extra) {
        b.extend(x);
    }
    body["doc_no"] = json!(core::doc_number(dept_name.unwrap_or(""), kind, year, seq));
    Notice {
        id: new_id(),
        case_id: row.id.to_string(),
        kind,
        body,
        seal_id: seal.map(|s| s.id.clone()),
        key_id: seal.map(|s| s.key_id.clone()),
        signature: None,
        created_at: at_ms,
    }
}

/// A notice prepared on the request task, before its command enters the writer (the
/// receipt, DESIGN "The write path"): numbered from this process's block of document
/// numbers and signed with the department's active seal, so the writer only stores it.
pub(crate) async fn prepare_notice(
    store: &Store,
    row: &NoticeFor<'_>,
    dept_name: Option<&str>,
    kind: NoticeKind,
    extra: Value,
    at_ms: i64,
) -> Result<Notice> {
    let seal = crate::refdata::signing_seal(store, row.department_id).await?;
    let today = date_of(at_ms);
    let seal = seal.filter(|s| yiwang_core::seals::may_sign(s, today).is_ok());
    let year = chrono::Datelike::year(&today);
    let counter = crate::numbers::Counter::DocNumber {
        department_id: row.department_id.to_string(),
        year,
        kind: kind.as_str(),
    };
    let seq = crate::numbers::next(store, counter).await?;
    let mut n = notice_of(row, dept_name, kind, extra, year, seq, seal.as_ref(), at_ms);
    if let Some(s) = &seal {
        let signer = store.keyring.signer_from(&store.read, &s.key_id).await?;
        n.signature = Some(hex::encode(signer.sign(&notice_bytes(&n))));
    }
    Ok(n)
}

/// Stores a notice prepared by `prepare_notice`. Its seal is checked once more inside the
/// batch (a seal revoked between preparing and storing must not sign it): if it is no
/// longer active, the notice keeps its number and is signed here with the department's
/// seal as it now stands (or stored unsigned, saying so, like `add_notice`).
pub(crate) async fn store_prepared_notice(ctx: &mut WriteCtx<'_>, n: &Notice) -> Result<()> {
    let Some(seal_id) = &n.seal_id else {
        return insert_notice(ctx, n).await;
    };
    if seal_active(ctx, seal_id).await? {
        return insert_notice(ctx, n).await;
    }
    let department_id: String = sqlx::query_scalar("SELECT department_id FROM seals WHERE id = $1")
        .bind(seal_id)
        .fetch_one(&mut *ctx.conn)
        .await?;
    let seal = seals::signing_seal(ctx.conn, &department_id)
        .await?
        .filter(|s| yiwang_core::seals::may_sign(s, date_of(n.created_at)).is_ok());
    let mut n = n.clone();
    n.seal_id = seal.as_ref().map(|s| s.id.clone());
    n.key_id = seal.as_ref().map(|s| s.key_id.clone());
    n.signature = None;
    if let Some(s) = &seal {
        let signer = ctx.keys.signer(ctx.conn, &s.key_id).await?;
        n.signature = Some(hex::encode(signer.sign(&notice_bytes(&n))));
    }
    insert_notice(ctx, &n).await
}

/// Is a seal still active? Read once per batch and seal (`Batch::seals_active`; a seal
/// command in the batch clears it).
pub(crate) async fn seal_active(ctx: &mut WriteCtx<'_>, seal_id: &str) -> Result<bool> {
    if let Some(a) = ctx.batch.seals_active.get(seal_id) {
        return Ok(*a);
    }
    let active: Option<i64> = sqlx::query_scalar("SELECT 1 FROM seals WHERE id = $1 AND status = 'active'")
        .bind(seal_id)
        .fetch_optional(&mut *ctx.conn)
        .await?;
    ctx.batch.seals_active.insert(seal_id.to_string(), active.is_some());
    Ok(active.is_some())
}

async fn insert_notice(ctx: &mut WriteCtx<'_>, n: &Notice) -> Result<()> {
    use crate::deferred::{Arg, Table};
    // Inserted at the end of the batch (`deferred`): nothing in the batch reads it back.
    let row = vec![
        Arg::Text(n.id.clone()),
        Arg::Text(n.case_id.clone()),
        Arg::Text(n.kind.as_str().to_string()),
        Arg::Text(n.body.to_string()),
        Arg::OptText(n.seal_id.clone()),
        Arg::OptText(n.key_id.clone()),
        Arg::OptText(n.signature.clone()),
        Arg::Int(n.created_at),
    ];
    ctx.batch.deferred.push(Table::Notices, row);
    Ok(())
}
