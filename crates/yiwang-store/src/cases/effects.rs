//! The effects of a decision: clocks recomputed, results issued.

use super::*;

/// What an event does besides moving the state: dates, suspensions, notices, tasks,
/// licences, notifications.
/// What an event does beyond the case's state: the columns it sets (also set on `row`, so
/// that the writer keeps the row as stored without reading it back), the notices, tasks,
/// suspensions, licence and notifications.
pub(super) async fn effects(
    ctx: &mut WriteCtx<'_>,
    row: &mut CaseRow,
    ev: &Event,
    cal: &Calendar,
    today: NaiveDate,
    elements: Option<&yiwang_core::catalog::Elements>,
    ready: &Ready<'_>,
) -> Result<()> {
    let id = row.id.as_str();
    // 好差评 (国办发〔2019〕51号 一事一评): a case that ends as served awaits its rating.
    if matches!(ev, Event::Concluded | Event::Refused { .. } | Event::Terminated { .. }) {
        crate::ratings::await_rating(ctx, id, today);
    }
    match ev {
        Event::Corrected => {
            // A corrected application is received anew: the 5 working days of
            // 《行政许可法》第三十二条 start again.
            sqlx::query("UPDATE cases SET received_on = $1 WHERE id = $2")
                .bind(today.to_string())
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            row.received_on = today;
        }
        Event::Accepted { deemed } => {
            let a = acceptance(row, cal, today, *deemed, elements);
            sqlx::query("UPDATE cases SET accepted_on = $1, due_on = $2, statutory_due_on = $3 WHERE id = $4")
                .bind(a.on.to_string())
                .bind(a.due_on.map(|d| d.to_string()))
                .bind(a.statutory_due_on.map(|d| d.to_string()))
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            row.accepted_on = Some(a.on);
            row.due_on = a.due_on;
            row.statutory_due_on = a.statutory_due_on;
            if let Some(due_on) = a.tolerance_due {
                add_task(ctx, row, core::TaskKind::ToleranceDue, &due_on.to_string()).await?;
            }
            add_notice(ctx, row, a.kind, a.body, ready).await?;
            notify(ctx, row, format!("办件 {id} 已受理"), format!("Case {id} was accepted"));
        }
        Event::Refused { reason, basis } => {
            add_notice(
                ctx,
                row,
                NoticeKind::NonAcceptance,
                json!({ "reason": reason, "basis": basis,
                "remedy": "如不服本决定，可依法申请行政复议或者提起行政诉讼" }),
                ready,
            )
            .await?;
            notify(
                ctx,
                row,
                format!("办件 {id} 不予受理：{reason}"),
                format!("Case {id} was not accepted: {reason}"),
            );
        }
        Event::CorrectionRequested { items } => {
            add_notice(ctx, row, NoticeKind::Correction, json!({ "items": items }), ready).await?;
            notify(
                ctx,
                row,
                format!("办件 {id} 需要补正 {} 项，请一次补齐", items.len()),
                format!("Case {id}: {} corrections are needed", items.len()),
            );
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
                ready,
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
            );
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
            let mut licence_id = None;
            if *approve {
                licence_id = issue_result(ctx, row, elements, ready.licence).await?;
                // 告知承诺: the 核查 follows within the item's set period (国办发〔2020〕42号).
                if row.route == core::Route::Commitment.as_str()
                    && let Some(cm) = elements.and_then(|e| e.commitment.as_ref())
                {
                    let due = core::due(cal, today, &TimeLimit::working_days(cm.check_days.max(1)), &[]);
                    add_task(ctx, row, core::TaskKind::CommitmentCheck, &due.date.to_string()).await?;
                }
            }
            // The decision and its licence (where one was issued) in one statement.
            let decision_text = if *approve { "approve" } else { "deny" };
            sqlx::query(
                "UPDATE cases SET decision = $1, decided_at = $2, licence_id = COALESCE($3, licence_id) WHERE id = $4",
            )
            .bind(decision_text)
            .bind(ctx.now_ms)
            .bind(&licence_id)
            .bind(id)
            .execute(&mut *ctx.conn)
            .await?;
            row.decision = Some(decision_text.to_string());
            row.decided_at = Some(ctx.now_ms);
            if licence_id.is_some() {
                row.licence_id = licence_id.clone();
            }
            let (kind, body) = decision(*approve, reason, today, licence_id.as_deref());
            add_notice(ctx, row, kind, body, ready).await?;
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
            );
        }
        Event::Delivered { method, post } => {
            let delivery = json!({ "method": method, "on": today, "post": post });
            sqlx::query("UPDATE cases SET delivery = $1 WHERE id = $2")
                .bind(delivery.to_string())
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            row.delivery = Some(delivery);
        }
        Event::Concluded => {
            sqlx::query("UPDATE cases SET concluded_at = $1 WHERE id = $2")
                .bind(ctx.now_ms)
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            row.concluded_at = Some(ctx.now_ms);
            notify(ctx, row, format!("办件 {id} 已办结"), format!("Case {id} is concluded"));
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
                );
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
pub(super) async fn recompute_due(
    ctx: &mut WriteCtx<'_>,
    row: &mut CaseRow,
    cal: &Calendar,
    today: NaiveDate,
) -> Result<()> {
    let Some(on) = row.accepted_on else { return Ok(()) };
    let susp = intervals(&suspensions_on(&mut *ctx.conn, &row.id).await?, today);
    let due = |l: &Option<TimeLimit>| {
        l.as_ref()
            .filter(|l| l.value > 0)
            .map(|l| core::due(cal, on, l, &susp).date)
    };
    let (due_on, statutory_due_on) = (due(&row.promised_limit), due(&row.statutory_limit));
    sqlx::query("UPDATE cases SET due_on = $1, statutory_due_on = $2 WHERE id = $3")
        .bind(due_on.map(|d| d.to_string()))
        .bind(statutory_due_on.map(|d| d.to_string()))
        .bind(&row.id)
        .execute(&mut *ctx.conn)
        .await?;
    row.due_on = due_on;
    row.statutory_due_on = statutory_due_on;
    Ok(())
}

