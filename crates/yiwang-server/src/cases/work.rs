//! Pages: staff.

use super::*;
use crate::pages::Page;

// ---------------------------------------------------------------------------------------
// Pages: staff
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "inbox.html")]
pub(super) struct InboxPage {
    pub(super) base: Base,
    pub(super) rows: Vec<InboxRow>,
    pub(super) tasks: Vec<Task>,
    pub(super) pager: crate::pages::Pager,
    /// The province's yellow threshold (`[cases] yellow_percent`).
    pub(super) yellow_percent: i64,
}

crate::page!(InboxPage);

impl InboxPage {
    pub(super) fn light_class(&self, r: &InboxRow) -> &'static str {
        match r.light {
            Some(Light::Red) => "red",
            Some(Light::Yellow) => "yellow",
            Some(Light::Green) => "green",
            None => "none",
        }
    }
}

pub(super) async fn inbox_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<Response> {
    let (rows, tasks, next) = inbox(&s, &ctx, &p).await?;
    Ok(InboxPage {
        base,
        rows,
        tasks,
        pager: crate::pages::Pager::new("/work/inbox", &p, next.as_deref()),
        yellow_percent: s.store.config.cases.yellow_percent,
    }
    .into_response())
}

pub(super) async fn work_case_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let row = cases::case(&s.store, &id).await?.ok_or_else(not_found)?;
    log_staff_read(&s, &ctx, &row).await?;
    render_case(&s, &ctx, base, row, true, vec![], None, None).await
}

/// Builds a staff action from the case page's form.
pub(super) fn action_of(f: &BTreeMap<String, String>) -> Result<Action, FieldError> {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let bad = |field: &str| FieldError::new(field, "required", "请选择或填写此项", "choose or fill this in");
    Ok(match get("action").as_str() {
        "accept" => Action::Accept,
        "refuse" => Action::Refuse {
            reason: get("reason"),
            basis: get("basis"),
        },
        "request_correction" => Action::RequestCorrection {
            // One line per item: `what: problem`.
            items: get("items")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let (t, p) = l.split_once(['：', ':']).unwrap_or((l, ""));
                    CorrectionItem {
                        target: t.trim().into(),
                        problem: p.trim().into(),
                    }
                })
                .collect(),
        },
        "claim" => Action::Claim,
        "assign" => Action::Assign { to: get("to") },
        "complete" => Action::Complete {
            opinion: get("opinion"),
        },
        "return" => Action::Return {
            to_step: get("to_step").parse().map_err(|_| bad("to_step"))?,
            opinion: get("opinion"),
        },
        "start_special" => Action::StartSpecial {
            kind: SpecialKind::parse(&get("kind")).ok_or_else(|| bad("kind"))?,
            reason: get("reason"),
        },
        "end_special" => Action::EndSpecial { result: get("result") },
        "approve" => Action::Decide {
            approve: true,
            reason: get("reason"),
        },
        "deny" => Action::Decide {
            approve: false,
            reason: get("reason"),
        },
        "deliver" => {
            let method = DeliveryMethod::parse(&get("method")).ok_or_else(|| bad("method"))?;
            Action::Deliver {
                method,
                post: (method == DeliveryMethod::Post).then(|| PostDetail {
                    address: get("address"),
                    tracking_no: get("tracking_no"),
                    payer: get("payer"),
                }),
            }
        }
        "terminate" => Action::Terminate { reason: get("reason") },
        "void" => Action::Void { reason: get("reason") },
        _ => return Err(bad("action")),
    })
}

pub(super) async fn work_case_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let f: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k != "_csrf")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut errors = vec![];
    let mut done = None;
    let mut confirm = None;
    if let Some(task_id) = f.get("task_id") {
        let b = TaskBody {
            outcome: f.get("outcome").cloned().unwrap_or_default(),
            false_commitment: f.contains_key("false_commitment"),
        };
        match complete_task(&s, &ctx, task_id, &b).await {
            Ok(_) => done = Some("task".to_string()),
            Err(e) => errors = e.into_field_errors(),
        }
    } else {
        match action_of(&f) {
            // Asked once more before what cannot be taken back.
            Ok(a) if a.confirmation().is_some() && f.get("confirm").map(String::as_str) != Some("yes") => {
                let mut c = Confirm::of(&a, &f);
                if let (Some(c), Action::Decide { approve: true, .. }) = (c.as_mut(), &a)
                    && let Some(row) = cases::case(&s.store, &id).await?
                {
                    for l in cases::duplicate_licences(&s.store, &row).await? {
                        c.warnings.push((
                            format!(
                                "申请人已持有有效的「{}」（编号 {}），准予后将再签发一份。",
                                l.type_name, l.number
                            ),
                            format!(
                                "The applicant already holds a valid {} (number {}); approving issues another.",
                                l.type_name, l.number
                            ),
                        ));
                    }
                }
                confirm = c;
            }
            Ok(a) => {
                let name = a.name().to_string();
                match staff_act(&s, &ctx, &id, a).await {
                    Ok(_) => done = Some(name),
                    Err(e) => errors = e.into_field_errors(),
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let row = cases::case(&s.store, &id).await?.ok_or_else(not_found)?;
    render_case(&s, &ctx, base, row, true, errors, done, confirm).await
}

/// The scheduler's loop while serving: 《行政许可法》第三十二条 deemed acceptance, overdue
/// materials to follow and the default ratings of cases left unrated, every `every`.
pub async fn scheduler(
    store: std::sync::Arc<yiwang_store::Store>,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match cases::tick(&store, yiwang_store::today()).await {
            Ok(t) if !t.deemed_accepted.is_empty() || !t.tolerance_overdue.is_empty() => {
                tracing::info!(
                    deemed = t.deemed_accepted.len(),
                    overdue = t.tolerance_overdue.len(),
                    "case scheduler"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "case scheduler"),
        }
        // 好差评: cases left unrated are rated 基本满意 by default after the province's days.
        match yiwang_store::ratings::tick(&store, yiwang_store::today()).await {
            Ok(r) if !r.is_empty() => tracing::info!(defaulted = r.len(), "rating scheduler"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "rating scheduler"),
        }
        // 好差评: call-backs and fixes past their limits are escalated (督办), once each.
        match yiwang_store::ratings::escalate(&store, yiwang_store::today()).await {
            Ok(r) if !r.is_empty() => tracing::info!(escalated = r.len(), "rating scheduler"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "rating scheduler"),
        }
        // 12345: tickets past their limit get a 督办 notice, then go up to the unit's superior.
        match yiwang_store::hotline::supervise(&store, yiwang_store::now_ms()).await {
            Ok(r) if r.told + r.escalated > 0 => {
                tracing::info!(told = r.told, escalated = r.escalated, "12345 supervision")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "12345 supervision"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}
