//! The outbox: subscribers (search index, notifications, federation, supervision feeds)
//! consume the ledger by cursor, at least once, in sequence order (hence in order per
//! stream). Because the writer commits in sequence order (see `writer`), reading
//! `seq > cursor` never skips an event, on either engine.

use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, ledger};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub use crate::ledger::StoredEvent;

/// A consumer of events. `handle` may see an event again after a crash (at least once):
/// it must be idempotent, e.g. keyed by `seq`.
pub trait Subscriber: Send + Sync + 'static {
    /// A stable name: the cursor is stored under it.
    fn name(&self) -> &str;
    fn handle(&self, events: &[StoredEvent]) -> impl Future<Output = std::result::Result<(), String>> + Send;
    /// A subscriber that records its position itself, atomically with its own state (the
    /// search index keeps it in its commit), returns it here; its cursor is then neither
    /// read from nor saved to the database.
    fn local_cursor(&self) -> Option<i64> {
        None
    }
}

/// The stored cursor of a subscriber (0 if it never ran).
pub async fn cursor(store: &Store, name: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT cursor FROM subscriptions WHERE name = $1")
        .bind(name)
        .fetch_optional(&store.read)
        .await?
        .unwrap_or(0))
}

pub(crate) async fn save_cursor(ctx: &mut WriteCtx<'_>, name: &str, cursor: i64) -> Result<serde_json::Value> {
    // Cursor positions are delivery bookkeeping, not domain facts: no ledger event.
    ctx.begin_write().await?;
    sqlx::query(
        "INSERT INTO subscriptions (name, cursor, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(cursor)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(serde_json::json!({ "subscriber": name, "cursor": cursor }))
}

/// Delivers the next page of events after the stored cursor; returns how many.
pub async fn deliver_once<S: Subscriber>(store: &Store, sub: &S, page: i64) -> Result<usize> {
    let local = sub.local_cursor();
    let from = match local {
        Some(c) => c,
        None => cursor(store, sub.name()).await?,
    };
    let events = ledger::read_after(&store.read, from, page).await?;
    if events.is_empty() {
        return Ok(0);
    }
    sub.handle(&events)
        .await
        .map_err(|e| crate::StoreError::Internal(format!("subscriber {}: {e}", sub.name())))?;
    if local.is_some() {
        return Ok(events.len());
    }
    let cursor = events.last().expect("non-empty").seq;
    store
        .write(
            Meta::actor("system:outbox"),
            Command::SaveCursor {
                subscriber: sub.name().to_string(),
                cursor,
            },
        )
        .await?;
    Ok(events.len())
}

/// Runs a subscriber until `stop` turns true: woken at once by this process's commits,
/// and polling every `poll` for commits of other processes (PostgreSQL deployments).
pub fn spawn<S: Subscriber>(
    store: Arc<Store>,
    sub: Arc<S>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut head = store.writer.head();
        let mut backoff = Duration::from_millis(100);
        loop {
            if *stop.borrow() {
                return;
            }
            match deliver_once(&store, &*sub, 500).await {
                Ok(n) if n > 0 => {
                    backoff = Duration::from_millis(100);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(subscriber = sub.name(), error = %e, "delivery failed; will retry");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            }
            tokio::select! {
                _ = head.changed() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    })
}

/// A subscriber that counts events by kind into Prometheus metrics
/// (`yiwang_events_delivered_total{kind}`): the supervision feed's first, simplest form.
pub struct EventMetrics;

impl Subscriber for EventMetrics {
    fn name(&self) -> &str {
        "metrics"
    }
    async fn handle(&self, events: &[StoredEvent]) -> std::result::Result<(), String> {
        for e in events {
            metrics::counter!("yiwang_events_delivered_total", "kind" => e.kind.clone()).increment(1);
        }
        Ok(())
    }
}
