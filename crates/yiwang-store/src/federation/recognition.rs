//! Mutual recognition (互认): a partner's seal keys arrive in its signed `trust.publish`
//! envelopes (sent when an agreement comes into force and whenever it publishes); a licence
//! the partner issued, presented here by its holder, is checked against those keys, against
//! the holder, and against the partner's live status — a signed `licence.status` query
//! whose answer travels in the partner's signed receipt — and then kept as the holder's
//! (`fed_licences`), usable in place of a material like a licence issued here (免提交).
//! Offering one in an application asks its issuer for the status again.

use super::exchange::Fail;
use super::*;
use yiwang_core::federation::{LicenceStatusAnswer, Refusal};
use yiwang_core::licences::{Check, HolderKind, LicenceFile, Status, Verification};
use yiwang_core::mandates::Subject;

/// The source recorded for the keys a partner published (`trusted_keys.source`).
pub fn key_source(node: &str) -> String {
    format!("node:{node}")
}

/// The `trust.publish` envelope for `partner`: this node's signed trust list.
pub async fn trust_envelope(store: &Store, local: &Local, partner: &str) -> Result<Outgoing> {
    let l = crate::seals::trust_list(store, &local.id).await?;
    Ok(Outgoing::new(partner, "trust.publish", &local.id, &l))
}

/// The follower that keeps partners' copies of this node's trust list current (互认): a
/// seal made, rotated, superseded or revoked here sends the list again to every partner with
/// an agreement in force — a revoked seal stops verifying there as it does here.
pub struct TrustFollower {
    pub store: std::sync::Arc<Store>,
    pub local: Local,
}

impl crate::outbox::Subscriber for TrustFollower {
    fn name(&self) -> &str {
        "federation-trust"
    }
    fn kinds(&self) -> Option<&[&str]> {
        Some(&["seal."])
    }
    fn bodies(&self) -> bool {
        false
    }
    async fn handle(&self, events: &[crate::outbox::StoredEvent], _upto: i64) -> std::result::Result<(), String> {
        if events.is_empty() {
            return Ok(());
        }
        let mut outs = vec![];
        for a in agreements(&self.store).await.map_err(|e| e.to_string())? {
            if a.state == AgreementState::Active {
                outs.push(
                    trust_envelope(&self.store, &self.local, &a.partner)
                        .await
                        .map_err(|e| e.to_string())?,
                );
            }
        }
        if outs.is_empty() {
            return Ok(());
        }
        self.store
            .write(
                Meta::actor("system:federation"),
                Command::Federation(Box::new(Cmd::Enqueue(outs))),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// The seal keys of a partner's trust list that this node may take: the list is the
/// sender's and signed by its seal maker (`seals::takeable_keys`).
pub(super) async fn partner_keys(
    store: &Store,
    sender: &str,
    body: Value,
) -> std::result::Result<Vec<yiwang_core::licences::TrustedKey>, Fail> {
    let l: crate::seals::TrustList = serde_json::from_value(body).map_err(|_| Refusal::Malformed)?;
    if l.node != sender || crate::seals::check_trust_list(&l).is_err() {
        return Err(Refusal::Malformed.into());
    }
    Ok(crate::seals::takeable_keys(store, &l).await?)
}

/// The answer to a partner's `licence.status` query: what this node records of its own
/// licence now (the holder's code is not part of it).
pub(super) async fn status_answer(store: &Store, body: &Value) -> std::result::Result<String, Fail> {
    let id = body["licence_id"]
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 100)
        .ok_or(Fail::Refused(Refusal::Malformed))?;
    let status = crate::licences::summary(store, id).await?.map(|s| s.status);
    Ok(serde_json::to_string(&LicenceStatusAnswer {
        licence_id: id.to_string(),
        status,
        checked_ms: crate::now_ms(),
    })
    .expect("serialisable"))
}

/// The issuing node could not answer now (a conflict with the moment, not bad input).
fn unreachable(why: String) -> StoreError {
    DomainError::one(
        yiwang_core::ErrorKind::Conflict,
        yiwang_core::error::FieldError::new(
            "node",
            "federation.unreachable",
            format!("暂时无法联系颁发节点：{why}"),
            format!("the issuing node could not be reached: {why}"),
        ),
    )
    .into()
}

fn http() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("an HTTP client")
    })
}

