//! 好差评 over HTTP (国办发〔2019〕51号, GB/T 39734-2020; STANDARDS §7): the applicant rates a
//! case that ended (API and the rating page), sees their ratings and answers a follow-up's
//! outcome; the department that handled a badly rated case calls back and resolves it
//! (谁办理谁负责), may appeal; the supervisor decides appeals and publishes the option set.
//! Staff never see who rated. Every handler calls `yiwang_store::ratings`.

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::access::{Permission, Target};
use yiwang_core::ratings::{self as core, Channel, RatingInput, RatingOption, Stage, TaskAction, TaskParty};
use yiwang_store::ratings::{self as store, MyRating, Rating, TaskRow};

mod manage;
mod pages;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_options, api_set_options))
        .routes(routes!(api_rate))
        .routes(routes!(api_my_ratings))
        .routes(routes!(api_feedback))
        .routes(routes!(api_department_ratings))
        .routes(routes!(api_board))
        .routes(routes!(api_open_pad))
        .routes(routes!(api_pad_rate))
        .route(
            "/work/cases/{case_id}/rating-pad",
            axum::routing::post(pages::pad_open_form),
        )
        .route(
            "/pad/{token}",
            axum::routing::get(pages::pad_page).post(pages::pad_form),
        )
        .route("/ratings/board", axum::routing::get(pages::board_page))
        .route(
            "/admin/rating-options",
            axum::routing::get(manage::options_page).post(manage::options_form),
        )
        .routes(routes!(api_tasks))
        .routes(routes!(api_task))
        .routes(routes!(api_task_act))
        .routes(routes!(api_contact))
        .route(
            "/work/rating-tasks/{task_id}/contact",
            axum::routing::post(pages::contact_form),
        )
        .route(
            "/me/cases/{case_id}/rate",
            axum::routing::get(pages::rate_page).post(pages::rate_form),
        )
        .route("/me/ratings", axum::routing::get(pages::my_ratings_page))
        .route(
            "/me/ratings/{rating_id}/feedback",
            axum::routing::post(pages::feedback_form),
        )
        .route("/work/rating-tasks", axum::routing::get(pages::tasks_page))
        .route(
            "/work/rating-tasks/{task_id}",
            axum::routing::get(pages::task_page).post(pages::task_form),
        )
}

// ---------------------------------------------------------------------------------------
// The service functions the API and the pages share
// ---------------------------------------------------------------------------------------

/// The applicant (or an agent acting for them) rates their case.
pub(crate) async fn rate(
    s: &AppState,
    ctx: &Ctx,
    case_id: &str,
    stage: Stage,
    input: RatingInput,
) -> ApiResult<yiwang_store::Written> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let req = store::RateRequest {
        channel: Channel::Online,
        stage,
        input,
        clerk: None,
    };
    Ok(store::rate(&s.store, ctx.meta(), case_id, &subject, req).await?)
}

/// The rater answers whether the outcome of their bad rating's follow-up satisfies them.
pub(crate) async fn feedback(
    s: &AppState,
    ctx: &Ctx,
    rating_id: &str,
    satisfied: bool,
) -> ApiResult<yiwang_store::Written> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    match store::rating(&s.store, rating_id).await? {
        Some((_, Some(rater), _)) if rater == subject.key() => {}
        _ => return Err(ApiError::not_found("rating")),
    }
    Ok(store::act(
        &s.store,
        ctx.meta(),
        rating_id,
        TaskParty::Rater,
        TaskAction::Feedback { satisfied },
    )
    .await?)
}

/// Does the caller follow up (or supervise) ratings of this department?
async fn department_target(s: &AppState, department_id: &str) -> ApiResult<Target> {
    let d = yiwang_store::refdata::department(&s.store, department_id)
        .await?
        .ok_or_else(|| ApiError::not_found("department"))?;
    Ok(Target::Department {
        id: d.id,
        region_code: d.region_code,
    })
}

fn may(ctx: &Ctx, p: Permission, t: &Target) -> bool {
    ctx.actor.authorize(p, t).is_ok()
}

