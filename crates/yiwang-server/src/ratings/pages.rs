//! Pages of 好差评: the rating page of a case, the rater's own ratings (with the follow-up's
//! outcome and their answer), the follow-up tasks of a department and one task with its
//! steps. They call the same functions as the API.

use super::*;
use crate::pages::{Base, Fields, Page, field};
use askama::Template;
use axum::Form;
use axum::response::Redirect;
use yiwang_core::FieldError;
use yiwang_core::ratings::{Dimension, Outcome, TaskState};

// ---------------------------------------------------------------------------------------
// Rating a case
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "rating.html")]
struct RatePage {
    base: Base,
    case_id: String,
    item_name: String,
    /// The stage to rate now, if any is open.
    stage: Option<Stage>,
    dimensions: &'static [Dimension],
    options: Vec<RatingOption>,
    /// What was given (`level`, `dim.K`, `option`, `text`).
    values: Fields,
    errors: Vec<FieldError>,
    ratings: Vec<Rating>,
}
crate::page!(RatePage);

impl RatePage {
    fn level_name(&self, l: &u8) -> &'static str {
        core::level_name(*l).map_or("", |(zh, en)| self.base.lang.pick(zh, en))
    }
    fn levels(&self) -> Vec<u8> {
        core::LEVELS.iter().map(|(l, ..)| *l).collect()
    }
    fn val(&self, k: &str) -> &str {
        field(&self.values, k)
    }
    fn picked(&self, key: &str) -> bool {
        self.values.iter().any(|(k, v)| k == "option" && v == key)
    }
    fn dim_name(&self, d: &Dimension) -> &'static str {
        self.base.lang.pick(d.zh, d.en)
    }
    fn option_name(&self, o: &RatingOption) -> String {
        self.base.lang.pick(&o.zh, &o.en).to_string()
    }
    /// The options in three groups — for good, fair and bad levels — each option once, in
    /// the group of the lowest level it is offered for.
    fn groups(&self) -> Vec<(&'static str, Vec<&RatingOption>)> {
        let l = self.base.lang;
        let of = |lv: &[u8]| {
            self.options
                .iter()
                .filter(|o| o.levels.iter().min().is_some_and(|m| lv.contains(m)))
                .collect::<Vec<_>>()
        };
        vec![
            (l.pick("满意的方面（4–5 分）", "What went well (4–5)"), of(&[4, 5])),
            (l.pick("基本满意（3 分）", "Fair (3)"), of(&[3])),
            (
                l.pick(
                    "不满意的原因（1–2 分，差评必选一项或填写说明）",
                    "What went wrong (1–2: name one or say why)",
                ),
                of(&[1, 2]),
            ),
        ]
    }
    fn stage_name(&self) -> &'static str {
        self.stage.as_ref().map_or("", |s| self.name(s))
    }
}

async fn render_rate(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    case_id: &str,
    values: Fields,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let row = crate::cases::my_case(s, ctx, case_id).await?;
    let stage = store::open_stages(&s.store, &row).await?.first().copied();
    let (_, options) = store::options(&s.store).await?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        RatePage {
            base,
            case_id: row.id.clone(),
            item_name: row.item_name.clone(),
            stage,
            dimensions: core::dimensions(Channel::Online),
            options,
            values,
            errors,
            ratings: store::of_case(&s.store, &row.id).await?,
        },
    )
        .into_response())
}

pub(super) async fn rate_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(case_id): Path<String>,
) -> ApiResult<Response> {
    render_rate(&s, &ctx, base, &case_id, vec![], vec![]).await
}

/// The rating from the page's fields (a level that is no number is level 0: refused as such).
fn input_of(f: &Fields) -> RatingInput {
    RatingInput {
        level: field(f, "level").parse().unwrap_or(0),
        dimensions: f
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("dim.")?.to_string(), v.parse().ok()?)))
            .collect(),
        options: f
            .iter()
            .filter(|(k, _)| k == "option")
            .map(|(_, v)| v.clone())
            .collect(),
        text: Some(field(f, "text").to_string()).filter(|t| !t.trim().is_empty()),
    }
}

