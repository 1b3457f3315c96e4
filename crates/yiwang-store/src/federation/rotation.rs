//! Key rotation announced through the agreement: a node makes a new envelope key and tells
//! every partner in a `node.rotate` envelope signed with its old key, carrying its new
//! document signed with the new one. From then on it signs with the new key; a partner
//! that took the announcement verifies with the new key, and with the old one for
//! `key_grace_s` more (envelopes signed before the rotation and still on their way). The
//! announcement is delivered in order per partner before anything signed with the new key.

use super::*;

/// How long the current key id is read from memory before `node_keys` is read again (a
/// second process on the same database sees a rotation within this time).
const KEY_ID_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The node's envelope key now: the newest active `federation` key (`node-1` until the
/// first rotation).
pub async fn current_key_id(store: &Store) -> Result<String> {
    if let Some((id, at)) = store.node_key.lock().expect("node key").clone()
        && at.elapsed() < KEY_ID_TTL
    {
        return Ok(id);
    }
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM node_keys WHERE purpose = 'federation' AND active = 1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .fetch_optional(&store.read)
    .await?;
    let id = id.unwrap_or_else(|| NODE_KEY_ID.to_string());
    *store.node_key.lock().expect("node key") = Some((id.clone(), std::time::Instant::now()));
    Ok(id)
}

/// The public key (hex) a partner signs with under `key_id`: its current document's, or
/// the one it rotated away from while that is still within the grace time.
pub async fn partner_key(store: &Store, node: &str, key_id: &str) -> Result<Option<String>> {
    key_of(store, node, key_id, Some(crate::now_ms())).await
}

/// The public key (hex) a partner signed with under `key_id`, its current or the one it
/// rotated away from, however long ago: what verifies a kept envelope later (audit), not
/// what admits a new one.
pub async fn partner_key_ever(store: &Store, node: &str, key_id: &str) -> Result<Option<String>> {
    key_of(store, node, key_id, None).await
}

/// The partner's key under `key_id`; its previous one only while `now_ms` is within the
/// grace time (always when `now_ms` is None).
async fn key_of(store: &Store, node: &str, key_id: &str, now_ms: Option<i64>) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT key_id, public_key, previous_key_id, previous_public_key, previous_until_ms FROM fed_nodes WHERE id = $1",
    )
    .bind(node)
    .fetch_optional(&store.read)
    .await?;
    let Some(r) = row else { return Ok(None) };
    if r.try_get::<String, _>("key_id")? == key_id {
        return Ok(Some(r.try_get("public_key")?));
    }
    let prev: Option<String> = r.try_get("previous_key_id")?;
    let until: Option<i64> = r.try_get("previous_until_ms")?;
    if prev.as_deref() == Some(key_id) && now_ms.is_none_or(|now| until.is_some_and(|u| now <= u)) {
        return Ok(r.try_get("previous_public_key")?);
    }
    Ok(None)
}

/// Makes a new envelope key and announces it to every partner with an agreement in force.
pub async fn rotate_key(store: &Store, meta: Meta, local: &Local) -> Result<Value> {
    let previous = current_key_id(store).await?;
    let key_id = format!("node-{}", &new_id().replace('-', "")[..12]);
    let (key, sealed) = store.keyring.new_key(&key_id);
    let doc = signed_doc(local, &key_id, &key);
    let mut outs = vec![];
    for a in agreements(store).await? {
        if a.state == AgreementState::Active {
            outs.push(Outgoing::new(
                &a.partner,
                "node.rotate",
                &local.id,
                &json!({ "node": doc, "previous_key_id": previous }),
            ));
        }
    }
    let announced = outs.len();
    store
        .write(
            meta,
            Command::Federation(Box::new(Cmd::RotateKey {
                key_id: key_id.clone(),
                public_key: doc.public_key.clone(),
                sealed,
                previous: previous.clone(),
                out: outs,
            })),
        )
        .await?;
    *store.node_key.lock().expect("node key") = None;
    Ok(json!({
        "key_id": key_id,
        "previous_key_id": previous,
        "fingerprint": fingerprint(&doc.public_key),
        "announced_to": announced,
    }))
}

pub(super) async fn rotated(
    ctx: &mut WriteCtx<'_>,
    key_id: &str,
    public_key: &str,
    sealed: &str,
    previous: &str,
    out: &[Outgoing],
) -> Result<Value> {
    ctx.append(
        "fed_node_key",
        Expect::Any,
        "fed.node.key_rotated",
        &json!({ "key_id": key_id, "public_key": public_key, "previous_key_id": previous }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO node_keys (id, purpose, public_key, sealed_secret, created_at, active) VALUES ($1, 'federation', $2, $3, $4, 1)",
    )
    .bind(key_id)
    .bind(public_key)
    .bind(sealed)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    sqlx::query("UPDATE node_keys SET active = 0 WHERE purpose = 'federation' AND id <> $1")
        .bind(key_id)
        .execute(&mut *ctx.conn)
        .await?;
    for o in out {
        queue(ctx, o).await?;
    }
    Ok(json!({ "key_id": key_id }))
}

/// A partner's announced new document: the old key is kept for the grace time.
pub(super) async fn take_new_key(ctx: &mut WriteCtx<'_>, doc: &NodeDoc, grace_s: i64) -> Result<()> {
    sqlx::query(
        "UPDATE fed_nodes SET previous_key_id = key_id, previous_public_key = public_key, previous_until_ms = $2
         WHERE id = $1",
    )
    .bind(&doc.id)
    .bind(ctx.now_ms + grace_s * 1000)
    .execute(&mut *ctx.conn)
    .await?;
    save_node(ctx, doc).await
}
