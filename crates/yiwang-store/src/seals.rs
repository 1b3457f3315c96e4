//! Seals: making one (its SM2 key generated and sealed under the master key, the record
//! certified by the platform as seal maker), rotating it (a new key takes over; the old one
//! verifies what it signed before), revoking it; the seal a department signs with; and the
//! keys verifiers trust — this node's seals and seal maker plus imported trust lists.

use crate::keys::SEAL_MAKER_KEY_ID;
use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, date_of, day_start_ms, new_id, orgs};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};
use yiwang_core::licences::TrustedKey;
use yiwang_core::seals::{self as core, Purpose, Seal, SealInput, SealStatus};
use yiwang_core::{DomainError, FieldError};
use yiwang_crypto::Signer;

#[derive(Debug, Clone)]
pub enum Cmd {
    Make(SealInput),
    /// A new key and record take over from the seal (same department, purpose and name).
    Rotate {
        seal_id: String,
        reason: String,
    },
    Revoke {
        seal_id: String,
        reason: String,
    },
    /// Adds the keys of another node's trust list (mutual recognition).
    ImportTrust {
        source: String,
        keys: Vec<TrustedKey>,
    },
    /// Removes an imported key from the trust list.
    Distrust {
        key_id: String,
    },
}

const COLS: &str = "id, name, department_id, owner_uscc, owner_name, purpose, valid_from, valid_until, key_id, \
     public_key, image_sm3, maker_key_id, maker_signature, status, ended_at, end_reason, created_at";

fn to_seal(r: &sqlx::any::AnyRow) -> Result<Seal> {
    let date = |c: &str| -> Result<chrono::NaiveDate> {
        let s: String = r.try_get(c)?;
        s.parse().map_err(|_| StoreError::Internal(format!("seal {c}: {s}")))
    };
    let purpose: String = r.try_get("purpose")?;
    let status: String = r.try_get("status")?;
    Ok(Seal {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        department_id: r.try_get("department_id")?,
        owner_uscc: r.try_get("owner_uscc")?,
        owner_name: r.try_get("owner_name")?,
        purpose: Purpose::parse(&purpose).ok_or_else(|| StoreError::Internal(format!("purpose {purpose}")))?,
        valid_from: date("valid_from")?,
        valid_until: date("valid_until")?,
        key_id: r.try_get("key_id")?,
        public_key: r.try_get("public_key")?,
        image_sm3: r.try_get("image_sm3")?,
        maker_key_id: r.try_get("maker_key_id")?,
        maker_signature: r.try_get("maker_signature")?,
        status: SealStatus::parse(&status).ok_or_else(|| StoreError::Internal(format!("status {status}")))?,
        ended_at_ms: r.try_get("ended_at")?,
        end_reason: r.try_get("end_reason")?,
        created_at_ms: r.try_get("created_at")?,
    })
}

pub async fn seal_on(conn: &mut AnyConnection, id: &str) -> Result<Option<Seal>> {
    let sql = format!("SELECT {COLS} FROM seals WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(to_seal)
        .transpose()
}

pub async fn seal(store: &Store, id: &str) -> Result<Option<Seal>> {
    let mut c = store.read.acquire().await?;
    seal_on(&mut c, id).await
}

/// Seals, newest first (of one department, or all).
pub async fn seals(store: &Store, department_id: Option<&str>) -> Result<Vec<Seal>> {
    let sql = format!("SELECT {COLS} FROM seals ORDER BY created_at DESC");
    let all: Vec<Seal> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(to_seal)
        .collect::<Result<_>>()?;
    Ok(all
        .into_iter()
        .filter(|s| department_id.is_none_or(|d| s.department_id == d))
        .collect())
}

/// The seal image (SVG).
pub async fn image(store: &Store, id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT image_svg FROM seals WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?)
}