pub(super) async fn rate_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(case_id): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let stage = Stage::parse(field(&f, "stage")).unwrap_or(Stage::Conclusion);
    match rate(&s, &ctx, &case_id, stage, input_of(&f)).await {
        Ok(_) => Ok(Redirect::to("/me/ratings?rated=1").into_response()),
        Err(e) => render_rate(&s, &ctx, base, &case_id, f, e.into_field_errors()).await,
    }
}

// ---------------------------------------------------------------------------------------
// The rater's own ratings
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "my_ratings.html")]
struct MyRatingsPage {
    base: Base,
    ratings: Vec<MyRating>,
    options: Vec<RatingOption>,
    done: bool,
    errors: Vec<FieldError>,
}
crate::page!(MyRatingsPage);

impl MyRatingsPage {
    fn level_name(&self, l: &i64) -> &'static str {
        let l = u8::try_from(*l).unwrap_or(0);
        core::level_name(l).map_or("", |(zh, en)| self.base.lang.pick(zh, en))
    }
    fn option_names(&self, r: &Rating) -> String {
        option_names(self.base.lang, &self.options, &r.options)
    }
    fn asks(&self, t: &TaskRow) -> bool {
        store::asks_feedback(t)
    }
    fn notes(&self, t: &TaskRow) -> Vec<String> {
        t.answers()
    }
}

fn option_names(lang: crate::i18n::Lang, set: &[RatingOption], keys: &[String]) -> String {
    keys.iter()
        .map(|k| {
            set.iter()
                .find(|o| &o.key == k)
                .map_or(k.clone(), |o| lang.pick(&o.zh, &o.en).to_string())
        })
        .collect::<Vec<_>>()
        .join(lang.sep())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RatedQuery {
    rated: Option<String>,
}

pub(super) async fn my_ratings_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    axum::extract::Query(q): axum::extract::Query<RatedQuery>,
) -> ApiResult<Response> {
    render_mine(&s, &ctx, base, q.rated.is_some(), vec![]).await
}

async fn render_mine(s: &AppState, ctx: &Ctx, base: Base, done: bool, errors: Vec<FieldError>) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let ratings = store::of_rater(&s.store, &subject, 100).await?;
    let (_, options) = store::options(&s.store).await?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        MyRatingsPage {
            base,
            ratings,
            options,
            done,
            errors,
        },
    )
        .into_response())
}

pub(super) async fn feedback_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(rating_id): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    match feedback(&s, &ctx, &rating_id, field(&f, "satisfied") == "yes").await {
        Ok(_) => Ok(Redirect::to("/me/ratings").into_response()),
        Err(e) => render_mine(&s, &ctx, base, false, e.into_field_errors()).await,
    }
}

// ---------------------------------------------------------------------------------------
// Follow-up tasks (staff)
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "rating_tasks.html")]
struct TasksPage {
    base: Base,
    tasks: Vec<TaskView>,
    options: Vec<RatingOption>,
    /// Which list: the overdue ones (督办), all, or the open ones.
    overdue: bool,
    all: bool,
    /// A supervisor of the province: manages the option set.
    manages_options: bool,
}
crate::page!(TasksPage);

impl TasksPage {
    fn option_names(&self, r: &Rating) -> String {
        option_names(self.base.lang, &self.options, &r.options)
    }
}

pub(super) async fn tasks_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<TasksQuery>,
) -> ApiResult<Response> {
    let tasks = task_views(&s, &ctx, &q).await?;
    let (_, options) = store::options(&s.store).await?;
    let overdue = q.overdue.unwrap_or(false);
    let all = q.all.unwrap_or(false);
    let home = yiwang_core::access::Target::Region {
        code: s.home_region.clone(),
    };
    let manages_options = ctx.actor.authorize(Permission::RatingManage, &home).is_ok();
    Ok(TasksPage {
        base,
        tasks,
        options,
        overdue,
        all,
        manages_options,
    }
    .into_response())
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "rating_task.html")]
struct TaskPage {
    base: Base,
    v: TaskView,
    options: Vec<RatingOption>,
    /// May act for the department; may decide appeals.
    handles: bool,
    supervises: bool,
    values: Fields,
    errors: Vec<FieldError>,
    done: Option<String>,
    /// The rater's name and phone, once asked for (recorded in their data-use log).
    contact: Option<(String, String)>,
}
crate::page!(TaskPage);

