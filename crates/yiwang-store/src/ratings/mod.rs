//! 好差评 (国办发〔2019〕51号, GB/T 39734-2020; STANDARDS §7): ratings of cases, the option
//! sets they choose from, the default rating of a case left unrated, and the follow-up of
//! every bad rating (回访, 整改, 申诉复核). The rules are `yiwang_core::ratings`; here they
//! are applied to the stored case, checked on the request task and stored by the writer,
//! which only re-checks what may have changed meanwhile (one rating per case, channel and
//! stage; a task's state).
//!
//! Every rating and every step of its follow-up is an event on the rating's stream
//! (`rating:{id}`). The rater is kept on the row (to let them see their ratings and answer
//! the outcome) and never returned to staff: [`Rating`] has no rater; [`contact`] discloses
//! how to reach a person rater to the officer calling back, recorded in their data-use log.

use crate::cases::CaseRow;
use crate::ledger::Expect;
use crate::rows::{DateText, Flag, JsonText, read};
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, Written, new_id};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use yiwang_core::Named;
use yiwang_core::cases::State as CaseState;
use yiwang_core::error::{DomainError, ErrorKind};
use yiwang_core::mandates::Subject;
use yiwang_core::ratings::{
    self as core, Channel, RatingInput, RatingOption, Stage, Task, TaskAction, TaskParty, TaskState,
};

mod board;
pub use board::*;
mod pad;
pub use pad::*;
mod overdue;
pub use overdue::*;

fn stream(id: &str) -> String {
    format!("rating:{id}")
}

use crate::internal;

/// A rating as staff and the board see it (the rater is not part of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Rating {
    pub id: String,
    pub case_id: String,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    #[sqlx(try_from = "String")]
    pub stage: Stage,
    pub level: i64,
    #[sqlx(try_from = "JsonText")]
    pub dimensions: BTreeMap<String, u8>,
    #[sqlx(try_from = "JsonText")]
    pub options: Vec<String>,
    pub option_set: i64,
    pub text: Option<String>,
    /// person or legal (the national record's applicant type).
    pub rater_type: String,
    /// Given by default: not rated in time.
    #[sqlx(try_from = "Flag")]
    pub defaulted: bool,
    /// An appeal was upheld: kept, not counted.
    #[sqlx(try_from = "Flag")]
    pub excluded: bool,
    pub item_code: String,
    pub item_name: String,
    pub department_id: String,
    pub region_code: String,
    /// The window clerk served (on site).
    pub clerk: Option<String>,
    /// The hall and window it was given at (on site, as the clerk opened it).
    pub hall_id: Option<String>,
    pub window_id: Option<String>,
    pub created_on: String,
    pub created_at: i64,
}

const RATING_COLUMNS: &str = "id, case_id, channel, stage, level, dimensions, options, option_set, text, rater_type,
    defaulted, excluded, item_code, item_name, department_id, region_code, clerk, hall_id, window_id, created_on, created_at";

/// The follow-up of a bad rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct TaskRow {
    /// The rating's id.
    pub id: String,
    pub case_id: String,
    pub department_id: String,
    /// The named officer: who called back (or first acted).
    pub officer: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: TaskState,
    #[sqlx(try_from = "JsonText")]
    pub task: Task,
    #[sqlx(try_from = "DateText")]
    pub call_back_due: NaiveDate,
    /// Every step: {at, by, action, …}.
    #[sqlx(try_from = "JsonText")]
    pub history: Vec<Value>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When an overdue call-back, and an overdue fix, was escalated (督办), if it was.
    pub call_back_escalated_on: Option<String>,
    pub fix_escalated_on: Option<String>,
}

