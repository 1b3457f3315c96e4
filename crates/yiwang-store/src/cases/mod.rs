//! Cases (办件): drafts, submission (智能预审 outside the writer on the published, immutable
//! item version; the case number, the case row, its events and its receipt inside one
//! writer command), every action of the state machine (`yiwang_core::cases::decide`)
//! with its side effects — deadlines at acceptance, suspensions, signed notices, tasks for
//! 容缺 and 告知承诺, the e-licence issued on an approving decision, notifications — and
//! the scheduler that applies 《行政许可法》第三十二条 (deemed acceptance).

use crate::catalog::Service;
use crate::ledger::Expect;
use crate::rows::{DateText, Flag, JsonText, read};
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, calendar, date_of, licences, new_id, seals};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;
use std::sync::Arc;
use yiwang_core::Named;
use yiwang_core::calendar::{Calendar, Deadline, Suspension};
use yiwang_core::cases::{
    self as core, Action, Application, Case, Channel, Event, Facts, NoticeKind, Party, ProvisionKind, State,
};
use yiwang_core::catalog::{CaseKind, ResultKind, StepRole, TimeLimit};
use yiwang_core::mandates::Subject;
use yiwang_core::{DomainError, ErrorKind, FieldError};
use yiwang_crypto::Signer;

pub(crate) fn stream(id: &str) -> String {
    format!("case:{id}")
}

fn sql_err(msg: &str) -> StoreError {
    StoreError::Internal(msg.to_string())
}

/// Who applies and how the case came in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    pub subject: Subject,
    pub name: String,
    /// Resident ID number or credit code (sealed with the application; it becomes the
    /// holder's code of a resulting licence).
    pub code: String,
}

#[derive(Debug, Clone)]
pub enum Cmd {
    SaveDraft {
        draft_id: Option<String>,
        applicant: Subject,
        item_code: String,
        item_name: String,
        application: Box<Application>,
    },
    Submit(Box<SubmitCmd>),
    Act {
        case_id: String,
        party: Party,
        action: Action,
        calendar: Arc<Calendar>,
        policy: core::CasePolicy,
        /// The corrected application (补正) or the one with the materials that followed
        /// (容缺后补), already pre-checked.
        replace: Option<Box<(Application, core::Prechecked)>>,
        /// The elements of the item version the case was filed under, from the
        /// reference-data cache (a published version never changes); `None`: read in the
        /// writer.
        elements: Option<Arc<yiwang_core::catalog::Elements>>,
        /// The licence an approval issues, prepared before the command entered the writer.
        licence: Option<Box<licences::PreparedLicence>>,
        /// The notices the action is expected to issue, prepared likewise.
        notices: Vec<PreparedNotice>,
    },
    /// Records the outcome of a task (核查 of a commitment): `false_commitment` revokes
    /// the decision's licence, terminates nothing already concluded, and writes a credit
    /// record (国办发〔2020〕42号).
    CompleteTask {
        task_id: String,
        outcome: String,
        false_commitment: bool,
    },
}

#[derive(Debug, Clone)]
pub struct SubmitCmd {
    pub service: Service,
    pub applicant: Applicant,
    pub channel: Channel,
    pub assisted: bool,
    pub application: Application,
    pub prechecked: core::Prechecked,
    pub draft_id: Option<String>,
    /// Form fields submitted as the platform prefilled them.
    pub prefilled: usize,
    /// A case taken over from the previous platform, with what its acceptance needs.
    pub migrated: Option<(Migration, Arc<Calendar>, core::CasePolicy)>,
    /// Numbered, sealed and signed on the request task (`submit::prepare`).
    pub prepared: Option<Prepared>,
}

/// 历史办件迁移: a case in flight on the province's previous platform, taken over with its
/// original dates so that its clocks run as the law counts them (from the real receipt
/// and acceptance, 《行政许可法》第三十二条、第四十二条). The ledger records the import
/// at the time it happens; the original number and dates are in the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Migration {
    /// The case's number on the previous platform.
    pub legacy_no: String,
    /// The previous platform (e.g. "海南省政务服务网（旧）").
    pub source: String,
    pub received_on: NaiveDate,
    /// Set when the previous platform had accepted the case (its clocks start then).
    #[serde(default)]
    pub accepted_on: Option<NaiveDate>,
}

