//! Pages: the applicant's cases.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// Pages: the applicant's cases
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "my_cases.html")]
pub(super) struct MyCasesPage {
    pub(super) base: Base,
    pub(super) cases: Vec<(CaseRow, Option<Light>)>,
    pub(super) drafts: Vec<cases::Draft>,
    pub(super) notifications: Vec<cases::Notification>,
    pub(super) bundle_cases: Vec<yiwang_store::bundles::BundleCase>,
    pub(super) pager: crate::pages::Pager,
}

crate::page!(MyCasesPage);

impl MyCasesPage {
    pub(super) fn waiting_on_me(&self, c: &CaseRow) -> bool {
        c.waiting_on() == Some(Party::Applicant) || (!c.outstanding.is_empty() && !c.state.is_final())
    }
}

pub(super) async fn my_cases_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let today = yiwang_store::today();
    let (after, limit) = (p.after(cases::ListKey::parse)?, p.limit()?);
    let page = cases::of_applicant(&s.store, &subject, after.as_ref(), limit).await?;
    // The page's clocks in one go.
    let clocks = cases::clocks_many(&s.store, &page.rows.iter().collect::<Vec<_>>(), today).await?;
    let list = page
        .rows
        .into_iter()
        .zip(clocks)
        .map(|(c, clocks)| {
            let light = clocks.promised.or(clocks.statutory).map(|(_, r)| r.light);
            (c, light)
        })
        .collect();
    Ok(MyCasesPage {
        base,
        pager: crate::pages::Pager::new("/me/cases", &p, page.next.as_deref()),
        cases: list,
        drafts: cases::drafts_of(&s.store, &subject).await?,
        notifications: cases::notifications(&s.store, &subject).await?,
        bundle_cases: yiwang_store::bundles::bundle_cases_of(&s.store, &subject.key()).await?,
    }
    .into_response())
}

/// A material line of the case page: (key, name, how, files, originals checked at a
/// window).
pub(super) type MaterialLine = (String, String, String, Vec<String>, Option<bool>);

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "case.html")]
pub(super) struct CasePage {
    pub(super) base: Base,
    pub(super) d: CaseDetail,
    pub(super) staff: bool,
    pub(super) parties: Vec<Party>,
    pub(super) errors: Vec<FieldError>,
    pub(super) done: Option<String>,
    pub(super) materials: Vec<MaterialLine>,
    /// Who has the case in hand (name), and the colleagues it may be assigned to.
    pub(super) handler_name: Option<String>,
    /// Another officer holds the case: step actions are theirs, so they are not offered.
    pub(super) handled_by_other: bool,
    pub(super) assignees: Vec<(String, String)>,
    pub(super) form: Vec<(String, String)>,
    /// The last correction request's items (what the applicant must fix).
    pub(super) corrections: Vec<CorrectionItem>,
    pub(super) special_kinds: Vec<SpecialKind>,
    pub(super) delivery_methods: Vec<DeliveryMethod>,
    pub(super) steps: Vec<(usize, String)>,
    /// An action waiting for its confirmation.
    pub(super) confirm: Option<Confirm>,
    /// 好差评: the applicant may rate the case now.
    pub(super) can_rate: bool,
    /// 一次一评: the window clerk may open a counter rating of it now, naming the window.
    pub(super) can_pad: bool,
    pub(super) pad_windows: Vec<yiwang_store::ratings::PadWindow>,
    /// Its ratings (no rater shown).
    pub(super) ratings: Vec<yiwang_store::ratings::Rating>,
}

crate::page!(CasePage);

/// An action that cannot be taken back, waiting for the officer (or applicant) to confirm
/// it: its question, and the form's fields to post again with `confirm=yes`.
pub(super) struct Confirm {
    pub(super) zh: &'static str,
    pub(super) en: &'static str,
    pub(super) fields: Vec<(String, String)>,
    /// What the officer should know first (a valid licence of the same kind already held).
    pub(super) warnings: Vec<(String, String)>,
}

impl Confirm {
    pub(super) fn of(a: &Action, f: &BTreeMap<String, String>) -> Option<Confirm> {
        let (zh, en) = a.confirmation()?;
        Some(Confirm {
            zh,
            en,
            fields: f
                .iter()
                .filter(|(k, _)| *k != "confirm")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            warnings: vec![],
        })
    }
}

