//! Steps on a ticket: what each changes, the limits (from the working-day calendar), and
//! 督办 of late units, escalating to their superior.

use super::*;

pub(super) fn not_found(id: &str) -> StoreError {
    DomainError::not_found("ticket_id", "工单", "ticket", id).into()
}

fn invalid(field: &str, rule: &str, zh: &str, en: &str) -> StoreError {
    DomainError::one(ErrorKind::Invalid, FieldError::new(field, rule, zh, en)).into()
}

fn step_for(t: &Ticket, to: State, entry: Value) -> StepCmd {
    StepCmd {
        id: t.id.clone(),
        from: t.state,
        to,
        entry,
        department_id: None,
        assisting: None,
        due_at: None,
        dispute_until: None,
        unresolved: None,
        reply: None,
        merged_into: None,
        extension: None,
        supervised_level: None,
        superior: None,
        article_id: None,
        gap_due: None,
        windows: (0, 0),
    }
}

/// The end of a day (epoch ms), in which a limit that falls on it ends.
fn end_of(d: NaiveDate) -> i64 {
    crate::day_start_ms(d + chrono::Days::new(1)) - 1
}

/// A step on a ticket by `party` (the server has checked that the caller is the centre, the
/// ticket's main unit or one of its assisting units). Dispatch checks the units (they
/// exist; the grassroots rule) and sets the handling limit: the category's working days
/// from today, or `urgent_hours`; a consultation dispatched opens a gap in the knowledge
/// base for its unit. A direct answer may cite an article in force; a merge names an open
/// ticket; an extension is within `extension_max_days` and moves the limit by working days.
pub async fn act(store: &Store, meta: Meta, id: &str, party: Party, action: Action) -> Result<Written> {
    let t = ticket(store, id).await?.ok_or_else(|| not_found(id))?;
    let now = crate::now_ms();
    let facts = Facts {
        state: t.state,
        category: t.category,
        unresolved: t.unresolved,
        may_dispute: t.dispute_until.is_some_and(|u| now <= u),
        extension_pending: t.extension_days.is_some(),
    };
    let to = core::decide(facts, party, &action)?;
    let mut entry = serde_json::to_value(&action).map_err(internal)?;
    entry["at"] = json!(now);
    entry["by"] = json!(meta.actor);
    entry["party"] = json!(party);
    let mut step = step_for(&t, to, entry);
    let policy = store.config.hotline;
    step.windows = (
        i64::from(policy.media_within_min) * 60_000,
        i64::from(policy.mailbox_within_hours) * 3_600_000,
    );
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
                    return Err(invalid(&field, "department.unknown", "单位不存在", "no such unit"));
                };
                if i > 0 && d == department_id {
                    return Err(invalid(
                        &field,
                        "hotline.assisting_main",
                        "主办单位不能同时是协办单位",
                        "the main unit is not also an assisting one",
                    ));
                }
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
            if t.category == Category::Consult {
                // 实时更新: what the base could not answer, the unit adds to it.
                let cal = crate::calendar::calendar_for(store, Some(&t.region_code)).await?;
                step.gap_due = Some(end_of(
                    cal.add_working_days(crate::date_of(now), policy.kb_update_days).date,
                ));
            }
        }
        Action::Reopen { .. } => {
            // 重办: a new limit from today, with the same unit.
            let (due, dispute) = limits(store, &t, now).await?;
            step.due_at = Some(due);
            step.dispute_until = Some(dispute);
            step.unresolved = Some(false);
        }
        Action::Reply { reply } => step.reply = Some(reply.trim().to_string()),
        Action::Answer { answer, article_id } => {
            step.reply = Some(answer.trim().to_string());
            if let Some(a) = article_id.as_deref().filter(|a| !a.is_empty()) {
                let today = crate::date_of(now);
                let Some(v) = published_article(store, a).await?.filter(|v| v.in_force(today)) else {
                    return Err(invalid(
                        "article_id",
                        "hotline.article_not_in_force",
                        "所引知识不存在、未发布或不在有效期内",
                        "the article cited is unknown, unpublished or not in force",
                    ));
                };
                step.entry["article_title"] = json!(v.title);
                step.entry["article_version"] = json!(v.version);
                step.article_id = Some(a.to_string());
            }
        }
        Action::CallBack {
            resolved, satisfaction, ..
        } => step.unresolved = Some(core::unresolved(*resolved, *satisfaction)),
        Action::Merge { into } => {
            let target = ticket(store, into).await?.filter(|x| x.id != t.id);
            let open = target.as_ref().is_some_and(|x| {
                x.merged_into.is_none()
                    && matches!(
                        x.state,
                        State::Received | State::Dispatched | State::Disputed | State::Replied
                    )
            });
            if !open {
                return Err(invalid(
                    "into",
                    "hotline.merge_target",
                    "只能并入另一张办理中的工单",
                    "a ticket is merged into another one still open",
                ));
            }
            step.merged_into = Some(into.clone());
        }
        Action::Extend { days, reason } => {
            if *days > policy.extension_max_days {
                return Err(DomainError::one(
                    ErrorKind::Invalid,
                    FieldError::new(
                        "days",
                        "hotline.extension_days",
                        format!("一次延期最多 {} 个工作日", policy.extension_max_days),
                        format!("an extension is at most {} working days", policy.extension_max_days),
                    ),
                )
                .into());
            }
            step.extension = Some(Some((i64::from(*days), reason.trim().to_string())));
        }
        Action::DecideExtension { approve, .. } => {
            step.extension = Some(None);
            if *approve && let (Some(days), Some(due)) = (t.extension_days, t.due_at) {
                let cal = crate::calendar::calendar_for(store, Some(&t.region_code)).await?;
                let from = crate::date_of(due);
                step.due_at = Some(end_of(cal.add_working_days(from, days as u32).date));
                step.entry["days"] = json!(days);
            }
        }
        Action::Supervise { .. } => step.supervised_level = Some(t.supervised_level.max(1)),
        Action::Dispute { .. } | Action::RejectDispute { .. } | Action::Assist { .. } => {}
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
    let due = match t.priority {
        Priority::Urgent => now + i64::from(policy.urgent_hours) * 3_600_000,
        Priority::Normal => end_of(cal.add_working_days(today, policy.days(t.category)).date),
    };
    let dispute = end_of(cal.add_working_days(today, policy.dispute_days).date).min(due);
    Ok((due, dispute))
}

