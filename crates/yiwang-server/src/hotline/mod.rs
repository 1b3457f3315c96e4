//! 12345 over HTTP (国办发〔2020〕53号, GB/T 33358-2016; STANDARDS §8): the public form and
//! follow page, the agent console and the centre's board, the unit's inbox, a ticket's page
//! with its steps, the dispatch catalogue. Every handler calls `yiwang_store::hotline`; the
//! centre (hotline_dispatch over the ticket's region) and the unit (hotline_handle over its
//! department) are told apart here.

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::access::{Permission, Target};
use yiwang_core::hotline::{self as core, Action, DispatchEntry, Party, TicketInput};
use yiwang_store::hotline::{self as store, Progress, Ticket};

mod figures;
mod knowledge;
mod pages;
pub use knowledge::*;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_submit))
        .routes(routes!(api_receive))
        .routes(routes!(api_follow))
        .routes(routes!(api_board))
        .routes(routes!(api_inbox))
        .routes(routes!(api_ticket))
        .routes(routes!(api_act))
        .routes(routes!(api_catalog, api_set_catalog))
        .route(
            "/hotline",
            axum::routing::get(pages::public_page).post(pages::public_form),
        )
        .route("/hotline/follow", axum::routing::get(pages::follow_page))
        .merge(knowledge::routes())
        .merge(figures::routes())
        .route(
            "/work/hotline",
            axum::routing::get(pages::console_page).post(pages::console_form),
        )
        .route("/work/hotline/inbox", axum::routing::get(pages::inbox_page))
        .route(
            "/work/hotline/tickets/{ticket_id}",
            axum::routing::get(pages::ticket_page).post(pages::ticket_form),
        )
}

// ---------------------------------------------------------------------------------------
// The service functions the API and the pages share
// ---------------------------------------------------------------------------------------

/// A request from the public form (channel 网站), no login needed: ten a minute from one
/// address (the registration limit, GB/T 22239-2019 §8.1.4.1), so a script cannot flood the
/// centre's board.
pub(crate) async fn submit(s: &AppState, ctx: &Ctx, ip: &str, input: &TicketInput) -> ApiResult<yiwang_store::Written> {
    if !s.register_allowed(&format!("hotline:{ip}")) {
        return Err(crate::auth::too_many());
    }
    let how = store::Received {
        channel: core::Channel::Web,
        channel_from_input: false,
        by: ctx.ledger_actor(),
        centre_region: s.home_region.clone(),
        terms: terms(s, &input.content),
        at: None,
    };
    Ok(store::receive(&s.store, ctx.meta(), input, how).await?)
}

