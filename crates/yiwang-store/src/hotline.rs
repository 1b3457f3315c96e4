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
    /// Every step: {action, at, by, party, …}.
    #[sqlx(try_from = "JsonText")]
    pub history: Vec<Value>,
    pub received_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, channel, category, priority, state, region_code, address, content, confidential, redirect,
    department_id, assisting, due_at, dispute_until, unresolved, reply, history, received_by, created_at, updated_at";

impl Ticket {
    /// Past its handling deadline while still with the unit.
    pub fn overdue(&self, now_ms: i64) -> bool {
        matches!(self.state, State::Dispatched | State::Disputed) && self.due_at.is_some_and(|d| now_ms > d)
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
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub enum Cmd {
    Create(Box<NewTicket>),
    Step(Box<StepCmd>),
    /// A new version of the dispatch catalogue.
    SetCatalog(Vec<DispatchEntry>),
}

/// A ticket to store, sealed and numbered on the request task.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub ticket: Ticket,
    pub request_id: Option<String>,
    pub caller_name: String,
    pub caller_phone: String,
    pub phone_index: String,
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
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::Create(t) => create_cmd(ctx, t).await,
        Cmd::Step(s) => step_cmd(ctx, s).await,
        Cmd::SetCatalog(e) => set_catalog_cmd(ctx, e).await,
    }
}

// ---------------------------------------------------------------------------------------
// Receiving (受理)
// ---------------------------------------------------------------------------------------

/// Who received it: an agent (`staff:…`, any channel; the input's, else `channel`) or the
/// public form (always `web`), for the hotline of `centre_region` (the province's home
/// region).
#[derive(Debug, Clone)]
pub struct Received {
    pub channel: core::Channel,
    /// The input may name the channel (agents).
    pub channel_from_input: bool,
    pub by: String,
    pub centre_region: String,
}

/// Takes a request: checked field by field, numbered at once. A request outside 12345's
/// remit (`redirect`) is recorded as directed there and closed. The same `request_id` again
/// returns the ticket it made (nothing twice).
pub async fn receive(store: &Store, meta: Meta, input: &TicketInput, how: Received) -> Result<Written> {
    let region = crate::regions::get(&store.read, &input.region_code).await?;
    let within = yiwang_core::access::region_within(&how.centre_region, &input.region_code);
    let checked = core::check_input(input, within, region.is_some())?;
    if let Some(r) = input.request_id.as_deref()
        && let Some(id) = by_request(store, r).await?
    {
        return Ok(Written {
            value: json!({ "id": id, "existing": true }),
            replayed: true,
        });
    }
    let now = crate::now_ms();
    let day = crate::date_of(now);
    let serial = crate::numbers::next(
        store,
        crate::numbers::Counter::CaseSerial {
            prefix: format!("12345-{}", day.format("%Y%m%d")),
        },
    )
    .await?;
    let id = format!("{}{serial:05}", day.format("%Y%m%d"));
    let channel = match (how.channel_from_input, checked.channel) {
        (true, Some(c)) => c,
        _ => how.channel,
    };
    let state = if checked.redirect.is_some() {
        State::Redirected
    } else {
        State::Received
    };
    let entry = json!({ "action": "receive", "at": now, "by": meta.actor, "channel": channel,
                        "redirect": checked.redirect });
    let ticket = Ticket {
        id: id.clone(),
        channel,
        category: checked.category,
        priority: checked.priority,
        state,
        region_code: input.region_code.clone(),
        address: input
            .address
            .as_ref()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty()),
        content: input.content.trim().to_string(),
        confidential: input.confidential,
        redirect: checked.redirect.map(|r| r.as_str().to_string()),
        department_id: None,
        assisting: vec![],
        due_at: None,
        dispute_until: None,
        unresolved: false,
        reply: None,
        history: vec![entry],
        received_by: how.by,
        created_at: now,
        updated_at: now,
    };
    let phone = core::phone_key(&input.caller_phone);
    let new = NewTicket {
        caller_name: store
            .pii
            .seal(&format!("tickets.caller_name:{id}"), input.caller_name.trim()),
        caller_phone: store.pii.seal(&format!("tickets.caller_phone:{id}"), &phone),
        phone_index: store.pii.index("phone", &phone),
        request_id: input.request_id.clone(),
        ticket,
    };
    store
        .write(meta, Command::Hotline(Box::new(Cmd::Create(Box::new(new)))))
        .await
}

async fn by_request(store: &Store, request_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM tickets WHERE request_id = $1")
        .bind(request_id)
        .fetch_optional(&store.read)
        .await?)
}

