//! The case API: submit, window, import, applicants' and staff endpoints.

use super::*;

// ---------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// The 实施编码 of the item in force.
    pub item_code: String,
    #[serde(default)]
    pub application: Application,
    /// The draft this submission comes from (deleted once submitted).
    #[serde(default)]
    pub draft_id: Option<String>,
}

/// Applies online for the logged-in person or the principal they act for. 智能预审 runs
/// at once; every problem names its field. Send an Idempotency-Key: a retry returns the
/// first case.
#[utoipa::path(post, path = "/api/v1/cases", request_body = SubmitBody, tag = "cases",
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_submit(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<SubmitBody>,
) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    check_mandate_covers(&s, &ctx, &body.value.item_code).await?;
    let applicant = applicant_of(&s, &subject).await?;
    let meta = idem_meta(&ctx, idem, &method, &uri, &body.raw);
    let b = body.value;
    let w = cases::submit(
        &s.store,
        meta,
        cases::Submission {
            item_code: b.item_code.to_string(),
            applicant,
            channel: Channel::Online,
            assisted: ctx.acting_for.is_some(),
            application: b.application,
            draft_id: b.draft_id,
        },
    )
    .await?;
    Ok(created(w))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    pub item_code: String,
    /// `person:ID` or `legal:ID` (found with the person lookup).
    pub applicant: String,
    #[serde(default)]
    pub application: Application,
    /// 帮办: the clerk filled in the application for the applicant.
    #[serde(default)]
    pub assisted: bool,
}

/// A window clerk takes an application for any department's item in their region
/// (一窗受理); the case then waits for acceptance by the clerk and review by the
/// competent department (受审分离).
#[utoipa::path(post, path = "/api/v1/window/cases", request_body = WindowBody, tag = "cases",
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_window_submit(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<WindowBody>,
) -> ApiResult<Response> {
    let meta = idem_meta(&ctx, idem, &method, &uri, &body.raw);
    let w = window_submit(&s, &ctx, &body.value, meta).await?;
    Ok(created(w))
}

/// The item in force, if the caller holds `perm` for its department (for a window
/// clerk: the department lies in their region, 一窗受理).
pub(super) async fn item_for(
    s: &AppState,
    ctx: &Ctx,
    item_code: &str,
    perm: Permission,
) -> ApiResult<yiwang_store::catalog::Service> {
    let service = cases::service_for(&s.store, item_code).await?;
    let d = yiwang_store::refdata::department(&s.store, &service.department_id)
        .await?
        .ok_or_else(not_found)?;
    ctx.require(
        perm,
        &Target::Department {
            id: d.id,
            region_code: d.region_code,
        },
    )?;
    Ok(service)
}

/// The item in force, if its department lies in the clerk's region (一窗受理).
pub(super) async fn window_service(
    s: &AppState,
    ctx: &Ctx,
    item_code: &str,
) -> ApiResult<yiwang_store::catalog::Service> {
    item_for(s, ctx, item_code, Permission::CaseAccept).await
}

/// `person:ID` or `legal:ID`, as the window and import APIs name an applicant.
pub(crate) fn applicant_subject(a: &str) -> ApiResult<Subject> {
    Subject::parse(a).ok_or_else(|| {
        ApiError::from(StoreError::from(DomainError::invalid(vec![FieldError::new(
            "applicant",
            "format",
            "申请人写作 person:ID 或 legal:ID",
            "the applicant is person:ID or legal:ID",
        )])))
    })
}

/// The window submission the API and the window page share: the clerk's region must
/// hold the item's department (一窗受理), the applicant must be registered.
pub(super) async fn window_submit(
    s: &AppState,
    ctx: &Ctx,
    b: &WindowBody,
    meta: Meta,
) -> ApiResult<yiwang_store::Written> {
    window_service(s, ctx, &b.item_code).await?;
    let applicant = applicant_of(s, &applicant_subject(&b.applicant)?).await?;
    Ok(cases::submit(
        &s.store,
        meta,
        cases::Submission {
            item_code: b.item_code.clone(),
            applicant,
            channel: Channel::Window,
            assisted: b.assisted,
            application: b.application.clone(),
            draft_id: None,
        },
    )
    .await?)
}

