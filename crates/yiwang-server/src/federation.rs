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
        .routes(routes!(api_offers))
        .routes(routes!(api_set_offer, api_remove_offer))
        .routes(routes!(api_forward, api_crossings))
        .route("/work/federation", axum::routing::get(admin_page))
        .route("/work/federation/agreements", axum::routing::post(propose_form))
        .route(
            "/work/federation/agreements/{agreement_id}",
            axum::routing::post(decide_form),
        )
        .route("/work/federation/offers", axum::routing::post(offer_form))
        .route(
            "/work/federation/envelopes/{envelope_id}/retry",
            axum::routing::post(retry_form),
        )
        .route(
            "/work/federation/forward",
            axum::routing::get(forward_page).post(forward_form),
        )
        .route("/work/federation/cases", axum::routing::get(cases_page))
        .route("/kuayu", axum::routing::get(zone_page))
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

async fn propose(s: &AppState, ctx: &Ctx, input: ProposeInput) -> ApiResult<serde_json::Value> {
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

fn action_of(a: &str) -> ApiResult<AgreementAction> {
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

async fn all_offers(s: &AppState) -> ApiResult<Offers> {
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
fn taken_by(ctx: &Ctx) -> String {
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

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

/// An offer's modes in the page's language.
fn modes_of(base: &Base, o: &Offer) -> String {
    o.modes.iter().map(|m| base.lang.name(m)).collect::<Vec<_>>().join("、")
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation.html")]
struct AdminPage {
    base: Base,
    node: NodeDoc,
    fingerprint: String,
    agreements: Vec<Agreement>,
    offers: Offers,
    log: Vec<LogLine>,
    errors: Vec<FieldError>,
    values: Fields,
}
crate::page!(AdminPage);

impl AdminPage {
    fn val(&self, k: &str) -> String {
        field(&self.values, k).to_string()
    }
    fn rights(&self, a: &Agreement, grantor: &str) -> String {
        let names: Vec<&str> = a
            .terms
            .grants
            .iter()
            .filter(|g| g.grantor == grantor)
            .map(|g| self.base.lang.name(&g.right))
            .collect();
        if names.is_empty() {
            "—".into()
        } else {
            names.join("、")
        }
    }
    fn modes(&self, o: &Offer) -> String {
        modes_of(&self.base, o)
    }
    fn all_rights(&self) -> &'static [Right] {
        Right::ALL
    }
    fn all_modes(&self) -> &'static [Mode] {
        Mode::ALL
    }
}

async fn render_admin(s: &AppState, base: Base, errors: Vec<FieldError>, values: Fields) -> ApiResult<Response> {
    let node = fed::node_doc(&s.store, &s.node).await?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        AdminPage {
            base,
            fingerprint: fed::fingerprint(&node.public_key),
            node,
            agreements: fed::agreements(&s.store).await?,
            offers: all_offers(s).await?,
            log: fed::log(&s.store, 50).await?,
            errors,
            values,
        },
    )
        .into_response())
}

async fn admin_page(State(s): State<AppState>, base: Base) -> ApiResult<Response> {
    render_admin(&s, base, vec![], vec![]).await
}

fn rights_in(f: &Fields, prefix: &str) -> Vec<Right> {
    f.iter()
        .filter(|(k, _)| k == prefix)
        .filter_map(|(_, v)| Right::parse(v))
        .collect()
}

async fn propose_form(State(s): State<AppState>, ctx: Ctx, base: Base, Form(f): Form<Fields>) -> ApiResult<Response> {
    let until = field(&f, "valid_until").trim().parse::<chrono::NaiveDate>();
    let limit = ForwardLimit::parse(field(&f, "forward_limit"));
    let (Ok(valid_until), Some(forward_limit)) = (until, limit) else {
        let e = FieldError::new(
            "valid_until",
            "date.format",
            "日期格式应为 YYYY-MM-DD",
            "a date is YYYY-MM-DD",
        );
        return render_admin(&s, base, vec![e], f).await;
    };
    let input = ProposeInput {
        partner_endpoint: field(&f, "partner_endpoint").to_string(),
        grant: rights_in(&f, "grant"),
        ask: rights_in(&f, "ask"),
        items: vec![],
        forward_limit,
        valid_until,
    };
    match propose(&s, &ctx, input).await {
        Ok(_) => Ok(Redirect::to("/work/federation#agreements").into_response()),
        Err(e) => render_admin(&s, base, e.into_field_errors(), f).await,
    }
}

async fn decide_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let r = match action_of(field(&f, "action")) {
        Ok(a) => fed::decide(&s.store, ctx.meta(), &s.node, &id, a, Some(field(&f, "reason")))
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => Ok(Redirect::to("/work/federation#agreements").into_response()),
        Err(e) => render_admin(&s, base, e.into_field_errors(), f).await,
    }
}