async fn create_cmd(ctx: &mut WriteCtx<'_>, n: &NewTicket) -> Result<Value> {
    let t = &n.ticket;
    // A retry that raced its first attempt: the first one's ticket.
    if let Some(r) = &n.request_id {
        let existing: Option<String> = sqlx::query_scalar("SELECT id FROM tickets WHERE request_id = $1")
            .bind(r)
            .fetch_optional(&mut *ctx.conn)
            .await?;
        if let Some(id) = existing {
            return Ok(json!({ "id": id, "existing": true }));
        }
    }
    ctx.append(
        &stream(&t.id),
        Expect::New,
        if t.state == State::Redirected {
            "ticket.redirected"
        } else {
            "ticket.received"
        },
        &json!({ "id": t.id, "channel": t.channel, "category": t.category, "priority": t.priority,
                 "region_code": t.region_code, "confidential": t.confidential, "redirect": t.redirect,
                 "content_sm3": hex::encode(yiwang_crypto::sm3(t.content.as_bytes())) }),
    )
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO tickets ({COLUMNS}, request_id, caller_name, caller_phone, caller_phone_index)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
    )))
    .bind(&t.id)
    .bind(t.channel.as_str())
    .bind(t.category.as_str())
    .bind(t.priority.as_str())
    .bind(t.state.as_str())
    .bind(&t.region_code)
    .bind(&t.address)
    .bind(&t.content)
    .bind(i16::from(t.confidential))
    .bind(&t.redirect)
    .bind(&t.department_id)
    .bind("[]")
    .bind(t.due_at)
    .bind(t.dispute_until)
    .bind(i16::from(t.unresolved))
    .bind(&t.reply)
    .bind(serde_json::to_string(&t.history).map_err(internal)?)
    .bind(&t.received_by)
    .bind(t.created_at)
    .bind(t.updated_at)
    .bind(&n.request_id)
    .bind(&n.caller_name)
    .bind(&n.caller_phone)
    .bind(&n.phone_index)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "id": t.id, "state": t.state }))
}

// ---------------------------------------------------------------------------------------
// Steps
// ---------------------------------------------------------------------------------------

fn not_found(id: &str) -> StoreError {
    DomainError::not_found("ticket_id", "工单", "ticket", id).into()
}

/// A step on a ticket by `party` (the server has checked that the caller is the centre or
/// the ticket's unit). Dispatch checks the unit (it exists; the grassroots rule) and sets
/// the handling limit: the category's working days from today, or `urgent_hours`.
pub async fn act(store: &Store, meta: Meta, id: &str, party: Party, action: Action) -> Result<Written> {
    let t = ticket(store, id).await?.ok_or_else(|| not_found(id))?;
    let now = crate::now_ms();
    let facts = Facts {
        state: t.state,
        category: t.category,
        unresolved: t.unresolved,
        may_dispute: t.dispute_until.is_some_and(|u| now <= u),
    };
    let to = core::decide(facts, party, &action)?;
    let mut entry = serde_json::to_value(&action).map_err(internal)?;
    entry["at"] = json!(now);
    entry["by"] = json!(meta.actor);
    entry["party"] = json!(party);
    let mut step = StepCmd {
        id: id.to_string(),
        from: t.state,
        to,
        entry,
        department_id: None,
        assisting: None,
        due_at: None,
        dispute_until: None,
        unresolved: None,
        reply: None,
    };
    match &action {
        Action::Dispatch {
            department_id,
            assisting,
            ..
        } => {
            let catalog = catalog(store).await?.1;
            for (i, d) in std::iter::once(department_id).chain(assisting).enumerate() {
                let field = if i == 0 {
                    "department_id".to_string()
                } else {
                    format!("assisting[{}]", i - 1)
                };
                let Some(dept) = crate::refdata::department(store, d).await? else {
                    return Err(DomainError::one(
                        ErrorKind::Invalid,
                        FieldError::new(field, "department.unknown", "单位不存在", "no such unit"),
                    )
                    .into());
                };
                let grassroots = matches!(
                    yiwang_core::regions::level_of("region_code", &dept.region_code),
                    Ok(yiwang_core::regions::Level::Township | yiwang_core::regions::Level::Village)
                );
                core::may_dispatch_to(grassroots, d, &t.region_code, &catalog)?;
            }
            let (due, dispute) = limits(store, &t, now).await?;
            step.department_id = Some(department_id.clone());
            step.assisting = Some(assisting.clone());
            step.due_at = Some(due);
            step.dispute_until = Some(dispute);
        }
        Action::Reopen { .. } => {
            // 重办: a new limit from today, with the same unit.
            let (due, dispute) = limits(store, &t, now).await?;
            step.due_at = Some(due);
            step.dispute_until = Some(dispute);
            step.unresolved = Some(false);
        }
        Action::Reply { reply } => step.reply = Some(reply.trim().to_string()),
        Action::Answer { answer } => step.reply = Some(answer.trim().to_string()),
        Action::CallBack {
            resolved, satisfaction, ..
        } => step.unresolved = Some(core::unresolved(*resolved, *satisfaction)),
        Action::Dispute { .. } | Action::RejectDispute { .. } => {}
    }
    store
        .write(meta, Command::Hotline(Box::new(Cmd::Step(Box::new(step)))))
        .await
}

