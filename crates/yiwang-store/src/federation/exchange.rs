//! Envelopes: signing, the courier that delivers the queue (at least once, with back-off,
//! until the receiver's signed receipt comes back), and the receiver's checks before it
//! acts — kind, addressee, digest, signature, freshness, replay, agreement, right.

use super::*;
use yiwang_core::federation::{Forwarded, Refusal};

/// Signs an envelope for `o` now (each attempt carries its own time; the id stays).
pub async fn sign(store: &Store, local: &Local, o: &Outgoing) -> Result<Envelope> {
    // A rotation's announcement is signed with the key it replaces (the partner knows it).
    let key_id = if o.kind == "node.rotate" {
        serde_json::from_str::<Value>(&o.body)
            .ok()
            .and_then(|b| b["previous_key_id"].as_str().map(str::to_string))
            .ok_or_else(|| internal("node.rotate without previous_key_id"))?
    } else {
        current_key_id(store).await?
    };
    let key = store.keyring.signer_from(&store.read, &key_id).await?;
    let mut e = Envelope {
        sender: local.id.clone(),
        receiver: o.receiver.clone(),
        id: o.id.clone(),
        correlation: o.correlation.clone(),
        kind: o.kind.clone(),
        at_ms: crate::now_ms(),
        digest: o.digest.clone(),
        key_id,
        signature: String::new(),
        body: o.body.clone(),
    };
    e.signature = hex::encode(yiwang_crypto::Signer::sign(&*key, &e.signed_bytes()));
    Ok(e)
}

/// The `offers.publish` envelope for `partner`: every item this node offers.
pub async fn offers_envelope(store: &Store, local: &Local, partner: &str) -> Result<Outgoing> {
    let offers = offers(store, &local.id).await?;
    Ok(Outgoing::new(
        partner,
        "offers.publish",
        &local.id,
        &json!({ "offers": offers }),
    ))
}

/// Sends this node's offers and its trust list (互认) to every partner with an agreement in
/// force; the number of partners.
pub async fn publish_offers(store: &Store, meta: Meta, local: &Local) -> Result<usize> {
    let mut outs = vec![];
    let mut n = 0;
    for a in agreements(store).await? {
        if a.state == AgreementState::Active {
            outs.push(offers_envelope(store, local, &a.partner).await?);
            outs.push(trust_envelope(store, local, &a.partner).await?);
            n += 1;
        }
    }
    if !outs.is_empty() {
        store
            .write(meta, Command::Federation(Box::new(Cmd::Enqueue(outs))))
            .await?;
    }
    Ok(n)
}

/// The items a node offers (this node's own with its id).
pub async fn offers(store: &Store, node: &str) -> Result<Vec<Offer>> {
    let rows = sqlx::query(
        "SELECT item_code, name, department, modes, detail FROM fed_offers WHERE node = $1 ORDER BY item_code",
    )
    .bind(node)
    .fetch_all(&store.read)
    .await?;
    rows.iter().map(offer_of).collect()
}

fn offer_of(r: &sqlx::any::AnyRow) -> Result<Offer> {
    let modes: String = r.try_get("modes")?;
    let detail: String = r.try_get("detail")?;
    Ok(Offer {
        item_code: r.try_get("item_code")?,
        name: r.try_get("name")?,
        department: r.try_get("department")?,
        modes: serde_json::from_str(&modes).map_err(internal)?,
        detail: serde_json::from_str(&detail).map_err(internal)?,
    })
}

/// Partners' offers (跨域通办专区): (node id, node name, offer), by node and item.
pub async fn partner_offers(store: &Store, local: &Local) -> Result<Vec<(String, String, Offer)>> {
    let rows = sqlx::query(
        "SELECT o.node, n.name AS node_name, o.item_code, o.name, o.department, o.modes, o.detail
         FROM fed_offers o JOIN fed_nodes n ON n.id = o.node
         WHERE o.node <> $1 ORDER BY o.node, o.item_code",
    )
    .bind(&local.id)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("node")?, r.try_get("node_name")?, offer_of(r)?)))
        .collect()
}

/// The offer of `item_code` by `node`, if any.
pub async fn offer(store: &Store, node: &str, item_code: &str) -> Result<Option<Offer>> {
    let row = sqlx::query(
        "SELECT item_code, name, department, modes, detail FROM fed_offers WHERE node = $1 AND item_code = $2",
    )
    .bind(node)
    .bind(item_code)
    .fetch_optional(&store.read)
    .await?;
    row.as_ref().map(offer_of).transpose()
}