/// A case in flight on the previous platform (历史办件迁移).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    pub item_code: String,
    /// `person:ID` or `legal:ID` (registered on this platform).
    pub applicant: String,
    #[serde(default)]
    pub application: Application,
    /// The case's number on the previous platform.
    pub legacy_no: String,
    /// The previous platform's name.
    pub source: String,
    /// yyyy-mm-dd.
    #[schema(value_type = String)]
    pub received_on: chrono::NaiveDate,
    /// yyyy-mm-dd, when the previous platform had accepted it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub accepted_on: Option<chrono::NaiveDate>,
    /// `window` (default) or `online`: how the case first came in.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub channel: Option<Channel>,
}

/// Takes over a case from the province's previous platform with its original dates of
/// receipt and acceptance (so its clocks and traffic lights are the real ones); needs the
/// case administration permission (`case_void`) for the item's department. Pre-checked
/// like any submission; send an Idempotency-Key to make a re-run of an import harmless.
#[utoipa::path(post, path = "/api/v1/case-imports", request_body = ImportBody, tag = "cases",
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_import(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<ImportBody>,
) -> ApiResult<Response> {
    let meta = idem_meta(&ctx, idem, &method, &uri, &body.raw);
    let b = &body.value;
    item_for(&s, &ctx, &b.item_code, Permission::CaseVoid).await?;
    let subject = applicant_subject(&b.applicant)?;
    let channel = b.channel.unwrap_or(Channel::Window);
    let applicant = applicant_of(&s, &subject).await?;
    let w = cases::import(
        &s.store,
        meta,
        cases::Submission {
            item_code: b.item_code.clone(),
            applicant,
            channel,
            assisted: false,
            application: b.application.clone(),
            draft_id: None,
        },
        cases::Migration {
            legacy_no: b.legacy_no.clone(),
            source: b.source.clone(),
            received_on: b.received_on,
            accepted_on: b.accepted_on,
        },
    )
    .await?;
    Ok(created(w))
}

/// 201 with the case, marked when it replays an earlier request's answer.
pub(crate) fn created(w: yiwang_store::Written) -> Response {
    let mut r = (StatusCode::CREATED, Json(w.value)).into_response();
    if w.replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// A case as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseDetail {
    #[schema(value_type = Object)]
    pub case: CaseRow,
    /// Whose move it is.
    #[schema(value_type = Option<String>)]
    pub waiting_on: Option<Party>,
    #[schema(value_type = Object)]
    pub clocks: Clocks,
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<TimelineEntry>,
    #[schema(value_type = Vec<Object>)]
    pub notices: Vec<Notice>,
    #[schema(value_type = Vec<Object>)]
    pub suspensions: Vec<cases::SuspensionRow>,
    #[schema(value_type = Vec<Object>)]
    pub tasks: Vec<Task>,
    /// The application (form, materials); for staff, the read is in a person
    /// applicant's data-use log.
    pub application: Option<Application>,
}

pub(super) async fn detail(s: &AppState, row: CaseRow, with_application: bool) -> ApiResult<CaseDetail> {
    let today = yiwang_store::today();
    let p = cases::parts(&s.store, &row.id, with_application).await?;
    Ok(CaseDetail {
        waiting_on: row.waiting_on(),
        clocks: cases::clocks_given(&s.store, &row, today, &p.suspensions).await?,
        timeline: p.timeline,
        notices: p.notices,
        suspensions: p.suspensions,
        tasks: p.tasks,
        application: p.application.map(|(a, _)| a),
        case: row,
    })
}

/// Records a staff read of a person applicant's case in their data-use log.
pub(super) async fn log_staff_read(s: &AppState, ctx: &Ctx, row: &CaseRow) -> ApiResult<()> {
    if let Some(Subject::Person(pid)) = row.subject() {
        cases::record_read(&s.store, ctx.meta(), &ctx.reader(), &pid, &row.id).await?;
    }
    Ok(())
}

/// The caller's cases (or those of whom they act for), the most recently changed first,
/// a page at a time: `Link: <…>; rel="next"` gives the next page while one follows.
#[utoipa::path(get, path = "/api/v1/me/cases", tag = "cases", params(PageParams),
    responses((status = 200, body = Vec<Object>,
        headers(("link" = String, description = "`<…>; rel=\"next\"` (RFC 8288) while another page follows"))),
        (status = 400, body = crate::error::Problem)))]
pub async fn api_my_cases(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<impl IntoResponse> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let (after, limit) = (p.after(cases::ListKey::parse)?, p.limit()?);
    let page = cases::of_applicant(&s.store, &subject, after.as_ref(), limit).await?;
    Ok((p.link("/api/v1/me/cases", page.next.as_deref()), Json(page.rows)))
}

