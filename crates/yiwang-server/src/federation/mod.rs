//! 跨域通办 between nodes (issue 20): the node-to-node endpoints (this node's signed
//! document; the envelope inbox, which answers every partner's signed envelope with a
//! signed receipt or the reason it is refused), the administrators' API and page for
//! agreements, offers and the exchange log, the window's forwarding of an application for
//! a partner's item, and the public 跨域通办专区. Every handler calls the store's
//! `federation` service functions (the CLI calls the same).

use crate::AppState;
use crate::ctx::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::pages::{Base, Fields, Page, field};
use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, body::Bytes};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::FieldError;
use yiwang_core::federation::{AgreementAction, Envelope, ForwardLimit, Grant, Mode, NodeDoc, Receipt, Right, Terms};
use yiwang_core::federation::{ForwardInput, Offer};
use yiwang_store::federation::{self as fed, Agreement, CrossingRow, LogLine};

mod pages;
mod recognition;
use pages::*;
use recognition::*;

pub fn routes() -> OpenApiRouter<AppState> {
    let inbox = OpenApiRouter::new()
        .routes(routes!(envelopes_in))
        .layer(axum::extract::DefaultBodyLimit::max(65 << 20));
    OpenApiRouter::new()
        .merge(inbox)
        .routes(routes!(node_document))
        .routes(routes!(api_agreements, api_propose))
        .routes(routes!(api_decide))
        .routes(routes!(api_log))
        .routes(routes!(api_retry))
        .routes(routes!(api_envelope))
        .routes(routes!(api_offers))
        .routes(routes!(api_set_offer, api_remove_offer))
        .routes(routes!(api_forward, api_crossings))
        .routes(routes!(api_recognise))
        .routes(routes!(api_rotate))
        .routes(routes!(api_hand_over))
        .route("/work/federation", axum::routing::get(admin_page))
        .route("/work/federation/agreements", axum::routing::post(propose_form))
        .route(
            "/work/federation/agreements/{agreement_id}",
            axum::routing::post(decide_form),
        )
        .route("/work/federation/offers", axum::routing::post(offer_form))
        .route("/work/federation/rotate", axum::routing::post(rotate_form))
        .route(
            "/work/federation/envelopes/{envelope_id}/retry",
            axum::routing::post(retry_form),
        )
        .route(
            "/work/federation/forward",
            axum::routing::get(forward_page).post(forward_form),
        )
        .route("/work/federation/cases", axum::routing::get(cases_page))
        .route(
            "/work/federation/cases/{crossing_id}/deliver",
            axum::routing::post(hand_over_form),
        )
        .route("/kuayu", axum::routing::get(zone_page))
        .route(
            "/kuayu/apply",
            axum::routing::get(apply_page)
                .post(apply_form)
                .layer(axum::extract::DefaultBodyLimit::max(crate::IMPORT_LIMIT)),
        )
        .route("/me/federation", axum::routing::get(mine_page))
        .route(
            "/wallet/recognise",
            axum::routing::get(recognise_page)
                .post(recognise_form)
                .layer(axum::extract::DefaultBodyLimit::max(crate::IMPORT_LIMIT)),
        )
}

// ---------------------------------------------------------------------------------------
// Node to node
// ---------------------------------------------------------------------------------------

/// This node's document, signed by its node key: what a partner's administrator fetches
/// to propose an agreement (compare the key's fingerprint out of band).
#[utoipa::path(get, path = "/federation/v1/node", tag = "federation", responses((status = 200, body = NodeDoc)))]
pub async fn node_document(State(s): State<AppState>) -> ApiResult<Json<NodeDoc>> {
    Ok(Json(fed::node_doc(&s.store, &s.node).await?))
}

/// A partner's signed envelope. Checked before anything is done — addressee, body digest,
/// the sender's SM2 signature, the time (±`max_skew_s`), the message id (a second delivery
/// of the same message gets its first receipt; another message under a used id is
/// refused), the agreement in force, the right the message needs — and answered with this
/// node's signed receipt. Every refusal is logged with its reason.
#[utoipa::path(post, path = "/federation/v1/envelopes", tag = "federation", request_body = Envelope,
    responses((status = 200, body = Receipt), (status = 403, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn envelopes_in(State(s): State<AppState>, body: Bytes) -> ApiResult<Json<Receipt>> {
    let env: Envelope = serde_json::from_slice(&body).map_err(|_| {
        ApiError::from(yiwang_store::StoreError::from(
            yiwang_core::federation::Refusal::Malformed.error(),
        ))
    })?;
    let (receipt, effect) = fed::receive(&s.store, &s.node, env).await?;
    // An agreement the partner approved: this node's offers go to it now.
    if let fed::Effect::Agreement {
        action: AgreementAction::Approved,
        ..
    } = effect
        && let Err(e) = fed::publish_offers(&s.store, yiwang_store::Meta::actor("system:federation"), &s.node).await
    {
        tracing::warn!(error = %e, "publishing offers to a new partner");
    }
    Ok(Json(receipt))
}

// ---------------------------------------------------------------------------------------
// Agreements, offers, the exchange log
// ---------------------------------------------------------------------------------------

/// Every agreement with its state, terms and the partner's key fingerprint.
#[utoipa::path(get, path = "/api/v1/federation/agreements", tag = "federation",
    responses((status = 200, body = Vec<Object>)))]
