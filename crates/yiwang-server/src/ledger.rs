//! Ledger administration: status and a full verification (admin).

use crate::AppState;
use crate::error::{ApiResult, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status)).routes(routes!(verify))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LedgerStatus {
    /// Newest committed event.
    head: i64,
    /// Last event covered by a signed checkpoint.
    checkpoint_to: i64,
    engine: String,
}

#[utoipa::path(get, path = "/api/v1/ledger/status", tag = "ledger", security(("admin_token" = [])),
    responses((status = 200, body = LedgerStatus), (status = 401, body = Problem)))]
pub async fn status(State(s): State<AppState>, _ctx: crate::auth::Ctx) -> ApiResult<Json<LedgerStatus>> {
    let (head, checkpoint_to) = yiwang_store::ledger::status(&s.store.read).await?;
    Ok(Json(LedgerStatus {
        head,
        checkpoint_to,
        engine: s.store.engine.name().into(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    ok: bool,
    events: i64,
    streams: usize,
    checkpoints: i64,
    /// The first problem, naming the event or checkpoint.
    problem: Option<String>,
}

/// Re-checks every hash chain, checkpoint and signature (as `yiwang ledger verify`).
#[utoipa::path(post, path = "/api/v1/ledger/verify", tag = "ledger", security(("admin_token" = [])),
    responses((status = 200, body = VerifyReport), (status = 401, body = Problem)))]
pub async fn verify(State(s): State<AppState>, _ctx: crate::auth::Ctx) -> ApiResult<Json<VerifyReport>> {
    let r = yiwang_store::ledger::verify_store(&s.store).await?;
    Ok(Json(VerifyReport {
        ok: r.ok(),
        events: r.events,
        streams: r.streams,
        checkpoints: r.checkpoints,
        problem: r.problem,
    }))
}