// ---------------------------------------------------------------------------------------
// The courier
// ---------------------------------------------------------------------------------------

/// Kinds that change the relation between two nodes: sent one at a time per partner in
/// the order they were queued (an approval before the offers that follow it), a later one
/// waiting while an earlier one is not delivered.
fn in_order(kind: &str) -> bool {
    kind.starts_with("agreement.")
        || kind.starts_with("offers.")
        || kind.starts_with("trust.")
        || kind.starts_with("node.")
}

/// Envelopes in flight at once (application and status messages).
const IN_FLIGHT: usize = 32;

const OUT_COLS: &str = "id, receiver, kind, correlation, body, digest, attempts, next_ms";

fn outgoing_of(r: &sqlx::any::AnyRow) -> Result<(Outgoing, i64, i64)> {
    Ok((
        Outgoing {
            id: r.try_get("id")?,
            receiver: r.try_get("receiver")?,
            kind: r.try_get("kind")?,
            correlation: r.try_get("correlation")?,
            body: r.try_get("body")?,
            digest: r.try_get("digest")?,
        },
        r.try_get("attempts")?,
        r.try_get("next_ms")?,
    ))
}

/// Delivers what is due: each pending envelope signed now and POSTed to its receiver; a
/// verified receipt marks it delivered; a refusal (4xx) stops it; anything else tries again
/// after a back-off doubling from one second up to `max_backoff_s`. Agreement and offer
/// messages go one at a time per partner in order; the others up to 32 at once. Returns
/// how many were delivered.
pub async fn deliver_due(store: &std::sync::Arc<Store>, local: &Local, client: &reqwest::Client) -> Result<usize> {
    let now = crate::now_ms();
    let mut delivered = 0;
    // In order: every pending one (few), oldest first; a partner waits behind its first
    // undelivered one.
    let sql = format!(
        "SELECT {OUT_COLS} FROM fed_outgoing WHERE state = 'pending' AND (kind LIKE 'agreement.%' OR kind LIKE 'offers.%' OR kind LIKE 'trust.%' OR kind LIKE 'node.%')
         ORDER BY created_ms, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&store.read).await?;
    let mut blocked = std::collections::HashSet::new();
    for r in &rows {
        let (o, attempts, next_ms) = outgoing_of(r)?;
        if blocked.contains(&o.receiver) {
            continue;
        }
        if next_ms > now {
            blocked.insert(o.receiver.clone());
            continue;
        }
        if deliver_one(store, local, client, &o, attempts).await? {
            delivered += 1;
        } else {
            blocked.insert(o.receiver.clone());
        }
    }
    // The rest: due ones, several at once.
    let sql = format!(
        "SELECT {OUT_COLS} FROM fed_outgoing WHERE state = 'pending' AND next_ms <= $1 ORDER BY next_ms, created_ms LIMIT 1000"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .fetch_all(&store.read)
        .await?;
    let mut set = tokio::task::JoinSet::new();
    for r in &rows {
        let (o, attempts, _) = outgoing_of(r)?;
        // A partner whose ordered messages (agreement, offers, trust list, a new key) wait
        // gets nothing else before them.
        if in_order(&o.kind) || blocked.contains(&o.receiver) {
            continue;
        }
        while set.len() >= IN_FLIGHT {
            if let Some(done) = set.join_next().await {
                delivered += usize::from(done.map_err(internal)??);
            }
        }
        let (store, local, client) = (store.clone(), local.clone(), client.clone());
        set.spawn(async move { deliver_one(&store, &local, &client, &o, attempts).await });
    }
    while let Some(done) = set.join_next().await {
        delivered += usize::from(done.map_err(internal)??);
    }
    Ok(delivered)
}

/// One attempt at one envelope, its outcome recorded; `true` when delivered.
async fn deliver_one(
    store: &Store,
    local: &Local,
    client: &reqwest::Client,
    o: &Outgoing,
    attempts: i64,
) -> Result<bool> {
    let outcome = attempt(store, local, client, o).await;
    let ok = outcome.is_ok();
    let cmd = match outcome {
        Ok(receipt) => {
            metrics::counter!("yiwang_federation_envelopes_total", "direction" => "sent").increment(1);
            Cmd::Delivered {
                id: o.id.clone(),
                receipt: Box::new(receipt),
            }
        }
        Err((error, refused)) => {
            metrics::counter!("yiwang_federation_envelopes_total", "direction" => "failed").increment(1);
            let wait_s = 2i64
                .saturating_pow(attempts.clamp(0, 30) as u32)
                .min(store.config.federation.max_backoff_s);
            Cmd::Attempted {
                id: o.id.clone(),
                error,
                next_ms: crate::now_ms() + wait_s * 1000,
                refused,
            }
        }
    };
    store
        .write(Meta::actor("system:federation"), Command::Federation(Box::new(cmd)))
        .await?;
    Ok(ok)
}

/// One attempt: the receipt, or the error and whether the receiver refused the envelope.
pub(super) async fn attempt(
    store: &Store,
    local: &Local,
    client: &reqwest::Client,
    o: &Outgoing,
) -> std::result::Result<Receipt, (String, bool)> {
    let node = partner(store, &o.receiver)
        .await
        .map_err(|e| (e.to_string(), false))?
        .ok_or_else(|| (format!("no document of node {}", o.receiver), false))?;
    let env = sign(store, local, o).await.map_err(|e| (e.to_string(), false))?;
    let resp = client
        .post(format!("{}/federation/v1/envelopes", node.endpoint))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&env).expect("serialisable"))
        .send()
        .await
        .map_err(|e| (format!("not reached: {e}"), false))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| (format!("answer cut: {e}"), false))?;
    if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 408 {
        let text = String::from_utf8_lossy(&bytes).chars().take(500).collect::<String>();
        return Err((format!("refused ({status}): {text}"), true));
    }
    if !status.is_success() {
        return Err((format!("answered {status}"), false));
    }
    let receipt: Receipt = serde_json::from_slice(&bytes).map_err(|e| (format!("receipt unreadable: {e}"), false))?;
    // The receipt must be the receiver's, for this message and body.
    let key_hex = partner_key(store, &o.receiver, &receipt.key_id)
        .await
        .map_err(|e| (e.to_string(), false))?
        .unwrap_or_else(|| node.public_key.clone());
    let key = hex::decode(&key_hex).map_err(|_| ("partner key not hex".to_string(), false))?;
    let sig = hex::decode(&receipt.signature).map_err(|_| ("receipt signature not hex".to_string(), false))?;
    if receipt.message_id != o.id
        || receipt.digest != o.digest
        || receipt.receiver != o.receiver
        || yiwang_crypto::verify(&key, &receipt.signed_bytes(), &sig).is_err()
    {
        return Err(("the receipt does not verify".into(), false));
    }
    Ok(receipt)
}