/// A follow-up task the caller may see: their department's (rating_handle) or of a
/// department in their region (rating_manage); else not found. With its rating (no rater).
pub(crate) async fn visible_task(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<(TaskRow, Rating)> {
    let t = store::task(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("follow-up task"))?;
    let target = department_target(s, &t.department_id).await?;
    if !may(ctx, Permission::RatingHandle, &target) && !may(ctx, Permission::RatingManage, &target) {
        return Err(ApiError::not_found("follow-up task"));
    }
    let (r, ..) = store::rating(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("rating"))?;
    Ok((t, r))
}

/// A step on a follow-up task by staff: the supervisor decides appeals (rating_manage over
/// the department), the department's officers do the rest (rating_handle).
pub(crate) async fn act_on_task(
    s: &AppState,
    ctx: &Ctx,
    id: &str,
    action: TaskAction,
) -> ApiResult<yiwang_store::Written> {
    let (t, _) = visible_task(s, ctx, id).await?;
    let target = department_target(s, &t.department_id).await?;
    let (party, perm) = match action {
        TaskAction::DecideAppeal { .. } => (TaskParty::Supervisor, Permission::RatingManage),
        TaskAction::Feedback { .. } => {
            return Err(ApiError::from(yiwang_core::DomainError::invalid(vec![
                yiwang_core::FieldError::new(
                    "action",
                    "rating_task.party",
                    "评价人在“我的评价”中反馈",
                    "the rater answers under their own ratings",
                ),
            ])));
        }
        _ => (TaskParty::Department, Permission::RatingHandle),
    };
    ctx.require(perm, &target)?;
    Ok(store::act(&s.store, ctx.meta(), id, party, action).await?)
}

/// The departments whose follow-up tasks the caller sees: their own (rating_handle), every
/// one of their region (rating_manage).
pub(crate) async fn task_departments(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<String>> {
    let all = yiwang_store::orgs::departments(&s.store.read, None).await?;
    Ok(all
        .into_iter()
        .filter(|d| {
            let t = Target::Department {
                id: d.id.clone(),
                region_code: d.region_code.clone(),
            };
            may(ctx, Permission::RatingHandle, &t) || may(ctx, Permission::RatingManage, &t)
        })
        .map(|d| d.id)
        .collect())
}

// ---------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------

/// The option set in force, the levels and each channel's dimensions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OptionsView {
    pub version: i64,
    pub options: Vec<RatingOption>,
    /// Best first.
    pub levels: Vec<LevelView>,
    #[schema(value_type = Object)]
    pub dimensions: serde_json::Value,
}

/// A level with its names.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LevelView {
    /// 1 非常不满意 … 5 非常满意.
    pub level: u8,
    pub zh: &'static str,
    pub en: &'static str,
}

/// What a rater may choose: the five levels, the dimensions of each channel and the
/// options of the set in force (好差评, GB/T 39734-2020).
#[utoipa::path(get, path = "/api/v1/ratings/options", tag = "ratings",
    responses((status = 200, body = OptionsView)))]
pub async fn api_options(State(s): State<AppState>) -> ApiResult<Json<OptionsView>> {
    let (version, options) = store::options(&s.store).await?;
    let dims = |c: Channel| serde_json::to_value(core::dimensions(c)).unwrap_or_default();
    Ok(Json(OptionsView {
        version,
        options,
        levels: core::LEVELS
            .iter()
            .map(|(level, zh, en)| LevelView { level: *level, zh, en })
            .collect(),
        dimensions: serde_json::json!({ "online": dims(Channel::Online), "on_site": dims(Channel::OnSite) }),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionsBody {
    pub options: Vec<RatingOption>,
}

/// Publishes a new version of the option set (managed centrally by the province's
/// supervisors); ratings keep the version they chose from.
#[utoipa::path(put, path = "/api/v1/ratings/options", tag = "ratings", request_body = OptionsBody,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn api_set_options(State(s): State<AppState>, ctx: Ctx, body: ApiJson<OptionsBody>) -> ApiResult<Response> {
    let w = store::set_options(&s.store, ctx.meta(), body.value.options).await?;
    Ok(crate::cases::created(w))
}

/// A rating as the applicant gives it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    /// conclusion (default) or, where the province rates several times, acceptance.
    #[serde(default)]
    pub stage: Option<Stage>,
    /// 1 非常不满意 … 5 非常满意.
    pub level: u8,
    /// Dimension key → level 1–5 (online: overall, efficiency, guide, convenience, usability).
    #[serde(default)]
    pub dimensions: std::collections::BTreeMap<String, u8>,
    /// Option keys of the set in force that belong to the level.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub text: Option<String>,
}

impl RateBody {
    fn input(self) -> RatingInput {
        RatingInput {
            level: self.level,
            dimensions: self.dimensions,
            options: self.options,
            text: self.text,
        }
    }
}

/// Rates one's own case (一事一评): once it has ended (and, where configured, once it was
/// accepted), once per stage. 1–2 is 差评: it names a reason and opens a follow-up by the
/// department that handled the case.
#[utoipa::path(post, path = "/api/v1/me/cases/{case_id}/ratings", tag = "ratings", request_body = RateBody,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_rate(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(case_id): Path<String>,
    body: ApiJson<RateBody>,
) -> ApiResult<Response> {
    let b = body.value;
    let stage = b.stage.unwrap_or(Stage::Conclusion);
    let w = rate(&s, &ctx, &case_id, stage, b.input()).await?;
    Ok(crate::cases::created(w))
}

/// The ratings one gave (or the principal one acts for), newest first, each with its
/// follow-up.
#[utoipa::path(get, path = "/api/v1/me/ratings", tag = "ratings",
    responses((status = 200, body = Vec<Object>), (status = 401, body = Problem)))]