#[utoipa::path(get, path = "/api/v1/me/cases/{case_id}", tag = "cases", responses((status = 200, body = CaseDetail)))]
pub async fn api_my_case(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<CaseDetail>> {
    let row = my_case(&s, &ctx, &id).await?;
    Ok(Json(detail(&s, row, true).await?))
}

/// The applicant's actions: withdraw (撤回). Corrections and materials that follow are
/// sent with `POST /api/v1/me/cases/{case_id}/application`.
#[utoipa::path(post, path = "/api/v1/me/cases/{case_id}/actions", tag = "cases", request_body = Object,
    responses((status = 200, body = Object), (status = 409, body = crate::error::Problem)))]
pub async fn api_my_action(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<Action>,
) -> ApiResult<Json<Value>> {
    my_case(&s, &ctx, &id).await?;
    Ok(Json(
        cases::act(&s.store, ctx.meta(), &id, Party::Applicant, body.value).await?,
    ))
}

/// 补正 (while a correction is requested) or 容缺后补 (while accepted with materials to
/// follow): the whole application again, pre-checked again.
#[utoipa::path(post, path = "/api/v1/me/cases/{case_id}/application", tag = "cases", request_body = Object,
    responses((status = 200, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_resubmit(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<Application>,
) -> ApiResult<Json<Value>> {
    my_case(&s, &ctx, &id).await?;
    Ok(Json(cases::resubmit(&s.store, ctx.meta(), &id, body.value).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    pub item_code: String,
    #[serde(default)]
    pub draft_id: Option<String>,
    #[serde(default)]
    pub application: Application,
}

/// Saves a draft (not checked: a draft may be incomplete).
#[utoipa::path(post, path = "/api/v1/me/drafts", request_body = DraftBody, tag = "cases",
    responses((status = 200, body = Object)))]
pub async fn api_save_draft(State(s): State<AppState>, ctx: Ctx, body: ApiJson<DraftBody>) -> ApiResult<Json<Value>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let b = body.value;
    Ok(Json(
        cases::save_draft(&s.store, ctx.meta(), subject, b.draft_id, &b.item_code, b.application).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/me/drafts", tag = "cases", responses((status = 200, body = Vec<Object>)))]
pub async fn api_drafts(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<cases::Draft>>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(Json(cases::drafts_of(&s.store, &subject).await?))
}

#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "cases", responses((status = 200, body = Vec<Object>)))]
pub async fn api_notifications(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<cases::Notification>>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(Json(cases::notifications(&s.store, &subject).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    pub name: String,
}

/// An applicant uploads a material (PDF, OFD, Word, Excel, PNG or JPEG by content; at
/// most 20 MB); the answer's `sm3` goes into the application's `materials.<key>.files`.
#[utoipa::path(post, path = "/api/v1/me/files", params(UploadParams), tag = "cases",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_upload(
    State(s): State<AppState>,
    ctx: Ctx,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<UploadParams>,
    crate::extract::Upload(body): crate::extract::Upload,
) -> ApiResult<(StatusCode, Json<yiwang_store::files::FileInfo>)> {
    let f = yiwang_store::files::put(
        &s.store,
        ctx.meta(),
        &p.name,
        &body,
        yiwang_store::files::Visibility::Private,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// One line of an inbox.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboxRow {
    #[schema(value_type = Object)]
    pub case: CaseRow,
    #[schema(value_type = String)]
    pub waiting_on: Party,
    /// Working days left on the promised clock (negative: overdue).
    pub remaining: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub light: Option<Light>,
}

/// One page of the caller's inbox: the cases waiting on a role they hold, earliest due
/// date first, cases without a running clock after them; the cursor of the next page; the
/// open tasks of the departments where they decide.
pub(super) async fn inbox(
    s: &AppState,
    ctx: &Ctx,
    p: &PageParams,
) -> ApiResult<(Vec<InboxRow>, Vec<Task>, Option<String>)> {
    let today = yiwang_store::today();
    let (mut after, limit) = (p.after(cases::InboxKey::parse)?, p.limit()?);
    let mut mine: Vec<(CaseRow, Party)> = vec![];
    let mut departments = vec![];
    let mut next;
    // A case the scope reads but the caller's roles do not reach (a step they do not
    // hold) is passed over; a few more reads fill the page.
    let mut reads = 0;
    loop {
        let page = inbox_candidates(s, ctx, after.as_ref(), limit).await?;
        next = page.next;
        reads += 1;
        for c in page.rows {
            let Some(w) = c.waiting_on() else { continue };
            // Departments come from the reference-data cache: no read per case.
            let t = target(s, &c).await?;
            let perm = match w {
                Party::Clerk => Permission::CaseAccept,
                Party::Reviewer => Permission::CaseReview,
                Party::Decider => Permission::CaseDecide,
                _ => continue,
            };
            if ctx.actor.authorize(Permission::CaseDecide, &t).is_ok() && !departments.contains(&c.department_id) {
                departments.push(c.department_id.clone());
            }
            if ctx.actor.authorize(perm, &t).is_err() {
                continue;
            }
            mine.push((c, w));
        }
        match &next {
            Some(k) if (mine.len() as i64) < limit && reads < 5 => {
                after = Some(cases::InboxKey::parse(k).map_err(ApiError::bad_request)?);
            }
            _ => break,
        }
    }
    // The last read may have filled the page over: the next page starts after its last row.
    if mine.len() as i64 > limit {
        mine.truncate(limit as usize);
        next = mine.last().map(|(c, _)| cases::InboxKey::of(c).cursor());
    }
    // Every clock of the page in one go: a calendar per region, one query for suspensions.
    let refs: Vec<&CaseRow> = mine.iter().map(|(c, _)| c).collect();
    let clocks = cases::clocks_many(&s.store, &refs, today).await?;
    let rows: Vec<InboxRow> = mine
        .into_iter()
        .zip(clocks)
        .map(|((c, w), clocks)| {
            let reading = clocks.promised.or(clocks.statutory).map(|(_, r)| r);
            InboxRow {
                waiting_on: w,
                remaining: reading.as_ref().map(|r| r.remaining),
                light: reading.map(|r| r.light),
                case: c,
            }
        })
        .collect();
    if let Some(st) = &ctx.staff
        && ctx.has(Permission::CaseDecide)
        && !departments.contains(&st.department_id)
    {
        departments.push(st.department_id.clone());
    }
    let tasks = cases::open_tasks(&s.store, &departments).await?;
    Ok((rows, tasks, next))
}

/// The open cases that may be in the caller's inbox, a page at a time, read by the
/// indexes on department, region, state and due date (never a scan of every open case):
/// at the window of their region when they accept applications (a region-wide
/// permission), at a step of their own department when they review or decide
/// (department-wide ones).
async fn inbox_candidates(
    s: &AppState,
    ctx: &Ctx,
    after: Option<&cases::InboxKey>,
    limit: i64,
) -> ApiResult<cases::Paged<CaseRow>> {
    let window = ctx.actor.has(Permission::CaseAccept);
    let steps = ctx.actor.has(Permission::CaseReview) || ctx.actor.has(Permission::CaseDecide);
    let prefix = |r: &str| yiwang_core::access::region_prefix(r).to_string();
    let scope = match &ctx.actor {
        // The bootstrap token: every open case.
        Actor::Root => cases::InboxScope {
            window_prefix: Some(String::new()),
            step_department: None,
            step_prefix: Some(String::new()),
        },
        Actor::Staff {
            department_id,
            region_code,
            ..
        } => cases::InboxScope {
            window_prefix: window.then(|| prefix(region_code)),
            step_department: steps.then(|| department_id.clone()),
            step_prefix: None,
        },
        Actor::System {
            department_id,
            region_code,
            ..
        } => cases::InboxScope {
            window_prefix: window.then(|| prefix(region_code)),
            step_department: department_id.clone().filter(|_| steps),
            step_prefix: (steps && department_id.is_none()).then(|| prefix(region_code)),
        },
        _ => cases::InboxScope::default(),
    };
    Ok(cases::inbox_cases(&s.store, &scope, after, limit).await?)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Inbox {
    pub cases: Vec<InboxRow>,
    #[schema(value_type = Vec<Object>)]
    pub tasks: Vec<Task>,
    /// The cursor of the next page (`?after=`), while one follows.
    pub next: Option<String>,
}

/// The caller's inbox, a page at a time: cases waiting on a role they hold within their
/// scope, earliest due date first (cases without a running clock after them), and open
/// tasks (核查, 容缺 deadlines) of their department. A page may hold fewer rows than asked
/// when some read were for a step the caller does not hold; `next` continues.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "cases", params(PageParams),
    responses((status = 200, body = Inbox,
        headers(("link" = String, description = "`<…>; rel=\"next\"` (RFC 8288) while another page follows"))),
        (status = 400, body = crate::error::Problem)))]
pub async fn api_inbox(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<PageParams>,
) -> ApiResult<impl IntoResponse> {
    let (cases, tasks, next) = inbox(&s, &ctx, &p).await?;
    Ok((
        p.link("/api/v1/inbox", next.as_deref()),
        Json(Inbox { cases, tasks, next }),
    ))
}

#[utoipa::path(get, path = "/api/v1/cases/{case_id}", tag = "cases", responses((status = 200, body = CaseDetail)))]
pub async fn api_case(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<CaseDetail>> {
    let row = cases::case(&s.store, &id).await?.ok_or_else(not_found)?;
    log_staff_read(&s, &ctx, &row).await?;
    Ok(Json(detail(&s, row, true).await?))
}

/// A staff action on a case (`{"action": "accept"}`, `{"action": "decide", "approve":
/// true, "reason": ""}` …); the party is taken from the action and checked against the
/// caller's permissions within the case's department and region.
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/actions", tag = "cases", request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn api_action(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<Action>,
) -> ApiResult<Json<Value>> {
    Ok(Json(staff_act(&s, &ctx, &id, body.value).await?))
}

pub(super) async fn staff_act(s: &AppState, ctx: &Ctx, id: &str, a: Action) -> ApiResult<Value> {
    let row = cases::case(&s.store, id).await?.ok_or_else(not_found)?;
    let party = staff_party(s, ctx, &row, &a).await?;
    if let Action::Assign { to } = &a
        && !assignees(s, &row).await?.iter().any(|x| x.account_id == to.trim())
    {
        return Err(ApiError::from(StoreError::from(DomainError::invalid(vec![
            FieldError::new(
                "to",
                "case.assignee",
                "只能分派给本部门持有当前环节角色且未停用的工作人员",
                "assign only to an active colleague of the department holding this step's role",
            ),
        ]))));
    }
    Ok(cases::act(&s.store, ctx.meta(), id, party, a).await?)
}

/// The colleagues a case at its current step may be assigned to (分办): active staff
/// of the case's department whose roles give the step's permission there.
pub(super) async fn assignees(s: &AppState, row: &CaseRow) -> ApiResult<Vec<yiwang_store::accounts::StaffInfo>> {
    let perm = match row.step_role() {
        Some(StepRole::Decide) => Permission::CaseDecide,
        _ => Permission::CaseReview,
    };
    let t = target(s, row).await?;
    // The roles once; each colleague's permissions are the union of theirs.
    let roles = yiwang_store::accounts::roles(&s.store.read).await?;
    let mut out = vec![];
    for st in yiwang_store::accounts::staff_in_region(&s.store.read, &row.region_code).await? {
        if st.disabled || st.department_id != row.department_id {
            continue;
        }
        let actor = yiwang_core::access::Actor::Staff {
            account_id: st.account_id.clone(),
            department_id: st.department_id.clone(),
            region_code: st.region_code.clone(),
            permissions: roles
                .iter()
                .filter(|r| st.roles.contains(&r.code))
                .flat_map(|r| r.permissions.iter().copied())
                .collect(),
        };
        if actor.authorize(perm, &t).is_ok() {
            out.push(st);
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    pub outcome: String,
    /// 告知承诺核查: the commitment was false (revokes the licence, writes a credit record).
    #[serde(default)]
    pub false_commitment: bool,
}

#[utoipa::path(post, path = "/api/v1/case-tasks/{task_id}/complete", tag = "cases", request_body = TaskBody,
    responses((status = 200, body = Object)))]
pub async fn api_complete_task(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<TaskBody>,
) -> ApiResult<Json<Value>> {
    Ok(Json(complete_task(&s, &ctx, &id, &body.value).await?))
}

pub(super) async fn complete_task(s: &AppState, ctx: &Ctx, id: &str, b: &TaskBody) -> ApiResult<Value> {
    let t = cases::task(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("task"))?;
    let d = yiwang_store::refdata::department(&s.store, &t.department_id)
        .await?
        .ok_or_else(not_found)?;
    ctx.require(
        Permission::CaseDecide,
        &Target::Department {
            id: d.id,
            region_code: d.region_code,
        },
    )?;
    Ok(cases::complete_task(&s.store, ctx.meta(), id, &b.outcome, b.false_commitment).await?)
}