pub(super) async fn delivered(ctx: &mut WriteCtx<'_>, id: &str, receipt: &Receipt) -> Result<Value> {
    let receiver: Option<String> =
        sqlx::query_scalar("SELECT receiver FROM fed_outgoing WHERE id = $1 AND state <> 'delivered'")
            .bind(id)
            .fetch_optional(&mut *ctx.conn)
            .await?;
    let Some(receiver) = receiver else {
        return Ok(json!({ "id": id, "again": true }));
    };
    ctx.append(&format!("fed_out:{receiver}"), Expect::Any, "fed.delivered", receipt)
        .await?;
    sqlx::query(
        "UPDATE fed_outgoing SET state = 'delivered', attempts = attempts + 1, receipt = $2, delivered_ms = $3, last_error = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(serde_json::to_string(receipt).expect("serialisable"))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "id": id }))
}

pub(super) async fn attempted(
    ctx: &mut WriteCtx<'_>,
    id: &str,
    error: &str,
    next_ms: i64,
    refused: bool,
) -> Result<Value> {
    if refused {
        let receiver: Option<String> = sqlx::query_scalar("SELECT receiver FROM fed_outgoing WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *ctx.conn)
            .await?;
        ctx.append(
            &format!("fed_out:{}", receiver.unwrap_or_default()),
            Expect::Any,
            "fed.refused_by_partner",
            &json!({ "id": id, "error": error }),
        )
        .await?;
    } else {
        // A transient failure is delivery bookkeeping: no ledger event.
        ctx.begin_write().await?;
    }
    sqlx::query(
        "UPDATE fed_outgoing SET state = $2, attempts = attempts + 1, next_ms = $3, last_error = $4 WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(if refused { "refused" } else { "pending" })
    .bind(next_ms)
    .bind(error)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "id": id }))
}

