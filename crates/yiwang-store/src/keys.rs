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
/// The platform's key as seal maker (制章者): certifies seals, signs trust lists and
/// licence presentations.
pub const SEAL_MAKER_KEY_ID: &str = "sealmaker-1";

fn aad(id: &str) -> Vec<u8> {
    format!("yiwang.node_key:{id}").into_bytes()
}

/// Loads the ledger key, creating it on first start. Several processes starting at once
/// agree on one key: the insert is keyed and the loser re-reads.
pub async fn load_or_create_ledger_key(pool: &AnyPool, master: &Sm4Key) -> Result<LedgerKey> {
    load_or_create_signing_key(pool, master, LEDGER_KEY_ID, "ledger").await
}

/// Loads the node's envelope signing key (跨域通办), creating it on first start.
pub async fn load_or_create_node_key(pool: &AnyPool, master: &Sm4Key) -> Result<LedgerKey> {
    load_or_create_signing_key(pool, master, crate::federation::NODE_KEY_ID, "federation").await
}

/// Loads the seal maker's key, creating it on first start.
pub async fn load_or_create_seal_maker(pool: &AnyPool, master: &Sm4Key) -> Result<LedgerKey> {
    load_or_create_signing_key(pool, master, SEAL_MAKER_KEY_ID, "seal_maker").await
}

