//! The working-day calendar: API (day kinds, add-days with its arithmetic, between,
//! publishing years, local days), the calculator page and its htmx fragment.

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey};
pub use crate::i18n::day_kind_label;
use crate::i18n::{Lang, Prefs};
use crate::pages::Base;
use crate::{AppState, submit};
use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::calendar::{DayKind, DayRule, Deadline, PublishedYear};
use yiwang_store::{Command, calendar};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(day))
        .routes(routes!(add_days))
        .routes(routes!(between))
        .routes(routes!(years))
        .routes(routes!(publish_year))
        .routes(routes!(set_local, local))
        .route("/calendar", get(page))
        .route("/fragments/workdays", get(fragment))
}

fn parse_date(field: &str, s: &str) -> Result<NaiveDate, ApiError> {
    s.parse().map_err(|_| {
        ApiError::from(yiwang_core::DomainError::invalid(vec![yiwang_core::FieldError::new(
            field,
            "date.format",
            "日期格式应为 YYYY-MM-DD",
            "a date is written YYYY-MM-DD",
        )]))
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DayInfo {
    #[schema(value_type = String, format = Date)]
    date: NaiveDate,
    working_day: bool,
    /// workday, weekend, holiday or makeup_workday
    kind: String,
    /// The holiday's name, for holidays and make-up workdays.
    name: Option<String>,
    /// True when the year's schedule is not yet published.
    provisional: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegionQuery {
    /// Region code: its local holidays apply (default: national calendar).
    region: Option<String>,
}

/// What kind of day a date is.
#[utoipa::path(get, path = "/api/v1/calendar/days/{date}", params(("date" = String, Path, description = "YYYY-MM-DD"), RegionQuery), tag = "calendar",
    responses((status = 200, body = DayInfo), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn day(
    State(s): State<AppState>,
    Path(date): Path<String>,
    ApiQuery(q): ApiQuery<RegionQuery>,
) -> ApiResult<Json<DayInfo>> {
    let date = parse_date("date", &date)?;
    let (kind, working_day, provisional) = calendar::day(&s.store, date, q.region.as_deref()).await?;
    let (kind, name) = match kind {
        DayKind::Workday => ("workday", None),
        DayKind::Weekend => ("weekend", None),
        DayKind::Holiday(n) => ("holiday", Some(n)),
        DayKind::MakeupWorkday(n) => ("makeup_workday", Some(n)),
    };
    Ok(Json(DayInfo {
        date,
        working_day,
        kind: kind.into(),
        name,
        provisional,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AddDaysQuery {
    /// The day of the triggering act (counting starts the day after), YYYY-MM-DD.
    date: String,
    /// Number of working days, 0–3650.
    n: u32,
    region: Option<String>,
}

/// The result of adding working days, with its arithmetic.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadlineView {
    #[schema(value_type = String, format = Date)]
    date: NaiveDate,
    #[schema(value_type = String, format = Date)]
    start: NaiveDate,
    working_days: u32,
    /// [date, name] of each holiday met.
    #[schema(value_type = Vec<Vec<String>>)]
    holidays: Vec<(NaiveDate, String)>,
    #[schema(value_type = Vec<Vec<String>>)]
    makeup_workdays: Vec<(NaiveDate, String)>,
    weekend_days: u32,
    provisional: bool,
}

impl From<Deadline> for DeadlineView {
    fn from(d: Deadline) -> Self {
        DeadlineView {
            date: d.date,
            start: d.start,
            working_days: d.working_days,
            holidays: d.holidays,
            makeup_workdays: d.makeup_workdays,
            weekend_days: d.weekend_days,
            provisional: d.provisional,
        }
    }
}

/// The Nth working day after a date (《行政许可法》第八十二条: limits count working days).
#[utoipa::path(get, path = "/api/v1/calendar/add-days", params(AddDaysQuery), tag = "calendar",
    responses((status = 200, body = DeadlineView), (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_days(State(s): State<AppState>, ApiQuery(q): ApiQuery<AddDaysQuery>) -> ApiResult<Json<DeadlineView>> {
    let date = parse_date("date", &q.date)?;
    Ok(Json(
        calendar::add_days(&s.store, date, q.n, q.region.as_deref())
            .await?
            .into(),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BetweenQuery {
    a: String,
    b: String,
    region: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BetweenView {
    /// Working days in (a, b]; negative when b is before a.
    working_days: i64,
}

/// Working days between two dates.
#[utoipa::path(get, path = "/api/v1/calendar/between", params(BetweenQuery), tag = "calendar",
    responses((status = 200, body = BetweenView), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn between(State(s): State<AppState>, ApiQuery(q): ApiQuery<BetweenQuery>) -> ApiResult<Json<BetweenView>> {
    let (a, b) = (parse_date("a", &q.a)?, parse_date("b", &q.b)?);
    Ok(Json(BetweenView {
        working_days: calendar::between(&s.store, a, b, q.region.as_deref()).await?,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct YearView {
    year: i64,
    /// The State Council notices the schedule comes from.
    papers: Vec<String>,
}

/// Years whose national schedule is published.
#[utoipa::path(get, path = "/api/v1/calendar/years", tag = "calendar", responses((status = 200, body = Vec<YearView>)))]
pub async fn years(State(s): State<AppState>) -> ApiResult<Json<Vec<YearView>>> {
    Ok(Json(
        calendar::years(&s.store)
            .await?
            .into_iter()
            .map(|(year, papers)| YearView { year, papers })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearInput {
    days: Vec<DayRule>,
    #[serde(default)]
    papers: Vec<String>,
}

/// Publishes (or replaces) a year's national schedule when the State Council announces it (admin).
#[utoipa::path(put, path = "/api/v1/calendar/years/{year}", request_body = YearInput, tag = "calendar", security(("admin_token" = [])),
    responses((status = 200, description = "published"), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn publish_year(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    Path(year): Path<i32>,
    method: Method,
    uri: Uri,
    body: ApiJson<YearInput>,
) -> ApiResult<Response> {
    let y = PublishedYear {
        year,
        days: body.value.days,
        papers: body.value.papers,
    };
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        Command::Calendar(calendar::Cmd::PublishYear(y)),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalDaysInput {
    days: Vec<DayRule>,
}

/// Adds or changes local days of a region, e.g. 三月三 in Hainan (admin).
#[utoipa::path(post, path = "/api/v1/calendar/regions/{code}/days", request_body = LocalDaysInput, tag = "calendar", security(("admin_token" = [])),
    responses((status = 200, description = "saved"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_local(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    Path(code): Path<String>,
    method: Method,
    uri: Uri,
    body: ApiJson<LocalDaysInput>,
) -> ApiResult<Response> {
    let cmd = Command::Calendar(calendar::Cmd::SetLocalDays {
        region_code: code,
        days: body.value.days,
    });
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        cmd,
        StatusCode::OK,
    )
    .await
}

/// Local days declared for a region (not inherited ones).
#[utoipa::path(get, path = "/api/v1/calendar/regions/{code}/days", tag = "calendar", responses((status = 200, body = Vec<DayRule>)))]
pub async fn local(State(s): State<AppState>, Path(code): Path<String>) -> ApiResult<Json<Vec<DayRule>>> {
    Ok(Json(calendar::local_days(&s.store, &code).await?))
}

#[derive(Deserialize)]
struct CalcQuery {
    date: Option<String>,
    n: Option<String>,
}

/// The calculator result, or the problems with its input.
pub struct CalcResult {
    pub deadline: Option<DeadlineView>,
    pub errors: Vec<String>,
}

async fn calculate(s: &AppState, lang: Lang, q: &CalcQuery, region: Option<&str>) -> Option<CalcResult> {
    let (date, n) = (q.date.as_deref()?, q.n.as_deref()?);
    let mut errors = vec![];
    let date = date
        .parse::<NaiveDate>()
        .map_err(|_| {
            errors.push(
                lang.pick("日期格式应为 YYYY-MM-DD", "a date is written YYYY-MM-DD")
                    .to_string(),
            )
        })
        .ok();
    let n = n
        .trim()
        .parse::<u32>()
        .map_err(|_| {
            errors.push(
                lang.pick(
                    "工作日数应为非负整数",
                    "the number of working days must be a whole number",
                )
                .to_string(),
            )
        })
        .ok();
    let (Some(date), Some(n)) = (date, n) else {
        return Some(CalcResult { deadline: None, errors });
    };
    match calendar::add_days(&s.store, date, n, region).await {
        Ok(d) => Some(CalcResult {
            deadline: Some(d.into()),
            errors,
        }),
        Err(yiwang_store::StoreError::Domain(e)) => Some(CalcResult {
            deadline: None,
            errors: e.errors.iter().map(|f| lang.pick(&f.zh, &f.en).to_string()).collect(),
        }),
        Err(e) => {
            tracing::error!(error = %e, "calendar calculation failed");
            Some(CalcResult {
                deadline: None,
                errors: vec![lang.pick("系统内部错误", "internal error").to_string()],
            })
        }
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "workdays_result.html")]
struct Fragment {
    lang: Lang,
    result: CalcResult,
}

async fn fragment(
    State(s): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<CalcQuery>,
) -> Response {
    let lang = Prefs::from_headers(&headers).lang;
    let region = home_region_if_known(&s).await;
    match calculate(&s, lang, &q, region.as_deref()).await {
        Some(result) => Fragment { lang, result }.into_response(),
        None => Fragment {
            lang,
            result: CalcResult {
                deadline: None,
                errors: vec![lang.pick("请填写日期和工作日数", "give a date and a number").into()],
            },
        }
        .into_response(),
    }
}

async fn home_region_if_known(s: &AppState) -> Option<String> {
    yiwang_store::regions::get(&s.store.read, &s.home_region)
        .await
        .ok()
        .flatten()
        .map(|r| r.code)
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "calendar.html")]
struct CalendarPage {
    base: Base,
    result: Option<CalcResult>,
    date: String,
    n: String,
    years: Vec<(i64, Vec<String>)>,
    local: Vec<DayRule>,
}

async fn page(
    State(s): State<AppState>,
    _ctx: crate::auth::Ctx,
    axum::extract::Query(q): axum::extract::Query<CalcQuery>,
    base: Base,
) -> ApiResult<CalendarPage> {
    let region = home_region_if_known(&s).await;
    let result = calculate(&s, base.lang, &q, region.as_deref()).await;
    let local = match &region {
        Some(r) => calendar::local_days(&s.store, r).await?,
        None => vec![],
    };
    Ok(CalendarPage {
        date: q.date.clone().unwrap_or_default(),
        n: q.n.clone().unwrap_or_else(|| "20".into()),
        result,
        years: calendar::years(&s.store).await?,
        local,
        base,
    })
}