impl TaskRow {
    /// What the unit told the rater: the outcome's and the fix's notes (not its internal
    /// call-back notes).
    pub fn answers(&self) -> Vec<String> {
        self.history
            .iter()
            .filter(|h| matches!(h["action"].as_str(), Some("resolve" | "fixed")))
            .filter_map(|h| h["note"].as_str().map(str::to_string))
            .collect()
    }
    /// The warnings it raises today (overdue call-back or fix).
    pub fn warnings(&self, today: NaiveDate) -> Vec<core::Warning> {
        core::warnings(&self.task, self.call_back_due, today)
    }
}

#[derive(Debug, Clone)]
pub enum Cmd {
    /// A new version of the option set.
    SetOptions(Vec<RatingOption>),
    /// A rating, with the follow-up task of a bad one.
    Rate(Box<RateCmd>),
    /// A step of a follow-up task.
    Task(Box<TaskCmd>),
    /// A case no longer awaits its default rating (rated meanwhile, or gone).
    ClearDue(String),
    /// A counter rating opened by the window clerk (`open_pad`).
    OpenPad(OpenPad),
    /// An overdue call-back or fix escalated (督办) by the scheduler (`escalate`).
    Escalate(Escalation),
}

#[derive(Debug, Clone)]
pub struct OpenPad {
    pub token_hash: String,
    pub case_id: String,
    pub clerk: String,
    pub hall_id: Option<String>,
    pub window_id: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct RateCmd {
    pub rating: Rating,
    pub rater: Option<String>,
    pub rated_by: Option<String>,
    pub task: Option<TaskRow>,
    /// A counter rating: its token's hash (still unused and valid in the writer, then used).
    pub pad: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TaskCmd {
    pub id: String,
    /// The state the step was decided from (another step meanwhile refuses this one).
    pub from: TaskState,
    pub task: Task,
    pub entry: Value,
    pub officer: Option<String>,
    /// Tell the rater (subject key, zh, en).
    pub tell: Option<(String, String, String)>,
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::SetOptions(o) => set_options_cmd(ctx, o).await,
        Cmd::Rate(r) => rate_cmd(ctx, r).await,
        Cmd::Task(t) => task_cmd(ctx, t).await,
        Cmd::OpenPad(p) => open_pad_cmd(ctx, p).await,
        Cmd::Escalate(e) => escalate_cmd(ctx, e).await,
        Cmd::ClearDue(case_id) => {
            // Bookkeeping of the scheduler: no event (the case's rating, if any, has one).
            ctx.begin_write().await?;
            sqlx::query("DELETE FROM rating_due WHERE case_id = $1")
                .bind(case_id)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(json!({ "cleared": case_id }))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Option sets
// ---------------------------------------------------------------------------------------

/// The option set in force: its version and options (version 1 is the shipped set until a
/// province publishes its own).
/// Kept in memory (`refdata::rating_options`), cleared when a version is published.
pub async fn options(store: &Store) -> Result<(i64, Vec<RatingOption>)> {
    let o = crate::refdata::rating_options(store).await?;
    Ok((o.0, o.1.clone()))
}

/// The option set in force, read from the database.
pub(crate) async fn options_stored(store: &Store) -> Result<(i64, Vec<RatingOption>)> {
    Ok(OPTION_SETS
        .latest(store)
        .await?
        .unwrap_or_else(|| (1, core::default_options())))
}

/// The option sets as published versions (version 1, the shipped set, is not stored).
const OPTION_SETS: crate::versioned::Doc = crate::versioned::Doc {
    table: "rating_option_sets",
    column: "options",
    stream: "rating_options",
    kind: "rating.options_published",
    base: 1,
};

/// A published version of the option set (version 1, the shipped set, is not stored).
#[derive(Debug, Clone, Serialize)]
pub struct OptionVersion {
    pub version: i64,
    pub count: usize,
    pub created_by: String,
    pub created_at: i64,
}

/// The published versions, newest first (at most 50).
pub async fn option_versions(store: &Store) -> Result<Vec<OptionVersion>> {
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT version, options, created_by, created_at FROM rating_option_sets ORDER BY version DESC LIMIT 50",
    )
    .fetch_all(&store.read)
    .await?;
    rows.into_iter()
        .map(|(version, o, created_by, created_at)| {
            let o: Vec<RatingOption> = serde_json::from_str(&o).map_err(internal)?;
            Ok(OptionVersion {
                version,
                count: o.len(),
                created_by,
                created_at,
            })
        })
        .collect()
}

/// Publishes a new version of the option set (managed centrally); ratings keep the version
/// they chose from.
pub async fn set_options(store: &Store, meta: Meta, options: Vec<RatingOption>) -> Result<Written> {
    core::check_options(&options)?;
    store
        .write(meta, Command::Ratings(Box::new(Cmd::SetOptions(options))))
        .await
}

async fn set_options_cmd(ctx: &mut WriteCtx<'_>, options: &[RatingOption]) -> Result<Value> {
    OPTION_SETS.publish(ctx, &options).await
}

// ---------------------------------------------------------------------------------------
// Rating a case
// ---------------------------------------------------------------------------------------

/// What the rater asks.
#[derive(Debug, Clone)]
pub struct RateRequest {
    pub channel: Channel,
    pub stage: Stage,
    pub input: RatingInput,
    /// The window clerk served (on site).
    pub clerk: Option<String>,
}

fn not_found(case_id: &str) -> StoreError {
    DomainError::not_found("case_id", "办件", "case", case_id).into()
}

/// The channels and stages a case was rated at.
async fn rated(store: &Store, case_id: &str) -> Result<Vec<(Channel, Stage)>> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT channel, stage FROM ratings WHERE case_id = $1")
        .bind(case_id)
        .fetch_all(&store.read)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, s)| Some((Channel::parse(&c)?, Stage::parse(&s)?)))
        .collect())
}