/// The seal a department signs licences and notices with: its active e-licence seal,
/// else its approval seal, else its official seal.
pub async fn signing_seal(conn: &mut AnyConnection, department_id: &str) -> Result<Option<Seal>> {
    let sql = format!("SELECT {COLS} FROM seals WHERE department_id = $1 AND status = 'active'");
    let seals: Vec<Seal> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(department_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(to_seal)
        .collect::<Result<_>>()?;
    Ok([Purpose::Licence, Purpose::Approval, Purpose::Official]
        .into_iter()
        .find_map(|p| seals.iter().find(|s| s.purpose == p).cloned()))
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::Make(input) => {
            let dept = orgs::department(&mut *ctx.conn, &input.department_id)
                .await?
                .ok_or_else(|| DomainError::not_found("department_id", "部门", "department", &input.department_id))?;
            let (name, from, until) = core::decide_new(input, &dept.name, date_of(ctx.now_ms))?;
            // 一枚印章管审批: one active seal per department and purpose.
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT id FROM seals WHERE department_id = $1 AND purpose = $2 AND status = 'active'",
            )
            .bind(&dept.id)
            .bind(input.purpose.as_str())
            .fetch_optional(&mut *ctx.conn)
            .await?;
            if existing.is_some() {
                return Err(DomainError::conflict(
                    "purpose",
                    "seal.exists",
                    "该部门已有在用的同类印章；如需更换请使用印章更换".into(),
                    "the department already has an active seal of this purpose: rotate it instead".into(),
                )
                .into());
            }
            let seal = make(ctx, &dept, input.purpose, &name, from, until).await?;
            Ok(json!({ "seal": seal }))
        }
        Cmd::Rotate { seal_id, reason } => {
            let old = load(ctx, seal_id).await?;
            core::decide_end(&old, reason)?;
            end(ctx, &old, SealStatus::Superseded, reason).await?;
            let dept = orgs::department(&mut *ctx.conn, &old.department_id)
                .await?
                .ok_or_else(|| StoreError::Internal("seal department vanished".into()))?;
            let today = date_of(ctx.now_ms);
            let until = if old.valid_until > today {
                old.valid_until
            } else {
                today.checked_add_months(chrono::Months::new(60)).expect("date")
            };
            let seal = make(ctx, &dept, old.purpose, &old.name, today, until).await?;
            Ok(json!({ "seal": seal, "superseded": old.id }))
        }
        Cmd::Revoke { seal_id, reason } => {
            let s = load(ctx, seal_id).await?;
            core::decide_end(&s, reason)?;
            let s = end(ctx, &s, SealStatus::Revoked, reason).await?;
            Ok(json!({ "seal": s }))
        }
        Cmd::ImportTrust { source, keys } => import_trust(ctx, source, keys).await,
        Cmd::Distrust { key_id } => {
            let n = sqlx::query("SELECT key_id FROM trusted_keys WHERE key_id = $1")
                .bind(key_id)
                .fetch_optional(&mut *ctx.conn)
                .await?;
            if n.is_none() {
                return Err(DomainError::not_found("key_id", "信任密钥", "trusted key", key_id).into());
            }
            ctx.append(
                &format!("trust:{key_id}"),
                Expect::Any,
                "trust.removed",
                &json!({ "key_id": key_id }),
            )
            .await?;
            sqlx::query("DELETE FROM trusted_keys WHERE key_id = $1")
                .bind(key_id)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(json!({ "removed": key_id }))
        }
    }
}

async fn load(ctx: &mut WriteCtx<'_>, id: &str) -> Result<Seal> {
    seal_on(ctx.conn, id)
        .await?
        .ok_or_else(|| DomainError::not_found("seal_id", "印章", "seal", id).into())
}

