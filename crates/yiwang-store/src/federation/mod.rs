//! 跨域通办 between nodes (issue 20; core `federation`): this node's signed document, the
//! agreements with partner nodes, the envelopes sent (`exchange`: queued through the
//! writer, signed at each delivery attempt by the courier, retried with back-off until a
//! signed receipt comes back) and received (checked, kept by message id, acted on once),
//! the items offered, and the cases that cross nodes (`work`: an application taken here
//! for a partner's item and forwarded; one forwarded here made a case of ours, whose
//! progress is reported back).
//!
//! Every envelope is a ledger event on both sides: `fed.queued` / `fed.delivered` where it
//! is sent, `fed.in.{kind}` or `fed.refused` where it arrives.

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, internal, new_id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use yiwang_core::DomainError;
use yiwang_core::federation::{self as core, AgreementAction, AgreementState, Envelope, Mode, NodeDoc, Receipt, Terms};
pub use yiwang_core::federation::{Offer, Status};

mod exchange;
mod joint;
mod recognition;
mod rotation;
mod work;
pub use exchange::*;
pub use joint::*;
pub use recognition::*;
pub use rotation::*;
pub use work::*;

/// The key id of the node's first envelope signing key (in `node_keys`, purpose
/// `federation`): its fingerprint makes the node's default id, which a rotation keeps.
pub const NODE_KEY_ID: &str = "node-1";

/// This node as partners know it.
#[derive(Debug, Clone)]
pub struct Local {
    pub id: String,
    pub name: String,
    pub region: String,
    pub endpoint: String,
}

/// This node: its id from `[federation] node_id`, else the region and the first eight hex
/// digits of the SM3 of its key (unique without configuration).
pub async fn local(store: &Store, region: &str, region_name: &str, endpoint: &str) -> Result<Local> {
    let key = store.keyring.signer_from(&store.read, NODE_KEY_ID).await?;
    let p = &store.config.federation;
    let id = if p.node_id.is_empty() {
        let fp = hex::encode(yiwang_crypto::sm3(&yiwang_crypto::Signer::public_key(&*key)));
        format!("{region}-{}", &fp[..8])
    } else {
        p.node_id.clone()
    };
    let name = if p.node_name.is_empty() {
        region_name.to_string()
    } else {
        p.node_name.clone()
    };
    Ok(Local {
        id,
        name,
        region: region.to_string(),
        endpoint: endpoint.trim_end_matches('/').to_string(),
    })
}

/// This node's document, signed now with its current key.
pub async fn node_doc(store: &Store, local: &Local) -> Result<NodeDoc> {
    let key_id = current_key_id(store).await?;
    let key = store.keyring.signer_from(&store.read, &key_id).await?;
    Ok(signed_doc(local, &key_id, &key))
}

/// This node's document with `key` as its envelope key, signed by it.
pub fn signed_doc(local: &Local, key_id: &str, key: &yiwang_crypto::SoftKey) -> NodeDoc {
    let mut doc = NodeDoc {
        id: local.id.clone(),
        name: local.name.clone(),
        region: local.region.clone(),
        endpoint: local.endpoint.clone(),
        key_id: key_id.into(),
        public_key: hex::encode(yiwang_crypto::Signer::public_key(key)),
        trust_list: format!("{}/api/v1/trust-list", local.endpoint),
        issued_ms: crate::now_ms(),
        signature: String::new(),
    };
    doc.signature = hex::encode(yiwang_crypto::Signer::sign(key, &doc.signed_bytes()));
    doc
}

/// A node document is sound and signed by the key it names.
pub fn check_doc(doc: &NodeDoc) -> Result<()> {
    doc.check()?;
    let key = hex::decode(&doc.public_key).map_err(|_| bad_doc())?;
    let sig = hex::decode(&doc.signature).map_err(|_| bad_doc())?;
    yiwang_crypto::verify(&key, &doc.signed_bytes(), &sig).map_err(|_| bad_doc())?;
    Ok(())
}

fn bad_doc() -> StoreError {
    DomainError::invalid(vec![yiwang_core::error::FieldError::new(
        "node.signature",
        "federation.node_signature",
        "节点文档的签名验证失败",
        "the node document's signature does not verify",
    )])
    .into()
}

