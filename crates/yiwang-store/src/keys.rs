//! The node's keys. The ledger key (SM2) signs checkpoints; its private half is stored
//! only sealed with SM4-GCM under the master key, which never enters the database.

use crate::{Result, StoreError, now_ms};
use sqlx::{AnyPool, Row};
use yiwang_crypto::{Signer, Sm4Key, SoftKey};

/// The ledger signing key with its id.
pub struct LedgerKey {
    pub id: String,
    pub signer: Box<dyn Signer>,
}

const LEDGER_KEY_ID: &str = "ledger-1";

fn aad(id: &str) -> Vec<u8> {
    format!("yiwang.node_key:{id}").into_bytes()
}

/// Loads the ledger key, creating it on first start. Several processes starting at once
/// agree on one key: the insert is keyed and the loser re-reads.
pub async fn load_or_create_ledger_key(pool: &AnyPool, master: &Sm4Key) -> Result<LedgerKey> {
    if let Some(k) = load(pool, master, LEDGER_KEY_ID).await? {
        return Ok(k);
    }
    let key = SoftKey::generate();
    let sealed = master.seal(&key.secret_bytes(), &aad(LEDGER_KEY_ID));
    sqlx::query(
        "INSERT INTO node_keys (id, purpose, public_key, sealed_secret, created_at, active) VALUES ($1, 'ledger', $2, $3, $4, 1)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(LEDGER_KEY_ID)
    .bind(hex::encode(key.public_key()))
    .bind(hex::encode(sealed))
    .bind(now_ms())
    .execute(pool)
    .await?;
    load(pool, master, LEDGER_KEY_ID)
        .await?
        .ok_or_else(|| StoreError::Internal("ledger key vanished".into()))
}

async fn load(pool: &AnyPool, master: &Sm4Key, id: &str) -> Result<Option<LedgerKey>> {
    let Some(row) = sqlx::query("SELECT public_key, sealed_secret FROM node_keys WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let public: String = row.try_get("public_key")?;
    let sealed: String = row.try_get("sealed_secret")?;
    let sealed = hex::decode(sealed).map_err(|_| StoreError::Internal("node key: sealed secret is not hex".into()))?;
    let secret = master.open(&sealed, &aad(id)).map_err(|_| {
        StoreError::Internal(
            "node key cannot be opened: the master key is not the one this database was created with".into(),
        )
    })?;
    let key = SoftKey::from_secret_bytes(&secret).map_err(|e| StoreError::Internal(format!("node key: {e}")))?;
    // Binding check: the stored public key must be the sealed private key's.
    if hex::encode(key.public_key()) != public {
        return Err(StoreError::Internal(
            "node key: stored public key does not match the sealed private key".into(),
        ));
    }
    Ok(Some(LedgerKey {
        id: id.to_string(),
        signer: Box::new(key),
    }))
}

/// The trusted public keys for checkpoint verification: only keys whose sealed private
/// half opens under the master key count, so a key inserted by someone without the master
/// key is not trusted.
pub async fn trusted_ledger_keys(pool: &AnyPool, master: &Sm4Key) -> Result<Vec<(String, Vec<u8>)>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM node_keys WHERE purpose = 'ledger'")
        .fetch_all(pool)
        .await?;
    let mut out = vec![];
    for id in ids {
        if let Some(k) = load(pool, master, &id).await? {
            out.push((k.id, k.signer.public_key()));
        }
    }
    Ok(out)
}