pub async fn api_agreements(State(s): State<AppState>) -> ApiResult<Json<Vec<Agreement>>> {
    Ok(Json(fed::agreements(&s.store).await?))
}

/// What an administrator proposes to a partner node.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeInput {
    /// The partner's base URL (its document is fetched from `/federation/v1/node`).
    pub partner_endpoint: String,
    /// Rights this node grants the partner for this node's items.
    #[serde(default)]
    pub grant: Vec<Right>,
    /// Rights this node asks the partner to grant it for the partner's items.
    #[serde(default)]
    pub ask: Vec<Right>,
    /// Items the grants are limited to (empty: every item offered).
    #[serde(default)]
    pub items: Vec<String>,
    pub forward_limit: ForwardLimit,
    pub valid_until: chrono::NaiveDate,
}

pub(super) async fn propose(s: &AppState, ctx: &Ctx, input: ProposeInput) -> ApiResult<serde_json::Value> {
    let partner = fed::fetch_node_doc(&input.partner_endpoint).await?;
    let grant = |grantor: &str, grantee: &str, right: Right| Grant {
        grantor: grantor.into(),
        grantee: grantee.into(),
        right,
        items: input.items.clone(),
    };
    let mut grants: Vec<Grant> = input.grant.iter().map(|r| grant(&s.node.id, &partner.id, *r)).collect();
    grants.extend(input.ask.iter().map(|r| grant(&partner.id, &s.node.id, *r)));
    let terms = Terms {
        grants,
        forward_limit: input.forward_limit,
        valid_from: yiwang_store::today(),
        valid_until: input.valid_until,
    };
    Ok(fed::propose(&s.store, ctx.meta(), &s.node, partner, terms).await?)
}

/// Proposes an agreement (授权信任) to a partner node: stored here as proposed and sent
/// to the partner, whose administrator approves or declines it.
#[utoipa::path(post, path = "/api/v1/federation/agreements", tag = "federation", request_body = ProposeInput,
    responses((status = 201), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_propose(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<ProposeInput>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    Ok((StatusCode::CREATED, Json(propose(&s, &ctx, body.value).await?)))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// `approve` or `decline` (an agreement the partner proposed), `revoke` (any).
    pub action: String,
    /// Required to decline or revoke.
    #[serde(default)]
    pub reason: Option<String>,
}

pub(super) fn action_of(a: &str) -> ApiResult<AgreementAction> {
    match a {
        "approve" => Ok(AgreementAction::Approve),
        "decline" => Ok(AgreementAction::Decline),
        "revoke" => Ok(AgreementAction::Revoke),
        _ => Err(ApiError::bad_request(FieldError::new(
            "action",
            "federation.action",
            "操作只能是 approve、decline 或 revoke",
            "the action is approve, decline or revoke",
        ))),
    }
}

/// Approves, declines or revokes an agreement; the partner is told by envelope.
#[utoipa::path(post, path = "/api/v1/federation/agreements/{agreement_id}/decision", tag = "federation",
    request_body = DecisionInput,
    responses((status = 200), (status = 400, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
              (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_decide(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<DecisionInput>,
) -> ApiResult<Json<serde_json::Value>> {
    let action = action_of(&body.value.action)?;
    Ok(Json(
        fed::decide(&s.store, ctx.meta(), &s.node, &id, action, body.value.reason.as_deref()).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// At most this many lines (1–500, default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// The exchange log: envelopes sent (pending, delivered, refused, with attempts and the
/// last error), received, and refused here with the reason.
#[utoipa::path(get, path = "/api/v1/federation/envelopes", tag = "federation", params(LogQuery),
    responses((status = 200, body = Vec<Object>), (status = 400, body = crate::error::Problem)))]
pub async fn api_log(State(s): State<AppState>, ApiQuery(q): ApiQuery<LogQuery>) -> ApiResult<Json<Vec<LogLine>>> {
    Ok(Json(fed::log(&s.store, q.limit.unwrap_or(100).clamp(1, 500)).await?))
}

/// A received envelope as it was kept: signed by its sender, to be verified again later
/// (`yiwang federation verify FILE`).
#[utoipa::path(get, path = "/api/v1/federation/envelopes/{envelope_id}", tag = "federation",
    responses((status = 200, body = Envelope), (status = 404, body = crate::error::Problem)))]
pub async fn api_envelope(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Envelope>> {
    Ok(Json(
        fed::incoming(&s.store, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("报文 / envelope"))?,
    ))
}

/// Rotates this node's envelope key: a new key, announced to every partner with an
/// agreement in force in a `node.rotate` envelope signed with the old key (which partners
/// still accept for `key_grace_s`).
#[utoipa::path(post, path = "/api/v1/federation/node/rotate", tag = "federation",
    responses((status = 200, body = Object)))]
pub async fn api_rotate(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(fed::rotate_key(&s.store, ctx.meta(), &s.node).await?))
}

/// Sends a refused or failing envelope again now.
#[utoipa::path(post, path = "/api/v1/federation/envelopes/{envelope_id}/retry", tag = "federation",
    responses((status = 200), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn api_retry(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(fed::retry_envelope(&s.store, ctx.meta(), &id).await?))
}

/// Items offered for 跨域通办: this node's own, and its partners' as they published them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Offers {
    pub node: String,
    pub own: Vec<Offer>,
    pub partners: Vec<PartnerOffer>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartnerOffer {
    pub node: String,
    pub node_name: String,
    pub offer: Offer,
}

pub(super) async fn all_offers(s: &AppState) -> ApiResult<Offers> {
    Ok(Offers {
        node: s.node.id.clone(),
        own: fed::offers(&s.store, &s.node.id).await?,
        partners: fed::partner_offers(&s.store, &s.node)
            .await?
            .into_iter()
            .map(|(node, node_name, offer)| PartnerOffer { node, node_name, offer })
            .collect(),
    })
}

/// The 跨域通办 offers (public).
#[utoipa::path(get, path = "/api/v1/federation/offers", tag = "federation", responses((status = 200, body = Offers)))]
pub async fn api_offers(State(s): State<AppState>) -> ApiResult<Json<Offers>> {
    Ok(Json(all_offers(&s).await?))
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    pub modes: Vec<Mode>,
}

/// Offers one of this node's items in force for 跨域通办 in the modes given; partners are
/// told.
#[utoipa::path(put, path = "/api/v1/federation/offers/{item_code}", tag = "federation", request_body = OfferInput,
    responses((status = 200), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_set_offer(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    body: ApiJson<OfferInput>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        fed::set_offer(&s.store, ctx.meta(), &s.node, &code, body.value.modes).await?,
    ))
}