async fn make(
    ctx: &mut WriteCtx<'_>,
    dept: &yiwang_core::orgs::Department,
    purpose: Purpose,
    name: &str,
    from: chrono::NaiveDate,
    until: chrono::NaiveDate,
) -> Result<Seal> {
    let id = new_id();
    let key_id = format!("seal-{id}");
    let (key, sealed) = ctx.keys.new_key(&key_id);
    // The seal's short number on its image: the credit code's organisation part.
    let image = core::image_svg(&dept.name, purpose, &dept.uscc[8..17]);
    let mut seal = Seal {
        id: id.clone(),
        name: name.to_string(),
        department_id: dept.id.clone(),
        owner_uscc: dept.uscc.clone(),
        owner_name: dept.name.clone(),
        purpose,
        valid_from: from,
        valid_until: until,
        key_id: key_id.clone(),
        public_key: hex::encode(key.public_key()),
        image_sm3: hex::encode(yiwang_crypto::sm3(image.as_bytes())),
        maker_key_id: SEAL_MAKER_KEY_ID.into(),
        maker_signature: String::new(),
        status: SealStatus::Active,
        ended_at_ms: None,
        end_reason: None,
        created_at_ms: ctx.now_ms,
    };
    let maker = ctx.keys.signer(ctx.conn, SEAL_MAKER_KEY_ID).await?;
    seal.maker_signature = hex::encode(maker.sign(&core::certified_bytes(&seal)));
    ctx.append(&format!("seal:{id}"), Expect::New, "seal.made", &seal)
        .await?;
    sqlx::query(
        "INSERT INTO node_keys (id, purpose, public_key, sealed_secret, created_at, active) VALUES ($1, 'seal', $2, $3, $4, 1)",
    )
    .bind(&key_id)
    .bind(&seal.public_key)
    .bind(sealed)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    sqlx::query(
        "INSERT INTO seals (id, name, department_id, owner_uscc, owner_name, purpose, valid_from, valid_until, key_id,
           public_key, image_svg, image_sm3, maker_key_id, maker_signature, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'active', $15, $15)",
    )
    .bind(&seal.id)
    .bind(&seal.name)
    .bind(&seal.department_id)
    .bind(&seal.owner_uscc)
    .bind(&seal.owner_name)
    .bind(purpose.as_str())
    .bind(from.to_string())
    .bind(until.to_string())
    .bind(&key_id)
    .bind(&seal.public_key)
    .bind(&image)
    .bind(&seal.image_sm3)
    .bind(&seal.maker_key_id)
    .bind(&seal.maker_signature)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(seal)
}

async fn end(ctx: &mut WriteCtx<'_>, s: &Seal, to: SealStatus, reason: &str) -> Result<Seal> {
    let kind = match to {
        SealStatus::Revoked => "seal.revoked",
        _ => "seal.superseded",
    };
    ctx.append(
        &format!("seal:{}", s.id),
        Expect::Exists,
        kind,
        &json!({ "seal_id": s.id, "reason": reason.trim() }),
    )
    .await?;
    sqlx::query("UPDATE seals SET status = $1, ended_at = $2, end_reason = $3, updated_at = $2 WHERE id = $4")
        .bind(to.as_str())
        .bind(ctx.now_ms)
        .bind(reason.trim())
        .bind(&s.id)
        .execute(&mut *ctx.conn)
        .await?;
    sqlx::query("UPDATE node_keys SET active = 0 WHERE id = $1")
        .bind(&s.key_id)
        .execute(&mut *ctx.conn)
        .await?;
    let mut s = s.clone();
    s.status = to;
    s.ended_at_ms = Some(ctx.now_ms);
    s.end_reason = Some(reason.trim().to_string());
    Ok(s)
}

/// A seal as verifiers see its key: usable from its first day to the end of its last
/// day (China time), and not from its revocation or supersession on.
pub fn trusted_key(s: &Seal) -> TrustedKey {
    TrustedKey {
        key_id: s.key_id.clone(),
        seal_id: Some(s.id.clone()),
        owner_uscc: s.owner_uscc.clone(),
        owner_name: s.owner_name.clone(),
        purpose: "seal".into(),
        public_key: s.public_key.clone(),
        valid_from_ms: day_start_ms(s.valid_from),
        valid_until_ms: Some(day_start_ms(s.valid_until.succ_opt().expect("date")) - 1),
        revoked_at_ms: s.ended_at_ms,
    }
}

/// Is the seal record certified by this node's seal maker (and its image the certified one)?
pub async fn certified(store: &Store, s: &Seal) -> Result<bool> {
    let image = image(store, &s.id).await?.unwrap_or_default();
    if hex::encode(yiwang_crypto::sm3(image.as_bytes())) != s.image_sm3 || s.maker_key_id != SEAL_MAKER_KEY_ID {
        return Ok(false);
    }
    let sig = hex::decode(&s.maker_signature).unwrap_or_default();
    Ok(yiwang_crypto::verify(&store.seal_maker.signer.public_key(), &core::certified_bytes(s), &sig).is_ok())
}