impl CasePage {
    pub(super) fn can(&self, p: &str) -> bool {
        self.parties.iter().any(|x| x.as_str() == p)
    }
    pub(super) fn state_is(&self, st: &str) -> bool {
        self.d.case.state.as_str() == st
    }
    pub(super) fn at_role(&self, r: &str) -> bool {
        self.d.case.step_role().is_some_and(|x| x.as_str() == r)
    }
    pub(super) fn is_last_step(&self) -> bool {
        self.d.case.step as usize + 1 == self.d.case.steps.len()
    }
    pub(super) fn notice_url(&self, n: &Notice) -> String {
        if self.staff {
            format!("/work/cases/{}/notices/{}/pdf", n.case_id, n.id)
        } else {
            format!("/me/cases/{}/notices/{}/pdf", n.case_id, n.id)
        }
    }
    pub(super) fn notice_name(&self, n: &Notice) -> &'static str {
        self.base.lang.name(&n.kind)
    }
    pub(super) fn entry_text(&self, t: &TimelineEntry) -> String {
        self.base.lang.pick(&t.zh, &t.en).to_string()
    }
    pub(super) fn light_of(&self) -> Option<Light> {
        self.d
            .clocks
            .promised
            .as_ref()
            .or(self.d.clocks.statutory.as_ref())
            .map(|(_, r)| r.light)
    }
    pub(super) fn step_name(&self, r: &StepRole) -> &'static str {
        self.base.lang.name(r)
    }
    /// What was just done, in the reader's language.
    pub(super) fn done_label(&self) -> &'static str {
        let l = self.base.lang;
        match self.done.as_deref().unwrap_or("") {
            "accept" => l.pick(
                "已受理，受理通知书已签章生成",
                "Accepted: the sealed notice of acceptance is ready",
            ),
            "refuse" => l.pick("已决定不予受理", "Not accepted"),
            "request_correction" => l.pick("补正告知书已发出", "The notice to correct was sent"),
            "claim" => l.pick("已签收", "Taken"),
            "assign" => l.pick("已分派", "Assigned"),
            "complete" => l.pick("已提交下一环节", "Passed on"),
            "return" => l.pick("已退回", "Returned"),
            "start_special" => l.pick(
                "特别程序已启动，暂停计时",
                "Special procedure started: the clock is stopped",
            ),
            "end_special" => l.pick(
                "特别程序已结束，恢复计时",
                "Special procedure ended: the clock runs again",
            ),
            "decide" => l.pick("已作出决定，决定书已签章生成", "Decided: the sealed decision is ready"),
            "deliver" => l.pick("已送达并办结", "Delivered and concluded"),
            "terminate" => l.pick("已终止办理", "Terminated"),
            "void" => l.pick("已作废", "Voided"),
            "withdraw" => l.pick("申请已撤回", "Withdrawn"),
            "resubmit" => l.pick("材料已提交", "Sent"),
            "task" => l.pick("任务已完成", "Task completed"),
            _ => l.pick("已完成", "Done"),
        }
    }
    pub(super) fn post_action(&self) -> String {
        if self.staff {
            format!("/work/cases/{}", self.d.case.id)
        } else {
            format!("/me/cases/{}", self.d.case.id)
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn render_case(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    row: CaseRow,
    staff: bool,
    errors: Vec<FieldError>,
    done: Option<String>,
    confirm: Option<Confirm>,
) -> ApiResult<Response> {
    let parties = if staff {
        staff_parties(s, ctx, &row).await?
    } else {
        vec![Party::Applicant]
    };
    let version = yiwang_store::catalog::version_of(&s.store, &row.entry_id, row.item_version).await?;
    // 好差评: its ratings read once; what may still be rated follows from them.
    let ratings = yiwang_store::ratings::of_case(&s.store, &row.id).await?;
    let rated = yiwang_store::ratings::rated_at(&ratings);
    let can_rate = !staff && !yiwang_store::ratings::stages_open(&s.store, &row, &rated).is_empty();
    let can_pad = staff && parties.contains(&Party::Clerk) && yiwang_store::ratings::pad_possible(&row, &rated);
    let pad_windows = if can_pad {
        yiwang_store::ratings::pad_windows(&s.store, &row.department_id).await?
    } else {
        vec![]
    };
    let d = detail(s, row, true).await?;
    let mut materials = vec![];
    let mut form = vec![];
    let lang = base.lang;
    if let (Some(app), Some(v)) = (&d.application, &version) {
        for m in &v.elements.materials {
            if let Some(p) = app.materials.get(&m.key) {
                materials.push((
                    m.key.clone(),
                    m.name.clone(),
                    lang.name(&p.kind).to_string(),
                    p.files.clone(),
                    p.originals_checked,
                ));
            } else if d.case.outstanding.contains(&m.key) {
                materials.push((
                    m.key.clone(),
                    m.name.clone(),
                    lang.name(&ProvisionKind::Tolerated).to_string(),
                    vec![],
                    None,
                ));
            }
        }
        for f in field_views(s, &v.elements.form).await? {
            if let Some(x) = app.form.get(&f.code) {
                form.push((
                    f.label,
                    match x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                ));
            }
        }
    }
    let corrections = d
        .timeline
        .iter()
        .rev()
        .find(|t| t.event == "correction_requested")
        .and_then(|t| t.body["items"].as_array().cloned())
        .map(|items| {
            items
                .into_iter()
                .filter_map(|i| serde_json::from_value(i).ok())
                .collect()
        })
        .unwrap_or_default();
    let steps = d
        .case
        .steps
        .iter()
        .enumerate()
        .map(|(i, r)| (i, lang.name(r).to_string()))
        .collect();
    let handled_by_other = match (&d.case.handler, &ctx.account_id) {
        (Some(h), Some(me)) => h.strip_prefix("account:") != Some(me.as_str()),
        (Some(_), None) => true,
        _ => false,
    };
    let handler_name = match d.case.handler.as_deref().and_then(|h| h.strip_prefix("account:")) {
        Some(acc) => Some(
            yiwang_store::accounts::staff(&s.store.read, acc)
                .await?
                .map(|st| st.name)
                .unwrap_or_else(|| acc.to_string()),
        ),
        None => d.case.handler.clone(),
    };
    // Only a case at a review or decision step can be assigned.
    let assignable = matches!(
        d.case.state,
        yiwang_core::cases::State::Accepted | yiwang_core::cases::State::Suspended
    );
    let assignees = if staff && assignable && parties.iter().any(|p| matches!(p, Party::Reviewer | Party::Decider)) {
        assignees(s, &d.case)
            .await?
            .into_iter()
            .map(|st| (st.account_id, st.name))
            .collect()
    } else {
        vec![]
    };
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        CasePage {
            handler_name,
            handled_by_other,
            assignees,
            base,
            d,
            staff,
            parties,
            errors,
            done,
            materials,
            form,
            corrections,
            special_kinds: SpecialKind::ALL.to_vec(),
            delivery_methods: DeliveryMethod::ALL.to_vec(),
            steps,
            confirm,
            can_rate,
            can_pad,
            pad_windows,
            ratings,
        },
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CaseQuery {
    pub(super) submitted: Option<String>,
}

pub(super) async fn my_case_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Response> {
    let row = my_case(&s, &ctx, &id).await?;
    let done = q.submitted.map(|_| "submitted".to_string());
    render_case(&s, &ctx, base, row, false, vec![], done, None).await
}

/// The applicant's forms on the case page: withdraw; correct or hand in materials that
/// follow (uploads and, for a correction, the form's fields again).
pub(super) async fn my_case_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    mp: Multipart,
) -> ApiResult<Response> {
    let row = my_case(&s, &ctx, &id).await?;
    let (values, mut errors) = read_application_form(&s, &ctx, mp).await?;
    let intent = values.get("intent").cloned().unwrap_or_default();
    let result = match intent.as_str() {
        "withdraw" => {
            let action = Action::Withdraw {
                reason: values.get("reason").cloned().unwrap_or_default(),
            };
            if values.get("confirm").map(String::as_str) != Some("yes") {
                let confirm = Confirm::of(&action, &values);
                return render_case(&s, &ctx, base, row, false, errors, None, confirm).await;
            }
            Some(cases::act(&s.store, ctx.meta(), &id, Party::Applicant, action).await)
        }
        "resubmit" if errors.is_empty() => {
            // The application as it was, with the new uploads and answers on top.
            let (mut app, _) = cases::application(&s.store, &id).await?.ok_or_else(not_found)?;
            let version = yiwang_store::catalog::version_of(&s.store, &row.entry_id, row.item_version)
                .await?
                .ok_or_else(not_found)?;
            let fields = field_views(&s, &version.elements.form).await?;
            let update = application_of(&values, &fields, &version.elements);
            for (k, v) in update.form {
                app.form.insert(k, v);
            }
            for (k, p) in update.materials {
                app.materials.insert(k, p);
            }
            Some(cases::resubmit(&s.store, ctx.meta(), &id, app).await)
        }
        _ => None,
    };
    let done = match result {
        Some(Ok(_)) => Some(intent),
        Some(Err(e)) => {
            errors.extend(ApiError::from(e).into_field_errors());
            None
        }
        None => None,
    };
    let row = cases::case(&s.store, &id).await?.ok_or_else(not_found)?;
    render_case(&s, &ctx, base, row, false, errors, done, None).await
}