/// Asks `node` for the status of one of its licences, now: a signed envelope sent at once
/// (a status is of no use later), answered in the partner's signed receipt; recorded on
/// both sides like every envelope.
pub async fn licence_status(store: &Store, local: &Local, node: &str, licence_id: &str) -> Result<LicenceStatusAnswer> {
    let o = Outgoing::new(node, "licence.status", licence_id, &json!({ "licence_id": licence_id }));
    let receipt = super::exchange::attempt(store, local, http(), &o)
        .await
        .map_err(|(e, _)| unreachable(format!("{node}: {e}")))?;
    let answer: LicenceStatusAnswer = receipt
        .answer
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok())
        .filter(|a: &LicenceStatusAnswer| a.licence_id == licence_id)
        .ok_or_else(|| unreachable(format!("{node}: the receipt carries no status for {licence_id}")))?;
    metrics::counter!("yiwang_federation_envelopes_total", "direction" => "sent").increment(1);
    store
        .write(
            Meta::actor("system:federation"),
            Command::Federation(Box::new(Cmd::Queried {
                out: o,
                receipt: Box::new(receipt),
            })),
        )
        .await?;
    Ok(answer)
}

/// A licence kept as recognised (`fed_licences`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecognisedRow {
    pub id: String,
    pub holder_index: String,
    pub node: String,
    pub type_code: String,
    pub type_name: String,
    pub number: String,
    pub issuer_uscc: String,
    pub issuer_name: String,
    pub holder_kind: HolderKind,
    pub holder_name: String,
    pub holder_masked: String,
    pub seal_id: String,
    pub status: Status,
    pub issued_on: String,
    pub valid_until: Option<String>,
    pub related_item: Option<String>,
    pub file_enc: String,
}

/// The outcome of presenting another node's licence: every check, and the licence as now
/// held here when all of them passed.
#[derive(Debug, Clone, Serialize)]
pub struct Recognition {
    pub verification: Verification,
    /// The issuing node, when the signing key came from a partner's trust list.
    pub node: Option<String>,
    pub licence: Option<crate::licences::LicenceSummary>,
}

fn check(name: &str, ok: bool, zh: String, en: String) -> Check {
    Check {
        name: name.into(),
        ok,
        zh,
        en,
    }
}

/// The keyed index of the acting subject's own code (resident ID or credit code).
async fn subject_index(store: &Store, subject: &Subject) -> Result<Option<String>> {
    Ok(match subject {
        Subject::Person(id) => {
            sqlx::query_scalar::<_, Option<String>>("SELECT id_number_index FROM persons WHERE id = $1")
                .bind(id)
                .fetch_optional(&store.read)
                .await?
                .flatten()
        }
        Subject::Legal(id) => crate::accounts::legal_person(&store.read, id)
            .await?
            .map(|l| crate::licences::holder_index(&store.pii, HolderKind::Legal, &l.uscc)),
    })
}

