//! Reads and verification.

use super::*;

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

pub(super) const SUMMARY_COLS: &str = "id, type_code, type_name, number, issuer_department_id, issuer_uscc, holder_kind, \
     holder_name, holder_masked, seal_id, status, issued_on, valid_until, related_item, case_id, qr_payload";

/// A row's status as it stands today, and its validity end.
fn status_today(r: &sqlx::any::AnyRow) -> Result<(Status, Option<String>)> {
    let status: String = r.try_get("status")?;
    let valid_until: Option<String> = r.try_get("valid_until")?;
    let mut status = Status::parse(&status).ok_or_else(|| sql_err("licence status"))?;
    // Past its validity a licence is expired (失效), whatever was recorded.
    if status == Status::Valid
        && valid_until
            .as_deref()
            .and_then(|u| u.parse::<NaiveDate>().ok())
            .is_some_and(|u| u < crate::today())
    {
        status = Status::Expired;
    }
    Ok((status, valid_until))
}

pub(super) fn to_summary(r: &sqlx::any::AnyRow) -> Result<LicenceSummary> {
    let kind: String = r.try_get("holder_kind")?;
    let (status, valid_until) = status_today(r)?;
    Ok(LicenceSummary {
        id: r.try_get("id")?,
        type_code: r.try_get("type_code")?,
        type_name: r.try_get("type_name")?,
        number: r.try_get("number")?,
        issuer_department_id: r.try_get("issuer_department_id")?,
        issuer_uscc: r.try_get("issuer_uscc")?,
        holder_kind: HolderKind::parse(&kind).ok_or_else(|| sql_err("holder kind"))?,
        holder_name: r.try_get("holder_name")?,
        holder_masked: r.try_get("holder_masked")?,
        seal_id: r.try_get("seal_id")?,
        status,
        issued_on: r.try_get("issued_on")?,
        valid_until,
        related_item: r.try_get("related_item")?,
        case_id: r.try_get("case_id")?,
        qr_payload: r.try_get("qr_payload")?,
        node: None,
    })
}

const RECOGNISED_COLS: &str = "id, type_code, type_name, number, issuer_uscc, holder_kind, holder_name, holder_masked, \
     seal_id, status, issued_on, valid_until, related_item, node";

fn recognised_summary(r: &sqlx::any::AnyRow) -> Result<LicenceSummary> {
    let kind: String = r.try_get("holder_kind")?;
    let (status, valid_until) = status_today(r)?;
    Ok(LicenceSummary {
        id: r.try_get("id")?,
        type_code: r.try_get("type_code")?,
        type_name: r.try_get("type_name")?,
        number: r.try_get("number")?,
        issuer_department_id: String::new(),
        issuer_uscc: r.try_get("issuer_uscc")?,
        holder_kind: HolderKind::parse(&kind).ok_or_else(|| sql_err("holder kind"))?,
        holder_name: r.try_get("holder_name")?,
        holder_masked: r.try_get("holder_masked")?,
        seal_id: r.try_get("seal_id")?,
        status,
        issued_on: r.try_get("issued_on")?,
        valid_until,
        related_item: r.try_get("related_item")?,
        case_id: None,
        qr_payload: String::new(),
        node: Some(r.try_get("node")?),
    })
}

/// The licences other nodes issued that this holder presented here and that were
/// recognised (互认; `federation::recognise`), with the status their issuer last gave.
pub async fn recognised_of_holder(store: &Store, index: &str) -> Result<Vec<LicenceSummary>> {
    let sql = format!("SELECT {RECOGNISED_COLS} FROM fed_licences WHERE holder_index = $1 ORDER BY created_ms DESC");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(index)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(recognised_summary)
        .collect()
}

