//! Bundle cases over HTTP (一网办理, 国办发〔2025〕24号): one status for the applicant
//! (every member's progress, the corrections of every department together), the lead
//! department's view with each member's clock, and the one delivery of every decided
//! result (统一出件). Every handler calls `yiwang_store::bundles`.

use super::*;
use yiwang_core::bundles::{BundleState, MemberState};
use yiwang_core::cases::{DeliveryMethod, PostDetail};
use yiwang_store::bundles::{BundleCase, BundleCaseView};

/// Whether the caller handles cases for the bundle case's lead department (its region's
/// window clerks, its reviewers and approvers).
async fn lead_staff(s: &AppState, ctx: &Ctx, c: &BundleCase) -> ApiResult<bool> {
    let d = yiwang_store::refdata::department(&s.store, &c.lead_department_id).await?;
    Ok(d.is_some_and(|d| {
        let t = Target::Department {
            id: d.id,
            region_code: d.region_code,
        };
        crate::access::authorize_any(&ctx.actor, crate::access::CASE_STAFF, &t).is_ok()
    }))
}

/// The bundle case for its applicant (or whoever acts for them) or the lead department's
/// staff; someone else's is not found rather than forbidden (no probing of numbers).
async fn visible(s: &AppState, ctx: &Ctx, id: &str, staff_only: bool) -> ApiResult<BundleCaseView> {
    let v = store::view(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("bundle case"))?;
    let own = !staff_only && ctx.principal().is_some_and(|p| p.key() == v.case.applicant);
    if !own && !lead_staff(s, ctx, &v.case).await? {
        return Err(ApiError::not_found("bundle case"));
    }
    Ok(v)
}

/// A bundle case's one status: every member with its state, its sub-case and that case's
/// promised date, the corrections its department asks for, and the bundle's own promised
/// date. For its applicant (or whoever acts for them), and for staff handling cases of the
/// lead department.
#[utoipa::path(get, path = "/api/v1/bundle-cases/{bundle_case_id}", tag = "bundles",
    responses((status = 200, body = Object), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn api_bundle_case(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let v = visible(&s, &ctx, &id, false).await?;
    Ok(Json(serde_json::to_value(v).map_err(|_| ApiError::internal())?))
}

/// The one delivery (统一出件).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverBody {
    pub method: DeliveryMethod,
    #[serde(default)]
    pub post: Option<PostDetail>,
}

/// Hands over every decided result of a bundle case at once (统一出件), by the lead
/// department's staff: each decided sub-case is delivered and concluded by the same method.
/// 422 `bundles.nothing_to_deliver` when no member awaits delivery.
#[utoipa::path(post, path = "/api/v1/bundle-cases/{bundle_case_id}/deliver", tag = "bundles",
    request_body = DeliverBody,
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn api_deliver(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<DeliverBody>,
) -> ApiResult<Json<serde_json::Value>> {
    visible(&s, &ctx, &id, true).await?;
    let b = body.value;
    let done = store::deliver(&s.store, &ctx.meta(), &id, b.method, b.post).await?;
    Ok(Json(serde_json::json!({ "id": id, "delivered": done })))
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "bundle_case.html")]
struct CasePage {
    base: Base,
    v: BundleCaseView,
    /// The lead department's view (sub-case links to the work pages, the delivery form).
    staff: bool,
    departments: BTreeMap<String, String>,
    problems: Vec<yiwang_core::FieldError>,
    done: Option<String>,
}
crate::page!(CasePage);