pub async fn api_my_ratings(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<MyRating>>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(Json(store::of_rater(&s.store, &subject, 100).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    pub satisfied: bool,
}

/// The rater answers the outcome of their bad rating's follow-up, once.
#[utoipa::path(post, path = "/api/v1/me/ratings/{rating_id}/feedback", tag = "ratings", request_body = FeedbackBody,
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_feedback(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(rating_id): Path<String>,
    body: ApiJson<FeedbackBody>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(feedback(&s, &ctx, &rating_id, body.value.satisfied).await?.value))
}

/// The ratings of the caller's department (rating_handle) or of every department of their
/// region (rating_manage), newest first; never who rated.
#[utoipa::path(get, path = "/api/v1/ratings", tag = "ratings",
    responses((status = 200, body = Vec<Object>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn api_department_ratings(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<Rating>>> {
    let depts = task_departments(&s, &ctx).await?;
    Ok(Json(store::of_departments(&s.store, &depts, 200).await?))
}

/// A follow-up task with its rating, as staff see it (never who rated).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    #[schema(value_type = Object)]
    pub task: TaskRow,
    #[schema(value_type = Object)]
    pub rating: Rating,
    /// call_back_overdue, fix_overdue.
    pub warnings: Vec<core::Warning>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TasksQuery {
    /// Also the closed ones.
    #[serde(default)]
    pub all: Option<bool>,
    /// Only this department's (within the caller's scope).
    #[serde(default)]
    pub department: Option<String>,
    /// Only the overdue ones (call-back or fix late: 督办).
    #[serde(default)]
    pub overdue: Option<bool>,
}

/// The follow-up tasks of the caller's department (rating_handle) or region
/// (rating_manage): open ones oldest first, with their warnings.
#[utoipa::path(get, path = "/api/v1/rating-tasks", tag = "ratings", params(TasksQuery),
    responses((status = 200, body = Vec<TaskView>), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn api_tasks(
    State(s): State<AppState>,
    ctx: Ctx,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<TasksQuery>,
) -> ApiResult<Json<Vec<TaskView>>> {
    Ok(Json(task_views(&s, &ctx, &q).await?))
}

pub(crate) async fn task_views(s: &AppState, ctx: &Ctx, q: &TasksQuery) -> ApiResult<Vec<TaskView>> {
    let mut depts = task_departments(s, ctx).await?;
    if let Some(d) = q.department.as_ref().filter(|d| !d.is_empty()) {
        depts.retain(|x| x == d);
    }
    let today = yiwang_store::today();
    let filter = match (q.overdue.unwrap_or(false), q.all.unwrap_or(false)) {
        (true, _) => store::TaskFilter::Overdue(today),
        (false, true) => store::TaskFilter::All,
        (false, false) => store::TaskFilter::Open,
    };
    Ok(store::tasks_with_ratings(&s.store, &depts, filter, 200)
        .await?
        .into_iter()
        .map(|(t, r)| TaskView {
            warnings: t.warnings(today),
            task: t,
            rating: r,
        })
        .collect())
}

/// One follow-up task with its rating and history.
#[utoipa::path(get, path = "/api/v1/rating-tasks/{task_id}", tag = "ratings",
    responses((status = 200, body = TaskView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn api_task(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<TaskView>> {
    let (t, r) = visible_task(&s, &ctx, &id).await?;
    Ok(Json(TaskView {
        warnings: t.warnings(yiwang_store::today()),
        task: t,
        rating: r,
    }))
}

/// A step on a follow-up task: `call_back` (回访), `resolve` (立行立改 / 限期整改 with
/// `due_on` / 解释说明), `fixed`, `appeal` (the department), `decide_appeal` (the supervisor:
/// upheld leaves the rating out of the figures, never deleted).
#[utoipa::path(post, path = "/api/v1/rating-tasks/{task_id}/actions", tag = "ratings", request_body = TaskAction,
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn api_task_act(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<TaskAction>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(act_on_task(&s, &ctx, &id, body.value).await?.value))
}

// ---------------------------------------------------------------------------------------
// The board (政务公开)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct BoardQuery {
    /// First month, YYYY-MM (default: this month).
    #[serde(default)]
    pub from: Option<String>,
    /// Last month, YYYY-MM (default: `from`).
    #[serde(default)]
    pub to: Option<String>,
    /// A region code (default: the province); its departments and those below it.
    #[serde(default)]
    pub region: Option<String>,
    /// One department: its items instead of the departments.
    #[serde(default)]
    pub department: Option<String>,
    /// What a line is: `department` (default), `item` (default with `department`), `hall`
    /// (ratings given at a hall's windows) or `clerk` (the window clerks rated on site).
    #[serde(default)]
    pub by: Option<String>,
}

/// What a line of the board stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoardBy {
    Department,
    Item,
    Hall,
    Clerk,
}

impl BoardBy {
    pub const ALL: [BoardBy; 4] = [BoardBy::Department, BoardBy::Item, BoardBy::Hall, BoardBy::Clerk];

    pub fn as_str(self) -> &'static str {
        match self {
            BoardBy::Department => "department",
            BoardBy::Item => "item",
            BoardBy::Hall => "hall",
            BoardBy::Clerk => "clerk",
        }
    }

    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            BoardBy::Department => ("部门", "department"),
            BoardBy::Item => ("事项", "item"),
            BoardBy::Hall => ("政务服务大厅", "service hall"),
            BoardBy::Clerk => ("窗口工作人员", "window clerk"),
        }
    }

    fn of(q: &BoardQuery) -> ApiResult<BoardBy> {
        match q.by.as_deref().filter(|b| !b.is_empty()) {
            None if q.department.as_ref().is_some_and(|d| !d.is_empty()) => Ok(BoardBy::Item),
            None => Ok(BoardBy::Department),
            Some(b) => BoardBy::ALL.into_iter().find(|x| x.as_str() == b).ok_or_else(|| {
                ApiError::from(yiwang_core::DomainError::invalid(vec![yiwang_core::FieldError::new(
                    "by",
                    "rating.board_by",
                    "分组方式应为 department、item、hall 或 clerk",
                    "by is department, item, hall or clerk",
                )]))
            }),
        }
    }
}

/// One line of the board: a department (or an item of one) with its counts and figures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BoardLine {
    pub key: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub counts: core::Counts,
    #[schema(value_type = Object)]
    pub figures: core::Figures,
}

impl BoardLine {
    fn new(key: String, name: String, counts: core::Counts) -> BoardLine {
        BoardLine {
            figures: core::figures(&counts),
            key,
            name,
            counts,
        }
    }
}

/// A published fix (the rater never shown).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FixView {
    pub department: String,
    #[schema(value_type = Object)]
    pub fix: store::Fix,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BoardView {
    pub from: String,
    pub to: String,
    pub region: String,
    pub department: Option<String>,
    pub by: BoardBy,
    pub total: BoardLine,
    pub rows: Vec<BoardLine>,
    pub fixes: Vec<FixView>,
}

fn month_of(field: &str, v: Option<&str>, default: &str) -> ApiResult<String> {
    let v = v.filter(|x| !x.is_empty()).unwrap_or(default);
    match chrono::NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d") {
        Ok(_) if v.len() == 7 => Ok(v.to_string()),
        _ => Err(ApiError::from(yiwang_core::DomainError::invalid(vec![
            yiwang_core::FieldError::new(field, "month", "月份格式应为 YYYY-MM", "a month is YYYY-MM"),
        ]))),
    }
}

