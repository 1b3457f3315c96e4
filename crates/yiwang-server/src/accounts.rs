//! Accounts: registration (person; enterprise with its agent; assisted at a window), the
//! caller's own account, password, TOTP enrolment; staff and roles administration. API
//! and pages call the same store services.

use crate::AppState;
use crate::auth::{self, Ctx, EnrolForm, scope_region};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::i18n::Lang;
use crate::pages::Base;
use crate::pages::Page;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::FieldError;
use yiwang_core::access::{Permission, Target};
use yiwang_core::accounts::{LegalKind, LegalPersonInput, PersonInput, StaffInput};
use yiwang_core::mandates::{Mandate, Subject};
use yiwang_store::accounts::{self, RoleInfo, StaffInfo};
use yiwang_store::{auth as store_auth, datause, mandates};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_register))
        .routes(routes!(api_register_enterprise))
        .routes(routes!(api_assisted_register))
        .routes(routes!(api_assisted_enterprise))
        .routes(routes!(api_me))
        .routes(routes!(api_password))
        .routes(routes!(api_staff_list, api_staff_create))
        .routes(routes!(api_staff_one))
        .routes(routes!(api_staff_roles))
        .routes(routes!(api_staff_disabled))
        .routes(routes!(api_roles))
        .routes(routes!(api_role_set))
        .route("/register", get(register_page).post(register_form))
        .route("/account", get(account_page))
        .route("/account/password", post(password_form))
        .route("/account/totp", get(totp_page).post(totp_form))
        .route("/account/enterprise", post(enterprise_form))
        .route("/admin/staff", get(staff_page).post(staff_form))
        .route("/admin/staff/{account_id}/roles", post(staff_roles_form))
        .route("/admin/roles", get(roles_page))
        .route("/admin/roles/{role}", post(role_form))
}

// ------------------------------------------------------------------ API