async fn offer_form(State(s): State<AppState>, ctx: Ctx, base: Base, Form(f): Form<Fields>) -> ApiResult<Response> {
    let code = field(&f, "item_code").trim().to_string();
    let modes: Vec<Mode> = f
        .iter()
        .filter(|(k, _)| k == "mode")
        .filter_map(|(_, v)| Mode::parse(v))
        .collect();
    let r = if field(&f, "remove") == "1" {
        fed::remove_offer(&s.store, ctx.meta(), &s.node, &code).await
    } else {
        fed::set_offer(&s.store, ctx.meta(), &s.node, &code, modes).await
    };
    match r {
        Ok(_) => Ok(Redirect::to("/work/federation#offers").into_response()),
        Err(e) => render_admin(&s, base, ApiError::from(e).into_field_errors(), f).await,
    }
}

async fn retry_form(State(s): State<AppState>, ctx: Ctx, base: Base, Path(id): Path<String>) -> ApiResult<Response> {
    match fed::retry_envelope(&s.store, ctx.meta(), &id).await {
        Ok(_) => Ok(Redirect::to("/work/federation#log").into_response()),
        Err(e) => render_admin(&s, base, ApiError::from(e).into_field_errors(), vec![]).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation_zone.html")]
struct ZonePage {
    base: Base,
    q: String,
    offers: Offers,
}
crate::page!(ZonePage);

impl ZonePage {
    fn modes(&self, o: &Offer) -> String {
        modes_of(&self.base, o)
    }
    fn guide(&self, o: &Offer) -> String {
        o.detail["guide"].as_str().unwrap_or_default().to_string()
    }
}

#[derive(Debug, Default, Deserialize)]
struct ZoneQuery {
    #[serde(default)]
    q: String,
}

/// 跨域通办专区: the items partners offer (with the competent node's guide) and this
/// node's own, filtered by words of the name or department.
async fn zone_page(State(s): State<AppState>, base: Base, ApiQuery(q): ApiQuery<ZoneQuery>) -> ApiResult<Response> {
    let mut offers = all_offers(&s).await?;
    let words: Vec<String> = q.q.split_whitespace().map(str::to_string).collect();
    let hit = |o: &Offer| {
        words
            .iter()
            .all(|w| o.name.contains(w.as_str()) || o.department.contains(w.as_str()))
    };
    offers.own.retain(|o| hit(o));
    offers.partners.retain(|p| hit(&p.offer));
    Ok(ZonePage { base, q: q.q, offers }.into_response())
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation_forward.html")]
struct ForwardPage {
    base: Base,
    node: String,
    node_name: String,
    offer: Option<Offer>,
    partners: Vec<PartnerOffer>,
    sample: String,
    errors: Vec<FieldError>,
    values: Fields,
}
crate::page!(ForwardPage);

impl ForwardPage {
    fn val(&self, k: &str) -> String {
        let v = field(&self.values, k);
        if v.is_empty() && k == "application" {
            return self.sample.clone();
        }
        v.to_string()
    }
    fn modes(&self, o: &Offer) -> String {
        modes_of(&self.base, o)
    }
    fn materials(&self) -> Vec<(String, String)> {
        self.offer
            .as_ref()
            .and_then(|o| o.detail["materials"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|m| {
                (
                    m["key"].as_str().unwrap_or_default().to_string(),
                    m["name"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
struct ForwardQuery {
    #[serde(default)]
    node: String,
    #[serde(default)]
    item: String,
}

async fn render_forward(
    s: &AppState,
    base: Base,
    node: &str,
    item: &str,
    errors: Vec<FieldError>,
    values: Fields,
) -> ApiResult<Response> {
    let partners: Vec<PartnerOffer> = all_offers(s)
        .await?
        .partners
        .into_iter()
        .filter(|p| p.offer.modes.contains(&Mode::Proxy))
        .collect();
    let picked = partners.iter().find(|p| p.node == node && p.offer.item_code == item);
    let sample = picked
        .map(|p| serde_json::to_string_pretty(&p.offer.detail["sample"]).unwrap_or_default())
        .filter(|v| v != "null")
        .unwrap_or_else(|| "{}".into());
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        ForwardPage {
            base,
            node: node.to_string(),
            node_name: picked.map(|p| p.node_name.clone()).unwrap_or_default(),
            offer: picked.map(|p| p.offer.clone()),
            partners,
            sample,
            errors,
            values,
        },
    )
        .into_response())
}

async fn forward_page(
    State(s): State<AppState>,
    base: Base,
    ApiQuery(q): ApiQuery<ForwardQuery>,
) -> ApiResult<Response> {
    render_forward(&s, base, &q.node, &q.item, vec![], vec![]).await
}

async fn forward_form(State(s): State<AppState>, ctx: Ctx, base: Base, Form(f): Form<Fields>) -> ApiResult<Response> {
    let node = field(&f, "node").to_string();
    let item = field(&f, "item_code").to_string();
    let application = match serde_json::from_str::<serde_json::Value>(field(&f, "application")) {
        Ok(v) => v,
        Err(e) => {
            let err = FieldError::new(
                "application",
                "json",
                format!("申请内容不是有效的 JSON：{e}"),
                format!("the application is not valid JSON: {e}"),
            );
            return render_forward(&s, base, &node, &item, vec![err], f).await;
        }
    };
    let input = ForwardInput {
        partner: node.clone(),
        item_code: item.clone(),
        mode: Mode::Proxy,
        applicant: yiwang_core::federation::ForwardedApplicant {
            name: field(&f, "name").trim().to_string(),
            id_number: field(&f, "id_number").trim().to_uppercase(),
            phone: field(&f, "phone").trim().to_string(),
            verified_by: "window".into(),
        },
        application,
        scans: vec![],
        originals_checked: field(&f, "originals_checked") == "1",
        accept_on_behalf: field(&f, "accept_on_behalf") == "1",
    };
    match fed::forward(&s.store, ctx.meta(), &s.node, &taken_by(&ctx), None, input).await {
        Ok(v) => {
            let id = v["id"].as_str().unwrap_or_default();
            Ok(Redirect::to(&format!("/work/federation/cases#c-{id}")).into_response())
        }
        Err(e) => render_forward(&s, base, &node, &item, ApiError::from(e).into_field_errors(), f).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "federation_cases.html")]
struct CasesPage {
    base: Base,
    origin: Vec<CrossingRow>,
    competent: Vec<CrossingRow>,
}
crate::page!(CasesPage);

impl CasesPage {
    fn status_label(&self, c: &CrossingRow) -> String {
        let st = &c.detail["status"];
        match (st["label_zh"].as_str(), st["label_en"].as_str()) {
            (Some(zh), Some(en)) => self.base.lang.pick(zh, en).to_string(),
            _ => match c.state.as_str() {
                "forwarded" => self
                    .base
                    .lang
                    .pick("已转递，待对方收件", "forwarded, awaiting the partner")
                    .into(),
                other => other.to_string(),
            },
        }
    }
    fn problems(&self, c: &CrossingRow) -> Vec<String> {
        c.detail["status"]["problems"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|p| {
                format!(
                    "{}: {}",
                    p["field"].as_str().unwrap_or_default(),
                    self.base.lang.pick(
                        p["zh"].as_str().unwrap_or_default(),
                        p["en"].as_str().unwrap_or_default()
                    )
                )
            })
            .collect()
    }
    fn forward_by(&self, c: &CrossingRow) -> String {
        c.forward_by.map(|d| d.to_string()).unwrap_or_default()
    }
}

async fn cases_page(State(s): State<AppState>, base: Base) -> ApiResult<Response> {
    Ok(CasesPage {
        base,
        origin: fed::crossings(&s.store, "origin", 100).await?,
        competent: fed::crossings(&s.store, "competent", 100).await?,
    }
    .into_response())
}