/// What may be rated of a case now by its applicant: the stages open (empty if none).
pub async fn open_stages(store: &Store, row: &CaseRow) -> Result<Vec<Stage>> {
    Ok(stages_open(store, row, &rated(store, &row.id).await?))
}

/// The same, given the channels and stages the case was rated at (`rated_at` of its ratings).
pub fn stages_open(store: &Store, row: &CaseRow, done: &[(Channel, Stage)]) -> Vec<Stage> {
    let multi = store.config.ratings.multi_stage;
    Stage::ALL
        .iter()
        .copied()
        .filter(|s| core::may_rate(Channel::Online, *s, row.state, row.accepted_on, multi, done).is_ok())
        .collect()
}

/// The channels and stages these ratings were given at.
pub fn rated_at(ratings: &[Rating]) -> Vec<(Channel, Stage)> {
    ratings.iter().map(|r| (r.channel, r.stage)).collect()
}

/// The applicant (or an agent acting for them: `meta.actor`) rates a case. Only the case's
/// own applicant; only when the channel allows; once per channel and stage. A bad rating
/// opens a follow-up task for the department that handled the case (谁办理谁负责).
pub async fn rate(store: &Store, meta: Meta, case_id: &str, rater: &Subject, req: RateRequest) -> Result<Written> {
    let row = crate::cases::case(store, case_id)
        .await?
        .filter(|r| r.applicant == rater.key())
        .ok_or_else(|| not_found(case_id))?;
    let (version, options) = options(store).await?;
    core::check_rating(req.channel, &req.input, &options)?;
    let done = rated(store, case_id).await?;
    core::may_rate(
        req.channel,
        req.stage,
        row.state,
        row.accepted_on,
        store.config.ratings.multi_stage,
        &done,
    )?;
    let rating = rating_of(
        &row,
        req.channel,
        req.stage,
        req.input,
        version,
        rater_type(rater),
        req.clerk,
        crate::today(),
    );
    let rated_by = meta.actor.clone();
    store_rating(store, meta, rating, rater, rated_by, None).await
}

