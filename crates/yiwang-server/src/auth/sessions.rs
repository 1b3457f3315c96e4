//! Sessions stored in the database.

use super::*;

/// tower-sessions' store over our database; every write goes through the writer.
#[derive(Clone)]
pub struct SqlSessions(pub Arc<Store>);

impl std::fmt::Debug for SqlSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqlSessions")
    }
}

pub(super) fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait::async_trait]
impl SessionStore for SqlSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh random id; on the (astronomically unlikely) collision, draw again.
        while store_auth::session_load(&self.0, &record.id.to_string())
            .await
            .map_err(backend)?
            .is_some()
        {
            record.id = Id::default();
        }
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let account = record.data.get("account_id").and_then(|v| v.as_str());
        let expires = (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64;
        store_auth::session_save(&self.0, &record.id.to_string(), account, &data, expires)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = store_auth::session_load(&self.0, &id.to_string())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp_nanos(row.expires_at as i128 * 1_000_000)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        store_auth::session_delete(&self.0, &id.to_string())
            .await
            .map_err(backend)
    }
}

/// The session layer: an HttpOnly, SameSite=Lax cookie; idle expiry as policy says.
pub fn session_layer(store: Arc<Store>, secure: bool) -> SessionManagerLayer<SqlSessions> {
    let idle = store.policy.idle_ms / 1000;
    SessionManagerLayer::new(SqlSessions(store))
        .with_name("yiwang_session")
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(idle)))
}

// ------------------------------------------------------------------ who is calling