/// The board's figures for months, a region and perhaps one department (shared by the API
/// and the page).
pub(crate) async fn board(s: &AppState, q: &BoardQuery) -> ApiResult<BoardView> {
    let this = yiwang_store::today().format("%Y-%m").to_string();
    let from = month_of("from", q.from.as_deref(), &this)?;
    let to = month_of("to", q.to.as_deref(), &from)?;
    let region = q
        .region
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| s.home_region.clone());
    let department = q.department.clone().filter(|d| !d.is_empty());
    let by = BoardBy::of(q)?;
    let mut names = Names::default();
    let mut depts = std::collections::BTreeMap::new();
    let mut lines: std::collections::BTreeMap<String, BoardLine> = std::collections::BTreeMap::new();
    let mut total = core::Counts::default();
    for r in store::stats(&s.store, &from, &to).await? {
        if !depts.contains_key(&r.department_id) {
            let d = yiwang_store::refdata::department(&s.store, &r.department_id).await?;
            depts.insert(r.department_id.clone(), d);
        }
        let Some(Some(d)) = depts.get(&r.department_id) else {
            continue;
        };
        if !yiwang_core::access::region_within(&region, &d.region_code)
            || department.as_ref().is_some_and(|x| x != &d.id)
        {
            continue;
        }
        total.add(&r.counts);
        let (key, name) = match by {
            BoardBy::Item => (r.item_code.clone(), r.item_name.clone()),
            BoardBy::Department => (d.id.clone(), d.name.clone()),
            // Online ratings have no hall and no clerk: they count in the total only.
            BoardBy::Hall if r.hall_id.is_empty() => continue,
            BoardBy::Clerk if r.clerk.is_empty() => continue,
            BoardBy::Hall => (r.hall_id.clone(), names.hall(s, &r.hall_id).await?),
            BoardBy::Clerk => (r.clerk.clone(), names.clerk(s, &r.clerk).await?),
        };
        lines
            .entry(key.clone())
            .or_insert_with(|| BoardLine::new(key, name, core::Counts::default()))
            .counts
            .add(&r.counts);
    }
    let mut rows: Vec<BoardLine> = lines
        .into_values()
        .map(|l| BoardLine::new(l.key, l.name, l.counts))
        .collect();
    rows.sort_by(|a, b| {
        b.counts
            .by_level
            .iter()
            .sum::<u64>()
            .cmp(&a.counts.by_level.iter().sum::<u64>())
    });
    let mut fixes = vec![];
    for f in store::recent_fixes(&s.store, 20).await? {
        let Some(d) = yiwang_store::refdata::department(&s.store, &f.department_id).await? else {
            continue;
        };
        if yiwang_core::access::region_within(&region, &d.region_code) && department.as_ref().is_none_or(|x| x == &d.id)
        {
            fixes.push(FixView {
                department: d.name,
                fix: f,
            });
        }
        if fixes.len() == 10 {
            break;
        }
    }
    Ok(BoardView {
        total: BoardLine::new(region.clone(), region.clone(), total),
        from,
        to,
        region,
        department,
        by,
        rows,
        fixes,
    })
}

