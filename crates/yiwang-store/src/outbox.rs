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
    /// The events it handles, as prefixes of their kind (`None`: every event). The others
    /// are passed over: read as sequence number and kind only, never handed to `handle`.
    fn kinds(&self) -> Option<&[&str]> {
        None
    }
    /// `false`: `handle` gets each event's sequence number, stream and kind only (a null
    /// body, an empty actor and hash), read [`SCAN`] at a time.
    fn bodies(&self) -> bool {
        true
    }
    /// Handles the wanted events among those up to `upto` (all of them already passed
    /// over; `events` may be empty when only the position moves on).
    fn handle(&self, events: &[StoredEvent], upto: i64)
    -> impl Future<Output = std::result::Result<(), String>> + Send;
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

/// Where a subscriber resumes: its own position or its stored cursor.
pub async fn start<S: Subscriber>(store: &Store, sub: &S) -> Result<i64> {
    match sub.local_cursor() {
        Some(c) => Ok(c),
        None => cursor(store, sub.name()).await,
    }
}

/// How far one delivery went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Events passed over (wanted or not).
    pub passed: usize,
    /// Events handed to the subscriber.
    pub handled: usize,
    /// The sequence number delivery has reached (the next starts after it).
    pub position: i64,
}

/// Events a filtered subscriber passes over in one read (sequence number and kind only).
pub(crate) const SCAN: i64 = 10_000;

/// Delivers the next page of events after `from`: up to `page` whole events to a
/// subscriber of every event; to one that filters by kind or reads no bodies, the wanted
/// ones among the next [`SCAN`] (`handle` is called only when there is something to
/// handle). Recording the position is the caller's ([`spawn`], [`catch_up`]).
pub async fn deliver<S: Subscriber>(store: &Store, sub: &S, from: i64, page: i64) -> Result<Delivery> {
    let (events, passed, position) = match sub.kinds() {
        None if sub.bodies() => {
            let events = ledger::read_after(&store.read, from, page).await?;
            let position = events.last().map_or(from, |e| e.seq);
            let n = events.len();
            (events, n, position)
        }
        prefixes => {
            let kinds: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT seq, stream_id, kind FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(from)
                    .bind(SCAN)
                    .fetch_all(&store.read)
                    .await?;
            let position = kinds.last().map_or(from, |(seq, _, _)| *seq);
            let passed = kinds.len();
            let wanted = kinds
                .into_iter()
                .filter(|(_, _, k)| prefixes.is_none_or(|ps| ps.iter().any(|p| k.starts_with(p))));
            let events = if sub.bodies() {
                let seqs: Vec<i64> = wanted.map(|(seq, _, _)| seq).collect();
                ledger::read_seqs(&store.read, store.engine, &seqs).await?
            } else {
                wanted
                    .map(|(seq, stream_id, kind)| StoredEvent {
                        seq,
                        stream_id,
                        version: 0,
                        kind,
                        body: serde_json::Value::Null,
                        actor: String::new(),
                        at_ms: 0,
                        hash: String::new(),
                    })
                    .collect()
            };
            (events, passed, position)
        }
    };
    let handled = events.len();
    if handled > 0 {
        sub.handle(&events, position)
            .await
            .map_err(|e| crate::StoreError::Internal(format!("subscriber {}: {e}", sub.name())))?;
    }
    Ok(Delivery {
        passed,
        handled,
        position,
    })
}

/// Records how far delivery has reached: the subscriber's own position (an empty
/// delivery up to it), or its stored cursor.
async fn record<S: Subscriber>(store: &Store, sub: &S, position: i64) -> Result<()> {
    if sub.local_cursor().is_some() {
        return sub
            .handle(&[], position)
            .await
            .map_err(|e| crate::StoreError::Internal(format!("subscriber {}: {e}", sub.name())));
    }
    store
        .write(
            Meta::actor("system:outbox"),
            Command::SaveCursor {
                subscriber: sub.name().to_string(),
                cursor: position,
            },
        )
        .await?;
    Ok(())
}

