//! Reading persons' data (staff and systems) — every read recorded first in the person's
//! data-use log — and the person's own view of that log. API and the clerk's lookup page.

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::pages::Base;
use crate::pages::Page;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::FieldError;
use yiwang_core::datause::{DataUse, PersonalField};
use yiwang_store::accounts::{self, PersonView};
use yiwang_store::datause;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_mine))
        .routes(routes!(api_find))
        .routes(routes!(api_one))
        .routes(routes!(api_unmask))
        .route("/work/persons", get(lookup_page))
        .route("/work/persons/{person_id}/unmask", post(unmask_form))
}

/// Who read my personal data, when, which fields, why.
#[utoipa::path(get, path = "/api/v1/me/data-use", tag = "datause", responses((status = 200, body = Vec<DataUse>)))]
pub async fn api_mine(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<DataUse>>> {
    let pid = ctx.person_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(Json(datause::of_person(&s.store, &pid, 1000).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindQuery {
    /// Resident ID number (exact match through the blind index).
    id_number: String,
    /// Why the data is read (or give case_id).
    purpose: Option<String>,
    case_id: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    purpose: Option<String>,
    case_id: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::not_found("person")
}

/// Finds a person by resident ID number; the read is logged for that person.
#[utoipa::path(get, path = "/api/v1/persons", params(FindQuery), tag = "datause",
    responses((status = 200, body = Object), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_find(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<FindQuery>,
) -> ApiResult<Json<PersonView>> {
    let p = accounts::person_by_id_number(&s.store, &q.id_number)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(
        datause::read_person(
            &s.store,
            ctx.meta(),
            &ctx.reader(),
            &p,
            &[],
            q.purpose.as_deref(),
            q.case_id.as_deref(),
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/persons/{person_id}", params(ReadQuery), tag = "datause",
    responses((status = 200, body = Object), (status = 404, body = crate::error::Problem)))]
pub async fn api_one(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ReadQuery>,
) -> ApiResult<Json<PersonView>> {
    let p = accounts::person(&s.store.read, &id).await?.ok_or_else(not_found)?;
    Ok(Json(
        datause::read_person(
            &s.store,
            ctx.meta(),
            &ctx.reader(),
            &p,
            &[],
            q.purpose.as_deref(),
            q.case_id.as_deref(),
        )
        .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnmaskBody {
    pub fields: Vec<PersonalField>,
    pub purpose: Option<String>,
    pub case_id: Option<String>,
}

/// Shows fields in full: logged in the person's data-use log and the security audit.
#[utoipa::path(post, path = "/api/v1/persons/{person_id}/unmask", request_body = UnmaskBody, tag = "datause",
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_unmask(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<UnmaskBody>,
) -> ApiResult<Json<PersonView>> {
    let b = body.value;
    if b.fields.is_empty() {
        return Err(ApiError::from(yiwang_store::StoreError::from(
            yiwang_core::DomainError::invalid(vec![FieldError::new(
                "fields",
                "required",
                "请选择要查看的字段",
                "name the fields to show",
            )]),
        )));
    }
    let p = accounts::person(&s.store.read, &id).await?.ok_or_else(not_found)?;
    Ok(Json(
        datause::read_person(
            &s.store,
            ctx.meta(),
            &ctx.reader(),
            &p,
            &b.fields,
            b.purpose.as_deref(),
            b.case_id.as_deref(),
        )
        .await?,
    ))
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "work_persons.html")]
struct LookupPage {
    base: Base,
    id_number: String,
    purpose: String,
    person: Option<PersonView>,
    can_unmask: bool,
    errors: Vec<FieldError>,
    searched: bool,
}

crate::page!(LookupPage);

#[derive(Deserialize)]
struct LookupQuery {
    id_number: Option<String>,
    purpose: Option<String>,
}

async fn lookup_page(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<LookupQuery>,
    base: Base,
) -> ApiResult<Response> {
    let mut page = LookupPage {
        base,
        id_number: q.id_number.clone().unwrap_or_default(),
        purpose: q.purpose.clone().unwrap_or_default(),
        person: None,
        can_unmask: ctx.has(yiwang_core::access::Permission::PersonUnmask),
        errors: vec![],
        searched: false,
    };
    if let Some(idn) = q.id_number.filter(|i| !i.trim().is_empty()) {
        page.searched = true;
        match accounts::person_by_id_number(&s.store, &idn).await? {
            None => {}
            Some(p) => {
                match datause::read_person(&s.store, ctx.meta(), &ctx.reader(), &p, &[], q.purpose.as_deref(), None)
                    .await
                {
                    Ok(v) => page.person = Some(v),
                    Err(e) => {
                        let e = ApiError::from(e);
                        page.errors = e.errors;
                        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
                    }
                }
            }
        }
    }
    Ok(page.into_response())
}

#[derive(Deserialize)]
struct UnmaskForm {
    purpose: String,
}

async fn unmask_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
    Form(f): Form<UnmaskForm>,
) -> ApiResult<Response> {
    let p = accounts::person(&s.store.read, &id).await?.ok_or_else(not_found)?;
    let mut page = LookupPage {
        base,
        id_number: String::new(),
        purpose: f.purpose.clone(),
        person: None,
        can_unmask: true,
        errors: vec![],
        searched: true,
    };
    match datause::read_person(
        &s.store,
        ctx.meta(),
        &ctx.reader(),
        &p,
        &[PersonalField::IdNumber, PersonalField::Phone],
        Some(&f.purpose),
        None,
    )
    .await
    {
        Ok(v) => {
            page.person = Some(v);
            Ok(page.into_response())
        }
        Err(e) => {
            page.errors = ApiError::from(e).errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