/// Checks a licence another node issued, presented by `subject` (themselves or the
/// enterprise they act for), and keeps it as theirs when every check passes (互认:
/// 国办发〔2022〕3号 asks that e-licences be recognised across regions).
pub async fn recognise(store: &Store, meta: Meta, subject: &Subject, file: &LicenceFile) -> Result<Recognition> {
    let field = |rule: &str, zh: &str, en: &str| {
        StoreError::from(DomainError::invalid(vec![yiwang_core::error::FieldError::new(
            "file", rule, zh, en,
        )]))
    };
    if file.format != "yiwang-licence" {
        return Err(field("licence.format", "不是电子证照文件", "not a licence file"));
    }
    if crate::licences::summary(store, &file.data.id).await?.is_some() {
        return Err(field(
            "licence.own",
            "本节点签发的证照已在证照夹中，无需互认",
            "this node issued the licence: it is in the wallet already",
        ));
    }
    let Some(local) = store.node.get() else {
        return Err(unreachable("this node's federation identity is not set".into()));
    };
    let key = crate::seals::imported_keys(store)
        .await?
        .into_iter()
        .find(|(k, _)| k.key_id == file.signature.key_id);
    let node = key
        .as_ref()
        .and_then(|(_, source)| source.strip_prefix("node:"))
        .map(str::to_string);
    let key = key.filter(|_| node.is_some()).map(|(k, _)| k);
    let mut extra = vec![];
    let mut status = None;
    if let Some(node) = &node {
        let agreement = agreement_with(store, node).await?;
        match core::admit(agreement.as_ref().map(|a| (a.state, &a.terms)), crate::today()) {
            Err(r) => extra.push(check(
                "agreement",
                false,
                format!(
                    "与颁发节点「{node}」无生效的授权信任协议（{}）",
                    yiwang_core::Named::zh(&r)
                ),
                format!(
                    "no agreement in force with the issuing node {node} ({})",
                    yiwang_core::Named::en(&r)
                ),
            )),
            Ok(()) => match licence_status(store, local, node, &file.data.id).await {
                Ok(a) => match a.status {
                    Some(s) => {
                        status = Some(s);
                        record_status(store, &file.data.id, s).await?;
                    }
                    None => extra.push(check(
                        "status",
                        false,
                        "颁发节点没有该证照的记录".into(),
                        "the issuing node has no record of this licence".into(),
                    )),
                },
                Err(e) => extra.push(check(
                    "status",
                    false,
                    "暂时无法向颁发节点查询证照当前状态，请稍后再试".into(),
                    format!("the issuing node could not be asked for the licence's status now: {e}"),
                )),
            },
        }
    }
    let mut v = yiwang_core::licences::verify_file(
        file,
        key.as_ref(),
        &|pk: &[u8], m: &[u8], s: &[u8]| yiwang_crypto::verify(pk, m, s).is_ok(),
        crate::today(),
        status,
    );
    let code = file.data.holder_code.trim().to_uppercase();
    let index = crate::licences::holder_index(&store.pii, file.data.holder_kind, &code);
    let mine = subject_index(store, subject).await?.is_some_and(|i| i == index)
        && matches!(
            (subject, file.data.holder_kind),
            (Subject::Person(_), HolderKind::Person) | (Subject::Legal(_), HolderKind::Legal)
        );
    extra.push(if mine {
        check(
            "holder",
            true,
            "持证人为申请人本人（或其代表的企业）".into(),
            "the holder is the one presenting it (or the enterprise they act for)".into(),
        )
    } else {
        check(
            "holder",
            false,
            "持证人不是申请人本人（或其代表的企业）".into(),
            "the licence is not the presenter's (nor their enterprise's)".into(),
        )
    });
    for c in extra {
        if !c.ok && v.reason.is_none() {
            v.reason = Some(c.en.clone());
        }
        v.valid &= c.ok;
        v.checks.push(c);
    }
    if !v.valid {
        return Ok(Recognition {
            verification: v,
            node,
            licence: None,
        });
    }
    let node = node.expect("valid only with a partner's key");
    let d = &file.data;
    let row = RecognisedRow {
        id: d.id.clone(),
        holder_index: index.clone(),
        node: node.clone(),
        type_code: d.type_code.clone(),
        type_name: d.type_name.clone(),
        number: d.number.clone(),
        issuer_uscc: d.issuer_uscc.clone(),
        issuer_name: d.issuer_name.clone(),
        holder_kind: d.holder_kind,
        holder_name: d.holder_name.clone(),
        holder_masked: d.holder_kind.mask(&code),
        seal_id: file.signature.seal_id.clone(),
        status: status.unwrap_or(Status::Valid),
        issued_on: d.issued_on.to_string(),
        valid_until: d.valid_until.map(|u| u.to_string()),
        related_item: d.related_item.clone(),
        file_enc: store.pii.seal(
            &format!("fed_licences.file:{}", d.id),
            &serde_json::to_string(file).expect("serialisable"),
        ),
    };
    store
        .write(meta, Command::Federation(Box::new(Cmd::Recognise(Box::new(row)))))
        .await?;
    let licence = crate::licences::recognised_of_holder(store, &index)
        .await?
        .into_iter()
        .find(|l| l.id == d.id);
    Ok(Recognition {
        verification: v,
        node: Some(node),
        licence,
    })
}