pub(super) async fn retry(ctx: &mut WriteCtx<'_>, id: &str) -> Result<Value> {
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM fed_outgoing WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *ctx.conn)
        .await?;
    match state.as_deref() {
        None => Err(DomainError::not_found("id", "报文", "envelope", id).into()),
        Some("delivered") => Err(DomainError::conflict(
            "id",
            "federation.delivered",
            "该报文已送达".into(),
            "this envelope was delivered".into(),
        )
        .into()),
        Some(_) => {
            ctx.append(
                &format!("fed_out_retry:{id}"),
                Expect::Any,
                "fed.retry",
                &json!({ "id": id }),
            )
            .await?;
            sqlx::query("UPDATE fed_outgoing SET state = 'pending', next_ms = $2 WHERE id = $1")
                .bind(id)
                .bind(ctx.now_ms)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(json!({ "id": id, "state": "pending" }))
        }
    }
}

/// Sends a refused or failing envelope again now.
pub async fn retry_envelope(store: &Store, meta: Meta, id: &str) -> Result<Value> {
    Ok(store
        .write(meta, Command::Federation(Box::new(Cmd::Retry { id: id.to_string() })))
        .await?
        .value)
}

// ---------------------------------------------------------------------------------------
// Receiving
// ---------------------------------------------------------------------------------------

/// Receives an envelope: checks it, keeps it with its ledger event and answers with a
/// signed receipt. A second delivery of the same message (same id, sender, kind,
/// correlation and digest) gets the first receipt and changes nothing; anything else
/// refused is logged (`fed_refused`, `fed.refused`) and answered with the reason.
pub async fn receive(store: &Store, local: &Local, env: Envelope) -> Result<(Receipt, Effect)> {
    match admit_envelope(store, local, &env).await {
        Ok(Admitted::Again(r)) => Ok((*r, Effect::Later)),
        Ok(Admitted::New(effect)) => {
            let answer = match &effect {
                Effect::Answer(a) => Some(a.clone()),
                _ => None,
            };
            let receipt = receipt_for(store, local, &env, answer).await?;
            let w = store
                .write(
                    Meta::actor(format!("node:{}", env.sender)),
                    Command::Federation(Box::new(Cmd::Receive {
                        envelope: Box::new(env),
                        receipt: Box::new(receipt),
                        effect: Box::new(effect.clone()),
                    })),
                )
                .await?;
            metrics::counter!("yiwang_federation_envelopes_total", "direction" => "received").increment(1);
            let r: Receipt = serde_json::from_value(w.value["receipt"].clone()).map_err(internal)?;
            let again = w.value["again"].as_bool().unwrap_or(false);
            Ok((r, if again { Effect::Later } else { effect }))
        }
        Err(Fail::Store(e)) => Err(e),
        Err(Fail::Refused(reason)) => {
            metrics::counter!("yiwang_federation_envelopes_total", "direction" => "refused").increment(1);
            let keep = store
                .refusal_budget
                .lock()
                .map(|mut b| {
                    b.keep(
                        &env.sender,
                        crate::now_ms(),
                        store.config.federation.refusals_logged_per_minute,
                    )
                })
                .unwrap_or(true);
            if !keep {
                // Over the minute's budget: answered and counted, not stored.
                metrics::counter!("yiwang_federation_envelopes_total", "direction" => "refused_unlogged").increment(1);
                return Err(reason.error().into());
            }
            store
                .write(
                    Meta::actor(format!("node:{}", env.sender)),
                    Command::Federation(Box::new(Cmd::Refuse {
                        envelope: Box::new(env),
                        reason,
                    })),
                )
                .await?;
            Err(reason.error().into())
        }
    }
}

pub(super) enum Admitted {
    New(Effect),
    Again(Box<Receipt>),
}

/// Why an envelope was not admitted: refused (logged, answered with the reason), or this
/// node could not check it now (answered 500: the sender tries again).
pub(super) enum Fail {
    Refused(Refusal),
    Store(StoreError),
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Fail {
        Fail::Refused(r)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        Fail::Store(e)
    }
}