/// Registers a natural person (self-service). Log in afterwards with the mobile number
/// or the resident ID number.
#[utoipa::path(post, path = "/api/v1/auth/register", request_body = PersonInput, tag = "accounts",
    responses((status = 201, description = "account_id, person_id"), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn api_register(
    State(s): State<AppState>,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    body: ApiJson<PersonInput>,
) -> ApiResult<(StatusCode, Json<accounts::Registered>)> {
    if !s.register_allowed(&ip) {
        return Err(crate::auth::too_many());
    }
    let r = accounts::register_self(&s.store, yiwang_store::Meta::actor("anonymous"), &body.value).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// A window clerk registers a person who is present (帮办), recorded as assisted.
#[utoipa::path(post, path = "/api/v1/assisted/persons", request_body = PersonInput, tag = "accounts",
    responses((status = 201), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_assisted_register(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<PersonInput>,
) -> ApiResult<(StatusCode, Json<accounts::Registered>)> {
    let clerk = ctx.account_id.clone().unwrap_or_else(|| ctx.ledger_actor());
    let meta = yiwang_store::Meta::actor(format!("{};assisted", ctx.ledger_actor()));
    let r = accounts::register_person(&s.store, meta, &body.value, Some(&clerk)).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// Registers an enterprise (or other legal person) with the caller as its agent (经办人).
#[utoipa::path(post, path = "/api/v1/auth/register-enterprise", request_body = LegalPersonInput, tag = "accounts",
    responses((status = 201), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_register_enterprise(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<LegalPersonInput>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let person = ctx
        .person_id
        .clone()
        .ok_or_else(|| ApiError::unauthorized("log in as a person"))?;
    let proof = if matches!(ctx.actor, yiwang_core::access::Actor::Root) {
        accounts::LegalProof::Administrator
    } else {
        accounts::LegalProof::Licence
    };
    let v = accounts::register_legal(&s.store, ctx.meta(), &body.value, &person, &proof).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistedEnterprise {
    /// The agent's resident ID number (a registered person, present at the window).
    pub agent_id_number: String,
    /// The enterprise as its business licence shows it.
    pub enterprise: LegalPersonInput,
}

/// A window clerk registers an enterprise for its agent after checking the business
/// licence and the authorisation in person; the check is recorded (`window:<clerk>`).
#[utoipa::path(post, path = "/api/v1/assisted/enterprises", request_body = AssistedEnterprise, tag = "accounts",
    responses((status = 201), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_assisted_enterprise(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<AssistedEnterprise>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let b = body.value;
    let agent = accounts::person_by_id_number(&s.store, &b.agent_id_number)
        .await?
        .ok_or_else(|| {
            ApiError::from(yiwang_store::StoreError::from(yiwang_core::DomainError::not_found(
                "agent_id_number",
                "经办人",
                "agent",
                "(this ID number)",
            )))
        })?;
    let proof = accounts::LegalProof::Window {
        clerk: ctx.ledger_actor(),
    };
    let meta = yiwang_store::Meta::actor(format!("{};assisted", ctx.ledger_actor()));
    let v = accounts::register_legal(&s.store, meta, &b.enterprise, &agent.id, &proof).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// The caller's own account.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub account_id: String,
    pub display_name: String,
    pub kind: String,
    /// The person's own data, masked (their own reads are not logged).
    #[schema(value_type = Option<Object>)]
    pub person: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub staff: Option<serde_json::Value>,
    pub permissions: Vec<Permission>,
    /// `person:ID` or `legal:ID` when acting for a principal.
    pub acting_for: Option<String>,
    pub acting_for_name: Option<String>,
    pub totp_enabled: bool,
    pub recovery_codes_left: usize,
}

async fn me(s: &AppState, ctx: &Ctx) -> ApiResult<Me> {
    let id = ctx.account_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let acc = accounts::account(&s.store.read, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let person = match &acc.person_id {
        Some(pid) => match accounts::person(&s.store.read, pid).await? {
            Some(p) => Some(serde_json::to_value(accounts::view(&s.store, &p, &[])?).unwrap_or_default()),
            None => None,
        },
        None => None,
    };
    let permissions = match &ctx.actor {
        yiwang_core::access::Actor::Staff { permissions, .. } => permissions.clone(),
        _ => vec![],
    };
    Ok(Me {
        account_id: acc.id.clone(),
        display_name: acc.display_name.clone(),
        kind: if acc.is_staff() { "staff" } else { "person" }.into(),
        person,
        staff: ctx
            .staff
            .as_ref()
            .map(|st| serde_json::to_value(st).unwrap_or_default()),
        permissions,
        acting_for: ctx.acting_for.as_ref().map(|(p, _)| p.key()),
        acting_for_name: ctx.acting_for.as_ref().map(|(_, n)| n.clone()),
        totp_enabled: acc.totp_enabled(),
        recovery_codes_left: acc.recovery_codes.len(),
    })
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)))]
pub async fn api_me(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Me>> {
    Ok(Json(me(&s, &ctx).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's password; other sessions are ended.
#[utoipa::path(put, path = "/api/v1/me/password", request_body = PasswordBody, tag = "accounts",
    responses((status = 204), (status = 422, body = crate::error::Problem)))]
pub async fn api_password(State(s): State<AppState>, ctx: Ctx, body: ApiJson<PasswordBody>) -> ApiResult<StatusCode> {
    change_password(&s, &ctx, &body.value.current_password, &body.value.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_password(s: &AppState, ctx: &Ctx, current: &str, new: &str) -> ApiResult<()> {
    let id = ctx.account_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    accounts::change_password(&s.store, ctx.meta(), &id, current, new).await?;
    let keep = ctx.session.as_ref().and_then(|x| x.id()).map(|i| i.to_string());
    store_auth::revoke_sessions(&s.store, ctx.meta(), &id, keep.as_deref()).await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/staff", tag = "accounts", responses((status = 200)))]
pub async fn api_staff_list(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<StaffInfo>>> {
    Ok(Json(staff_visible(&s, &ctx).await?))
}

/// Staff the caller may manage: their region and below (department-bound callers: their department).
async fn staff_visible(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<StaffInfo>> {
    let all = accounts::staff_in_region(&s.store.read, &scope_region(s, ctx)).await?;
    Ok(all
        .into_iter()
        .filter(|st| {
            ctx.actor
                .authorize(
                    Permission::StaffManage,
                    &Target::Department {
                        id: st.department_id.clone(),
                        region_code: st.region_code.clone(),
                    },
                )
                .is_ok()
        })
        .collect())
}

pub(crate) async fn department_target(s: &AppState, id: &str) -> ApiResult<Target> {
    let d = yiwang_store::orgs::department(&s.store.read, id)
        .await?
        .ok_or_else(|| {
            ApiError::from(yiwang_store::StoreError::from(yiwang_core::DomainError::not_found(
                "department_id",
                "部门",
                "department",
                id,
            )))
        })?;
    Ok(Target::Department {
        id: d.id,
        region_code: d.region_code,
    })
}

/// Creates a staff account in a department within the caller's scope.
#[utoipa::path(post, path = "/api/v1/staff", request_body = StaffInput, tag = "accounts",
    responses((status = 201), (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_staff_create(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<StaffInput>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let t = department_target(&s, &body.value.department_id).await?;
    ctx.require(Permission::StaffManage, &t)?;
    let v = accounts::create_staff(&s.store, ctx.meta(), &ctx.actor, &body.value).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(get, path = "/api/v1/staff/{account_id}", tag = "accounts", responses((status = 200), (status = 404, body = crate::error::Problem)))]
pub async fn api_staff_one(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<StaffInfo>> {
    accounts::staff(&s.store.read, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("staff member"))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesBody {
    pub roles: Vec<String>,
}

/// Replaces a staff member's roles (recorded in the security audit).
#[utoipa::path(put, path = "/api/v1/staff/{account_id}/roles", request_body = RolesBody, tag = "accounts",
    responses((status = 200), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_staff_roles(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<RolesBody>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        accounts::set_staff_roles(&s.store, ctx.meta(), &ctx.actor, &id, &body.value.roles).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisabledBody {
    pub disabled: bool,
}

/// Disables (ending its sessions) or re-enables a staff account.
#[utoipa::path(put, path = "/api/v1/staff/{account_id}/disabled", request_body = DisabledBody, tag = "accounts",
    responses((status = 200), (status = 403, body = crate::error::Problem)))]
pub async fn api_staff_disabled(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<DisabledBody>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        accounts::set_disabled(&s.store, ctx.meta(), &id, body.value.disabled).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "accounts", responses((status = 200)))]
pub async fn api_roles(State(s): State<AppState>) -> ApiResult<Json<Vec<RoleInfo>>> {
    Ok(Json(accounts::roles(&s.store.read).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub permissions: Vec<String>,
}

/// Sets the permissions a role carries (province-level administrators only).
#[utoipa::path(put, path = "/api/v1/roles/{role}", request_body = RoleBody, tag = "accounts",
    responses((status = 200), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_role_set(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(role): Path<String>,
    body: ApiJson<RoleBody>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        accounts::set_role_permissions(&s.store, ctx.meta(), &ctx.actor, &role, &body.value.permissions).await?,
    ))
}

// ------------------------------------------------------------------ pages

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "register.html")]
struct RegisterPage {
    base: Base,
    errors: Vec<FieldError>,
    name: String,
    id_number: String,
    phone: String,
    address: String,
    done: bool,
    /// A code was asked for (shown without saying whether the number can register).
    code_sent: bool,
}

crate::page!(RegisterPage);

async fn register_page(ctx: Ctx, mut base: Base) -> ApiResult<RegisterPage> {
    base.csrf = ctx.csrf().await;
    Ok(RegisterPage {
        base,
        errors: vec![],
        name: String::new(),
        id_number: String::new(),
        phone: String::new(),
        address: String::new(),
        done: false,
        code_sent: false,
    })
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    #[serde(default)]
    sms_code: String,
    /// `code`: text me a code; otherwise register.
    #[serde(default)]
    action: String,
}

async fn register_form(
    State(s): State<AppState>,
    crate::auth::ClientIp(ip): crate::auth::ClientIp,
    base: Base,
    Form(f): Form<RegisterForm>,
) -> ApiResult<Response> {
    if !s.register_allowed(&ip) {
        return Err(crate::auth::too_many());
    }
    let mut page = RegisterPage {
        base,
        errors: vec![],
        name: f.name.clone(),
        id_number: f.id_number.clone(),
        phone: f.phone.clone(),
        address: f.address.clone(),
        done: false,
        code_sent: false,
    };
    if f.action == "code" {
        let meta = yiwang_store::Meta::actor("anonymous");
        match yiwang_store::sms::request_code(&s.store, meta, &f.phone, yiwang_core::sms::Purpose::Register).await {
            Ok(()) => page.code_sent = true,
            Err(e) => {
                let e = ApiError::from(e);
                let status = e.status;
                page.errors = e.into_field_errors();
                return Ok((status, page).into_response());
            }
        }
        return Ok(page.into_response());
    }
    let input = PersonInput {
        name: f.name,
        id_number: f.id_number,
        phone: f.phone,
        address: Some(f.address).filter(|a| !a.trim().is_empty()),
        password: f.password,
        sms_code: Some(f.sms_code),
    };
    // Every mistake of the form at once: the fields, the repeated password, the code.
    if let Err(e) = yiwang_core::accounts::decide_person(
        &input,
        yiwang_core::accounts::PersonRefs {
            id_number_taken: false,
            phone_taken: false,
        },
    ) {
        page.errors = e.errors;
    }
    if input.password != f.password2 {
        page.errors.push(FieldError::new(
            "password2",
            "password.confirm",
            "两次输入的密码不一致",
            "the two passwords differ",
        ));
    }
    if input.sms_code.as_deref().is_none_or(|c| c.trim().is_empty()) {
        page.errors.push(FieldError::new(
            "sms_code",
            "required",
            "请填写短信验证码（先点「发送验证码」）",
            "enter the code texted to you (send it first)",
        ));
    }
    if !page.errors.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    match accounts::register_self(&s.store, yiwang_store::Meta::actor("anonymous"), &input).await {
        Ok(_) => {
            page.done = true;
            Ok(page.into_response())
        }
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status;
            page.errors = e.into_field_errors();
            Ok((status, page).into_response())
        }
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "account.html")]
struct AccountPage {
    base: Base,
    me: Me,
    sessions: Vec<auth::SessionView>,
    given: Vec<Mandate>,
    /// When acting for an enterprise: its name and the mandates it has given.
    principal_given: Option<(String, Vec<Mandate>)>,
    received: Vec<Mandate>,
    uses: Vec<yiwang_core::datause::DataUse>,
    errors: Vec<FieldError>,
    notice: Option<String>,
    today: String,
    legal_kinds: Vec<(&'static str, &'static str)>,
}

crate::page!(AccountPage);

impl AccountPage {
    fn person_field(&self, k: &str) -> String {
        self.me
            .person
            .as_ref()
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    }
    fn scope_text(&self, m: &Mandate) -> String {
        match &m.scope {
            yiwang_core::mandates::Scope::All => self.base.lang.pick("全部事项", "all services").into(),
            yiwang_core::mandates::Scope::Items(i) => i.join(", "),
        }
    }
    fn in_force(&self, m: &Mandate) -> bool {
        m.in_force(mandates::today())
    }
    fn fields_text(&self, u: &yiwang_core::datause::DataUse) -> String {
        u.fields
            .iter()
            .map(|f| {
                if self.base.lang == Lang::En {
                    f.name_en()
                } else {
                    f.name_zh()
                }
            })
            // Shared data read from the sharing catalogue, named as its owner names it.
            .chain(u.resources.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(self.base.lang.pick("、", ", "))
    }
    fn subject_key(&self, m: &Mandate) -> String {
        m.principal.key()
    }
    fn is_person(&self) -> bool {
        self.me.kind == "person"
    }
}

/// Renders the account page (used by the account forms to show errors in place).
pub async fn render_account(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> ApiResult<Response> {
    let me = me(s, ctx).await?;
    let (given, received, uses) = match &ctx.person_id {
        Some(pid) => (
            mandates::given(&s.store, &Subject::Person(pid.clone())).await?,
            mandates::received(&s.store, pid).await?,
            datause::of_person(&s.store, pid, 200).await?,
        ),
        None => (vec![], vec![], vec![]),
    };
    // An agent acting for an enterprise manages the enterprise's mandates too; they are
    // listed apart from the agent's own.
    let principal_given = match &ctx.acting_for {
        Some((p @ Subject::Legal(_), name)) => Some((name.clone(), mandates::given(&s.store, p).await?)),
        _ => None,
    };
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        AccountPage {
            sessions: auth::sessions_for_page(s, ctx).await?,
            legal_kinds: LegalKind::ALL
                .iter()
                .map(|k| {
                    (
                        k.as_str(),
                        if base.lang == Lang::En {
                            k.name_en()
                        } else {
                            k.name_zh()
                        },
                    )
                })
                .collect(),
            base,
            me,
            given,
            principal_given,
            received,
            uses,
            errors,
            notice,
            today: mandates::today().to_string(),
        },
    )
        .into_response())
}

async fn account_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    render_account(&s, &ctx, base, vec![], None).await
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn password_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<PasswordForm>,
) -> ApiResult<Response> {
    match change_password(&s, &ctx, &f.current_password, &f.new_password).await {
        Ok(()) => render_account(&s, &ctx, base, vec![], Some("password".into())).await,
        Err(e) => render_account(&s, &ctx, base, e.into_field_errors(), None).await,
    }
}

async fn totp_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    let id = ctx.account_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(
        auth::enrol_view(&s, base, &id, "/account/totp", "/account".into(), vec![])
            .await?
            .into_response(),
    )
}

async fn totp_form(State(s): State<AppState>, ctx: Ctx, base: Base, Form(f): Form<EnrolForm>) -> ApiResult<Response> {
    let id = ctx.account_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    match store_auth::totp_confirm(&s.store, &id, &f.totp_code).await {
        Ok(codes) => Ok(auth::EnrolPage {
            base,
            action: String::new(),
            next: "/account".into(),
            qr_svg: String::new(),
            secret_b32: String::new(),
            errors: vec![],
            recovery_codes: codes,
        }
        .into_response()),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status;
            Ok((
                status,
                auth::enrol_view(&s, base, &id, "/account/totp", "/account".into(), e.into_field_errors()).await?,
            )
                .into_response())
        }
    }
}

#[derive(Deserialize)]
struct EnterpriseForm {
    name: String,
    uscc: String,
    kind: String,
    legal_representative: String,
}

async fn enterprise_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<EnterpriseForm>,
) -> ApiResult<Response> {
    let person = ctx.person_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let Some(kind) = LegalKind::parse(&f.kind) else {
        let e = FieldError::new("kind", "type", "请选择单位类型", "choose the kind of organisation");
        return render_account(&s, &ctx, base, vec![e], None).await;
    };
    let input = LegalPersonInput {
        name: f.name,
        uscc: f.uscc,
        kind,
        legal_representative: f.legal_representative,
    };
    match accounts::register_legal(&s.store, ctx.meta(), &input, &person, &accounts::LegalProof::Licence).await {
        Ok(_) => render_account(&s, &ctx, base, vec![], Some("enterprise".into())).await,
        Err(e) => render_account(&s, &ctx, base, ApiError::from(e).into_field_errors(), None).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "admin_staff.html")]
struct StaffPage {
    base: Base,
    staff: Vec<StaffInfo>,
    roles: Vec<RoleInfo>,
    departments: Vec<yiwang_core::orgs::Department>,
    errors: Vec<FieldError>,
    created: Option<String>,
}

crate::page!(StaffPage);

impl StaffPage {
    fn role_name(&self, code: &str) -> String {
        self.roles
            .iter()
            .find(|r| r.code == code)
            .map(|r| {
                if self.base.lang == Lang::En {
                    r.name_en.clone()
                } else {
                    r.name_zh.clone()
                }
            })
            .unwrap_or_else(|| code.to_string())
    }
    fn has_role(&self, st: &StaffInfo, code: &str) -> bool {
        st.roles.iter().any(|r| r == code)
    }
}

async fn render_staff(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    errors: Vec<FieldError>,
    created: Option<String>,
) -> ApiResult<Response> {
    let departments = yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .filter(|d| {
            ctx.actor
                .authorize(
                    Permission::StaffManage,
                    &Target::Department {
                        id: d.id.clone(),
                        region_code: d.region_code.clone(),
                    },
                )
                .is_ok()
        })
        .collect();
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        StaffPage {
            base,
            staff: staff_visible(s, ctx).await?,
            roles: accounts::roles(&s.store.read).await?,
            departments,
            errors,
            created,
        },
    )
        .into_response())
}

async fn staff_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    render_staff(&s, &ctx, base, vec![], None).await
}

async fn staff_form(State(s): State<AppState>, ctx: Ctx, base: Base, body: axum::body::Bytes) -> ApiResult<Response> {
    let mut input = StaffInput {
        login: String::new(),
        name: String::new(),
        department_id: String::new(),
        roles: vec![],
        password: String::new(),
    };
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "login" => input.login = v.into_owned(),
            "name" => input.name = v.into_owned(),
            "department_id" => input.department_id = v.into_owned(),
            "role" => input.roles.push(v.into_owned()),
            "password" => input.password = v.into_owned(),
            _ => {}
        }
    }
    let result = async {
        let t = department_target(&s, &input.department_id).await?;
        ctx.require(Permission::StaffManage, &t)?;
        Ok::<_, ApiError>(accounts::create_staff(&s.store, ctx.meta(), &ctx.actor, &input).await?)
    }
    .await;
    match result {
        Ok(_) => render_staff(&s, &ctx, base, vec![], Some(input.login)).await,
        Err(e) => render_staff(&s, &ctx, base, e.into_field_errors(), None).await,
    }
}

async fn staff_roles_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let roles: Vec<String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| v.into_owned())
        .collect();
    match accounts::set_staff_roles(&s.store, ctx.meta(), &ctx.actor, &id, &roles).await {
        Ok(_) => Ok(Redirect::to("/admin/staff").into_response()),
        Err(e) => render_staff(&s, &ctx, base, ApiError::from(e).into_field_errors(), None).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    base: Base,
    roles: Vec<RoleInfo>,
    all: Vec<Permission>,
    can_edit: bool,
    errors: Vec<FieldError>,
}

crate::page!(RolesPage);

impl RolesPage {
    fn holds(&self, r: &RoleInfo, p: &Permission) -> bool {
        r.permissions.contains(p)
    }
}

async fn roles_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<RolesPage> {
    let can_edit = ctx
        .actor
        .authorize(
            Permission::RoleManage,
            &Target::Region {
                code: s.home_region.clone(),
            },
        )
        .is_ok();
    Ok(RolesPage {
        base,
        roles: accounts::roles(&s.store.read).await?,
        all: Permission::ALL.to_vec(),
        can_edit,
        errors: vec![],
    })
}

async fn role_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(role): Path<String>,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let perms: Vec<String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "permission")
        .map(|(_, v)| v.into_owned())
        .collect();
    match accounts::set_role_permissions(&s.store, ctx.meta(), &ctx.actor, &role, &perms).await {
        Ok(_) => Ok(Redirect::to("/admin/roles").into_response()),
        Err(e) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            RolesPage {
                base,
                roles: accounts::roles(&s.store.read).await?,
                all: Permission::ALL.to_vec(),
                can_edit: true,
                errors: ApiError::from(e).into_field_errors(),
            },
        )
            .into_response()),
    }
}