/// A rating of a case given now (not yet stored) and counted on `on`: the case's item,
/// department and region.
#[allow(clippy::too_many_arguments)]
fn rating_of(
    row: &CaseRow,
    channel: Channel,
    stage: Stage,
    input: RatingInput,
    option_set: i64,
    rater_type: &str,
    clerk: Option<String>,
    on: NaiveDate,
) -> Rating {
    Rating {
        id: new_id(),
        case_id: row.id.clone(),
        channel,
        stage,
        level: i64::from(input.level),
        dimensions: input.dimensions,
        options: input.options,
        option_set,
        text: input.text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        rater_type: rater_type.into(),
        defaulted: false,
        excluded: false,
        item_code: row.item_code.clone(),
        item_name: row.item_name.clone(),
        department_id: row.department_id.clone(),
        region_code: row.region_code.clone(),
        clerk,
        hall_id: None,
        window_id: None,
        created_on: on.to_string(),
        created_at: crate::now_ms(),
    }
}

/// Stores a rating its rater gave (online, or at the counter by `pad`), with the follow-up
/// task of a bad one.
async fn store_rating(
    store: &Store,
    meta: Meta,
    rating: Rating,
    rater: &Subject,
    rated_by: String,
    pad: Option<String>,
) -> Result<Written> {
    let task = if u8::try_from(rating.level).is_ok_and(core::is_bad) {
        Some(new_task(store, &rating, crate::date_of(rating.created_at)).await?)
    } else {
        None
    };
    store
        .write(
            meta,
            Command::Ratings(Box::new(Cmd::Rate(Box::new(RateCmd {
                rating,
                rater: Some(rater.key()),
                rated_by: Some(rated_by),
                task,
                pad,
            })))),
        )
        .await
}

fn rater_type(s: &Subject) -> &'static str {
    match s {
        Subject::Person(_) => "person",
        Subject::Legal(_) => "legal",
    }
}

/// A follow-up task for a bad rating: to be called back within the province's working days.
async fn new_task(store: &Store, r: &Rating, today: NaiveDate) -> Result<TaskRow> {
    let cal = crate::calendar::calendar_for(store, Some(&r.region_code)).await?;
    let due = cal.add_working_days(today, store.config.ratings.call_back_days).date;
    Ok(TaskRow {
        id: r.id.clone(),
        case_id: r.case_id.clone(),
        department_id: r.department_id.clone(),
        officer: None,
        state: TaskState::CallingBack,
        task: Task::open(),
        call_back_due: due,
        history: vec![],
        created_at: r.created_at,
        updated_at: r.created_at,
        call_back_escalated_on: None,
        fix_escalated_on: None,
    })
}