/// What an acceptance sets and says: its date (a deemed one counts from receipt,
/// 《行政许可法》第三十二条), the due dates, and the notice (受理 or 容缺受理通知书).
pub(super) struct Acceptance {
    pub on: NaiveDate,
    pub due_on: Option<NaiveDate>,
    pub statutory_due_on: Option<NaiveDate>,
    /// When the materials accepted as missing are due (a 容缺 acceptance).
    pub tolerance_due: Option<NaiveDate>,
    pub kind: NoticeKind,
    pub body: Value,
}

pub(super) fn acceptance(
    row: &CaseRow,
    cal: &Calendar,
    today: NaiveDate,
    deemed: bool,
    elements: Option<&yiwang_core::catalog::Elements>,
) -> Acceptance {
    // Deemed acceptance counts from receipt (《行政许可法》第三十二条).
    let on = if deemed { row.received_on } else { today };
    let due = |l: &Option<TimeLimit>| {
        l.as_ref()
            .filter(|l| l.value > 0)
            .map(|l| core::due(cal, on, l, &[]).date)
    };
    let (due_on, statutory_due_on) = (due(&row.promised_limit), due(&row.statutory_limit));
    let mut body = json!({ "accepted_on": on, "deemed": deemed, "due_on": due_on,
                           "statutory_due_on": statutory_due_on });
    let mut tolerance_due = None;
    if !row.outstanding.is_empty() {
        // 容缺受理通知书: each missing material and its deadline (≤ the promised limit,
        // STANDARDS §3).
        let names: Vec<Value> = row
            .outstanding
            .iter()
            .map(|k| {
                let name = elements
                    .and_then(|e| e.materials.iter().find(|m| &m.key == k))
                    .map(|m| m.name.clone())
                    .unwrap_or_else(|| k.clone());
                json!({ "key": k, "name": name, "due_on": due_on })
            })
            .collect();
        body["missing"] = Value::Array(names);
        tolerance_due = Some(due_on.unwrap_or_else(|| core::due(cal, on, &TimeLimit::working_days(20), &[]).date));
    }
    Acceptance {
        on,
        kind: if tolerance_due.is_some() {
            NoticeKind::Tolerance
        } else {
            NoticeKind::Acceptance
        },
        due_on,
        statutory_due_on,
        tolerance_due,
        body,
    }
}

/// The decision's notice (准予 or 不予许可决定书), naming the licence issued.
pub(super) fn decision(approve: bool, reason: &str, today: NaiveDate, licence_id: Option<&str>) -> (NoticeKind, Value) {
    let mut body = json!({ "approve": approve, "reason": reason, "decided_on": today });
    if let Some(lid) = licence_id {
        body["licence_id"] = json!(lid);
    }
    if approve {
        (NoticeKind::Approval, body)
    } else {
        body["remedy"] = json!("如不服本决定，可依法申请行政复议或者提起行政诉讼");
        (NoticeKind::Denial, body)
    }
}