impl TaskPage {
    fn option_names(&self) -> String {
        option_names(self.base.lang, &self.options, &self.v.rating.options)
    }
    fn level_name(&self) -> &'static str {
        let l = u8::try_from(self.v.rating.level).unwrap_or(0);
        core::level_name(l).map_or("", |(zh, en)| self.base.lang.pick(zh, en))
    }
    fn dims(&self) -> Vec<(&'static str, u8)> {
        core::dimensions(self.v.rating.channel)
            .iter()
            .filter_map(|d| Some((self.base.lang.pick(d.zh, d.en), *self.v.rating.dimensions.get(d.key)?)))
            .collect()
    }
    fn state_is(&self, s: &str) -> bool {
        self.v.task.state.as_str() == s
    }
    fn outcomes(&self) -> &'static [Outcome] {
        Outcome::ALL
    }
    fn val(&self, k: &str) -> &str {
        field(&self.values, k)
    }
    fn step_text(&self, h: &serde_json::Value) -> String {
        let l = self.base.lang;
        let action = match h["action"].as_str().unwrap_or("") {
            "call_back" => l.pick("回访", "Called back"),
            "resolve" => l.pick("整改结果", "Resolved"),
            "fixed" => l.pick("整改完成", "Fixed"),
            "appeal" => l.pick("申诉", "Appealed"),
            "decide_appeal" => l.pick("申诉复核", "Appeal decided"),
            "feedback" => l.pick("评价人反馈", "Rater's answer"),
            "overdue" => l.pick("逾期督办", "Overdue, escalated"),
            other => return other.to_string(),
        };
        let detail = [
            h["outcome"]
                .as_str()
                .and_then(Outcome::parse)
                .map(|o| self.name(&o).to_string()),
            h["due_on"].as_str().map(|d| format!("{}{d}", l.pick("期限 ", "by "))),
            h["upheld"].as_bool().map(|u| {
                l.pick(
                    if u { "申诉成立" } else { "申诉不成立" },
                    if u { "upheld" } else { "rejected" },
                )
                .to_string()
            }),
            h["satisfied"].as_bool().map(|u| {
                l.pick(
                    if u { "满意" } else { "不满意" },
                    if u { "satisfied" } else { "not satisfied" },
                )
                .to_string()
            }),
            h["reached"]
                .as_bool()
                .filter(|r| !r)
                .map(|_| l.pick("未联系上", "not reached").to_string()),
            h["warning"]
                .as_str()
                .and_then(core::Warning::parse)
                .map(|w| self.name(&w).to_string()),
            h["due"].as_str().map(|d| format!("{}{d}", l.pick("期限 ", "due "))),
            h["note"].as_str().or(h["reason"].as_str()).map(str::to_string),
        ];
        let detail: Vec<String> = detail.into_iter().flatten().collect();
        format!("{action}{}{}", l.colon(), detail.join(l.sep()))
    }
    fn when_ms(&self, h: &serde_json::Value) -> String {
        h["at"].as_i64().map(|t| self.when(&t)).unwrap_or_default()
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_task(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    id: &str,
    values: Fields,
    errors: Vec<FieldError>,
    done: Option<String>,
    contact: Option<(String, String)>,
) -> ApiResult<Response> {
    let (t, r) = visible_task(s, ctx, id).await?;
    let target = department_target(s, &t.department_id).await?;
    let (_, options) = store::options(&s.store).await?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        TaskPage {
            handles: may(ctx, Permission::RatingHandle, &target),
            supervises: may(ctx, Permission::RatingManage, &target),
            v: TaskView {
                warnings: t.warnings(yiwang_store::today()),
                task: t,
                rating: r,
            },
            base,
            options,
            values,
            errors,
            done,
            contact,
        },
    )
        .into_response())
}

pub(super) async fn task_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    render_task(&s, &ctx, base, &id, vec![], vec![], None, None).await
}

/// The officer asks how to reach the rater (recorded in the rater's data-use log).
pub(super) async fn contact_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    match contact(&s, &ctx, &id).await {
        Ok(p) => render_task(&s, &ctx, base, &id, vec![], vec![], None, Some((p.name, p.phone))).await,
        Err(e) => render_task(&s, &ctx, base, &id, vec![], e.into_field_errors(), None, None).await,
    }
}