/// The handling deadline and the end of the dispute window of a ticket dispatched at `now`
/// (STANDARDS §8: limits per category [M], working days from the calendar of its region;
/// urgent ones in hours).
async fn limits(store: &Store, t: &Ticket, now: i64) -> Result<(i64, i64)> {
    let policy = store.config.hotline;
    let cal = crate::calendar::calendar_for(store, Some(&t.region_code)).await?;
    let today = crate::date_of(now);
    let end_of = |d: NaiveDate| crate::day_start_ms(d + chrono::Days::new(1)) - 1;
    let due = match t.priority {
        Priority::Urgent => now + i64::from(policy.urgent_hours) * 3_600_000,
        Priority::Normal => end_of(cal.add_working_days(today, policy.days(t.category)).date),
    };
    let dispute = end_of(cal.add_working_days(today, policy.dispute_days).date).min(due);
    Ok((due, dispute))
}

async fn step_cmd(ctx: &mut WriteCtx<'_>, s: &StepCmd) -> Result<Value> {
    let row: Option<(String, String)> = sqlx::query_as("SELECT state, history FROM tickets WHERE id = $1")
        .bind(&s.id)
        .fetch_optional(&mut *ctx.conn)
        .await?;
    let (state, history) = row.ok_or_else(|| not_found(&s.id))?;
    if state != s.from.as_str() {
        return Err(DomainError::conflict(
            "action",
            "ticket.changed",
            "该工单已被他人处理，请刷新后再试".into(),
            "someone else acted on this ticket; reload and try again".into(),
        )
        .into());
    }
    let mut history: Vec<Value> = serde_json::from_str(&history).map_err(internal)?;
    history.push(s.entry.clone());
    let action = s.entry["action"].as_str().unwrap_or("step");
    ctx.append(
        &stream(&s.id),
        Expect::Exists,
        &format!("ticket.{action}"),
        &json!({ "id": s.id, "step": s.entry, "state": s.to, "department_id": s.department_id,
                 "due_at": s.due_at }),
    )
    .await?;
    sqlx::query(
        "UPDATE tickets SET state = $1, history = $2, updated_at = $3,
             department_id = COALESCE($4, department_id), assisting = COALESCE($5, assisting),
             due_at = COALESCE($6, due_at), dispute_until = COALESCE($7, dispute_until),
             unresolved = COALESCE($8, unresolved), reply = COALESCE($9, reply)
         WHERE id = $10",
    )
    .bind(s.to.as_str())
    .bind(serde_json::to_string(&history).map_err(internal)?)
    .bind(ctx.now_ms)
    .bind(&s.department_id)
    .bind(
        s.assisting
            .as_ref()
            .map(|a| serde_json::to_string(a).unwrap_or_else(|_| "[]".into())),
    )
    .bind(s.due_at)
    .bind(s.dispute_until)
    .bind(s.unresolved.map(i16::from))
    .bind(&s.reply)
    .bind(&s.id)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "id": s.id, "state": s.to }))
}

// ---------------------------------------------------------------------------------------
// The dispatch catalogue
// ---------------------------------------------------------------------------------------

/// The dispatch catalogue as published versions.
const CATALOGS: crate::versioned::Doc = crate::versioned::Doc {
    table: "dispatch_catalogs",
    column: "entries",
    stream: "dispatch_catalog",
    kind: "hotline.catalog_published",
    base: 0,
};

/// The dispatch catalogue in force: its version and lines (version 0: empty).
pub async fn catalog(store: &Store) -> Result<(i64, Vec<DispatchEntry>)> {
    Ok(CATALOGS.latest(store).await?.unwrap_or((0, vec![])))
}