impl Migration {
    /// The dates must be real: not in the future, acceptance not before receipt.
    pub fn check(&self, today: NaiveDate) -> std::result::Result<(), DomainError> {
        let mut p = yiwang_core::error::Problems::new();
        p.text("legacy_no", &self.legacy_no, 64);
        p.text("source", &self.source, 100);
        if self.received_on > today {
            p.push(FieldError::new(
                "received_on",
                "date.future",
                "收件日期不能晚于今天",
                "the date of receipt cannot be in the future",
            ));
        }
        if let Some(a) = self.accepted_on
            && (a < self.received_on || a > today)
        {
            p.push(FieldError::new(
                "accepted_on",
                "date.range",
                "受理日期须在收件日期与今天之间",
                "the date of acceptance lies between receipt and today",
            ));
        }
        p.finish()
    }
}

/// A case as stored (without the sealed application).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    pub id: String,
    pub entry_id: String,
    pub item_code: String,
    pub item_version: i64,
    pub item_name: String,
    pub department_id: String,
    pub region_code: String,
    pub applicant: String,
    pub applicant_name: String,
    pub submitted_by: String,
    pub channel: Channel,
    pub assisted: bool,
    /// normal, tolerance (容缺受理) or commitment (告知承诺).
    pub route: String,
    pub state: State,
    pub steps: Vec<StepRole>,
    pub step: i64,
    pub handler: Option<String>,
    pub instant: bool,
    pub outstanding: Vec<String>,
    pub statutory_limit: Option<TimeLimit>,
    pub promised_limit: Option<TimeLimit>,
    pub received_on: NaiveDate,
    pub accepted_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
    pub statutory_due_on: Option<NaiveDate>,
    pub decision: Option<String>,
    pub decided_at: Option<i64>,
    pub licence_id: Option<String>,
    pub delivery: Option<Value>,
    pub concluded_at: Option<i64>,
    /// Fields of the item's form, and how many were submitted as prefilled (一表申请).
    pub form_fields: i64,
    pub prefilled_fields: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A case row as stored, column by column in the order of `COLS`: what a read decodes,