/// The step a task form asks for, from its fields; a form that names no known step is
/// refused with the field named.
fn action_of(f: &Fields) -> Result<TaskAction, FieldError> {
    let note = field(f, "note").to_string();
    let reason = field(f, "reason").to_string();
    Ok(match field(f, "intent") {
        "call_back" => TaskAction::CallBack {
            reached: field(f, "reached") != "no",
            note,
        },
        "resolve" => TaskAction::Resolve {
            outcome: Outcome::parse(field(f, "outcome"))
                .ok_or_else(|| FieldError::new("outcome", "required", "请选择整改结果", "choose an outcome"))?,
            note,
            due_on: match field(f, "due_on") {
                "" => None,
                d => Some(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    FieldError::new("due_on", "date", "日期格式应为 YYYY-MM-DD", "a date is YYYY-MM-DD")
                })?),
            },
        },
        "fixed" => TaskAction::Fixed { note },
        "appeal" => TaskAction::Appeal { reason },
        "decide_appeal" => TaskAction::DecideAppeal {
            upheld: field(f, "upheld") == "yes",
            reason,
        },
        _ => {
            return Err(FieldError::new("intent", "unknown", "未知操作", "unknown step"));
        }
    })
}

pub(super) async fn task_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let result = match action_of(&f) {
        Ok(a) => act_on_task(&s, &ctx, &id, a).await.map_err(|e| e.into_field_errors()),
        Err(e) => Err(vec![e]),
    };
    match result {
        Ok(_) => {
            let intent = field(&f, "intent").to_string();
            render_task(&s, &ctx, base, &id, vec![], vec![], Some(intent), None).await
        }
        Err(errors) => render_task(&s, &ctx, base, &id, f, errors, None, None).await,
    }
}

impl TaskPage {
    fn done_label(&self) -> &'static str {
        let l = self.base.lang;
        match self.done.as_deref().unwrap_or("") {
            "call_back" => l.pick("回访已登记", "Call-back recorded"),
            "resolve" => l.pick("整改结果已登记，已告知评价人", "Outcome recorded; the rater is told"),
            "fixed" => l.pick("整改完成，已告知评价人", "Fix recorded; the rater is told"),
            "appeal" => l.pick("申诉已提交，待监督部门复核", "Appeal sent to the supervisor"),
            "decide_appeal" => l.pick("申诉复核已决定", "Appeal decided"),
            _ => l.pick("已完成", "Done"),
        }
    }
    fn state_name(&self, s: &TaskState) -> &'static str {
        self.name(s)
    }
}

// ---------------------------------------------------------------------------------------
// The board
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "ratings_board.html")]
struct BoardPage {
    base: Base,
    v: BoardView,
    months: Vec<String>,
    regions: Vec<(String, String)>,
    /// Supervisors and the departments' officers drill down to the follow-ups.
    drill: bool,
}
crate::page!(BoardPage);

impl BoardPage {
    fn pct(&self, x: &Option<f64>) -> String {
        x.map_or_else(|| "—".to_string(), |v| format!("{:.1}%", v * 100.0))
    }
    fn total(&self, l: &BoardLine) -> u64 {
        l.counts.by_level.iter().sum()
    }
    fn level(&self, l: &BoardLine, level: &usize) -> u64 {
        l.counts.by_level[*level - 1]
    }
    fn levels(&self) -> Vec<(usize, &'static str)> {
        core::LEVELS
            .iter()
            .map(|(l, zh, en)| (usize::from(*l), self.base.lang.pick(zh, en)))
            .collect()
    }
    fn outcome(&self, o: &Option<Outcome>) -> &'static str {
        o.as_ref().map_or("", |o| self.name(o))
    }
    /// The groupings offered: by item only within one department.
    fn bys(&self) -> Vec<BoardBy> {
        BoardBy::ALL
            .into_iter()
            .filter(|b| *b != BoardBy::Item || self.v.department.is_some())
            .collect()
    }
    fn by_name(&self, b: &BoardBy) -> &'static str {
        let (zh, en) = b.names();
        self.base.lang.pick(zh, en)
    }
    fn is_by(&self, b: &str) -> bool {
        self.v.by.as_str() == b
    }
}

