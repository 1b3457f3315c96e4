//! A document kept whole as numbered versions (the 好差评 option set, the 12345 dispatch
//! catalogue): each publication appends an event on the document's stream and a row
//! `(version, <body column>, created_by, created_at)`; readers take the latest.

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Result, Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// One versioned document: its table, the column holding the body (JSON), its ledger stream
/// and event kind, and the version before the first publication (the shipped one).
pub(crate) struct Doc {
    pub table: &'static str,
    pub column: &'static str,
    pub stream: &'static str,
    pub kind: &'static str,
    pub base: i64,
}

impl Doc {
    /// The latest published version and its body, if any.
    pub(crate) async fn latest<T: DeserializeOwned>(&self, store: &Store) -> Result<Option<(i64, T)>> {
        let row: Option<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT version, {} FROM {} ORDER BY version DESC LIMIT 1",
            self.column, self.table
        )))
        .fetch_optional(&store.read)
        .await?;
        row.map(|(v, body)| {
            serde_json::from_str(&body)
                .map(|b| (v, b))
                .map_err(|e| StoreError::Internal(format!("{}: {e}", self.table)))
        })
        .transpose()
    }

    /// In the writer: publishes `body` as the next version; returns `{"version": n}`.
    pub(crate) async fn publish<T: Serialize>(&self, ctx: &mut WriteCtx<'_>, body: &T) -> Result<serde_json::Value> {
        let last: Option<i64> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT MAX(version) FROM {}", self.table)))
                .fetch_one(&mut *ctx.conn)
                .await?;
        let version = last.unwrap_or(self.base) + 1;
        let text = serde_json::to_string(body).map_err(|e| StoreError::Internal(e.to_string()))?;
        ctx.append(
            self.stream,
            Expect::Any,
            self.kind,
            &json!({ "version": version, self.column: body }),
        )
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {} (version, {}, created_by, created_at) VALUES ($1, $2, $3, $4)",
            self.table, self.column
        )))
        .bind(version)
        .bind(text)
        .bind(&ctx.actor)
        .bind(ctx.now_ms)
        .execute(&mut *ctx.conn)
        .await?;
        Ok(json!({ "version": version }))
    }
}