async fn rate_cmd(ctx: &mut WriteCtx<'_>, c: &RateCmd) -> Result<Value> {
    let r = &c.rating;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM ratings WHERE case_id = $1 AND channel = $2 AND stage = $3")
            .bind(&r.case_id)
            .bind(r.channel.as_str())
            .bind(r.stage.as_str())
            .fetch_optional(&mut *ctx.conn)
            .await?;
    if exists.is_some() {
        // A default rating meeting the rater's own: the rater's came first or the default did.
        return Err(DomainError::conflict(
            "stage",
            "rating.already_rated",
            "该办件的这一环节已评价，不能重复评价".into(),
            "this case was already rated at this stage".into(),
        )
        .into());
    }
    if let Some(h) = &c.pad {
        take_pad(ctx, h).await?;
    }
    ctx.append(
        &stream(&r.id),
        Expect::New,
        if r.defaulted {
            "rating.defaulted"
        } else {
            "rating.given"
        },
        &json!({ "id": r.id, "case_id": r.case_id, "channel": r.channel, "stage": r.stage, "level": r.level,
                 "dimensions": r.dimensions, "options": r.options, "option_set": r.option_set,
                 "department_id": r.department_id, "item_code": r.item_code, "clerk": r.clerk,
                 "hall_id": r.hall_id, "window_id": r.window_id }),
    )
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO ratings ({RATING_COLUMNS}, rater, rated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
    )))
    .bind(&r.id)
    .bind(&r.case_id)
    .bind(r.channel.as_str())
    .bind(r.stage.as_str())
    .bind(r.level)
    .bind(serde_json::to_string(&r.dimensions).map_err(internal)?)
    .bind(serde_json::to_string(&r.options).map_err(internal)?)
    .bind(r.option_set)
    .bind(&r.text)
    .bind(&r.rater_type)
    .bind(i16::from(r.defaulted))
    .bind(i16::from(r.excluded))
    .bind(&r.item_code)
    .bind(&r.item_name)
    .bind(&r.department_id)
    .bind(&r.region_code)
    .bind(&r.clerk)
    .bind(&r.hall_id)
    .bind(&r.window_id)
    .bind(&r.created_on)
    .bind(r.created_at)
    .bind(&c.rater)
    .bind(&c.rated_by)
    .execute(&mut *ctx.conn)
    .await?;
    if let Some(h) = &c.pad {
        use_pad(ctx, h).await?;
    }
    // The board: the level, a default, a real-name bad rating to follow up.
    let mut d = Delta::level(r.level, 1);
    d.defaulted = i64::from(r.defaulted);
    d.bad = i64::from(c.task.is_some());
    bump(ctx, &StatKey::of(r), &d).await?;
    if r.channel == Channel::Online && r.stage == Stage::Conclusion {
        sqlx::query("DELETE FROM rating_due WHERE case_id = $1")
            .bind(&r.case_id)
            .execute(&mut *ctx.conn)
            .await?;
    }
    if let Some(t) = &c.task {
        ctx.append(
            &stream(&r.id),
            Expect::Exists,
            "rating_task.opened",
            &json!({ "id": t.id, "department_id": t.department_id, "call_back_due": t.call_back_due }),
        )
        .await?;
        sqlx::query(
            "INSERT INTO rating_tasks (id, case_id, department_id, officer, state, task, call_back_due, history, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&t.id)
        .bind(&t.case_id)
        .bind(&t.department_id)
        .bind(&t.officer)
        .bind(t.state.as_str())
        .bind(serde_json::to_string(&t.task).map_err(internal)?)
        .bind(t.call_back_due.to_string())
        .bind("[]")
        .bind(ctx.now_ms)
        .bind(ctx.now_ms)
        .execute(&mut *ctx.conn)
        .await?;
    }
    Ok(json!({ "id": r.id, "level": r.level, "task_id": c.task.as_ref().map(|t| &t.id) }))
}

/// Marks a case that has just ended as awaiting its rating (called by the case effects in
/// the writer; the row waits for the end of the batch).
pub(crate) fn await_rating(ctx: &mut WriteCtx<'_>, case_id: &str, ended_on: NaiveDate) {
    use crate::deferred::{Arg, Table};
    ctx.batch.deferred.push(
        Table::RatingDue,
        vec![Arg::Text(case_id.to_string()), Arg::Text(ended_on.to_string())],
    );
}

/// The scheduler's step: every case that ended `default_after_days` natural days ago or
/// earlier and was not rated at conclusion is rated 基本满意 by default (STANDARDS §7),
/// recorded as such. Returns the cases so rated.
pub async fn tick(store: &Store, today: NaiveDate) -> Result<Vec<String>> {
    let days = store.config.ratings.default_after_days;
    let mut out = vec![];
    loop {
        // 广东 rule [M]: ended on or before today − days.
        let cutoff = today - chrono::Days::new(u64::from(days));
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT case_id FROM rating_due WHERE ended_on <= $1 ORDER BY ended_on, case_id LIMIT 200",
        )
        .bind(cutoff.to_string())
        .fetch_all(&store.read)
        .await?;
        if due.is_empty() {
            return Ok(out);
        }
        let n = due.len();
        for case_id in due {
            if default_one(store, &case_id, today).await? {
                out.push(case_id);
            }
        }
        if n < 200 {
            return Ok(out);
        }
    }
}

