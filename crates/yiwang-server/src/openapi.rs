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
        crate::auth::api_login, crate::auth::api_logout, crate::auth::api_logout_everywhere, crate::auth::api_sessions, crate::auth::api_revoke_session, crate::auth::api_create_token, crate::auth::api_tokens, crate::auth::api_revoke_token,
        crate::accounts::api_register, crate::accounts::api_assisted_register, crate::accounts::api_assisted_enterprise, crate::accounts::api_register_enterprise, crate::accounts::api_me, crate::accounts::api_password, crate::accounts::api_staff_list, crate::accounts::api_staff_create, crate::accounts::api_staff_one, crate::accounts::api_staff_roles, crate::accounts::api_staff_disabled, crate::accounts::api_roles, crate::accounts::api_role_set,
        crate::mandates::api_list, crate::mandates::api_grant, crate::mandates::api_revoke, crate::mandates::api_acting_for,
        crate::datause::api_mine, crate::datause::api_find, crate::datause::api_one, crate::datause::api_unmask,
        crate::catalog::api_search, crate::catalog::api_guide, crate::catalog::api_materials, crate::catalog::api_list, crate::catalog::api_data_elements, crate::catalog::api_save_data_element, crate::catalog::api_entries, crate::catalog::api_review, crate::catalog::api_create_basic, crate::catalog::api_create_item, crate::catalog::api_entry, crate::catalog::api_version, crate::catalog::api_diff, crate::catalog::api_history, crate::catalog::api_save_draft, crate::catalog::api_submit, crate::catalog::api_recall, crate::catalog::api_discard, crate::catalog::api_publish, crate::catalog::api_return, crate::catalog::api_differences, crate::catalog::api_import, crate::catalog::api_export,
        crate::files::api_upload,
        crate::files::staff_case_file,
        crate::files::my_case_file,
        crate::sms::api_request_code,
        crate::sms::api_sms_login,
        crate::sms::api_reset,
        crate::seals::api_list, crate::seals::api_make, crate::seals::api_one, crate::seals::api_rotate, crate::seals::api_revoke,
        crate::seals::api_trust_list, crate::seals::api_trusted, crate::seals::api_import, crate::seals::api_distrust,
        crate::licences::api_types, crate::licences::api_define_type, crate::licences::api_issue, crate::licences::api_issued,
        crate::licences::api_licence, crate::licences::api_status, crate::licences::api_annotate, crate::licences::api_use,
        crate::licences::api_wallet, crate::licences::api_mine, crate::licences::api_present, crate::licences::api_grant,
        crate::licences::api_revoke_grant, crate::licences::api_covered, crate::licences::api_verify, crate::licences::api_verify_id,
        crate::licences::api_presentation,
        crate::cases::api_submit, crate::cases::api_window_submit, crate::cases::api_import, crate::cases::api_my_cases, crate::cases::api_my_case,
        crate::cases::api_my_action, crate::cases::api_resubmit, crate::cases::api_save_draft, crate::cases::api_drafts,
        crate::cases::api_notifications, crate::cases::api_upload, crate::cases::api_inbox, crate::cases::api_case,
        crate::cases::api_action, crate::cases::api_complete_task,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldProblem)),
    modifiers(&AdminToken),
    tags((name = "regions"), (name = "orgs", description = "departments, halls, windows"), (name = "calendar", description = "working days"), (name = "ledger"), (name = "audit"),
        (name = "auth", description = "login, sessions, API tokens"), (name = "accounts", description = "persons, enterprises, staff, roles"),
        (name = "mandates", description = "代办授权"), (name = "datause", description = "reading personal data, and the person's data-use log"),
        (name = "catalog", description = "service catalogue: search, guides, lists, versions and review, import and export"),
        (name = "seals", description = "e-seals (电子印章) and the trust list (互认)"),
        (name = "licences", description = "e-licences (电子证照): types, issuing, wallet, presentation, use instead of materials, verification"),
        (name = "cases", description = "办件: applying online and at a window, acceptance, review, special procedures, decisions, notices, delivery"))
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
    exact(ApiDoc::openapi())
}

pub async fn spec() -> Json<utoipa::openapi::OpenApi> {
    Json(doc())
}

/// The statuses every operation may answer with a problem, by what it takes and who may
/// call it (RFC 9457 problem+json): the contract says exactly what the server can do.
fn error_statuses(method: &str, path: &str, op: &serde_json::Value) -> Vec<&'static str> {
    let mut out = vec!["400", "404", "500", "503"];
    let public = crate::access::RULES
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
        .is_none_or(|r| r.need == crate::access::Need::Public);
    let write = !method.eq_ignore_ascii_case("get");
    if !public || write {
        // Not logged in / no right, or a cookie write without its CSRF token.
        out.extend(["401", "403"]);
    }
    if write {
        out.extend(["409", "413", "415"]);
    }
    out.push("422");
    if op.get("requestBody").is_none() {
        out.retain(|s| !matches!(*s, "413" | "415"));
    }
    out
}

/// Makes the generated document exact (issue 13, item 13): query parameters declared as
/// query (utoipa's `IntoParams` defaults to path), problem+json as the media type of every
/// problem, and every error status the shared machinery can answer documented.
fn exact(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut v = serde_json::to_value(&doc).expect("an OpenAPI document serialises");
    let problem = serde_json::json!({
        "description": "a problem (RFC 9457) naming each field and rule in Chinese and English",
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    });
    if let Some(paths) = v.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for (path, item) in paths.iter_mut() {
            let names: Vec<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_string)
                .collect();
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut() {
                if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let statuses = error_statuses(method, path, op);
                if let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) {
                    for p in params.iter_mut() {
                        let name = p["name"].as_str().unwrap_or("").to_string();
                        if p["in"] == "path" && !names.contains(&name) {
                            p["in"] = "query".into();
                        }
                    }
                }
                let responses = op
                    .as_object_mut()
                    .expect("an operation is an object")
                    .entry("responses")
                    .or_insert_with(|| serde_json::json!({}));
                let Some(responses) = responses.as_object_mut() else {
                    continue;
                };
                for (status, r) in responses.iter_mut() {
                    // A problem declared with the JSON media type is problem+json.
                    let is_problem = r["content"]["application/json"]["schema"]["$ref"]
                        .as_str()
                        .is_some_and(|x| x.ends_with("/Problem"));
                    if (status.starts_with('4') || status.starts_with('5'))
                        && is_problem
                        && let Some(c) = r.get_mut("content").and_then(|c| c.as_object_mut())
                        && let Some(schema) = c.remove("application/json")
                    {
                        c.insert("application/problem+json".into(), schema);
                    }
                }
                for s in statuses {
                    responses.entry(s).or_insert_with(|| problem.clone());
                }
            }
        }
    }
    serde_json::from_value(v).expect("the exact document is an OpenAPI document")
}
