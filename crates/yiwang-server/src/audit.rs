//! Audit log queries (admin).

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// e.g. `admin`, `login`.
    category: String,
    /// At most this many, newest first (default 100, at most 1000).
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), tag = "audit", security(("admin_token" = [])),
    responses((status = 200, description = "entries, newest first"), (status = 401, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    _ctx: crate::auth::Ctx,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<yiwang_store::audit::AuditEntry>>> {
    Ok(Json(
        yiwang_store::audit::list(&s.store.read, &q.category, q.limit.unwrap_or(100).clamp(1, 1000)).await?,
    ))
}