/// The fingerprint administrators compare out of band before approving.
pub fn fingerprint(public_key_hex: &str) -> String {
    let key = hex::decode(public_key_hex).unwrap_or_default();
    NodeDoc::fingerprint(&hex::encode(yiwang_crypto::sm3(&key)))
}

/// An envelope to send (its body and digest fixed now; signed at each attempt).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outgoing {
    pub id: String,
    pub receiver: String,
    pub kind: String,
    pub correlation: String,
    pub body: String,
    pub digest: String,
}

impl Outgoing {
    pub fn new(receiver: &str, kind: &str, correlation: &str, body: &impl Serialize) -> Outgoing {
        let body = serde_json::to_string(body).expect("serialisable");
        Outgoing {
            id: new_id(),
            receiver: receiver.into(),
            kind: kind.into(),
            correlation: correlation.into(),
            digest: hex::encode(yiwang_crypto::sm3(body.as_bytes())),
            body,
        }
    }
}

/// What a received envelope changes here, decided before it enters the writer.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Nothing now (a follower acts on it: a forwarded application).
    Later,
    Proposal {
        agreement_id: String,
        node: Box<NodeDoc>,
        terms: Terms,
    },
    Agreement {
        agreement_id: String,
        action: AgreementAction,
        reason: Option<String>,
    },
    Offers(Vec<Offer>),
    /// The competent node's word on an application forwarded from here.
    Status(Box<Status>),
    /// A partner's seal keys (互认).
    Trust(Vec<yiwang_core::licences::TrustedKey>),
    /// A query answered in the receipt (JSON text): nothing changes here.
    Answer(String),
    /// A partner's new document after a key rotation, and how long its old key still
    /// verifies (seconds).
    Rotate(Box<NodeDoc>, i64),
}

#[derive(Debug, Clone)]
pub enum Cmd {
    SaveNode(Box<NodeDoc>),
    Propose {
        agreement_id: String,
        partner: Box<NodeDoc>,
        terms: Terms,
        proposed_by: String,
        out: Outgoing,
    },
    /// An administrator's decision here, told to the partner.
    Decide {
        agreement_id: String,
        action: AgreementAction,
        reason: Option<String>,
        out: Outgoing,
    },
    Enqueue(Vec<Outgoing>),
    Delivered {
        id: String,
        receipt: Box<Receipt>,
    },
    /// A failed attempt: due again at `next_ms`, or refused by the partner (not retried).
    Attempted {
        id: String,
        error: String,
        next_ms: i64,
        refused: bool,
    },
    /// Send a refused or failed envelope again now.
    Retry {
        id: String,
    },
    Receive {
        envelope: Box<Envelope>,
        receipt: Box<Receipt>,
        effect: Box<Effect>,
    },
    Refuse {
        envelope: Box<Envelope>,
        reason: core::Refusal,
    },
    SetOffer {
        node: String,
        offer: Box<Offer>,
        out: Vec<Outgoing>,
    },
    RemoveOffer {
        node: String,
        item_code: String,
        out: Vec<Outgoing>,
    },
    /// An application taken here for a partner's item, forwarded.
    Origin {
        row: Box<CrossingRow>,
        out: Outgoing,
    },
    /// A forwarded application made (or could not make) a case here; the answer goes back.
    Took {
        row: Box<CrossingRow>,
        out: Outgoing,
    },
    /// A query sent at once and answered (`licence.status`): kept as sent and delivered.
    Queried {
        out: Outgoing,
        receipt: Box<Receipt>,
    },
    /// A licence of a partner's recognised for its holder here.
    Recognise(Box<RecognisedRow>),
    /// A new envelope key, announced to the partners (signed with the previous one).
    RotateKey {
        key_id: String,
        public_key: String,
        sealed: String,
        previous: String,
        out: Vec<Outgoing>,
    },
    /// The issuing node's newer word on a recognised licence.
    Rechecked {
        licence_id: String,
        status: yiwang_core::licences::Status,
    },
    /// A change of a crossing case reported to its origin (only if newer than the last).
    Report {
        id: String,
        seq: i64,
        state: String,
        out: Outgoing,
    },
}