/// Withdraws an item from 跨域通办; partners are told.
#[utoipa::path(delete, path = "/api/v1/federation/offers/{item_code}", tag = "federation",
    responses((status = 200), (status = 404, body = crate::error::Problem)))]
pub async fn api_remove_offer(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(fed::remove_offer(&s.store, ctx.meta(), &s.node, &code).await?))
}

// ---------------------------------------------------------------------------------------
// Forwarding (异地代收代办) and the crossing cases
// ---------------------------------------------------------------------------------------

/// Who took it, as the forwarded application names them.
pub(super) fn taken_by(ctx: &Ctx) -> String {
    match &ctx.staff {
        Some(st) => format!("{}（{}）", st.name, st.department_name),
        None => ctx.ledger_actor(),
    }
}

/// Forwards an application taken at this node's window for a partner's item
/// (异地代收代办): the applicant's identity checked here, the scans made here, sent
/// within the agreement's forwarding limit; the partner keeps acceptance and decision
/// unless it granted 收件受理权.
#[utoipa::path(post, path = "/api/v1/federation/applications", tag = "federation", request_body = ForwardInput,
    responses((status = 201), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn api_forward(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<ForwardInput>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let v = fed::forward(&s.store, ctx.meta(), &s.node, &taken_by(&ctx), None, body.value).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// How the result is handed over at this node.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOverInput {
    /// `window` (collected here) or `electronic`.
    #[schema(value_type = String)]
    pub method: yiwang_core::cases::DeliveryMethod,
}

/// 结果送达权: hands over the result of a case the partner decided (an application taken
/// here), and tells the partner, which delivers and concludes its case.
#[utoipa::path(post, path = "/api/v1/federation/applications/{crossing_id}/deliver", tag = "federation",
    request_body = HandOverInput,
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem),
              (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn api_hand_over(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<HandOverInput>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        fed::hand_over(&s.store, ctx.meta(), &s.node, &id, body.value.method).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct CrossingQuery {
    /// `origin` (taken here for partners; default) or `competent` (taken by partners for
    /// this node's items).
    #[serde(default)]
    pub role: Option<String>,
}

/// The cases that cross nodes, newest first, with the status the other side reported.
#[utoipa::path(get, path = "/api/v1/federation/applications", tag = "federation", params(CrossingQuery),
    responses((status = 200, body = Vec<Object>), (status = 400, body = crate::error::Problem)))]
pub async fn api_crossings(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<CrossingQuery>,
) -> ApiResult<Json<Vec<CrossingRow>>> {
    let role = q.role.as_deref().unwrap_or("origin");
    if role != "origin" && role != "competent" {
        return Err(ApiError::bad_request(FieldError::new(
            "role",
            "federation.role",
            "role 只能是 origin 或 competent",
            "role is origin or competent",
        )));
    }
    Ok(Json(fed::crossings(&s.store, role, 200).await?))
}