/// Delivers everything up to the ledger's head and records the position reached
/// (returned).
pub async fn catch_up<S: Subscriber>(store: &Store, sub: &S, page: i64) -> Result<i64> {
    let begun = start(store, sub).await?;
    let mut position = begun;
    loop {
        let d = deliver(store, sub, position, page).await?;
        if d.passed == 0 {
            break;
        }
        position = d.position;
    }
    if position > begun && sub.local_cursor() != Some(position) {
        record(store, sub, position).await?;
    }
    Ok(position)
}

/// How far delivery may run ahead of the recorded position: after a crash at most this
/// much is delivered again, and delivery adds no write to each batch the writer commits.
const RECORD_EVERY: i64 = 10_000;
const RECORD_AFTER: Duration = Duration::from_secs(5);

/// Runs a subscriber until `stop` turns true: woken at once by this process's commits,
/// and polling every `poll` for commits of other processes (PostgreSQL deployments).
/// The position reached is kept in memory and recorded once it is [`RECORD_EVERY`]
/// events or [`RECORD_AFTER`] ahead of the recorded one, and when stopped.
pub fn spawn<S: Subscriber>(
    store: Arc<Store>,
    sub: Arc<S>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut head = store.writer.head();
        let mut backoff = Duration::from_millis(100);
        // (position reached, position recorded), once known.
        let mut at: Option<(i64, i64)> = None;
        // Since when the position has been ahead of the recorded one.
        let mut ahead_since: Option<tokio::time::Instant> = None;
        loop {
            let stopping = *stop.borrow();
            let step = async {
                let (from, recorded) = match at {
                    Some(a) => a,
                    None => {
                        let p = start(&store, &*sub).await?;
                        (p, p)
                    }
                };
                let d = deliver(&store, &*sub, from, 500).await?;
                // A subscriber keeping its own position recorded it with what it handled.
                let recorded = match sub.local_cursor() {
                    Some(c) if d.handled > 0 => c,
                    _ => recorded,
                };
                Ok::<_, crate::StoreError>((d, recorded))
            }
            .await;
            let (d, mut recorded) = match step {
                Ok(v) => v,
                Err(e) => {
                    if stopping {
                        return;
                    }
                    tracing::warn!(subscriber = sub.name(), error = %e, "delivery failed; will retry");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            let ahead = d.position - recorded;
            if ahead <= 0 {
                ahead_since = None;
            } else if ahead_since.is_none() {
                ahead_since = Some(tokio::time::Instant::now());
            }
            let due = ahead >= RECORD_EVERY
                || (ahead > 0 && (stopping || ahead_since.is_some_and(|t| t.elapsed() >= RECORD_AFTER)));
            if due {
                match record(&store, &*sub, d.position).await {
                    Ok(()) => {
                        recorded = d.position;
                        ahead_since = None;
                    }
                    Err(e) => tracing::warn!(subscriber = sub.name(), error = %e, "recording the position failed"),
                }
            }
            at = Some((d.position, recorded));
            if stopping {
                return;
            }
            if d.passed > 0 {
                continue;
            }
            let wait = match ahead_since {
                Some(t) => RECORD_AFTER
                    .saturating_sub(t.elapsed())
                    .min(poll)
                    .max(Duration::from_millis(1)),
                None => poll,
            };
            tokio::select! {
                _ = head.changed() => {}
                _ = tokio::time::sleep(wait) => {}
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
    /// Counted by kind: the bodies are never read.
    fn bodies(&self) -> bool {
        false
    }
    async fn handle(&self, events: &[StoredEvent], _upto: i64) -> std::result::Result<(), String> {
        for e in events {
            metrics::counter!("yiwang_events_delivered_total", "kind" => e.kind.clone()).increment(1);
        }
        Ok(())
    }
}