/// The licence type an approval issues, if the item's result is a licence.
pub(super) fn licence_type_of(elements: Option<&yiwang_core::catalog::Elements>) -> Option<String> {
    elements
        .and_then(|e| e.result.as_ref())
        .filter(|r| r.kind == ResultKind::Licence)
        .and_then(|r| r.licence_type.clone())
}

/// The case's sealed application, read and opened through the writer's connection.
pub(super) async fn sealed_on(ctx: &mut WriteCtx<'_>, id: &str) -> Result<Sealed> {
    let enc: String = sqlx::query_scalar("SELECT application_enc FROM case_applications WHERE case_id = $1")
        .bind(id)
        .fetch_one(&mut *ctx.conn)
        .await?;
    let bytes = ctx.keys.pii.open_bytes(&format!("cases.application:{id}"), &enc)?;
    serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))
}

/// The licence an approval of this case issues, if its item's result is one: its face
/// filled from the application's form (同源: one data element), only the fields of the
/// type's face.
pub(super) fn licence_input(
    row: &CaseRow,
    elements: Option<&yiwang_core::catalog::Elements>,
    application: &Application,
    applicant_code: &str,
    t: Option<&yiwang_core::licences::LicenceType>,
) -> Option<licences::IssueInput> {
    let spec = elements.and_then(|e| e.result.as_ref())?;
    let (ResultKind::Licence, Some(type_code)) = (spec.kind, spec.licence_type.as_ref()) else {
        return None;
    };
    let face = application
        .form
        .iter()
        .filter(|(k, _)| t.is_none_or(|t| t.face.iter().any(|f| &f.element == *k)))
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
    Some(licences::IssueInput {
        type_code: type_code.clone(),
        department_id: row.department_id.clone(),
        holder_name: row.applicant_name.clone(),
        holder_code: applicant_code.to_string(),
        face,
        valid_from: None,
        number: None,
        related_item: Some(row.item_code.clone()),
        case_id: Some(row.id.clone()),
    })
}

/// The licence an approval of this case would issue, prepared (numbered and signed) on
/// the caller's task; `None` when the item issues none or it cannot be prepared (the
/// writer then issues it, or refuses the approval saying why).
pub(super) async fn prepare_licence(
    store: &Store,
    row: &CaseRow,
    elements: Option<&yiwang_core::catalog::Elements>,
) -> Result<Option<licences::PreparedLicence>> {
    let Some(type_code) = licence_type_of(elements) else {
        return Ok(None);
    };
    let Some((app, code)) = application(store, &row.id).await? else {
        return Ok(None);
    };
    let Some(t) = licences::licence_type(store, &type_code).await? else {
        return Ok(None);
    };
    let Some(input) = licence_input(row, elements, &app, &code, Some(&t)) else {
        return Ok(None);
    };
    match licences::prepare_typed(store, t, &input, crate::now_ms()).await {
        Ok(p) => Ok(Some(p)),
        Err(StoreError::Domain(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// On an approving decision with a licence result, the licence is issued in the same
/// transaction: the one prepared for this case if there is one, else made here.
pub(super) async fn issue_result(
    ctx: &mut WriteCtx<'_>,
    row: &CaseRow,
    elements: Option<&yiwang_core::catalog::Elements>,
    prepared: Option<&licences::PreparedLicence>,
) -> Result<Option<String>> {
    let v = match prepared.filter(|p| p.input.case_id.as_deref() == Some(row.id.as_str())) {
        Some(p) => licences::store_prepared(ctx, p).await,
        None => {
            let Some(type_code) = licence_type_of(elements) else {
                return Ok(None);
            };
            let sealed = sealed_on(ctx, &row.id).await?;
            let t = licences::type_on(ctx.conn, &type_code).await?;
            let Some(input) = licence_input(row, elements, &sealed.application, &sealed.applicant_code, t.as_ref())
            else {
                return Ok(None);
            };
            licences::issue(ctx, &input).await
        }
    };
    let v = v.map_err(|e| match e {
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
    Ok(Some(v["id"].as_str().unwrap_or_default().to_string()))
}