/// A case that crosses nodes (`fed_cases`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrossingRow {
    pub id: String,
    /// `origin` (taken here, handled there) or `competent` (taken there, handled here).
    pub role: String,
    pub partner: String,
    pub item_code: String,
    pub item_name: String,
    pub mode: Mode,
    pub applicant_name: String,
    /// The applicant's account here (`person:…`), when they have one.
    pub applicant_key: Option<String>,
    pub local_case: Option<String>,
    pub remote_case: Option<String>,
    pub state: String,
    pub status_seq: i64,
    pub detail: Value,
    pub forward_by: Option<chrono::NaiveDate>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// An application taken here for a partner's item: the crossing kept, the envelope queued.
pub(crate) async fn origin_cmd(ctx: &mut WriteCtx<'_>, row: &CrossingRow, out: &Outgoing) -> Result<Value> {
    ctx.append(
        &format!("fed_case:{}", row.id),
        Expect::New,
        "fed.case.forwarded",
        &json!({ "partner": row.partner, "item_code": row.item_code, "mode": row.mode, "envelope": out.id }),
    )
    .await?;
    work::insert_crossing(ctx, row).await?;
    queue(ctx, out).await?;
    Ok(json!({ "id": row.id, "forward_by": row.forward_by }))
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::SaveNode(doc) => {
            ctx.append(&format!("fed_node:{}", doc.id), Expect::Any, "fed.node.saved", &**doc)
                .await?;
            save_node(ctx, doc).await?;
            Ok(json!({ "id": doc.id }))
        }
        Cmd::Propose {
            agreement_id,
            partner,
            terms,
            proposed_by,
            out,
        } => {
            ctx.append(
                &format!("fed_agreement:{agreement_id}"),
                Expect::New,
                "fed.agreement.proposed",
                &json!({ "partner": partner.id, "terms": terms, "proposed_by": proposed_by }),
            )
            .await?;
            save_node(ctx, partner).await?;
            insert_agreement(
                ctx,
                agreement_id,
                &partner.id,
                AgreementState::Proposed,
                proposed_by,
                terms,
            )
            .await?;
            queue(ctx, out).await?;
            Ok(json!({ "id": agreement_id, "state": AgreementState::Proposed }))
        }
        Cmd::Decide {
            agreement_id,
            action,
            reason,
            out,
        } => {
            let state = decide_agreement(ctx, agreement_id, None, *action, reason.as_deref()).await?;
            queue(ctx, out).await?;
            Ok(json!({ "id": agreement_id, "state": state }))
        }
        Cmd::Enqueue(outs) => {
            for o in outs {
                queue(ctx, o).await?;
            }
            Ok(json!({ "queued": outs.len() }))
        }
        Cmd::Delivered { id, receipt } => exchange::delivered(ctx, id, receipt).await,
        Cmd::Attempted {
            id,
            error,
            next_ms,
            refused,
        } => exchange::attempted(ctx, id, error, *next_ms, *refused).await,
        Cmd::Retry { id } => exchange::retry(ctx, id).await,
        Cmd::Receive {
            envelope,
            receipt,
            effect,
        } => exchange::receive_cmd(ctx, envelope, receipt, effect).await,
        Cmd::Refuse { envelope, reason } => exchange::refuse_cmd(ctx, envelope, *reason).await,
        Cmd::Queried { out, receipt } => {
            queue(ctx, out).await?;
            exchange::delivered(ctx, &out.id, receipt).await
        }
        Cmd::Recognise(row) => recognition::insert_recognised(ctx, row).await,
        Cmd::RotateKey {
            key_id,
            public_key,
            sealed,
            previous,
            out,
        } => rotation::rotated(ctx, key_id, public_key, sealed, previous, out).await,
        Cmd::Rechecked { licence_id, status } => recognition::rechecked(ctx, licence_id, *status).await,
        Cmd::SetOffer { node, offer, out } => {
            ctx.append(
                &format!("fed_offer:{node}:{}", offer.item_code),
                Expect::Any,
                "fed.offer.set",
                &**offer,
            )
            .await?;
            put_offer(ctx, node, offer).await?;
            for o in out {
                queue(ctx, o).await?;
            }
            Ok(json!({ "item_code": offer.item_code }))
        }
        Cmd::RemoveOffer { node, item_code, out } => {
            ctx.append(
                &format!("fed_offer:{node}:{item_code}"),
                Expect::Any,
                "fed.offer.removed",
                &json!({ "item_code": item_code }),
            )
            .await?;
            sqlx::query("DELETE FROM fed_offers WHERE node = $1 AND item_code = $2")
                .bind(node)
                .bind(item_code)
                .execute(&mut *ctx.conn)
                .await?;
            for o in out {
                queue(ctx, o).await?;
            }
            Ok(json!({ "item_code": item_code }))
        }
        Cmd::Origin { row, out } => origin_cmd(ctx, row, out).await,
        Cmd::Took { row, out } => {
            let exists: Option<String> = sqlx::query_scalar("SELECT id FROM fed_cases WHERE id = $1")
                .bind(&row.id)
                .fetch_optional(&mut *ctx.conn)
                .await?;
            if exists.is_some() {
                return Ok(json!({ "id": row.id, "again": true }));
            }
            ctx.append(
                &format!("fed_case:{}", row.id),
                Expect::New,
                "fed.case.taken",
                &json!({ "partner": row.partner, "item_code": row.item_code, "case_id": row.local_case, "state": row.state }),
            )
            .await?;
            work::insert_crossing(ctx, row).await?;
            queue(ctx, out).await?;
            Ok(json!({ "id": row.id }))
        }
        Cmd::Report { id, seq, state, out } => {
            let last: Option<i64> = sqlx::query_scalar("SELECT status_seq FROM fed_cases WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *ctx.conn)
                .await?;
            if last.is_none_or(|l| l >= *seq) {
                return Ok(json!({ "id": id, "sent": false }));
            }
            ctx.append(
                &format!("fed_case:{id}"),
                Expect::Exists,
                "fed.case.reported",
                &json!({ "state": state, "seq": seq, "envelope": out.id }),
            )
            .await?;
            sqlx::query("UPDATE fed_cases SET status_seq = $2, state = $3, updated_ms = $4 WHERE id = $1")
                .bind(id)
                .bind(seq)
                .bind(state)
                .bind(ctx.now_ms)
                .execute(&mut *ctx.conn)
                .await?;
            queue(ctx, out).await?;
            Ok(json!({ "id": id, "sent": true }))
        }
    }
}

