//! Presentations (亮证) and use instead of a submitted material.

use super::*;

// ---------------------------------------------------------------------------------------
// Presentations (亮证)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Presentation {
    /// Licence id.
    pub(super) i: String,
    /// Valid until (epoch ms).
    pub(super) x: i64,
    /// Nonce.
    pub(super) n: String,
}

pub const PRESENTATION_PREFIX: &str = "YWP1";

/// A short-lived token showing a licence (the holder's phone shows it as a QR code);
/// signed by the platform, valid for `minutes`.
pub fn present(store: &Store, licence_id: &str, minutes: i64) -> (String, i64) {
    let until = crate::now_ms() + minutes * 60_000;
    let p = Presentation {
        i: licence_id.into(),
        x: until,
        n: new_id(),
    };
    let b = core::b64url_encode(&serde_json::to_vec(&p).expect("serialisable"));
    let sig = store
        .seal_maker
        .signer
        .sign(format!("{PRESENTATION_PREFIX}.{b}").as_bytes());
    (
        format!("{PRESENTATION_PREFIX}.{b}.{}", core::b64url_encode(&sig)),
        until,
    )
}

/// The licence a presentation token shows, if the token is genuine and not expired.
pub fn check_presentation(store: &Store, token: &str) -> std::result::Result<(String, i64), (String, String)> {
    let bad = || {
        (
            "展示码无效".to_string(),
            "the presentation code is not valid".to_string(),
        )
    };
    let mut parts = token.split('.');
    let (Some(PRESENTATION_PREFIX), Some(b), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let sig = core::b64url_decode(s).ok_or_else(bad)?;
    if yiwang_crypto::verify(
        &store.seal_maker.signer.public_key(),
        format!("{PRESENTATION_PREFIX}.{b}").as_bytes(),
        &sig,
    )
    .is_err()
    {
        return Err(bad());
    }
    let p: Presentation = core::b64url_decode(b)
        .and_then(|j| serde_json::from_slice(&j).ok())
        .ok_or_else(bad)?;
    if crate::now_ms() > p.x {
        return Err((
            "展示码已过期，请持证人重新出示".into(),
            "the presentation code has expired: ask the holder to show it again".into(),
        ));
    }
    Ok((p.i, p.x))
}

// ---------------------------------------------------------------------------------------
// Use instead of a submitted material (免提交)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    pub id: String,
    pub licence_id: String,
    pub department_id: String,
    pub department_name: String,
    pub item_code: Option<String>,
    pub purpose: String,
    pub granted_by: String,
    pub valid_until_ms: i64,
    pub revoked_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

pub async fn grants_of(store: &Store, licence_id: &str) -> Result<Vec<Grant>> {
    let rows = sqlx::query(
        "SELECT g.id, g.licence_id, g.department_id, d.name AS department_name, g.item_code, g.purpose, g.granted_by,
           g.valid_until, g.revoked_at, g.created_at
         FROM licence_grants g LEFT JOIN departments d ON d.id = g.department_id
         WHERE g.licence_id = $1 ORDER BY g.created_at DESC",
    )
    .bind(licence_id)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Grant {
                id: r.try_get("id")?,
                licence_id: r.try_get("licence_id")?,
                department_id: r.try_get("department_id")?,
                department_name: r.try_get::<Option<String>, _>("department_name")?.unwrap_or_default(),
                item_code: r.try_get("item_code")?,
                purpose: r.try_get("purpose")?,
                granted_by: r.try_get("granted_by")?,
                valid_until_ms: r.try_get("valid_until")?,
                revoked_at_ms: r.try_get("revoked_at")?,
                created_at_ms: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn grant_by_id(store: &Store, grant_id: &str) -> Result<Option<Grant>> {
    let row: Option<String> = sqlx::query_scalar("SELECT licence_id FROM licence_grants WHERE id = $1")
        .bind(grant_id)
        .fetch_optional(&store.read)
        .await?;
    match row {
        Some(l) => Ok(grants_of(store, &l).await?.into_iter().find(|g| g.id == grant_id)),
        None => Ok(None),
    }
}

/// A licence used in place of a material: verified, with the trust level of material it
/// counts as.
#[derive(Debug, Clone, Serialize)]
pub struct LicenceUse {
    pub file: LicenceFile,
    pub verification: Verification,
    /// A: issued by the authority (国办函〔2016〕108号 material trust levels).
    pub trust_level: &'static str,
}

/// A department uses a licence under a grant: the grant must be its own, current and not
/// revoked; the licence valid and verified. The read is recorded in the holder's
/// data-use log first (a person holder) with the grant's purpose.
pub async fn use_licence(
    store: &Store,
    meta: Meta,
    reader: &datause::Reader,
    grant_id: &str,
    department_id: &str,
) -> Result<LicenceUse> {
    let refuse = |rule: &str, zh: &str, en: &str| {
        StoreError::from(DomainError::one(
            ErrorKind::Conflict,
            FieldError::new("grant_id", rule, zh, en),
        ))
    };
    let g = grant_by_id(store, grant_id)
        .await?
        .filter(|g| g.department_id == department_id)
        .ok_or_else(|| DomainError::not_found("grant_id", "授权", "grant", grant_id))?;
    if g.revoked_at_ms.is_some() {
        return Err(refuse(
            "grant.revoked",
            "持证人已撤回授权",
            "the holder revoked the grant",
        ));
    }
    if crate::now_ms() > g.valid_until_ms {
        return Err(refuse("grant.expired", "授权已过期", "the grant has expired"));
    }
    let Some((file, verification)) = verify_id(store, &g.licence_id).await? else {
        return Err(DomainError::not_found("licence_id", "电子证照", "licence", &g.licence_id).into());
    };
    if !verification.valid {
        return Err(refuse(
            "licence.not_verified",
            "证照未通过验证，不能代替材料",
            "the licence does not verify and cannot stand in for a material",
        ));
    }
    record_read(
        store,
        meta,
        reader,
        &file,
        &format!("使用电子证照「{}」代替申请材料：{}", file.data.type_name, g.purpose),
    )
    .await?;
    Ok(LicenceUse {
        file,
        verification,
        trust_level: "A",
    })
}

/// Records in a person holder's data-use log that `reader` read their licence in full.
pub(super) async fn record_read(
    store: &Store,
    meta: Meta,
    reader: &datause::Reader,
    file: &LicenceFile,
    purpose: &str,
) -> Result<()> {
    if file.data.holder_kind != HolderKind::Person {
        return Ok(());
    }
    let person: Option<String> = sqlx::query_scalar("SELECT id FROM persons WHERE id_number_index = $1")
        .bind(holder_index(&store.pii, HolderKind::Person, &file.data.holder_code))
        .fetch_optional(&store.read)
        .await?;
    let Some(pid) = person else { return Ok(()) };
    datause::record(
        store,
        meta,
        reader,
        &pid,
        vec![
            yiwang_core::datause::PersonalField::Name,
            yiwang_core::datause::PersonalField::IdNumber,
        ],
        true,
        purpose,
        None,
    )
    .await
}

/// The full licence as staff read it: the read is recorded in a person holder's data-use
/// log first (个人信息保护法 art. 14: the purpose is stated).
pub async fn read_file(
    store: &Store,
    meta: Meta,
    reader: &datause::Reader,
    id: &str,
    purpose: &str,
) -> Result<Option<LicenceFile>> {
    let Some(file) = file(store, id).await? else {
        return Ok(None);
    };
    record_read(store, meta, reader, &file, purpose).await?;
    Ok(Some(file))
}

/// The licences of a person or of a legal person (the wallet of whoever is acting).
pub async fn of_subject(store: &Store, subject: &yiwang_core::mandates::Subject) -> Result<Vec<LicenceSummary>> {
    use yiwang_core::mandates::Subject;
    match subject {
        Subject::Person(p) => of_person(store, p).await,
        Subject::Legal(l) => match crate::accounts::legal_person(&store.read, l).await? {
            Some(lp) => of_legal(store, &lp.uscc).await,
            None => Ok(vec![]),
        },
    }
}

/// A licence of the subject's, or None when it is not theirs (or does not exist).
pub async fn held_by(
    store: &Store,
    subject: &yiwang_core::mandates::Subject,
    id: &str,
) -> Result<Option<LicenceSummary>> {
    Ok(of_subject(store, subject).await?.into_iter().find(|l| l.id == id))
}
