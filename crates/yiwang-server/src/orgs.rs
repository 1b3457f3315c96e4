//! Departments, service halls and windows: API.

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey};
use crate::{AppState, submit};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::FieldError;
use yiwang_core::orgs::{Department, DepartmentInput, Hall, HallInput, Window, WindowInput};
use yiwang_store::{Command, orgs};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_departments, create_department))
        .routes(routes!(one_department, change_department))
        .routes(routes!(list_halls, create_hall))
        .routes(routes!(one_hall, change_hall))
        .routes(routes!(list_windows, create_window))
        .routes(routes!(change_window))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeptQuery {
    /// Only departments of this region.
    region: Option<String>,
    /// At most this many (1–1000, default 500); the total is in `X-Total-Count`.
    limit: Option<i64>,
    /// Skip this many (default 0).
    offset: Option<i64>,
}

/// Departments by region and name, a page at a time (`X-Total-Count` gives the total).
#[utoipa::path(get, path = "/api/v1/departments", params(DeptQuery), tag = "orgs",
    responses((status = 200, body = Vec<Department>, headers(("X-Total-Count" = i64, description = "departments matching, all pages"))),
              (status = 422, body = Problem)))]
pub async fn list_departments(State(s): State<AppState>, ApiQuery(q): ApiQuery<DeptQuery>) -> ApiResult<Response> {
    let limit = q.limit.unwrap_or(500);
    let offset = q.offset.unwrap_or(0);
    let mut errs = vec![];
    if !(1..=1000).contains(&limit) {
        errs.push(FieldError::new(
            "limit",
            "range",
            "limit 须在 1–1000 之间",
            "limit must be 1–1000",
        ));
    }
    if offset < 0 {
        errs.push(FieldError::new(
            "offset",
            "range",
            "offset 不能为负数",
            "offset must not be negative",
        ));
    }
    if !errs.is_empty() {
        return Err(yiwang_store::StoreError::from(yiwang_core::DomainError::invalid(errs)).into());
    }
    let (rows, total) = orgs::departments_page(&s.store.read, q.region.as_deref(), limit, offset).await?;
    let mut r = Json(rows).into_response();
    r.headers_mut().insert("x-total-count", total.into());
    Ok(r)
}

#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "orgs", responses((status = 200, body = Department), (status = 404, body = Problem)))]
pub async fn one_department(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Department>> {
    orgs::department(&s.store.read, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("department"))
}

/// Creates a department; its unified social credit code is checked (GB 32100) and unique.
#[utoipa::path(post, path = "/api/v1/departments", request_body = DepartmentInput, tag = "orgs", security(("admin_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "retry key")),
    responses((status = 201, body = Department), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_department(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<DepartmentInput>,
) -> ApiResult<Response> {
    ctx.require(
        yiwang_core::access::Permission::OrgManage,
        &yiwang_core::access::Target::Region {
            code: body.value.region_code.clone(),
        },
    )?;
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        Command::Orgs(orgs::Cmd::CreateDepartment(body.value)),
        StatusCode::CREATED,
    )
    .await
}

#[utoipa::path(put, path = "/api/v1/departments/{id}", request_body = DepartmentInput, tag = "orgs", security(("admin_token" = [])),
    responses((status = 200, body = Department), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn change_department(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    body: ApiJson<DepartmentInput>,
) -> ApiResult<Response> {
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        Command::Orgs(orgs::Cmd::ChangeDepartment { id, input: body.value }),
        StatusCode::OK,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/halls", tag = "orgs", responses((status = 200, body = Vec<Hall>)))]
pub async fn list_halls(State(s): State<AppState>) -> ApiResult<Json<Vec<Hall>>> {
    Ok(Json(orgs::halls(&s.store.read).await?))
}

/// A hall with its windows.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HallWithWindows {
    #[serde(flatten)]
    hall: Hall,
    windows: Vec<Window>,
}

#[utoipa::path(get, path = "/api/v1/halls/{id}", tag = "orgs", responses((status = 200, body = HallWithWindows), (status = 404, body = Problem)))]
pub async fn one_hall(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<HallWithWindows>> {
    let hall = orgs::hall(&s.store.read, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("hall"))?;
    Ok(Json(HallWithWindows {
        windows: orgs::windows(&s.store.read, &id).await?,
        hall,
    }))
}

#[utoipa::path(post, path = "/api/v1/halls", request_body = HallInput, tag = "orgs", security(("admin_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "retry key")),
    responses((status = 201, body = Hall), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_hall(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<HallInput>,
) -> ApiResult<Response> {
    ctx.require(
        yiwang_core::access::Permission::OrgManage,
        &yiwang_core::access::Target::Region {
            code: body.value.region_code.clone(),
        },
    )?;
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        Command::Orgs(orgs::Cmd::CreateHall(body.value)),
        StatusCode::CREATED,
    )
    .await
}

#[utoipa::path(put, path = "/api/v1/halls/{id}", request_body = HallInput, tag = "orgs", security(("admin_token" = [])),
    responses((status = 200, body = Hall), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn change_hall(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    body: ApiJson<HallInput>,
) -> ApiResult<Response> {
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        Command::Orgs(orgs::Cmd::ChangeHall { id, input: body.value }),
        StatusCode::OK,
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/halls/{id}/windows", tag = "orgs", responses((status = 200, body = Vec<Window>)))]
pub async fn list_windows(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Vec<Window>>> {
    Ok(Json(orgs::windows(&s.store.read, &id).await?))
}

/// Adds a window to a hall. A comprehensive window (综合窗口) takes no department (一窗受理).
#[utoipa::path(post, path = "/api/v1/halls/{id}/windows", request_body = WindowInput, tag = "orgs", security(("admin_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "retry key")),
    responses((status = 201, body = Window), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_window(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    Path(hall_id): Path<String>,
    method: Method,
    uri: Uri,
    body: ApiJson<WindowInput>,
) -> ApiResult<Response> {
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        Command::Orgs(orgs::Cmd::CreateWindow {
            hall_id,
            input: body.value,
        }),
        StatusCode::CREATED,
    )
    .await
}

#[utoipa::path(put, path = "/api/v1/halls/{hall_id}/windows/{id}", request_body = WindowInput, tag = "orgs", security(("admin_token" = [])),
    responses((status = 200, body = Window), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn change_window(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    Path((hall_id, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    body: ApiJson<WindowInput>,
) -> ApiResult<Response> {
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        Command::Orgs(orgs::Cmd::ChangeWindow {
            hall_id,
            id,
            input: body.value,
        }),
        StatusCode::OK,
    )
    .await
}