async fn save_node(ctx: &mut WriteCtx<'_>, doc: &NodeDoc) -> Result<()> {
    sqlx::query(
        "INSERT INTO fed_nodes (id, name, region, endpoint, key_id, public_key, doc, updated_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, region = excluded.region, endpoint = excluded.endpoint,
           key_id = excluded.key_id, public_key = excluded.public_key, doc = excluded.doc, updated_ms = excluded.updated_ms",
    )
    .bind(&doc.id)
    .bind(&doc.name)
    .bind(&doc.region)
    .bind(&doc.endpoint)
    .bind(&doc.key_id)
    .bind(&doc.public_key)
    .bind(serde_json::to_string(doc).expect("serialisable"))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

async fn insert_agreement(
    ctx: &mut WriteCtx<'_>,
    id: &str,
    partner: &str,
    state: AgreementState,
    proposed_by: &str,
    terms: &Terms,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fed_agreements (id, partner, state, proposed_by, terms, reason, created_ms, updated_ms)
         VALUES ($1, $2, $3, $4, $5, NULL, $6, $6)",
    )
    .bind(id)
    .bind(partner)
    .bind(state.as_str())
    .bind(proposed_by)
    .bind(serde_json::to_string(terms).expect("serialisable"))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// Moves an agreement on (an administrator's decision here, or the partner's as its
/// envelope says; `partner` then must be the agreement's partner).
async fn decide_agreement(
    ctx: &mut WriteCtx<'_>,
    id: &str,
    partner: Option<&str>,
    action: AgreementAction,
    reason: Option<&str>,
) -> Result<AgreementState> {
    let row = sqlx::query("SELECT partner, state FROM fed_agreements WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *ctx.conn)
        .await?
        .ok_or_else(|| DomainError::not_found("id", "协议", "agreement", id))?;
    let of: String = row.try_get("partner")?;
    if partner.is_some_and(|p| p != of) {
        return Err(DomainError::not_found("id", "协议", "agreement", id).into());
    }
    let state: String = row.try_get("state")?;
    let state = AgreementState::parse(&state).ok_or_else(|| internal(format!("agreement state {state}")))?;
    let next = core::transition(state, action)?;
    ctx.append(
        &format!("fed_agreement:{id}"),
        Expect::Any,
        &format!("fed.agreement.{}", next.as_str()),
        &json!({ "partner": of, "reason": reason, "by_partner": partner.is_some() }),
    )
    .await?;
    sqlx::query("UPDATE fed_agreements SET state = $2, reason = $3, updated_ms = $4 WHERE id = $1")
        .bind(id)
        .bind(next.as_str())
        .bind(reason)
        .bind(ctx.now_ms)
        .execute(&mut *ctx.conn)
        .await?;
    Ok(next)
}

async fn put_offer(ctx: &mut WriteCtx<'_>, node: &str, o: &Offer) -> Result<()> {
    sqlx::query(
        "INSERT INTO fed_offers (node, item_code, name, department, modes, detail, updated_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (node, item_code) DO UPDATE SET name = excluded.name, department = excluded.department,
           modes = excluded.modes, detail = excluded.detail, updated_ms = excluded.updated_ms",
    )
    .bind(node)
    .bind(&o.item_code)
    .bind(&o.name)
    .bind(&o.department)
    .bind(serde_json::to_string(&o.modes).expect("serialisable"))
    .bind(o.detail.to_string())
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// Puts an envelope in the queue (the courier sends it) with its ledger event.
async fn queue(ctx: &mut WriteCtx<'_>, o: &Outgoing) -> Result<()> {
    ctx.append(
        &format!("fed_out:{}", o.receiver),
        Expect::Any,
        "fed.queued",
        &json!({ "id": o.id, "receiver": o.receiver, "kind": o.kind, "correlation": o.correlation, "digest": o.digest }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO fed_outgoing (id, receiver, kind, correlation, body, digest, state, attempts, next_ms, created_ms)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)",
    )
    .bind(&o.id)
    .bind(&o.receiver)
    .bind(&o.kind)
    .bind(&o.correlation)
    .bind(&o.body)
    .bind(&o.digest)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Agreements and nodes: the service functions the API, pages and CLI call
// ---------------------------------------------------------------------------------------

/// An agreement as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub id: String,
    pub partner: String,
    pub partner_name: String,
    pub partner_endpoint: String,
    /// The partner key's fingerprint, to compare out of band before approving.
    pub partner_fingerprint: String,
    pub state: AgreementState,
    pub proposed_by: String,
    pub terms: Terms,
    pub reason: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// Every agreement, newest first.
pub async fn agreements(store: &Store) -> Result<Vec<Agreement>> {
    let rows = sqlx::query(
        "SELECT a.id, a.partner, a.state, a.proposed_by, a.terms, a.reason, a.created_ms, a.updated_ms,
                n.name, n.endpoint, n.public_key
         FROM fed_agreements a LEFT JOIN fed_nodes n ON n.id = a.partner ORDER BY a.updated_ms DESC",
    )
    .fetch_all(&store.read)
    .await?;
    rows.iter().map(agreement_of).collect()
}

pub async fn agreement(store: &Store, id: &str) -> Result<Option<Agreement>> {
    let row = sqlx::query(
        "SELECT a.id, a.partner, a.state, a.proposed_by, a.terms, a.reason, a.created_ms, a.updated_ms,
                n.name, n.endpoint, n.public_key
         FROM fed_agreements a LEFT JOIN fed_nodes n ON n.id = a.partner WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(&store.read)
    .await?;
    row.as_ref().map(agreement_of).transpose()
}

fn agreement_of(r: &sqlx::any::AnyRow) -> Result<Agreement> {
    let state: String = r.try_get("state")?;
    let terms: String = r.try_get("terms")?;
    let key: Option<String> = r.try_get("public_key")?;
    Ok(Agreement {
        id: r.try_get("id")?,
        partner: r.try_get("partner")?,
        partner_name: r.try_get::<Option<String>, _>("name")?.unwrap_or_default(),
        partner_endpoint: r.try_get::<Option<String>, _>("endpoint")?.unwrap_or_default(),
        partner_fingerprint: key.as_deref().map(fingerprint).unwrap_or_default(),
        state: AgreementState::parse(&state).ok_or_else(|| internal(format!("agreement state {state}")))?,
        proposed_by: r.try_get("proposed_by")?,
        terms: serde_json::from_str(&terms).map_err(internal)?,
        reason: r.try_get("reason")?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}

/// The agreement that governs exchanges with `partner`: the one in force, else the latest.
pub async fn agreement_with(store: &Store, partner: &str) -> Result<Option<Agreement>> {
    let all = agreements(store).await?;
    let mut of: Vec<Agreement> = all.into_iter().filter(|a| a.partner == partner).collect();
    of.sort_by_key(|a| (a.state != AgreementState::Active, -a.updated_ms));
    Ok(of.into_iter().next())
}

/// Whether `partner` grants this node (`local_id`) `right` for `item` under the agreement
/// with it in force today; `None` when no agreement with it is in force.
pub async fn granted(
    store: &Store,
    local_id: &str,
    partner: &str,
    right: core::Right,
    item: &str,
) -> Result<Option<bool>> {
    Ok(agreement_with(store, partner)
        .await?
        .filter(|a| core::admit(Some((a.state, &a.terms)), crate::today()).is_ok())
        .map(|a| a.terms.grants(partner, local_id, right, item)))
}

/// A partner's stored document.
pub async fn partner(store: &Store, id: &str) -> Result<Option<NodeDoc>> {
    let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM fed_nodes WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    doc.map(|d| serde_json::from_str(&d).map_err(internal)).transpose()
}

/// Proposes an agreement to the node whose document is `partner` (fetched from its
/// endpoint and checked by the caller): stored here as proposed, and sent to it with this
/// node's document.
pub async fn propose(store: &Store, meta: Meta, local: &Local, partner: NodeDoc, terms: Terms) -> Result<Value> {
    check_doc(&partner)?;
    terms.check(&local.id, &partner.id)?;
    if let Some(a) = agreement_with(store, &partner.id).await?
        && matches!(
            a.state,
            AgreementState::Active | AgreementState::Proposed | AgreementState::Pending
        )
    {
        return Err(DomainError::conflict(
            "partner",
            "federation.agreement_exists",
            format!(
                "与节点「{}」已有协议（{}）",
                partner.id,
                yiwang_core::Named::zh(&a.state)
            ),
            format!(
                "there is already an agreement with node '{}' ({})",
                partner.id,
                yiwang_core::Named::en(&a.state)
            ),
        )
        .into());
    }
    let agreement_id = new_id();
    let doc = node_doc(store, local).await?;
    let out = Outgoing::new(
        &partner.id,
        "agreement.propose",
        &agreement_id,
        &json!({ "agreement_id": agreement_id, "node": doc, "terms": terms }),
    );
    let w = store
        .write(
            meta,
            Command::Federation(Box::new(Cmd::Propose {
                agreement_id,
                partner: Box::new(partner),
                terms,
                proposed_by: local.id.clone(),
                out,
            })),
        )
        .await?;
    Ok(w.value)
}

/// An administrator approves, declines or revokes an agreement here; the partner is told.
pub async fn decide(
    store: &Store,
    meta: Meta,
    local: &Local,
    id: &str,
    action: AgreementAction,
    reason: Option<&str>,
) -> Result<Value> {
    let a = agreement(store, id)
        .await?
        .ok_or_else(|| DomainError::not_found("id", "协议", "agreement", id))?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if matches!(action, AgreementAction::Revoke | AgreementAction::Decline) && reason.is_none() {
        return Err(DomainError::invalid(vec![yiwang_core::error::FieldError::new(
            "reason",
            "required",
            "撤销或拒绝协议须写明理由",
            "give a reason to revoke or decline an agreement",
        )])
        .into());
    }
    // Checked here too, so a refused step queues nothing.
    core::transition(a.state, action)?;
    let kind = match action {
        AgreementAction::Approve => "agreement.approve",
        AgreementAction::Decline => "agreement.decline",
        _ => "agreement.revoke",
    };
    let out = Outgoing::new(&a.partner, kind, id, &json!({ "agreement_id": id, "reason": reason }));
    let mut outs = vec![];
    let w = store
        .write(
            meta.clone(),
            Command::Federation(Box::new(Cmd::Decide {
                agreement_id: id.to_string(),
                action,
                reason: reason.map(str::to_string),
                out,
            })),
        )
        .await?;
    // Once in force, each side publishes its offers to the other.
    if action == AgreementAction::Approve {
        outs.push(offers_envelope(store, local, &a.partner).await?);
        outs.push(trust_envelope(store, local, &a.partner).await?);
        store
            .write(meta, Command::Federation(Box::new(Cmd::Enqueue(outs))))
            .await?;
    }
    Ok(w.value)
}