impl CasePage {
    fn department(&self, id: &str) -> String {
        self.departments.get(id).map_or_else(|| id.to_string(), String::clone)
    }
    fn case_link(&self, id: &str) -> String {
        if self.staff {
            format!("/work/cases/{id}")
        } else {
            format!("/me/cases/{id}")
        }
    }
    fn member_name(&self, key: &str) -> String {
        self.v
            .members
            .iter()
            .find(|m| m.member_key == key)
            .map_or(key.to_string(), |m| m.item_name.clone())
    }
    fn waiting_for(&self, after: &[String]) -> String {
        after
            .iter()
            .map(|k| self.member_name(k))
            .collect::<Vec<_>>()
            .join(self.base.lang.sep())
    }
    fn notice_url(&self, n: &yiwang_store::cases::Notice) -> String {
        let area = if self.staff { "work" } else { "me" };
        format!("/{area}/bundle-cases/{}/notices/{}/pdf", self.v.case.id, n.id)
    }
    fn deliverable(&self) -> bool {
        self.staff && self.v.state == BundleState::Decided
    }
    fn tone(&self, m: &MemberState) -> &'static str {
        match m {
            MemberState::Granted => "ok",
            MemberState::Refused | MemberState::Cancelled => "bad",
            _ => "warn",
        }
    }
}

async fn render(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    id: &str,
    staff: bool,
    problems: Vec<yiwang_core::FieldError>,
    done: Option<String>,
) -> ApiResult<Response> {
    let v = visible(s, ctx, id, staff).await?;
    let mut departments = BTreeMap::new();
    for d in v
        .members
        .iter()
        .map(|m| &m.department_id)
        .chain([&v.case.lead_department_id])
    {
        if !departments.contains_key(d) {
            departments.insert(d.clone(), department_name(s, d).await?);
        }
    }
    Ok(CasePage {
        base,
        v,
        staff,
        departments,
        problems,
        done,
    }
    .into_response())
}

pub(super) async fn my_case_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    render(&s, &ctx, base, &id, false, vec![], None).await
}

pub(super) async fn work_case_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    render(&s, &ctx, base, &id, true, vec![], None).await
}

/// The delivery form of the lead department's view.
pub(super) async fn work_deliver(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    visible(&s, &ctx, &id, true).await?;
    let get = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let Some(method) = DeliveryMethod::parse(&get("method")) else {
        let e = yiwang_core::FieldError::new(
            "method",
            "required",
            "请选择送达方式",
            "choose how the results are handed over",
        );
        return render(&s, &ctx, base, &id, true, vec![e], None).await;
    };
    let post = (method == DeliveryMethod::Post).then(|| PostDetail {
        address: get("address"),
        tracking_no: get("tracking_no"),
        payer: "government".into(),
    });
    match store::deliver(&s.store, &ctx.meta(), &id, method, post).await {
        Ok(done) => {
            let msg = base
                .lang
                .pick(
                    &format!("已统一送达 {} 项结果", done.len()),
                    &format!("{} results handed over together", done.len()),
                )
                .to_string();
            render(&s, &ctx, base, &id, true, vec![], Some(msg)).await
        }
        Err(e) => render(&s, &ctx, base, &id, true, ApiError::from(e).into_field_errors(), None).await,
    }
}

/// The bundle case's own documents (its receipt) as PDF, for its applicant.
pub(super) async fn my_notice_pdf(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((id, notice_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    visible(&s, &ctx, &id, false).await?;
    crate::cases::notice_pdf(&s, &id, &notice_id).await
}

/// The same for the lead department's staff.
pub(super) async fn work_notice_pdf(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((id, notice_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    visible(&s, &ctx, &id, true).await?;
    crate::cases::notice_pdf(&s, &id, &notice_id).await
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "work_bundle_cases.html")]
struct ListPage {
    base: Base,
    cases: Vec<BundleCase>,
}
crate::page!(ListPage);

impl ListPage {
    fn state(&self, s: &str) -> &'static str {
        BundleState::parse(s).map_or("—", |s| self.name(&s))
    }
}

/// The bundle cases the caller's department leads (牵头), newest first.
pub(super) async fn work_list_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    let cases = match &ctx.actor {
        yiwang_core::access::Actor::Staff { department_id, .. } => {
            store::bundle_cases_led(&s.store, department_id).await?
        }
        _ => vec![],
    };
    Ok(ListPage { base, cases }.into_response())
}