async fn load_or_create_signing_key(pool: &AnyPool, master: &Sm4Key, id: &str, purpose: &str) -> Result<LedgerKey> {
    if let Some(k) = load(pool, master, id).await? {
        return Ok(k);
    }
    let key = SoftKey::generate();
    let sealed = master.seal(&key.secret_bytes(), &aad(id));
    sqlx::query(
        "INSERT INTO node_keys (id, purpose, public_key, sealed_secret, created_at, active) VALUES ($1, $2, $3, $4, $5, 1)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(purpose)
    .bind(hex::encode(key.public_key()))
    .bind(hex::encode(sealed))
    .bind(now_ms())
    .execute(pool)
    .await?;
    load(pool, master, id)
        .await?
        .ok_or_else(|| StoreError::Internal(format!("node key {id} vanished")))
}

/// The signing keys of seals and of the seal maker, for the writer: private halves are
/// sealed under the master key in `node_keys` (a hardware security module can take their
/// place behind `Signer`), opened on first use and kept in memory; and the personal-data
/// keys, for what the writer stores sealed.
pub struct Keyring {
    pub pii: std::sync::Arc<PiiKeys>,
    master: Sm4Key,
    cache: std::sync::RwLock<std::collections::HashMap<String, std::sync::Arc<SoftKey>>>,
}

impl Keyring {
    pub fn new(pii: std::sync::Arc<PiiKeys>, master: Sm4Key) -> Keyring {
        Keyring {
            pii,
            master,
            cache: Default::default(),
        }
    }

    /// A new signing key for `id`; returns it with the hex of its sealed private half,
    /// for the caller to insert into `node_keys` in its own transaction.
    pub fn new_key(&self, id: &str) -> (SoftKey, String) {
        let key = SoftKey::generate();
        let sealed = hex::encode(self.master.seal(&key.secret_bytes(), &aad(id)));
        (key, sealed)
    }

    /// The signing key `id`, taking a connection from `pool` only on first use.
    pub async fn signer_from(&self, pool: &AnyPool, id: &str) -> Result<std::sync::Arc<SoftKey>> {
        if let Some(k) = self.cache.read().expect("keyring").get(id) {
            return Ok(k.clone());
        }
        let mut conn = pool.acquire().await?;
        self.signer(&mut conn, id).await
    }

    /// The signing key `id`, opened from `node_keys` through `conn` on first use.
    pub async fn signer(&self, conn: &mut sqlx::AnyConnection, id: &str) -> Result<std::sync::Arc<SoftKey>> {
        if let Some(k) = self.cache.read().expect("keyring").get(id) {
            return Ok(k.clone());
        }
        let row = sqlx::query("SELECT public_key, sealed_secret FROM node_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::Internal(format!("signing key {id} does not exist")))?;
        let public: String = row.try_get("public_key")?;
        let sealed: String = row.try_get("sealed_secret")?;
        let sealed = hex::decode(sealed).map_err(|_| StoreError::Internal(format!("key {id}: not hex")))?;
        let secret = self
            .master
            .open(&sealed, &aad(id))
            .map_err(|_| StoreError::Internal(format!("key {id} does not open under the master key")))?;
        let key = SoftKey::from_secret_bytes(&secret).map_err(|e| StoreError::Internal(format!("key {id}: {e}")))?;
        if hex::encode(key.public_key()) != public {
            return Err(StoreError::Internal(format!(
                "key {id}: stored public key does not match the sealed private key"
            )));
        }
        let key = std::sync::Arc::new(key);
        self.cache.write().expect("keyring").insert(id.to_string(), key.clone());
        Ok(key)
    }
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

/// The keys that protect personal data at rest: an SM4 key for field encryption
/// (SM4-GCM, GB/T 32907) and an HMAC-SM3 key for blind indexes. Both are stored only
/// sealed under the master key (GB/T 22239-2019 §8.1.4.8: confidentiality of important
/// personal data in storage).
pub struct PiiKeys {
    field: Sm4Key,
    index: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for PiiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiKeys(<redacted>)")
    }
}

impl PiiKeys {
    /// Encrypts a field value bound to its row and column (`context`, e.g.
    /// `persons.id_number:<id>`), so a ciphertext copied to another row does not open.
    pub fn seal(&self, context: &str, plaintext: &str) -> String {
        hex::encode(self.field.seal(plaintext.as_bytes(), context.as_bytes()))
    }
    pub fn open(&self, context: &str, sealed_hex: &str) -> Result<String> {
        let sealed =
            hex::decode(sealed_hex).map_err(|_| StoreError::Internal(format!("{context}: ciphertext is not hex")))?;
        let plain = self
            .field
            .open(&sealed, context.as_bytes())
            .map_err(|_| StoreError::Internal(format!("{context}: ciphertext does not open (altered or moved)")))?;
        String::from_utf8(plain.to_vec()).map_err(|_| StoreError::Internal(format!("{context}: not UTF-8")))
    }
    pub fn seal_bytes(&self, context: &str, plaintext: &[u8]) -> String {
        hex::encode(self.field.seal(plaintext, context.as_bytes()))
    }
    pub fn open_bytes(&self, context: &str, sealed_hex: &str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let sealed =
            hex::decode(sealed_hex).map_err(|_| StoreError::Internal(format!("{context}: ciphertext is not hex")))?;
        self.field
            .open(&sealed, context.as_bytes())
            .map_err(|_| StoreError::Internal(format!("{context}: ciphertext does not open (altered or moved)")))
    }
    /// Encrypts bytes bound to `context` (SM4-GCM), as raw bytes (files at rest).
    pub fn seal_raw(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        self.field.seal(plaintext, context.as_bytes())
    }
    pub fn open_raw(&self, context: &str, sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        self.field
            .open(sealed, context.as_bytes())
            .map_err(|_| StoreError::Internal(format!("{context}: ciphertext does not open (altered or moved)")))
    }
    /// The blind index of a value of a kind (`id_number`, `phone`, `token`, …): keyed SM3,
    /// so equal values find each other while the index alone reveals nothing.
    pub fn index(&self, kind: &str, value: &str) -> String {
        let mut data = kind.as_bytes().to_vec();
        data.push(0);
        data.extend_from_slice(value.as_bytes());
        hex::encode(yiwang_crypto::keyed::hmac_sm3(&self.index, &data))
    }
}

const PII_FIELD_KEY_ID: &str = "pii-field-1";
const PII_INDEX_KEY_ID: &str = "pii-index-1";

async fn load_or_create_secret(
    pool: &AnyPool,
    master: &Sm4Key,
    id: &str,
    purpose: &str,
    len: usize,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    for _ in 0..2 {
        if let Some(row) = sqlx::query("SELECT sealed_secret FROM node_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
        {
            let sealed: String = row.try_get("sealed_secret")?;
            let sealed = hex::decode(sealed).map_err(|_| StoreError::Internal(format!("node key {id}: not hex")))?;
            return master.open(&sealed, &aad(id)).map_err(|_| {
                StoreError::Internal(format!(
                    "node key {id} cannot be opened: the master key is not the one this database was created with"
                ))
            });
        }
        let mut secret = zeroize::Zeroizing::new(vec![0u8; len]);
        rand::fill(&mut secret[..]);
        let sealed = master.seal(&secret, &aad(id));
        sqlx::query(
            "INSERT INTO node_keys (id, purpose, public_key, sealed_secret, created_at, active) VALUES ($1, $2, '', $3, $4, 1)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(purpose)
        .bind(hex::encode(sealed))
        .bind(now_ms())
        .execute(pool)
        .await?;
    }
    Err(StoreError::Internal(format!("node key {id} vanished")))
}

/// Loads the personal-data keys, creating them on first start.
pub async fn load_or_create_pii_keys(pool: &AnyPool, master: &Sm4Key) -> Result<PiiKeys> {
    let field = load_or_create_secret(pool, master, PII_FIELD_KEY_ID, "pii_field", 16).await?;
    let index = load_or_create_secret(pool, master, PII_INDEX_KEY_ID, "pii_index", 32).await?;
    Ok(PiiKeys {
        field: Sm4Key::from_bytes(&field).map_err(|e| StoreError::Internal(e.to_string()))?,
        index,
    })
}