/// Rates one case by default, or (rated meanwhile, or gone) only clears its waiting row.
async fn default_one(store: &Store, case_id: &str, today: NaiveDate) -> Result<bool> {
    let row = crate::cases::case(store, case_id).await?;
    let done = rated(store, case_id).await?;
    // Rated meanwhile, or voided since: nothing to default.
    let rateable = |r: &CaseRow| !matches!(r.state, CaseState::Voided | CaseState::Withdrawn);
    let Some(row) = row.filter(|r| rateable(r) && !done.contains(&(Channel::Online, Stage::Conclusion))) else {
        store
            .write(
                Meta::actor("system:ratings"),
                Command::Ratings(Box::new(Cmd::ClearDue(case_id.to_string()))),
            )
            .await?;
        return Ok(false);
    };
    let (version, _) = options(store).await?;
    let level = RatingInput {
        level: core::DEFAULT_LEVEL,
        ..Default::default()
    };
    let kind = Subject::parse(&row.applicant).map_or("person", |s| rater_type(&s));
    let mut rating = rating_of(
        &row,
        Channel::Online,
        Stage::Conclusion,
        level,
        version,
        kind,
        None,
        today,
    );
    rating.defaulted = true;
    match store
        .write(
            Meta::actor("system:ratings"),
            Command::Ratings(Box::new(Cmd::Rate(Box::new(RateCmd {
                rating,
                rater: None,
                rated_by: None,
                task: None,
                pad: None,
            })))),
        )
        .await
    {
        Ok(_) => Ok(true),
        // The applicant rated it just now.
        Err(StoreError::Domain(e)) if e.kind == ErrorKind::Conflict => Ok(false),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

/// The ratings of a case (staff and applicant alike see them; no rater).
pub async fn of_case(store: &Store, case_id: &str) -> Result<Vec<Rating>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RATING_COLUMNS} FROM ratings WHERE case_id = $1 ORDER BY created_at"
    )))
    .bind(case_id)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect()
}

/// A rater's own rating with its follow-up.
#[derive(Debug, Clone, Serialize)]
pub struct MyRating {
    pub rating: Rating,
    pub task: Option<TaskRow>,
}

/// The ratings a subject gave, newest first (their own view).
pub async fn of_rater(store: &Store, rater: &Subject, limit: i64) -> Result<Vec<MyRating>> {
    let rows: Vec<Rating> = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RATING_COLUMNS} FROM ratings WHERE rater = $1 ORDER BY created_at DESC LIMIT $2"
    )))
    .bind(rater.key())
    .bind(limit)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(read)
    .collect::<Result<_>>()?;
    let mut out = vec![];
    for r in rows {
        let task = task(store, &r.id).await?;
        out.push(MyRating { rating: r, task });
    }
    Ok(out)
}

/// One rating, with its rater's subject key (for the rater's own checks only).
pub async fn rating(store: &Store, id: &str) -> Result<Option<(Rating, Option<String>, Option<String>)>> {
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RATING_COLUMNS}, rater, rated_by FROM ratings WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&store.read)
    .await?
    else {
        return Ok(None);
    };
    use sqlx::Row;
    let rater: Option<String> = row.try_get("rater")?;
    let rated_by: Option<String> = row.try_get("rated_by")?;
    Ok(Some((read(&row)?, rater, rated_by)))
}

/// The ratings of departments, newest first (staff: no rater).
pub async fn of_departments(store: &Store, departments: &[String], limit: i64) -> Result<Vec<Rating>> {
    let mut out = vec![];
    for d in departments {
        let rows: Vec<Rating> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RATING_COLUMNS} FROM ratings WHERE department_id = $1 ORDER BY created_at DESC LIMIT $2"
        )))
        .bind(d)
        .bind(limit)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect::<Result<_>>()?;
        out.extend(rows);
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(out)
}