/// Every key this node trusts: its seals, its seal maker, and imported keys.
pub async fn trusted_keys(store: &Store) -> Result<Vec<TrustedKey>> {
    let mut out: Vec<TrustedKey> = seals(store, None).await?.iter().map(trusted_key).collect();
    out.push(seal_maker_key(store));
    out.extend(imported_keys(store).await?.into_iter().map(|(k, _)| k));
    Ok(out)
}

/// This node's seal-maker key as a trust-list entry.
pub fn seal_maker_key(store: &Store) -> TrustedKey {
    TrustedKey {
        key_id: SEAL_MAKER_KEY_ID.into(),
        seal_id: None,
        owner_uscc: String::new(),
        owner_name: "yiwang seal maker".into(),
        purpose: "seal_maker".into(),
        public_key: hex::encode(store.seal_maker.signer.public_key()),
        valid_from_ms: 0,
        valid_until_ms: None,
        revoked_at_ms: None,
    }
}

/// A key by id, from everything trusted.
pub async fn trusted_key_by_id(store: &Store, key_id: &str) -> Result<Option<TrustedKey>> {
    let local: Option<Seal> = {
        let sql = format!("SELECT {COLS} FROM seals WHERE key_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key_id)
            .fetch_optional(&store.read)
            .await?
            .as_ref()
            .map(to_seal)
            .transpose()?
    };
    if let Some(s) = local {
        return Ok(Some(trusted_key(&s)));
    }
    Ok(imported_keys(store)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .find(|k| k.key_id == key_id))
}

/// Keys imported from other nodes' trust lists, with their source.
pub async fn imported_keys(store: &Store) -> Result<Vec<(TrustedKey, String)>> {
    let rows = sqlx::query(
        "SELECT key_id, seal_id, owner_uscc, owner_name, purpose, public_key, valid_from, valid_until, revoked_at, source
         FROM trusted_keys ORDER BY source, owner_name",
    )
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                TrustedKey {
                    key_id: r.try_get("key_id")?,
                    seal_id: r.try_get("seal_id")?,
                    owner_uscc: r.try_get("owner_uscc")?,
                    owner_name: r.try_get("owner_name")?,
                    purpose: r.try_get("purpose")?,
                    public_key: r.try_get("public_key")?,
                    valid_from_ms: r.try_get("valid_from")?,
                    valid_until_ms: r.try_get("valid_until")?,
                    revoked_at_ms: r.try_get("revoked_at")?,
                },
                r.try_get("source")?,
            ))
        })
        .collect()
}

/// The trust list this node publishes: its seal keys and seal maker, signed by the seal
/// maker. Other nodes import it to recognise this node's licences (互认).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustList {
    /// Always `yiwang-trust-list`.
    pub format: String,
    /// Who publishes it (the node's province or name).
    pub node: String,
    pub generated_at_ms: i64,
    pub keys: Vec<TrustedKey>,
    /// The seal maker's signature over the list without this field (hex DER).
    pub signature: String,
}

pub const TRUST_LIST_FORMAT: &str = "yiwang-trust-list";

fn trust_list_bytes(l: &TrustList) -> Vec<u8> {
    let mut unsigned = l.clone();
    unsigned.signature = String::new();
    let mut v = b"yiwang-trust-list/1\n".to_vec();
    v.extend_from_slice(&serde_json::to_vec(&unsigned).expect("serialisable"));
    v
}

/// The signed trust list of this node's own keys.
pub async fn trust_list(store: &Store, node: &str) -> Result<TrustList> {
    let mut keys: Vec<TrustedKey> = seals(store, None).await?.iter().map(trusted_key).collect();
    keys.push(seal_maker_key(store));
    let mut l = TrustList {
        format: TRUST_LIST_FORMAT.into(),
        node: node.into(),
        generated_at_ms: crate::now_ms(),
        keys,
        signature: String::new(),
    };
    l.signature = hex::encode(store.seal_maker.signer.sign(&trust_list_bytes(&l)));
    Ok(l)
}

