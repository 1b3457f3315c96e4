//! 12345's figures over HTTP: the call-centre system's events (`POST
//! /api/v1/hotline/calls/events`), and the hotspot dashboard (`/work/hotline/figures`, `GET
//! /api/v1/hotline/figures`): service levels (GB/T 33358-2016), tickets by region and
//! category with a map of the regions, rising words, spikes, the weekly report per unit.

use super::*;
use crate::pages::{Base, Page};
use askama::Template;
use axum::response::IntoResponse;
use yiwang_core::hotline::CallEventInput;
use yiwang_store::hotline::Figures;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_call_event))
        .routes(routes!(api_figures))
        .route("/work/hotline/figures", axum::routing::get(figures_page))
}

pub(crate) async fn figures(s: &AppState, ctx: &Ctx, days: u32) -> ApiResult<Figures> {
    Ok(yiwang_store::hotline::figures(&s.store, &centre_region(s, ctx), days, yiwang_store::today()).await?)
}

/// An event of a call from the call-centre system (CTI): ringing, answered, ended (with the
/// recording's reference). Repeats change nothing; events may arrive in any order.
#[utoipa::path(post, path = "/api/v1/hotline/calls/events", tag = "hotline", request_body = CallEventInput,
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn api_call_event(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<CallEventInput>,
) -> ApiResult<Json<serde_json::Value>> {
    let w = yiwang_store::hotline::call_event(&s.store, ctx.meta(), &body.value, yiwang_store::now_ms()).await?;
    Ok(Json(w.value))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FiguresQuery {
    /// The days up to today (1–366; default 7).
    #[serde(default)]
    pub days: Option<u32>,
}

/// The hotspot figures of the caller's region: service levels, tickets by region and
/// category, rising words, spikes, last week per unit.
#[utoipa::path(get, path = "/api/v1/hotline/figures", tag = "hotline", params(FiguresQuery),
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn api_figures(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<FiguresQuery>,
) -> ApiResult<Json<Figures>> {
    Ok(Json(figures(&s, &ctx, q.days.unwrap_or(7)).await?))
}

/// A region's tile on the map: where it is drawn, its count and its shade (0–4).
pub(super) struct Tile {
    pub x: u32,
    pub y: u32,
    pub name: String,
    pub count: i64,
    pub shade: u8,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "hotline_figures.html")]
struct FiguresPage {
    base: Base,
    f: Figures,
    days: u32,
    names: std::collections::HashMap<String, String>,
    units: std::collections::HashMap<String, String>,
    tiles: Vec<Tile>,
    width: u32,
    height: u32,
}
crate::page!(FiguresPage);

impl FiguresPage {
    fn region(&self, code: &str) -> String {
        self.names.get(code).cloned().unwrap_or_else(|| code.to_string())
    }
    fn unit(&self, id: &str) -> String {
        self.units.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
    fn pct(&self, p: &Option<f64>) -> String {
        p.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "—".into())
    }
    fn label(&self, l: &yiwang_core::hotline::Level) -> String {
        self.base.lang.pick(&l.zh, &l.en).to_string()
    }
    fn cell(&self, region: &str, c: &yiwang_core::hotline::Category) -> i64 {
        self.f
            .grid
            .iter()
            .find(|(r, x, _)| r == region && x == c)
            .map(|(.., n)| *n)
            .unwrap_or(0)
    }
    fn categories(&self) -> Vec<yiwang_core::hotline::Category> {
        self.f.by_category.iter().map(|(c, _)| *c).collect()
    }
}

/// The map: one tile per region below the centre's (its counties and cities), in code
/// order, four to a row, shaded by its share of the busiest.
fn tiles(regions: &[(String, String)], counts: &[(String, i64)]) -> (Vec<Tile>, u32, u32) {
    const W: u32 = 150;
    const H: u32 = 64;
    const PER_ROW: u32 = 4;
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let mut out = vec![];
    for (i, (code, name)) in regions.iter().enumerate() {
        // A ticket of a township counts for the county it is in.
        let count: i64 = counts
            .iter()
            .filter(|(r, _)| yiwang_core::access::region_within(code, r))
            .map(|(_, n)| *n)
            .sum();
        let i = i as u32;
        out.push(Tile {
            x: (i % PER_ROW) * (W + 8),
            y: (i / PER_ROW) * (H + 8),
            name: name.clone(),
            count,
            shade: if count == 0 {
                0
            } else {
                (1 + count * 3 / max).min(4) as u8
            },
        });
    }
    let rows = (out.len() as u32).div_ceil(PER_ROW).max(1);
    (out, PER_ROW * (W + 8), rows * (H + 8))
}

pub(super) async fn figures_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    ApiQuery(q): ApiQuery<FiguresQuery>,
) -> ApiResult<Response> {
    let days = q.days.unwrap_or(7).clamp(1, 366);
    let f = figures(&s, &ctx, days).await?;
    let scope = centre_region(&s, &ctx);
    let all = yiwang_store::regions::all(&s.store.read).await?;
    let names: std::collections::HashMap<String, String> =
        all.iter().map(|r| (r.code.clone(), r.name.clone())).collect();
    // The regions one level below the centre's, or the centre's own when it has none.
    let mut below: Vec<(String, String)> = all
        .iter()
        .filter(|r| r.parent_code.as_deref() == Some(scope.as_str()))
        .map(|r| (r.code.clone(), r.name.clone()))
        .collect();
    below.sort();
    if below.is_empty() {
        below = vec![(scope.clone(), names.get(&scope).cloned().unwrap_or_default())];
    }
    let (tiles, width, height) = tiles(&below, &f.by_region);
    let units = yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    Ok(FiguresPage {
        base,
        f,
        days,
        names,
        units,
        tiles,
        width,
        height,
    }
    .into_response())
}