pub async fn task(store: &Store, id: &str) -> Result<Option<TaskRow>> {
    sqlx::query("SELECT * FROM rating_tasks WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

// ---------------------------------------------------------------------------------------
// The follow-up of a bad rating
// ---------------------------------------------------------------------------------------

/// A step on a follow-up task by `party` (the server has checked who the caller is: the
/// handling department's officer, the rater, the supervisor). The rater is told of the
/// outcome, of a finished fix and of an appeal decided.
pub async fn act(store: &Store, meta: Meta, id: &str, party: TaskParty, action: TaskAction) -> Result<Written> {
    let t = task(store, id)
        .await?
        .ok_or_else(|| StoreError::from(DomainError::not_found("task_id", "差评整改任务", "follow-up task", id)))?;
    let (rating, rater, _) = rating(store, id)
        .await?
        .ok_or_else(|| internal("a follow-up task without its rating"))?;
    let now = crate::now_ms();
    let today = crate::date_of(now);
    let next = core::task_apply(&t.task, party, &action, today)?;
    let mut entry = serde_json::to_value(&action).map_err(internal)?;
    entry["at"] = json!(now);
    entry["by"] = json!(meta.actor);
    entry["party"] = json!(party);
    let case = &rating.case_id;
    let tell = match &action {
        TaskAction::Resolve { outcome, note, due_on } => Some((
            format!(
                "您对办件 {case} 的评价已回访处理：{}{}。{note}",
                outcome.zh(),
                due_on.map(|d| format!("（整改期限 {d}）")).unwrap_or_default()
            ),
            format!("Your rating of case {case} was followed up: {}. {note}", outcome.en()),
        )),
        TaskAction::Fixed { note } => Some((
            format!("您对办件 {case} 评价中反映的问题已整改完成。{note}"),
            format!("The problem your rating of case {case} raised is fixed. {note}"),
        )),
        TaskAction::DecideAppeal { upheld: true, .. } => Some((
            format!("您对办件 {case} 的评价经申诉复核认定为误评，不计入统计。"),
            format!("On appeal, your rating of case {case} was found mistaken and is not counted."),
        )),
        _ => None,
    };
    let officer = (party == TaskParty::Department).then(|| meta.actor.clone());
    store
        .write(
            meta,
            Command::Ratings(Box::new(Cmd::Task(Box::new(TaskCmd {
                id: id.to_string(),
                from: t.state,
                task: next,
                entry,
                officer,
                tell: tell.and_then(|(zh, en)| rater.map(|r| (r, zh, en))),
            })))),
        )
        .await
}

async fn task_cmd(ctx: &mut WriteCtx<'_>, c: &TaskCmd) -> Result<Value> {
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT state, task, history FROM rating_tasks WHERE id = $1")
            .bind(&c.id)
            .fetch_optional(&mut *ctx.conn)
            .await?;
    let (state, before, history) = row.ok_or_else(|| internal("follow-up task missing"))?;
    let before: Task = serde_json::from_str(&before).map_err(internal)?;
    if state != c.from.as_str() {
        return Err(DomainError::conflict(
            "action",
            "rating_task.changed",
            "该任务已被他人处理，请刷新后再试".into(),
            "someone else acted on this task; reload and try again".into(),
        )
        .into());
    }
    let mut history: Vec<Value> = serde_json::from_str(&history).map_err(internal)?;
    history.push(c.entry.clone());
    ctx.append(
        &stream(&c.id),
        Expect::Exists,
        &format!("rating_task.{}", c.entry["action"].as_str().unwrap_or("step")),
        &json!({ "id": c.id, "step": c.entry, "state": c.task.state, "outcome": c.task.outcome,
                 "excluded": c.task.excluded }),
    )
    .await?;
    sqlx::query(
        "UPDATE rating_tasks SET state = $1, task = $2, history = $3, officer = COALESCE(officer, $4), updated_at = $5,
             fix_due = $6 WHERE id = $7",
    )
    .bind(c.task.state.as_str())
    .bind(serde_json::to_string(&c.task).map_err(internal)?)
    .bind(serde_json::to_string(&history).map_err(internal)?)
    .bind(&c.officer)
    .bind(ctx.now_ms)
    .bind(c.task.fix_due_on.map(|d| d.to_string()))
    .bind(&c.id)
    .execute(&mut *ctx.conn)
    .await?;
    if c.task.excluded {
        sqlx::query("UPDATE ratings SET excluded = 1 WHERE id = $1")
            .bind(&c.id)
            .execute(&mut *ctx.conn)
            .await?;
    }
    // The board: a first call-back, a close; an upheld appeal takes the rating out.
    let r: Rating = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {RATING_COLUMNS} FROM ratings WHERE id = $1"
    )))
    .bind(&c.id)
    .fetch_one(&mut *ctx.conn)
    .await
    .map_err(StoreError::from)
    .and_then(|row| read(&row))?;
    let mut d = Delta::default();
    if c.task.excluded && !before.excluded {
        d = Delta::level(r.level, -1);
        d.bad = -1;
        d.called_back = -i64::from(before.called_back_on.is_some());
    } else {
        d.called_back = i64::from(before.called_back_on.is_none() && c.task.called_back_on.is_some());
        d.closed = i64::from(before.state != TaskState::Closed && c.task.state == TaskState::Closed);
    }
    if d.levels != [0; 5] || d.bad != 0 || d.called_back != 0 || d.closed != 0 {
        bump(ctx, &StatKey::of(&r), &d).await?;
    }
    if let Some((to, zh, en)) = &c.tell {
        let case_id: String = sqlx::query_scalar("SELECT case_id FROM ratings WHERE id = $1")
            .bind(&c.id)
            .fetch_one(&mut *ctx.conn)
            .await?;
        crate::cases::notify_to(ctx, to, &case_id, zh.clone(), en.clone());
    }
    Ok(json!({ "id": c.id, "state": c.task.state }))
}

