//! Audit records in the ledger, with the `audit_log` projection for queries.

use crate::Result;
use crate::ledger::Expect;
use crate::rows::{JsonText, read};
use crate::writer::WriteCtx;
use serde::Serialize;
use serde_json::Value;
use yiwang_core::audit::{AuditRecord, decide};

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, record: &AuditRecord) -> Result<Value> {
    decide(record)?;
    let seq = ctx
        .append(
            &format!("audit:{}", record.category),
            Expect::Any,
            "audit.recorded",
            record,
        )
        .await?;
    sqlx::query("INSERT INTO audit_log (seq, category, action, subject, actor, detail, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(seq)
        .bind(&record.category)
        .bind(&record.action)
        .bind(&record.subject)
        .bind(&ctx.actor)
        .bind(record.detail.to_string())
        .bind(ctx.now_ms)
        .execute(&mut *ctx.conn)
        .await?;
    Ok(serde_json::json!({ "seq": seq }))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub seq: i64,
    pub category: String,
    pub action: String,
    pub subject: String,
    pub actor: String,
    #[sqlx(try_from = "JsonText")]
    pub detail: Value,
    pub at_ms: i64,
}

/// The newest audit entries of a category, newest first.
pub async fn list(pool: &sqlx::AnyPool, category: &str, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query("SELECT seq, category, action, subject, actor, detail, at_ms FROM audit_log WHERE category = $1 ORDER BY seq DESC LIMIT $2")
        .bind(category)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(read).collect()
}