pub(crate) async fn summary_on(conn: &mut AnyConnection, id: &str) -> Result<LicenceSummary> {
    let sql = format!("SELECT {SUMMARY_COLS} FROM licences WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(to_summary)
        .transpose()?
        .ok_or_else(|| DomainError::not_found("licence_id", "电子证照", "licence", id).into())
}

pub async fn summary(store: &Store, id: &str) -> Result<Option<LicenceSummary>> {
    let mut c = store.read.acquire().await?;
    match summary_on(&mut c, id).await {
        Ok(s) => Ok(Some(s)),
        Err(StoreError::Domain(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Licences of a holder (by their code's keyed index), newest first; then those other
/// nodes issued that were recognised here (互认).
pub async fn of_holder(store: &Store, index: &str) -> Result<Vec<LicenceSummary>> {
    let sql = format!("SELECT {SUMMARY_COLS} FROM licences WHERE holder_index = $1 ORDER BY created_at DESC");
    let mut list = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(index)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(to_summary)
        .collect::<Result<Vec<_>>>()?;
    list.extend(recognised_of_holder(store, index).await?);
    Ok(list)
}

/// What an application may use of a holder's licences: the newest valid one of each type
/// (what the prefill reads a face from), with its sealed data, and the ones `named` (offered
/// in place of a material, whatever their state, so the pre-check can say why one may not
/// be used). One statement for the newest, one more only when the application names others:
/// a holder of many licences costs no more than one per type.
pub async fn usable_of_holder(
    store: &Store,
    index: &str,
    named: &[&str],
) -> Result<(Vec<LicenceSummary>, std::collections::HashMap<String, String>)> {
    let sql = format!(
        "SELECT {SUMMARY_COLS}, data_enc FROM licences WHERE id IN (
           SELECT id FROM (
             SELECT id, ROW_NUMBER() OVER (PARTITION BY type_code ORDER BY created_at DESC, id DESC) AS rn
             FROM licences
             WHERE holder_index = $1 AND status = 'valid' AND (valid_until IS NULL OR valid_until >= $2)
           ) newest WHERE rn = 1)
         ORDER BY created_at DESC, id DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(index)
        .bind(crate::today().to_string())
        .fetch_all(&store.read)
        .await?;
    let mut list = Vec::with_capacity(rows.len());
    let mut sealed = std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        let s = to_summary(r)?;
        sealed.insert(s.id.clone(), r.try_get::<String, _>("data_enc")?);
        list.push(s);
    }
    let others: Vec<&str> = named.iter().copied().filter(|id| !sealed.contains_key(*id)).collect();
    if !others.is_empty() {
        let mut marks = crate::db::Marks::of(store.engine);
        let holder = marks.one();
        let sql = format!(
            "SELECT {SUMMARY_COLS} FROM licences WHERE holder_index = {holder} AND id IN ({})",
            marks.list(others.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(index);
        for id in &others {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&store.read).await? {
            list.push(to_summary(&r)?);
        }
    }
    // Recognised licences of other nodes (互认): a holder presents few; after this node's
    // own, so a type this node issued is read from its own licence first.
    list.extend(recognised_of_holder(store, index).await?);
    Ok((list, sealed))
}

/// A licence's data from its sealed column (read by [`usable_of_holder`]).
pub fn open_data(store: &Store, id: &str, sealed: &str) -> Result<LicenceData> {
    let bytes = store.pii.open_bytes(&format!("licences.data:{id}"), sealed)?;
    serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))
}

/// Of `held`, the valid licences of type `type_code`: what issuing one more would
/// duplicate (重复发证), for a warning before a decision or an officer issues it.
pub fn valid_of_type(held: Vec<LicenceSummary>, type_code: &str) -> Vec<LicenceSummary> {
    held.into_iter()
        .filter(|l| l.type_code == type_code && l.status == Status::Valid)
        .collect()
}

/// The valid licences of type `type_code` the holder with this code already holds.
pub async fn duplicates(store: &Store, type_code: &str, holder: HolderKind, code: &str) -> Result<Vec<LicenceSummary>> {
    let held = of_holder(store, &holder_index(&store.pii, holder, &code.trim().to_uppercase())).await?;
    // Only this node's own: issuing here does not duplicate a licence another node issued.
    Ok(valid_of_type(
        held.into_iter().filter(|l| l.node.is_none()).collect(),
        type_code,
    ))
}

/// A person's licences (their wallet).
pub async fn of_person(store: &Store, person_id: &str) -> Result<Vec<LicenceSummary>> {
    let index: Option<String> = sqlx::query_scalar("SELECT id_number_index FROM persons WHERE id = $1")
        .bind(person_id)
        .fetch_optional(&store.read)
        .await?;
    match index {
        Some(i) => of_holder(store, &i).await,
        None => Ok(vec![]),
    }
}

/// A legal person's licences.
pub async fn of_legal(store: &Store, uscc: &str) -> Result<Vec<LicenceSummary>> {
    of_holder(store, &holder_index(&store.pii, HolderKind::Legal, uscc)).await
}

/// Licences a department issued, newest first.
pub async fn issued_by(store: &Store, department_id: &str) -> Result<Vec<LicenceSummary>> {
    let sql = format!(
        "SELECT {SUMMARY_COLS} FROM licences WHERE issuer_department_id = $1 ORDER BY created_at DESC LIMIT 500"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(department_id)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(to_summary)
        .collect()
}

/// The full licence file (decrypted data and signature). Reading it discloses the holder's
/// identifier: callers record that use where the reader is not the holder.
pub async fn file(store: &Store, id: &str) -> Result<Option<LicenceFile>> {
    let row = sqlx::query("SELECT data_enc, signature FROM licences WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let enc: String = row.try_get("data_enc")?;
    let sig: String = row.try_get("signature")?;
    let bytes = store.pii.open_bytes(&format!("licences.data:{id}"), &enc)?;
    Ok(Some(LicenceFile {
        format: "yiwang-licence".into(),
        data: serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))?,
        signature: serde_json::from_str(&sig).map_err(|e| sql_err(&e.to_string()))?,
    }))
}

pub async fn history_of(store: &Store, id: &str) -> Result<Vec<HistoryEntry>> {
    let rows = sqlx::query(
        "SELECT kind, status, text, actor, signature, at FROM licence_history WHERE licence_id = $1 ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            let status: Option<String> = r.try_get("status")?;
            Ok(HistoryEntry {
                kind: r.try_get("kind")?,
                status: status.as_deref().and_then(Status::parse),
                text: r.try_get("text")?,
                actor: r.try_get("actor")?,
                signature: r.try_get("signature")?,
                at_ms: r.try_get("at")?,
            })
        })
        .collect()
}

pub(super) fn sm2_ok(pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    yiwang_crypto::verify(pk, msg, sig).is_ok()
}

/// Verifies a licence file against the trusted keys (this node's seals, imported trust
/// lists); adds the live status and the seal's certification when this node issued it.
pub async fn verify_file(store: &Store, f: &LicenceFile) -> Result<Verification> {
    let key = seals::trusted_key_by_id(store, &f.signature.key_id).await?;
    let local = summary(store, &f.data.id).await?;
    let mut v = core::verify_file(
        f,
        key.as_ref(),
        &sm2_ok,
        crate::today(),
        local.as_ref().map(|s| s.status),
    );
    if let Some(s) = seals::seal(store, &f.signature.seal_id).await? {
        let ok = seals::certified(store, &s).await?;
        v.checks.insert(
            1,
            yiwang_core::licences::Check {
                name: "seal_certified".into(),
                ok,
                zh: if ok {
                    "印章由本平台制章者签发".into()
                } else {
                    "印章记录未通过制章者验证".into()
                },
                en: if ok {
                    "the seal is certified by this platform's seal maker".into()
                } else {
                    "the seal record fails the seal maker's certification".into()
                },
            },
        );
        if !ok {
            v.valid = false;
            v.reason
                .get_or_insert("the seal record fails the seal maker's certification".into());
        }
    } else if local.is_none() {
        v.checks.push(yiwang_core::licences::Check {
            name: "status".into(),
            ok: true,
            zh: "由外地机构颁发：当前状态请向颁发机构查询".into(),
            en: "issued elsewhere: ask the issuer for its current status".into(),
        });
    }
    Ok(v)
}

/// Verifies a licence issued here by its identifier.
pub async fn verify_id(store: &Store, id: &str) -> Result<Option<(LicenceFile, Verification)>> {
    match file(store, id).await? {
        None => Ok(None),
        Some(f) => {
            let v = verify_file(store, &f).await?;
            Ok(Some((f, v)))
        }
    }
}

/// Verifies a QR payload as an offline verifier would (trust list only), then adds the
/// live status when the licence is this node's.
pub async fn verify_qr(store: &Store, payload: &str) -> Result<(Option<QrClaims>, Verification)> {
    let keys = seals::trusted_keys(store).await?;
    let (claims, mut v) = core::verify_qr(
        payload,
        &|k| keys.iter().find(|x| x.key_id == k).cloned(),
        &sm2_ok,
        crate::today(),
    );
    if let Some(c) = &claims
        && let Some(s) = summary(store, &c.i).await?
    {
        let ok = s.status == Status::Valid;
        v.checks.push(yiwang_core::licences::Check {
            name: "status".into(),
            ok,
            zh: format!("颁发机构记录的状态：{}", s.status.zh()),
            en: format!("the issuer records it as {}", s.status.en()),
        });
        if !ok {
            v.valid = false;
            v.reason
                .get_or_insert(format!("the issuer records it as {}", s.status.en()));
        }
    }
    Ok((claims, v))
}
