//! Counting SQL statements while switched on: sqlx reports each statement it executes as a
//! tracing event of target `sqlx::query`, the writer's pool at TRACE and the readers' at
//! DEBUG (`yiwang_store::db::writer_pool`). Installed only for `yiwang bench cases`, so
//! no other command pays for the per-statement check.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

static COUNTING: AtomicBool = AtomicBool::new(false);
static WRITER: AtomicU64 = AtomicU64::new(0);
static READS: AtomicU64 = AtomicU64::new(0);

struct Counter;

impl<S: Subscriber> Layer<S> for Counter {
    fn on_event(&self, e: &tracing::Event<'_>, _: Context<'_, S>) {
        match *e.metadata().level() {
            Level::TRACE => WRITER.fetch_add(1, Relaxed),
            Level::DEBUG => READS.fetch_add(1, Relaxed),
            _ => 0,
        };
    }
}

/// The layer to add to the subscriber.
pub fn layer<S: Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>>() -> impl Layer<S> {
    Counter.with_filter(tracing_subscriber::filter::dynamic_filter_fn(|m, _| {
        COUNTING.load(Relaxed) && m.target() == "sqlx::query"
    }))
}

/// Starts counting from zero.
pub fn start() {
    WRITER.store(0, Relaxed);
    READS.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
}

/// Stops counting: (writer statements, reader statements) since `start`.
pub fn stop() -> (u64, u64) {
    COUNTING.store(false, Relaxed);
    (WRITER.load(Relaxed), READS.load(Relaxed))
}

/// Is the counter installed in this process (and so are the counts meaningful)?
pub fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

pub(crate) static INSTALLED: AtomicBool = AtomicBool::new(false);
