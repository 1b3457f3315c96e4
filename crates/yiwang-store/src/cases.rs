//! Cases (办件): drafts, submission (智能预审 outside the writer on the published, immutable
//! item version; the case number, the case row, its events and its receipt inside one
//! writer command), every action of the state machine (`yiwang_core::cases::decide`)
//! with its side effects — deadlines at acceptance, suspensions, signed notices, tasks for
//! 容缺 and 告知承诺, the e-licence issued on an approving decision, notifications — and
//! the scheduler that applies 《行政许可法》第三十二条 (deemed acceptance).

use crate::catalog::Service;
use crate::ledger::Expect;
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

fn stream(id: &str) -> String {
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

const COLS: &str = "id, entry_id, item_code, item_version, item_name, department_id, region_code, applicant, \
    applicant_name, submitted_by, channel, assisted, route, state, steps, step, handler, instant, outstanding, \
    statutory_limit, promised_limit, received_on, accepted_on, due_on, statutory_due_on, decision, decided_at, \
    licence_id, delivery, concluded_at, form_fields, prefilled_fields, created_at, updated_at";

fn date_col(r: &sqlx::any::AnyRow, c: &str) -> Result<Option<NaiveDate>> {
    let v: Option<String> = r.try_get(c)?;
    v.map(|s| s.parse().map_err(|_| sql_err(&format!("bad date in {c}"))))
        .transpose()
}

fn json_col<T: serde::de::DeserializeOwned>(r: &sqlx::any::AnyRow, c: &str) -> Result<Option<T>> {
    let v: Option<String> = r.try_get(c)?;
    v.map(|s| serde_json::from_str(&s).map_err(|e| sql_err(&e.to_string())))
        .transpose()
}

fn to_row(r: &sqlx::any::AnyRow) -> Result<CaseRow> {
    let channel: String = r.try_get("channel")?;
    let state: String = r.try_get("state")?;
    Ok(CaseRow {
        id: r.try_get("id")?,
        entry_id: r.try_get("entry_id")?,
        item_code: r.try_get("item_code")?,
        item_version: r.try_get("item_version")?,
        item_name: r.try_get("item_name")?,
        department_id: r.try_get("department_id")?,
        region_code: r.try_get("region_code")?,
        applicant: r.try_get("applicant")?,
        applicant_name: r.try_get("applicant_name")?,
        submitted_by: r.try_get("submitted_by")?,
        channel: Channel::parse(&channel).ok_or_else(|| sql_err("bad channel"))?,
        assisted: r.try_get::<i64, _>("assisted")? != 0,
        route: r.try_get("route")?,
        state: State::parse(&state).ok_or_else(|| sql_err("bad state"))?,
        steps: json_col(r, "steps")?.unwrap_or_default(),
        step: r.try_get("step")?,
        handler: r.try_get("handler")?,
        instant: r.try_get::<i64, _>("instant")? != 0,
        outstanding: json_col(r, "outstanding")?.unwrap_or_default(),
        statutory_limit: json_col(r, "statutory_limit")?,
        promised_limit: json_col(r, "promised_limit")?,
        received_on: date_col(r, "received_on")?.ok_or_else(|| sql_err("no received_on"))?,
        accepted_on: date_col(r, "accepted_on")?,
        due_on: date_col(r, "due_on")?,
        statutory_due_on: date_col(r, "statutory_due_on")?,
        decision: r.try_get("decision")?,
        decided_at: r.try_get("decided_at")?,
        licence_id: r.try_get("licence_id")?,
        delivery: json_col(r, "delivery")?,
        concluded_at: r.try_get("concluded_at")?,
        form_fields: r.try_get("form_fields")?,
        prefilled_fields: r.try_get("prefilled_fields")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

async fn row_on(conn: &mut AnyConnection, id: &str) -> Result<CaseRow> {
    let sql = format!("SELECT {COLS} FROM cases WHERE id = $1");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| DomainError::not_found("case_id", "办件", "case", id))?;
    to_row(&r)
}

/// The sealed part of a case: the application and the applicant's identifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sealed {
    application: Application,
    applicant_code: String,
}

// ---------------------------------------------------------------------------------------
// Entry points (outside the writer: reads and the pre-check; then one command)
// ---------------------------------------------------------------------------------------

/// Has the subject a serious credit default not yet repaired (STANDARDS §3)?
pub async fn serious_default(store: &Store, subject: &Subject) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM credit_records WHERE subject = $1 AND serious = 1 AND repaired_at IS NULL",
    )
    .bind(subject.key())
    .fetch_one(&store.read)
    .await?;
    Ok(n > 0)
}

/// The data-element dictionary by code (read once per request, shared by the pre-check
/// and the prefill).
pub type Dictionary = BTreeMap<String, yiwang_core::catalog::DataElement>;

pub async fn dictionary(store: &Store) -> Result<Dictionary> {
    Ok(crate::catalog::data_elements(store)
        .await?
        .into_iter()
        .map(|d| (d.code.clone(), d))
        .collect())
}

/// Whose uploads an application may name: the submitter's (`uploader`, a ledger actor),
/// and the files the case already names (`prior`, for corrections and supplements).
pub struct FilesOf<'a> {
    pub uploader: &'a str,
    pub prior: std::collections::BTreeSet<String>,
}

/// The files an application names.
pub fn files_named(app: &Application) -> std::collections::BTreeSet<String> {
    app.materials.values().flat_map(|p| p.files.iter().cloned()).collect()
}

