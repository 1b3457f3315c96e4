//! The OpenAPI 3.1 description of `/api/v1`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "yiwang API", description = "一网 integrated online government-service platform. Errors are RFC 9457 problem+json with a field list in Chinese and English. POSTs that create honour Idempotency-Key."),
    paths(
        crate::regions::list, crate::regions::one, crate::regions::create, crate::regions::change,
        crate::orgs::list_departments, crate::orgs::one_department, crate::orgs::create_department, crate::orgs::change_department,
        crate::orgs::list_halls, crate::orgs::one_hall, crate::orgs::create_hall, crate::orgs::change_hall,
        crate::orgs::list_windows, crate::orgs::create_window, crate::orgs::change_window,
        crate::calendar::day, crate::calendar::add_days, crate::calendar::between, crate::calendar::years,
        crate::calendar::publish_year, crate::calendar::set_local, crate::calendar::local,
        crate::ledger::status, crate::ledger::verify, crate::audit::list,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldProblem)),
    modifiers(&AdminToken),
    tags((name = "regions"), (name = "orgs", description = "departments, halls, windows"), (name = "calendar", description = "working days"), (name = "ledger"), (name = "audit"))
)]
pub struct ApiDoc;

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn spec() -> Json<utoipa::openapi::OpenApi> {
    Json(doc())
}