/// A trust list is well-formed and signed by the seal-maker key it lists.
pub fn check_trust_list(l: &TrustList) -> Result<()> {
    let bad = |rule: &str, zh: &str, en: &str| {
        StoreError::from(DomainError::invalid(vec![FieldError::new("trust_list", rule, zh, en)]))
    };
    if l.format != TRUST_LIST_FORMAT {
        return Err(bad("trust.format", "不是信任列表文件", "not a trust list"));
    }
    let Some(maker) = l.keys.iter().find(|k| k.purpose == "seal_maker") else {
        return Err(bad(
            "trust.no_maker",
            "信任列表缺少制章者密钥",
            "the trust list has no seal-maker key",
        ));
    };
    let pk = hex::decode(&maker.public_key).unwrap_or_default();
    let sig = hex::decode(&l.signature).unwrap_or_default();
    if yiwang_crypto::verify(&pk, &trust_list_bytes(l), &sig).is_err() {
        return Err(bad(
            "trust.signature",
            "信任列表签名无效，内容可能被篡改",
            "the trust list's signature is not valid: it may have been altered",
        ));
    }
    Ok(())
}

/// The seal keys of another node's list this node may take: a key id it already knows
/// under another public key is left out (a key is never replaced).
pub async fn takeable_keys(store: &Store, l: &TrustList) -> Result<Vec<TrustedKey>> {
    let own = trusted_keys(store).await?;
    Ok(l.keys
        .iter()
        .filter(|k| k.purpose == "seal" && !own.iter().any(|o| o.key_id == k.key_id && o.public_key != k.public_key))
        .cloned()
        .collect())
}

/// Checks another node's trust list (well-formed, signed by the seal-maker key it lists)
/// and imports its seal keys. The decision to trust the list is the administrator's.
pub async fn import_trust_list(store: &Store, meta: Meta, l: &TrustList) -> Result<Value> {
    check_trust_list(l)?;
    let keys = takeable_keys(store, l).await?;
    let w = store
        .write(
            meta,
            Command::Seals(Cmd::ImportTrust {
                source: l.node.clone(),
                keys,
            }),
        )
        .await?;
    Ok(w.value)
}

pub(crate) async fn import_trust(ctx: &mut WriteCtx<'_>, source: &str, keys: &[TrustedKey]) -> Result<Value> {
    let source = source.trim();
    if source.is_empty() || source.chars().count() > 100 {
        return Err(DomainError::invalid(vec![FieldError::new(
            "node",
            "trust.source",
            "信任列表须注明发布节点（1–100 字）",
            "a trust list names its node (1–100 characters)",
        )])
        .into());
    }
    let local: Vec<String> = sqlx::query_scalar("SELECT key_id FROM seals")
        .fetch_all(&mut *ctx.conn)
        .await?;
    let mut n = 0;
    for k in keys {
        if local.contains(&k.key_id) {
            continue; // this node's own key: never replaced by an import
        }
        ctx.append(
            &format!("trust:{}", k.key_id),
            Expect::Any,
            "trust.imported",
            &json!({ "source": source, "key": k }),
        )
        .await?;
        sqlx::query(
            "INSERT INTO trusted_keys (key_id, seal_id, owner_uscc, owner_name, purpose, public_key, valid_from, valid_until,
               revoked_at, source, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (key_id) DO UPDATE SET valid_until = excluded.valid_until, revoked_at = excluded.revoked_at,
               owner_name = excluded.owner_name, source = excluded.source, imported_at = excluded.imported_at",
        )
        .bind(&k.key_id)
        .bind(&k.seal_id)
        .bind(&k.owner_uscc)
        .bind(&k.owner_name)
        .bind(&k.purpose)
        .bind(&k.public_key)
        .bind(k.valid_from_ms)
        .bind(k.valid_until_ms)
        .bind(k.revoked_at_ms)
        .bind(source)
        .bind(ctx.now_ms)
        .execute(&mut *ctx.conn)
        .await?;
        n += 1;
    }
    Ok(json!({ "source": source, "imported": n }))
}