pub(super) async fn board_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<BoardQuery>,
) -> ApiResult<Response> {
    let v = board(&s, &q).await?;
    let today = yiwang_store::today();
    let months = (0..12)
        .filter_map(|i| today.checked_sub_months(chrono::Months::new(i)))
        .map(|d| d.format("%Y-%m").to_string())
        .collect();
    let mut regions = vec![];
    if let Some(p) = yiwang_store::regions::get(&s.store.read, &s.home_region).await? {
        regions.push((p.code.clone(), p.name.clone()));
        for c in yiwang_store::regions::children(&s.store.read, Some(&p.code)).await? {
            regions.push((c.code, c.name));
        }
    }
    let drill = ctx.has(Permission::RatingManage) || ctx.has(Permission::RatingHandle);
    Ok(BoardPage {
        base,
        v,
        months,
        regions,
        drill,
    }
    .into_response())
}

// ---------------------------------------------------------------------------------------
// 一次一评 at the counter
// ---------------------------------------------------------------------------------------

/// The clerk's button on the case page: opens the counter rating and shows it (on the
/// tablet facing the person, or its QR code for their phone).
pub(super) async fn pad_open_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(case_id): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let window = field(&f, "window_id");
    let (token, _) = open_pad(&s, &ctx, &case_id, Some(window).filter(|w| !w.is_empty())).await?;
    Ok(Redirect::to(&format!("/pad/{token}")).into_response())
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "rating_pad.html")]
struct PadPage {
    base: Base,
    token: String,
    /// The open rating, or why there is none (used, expired, unknown).
    pad: Option<store::Pad>,
    clerk_name: String,
    options: Vec<RatingOption>,
    values: Fields,
    errors: Vec<FieldError>,
    done: bool,
    /// The page's address as a QR code (SVG) for the person's phone.
    qr: String,
}
crate::page!(PadPage);

impl PadPage {
    fn levels(&self) -> Vec<u8> {
        core::LEVELS.iter().map(|(l, ..)| *l).collect()
    }
    fn level_name(&self, l: &u8) -> &'static str {
        core::level_name(*l).map_or("", |(zh, en)| self.base.lang.pick(zh, en))
    }
    fn dimensions(&self) -> &'static [Dimension] {
        core::dimensions(Channel::OnSite)
    }
    fn dim_name(&self, d: &Dimension) -> &'static str {
        self.base.lang.pick(d.zh, d.en)
    }
    fn val(&self, k: &str) -> &str {
        field(&self.values, k)
    }
    fn picked(&self, key: &str) -> bool {
        self.values.iter().any(|(k, v)| k == "option" && v == key)
    }
    fn option_name(&self, o: &RatingOption) -> String {
        self.base.lang.pick(&o.zh, &o.en).to_string()
    }
}

async fn render_pad(
    s: &AppState,
    ctx: &Ctx,
    mut base: Base,
    token: &str,
    values: Fields,
    mut errors: Vec<FieldError>,
    done: bool,
) -> ApiResult<Response> {
    // A tablet or phone without a login still posts with its session's form token.
    base.csrf = ctx.csrf().await;
    // Once rated, the token is used: the thanks are shown, not the refusal.
    let pad = match store::pad(&s.store, token).await {
        Ok(p) => Some(p),
        Err(_) if done => None,
        Err(e) => {
            errors.extend(ApiError::from(e).into_field_errors());
            None
        }
    };
    let clerk_name = match pad.as_ref().and_then(|p| p.clerk.strip_prefix("account:")) {
        Some(acc) => yiwang_store::accounts::staff(&s.store.read, acc)
            .await?
            .map(|st| st.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let (_, options) = store::options(&s.store).await?;
    let status = if pad.is_none() && !done && values.is_empty() {
        axum::http::StatusCode::GONE
    } else {
        crate::pages::form_status(&errors)
    };
    let public = s.public_url.trim_end_matches('/');
    Ok((
        status,
        PadPage {
            qr: yiwang_docs::qr_svg(&format!("{public}/pad/{token}")),
            base,
            token: token.to_string(),
            pad,
            clerk_name,
            options,
            values,
            errors,
            done,
        },
    )
        .into_response())
}

pub(super) async fn pad_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    render_pad(&s, &ctx, base, &token, vec![], vec![], false).await
}

pub(super) async fn pad_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(token): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    match store::rate_pad(&s.store, &token, input_of(&f)).await {
        Ok(_) => render_pad(&s, &ctx, base, &token, vec![], vec![], true).await,
        Err(e) => render_pad(&s, &ctx, base, &token, f, ApiError::from(e).into_field_errors(), false).await,
    }
}