pub(super) async fn step_cmd(ctx: &mut WriteCtx<'_>, s: &StepCmd) -> Result<Value> {
    type Row = (String, String, i64, String, i64, String, String, String);
    let row: Option<Row> = sqlx::query_as(
        "SELECT state, history, supervised_level, channel, created_at, region_code, category, terms
         FROM tickets WHERE id = $1",
    )
    .bind(&s.id)
    .fetch_optional(&mut *ctx.conn)
    .await?;
    let (state, history, level, channel, created_at, region, category, terms) = row.ok_or_else(|| not_found(&s.id))?;
    let changed = state != s.from.as_str()
        || s.supervised_level
            .is_some_and(|l| level >= l && s.entry["action"] == "supervise" && s.entry["auto"] == true);
    if changed {
        return Err(DomainError::conflict(
            "action",
            "ticket.changed",
            "该工单已被他人处理，请刷新后再试".into(),
            "someone else acted on this ticket; reload and try again".into(),
        )
        .into());
    }
    if let Some(into) = &s.merged_into {
        // The ticket merged into must still be open.
        let target: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT state, merged_into FROM tickets WHERE id = $1")
                .bind(into)
                .fetch_optional(&mut *ctx.conn)
                .await?;
        if !target.is_some_and(|(st, m)| {
            m.is_none() && ["received", "dispatched", "disputed", "replied"].contains(&st.as_str())
        }) {
            return Err(DomainError::conflict(
                "into",
                "hotline.merge_target",
                "只能并入另一张办理中的工单".into(),
                "a ticket is merged into another one still open".into(),
            )
            .into());
        }
    }
    let mut history: Vec<Value> = serde_json::from_str(&history).map_err(internal)?;
    if history.len() == 1 && s.entry["party"] == "centre" {
        // The first handling of a request from the web, a phone app or the mailbox: the
        // service level counts its time (GB/T 33358-2016: other media 3 min, mailbox 24 h).
        let (metric, within) = match core::Channel::parse(&channel) {
            Some(core::Channel::Web | core::Channel::Mobile) => ("media", s.windows.0),
            Some(core::Channel::Mailbox) => ("mailbox", s.windows.1),
            _ => ("", 0),
        };
        if !metric.is_empty() {
            let day = crate::date_of(created_at);
            bump(ctx, day, &region, &category, metric, 1).await?;
            if ctx.now_ms - created_at <= within {
                bump(ctx, day, &region, &category, &format!("{metric}_in_time"), 1).await?;
            }
        }
    }
    if s.entry["action"] == "dispatch"
        && let Some(d) = &s.department_id
    {
        // The weekly report: the unit's tickets of the week they came in, and their words.
        let words: Vec<String> = terms.split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect();
        bump_terms(ctx, week_of(crate::date_of(created_at)), d, &words).await?;
    }
    history.push(s.entry.clone());
    let action = s.entry["action"].as_str().unwrap_or("step");
    ctx.append(
        &stream(&s.id),
        Expect::Exists,
        &format!("ticket.{action}"),
        &json!({ "id": s.id, "step": s.entry, "state": s.to, "department_id": s.department_id,
                 "due_at": s.due_at, "merged_into": s.merged_into, "supervised_level": s.supervised_level,
                 "superior": s.superior, "article_id": s.article_id }),
    )
    .await?;
    let (ext_set, ext_days, ext_reason) = match &s.extension {
        None => (0i16, None, None),
        Some(None) => (1, None, None),
        Some(Some((d, r))) => (1, Some(*d), Some(r.clone())),
    };
    sqlx::query(
        "UPDATE tickets SET state = $1, history = $2, updated_at = $3,
             department_id = COALESCE($4, department_id), assisting = COALESCE($5, assisting),
             due_at = COALESCE($6, due_at), dispute_until = COALESCE($7, dispute_until),
             unresolved = COALESCE($8, unresolved), reply = COALESCE($9, reply),
             merged_into = COALESCE($10, merged_into),
             extension_days = CASE WHEN $11 = 1 THEN $12 ELSE extension_days END,
             extension_reason = CASE WHEN $11 = 1 THEN $13 ELSE extension_reason END,
             supervised_level = COALESCE($14, supervised_level), article_id = COALESCE($15, article_id)
         WHERE id = $16",
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
    .bind(&s.merged_into)
    .bind(ext_set)
    .bind(ext_days)
    .bind(ext_reason)
    .bind(s.supervised_level)
    .bind(&s.article_id)
    .bind(&s.id)
    .execute(&mut *ctx.conn)
    .await?;
    units_cmd(ctx, s).await?;
    if let (Some(due), Some(d)) = (s.gap_due, &s.department_id) {
        sqlx::query(
            "INSERT INTO kb_gaps (ticket_id, department_id, due_at, opened_at, closed_at, article_id)
             VALUES ($1, $2, $3, $4, NULL, NULL)
             ON CONFLICT (ticket_id) DO UPDATE SET department_id = excluded.department_id, due_at = excluded.due_at",
        )
        .bind(&s.id)
        .bind(d)
        .bind(due)
        .bind(ctx.now_ms)
        .execute(&mut *ctx.conn)
        .await?;
    }
    Ok(json!({ "id": s.id, "state": s.to }))
}

/// Keeps `ticket_units` — which units see a ticket in their inbox, and whether it is still
/// open there — in step with a step.
async fn units_cmd(ctx: &mut WriteCtx<'_>, s: &StepCmd) -> Result<()> {
    if let Some(main) = &s.department_id {
        sqlx::query("DELETE FROM ticket_units WHERE ticket_id = $1 AND role <> 'superior'")
            .bind(&s.id)
            .execute(&mut *ctx.conn)
            .await?;
        let assisting = s.assisting.clone().unwrap_or_default();
        for (d, role) in std::iter::once((main, "main")).chain(assisting.iter().map(|a| (a, "assisting"))) {
            sqlx::query(
                "INSERT INTO ticket_units (ticket_id, department_id, role, open, due_at) VALUES ($1, $2, $3, 1, $4)
                 ON CONFLICT (ticket_id, department_id) DO UPDATE SET role = excluded.role, open = 1, due_at = excluded.due_at",
            )
            .bind(&s.id)
            .bind(d)
            .bind(role)
            .bind(s.due_at)
            .execute(&mut *ctx.conn)
            .await?;
        }
    }
    if let Some(sup) = &s.superior {
        sqlx::query(
            "INSERT INTO ticket_units (ticket_id, department_id, role, open, due_at)
             SELECT id, $2, 'superior', 1, due_at FROM tickets WHERE id = $1
             ON CONFLICT (ticket_id, department_id) DO NOTHING",
        )
        .bind(&s.id)
        .bind(sup)
        .execute(&mut *ctx.conn)
        .await?;
    }
    let open = !matches!(s.to, State::Closed | State::Merged | State::Redirected);
    sqlx::query("UPDATE ticket_units SET open = $1, due_at = COALESCE($2, due_at) WHERE ticket_id = $3")
        .bind(i16::from(open))
        .bind(s.due_at)
        .bind(&s.id)
        .execute(&mut *ctx.conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 督办
// ---------------------------------------------------------------------------------------

/// What one pass of [`supervise`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Supervised {
    /// Units told their ticket is late (督办).
    pub told: usize,
    /// Late tickets escalated to the unit's superior (上级督办).
    pub escalated: usize,
}

/// 督办 of late tickets (国办函〔2025〕66号: 对超期未办结的 督办, 逐级上报): a ticket with its
/// unit past its limit gets a 督办 notice once (level 1); still there `escalate_days` working
/// days later, it goes up to the unit's superior department (level 2), which then sees it
/// in its inbox. Found through an index over (state, level, deadline); each step is a
/// command the writer refuses if the level was reached meanwhile.
pub async fn supervise(store: &Store, now: i64) -> Result<Supervised> {
    let mut out = Supervised::default();
    let policy = store.config.hotline;
    for level in [0i64, 1] {
        // Working days are at least as long as calendar days: a bound for the index.
        let bound = if level == 0 {
            now
        } else {
            now - i64::from(policy.escalate_days) * 86_400_000
        };
        let late: Vec<Ticket> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM tickets WHERE state = 'dispatched' AND supervised_level = $1 AND due_at < $2
             ORDER BY due_at LIMIT 500"
        )))
        .bind(level)
        .bind(bound)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(read)
        .collect::<Result<_>>()?;
        for t in late {
            let mut superior = None;
            if level == 1 {
                let cal = crate::calendar::calendar_for(store, Some(&t.region_code)).await?;
                let due_day = crate::date_of(t.due_at.unwrap_or(now));
                if end_of(cal.add_working_days(due_day, policy.escalate_days).date) >= now {
                    continue;
                }
                if let Some(d) = t.department_id.as_deref() {
                    superior = crate::refdata::department(store, d).await?.and_then(|d| d.parent_id);
                }
            }
            let (zh, en) = if level == 0 {
                ("逾期督办", "late: supervised")
            } else {
                ("逾期未办结，提请上级督办", "still late: escalated to the superior")
            };
            let entry = json!({ "action": "supervise", "auto": true, "at": now, "by": "system",
                                "party": Party::Centre, "note": zh, "note_en": en, "level": level + 1,
                                "department_id": superior });
            let mut step = step_for(&t, t.state, entry);
            step.supervised_level = Some(level + 1);
            step.superior = superior;
            match store
                .write(
                    Meta::actor("system"),
                    Command::Hotline(Box::new(Cmd::Step(Box::new(step)))),
                )
                .await
            {
                Ok(_) if level == 0 => out.told += 1,
                Ok(_) => out.escalated += 1,
                Err(StoreError::Domain(e)) if e.errors.iter().any(|f| f.rule == "ticket.changed") => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}