/// The names the board shows for halls and clerks, each read once per board.
#[derive(Default)]
struct Names {
    halls: Option<std::collections::HashMap<String, String>>,
    clerks: std::collections::HashMap<String, String>,
}

impl Names {
    async fn hall(&mut self, s: &AppState, id: &str) -> ApiResult<String> {
        if self.halls.is_none() {
            let all = yiwang_store::orgs::halls(&s.store.read).await?;
            self.halls = Some(all.into_iter().map(|h| (h.id, h.name)).collect());
        }
        Ok(self
            .halls
            .as_ref()
            .and_then(|h| h.get(id).cloned())
            .unwrap_or_else(|| id.to_string()))
    }

    /// A clerk as the public sees them at the window: their name (staff names are shown on
    /// every window's sign; no other detail).
    async fn clerk(&mut self, s: &AppState, key: &str) -> ApiResult<String> {
        if let Some(n) = self.clerks.get(key) {
            return Ok(n.clone());
        }
        let name = match key.strip_prefix("account:") {
            Some(acc) => yiwang_store::accounts::staff(&s.store.read, acc)
                .await?
                .map_or_else(|| acc.to_string(), |st| st.name),
            None => key.to_string(),
        };
        self.clerks.insert(key.to_string(), name.clone());
        Ok(name)
    }
}