/// Is an outcome one the rater is asked about? (Their answer is recorded once.)
pub fn asks_feedback(t: &TaskRow) -> bool {
    t.state == TaskState::Closed && !t.task.excluded && t.task.satisfied.is_none()
}

/// How to reach the rater of a bad rating for its call-back (回访): their name and phone in
/// full, disclosed only to the officer calling back and recorded first in the rater's
/// data-use log with its purpose and case (国办发〔2019〕51号: the rater is protected; staff
/// otherwise never see who rated). A person rates as themselves; an enterprise through the
/// person whose account rated. A rating by default has no one to call.
pub async fn contact(
    store: &Store,
    meta: Meta,
    reader: &crate::datause::Reader,
    task_id: &str,
) -> Result<crate::accounts::PersonView> {
    let (r, rater, rated_by) = rating(store, task_id).await?.ok_or_else(|| {
        StoreError::from(DomainError::not_found(
            "task_id",
            "差评整改任务",
            "follow-up task",
            task_id,
        ))
    })?;
    let person_id = match (rater.as_deref().and_then(Subject::parse), rated_by.as_deref()) {
        (Some(Subject::Person(p)), _) => Some(p),
        (_, Some(by)) => match by.strip_prefix("account:") {
            Some(acc) => crate::accounts::account(&store.read, acc)
                .await?
                .and_then(|a| a.person_id),
            None => None,
        },
        _ => None,
    };
    let person = match person_id {
        Some(p) => crate::accounts::person(&store.read, &p).await?,
        None => None,
    };
    let Some(person) = person else {
        return Err(DomainError::conflict(
            "task_id",
            "rating.no_contact",
            "该评价没有可回访的评价人（默认评价或企业评价器评价）".into(),
            "this rating has no one to call back (a default or a counter rating of an enterprise)".into(),
        )
        .into());
    };
    crate::datause::read_person(
        store,
        meta,
        reader,
        &person,
        &[yiwang_core::datause::PersonalField::Phone],
        Some("好差评差评回访核实"),
        Some(&r.case_id),
    )
    .await
}
