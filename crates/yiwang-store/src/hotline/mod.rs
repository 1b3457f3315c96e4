//! 12345 tickets (国办发〔2020〕53号, GB/T 33358-2016; STANDARDS §8): received from the
//! agent console, the web form or a system, numbered at once and followed by number and
//! phone; dispatched by the dispatch catalogue (派单目录) to the unit whose duty it is, with
//! its handling limit from the working-day calendar; sent back (退单) and reassigned (改派);
//! answered, called back (回访) and closed, or reopened (重办). The rules are
//! `yiwang_core::hotline`; here they are applied on the request task and stored by the
//! writer, which re-checks only the state a step was decided from.
//!
//! The caller's name and phone are sealed (SM4, bound to the ticket) with a blind index of
//! the phone for the follow page; staff read them through [`caller`], recorded in the data-use
//! log when the caller is a registered person — and a confidential ticket's unit never sees
//! them. Every step is an event on the ticket's stream (`ticket:{number}`).

use crate::ledger::Expect;
use crate::rows::{Flag, JsonText, read};
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, Written};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use yiwang_core::error::{DomainError, ErrorKind, FieldError};
use yiwang_core::hotline::{self as core, Action, Category, DispatchEntry, Facts, Party, Priority, State, TicketInput};

fn stream(id: &str) -> String {
    format!("ticket:{id}")
}

use crate::internal;

/// A ticket as staff see it (the caller is sealed: [`caller`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Ticket {
    /// The ticket number given to the caller.
    pub id: String,
    #[sqlx(try_from = "String")]
    pub channel: core::Channel,
    #[sqlx(try_from = "String")]
    pub category: Category,
    #[sqlx(try_from = "String")]
    pub priority: Priority,
    #[sqlx(try_from = "String")]
    pub state: State,
    pub region_code: String,
    pub address: Option<String>,
    pub content: String,
    #[sqlx(try_from = "Flag")]
    pub confidential: bool,
    pub redirect: Option<String>,
    /// The main unit (主办) and the assisting ones (协办).
    pub department_id: Option<String>,
    #[sqlx(try_from = "JsonText")]
    pub assisting: Vec<String>,
    /// The handling deadline (epoch ms), from dispatch.
    pub due_at: Option<i64>,
    /// Until when the unit may send it back.
    pub dispute_until: Option<i64>,
    /// The last call-back found it unresolved or unsatisfied.
    #[sqlx(try_from = "Flag")]
    pub unresolved: bool,
    pub reply: Option<String>,
    /// The open ticket this one was merged into (并单): its answer is this one's.
    pub merged_into: Option<String>,
    /// An extension the unit asked for, to be decided: working days and reasons.
    pub extension_days: Option<i64>,
    pub extension_reason: Option<String>,
    /// 督办: 0 none, 1 the unit told, 2 escalated to its superior.
    pub supervised_level: i64,
    /// The knowledge-base article a direct answer cited.
    pub article_id: Option<String>,
    /// Every step: {action, at, by, party, …}.
    #[sqlx(try_from = "JsonText")]
    pub history: Vec<Value>,
    pub received_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, channel, category, priority, state, region_code, address, content, confidential, redirect,
    department_id, assisting, due_at, dispute_until, unresolved, reply, merged_into, extension_days, extension_reason,
    supervised_level, article_id, history, received_by, created_at, updated_at";

impl Ticket {
    /// Past its handling deadline while still with the unit.
    pub fn overdue(&self, now_ms: i64) -> bool {
        matches!(self.state, State::Dispatched | State::Disputed) && self.due_at.is_some_and(|d| now_ms > d)
    }

    /// The traffic light of its handling limit while a unit has it, as cases have
    /// (`cases::clocks::YELLOW_PERCENT` of the time from dispatch or reopening used: yellow;
    /// past the limit: red).
    pub fn light(&self, now_ms: i64) -> Option<yiwang_core::cases::Light> {
        use yiwang_core::cases::Light;
        if !matches!(self.state, State::Dispatched | State::Disputed) {
            return None;
        }
        let due = self.due_at?;
        let start = self
            .history
            .iter()
            .rev()
            .find(|h| matches!(h["action"].as_str(), Some("dispatch" | "reopen")))?["at"]
            .as_i64()?;
        Some(if now_ms > due {
            Light::Red
        } else if (now_ms - start) * 100 >= yiwang_core::cases::YELLOW_PERCENT * (due - start).max(1) {
            Light::Yellow
        } else {
            Light::Green
        })
    }
}

/// What the follow page shows to whoever has the number and the phone.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub id: String,
    pub category: Category,
    pub state: State,
    pub redirect: Option<String>,
    /// The unit's answer (or the centre's direct answer), once given.
    pub reply: Option<String>,
    /// Merged into this ticket, whose progress and answer these are.
    pub merged_into: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub enum Cmd {
    Create(Box<NewTicket>),
    Step(Box<StepCmd>),
    /// A new version of the dispatch catalogue.
    SetCatalog(Vec<DispatchEntry>),
    /// A knowledge-base article saved as a new version to review.
    SaveArticle(Box<NewVersion>),
    /// A version reviewed: published (closing the gaps it answers) or sent back.
    ReviewArticle(Box<ReviewCmd>),
    /// An event of a call, from the call-centre system.
    Call(Box<CallCmd>),
}

/// A ticket to store, sealed and numbered on the request task.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub ticket: Ticket,
    pub request_id: Option<String>,
    pub caller_name: String,
    pub caller_phone: String,
    pub phone_index: String,
    /// The matter's words (duplicates, hotspots), segmented before the writer.
    pub terms: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StepCmd {
    pub id: String,
    pub from: State,
    pub to: State,
    pub entry: Value,
    pub department_id: Option<String>,
    pub assisting: Option<Vec<String>>,
    pub due_at: Option<i64>,
    pub dispute_until: Option<i64>,
    pub unresolved: Option<bool>,
    pub reply: Option<String>,
    pub merged_into: Option<String>,
    /// `Some(None)` clears the pending extension; `Some(Some(..))` records one.
    pub extension: Option<Option<(i64, String)>>,
    /// 督办 up to this level (refused by the writer if already there).
    pub supervised_level: Option<i64>,
    /// The superior a level-2 督办 goes up to (it sees the ticket in its inbox).
    pub superior: Option<String>,
    pub article_id: Option<String>,
    /// A consultation dispatched: the base could not answer it; its unit must add to it by
    /// then (kb_gaps).
    pub gap_due: Option<i64>,
    /// How soon a first handling counts as in time: web and mobile, mailbox (ms).
    pub windows: (i64, i64),
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::Create(t) => create_cmd(ctx, t).await,
        Cmd::Step(s) => step_cmd(ctx, s).await,
        Cmd::SetCatalog(e) => set_catalog_cmd(ctx, e).await,
        Cmd::SaveArticle(v) => save_article_cmd(ctx, v).await,
        Cmd::ReviewArticle(r) => review_article_cmd(ctx, r).await,
        Cmd::Call(c) => call_cmd(ctx, c).await,
    }
}

mod figures;
mod knowledge;
mod read;
mod receive;
mod steps;
pub use figures::*;
pub use knowledge::*;
pub use read::*;
pub use receive::*;
pub use steps::*;