/// from a row or from a page of rows as one JSON text (`db::json_rows`), before it
/// becomes a [`CaseRow`] by the one conversion below.
#[derive(sqlx::FromRow, Deserialize)]
struct StoredCase {
    id: String,
    entry_id: String,
    item_code: String,
    item_version: i64,
    item_name: String,
    department_id: String,
    region_code: String,
    applicant: String,
    applicant_name: String,
    submitted_by: String,
    channel: String,
    assisted: Flag,
    route: String,
    state: String,
    steps: Option<String>,
    step: i64,
    handler: Option<String>,
    instant: Flag,
    outstanding: Option<String>,
    statutory_limit: Option<String>,
    promised_limit: Option<String>,
    received_on: DateText,
    accepted_on: DateText,
    due_on: DateText,
    statutory_due_on: DateText,
    decision: Option<String>,
    decided_at: Option<i64>,
    licence_id: Option<String>,
    delivery: Option<String>,
    concluded_at: Option<i64>,
    form_fields: i64,
    prefilled_fields: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<StoredCase> for CaseRow {
    type Error = String;
    fn try_from(s: StoredCase) -> std::result::Result<CaseRow, String> {
        let at = |column: &str, e: String| format!("case {}: {column}: {e}", s.id);
        Ok(CaseRow {
            channel: s.channel.clone().try_into().map_err(|e| at("channel", e))?,
            state: s.state.clone().try_into().map_err(|e| at("state", e))?,
            steps: JsonText::from(s.steps).try_into().map_err(|e| at("steps", e))?,
            outstanding: JsonText::from(s.outstanding)
                .try_into()
                .map_err(|e| at("outstanding", e))?,
            statutory_limit: JsonText::from(s.statutory_limit)
                .try_into()
                .map_err(|e| at("statutory_limit", e))?,
            promised_limit: JsonText::from(s.promised_limit)
                .try_into()
                .map_err(|e| at("promised_limit", e))?,
            received_on: s.received_on.try_into().map_err(|e| at("received_on", e))?,
            accepted_on: s.accepted_on.try_into().map_err(|e| at("accepted_on", e))?,
            due_on: s.due_on.try_into().map_err(|e| at("due_on", e))?,
            statutory_due_on: s.statutory_due_on.try_into().map_err(|e| at("statutory_due_on", e))?,
            delivery: JsonText::from(s.delivery).try_into().map_err(|e| at("delivery", e))?,
            assisted: s.assisted.into(),
            instant: s.instant.into(),
            entry_id: s.entry_id,
            item_code: s.item_code,
            item_version: s.item_version,
            item_name: s.item_name,
            department_id: s.department_id,
            region_code: s.region_code,
            applicant: s.applicant,
            applicant_name: s.applicant_name,
            submitted_by: s.submitted_by,
            route: s.route,
            step: s.step,
            handler: s.handler,
            decision: s.decision,
            decided_at: s.decided_at,
            licence_id: s.licence_id,
            concluded_at: s.concluded_at,
            form_fields: s.form_fields,
            prefilled_fields: s.prefilled_fields,
            created_at: s.created_at,
            updated_at: s.updated_at,
            id: s.id,
        })
    }
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for CaseRow {
    fn from_row(r: &'r sqlx::any::AnyRow) -> sqlx::Result<CaseRow> {
        StoredCase::from_row(r)?
            .try_into()
            .map_err(|e: String| sqlx::Error::Decode(e.into()))
    }
}

/// The cases of a page read as one JSON text (`db::json_rows` over `COLS`).
fn cases_of_json(text: &str) -> Result<Vec<CaseRow>> {
    crate::rows::read_json::<StoredCase>(text)?
        .into_iter()
        .map(|s| CaseRow::try_from(s).map_err(StoreError::Internal))
        .collect()
}

impl CaseRow {
    pub fn core(&self) -> Case {
        Case {
            state: self.state,
            steps: self.steps.clone(),
            step: self.step as usize,
            handler: self.handler.clone(),
            instant: self.instant,
            outstanding: self.outstanding.iter().cloned().collect(),
            approved: self.decision.as_deref().map(|d| d == "approve"),
        }
    }
    pub fn subject(&self) -> Option<Subject> {
        Subject::parse(&self.applicant)
    }
    /// The party whose move it is.
    pub fn waiting_on(&self) -> Option<Party> {
        self.core().waiting_on()
    }
    pub fn step_role(&self) -> Option<StepRole> {
        self.steps.get(self.step as usize).copied()
    }
}

/// The columns a new case is inserted with, in the order of its row (`deferred`); what a
/// copy of a case (the benches' bulk path) names. Its sealed application is a row of
/// `case_applications` (`deferred::Table::Applications`).
pub const NEW_CASE_COLUMNS: &str = "id, entry_id, item_code, item_version, item_name, department_id, region_code, \
    applicant, applicant_name, submitted_by, channel, assisted, route, state, steps, step, handler, instant, \
    outstanding, statutory_limit, promised_limit, received_on, created_at, \
    updated_at, form_fields, prefilled_fields";

const COLS: &str = "id, entry_id, item_code, item_version, item_name, department_id, region_code, applicant, \
    applicant_name, submitted_by, channel, assisted, route, state, steps, step, handler, instant, outstanding, \
    statutory_limit, promised_limit, received_on, accepted_on, due_on, statutory_due_on, decision, decided_at, \
    licence_id, delivery, concluded_at, form_fields, prefilled_fields, created_at, updated_at";

async fn row_on(conn: &mut AnyConnection, id: &str) -> Result<CaseRow> {
    let sql = format!("SELECT {COLS} FROM cases WHERE id = $1");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| DomainError::not_found("case_id", "办件", "case", id))?;
    read(&r)
}

/// The sealed part of a case: the application and the applicant's identifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sealed {
    application: Application,
    applicant_code: String,
}

mod submit;
pub use submit::*;
mod act;
pub use act::*;
mod read;
pub use read::*;
mod notices;
pub use notices::*;
mod commands;
pub use commands::*;
mod effects;
use effects::*;
mod national;
pub use national::*;
