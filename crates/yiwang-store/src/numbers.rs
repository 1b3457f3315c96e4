//! Running numbers reserved in blocks (DESIGN "The write path": what must carry a
//! writer-assigned value is numbered from blocks, so that the receipt can be sealed and
//! signed on the request task before the command enters the writer).
//!
//! Each process reserves a block of numbers with one writer command (the counter row
//! advances by the block size, in the batch's transaction), then hands them out from
//! memory. Numbers stay unique across processes on one database; a block a process did
//! not use up when it stopped leaves a gap. Case numbers only need to be unique (STANDARDS
//! §1: "unique strings"), and a gap in a department's document numbers (文号) is what a
//! voided document leaves too.

use crate::writer::{Meta, WriteCtx};
use crate::{Command, Result, Store, StoreError};
use serde_json::{Value, json};
use std::collections::HashMap;

/// How many numbers one reservation takes. At the goal's 3,000 submissions/s this is about
/// a dozen reservations a second, each riding in a batch with the submissions.
pub const BLOCK: i64 = 256;

/// A counter that numbers are drawn from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Counter {
    /// 办件编号 serials: region code (12 digits) + date (yyyyMMdd).
    CaseSerial { prefix: String },
    /// 文号: a department's running number of one kind of notice in one year.
    DocNumber {
        department_id: String,
        year: i32,
        kind: &'static str,
    },
    /// A licence type's serials at one issuer (the licence number's running part).
    LicenceSerial { type_code: String, issuer_uscc: String },
}

/// The writer command: advance `counter` by `n` and return the first number reserved.
#[derive(Debug, Clone)]
pub struct Reserve {
    pub counter: Counter,
    pub n: i64,
}

/// The numbers this process holds: per counter, the next one and the end of its block.
#[derive(Default)]
pub(crate) struct Blocks(tokio::sync::Mutex<HashMap<Counter, (i64, i64)>>);

/// The next number of `counter` (reserving a new block through the writer when this
/// process has none left).
pub async fn next(store: &Store, counter: Counter) -> Result<i64> {
    // Held across the reservation so that callers arriving meanwhile take from the new
    // block instead of reserving one each.
    let mut held = store.numbers.0.lock().await;
    if let Some((next, end)) = held.get_mut(&counter)
        && *next < *end
    {
        let n = *next;
        *next += 1;
        return Ok(n);
    }
    let w = store
        .writer
        .submit(
            Meta::actor("system:numbers"),
            Command::Numbers(Reserve {
                counter: counter.clone(),
                n: BLOCK,
            }),
        )
        .await?;
    let first = w
        .value
        .as_i64()
        .ok_or_else(|| StoreError::Internal(format!("number reservation returned {}", w.value)))?;
    held.insert(counter, (first + 1, first + BLOCK));
    Ok(first)
}

/// Reserves a block (bookkeeping, no ledger event: the numbers appear in the events of the
/// cases and notices that use them). Both engines: upsert with RETURNING.
pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, r: &Reserve) -> Result<Value> {
    let n = r.n.max(1);
    ctx.begin_write().await?;
    let first: i64 = match &r.counter {
        Counter::CaseSerial { prefix } => {
            sqlx::query_scalar(
                "INSERT INTO case_serials (prefix, next_serial) VALUES ($1, $2)
             ON CONFLICT (prefix) DO UPDATE SET next_serial = case_serials.next_serial + $3
             RETURNING next_serial - $3",
            )
            .bind(prefix)
            .bind(n + 1)
            .bind(n)
            .fetch_one(&mut *ctx.conn)
            .await?
        }
        Counter::DocNumber {
            department_id,
            year,
            kind,
        } => {
            sqlx::query_scalar(
                "INSERT INTO doc_numbers (department_id, year, kind, last) VALUES ($1, $2, $3, $4)
             ON CONFLICT (department_id, year, kind) DO UPDATE SET last = doc_numbers.last + $4
             RETURNING last - $4 + 1",
            )
            .bind(department_id)
            .bind(*year as i64)
            .bind(*kind)
            .bind(n)
            .fetch_one(&mut *ctx.conn)
            .await?
        }
        Counter::LicenceSerial { type_code, issuer_uscc } => {
            sqlx::query_scalar(
                "INSERT INTO licence_serials (type_code, issuer_uscc, next_serial) VALUES ($1, $2, $3)
             ON CONFLICT (type_code, issuer_uscc) DO UPDATE SET next_serial = licence_serials.next_serial + $4
             RETURNING next_serial - $4",
            )
            .bind(type_code)
            .bind(issuer_uscc)
            .bind(n + 1)
            .bind(n)
            .fetch_one(&mut *ctx.conn)
            .await?
        }
    };
    Ok(json!(first))
}