/// Asks the issuers of the recognised licences an application offers for their status now,
/// and records the answers; a node that cannot be reached leaves the last answer standing.
pub async fn recheck(store: &Store, held: &mut [crate::licences::LicenceSummary], offered: &[&str]) -> Result<()> {
    let Some(local) = store.node.get() else {
        return Ok(());
    };
    for l in held.iter_mut() {
        let Some(node) = l.node.clone() else { continue };
        if !offered.contains(&l.id.as_str()) {
            continue;
        }
        match licence_status(store, local, &node, &l.id).await {
            Ok(a) => {
                // The issuer no longer knows it: 99 其他 (STANDARDS §6), not usable.
                let status = a.status.unwrap_or(Status::Other);
                record_status(store, &l.id, status).await?;
                l.status = status;
            }
            Err(e) => tracing::warn!(node = %node, licence = %l.id, error = %e, "licence status not answered"),
        }
    }
    Ok(())
}

/// Keeps the issuer's newer word on a licence recognised here (for every holder row).
async fn record_status(store: &Store, licence_id: &str, status: Status) -> Result<()> {
    let known: Option<String> = sqlx::query_scalar("SELECT status FROM fed_licences WHERE id = $1 LIMIT 1")
        .bind(licence_id)
        .fetch_optional(&store.read)
        .await?;
    if known.is_some_and(|k| k != status.as_str()) {
        store
            .write(
                Meta::actor("system:federation"),
                Command::Federation(Box::new(Cmd::Rechecked {
                    licence_id: licence_id.to_string(),
                    status,
                })),
            )
            .await?;
    }
    Ok(())
}

pub(super) async fn insert_recognised(ctx: &mut WriteCtx<'_>, r: &RecognisedRow) -> Result<Value> {
    ctx.append(
        &format!("fed_licence:{}", r.id),
        Expect::Any,
        "fed.licence.recognised",
        &json!({ "licence_id": r.id, "node": r.node, "type_code": r.type_code, "status": r.status }),
    )
    .await?;
    sqlx::query("DELETE FROM fed_licences WHERE id = $1 AND holder_index = $2")
        .bind(&r.id)
        .bind(&r.holder_index)
        .execute(&mut *ctx.conn)
        .await?;
    sqlx::query(
        "INSERT INTO fed_licences (id, holder_index, node, type_code, type_name, number, issuer_uscc, issuer_name,
           holder_kind, holder_name, holder_masked, seal_id, status, issued_on, valid_until, related_item, file_enc,
           checked_ms, created_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)",
    )
    .bind(&r.id)
    .bind(&r.holder_index)
    .bind(&r.node)
    .bind(&r.type_code)
    .bind(&r.type_name)
    .bind(&r.number)
    .bind(&r.issuer_uscc)
    .bind(&r.issuer_name)
    .bind(r.holder_kind.as_str())
    .bind(&r.holder_name)
    .bind(&r.holder_masked)
    .bind(&r.seal_id)
    .bind(r.status.as_str())
    .bind(&r.issued_on)
    .bind(&r.valid_until)
    .bind(&r.related_item)
    .bind(&r.file_enc)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "licence_id": r.id, "node": r.node }))
}

pub(super) async fn rechecked(ctx: &mut WriteCtx<'_>, licence_id: &str, status: Status) -> Result<Value> {
    ctx.append(
        &format!("fed_licence:{licence_id}"),
        Expect::Any,
        "fed.licence.status",
        &json!({ "licence_id": licence_id, "status": status }),
    )
    .await?;
    sqlx::query("UPDATE fed_licences SET status = $2, checked_ms = $3 WHERE id = $1")
        .bind(licence_id)
        .bind(status.as_str())
        .bind(ctx.now_ms)
        .execute(&mut *ctx.conn)
        .await?;
    Ok(json!({ "licence_id": licence_id, "status": status }))
}
