//! Acting on a case: staff and applicant actions, drafts, tasks, the clock tick, and their writer commands.

use super::*;

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
    let held = holdings(store, &subject, &licences_offered(&app)).await?;
    let pre = precheck(store, &svc, &held, &app, &*dictionary(store).await?, &files_of).await?;
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

pub(super) async fn act_with(
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
    let elements = crate::refdata::versions(store, &row.item_code)
        .await?
        .list
        .iter()
        .find(|s| s.entry_id == row.entry_id && s.version == row.item_version)
        .map(|s| Arc::new(s.elements.clone()));
    let (licence, notices) =
        prepare_action(store, &row, party, &action, &meta.actor, &calendar, elements.as_deref()).await?;
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
                elements,
                licence,
                notices,
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
        let c = read::<CaseRow, _>(&r)?;
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

/// What an action will most likely do, made ready on the caller's task (DESIGN "The write
/// path": signatures before the writer): the state machine is run on the case as read now,
/// and for what it decides the approval's licence is numbered and signed, and the
/// acceptance or decision notice numbered and signed. The writer decides again on the case
/// as it then is and uses what matches (a number drawn for what it did not use is a gap,
/// like a voided document's).
async fn prepare_action(
    store: &Store,
    row: &CaseRow,
    party: Party,
    action: &Action,
    actor: &str,
    cal: &Calendar,
    elements: Option<&yiwang_core::catalog::Elements>,
) -> Result<(Option<Box<licences::PreparedLicence>>, Vec<PreparedNotice>)> {
    let now = crate::now_ms();
    let today = date_of(now);
    let Ok(events) = core::decide(
        &row.core(),
        party,
        action,
        facts(row, cal, &store.config.cases, today, actor),
    ) else {
        return Ok((None, vec![]));
    };
    let mut licence = None;
    let mut notices = vec![];
    let dept = crate::refdata::department(store, &row.department_id).await?;
    let dept_name = dept.as_ref().map(|d| d.name.as_str());
    for ev in &events {
        let (kind, extra) = match ev {
            Event::Accepted { deemed } => {
                let a = acceptance(row, cal, today, *deemed, elements);
                (a.kind, a.body)
            }
            Event::Decided { approve, reason } => {
                if *approve {
                    licence = prepare_licence(store, row, elements).await?.map(Box::new);
                    // The notice names the licence: only when it is known now.
                    if licence.is_none() && licence_type_of(elements).is_some() {
                        continue;
                    }
                }
                decision(*approve, reason, today, licence.as_ref().map(|l| l.id()))
            }
            _ => continue,
        };
        let notice = prepare_notice(store, &row.into(), dept_name, kind, extra.clone(), now).await?;
        notices.push(PreparedNotice { kind, extra, notice });
    }
    Ok((licence, notices))
}

/// What the state machine is told about a case besides its state.
fn facts(row: &CaseRow, cal: &Calendar, policy: &core::CasePolicy, today: NaiveDate, actor: &str) -> Facts {
    Facts {
        working_days_since_receipt: cal.working_days_between(row.received_on, today),
        correction_window_days: policy.correction_window_days,
        handled_by_other: row.handler.as_ref().is_some_and(|h| h != actor),
    }
}

/// What an action is taken with, besides the case and the party.
pub(super) struct Acting<'a> {
    pub cal: &'a Calendar,
    pub policy: &'a core::CasePolicy,
    /// The corrected or completed application, already pre-checked.
    pub replace: Option<&'a (Application, core::Prechecked)>,
    /// The elements of the item version the case was filed under, when the caller has
    /// them (`None`: read here).
    pub elements: Option<&'a yiwang_core::catalog::Elements>,
    /// What the caller prepared: an approval's licence, the notices expected.
    pub ready: Ready<'a>,
}

pub(super) async fn act_cmd(
    ctx: &mut WriteCtx<'_>,
    case_id: &str,
    party: Party,
    action: &Action,
    how: &Acting<'_>,
    today: NaiveDate,
) -> Result<Value> {
    let (cal, policy, replace) = (how.cal, how.policy, how.replace);
    let row = row_on(ctx.conn, case_id).await?;
    let facts = facts(&row, cal, policy, today, &ctx.actor);
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
    let elements = match how.elements {
        Some(e) => Some(std::borrow::Cow::Borrowed(e)),
        None => crate::catalog::version(&mut *ctx.conn, &row.entry_id, row.item_version)
            .await?
            .map(|v| std::borrow::Cow::Owned(v.elements)),
    };
    let mut handler = row.handler.clone();
    if let Some((app, pre)) = replace {
        replace_application(ctx, &row, app, pre).await?;
    }
    let mut current = row.clone();
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
        // The row as just updated (the columns above), without reading it back.
        current.state = c.state;
        current.step = c.step as i64;
        current.handler = handler.clone();
        current.outstanding = c.outstanding.iter().cloned().collect();
        current.updated_at = ctx.now_ms;
        timeline_add(ctx, &current, ev, party).await?;
        // Effects set other columns (dates, decision, licence) on `current` as they store
        // them: the next event sees them.
        effects(ctx, &mut current, ev, cal, today, elements.as_deref(), &how.ready).await?;
    }
    // The row kept in memory is the row stored: checked in debug builds (every test).
    #[cfg(debug_assertions)]
    {
        let stored = row_on(ctx.conn, case_id).await?;
        debug_assert_eq!(
            stored, current,
            "case {case_id}: the row kept in memory is not the row stored"
        );
    }
    let row = current;
    Ok(
        json!({ "id": case_id, "state": row.state, "step": row.step, "events": events.iter().map(|e| e.name()).collect::<Vec<_>>(),
               "due_on": row.due_on, "licence_id": row.licence_id }),
    )
}

/// Stores a corrected or completed application (its digest goes into the ledger with
/// the event that follows in the same command).
pub(super) async fn replace_application(
    ctx: &mut WriteCtx<'_>,
    row: &CaseRow,
    app: &Application,
    pre: &core::Prechecked,
) -> Result<()> {
    let mut sealed = sealed_on(ctx, &row.id).await?;
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
    sqlx::query("UPDATE case_applications SET application_enc = $1, application_sm3 = $2 WHERE case_id = $3")
        .bind(&enc)
        .bind(&digest)
        .bind(&row.id)
        .execute(&mut *ctx.conn)
        .await?;
    if row.state == State::Correcting {
        sqlx::query("UPDATE cases SET outstanding = $1 WHERE id = $2")
            .bind(serde_json::to_string(&outstanding).expect("serialisable"))
            .bind(&row.id)
            .execute(&mut *ctx.conn)
            .await?;
    }
    Ok(())
}

pub(super) async fn complete_task_cmd(
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
    if false_commitment && kind != core::TaskKind::CommitmentCheck.as_str() {
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
    if kind == core::TaskKind::ToleranceDue.as_str() && !row.outstanding.is_empty() && !row.state.is_final() {
        // Overdue materials to follow: a termination task for the deciding officer
        // (STANDARDS §3: 终止 / 不予许可 and a credit record [M]).
        add_task(
            ctx,
            &row,
            core::TaskKind::TerminateReview,
            &date_of(ctx.now_ms).to_string(),
        )
        .await?;
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
        );
    }
    Ok(json!({ "task_id": task_id, "case_id": case_id, "done": true }))
}