/// Publishes a new version of the dispatch catalogue (every unit named must exist).
pub async fn set_catalog(store: &Store, meta: Meta, entries: Vec<DispatchEntry>) -> Result<Written> {
    core::check_catalog(&entries)?;
    let mut errors = vec![];
    for (i, e) in entries.iter().enumerate() {
        if crate::refdata::department(store, &e.department_id).await?.is_none() {
            errors.push(FieldError::new(
                format!("entries[{i}].department_id"),
                "department.unknown",
                "单位不存在",
                "no such unit",
            ));
        }
        if crate::regions::get(&store.read, &e.region_code).await?.is_none() {
            errors.push(FieldError::new(
                format!("entries[{i}].region_code"),
                "region.unknown",
                "行政区划不存在",
                "no such region",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::invalid(errors).into());
    }
    store
        .write(meta, Command::Hotline(Box::new(Cmd::SetCatalog(entries))))
        .await
}

async fn set_catalog_cmd(ctx: &mut WriteCtx<'_>, entries: &[DispatchEntry]) -> Result<Value> {
    CATALOGS.publish(ctx, &entries).await
}

/// The catalogue's suggestion for a ticket: the lines that match its text, best first.
pub async fn suggestions(store: &Store, t: &Ticket) -> Result<Vec<DispatchEntry>> {
    let (_, catalog) = catalog(store).await?;
    Ok(core::suggest(&catalog, &t.region_code, &t.content)
        .into_iter()
        .map(|(e, _)| e.clone())
        .collect())
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

pub async fn ticket(store: &Store, id: &str) -> Result<Option<Ticket>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tickets WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&store.read)
    .await?
    .as_ref()
    .map(read)
    .transpose()
}

/// The tickets of the centre in some states (its board: to dispatch, sent back, to call
/// back), oldest first, within a region.
pub async fn centre_tickets(store: &Store, states: &[State], region: &str, limit: i64) -> Result<Vec<Ticket>> {
    let mut out = vec![];
    for st in states {
        let rows: Vec<Ticket> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tickets WHERE state = $1 ORDER BY created_at, id LIMIT $2"
        )))
        .bind(st.as_str())
        .bind(limit)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect::<Result<_>>()?;
        out.extend(
            rows.into_iter()
                .filter(|t| yiwang_core::access::region_within(region, &t.region_code)),
        );
    }
    out.sort_by_key(|t| t.created_at);
    Ok(out)
}

/// A unit's tickets being handled (and those it sent back), earliest deadline first.
pub async fn unit_tickets(store: &Store, department_id: &str, limit: i64) -> Result<Vec<Ticket>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tickets WHERE department_id = $1 AND (state = 'dispatched' OR state = 'disputed'
         OR state = 'replied') ORDER BY due_at, id LIMIT $2"
    )))
    .bind(department_id)
    .bind(limit)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect()
}

/// A ticket's progress for whoever holds its number and the caller's phone (else none: a
/// wrong phone and an unknown number look the same).
pub async fn follow(store: &Store, id: &str, phone: &str) -> Result<Option<Progress>> {
    let index = store.pii.index("phone", &core::phone_key(phone));
    type Row = (String, String, String, Option<String>, Option<String>, i64, i64);
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, category, state, redirect, reply, created_at, updated_at FROM tickets
         WHERE id = $1 AND caller_phone_index = $2",
    )
    .bind(id)
    .bind(index)
    .fetch_optional(&store.read)
    .await?;
    row.map(|(id, c, s, redirect, reply, created_at, updated_at)| {
        Ok(Progress {
            id,
            category: Category::parse(&c).ok_or_else(|| internal("category"))?,
            state: State::parse(&s).ok_or_else(|| internal("state"))?,
            redirect,
            reply,
            created_at,
            updated_at,
        })
    })
    .transpose()
}

/// The caller's name and phone, opened for the centre (always) or the unit (never for a
/// confidential ticket: the caller asked units not to see them).
pub async fn caller(store: &Store, id: &str, party: Party) -> Result<Option<(String, String)>> {
    let row: Option<(String, String, i16)> =
        sqlx::query_as("SELECT caller_name, caller_phone, confidential FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&store.read)
            .await?;
    let Some((name, phone, confidential)) = row else {
        return Err(not_found(id));
    };
    if party == Party::Unit && confidential != 0 {
        return Ok(None);
    }
    Ok(Some((
        store.pii.open(&format!("tickets.caller_name:{id}"), &name)?,
        store.pii.open(&format!("tickets.caller_phone:{id}"), &phone)?,
    )))
}
