//! The writer's command dispatcher and shared write helpers.

use super::*;
use crate::deferred::{Arg, Table};

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
            elements,
            licence,
            notices,
        } => {
            let today = date_of(ctx.now_ms);
            let how = Acting {
                cal: calendar,
                policy,
                replace: replace.as_deref(),
                elements: elements.as_deref(),
                ready: Ready {
                    licence: licence.as_deref(),
                    notices,
                },
            };
            act_cmd(ctx, case_id, *party, action, &how, today).await
        }
        Cmd::CompleteTask {
            task_id,
            outcome,
            false_commitment,
        } => complete_task_cmd(ctx, task_id, outcome, *false_commitment).await,
    }
}

/// Adds the timeline entry of the event just appended to the case's stream: its number is
/// that event's version in the ledger (so an entry names the event it records; versions
/// without an entry, such as a replaced application, leave a gap), known from the batch
/// without a read.
impl Cmd {
    /// The case stream a submission opens (numbered before the writer).
    pub(crate) fn new_streams(&self) -> Vec<String> {
        match self {
            Cmd::Submit(s) => s.prepared.iter().map(|p| stream(&p.row.id)).collect(),
            _ => vec![],
        }
    }
}

pub(super) async fn timeline_add(ctx: &mut WriteCtx<'_>, row: &CaseRow, ev: &Event, party: Party) -> Result<()> {
    let n = ctx
        .batch
        .heads
        .get(&stream(&row.id))
        .map(|(version, _)| *version)
        .ok_or_else(|| StoreError::Internal(format!("a timeline entry of case {} before its event", row.id)))?;
    let body = serde_json::to_value(ev).expect("serialisable");
    timeline_insert(ctx, &row.id, n, ev.name(), &body, party);
    Ok(())
}

/// Adds a timeline entry (inserted at the end of the batch, `deferred`).
pub(super) fn timeline_insert(ctx: &mut WriteCtx<'_>, case_id: &str, n: i64, event: &str, body: &Value, party: Party) {
    let row = vec![
        Arg::Text(case_id.to_string()),
        Arg::Int(n),
        Arg::Text(event.to_string()),
        Arg::Text(body.to_string()),
        Arg::Text(party.as_str().to_string()),
        Arg::Text(ctx.actor.clone()),
        Arg::Int(ctx.now_ms),
    ];
    ctx.batch.deferred.push(Table::Timeline, row);
}

pub(super) async fn add_task(ctx: &mut WriteCtx<'_>, row: &CaseRow, kind: core::TaskKind, due_on: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO case_tasks (id, case_id, department_id, kind, due_on, state, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6)",
    )
    .bind(new_id())
    .bind(&row.id)
    .bind(&row.department_id)
    .bind(kind.as_str())
    .bind(due_on)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

/// A notification to the applicant (inserted at the end of the batch, `deferred`).
pub(super) fn notify(ctx: &mut WriteCtx<'_>, row: &CaseRow, zh: String, en: String) {
    notify_to(ctx, &row.applicant, &row.id, zh, en);
}

/// A notification to a recipient (`person:…` or `legal:…`) about a case or a bundle case.
pub(crate) fn notify_to(ctx: &mut WriteCtx<'_>, recipient: &str, case_id: &str, zh: String, en: String) {
    let n = vec![
        Arg::Text(new_id()),
        Arg::Text(recipient.to_string()),
        Arg::OptText(Some(case_id.to_string())),
        Arg::Text(zh),
        Arg::Text(en),
        Arg::Int(ctx.now_ms),
    ];
    ctx.batch.deferred.push(Table::Notifications, n);
}

/// Refusal for a caller that is not a party to the case.
pub fn not_party() -> StoreError {
    DomainError::one(
        ErrorKind::NotFound,
        FieldError::new("case_id", "exists", "办件不存在", "no such case of yours"),
    )
    .into()
}