/// The pre-check (智能预审) of an application for a published item, with the licences
/// the applicant offers in place of materials checked against what they hold.
pub async fn precheck(
    store: &Store,
    service: &Service,
    applicant: &Subject,
    app: &Application,
    dict: &Dictionary,
    files_of: &FilesOf<'_>,
) -> Result<core::Prechecked> {
    let tolerance_allowed = !serious_default(store, applicant).await?;
    let mut problems = vec![];
    let out = match core::precheck(&service.elements, &|c| dict.get(c).cloned(), app, tolerance_allowed) {
        Ok(o) => Some(o),
        Err(e) => {
            problems.extend(e.errors);
            None
        }
    };
    // Every file named must be one the platform holds and the submitter uploaded (or one
    // the case already names): uploads are checked for type and size when they arrive, so
    // an address never uploaded is not a material, and nobody attaches — and so reads
    // through the case — another person's file.
    let named: Vec<&str> = app
        .materials
        .values()
        .flat_map(|p| p.files.iter().map(String::as_str))
        .filter(|f| !files_of.prior.contains(*f))
        .collect();
    let mut held = crate::files::known(store, &named, files_of.uploader).await?;
    held.extend(files_of.prior.iter().cloned());
    for (key, p) in &app.materials {
        if p.files.iter().any(|f| !held.contains(f)) {
            problems.push(FieldError::new(
                format!("materials.{key}"),
                "file.unknown",
                "所附文件未上传或已不存在，请重新上传",
                "a file named here was never uploaded: upload it again",
            ));
        }
    }
    // A licence offered in place of a material must be held, valid, and of the type the
    // material names (免提交, STANDARDS §6).
    for (key, p) in &app.materials {
        if p.kind != ProvisionKind::Licence {
            continue;
        }
        let Some(id) = &p.licence_id else { continue };
        let field = format!("materials.{key}");
        let wanted = service
            .elements
            .materials
            .iter()
            .find(|m| &m.key == key)
            .and_then(|m| m.source.licence_type.clone());
        match licences::held_by(store, applicant, id).await? {
            None => problems.push(FieldError::new(
                &field,
                "case.licence_not_held",
                "所选电子证照不存在或不属于申请人",
                "the licence does not exist or is not the applicant's",
            )),
            Some(l) if l.status != yiwang_core::licences::Status::Valid => problems.push(FieldError::new(
                &field,
                "case.licence_not_valid",
                format!("电子证照状态为「{}」，不能使用", l.status.zh()),
                format!("the licence is {}", l.status.en()),
            )),
            Some(l) if wanted.as_deref().is_some_and(|w| w != l.type_code) => problems.push(FieldError::new(
                &field,
                "case.licence_type",
                format!("该材料需要「{}」类电子证照", wanted.clone().unwrap_or_default()),
                "the material needs a licence of another type",
            )),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(DomainError::invalid(problems).into());
    }
    Ok(out.unwrap_or_default())
}

/// Values the platform can fill in for the applicant (一次不用重复填): from the profile
/// (each data element names its source, e.g. `legal.uscc`) and from the faces of the
/// valid licences they hold (a face field is a data element too).
pub async fn prefill(
    store: &Store,
    subject: &Subject,
    e: &yiwang_core::catalog::Elements,
    dict: &Dictionary,
) -> Result<BTreeMap<String, String>> {
    let mut profile: BTreeMap<&str, String> = BTreeMap::new();
    match subject {
        Subject::Person(id) => {
            if let Some(p) = crate::accounts::person(&store.read, id).await? {
                use yiwang_core::datause::PersonalField as F;
                profile.insert("person.name", p.name.clone());
                profile.insert("person.id_number", crate::accounts::reveal(store, &p, F::IdNumber)?);
                profile.insert("person.phone", crate::accounts::reveal(store, &p, F::Phone)?);
                profile.insert("person.address", crate::accounts::reveal(store, &p, F::Address)?);
            }
        }
        Subject::Legal(id) => {
            if let Some(l) = crate::accounts::legal_person(&store.read, id).await? {
                profile.insert("legal.name", l.name.clone());
                profile.insert("legal.uscc", l.uscc.clone());
                profile.insert("legal.kind", l.kind.name_zh().to_string());
                profile.insert("legal.representative", l.legal_representative.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut from_licences: BTreeMap<String, String> = BTreeMap::new();
    for l in licences::of_subject(store, subject).await? {
        if l.status != yiwang_core::licences::Status::Valid {
            continue;
        }
        if let Some(f) = licences::file(store, &l.id).await? {
            for (k, v) in f.data.face {
                from_licences.entry(k).or_insert(v);
            }
        }
    }
    for f in &e.form {
        let v = dict
            .get(&f.element)
            .and_then(|d| d.prefill.as_deref())
            .and_then(|src| profile.get(src).cloned())
            .filter(|v| !v.is_empty())
            .or_else(|| from_licences.get(&f.element).cloned());
        if let Some(v) = v {
            out.insert(f.element.clone(), v);
        }
    }
    Ok(out)
}

/// The published item an application is for.
pub async fn service_for(store: &Store, item_code: &str) -> Result<Service> {
    let s = crate::catalog::service(store, item_code.trim(), crate::now_ms())
        .await?
        .ok_or_else(|| DomainError::not_found("item_code", "在用事项", "item in force", item_code))?;
    Ok(s)
}

/// An application as submitted: for which item, by whom, how.
#[derive(Debug, Clone)]
pub struct Submission {
    pub item_code: String,
    pub applicant: Applicant,
    pub channel: Channel,
    /// 帮办: a clerk (or an agent) filled it in for the applicant.
    pub assisted: bool,
    pub application: Application,
    /// The draft it comes from (deleted once submitted).
    pub draft_id: Option<String>,
}

/// Submits an application (online, or at a window for the applicant): pre-check, then the
/// case is numbered and stored with its receipt. With an Idempotency-Key in `meta`, a
/// retried request returns the first case (`Written::replayed`).
pub async fn submit(store: &Store, meta: Meta, sub: Submission) -> Result<crate::writer::Written> {
    let service = service_for(store, &sub.item_code).await?;
    submit_inner(store, meta, sub, service, None).await
}

/// Takes over a case from the previous platform (历史办件迁移): pre-checked like any
/// submission, numbered by its original date of receipt, and accepted on its original
/// date when the previous platform had accepted it, so its clocks (and traffic lights)
/// are the real ones. One command: either all of it lands or nothing.
pub async fn import(store: &Store, meta: Meta, sub: Submission, m: Migration) -> Result<crate::writer::Written> {
    m.check(crate::today())?;
    let service = service_for(store, &sub.item_code).await?;
    let cal = calendar::calendar_for(store, Some(&service.region_code)).await?;
    submit_inner(store, meta, sub, service, Some((m, cal, store.config.cases))).await
}

async fn submit_inner(
    store: &Store,
    meta: Meta,
    sub: Submission,
    service: Service,
    migrated: Option<(Migration, Arc<Calendar>, core::CasePolicy)>,
) -> Result<crate::writer::Written> {
    let Submission {
        item_code: _,
        applicant,
        channel,
        assisted,
        application,
        draft_id,
    } = sub;
    // A window takes the paper; online, paper is not a way to hand in a material.
    if channel == Channel::Online {
        for (k, p) in &application.materials {
            if p.kind == ProvisionKind::Paper {
                return Err(DomainError::invalid(vec![FieldError::new(
                    format!("materials.{k}"),
                    "case.paper_online",
                    "网上申报不能选择纸质材料，请上传或使用电子证照",
                    "online, upload the material or use a licence",
                )])
                .into());
            }
        }
    }
    let dict = dictionary(store).await?;
    let files_of = FilesOf {
        uploader: &meta.actor,
        prior: Default::default(),
    };
    let prechecked = precheck(store, &service, &applicant.subject, &application, &dict, &files_of).await?;
    // The prefill rate: form fields whose submitted value is the one the platform filled in.
    let filled = prefill(store, &applicant.subject, &service.elements, &dict).await?;
    let prefilled = application
        .form
        .iter()
        .filter(|(k, v)| {
            filled.get(*k).is_some_and(|p| match v {
                Value::String(s) => s.trim() == p.trim(),
                other => other.to_string() == *p,
            })
        })
        .count();
    let w = store
        .writer
        .submit(
            meta,
            Command::Cases(Box::new(Cmd::Submit(Box::new(SubmitCmd {
                service,
                applicant,
                channel,
                assisted,
                application,
                prechecked,
                draft_id,
                prefilled,
                migrated,
            })))),
        )
        .await?;
    Ok(w)
}

/// Takes an action on a case as `party` (the caller's right to act as that party is
/// checked by the server).
pub async fn act(store: &Store, meta: Meta, case_id: &str, party: Party, action: Action) -> Result<Value> {
    act_with(store, meta, case_id, party, action, None).await
}

/// The applicant's 补正 (with the corrected application) or 容缺后补 (the application with
/// the materials that followed): pre-checked again, then the action.
pub async fn resubmit(store: &Store, meta: Meta, case_id: &str, app: Application) -> Result<Value> {
    let row = case(store, case_id)
        .await?
        .ok_or_else(|| DomainError::not_found("case_id", "办件", "case", case_id))?;
    let subject = row.subject().ok_or_else(not_party)?;
    let service = crate::catalog::version_of(store, &row.entry_id, row.item_version)
        .await?
        .ok_or_else(|| DomainError::not_found("item_code", "事项", "item", &row.item_code))?;
    let svc = Service {
        entry_id: row.entry_id.clone(),
        code: row.item_code.clone(),
        basic_code: String::new(),
        version: row.item_version,
        department_id: row.department_id.clone(),
        department_name: String::new(),
        region_code: row.region_code.clone(),
        level: None,
        effective_from: 0,
        until_ms: None,
        elements: service.elements,
    };
    let files_of = FilesOf {
        uploader: &meta.actor,
        prior: application(store, case_id)
            .await?
            .map(|(a, _)| files_named(&a))
            .unwrap_or_default(),
    };
    let pre = precheck(store, &svc, &subject, &app, &dictionary(store).await?, &files_of).await?;
    let action = match row.state {
        State::Correcting => Action::Correct,
        _ => {
            // 容缺后补: the materials accepted as missing that are now provided.
            let keys: Vec<String> = row
                .outstanding
                .iter()
                .filter(|k| {
                    app.materials
                        .get(*k)
                        .is_some_and(|p| p.kind != ProvisionKind::Tolerated)
                })
                .cloned()
                .collect();
            Action::Supplement { keys }
        }
    };
    act_with(
        store,
        meta,
        case_id,
        Party::Applicant,
        action,
        Some(Box::new((app, pre))),
    )
    .await
}

async fn act_with(
    store: &Store,
    meta: Meta,
    case_id: &str,
    party: Party,
    action: Action,
    replace: Option<Box<(Application, core::Prechecked)>>,
) -> Result<Value> {
    let row = case(store, case_id)
        .await?
        .ok_or_else(|| DomainError::not_found("case_id", "办件", "case", case_id))?;
    let calendar = calendar::calendar_for(store, Some(&row.region_code)).await?;
    let w = store
        .writer
        .submit(
            meta,
            Command::Cases(Box::new(Cmd::Act {
                case_id: case_id.to_string(),
                party,
                action,
                calendar,
                policy: store.config.cases,
                replace,
            })),
        )
        .await?;
    Ok(w.value)
}

pub async fn save_draft(
    store: &Store,
    meta: Meta,
    applicant: Subject,
    draft_id: Option<String>,
    item_code: &str,
    application: Application,
) -> Result<Value> {
    let service = service_for(store, item_code).await?;
    let w = store
        .writer
        .submit(
            meta,
            Command::Cases(Box::new(Cmd::SaveDraft {
                draft_id,
                applicant,
                item_code: service.code.clone(),
                item_name: service.elements.name.clone(),
                application: Box::new(application),
            })),
        )
        .await?;
    Ok(w.value)
}

pub async fn complete_task(
    store: &Store,
    meta: Meta,
    task_id: &str,
    outcome: &str,
    false_commitment: bool,
) -> Result<Value> {
    let w = store
        .writer
        .submit(
            meta,
            Command::Cases(Box::new(Cmd::CompleteTask {
                task_id: task_id.into(),
                outcome: outcome.into(),
                false_commitment,
            })),
        )
        .await?;
    Ok(w.value)
}

/// What one run of the scheduler did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tick {
    /// Cases deemed accepted by 《行政许可法》第三十二条.
    pub deemed_accepted: Vec<String>,
    /// Cases whose materials to follow became overdue (a termination task was opened).
    pub tolerance_overdue: Vec<String>,
}

/// The scheduler: cases received more than 5 working days ago with no correction
/// requested are accepted from receipt (《行政许可法》第三十二条), and cases whose
/// materials to follow (容缺) are overdue get a termination task (STANDARDS §3).
pub async fn tick(store: &Store, today: NaiveDate) -> Result<Tick> {
    let mut out = Tick::default();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM cases WHERE state = 'submitted' ORDER BY received_on LIMIT 1000"
    )))
    .fetch_all(&store.read)
    .await?;
    for r in rows {
        let c = to_row(&r)?;
        let cal = calendar::calendar_for(store, Some(&c.region_code)).await?;
        if cal.working_days_between(c.received_on, today) > store.config.cases.correction_window_days {
            match act(
                store,
                Meta::actor("system:scheduler"),
                &c.id,
                Party::System,
                Action::DeemAccept,
            )
            .await
            {
                Ok(_) => out.deemed_accepted.push(c.id),
                Err(StoreError::Domain(_)) => {} // moved on meanwhile
                Err(e) => return Err(e),
            }
        }
    }
    let due: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, case_id FROM case_tasks WHERE kind = 'tolerance_due' AND state = 'open' AND due_on < $1",
    )
    .bind(today.to_string())
    .fetch_all(&store.read)
    .await?;
    for (task_id, case_id) in due {
        store
            .writer
            .submit(
                Meta::actor("system:scheduler"),
                Command::Cases(Box::new(Cmd::CompleteTask {
                    task_id,
                    outcome: "容缺材料逾期未补交，转终止审查".into(),
                    false_commitment: false,
                })),
            )
            .await?;
        out.tolerance_overdue.push(case_id);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

pub async fn case(store: &Store, id: &str) -> Result<Option<CaseRow>> {
    let sql = format!("SELECT {COLS} FROM cases WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(to_row)
        .transpose()
}

/// The application as submitted (decrypted). Staff reads are the caller's to log.
pub async fn application(store: &Store, id: &str) -> Result<Option<(Application, String)>> {
    let enc: Option<String> = sqlx::query_scalar("SELECT application_enc FROM cases WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    let Some(enc) = enc else { return Ok(None) };
    let bytes = store.pii.open_bytes(&format!("cases.application:{id}"), &enc)?;
    let s: Sealed = serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))?;
    Ok(Some((s.application, s.applicant_code)))
}

pub async fn of_applicant(store: &Store, subject: &Subject) -> Result<Vec<CaseRow>> {
    let sql = format!("SELECT {COLS} FROM cases WHERE applicant = $1 ORDER BY updated_at DESC LIMIT 500");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(subject.key())
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(to_row)
        .collect()
}

/// Open cases (someone other than the applicant has a move): for inboxes, which the
/// server filters by role and scope and orders by remaining working time.
pub async fn open_cases(store: &Store) -> Result<Vec<CaseRow>> {
    let sql = format!(
        "SELECT {COLS} FROM cases WHERE state IN ('submitted', 'accepted', 'suspended', 'decided') \
         ORDER BY received_on LIMIT 5000"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(to_row)
        .collect()
}

/// Records that staff read a person applicant's case (their application holds personal
/// data) in the person's data-use log, with the case as the purpose.
pub async fn record_read(
    store: &Store,
    meta: Meta,
    reader: &crate::datause::Reader,
    person_id: &str,
    case_id: &str,
) -> Result<()> {
    let u = yiwang_core::datause::DataUse {
        id: new_id(),
        person_id: person_id.to_string(),
        actor_kind: reader.kind.clone(),
        actor_id: reader.id.clone(),
        actor_name: reader.name.clone(),
        department: reader.department.clone(),
        fields: vec![yiwang_core::datause::PersonalField::Name],
        unmasked: false,
        purpose: "办理办件".into(),
        case_id: Some(case_id.to_string()),
        at_ms: crate::now_ms(),
    };
    store
        .write(meta, Command::DataUse(crate::datause::Cmd::Record(Box::new(u))))
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub n: i64,
    pub event: String,
    pub body: Value,
    pub party: String,
    pub actor: String,
    pub at_ms: i64,
    pub zh: String,
    pub en: String,
}

pub async fn timeline(store: &Store, id: &str) -> Result<Vec<TimelineEntry>> {
    let rows = sqlx::query("SELECT n, event, body, party, actor, at FROM case_timeline WHERE case_id = $1 ORDER BY n")
        .bind(id)
        .fetch_all(&store.read)
        .await?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get("body")?;
            let body: Value = serde_json::from_str(&body).map_err(|e| sql_err(&e.to_string()))?;
            let ev: Option<Event> = serde_json::from_value(body.clone()).ok();
            let mut zh = ev.as_ref().map(|e| e.zh()).unwrap_or_default();
            let mut en = ev.as_ref().map(|e| e.en()).unwrap_or_default();
            if let Ok(m) = serde_json::from_value::<Migration>(body["migrated"].clone()) {
                zh = format!(
                    "{zh}（历史办件迁移：原系统「{}」编号 {}，{} 收件）",
                    m.source, m.legacy_no, m.received_on
                );
                en = format!(
                    "{en} (migrated from {}: number {}, received {})",
                    m.source, m.legacy_no, m.received_on
                );
            }
            Ok(TimelineEntry {
                n: r.try_get("n")?,
                event: r.try_get("event")?,
                zh,
                en,
                body,
                party: r.try_get("party")?,
                actor: r.try_get("actor")?,
                at_ms: r.try_get("at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionRow {
    pub n: i64,
    pub kind: String,
    pub reason: String,
    pub from_on: NaiveDate,
    pub to_on: Option<NaiveDate>,
    pub result: Option<String>,
}

async fn suspensions_on<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(e: E, id: &str) -> Result<Vec<SuspensionRow>> {
    let rows = sqlx::query(
        "SELECT n, kind, reason, from_on, to_on, result FROM case_suspensions WHERE case_id = $1 ORDER BY n",
    )
    .bind(id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SuspensionRow {
                n: r.try_get("n")?,
                kind: r.try_get("kind")?,
                reason: r.try_get("reason")?,
                from_on: date_col(r, "from_on")?.ok_or_else(|| sql_err("from_on"))?,
                to_on: date_col(r, "to_on")?,
                result: r.try_get("result")?,
            })
        })
        .collect()
}

pub async fn suspensions(store: &Store, id: &str) -> Result<Vec<SuspensionRow>> {
    suspensions_on(&store.read, id).await
}

/// Suspensions as calendar intervals; an open one runs to `today`.
pub fn intervals(s: &[SuspensionRow], today: NaiveDate) -> Vec<Suspension> {
    s.iter()
        .map(|x| Suspension {
            from: x.from_on,
            to: x.to_on.unwrap_or(today),
        })
        .collect()
}

/// A case's clocks with their arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clocks {
    pub promised: Option<(Deadline, core::Reading)>,
    pub statutory: Option<(Deadline, core::Reading)>,
}

/// The promised and statutory clocks of an accepted case on `today` (by its region's
/// calendar, extended by suspensions, 《行政许可法》第四十二条、第四十五条).
pub async fn clocks(store: &Store, c: &CaseRow, today: NaiveDate) -> Result<Clocks> {
    let Some(start) = c.accepted_on else {
        return Ok(Clocks {
            promised: None,
            statutory: None,
        });
    };
    let cal = calendar::calendar_for(store, Some(&c.region_code)).await?;
    let susp = intervals(&suspensions(store, &c.id).await?, today);
    let read_on = if c.state.is_final() || c.state == State::Decided {
        c.decided_at.map(date_of).unwrap_or(today)
    } else {
        today
    };
    let one = |l: &Option<TimeLimit>| {
        l.as_ref().filter(|l| l.value > 0).map(|l| {
            let mut d = core::due(&cal, start, l, &susp);
            d.working_days = core::limit_working_days(&cal, &d);
            let r = core::reading_with(&cal, &d, &susp, read_on, store.config.cases.yellow_percent);
            (d, r)
        })
    };
    Ok(Clocks {
        promised: one(&c.promised_limit),
        statutory: one(&c.statutory_limit),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub case_id: String,
    pub kind: NoticeKind,
    pub body: Value,
    pub seal_id: Option<String>,
    pub key_id: Option<String>,
    pub signature: Option<String>,
    pub created_at: i64,
}

fn to_notice(r: &sqlx::any::AnyRow) -> Result<Notice> {
    let kind: String = r.try_get("kind")?;
    let body: String = r.try_get("body")?;
    Ok(Notice {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        kind: NoticeKind::parse(&kind).ok_or_else(|| sql_err("bad notice kind"))?,
        body: serde_json::from_str(&body).map_err(|e| sql_err(&e.to_string()))?,
        seal_id: r.try_get("seal_id")?,
        key_id: r.try_get("key_id")?,
        signature: r.try_get("signature")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn notices(store: &Store, case_id: &str) -> Result<Vec<Notice>> {
    sqlx::query("SELECT * FROM case_notices WHERE case_id = $1 ORDER BY created_at, id")
        .bind(case_id)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(to_notice)
        .collect()
}

pub async fn notice(store: &Store, id: &str) -> Result<Option<Notice>> {
    sqlx::query("SELECT * FROM case_notices WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(to_notice)
        .transpose()
}

/// The bytes a notice's seal signs: kind, case and body, canonical JSON.
pub fn notice_bytes(n: &Notice) -> Vec<u8> {
    serde_json::to_vec(
        &json!({ "id": n.id, "case_id": n.case_id, "kind": n.kind, "body": n.body,
        "key_id": n.key_id, "at": n.created_at }),
    )
    .expect("serialisable")
}

/// Checks a notice's seal signature against the seal's public key.
pub async fn verify_notice(store: &Store, n: &Notice) -> Result<bool> {
    let (Some(key_id), Some(sig)) = (&n.key_id, &n.signature) else {
        return Ok(false);
    };
    let Some(k) = seals::trusted_key_by_id(store, key_id).await? else {
        return Ok(false);
    };
    let (Ok(sig), Ok(pk)) = (hex::decode(sig), hex::decode(&k.public_key)) else {
        return Ok(false);
    };
    Ok(yiwang_crypto::verify(&pk, &notice_bytes(n), &sig).is_ok())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub case_id: String,
    pub department_id: String,
    pub kind: String,
    pub due_on: NaiveDate,
    pub state: String,
    pub outcome: Option<String>,
}

fn to_task(r: &sqlx::any::AnyRow) -> Result<Task> {
    Ok(Task {
        id: r.try_get("id")?,
        case_id: r.try_get("case_id")?,
        department_id: r.try_get("department_id")?,
        kind: r.try_get("kind")?,
        due_on: date_col(r, "due_on")?.ok_or_else(|| sql_err("due_on"))?,
        state: r.try_get("state")?,
        outcome: r.try_get("outcome")?,
    })
}

pub async fn tasks_of_case(store: &Store, case_id: &str) -> Result<Vec<Task>> {
    sqlx::query(
        "SELECT id, case_id, department_id, kind, due_on, state, outcome FROM case_tasks WHERE case_id = $1 ORDER BY created_at",
    )
    .bind(case_id)
    .fetch_all(&store.read)
    .await?
    .iter()
    .map(to_task)
    .collect()
}

pub async fn open_tasks(store: &Store, department_ids: &[String]) -> Result<Vec<Task>> {
    let rows = sqlx::query(
        "SELECT id, case_id, department_id, kind, due_on, state, outcome FROM case_tasks WHERE state = 'open' ORDER BY due_on",
    )
    .fetch_all(&store.read)
    .await?;
    let mut out = vec![];
    for r in rows {
        let t = to_task(&r)?;
        if department_ids.contains(&t.department_id) {
            out.push(t);
        }
    }
    Ok(out)
}

pub async fn task(store: &Store, id: &str) -> Result<Option<Task>> {
    sqlx::query("SELECT id, case_id, department_id, kind, due_on, state, outcome FROM case_tasks WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?
        .as_ref()
        .map(to_task)
        .transpose()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    pub item_code: String,
    pub item_name: String,
    pub updated_at: i64,
}

pub async fn drafts_of(store: &Store, subject: &Subject) -> Result<Vec<Draft>> {
    let rows = sqlx::query(
        "SELECT id, item_code, item_name, updated_at FROM case_drafts WHERE applicant = $1 ORDER BY updated_at DESC",
    )
    .bind(subject.key())
    .fetch_all(&store.read)
    .await?;
    rows.iter().map(to_draft).collect()
}

fn to_draft(r: &sqlx::any::AnyRow) -> Result<Draft> {
    Ok(Draft {
        id: r.try_get("id")?,
        item_code: r.try_get("item_code")?,
        item_name: r.try_get("item_name")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A draft of the subject's, with its application.
pub async fn draft(store: &Store, subject: &Subject, id: &str) -> Result<Option<(Draft, Application)>> {
    let r = sqlx::query(
        "SELECT id, item_code, item_name, updated_at, application_enc FROM case_drafts WHERE id = $1 AND applicant = $2",
    )
    .bind(id)
    .bind(subject.key())
    .fetch_optional(&store.read)
    .await?;
    let Some(r) = r else { return Ok(None) };
    let enc: String = r.try_get("application_enc")?;
    let bytes = store.pii.open_bytes(&format!("case_drafts.application:{id}"), &enc)?;
    let app: Application = serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))?;
    Ok(Some((to_draft(&r)?, app)))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub case_id: Option<String>,
    pub text_zh: String,
    pub text_en: String,
    pub created_at: i64,
}

pub async fn notifications(store: &Store, subject: &Subject) -> Result<Vec<Notification>> {
    let rows = sqlx::query(
        "SELECT id, case_id, text_zh, text_en, created_at FROM notifications WHERE recipient = $1 ORDER BY created_at DESC LIMIT 100",
    )
    .bind(subject.key())
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Notification {
                id: r.try_get("id")?,
                case_id: r.try_get("case_id")?,
                text_zh: r.try_get("text_zh")?,
                text_en: r.try_get("text_en")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditRecord {
    pub id: String,
    pub subject: String,
    pub serious: bool,
    pub reason: String,
    pub case_id: Option<String>,
    pub created_at: i64,
}

pub async fn credit_records(store: &Store, subject: &Subject) -> Result<Vec<CreditRecord>> {
    let rows = sqlx::query(
        "SELECT id, subject, serious, reason, case_id, created_at FROM credit_records WHERE subject = $1 ORDER BY created_at",
    )
    .bind(subject.key())
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CreditRecord {
                id: r.try_get("id")?,
                subject: r.try_get("subject")?,
                serious: r.try_get::<i64, _>("serious")? != 0,
                reason: r.try_get("reason")?,
                case_id: r.try_get("case_id")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::SaveDraft {
            draft_id,
            applicant,
            item_code,
            item_name,
            application,
        } => {
            let id = match draft_id {
                Some(id) => {
                    let owner: Option<String> = sqlx::query_scalar("SELECT applicant FROM case_drafts WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *ctx.conn)
                        .await?;
                    if owner.as_deref() != Some(applicant.key().as_str()) {
                        return Err(DomainError::not_found("draft_id", "草稿", "draft", id).into());
                    }
                    id.clone()
                }
                None => new_id(),
            };
            let bytes = serde_json::to_vec(application.as_ref()).expect("serialisable");
            let digest = hex::encode(yiwang_crypto::sm3(&bytes));
            ctx.append(
                &format!("case_draft:{id}"),
                if draft_id.is_some() {
                    Expect::Exists
                } else {
                    Expect::New
                },
                "case.draft_saved",
                &json!({ "id": id, "applicant": applicant.key(), "item_code": item_code, "application_sm3": digest }),
            )
            .await?;
            let enc = ctx
                .keys
                .pii
                .seal_bytes(&format!("case_drafts.application:{id}"), &bytes);
            if draft_id.is_some() {
                sqlx::query("UPDATE case_drafts SET application_enc = $1, updated_at = $2 WHERE id = $3")
                    .bind(&enc)
                    .bind(ctx.now_ms)
                    .bind(&id)
                    .execute(&mut *ctx.conn)
                    .await?;
            } else {
                sqlx::query(
                    "INSERT INTO case_drafts (id, applicant, item_code, item_name, application_enc, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&id)
                .bind(applicant.key())
                .bind(item_code)
                .bind(item_name)
                .bind(&enc)
                .bind(ctx.now_ms)
                .execute(&mut *ctx.conn)
                .await?;
            }
            Ok(json!({ "draft_id": id, "item_code": item_code }))
        }
        Cmd::Submit(s) => submit_cmd(ctx, s).await,
        Cmd::Act {
            case_id,
            party,
            action,
            calendar,
            policy,
            replace,
        } => {
            let today = date_of(ctx.now_ms);
            act_cmd(
                ctx,
                case_id,
                *party,
                action,
                calendar,
                policy,
                replace.as_deref(),
                today,
            )
            .await
        }
        Cmd::CompleteTask {
            task_id,
            outcome,
            false_commitment,
        } => complete_task_cmd(ctx, task_id, outcome, *false_commitment).await,
    }
}

async fn submit_cmd(ctx: &mut WriteCtx<'_>, s: &SubmitCmd) -> Result<Value> {
    // A migrated case keeps its original date of receipt (number, clocks, art. 32).
    let today = match &s.migrated {
        Some((m, _, _)) => m.received_on,
        None => date_of(ctx.now_ms),
    };
    let svc = &s.service;
    let e = &svc.elements;
    // 办件编号: region + date + serial, allocated under the batch's ledger lock, so
    // numbers are unique across processes (issue 6 item 10).
    let prefix = format!(
        "{}{}",
        core::case_number(&svc.region_code, today, 0).get(..12).unwrap_or(""),
        today.format("%Y%m%d")
    );
    // One statement takes the serial and advances the counter (both engines support
    // upsert with RETURNING); the savepoint opened first undoes it if the command fails.
    ctx.begin_write().await?;
    let serial: i64 = sqlx::query_scalar(
        "INSERT INTO case_serials (prefix, next_serial) VALUES ($1, 2)
         ON CONFLICT (prefix) DO UPDATE SET next_serial = case_serials.next_serial + 1
         RETURNING next_serial - 1",
    )
    .bind(&prefix)
    .fetch_one(&mut *ctx.conn)
    .await?;
    let id = core::case_number(&svc.region_code, today, serial as u64);
    let route = if s.application.commitment {
        "commitment"
    } else if !s.prechecked.tolerated.is_empty() {
        "tolerance"
    } else {
        "normal"
    };
    let sealed = Sealed {
        application: s.application.clone(),
        applicant_code: s.applicant.code.clone(),
    };
    let bytes = serde_json::to_vec(&sealed).expect("serialisable");
    let digest = hex::encode(yiwang_crypto::sm3(&bytes));
    let ev = Event::Submitted;
    ctx.append(
        &stream(&id),
        Expect::New,
        "case.submitted",
        &json!({ "id": id, "item_code": svc.code, "item_version": svc.version, "department_id": svc.department_id,
                 "applicant": s.applicant.subject.key(), "applicant_name": s.applicant.name, "channel": s.channel,
                 "assisted": s.assisted, "route": route, "application_sm3": digest,
                 "form_fields": e.form.len(), "prefilled_fields": s.prefilled,
                 "tolerated": s.prechecked.tolerated, "promised": s.prechecked.promised,
                 "migrated": s.migrated.as_ref().map(|(m, _, _)| m) }),
    )
    .await?;
    let steps = core::workflow(e);
    let enc = ctx.keys.pii.seal_bytes(&format!("cases.application:{id}"), &bytes);
    let outstanding: Vec<&String> = s.prechecked.tolerated.iter().collect();
    sqlx::query(
        "INSERT INTO cases (id, entry_id, item_code, item_version, item_name, department_id, region_code, applicant,
            applicant_name, submitted_by, channel, assisted, route, state, steps, step, handler, instant, outstanding,
            application_enc, application_sm3, statutory_limit, promised_limit, received_on, created_at, updated_at,
            form_fields, prefilled_fields)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'submitted', $14, 0, NULL, $15, $16, $17, $18,
            $19, $20, $21, $22, $22, $23, $24)",
    )
    .bind(&id)
    .bind(&svc.entry_id)
    .bind(&svc.code)
    .bind(svc.version)
    .bind(&e.name)
    .bind(&svc.department_id)
    .bind(&svc.region_code)
    .bind(s.applicant.subject.key())
    .bind(&s.applicant.name)
    .bind(&ctx.actor)
    .bind(s.channel.as_str())
    .bind(i16::from(s.assisted))
    .bind(route)
    .bind(serde_json::to_string(&steps).expect("serialisable"))
    .bind(i16::from(e.case_kind == CaseKind::Instant))
    .bind(serde_json::to_string(&outstanding).expect("serialisable"))
    .bind(&enc)
    .bind(&digest)
    .bind(
        e.statutory_limit
            .as_ref()
            .map(|l| serde_json::to_string(l).expect("serialisable")),
    )
    .bind(
        e.promised_limit
            .as_ref()
            .map(|l| serde_json::to_string(l).expect("serialisable")),
    )
    .bind(today.to_string())
    .bind(ctx.now_ms)
    .bind(e.form.len() as i64)
    .bind(s.prefilled as i64)
    .execute(&mut *ctx.conn)
    .await?;
    if let Some(d) = &s.draft_id {
        sqlx::query("DELETE FROM case_drafts WHERE id = $1 AND applicant = $2")
            .bind(d)
            .bind(s.applicant.subject.key())
            .execute(&mut *ctx.conn)
            .await?;
    }
    // The row as just inserted (no read-back on the hot path).
    let row = CaseRow {
        id: id.clone(),
        entry_id: svc.entry_id.clone(),
        item_code: svc.code.clone(),
        item_version: svc.version,
        item_name: e.name.clone(),
        department_id: svc.department_id.clone(),
        region_code: svc.region_code.clone(),
        applicant: s.applicant.subject.key(),
        applicant_name: s.applicant.name.clone(),
        submitted_by: ctx.actor.clone(),
        channel: s.channel,
        assisted: s.assisted,
        route: route.into(),
        state: State::Submitted,
        steps,
        step: 0,
        handler: None,
        instant: e.case_kind == CaseKind::Instant,
        outstanding: outstanding.into_iter().cloned().collect(),
        statutory_limit: e.statutory_limit.clone(),
        promised_limit: e.promised_limit.clone(),
        received_on: today,
        accepted_on: None,
        due_on: None,
        statutory_due_on: None,
        decision: None,
        decided_at: None,
        licence_id: None,
        delivery: None,
        concluded_at: None,
        form_fields: e.form.len() as i64,
        prefilled_fields: s.prefilled as i64,
        created_at: ctx.now_ms,
        updated_at: ctx.now_ms,
    };
    // A migrated case's first entry names where it came from.
    let body = match &s.migrated {
        Some((m, _, _)) => json!({ "event": "submitted", "migrated": m }),
        None => serde_json::to_value(&ev).expect("serialisable"),
    };
    timeline_insert(ctx, &id, 1, ev.name(), &body, Party::Applicant).await?;
    let materials: Vec<Value> = e
        .materials
        .iter()
        .filter_map(|m| {
            s.application
                .materials
                .get(&m.key)
                .map(|p| json!({ "key": m.key, "name": m.name, "how": p.kind, "files": p.files.len() }))
        })
        .collect();
    add_notice(
        ctx,
        &row,
        NoticeKind::Receipt,
        json!({ "channel": s.channel, "received_on": today, "materials": materials,
                "promised_limit": e.promised_limit.as_ref().map(|l| l.text_zh()) }),
    )
    .await?;
    notify(
        ctx,
        &row,
        format!("您申报的「{}」已收件，办件编号 {id}", e.name),
        format!("Your application for '{}' was received: case {id}", e.name),
    )
    .await?;
    if let Some((m, cal, policy)) = &s.migrated
        && let Some(on) = m.accepted_on
    {
        let v = act_cmd(ctx, &id, Party::Clerk, &Action::Accept, cal, policy, None, on).await?;
        return Ok(
            json!({ "id": id, "state": v["state"], "route": route, "received_on": today,
                    "accepted_on": on, "due_on": v["due_on"], "legacy_no": m.legacy_no }),
        );
    }
    Ok(
        json!({ "id": id, "state": State::Submitted, "route": route, "received_on": today,
               "tolerated": s.prechecked.tolerated, "promised": s.prechecked.promised }),
    )
}

#[allow(clippy::too_many_arguments)]
async fn act_cmd(
    ctx: &mut WriteCtx<'_>,
    case_id: &str,
    party: Party,
    action: &Action,
    cal: &Calendar,
    policy: &core::CasePolicy,
    replace: Option<&(Application, core::Prechecked)>,
    today: NaiveDate,
) -> Result<Value> {
    let row = row_on(ctx.conn, case_id).await?;
    let facts = Facts {
        working_days_since_receipt: cal.working_days_between(row.received_on, today),
        correction_window_days: policy.correction_window_days,
        handled_by_other: row.handler.as_ref().is_some_and(|h| *h != ctx.actor),
    };
    let mut c = row.core();
    if facts.handled_by_other {
        // A refusal names the officer in charge by name, not by account id.
        if let Some(acc) = row.handler.as_deref().and_then(|h| h.strip_prefix("account:")) {
            let name: Option<String> = sqlx::query_scalar("SELECT name FROM staff WHERE account_id = $1")
                .bind(acc)
                .fetch_optional(&mut *ctx.conn)
                .await?;
            c.handler = name.or(c.handler);
        }
    }
    let events = core::decide(&c, party, action, facts)?;
    let mut c = row.core();
    // The service version the case was filed under (for the licence result and checks).
    let elements = crate::catalog::version(&mut *ctx.conn, &row.entry_id, row.item_version)
        .await?
        .map(|v| v.elements);
    let mut handler = row.handler.clone();
    if let Some((app, pre)) = replace {
        replace_application(ctx, &row, app, pre).await?;
    }
    for ev in &events {
        ctx.append(
            &stream(case_id),
            Expect::Exists,
            &format!("case.{}", ev.name()),
            &json!({ "event": ev, "party": party, "by": ctx.actor }),
        )
        .await?;
        core::apply(&mut c, ev);
        match ev {
            Event::Claimed { .. } => handler = Some(ctx.actor.clone()),
            // The ledger names staff as `account:<id>`; so does the handler column.
            Event::Assigned { to } => handler = Some(format!("account:{to}")),
            Event::Accepted { .. } | Event::StepCompleted { .. } | Event::Returned { .. } => handler = None,
            _ => {}
        }
        sqlx::query(
            "UPDATE cases SET state = $1, step = $2, handler = $3, outstanding = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(c.state.as_str())
        .bind(c.step as i64)
        .bind(&handler)
        .bind(serde_json::to_string(&c.outstanding).expect("serialisable"))
        .bind(ctx.now_ms)
        .bind(case_id)
        .execute(&mut *ctx.conn)
        .await?;
        let row = row_on(ctx.conn, case_id).await?;
        timeline_add(ctx, &row, ev, party).await?;
        effects(ctx, &row, ev, cal, today, elements.as_ref()).await?;
    }
    let row = row_on(ctx.conn, case_id).await?;
    Ok(
        json!({ "id": case_id, "state": row.state, "step": row.step, "events": events.iter().map(|e| e.name()).collect::<Vec<_>>(),
               "due_on": row.due_on, "licence_id": row.licence_id }),
    )
}

/// Stores a corrected or completed application (its digest goes into the ledger with
/// the event that follows in the same command).
async fn replace_application(
    ctx: &mut WriteCtx<'_>,
    row: &CaseRow,
    app: &Application,
    pre: &core::Prechecked,
) -> Result<()> {
    let enc: String = sqlx::query_scalar("SELECT application_enc FROM cases WHERE id = $1")
        .bind(&row.id)
        .fetch_one(&mut *ctx.conn)
        .await?;
    let bytes = ctx
        .keys
        .pii
        .open_bytes(&format!("cases.application:{}", row.id), &enc)?;
    let mut sealed: Sealed = serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))?;
    sealed.application = app.clone();
    let bytes = serde_json::to_vec(&sealed).expect("serialisable");
    let digest = hex::encode(yiwang_crypto::sm3(&bytes));
    ctx.append(
        &stream(&row.id),
        Expect::Exists,
        "case.application_replaced",
        &json!({ "application_sm3": digest }),
    )
    .await?;
    let enc = ctx
        .keys
        .pii
        .seal_bytes(&format!("cases.application:{}", row.id), &bytes);
    // During 补正 the route may change (materials now to follow); while accepted only the
    // materials accepted as missing may be handed in, so the set of outstanding ones
    // shrinks by the Supplemented event, not here.
    let outstanding: Vec<&String> = pre.tolerated.iter().collect();
    if row.state == State::Correcting {
        sqlx::query("UPDATE cases SET application_enc = $1, application_sm3 = $2, outstanding = $3 WHERE id = $4")
            .bind(&enc)
            .bind(&digest)
            .bind(serde_json::to_string(&outstanding).expect("serialisable"))
            .bind(&row.id)
            .execute(&mut *ctx.conn)
            .await?;
    } else {
        sqlx::query("UPDATE cases SET application_enc = $1, application_sm3 = $2 WHERE id = $3")
            .bind(&enc)
            .bind(&digest)
            .bind(&row.id)
            .execute(&mut *ctx.conn)
            .await?;
    }
    Ok(())
}

/// What an event does besides moving the state: dates, suspensions, notices, tasks,
/// licences, notifications.
async fn effects(
    ctx: &mut WriteCtx<'_>,
    row: &CaseRow,
    ev: &Event,
    cal: &Calendar,
    today: NaiveDate,
    elements: Option<&yiwang_core::catalog::Elements>,
) -> Result<()> {
    let id = row.id.as_str();
    match ev {
        Event::Corrected => {
            // A corrected application is received anew: the 5 working days of
            // 《行政许可法》第三十二条 start again.
            sqlx::query("UPDATE cases SET received_on = $1 WHERE id = $2")
                .bind(today.to_string())
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
        }
        Event::Accepted { deemed } => {
            // Deemed acceptance counts from receipt (《行政许可法》第三十二条).
            let on = if *deemed { row.received_on } else { today };
            let due = |l: &Option<TimeLimit>| {
                l.as_ref()
                    .filter(|l| l.value > 0)
                    .map(|l| core::due(cal, on, l, &[]).date.to_string())
            };
            sqlx::query("UPDATE cases SET accepted_on = $1, due_on = $2, statutory_due_on = $3 WHERE id = $4")
                .bind(on.to_string())
                .bind(due(&row.promised_limit))
                .bind(due(&row.statutory_limit))
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            let promised_due = due(&row.promised_limit);
            let tolerated = !row.outstanding.is_empty();
            let mut body = json!({ "accepted_on": on, "deemed": deemed, "due_on": promised_due,
                                   "statutory_due_on": due(&row.statutory_limit) });
            if tolerated {
                // 容缺受理通知书: each missing material and its deadline (≤ the promised
                // limit, STANDARDS §3).
                let names: Vec<Value> = row
                    .outstanding
                    .iter()
                    .map(|k| {
                        let name = elements
                            .and_then(|e| e.materials.iter().find(|m| &m.key == k))
                            .map(|m| m.name.clone())
                            .unwrap_or_else(|| k.clone());
                        json!({ "key": k, "name": name, "due_on": promised_due })
                    })
                    .collect();
                body["missing"] = Value::Array(names);
                let due_on = promised_due
                    .clone()
                    .unwrap_or_else(|| core::due(cal, on, &TimeLimit::working_days(20), &[]).date.to_string());
                add_task(ctx, row, "tolerance_due", &due_on).await?;
            }
            add_notice(
                ctx,
                row,
                if tolerated {
                    NoticeKind::Tolerance
                } else {
                    NoticeKind::Acceptance
                },
                body,
            )
            .await?;
            notify(ctx, row, format!("办件 {id} 已受理"), format!("Case {id} was accepted")).await?;
        }
        Event::Refused { reason, basis } => {
            add_notice(
                ctx,
                row,
                NoticeKind::NonAcceptance,
                json!({ "reason": reason, "basis": basis,
                "remedy": "如不服本决定，可依法申请行政复议或者提起行政诉讼" }),
            )
            .await?;
            notify(
                ctx,
                row,
                format!("办件 {id} 不予受理：{reason}"),
                format!("Case {id} was not accepted: {reason}"),
            )
            .await?;
        }
        Event::CorrectionRequested { items } => {
            add_notice(ctx, row, NoticeKind::Correction, json!({ "items": items })).await?;
            notify(
                ctx,
                row,
                format!("办件 {id} 需要补正 {} 项，请一次补齐", items.len()),
                format!("Case {id}: {} corrections are needed", items.len()),
            )
            .await?;
        }
        Event::SpecialStarted { kind, reason } => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_suspensions WHERE case_id = $1")
                .bind(id)
                .fetch_one(&mut *ctx.conn)
                .await?;
            sqlx::query("INSERT INTO case_suspensions (case_id, n, kind, reason, from_on) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(n + 1)
                .bind(kind.as_str())
                .bind(reason)
                .bind(today.to_string())
                .execute(&mut *ctx.conn)
                .await?;
            // 《行政许可法》第四十五条: the applicant is told in writing.
            add_notice(
                ctx,
                row,
                NoticeKind::Special,
                json!({ "kind": kind, "kind_zh": kind.zh(), "reason": reason,
                "from_on": today, "note": "特别程序所需时间不计算在办理期限内" }),
            )
            .await?;
            notify(
                ctx,
                row,
                format!("办件 {id} 进入特别程序（{}），期间不计入办理时限", kind.zh()),
                format!(
                    "Case {id} is in a special procedure ({}); the clock is stopped",
                    kind.en()
                ),
            )
            .await?;
        }
        Event::SpecialEnded { result } => {
            sqlx::query("UPDATE case_suspensions SET to_on = $1, result = $2 WHERE case_id = $3 AND to_on IS NULL")
                .bind(today.to_string())
                .bind(result)
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            recompute_due(ctx, row, cal, today).await?;
        }
        Event::Supplemented { .. } => {
            if row.outstanding.is_empty() {
                sqlx::query("UPDATE case_tasks SET state = 'done', outcome = $1, done_at = $2 WHERE case_id = $3 AND kind = 'tolerance_due' AND state = 'open'")
                    .bind("容缺材料已补齐")
                    .bind(ctx.now_ms)
                    .bind(id)
                    .execute(&mut *ctx.conn)
                    .await?;
            }
        }
        Event::Decided { approve, reason } => {
            sqlx::query("UPDATE cases SET decision = $1, decided_at = $2 WHERE id = $3")
                .bind(if *approve { "approve" } else { "deny" })
                .bind(ctx.now_ms)
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            let mut body = json!({ "approve": approve, "reason": reason, "decided_on": today });
            if *approve {
                if let Some(lid) = issue_result(ctx, row, elements).await? {
                    body["licence_id"] = json!(lid);
                }
                // 告知承诺: the 核查 follows within the item's set period (国办发〔2020〕42号).
                if row.route == "commitment"
                    && let Some(cm) = elements.and_then(|e| e.commitment.as_ref())
                {
                    let due = core::due(cal, today, &TimeLimit::working_days(cm.check_days.max(1)), &[]);
                    add_task(ctx, row, "commitment_check", &due.date.to_string()).await?;
                }
            } else {
                body["remedy"] = json!("如不服本决定，可依法申请行政复议或者提起行政诉讼");
            }
            add_notice(
                ctx,
                row,
                if *approve {
                    NoticeKind::Approval
                } else {
                    NoticeKind::Denial
                },
                body,
            )
            .await?;
            notify(
                ctx,
                row,
                if *approve {
                    format!("办件 {id} 已准予许可")
                } else {
                    format!("办件 {id} 不予许可：{reason}")
                },
                if *approve {
                    format!("Case {id} was granted")
                } else {
                    format!("Case {id} was refused: {reason}")
                },
            )
            .await?;
        }
        Event::Delivered { method, post } => {
            sqlx::query("UPDATE cases SET delivery = $1 WHERE id = $2")
                .bind(json!({ "method": method, "on": today, "post": post }).to_string())
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
        }
        Event::Concluded => {
            sqlx::query("UPDATE cases SET concluded_at = $1 WHERE id = $2")
                .bind(ctx.now_ms)
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            notify(ctx, row, format!("办件 {id} 已办结"), format!("Case {id} is concluded")).await?;
        }
        Event::Withdrawn { .. } | Event::Terminated { .. } | Event::Voided { .. } => {
            sqlx::query(
                "UPDATE case_tasks SET state = 'cancelled', done_at = $1 WHERE case_id = $2 AND state = 'open'",
            )
            .bind(ctx.now_ms)
            .bind(id)
            .execute(&mut *ctx.conn)
            .await?;
            sqlx::query("UPDATE case_suspensions SET to_on = $1 WHERE case_id = $2 AND to_on IS NULL")
                .bind(today.to_string())
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            if !matches!(ev, Event::Withdrawn { .. }) {
                notify(
                    ctx,
                    row,
                    format!("办件 {id}：{}", ev.zh()),
                    format!("Case {id}: {}", ev.en()),
                )
                .await?;
            }
        }
        Event::Submitted
        | Event::Claimed { .. }
        | Event::Assigned { .. }
        | Event::StepCompleted { .. }
        | Event::Returned { .. } => {}
    }
    Ok(())
}

/// Moves the due dates out by the suspensions (《行政许可法》第四十五条).
async fn recompute_due(ctx: &mut WriteCtx<'_>, row: &CaseRow, cal: &Calendar, today: NaiveDate) -> Result<()> {
    let Some(on) = row.accepted_on else { return Ok(()) };
    let susp = intervals(&suspensions_on(&mut *ctx.conn, &row.id).await?, today);
    let due = |l: &Option<TimeLimit>| {
        l.as_ref()
            .filter(|l| l.value > 0)
            .map(|l| core::due(cal, on, l, &susp).date.to_string())
    };
    sqlx::query("UPDATE cases SET due_on = $1, statutory_due_on = $2 WHERE id = $3")
        .bind(due(&row.promised_limit))
        .bind(due(&row.statutory_limit))
        .bind(&row.id)
        .execute(&mut *ctx.conn)
        .await?;
    Ok(())
}

/// On an approving decision with a licence result, the licence is issued in the same
/// transaction, its face filled from the application's form (同源: one data element).
async fn issue_result(
    ctx: &mut WriteCtx<'_>,
    row: &CaseRow,
    elements: Option<&yiwang_core::catalog::Elements>,
) -> Result<Option<String>> {
    let Some(spec) = elements.and_then(|e| e.result.as_ref()) else {
        return Ok(None);
    };
    let (ResultKind::Licence, Some(type_code)) = (spec.kind, spec.licence_type.as_ref()) else {
        return Ok(None);
    };
    let enc: String = sqlx::query_scalar("SELECT application_enc FROM cases WHERE id = $1")
        .bind(&row.id)
        .fetch_one(&mut *ctx.conn)
        .await?;
    let bytes = ctx
        .keys
        .pii
        .open_bytes(&format!("cases.application:{}", row.id), &enc)?;
    let sealed: Sealed = serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))?;
    let face: BTreeMap<String, String> = sealed
        .application
        .form
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            )
        })
        .collect();
    let t = licences::type_on(ctx.conn, type_code).await?;
    let face = match t {
        Some(t) => face
            .into_iter()
            .filter(|(k, _)| t.face.iter().any(|f| &f.element == k))
            .collect(),
        None => face,
    };
    let input = licences::IssueInput {
        type_code: type_code.clone(),
        department_id: row.department_id.clone(),
        holder_name: row.applicant_name.clone(),
        holder_code: sealed.applicant_code.clone(),
        face,
        valid_from: None,
        number: None,
        related_item: Some(row.item_code.clone()),
        case_id: Some(row.id.clone()),
    };
    let v = licences::issue(ctx, &input).await.map_err(|e| match e {
        // The licence's own problems, placed under `licence.` so the approver sees why.
        StoreError::Domain(d) => StoreError::Domain(DomainError {
            kind: d.kind,
            errors: d
                .errors
                .into_iter()
                .map(|f| {
                    let field = format!("licence.{}", f.field);
                    f.at(field)
                })
                .collect(),
        }),
        other => other,
    })?;
    let lid = v["id"].as_str().unwrap_or_default().to_string();
    sqlx::query("UPDATE cases SET licence_id = $1 WHERE id = $2")
        .bind(&lid)
        .bind(&row.id)
        .execute(&mut *ctx.conn)
        .await?;
    Ok(Some(lid))
}

async fn complete_task_cmd(
    ctx: &mut WriteCtx<'_>,
    task_id: &str,
    outcome: &str,
    false_commitment: bool,
) -> Result<Value> {
    let mut p = yiwang_core::error::Problems::new();
    p.text("outcome", outcome, 500);
    p.finish()?;
    let r = sqlx::query("SELECT case_id, kind, state FROM case_tasks WHERE id = $1")
        .bind(task_id)
        .fetch_optional(&mut *ctx.conn)
        .await?
        .ok_or_else(|| DomainError::not_found("task_id", "任务", "task", task_id))?;
    let case_id: String = r.try_get("case_id")?;
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    if state != "open" {
        return Err(DomainError::conflict(
            "task_id",
            "task.closed",
            "任务已完成".into(),
            "the task is already done".into(),
        )
        .into());
    }
    if false_commitment && kind != "commitment_check" {
        return Err(DomainError::invalid(vec![FieldError::new(
            "false_commitment",
            "task.kind",
            "只有告知承诺核查任务可以认定承诺不实",
            "only a commitment check can find a false commitment",
        )])
        .into());
    }
    ctx.append(
        &stream(&case_id),
        Expect::Exists,
        "case.task_completed",
        &json!({ "task_id": task_id, "kind": kind, "outcome": outcome.trim(), "false_commitment": false_commitment }),
    )
    .await?;
    sqlx::query("UPDATE case_tasks SET state = 'done', outcome = $1, done_at = $2 WHERE id = $3")
        .bind(outcome.trim())
        .bind(ctx.now_ms)
        .bind(task_id)
        .execute(&mut *ctx.conn)
        .await?;
    let row = row_on(ctx.conn, &case_id).await?;
    if kind == "tolerance_due" && !row.outstanding.is_empty() && !row.state.is_final() {
        // Overdue materials to follow: a termination task for the deciding officer
        // (STANDARDS §3: 终止 / 不予许可 and a credit record [M]).
        add_task(ctx, &row, "terminate_review", &date_of(ctx.now_ms).to_string()).await?;
    }
    if false_commitment {
        // 国办发〔2020〕42号: a false commitment → revocation and a credit record.
        if let Some(lid) = &row.licence_id {
            let s = licences::summary_on(ctx.conn, lid).await?;
            if !s.status.is_final() {
                ctx.append(
                    &format!("licence:{lid}"),
                    Expect::Exists,
                    "licence.status_changed",
                    &json!({ "from": s.status, "to": yiwang_core::licences::Status::Revoked,
                             "reason": "告知承诺核查不实，撤销许可" }),
                )
                .await?;
                sqlx::query("UPDATE licences SET status = 'revoked', updated_at = $1 WHERE id = $2")
                    .bind(ctx.now_ms)
                    .bind(lid)
                    .execute(&mut *ctx.conn)
                    .await?;
                licences::history(
                    ctx,
                    lid,
                    "status",
                    Some(yiwang_core::licences::Status::Revoked),
                    "告知承诺核查不实，撤销许可",
                    None,
                )
                .await?;
            }
        }
        sqlx::query(
            "INSERT INTO credit_records (id, subject, serious, reason, case_id, created_at) VALUES ($1, $2, 1, $3, $4, $5)",
        )
        .bind(new_id())
        .bind(&row.applicant)
        .bind(format!("告知承诺不实（办件 {case_id}）"))
        .bind(&case_id)
        .bind(ctx.now_ms)
        .execute(&mut *ctx.conn)
        .await?;
        sqlx::query("UPDATE cases SET decision = 'revoked', updated_at = $1 WHERE id = $2")
            .bind(ctx.now_ms)
            .bind(&case_id)
            .execute(&mut *ctx.conn)
            .await?;
        notify(
            ctx,
            &row,
            format!("办件 {case_id}：告知承诺经核查不实，许可已撤销并记入信用记录"),
            format!("Case {case_id}: the commitment was found false; the decision is revoked and a credit record made"),
        )
        .await?;
    }
    Ok(json!({ "task_id": task_id, "case_id": case_id, "done": true }))
}

async fn timeline_add(ctx: &mut WriteCtx<'_>, row: &CaseRow, ev: &Event, party: Party) -> Result<()> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_timeline WHERE case_id = $1")
        .bind(&row.id)
        .fetch_one(&mut *ctx.conn)
        .await?;
    let body = serde_json::to_value(ev).expect("serialisable");
    timeline_insert(ctx, &row.id, n + 1, ev.name(), &body, party).await
}

async fn timeline_insert(
    ctx: &mut WriteCtx<'_>,
    case_id: &str,
    n: i64,
    event: &str,
    body: &Value,
    party: Party,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO case_timeline (case_id, n, event, body, party, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(case_id)
    .bind(n)
    .bind(event)
    .bind(body.to_string())
    .bind(party.as_str())
    .bind(&ctx.actor)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

async fn add_task(ctx: &mut WriteCtx<'_>, row: &CaseRow, kind: &str, due_on: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO case_tasks (id, case_id, department_id, kind, due_on, state, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6)",
    )
    .bind(new_id())
    .bind(&row.id)
    .bind(&row.department_id)
    .bind(kind)
    .bind(due_on)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

async fn notify(ctx: &mut WriteCtx<'_>, row: &CaseRow, zh: String, en: String) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (id, recipient, case_id, text_zh, text_en, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(&row.applicant)
    .bind(&row.id)
    .bind(zh)
    .bind(en)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// A written notice, signed with the department's active seal (《行政许可法》第三十二条:
/// notices are sealed and dated). A department without a seal gets an unsigned notice
/// that says so.
async fn add_notice(ctx: &mut WriteCtx<'_>, row: &CaseRow, kind: NoticeKind, extra: Value) -> Result<()> {
    let dept = crate::orgs::department(&mut *ctx.conn, &row.department_id).await?;
    let mut body = json!({ "case_id": row.id, "item_code": row.item_code, "item_name": row.item_name,
        "applicant_name": row.applicant_name, "department": dept.as_ref().map(|d| d.name.clone()),
        "title": kind.zh(), "title_en": kind.en() });
    if let (Value::Object(b), Value::Object(x)) = (&mut body, extra) {
        b.extend(x);
    }
    let seal = seals::signing_seal(ctx.conn, &row.department_id).await?;
    let today = date_of(ctx.now_ms);
    let seal = seal.filter(|s| yiwang_core::seals::may_sign(s, today).is_ok());
    let mut n = Notice {
        id: new_id(),
        case_id: row.id.clone(),
        kind,
        body,
        seal_id: seal.as_ref().map(|s| s.id.clone()),
        key_id: seal.as_ref().map(|s| s.key_id.clone()),
        signature: None,
        created_at: ctx.now_ms,
    };
    if let Some(s) = &seal {
        let signer = ctx.keys.signer(ctx.conn, &s.key_id).await?;
        n.signature = Some(hex::encode(signer.sign(&notice_bytes(&n))));
    }
    sqlx::query(
        "INSERT INTO case_notices (id, case_id, kind, body, seal_id, key_id, signature, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&n.id)
    .bind(&n.case_id)
    .bind(kind.as_str())
    .bind(n.body.to_string())
    .bind(&n.seal_id)
    .bind(&n.key_id)
    .bind(&n.signature)
    .bind(n.created_at)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// Refusal for a caller that is not a party to the case.
pub fn not_party() -> StoreError {
    DomainError::one(
        ErrorKind::NotFound,
        FieldError::new("case_id", "exists", "办件不存在", "no such case of yours"),
    )
    .into()
}

// ---------------------------------------------------------------------------------------
// National aggregation (STANDARDS §2)
// ---------------------------------------------------------------------------------------

/// One case as the national platform aggregates it: acceptance, process rows, special
/// procedures, result and materials (STANDARDS §2 "Data aggregated nationally per case").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NationalRecord {
    pub acceptance: Value,
    pub process: Vec<Value>,
    pub special_procedures: Vec<Value>,
    pub result: Option<Value>,
    pub materials: Vec<Value>,
}

/// The national records of the cases received in [from, to] (dates in the case's region).
/// The applicant's identifier is included: the national platform is an authorised
/// recipient of case data.
pub async fn national(store: &Store, from: NaiveDate, to: NaiveDate) -> Result<Vec<NationalRecord>> {
    let sql = format!(
        "SELECT {COLS} FROM cases WHERE received_on >= $1 AND received_on <= $2 AND state <> 'draft' ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&store.read)
        .await?;
    let mut out = vec![];
    for r in rows {
        let c = to_row(&r)?;
        let (app, code) = application(store, &c.id)
            .await?
            .ok_or_else(|| sql_err("case without application"))?;
        let version = crate::catalog::version_of(store, &c.entry_id, c.item_version).await?;
        let elements = version.map(|v| v.elements);
        let timeline = timeline(store, &c.id).await?;
        let (agent, principal) = match c.submitted_by.split_once('>') {
            Some((a, p)) => (Some(a.to_string()), p.to_string()),
            None => (None, c.submitted_by.clone()),
        };
        let submitted_at = timeline.first().map(|t| t.at_ms).unwrap_or(c.created_at);
        let accepted_at = timeline.iter().find(|t| t.event == "accepted").map(|t| t.at_ms);
        let acceptance = json!({
            "case_number": c.id, "item_code": c.item_code, "basic_code": c.item_code.get(19..31),
            "item_version": c.item_version, "item_name": c.item_name,
            "applicant_name": c.applicant_name, "applicant_code": code,
            "applicant_kind": c.subject().map(|s| match s { Subject::Person(_) => "person", Subject::Legal(_) => "legal" }),
            "submitted_by": principal, "agent": agent, "assisted": c.assisted, "channel": c.channel,
            "department_id": c.department_id, "region_code": c.region_code,
            "apply_time_ms": submitted_at, "accept_time_ms": accepted_at, "accepted_on": c.accepted_on,
            "promised_completion_on": c.due_on, "statutory_completion_on": c.statutory_due_on,
            "route": c.route,
        });
        let mut process = vec![];
        let mut start = submitted_at;
        for t in &timeline {
            let Some(action) = core::national_action_code(&t.event) else {
                continue;
            };
            let opinion = t
                .body
                .get("opinion")
                .or_else(|| t.body.get("reason"))
                .or_else(|| t.body.get("result"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            process.push(
                json!({ "case_number": c.id, "step_name": t.zh, "action_code": action, "event": t.event,
                "start_ms": start, "end_ms": t.at_ms, "opinion": opinion, "handler": t.actor, "party": t.party }),
            );
            start = t.at_ms;
        }
        let special_procedures = suspensions(store, &c.id)
            .await?
            .into_iter()
            .map(|s| {
                json!({ "case_number": c.id, "kind": s.kind,
                "kind_code": yiwang_core::catalog::SpecialKind::parse(&s.kind).map(|k| k.code()), "reason": s.reason,
                "start_on": s.from_on, "end_on": s.to_on, "result": s.result })
            })
            .collect();
        let result = c.concluded_at.or(c.decided_at).map(|_| {
            let licence_type = elements
                .as_ref()
                .and_then(|e| e.result.as_ref())
                .map(|r| r.name.clone());
            json!({ "case_number": c.id, "completion_time_ms": c.concluded_at, "decided_time_ms": c.decided_at,
                "decision": c.decision, "state": c.state,
                "result_kind": elements.as_ref().and_then(|e| e.result.as_ref()).map(|r| r.kind.code()),
                "licence_name": licence_type, "licence_id": c.licence_id,
                "delivered_by_post": c.delivery.as_ref().map(|d| d["method"] == "post"),
                "satisfaction": Value::Null })
        });
        let materials = elements
            .as_ref()
            .map(|e| {
                e.materials
                    .iter()
                    .filter_map(|m| {
                        let p = app.materials.get(&m.key);
                        let outstanding = c.outstanding.contains(&m.key);
                        (p.is_some() || outstanding).then(|| {
                            json!({ "case_number": c.id, "name": m.name, "key": m.key,
                                "how_received": if outstanding { "tolerated" } else { p.map(|p| p.kind.as_str()).unwrap_or("") },
                                "count": p.map(|p| p.files.len().max(1)).unwrap_or(0) })
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(NationalRecord {
            acceptance,
            process,
            special_procedures,
            result,
            materials,
        });
    }
    Ok(out)
}
