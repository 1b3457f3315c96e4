//! The OpenAPI 3.1 description of `/api/v1`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "yiwang API", description = "一网 integrated online government-service platform. Errors are RFC 9457 problem+json with a field list in Chinese and English. POSTs that create honour Idempotency-Key."),
    components(schemas(crate::error::Problem, crate::error::FieldProblem)),
    modifiers(&AdminToken),
    tags((name = "regions"), (name = "orgs", description = "departments, halls, windows"), (name = "calendar", description = "working days"), (name = "ledger"), (name = "audit"),
        (name = "auth", description = "login, sessions, API tokens"), (name = "accounts", description = "persons, enterprises, staff, roles"),
        (name = "mandates", description = "代办授权"), (name = "sharing", description = "数据资源目录: data resources, loads, sharing requests and grants"), (name = "policies", description = "免申即享: policies, dry runs, findings, a person's profile and benefits"), (name = "datause", description = "reading personal data, and the person's data-use log"),
        (name = "catalog", description = "service catalogue: search, guides, lists, versions and review, import and export"),
        (name = "bundles", description = "一件事: bundles of items across departments, their merged guide, definitions and review"),
        (name = "seals", description = "e-seals (电子印章) and the trust list (互认)"),
        (name = "licences", description = "e-licences (电子证照): types, issuing, wallet, presentation, use instead of materials, verification"),
        (name = "cases", description = "办件: applying online and at a window, acceptance, review, special procedures, decisions, notices, delivery"),
        (name = "ratings", description = "好差评: rating cases, the follow-up of bad ratings (回访, 整改, 申诉复核), the option sets"),
        (name = "hotline", description = "12345 接诉即办: requests received and followed, dispatched by the dispatch catalogue, sent back and reassigned, answered, called back, reopened"))
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
pub fn exact(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
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