async fn receipt_for(store: &Store, local: &Local, env: &Envelope, answer: Option<String>) -> Result<Receipt> {
    let key_id = current_key_id(store).await?;
    let key = store.keyring.signer_from(&store.read, &key_id).await?;
    let mut r = Receipt {
        message_id: env.id.clone(),
        sender: env.sender.clone(),
        receiver: local.id.clone(),
        digest: env.digest.clone(),
        received_ms: crate::now_ms(),
        key_id,
        signature: String::new(),
        answer,
    };
    r.signature = hex::encode(yiwang_crypto::Signer::sign(&*key, &r.signed_bytes()));
    Ok(r)
}

/// The receiver's checks, in order; a store error reads as malformed only where the
/// envelope's own content caused it.
async fn admit_envelope(store: &Store, local: &Local, env: &Envelope) -> std::result::Result<Admitted, Fail> {
    let policy = &store.config.federation;
    if env.body.len() > policy.max_body_bytes {
        return Err(Refusal::TooLarge.into());
    }
    let needs_agreement = core::kind_needs_agreement(&env.kind).ok_or(Refusal::UnknownKind)?;
    if env.receiver != local.id {
        return Err(Refusal::WrongReceiver.into());
    }
    if hex::encode(yiwang_crypto::sm3(env.body.as_bytes())) != env.digest {
        return Err(Refusal::BadDigest.into());
    }
    let body: Value = serde_json::from_str(&env.body).map_err(|_| Refusal::Malformed)?;
    // The sender's key: the stored document's; for a proposal from a node not known yet,
    // the document it carries (it must name the sender and sign itself).
    let known = partner(store, &env.sender).await?;
    let proposal_doc = if env.kind == "agreement.propose" {
        let doc: NodeDoc = serde_json::from_value(body["node"].clone()).map_err(|_| Refusal::Malformed)?;
        if doc.id != env.sender || check_doc(&doc).is_err() {
            return Err(Refusal::BadSignature.into());
        }
        Some(doc)
    } else {
        None
    };
    let key_hex = match (&known, &proposal_doc) {
        (Some(k), _) if env.key_id == k.key_id => k.public_key.clone(),
        // A key the sender rotated away from, within the grace time.
        (Some(_), _) => partner_key(store, &env.sender, &env.key_id)
            .await?
            .ok_or(Refusal::BadSignature)?,
        (None, Some(d)) => d.public_key.clone(),
        (None, None) => return Err(Refusal::UnknownSender.into()),
    };
    let key = hex::decode(&key_hex).map_err(|_| Refusal::UnknownSender)?;
    let sig = hex::decode(&env.signature).map_err(|_| Refusal::BadSignature)?;
    if yiwang_crypto::verify(&key, &env.signed_bytes(), &sig).is_err() {
        return Err(Refusal::BadSignature.into());
    }
    if !core::fresh(env.at_ms, crate::now_ms(), policy.max_skew_s) {
        return Err(Refusal::Stale.into());
    }
    // Replay: the same message again gets its first receipt; another one under a used id
    // is refused.
    if let Some(r) = sqlx::query("SELECT sender, kind, correlation, digest, receipt FROM fed_incoming WHERE id = $1")
        .bind(&env.id)
        .fetch_optional(&store.read)
        .await
        .map_err(StoreError::from)?
    {
        let same = r.try_get::<String, _>("sender").ok().as_deref() == Some(env.sender.as_str())
            && r.try_get::<String, _>("kind").ok().as_deref() == Some(env.kind.as_str())
            && r.try_get::<String, _>("correlation").ok().as_deref() == Some(env.correlation.as_str())
            && r.try_get::<String, _>("digest").ok().as_deref() == Some(env.digest.as_str());
        if !same {
            return Err(Refusal::Replay.into());
        }
        let receipt: String = r.try_get("receipt").map_err(|_| Refusal::Malformed)?;
        let receipt: Receipt = serde_json::from_str(&receipt).map_err(|_| Refusal::Malformed)?;
        return Ok(Admitted::Again(Box::new(receipt)));
    }
    let agreement = agreement_with(store, &env.sender)
        .await
        .map_err(|_| Refusal::Malformed)?;
    let today = crate::today();
    let kind = env.kind.as_str();
    let effect = match kind {
        "agreement.propose" => {
            let doc = proposal_doc.expect("read above");
            let terms: Terms = serde_json::from_value(body["terms"].clone()).map_err(|_| Refusal::Malformed)?;
            if terms.check(&env.sender, &local.id).is_err() {
                return Err(Refusal::Malformed.into());
            }
            let agreement_id = body["agreement_id"]
                .as_str()
                .ok_or(Fail::Refused(Refusal::Malformed))?
                .to_string();
            Effect::Proposal {
                agreement_id,
                node: Box::new(doc),
                terms,
            }
        }
        "agreement.approve" | "agreement.decline" | "agreement.revoke" => {
            let a = agreement.as_ref().ok_or(Fail::Refused(Refusal::NoAgreement))?;
            if a.state == AgreementState::Revoked {
                return Err(Refusal::Revoked.into());
            }
            let action = match kind {
                "agreement.approve" => AgreementAction::Approved,
                "agreement.decline" => AgreementAction::Declined,
                _ => AgreementAction::Revoked,
            };
            Effect::Agreement {
                agreement_id: body["agreement_id"]
                    .as_str()
                    .ok_or(Fail::Refused(Refusal::Malformed))?
                    .to_string(),
                action,
                reason: body["reason"].as_str().map(str::to_string),
            }
        }
        _ => {
            debug_assert!(needs_agreement);
            let a = agreement.as_ref();
            core::admit(a.map(|a| (a.state, &a.terms)), today).map_err(Fail::Refused)?;
            let terms = &a.expect("admitted").terms;
            match kind {
                "offers.publish" => {
                    let offers: Vec<Offer> =
                        serde_json::from_value(body["offers"].clone()).map_err(|_| Refusal::Malformed)?;
                    Effect::Offers(offers)
                }
                "application.forward" => {
                    let f: Forwarded = serde_json::from_value(body).map_err(|_| Refusal::Malformed)?;
                    let offered = offer(store, &local.id, &f.item_code)
                        .await?
                        .is_some_and(|o| o.modes.contains(&f.mode));
                    if !offered {
                        return Err(Refusal::NotOffered.into());
                    }
                    for right in core::forward_needs(&f) {
                        if !terms.grants(&local.id, &env.sender, right, &f.item_code) {
                            return Err(Refusal::NotGranted.into());
                        }
                    }
                    Effect::Later
                }
                "application.received" | "case.status" => {
                    let s: Status = serde_json::from_value(body).map_err(|_| Refusal::Malformed)?;
                    Effect::Status(Box::new(s))
                }
                "trust.publish" => Effect::Trust(super::recognition::partner_keys(store, &env.sender, body).await?),
                "node.rotate" => {
                    // Signed with the key this node knows; the new document signs itself.
                    let doc: NodeDoc = serde_json::from_value(body["node"].clone()).map_err(|_| Refusal::Malformed)?;
                    let current = known.as_ref().ok_or(Fail::Refused(Refusal::UnknownSender))?;
                    if doc.id != env.sender
                        || env.key_id != current.key_id
                        || doc.key_id == current.key_id
                        || check_doc(&doc).is_err()
                    {
                        return Err(Refusal::Malformed.into());
                    }
                    Effect::Rotate(Box::new(doc), policy.key_grace_s)
                }
                "licence.status" => Effect::Answer(super::recognition::status_answer(store, &body).await?),
                "case.delivered" => {
                    let h: core::Handover = serde_json::from_value(body).map_err(|_| Refusal::Malformed)?;
                    let row = sqlx::query(
                        "SELECT c.item_code, s.state FROM fed_cases c JOIN cases s ON s.id = c.local_case
                         WHERE c.role = 'competent' AND c.partner = $1 AND c.local_case = $2",
                    )
                    .bind(&env.sender)
                    .bind(&h.case_id)
                    .fetch_optional(&store.read)
                    .await
                    .map_err(StoreError::from)?
                    .ok_or(Fail::Refused(Refusal::Malformed))?;
                    let item: String = row.try_get("item_code").map_err(StoreError::from)?;
                    let state: String = row.try_get("state").map_err(StoreError::from)?;
                    if !terms.grants(&local.id, &env.sender, core::Right::Deliver, &item) {
                        return Err(Refusal::NotGranted.into());
                    }
                    if state != yiwang_core::cases::State::Decided.as_str() {
                        return Err(Refusal::NotDue.into());
                    }
                    Effect::Later
                }
                _ => return Err(Refusal::UnknownKind.into()),
            }
        }
    };
    Ok(Admitted::New(effect))
}

