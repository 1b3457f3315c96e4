//! Every route and the permission it needs, in one table, enforced by one guard before any
//! handler runs: a route missing from the table is refused (default deny, GB/T 22239-2019
//! §8.1.4.2). Object scope (own department, own region) is resolved here from the path;
//! handlers whose scope is in the request body check it with `Ctx::require`.

use crate::AppState;
use crate::error::ApiError;
pub use crate::error::{denied_error, forbidden, forbidden_error};
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use yiwang_core::access::{Denied, Permission, Target};

/// Where a permission's target object is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Obj {
    /// Not bound to a department or region (e.g. persons).
    Unbound,
    /// In the request body: the handler checks it after parsing.
    Body,
    /// The department named by this path parameter.
    Department(&'static str),
    /// The hall named by this path parameter (its region).
    Hall(&'static str),
    /// The region code in this path parameter.
    Region(&'static str),
    /// The portal's home region (province-wide matters).
    Home,
    /// The staff account named by this path parameter (its department).
    StaffAccount(&'static str),
    /// The API token named by this path parameter (its department or region).
    Token(&'static str),
    /// The catalogue entry named by this path parameter: an item belongs to its
    /// department, a basic directory entry to the home region.
    CatalogEntry(&'static str),
    /// The seal named by this path parameter (its department).
    Seal(&'static str),
    /// The licence named by this path parameter (its issuing department).
    Licence(&'static str),
    /// The case named by this path parameter (its competent department).
    Case(&'static str),
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone.
    Public,
    /// Any logged-in account or system.
    Authenticated,
    /// A logged-in natural person (their own account, mandates and data-use log).
    Person,
    /// This permission, for the object found as given.
    Perm(Permission, Obj),
    /// Any one of these permissions, for the object found as given (e.g. a catalogue
    /// entry is read by its editors and by its reviewers).
    AnyPerm(&'static [Permission], Obj),
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub need: Need,
}

const fn r(method: &'static str, path: &'static str, need: Need) -> Rule {
    Rule { method, path, need }
}

use Need::*;
use Obj::*;

mod rules;
pub use rules::*;

/// Allowed when any of the permissions allows it; otherwise a refusal (out of scope
/// before missing).
pub fn authorize_any(actor: &yiwang_core::access::Actor, ps: &[Permission], t: &Target) -> Result<(), Denied> {
    let mut refusals = vec![];
    for p in ps {
        match actor.authorize(*p, t) {
            Ok(()) => return Ok(()),
            Err(d) => refusals.push(d),
        }
    }
    // A permission held but out of scope says more than one not held at all.
    let scope = refusals.iter().position(|d| matches!(d, Denied::OutOfScope(_)));
    Err(match scope {
        Some(i) => refusals.swap_remove(i),
        None => refusals.into_iter().next().unwrap_or(Denied::Unauthenticated),
    })
}

pub fn rule_for(method: &Method, path: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.method == method.as_str() && r.path == path)
}

/// The value of a path parameter by name, matching the route template against the path.
fn param(template: &str, path: &str, name: &str) -> Option<String> {
    let want = format!("{{{name}}}");
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.iter()
        .position(|s| *s == want)
        .and_then(|i| p.get(i))
        .map(|v| percent_decode(v))
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Resolves the target object of a rule from the request path.
async fn target(s: &AppState, from: Obj, template: &str, path: &str) -> Result<Target, ApiError> {
    let get = |name: &str| param(template, path, name).ok_or_else(|| ApiError::not_found("path parameter"));
    let missing = |field: &str, zh: &str, en: &str, id: &str| {
        ApiError::from(yiwang_store::StoreError::from(yiwang_core::DomainError::not_found(
            field, zh, en, id,
        )))
    };
    Ok(match from {
        Obj::Unbound | Obj::Body => Target::Unbound,
        Obj::Home => Target::Region {
            code: s.home_region.clone(),
        },
        Obj::Region(n) => Target::Region { code: get(n)? },
        Obj::Department(n) => {
            let id = get(n)?;
            let d = yiwang_store::refdata::department(&s.store, &id)
                .await?
                .ok_or_else(|| missing("id", "部门", "department", &id))?;
            Target::Department {
                id: d.id,
                region_code: d.region_code,
            }
        }
        Obj::Hall(n) => {
            let id = get(n)?;
            let h = yiwang_store::orgs::hall(&s.store.read, &id)
                .await?
                .ok_or_else(|| missing("hall_id", "政务服务大厅", "service hall", &id))?;
            Target::Region { code: h.region_code }
        }
        Obj::StaffAccount(n) => {
            let id = get(n)?;
            let st = yiwang_store::accounts::staff(&s.store.read, &id)
                .await?
                .ok_or_else(|| missing("account_id", "工作人员", "staff member", &id))?;
            Target::Department {
                id: st.department_id,
                region_code: st.region_code,
            }
        }
        Obj::CatalogEntry(n) => {
            let id = get(n)?;
            let e = yiwang_store::catalog::entry_of(&s.store, &id)
                .await?
                .ok_or_else(|| missing("entry_id", "事项", "catalogue entry", &id))?;
            match e.department_id {
                Some(d) => Target::Department {
                    id: d,
                    region_code: e.region_code,
                },
                None => Target::Region { code: e.region_code },
            }
        }
        Obj::Seal(n) => {
            let id = get(n)?;
            let seal = yiwang_store::seals::seal(&s.store, &id)
                .await?
                .ok_or_else(|| missing("seal_id", "印章", "seal", &id))?;
            department_target(s, &seal.department_id).await?
        }
        Obj::Licence(n) => {
            let id = get(n)?;
            let l = yiwang_store::licences::summary(&s.store, &id)
                .await?
                .ok_or_else(|| missing("licence_id", "电子证照", "licence", &id))?;
            department_target(s, &l.issuer_department_id).await?
        }
        Obj::Case(n) => {
            let id = get(n)?;
            let department_id = yiwang_store::cases::department_of(&s.store, &id)
                .await?
                .ok_or_else(|| missing("case_id", "办件", "case", &id))?;
            department_target(s, &department_id).await?
        }
        Obj::Token(n) => {
            let id = get(n)?;
            let t = yiwang_store::auth::token(&s.store, &id)
                .await?
                .ok_or_else(|| missing("token_id", "令牌", "token", &id))?;
            match t.department_id {
                Some(id) => Target::Department {
                    id,
                    region_code: t.region_code,
                },
                None => Target::Region { code: t.region_code },
            }
        }
    })
}

/// The department an object belongs to, as a target.
async fn department_target(s: &AppState, id: &str) -> Result<Target, ApiError> {
    let d = yiwang_store::refdata::department(&s.store, id).await?.ok_or_else(|| {
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

/// Refusal as the caller sees it: 401 for APIs (a login page redirect for pages), 403
/// naming the permission.
pub fn denied(d: Denied, page: bool, path: &str) -> Response {
    match d {
        Denied::Unauthenticated if page => {
            let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
            Redirect::to(&format!("/login?next={next}")).into_response()
        }
        d => denied_error(d).into_response(),
    }
}

/// The guard: finds the route's rule, establishes who is calling, checks CSRF and the
/// rule, and hands the handler a `Ctx`.
pub async fn guard(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    // Node-to-node endpoints answer like the API (signed envelopes, no browser session).
    let page = !path.starts_with("/api/") && !path.starts_with("/federation/v1/");
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let Some(rule) = rule_for(req.method(), &template) else {
        tracing::error!(method = %req.method(), route = %template, "route without an access rule: denied");
        return forbidden(
            "access.no_rule",
            "该接口未声明访问规则，默认拒绝".into(),
            "this route declares no access rule: denied by default".into(),
        );
    };
    let ctx = match crate::ctx::resolve(&s, &mut req).await {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    // The node-to-node endpoints never act on the caller's session (only on a partner's
    // signed envelope), so a cookie sent along carries no authority to forge.
    let req = if path.starts_with("/federation/v1/") {
        req
    } else {
        match crate::ctx::check_csrf(&ctx, req, page).await {
            Ok(r) => r,
            Err(resp) => return *resp,
        }
    };
    let verdict = match rule.need {
        Need::Public => Ok(()),
        Need::Authenticated if ctx.actor.is_authenticated() => Ok(()),
        Need::Authenticated => Err(Denied::Unauthenticated),
        Need::Person => match &ctx.actor {
            yiwang_core::access::Actor::Person { .. } => Ok(()),
            a if !a.is_authenticated() => Err(Denied::Unauthenticated),
            _ => {
                return forbidden(
                    "account.person_only",
                    "仅限自然人账号".into(),
                    "only a natural person's own account can do this".into(),
                );
            }
        },
        Need::Perm(p, from) => {
            if !ctx.actor.is_authenticated() {
                Err(Denied::Unauthenticated)
            } else if !ctx.actor.has(p) {
                Err(Denied::Missing(p))
            } else {
                match target(&s, from, &template, &path).await {
                    Ok(t) => ctx.actor.authorize(p, &t),
                    Err(e) => return e.into_response(),
                }
            }
        }
        Need::AnyPerm(ps, from) => {
            if !ctx.actor.is_authenticated() {
                Err(Denied::Unauthenticated)
            } else if !ps.iter().any(|p| ctx.actor.has(*p)) {
                Err(Denied::Missing(ps[0]))
            } else {
                match target(&s, from, &template, &path).await {
                    Ok(t) => authorize_any(&ctx.actor, ps, &t),
                    Err(e) => return e.into_response(),
                }
            }
        }
    };
    if let Err(d) = verdict {
        return denied(d, page, &path);
    }
    let mut req = req;
    req.extensions_mut().insert(ctx);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_found_by_name() {
        assert_eq!(
            param(
                "/api/v1/halls/{hall_id}/windows/{id}",
                "/api/v1/halls/h1/windows/w2",
                "hall_id"
            )
            .as_deref(),
            Some("h1")
        );
        assert_eq!(
            param("/api/v1/regions/{code}", "/api/v1/regions/460100", "code").as_deref(),
            Some("460100")
        );
        assert_eq!(
            param("/api/v1/regions/{code}", "/api/v1/regions/46%2001", "code").as_deref(),
            Some("46 01")
        );
    }

    /// API routes served as files or documents rather than JSON, outside the OpenAPI document.
    const UNDOCUMENTED: &[(&str, &str)] = &[
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/openapi-ui.json"),
        ("GET", "/api/v1/docs"),
        ("GET", "/api/v1/docs/"),
        ("GET", "/api/v1/docs/{*rest}"),
        ("GET", "/api/v1/seals/{seal_id}/image.svg"),
        ("GET", "/api/v1/licences/{licence_id}/pdf"),
        ("GET", "/api/v1/me/licences/{licence_id}/pdf"),
        ("GET", "/api/v1/me/cases/{case_id}/notices/{notice_id}/pdf"),
        ("GET", "/api/v1/cases/{case_id}/notices/{notice_id}/pdf"),
    ];

    /// Routes are declared once (`router::routes`, each API route with its operation), and
    /// `RULES` is the one authority on access: every documented operation has its rule, and
    /// every API rule names a documented operation or one of the few undocumented routes.
    #[test]
    fn every_route_has_a_rule_and_every_rule_a_route() {
        let doc = serde_json::to_value(crate::router::routes().into_openapi()).unwrap();
        let mut documented = vec![];
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
        assert!(documented.len() > 100, "{} operations", documented.len());
        for (m, p) in &documented {
            assert!(
                RULES.iter().any(|r| r.method == m && r.path == p),
                "{m} {p} is routed and documented but has no rule in RULES"
            );
        }
        for r in RULES.iter().filter(|r| r.path.starts_with("/api/")) {
            let known = documented.iter().any(|(m, p)| m == r.method && p == r.path)
                || UNDOCUMENTED.contains(&(r.method, r.path));
            assert!(known, "the rule {} {} names no documented route", r.method, r.path);
        }
        for (m, p) in UNDOCUMENTED {
            assert!(
                RULES.iter().any(|r| r.method == *m && r.path == *p),
                "{m} {p} has no rule"
            );
        }
    }

    #[test]
    fn the_table_has_no_duplicates() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }
}