/// A request an agent takes (a call, a letter from the mailbox, a form typed in).
pub(crate) async fn receive(s: &AppState, ctx: &Ctx, input: &TicketInput) -> ApiResult<yiwang_store::Written> {
    // The agent's region must hold the matter's (checked against the body's region).
    ctx.require(
        Permission::HotlineDispatch,
        &Target::Region {
            code: input.region_code.clone(),
        },
    )
    .or_else(|e| {
        // An unknown region is the input's problem, reported on its field by the store.
        if input.region_code.is_empty() || !input.region_code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    let how = store::Received {
        channel: core::Channel::Phone,
        channel_from_input: true,
        by: ctx.ledger_actor(),
        centre_region: s.home_region.clone(),
        terms: terms(s, &input.content),
        at: None,
    };
    Ok(store::receive(&s.store, ctx.meta(), input, how).await?)
}

/// A matter's words, segmented as the search segments (duplicates, hotspots).
pub(crate) fn terms(s: &AppState, content: &str) -> Vec<String> {
    let text: String = content.chars().take(core::CONTENT_MAX).collect();
    core::matter_terms(s.search.tokens(&text))
}

fn may(ctx: &Ctx, p: Permission, t: &Target) -> bool {
    ctx.actor.authorize(p, t).is_ok()
}

fn region(t: &Ticket) -> Target {
    Target::Region {
        code: t.region_code.clone(),
    }
}

async fn department(s: &AppState, id: &str) -> ApiResult<Option<Target>> {
    Ok(yiwang_store::refdata::department(&s.store, id)
        .await?
        .map(|d| Target::Department {
            id: d.id,
            region_code: d.region_code,
        }))
}

/// How the caller stands to a ticket: the centre of its region, or an officer of its main
/// unit, of an assisting unit or of the superior a late ticket was escalated to; else none.
pub(crate) async fn role_of(s: &AppState, ctx: &Ctx, t: &Ticket) -> ApiResult<Option<(Party, &'static str)>> {
    if may(ctx, Permission::HotlineDispatch, &region(t)) {
        return Ok(Some((Party::Centre, "centre")));
    }
    for (d, role) in store::ticket_units(&s.store, &t.id).await? {
        if let Some(target) = department(s, &d).await?
            && may(ctx, Permission::HotlineHandle, &target)
        {
            return Ok(Some(match role.as_str() {
                "main" => (Party::Unit, "main"),
                "assisting" => (Party::Assisting, "assisting"),
                _ => (Party::Unit, "superior"),
            }));
        }
    }
    Ok(None)
}

/// A ticket the caller may see, and how they stand to it; else not found.
pub(crate) async fn visible(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<(Ticket, Party, &'static str)> {
    let t = store::ticket(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket"))?;
    match role_of(s, ctx, &t).await? {
        Some((p, r)) => Ok((t, p, r)),
        None => Err(ApiError::not_found("ticket")),
    }
}

/// A step on a ticket: the unit's steps (退单, 延期, 回复) by the main unit's officer, 协办
/// by an assisting unit's, the others by the centre of the ticket's region.
pub(crate) async fn act(s: &AppState, ctx: &Ctx, id: &str, action: Action) -> ApiResult<yiwang_store::Written> {
    let (t, _, role) = visible(s, ctx, id).await?;
    let party = match action {
        Action::Assist { .. } => {
            if role != "assisting" {
                return Err(crate::error::forbidden_error(
                    "hotline.party",
                    "只有协办单位提交协办意见".into(),
                    "assistance is given by an assisting unit".into(),
                ));
            }
            Party::Assisting
        }
        Action::Dispute { .. } | Action::Reply { .. } | Action::Extend { .. } => {
            let main = match t.department_id.as_deref() {
                Some(d) => department(s, d).await?,
                None => None,
            };
            match main {
                Some(target) => ctx.require(Permission::HotlineHandle, &target)?,
                None => return Err(ApiError::not_found("ticket")),
            }
            Party::Unit
        }
        _ => {
            ctx.require(Permission::HotlineDispatch, &region(&t))?;
            Party::Centre
        }
    };
    Ok(store::act(&s.store, ctx.meta(), id, party, action).await?)
}

/// The region a centre's lists and figures cover: a staff member's own, else the province.
pub(crate) fn centre_region(s: &AppState, ctx: &Ctx) -> String {
    ctx.staff
        .as_ref()
        .map(|st| st.region_code.clone())
        .unwrap_or_else(|| s.home_region.clone())
}

/// The centre's board: to dispatch, sent back, to call back, in the caller's region.
pub(crate) async fn board(s: &AppState, ctx: &Ctx) -> ApiResult<HotlineBoard> {
    let region = centre_region(s, ctx);
    let list = |states: &'static [core::State]| {
        let region = region.clone();
        async move { store::centre_tickets(&s.store, states, &region, 200).await }
    };
    Ok(HotlineBoard {
        received: list(&[core::State::Received]).await?,
        disputed: list(&[core::State::Disputed]).await?,
        replied: list(&[core::State::Replied]).await?,
    })
}

/// The unit's inbox: the tickets of the caller's department being handled.
pub(crate) async fn inbox(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<Ticket>> {
    let d = ctx
        .staff
        .as_ref()
        .map(|st| st.department_id.clone())
        .ok_or_else(|| ApiError::not_found("department"))?;
    Ok(store::unit_tickets(&s.store, &d, 200).await?)
}

// ---------------------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------------------

/// A request from the public (网站): the ticket number comes back at once; follow it with
/// the number and the phone given. Not for emergencies (110/119/120/122).
#[utoipa::path(post, path = "/api/v1/hotline/tickets", tag = "hotline", request_body = TicketInput,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
pub async fn api_submit(
    State(s): State<AppState>,
    ctx: Ctx,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    body: ApiJson<TicketInput>,
) -> ApiResult<Response> {
    Ok(crate::cases::created(submit(&s, &ctx, &ip, &body.value).await?))
}

/// An agent receives a request (受理): a call, a letter, a form typed in; or records where a
/// request outside 12345 was directed (`redirect`). Repeating a `request_id` returns the
/// ticket it made.
#[utoipa::path(post, path = "/api/v1/hotline/centre/tickets", tag = "hotline", request_body = TicketInput,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn api_receive(State(s): State<AppState>, ctx: Ctx, body: ApiJson<TicketInput>) -> ApiResult<Response> {
    Ok(crate::cases::created(receive(&s, &ctx, &body.value).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FollowQuery {
    /// The ticket number.
    pub id: String,
    /// The phone number given with the request.
    pub phone: String,
}

/// A ticket's progress by its number and the caller's phone (a wrong phone is not found).
#[utoipa::path(get, path = "/api/v1/hotline/follow", tag = "hotline", params(FollowQuery),
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn api_follow(State(s): State<AppState>, ApiQuery(q): ApiQuery<FollowQuery>) -> ApiResult<Json<Progress>> {
    store::follow(&s.store, q.id.trim(), &q.phone)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("ticket"))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HotlineBoard {
    #[schema(value_type = Vec<Object>)]
    pub received: Vec<Ticket>,
    #[schema(value_type = Vec<Object>)]
    pub disputed: Vec<Ticket>,
    #[schema(value_type = Vec<Object>)]
    pub replied: Vec<Ticket>,
}

/// The centre's board: tickets to dispatch, sent back by their units, answered and to be
/// called back — of the caller's region, oldest first.
#[utoipa::path(get, path = "/api/v1/hotline/board", tag = "hotline",
    responses((status = 200, body = HotlineBoard), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn api_board(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<HotlineBoard>> {
    Ok(Json(board(&s, &ctx).await?))
}

/// The unit's inbox: tickets dispatched to the caller's department, earliest deadline first.
#[utoipa::path(get, path = "/api/v1/hotline/inbox", tag = "hotline",
    responses((status = 200, body = Vec<Object>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn api_inbox(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<Ticket>>> {
    Ok(Json(inbox(&s, &ctx).await?))
}

/// A ticket as staff see it, with the catalogue's suggested units; the caller's name and
/// phone for the centre, and for the unit unless the caller asked for confidentiality.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketView {
    #[schema(value_type = Object)]
    pub ticket: Ticket,
    /// centre, unit or assisting: who is looking.
    #[schema(value_type = String)]
    pub party: Party,
    /// centre, main, assisting or superior.
    pub role: String,
    /// The units that see it: (department, main / assisting / superior).
    pub units: Vec<(String, String)>,
    pub caller_name: Option<String>,
    pub caller_phone: Option<String>,
    pub overdue: bool,
    /// The traffic light of the handling limit (green, yellow, red) while a unit has it.
    #[schema(value_type = Option<String>)]
    pub light: Option<yiwang_core::cases::Light>,
    #[schema(value_type = Vec<Object>)]
    pub suggestions: Vec<DispatchEntry>,
    /// For the centre, a ticket to dispatch: the units that handled closed tickets like it
    /// (unit, how many).
    pub past_units: Vec<(String, u32)>,
    /// For the centre, a ticket not yet dispatched: open tickets like it (并单 candidates).
    #[schema(value_type = Vec<Object>)]
    pub duplicates: Vec<store::Duplicate>,
    /// The tickets merged into this one.
    #[schema(value_type = Vec<Object>)]
    pub merged: Vec<Ticket>,
    /// For the centre, a consultation not yet answered: knowledge-base articles for it.
    #[schema(value_type = Vec<Object>)]
    pub articles: Vec<yiwang_search::KbHit>,
}

pub(crate) async fn view(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<TicketView> {
    let (t, party, role) = visible(s, ctx, id).await?;
    let caller = store::caller_seen(&s.store, ctx.meta(), &ctx.reader(), id, party).await?;
    let centre = party == Party::Centre;
    let suggestions = if centre {
        store::suggestions(&s.store, &t).await?
    } else {
        vec![]
    };
    let past_units = if centre && matches!(t.state, core::State::Received | core::State::Disputed) {
        store::past_units(&s.store, &t).await?
    } else {
        vec![]
    };
    let duplicates = if centre && t.state == core::State::Received {
        store::duplicates(&s.store, &t).await?
    } else {
        vec![]
    };
    let articles = if centre && t.state == core::State::Received && t.category == core::Category::Consult {
        knowledge::find(s, &t.content, Some(&t.region_code), 5).await?.articles
    } else {
        vec![]
    };
    Ok(TicketView {
        duplicates,
        articles,
        merged: store::merged_from(&s.store, id).await?,
        role: role.to_string(),
        units: store::ticket_units(&s.store, id).await?,
        overdue: t.overdue(yiwang_store::now_ms()),
        light: t.light(yiwang_store::now_ms()),
        past_units,
        caller_name: caller.as_ref().map(|c| c.0.clone()),
        caller_phone: caller.map(|c| c.1),
        ticket: t,
        party,
        suggestions,
    })
}

/// One ticket with its steps.
#[utoipa::path(get, path = "/api/v1/hotline/tickets/{ticket_id}", tag = "hotline",
    responses((status = 200, body = TicketView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn api_ticket(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<TicketView>> {
    Ok(Json(view(&s, &ctx, &id).await?))
}

/// A step: `dispatch` (派单 to the main unit and assisting ones, or 改派 after a dispute),
/// `answer` (a consultation answered at once, citing a knowledge-base article), `merge`
/// (并单 into an open ticket on the same matter), `dispute` (退单, the unit, within its
/// limit), `reject_dispute`, `extend` (延期, the unit) and `decide_extension` (the centre),
/// `assist` (协办, an assisting unit), `supervise` (督办), `reply` (the unit), `call_back`
/// (回访 with resolved and satisfaction), `reopen` (重办).
#[utoipa::path(post, path = "/api/v1/hotline/tickets/{ticket_id}/actions", tag = "hotline", request_body = Action,
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn api_act(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<Action>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(act(&s, &ctx, &id, body.value).await?.value))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DispatchCatalog {
    #[serde(default)]
    pub version: i64,
    pub entries: Vec<DispatchEntry>,
}

/// The dispatch catalogue in force (派单目录): matter × region → the unit whose duty it is.
#[utoipa::path(get, path = "/api/v1/hotline/catalog", tag = "hotline",
    responses((status = 200, body = DispatchCatalog), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn api_catalog(State(s): State<AppState>) -> ApiResult<Json<DispatchCatalog>> {
    let (version, entries) = store::catalog(&s.store).await?;
    Ok(Json(DispatchCatalog { version, entries }))
}

/// Publishes a new version of the dispatch catalogue (the province's centre).
#[utoipa::path(put, path = "/api/v1/hotline/catalog", tag = "hotline", request_body = DispatchCatalog,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn api_set_catalog(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<DispatchCatalog>,
) -> ApiResult<Response> {
    let w = store::set_catalog(&s.store, ctx.meta(), body.value.entries).await?;
    Ok(crate::cases::created(w))
}