pub(super) async fn receive_cmd(
    ctx: &mut WriteCtx<'_>,
    env: &Envelope,
    receipt: &Receipt,
    effect: &Effect,
) -> Result<Value> {
    // Two deliveries racing: the second finds the first here and gets its receipt.
    if let Some(r) = sqlx::query_scalar::<_, String>("SELECT receipt FROM fed_incoming WHERE id = $1")
        .bind(&env.id)
        .fetch_optional(&mut *ctx.conn)
        .await?
    {
        let r: Value = serde_json::from_str(&r).map_err(internal)?;
        return Ok(json!({ "receipt": r, "again": true }));
    }
    ctx.append(
        &format!("fed_in:{}", env.sender),
        Expect::Any,
        &format!("fed.in.{}", env.kind),
        &json!({ "id": env.id, "sender": env.sender, "kind": env.kind, "correlation": env.correlation,
                 "digest": env.digest, "at_ms": env.at_ms, "signature": env.signature }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO fed_incoming (id, sender, kind, correlation, digest, envelope, receipt, received_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&env.id)
    .bind(&env.sender)
    .bind(&env.kind)
    .bind(&env.correlation)
    .bind(&env.digest)
    .bind(serde_json::to_string(env).expect("serialisable"))
    .bind(serde_json::to_string(receipt).expect("serialisable"))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    match effect {
        Effect::Later => {}
        Effect::Proposal {
            agreement_id,
            node,
            terms,
        } => {
            let exists: Option<String> = sqlx::query_scalar("SELECT id FROM fed_agreements WHERE id = $1")
                .bind(agreement_id)
                .fetch_optional(&mut *ctx.conn)
                .await?;
            if exists.is_none() {
                save_node(ctx, node).await?;
                ctx.append(
                    &format!("fed_agreement:{agreement_id}"),
                    Expect::Any,
                    "fed.agreement.pending",
                    &json!({ "partner": node.id, "terms": terms, "proposed_by": node.id }),
                )
                .await?;
                insert_agreement(ctx, agreement_id, &node.id, AgreementState::Pending, &node.id, terms).await?;
            }
        }
        Effect::Agreement {
            agreement_id,
            action,
            reason,
        } => {
            decide_agreement(ctx, agreement_id, Some(&env.sender), *action, reason.as_deref()).await?;
        }
        Effect::Offers(offers) => {
            sqlx::query("DELETE FROM fed_offers WHERE node = $1")
                .bind(&env.sender)
                .execute(&mut *ctx.conn)
                .await?;
            for o in offers {
                put_offer(ctx, &env.sender, o).await?;
            }
        }
        Effect::Status(s) => work::apply_status(ctx, &env.sender, s).await?,
        Effect::Trust(keys) => {
            crate::seals::import_trust(ctx, &super::recognition::key_source(&env.sender), keys).await?;
        }
        Effect::Answer(_) => {}
        Effect::Rotate(doc, grace_s) => super::rotation::take_new_key(ctx, doc, *grace_s).await?,
    }
    Ok(json!({ "receipt": receipt, "again": false }))
}

pub(super) async fn refuse_cmd(ctx: &mut WriteCtx<'_>, env: &Envelope, reason: Refusal) -> Result<Value> {
    let sender: String = env.sender.chars().take(64).collect();
    let id = new_id();
    ctx.append(
        &format!("fed_refused:{id}"),
        Expect::New,
        "fed.refused",
        &json!({ "message_id": env.id, "sender": sender, "kind": env.kind, "reason": reason, "digest": env.digest }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO fed_refused (id, message_id, sender, kind, reason, envelope, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(env.id.chars().take(100).collect::<String>())
    .bind(&sender)
    .bind(env.kind.chars().take(100).collect::<String>())
    .bind(reason.as_str())
    .bind(serde_json::to_string(env).expect("serialisable"))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "id": id, "reason": reason }))
}

// ---------------------------------------------------------------------------------------
// The exchange log
// ---------------------------------------------------------------------------------------

/// One line of the exchange log.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    /// `out`, `in` or `refused`.
    pub direction: String,
    pub id: String,
    pub partner: String,
    pub kind: String,
    pub correlation: String,
    /// Out: pending / delivered / refused; in: received; refused: the reason.
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub at_ms: i64,
}

/// The newest envelopes each way and the refusals, newest first.
pub async fn log(store: &Store, limit: i64) -> Result<Vec<LogLine>> {
    let mut lines = vec![];
    for r in sqlx::query(
        "SELECT id, receiver, kind, correlation, state, attempts, last_error, created_ms FROM fed_outgoing
         ORDER BY created_ms DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&store.read)
    .await?
    {
        lines.push(LogLine {
            direction: "out".into(),
            id: r.try_get("id")?,
            partner: r.try_get("receiver")?,
            kind: r.try_get("kind")?,
            correlation: r.try_get("correlation")?,
            state: r.try_get("state")?,
            attempts: r.try_get("attempts")?,
            error: r.try_get("last_error")?,
            at_ms: r.try_get("created_ms")?,
        });
    }
    for r in sqlx::query(
        "SELECT id, sender, kind, correlation, received_ms FROM fed_incoming ORDER BY received_ms DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&store.read)
    .await?
    {
        lines.push(LogLine {
            direction: "in".into(),
            id: r.try_get("id")?,
            partner: r.try_get("sender")?,
            kind: r.try_get("kind")?,
            correlation: r.try_get("correlation")?,
            state: "received".into(),
            attempts: 1,
            error: None,
            at_ms: r.try_get("received_ms")?,
        });
    }
    for r in sqlx::query("SELECT message_id, sender, kind, reason, at_ms FROM fed_refused ORDER BY at_ms DESC LIMIT $1")
        .bind(limit)
        .fetch_all(&store.read)
        .await?
    {
        lines.push(LogLine {
            direction: "refused".into(),
            id: r.try_get("message_id")?,
            partner: r.try_get("sender")?,
            kind: r.try_get("kind")?,
            correlation: String::new(),
            state: r.try_get("reason")?,
            attempts: 1,
            error: None,
            at_ms: r.try_get("at_ms")?,
        });
    }
    lines.sort_by_key(|l| std::cmp::Reverse(l.at_ms));
    lines.truncate(limit.max(0) as usize);
    Ok(lines)
}

/// The stored envelope of a message received (to verify it again later).
pub async fn incoming(store: &Store, id: &str) -> Result<Option<Envelope>> {
    let e: Option<String> = sqlx::query_scalar("SELECT envelope FROM fed_incoming WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    e.map(|e| serde_json::from_str(&e).map_err(internal)).transpose()
}

/// Checks an envelope against the key of the node document given (an envelope file kept
/// by either side, verified later): digest and signature.
pub fn verify_envelope(env: &Envelope, sender: &NodeDoc) -> std::result::Result<(), Refusal> {
    if env.sender != sender.id {
        return Err(Refusal::UnknownSender);
    }
    if hex::encode(yiwang_crypto::sm3(env.body.as_bytes())) != env.digest {
        return Err(Refusal::BadDigest);
    }
    let key = hex::decode(&sender.public_key).map_err(|_| Refusal::UnknownSender)?;
    let sig = hex::decode(&env.signature).map_err(|_| Refusal::BadSignature)?;
    yiwang_crypto::verify(&key, &env.signed_bytes(), &sig).map_err(|_| Refusal::BadSignature)
}

/// Fetches and checks a node's document from its endpoint (`GET /federation/v1/node`).
pub async fn fetch_node_doc(endpoint: &str) -> Result<NodeDoc> {
    let endpoint = endpoint.trim().trim_end_matches('/');
    let unreachable = |why: String| {
        StoreError::from(DomainError::invalid(vec![yiwang_core::error::FieldError::new(
            "partner_endpoint",
            "federation.unreachable",
            format!("无法取得对方节点文档：{why}"),
            format!("the partner's node document could not be fetched: {why}"),
        )]))
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(unreachable("not an http(s) address".into()));
    }
    let resp = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| unreachable(e.to_string()))?
        .get(format!("{endpoint}/federation/v1/node"))
        .send()
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(unreachable(format!("answered {}", resp.status())));
    }
    let bytes = resp.bytes().await.map_err(|e| unreachable(e.to_string()))?;
    let doc: NodeDoc = serde_json::from_slice(&bytes).map_err(|e| unreachable(e.to_string()))?;
    check_doc(&doc)?;
    Ok(doc)
}

/// The courier: delivers due envelopes, woken by every commit (an envelope queued) and at
/// least once a second (back-offs falling due, other processes' envelopes), until `stop`.
pub async fn courier(store: std::sync::Arc<Store>, local: Local, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "federation courier: no HTTP client");
            return;
        }
    };
    let mut head = store.writer.head();
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(e) = deliver_due(&store, &local, &client).await {
            tracing::warn!(error = %e, "federation courier");
        }
        tokio::select! {
            _ = head.changed() => {
                // Let a burst of commits settle into one pass.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}