/// The public ratings board (政务公开): per department of a region (or per item of one
/// department), the counts by level, 好评率, 差评, the call-back and rectification rates of
/// real-name bad ratings, and recent fixes — never who rated. Appeals upheld are not counted.
#[utoipa::path(get, path = "/api/v1/ratings/board", tag = "ratings", params(BoardQuery),
    responses((status = 200, body = BoardView), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn api_board(
    State(s): State<AppState>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<BoardQuery>,
) -> ApiResult<Json<BoardView>> {
    Ok(Json(board(&s, &q).await?))
}

// ---------------------------------------------------------------------------------------
// 一次一评 at the counter
// ---------------------------------------------------------------------------------------

/// The window clerk (case_accept over the case's department, checked by the access table)
/// opens a counter rating of the case just served; returns its token and expiry.
pub(crate) async fn open_pad(
    s: &AppState,
    ctx: &Ctx,
    case_id: &str,
    window_id: Option<&str>,
) -> ApiResult<(String, i64)> {
    let clerk = ctx
        .account_id
        .as_ref()
        .filter(|_| ctx.is_staff())
        .map(|a| format!("account:{a}"))
        .ok_or_else(|| {
            crate::error::forbidden_error(
                "rating.pad_clerk",
                "评价器由为办事人服务的窗口工作人员开启".into(),
                "the clerk who served opens the counter rating".into(),
            )
        })?;
    Ok(store::open_pad(&s.store, ctx.meta(), case_id, &clerk, window_id).await?)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct PadQuery {
    /// The window the clerk serves at (its hall and window are rated with them); one of
    /// the windows of the case's department's halls.
    #[serde(default)]
    pub window_id: Option<String>,
}

/// A counter rating opened: its address for the tablet (and the phone's QR code).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PadOpened {
    pub token: String,
    pub url: String,
    pub expires_at: i64,
}

/// Opens a rating of this case at the counter (一次一评) by the clerk who served it: valid
/// for `[ratings] pad_minutes`, usable once, no login needed on the tablet or phone.
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/rating-pad", tag = "ratings", params(PadQuery),
    responses((status = 201, body = PadOpened), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn api_open_pad(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(case_id): Path<String>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<PadQuery>,
) -> ApiResult<Response> {
    let (token, expires_at) = open_pad(&s, &ctx, &case_id, q.window_id.as_deref()).await?;
    let url = format!("/pad/{token}");
    Ok((
        axum::http::StatusCode::CREATED,
        Json(PadOpened { token, url, expires_at }),
    )
        .into_response())
}

/// Rates the visit a counter token opens (channel 现场: 整体满意度, 服务效率, 服务水平, 服务态度;
/// the clerk is rated with the department). A forged token is not found; a used or expired
/// one is refused with its rule.
#[utoipa::path(post, path = "/api/v1/rating-pads/{token}", tag = "ratings", request_body = RateBody,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_pad_rate(
    State(s): State<AppState>,
    Path(token): Path<String>,
    body: ApiJson<RateBody>,
) -> ApiResult<Response> {
    let w = store::rate_pad(&s.store, &token, body.value.input()).await?;
    Ok(crate::cases::created(w))
}

/// The rater's name and phone for the call-back, to the handling department's officer
/// (rating_handle) only; recorded first in the rater's data-use log.
pub(crate) async fn contact(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<yiwang_store::accounts::PersonView> {
    let (t, _) = visible_task(s, ctx, id).await?;
    let target = department_target(s, &t.department_id).await?;
    ctx.require(Permission::RatingHandle, &target)?;
    Ok(store::contact(&s.store, ctx.meta(), &ctx.reader(), id).await?)
}

/// How to reach the rater for the call-back (回访): name and phone, recorded in their
/// data-use log with the purpose and the case before it is shown.
#[utoipa::path(post, path = "/api/v1/rating-tasks/{task_id}/contact", tag = "ratings",
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn api_contact(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let p = contact(&s, &ctx, &id).await?;
    Ok(Json(serde_json::json!({ "name": p.name, "phone": p.phone })))
}
