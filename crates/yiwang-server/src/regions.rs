//! Regions: API and the region tree page.

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey};
use crate::pages::Base;
use crate::{AppState, submit};
use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::regions::{Level, NewRegion, Region, RegionChange};
use yiwang_store::{Command, regions};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one, change))
        .route("/regions", get(page))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only the children of this region; without it, every region.
    parent: Option<String>,
}

/// Regions (GB/T 2260 codes; 9-digit townships, 12-digit villages).
#[utoipa::path(get, path = "/api/v1/regions", params(ListQuery), tag = "regions",
    responses((status = 200, body = Vec<Region>), (status = 400, body = Problem)))]
pub async fn list(State(s): State<AppState>, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<Json<Vec<Region>>> {
    Ok(Json(match q.parent {
        Some(p) => regions::children(&s.store.read, Some(&p)).await?,
        None => regions::all(&s.store.read).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "regions",
    responses((status = 200, body = Region), (status = 404, body = Problem)))]
pub async fn one(State(s): State<AppState>, Path(code): Path<String>) -> ApiResult<Json<Region>> {
    regions::get(&s.store.read, &code)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("region"))
}

/// Creates a region (admin). Honours Idempotency-Key.
#[utoipa::path(post, path = "/api/v1/regions", request_body = NewRegion, tag = "regions", security(("admin_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "retry key: a retry returns the first response")),
    responses((status = 201, body = Region), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<NewRegion>,
) -> ApiResult<Response> {
    ctx.require(
        yiwang_core::access::Permission::RegionManage,
        &yiwang_core::access::Target::Region {
            code: body.value.code.clone(),
        },
    )?;
    let cmd = Command::Regions(regions::Cmd::Create(body.value));
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        cmd,
        StatusCode::CREATED,
    )
    .await
}

/// Renames a region (admin); its code never changes.
#[utoipa::path(patch, path = "/api/v1/regions/{code}", request_body = RegionChange, tag = "regions", security(("admin_token" = [])),
    responses((status = 200, body = Region), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn change(
    State(s): State<AppState>,
    ctx: crate::auth::Ctx,
    idem: IdempotencyKey,
    Path(code): Path<String>,
    method: Method,
    uri: Uri,
    body: ApiJson<RegionChange>,
) -> ApiResult<Response> {
    let cmd = Command::Regions(regions::Cmd::Change {
        code,
        change: body.value,
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

pub struct TreeNode {
    pub region: Region,
    pub depth: usize,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "regions.html")]
struct RegionsPage {
    base: Base,
    nodes: Vec<TreeNode>,
}

impl RegionsPage {
    fn level_name(&self, l: &Level) -> &'static str {
        let zh = match l {
            Level::Province => "省级",
            Level::City => "市级",
            Level::County => "县级",
            Level::Township => "乡镇（街道）",
            Level::Village => "村（社区）",
        };
        self.base.lang.pick(zh, l.as_str())
    }
}

/// The region tree, depth first.
async fn page(State(s): State<AppState>, _ctx: crate::auth::Ctx, base: Base) -> ApiResult<RegionsPage> {
    let all = regions::all(&s.store.read).await?;
    let mut nodes = vec![];
    fn walk(all: &[Region], parent: Option<&str>, depth: usize, out: &mut Vec<TreeNode>) {
        for r in all.iter().filter(|r| r.parent_code.as_deref() == parent) {
            out.push(TreeNode {
                region: r.clone(),
                depth,
            });
            walk(all, Some(&r.code), depth + 1, out);
        }
    }
    walk(&all, None, 0, &mut nodes);
    Ok(RegionsPage { base, nodes })
}
